//! The SQLite store's schema, one step per version (applied by `sighting_core::sqlite::migrate`),
//! and the adoption of databases made before versions were recorded.

use rusqlite::Connection;

use super::StoreError;

/// The schema, one step per version (see `sighting_core::sqlite`).
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: uploads, finished or not.
    "CREATE TABLE uploads (
        id TEXT PRIMARY KEY,
        report_id TEXT NOT NULL UNIQUE,
        device_key TEXT NOT NULL,
        ciphertext_sha256 TEXT NOT NULL,
        envelope_sig TEXT NOT NULL,
        length INTEGER NOT NULL,
        upload_offset INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        receipt TEXT,
        received_at INTEGER
    )",
    // 2: the phone's clock at creation, for the desk's clock correction.
    "ALTER TABLE uploads ADD COLUMN device_clock TEXT",
    // 3: the server's time at creation (Unix ms), the other half of that pair.
    "ALTER TABLE uploads ADD COLUMN created_at_ms INTEGER NOT NULL DEFAULT 0",
    // 4: when `prune` deleted a finished report's ciphertext (its row and receipt stay).
    "ALTER TABLE uploads ADD COLUMN pruned_at INTEGER",
    // 5: the order reports finished in, the desk's cursor when it pulls new ones (creation
    // order would miss a report created early and finished late).
    "ALTER TABLE uploads ADD COLUMN finished_seq INTEGER;
    UPDATE uploads SET finished_seq = rowid WHERE receipt IS NOT NULL;
    CREATE UNIQUE INDEX uploads_by_finished_seq ON uploads (finished_seq);",
    // 6: the bulletin feed held now (at most one), its files replaced all at once.
    "CREATE TABLE bulletin_feed (
        one     INTEGER PRIMARY KEY CHECK (one = 1),
        version INTEGER NOT NULL
    );
    CREATE TABLE bulletin_files (
        name  TEXT PRIMARY KEY,
        bytes BLOB NOT NULL
    );",
    // 7: the quota's sum reads only the reports still kept, however many were pruned.
    // (`pruned_at` in it too, or SQLite reads each row to check it.)
    "CREATE INDEX uploads_unpruned ON uploads (length, pruned_at) WHERE pruned_at IS NULL",
];

/// Databases made before the schema was versioned (`user_version` 0 with an `uploads` table)
/// gained migrations 2–4 in order, by adding whichever columns were missing: their version is
/// 1 plus the number of those columns they have.
pub(super) fn adopt_unversioned(conn: &Connection) -> Result<(), StoreError> {
    let has_table = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'uploads'")?
        .exists([])?;
    if sighting_core::sqlite::version(conn)? != 0 || !has_table {
        return Ok(());
    }
    let added: i64 = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('uploads')
         WHERE name IN ('device_clock', 'created_at_ms', 'pruned_at')",
        [],
        |r| r.get(0),
    )?;
    conn.pragma_update(None, "user_version", 1 + added)?;
    Ok(())
}
