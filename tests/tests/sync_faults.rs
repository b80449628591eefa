//! Sync over a bad network: a proxy in front of the real intake server drops, resets, stalls
//! and throttles. Whatever it does, every submitted report arrives exactly once and
//! byte-identical, and a drop costs few resent bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sighting_core::handle::DeviceHandle;
use sighting_core::queue::{AttemptError, State};
use sighting_core::sync::{SyncBudget, SyncConfig, SyncListener, Syncer};
use sighting_desk::keygen;
use sighting_intake::IntakeConfig;
use uuid::Uuid;

use support::faulty_proxy::{FaultyProxy, Network};
use support::{phone, server_key, submit, undelivered, Server, NOW};
use test_support as support;

/// SHA-256 of every sealed report in the outbox, before sync deletes them.
async fn ciphertexts(device: &DeviceHandle) -> BTreeMap<Uuid, [u8; 32]> {
    device
        .call(|d| {
            let mut out = BTreeMap::new();
            for r in d.reports()? {
                let bytes = std::fs::read(d.sealed_report(r.id))?;
                let sha = ring::digest::digest(&ring::digest::SHA256, &bytes);
                out.insert(r.id, sha.as_ref().try_into().unwrap());
            }
            Ok(out)
        })
        .await
        .unwrap()
}

/// What the intake server filed: report id → SHA-256 of the stored ciphertext.
fn filed(data: &Path) -> BTreeMap<Uuid, [u8; 32]> {
    std::fs::read_dir(data.join("reports"))
        .unwrap()
        .filter_map(|e| {
            let path = e.unwrap().path();
            let id = path
                .file_name()?
                .to_str()?
                .strip_suffix(".age")?
                .parse()
                .ok()?;
            let sha = ring::digest::digest(&ring::digest::SHA256, &std::fs::read(&path).unwrap());
            Some((id, sha.as_ref().try_into().unwrap()))
        })
        .collect()
}

fn reports() -> usize {
    std::env::var("SIGHTING_FAULT_REPORTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_reports_through_a_network_failing_30_percent_of_requests_arrive_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let n = reports();
    let started = Instant::now();
    for i in 0..n {
        // Two sizes: one chunk (sent with the POST) and several chunks.
        submit(
            &device,
            if i % 2 == 0 {
                "Canon_40D.jpg"
            } else {
                "orientation/portrait_1.jpg"
            },
        )
        .await;
    }
    let sent = ciphertexts(&device).await;
    assert_eq!(sent.len(), n);
    let captured = started.elapsed();
    let ciphertext_bytes: u64 = device
        .call(|d| Ok(d.reports()?.iter().map(|r| r.bytes).sum()))
        .await
        .unwrap();

    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    // One phone sending a thousand reports is this test's premise, not spam.
    let generous = IntakeConfig {
        rate_burst: u32::MAX,
        ..IntakeConfig::default()
    };
    let server = Server::start(&data, &pkcs8, generous).await;
    let proxy = FaultyProxy::start(
        &server.base,
        Network {
            failure_rate: 0.30,
            upload_rate: None,
            stall_for: Duration::from_secs(2),
            seed: 7,
        },
    )
    .await;
    let syncer = Syncer::new(SyncConfig {
        chunk_size: 32 << 10,
        stall_timeout: Duration::from_millis(300),
        ..SyncConfig::new(&proxy.base, public)
    })
    .unwrap();
    let events = Arc::new(Recorder::default());
    syncer.set_listener(Some(events.clone()));
    let mut rounds = 0;
    loop {
        rounds += 1;
        let summary = syncer.sync(&device, NOW).await.unwrap();
        assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
        let left = undelivered(&device).await;
        if left == 0 {
            break;
        }
        assert!(
            rounds < 60,
            "{left} reports still not delivered after {rounds} syncs: {summary:?}"
        );
    }
    server.stop().await;

    assert_eq!(
        filed(&data),
        sent,
        "exactly the submitted set, each once, byte-identical"
    );
    let outbox = device.call(|d| d.reports()).await.unwrap();
    assert!(outbox.iter().all(|r| r.state == State::Delivered));
    let ratio = proxy.upload_bytes() as f64 / ciphertext_bytes as f64;
    println!(
        "{n} reports, {ciphertext_bytes} ciphertext bytes, {} bytes on the wire (ratio {ratio:.3}), \
         {} requests, {} faults, {rounds} syncs; capture {captured:?}, sync {:?}",
        proxy.upload_bytes(),
        proxy.counters.requests.load(std::sync::atomic::Ordering::Relaxed),
        proxy.faults(),
        started.elapsed() - captured
    );
    assert!(
        proxy.faults() as f64 > 0.2 * n as f64,
        "the network really failed ({} faults)",
        proxy.faults()
    );
    assert!(ratio <= 1.10, "bytes on the wire / ciphertext = {ratio:.3}");

    // Throttled: before the last one, a report's progress events are ≥ 100 ms apart.
    let mut last: BTreeMap<Uuid, Instant> = BTreeMap::new();
    for (id, at, sent, total) in events.progress.lock().unwrap().iter() {
        if let Some(previous) = last.get(id) {
            assert!(
                sent == total || *at - *previous >= Duration::from_millis(99),
                "{id}: events {:?} apart",
                *at - *previous
            );
        }
        last.insert(*id, *at);
    }
    let delivered: BTreeSet<Uuid> = events
        .states
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.1 == State::Delivered)
        .map(|s| s.0)
        .collect();
    assert_eq!(delivered.len(), n, "a delivered event for every report");
}

