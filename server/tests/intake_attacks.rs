//! The intake server as an anonymous attacker meets it: stalled bodies, slow request heads
//! under a low descriptor limit, a race on completion, someone else's upload, a key of small
//! order, and a disk filled with junk from fresh keys. Where memory and descriptors matter the
//! real `sighting-server serve` runs as its own process, measured from /proc.

mod attack;

use std::path::Path;
use std::process::Command;

use attack::{junk, upload_url, upload_whole, ServerProcess, Store};
use reqwest::StatusCode;
use sighting_intake::store::TusUploads;
use sighting_intake::IntakeConfig;
use uuid::Uuid;

use support::engines::Shared;
use support::tus::{create, device_keys, head_offset, patch, receipt, report, Report};
use support::Server;
use test_support as support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_checksummed_bodies_are_kept_on_disk_not_in_memory_and_cut_when_idle() {
    let tmp = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(tmp.path(), Store::Sqlite, &["--body-idle-secs", "4"], None);
    let keys = device_keys(tmp.path());
    attack::stalled_checksummed_bodies(&server, &keys, (8, 24 << 20), 48).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_cut_and_uploads_complete_under_a_low_descriptor_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(
        tmp.path(),
        Store::Sqlite,
        &["--header-timeout-secs", "1"],
        Some(128),
    );
    attack::slow_request_heads(&mut server, &device_keys(tmp.path())).await;
}

/// A body that lies about its hash, or runs past its length, leaves nothing behind.
#[tokio::test]
async fn a_lying_or_overlong_body_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_default(&data).await;
    attack::lying_body(&server.base).await;
    attack::body_past_its_length(&server.base).await;
    server.stop().await;
    assert_eq!(std::fs::read_dir(data.join("reports")).unwrap().count(), 0);
}

/// Finishing is a rename here: many uploads finishing at once cost no memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_finishing_at_once_stay_out_of_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(tmp.path(), Store::Sqlite, &[], None);
    attack::finishing_at_once(&server, (12, 7 << 20), 48).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_stored_after_a_request_has_been_answered() {
    let tmp = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(tmp.path(), Store::Sqlite, &["--timeout-secs", "2"], None);
    attack::nothing_is_stored_after_the_answer(&server, &device_keys(tmp.path())).await;
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
    let victim = device_keys(&tmp.path().join("victim"));
    let attacker = device_keys(&tmp.path().join("attacker"));
    attack::someone_elses_upload(&server.base, &victim, &attacker).await;
    server.stop().await;
}

#[tokio::test]
async fn a_small_order_device_key_cannot_forge_an_envelope() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_default(&tmp.path().join("data")).await;
    attack::small_order_key(&server.base).await;
    assert_eq!(
        std::fs::read_dir(tmp.path().join("data/uploads"))
            .unwrap()
            .count(),
        0
    );
    server.stop().await;
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
    let base = server.base.clone();

    let (accepted, _) = attack::junk_until_full(&base, 150_000).await;
    assert_eq!(accepted, 6, "900 kB of junk + 100 kB reserved fill 1 MB");
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
    let empty = attack::empty_report(&server.base).await;
    server.stop().await;
    let store = sighting_intake::store::SqliteStore::open(&data).unwrap();
    assert_eq!(
        sighting_intake::store::TusUploads::by_report(&store, empty)
            .await
            .unwrap(),
        None
    );
    assert_eq!(std::fs::read_dir(data.join("reports")).unwrap().count(), 0);
}

