//! Kill -9 during sync: a child process syncing through a throttled link is killed at random
//! moments (20 trials, 200 with `cargo xtask test --long`); between kills the parent adds a
//! report. At the end one sync runs to completion: every report is on the server exactly once
//! and byte-identical, and every one is `delivered` on the phone with a receipt that verifies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sighting_core::capture::{CaptureRequest, Location, LocationMissing};
use sighting_core::device::{Device, DeviceConfig};
use sighting_core::handle::DeviceHandle;
use sighting_core::keys::FileKeyStore;
use sighting_core::queue::State;
use sighting_core::report::{CaptureClock, Details};
use sighting_core::sync::{SyncConfig, Syncer};
use sighting_core::wire::{hex, Receipt};
use sighting_desk::keygen;
use sighting_intake::IntakeConfig;
use uuid::Uuid;

use support::faulty_proxy::{FaultyProxy, Network};
use support::{fixture, server_key, Server, NOW};
use test_support as support;

const CHILD_DIR: &str = "SIGHTING_SYNC_CHILD_DIR";
const CHILD_URL: &str = "SIGHTING_SYNC_CHILD_URL";
const CHILD_KEY: &str = "SIGHTING_SYNC_CHILD_KEY";

fn open(dir: &Path) -> Device {
    let recipient = std::fs::read_to_string(dir.join("org/recipient.txt")).unwrap();
    let store = FileKeyStore::open(&dir.join("ks.key")).unwrap();
    let config = DeviceConfig::new(vec![recipient.trim().parse().unwrap()]);
    Device::open(&dir.join("device"), &store, config).unwrap()
}

fn add_report(dir: &Path, photo: &str) -> Uuid {
    let mut device = open(dir);
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let draft = device
        .capture(fixture(photo), &request, CaptureClock::now().unwrap())
        .unwrap();
    device.submit(draft.id, Details::default()).unwrap();
    draft.id
}

/// The child: syncs until nothing is left (or it is killed). Started by the parent only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by kill_9_during_sync_loses_nothing_and_delivers_nothing_twice"]
async fn sync_child() {
    let dir = PathBuf::from(std::env::var_os(CHILD_DIR).expect("started by the parent test"));
    let url = std::env::var(CHILD_URL).unwrap();
    let key = hex::decode(&std::env::var(CHILD_KEY).unwrap()).unwrap();
    let device = DeviceHandle::new(open(&dir)).unwrap();
    let syncer = Syncer::new(SyncConfig {
        chunk_size: 16 << 10,
        ..SyncConfig::new(url, key)
    })
    .unwrap();
    loop {
        syncer.sync(&device, NOW).await.unwrap();
        let left = device
            .call(|d| Ok(d.pending_uploads(None)?.len()))
            .await
            .unwrap();
        if left == 0 {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_sync_loses_nothing_and_delivers_nothing_twice() {
    let trials = if std::env::var_os("SIGHTING_LONG_TESTS").is_some() {
        200
    } else {
        20
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    keygen::keygen(&dir.join("org")).unwrap();
    let (pkcs8, public) = server_key();
    let data = dir.join("intake");
    let server = Server::start(&data, &pkcs8, IntakeConfig::default()).await;
    // ~400 KB/s: a report takes a few hundred ms, so many kills land mid-PATCH (the rest land
    // while the child starts or between reports, which must be safe too).
    let proxy = FaultyProxy::start(
        &server.base,
        Network {
            upload_rate: Some(400_000),
            ..Network::clean()
        },
    )
    .await;
    let mut sent: BTreeMap<Uuid, [u8; 32]> = BTreeMap::new();
    let photos = [
        "orientation/portrait_1.jpg",
        "Canon_40D.jpg",
        "gps/DSCN0010.jpg",
    ];
    let spawn_child = || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "sync_child", "--nocapture"])
            .env(CHILD_DIR, dir)
            .env(CHILD_URL, &proxy.base)
            .env(CHILD_KEY, hex::encode(&public))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut killed_mid_upload = 0;
    for trial in 0..trials {
        let id = add_report(dir, photos[trial % photos.len()]);
        let device = open(dir);
        let bytes = std::fs::read(device.sealed_report(id)).unwrap();
        let sha = ring::digest::digest(&ring::digest::SHA256, &bytes);
        sent.insert(id, sha.as_ref().try_into().unwrap());
        drop(device);

        let sent_before = proxy.upload_bytes();
        let mut child = spawn_child();
        // Every other kill comes at a random moment from the start (the child may still be
        // starting, or between reports); the others soon after it starts sending, so that many
        // land mid-PATCH whatever the machine's speed.
        let delay = if trial % 2 == 1 {
            let since = std::time::Instant::now();
            while proxy.upload_bytes() == sent_before && since.elapsed() < Duration::from_secs(5) {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            support::random_ms(1..300)
        } else {
            support::random_ms(50..1500)
        };
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let device = open(dir);
        killed_mid_upload += device
            .reports()
            .unwrap()
            .iter()
            .filter(|r| r.state == State::Uploading)
            .count()
            .min(1);
    }
    let status = spawn_child().wait().unwrap();
    assert!(status.success(), "the last sync failed");
    server.stop().await;

    // The server: exactly the submitted set, each once, byte-identical.
    let mut filed: BTreeMap<Uuid, [u8; 32]> = BTreeMap::new();
    for entry in std::fs::read_dir(data.join("reports")).unwrap() {
        let path = entry.unwrap().path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".age"))
        else {
            continue;
        };
        let sha = ring::digest::digest(&ring::digest::SHA256, &std::fs::read(&path).unwrap());
        let previous = filed.insert(id.parse().unwrap(), sha.as_ref().try_into().unwrap());
        assert!(previous.is_none());
    }
    assert_eq!(filed, sent);
    let db = rusqlite::Connection::open(data.join("intake.sqlite3")).unwrap();
    let uploads: i64 = db
        .query_row("SELECT COUNT(*) FROM uploads", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        uploads as usize,
        sent.len(),
        "one upload per report, none twice"
    );

    // The phone: every report delivered, each with a receipt that verifies.
    let device = open(dir);
    for r in device.reports().unwrap() {
        assert_eq!(r.state, State::Delivered, "{}", r.id);
        let receipt: Receipt =
            serde_json::from_str(&device.receipt(r.id).unwrap().expect("a receipt")).unwrap();
        receipt.verify(r.id, &sent[&r.id], &public).unwrap();
    }
    println!("{trials} kills, {killed_mid_upload} of them with a report mid-upload");
    assert!(killed_mid_upload >= trials / 10, "kills landed mid-upload");
}
