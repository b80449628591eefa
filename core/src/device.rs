//! The reporter's device: capture into an encrypted draft, submit it as a sealed report.
//!
//! This is the object the bindings will wrap. Sealed reports land in `outbox/` as
//! `<id>.age` (the ciphertext) and `<id>.envelope.json` (what the intake server is told); the
//! durable queue that syncs them builds on this.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::json;
use uuid::Uuid;

use crate::capture::{self, CaptureOptions, CaptureRequest};
use crate::draft::{self, Draft, DraftError, DraftStore};
use crate::keys::{self, DeviceKeys, KeyError, KeyStore};
use crate::report::{hex, CaptureClock, Details, Manifest, ReportError};
use crate::seal::{self, Envelope, Recipient, SealError};

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
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

/// What the organisation configured in the app.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    pub recipients: Vec<Recipient>,
    /// Also seal the sanitized full-size photo as `original.jpg`.
    pub include_original: bool,
    pub capture: CaptureOptions,
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
        let keys = DeviceKeys::open_or_create(&keys::keys_dir(data_dir), keystore)?;
        let drafts = DraftStore::open(data_dir)?;
        fs::create_dir_all(data_dir.join("outbox"))?;
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
            keys,
            drafts,
            config,
        })
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
        let captured = capture::capture(photo, request, &self.config.capture)?;
        let id = Uuid::now_v7();
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
        Ok(summary)
    }

    /// Seals a draft with the reporter's details into the outbox, then removes the draft.
    pub fn submit(&self, id: Uuid, details: Details) -> Result<Envelope, DeviceError> {
        details.validate()?;
        let draft = self.drafts.get(&self.keys.at_rest, id)?;
        let mut manifest = draft.manifest;
        manifest.details = details;
        // Signed by the identity current at submit time (the reporter may have reset it).
        manifest.device_key = STANDARD.encode(self.keys.device.public_key());
        let manifest_json = manifest.to_json()?;
        let sealed_path = self.outbox_path(id, "age");
        let tmp = sealed_path.with_extension("age.tmp");
        let file = BufWriter::new(fs::File::create(&tmp)?);
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
        let envelope_json = json!({
            "report_id": id,
            "device_key": manifest.device_key,
            "ciphertext_sha256": hex(&envelope.ciphertext_sha256),
            "ciphertext_bytes": envelope.ciphertext_bytes,
            "envelope_sig": STANDARD.encode(envelope.envelope_sig),
        });
        draft::write_atomic(
            &self.outbox_path(id, "envelope.json"),
            envelope_json.to_string().as_bytes(),
        )?;
        self.drafts.remove_draft(id)?;
        Ok(envelope)
    }

    /// Throws a draft away, photo and thumbnail.
    pub fn discard(&self, id: Uuid) -> Result<(), DeviceError> {
        self.drafts.remove_draft(id)?;
        self.drafts.remove_thumbnail(id)?;
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
        self.outbox_path(id, "age")
    }

    /// A new pseudonymous identity; reports already sealed keep their signatures.
    pub fn reset_identity(&mut self, keystore: &dyn KeyStore) -> Result<(), DeviceError> {
        Ok(self
            .keys
            .reset_identity(&keys::keys_dir(&self.data_dir), keystore)?)
    }

    fn outbox_path(&self, id: Uuid, ext: &str) -> PathBuf {
        self.data_dir.join("outbox").join(format!("{id}.{ext}"))
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
