//! The photos the benchmarks run on: the 8 MP fixture and photos tiled from it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};

pub(super) struct Photo {
    pub(super) name: &'static str,
    pub(super) path: PathBuf,
}

pub(super) fn fixtures(root: &Path) -> PathBuf {
    std::env::var_os("SIGHTING_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/fixtures/photos"))
}

/// The 8 MP fixture, and 12 MP / 48 MP photos tiled from it (made once, then cached).
pub(super) fn photos(root: &Path) -> Result<Vec<Photo>> {
    let iphone = fixtures(root).join("hdr/iphone_hdr_NO.jpg");
    if !iphone.exists() {
        bail!("{} not found (set SIGHTING_FIXTURES)", iphone.display());
    }
    let mut photos = vec![Photo {
        name: "8MP",
        path: iphone.clone(),
    }];
    for (name, width, height) in [("12MP", "4000", "3000"), ("48MP", "8000", "6000")] {
        let path = tiled(root, &iphone, name, width, height)?;
        photos.push(Photo { name, path });
    }
    Ok(photos)
}

/// A `width`×`height` photo tiled from `source` with its Exif (made once, then cached).
pub(super) fn tiled(
    root: &Path,
    source: &Path,
    name: &str,
    width: &str,
    height: &str,
) -> Result<PathBuf> {
    let dir = root.join("target/bench-photos");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{name}.jpg"));
    if !path.exists() {
        let tmp = path.with_extension("tmp");
        crate::run(
            Command::new(env!("CARGO"))
                .current_dir(root)
                .args([
                    "run",
                    "--quiet",
                    "--release",
                    "-p",
                    "sighting-core",
                    "--example",
                    "tile_photo",
                    "--",
                ])
                .args([source.as_os_str(), tmp.as_os_str()])
                .args([width, height]),
        )?;
        // The camera's Exif too, so the strip has real work to do.
        crate::run(
            Command::new("exiftool")
                .args(["-q", "-overwrite_original", "-tagsfromfile"])
                .arg(source)
                .args(["-all:all"])
                .arg(&tmp),
        )?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}
