//! The offline queue: every report's state in one SQLite file, so a report the reporter submitted
//! reaches the organisation whatever happens to the app (kills, reboots, full disks).
//!
//! States: `draft → sealed → uploading → delivered → purged`, plus `rejected` (the server refused
//! it; the reason is kept and shown) and `uploaded_unconfirmed` (a third-party tus server gave no
//! receipt). Every transition is one transaction, checked against [`State::can_become`]: the one
//! place the allowed transitions live.
//!
//! Durability: WAL with `synchronous = FULL`, so a transaction that returned survives power loss,
//! not only a process kill. The ciphertext file is fsynced and renamed (and its directory
//! fsynced) *before* its row says `sealed`, so a `sealed` row always has its whole file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::report::hex;

/// The schema, one entry per version; `PRAGMA user_version` says how many have been applied.
const MIGRATIONS: &[&str] = &[
    // 1: reports and their sync fields.
    "CREATE TABLE reports (
        id              TEXT PRIMARY KEY,
        state           TEXT NOT NULL,
        created_at_ms   INTEGER NOT NULL,
        bytes           INTEGER NOT NULL,
        ciphertext_sha256 TEXT,
        envelope_sig    TEXT,
        device_key      TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER,
        last_error      TEXT,
        upload_url      TEXT,
        upload_offset   INTEGER NOT NULL DEFAULT 0,
        receipt         TEXT,
        reject_reason   TEXT,
        problem         TEXT
    );
    CREATE INDEX reports_by_state ON reports (state, created_at_ms);",
    // 2: when each report last changed state, so the outbox can say "waiting since …".
    "ALTER TABLE reports ADD COLUMN updated_at_ms INTEGER;
    UPDATE reports SET updated_at_ms = created_at_ms;",
    // 3: a purged report leaves no row (ids, times and keys went with it from then on).
    "DELETE FROM reports WHERE state = 'purged';",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Draft,
    Sealed,
    Uploading,
    Delivered,
    Purged,
    Rejected,
    UploadedUnconfirmed,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Draft,
        State::Sealed,
        State::Uploading,
        State::Delivered,
        State::Purged,
        State::Rejected,
        State::UploadedUnconfirmed,
    ];

    /// The allowed transitions, all of them.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Draft, Sealed)
                | (Sealed, Uploading)
                | (Sealed, Rejected)
                // A failed attempt goes back to `sealed` to wait for its next try.
                | (Uploading, Sealed)
                | (Uploading, Delivered)
                | (Uploading, Rejected)
                | (Uploading, UploadedUnconfirmed)
                | (Delivered, Purged)
                | (UploadedUnconfirmed, Purged)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Sealed => "sealed",
            State::Uploading => "uploading",
            State::Delivered => "delivered",
            State::Purged => "purged",
            State::Rejected => "rejected",
            State::UploadedUnconfirmed => "uploaded_unconfirmed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = QueueError;

    fn from_str(s: &str) -> Result<Self, QueueError> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| QueueError::Corrupt(format!("unknown state {s:?}")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("report {0} is not in the queue")]
    NotFound(Uuid),
    #[error("report {id} cannot go from {from} to {to}")]
    IllegalTransition { id: Uuid, from: State, to: State },
    #[error("the queue database is damaged: {0}")]
    Corrupt(String),
    #[error("the queue database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// One row of the reporter's outbox, as the screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportStatus {
    pub id: Uuid,
    pub state: State,
    pub bytes: u64,
    pub created_at: OffsetDateTime,
    /// When it entered its current state.
    pub updated_at: OffsetDateTime,
    pub attempts: u32,
    /// Human-readable: what went wrong last time.
    pub last_error: Option<String>,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub reject_reason: Option<String>,
    /// Set by the recovery sweep when the row's file is missing or damaged (never dropped).
    pub problem: Option<String>,
}

/// What a sealed report's row holds about its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedFields {
    pub bytes: u64,
    pub ciphertext_sha256: [u8; 32],
    pub envelope_sig: String,
    pub device_key: String,
}

/// A report waiting to be uploaded, with what the sync engine needs to resume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    pub id: Uuid,
    pub state: State,
    pub bytes: u64,
    pub ciphertext_sha256: String,
    pub envelope_sig: String,
    pub device_key: String,
    pub attempts: u32,
    pub upload_url: Option<String>,
    pub upload_offset: u64,
}

