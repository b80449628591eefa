//! Review desk benchmark (`cargo xtask bench` runs it): open N sealed reports of ~500 KB
//! (default 10,000) in one `open_dir` run (time, and the peak RSS of a process that only
//! opens); then the desk app over them: recording them in `desk.sqlite3`, and the reviewers'
//! API on loopback answering a filtered page of the list and the map's points (p50/p99 over
//! many requests); then the static review page with all of them in headless Chromium (the
//! page's own timing of its first render).
//!
//! ```text
//! desk_bench PHOTO [N]
//! ```

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sighting_core::capture::{
    capture, CaptureOptions, CaptureRequest, Location, LocationFix, LocationSource,
};
use sighting_core::keys::{DeviceKeys, FileKeyStore};
use sighting_core::report::{CaptureClock, Details, Manifest};
use sighting_core::seal::{self, Recipient};
use sighting_desk::app::{self, Desk, DeskConfig, Source};
use sighting_desk::state::{Role, Triage};
use sighting_desk::{self as desk, keygen};
use time::OffsetDateTime;
use uuid::Uuid;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("open") {
        return open_child(Path::new(&args[1]));
    }
    let photo = args.first().context("usage: desk_bench PHOTO [N]")?;
    let n: usize = args.get(1).map_or(Ok(10_000), |n| n.parse())?;
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

/// The child: `open_dir` over DIR/data into DIR/desk; prints the time and its peak RSS; then
/// the desk app over what it opened.
fn open_child(dir: &Path) -> Result<()> {
    let identities = desk::read_identities(&dir.join("org/identity.txt"))?;
    let started = Instant::now();
    let outcomes = desk::open_dir(&identities, &dir.join("data"), &dir.join("desk"))?;
    let took = started.elapsed().as_secs_f64();
    anyhow::ensure!(outcomes.iter().all(|o| o.result.is_ok()));
    println!(
        "opened in {took:.2} s ({:.0} reports/s), peak RSS {:.1} MiB",
        outcomes.len() as f64 / took,
        test_support::peak_rss_mib()
    );
    tokio::runtime::Runtime::new()?.block_on(desk_app(dir, identities))
}

/// The desk app over the opened reports: every tenth moved to `in_review`, then the list
/// filtered to those (a page of 50 at a random offset) and the map's points (filtered, and
/// all), each asked many times over loopback as the page asks.
async fn desk_app(dir: &Path, identities: Vec<age::x25519::Identity>) -> Result<()> {
    let started = Instant::now();
    let desk = Desk::new(DeskConfig {
        identities,
        intake_key: None,
        source: Source::Dir(dir.join("data")),
        state: dir.join("desk"),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: None,
    })?;
    let recorded = started.elapsed().as_secs_f64();
    let ana = desk
        .state
        .add_reviewer("ana", "bench password", Role::Reviewer)?;
    let (rows, total) = desk.state.list(None, 0, u64::MAX)?;
    let started = Instant::now();
    for row in rows.iter().step_by(10) {
        desk.state
            .change_triage(&ana, &row.id, row.version, Triage::InReview, None)?;
    }
    let per_change = started.elapsed().as_secs_f64() * 1000.0 / (rows.len() / 10).max(1) as f64;
    println!(
        "desk app: {total} sightings recorded in {recorded:.2} s; a triage change {per_change:.2} ms"
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app::serve(listener, desk, async {
        let _ = stopped.await;
    }));
    let client = test_support::client();
    let login = client
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({ "name": "ana", "password": "bench password" }))
        .send()
        .await?;
    let cookie = login.headers()["set-cookie"]
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    let in_review = total.div_ceil(10);
    let queries = [
        ("list, in review, page of 50", 400, true),
        ("map points, in review", 100, false),
    ];
    for (what, times, paged) in queries {
        let mut took = Vec::with_capacity(times);
        let mut bytes = 0;
        for _ in 0..times {
            let path = if paged {
                let offset = test_support::random_ms(0..in_review.saturating_sub(50).max(1));
                format!("/api/sightings?triage=in_review&offset={offset}&limit=50")
            } else {
                "/api/map?triage=in_review".to_string()
            };
            let started = Instant::now();
            let body = client
                .get(format!("{base}{path}"))
                .header("cookie", &cookie)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            took.push(started.elapsed().as_secs_f64() * 1000.0);
            bytes = body.len();
        }
        took.sort_by(f64::total_cmp);
        let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
        println!(
            "desk API over {total} sightings, {what}: p50 {:.2} ms, p99 {:.2} ms ({times} requests, {} KB each)",
            at(0.5),
            at(0.99),
            bytes / 1000
        );
    }
    let started = Instant::now();
    let all = client
        .get(format!("{base}/api/map"))
        .header("cookie", &cookie)
        .send()
        .await?
        .bytes()
        .await?;
    println!(
        "desk API, map points of all {total} sightings: {:.1} ms, {} KB; peak RSS {:.1} MiB",
        started.elapsed().as_secs_f64() * 1000.0,
        all.len() / 1000,
        test_support::peak_rss_mib()
    );
    let _ = stop.send(());
    running.await??;
    Ok(())
}
