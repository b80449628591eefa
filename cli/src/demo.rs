//! `sighting demo`: the whole flow on one machine.
//!
//! The flow grows with the project; today it runs the capture stage on the sample photos and
//! shows what was stripped and written. Later stages (sealing, queue, intake, desk) join here.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use sighting_core::capture::{capture, CaptureOptions, CaptureRequest, Location, LocationMissing};

use crate::photo::summary_text;

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
    let out = root.join("device").join("sanitized");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let photos = match &args.photos {
        Some(dir) => read_photos(dir)?,
        None => SAMPLES
            .iter()
            .map(|(n, b)| (n.to_string(), b.to_vec()))
            .collect(),
    };
    // The demo device has no location service: each photo keeps its camera GPS if it had one.
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let options = CaptureOptions::default();
    println!(
        "Capture: {} photos, metadata stripped losslessly, fresh Exif written\n",
        photos.len()
    );
    let mut failed = 0;
    for (name, bytes) in photos {
        match capture(bytes, &request, &options) {
            Ok(photo) => {
                let stem = Path::new(&name)
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                let upload = out.join(format!("{stem}.upload.jpg"));
                std::fs::write(&upload, &photo.upload_copy)?;
                let written = [(upload, photo.upload_copy.len())];
                print!(
                    "{}",
                    summary_text(Path::new(&name), &photo.sanitized, &written)
                );
            }
            Err(e) => {
                failed += 1;
                println!("{name}: refused: {e}");
            }
        }
    }
    if args.keep.is_some() {
        println!("\nKept in {}", root.display());
    }
    anyhow::ensure!(failed == 0, "{failed} photo(s) could not be captured");
    Ok(())
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
