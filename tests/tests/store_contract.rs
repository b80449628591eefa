//! One contract per storage trait (tus steps, admission, the desk's feed, bulletins), each run
//! against every store: the SQLite store, the
//! shared store with its bytes in a local directory, and the shared store on versitygw (a real
//! S3 server) with a real PostgreSQL. Then what only a store shared by nodes must hold, with
//! two shared stores (two nodes) on one database and bucket.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::ObjectStore;
use sighting_intake::store::{
    objects_at, RateLimit, SharedStore, SharedStoreConfig, StoreError, TusUploads, Upload,
    UploadStore,
};
use test_support::engines::{shared_store, Postgres, Versitygw};
use test_support::tls::test_ca;
use uuid::Uuid;

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

fn upload_of(bytes: &[u8], expires_at: i64) -> Upload {
    Upload {
        id: Uuid::new_v4(),
        report_id: Uuid::new_v4(),
        device_key: "device".into(),
        ciphertext_sha256: sighting_core::wire::hex::encode(&sha256(bytes)),
        envelope_sig: "sig".into(),
        length: bytes.len() as u64,
        offset: 0,
        expires_at,
        receipt: None,
        device_clock: Some("00ff10a2b3c4d5e6 5".parse().unwrap()),
        created_at_ms: 1_700_000_000_000,
    }
}

fn receipt(report_id: Uuid, n: u8) -> String {
    serde_json::json!({
        "report_id": report_id,
        "ciphertext_sha256": "00".repeat(32),
        "received_at": format!("2026-11-29T12:00:0{n}Z"),
        "server_key": "key",
        "sig": format!("sig{n}"),
    })
    .to_string()
}

/// Appends `bytes` at `at` in pieces of `piece` bytes and acknowledges them.
async fn append(store: &dyn UploadStore, id: Uuid, at: u64, bytes: &[u8], piece: usize) {
    store.begin_append(id, at).await.unwrap();
    let mut end = at;
    for chunk in bytes.chunks(piece) {
        store.write(id, end, chunk.to_vec()).await.unwrap();
        end += chunk.len() as u64;
    }
    store.commit(id, at, end).await.unwrap();
}

fn far_future() -> i64 {
    i64::MAX / 2
}