/// A row as the recovery sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepRow {
    pub id: Uuid,
    pub state: State,
    pub bytes: u64,
    pub ciphertext_sha256: Option<String>,
}

pub struct Queue {
    conn: Connection,
    path: PathBuf,
}

impl Queue {
    /// Opens (or makes) the queue database and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, QueueError> {
        // Only the app may read it (SQLite gives its -wal and -shm files the same mode).
        make_private(path).map_err(|e| QueueError::Corrupt(format!("cannot open: {e}")))?;
        let mut conn = Connection::open(path)?;
        // Deleted rows are overwritten, not left readable in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn insert_draft(&self, id: Uuid, bytes: u64) -> Result<(), QueueError> {
        let now = now_ms();
        self.conn.execute(
            "INSERT INTO reports (id, state, created_at_ms, updated_at_ms, bytes) VALUES (?1, 'draft', ?2, ?2, ?3)",
            params![id.to_string(), now, bytes as i64],
        )?;
        Ok(())
    }

    /// `draft → sealed`, recording the ciphertext's fields (its file is already durable).
    pub fn mark_sealed(&mut self, id: Uuid, sealed: &SealedFields) -> Result<(), QueueError> {
        self.transition(id, State::Sealed, |tx| {
            tx.execute(
                "UPDATE reports SET bytes = ?2, ciphertext_sha256 = ?3, envelope_sig = ?4, device_key = ?5 WHERE id = ?1",
                params![
                    id.to_string(),
                    sealed.bytes as i64,
                    hex(&sealed.ciphertext_sha256),
                    sealed.envelope_sig,
                    sealed.device_key
                ],
            )?;
            Ok(())
        })
    }

    /// Any allowed transition, with `extra` run in the same transaction.
    pub fn transition(
        &mut self,
        id: Uuid,
        to: State,
        extra: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), QueueError>,
    ) -> Result<(), QueueError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from = current_state(&tx, id)?;
        if !from.can_become(to) {
            return Err(QueueError::IllegalTransition { id, from, to });
        }
        tx.execute(
            "UPDATE reports SET state = ?2, updated_at_ms = ?3 WHERE id = ?1",
            params![id.to_string(), to.as_str(), now_ms()],
        )?;
        extra(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes a draft's row (the reporter discarded it).
    pub fn delete_draft(&self, id: Uuid) -> Result<(), QueueError> {
        let n = self.conn.execute(
            "DELETE FROM reports WHERE id = ?1 AND state = 'draft'",
            [id.to_string()],
        )?;
        if n == 0 {
            return Err(QueueError::NotFound(id));
        }
        Ok(())
    }

    pub fn state(&self, id: Uuid) -> Result<State, QueueError> {
        current_state(&self.conn, id)
    }

    /// Every row, as the recovery sweep needs it.
    pub fn all_rows(&self) -> Result<Vec<SweepRow>, QueueError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, state, bytes, ciphertext_sha256 FROM reports")?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let (id, state): (String, String) = (r.get(0)?, r.get(1)?);
            out.push(SweepRow {
                id: parse_id(&id)?,
                state: state.parse()?,
                bytes: r.get::<_, i64>(2)?.max(0) as u64,
                ciphertext_sha256: r.get(3)?,
            });
        }
        Ok(out)
    }

    /// Sealed or uploading reports, oldest first, without a recovery problem; with
    /// `due_by`, only those whose next attempt time has come.
    pub fn pending_uploads(
        &self,
        due_by: Option<OffsetDateTime>,
    ) -> Result<Vec<PendingUpload>, QueueError> {
        let due = due_by
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
            .unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare(
            "SELECT id, state, bytes, ciphertext_sha256, envelope_sig, device_key, attempts, upload_url, upload_offset
             FROM reports
             WHERE state IN ('sealed', 'uploading') AND problem IS NULL
               AND (next_attempt_ms IS NULL OR next_attempt_ms <= ?1)
             ORDER BY created_at_ms, rowid",
        )?;
        let mut rows = stmt.query([due])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let (id, state): (String, String) = (r.get(0)?, r.get(1)?);
            out.push(PendingUpload {
                id: parse_id(&id)?,
                state: state.parse()?,
                bytes: r.get::<_, i64>(2)?.max(0) as u64,
                ciphertext_sha256: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                envelope_sig: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                device_key: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                attempts: r.get::<_, i64>(6)?.max(0) as u32,
                upload_url: r.get(7)?,
                upload_offset: r.get::<_, i64>(8)?.max(0) as u64,
            });
        }
        Ok(out)
    }

    /// Records where an upload lives and how far it got, before the next PATCH is sent.
    pub fn set_upload_progress(
        &self,
        id: Uuid,
        url: Option<&str>,
        offset: u64,
    ) -> Result<(), QueueError> {
        self.conn.execute(
            "UPDATE reports SET upload_url = ?2, upload_offset = ?3 WHERE id = ?1",
            params![id.to_string(), url, offset as i64],
        )?;
        Ok(())
    }

    /// `uploading → sealed` after a failed attempt: counted, explained, and when to try again.
    pub fn record_failure(
        &mut self,
        id: Uuid,
        error: &str,
        next_attempt: OffsetDateTime,
    ) -> Result<(), QueueError> {
        let next = (next_attempt.unix_timestamp_nanos() / 1_000_000) as i64;
        self.transition(id, State::Sealed, |tx| {
            tx.execute(
                "UPDATE reports SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3 WHERE id = ?1",
                params![id.to_string(), error, next],
            )?;
            Ok(())
        })
    }

    /// `uploading → delivered | uploaded_unconfirmed | rejected`, with the receipt or the reason.
    pub fn finish_upload(
        &mut self,
        id: Uuid,
        to: State,
        receipt_or_reason: Option<&str>,
    ) -> Result<(), QueueError> {
        self.transition(id, to, |tx| {
            let column = if to == State::Rejected { "reject_reason" } else { "receipt" };
            tx.execute(
                &format!("UPDATE reports SET {column} = ?2, last_error = NULL, next_attempt_ms = NULL WHERE id = ?1"),
                params![id.to_string(), receipt_or_reason],
            )?;
            Ok(())
        })
    }

    /// Flags a row the recovery sweep found wrong (kept, shown, never silently dropped).
    pub fn flag(&self, id: Uuid, problem: &str) -> Result<(), QueueError> {
        self.conn.execute(
            "UPDATE reports SET problem = ?2 WHERE id = ?1",
            params![id.to_string(), problem],
        )?;
        Ok(())
    }

    /// The outbox, oldest first, purged reports left out.
    pub fn reports(&self) -> Result<Vec<ReportStatus>, QueueError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, state, bytes, created_at_ms, updated_at_ms, attempts, last_error,
                    next_attempt_ms, reject_reason, problem
             FROM reports WHERE state != 'purged' ORDER BY created_at_ms, rowid",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let state: String = r.get(1)?;
            let created: i64 = r.get(3)?;
            out.push(ReportStatus {
                id: parse_id(&id)?,
                state: state.parse()?,
                bytes: r.get::<_, i64>(2)?.max(0) as u64,
                created_at: from_ms(created),
                updated_at: from_ms(r.get::<_, Option<i64>>(4)?.unwrap_or(created)),
                attempts: r.get::<_, i64>(5)?.max(0) as u32,
                last_error: r.get(6)?,
                next_attempt_at: r.get::<_, Option<i64>>(7)?.map(from_ms),
                reject_reason: r.get(8)?,
                problem: r.get(9)?,
            });
        }
        Ok(out)
    }

    /// The server's signed receipt (JSON) for a delivered report.
    pub fn receipt(&self, id: Uuid) -> Result<Option<String>, QueueError> {
        Ok(self
            .conn
            .query_row(
                "SELECT receipt FROM reports WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Count and total bytes per state.
    pub fn totals(&self) -> Result<BTreeMap<State, (u64, u64)>, QueueError> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, COUNT(*), SUM(bytes) FROM reports GROUP BY state")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (state, count, bytes) = row?;
            out.insert(state.parse()?, (count as u64, bytes.max(0) as u64));
        }
        Ok(out)
    }

    /// Bytes the queue holds on disk (drafts and ciphertexts not yet delivered).
    pub fn stored_bytes(&self) -> Result<u64, QueueError> {
        let total: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(bytes), 0) FROM reports WHERE state IN ('draft', 'sealed', 'uploading')",
            [],
            |r| r.get(0),
        )?;
        Ok(total.max(0) as u64)
    }

    /// `PRAGMA integrity_check` = "ok".
    pub fn integrity_ok(&self) -> Result<bool, QueueError> {
        let result: String = self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(result == "ok")
    }
}

