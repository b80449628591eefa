//! The desk's feed on the shared store: finished reports listed from PostgreSQL in the order
//! they finished, their bytes from the object store, pruned once the desk holds them.

use object_store::ObjectStoreExt;
use uuid::Uuid;

use super::{remove_object, report_object, SharedStore};
use crate::store::{DeskFeed, Finished, FinishedBytes, IntakeRecord, StoreError};

#[async_trait::async_trait]
impl DeskFeed for SharedStore {
    async fn finished_after(&self, after: i64, limit: u32) -> Result<Vec<Finished>, StoreError> {
        let rows = self
            .query(
                "SELECT report_id, length, ciphertext_sha256, finished_seq FROM uploads
                 WHERE finished_seq > $1 AND pruned_at IS NULL ORDER BY finished_seq LIMIT $2",
                &[&after, &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let report_id: Uuid = r.try_get(0)?;
                Ok(Finished {
                    report_id,
                    length: u64::try_from(r.try_get::<_, i64>(1)?)
                        .map_err(|_| StoreError::Corrupt(format!("the length of {report_id}")))?,
                    ciphertext_sha256: r.try_get(2)?,
                    seq: r.try_get(3)?,
                })
            })
            .collect()
    }

    async fn read_finished(&self, report_id: Uuid) -> Result<Option<FinishedBytes>, StoreError> {
        let row = self
            .query_opt(
                "SELECT receipt, created_at_ms, device_clock FROM uploads
                 WHERE report_id = $1 AND receipt IS NOT NULL AND pruned_at IS NULL",
                &[&report_id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of report {report_id}"));
        // The intake record is the row itself: kept in one place, it cannot disagree with the
        // receipt a phone is given.
        let record = IntakeRecord {
            receipt: serde_json::from_str(&row.try_get::<_, String>(0)?)
                .map_err(|_| corrupt("the receipt"))?,
            created_at_ms: row.try_get(1)?,
            device_clock: row
                .try_get::<_, Option<String>>(2)?
                .map(|c| c.parse().map_err(|_| corrupt("device_clock")))
                .transpose()?,
        };
        let ciphertext = match self.objects.get(&report_object(report_id)).await {
            Ok(got) => got.bytes().await?.to_vec(),
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(Some(FinishedBytes {
            ciphertext,
            record: serde_json::to_vec_pretty(&record).map_err(|_| corrupt("the record"))?,
        }))
    }

    async fn prune(&self, report_id: Uuid) -> Result<Option<u64>, StoreError> {
        let row = self
            .query_opt(
                "UPDATE uploads SET pruned_at = now()
                 WHERE report_id = $1 AND receipt IS NOT NULL AND pruned_at IS NULL
                 RETURNING length",
                &[&report_id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        remove_object(&*self.objects, &report_object(report_id)).await?;
        Ok(Some(row.try_get::<_, i64>(0)?.max(0) as u64))
    }
}
