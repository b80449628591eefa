//! What a store's step can fail with, in the intake's words: no backend is named here. Each
//! backend sorts its own errors into these (`sqlite/error.rs`, `shared/error.rs`) and keeps the
//! original as the source, for the log; `Refusal` turns them into HTTP statuses in one place.

use uuid::Uuid;

/// The backend's own error, kept for the log (never sent to a client).
pub type Source = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// tus: the client's offset is not the upload's.
    #[error("the upload's offset is {actual}, not {expected}")]
    OffsetMismatch { expected: u64, actual: u64 },
    #[error("the bulletin feed held is version {held}, as new or newer")]
    StaleBulletins { held: u64 },
    #[error("no upload {0}")]
    NotFound(Uuid),
    #[error("upload {0} was finished by another request")]
    Finished(Uuid),
    /// The upload came in more pieces than the store keeps for its length (a body trickled
    /// in, or sent in many tiny requests): it was dropped, and must start again.
    #[error("upload {id} came in more than {most} pieces and was dropped")]
    TooManyPieces { id: Uuid, most: u64 },
    /// The disk, or a quota on it, is full: come back later.
    #[error("storage is full: {0}")]
    Full(#[source] Source),
    /// The database or the bucket cannot be reached, or refuses for now: come back later;
    /// what was acknowledged before is kept.
    #[error("storage is out of reach: {0}")]
    Unavailable(#[source] Source),
    /// What the store holds is not what it wrote (a damaged or hand-edited row, a missing piece).
    #[error("the storage is damaged: {0}")]
    Corrupt(String),
    /// The store cannot be opened as configured.
    #[error("the store's configuration: {0}")]
    Config(String),
    /// Any other failure of the backend.
    #[error("storage failed: {0}")]
    Failed(#[source] Source),
}

impl StoreError {
    /// A failure with only words to say (a panicked storage task, a poisoned lock).
    pub(crate) fn failed(what: &str) -> Self {
        StoreError::Failed(what.into())
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind::{QuotaExceeded, StorageFull};
        match e.kind() {
            StorageFull | QuotaExceeded => StoreError::Full(e.into()),
            _ => StoreError::Failed(e.into()),
        }
    }
}
