//! The intake server as an anonymous attacker meets it: stalled bodies, slow request heads
//! under a low descriptor limit, a race on completion, someone else's upload, a key of small
//! order, and a disk filled with junk from fresh keys. Where memory and descriptors matter the
//! real `sighting-server serve` runs as its own process, measured from /proc.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::wire::envelope_message;
use sighting_intake::IntakeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

use support::tus::{create, device_keys, head_offset, header, metadata, receipt, report, Report};
use support::Server;
use test_support as support;

/// `sighting-server serve` in its own process, killed when dropped.
struct ServerProcess {
    child: Child,
    addr: String,
}

impl ServerProcess {
    fn start(dir: &Path, args: &[&str], max_files: Option<u64>) -> Self {
        let bin = env!("CARGO_BIN_EXE_sighting-server");
        let keys = dir.join("org");
        let status = Command::new(bin)
            .args(["keygen", "--out"])
            .arg(&keys)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mut command = Command::new(bin);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(dir.join("data"))
            .arg("--key")
            .arg(keys.join("server.key"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(limit) = max_files {
            let limit = rustix::process::Rlimit {
                current: Some(limit),
                maximum: Some(limit),
            };
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut command, move || {
                    rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                        .map_err(std::io::Error::from)
                });
            }
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Self { child, addr }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resident memory, KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens a connection and sends a PATCH head for `len` body bytes, then `body` (≤ len).
async fn raw_patch(
    addr: &str,
    path: &str,
    len: usize,
    checksum: Option<&[u8]>,
    body: &[u8],
) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let checksum = checksum
        .map(|sum| format!("Upload-Checksum: sha256 {}\r\n", STANDARD.encode(sum)))
        .unwrap_or_default();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: intake\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n{checksum}\
         Content-Length: {len}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    tcp
}

/// The status line of the response on `tcp`, waiting up to `within`.
async fn status_line(tcp: &mut TcpStream, within: Duration) -> String {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    let read = async {
        while !got.windows(2).any(|w| w == b"\r\n") {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(within, read).await;
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn upload_url(client: &reqwest::Client, base: &str, r: &Report) -> (String, String) {
    let created = create(client, base, r).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let path = header(&created, "location").unwrap();
    (format!("{base}{path}"), path)
}

/// A whole report in one POST (creation-with-upload).
async fn upload_whole(client: &reqwest::Client, base: &str, r: &Report) -> reqwest::Response {
    client
        .post(format!("{base}/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", r.bytes.len().to_string())
        .header("Upload-Metadata", &r.metadata)
        .header("Content-Type", "application/offset+octet-stream")
        .body(r.bytes.clone())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_checksummed_bodies_are_kept_on_disk_not_in_memory_and_cut_when_idle() {
    let tmp = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(tmp.path(), &["--body-idle-secs", "4"], None);
    let (client, base) = (support::client(), server.base());
    let keys = device_keys(tmp.path());
    // One upload first, so the baseline includes a warmed-up server.
    let warm = report(&keys, 200_000);
    assert_eq!(
        upload_whole(&client, &base, &warm).await.status(),
        StatusCode::CREATED
    );
    let baseline = server.rss_kib();

    const BODY: usize = 24 << 20;
    const STALLED: usize = 8;
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let r = report(&keys, BODY);
        let (url, path) = upload_url(&client, &base, &r).await;
        let sum = ring::digest::digest(&ring::digest::SHA256, &r.bytes);
        // Every byte but the last, then silence.
        let tcp = raw_patch(
            &server.addr,
            &path,
            BODY,
            Some(sum.as_ref()),
            &r.bytes[..BODY - 1],
        )
        .await;
        stalled.push((tcp, url));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown_mib = server.rss_kib().saturating_sub(baseline) / 1024;
    println!(
        "RSS {} MiB → +{grown_mib} MiB with {STALLED} stalled {} MiB bodies",
        baseline / 1024,
        BODY >> 20
    );
    assert!(
        grown_mib < 48,
        "{STALLED} stalled checksummed bodies of {} MiB grew the server by {grown_mib} MiB",
        BODY >> 20
    );

    // A reporter's upload goes through meanwhile.
    let legit = report(&keys, 300_000);
    let response = upload_whole(&client, &base, &legit).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        header(&response, "upload-offset").as_deref(),
        Some("300000")
    );

    // Idle bodies are cut, answered 408, and none of a checksummed body is kept.
    for (mut tcp, url) in stalled {
        let status = status_line(&mut tcp, Duration::from_secs(10)).await;
        assert!(status.contains(" 408 "), "a stalled body got {status:?}");
        assert_eq!(head_offset(&client, &url).await, (StatusCode::OK, Some(0)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_cut_and_uploads_complete_under_a_low_descriptor_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(tmp.path(), &["--header-timeout-secs", "1"], Some(128));
    let (client, base) = (support::client(), server.base());
    let keys = device_keys(tmp.path());

    // 200 connections, each sending a request head a line at a time and never finishing it.
    let mut attackers = Vec::new();
    for _ in 0..200 {
        let mut tcp = TcpStream::connect(&server.addr).await.unwrap();
        let _ = tcp
            .write_all(b"POST /v1/uploads HTTP/1.1\r\nHost: intake\r\n")
            .await;
        attackers.push(tcp);
    }
    let trickle =
        tokio::spawn(async move {
            let mut cut = 0;
            for _ in 0..80 {
                tokio::time::sleep(Duration::from_millis(250)).await;
                cut = 0;
                for tcp in &mut attackers {
                    let mut probe = [0u8; 512];
                    let closed =
                        match tokio::time::timeout(Duration::from_millis(1), tcp.read(&mut probe))
                            .await
                        {
                            Ok(Ok(0)) | Ok(Err(_)) => true,
                            Ok(Ok(_)) => true, // the server answered (408) instead of waiting
                            Err(_) => false,
                        };
                    if closed || tcp.write_all(b"X-Slow: 1\r\n").await.is_err() {
                        cut += 1;
                    }
                }
                if cut == 200 {
                    break;
                }
            }
            cut
        });

    // Meanwhile, two reporters upload.
    for len in [150_000, 90_000] {
        let r = report(&keys, len);
        let response = upload_whole(&client, &base, &r).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let cut = trickle.await.unwrap();
    assert_eq!(cut, 200, "slow request heads still open after 20 s");
    assert!(server.running(), "the server died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_stored_after_a_request_has_been_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(tmp.path(), &["--timeout-secs", "2"], None);
    let (client, base) = (support::client(), server.base());
    let keys = device_keys(tmp.path());
    let r = report(&keys, 200_000);
    let (url, path) = upload_url(&client, &base, &r).await;
    let mut tcp = raw_patch(&server.addr, &path, 200_000, None, &r.bytes[..100_000]).await;
    let status = status_line(&mut tcp, Duration::from_secs(10)).await;
    assert!(status.contains(" 408 "), "got {status:?}");
    let kept = head_offset(&client, &url).await.1.unwrap();
    assert!(kept <= 100_000);
    // The rest of the body after the answer: not one more byte is stored.
    let _ = tcp.write_all(&r.bytes[100_000..]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        head_offset(&client, &url).await,
        (StatusCode::OK, Some(kept))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_during_the_last_patch_does_not_complete_the_upload_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_default(&data).await;
    let (client, base) = (support::client(), server.base.clone());
    let keys = device_keys(tmp.path());
    for _ in 0..3 {
        let r = report(&keys, 12 << 20);
        let (url, _) = upload_url(&client, &base, &r).await;
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let heads = tokio::spawn({
            let (client, url, done) = (client.clone(), url.clone(), done.clone());
            async move {
                let mut statuses = Vec::new();
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    statuses.push(head_offset(&client, &url).await.0);
                }
                statuses
            }
        });
        let patched = support::tus::patch(&client, &url, 0, &r.bytes, None).await;
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let statuses = heads.await.unwrap();
        assert_eq!(patched.status(), StatusCode::NO_CONTENT);
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "HEADs during the last PATCH: {statuses:?}"
        );
        let receipt = receipt(&client, &base, r.id).await;
        assert_eq!(receipt.status(), StatusCode::OK);
    }
    server.stop().await;
}

#[tokio::test]
async fn only_the_device_that_created_an_upload_gets_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_default(&tmp.path().join("data")).await;
    let (client, base) = (support::client(), server.base.clone());
    let victim = device_keys(&tmp.path().join("victim"));
    let r = report(&victim, 5000);
    let (url, path) = upload_url(&client, &base, &r).await;
    support::tus::patch(&client, &url, 0, &r.bytes[..2000], None).await;
    let id: Uuid = path.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(
        id.get_version_num(),
        4,
        "upload ids are random, not time-ordered"
    );

    // Someone who learnt (report id, hash, length) signs the same envelope with their own key.
    let attacker = device_keys(&tmp.path().join("attacker"));
    let sha: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &r.bytes)
        .as_ref()
        .try_into()
        .unwrap();
    let forged = Report {
        id: r.id,
        bytes: r.bytes.clone(),
        metadata: metadata(
            r.id,
            attacker.device.public_key(),
            sha,
            attacker.device.sign_envelope(r.id, &sha),
        ),
    };
    let refused = create(&client, &base, &forged).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(header(&refused, "location"), None, "the upload URL leaked");
    // The victim's own re-POST still resumes it.
    let resumed = create(&client, &base, &r).await;
    assert_eq!(resumed.status(), StatusCode::CREATED);
    assert_eq!(header(&resumed, "location").as_deref(), Some(path.as_str()));
    assert_eq!(
        head_offset(&client, &url).await,
        (StatusCode::OK, Some(2000))
    );
    server.stop().await;
}

#[tokio::test]
async fn a_small_order_device_key_cannot_forge_an_envelope() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_default(&tmp.path().join("data")).await;
    let (client, base) = (support::client(), server.base.clone());
    let mut identity = [0u8; 32];
    identity[0] = 1; // the identity point, order 1
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&identity); // R = identity, S = 0
    let bytes = vec![7u8; 1000];
    let sha = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .try_into()
        .unwrap();
    let id = Uuid::new_v4();
    let forged = Report {
        id,
        bytes,
        metadata: metadata(id, identity, sha, sig),
    };
    let refused = create(&client, &base, &forged).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        std::fs::read_dir(tmp.path().join("data/uploads"))
            .unwrap()
            .count(),
        0
    );
    server.stop().await;
}

/// Junk that passes the envelope check: random bytes signed by a fresh key (keys are free).
fn junk(len: usize) -> Report {
    let rng = SystemRandom::new();
    let pair =
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let mut bytes = vec![0u8; len];
    ring::rand::SecureRandom::fill(&rng, &mut bytes).unwrap();
    let id = Uuid::new_v4();
    let sha: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .try_into()
        .unwrap();
    let sig = pair.sign(&envelope_message(id, &sha));
    Report {
        id,
        metadata: metadata(
            id,
            pair.public_key().as_ref().try_into().unwrap(),
            sha,
            sig.as_ref().try_into().unwrap(),
        ),
        bytes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_fills_the_quota_then_507_keeps_reports_queued_until_prune() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let org = tmp.path().join("org");
    let org_keys = sighting_desk::keygen::keygen(&org).unwrap();
    let (pkcs8, server_key) = support::server_key();
    let config = IntakeConfig {
        max_storage: Some(1_000_000),
        ..IntakeConfig::default()
    };
    let server = Server::start(&data, &pkcs8, config).await;
    let (client, base) = (support::client(), server.base.clone());

    // An upload in progress before the flood: its space is reserved, so it may finish.
    let early = junk(100_000);
    let (early_url, _) = upload_url(&client, &base, &early).await;
    support::tus::patch(&client, &early_url, 0, &early.bytes[..50_000], None).await;

    let mut accepted = 0;
    // Creation then PATCH, not one POST with the body: a refusal comes before the body is read,
    // and a client still writing it may see the connection close instead of the answer.
    let refused = loop {
        let r = junk(150_000);
        let response = create(&client, &base, &r).await;
        if response.status() != StatusCode::CREATED {
            break response;
        }
        let url = format!("{base}{}", header(&response, "location").unwrap());
        let sent = support::tus::patch(&client, &url, 0, &r.bytes, None).await;
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
        accepted += 1;
        assert!(accepted < 20, "the quota never applied");
    };
    assert_eq!(accepted, 6, "900 kB of junk + 100 kB reserved fill 1 MB");
    assert_eq!(refused.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(header(&refused, "retry-after").as_deref(), Some("1800"));
    let finished =
        support::tus::patch(&client, &early_url, 50_000, &early.bytes[50_000..], None).await;
    assert_eq!(
        finished.status(),
        StatusCode::NO_CONTENT,
        "the early upload finishes"
    );
    let sealed = || {
        std::fs::read_dir(data.join("reports"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().unwrap() == "age")
            .count()
    };
    assert_eq!(sealed(), accepted + 1, "everything received is kept");
    assert_eq!(
        std::fs::read_dir(data.join("uploads")).unwrap().count(),
        0,
        "no orphan files from the refused creates"
    );

    // A reporter's phone meets the full server: the report stays queued, nothing lost.
    let phone = support::phone(tmp.path(), &org_keys.recipient);
    let report_id = support::submit(&phone, "Canon_40D.jpg").await;
    let syncer = support::syncer(&base, server_key, 256 << 10);
    let summary = syncer.sync(&phone, support::NOW).await.unwrap();
    assert_eq!(summary.retrying.len(), 1, "{summary:?}");
    assert!(summary.delivered.is_empty());

    // The desk opens what arrived (junk fails, and is recorded as opened); prune frees it.
    let identities = sighting_desk::read_identities(&org.join("identity.txt")).unwrap();
    let desk = tmp.path().join("desk");
    let outcomes = sighting_desk::open_dir(&identities, &data, &desk).unwrap();
    assert_eq!(outcomes.len(), accepted + 1);
    let store = sighting_intake::store::SqliteStore::open(&data).unwrap();
    // Junk fails with the organisation's own identity: deleted because the operator asks
    // (`prune --failed`), with what the desk opened.
    let state = sighting_desk::state::DeskState::open(&desk).unwrap();
    let prunable = sighting_desk::keep::prunable(&desk, &state).unwrap();
    let opened: Vec<_> = prunable
        .opened
        .iter()
        .copied()
        .chain(prunable.failed.iter().map(|(id, _)| *id))
        .collect();
    let pruned = sighting_intake::prune::prune(&store, &opened)
        .await
        .unwrap();
    assert_eq!(pruned.reports, accepted + 1);
    assert_eq!(sealed(), 0);

    let summary = syncer.sync(&phone, support::NOW).await.unwrap();
    assert_eq!(summary.delivered, vec![report_id], "{summary:?}");
    // Prune never touches what the desk has not opened: the new report stays.
    let pruned = sighting_intake::prune::prune(&store, &opened)
        .await
        .unwrap();
    assert_eq!((pruned.reports, sealed()), (0, 1));
    server.stop().await;
}

/// A small tmpfs, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    /// `None` where this machine does not let the test mount (not root); the quota test above
    /// covers the same refusal without one.
    fn mount(dir: &Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        if !mounted.is_ok_and(|o| o.status.success()) {
            eprintln!("note: cannot mount a tmpfs here (needs root): skipped");
            return None;
        }
        Some(SmallDisk(dir.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Uploads that each fit when created, sent at once into an 8 MiB disk: the disk really fills
/// mid-body. The server answers 507 (never 500), stays up, and keeps what it had.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_really_full_disk_is_507_never_500_and_loses_nothing_received() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&tmp.path().join("disk"), "8m") else {
        return;
    };
    let data = disk.0.join("data");
    let config = IntakeConfig {
        min_free_disk: 0,
        ..IntakeConfig::default()
    };
    let server = Server::start(&data, &support::tus::server_pkcs8(), config).await;
    let (client, base) = (support::client(), server.base.clone());
    let first = junk(1_000_000);
    assert_eq!(
        upload_whole(&client, &base, &first).await.status(),
        StatusCode::CREATED
    );
    let mut urls = Vec::new();
    let reports: Vec<Report> = (0..3).map(|_| junk(3_000_000)).collect();
    for r in &reports {
        urls.push(upload_url(&client, &base, r).await.0);
    }
    let mut statuses = Vec::new();
    for (r, url) in reports.iter().zip(&urls) {
        statuses.push(
            support::tus::patch(&client, url, 0, &r.bytes, None)
                .await
                .status(),
        );
    }
    println!("three 3 MB bodies into an 8 MiB disk: {statuses:?}");
    assert!(
        statuses.contains(&StatusCode::INSUFFICIENT_STORAGE),
        "the disk filled: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::NO_CONTENT || *s == StatusCode::INSUFFICIENT_STORAGE),
        "{statuses:?}"
    );
    // Still up, and what it received is whole.
    let kept = std::fs::read(data.join(format!("reports/{}.age", first.id))).unwrap();
    assert_eq!(kept, first.bytes);
    let receipt = receipt(&client, &base, first.id).await;
    assert_eq!(receipt.status(), StatusCode::OK);
    for url in &urls {
        assert_eq!(head_offset(&client, url).await.0, StatusCode::OK);
    }
    // New uploads are refused at creation, before a byte is kept.
    let refused = create(&client, &base, &junk(3_000_000)).await;
    assert_eq!(refused.status(), StatusCode::INSUFFICIENT_STORAGE);
    server.stop().await;
}

/// A file under uploads/ that no row names (left by a crash, or by a failed create of older
/// versions) is removed when the store opens; a live upload's file is not.
#[tokio::test]
async fn orphan_upload_files_are_removed_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_default(&data).await;
    let (client, base) = (support::client(), server.base.clone());
    let live = junk(1000);
    let (url, _) = upload_url(&client, &base, &live).await;
    // A live upload has its file from its first bytes on.
    let kept = support::tus::patch(&client, &url, 0, &live.bytes[..100], None).await;
    assert_eq!(kept.status(), StatusCode::NO_CONTENT);
    server.stop().await;
    let orphan = data.join("uploads").join(Uuid::new_v4().to_string());
    std::fs::write(&orphan, b"").unwrap();
    assert_eq!(std::fs::read_dir(data.join("uploads")).unwrap().count(), 2);
    let server = Server::start_default(&data).await;
    assert!(!orphan.exists());
    assert_eq!(std::fs::read_dir(data.join("uploads")).unwrap().count(), 1);
    let url = url.replace(&base, &server.base);
    assert_eq!(
        head_offset(&client, &url).await,
        (StatusCode::OK, Some(100))
    );
    server.stop().await;
}

/// An empty report (a valid envelope over zero bytes) is refused at creation: there is nothing
/// to seal, and nothing is recorded or stored for it.
#[tokio::test]
async fn an_empty_report_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_default(&data).await;
    let (client, base) = (support::client(), server.base.clone());
    let empty = junk(0);
    let refused = create(&client, &base, &empty).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("empty"));
    let whole = upload_whole(&client, &base, &empty).await;
    assert_eq!(whole.status(), StatusCode::BAD_REQUEST);
    server.stop().await;
    let store = sighting_intake::store::SqliteStore::open(&data).unwrap();
    assert_eq!(
        sighting_intake::store::UploadStore::by_report(&store, empty.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(std::fs::read_dir(data.join("reports")).unwrap().count(), 0);
}
