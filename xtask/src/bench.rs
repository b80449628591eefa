//! `cargo xtask bench`: Sighting side by side with the peer tools, whole process each, in one run.
//!
//! - sanitize + geotag: `sighting photo sanitize` vs `exiftool -all= -tagsfromfile @ …`
//! - upload copy: `sighting photo sanitize --upload-copy` vs `djpeg -scale 1/2 | cjpeg -quality 82`
//!   (libjpeg-turbo) and ImageMagick `convert -auto-orient -strip -resize 2048x2048> -quality 82`
//! - peak RSS of the 48 MP upload copy (`/usr/bin/time -v`)
//! - sealing a 2 MB and a 20 MB bundle vs `age -R` (time and peak RSS)
//! - the decoder candidates (criterion, `core/benches/capture.rs`)
//! - queue cold open with 0 and 1,000 reports, submit throughput (`core/benches/queue.rs`)
//! - the intake server under 200 concurrent loopback clients (`server/examples/intake_load.rs`)
//! - the phone's sync: reports/s and MB/s to a loopback intake, bytes on the wire at 0/10/30 %
//!   failed requests, peak RSS syncing a ~0.5 MB and a ~20 MB report (a 99 MP photo)
//!   (`server/examples/sync_bench.rs`)
//!
//! Photos: the iPhone 8 MP fixture, and 12 MP / 48 MP photos made by tiling it
//! (`core/examples/tile_photo.rs`, quality 92, the original Exif copied in), cached under
//! `target/bench-photos`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

const GPS: &[&str] = &["--lat", "52.0907", "--lon", "5.1214", "--accuracy", "5"];

struct Photo {
    name: &'static str,
    path: PathBuf,
}

