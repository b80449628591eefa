//! The reporter's device: capture into an encrypted draft, submit it as a sealed report.
//!
//! This is the object the bindings will wrap. Each report has a row in the queue
//! (`queue.sqlite3`); a sealed report's ciphertext is `outbox/<id>.age`.
//!
//! The device owns its queue: callers get operations, each doing a state change together with
//! its file work ([`outbox`] has those the sync engine uses), never the database itself.
//!
//! Crash safety comes from the order of writes: a file is made durable (temp, fsync, rename,
//! directory fsync) before the row that points at it, and a row is only ever acknowledged to
//! the reporter after its transaction committed. The recovery sweep at open cleans what a kill
//! between those steps leaves behind, and flags (never drops) rows whose file is wrong.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

mod bulletins;
mod outbox;
mod recovery;

pub use outbox::{AttemptOutcome, Storage};

use base64::{engine::general_purpose::STANDARD, Engine};
use uuid::Uuid;

use crate::bulletins::{BulletinStore, BulletinStoreError};
use crate::capture::{self, CaptureOptions, CaptureRequest};
use crate::draft::{Draft, DraftError, DraftStore, ReportLabel};
use crate::keys::{self, DeviceKeys, KeyError, KeyStore};
use crate::queue::{Queue, QueueError, ReportStatus, SealedFields, State};
use crate::report::{CaptureClock, Details, Manifest, ReportError};
use crate::seal::{self, Envelope, Recipient, SealError};

/// Default storage quota for drafts and undelivered reports.
pub const DEFAULT_QUOTA_BYTES: u64 = 512 << 20;
const ENOSPC: i32 = 28;

#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Capture(#[from] capture::CaptureError),
    #[error(transparent)]
    Draft(#[from] DraftError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Bulletins(#[from] BulletinStoreError),
    #[error("not enough storage: {why}")]
    StorageFull {
        needed: u64,
        limit: u64,
        why: &'static str,
    },
    #[error("storage: {0}")]
    Io(std::io::Error),
}

impl DeviceError {
    /// A full disk, wherever in the chain it surfaced (a file write, SQLite, the sealer), is the
    /// reporter's "storage full", the same as the quota.
    pub(crate) fn full_disk_as_storage_full(self) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&self);
        while let Some(e) = source {
            let io_full = e
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.raw_os_error() == Some(ENOSPC));
            let sqlite_full = matches!(
                e.downcast_ref::<rusqlite::Error>(),
                Some(rusqlite::Error::SqliteFailure(f, _)) if f.code == rusqlite::ErrorCode::DiskFull
            );
            if io_full || sqlite_full {
                return DeviceError::StorageFull {
                    needed: 0,
                    limit: 0,
                    why: "the device is full",
                };
            }
            source = e.source();
        }
        self
    }
}

impl From<std::io::Error> for DeviceError {
    // A full disk is the same condition to the reporter as the quota: one clear error.
    fn from(e: std::io::Error) -> Self {
        if e.raw_os_error() == Some(ENOSPC) {
            DeviceError::StorageFull {
                needed: 0,
                limit: 0,
                why: "the device is full",
            }
        } else {
            DeviceError::Io(e)
        }
    }
}

/// What the organisation configured in the app.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    pub recipients: Vec<Recipient>,
    /// Also seal the sanitized full-size photo as `original.jpg`.
    pub include_original: bool,
    pub capture: CaptureOptions,
    /// Most bytes drafts and undelivered reports may take (default 512 MiB).
    pub quota_bytes: u64,
}

impl DeviceConfig {
    /// The defaults: the upload copy only, default capture options, a 512 MiB quota.
    pub fn new(recipients: Vec<Recipient>) -> Self {
        Self {
            recipients,
            include_original: false,
            capture: CaptureOptions::default(),
            quota_bytes: DEFAULT_QUOTA_BYTES,
        }
    }
}

/// A draft as the reporter's screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftSummary {
    pub id: Uuid,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub location: capture::Location,
    /// What was stripped from the camera's file.
    pub removed: Vec<capture::Removed>,
}

pub struct Device {
    data_dir: PathBuf,
    keys: DeviceKeys,
    drafts: DraftStore,
    bulletins: BulletinStore,
    queue: Queue,
    config: DeviceConfig,
}

