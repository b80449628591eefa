//! Sync: upload queued reports to the intake server over tus 1.0.0, resume from the server's
//! offset after any failure, verify the signed receipt, then mark the report delivered and
//! delete its ciphertext.
//!
//! The tus client is ours (no maintained Rust one exists). OPTIONS is asked once per server;
//! POST creates the upload (carrying the whole report when it fits in one chunk); each PATCH
//! streams one chunk from disk, and the upload URL and offset are written to the queue *before*
//! each PATCH, so a killed app resumes with a HEAD. The intake server keeps the part of a body
//! that arrived before a drop, so a drop on a 2G link costs little.
//!
//! In flow order: [`config`] (what the app sets), [`tls`] (where and whom to trust), [`tus`]
//! (one report's upload), [`body`] (one request body, watched for stalls), [`outcome`] (how an
//! attempt ended, typed), [`run`] (the run's budget and progress events).
//!
//! Every attempt ends in one call to the device ([`Device::record_outcome`]), and the event the
//! listener hears carries the state the row has after it.
//!
//! [`Device::record_outcome`]: crate::device::Device::record_outcome

mod body;
mod bulletins;
mod case_photo;
mod config;
mod outcome;
mod run;
mod tls;
mod tus;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::{stream, StreamExt};
use time::OffsetDateTime;
use tokio::sync::{Notify, OnceCell};
use tokio::time::Instant;
use uuid::Uuid;

use crate::device::{AttemptOutcome, DeviceError};
use crate::handle::{DeviceHandle, HandleError};
use crate::queue::{AttemptError, AttemptFailure, PendingUpload, State};
pub use bulletins::{BulletinRefresh, RefreshError};
pub use case_photo::CasePhotoError;
pub use config::{SyncBudget, SyncConfig};
use outcome::Outcome;
use run::Run;
/// The same rules for the desk, which pulls from the intake server too.
pub use tls::{check_intake_url, tls_config};

const TUS: &str = "1.0.0";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    pub delivered: Vec<Uuid>,
    pub unconfirmed: Vec<Uuid>,
    pub rejected: Vec<(Uuid, String)>,
    pub retrying: Vec<(Uuid, AttemptFailure)>,
    /// Cut by the budget (or a cancel) mid-upload; the next sync resumes from the server's
    /// offset.
    pub paused: Vec<Uuid>,
    /// Body bytes handed to the network (resent bytes included).
    pub bytes_sent: u64,
    /// Nothing was tried: the network is metered and the budget does not allow it.
    pub skipped_metered: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the intake URL {0:?} must be https:// (plain http:// only to loopback)")]
    Url(String),
    #[error("the pinned CA certificate cannot be used: {0}")]
    PinnedCa(String),
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
    #[error(transparent)]
    Device(#[from] HandleError),
}

impl From<DeviceError> for SyncError {
    fn from(e: DeviceError) -> Self {
        SyncError::Device(HandleError::Device(e))
    }
}

/// What the shell's outbox hears about (throttled to ~10 progress events/s per report).
pub trait SyncListener: Send + Sync {
    /// `sent`: bytes the server has confirmed (after each chunk, or a HEAD), not bytes handed
    /// to the socket: those can sit in the phone's buffers long after a "sent" would be shown.
    fn progress(&self, report: Uuid, sent: u64, total: u64);
    /// A report's row changed state to `state`. After a failed attempt that is `Sealed` (it
    /// waits for its next try) with the `error`; `detail` is the words: why it was rejected,
    /// or what failed.
    fn state_changed(
        &self,
        report: Uuid,
        state: State,
        error: Option<AttemptError>,
        detail: Option<&str>,
    );
    /// A refresh brought a different feed (or other regions): `cases` in the regions held.
    fn bulletins_changed(&self, version: u64, cases: usize) {
        let _ = (version, cases);
    }
}

/// The sync engine for one intake server: an HTTP client, what the server supports, the
/// listener, and a way to cancel a running sync.
pub struct Syncer {
    client: reqwest::Client,
    config: SyncConfig,
    intake: reqwest::Url,
    caps: OnceCell<tus::ServerCaps>,
    listener: RwLock<Option<Arc<dyn SyncListener>>>,
    /// When each report's last progress event went out (the throttle spans attempts).
    last_progress: Mutex<HashMap<Uuid, Instant>>,
    cancelled: AtomicBool,
    cancel: Notify,
    /// One bulletin refresh at a time: two with other regions would delete each other's tiles.
    refreshing: tokio::sync::Mutex<()>,
}

