//! Sighting for Kotlin, Swift and Python (UniFFI).
//!
//! Thin by design: this crate maps the core's types and errors and holds no logic the core
//! could hold. One object, [`SightingClient`], wraps the device (on its I/O thread) and the
//! sync engine; two foreign traits come in from the app: [`KeyStore`] (the platform keystore)
//! and [`EventListener`] (the outbox screen). Async methods run on UniFFI's tokio support
//! (Kotlin `suspend`, Swift `async`, Python `async def`); nothing here blocks on a runtime.

mod bulletins;
mod convert;
mod error;
mod observations;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sighting_core::capture::{read_photo, CaptureRequest};
use sighting_core::handle::DeviceHandle;
use sighting_core::keys::KeyError;
use sighting_core::report::Details;
use sighting_core::sync::Syncer;

pub use bulletins::{BulletinList, BulletinRefresh, BulletinStatus, MissingChild, SafetyLine, Sex};
pub use error::{KeyStoreError, ListenerError, SightingError};
pub use observations::{Activity, AgeBand, Observations, WithAdults};

uniffi::setup_scaffolding!();

/// How the app is set up: where it keeps its data and whom it sends reports to.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientConfig {
    /// App-private directory for the outbox, drafts, keys and the queue database.
    pub data_dir: String,
    /// The organisation's age recipients (`age1…`); reports are sealed to all of them.
    pub recipients: Vec<String>,
    /// The intake server, `https://…` (plain `http://` only to loopback).
    pub intake_url: String,
    /// The intake server's receipt key (Ed25519, base64), as printed by `sighting-server keygen`.
    pub server_key: String,
    /// Trust only this CA certificate (PEM) for the intake server instead of the bundled roots.
    pub pinned_ca_pem: Option<String>,
    /// Most bytes drafts and undelivered reports may take (default 512 MiB).
    pub quota_bytes: Option<u64>,
    /// Long edge of the photo sent (default 2048 px).
    pub upload_max_edge: Option<u32>,
    /// Largest photo file accepted (default 64 MiB) and pixel count (default 100 MP).
    pub max_photo_bytes: Option<u64>,
    pub max_photo_pixels: Option<u64>,
    /// Bytes per upload request (default 256 KiB).
    pub chunk_bytes: Option<u32>,
    /// The organisation's bulletin key (Ed25519, base64) from `sighting-server keygen`
    /// (`bulletin.pub`); without it the app shows no missing-children list.
    #[uniffi(default = None)]
    pub bulletin_key: Option<String>,
}

/// The platform keystore (Android Keystore, iOS Keychain / Secure Enclave): wraps and unwraps
/// the app's own keys with a key that never leaves it.
#[uniffi::export(with_foreign)]
pub trait KeyStore: Send + Sync {
    /// Encrypts `plain` (at most a few hundred bytes) with the keystore's key.
    fn wrap(&self, plain: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;
    /// Decrypts what [`KeyStore::wrap`] returned.
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;
}

/// What the outbox screen hears during a sync.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    /// Bytes of a report the server has confirmed so far (at most ~10 calls a second each).
    fn on_progress(&self, report_id: String, sent: u64, total: u64) -> Result<(), ListenerError>;
    /// A report's row changed to `state`. After a failed attempt that is `Sealed` (waiting for
    /// its next try) with `error` set; `detail` is words for logs: why it was rejected, or
    /// what failed. Screens switch on `state` and `error`, never on `detail`.
    fn on_state_changed(
        &self,
        report_id: String,
        state: ReportState,
        error: Option<AttemptError>,
        detail: Option<String>,
    ) -> Result<(), ListenerError>;
    /// A bulletin refresh changed the missing-children list: feed `version`, `cases` held.
    fn on_bulletins_changed(&self, version: u64, cases: u32) -> Result<(), ListenerError>;
}

