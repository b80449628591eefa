//! The SQLite store against real database files: adoption of an old database, damaged rows, a
//! busy connection.

use rusqlite::{params, Connection};
use uuid::Uuid;

use super::schema::MIGRATIONS;
use super::*;

fn upload(report_id: Uuid) -> Upload {
    Upload {
        id: Uuid::new_v4(),
        report_id,
        device_key: "key".into(),
        ciphertext_sha256: "00".repeat(32),
        envelope_sig: "sig".into(),
        length: 10,
        offset: 0,
        expires_at: 0,
        receipt: None,
        device_clock: Some("00ff10a2b3c4d5e6 5".parse().unwrap()),
        created_at_ms: 1,
    }
}

/// A database made before versions were recorded, by a release that had added two of the
/// later columns: adopted at version 3, then migrated to the last one, rows intact.
#[tokio::test]
async fn an_unversioned_database_is_adopted_then_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let conn = Connection::open(dir.path().join("intake.sqlite3")).unwrap();
    conn.execute_batch(MIGRATIONS[0]).unwrap();
    conn.execute_batch(MIGRATIONS[1]).unwrap();
    conn.execute_batch(MIGRATIONS[2]).unwrap();
    let id = Uuid::new_v4();
    conn.execute(
        "INSERT INTO uploads (id, report_id, device_key, ciphertext_sha256, envelope_sig, length,
                              upload_offset, expires_at, created_at_ms)
         VALUES (?1, ?2, 'k', 's', 'g', 10, 0, 0, 7)",
        params![id.to_string(), Uuid::new_v4().to_string()],
    )
    .unwrap();
    assert_eq!(sighting_core::sqlite::version(&conn).unwrap(), 0);
    drop(conn);
    std::fs::create_dir_all(dir.path().join("uploads")).unwrap();
    std::fs::write(dir.path().join("uploads").join(id.to_string()), b"").unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(
        sighting_core::sqlite::version(&store.files().conn().unwrap()).unwrap(),
        MIGRATIONS.len() as i64
    );
    let kept = store.get(id).await.unwrap().expect("the row survives");
    assert_eq!(kept.created_at_ms, 7);
    assert_eq!(
        store.reserved_bytes().await.unwrap(),
        10,
        "pruned_at was added, empty"
    );
}

#[tokio::test]
async fn a_damaged_row_is_an_error_not_a_missing_upload() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let report = Uuid::new_v4();
    store.create(&upload(report)).await.unwrap();
    assert_eq!(
        store.by_report(report).await.unwrap().unwrap().report_id,
        report
    );
    store
        .files()
        .conn()
        .unwrap()
        .execute("UPDATE uploads SET id = 'not-a-uuid'", [])
        .unwrap();
    assert!(matches!(
        store.by_report(report).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.expire(i64::MAX).await,
        Err(StoreError::Corrupt(_))
    ));
    store
        .files()
        .conn()
        .unwrap()
        .execute("UPDATE uploads SET device_clock = 'yesterday'", [])
        .unwrap();
    assert!(matches!(
        store.by_report(report).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// A lookup while a long statement holds the connection (a bulletin feed being stored) waits
/// on a blocking thread, not on the async worker: other tasks on that worker keep running.
#[tokio::test(flavor = "current_thread")]
async fn a_lookup_never_blocks_the_async_worker_on_a_busy_connection() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let created = store.create(&upload(Uuid::new_v4())).await.unwrap();

    let (held, release) = (
        std::sync::Arc::new(std::sync::Barrier::new(2)),
        std::time::Duration::from_millis(300),
    );
    let holder = {
        let (store, held) = (store.clone(), held.clone());
        std::thread::spawn(move || {
            let _conn = store.files().conn().unwrap();
            held.wait();
            std::thread::sleep(release);
        })
    };
    held.wait();
    let ticked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = tokio::spawn({
        let ticked = ticked.clone();
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            ticked.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let found = store.get(created.id).await.unwrap().unwrap();
    assert_eq!(found.id, created.id);
    assert!(
        ticked.load(std::sync::atomic::Ordering::SeqCst),
        "the worker was blocked while the connection was busy"
    );
    ticker.await.unwrap();
    holder.join().unwrap();
}

/// The quota's sum runs on every new upload when a quota is set: it reads the index of the
/// reports still kept, not every row the intake ever had.
#[tokio::test]
async fn the_quota_sum_reads_only_the_reports_still_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let plan: Vec<String> = store
        .files()
        .conn()
        .unwrap()
        .prepare(&format!("EXPLAIN QUERY PLAN {}", sqlite::RESERVED_BYTES))
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(plan, ["SCAN uploads USING COVERING INDEX uploads_unpruned"]);
}