impl Syncer {
    pub fn new(config: SyncConfig) -> Result<Self, SyncError> {
        let intake = tls::check_intake_url(&config.intake)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls::tls_config(config.pinned_ca.as_deref())?)
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(config.stall_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            // A redirect could send the next request to another host or to plain http.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SyncError::Client(e.to_string()))?;
        Ok(Self {
            client,
            config,
            intake,
            caps: OnceCell::new(),
            listener: RwLock::new(None),
            last_progress: Mutex::new(HashMap::new()),
            cancelled: AtomicBool::new(false),
            cancel: Notify::new(),
            refreshing: tokio::sync::Mutex::new(()),
        })
    }

    pub fn set_listener(&self, listener: Option<Arc<dyn SyncListener>>) {
        if let Ok(mut l) = self.listener.write() {
            *l = listener;
        }
    }

    /// Stops a running sync at its next step; a PATCH in flight is cut (its offset is kept).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
        self.cancel.notify_waiters();
    }

    fn listener(&self) -> Option<Arc<dyn SyncListener>> {
        self.listener.read().ok()?.clone()
    }

    fn state_changed(
        &self,
        id: Uuid,
        state: State,
        error: Option<AttemptError>,
        detail: Option<&str>,
    ) {
        if let Some(l) = self.listener() {
            l.state_changed(id, state, error, detail);
        }
    }

    /// Uploads what is due, oldest first, at most `max_in_flight` at once, within `budget`.
    pub async fn sync(
        &self,
        device: &DeviceHandle,
        budget: SyncBudget,
    ) -> Result<SyncSummary, SyncError> {
        self.cancelled.store(false, Ordering::Relaxed);
        let mut summary = SyncSummary::default();
        if budget.metered && !budget.allow_metered {
            summary.skipped_metered = true;
            return Ok(summary);
        }
        let run = Run {
            syncer: self,
            deadline: Instant::now() + budget.max_wall,
            max_bytes: budget.max_bytes,
            sent: AtomicU64::new(0),
        };
        let due_by = budget.honour_backoff.then(OffsetDateTime::now_utc);
        let pending = device.call(move |d| d.pending_uploads(due_by)).await?;
        let results: Vec<_> = stream::iter(pending)
            .map(|item| self.sync_one(device, &run, item))
            .buffered(self.config.max_in_flight.max(1))
            .collect()
            .await;
        for result in results {
            match result? {
                (_, None) => {}
                (id, Some(Outcome::Delivered(_))) => summary.delivered.push(id),
                (id, Some(Outcome::Unconfirmed)) => summary.unconfirmed.push(id),
                (id, Some(Outcome::Rejected(reason))) => summary.rejected.push((id, reason)),
                (id, Some(Outcome::Retry(failure, _))) => summary.retrying.push((id, failure)),
                (id, Some(Outcome::Paused)) => summary.paused.push(id),
            }
        }
        summary.bytes_sent = run.sent.load(Ordering::Relaxed);
        Ok(summary)
    }

    /// One report: upload and record the outcome (`None`: not tried, the budget ran out).
    async fn sync_one(
        &self,
        device: &DeviceHandle,
        run: &Run<'_>,
        item: PendingUpload,
    ) -> Result<(Uuid, Option<Outcome>), SyncError> {
        let id = item.id;
        if run.spent() {
            return Ok((id, None));
        }
        let metadata = device.call(move |d| d.begin_upload(id)).await?;
        if item.state == State::Sealed {
            self.state_changed(id, State::Uploading, None, None);
        }
        let outcome = self.upload(device, run, &item, metadata).await?;
        let record = match &outcome {
            Outcome::Paused => return Ok((id, Some(outcome))),
            Outcome::Delivered(receipt) => AttemptOutcome::Delivered {
                receipt: receipt.clone(),
            },
            Outcome::Unconfirmed => AttemptOutcome::Unconfirmed,
            Outcome::Rejected(reason) => AttemptOutcome::Rejected {
                reason: reason.clone(),
            },
            Outcome::Retry(failure, retry_after) => AttemptOutcome::Failed {
                failure: failure.clone(),
                next_attempt: OffsetDateTime::now_utc()
                    + outcome::next_try(item.attempts, *retry_after),
            },
        };
        let state = device.call(move |d| d.record_outcome(id, record)).await?;
        let (error, detail) = match &outcome {
            Outcome::Retry(failure, _) => (Some(failure.error), Some(failure.detail.as_str())),
            Outcome::Rejected(reason) => (None, Some(reason.as_str())),
            _ => (None, None),
        };
        self.state_changed(id, state, error, detail);
        Ok((id, Some(outcome)))
    }
}
