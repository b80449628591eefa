//! Where the intake server keeps uploads: four async traits, one per concern, each implemented
//! by both stores in a file of its own (`sqlite/<concern>.rs`, `shared/<concern>.rs`):
//! [`TusUploads`] (the tus steps), [`Admission`] (rate tokens, quota), [`DeskFeed`] (the desk's
//! feed and prune) and [`Bulletins`]. [`UploadStore`] is all four, what the intake holds.
//! Failures are a [`StoreError`], which names no backend.
//!
//! - [`SqliteStore`] (`sqlite/`, schema in `schema.rs`): SQLite for metadata, files for bytes,
//!   one machine. The default.
//! - [`SharedStore`] (`shared/`): PostgreSQL for upload state and receipts, an object store (S3
//!   and anything the `object_store` crate speaks, or a local directory) for bytes, shared by any
//!   number of stateless intake nodes. Every step that could race between nodes is a
//!   compare-and-swap in PostgreSQL, so no lock is needed for correctness.
mod error;
mod schema;
mod shared;
mod sqlite;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use sighting_core::wire::desk_feed::{Finished, IntakeRecord};
use sighting_core::wire::DeviceClock;
use uuid::Uuid;

pub use error::{Source, StoreError};
pub use shared::{objects_at, SharedStore, SharedStoreConfig};
pub use sqlite::SqliteStore;

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

/// A finished report's bytes as the desk pulls them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedBytes {
    pub ciphertext: Vec<u8>,
    /// The intake record, JSON.
    pub record: Vec<u8>,
}

/// Opens the store a `--store` value names: `sqlite:DIR`, or
/// `postgres://USER@HOST:PORT/DB;s3://BUCKET/PREFIX` (or `;file:///DIR`) with credentials from
/// the environment (see [`SharedStoreConfig`]).
pub async fn open(spec: &str) -> Result<std::sync::Arc<dyn UploadStore>, StoreError> {
    if let Some(dir) = spec.strip_prefix("sqlite:") {
        let dir = std::path::PathBuf::from(dir);
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(&dir))
            .await
            .map_err(|_| StoreError::failed("opening the store failed"))??;
        return Ok(std::sync::Arc::new(store));
    }
    if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let config = SharedStoreConfig::from_spec(spec)?;
        return Ok(std::sync::Arc::new(SharedStore::open(config).await?));
    }
    Err(StoreError::Config(format!(
        "{spec:?}: expected sqlite:DIR or postgres://…;s3://bucket/prefix"
    )))
}

/// A token bucket per device key: `burst` new uploads at once, one more every `refill`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub burst: u32,
    pub refill: Duration,
}

/// Everything the intake needs of a store.
pub trait UploadStore: TusUploads + Admission + DeskFeed + Bulletins {}

impl<T: TusUploads + Admission + DeskFeed + Bulletins + ?Sized> UploadStore for T {}