impl Device {
    /// Opens (or makes, on first run) the device in `data_dir`.
    pub fn open(
        data_dir: &Path,
        keystore: &dyn KeyStore,
        config: DeviceConfig,
    ) -> Result<Self, DeviceError> {
        if config.recipients.is_empty() {
            return Err(SealError::NoRecipients.into());
        }
        crate::private_fs::create_dir(data_dir)?;
        let keys = DeviceKeys::open_or_create(&keys::keys_dir(data_dir), keystore)?;
        let drafts = DraftStore::open(data_dir)?;
        let bulletins = BulletinStore::open(data_dir)?;
        crate::private_fs::create_dir(&data_dir.join("outbox"))?;
        let queue = Queue::open(&data_dir.join("queue.sqlite3"))?;
        let device = Self {
            data_dir: data_dir.to_path_buf(),
            keys,
            drafts,
            bulletins,
            queue,
            config,
        };
        device.recovery_sweep()?;
        Ok(device)
    }

    fn check_quota(&self, adding: u64) -> Result<(), DeviceError> {
        let stored = self.queue.stored_bytes()?;
        if stored + adding > self.config.quota_bytes {
            return Err(DeviceError::StorageFull {
                needed: adding,
                limit: self.config.quota_bytes,
                why: "the outbox is at its storage limit",
            });
        }
        Ok(())
    }

    pub fn device_key(&self) -> [u8; 32] {
        self.keys.device.public_key()
    }

    /// Captures a photo into an encrypted draft. The camera's bytes are consumed.
    pub fn capture(
        &self,
        photo: Vec<u8>,
        request: &CaptureRequest,
        clock: CaptureClock,
    ) -> Result<DraftSummary, DeviceError> {
        self.capture_draft(photo, request, clock)
            .map_err(DeviceError::full_disk_as_storage_full)
    }

    fn capture_draft(
        &self,
        photo: Vec<u8>,
        request: &CaptureRequest,
        clock: CaptureClock,
    ) -> Result<DraftSummary, DeviceError> {
        let captured = capture::capture(photo, request, &self.config.capture)?;
        let size = (captured.upload_copy.len() + captured.thumbnail.len()) as u64
            + if self.config.include_original {
                captured.sanitized.jpeg.len() as u64
            } else {
                0
            };
        self.check_quota(size)?;
        // Random (v4): a time-ordered id would tell the intake, its logs and anything on the way
        // the capture time to the millisecond. The queue orders by its own columns.
        let id = Uuid::new_v4();
        // The raw boot id never leaves the phone: the manifest carries the keyed tag.
        let clock = CaptureClock {
            boot_id: crate::wire::hex::encode(&self.keys.clock.boot_tag(&clock.boot_id)),
            ..clock
        };
        let manifest = Manifest::new(
            id,
            &captured,
            clock,
            Details::default(),
            &self.keys.device.public_key(),
        )?;
        let summary = DraftSummary {
            id,
            width: captured.width,
            height: captured.height,
            bytes: captured.upload_copy.len() as u64,
            location: captured.sanitized.location.clone(),
            removed: captured.sanitized.removed.clone(),
        };
        let draft = Draft {
            manifest,
            photo: captured.upload_copy.into(),
            original: self
                .config
                .include_original
                .then(|| captured.sanitized.jpeg.into()),
        };
        self.drafts
            .put(&self.keys.at_rest, &draft, &captured.thumbnail)?;
        // The row comes last: a kill before it leaves only files the sweep removes.
        self.queue.insert_draft(id, size)?;
        Ok(summary)
    }

    /// Seals a draft with the reporter's details into the outbox, then removes the draft.
    /// When this returns, the report is durably queued.
    pub fn submit(&mut self, id: Uuid, details: Details) -> Result<Envelope, DeviceError> {
        let result = self.seal_draft(id, details);
        if result.is_err() {
            // A half-written ciphertext would hold space until the next open's sweep.
            remove_if_present(&self.outbox_path(id).with_extension("age.tmp"))?;
        }
        result.map_err(DeviceError::full_disk_as_storage_full)
    }