/// Why the last upload attempt of a report failed; it will be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AttemptError {
    /// The organisation's server could not be reached, or the connection broke.
    Network,
    /// The server's certificate is not trusted (a wrong network, or someone in between).
    TlsNotTrusted,
    /// The connection stopped moving.
    Stalled,
    /// The server answered with an error it may recover from (`status`: the HTTP status, 0
    /// when unknown).
    ServerStatus { status: u16 },
    /// The server is out of space for new reports and asked to come back later.
    ServerFull,
    /// The server did not follow the upload protocol.
    ServerProtocol,
    /// The server's confirmation did not check out against the configured receipt key.
    ReceiptRefused,
}

/// Where a report is, as the reporter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReportState {
    /// Captured, not yet sent by the reporter.
    Draft,
    /// Sealed and waiting for the network.
    Sealed,
    /// Being uploaded (or waiting to retry).
    Uploading,
    /// The organisation's server confirmed it with a signed receipt.
    Delivered,
    /// Removed from the phone after delivery.
    Purged,
    /// The server refused it; `reject_reason` says why. Not retried.
    Rejected,
    /// Uploaded to a server that gives no receipt.
    UploadedUnconfirmed,
}

/// The photo: a file the camera wrote into app-private storage, or its bytes.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum PhotoSource {
    Path { path: String },
    Bytes { bytes: Vec<u8> },
}

/// A location fix from the phone at shutter time.
#[derive(Debug, Clone, uniffi::Record)]
pub struct LocationFix {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy radius, metres.
    pub accuracy_m: f64,
    pub altitude_m: Option<f64>,
    pub heading_deg: Option<f64>,
    pub fix_time: SystemTime,
    /// The platform's provider name ("fused", "gps", "network").
    pub provider: String,
}

/// Why there is no fix. Never replaced by a made-up position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LocationMissingReason {
    PermissionDenied,
    /// Asked, and no fix came in time.
    NoFix,
    Stale,
    /// The reporter turned location off.
    Disabled,
    /// The phone has no location service to ask (no GPS, network or fused provider).
    NoProvider,
}

/// The phone's location at the shutter, or why there is none (then the camera's own GPS tags,
/// if any, are used).
#[derive(Debug, Clone, uniffi::Enum)]
pub enum CaptureLocation {
    Fix { fix: LocationFix },
    Missing { reason: LocationMissingReason },
}

/// The phone's clocks at the shutter.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ShutterClock {
    /// Wall clock, and its UTC offset then in minutes (+120 for CEST).
    pub wall: SystemTime,
    pub utc_offset_minutes: i32,
    /// Milliseconds since boot and the boot's id, for the desk to correct a wrong wall clock.
    /// `None` on Android (the core reads `CLOCK_BOOTTIME` and the kernel's boot id itself).
    pub monotonic: Option<MonotonicClock>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct MonotonicClock {
    pub ms_since_boot: u64,
    pub boot_id: String,
}

/// A captured photo waiting for the reporter's note and "send".
#[derive(Debug, Clone, uniffi::Record)]
pub struct DraftSummary {
    pub id: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    /// Where the report will say the photo was taken (the phone's fix, the camera's GPS, or
    /// why there is none).
    pub location: CaptureLocation,
    /// What was stripped from the camera's file, e.g. "Exif (camera make, model, serial …)".
    pub removed: Vec<String>,
}

/// What the reporter adds before sending.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct ReportDetails {
    /// Free text, at most 4 KiB.
    pub note: Option<String>,
    /// The organisation's own form fields ("child_alone" → "yes").
    pub tags: HashMap<String, String>,
    /// "This may be case N" and what the reporter saw, chosen from lists.
    #[uniffi(default = None)]
    pub observations: Option<Observations>,
}

/// One row of the outbox.
#[derive(Debug, Clone, uniffi::Record)]
pub struct OutboxReport {
    pub id: String,
    pub state: ReportState,
    pub bytes: u64,
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub attempts: u32,
    /// What went wrong in the last attempt (switch on this), and that in words (for logs).
    pub last_error: Option<AttemptError>,
    pub last_error_detail: Option<String>,
    pub next_attempt_at: Option<SystemTime>,
    pub reject_reason: Option<String>,
    /// Set when the report's file is missing or damaged (it is kept, never silently dropped).
    pub problem: Option<String>,
}