/// Every attack above on the shared store, on one PostgreSQL and one S3 server (versitygw)
/// started once. What each must leave is looked for where the shared store keeps it: rows in
/// PostgreSQL, objects in the bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_store_withstands_the_same_attacks() {
    let mut shared = Shared::start().await;
    let sql = shared.sql().await;
    let tmp = tempfile::tempdir().unwrap();
    let keys = device_keys(tmp.path());
    let limits = [
        ["--body-idle-secs", "3"],
        ["--timeout-secs", "8"],
        ["--header-timeout-secs", "1"],
        ["--rate-burst", "1000"],
    ];
    let mut server = ServerProcess::start(
        tmp.path(),
        Store::Shared(&shared),
        limits.as_flattened(),
        Some(128),
    );
    let base = server.base();
    // Memory first: a later attack's peak would hide this one's.
    attack::finishing_at_once(&server, (12, 7 << 20), 48).await;
    // More stalled bodies than the node has PostgreSQL connections (16).
    attack::stalled_checksummed_bodies(&server, &keys, (20, 2 << 20), 48).await;
    assert_eq!(shared.files("pieces"), Vec::<std::path::PathBuf>::new());
    attack::slow_request_heads(&mut server, &keys).await;
    attack::nothing_is_stored_after_the_answer(&server, &keys).await;
    let (victim, attacker) = (tmp.path().join("victim"), tmp.path().join("attacker"));
    attack::someone_elses_upload(&base, &device_keys(&victim), &device_keys(&attacker)).await;
    attack::body_past_its_length(&base).await;
    let refused = [
        attack::small_order_key(&base).await,
        attack::empty_report(&base).await,
        attack::lying_body(&base).await,
    ];
    for id in refused {
        let rows = sql
            .query_one("SELECT count(*) FROM uploads WHERE report_id = $1", &[&id])
            .await
            .unwrap();
        assert_eq!(rows.get::<_, i64>(0), 0, "a row kept for a refused report");
        let object = format!("{id}.age");
        assert!(
            !shared.files("reports").iter().any(|p| p.ends_with(&object)),
            "an object kept for a refused report"
        );
    }
    // A slow drip keeps at most ceil(4096 / 64 KiB) + 64 = 65 pieces (objects and rows): the
    // trickled PATCH is one, 64 one-byte PATCHes more; the next is refused and all is dropped.
    let (url, accepted, refused) = attack::slow_drip(&server.addr, &keys, 100).await;
    let refused = refused.expect("a drip of 100 one-byte PATCHes was never refused");
    assert_eq!(accepted, 64);
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(refused.text().await.unwrap().contains("too_many_pieces"));
    let client = support::client();
    assert_eq!(head_offset(&client, &url).await.0, StatusCode::NOT_FOUND);
    let dripped = url.rsplit('/').next().unwrap();
    assert_eq!(shared.files(&format!("pieces/{dripped}")).len(), 0);
    attack::in_pieces_cut_and_resumed(&server.addr, &keys, 40_000).await;
    // Two uploads left half sent, for the bucket's outage below.
    let mut half_sent = Vec::new();
    for _ in 0..2 {
        let r = report(&keys, 100_000);
        let (url, _) = upload_url(&client, &base, &r).await;
        let sent = patch(&client, &url, 0, &r.bytes[..50_000], None).await;
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
        half_sent.push(url.rsplit('/').next().unwrap().parse::<Uuid>().unwrap());
    }
    drop(server);

    // The quota: 1 MB more than what the uploads above reserved.
    let reserved: i64 = sql
        .query_one(
            "SELECT COALESCE(SUM(length), 0)::bigint FROM uploads WHERE pruned_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let quota = (reserved + 1_000_000).to_string();
    let server = ServerProcess::start(
        tmp.path(),
        Store::Shared(&shared),
        &["--max-storage", &quota, "--rate-burst", "1000"],
        None,
    );
    let reports_before = shared.files("reports").len();
    let (accepted, _) = attack::junk_until_full(&server.base(), 150_000).await;
    assert_eq!(accepted, 6, "900 kB of junk + 100 kB reserved fill 1 MB");
    assert_eq!(
        shared.files("reports").len(),
        reports_before + accepted + 1,
        "everything received is kept"
    );
    // The only pieces left are the recorded ones of uploads still open (two above).
    let recorded: i64 = sql
        .query_one(
            "SELECT count(*) FROM pieces JOIN uploads ON id = upload_id WHERE receipt IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(shared.files("pieces").len() as i64, recorded);
    drop(server);

    // One half-sent upload expires and the other is terminated while the bucket is out of
    // reach: both fail, and the next sweep, the bucket back, removes both, objects and rows.
    let (expiring, terminated) = (half_sent[0], half_sent[1]);
    sql.execute(
        "UPDATE uploads SET expires_at = 0 WHERE id = $1",
        &[&expiring],
    )
    .await
    .unwrap();
    let store = shared.store().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    shared.s3.stop();
    assert!(store.delete(terminated).await.is_err());
    assert!(store.expire(now).await.is_err());
    shared.s3.restart();
    let mut swept = store.expire(now).await.unwrap();
    swept.sort();
    half_sent.sort();
    assert_eq!(swept, half_sent);
    for id in half_sent {
        assert_eq!(shared.files(&format!("pieces/{id}")).len(), 0, "orphaned");
        let rows = sql
            .query_one("SELECT count(*) FROM uploads WHERE id = $1", &[&id])
            .await
            .unwrap();
        assert_eq!(rows.get::<_, i64>(0), 0);
    }
}
