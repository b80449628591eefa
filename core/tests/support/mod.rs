//! Helpers shared by the core's integration tests (each test file uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use sighting_core::seal::Recipient;

/// `SIGHTING_FIXTURES`, else `../shared/fixtures/photos` beside the repository.
pub fn fixtures() -> PathBuf {
    let dir = std::env::var_os("SIGHTING_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/photos")
        });
    assert!(
        dir.is_dir(),
        "fixture photos not found at {} (set SIGHTING_FIXTURES)",
        dir.display()
    );
    dir
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

/// A new age identity in `file` (by the real `age-keygen`), and its recipient.
pub fn age_keygen(file: &Path) -> Recipient {
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(file)
        .output()
        .expect("age-keygen must be installed (Debian package age; .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // age-keygen prints "Public key: age1…" on stderr.
    let text = String::from_utf8(out.stderr).unwrap();
    text.trim()
        .strip_prefix("Public key: ")
        .unwrap()
        .parse()
        .unwrap()
}
