//! Review desk benchmark (`cargo xtask bench` runs it): N sealed reports (default 10,000),
//! made once into `target/desk-bench/` and reused; then, in a child process whose peak RSS is
//! the serving desk's alone, the desk app over a fresh state: opening all of them (the desk's
//! own poll: decrypt, verify, keep photo + manifest, record in `desk.sqlite3`, same-photo
//! groups, exports), every tenth moved to `in_review`, and the reviewers' API on loopback
//! answering pages of the list and the map's points (p50/p99 over many requests); then the
//! static review page with all of them in headless Chromium (its own first-render timing).
//!
//! ```text
//! desk_bench PHOTOS [N] [EDGE]
//! ```
//!
//! PHOTOS: a JPEG, or a folder of them (each captured once; reports cycle through them, at
//! places spread over a city). EDGE: the long edge of the upload copy (default 2048, the
//! phone's); a smaller one keeps 100,000 reports within a shared disk.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sighting_core::capture::LocationMissing;
use sighting_core::capture::{capture, CaptureOptions, CaptureRequest, CapturedPhoto, Location};
use sighting_core::keys::{DeviceKeys, FileKeyStore};
use sighting_core::report::{CaptureClock, Details, LocationJson, Manifest, ManifestLocation};
use sighting_core::seal::{self, Recipient};
use sighting_desk::app::{self, Desk, DeskConfig, Source};
use sighting_desk::state::{Role, Triage};
use sighting_desk::{self as desk, keygen};
use uuid::Uuid;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        return serve_child(Path::new(&args[1]), Path::new(&args[2]));
    }
    let photos = args
        .first()
        .context("usage: desk_bench PHOTOS [N] [EDGE]")?;
    let n: usize = args.get(1).map_or(Ok(10_000), |n| n.parse())?;
    let edge: u32 = args.get(2).map_or(Ok(2048), |e| e.parse())?;
    let cache = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/desk-bench")
        .join(format!("{n}-{edge}"));
    let made = Instant::now();
    let bytes = generate(&cache, Path::new(photos), n, edge)?;
    println!(
        "desk: {n} sealed reports of {:.0} KB in {} ({:.0} s to make or find)",
        bytes as f64 / n as f64 / 1000.0,
        cache.display(),
        made.elapsed().as_secs_f64()
    );
    let state = tempfile::tempdir_in(cache.parent().context("cache")?)?;
    let child = Command::new(std::env::current_exe()?)
        .arg("serve")
        .arg(&cache)
        .arg(state.path())
        .output()?;
    print!("{}", String::from_utf8_lossy(&child.stdout));
    anyhow::ensure!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let page = format!("file://{}", state.path().join("index.html").display());
    let dom = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args(["--virtual-time-budget=10000", "--dump-dom", &page])
        .output();
    let render = dom.ok().and_then(|dom| {
        let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
        let ms = dom.split("data-render-ms=\"").nth(1)?.split('"').next()?;
        Some(ms.to_string())
    });
    match render {
        Some(ms) => println!("review page: {n} sightings rendered in {ms} ms (headless Chromium)"),
        None => println!("review page: not rendered (no chromium, or it did not finish)"),
    }
    Ok(())
}

/// N sealed reports under `cache/data/reports` for the organisation in `cache/org`, made once:
/// each photo captured once, then a manifest per report (its own id and place), signed and
/// sealed on two threads. Returns the sealed bytes.
fn generate(cache: &Path, photos: &Path, n: usize, edge: u32) -> Result<u64> {
    let data = cache.join("data/reports");
    let done = cache.join("complete");
    if done.is_file() {
        return Ok(std::fs::read_to_string(&done)?.trim().parse()?);
    }
    let _ = std::fs::remove_dir_all(cache);
    std::fs::create_dir_all(&data)?;
    let org = keygen::keygen(&cache.join("org"))?;
    let recipient: Recipient = org.recipient.parse()?;
    let store = FileKeyStore::open(&cache.join("ks.key"))?;
    let keys = DeviceKeys::open_or_create(&cache.join("keys"), &store)?;
    let options = CaptureOptions {
        max_edge: edge,
        ..Default::default()
    };
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let mut files: Vec<PathBuf> = match photos.is_dir() {
        true => walk_jpegs(photos)?,
        false => vec![photos.to_path_buf()],
    };
    files.sort();
    let captured: Vec<CapturedPhoto> = files
        .iter()
        .filter_map(|f| capture(std::fs::read(f).ok()?, &request, &options).ok())
        .collect();
    anyhow::ensure!(
        !captured.is_empty(),
        "no photo in {} captures",
        photos.display()
    );
    let bytes = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let (captured, keys, recipient, data, bytes) =
                    (&captured, &keys, &recipient, &data, &bytes);
                scope.spawn(move || -> Result<()> {
                    for i in (worker..n).step_by(2) {
                        let photo = &captured[i % captured.len()];
                        let id = Uuid::now_v7();
                        let details = Details {
                            note: Some(format!("sighting {i}")),
                            ..Default::default()
                        };
                        let mut manifest = Manifest::new(
                            id,
                            photo,
                            CaptureClock::now()?,
                            details,
                            &keys.device.public_key(),
                        )?;
                        // Sightings spread over a city.
                        manifest.location = ManifestLocation::Location(LocationJson {
                            lat: 52.30 + (i % 37) as f64 * 0.004,
                            lon: 4.80 + (i % 41) as f64 * 0.005,
                            accuracy_m: Some(10.0),
                            altitude_m: None,
                            heading_deg: None,
                            fix_time: manifest.captured_at,
                            provider: "bench".into(),
                            source: "device".into(),
                        });
                        let (sealed, _) = seal::seal_report(
                            id,
                            &manifest.to_json()?,
                            &photo.upload_copy,
                            None,
                            &keys.device,
                            std::slice::from_ref(recipient),
                            Vec::new(),
                        )?;
                        bytes.fetch_add(sealed.len() as u64, std::sync::atomic::Ordering::Relaxed);
                        std::fs::write(data.join(format!("{id}.age")), sealed)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a worker panicked"))??;
        }
        Ok(())
    })?;
    let bytes = bytes.into_inner();
    std::fs::write(&done, bytes.to_string())?;
    Ok(bytes)
}