/// The tus steps. Each call is one step a request takes; the comments say what must hold when
/// two requests (on one node or on two) take steps on one upload at once.
#[async_trait::async_trait]
pub trait TusUploads: Send + Sync {
    /// Records a new upload (offset 0), or, when an upload for its report id is recorded
    /// already, returns that one untouched: creating a report twice at once (two nodes, one
    /// phone retrying) yields one upload.
    async fn create(&self, upload: &Upload) -> Result<Upload, StoreError>;
    async fn get(&self, id: Uuid) -> Result<Option<Upload>, StoreError>;
    async fn by_report(&self, report_id: Uuid) -> Result<Option<Upload>, StoreError>;
    /// Starts receiving a body at `offset`, which must be the recorded offset
    /// ([`StoreError::OffsetMismatch`] otherwise). Bytes written past the recorded offset and
    /// never committed (a crash, a refused checksum) are not part of the upload.
    async fn begin_append(&self, id: Uuid, offset: u64) -> Result<(), StoreError>;
    /// Writes `bytes` at `at`, not yet durable nor acknowledged.
    async fn write(&self, id: Uuid, at: u64, bytes: Vec<u8>) -> Result<(), StoreError>;
    /// The fewest bytes worth keeping on their own before a body ends: a slow body is kept
    /// every second only once this many have arrived (its last bytes are kept whatever their
    /// number). A store that keeps each write as an object and a row says more than 0.
    fn min_piece_bytes(&self) -> usize {
        0
    }
    /// Makes what was written from `from` up to `to` durable, then moves the recorded offset
    /// from `from` to `to` — only if it is still `from` and the upload unfinished
    /// ([`StoreError::OffsetMismatch`] otherwise, nothing kept): an acknowledged byte survives
    /// a restart, and of two requests sending the same bytes only one is acknowledged. A store
    /// that bounds an upload's pieces drops one past the bound ([`StoreError::TooManyPieces`]).
    async fn commit(&self, id: Uuid, from: u64, to: u64) -> Result<(), StoreError>;
    /// [`write`](Self::write) at `at`, then [`commit`](Self::commit) from `from` to the end of
    /// `bytes`: how a body without a checksum is kept, in one step so a store can do both in
    /// one trip.
    async fn write_and_commit(
        &self,
        id: Uuid,
        from: u64,
        at: u64,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError> {
        let to = at + bytes.len() as u64;
        self.write(id, at, bytes).await?;
        self.commit(id, from, to).await
    }
    /// Drops what was written past the recorded offset (tus checksum: "the Upload-Offset MUST
    /// NOT be incremented").
    async fn rollback(&self, id: Uuid) -> Result<(), StoreError>;
    /// Puts the upload's acknowledged bytes together where a finished report is kept,
    /// streaming, and returns their length and SHA-256 for the completion checks. Nothing is
    /// finished until [`complete`](Self::complete); after a mismatch the caller deletes.
    async fn assemble(&self, id: Uuid) -> Result<(u64, [u8; 32]), StoreError>;
    /// Records the receipt of an assembled upload, only if it has none yet, and returns the
    /// receipt kept: this one, or the one another request recorded first.
    async fn complete(&self, id: Uuid, receipt: &str) -> Result<String, StoreError>;
    /// Removes an unfinished upload and its data (termination, failed checks); whether there
    /// was one to remove.
    async fn delete(&self, id: Uuid) -> Result<bool, StoreError>;
    /// Removes every unfinished upload whose time ran out by `now` and returns those this call
    /// removed: sweeps running at once remove each upload once.
    async fn expire(&self, now: i64) -> Result<Vec<Uuid>, StoreError>;
}

/// What lets a new upload in: the rate limit's tokens and the storage it may take.
#[async_trait::async_trait]
pub trait Admission: Send + Sync {
    /// Takes a token from the device key's bucket, or says how long until there is one. The
    /// buckets are the store's, so nodes sharing a store share them.
    async fn take_upload_token(
        &self,
        device_key: &str,
        limit: RateLimit,
    ) -> Result<Result<(), Duration>, StoreError>;
    /// Bytes promised to uploads: the declared length of every upload, finished or not, whose
    /// data is still kept (an unfinished upload reserves its whole length when it is created).
    async fn reserved_bytes(&self) -> Result<u64, StoreError>;
    /// Free bytes on the file system that holds the data (`None` where it cannot tell).
    fn free_bytes(&self) -> Option<u64>;
}

/// The desk's feed of finished reports, and freeing them once the desk holds them.
#[async_trait::async_trait]
pub trait DeskFeed: Send + Sync {
    /// Finished, unpruned reports after `after` in the order they finished, at most `limit`.
    async fn finished_after(&self, after: i64, limit: u32) -> Result<Vec<Finished>, StoreError>;
    /// A finished report's ciphertext and its intake record (JSON), or `None`.
    async fn read_finished(&self, report_id: Uuid) -> Result<Option<FinishedBytes>, StoreError>;
    /// Deletes a finished report's ciphertext and intake record, keeping its row and receipt
    /// (a phone may still ask for it). Returns the bytes freed, or `None` when there is no
    /// finished, unpruned report with that id.
    async fn prune(&self, report_id: Uuid) -> Result<Option<u64>, StoreError>;
}

/// The bulletin feed the intake serves.
#[async_trait::async_trait]
pub trait Bulletins: Send + Sync {
    /// The version of the bulletin feed held now, if any.
    async fn bulletin_version(&self) -> Result<Option<u64>, StoreError>;
    /// Replaces the held feed with `files` (`index.json`, `tiles/<tile>.json`) at `version`,
    /// all at once (a reader gets the old feed or the new one, whole), unless the held one is
    /// as new: then [`StoreError::StaleBulletins`], checked in the same step.
    async fn put_bulletins(
        &self,
        version: u64,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError>;
    /// One file of the held feed.
    async fn bulletin_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
}
