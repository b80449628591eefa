//! The review desk pulling from a hostile intake (a stranger's server, or the organisation's own
//! intake once compromised): a hand-written HTTP server on loopback that lies in its listing,
//! floods, drips and never moves its cursor. The desk must stay small, stop at the limits with
//! a clear error and never loop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sighting_desk::app::{PullLimits, Puller};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_sighting-server");
const MIB: u64 = 1 << 20;

/// What the hostile intake answers to one request.
enum Answer {
    /// A body with its Content-Length.
    Bytes(Vec<u8>),
    /// Zeros with no length (the body ends when the connection closes): `total` bytes, or
    /// until the desk hangs up.
    Flood { total: u64 },
    /// One byte every `every`, with no length, forever.
    Drip { every: Duration },
}

/// What the hostile intake saw.
#[derive(Default)]
struct Counts {
    listings: AtomicUsize,
    /// Body bytes the desk accepted from floods and drips.
    body_bytes: AtomicU64,
}

/// A hostile intake on 127.0.0.1: `answer` gets each request's path and query.
struct HostileIntake {
    base: String,
    counts: Arc<Counts>,
}

impl HostileIntake {
    async fn start(answer: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let counts = Arc::new(Counts::default());
        let answer = Arc::new(answer);
        let seen = counts.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (answer, seen) = (answer.clone(), seen.clone());
                tokio::spawn(async move {
                    let _ = respond(stream, &*answer, &seen).await;
                });
            }
        });
        Self { base, counts }
    }
}

