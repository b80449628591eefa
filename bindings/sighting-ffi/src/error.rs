//! The one public error enum, and the one place the core's errors are mapped onto it.

use sighting_core::capture::CaptureError;
use sighting_core::device::DeviceError;
use sighting_core::handle::HandleError;
use sighting_core::keys::KeyError;
use sighting_core::queue::QueueError;
use sighting_core::seal::SealError;
use sighting_core::sync::SyncError;
use uniffi::UnexpectedUniFFICallbackError;

/// What went wrong, in kinds a screen can act on (Kotlin `SightingException`, Swift
/// `SightingError`). `reason` is a sentence for logs and support, not for branching.
///
/// A report the server refuses is not an error of any call: it is in `SyncSummary.rejected`
/// and the outbox row's `reject_reason`, and the other reports go on.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SightingError {
    /// Not a JPEG, damaged, HEIC, or cannot be read.
    #[error("invalid photo: {reason}")]
    InvalidPhoto { reason: String },
    /// Over the file size or pixel limit; nothing was decoded.
    #[error("photo too large: {reason}")]
    PhotoTooLarge { reason: String },
    /// Latitude, longitude, accuracy or fix time out of range.
    #[error("invalid location: {reason}")]
    InvalidLocation { reason: String },
    /// The quota is reached or the phone is full; nothing queued was lost.
    #[error("storage full: {reason}")]
    StorageFull { reason: String },
    /// The platform keystore failed, or a stored key is corrupt.
    #[error("keystore: {reason}")]
    KeyStore { reason: String },
    /// The intake server cannot be configured or reached (bad URL, pinned CA).
    #[error("network: {reason}")]
    Network { reason: String },
    /// Encryption or signing failed.
    #[error("crypto: {reason}")]
    Crypto { reason: String },
    /// A bad argument: an unknown id, a note over 4 KiB, a recipient that is not `age1…`.
    #[error("invalid input: {reason}")]
    InvalidInput { reason: String },
    /// The organisation's server could not be reached, or answered with an error (a bulletin
    /// refresh; uploads report this per report instead).
    #[error("unreachable: {reason}")]
    Unreachable { reason: String },
    /// The bulletin feed from the server did not verify (signature, version, expiry, size,
    /// format); the list held before is kept.
    #[error("bulletins refused: {reason}")]
    BulletinsRefused { reason: String },
    /// A case photo from the server is not the one the signed list names (digest, or over its
    /// size); it was not kept.
    #[error("case photo refused: {reason}")]
    CasePhotoRefused { reason: String },
    /// A bug or an unexpected state; the app should report it and carry on.
    #[error("internal: {reason}")]
    Internal { reason: String },
}

impl SightingError {
    pub(crate) fn internal(reason: impl Into<String>) -> Self {
        SightingError::Internal {
            reason: reason.into(),
        }
    }
}

/// A failure in the app's [`crate::KeyStore`].
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyStoreError {
    #[error("{reason}")]
    Failed { reason: String },
}

/// A failure in the app's [`crate::EventListener`] (ignored: the sync goes on).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    #[error("{reason}")]
    Failed { reason: String },
}

/// A Kotlin or Swift callback that throws something undeclared becomes an error, not a panic.
impl From<UnexpectedUniFFICallbackError> for KeyStoreError {
    fn from(e: UnexpectedUniFFICallbackError) -> Self {
        KeyStoreError::Failed { reason: e.reason }
    }
}

impl From<UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed { reason: e.reason }
    }
}

impl From<DeviceError> for SightingError {
    fn from(e: DeviceError) -> Self {
        let reason = e.to_string();
        match e {
            DeviceError::Capture(c) => match c {
                CaptureError::FileTooLarge { .. } | CaptureError::TooManyPixels { .. } => {
                    SightingError::PhotoTooLarge { reason }
                }
                CaptureError::Location(_) => SightingError::InvalidLocation { reason },
                CaptureError::Encode(_) | CaptureError::Internal(_) => {
                    SightingError::Internal { reason }
                }
                _ => SightingError::InvalidPhoto { reason },
            },
            DeviceError::StorageFull { .. } => SightingError::StorageFull { reason },
            DeviceError::Key(k) | DeviceError::Draft(sighting_core::draft::DraftError::Key(k)) => {
                k.into()
            }
            DeviceError::Draft(sighting_core::draft::DraftError::NotFound(_))
            | DeviceError::Queue(QueueError::NotFound(_) | QueueError::IllegalTransition { .. })
            | DeviceError::Report(_)
            | DeviceError::Seal(SealError::Recipient(_) | SealError::NoRecipients) => {
                SightingError::InvalidInput { reason }
            }
            DeviceError::Seal(SealError::Crypto(_)) => SightingError::Crypto { reason },
            _ => SightingError::Internal { reason },
        }
    }
}

impl From<KeyError> for SightingError {
    fn from(e: KeyError) -> Self {
        let reason = e.to_string();
        match e {
            KeyError::KeyStore(_) | KeyError::Corrupt => SightingError::KeyStore { reason },
            KeyError::Random => SightingError::Crypto { reason },
            KeyError::Io(_) => SightingError::Internal { reason },
        }
    }
}

impl From<HandleError> for SightingError {
    fn from(e: HandleError) -> Self {
        match e {
            HandleError::Device(d) => d.into(),
            other => SightingError::internal(other.to_string()),
        }
    }
}

impl From<SyncError> for SightingError {
    fn from(e: SyncError) -> Self {
        let reason = e.to_string();
        match e {
            SyncError::Device(h) => h.into(),
            SyncError::Url(_) | SyncError::PinnedCa(_) | SyncError::Client(_) => {
                SightingError::Network { reason }
            }
        }
    }
}
