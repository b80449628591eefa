//! The device flow on a real data directory: capture into an encrypted draft, submit a sealed
//! report the `age` CLI opens, and no readable photo anywhere on disk.

mod disk;
mod drafts_and_outbox;
mod privacy;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use ring::signature::{UnparsedPublicKey, ED25519};
use sighting_core::capture::{capture, CaptureOptions, Location};
use sighting_core::device::{AttemptOutcome, Device, DeviceConfig, DeviceError};
use sighting_core::draft::DraftError;
use sighting_core::keys::{FileKeyStore, KeyError, KeyStore};
use sighting_core::queue::{QueueError, State};
use sighting_core::report::{CaptureClock, Details, ReportError};
use sighting_core::seal::Recipient;
use sighting_core::wire::envelope_message;

use support::fixture;
use test_support as support;

fn org(dir: &Path) -> (PathBuf, Recipient) {
    let file = dir.join("org.txt");
    let recipient = support::age_keygen(&file);
    (file, recipient)
}

/// A temp dir, an organisation identity made by `age-keygen`, and a file keystore.
struct Setup {
    tmp: tempfile::TempDir,
    identity: PathBuf,
    recipient: Recipient,
    store: FileKeyStore,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let (identity, recipient) = org(tmp.path());
    let store = FileKeyStore::open(&tmp.path().join("keystore.key")).unwrap();
    Setup {
        tmp,
        identity,
        recipient,
        store,
    }
}

fn device(data: &Path, recipient: Recipient, store: &dyn KeyStore) -> Device {
    let config = DeviceConfig {
        include_original: true,
        ..DeviceConfig::new(vec![recipient])
    };
    Device::open(data, store, config).unwrap()
}

/// Captures a fixture photo into a draft (no location service, camera time).
fn capture_photo(device: &Device, name: &str) -> sighting_core::device::DraftSummary {
    device
        .capture(
            fixture(name),
            &test_support::no_location(),
            CaptureClock::now().unwrap(),
        )
        .unwrap()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Fails if any file under `dir` holds a JPEG start (SOI + APP0/APP1) or any 64-byte window of a
/// plaintext photo.
fn assert_no_plaintext(dir: &Path, plaintexts: &[&[u8]]) {
    // Runs of padding (zeros, 0xFF) are in any file; only windows with real content count.
    let varied = |w: &&[u8]| w.iter().collect::<HashSet<_>>().len() >= 16;
    let windows: HashSet<&[u8]> = plaintexts
        .iter()
        .flat_map(|p| p.chunks_exact(64))
        .filter(varied)
        .collect();
    for file in files(dir) {
        let bytes = std::fs::read(&file).unwrap();
        for w in bytes.windows(4) {
            assert!(
                !(w[..3] == [0xFF, 0xD8, 0xFF] && (w[3] == 0xE0 || w[3] == 0xE1)),
                "{} holds a JPEG",
                file.display()
            );
        }
        assert!(
            !bytes.windows(64).any(|w| windows.contains(w)),
            "{} holds plaintext photo bytes",
            file.display()
        );
    }
}

/// Decrypts a sealed report with the `age` CLI and unpacks its bundle into `dir`.
fn open_with_age_cli(identity: &Path, sealed: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "age -d -i {} {} | tar x -C {}",
            identity.display(),
            sealed.display(),
            dir.display()
        ))
        .status()
        .unwrap();
    assert!(status.success());
}