pub fn run(root: &Path, quick: bool) -> Result<()> {
    let runs = if quick { "3" } else { "10" };
    crate::run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--release",
        "-p",
        "sighting-cli",
    ]))?;
    let sighting = root.join("target/release/sighting");
    let work = root.join("target/bench");
    std::fs::create_dir_all(&work)?;
    let photos = photos(root)?;
    let convert = imagemagick()?;
    let mut report = String::from(
        "| photo | task | sighting (ms) | peer | peer (ms) | peer ÷ sighting |\n|---|---|---|---|---|---|\n",
    );
    for photo in &photos {
        let input = photo.path.display().to_string();
        let out = |n: &str| {
            work.join(format!("{}.{n}.jpg", photo.name))
                .display()
                .to_string()
        };
        let ours_sanitize = format!(
            "{} photo sanitize {input} {} {}",
            sighting.display(),
            out("s"),
            GPS.join(" ")
        );
        let exiftool = format!(
            "exiftool -q -all= -tagsfromfile @ -Orientation -GPSLatitude=52.0907 -GPSLatitudeRef=N \
             -GPSLongitude=5.1214 -GPSLongitudeRef=E -GPSHPositioningError=5 -o {} {input}",
            out("e")
        );
        let ours_upload = format!("{ours_sanitize} --upload-copy {}", out("u"));
        let turbo = format!(
            "djpeg -scale 1/2 {input} | cjpeg -quality 82 > {}",
            out("t")
        );
        let magick = format!(
            "{convert} {input} -auto-orient -strip -resize '2048x2048>' -quality 82 {}",
            out("m")
        );
        // The floor for any tool that rewrites the file: copying it.
        let copy = format!("cp {input} {}", out("c"));
        let prepare = format!("rm -f {}", out("e"));
        let commands: [&str; 6] = [
            &ours_sanitize,
            &exiftool,
            &ours_upload,
            &turbo,
            &magick,
            &copy,
        ];
        let times = hyperfine(&work, photo.name, runs, &prepare, &commands)?;
        let rows = [
            ("sanitize + geotag", times[0], "exiftool", times[1]),
            ("sanitize + geotag", times[0], "cp (I/O floor)", times[5]),
            ("upload copy", times[2], "djpeg → cjpeg", times[3]),
            ("upload copy", times[2], "ImageMagick", times[4]),
        ];
        for (task, ours, peer, theirs) in rows {
            writeln!(
                report,
                "| {} | {task} | {:.1} | {peer} | {:.1} | {:.2}× |",
                photo.name,
                ours * 1e3,
                theirs * 1e3,
                theirs / ours
            )?;
        }
    }
    let big = photos.last().expect("photos");
    let (sanitized, upload) = (work.join("rss.s.jpg"), work.join("rss.u.jpg"));
    let mut cmd = vec![sighting.to_str().context("path")?, "photo", "sanitize"];
    cmd.extend([
        big.path.to_str().context("path")?,
        sanitized.to_str().context("path")?,
    ]);
    cmd.extend(["--upload-copy", upload.to_str().context("path")?]);
    cmd.extend(GPS);
    let rss = peak_rss_kib(&cmd)?;
    writeln!(
        report,
        "\nPeak RSS, upload copy of the {} photo: {:.1} MiB",
        big.name,
        rss as f64 / 1024.0
    )?;
    seal_vs_age(root, &work, runs, &mut report)?;
    println!("\n{report}");
    std::fs::write(work.join("report.md"), &report)?;

    // The intake server under loopback load (its own process; see the example's doc).
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
    ]))?;
    let load = Command::new(root.join("target/release/examples/intake_load"))
        .args(if quick {
            ["50", "2", "500000"]
        } else {
            ["200", "5", "500000"]
        })
        .output()?;
    anyhow::ensure!(
        load.status.success(),
        "intake_load failed: {}",
        String::from_utf8_lossy(&load.stderr)
    );
    let load = String::from_utf8_lossy(&load.stdout).into_owned();
    println!("{load}");
    report.push_str(&format!("\n```\n{load}```\n"));
    std::fs::write(work.join("report.md"), &report)?;

    // The phone's sync against that server (its own process).
    let small = fixtures(root).join("tests/22-canon_tags.jpg");
    // ~99 MP (just under the pixel limit): with its full-size original, a ~20 MB report.
    let large = tiled(root, &photos[0].path, "99MP", "11500", "8600")?;
    let sync = Command::new(root.join("target/release/examples/sync_bench"))
        .arg(&small)
        .arg(&large)
        .arg(if quick { "10" } else { "40" })
        .output()?;
    anyhow::ensure!(
        sync.status.success(),
        "sync_bench failed: {}",
        String::from_utf8_lossy(&sync.stderr)
    );
    let sync = String::from_utf8_lossy(&sync.stdout).into_owned();
    println!("{sync}");
    report.push_str(&format!("\n```\n{sync}```\n"));
    std::fs::write(work.join("report.md"), &report)?;

    // The review desk: 1,000 reports opened, and the page rendered in Chromium.
    crate::run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--release",
        "-p",
        "sighting-server",
        "--example",
        "desk_bench",
    ]))?;
    let desk = Command::new(root.join("target/release/examples/desk_bench"))
        .arg(&small)
        .arg(if quick { "200" } else { "1000" })
        .output()?;
    anyhow::ensure!(
        desk.status.success(),
        "desk_bench failed: {}",
        String::from_utf8_lossy(&desk.stderr)
    );
    let desk = String::from_utf8_lossy(&desk.stdout).into_owned();
    println!("{desk}");
    report.push_str(&format!("\n```\n{desk}```\n"));

    // The mobile library's size, and what it is made of.
    let size = ffi_sizes(root)?;
    println!("{size}");
    report.push_str(&format!("\n```\n{size}```\n"));
    std::fs::write(work.join("report.md"), &report)?;

    // The decoder candidates, in-process (criterion).
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
    crate::run(&mut criterion)?;
    println!("report written to {}", work.join("report.md").display());
    Ok(())
}

/// Medians (seconds) of each command, from one hyperfine run that alternates nothing but keeps
/// every command on the same warm machine.
fn hyperfine(
    work: &Path,
    name: &str,
    runs: &str,
    prepare: &str,
    commands: &[&str],
) -> Result<Vec<f64>> {
    let json = work.join(format!("{name}.hyperfine.json"));
    let mut cmd = Command::new("hyperfine");
    cmd.args([
        "--style",
        "basic",
        "--warmup",
        "1",
        "--runs",
        runs,
        "--prepare",
        prepare,
        "--export-json",
    ])
    .arg(&json)
    .args(commands);
    crate::run(&mut cmd).context("hyperfine (Debian package hyperfine) is needed")?;
    let parsed: serde_json::Value = serde_json::from_slice(&std::fs::read(&json)?)?;
    parsed["results"]
        .as_array()
        .context("hyperfine JSON")?
        .iter()
        .map(|r| r["median"].as_f64().context("median"))
        .collect()
}