async fn respond(
    mut stream: TcpStream,
    answer: &(dyn Fn(&str) -> Answer + Send + Sync),
    seen: &Counts,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 << 10 {
        if stream.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split(' ').nth(1).unwrap_or("/").to_string();
    if target.starts_with("/v1/desk/reports?") {
        seen.listings.fetch_add(1, Ordering::SeqCst);
    }
    match answer(&target) {
        Answer::Bytes(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Answer::Flood { total } => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                .await?;
            let chunk = vec![0u8; 64 << 10];
            let mut sent = 0u64;
            while sent < total {
                stream.write_all(&chunk).await?;
                sent += chunk.len() as u64;
                seen.body_bytes
                    .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
        }
        Answer::Drip { every } => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                .await?;
            loop {
                stream.write_all(b"x").await?;
                seen.body_bytes.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(every).await;
            }
        }
    }
    stream.shutdown().await
}

/// One entry of a listing, as the intake writes it.
fn listed(id: uuid::Uuid, length: u64, sha256: &str, seq: i64) -> serde_json::Value {
    serde_json::json!({ "report_id": id, "length": length, "ciphertext_sha256": sha256, "seq": seq })
}

fn listing(reports: Vec<serde_json::Value>, next: i64) -> Answer {
    Answer::Bytes(
        serde_json::to_vec(&serde_json::json!({ "reports": reports, "next": next })).unwrap(),
    )
}

fn sha256_hex(bytes: &[u8]) -> String {
    sighting_core::wire::hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// `sighting-server desk` pulling from `intake`, its log in `dir/desk.log`; killed when dropped.
struct DeskProcess {
    child: Child,
    log: std::path::PathBuf,
}

impl DeskProcess {
    fn start(dir: &Path, intake: &str) -> Self {
        let org = dir.join("org");
        let status = Command::new(BIN)
            .args(["keygen", "--out"])
            .arg(&org)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::write(dir.join("desk.token"), "any-token\n").unwrap();
        let log = dir.join("desk.log");
        let child = Command::new(BIN)
            .arg("desk")
            .arg("--identity")
            .arg(org.join("identity.txt"))
            .arg("--state")
            .arg(dir.join("state"))
            .args(["--intake", intake, "--token-file"])
            .arg(dir.join("desk.token"))
            .args(["--listen", "127.0.0.1:0", "--poll-secs", "1"])
            // The desk logs to standard output.
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    /// Waits for the first failed pull; returns its log line.
    fn failed_pull(&self) -> String {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if let Some(line) = log
                .lines()
                .find(|l| l.contains("pulling from the intake failed"))
            {
                return line.to_string();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no failed pull in two minutes: {}",
            std::fs::read_to_string(&self.log).unwrap()
        );
    }

    /// The process's peak resident memory (VmHWM), in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib / 1024.0
    }
}

impl Drop for DeskProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The files the puller left in `STATE/pulled/reports`.
fn pulled_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir.join("state/pulled/reports"))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_claims_8_gib_is_refused_before_a_byte_is_fetched() {
    let tmp = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4();
    let intake = HostileIntake::start(move |target| {
        if target.starts_with("/v1/desk/reports?") {
            listing(vec![listed(id, 8 << 30, &"0".repeat(64), 1)], 1)
        } else {
            Answer::Flood { total: 320 * MIB }
        }
    })
    .await;
    let desk = DeskProcess::start(tmp.path(), &intake.base);
    let error = desk.failed_pull();
    let peak = desk.peak_rss_mib();
    println!("desk peak RSS {peak:.1} MiB; {error}");
    assert!(error.contains("more than a report can be"), "{error}");
    assert_eq!(intake.counts.body_bytes.load(Ordering::SeqCst), 0);
    assert!(peak < 48.0, "the desk grew to {peak:.1} MiB");
    assert!(pulled_files(tmp.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_longer_than_listed_stops_at_the_cap_and_never_sits_in_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4();
    let intake = HostileIntake::start(move |target| {
        if target.starts_with("/v1/desk/reports?") {
            // Exactly the largest report the intake takes; then bytes without end.
            listing(vec![listed(id, 64 * MIB, &"0".repeat(64), 1)], 1)
        } else {
            Answer::Flood { total: u64::MAX }
        }
    })
    .await;
    let desk = DeskProcess::start(tmp.path(), &intake.base);
    let error = desk.failed_pull();
    let peak = desk.peak_rss_mib();
    let sent = intake.counts.body_bytes.load(Ordering::SeqCst);
    println!(
        "desk peak RSS {peak:.1} MiB after {} MiB sent; {error}",
        sent / MIB
    );
    assert!(error.contains("longer than the intake listed"), "{error}");
    assert!(peak < 48.0, "the desk grew to {peak:.1} MiB");
    // What the sockets buffer beyond the cap, and nothing like the flood.
    assert!(sent <= 80 * MIB, "{sent} bytes taken");
    assert!(
        pulled_files(tmp.path()).is_empty(),
        "{:?}",
        pulled_files(tmp.path())
    );
}

fn puller(intake: &HostileIntake, dir: &Path) -> Puller {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Puller::new(
        &intake.base,
        "any-token".into(),
        None,
        dir.join("state/pulled"),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_drips_hits_the_per_report_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4();
    let intake = HostileIntake::start(move |target| {
        if target.starts_with("/v1/desk/reports?") {
            listing(vec![listed(id, 1000, &"0".repeat(64), 1)], 1)
        } else {
            Answer::Drip {
                every: Duration::from_millis(100),
            }
        }
    })
    .await;
    let puller = puller(&intake, tmp.path()).with_limits(PullLimits {
        per_report: Duration::from_secs(2),
        per_pull: Duration::from_secs(60),
    });
    let result = tokio::time::timeout(Duration::from_secs(30), puller.pull())
        .await
        .expect("the pull did not end");
    let error = format!("{:#}", result.unwrap_err());
    assert!(error.contains("took longer than"), "{error}");
    assert!(intake.counts.body_bytes.load(Ordering::SeqCst) < 1000);
    assert!(pulled_files(tmp.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_whose_cursor_never_moves_ends_the_pull_with_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4();
    let ciphertext = b"a report the listing names again and again".to_vec();
    let sha = sha256_hex(&ciphertext);
    let intake = HostileIntake::start(move |target| {
        if target.starts_with("/v1/desk/reports?") {
            listing(vec![listed(id, ciphertext.len() as u64, &sha, 1)], 1)
        } else if target.ends_with("/record") {
            Answer::Bytes(b"{}".to_vec())
        } else {
            Answer::Bytes(ciphertext.clone())
        }
    })
    .await;
    let puller = puller(&intake, tmp.path());
    let result = tokio::time::timeout(Duration::from_secs(20), puller.pull())
        .await
        .expect("the pull loops on a cursor that never moves");
    let error = format!("{:#}", result.unwrap_err());
    assert!(error.contains("does not move forward"), "{error}");
    assert!(intake.counts.listings.load(Ordering::SeqCst) <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_without_end_is_pulled_a_bounded_number_of_pages_at_a_time() {
    let tmp = tempfile::tempdir().unwrap();
    let ciphertext = b"one more report, always".to_vec();
    let sha = sha256_hex(&ciphertext);
    let intake = HostileIntake::start(move |target| {
        if let Some(query) = target.strip_prefix("/v1/desk/reports?after=") {
            let after: i64 = query.split('&').next().unwrap().parse().unwrap();
            let id = uuid::Uuid::from_u128(after as u128 + 1);
            listing(
                vec![listed(id, ciphertext.len() as u64, &sha, after + 1)],
                after + 1,
            )
        } else if target.ends_with("/record") {
            Answer::Bytes(b"{}".to_vec())
        } else {
            Answer::Bytes(ciphertext.clone())
        }
    })
    .await;
    let puller = puller(&intake, tmp.path());
    let pulled = tokio::time::timeout(Duration::from_secs(60), puller.pull())
        .await
        .expect("the pull never ends")
        .unwrap();
    let pages = intake.counts.listings.load(Ordering::SeqCst);
    assert!((1..=100).contains(&pages), "{pages} pages");
    assert_eq!(pulled, pages, "one report a page");
    // The next pull goes on from where this one stopped.
    let again = puller.pull().await.unwrap();
    assert_eq!(again, pages);
    let names = pulled_files(tmp.path());
    assert!(names.contains(&format!("{}.age", uuid::Uuid::from_u128(2 * pages as u128))));
}
