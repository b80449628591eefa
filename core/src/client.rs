//! One way to build what an app runs, the device on its I/O thread and the sync engine, from
//! what the organisation configured, with every default in one place (the types' `new` and
//! `Default`). The FFI and the CLI map their own settings onto [`ClientConfig`] and nothing else.

use std::path::PathBuf;

use crate::capture::CaptureOptions;
use crate::device::{Device, DeviceConfig, DeviceError};
use crate::handle::DeviceHandle;
use crate::keys::KeyStore;
use crate::seal::Recipient;
use crate::sync::{SyncConfig, SyncError, Syncer};

/// What the organisation gives a reporter's app, and the app's own overrides (`None`: the
/// default).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// App-private directory for the outbox, drafts, keys and the queue database.
    pub data_dir: PathBuf,
    pub recipients: Vec<Recipient>,
    /// The intake server, `https://…` (plain `http://` only to loopback).
    pub intake: String,
    /// The intake server's receipt key.
    pub server_key: [u8; 32],
    /// Trust only this CA (PEM or DER) for the intake server.
    pub pinned_ca: Option<Vec<u8>>,
    /// The organisation's bulletin key (Ed25519 public key), to verify the missing-children
    /// feed; `None`: the app shows no bulletins.
    pub bulletin_key: Option<[u8; 32]>,
    pub quota_bytes: Option<u64>,
    pub upload_max_edge: Option<u32>,
    pub max_photo_bytes: Option<u64>,
    pub max_photo_pixels: Option<u64>,
    pub chunk_size: Option<usize>,
}

impl ClientConfig {
    pub fn new(
        data_dir: impl Into<PathBuf>,
        recipients: Vec<Recipient>,
        intake: impl Into<String>,
        server_key: [u8; 32],
    ) -> Self {
        Self {
            data_dir: data_dir.into(),
            recipients,
            intake: intake.into(),
            server_key,
            pinned_ca: None,
            bulletin_key: None,
            quota_bytes: None,
            upload_max_edge: None,
            max_photo_bytes: None,
            max_photo_pixels: None,
            chunk_size: None,
        }
    }

    /// The capture limits and upload size: the overrides, defaults elsewhere.
    pub fn capture_options(&self) -> CaptureOptions {
        let d = CaptureOptions::default();
        CaptureOptions {
            max_edge: self.upload_max_edge.unwrap_or(d.max_edge),
            max_file_bytes: self.max_photo_bytes.unwrap_or(d.max_file_bytes),
            max_pixels: self.max_photo_pixels.unwrap_or(d.max_pixels),
            ..d
        }
    }

    pub fn device_config(&self) -> DeviceConfig {
        let d = DeviceConfig::new(self.recipients.clone());
        DeviceConfig {
            capture: self.capture_options(),
            quota_bytes: self.quota_bytes.unwrap_or(d.quota_bytes),
            ..d
        }
    }

    pub fn sync_config(&self) -> SyncConfig {
        let d = SyncConfig::new(&self.intake, self.server_key);
        SyncConfig {
            pinned_ca: self.pinned_ca.clone(),
            bulletin_key: self.bulletin_key,
            chunk_size: self.chunk_size.unwrap_or(d.chunk_size),
            ..d
        }
    }

    /// Opens (or makes) the device, runs its recovery sweep, and moves it onto its I/O thread.
    pub fn open_device(&self, keystore: &dyn KeyStore) -> Result<DeviceHandle, DeviceError> {
        let device = Device::open(&self.data_dir, keystore, self.device_config())?;
        DeviceHandle::new(device).map_err(DeviceError::Io)
    }

    /// The sync engine for the configured server (a bad URL or CA is refused here).
    pub fn syncer(&self) -> Result<Syncer, SyncError> {
        Syncer::new(self.sync_config())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECIPIENT: &str = "age12d26g50hktp8t73tgtudnn5dgd5efy88fgntq49fcremdz20ua8spn6353";

    #[test]
    fn overrides_apply_and_the_rest_are_the_defaults() {
        let mut config = ClientConfig::new(
            "/tmp/x",
            vec![RECIPIENT.parse().unwrap()],
            "https://intake.example",
            [0; 32],
        );
        assert_eq!(
            config.sync_config().chunk_size,
            SyncConfig::DEFAULT_CHUNK_SIZE
        );
        assert_eq!(
            config.device_config().quota_bytes,
            crate::device::DEFAULT_QUOTA_BYTES
        );
        assert_eq!(config.capture_options(), CaptureOptions::default());
        config.chunk_size = Some(64 << 10);
        config.quota_bytes = Some(1 << 20);
        config.upload_max_edge = Some(1024);
        assert_eq!(config.sync_config().chunk_size, 64 << 10);
        assert_eq!(config.device_config().quota_bytes, 1 << 20);
        assert_eq!(config.device_config().capture.max_edge, 1024);
        assert_eq!(
            config.capture_options().quality,
            CaptureOptions::default().quality
        );
    }
}