    fn seal_draft(&mut self, id: Uuid, details: Details) -> Result<Envelope, DeviceError> {
        details.validate()?;
        if self.queue.state(id)? != State::Draft {
            return Err(QueueError::IllegalTransition {
                id,
                from: self.queue.state(id)?,
                to: State::Sealed,
            }
            .into());
        }
        let draft = self.drafts.get(&self.keys.at_rest, id)?;
        // Sealing adds the tar and age framing, well under 64 KiB for a report.
        self.check_quota(64 << 10)?;
        let mut manifest = draft.manifest;
        manifest.details = details;
        // Signed by the identity current at submit time (the reporter may have reset it).
        manifest.device_key = STANDARD.encode(self.keys.device.public_key());
        let manifest_json = manifest.to_json()?;
        let sealed_path = self.outbox_path(id);
        let tmp = sealed_path.with_extension("age.tmp");
        let file = BufWriter::new(crate::private_fs::create_file(&tmp)?);
        let (file, envelope) = seal::seal_report(
            id,
            &manifest_json,
            &draft.photo,
            draft.original.as_deref().map(Vec::as_slice),
            &self.keys.device,
            &self.config.recipients,
            file,
        )?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&tmp, &sealed_path)?;
        fs::File::open(self.data_dir.join("outbox"))?.sync_all()?;
        let observations = manifest.details.observations.as_ref();
        let label = ReportLabel::new(
            manifest.details.note.as_deref(),
            observations.and_then(|o| o.case_number.as_deref()),
        );
        self.drafts.put_label(&self.keys.at_rest, id, &label)?;
        self.queue.mark_sealed(
            id,
            &SealedFields {
                bytes: envelope.ciphertext_bytes,
                ciphertext_sha256: envelope.ciphertext_sha256,
                envelope_sig: STANDARD.encode(envelope.envelope_sig),
                device_key: manifest.device_key,
            },
        )?;
        self.drafts.remove_draft(id)?;
        Ok(envelope)
    }

    /// Throws a draft away, photo and thumbnail.
    pub fn discard(&self, id: Uuid) -> Result<(), DeviceError> {
        self.queue.delete_draft(id)?;
        self.drafts.remove_draft(id)?;
        self.drafts.remove_thumbnail(id)?;
        Ok(())
    }

    /// The honest outbox: every report's state, size, attempts, last error and next retry.
    pub fn reports(&self) -> Result<Vec<ReportStatus>, DeviceError> {
        Ok(self.queue.reports()?)
    }

    /// What the outbox shows of a report besides its state: the note's start and the case
    /// (`None` for a draft, or a report sealed before labels were kept).
    pub fn label(&self, id: Uuid) -> Result<Option<ReportLabel>, DeviceError> {
        Ok(self.drafts.label(&self.keys.at_rest, id)?)
    }

    /// Panic wipe: every draft, report, key and the database, now. With the keys gone, any
    /// copy of an encrypted file that flash storage keeps is unreadable too.
    pub fn wipe(self) -> Result<(), DeviceError> {
        let Self {
            data_dir, queue, ..
        } = self;
        drop(queue);
        // Keys first: from that moment nothing left behind can be decrypted.
        fs::remove_dir_all(keys::keys_dir(&data_dir))?;
        fs::remove_dir_all(&data_dir)?;
        Ok(())
    }

    pub fn drafts(&self) -> Result<Vec<Uuid>, DeviceError> {
        Ok(self.drafts.list()?)
    }

    /// The reporter's thumbnail of a draft or report (decrypted in memory only).
    pub fn thumbnail(&self, id: Uuid) -> Result<Vec<u8>, DeviceError> {
        Ok(self.drafts.thumbnail(&self.keys.at_rest, id)?.to_vec())
    }

    /// The sealed file of a submitted report.
    pub fn sealed_report(&self, id: Uuid) -> PathBuf {
        self.outbox_path(id)
    }

    /// A new pseudonymous identity; reports already sealed keep their signatures.
    pub fn reset_identity(&mut self, keystore: &dyn KeyStore) -> Result<(), DeviceError> {
        Ok(self
            .keys
            .reset_identity(&keys::keys_dir(&self.data_dir), keystore)?)
    }

    pub(super) fn outbox_path(&self, id: Uuid) -> PathBuf {
        self.data_dir.join("outbox").join(format!("{id}.age"))
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("data_dir", &self.data_dir)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

pub(super) fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