/// Records what the outbox UI would be told.
#[derive(Default)]
struct Recorder {
    progress: Mutex<Vec<(Uuid, Instant, u64, u64)>>,
    states: Mutex<Vec<(Uuid, State)>>,
}

impl SyncListener for Recorder {
    fn progress(&self, report: Uuid, sent: u64, total: u64) {
        self.progress
            .lock()
            .unwrap()
            .push((report, Instant::now(), sent, total));
    }
    fn state_changed(
        &self,
        report: Uuid,
        state: State,
        _error: Option<AttemptError>,
        _detail: Option<&str>,
    ) {
        self.states.lock().unwrap().push((report, state));
    }
}

/// 2G: about 20 KB/s up.
const TWO_G: u64 = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2s_budget_over_2g_returns_in_time_and_the_next_sync_continues_from_the_server_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let id = submit(&device, "orientation/portrait_1.jpg").await;
    let size = device.call(|d| Ok(d.reports()?[0].bytes)).await.unwrap();
    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, IntakeConfig::default()).await;
    let proxy = FaultyProxy::start(
        &server.base,
        Network {
            upload_rate: Some(TWO_G),
            ..Network::clean()
        },
    )
    .await;
    let slow = Syncer::new(SyncConfig {
        chunk_size: 64 << 10,
        ..SyncConfig::new(&proxy.base, public)
    })
    .unwrap();
    let slow_events = Arc::new(Recorder::default());
    slow.set_listener(Some(slow_events.clone()));

    let started = Instant::now();
    let budget = SyncBudget {
        max_wall: Duration::from_secs(2),
        ..NOW
    };
    let first = slow.sync(&device, budget).await.unwrap();
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "returned after {took:?}"
    );
    assert_eq!(first.paused, vec![id], "{first:?}");

    // What the server kept of the cut PATCH is where the next sync starts.
    // Bytes already in the phone's socket buffer still trickle out after the cut (as on a
    // real link); wait until the server's offset settles.
    let mut kept = server_offset(&data, id);
    let mut still = 0;
    while still < 15 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = server_offset(&data, id);
        still = if now == kept { still + 1 } else { 0 };
        kept = now;
    }
    assert!(
        kept > 0,
        "the server kept the bytes that arrived before the cut"
    );
    let fast = Syncer::new(SyncConfig {
        chunk_size: 16 << 10,
        ..SyncConfig::new(&server.base, public)
    })
    .unwrap();
    let events = Arc::new(Recorder::default());
    fast.set_listener(Some(events.clone()));
    let second = fast.sync(&device, NOW).await.unwrap();
    assert_eq!(second.delivered, vec![id], "{second:?}");
    assert_eq!(
        second.bytes_sent,
        size - kept,
        "continued from the server's offset"
    );
    println!("2G, 2 s budget: returned after {took:?}; the server kept {kept} of {size} bytes");
    server.stop().await;

    // The outbox heard: uploading (first sync), the server's offsets rising from what it
    // kept to the end, delivered.
    assert_eq!(
        slow_events.states.lock().unwrap().as_slice(),
        [(id, State::Uploading)]
    );
    let progress = events.progress.lock().unwrap().clone();
    assert_eq!(progress.first().map(|p| p.2), Some(kept));
    assert_eq!(progress.last().map(|p| p.2), Some(size));
    assert!(progress.windows(2).all(|w| w[0].2 <= w[1].2));
    assert!(progress.iter().all(|p| p.0 == id && p.3 == size));
    assert_eq!(
        events.states.lock().unwrap().as_slice(),
        [(id, State::Delivered)]
    );
}

/// The intake server's recorded offset for a report's unfinished upload.
fn server_offset(data: &Path, report: Uuid) -> u64 {
    let db = rusqlite::Connection::open(data.join("intake.sqlite3")).unwrap();
    db.query_row(
        "SELECT upload_offset FROM uploads WHERE report_id = ?1",
        [report.to_string()],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_slow_sync_at_once_and_at_most_two_reports_are_in_flight() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = Arc::new(phone(tmp.path(), &org.recipient));
    // In the order they were submitted (ids are random: they say nothing about it).
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(submit(&device, "orientation/portrait_1.jpg").await);
    }
    let (pkcs8, public) = server_key();
    let server = Server::start(&tmp.path().join("intake"), &pkcs8, IntakeConfig::default()).await;
    let proxy = FaultyProxy::start(
        &server.base,
        Network {
            upload_rate: Some(TWO_G),
            ..Network::clean()
        },
    )
    .await;
    let syncer = Arc::new(Syncer::new(SyncConfig::new(&proxy.base, public)).unwrap());
    let recorder = Arc::new(Recorder::default());
    syncer.set_listener(Some(recorder.clone()));
    let running = {
        let (syncer, device) = (syncer.clone(), device.clone());
        tokio::spawn(async move { syncer.sync(&device, NOW).await })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let cancelled_at = Instant::now();
    syncer.cancel();
    let summary = running.await.unwrap().unwrap();
    assert!(cancelled_at.elapsed() < Duration::from_millis(300));
    assert!(summary.delivered.is_empty());
    let mut started: Vec<Uuid> = recorder
        .states
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.1 == State::Uploading)
        .map(|s| s.0)
        .collect();
    started.sort();
    let mut oldest: Vec<Uuid> = ids.iter().take(2).copied().collect();
    oldest.sort();
    assert_eq!(started, oldest, "two reports in flight, oldest first");
    assert_eq!(summary.paused.len(), 2, "{summary:?}");
    server.stop().await;
}
