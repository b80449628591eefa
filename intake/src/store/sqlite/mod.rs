//! The default store: SQLite for metadata, files for bytes (the blocking work in `files.rs`,
//! run on tokio's blocking threads behind the async trait here).

mod files;
mod running_hash;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use uuid::Uuid;

use super::{Finished, FinishedBytes, RateLimit, StoreError, Upload, UploadStore};
use files::SqliteFiles;

/// Bytes promised to uploads whose data is kept (the index `uploads_unpruned` answers it).
pub(super) const RESERVED_BYTES: &str =
    "SELECT COALESCE(SUM(length), 0) FROM uploads WHERE pruned_at IS NULL";

/// SQLite for metadata, one file per upload under `DIR/uploads/` (partial) and
/// `DIR/reports/<report_id>.age` (finished: the review desk reads this folder).
///
/// Uploads are written by one receiver at a time (the intake claims an upload before touching
/// its data), so different uploads write and fsync in parallel; the database lock is never held
/// across file I/O. The work is blocking, so each call runs on tokio's blocking threads.
#[derive(Clone)]
pub struct SqliteStore {
    files: Arc<SqliteFiles>,
}

impl SqliteStore {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            files: Arc::new(SqliteFiles::open(dir)?),
        })
    }

    #[cfg(test)]
    pub(super) fn files(&self) -> &SqliteFiles {
        &self.files
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&SqliteFiles) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || work(&files))
            .await
            .map_err(|_| StoreError::Io(std::io::Error::other("a storage task failed")))?
    }

    /// Statements that take tens of microseconds run in place when the connection is free:
    /// less than a round trip to a blocking thread and back costs in wake-ups on every request
    /// (docs/benchmarks.md). When a statement holds it (a bulletin feed being stored can take a
    /// second) they wait on a blocking thread instead, never on the async workers.
    async fn quick<T: Send + 'static>(
        &self,
        statement: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if let Some(conn) = self.files.try_conn() {
            return statement(&conn);
        }
        self.run(move |f| statement(&*f.conn()?)).await
    }
}

#[async_trait::async_trait]
impl UploadStore for SqliteStore {
    async fn create(&self, upload: &Upload) -> Result<Upload, StoreError> {
        let upload = upload.clone();
        self.quick(move |c| SqliteFiles::create_in(c, &upload))
            .await
    }
    async fn get(&self, id: Uuid) -> Result<Option<Upload>, StoreError> {
        self.quick(move |c| SqliteFiles::row(c, "id", id)).await
    }
    async fn by_report(&self, report_id: Uuid) -> Result<Option<Upload>, StoreError> {
        self.quick(move |c| SqliteFiles::row(c, "report_id", report_id))
            .await
    }
    async fn begin_append(&self, id: Uuid, offset: u64) -> Result<(), StoreError> {
        let current = self.quick(move |c| SqliteFiles::offset_in(c, id)).await?;
        self.files.append_at(id, offset, current)
    }
    async fn write(&self, id: Uuid, at: u64, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.run(move |f| f.write(id, at, &bytes)).await
    }
    async fn commit(&self, id: Uuid, from: u64, to: u64) -> Result<(), StoreError> {
        self.run(move |f| f.commit(id, from, to)).await
    }
    async fn write_and_commit(
        &self,
        id: Uuid,
        from: u64,
        at: u64,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError> {
        let to = at + bytes.len() as u64;
        self.run(move |f| {
            f.write(id, at, &bytes)?;
            f.commit(id, from, to)
        })
        .await
    }
    async fn rollback(&self, id: Uuid) -> Result<(), StoreError> {
        self.run(move |f| f.rollback(id)).await
    }
    async fn assemble(&self, id: Uuid) -> Result<(u64, [u8; 32]), StoreError> {
        // In place when the hash was kept as the bytes came (a `stat`); else the file is read.
        if let Ok(Some(digest)) = self.files.hashed_digest(id) {
            return Ok(digest);
        }
        self.run(move |f| f.digest(id)).await
    }
    async fn complete(&self, id: Uuid, receipt: &str) -> Result<String, StoreError> {
        let receipt = receipt.to_string();
        self.run(move |f| f.complete(id, &receipt)).await
    }
    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        self.run(move |f| f.delete(id)).await
    }
    async fn expire(&self, now: i64) -> Result<Vec<Uuid>, StoreError> {
        self.run(move |f| f.expire(now)).await
    }
    async fn take_upload_token(
        &self,
        device_key: &str,
        limit: RateLimit,
    ) -> Result<Result<(), Duration>, StoreError> {
        Ok(self.files.buckets.take(device_key, limit))
    }
    async fn reserved_bytes(&self) -> Result<u64, StoreError> {
        self.quick(SqliteFiles::reserved_in).await
    }
    fn free_bytes(&self) -> Option<u64> {
        let stat = rustix::fs::statvfs(&self.files.dir).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
    async fn finished_after(&self, after: i64, limit: u32) -> Result<Vec<Finished>, StoreError> {
        self.run(move |f| f.finished_after(after, limit)).await
    }
    async fn read_finished(&self, report_id: Uuid) -> Result<Option<FinishedBytes>, StoreError> {
        self.run(move |f| f.read_finished(report_id)).await
    }
    async fn prune(&self, report_id: Uuid) -> Result<Option<u64>, StoreError> {
        self.run(move |f| f.prune(report_id)).await
    }
    async fn bulletin_version(&self) -> Result<Option<u64>, StoreError> {
        self.run(|f| f.bulletin_version()).await
    }
    async fn put_bulletins(
        &self,
        version: u64,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        self.run(move |f| f.put_bulletins(version, &files)).await
    }
    async fn bulletin_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = name.to_string();
        self.run(move |f| f.bulletin_file(&name)).await
    }
}