/// The tus steps (`TusUploads`): creation, bytes acknowledged once, finishing, the checks'
/// refusals and expiry.
async fn tus_contract(store: &dyn UploadStore) {
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();

    // Creation is idempotent on the report id.
    let upload = upload_of(&body, far_future());
    assert_eq!(store.create(&upload).await.unwrap(), upload);
    let again = Upload {
        id: Uuid::new_v4(),
        ..upload.clone()
    };
    assert_eq!(store.create(&again).await.unwrap().id, upload.id);
    assert_eq!(store.get(again.id).await.unwrap(), None);
    assert_eq!(
        store.by_report(upload.report_id).await.unwrap(),
        Some(upload.clone())
    );

    // Bytes count once acknowledged, and only from the recorded offset.
    append(store, upload.id, 0, &body[..100_000], 30_000).await;
    assert_eq!(store.get(upload.id).await.unwrap().unwrap().offset, 100_000);
    assert!(matches!(
        store.begin_append(upload.id, 0).await,
        Err(StoreError::OffsetMismatch {
            expected: 0,
            actual: 100_000
        })
    ));
    assert!(matches!(
        store.commit(upload.id, 0, 50_000).await,
        Err(StoreError::OffsetMismatch { .. })
    ));
    // Written, then rolled back (a checksum that did not match): not part of the upload.
    store.begin_append(upload.id, 100_000).await.unwrap();
    store
        .write(upload.id, 100_000, vec![0xEE; 40_000])
        .await
        .unwrap();
    store.rollback(upload.id).await.unwrap();
    assert_eq!(store.get(upload.id).await.unwrap().unwrap().offset, 100_000);
    append(store, upload.id, 100_000, &body[100_000..], 64 << 10).await;

    // Assembled, hashed, then finished: the first receipt is kept.
    assert_eq!(
        store.assemble(upload.id).await.unwrap(),
        (body.len() as u64, sha256(&body))
    );
    let first = receipt(upload.report_id, 1);
    assert_eq!(store.complete(upload.id, &first).await.unwrap(), first);
    let second = receipt(upload.report_id, 2);
    assert_eq!(store.complete(upload.id, &second).await.unwrap(), first);
    assert!(
        !store.delete(upload.id).await.unwrap(),
        "a finished report is kept"
    );
    assert!(matches!(
        store
            .commit(upload.id, body.len() as u64, body.len() as u64 + 1)
            .await,
        Err(StoreError::OffsetMismatch { .. })
    ));

    // Bytes that fail the checks: assembled, found wrong, deleted whole.
    let liar = upload_of(b"what the envelope promised", far_future());
    store.create(&liar).await.unwrap();
    append(store, liar.id, 0, b"something else entirely!!", 10).await;
    let (_, sha) = store.assemble(liar.id).await.unwrap();
    assert_ne!(
        sighting_core::wire::hex::encode(&sha),
        liar.ciphertext_sha256
    );
    assert!(store.delete(liar.id).await.unwrap());
    assert!(!store.delete(liar.id).await.unwrap());
    assert_eq!(store.get(liar.id).await.unwrap(), None);

    // Expiry: each abandoned upload removed once, a live one left alone.
    let now = 1_800_000_000;
    let live = upload_of(b"live", now + 60);
    store.create(&live).await.unwrap();
    let mut abandoned = Vec::new();
    for _ in 0..6 {
        let u = upload_of(b"abandoned", now - 1);
        store.create(&u).await.unwrap();
        append(store, u.id, 0, b"aban", 4).await;
        abandoned.push(u.id);
    }
    let (a, b) = tokio::join!(store.expire(now), store.expire(now));
    let mut swept: Vec<Uuid> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    swept.sort();
    abandoned.sort();
    assert_eq!(swept, abandoned, "each abandoned upload swept exactly once");
    assert!(store.get(live.id).await.unwrap().is_some());
}

/// Finishes an upload of `body`: its report id and receipt.
async fn finished(store: &dyn UploadStore, body: &[u8]) -> (Uuid, String) {
    let upload = store.create(&upload_of(body, far_future())).await.unwrap();
    append(store, upload.id, 0, body, 64 << 10).await;
    assert_eq!(
        store.assemble(upload.id).await.unwrap(),
        (body.len() as u64, sha256(body))
    );
    let receipt = receipt(upload.report_id, 1);
    assert_eq!(store.complete(upload.id, &receipt).await.unwrap(), receipt);
    (upload.report_id, receipt)
}

/// The desk's feed (`DeskFeed`): a finished report listed once, its bytes as sent with the
/// intake record, pruned once and then gone, its receipt kept.
async fn desk_feed_contract(store: &dyn UploadStore) {
    let cursor = store
        .finished_after(0, 1000)
        .await
        .unwrap()
        .last()
        .map_or(0, |f| f.seq);
    let reserved = store.reserved_bytes().await.unwrap();
    let body: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (report_id, first) = finished(store, &body).await;
    let listed = store.finished_after(cursor, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].report_id, report_id);
    assert!(store
        .finished_after(listed[0].seq, 10)
        .await
        .unwrap()
        .is_empty());
    let kept = store.read_finished(report_id).await.unwrap().unwrap();
    assert!(kept.ciphertext == body, "the report is the bytes sent");
    let record: serde_json::Value = serde_json::from_slice(&kept.record).unwrap();
    assert_eq!(record["receipt"]["sig"], "sig1");
    assert_eq!(record["device_clock"], "00ff10a2b3c4d5e6 5");
    assert_eq!(
        store.reserved_bytes().await.unwrap(),
        reserved + body.len() as u64
    );

    // Pruned: the bytes go, the receipt stays.
    assert_eq!(
        store.prune(report_id).await.unwrap(),
        Some(body.len() as u64)
    );
    assert_eq!(store.prune(report_id).await.unwrap(), None);
    assert!(store.read_finished(report_id).await.unwrap().is_none());
    assert_eq!(
        store.by_report(report_id).await.unwrap().unwrap().receipt,
        Some(first)
    );
    assert_eq!(store.reserved_bytes().await.unwrap(), reserved);
    assert_eq!(store.prune(Uuid::new_v4()).await.unwrap(), None);
}

