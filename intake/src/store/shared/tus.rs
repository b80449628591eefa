//! The tus steps on the shared store: the row in PostgreSQL, the bytes as pieces in the object
//! store (`body.rs`).

use uuid::Uuid;

use super::{body, SharedStore, COLUMNS};
use crate::store::{StoreError, TusUploads, Upload};

#[async_trait::async_trait]
impl TusUploads for SharedStore {
    async fn create(&self, u: &Upload) -> Result<Upload, StoreError> {
        let inserted = self.execute(
                &format!(
                    "INSERT INTO uploads ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, NULL, $8, $9)
                     ON CONFLICT (report_id) DO NOTHING"
                ),
                &[
                    &u.id,
                    &u.report_id,
                    &u.device_key,
                    &u.ciphertext_sha256,
                    &u.envelope_sig,
                    &(u.length as i64),
                    &u.expires_at,
                    &u.device_clock.map(|c| c.to_string()),
                    &u.created_at_ms,
                ],
            )
            .await?;
        if inserted == 1 {
            return Ok(u.clone());
        }
        self.by_report(u.report_id)
            .await?
            .ok_or(StoreError::NotFound(u.id))
    }

    async fn get(&self, id: Uuid) -> Result<Option<Upload>, StoreError> {
        self.row("id", id).await
    }

    async fn by_report(&self, report_id: Uuid) -> Result<Option<Upload>, StoreError> {
        self.row("report_id", report_id).await
    }

    async fn begin_append(&self, id: Uuid, offset: u64) -> Result<(), StoreError> {
        self.drop_unrecorded(id).await?;
        let upload = self.get(id).await?.ok_or(StoreError::NotFound(id))?;
        if upload.offset != offset || upload.receipt.is_some() {
            return Err(StoreError::OffsetMismatch {
                expected: offset,
                actual: upload.offset,
            });
        }
        Ok(())
    }

    async fn write(&self, id: Uuid, at: u64, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.write_piece(id, at, bytes).await
    }

    fn min_piece_bytes(&self) -> usize {
        body::MIN_PIECE_BYTES
    }

    async fn commit(&self, id: Uuid, from: u64, to: u64) -> Result<(), StoreError> {
        self.commit_pieces(id, from, to).await
    }

    async fn rollback(&self, id: Uuid) -> Result<(), StoreError> {
        self.drop_unrecorded(id).await
    }

    async fn assemble(&self, id: Uuid) -> Result<(u64, [u8; 32]), StoreError> {
        self.assemble_pieces(id).await
    }

    async fn complete(&self, id: Uuid, receipt: &str) -> Result<String, StoreError> {
        // One statement, its own transaction: the counter's row stays locked until the commit,
        // so `finished_seq` grows in commit order (the desk's cursor never skips a report); as
        // every node's completions queue on that lock, it is held across no round trip to a
        // node. A loser that took a number leaves a gap, which the cursor does not mind.
        let won: i64 = self
            .query_one(
                "WITH next AS (
                     UPDATE finished_counter SET seq = seq + 1
                     WHERE EXISTS (SELECT 1 FROM uploads
                                   WHERE id = $1 AND receipt IS NULL AND upload_offset = length
                                     AND NOT doomed)
                     RETURNING seq),
                 won AS (
                     UPDATE uploads SET receipt = $2, finished_seq = (SELECT seq FROM next)
                     WHERE id = $1 AND receipt IS NULL AND upload_offset = length
                       AND NOT doomed AND EXISTS (SELECT 1 FROM next)
                     RETURNING id),
                 recorded AS (DELETE FROM pieces WHERE upload_id IN (SELECT id FROM won))
                 SELECT count(*) FROM won",
                &[&id, &receipt],
            )
            .await?
            .try_get(0)?;
        // The winner knows what it recorded; only a loser reads the receipt that won.
        let kept: Option<String> = if won == 1 {
            Some(receipt.to_string())
        } else {
            self.query_opt("SELECT receipt FROM uploads WHERE id = $1", &[&id])
                .await?
                .and_then(|row| row.get(0))
        };
        let kept = kept.ok_or(StoreError::NotFound(id))?;
        // Finished: no piece can be recorded any more, so whatever is under the prefix goes,
        // including pieces a dead node wrote and never recorded.
        self.remove_pieces(id).await?;
        Ok(kept)
    }

    /// Marks the upload, removes its objects, then its row: marked, it can take no more
    /// pieces nor finish, and if the bucket refuses the removal the next expiry sweep does it
    /// again. Whether this call deleted the row.
    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let row = self
            .query_opt(
                "UPDATE uploads SET doomed = true WHERE id = $1 AND receipt IS NULL
                 RETURNING report_id",
                &[&id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        self.remove_doomed(id, row.try_get(0)?).await
    }

    /// Every unfinished upload past its time, and every one whose removal failed before, in
    /// the same three steps as [`delete`](Self::delete). Sweeps at once both mark and remove
    /// an upload's objects, but only one deletes its row and counts it. An upload the bucket
    /// would not free stays marked, and the sweep ends with that failure after the others.
    async fn expire(&self, now: i64) -> Result<Vec<Uuid>, StoreError> {
        let rows = self
            .query(
                "UPDATE uploads SET doomed = true
                 WHERE receipt IS NULL AND (expires_at < $1 OR doomed)
                 RETURNING id, report_id",
                &[&now],
            )
            .await?;
        // Buckets untouched for an hour have refilled under any sensible limit (the default
        // fills in a minute): forgetting them loses nothing, and keys are free to mint.
        self.execute(
            "DELETE FROM rate_buckets WHERE at < now() - interval '1 hour'",
            &[],
        )
        .await?;
        let mut removed = Vec::with_capacity(rows.len());
        let mut failed = None;
        for row in rows {
            let id: Uuid = row.try_get(0)?;
            match self.remove_doomed(id, row.try_get(1)?).await {
                Ok(true) => removed.push(id),
                Ok(false) => {}
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        failed.map_or(Ok(removed), Err)
    }
}

impl SharedStore {
    /// A marked upload's objects, then its row: whether this call deleted the row.
    async fn remove_doomed(&self, id: Uuid, report_id: Uuid) -> Result<bool, StoreError> {
        self.remove_unfinished(id, report_id).await?;
        let deleted = self
            .execute("DELETE FROM uploads WHERE id = $1 AND doomed", &[&id])
            .await?;
        Ok(deleted == 1)
    }
}
