//! `sighting demo`: the whole flow on one machine.
//!
//! Today: the organisation's keys, a device that captures the sample photos into encrypted
//! drafts and seals them, and the review desk that opens and verifies them. The intake server and
//! sync join between "sealed" and "opened" as those stages land.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use sighting_core::capture::{CaptureOptions, CaptureRequest, Location, LocationMissing};
use sighting_core::device::{Device, DeviceConfig, DEFAULT_QUOTA_BYTES};
use sighting_core::keys::FileKeyStore;
use sighting_core::report::{CaptureClock, Details};
use sighting_core::seal::Recipient;
use sighting_server::{desk, keygen};

use crate::photo::location_text;

/// Sample photos compiled in, so the demo needs nothing outside the repository (see
/// `cli/samples/NOTICE.md`).
const SAMPLES: &[(&str, &[u8])] = &[
    ("Canon_40D.jpg", include_bytes!("../samples/Canon_40D.jpg")),
    ("Nikon_D70.jpg", include_bytes!("../samples/Nikon_D70.jpg")),
    ("DSCN0010.jpg", include_bytes!("../samples/DSCN0010.jpg")),
    (
        "portrait_6.jpg",
        include_bytes!("../samples/portrait_6.jpg"),
    ),
];

#[derive(Args)]
pub struct DemoArgs {
    /// Keep everything the demo makes in this directory (default: a temporary one, removed).
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Use the JPEGs in this directory instead of the bundled samples.
    #[arg(long)]
    photos: Option<PathBuf>,
}

pub fn run(args: &DemoArgs) -> Result<()> {
    let temp;
    let root = match &args.keep {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let photos = match &args.photos {
        Some(dir) => read_photos(dir)?,
        None => SAMPLES
            .iter()
            .map(|(n, b)| (n.to_string(), b.to_vec()))
            .collect(),
    };

    println!("1. The organisation makes its keys (the identity stays at the review desk)");
    let org = root.join("org");
    let recipient = organisation_recipient(&org)?;
    println!("   recipient {recipient}\n");

    println!(
        "2. A reporter's device captures {} photos and seals them",
        photos.len()
    );
    let device_dir = root.join("device");
    let keystore = FileKeyStore::open(&device_dir.join("keystore.key"))?;
    let config = DeviceConfig {
        recipients: vec![recipient],
        include_original: false,
        capture: CaptureOptions::default(),
        quota_bytes: DEFAULT_QUOTA_BYTES,
    };
    let mut device = Device::open(&device_dir, &keystore, config)?;
    // The demo device has no location service: each photo keeps its camera GPS if it had one.
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let mut failed = 0;
    for (name, bytes) in photos {
        let camera_bytes = bytes.len();
        let draft = match device.capture(bytes, &request, CaptureClock::now()?) {
            Ok(draft) => draft,
            Err(e) => {
                failed += 1;
                println!("   {name}: refused: {e}");
                continue;
            }
        };
        let note = format!("demo sighting from {name}");
        let envelope = device.submit(
            draft.id,
            Details {
                note: Some(note),
                ..Default::default()
            },
        )?;
        let removed: Vec<String> = draft
            .removed
            .iter()
            .map(|r| format!("{} {} B", r.what, r.bytes))
            .collect();
        println!(
            "   {name}: {camera_bytes} B camera file → {}×{} upload copy → {} B sealed\n      stripped: {}\n      location: {}",
            draft.width,
            draft.height,
            envelope.ciphertext_bytes,
            removed.join(", "),
            location_text(&draft.location)
        );
    }

    println!("\n   The outbox (no intake server yet: reports wait, sealed):");
    for r in device.reports()? {
        println!("   {}  {:<9} {:>7} B", r.id, r.state.as_str(), r.bytes);
    }

    println!("\n3. The review desk opens and verifies every sealed report");
    let identities = desk::read_identities(&org.join(keygen::IDENTITY_FILE))?;
    let desk_dir = root.join("desk");
    let outcomes = desk::open_dir(&identities, &device_dir.join("outbox"), &desk_dir)?;
    for o in &outcomes {
        match &o.result {
            Ok(r) => println!(
                "   verified {}  {}",
                r.manifest.id,
                r.manifest.details.note.as_deref().unwrap_or("")
            ),
            Err(e) => {
                failed += 1;
                println!("   FAILED {}: {e}", o.file.display());
            }
        }
    }
    println!(
        "   opened reports are in {}",
        desk_dir.join("reports").display()
    );
    if args.keep.is_some() {
        println!("\nKept in {}", root.display());
    }
    anyhow::ensure!(failed == 0, "{failed} photo(s) or report(s) failed");
    Ok(())
}

/// Makes the organisation's keys on the first run; later runs in the same directory reuse them.
fn organisation_recipient(org: &Path) -> Result<Recipient> {
    let recipient_file = org.join(keygen::RECIPIENT_FILE);
    let recipient = if recipient_file.exists() {
        std::fs::read_to_string(&recipient_file)?.trim().to_string()
    } else {
        keygen::keygen(org)?.recipient
    };
    recipient
        .parse()
        .with_context(|| format!("{}", recipient_file.display()))
}

fn read_photos(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut photos = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        let is_jpeg = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg") || e.eq_ignore_ascii_case("jpeg"));
        if is_jpeg {
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            photos.push((name, std::fs::read(&path)?));
        }
    }
    photos.sort();
    anyhow::ensure!(!photos.is_empty(), "no .jpg files in {}", dir.display());
    Ok(photos)
}