/// How much one sync may spend (a background task gets ~30 s).
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncBudget {
    pub max_wall_ms: u64,
    pub max_bytes: Option<u64>,
    /// True for background runs: skip reports whose retry time has not come.
    pub honour_backoff: bool,
    /// The reporter allows mobile data, and whether the network now is metered.
    pub allow_metered: bool,
    pub metered: bool,
}

/// A report and why it was refused.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ReportReason {
    pub id: String,
    pub reason: String,
}

/// A report whose attempt failed and will be retried.
#[derive(Debug, Clone, uniffi::Record)]
pub struct RetryingReport {
    pub id: String,
    pub error: AttemptError,
    pub detail: String,
}

/// What one sync did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncSummary {
    pub delivered: Vec<String>,
    pub unconfirmed: Vec<String>,
    pub rejected: Vec<ReportReason>,
    pub retrying: Vec<RetryingReport>,
    /// Cut by the budget or `cancel_sync`; the next sync resumes them.
    pub paused: Vec<String>,
    pub bytes_sent: u64,
    /// Nothing was tried: the network is metered and the reporter does not allow it.
    pub skipped_metered: bool,
}

/// The app's use of storage.
#[derive(Debug, Clone, uniffi::Record)]
pub struct StorageInfo {
    pub used_bytes: u64,
    pub quota_bytes: u64,
    pub drafts: u32,
    /// Sealed or uploading: waiting to reach the organisation.
    pub waiting: u32,
    /// Delivered (or sent to a server without receipts), not yet purged.
    pub delivered: u32,
}

/// Sighting on the phone: capture, the outbox, and sync. Create one per app process (it owns
/// the data directory); the constructor and `wipe` do disk I/O, so call them off the main
/// thread.
#[derive(uniffi::Object)]
pub struct SightingClient {
    config: sighting_core::client::ClientConfig,
    key_store: Arc<dyn KeyStore>,
    device: Mutex<Option<Arc<DeviceHandle>>>,
    syncer: Syncer,
}

#[uniffi::export(async_runtime = "tokio")]
impl SightingClient {
    /// Opens (or creates) the data directory; unwraps the device keys with `key_store`; runs the
    /// recovery sweep of a queue a killed app left behind.
    #[uniffi::constructor]
    pub fn new(
        config: ClientConfig,
        key_store: Arc<dyn KeyStore>,
    ) -> Result<Arc<Self>, SightingError> {
        let config = convert::client_config(config)?;
        let syncer = config.syncer()?;
        let device = open_device(&config, &key_store)?;
        Ok(Arc::new(Self {
            config,
            key_store,
            device: Mutex::new(Some(Arc::new(device))),
            syncer,
        }))
    }

    /// Strips the photo's metadata, writes fresh Exif (time, location), makes the upload copy
    /// and thumbnail, and keeps it as an encrypted draft. The app deletes its own file after.
    pub async fn capture(
        &self,
        photo: PhotoSource,
        location: CaptureLocation,
        clock: ShutterClock,
    ) -> Result<DraftSummary, SightingError> {
        let request = CaptureRequest {
            location: convert::location(location)?,
            captured_at: Some(convert::wall_time(clock.wall, clock.utc_offset_minutes)?),
        };
        let clock = convert::capture_clock(&clock)?;
        let options = self.config.capture_options();
        let draft = self
            .device()?
            .call(move |d| {
                let bytes = match photo {
                    PhotoSource::Path { path } => read_photo(&PathBuf::from(path), &options)?,
                    PhotoSource::Bytes { bytes } => bytes,
                };
                d.capture(bytes, &request, clock)
            })
            .await?;
        Ok(convert::draft(draft))
    }

    /// Seals the draft with the reporter's details into the outbox; returns the report id.
    pub async fn submit(
        &self,
        draft_id: String,
        details: ReportDetails,
    ) -> Result<String, SightingError> {
        let id = convert::id(&draft_id)?;
        let details = Details {
            note: details.note,
            tags: details
                .tags
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            observations: details
                .observations
                .map(observations::observations)
                .transpose()?,
        };
        let envelope = self.device()?.call(move |d| d.submit(id, details)).await?;
        Ok(envelope.report_id.to_string())
    }

