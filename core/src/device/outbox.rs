//! The outbox as the sync engine and the screens use it: which reports are due, the steps of
//! one upload (begin, keep its place, read a chunk, record how it ended; each one call to the
//! I/O thread doing the row and the file work together), and what the outbox holds.

use std::fs;
use std::io::{Read, Seek, SeekFrom};

use base64::{engine::general_purpose::STANDARD, Engine};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{remove_if_present, Device, DeviceError};
use crate::queue::{AttemptFailure, PendingUpload, QueueError, State};
use crate::wire::{hex, DeviceClock, UploadMetadata};

/// How an upload attempt ended, to be recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The server's receipt verified: the organisation holds the report.
    Delivered { receipt: String },
    /// Uploaded to a server that gives no receipt.
    Unconfirmed,
    /// The server refused it for good.
    Rejected { reason: String },
    /// Try again, not before `next_attempt`.
    Failed {
        failure: AttemptFailure,
        next_attempt: OffsetDateTime,
    },
}

/// The outbox's use of storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Storage {
    /// Bytes drafts and undelivered reports take, against the quota.
    pub used_bytes: u64,
    pub quota_bytes: u64,
    pub drafts: u64,
    /// Sealed or uploading: waiting to reach the organisation.
    pub waiting: u64,
    pub delivered: u64,
}

impl Device {
    /// Sealed or uploading reports, oldest first, without a recovery problem; with `due_by`,
    /// only those whose next attempt time has come.
    pub fn pending_uploads(
        &self,
        due_by: Option<OffsetDateTime>,
    ) -> Result<Vec<PendingUpload>, DeviceError> {
        Ok(self.queue.pending_uploads(due_by)?)
    }

    /// Starts (or resumes) an attempt, `sealed → uploading`, and returns what a new upload of
    /// the report carries, with the device's clock now.
    pub fn begin_upload(&mut self, id: Uuid) -> Result<UploadMetadata, DeviceError> {
        let [device_key, envelope_sig, sha] = self.queue.envelope_fields(id)?;
        let corrupt = |what: &str| QueueError::Corrupt(format!("the {what} of report {id}"));
        let metadata = UploadMetadata {
            report_id: id,
            device_key: base64_array(&device_key).ok_or_else(|| corrupt("device key"))?,
            ciphertext_sha256: hex::decode(&sha).ok_or_else(|| corrupt("hash"))?,
            envelope_sig: base64_array(&envelope_sig).ok_or_else(|| corrupt("envelope"))?,
            device_clock: self.device_clock(),
        };
        self.queue.begin_upload(id)?;
        Ok(metadata)
    }

    /// Keeps where the report's upload lives and how far the server has it (`None`: start a
    /// new upload next time).
    pub fn save_upload(&self, id: Uuid, url: Option<&str>, offset: u64) -> Result<(), DeviceError> {
        Ok(self.queue.set_upload_progress(id, url, offset)?)
    }

    /// `len` bytes of the ciphertext from `from`, for one request. With the upload's URL, its
    /// place is saved first: a kill while the request is out resumes from there (after a HEAD).
    pub fn next_chunk(
        &self,
        id: Uuid,
        url: Option<&str>,
        from: u64,
        len: u64,
    ) -> Result<Vec<u8>, DeviceError> {
        if url.is_some() {
            self.queue.set_upload_progress(id, url, from)?;
        }
        let mut file = fs::File::open(self.outbox_path(id))?;
        file.seek(SeekFrom::Start(from))?;
        let mut chunk = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(len).read_to_end(&mut chunk)?;
        Ok(chunk)
    }

    /// Records how an attempt ended and returns the report's state now. A delivered report's
    /// ciphertext is deleted (the organisation holds it); an unconfirmed one is kept until
    /// purged; a failed one goes back to `sealed` with its error and next try.
    pub fn record_outcome(
        &mut self,
        id: Uuid,
        outcome: AttemptOutcome,
    ) -> Result<State, DeviceError> {
        match outcome {
            AttemptOutcome::Delivered { receipt } => {
                self.queue
                    .finish_upload(id, State::Delivered, Some(&receipt))?;
                remove_if_present(&self.outbox_path(id))?;
                Ok(State::Delivered)
            }
            AttemptOutcome::Unconfirmed => {
                self.queue
                    .finish_upload(id, State::UploadedUnconfirmed, None)?;
                Ok(State::UploadedUnconfirmed)
            }
            AttemptOutcome::Rejected { reason } => {
                self.queue
                    .finish_upload(id, State::Rejected, Some(&reason))?;
                Ok(State::Rejected)
            }
            AttemptOutcome::Failed {
                failure,
                next_attempt,
            } => {
                self.queue.record_failure(id, &failure, next_attempt)?;
                Ok(State::Sealed)
            }
        }
    }

    /// The server's signed receipt (JSON) for a delivered report.
    pub fn receipt(&self, id: Uuid) -> Result<Option<String>, DeviceError> {
        Ok(self.queue.receipt(id)?)
    }

    /// Removes delivered reports: their ciphertexts, thumbnails and rows (with `secure_delete`
    /// on, the row's bytes are overwritten too).
    pub fn purge_delivered(&mut self) -> Result<usize, DeviceError> {
        let delivered: Vec<Uuid> = self
            .queue
            .reports()?
            .into_iter()
            .filter(|r| matches!(r.state, State::Delivered | State::UploadedUnconfirmed))
            .map(|r| r.id)
            .collect();
        for id in &delivered {
            remove_if_present(&self.outbox_path(*id))?;
            let _ = self.drafts.remove_thumbnail(*id);
            self.queue.purge(*id)?;
        }
        Ok(delivered.len())
    }

    /// Bytes used against the quota, and reports per kind.
    pub fn storage(&self) -> Result<Storage, DeviceError> {
        let totals = self.queue.totals()?;
        let count = |states: &[State]| {
            states
                .iter()
                .map(|s| totals.get(s).map_or(0, |t| t.0))
                .sum()
        };
        Ok(Storage {
            used_bytes: self.queue.stored_bytes()?,
            quota_bytes: self.config.quota_bytes,
            drafts: count(&[State::Draft]),
            waiting: count(&[State::Sealed, State::Uploading]),
            delivered: count(&[State::Delivered, State::UploadedUnconfirmed]),
        })
    }

    /// Whether the queue database passes SQLite's integrity check.
    pub fn integrity_ok(&self) -> Result<bool, DeviceError> {
        Ok(self.queue.integrity_ok()?)
    }

    /// The phone's clock now, as the upload metadata carries it (see [`DeviceClock`]); `None`
    /// where the platform does not give the core its clocks (iOS passes them at capture only).
    pub fn device_clock(&self) -> Option<DeviceClock> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let clock = crate::report::CaptureClock::now().ok()?;
            Some(DeviceClock {
                boot_tag: self.keys.clock.boot_tag(&clock.boot_id),
                ms_since_boot: clock.monotonic_ms_at_capture,
            })
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        None
    }
}

fn base64_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    STANDARD.decode(text).ok()?.try_into().ok()
}