/// Median peak RSS (KiB) of three runs of `cmd`, from GNU time.
fn peak_rss_kib(cmd: &[&str]) -> Result<u64> {
    let mut peaks = Vec::new();
    for _ in 0..3 {
        let out = Command::new("/usr/bin/time")
            .arg("-v")
            .args(cmd)
            .output()
            .context("/usr/bin/time (Debian package time) is needed")?;
        let text = String::from_utf8_lossy(&out.stderr);
        let line = text
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Maximum resident set size (kbytes): ")
            })
            .with_context(|| format!("no RSS in /usr/bin/time output: {text}"))?;
        peaks.push(line.trim().parse()?);
    }
    peaks.sort_unstable();
    Ok(peaks[1])
}

/// Sealing a 2 MB and a 20 MB bundle: ours (`core/examples/seal_file.rs`) vs `age -R`.
fn seal_vs_age(root: &Path, work: &Path, runs: &str, report: &mut String) -> Result<()> {
    crate::run(Command::new(env!("CARGO")).current_dir(root).args([
        "build",
        "--release",
        "-p",
        "sighting-core",
        "--example",
        "seal_file",
    ]))?;
    let ours = root
        .join("target/release/examples/seal_file")
        .display()
        .to_string();
    let identity = work.join("org.txt");
    let recipients = work.join("recipients.txt");
    if !recipients.exists() {
        let _ = std::fs::remove_file(&identity);
        crate::run(Command::new("age-keygen").arg("-o").arg(&identity))?;
        let out = Command::new("age-keygen")
            .arg("-y")
            .arg(&identity)
            .output()?;
        std::fs::write(&recipients, out.stdout)?;
    }
    let recipients = recipients.display().to_string();
    report.push_str("\n| bundle | sighting seal (ms) | age -R (ms) | age ÷ sighting | sighting peak RSS | age peak RSS |\n|---|---|---|---|---|---|\n");
    for mb in [2, 20] {
        let input = work
            .join(format!("bundle-{mb}MB.bin"))
            .display()
            .to_string();
        if !Path::new(&input).exists() {
            crate::run(
                Command::new("sh")
                    .arg("-c")
                    .arg(format!("head -c {mb}000000 /dev/urandom > {input}")),
            )?;
        }
        let (a, b) = (format!("{input}.ours.age"), format!("{input}.age.age"));
        let ours_cmd = format!("{ours} {input} {a} {recipients}");
        let age_cmd = format!("age -R {recipients} -o {b} {input}");
        let prepare = format!("rm -f {a} {b}");
        let times = hyperfine(
            work,
            &format!("seal-{mb}MB"),
            runs,
            &prepare,
            &[&ours_cmd, &age_cmd],
        )?;
        let ours_rss = peak_rss_kib(&[&ours, &input, &a, &recipients])?;
        let age_rss = peak_rss_kib(&["age", "-R", &recipients, "-o", &b, &input])?;
        writeln!(
            report,
            "| {mb} MB | {:.1} | {:.1} | {:.2}× | {:.1} MiB | {:.1} MiB |",
            times[0] * 1e3,
            times[1] * 1e3,
            times[1] / times[0],
            ours_rss as f64 / 1024.0,
            age_rss as f64 / 1024.0
        )?;
    }
    Ok(())
}

/// The real ImageMagick 6 binary (some machines shadow `convert` with a stand-in).
fn imagemagick() -> Result<String> {
    for candidate in [
        "/usr/bin/convert-im6.q16",
        "/usr/bin/magick",
        "/usr/bin/convert",
    ] {
        if Path::new(candidate).exists() {
            return Ok(candidate.into());
        }
    }
    bail!("ImageMagick not found (Debian package imagemagick)")
}

fn fixtures(root: &Path) -> PathBuf {
    std::env::var_os("SIGHTING_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/fixtures/photos"))
}

