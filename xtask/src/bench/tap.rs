//! Tap-to-queued through the FFI (`bindings/python/tap_to_queued.py`): the release library
//! driven from Python as the apps drive it, capture then submit on the 8 MP and 48 MP photos;
//! wall and CPU time per report (medians) and the process's peak RSS.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::photos::Photo;

pub(super) fn tap_to_queued(root: &Path, photos: &[Photo]) -> Result<String> {
    crate::bindings(root, true)?;
    let python = crate::python_env(root)?;
    let org = root.join("target/bench/org");
    if !org.join("recipient.txt").exists() {
        crate::run(
            Command::new(root.join("target/release/sighting-server"))
                .args(["keygen", "--out"])
                .arg(&org),
        )?;
    }
    let chosen: Vec<&Photo> = photos
        .iter()
        .filter(|p| p.name == "8MP" || p.name == "48MP")
        .collect();
    let output = Command::new(python)
        .arg(root.join("bindings/python/tap_to_queued.py"))
        .arg(&org)
        .args(chosen.iter().map(|p| &p.path))
        .env("PYTHONPATH", root.join("target/bindings/python"))
        .output()
        .context("tap_to_queued.py")?;
    anyhow::ensure!(
        output.status.success(),
        "tap_to_queued.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut out = String::from("tap-to-queued through the FFI (Python, release library):\n");
    for (line, photo) in String::from_utf8_lossy(&output.stdout).lines().zip(&chosen) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        out.push_str(&format!(
            "  {}: wall {} ms, CPU {} ms per report (median of {}), peak RSS {} MiB\n",
            photo.name, v["wall_ms"], v["cpu_ms"], v["runs"], v["peak_rss_mib"]
        ));
    }
    Ok(out)
}