/// Admission (`Admission`): an upload reserves its whole length when created; the rate
/// limit gives a burst, then a wait.
async fn admission_contract(store: &dyn UploadStore) {
    let reserved = store.reserved_bytes().await.unwrap();
    let upload = upload_of(&[9; 12_345], far_future());
    store.create(&upload).await.unwrap();
    assert_eq!(store.reserved_bytes().await.unwrap(), reserved + 12_345);
    assert!(store.delete(upload.id).await.unwrap());
    assert_eq!(store.reserved_bytes().await.unwrap(), reserved);

    let limit = RateLimit {
        burst: 2,
        refill: Duration::from_secs(60),
    };
    assert!(store.take_upload_token("k", limit).await.unwrap().is_ok());
    assert!(store.take_upload_token("k", limit).await.unwrap().is_ok());
    let wait = store
        .take_upload_token("k", limit)
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
        "{wait:?}"
    );
    assert!(store
        .take_upload_token("other", limit)
        .await
        .unwrap()
        .is_ok());
}

/// The bulletin feed (`Bulletins`): replaced whole, never by an older one.
async fn bulletins_contract(store: &dyn UploadStore) {
    assert_eq!(store.bulletin_version().await.unwrap(), None);
    let feed = |v: &str| {
        vec![
            ("index.json".to_string(), v.as_bytes().to_vec()),
            ("tiles/a.json".to_string(), b"tile".to_vec()),
        ]
    };
    store.put_bulletins(2, feed("two")).await.unwrap();
    assert!(matches!(
        store.put_bulletins(2, feed("again")).await,
        Err(StoreError::StaleBulletins { held: 2 })
    ));
    store
        .put_bulletins(3, vec![("index.json".into(), b"three".to_vec())])
        .await
        .unwrap();
    assert_eq!(store.bulletin_version().await.unwrap(), Some(3));
    assert_eq!(
        store.bulletin_file("index.json").await.unwrap().unwrap(),
        b"three"
    );
    assert_eq!(store.bulletin_file("tiles/a.json").await.unwrap(), None);
}

/// Every trait's contract on one store.
async fn the_contract(store: &dyn UploadStore) {
    tus_contract(store).await;
    admission_contract(store).await;
    desk_feed_contract(store).await;
    bulletins_contract(store).await;
}

/// Uploads finishing at once are each listed once, in the order of their numbers. With
/// `requests` above one, every upload is also finished by that many requests at once (nodes
/// sharing a store: on one node the upload's claim lets one through), and all of them answer
/// with the one receipt kept.
async fn finishing_at_once(store: Arc<dyn UploadStore>, requests: u8) {
    let before = store.finished_after(0, 1000).await.unwrap();
    let cursor = before.last().map_or(0, |f| f.seq);
    let mut uploads = Vec::new();
    for n in 0..8u32 {
        let body: Vec<u8> = (0..1000 + n).map(|i| (i * 13 % 251) as u8).collect();
        let upload = store.create(&upload_of(&body, far_future())).await.unwrap();
        append(&*store, upload.id, 0, &body, 600).await;
        store.assemble(upload.id).await.unwrap();
        uploads.push(upload);
    }
    let mut finishing = Vec::new();
    for upload in &uploads {
        for n in 0..requests {
            let (store, upload) = (store.clone(), upload.clone());
            finishing.push(tokio::spawn(async move {
                let kept = store
                    .complete(upload.id, &receipt(upload.report_id, n))
                    .await
                    .unwrap();
                (upload.report_id, kept)
            }));
        }
    }
    let mut kept: std::collections::HashMap<Uuid, String> = Default::default();
    for done in finishing {
        let (report_id, receipt) = done.await.unwrap();
        let first = kept.entry(report_id).or_insert_with(|| receipt.clone());
        assert_eq!(*first, receipt, "one receipt for {report_id}");
    }
    let listed = store.finished_after(cursor, 1000).await.unwrap();
    let mut ids: Vec<Uuid> = listed.iter().map(|f| f.report_id).collect();
    assert!(listed.windows(2).all(|w| w[0].seq < w[1].seq));
    ids.sort();
    let mut expected: Vec<Uuid> = uploads.iter().map(|u| u.report_id).collect();
    expected.sort();
    assert_eq!(ids, expected, "each finished upload listed once");
}

