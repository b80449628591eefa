//! Our binary against the peer tools on the same photos, whole process each: sanitize +
//! geotag, the upload copy, peak RSS, and sealing against `age`.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::photos::Photo;

const GPS: &[&str] = &["--lat", "52.0907", "--lon", "5.1214", "--accuracy", "5"];

/// The side-by-side table (markdown) for every photo, the largest photo's upload copy peak
/// RSS, and sealing against `age`.
pub(super) fn photo_tools(
    root: &Path,
    sighting: &Path,
    work: &Path,
    photos: &[Photo],
    runs: &str,
) -> Result<String> {
    let convert = imagemagick()?;
    let mut report = String::from(
        "| photo | task | sighting (ms) | peer | peer (ms) | peer ÷ sighting |\n|---|---|---|---|---|---|\n",
    );
    for photo in photos {
        compare(sighting, &convert, work, photo, runs, &mut report)?;
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
    seal_vs_age(root, work, runs, &mut report)?;
    Ok(report)
}

/// One photo through our binary and the peers, in one hyperfine run; four rows of the table.
fn compare(
    sighting: &Path,
    convert: &str,
    work: &Path,
    photo: &Photo,
    runs: &str,
    report: &mut String,
) -> Result<()> {
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
    let times = hyperfine(work, photo.name, runs, &prepare, &commands)?;
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