fn walk_jpegs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            found.extend(walk_jpegs(&path)?);
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("jpg"))
        {
            found.push(path);
        }
    }
    Ok(found)
}

/// The child: the desk app on a fresh state over the cached reports; prints what it measured,
/// its peak RSS last.
fn serve_child(cache: &Path, state: &Path) -> Result<()> {
    let identities = desk::read_identities(&cache.join("org/identity.txt"))?;
    tokio::runtime::Runtime::new()?.block_on(desk_app(cache, state, identities))
}

/// The path of a request, from how many sightings are in review and in all.
type RequestPath = fn(u64, u64) -> String;

/// Percentile `q` of sorted figures.
fn at(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

async fn desk_app(
    cache: &Path,
    state: &Path,
    identities: Vec<age::x25519::Identity>,
) -> Result<()> {
    let desk = Desk::new(DeskConfig {
        identities,
        intake_key: None,
        source: Source::Dir(cache.join("data")),
        state: state.to_path_buf(),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: None,
    })?;
    let started = Instant::now();
    let d = desk.clone();
    let opened = tokio::task::spawn_blocking(move || d.open_new()).await??;
    let took = started.elapsed().as_secs_f64();
    println!(
        "desk app: opened {opened} in {took:.1} s ({:.0} reports/s, recording, groups and \
         exports included); peak RSS so far {:.1} MiB",
        opened as f64 / took,
        test_support::peak_rss_mib()
    );
    // What every later poll costs the desk when nothing arrived (the directory listed, every
    // report's state looked up, the same-photo groups recomputed).
    let started = Instant::now();
    let d = desk.clone();
    let again = tokio::task::spawn_blocking(move || d.open_new()).await??;
    println!(
        "desk app: a poll with nothing new ({again} opened) took {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let ana = desk
        .state
        .add_reviewer("ana", "bench password", Role::Reviewer)?;
    // Every tenth to review, a page at a time (the whole list at once would be the bench's
    // memory, not the desk's).
    let (total, mut changed) = (desk.state.list(None, 0, 0)?.1, 0);
    let started = Instant::now();
    for offset in (0..total).step_by(1000) {
        for row in desk.state.list(None, offset, 1000)?.0.iter().step_by(10) {
            desk.state
                .change_triage(&ana, &row.id, row.version, Triage::InReview, None)?;
            changed += 1;
        }
    }
    let per_change = started.elapsed().as_secs_f64() * 1000.0 / f64::from(changed.max(1));
    println!("desk app: {total} sightings; a triage change {per_change:.2} ms");

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
    let queries: [(&str, usize, RequestPath); 4] = [
        ("list, in review, page of 50", 400, |in_review, _| {
            let offset = test_support::random_ms(0..in_review.saturating_sub(50).max(1));
            format!("/api/sightings?triage=in_review&offset={offset}&limit=50")
        }),
        ("list, all, page of 50", 400, |_, total| {
            let offset = test_support::random_ms(0..total.saturating_sub(50).max(1));
            format!("/api/sightings?offset={offset}&limit=50")
        }),
        ("map points, in review", 100, |_, _| {
            "/api/map?triage=in_review".to_string()
        }),
        ("map points, all", 10, |_, _| "/api/map".to_string()),
    ];
    for (what, times, path) in queries {
        let mut took = Vec::with_capacity(times);
        let mut bytes = 0;
        for _ in 0..times {
            let path = path(in_review, total);
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
        println!(
            "desk API over {total} sightings, {what}: p50 {:.2} ms, p99 {:.2} ms ({times} requests, {} KB each)",
            at(&took, 0.5),
            at(&took, 0.99),
            bytes / 1000
        );
    }
    println!(
        "peak RSS of the serving desk (opening included): {:.1} MiB",
        test_support::peak_rss_mib()
    );
    let _ = stop.send(());
    running.await??;
    Ok(())
}