/// Objects left under `pieces/`: none once every upload finished or went.
async fn pieces_left(objects: &dyn ObjectStore) -> usize {
    let prefix = object_store::path::Path::from("pieces");
    objects.list(Some(&prefix)).collect::<Vec<_>>().await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(sighting_intake::store::SqliteStore::open(dir.path()).unwrap());
    the_contract(&*store).await;
    finishing_at_once(store, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_store_keeps_the_contract_on_a_directory_and_on_s3() {
    let postgres = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let local = objects_at(&format!("file://{}", dir.path().display()), []).unwrap();
    let database = postgres.database().await;
    let store = Arc::new(shared_store(&database, local.clone()).await);
    the_contract(&*store).await;
    finishing_at_once(store.clone(), 3).await;
    assert_eq!(pieces_left(&*local).await, 0, "no piece left behind");

    // A damaged row is an error, not a missing upload (on SQLite: intake/src/store/tests.rs).
    let damaged = upload_of(b"damaged", far_future());
    store.create(&damaged).await.unwrap();
    let (sql, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    sql.execute(
        "UPDATE uploads SET device_clock = 'yesterday' WHERE id = $1",
        &[&damaged.id],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.by_report(damaged.report_id).await,
        Err(StoreError::Corrupt(_))
    ));

    let s3 = Versitygw::start();
    let bucket = s3.objects(&s3.bucket());
    let store = Arc::new(shared_store(&postgres.database().await, bucket.clone()).await);
    the_contract(&*store).await;
    finishing_at_once(store, 3).await;
    assert_eq!(pieces_left(&*bucket).await, 0, "no piece left behind");
}

async fn open_shared(spec: &str, ca_file: Option<&Path>) -> Result<SharedStore, StoreError> {
    let vars = ca_file
        .map(|f| vec![("SIGHTING_PG_CA_FILE".to_string(), f.display().to_string())])
        .unwrap_or_default();
    SharedStore::open(SharedStoreConfig::from_spec_with(spec, vars)?).await
}

/// With `sslmode=require` the shared store reaches PostgreSQL over TLS, its certificate
/// verified against the CA in `SIGHTING_PG_CA_FILE`: every connection the store holds is
/// encrypted, and a server whose certificate another CA issued (or none of the bundled roots)
/// is refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_store_reaches_postgres_over_verified_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (ca, _, cert, key) = test_ca();
    let postgres = Postgres::start_with_tls(&cert.pem(), &key.serialize_pem());
    let database = postgres.database().await;
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (dir.path().join("ca.pem"), dir.path().join("other-ca.pem"));
    std::fs::write(&ours, ca).unwrap();
    std::fs::write(&theirs, test_ca().0).unwrap();
    let spec = format!(
        "{database}?sslmode=require;file://{}",
        dir.path().join("objects").display()
    );

    let store = open_shared(&spec, Some(&ours)).await.unwrap();
    let body = b"over tls".to_vec();
    let upload = upload_of(&body, far_future());
    assert_eq!(store.create(&upload).await.unwrap(), upload);
    let (admin, connection) = tokio_postgres::connect(&database, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let sessions = admin
        .query_one(
            "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(
        sessions.get::<_, i64>(0) >= 1,
        "the store holds a connection"
    );
    assert_eq!(
        sessions.get::<_, Option<bool>>(1),
        Some(true),
        "all of them TLS"
    );

    for refused in [Some(theirs.as_path()), None] {
        let error = open_shared(&spec, refused).await.err().unwrap().to_string();
        assert!(error.contains("invalid peer certificate"), "{error}");
    }
}