fn parse_id(id: &str) -> Result<Uuid, QueueError> {
    id.parse()
        .map_err(|_| QueueError::Corrupt(format!("bad id {id:?}")))
}

fn current_state(conn: &Connection, id: Uuid) -> Result<State, QueueError> {
    let state: String = conn
        .query_row(
            "SELECT state FROM reports WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(QueueError::NotFound(id))?;
    state.parse()
}

/// Creates the database file 0600, or makes an existing one so.
fn make_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        options.open(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    options.open(path)?;
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<(), QueueError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(QueueError::Corrupt(format!(
            "schema version {version} is newer than this app ({known})"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed() -> SealedFields {
        SealedFields {
            bytes: 1234,
            ciphertext_sha256: [9; 32],
            envelope_sig: "sig".into(),
            device_key: "key".into(),
        }
    }

    #[test]
    fn only_allowed_transitions_happen() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(&dir.path().join("queue.sqlite3")).unwrap();
        let id = Uuid::now_v7();
        q.insert_draft(id, 100).unwrap();
        let err = q.transition(id, State::Delivered, |_| Ok(())).unwrap_err();
        assert!(matches!(
            err,
            QueueError::IllegalTransition {
                from: State::Draft,
                to: State::Delivered,
                ..
            }
        ));
        assert_eq!(
            q.state(id).unwrap(),
            State::Draft,
            "a refused transition changes nothing"
        );
        q.mark_sealed(id, &sealed()).unwrap();
        for (to, ok) in [
            (State::Draft, false),
            (State::Uploading, true),
            (State::Delivered, true),
            (State::Uploading, false),
            (State::Purged, true),
        ] {
            assert_eq!(q.transition(id, to, |_| Ok(())).is_ok(), ok, "→ {to}");
        }
        assert!(
            q.reports().unwrap().is_empty(),
            "purged reports leave the outbox"
        );
    }

    #[test]
    fn every_pair_of_states_is_decided_in_one_place() {
        let allowed: Vec<(State, State)> = State::ALL
            .iter()
            .flat_map(|a| State::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(allowed.len(), 9);
        assert!(
            !State::Delivered.can_become(State::Uploading),
            "delivered is never re-sent"
        );
        assert!(
            !State::Rejected.can_become(State::Sealed),
            "rejected is not retried"
        );
    }

    #[test]
    fn the_outbox_lists_and_totals_honestly() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Queue::open(&dir.path().join("queue.sqlite3")).unwrap();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        q.insert_draft(a, 10).unwrap();
        q.insert_draft(b, 20).unwrap();
        q.mark_sealed(b, &sealed()).unwrap();
        q.transition(b, State::Uploading, |_| Ok(())).unwrap();
        q.transition(b, State::Rejected, |tx| {
            tx.execute(
                "UPDATE reports SET reject_reason = 'photo too large' WHERE id = ?1",
                [b.to_string()],
            )?;
            Ok(())
        })
        .unwrap();
        let list = q.reports().unwrap();
        assert_eq!(
            list.iter().map(|r| (r.id, r.state)).collect::<Vec<_>>(),
            vec![(a, State::Draft), (b, State::Rejected)]
        );
        assert_eq!(list[1].reject_reason.as_deref(), Some("photo too large"));
        let totals = q.totals().unwrap();
        assert_eq!(totals[&State::Draft], (1, 10));
        assert_eq!(totals[&State::Rejected], (1, 1234));
        assert_eq!(q.stored_bytes().unwrap(), 10);
    }

    #[test]
    fn reopening_keeps_everything_and_a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.sqlite3");
        let id = Uuid::now_v7();
        Queue::open(&path).unwrap().insert_draft(id, 5).unwrap();
        let q = Queue::open(&path).unwrap();
        assert_eq!(q.state(id).unwrap(), State::Draft);
        assert!(q.integrity_ok().unwrap());
        q.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(q);
        assert!(matches!(Queue::open(&path), Err(QueueError::Corrupt(_))));
    }
}
