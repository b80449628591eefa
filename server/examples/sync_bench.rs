//! Sync benchmark (`cargo xtask bench` runs it): the phone's sync against the real intake server
//! (`target/release/sighting-server serve`, its own process) on loopback.
//!
//! ```text
//! sync_bench PHOTO_500KB PHOTO_LARGE [REPORTS]
//! ```
//!
//! - throughput: REPORTS (default 40) reports of PHOTO_500KB (its upload copy), clean loopback:
//!   reports/s, MB/s;
//! - bytes on the wire ÷ ciphertext bytes through the faulty proxy at 0 %, 10 % and 30 % request
//!   failures (the proxy of `test_support::faulty_proxy`, `tests/src/faulty_proxy.rs`);
//! - peak RSS of a process that only syncs one report, small and large (a child process each,
//!   so capture and the server are not counted): it must not grow with the report. The large
//!   photo (over 4 MiB) is sealed with its full-size original, which makes the large report.

use test_support::faulty_proxy;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use base64::{engine::general_purpose::STANDARD, Engine};
use faulty_proxy::{FaultyProxy, Network};
use sighting_core::capture::{CaptureRequest, Location, LocationMissing};
use sighting_core::device::{Device, DeviceConfig};
use sighting_core::handle::DeviceHandle;
use sighting_core::keys::FileKeyStore;
use sighting_core::report::{CaptureClock, Details};
use sighting_core::sync::{SyncBudget, SyncConfig, Syncer};
use sighting_core::wire::hex;
use sighting_desk::keygen;

const NOW: SyncBudget = SyncBudget {
    max_wall: Duration::from_secs(600),
    max_bytes: u64::MAX,
    honour_backoff: false,
    allow_metered: true,
    metered: false,
};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("rss-child") {
        return rss_child(&args[1..]);
    }
    let [small, large, rest @ ..] = args.as_slice() else {
        bail!("usage: sync_bench PHOTO_500KB PHOTO_LARGE [REPORTS]");
    };
    let reports: usize = rest.first().map_or(Ok(40), |n| n.parse())?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench(Path::new(small), Path::new(large), reports))
}

async fn bench(small: &Path, large: &Path, reports: usize) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let org = keygen::keygen(&tmp.path().join("org"))?;
    let server_key: [u8; 32] = STANDARD
        .decode(&org.server_key)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("server key"))?;
    let (_server, base) = start_server(tmp.path())?;
    let recipient = org.recipient.as_str();

    // Throughput, clean loopback.
    let dir = tmp.path().join("throughput");
    let bytes = prepare(&dir, recipient, small, reports)?;
    let device = DeviceHandle::new(open(&dir, recipient, false)?)?;
    let syncer = Syncer::new(SyncConfig::new(&base, server_key))?;
    let started = Instant::now();
    let summary = syncer.sync(&device, NOW).await?;
    let took = started.elapsed().as_secs_f64();
    anyhow::ensure!(summary.delivered.len() == reports, "{summary:?}");
    println!(
        "sync to a loopback intake: {reports} reports of {} KB in {took:.2} s: {:.1} reports/s, {:.1} MB/s",
        bytes / reports as u64 / 1000,
        reports as f64 / took,
        bytes as f64 / took / 1e6
    );

    // Bytes on the wire through a failing network.
    for rate in [0.0, 0.10, 0.30] {
        let dir = tmp.path().join(format!("wire-{rate}"));
        let bytes = prepare(&dir, recipient, small, reports)?;
        let device = DeviceHandle::new(open(&dir, recipient, false)?)?;
        let proxy = FaultyProxy::start(
            &base,
            Network {
                failure_rate: rate,
                seed: 11,
                ..Network::clean()
            },
        )
        .await;
        let syncer = Syncer::new(SyncConfig {
            stall_timeout: Duration::from_millis(500),
            ..SyncConfig::new(&proxy.base, server_key)
        })?;
        let started = Instant::now();
        let mut delivered = 0;
        for _ in 0..100 {
            delivered += syncer.sync(&device, NOW).await?.delivered.len();
            if delivered == reports {
                break;
            }
        }
        anyhow::ensure!(delivered == reports, "{delivered} of {reports} delivered");
        println!(
            "{:>3.0} % failed requests: wire ÷ ciphertext = {:.3} ({} faults, {:.1} s)",
            rate * 100.0,
            proxy.upload_bytes() as f64 / bytes as f64,
            proxy.faults(),
            started.elapsed().as_secs_f64()
        );
    }

    // Peak RSS of syncing one report, small and large.
    for (name, photo) in [("small", small), ("large", large)] {
        let dir = tmp.path().join(format!("rss-{name}"));
        let bytes = prepare(&dir, recipient, photo, 1)?;
        let out = Command::new(std::env::current_exe()?)
            .arg("rss-child")
            .arg(&dir)
            .args([recipient, &base, &hex::encode(&server_key)])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!(
            "peak RSS syncing one {:.1} MB report: {}",
            bytes as f64 / 1e6,
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    Ok(())
}

/// A child that only opens the device and syncs, then prints its peak RSS (VmHWM).
fn rss_child(args: &[String]) -> Result<()> {
    let [dir, recipient, base, key] = args else {
        bail!("rss-child DIR RECIPIENT URL KEY");
    };
    let key = hex::decode(key).context("key")?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let device = DeviceHandle::new(open(Path::new(dir), recipient, false)?)?;
            let summary = Syncer::new(SyncConfig::new(base, key))?
                .sync(&device, NOW)
                .await?;
            anyhow::ensure!(summary.delivered.len() == 1, "{summary:?}");
            Ok(())
        })?;
    println!("{:.1} MiB", test_support::peak_rss_mib());
    Ok(())
}

/// A device; `with_original` seals the full-size sanitized photo too (the large reports).
fn open(dir: &Path, recipient: &str, with_original: bool) -> Result<Device> {
    let store = FileKeyStore::open(&dir.join("ks.key"))?;
    let config = DeviceConfig {
        include_original: with_original,
        ..DeviceConfig::new(vec![recipient.parse()?])
    };
    Ok(Device::open(&dir.join("device"), &store, config)?)
}

/// `count` reports of `photo` in a new device under `dir`; returns their ciphertext bytes.
fn prepare(dir: &Path, recipient: &str, photo: &Path, count: usize) -> Result<u64> {
    let with_original = std::fs::metadata(photo)?.len() > 4 << 20;
    let mut device = open(dir, recipient, with_original)?;
    let bytes = std::fs::read(photo)?;
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    for _ in 0..count {
        let draft = device.capture(bytes.clone(), &request, CaptureClock::now()?)?;
        device.submit(draft.id, Details::default())?;
    }
    Ok(device.reports()?.iter().map(|r| r.bytes).sum())
}

/// `sighting-server serve` (beside this example in target/release) on a free loopback port.
fn start_server(tmp: &Path) -> Result<(ServerProcess, String)> {
    let exe = std::env::current_exe()?;
    let binary: PathBuf = exe
        .parent()
        .and_then(Path::parent)
        .context("target dir")?
        .join("sighting-server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let child = Command::new(&binary)
        .args(["serve", "--data"])
        .arg(tmp.join("intake"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--key"])
        .arg(tmp.join("org").join(keygen::SERVER_KEY_FILE))
        // One benchmark phone sends more reports than a reporter would.
        .args(["--rate-burst", "1000000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let server = ServerProcess(child);
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((server, format!("http://127.0.0.1:{port}")));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    bail!("the intake server did not start")
}

struct ServerProcess(Child);

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
