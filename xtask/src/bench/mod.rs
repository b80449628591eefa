//! `cargo xtask bench`: Sighting side by side with the peer tools, whole process each, in one run.
//!
//! - sanitize + geotag: `sighting photo sanitize` vs `exiftool -all= -tagsfromfile @ …`
//! - upload copy: `sighting photo sanitize --upload-copy` vs `djpeg -scale 1/2 | cjpeg -quality 82`
//!   (libjpeg-turbo) and ImageMagick `convert -auto-orient -strip -resize 2048x2048> -quality 82`
//! - peak RSS of the 48 MP upload copy (`/usr/bin/time -v`)
//! - sealing a 2 MB and a 20 MB bundle vs `age -R` (time and peak RSS)
//! - the decoder candidates (criterion, `core/benches/capture.rs`)
//! - queue cold open with 0 and 1,000 reports, submit throughput (`core/benches/queue.rs`)
//! - the intake under 200 concurrent loopback clients, side by side: the SQLite store, the shared
//!   store (PostgreSQL + versitygw) with one and two nodes, and tusd's file store
//!   (`server/examples/intake_load/`)
//! - the phone's sync: reports/s and MB/s to a loopback intake, bytes on the wire at 0/10/30 %
//!   failed requests, peak RSS syncing a ~0.5 MB and a ~20 MB report (a 99 MP photo)
//!   (`server/examples/sync_bench.rs`)
//! - tap-to-queued through the FFI, as the apps do it: capture then submit from Python on the
//!   release library, wall and CPU time per report, peak RSS (`bindings/python/tap_to_queued.py`)
//!
//! Photos: the iPhone 8 MP fixture, and 12 MP / 48 MP photos made by tiling it
//! (`core/examples/tile_photo.rs`, quality 92, the original Exif copied in), cached under
//! `target/bench-photos`.

mod peers;
mod photos;
mod size;
mod tap;

use std::path::Path;
use std::process::Command;

use anyhow::Result;

pub fn run(root: &Path, quick: bool) -> Result<()> {
    let runs = if quick { "3" } else { "10" };
    crate::run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--release",
        "-p",
        "sighting-cli",
    ]))?;
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    let photos = photos::photos(root)?;
    let sighting = root.join("target/release/sighting");
    let mut report = peers::photo_tools(root, &sighting, &work, &photos, runs)?;
    println!("\n{report}");
    std::fs::write(work.join("report.md"), &report)?;

    // The server-side examples, each its own process (see each example's doc).
    crate::run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--release",
        "-p",
        "sighting-server",
        "--bin",
        "sighting-server",
        "--example",
        "intake_load",
        "--example",
        "sync_bench",
        "--example",
        "cases_bench",
        "-p",
        "sighting-desk",
        "--example",
        "desk_bench",
    ]))?;
    let small = photos::fixtures(root).join("tests/22-canon_tags.jpg");
    // ~99 MP (just under the pixel limit): with its full-size original, a ~20 MB report.
    let large = photos::tiled(root, &photos[0].path, "99MP", "11500", "8600")?;
    let (small, large) = (small.display().to_string(), large.display().to_string());
    let examples: [(&str, Vec<&str>); 4] = [
        // The intake server under loopback load: clients, reports each, bytes per report.
        (
            "intake_load",
            if quick {
                vec!["50", "2", "500000"]
            } else {
                vec!["200", "5", "500000"]
            },
        ),
        // The phone's sync against that server.
        (
            "sync_bench",
            vec![&small, &large, if quick { "10" } else { "40" }],
        ),
        // The review desk: reports opened, the desk app's API over them, and the static page
        // rendered in Chromium.
        (
            "desk_bench",
            vec![&small, if quick { "1000" } else { "10000" }],
        ),
        // Cases and bulletins: the feed of N published cases, a phone's refresh, ranking.
        (
            "cases_bench",
            if quick {
                vec![&small, "500", "1000"]
            } else {
                vec![&small, "5000", "10000"]
            },
        ),
    ];
    for (name, args) in examples {
        let out = example(root, name, &args)?;
        println!("{out}");
        report.push_str(&format!("\n```\n{out}```\n"));
        std::fs::write(work.join("report.md"), &report)?;
    }

    // Tap-to-queued through the FFI, as the apps do it.
    let tap = tap::tap_to_queued(root, &photos)?;
    println!("{tap}");
    report.push_str(&format!("\n```\n{tap}```\n"));
    std::fs::write(work.join("report.md"), &report)?;

    // The mobile library's size, and what it is made of.
    let (size, over_budget) = size::ffi_sizes(root)?;
    println!("{size}");
    report.push_str(&format!("\n```\n{size}```\n"));
    std::fs::write(work.join("report.md"), &report)?;

    criterion(root, quick)?;
    println!("report written to {}", work.join("report.md").display());
    match over_budget {
        // Loud, last, and a failed run: a size regression is not a footnote.
        Some(line) => anyhow::bail!("{line}"),
        None => Ok(()),
    }
}

/// The decoder candidates and the queue, in-process (criterion).
fn criterion(root: &Path, quick: bool) -> Result<()> {
    let mut criterion = Command::new(env!("CARGO"));
    criterion.current_dir(root).args([
        "bench",
        "-p",
        "sighting-core",
        "--bench",
        "capture",
        "--bench",
        "queue",
    ]);
    if quick {
        criterion.args(["--", "--quick"]);
    }
    crate::run(&mut criterion)
}

/// Runs a release example and returns what it printed.
fn example(root: &Path, name: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(root.join("target/release/examples").join(name))
        .args(args)
        .envs(crate::go_peers(root)?)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
