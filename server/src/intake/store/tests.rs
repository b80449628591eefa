//! The SQLite store against real database files: adoption of an old database, damaged rows.

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
