//! Where the intake server keeps uploads: a trait, and the default SQLite + files implementation
//! ([`SqliteStore`], in `sqlite.rs`, with its schema in `schema.rs`).
//!
//! The trait is what a Postgres + S3-compatible backend would implement for deployments that
//! outgrow one machine (see docs/architecture.md): metadata operations are small and
//! transactional; bytes are appended to an object at a known offset and read back whole.

mod schema;
mod sqlite;
#[cfg(test)]
mod tests;

use sighting_core::wire::DeviceClock;
use uuid::Uuid;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the upload's offset is {actual}, not {expected}")]
    OffsetMismatch { expected: u64, actual: u64 },
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("storage database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("storage is poisoned by an earlier panic")]
    Poisoned,
    #[error("the storage database is damaged: {0}")]
    Corrupt(String),
    #[error("the storage database: {0}")]
    Schema(#[from] sighting_core::sqlite::MigrationError),
    #[error("the bulletin feed held is version {held}, as new or newer")]
    StaleBulletins { held: u64 },
}

impl StoreError {
    /// The disk (or a quota on it) is full: the client is told to come back later, not that
    /// the server failed.
    pub fn is_full(&self) -> bool {
        match self {
            StoreError::Io(e) => {
                e.kind() == std::io::ErrorKind::StorageFull
                    || e.kind() == std::io::ErrorKind::QuotaExceeded
            }
            StoreError::Sqlite(e) => e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull),
            _ => false,
        }
    }
}

/// An upload, finished or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: Uuid,
    pub report_id: Uuid,
    pub device_key: String,
    pub ciphertext_sha256: String,
    pub envelope_sig: String,
    pub length: u64,
    pub offset: u64,
    /// Unix seconds after which an unfinished upload is abandoned.
    pub expires_at: i64,
    /// The signed receipt JSON, once the last byte arrived and every check passed.
    pub receipt: Option<String>,
    /// The device's clock when it created the upload (`device_clock` metadata: a boot hash
    /// and milliseconds since boot), and the server's time then (Unix ms): the pair the desk
    /// uses to correct a wrong phone clock.
    pub device_clock: Option<DeviceClock>,
    pub created_at_ms: i64,
}

/// A finished report as the desk's feed lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Finished {
    pub report_id: Uuid,
    pub length: u64,
    pub ciphertext_sha256: String,
    /// Its place in the order reports finished in: the cursor for the next page.
    pub seq: i64,
}

/// A finished report's bytes as the desk pulls them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedBytes {
    pub ciphertext: Vec<u8>,
    /// The intake record, JSON.
    pub record: Vec<u8>,
}

/// `reports/<report_id>.intake.json`, beside the ciphertext: what the intake server knows about
/// a report that the sealed bundle cannot (it was sealed before the upload).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IntakeRecord {
    pub receipt: sighting_core::wire::Receipt,
    pub created_at_ms: i64,
    pub device_clock: Option<DeviceClock>,
}

pub trait UploadStore: Send + Sync {
    /// Records a new upload (offset 0) and makes its empty data object.
    fn create(&self, upload: &Upload) -> Result<(), StoreError>;
    fn get(&self, id: Uuid) -> Result<Option<Upload>, StoreError>;
    fn by_report(&self, report_id: Uuid) -> Result<Option<Upload>, StoreError>;
    /// Starts receiving a body at `offset`, which must be the recorded offset. Bytes past it
    /// were never acknowledged (a crash or a refused checksum mid-body) and are dropped. The
    /// caller holds the upload exclusively until it commits or rolls back.
    fn begin_append(&self, id: Uuid, offset: u64) -> Result<(), StoreError>;
    /// Writes `bytes` at `at`, not yet durable nor acknowledged.
    fn write(&self, id: Uuid, at: u64, bytes: &[u8]) -> Result<(), StoreError>;
    /// Makes what was written up to `offset` durable, then records it: an acknowledged byte
    /// survives a restart.
    fn commit(&self, id: Uuid, offset: u64) -> Result<(), StoreError>;
    /// Drops what was written past the recorded offset (tus checksum: "the Upload-Offset MUST
    /// NOT be incremented").
    fn rollback(&self, id: Uuid) -> Result<(), StoreError>;
    /// Length and SHA-256 of an upload's data, streamed (for the completion checks).
    fn digest(&self, id: Uuid) -> Result<(u64, [u8; 32]), StoreError>;
    /// Files the finished ciphertext with its intake record (see [`IntakeRecord`]).
    fn complete(&self, id: Uuid, receipt: &str) -> Result<(), StoreError>;
    /// Removes an upload and its data (termination, failed checks, expiry).
    fn delete(&self, id: Uuid) -> Result<(), StoreError>;
    /// Unfinished uploads whose time ran out.
    fn expired(&self, now: i64) -> Result<Vec<Uuid>, StoreError>;
    /// Bytes promised to uploads: the declared length of every upload, finished or not, whose
    /// data is still kept (an unfinished upload reserves its whole length when it is created).
    fn reserved_bytes(&self) -> Result<u64, StoreError>;
    /// Free bytes on the file system that holds the data (`None` where it cannot tell).
    fn free_bytes(&self) -> Option<u64>;
    /// Finished, unpruned reports after `after` in the order they finished, at most `limit`.
    fn finished_after(&self, after: i64, limit: u32) -> Result<Vec<Finished>, StoreError>;
    /// A finished report's ciphertext and its intake record (JSON), or `None`.
    fn read_finished(&self, report_id: Uuid) -> Result<Option<FinishedBytes>, StoreError>;
    /// Deletes a finished report's ciphertext and intake record, keeping its row and receipt
    /// (a phone may still ask for it). Returns the bytes freed, or `None` when there is no
    /// finished, unpruned report with that id.
    fn prune(&self, report_id: Uuid) -> Result<Option<u64>, StoreError>;
    /// The version of the bulletin feed held now, if any.
    fn bulletin_version(&self) -> Result<Option<u64>, StoreError>;
    /// Replaces the held feed with `files` (`index.json`, `tiles/<tile>.json`) at `version`,
    /// all at once (a reader gets the old feed or the new one, whole), unless the held one is
    /// as new: then [`StoreError::StaleBulletins`], checked in the same step.
    fn put_bulletins(&self, version: u64, files: &[(String, Vec<u8>)]) -> Result<(), StoreError>;
    /// One file of the held feed.
    fn bulletin_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
}
