//! The desk's feed on SQLite and files: finished reports in `reports/`, listed in the order
//! they finished, and pruned once the desk holds them.

use std::fs;
use std::path::PathBuf;

use rusqlite::params;
use uuid::Uuid;

use super::files::{parse_id, remove_if_there, SqliteFiles};
use super::SqliteStore;
use crate::store::{DeskFeed, Finished, FinishedBytes, StoreError};

#[async_trait::async_trait]
impl DeskFeed for SqliteStore {
    async fn finished_after(&self, after: i64, limit: u32) -> Result<Vec<Finished>, StoreError> {
        self.run(move |f| f.finished_after(after, limit)).await
    }
    async fn read_finished(&self, report_id: Uuid) -> Result<Option<FinishedBytes>, StoreError> {
        self.run(move |f| f.read_finished(report_id)).await
    }
    async fn prune(&self, report_id: Uuid) -> Result<Option<u64>, StoreError> {
        self.run(move |f| f.prune(report_id)).await
    }
}

impl SqliteFiles {
    pub(in crate::store) fn finished_after(
        &self,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Finished>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT report_id, length, ciphertext_sha256, finished_seq FROM uploads
             WHERE finished_seq > ?1 AND pruned_at IS NULL ORDER BY finished_seq LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get(2)?,
                r.get(3)?,
            ))
        })?;
        rows.map(|row| {
            let (id, length, ciphertext_sha256, seq) = row?;
            Ok(Finished {
                report_id: parse_id(&id)?,
                length: u64::try_from(length)
                    .map_err(|_| StoreError::Corrupt(format!("the length of {id}")))?,
                ciphertext_sha256,
                seq,
            })
        })
        .collect()
    }

    pub(in crate::store) fn read_finished(
        &self,
        report_id: Uuid,
    ) -> Result<Option<FinishedBytes>, StoreError> {
        let finished = self
            .by_report(report_id)?
            .is_some_and(|u| u.receipt.is_some());
        if !finished {
            return Ok(None);
        }
        let read = |path: PathBuf| match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::from(e)),
        };
        // Pruned (or removed by hand): gone, not an error.
        match (
            read(self.finished_path(report_id))?,
            read(self.record_path(report_id))?,
        ) {
            (Some(ciphertext), Some(record)) => Ok(Some(FinishedBytes { ciphertext, record })),
            _ => Ok(None),
        }
    }

    pub(in crate::store) fn prune(&self, report_id: Uuid) -> Result<Option<u64>, StoreError> {
        let Some(upload) = self.by_report(report_id)? else {
            return Ok(None);
        };
        let changed = self.conn()?.execute(
            "UPDATE uploads SET pruned_at = strftime('%s','now')
             WHERE id = ?1 AND receipt IS NOT NULL AND pruned_at IS NULL",
            [upload.id.to_string()],
        )?;
        if changed == 0 {
            return Ok(None);
        }
        remove_if_there(&self.finished_path(report_id))?;
        remove_if_there(&self.record_path(report_id))?;
        Ok(Some(upload.length))
    }
}
