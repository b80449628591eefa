//! Review desk benchmark (`cargo xtask bench` runs it): open N sealed reports of ~500 KB
//! (default 1,000) in one `open_dir` run (time, and the peak RSS of a process that only
//! opens), then render the review page with
//! all of them in headless Chromium (the page's own timing of its first render).
//!
//! ```text
//! desk_bench PHOTO [N]
//! ```

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};
use sighting_core::capture::{
    capture, CaptureOptions, CaptureRequest, Location, LocationFix, LocationSource,
};
use sighting_core::keys::{DeviceKeys, FileKeyStore};
use sighting_core::report::{CaptureClock, Details, Manifest};
use sighting_core::seal::{self, Recipient};
use sighting_server::{desk, keygen};
use time::OffsetDateTime;
use uuid::Uuid;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("open") {
        return open_child(Path::new(&args[1]));
    }
    let photo = args.first().context("usage: desk_bench PHOTO [N]")?;
    let n: usize = args.get(1).map_or(Ok(1000), |n| n.parse())?;
    let tmp = tempfile::tempdir()?;
    let org = keygen::keygen(&tmp.path().join("org"))?;
    let recipient: Recipient = org.recipient.parse()?;
    let store = FileKeyStore::open(&tmp.path().join("ks.key"))?;
    let keys = DeviceKeys::open_or_create(&tmp.path().join("keys"), &store)?;
    let data = tmp.path().join("data/reports");
    std::fs::create_dir_all(&data)?;
    let camera = std::fs::read(photo)?;
    let mut bytes = 0u64;
    for i in 0..n {
        // Sightings spread over a city, a few of them the same picture.
        let request = CaptureRequest {
            location: Location::Fix(LocationFix {
                lat: 52.30 + (i % 37) as f64 * 0.004,
                lon: 4.80 + (i % 41) as f64 * 0.005,
                accuracy_m: Some(10.0),
                altitude_m: None,
                heading_deg: None,
                fix_time: OffsetDateTime::now_utc(),
                provider: "bench".into(),
                source: LocationSource::Device,
            }),
            captured_at: None,
        };
        let captured = capture(camera.clone(), &request, &CaptureOptions::default())?;
        let id = Uuid::now_v7();
        let details = Details {
            note: Some(format!("sighting {i}")),
            ..Default::default()
        };
        let manifest = Manifest::new(
            id,
            &captured,
            CaptureClock::now()?,
            details,
            &keys.device.public_key(),
        )?
        .to_json()?;
        let (sealed, _) = seal::seal_report(
            id,
            &manifest,
            &captured.upload_copy,
            None,
            &keys.device,
            std::slice::from_ref(&recipient),
            Vec::new(),
        )?;
        bytes += sealed.len() as u64;
        std::fs::write(data.join(format!("{id}.age")), sealed)?;
    }
    // Opened by a child process: its peak RSS is the desk's alone.
    let child = Command::new(std::env::current_exe()?)
        .arg("open")
        .arg(tmp.path())
        .output()?;
    anyhow::ensure!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    println!(
        "desk: {n} reports of {:.0} KB: {}",
        bytes as f64 / n as f64 / 1000.0,
        String::from_utf8_lossy(&child.stdout).trim()
    );
    let out = tmp.path().join("desk");
    let page = format!("file://{}", out.join("index.html").display());
    let dom = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args(["--virtual-time-budget=10000", "--dump-dom", &page])
        .output()
        .context("chromium")?;
    let dom = String::from_utf8_lossy(&dom.stdout);
    let render = dom
        .split("data-render-ms=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("the page did not report its render time")?;
    println!(
        "review page: {n} sightings rendered in {render} ms (headless Chromium, first render)"
    );
    Ok(())
}

/// The child: `open_dir` over DIR/data into DIR/desk; prints the time and its peak RSS.
fn open_child(dir: &Path) -> Result<()> {
    let identities = desk::read_identities(&dir.join("org/identity.txt"))?;
    let started = Instant::now();
    let outcomes = desk::open_dir(&identities, &dir.join("data"), &dir.join("desk"))?;
    let took = started.elapsed().as_secs_f64();
    anyhow::ensure!(outcomes.iter().all(|o| o.result.is_ok()));
    let status = std::fs::read_to_string("/proc/self/status")?;
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("VmHWM")?
        .trim()
        .trim_end_matches(" kB")
        .parse::<f64>()?;
    println!(
        "opened in {took:.2} s ({:.0} reports/s), peak RSS {:.1} MiB",
        outcomes.len() as f64 / took,
        hwm / 1024.0
    );
    Ok(())
}