/// The 8 MP fixture, and 12 MP / 48 MP photos tiled from it (made once, then cached).
fn photos(root: &Path) -> Result<Vec<Photo>> {
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
fn tiled(root: &Path, source: &Path, name: &str, width: &str, height: &str) -> Result<PathBuf> {
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

/// The phones' architecture, cross-compiled for Linux: the same code as `aarch64-linux-android`
/// and `aarch64-apple-ios` but buildable here with Debian's cross GCC (no NDK or Xcode needed).
const ARM64: &str = "aarch64-unknown-linux-gnu";

/// The release `libsighting_ffi.so`: on x86_64 and, where the cross toolchain is installed
/// (`rustup target add aarch64-unknown-linux-gnu`, Debian `gcc-aarch64-linux-gnu`), on arm64.
fn ffi_sizes(root: &Path) -> Result<String> {
    build_ffi(root, None)?;
    let mut out = ffi_size(root, None)?;
    let has_target = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(ARM64));
    let has_gcc = Command::new("aarch64-linux-gnu-gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if has_target && has_gcc {
        build_ffi(root, Some(ARM64))?;
        out.push_str(&ffi_size(root, Some(ARM64))?);
    } else {
        out.push_str(&format!(
            "arm64 skipped: `rustup target add {ARM64}` and `apt-get install gcc-aarch64-linux-gnu`\n"
        ));
    }
    Ok(out)
}

/// `cargo build --release -p sighting-ffi`, alone, as the app builds ship it: built together
/// with `uniffi-bindgen` (as `cargo xtask bindings` does), shared dependencies get the
/// generator's features too. `Some(ARM64)` cross-compiles with Debian's GCC.
fn build_ffi(root: &Path, target: Option<&str>) -> Result<()> {
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .current_dir(root)
        .args(["build", "--release", "-p", "sighting-ffi"]);
    if let Some(triple) = target {
        let gcc = "aarch64-linux-gnu-gcc";
        cargo
            .args(["--target", triple])
            .env("CC_aarch64_unknown_linux_gnu", gcc)
            .env("AR_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-ar")
            .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", gcc);
    }
    crate::run(&mut cargo)
}

/// One build's size as shipped (`strip = "debuginfo"`, which keeps UniFFI's metadata), fully
/// stripped, and the largest crates by the size of their code (`nm --size-sort`, grouped by the
/// first path segment of each demangled symbol).
fn ffi_size(root: &Path, target: Option<&str>) -> Result<String> {
    let (dir, tools, arch) = match target {
        Some(triple) => (
            format!("target/{triple}/release"),
            "aarch64-linux-gnu-",
            "arm64",
        ),
        None => ("target/release".to_string(), "", "x86_64"),
    };
    let library = root.join(dir).join("libsighting_ffi.so");
    let stripped = root.join(format!("target/bench/libsighting_ffi.{arch}.stripped.so"));
    crate::run(
        Command::new(format!("{tools}strip"))
            .arg("--strip-all")
            .arg(&library)
            .arg("-o")
            .arg(&stripped),
    )?;
    let mib = |p: &Path| -> Result<f64> { Ok(std::fs::metadata(p)?.len() as f64 / 1048576.0) };
    let mut out = format!(
        "libsighting_ffi.so (release, {arch}): {:.2} MiB as built, {:.2} MiB fully stripped\n",
        mib(&library)?,
        mib(&stripped)?
    );
    let nm = Command::new(format!("{tools}nm"))
        .args(["--size-sort", "-C", "-S"])
        .arg(&library)
        .output()?;
    let mut by_crate: std::collections::BTreeMap<String, u64> = Default::default();
    for line in String::from_utf8_lossy(&nm.stdout).lines() {
        let mut parts = line.splitn(4, ' ');
        let (_, size, _, name) = (parts.next(), parts.next(), parts.next(), parts.next());
        let (Some(size), Some(name)) = (size, name) else {
            continue;
        };
        let size = u64::from_str_radix(size, 16).unwrap_or(0);
        let name = name.trim_start_matches('<').trim_start_matches("_<");
        let krate = name
            .split("::")
            .next()
            .unwrap_or(name)
            .split(['<', ' '])
            .next()
            .unwrap_or(name);
        let krate = if krate.starts_with("ring_core_") || krate.starts_with("GFp") {
            "ring (C/asm)"
        } else if krate.starts_with("tj")
            || krate.starts_with("jpeg_")
            || krate.starts_with("jsimd")
        {
            "libjpeg-turbo (C)"
        } else if krate.starts_with("sqlite3") {
            "sqlite (C)"
        } else {
            krate
        };
        *by_crate.entry(krate.to_string()).or_default() += size;
    }
    let mut sizes: Vec<_> = by_crate.into_iter().collect();
    sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
    out.push_str("largest by symbol size (KiB):\n");
    for (krate, size) in sizes.iter().take(12) {
        out.push_str(&format!("  {:>7.1}  {krate}\n", *size as f64 / 1024.0));
    }
    Ok(out)
}