    /// Deletes a draft the reporter does not want to send.
    pub async fn discard(&self, draft_id: String) -> Result<(), SightingError> {
        let id = convert::id(&draft_id)?;
        Ok(self.device()?.call(move |d| d.discard(id)).await?)
    }

    /// The outbox, oldest first: every report with its honest state.
    pub async fn reports(&self) -> Result<Vec<OutboxReport>, SightingError> {
        let reports = self.device()?.call(|d| d.reports()).await?;
        Ok(reports.into_iter().map(convert::report).collect())
    }

    /// The small JPEG the outbox shows for a draft or report (decrypted in memory only).
    pub async fn thumbnail(&self, id: String) -> Result<Vec<u8>, SightingError> {
        let id = convert::id(&id)?;
        Ok(self.device()?.call(move |d| d.thumbnail(id)).await?)
    }

    /// Uploads what is waiting, within `budget`. Safe to call again while offline: failures are
    /// recorded per report and retried later. Stop it with `cancel_sync`.
    pub async fn sync(&self, budget: SyncBudget) -> Result<SyncSummary, SightingError> {
        let device = self.device()?;
        let summary = self.syncer.sync(&device, convert::budget(&budget)).await?;
        Ok(convert::summary(summary))
    }

    /// Stops a running `sync` at its next step (a request in flight is cut; the server keeps
    /// what arrived). Async calls cannot be cancelled from Kotlin or Swift, hence this.
    pub fn cancel_sync(&self) {
        self.syncer.cancel();
    }

    /// Sets (or clears) the listener for progress and state changes.
    pub fn set_listener(&self, listener: Option<Arc<dyn EventListener>>) {
        self.syncer
            .set_listener(listener.map(|l| Arc::new(convert::Listener(l)) as _));
    }

    /// Bytes used against the quota, and reports per kind.
    pub async fn storage(&self) -> Result<StorageInfo, SightingError> {
        let storage = self.device()?.call(|d| d.storage()).await?;
        Ok(convert::storage(storage))
    }

    /// Removes delivered reports from the phone; returns how many.
    pub async fn purge_delivered(&self) -> Result<u32, SightingError> {
        let n = self.device()?.call(|d| d.purge_delivered()).await?;
        Ok(n as u32)
    }

    /// Panic wipe: deletes the keys, then every draft, report and the database, and starts
    /// afresh with a new device identity. Blocks until done.
    pub fn wipe(&self) -> Result<(), SightingError> {
        self.syncer.cancel();
        let mut slot = self
            .device
            .lock()
            .map_err(|_| SightingError::internal("the client is poisoned"))?;
        let handle = slot
            .take()
            .ok_or_else(|| SightingError::internal("closed"))?;
        let handle = Arc::try_unwrap(handle)
            .map_err(|_| SightingError::internal("an operation is still running"))?;
        handle.into_device()?.wipe()?;
        *slot = Some(Arc::new(open_device(&self.config, &self.key_store)?));
        Ok(())
    }

    /// A new device key: later reports cannot be linked to earlier ones.
    pub async fn reset_identity(&self) -> Result<(), SightingError> {
        let key_store = convert::CoreKeyStore(self.key_store.clone());
        Ok(self
            .device()?
            .call(move |d| d.reset_identity(&key_store))
            .await?)
    }
}

impl SightingClient {
    fn device(&self) -> Result<Arc<DeviceHandle>, SightingError> {
        self.device
            .lock()
            .map_err(|_| SightingError::internal("the client is poisoned"))?
            .clone()
            .ok_or_else(|| SightingError::internal("the client is closed"))
    }
}

fn open_device(
    config: &sighting_core::client::ClientConfig,
    key_store: &Arc<dyn KeyStore>,
) -> Result<DeviceHandle, SightingError> {
    Ok(config.open_device(&convert::CoreKeyStore(key_store.clone()))?)
}

impl From<KeyStoreError> for KeyError {
    fn from(e: KeyStoreError) -> Self {
        KeyError::KeyStore(e.to_string())
    }
}
