//! The default store: SQLite for metadata, files for bytes (the blocking work in `files.rs`,
//! run on tokio's blocking threads behind the async trait here).

mod admission;
mod bulletins;
mod desk_feed;
mod error;
mod files;
mod running_hash;
mod tus;

use std::path::Path;
use std::sync::Arc;

use rusqlite::Connection;

use super::StoreError;
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

    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&SqliteFiles) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || work(&files))
            .await
            .map_err(|_| StoreError::failed("a storage task failed"))?
    }

    /// Statements that take tens of microseconds run in place when the connection is free:
    /// less than a round trip to a blocking thread and back costs in wake-ups on every request
    /// (docs/benchmarks.md). When a statement holds it (a bulletin feed being stored can take a
    /// second) they wait on a blocking thread instead, never on the async workers.
    pub(super) async fn quick<T: Send + 'static>(
        &self,
        statement: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        if let Some(conn) = self.files.try_conn() {
            return statement(&conn);
        }
        self.run(move |f| statement(&*f.conn()?)).await
    }
}
