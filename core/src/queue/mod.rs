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

mod attempt;
mod schema;
mod state;

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::millis;
use crate::sqlite::MigrationError;
use crate::wire::hex;

pub use attempt::{AttemptError, AttemptFailure};
pub use state::State;

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

impl From<MigrationError> for QueueError {
    fn from(e: MigrationError) -> Self {
        match e {
            MigrationError::Sqlite(e) | MigrationError::Step { source: e, .. } => e.into(),
            newer @ MigrationError::Newer { .. } => QueueError::Corrupt(newer.to_string()),
        }
    }
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
    /// What went wrong in the last attempt, and that in words (for logs and support).
    pub last_error: Option<AttemptError>,
    pub last_error_detail: Option<String>,
    pub next_attempt_at: Option<OffsetDateTime>,
    pub reject_reason: Option<String>,
    /// Set by the recovery sweep when the row's file is missing or damaged (never dropped).
    pub problem: Option<String>,
}

/// What a sealed report's row holds about its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealedFields {
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
    pub ciphertext_sha256: [u8; 32],
    pub attempts: u32,
    pub upload_url: Option<String>,
    pub upload_offset: u64,
}

/// A row as the recovery sweep sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SweepRow {
    pub id: Uuid,
    pub state: State,
    pub bytes: u64,
    pub ciphertext_sha256: Option<String>,
}

/// The queue database. Crate-private: the device is the one owner of its rows and files, and
/// offers the operations (each a state change with its file work) that callers need.
pub(crate) struct Queue {
    conn: Connection,
}

impl Queue {
    /// Opens (or makes) the queue database and brings its schema up to date.
    pub(crate) fn open(path: &Path) -> Result<Self, QueueError> {
        // Only the app may read it (SQLite gives its -wal and -shm files the same mode).
        make_private(path).map_err(|e| QueueError::Corrupt(format!("cannot open: {e}")))?;
        let mut conn = Connection::open(path)?;
        // Deleted rows are overwritten, not left readable in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        crate::sqlite::migrate(&mut conn, schema::MIGRATIONS)?;
        Ok(Self { conn })
    }

    pub(crate) fn insert_draft(&self, id: Uuid, bytes: u64) -> Result<(), QueueError> {
        let now = now_ms();
        self.conn.execute(
            "INSERT INTO reports (id, state, created_at_ms, updated_at_ms, bytes) VALUES (?1, 'draft', ?2, ?2, ?3)",
            params![id.to_string(), now, bytes as i64],
        )?;
        Ok(())
    }

    /// `draft → sealed`, recording the ciphertext's fields (its file is already durable).
    pub(crate) fn mark_sealed(
        &mut self,
        id: Uuid,
        sealed: &SealedFields,
    ) -> Result<(), QueueError> {
        self.transition(id, State::Sealed, |tx| {
            tx.execute(
                "UPDATE reports SET bytes = ?2, ciphertext_sha256 = ?3, envelope_sig = ?4, device_key = ?5 WHERE id = ?1",
                params![
                    id.to_string(),
                    sealed.bytes as i64,
                    hex::encode(&sealed.ciphertext_sha256),
                    sealed.envelope_sig,
                    sealed.device_key
                ],
            )?;
            Ok(())
        })
    }

    /// Any allowed transition, with `extra` run in the same transaction.
    fn transition(
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
    pub(crate) fn delete_draft(&self, id: Uuid) -> Result<(), QueueError> {
        let n = self.conn.execute(
            "DELETE FROM reports WHERE id = ?1 AND state = 'draft'",
            [id.to_string()],
        )?;
        if n == 0 {
            return Err(QueueError::NotFound(id));
        }
        Ok(())
    }

    pub(crate) fn state(&self, id: Uuid) -> Result<State, QueueError> {
        current_state(&self.conn, id)
    }

    /// Every row, as the recovery sweep needs it.
    pub(crate) fn all_rows(&self) -> Result<Vec<SweepRow>, QueueError> {
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
    pub(crate) fn pending_uploads(
        &self,
        due_by: Option<OffsetDateTime>,
    ) -> Result<Vec<PendingUpload>, QueueError> {
        let due = due_by.map(millis::from_time).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare(
            "SELECT id, state, bytes, ciphertext_sha256, attempts, upload_url, upload_offset
             FROM reports
             WHERE state IN ('sealed', 'uploading') AND problem IS NULL
               AND (next_attempt_ms IS NULL OR next_attempt_ms <= ?1)
             ORDER BY created_at_ms, rowid",
        )?;
        let mut rows = stmt.query([due])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let (id, state): (String, String) = (r.get(0)?, r.get(1)?);
            let sha: Option<String> = r.get(3)?;
            out.push(PendingUpload {
                id: parse_id(&id)?,
                state: state.parse()?,
                bytes: r.get::<_, i64>(2)?.max(0) as u64,
                ciphertext_sha256: sha
                    .as_deref()
                    .and_then(hex::decode)
                    .ok_or_else(|| QueueError::Corrupt(format!("the hash of report {id}")))?,
                attempts: r.get::<_, i64>(4)?.max(0) as u32,
                upload_url: r.get(5)?,
                upload_offset: r.get::<_, i64>(6)?.max(0) as u64,
            });
        }
        Ok(out)
    }

    /// Records where an upload lives and how far it got, before the next PATCH is sent.
    pub(crate) fn set_upload_progress(
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

    /// `sealed → uploading`; a report already uploading (a paused attempt) stays so.
    pub(crate) fn begin_upload(&mut self, id: Uuid) -> Result<(), QueueError> {
        if self.state(id)? == State::Uploading {
            return Ok(());
        }
        self.transition(id, State::Uploading, |_| Ok(()))
    }

    /// The envelope a sealed report's row holds: device key, envelope signature (base64) and
    /// the ciphertext's SHA-256 (hex).
    pub(crate) fn envelope_fields(&self, id: Uuid) -> Result<[String; 3], QueueError> {
        let fields = self
            .conn
            .query_row(
                "SELECT device_key, envelope_sig, ciphertext_sha256 FROM reports WHERE id = ?1",
                [id.to_string()],
                |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?]),
            )
            .optional()?
            .ok_or(QueueError::NotFound(id))?;
        match fields {
            [Some(key), Some(sig), Some(sha)] => Ok([key, sig, sha]),
            _ => Err(QueueError::Corrupt(format!("report {id} has no envelope"))),
        }
    }

    /// `uploading → sealed` after a failed attempt: counted, explained, and when to try again.
    pub(crate) fn record_failure(
        &mut self,
        id: Uuid,
        failure: &AttemptFailure,
        next_attempt: OffsetDateTime,
    ) -> Result<(), QueueError> {
        let (kind, status) = failure.error.to_columns();
        self.transition(id, State::Sealed, |tx| {
            tx.execute(
                "UPDATE reports SET attempts = attempts + 1, last_error = ?2, last_error_kind = ?3,
                        last_error_status = ?4, next_attempt_ms = ?5 WHERE id = ?1",
                params![
                    id.to_string(),
                    failure.detail,
                    kind,
                    status,
                    millis::from_time(next_attempt)
                ],
            )?;
            Ok(())
        })
    }

    /// `uploading → delivered | uploaded_unconfirmed | rejected`, with the receipt or the reason.
    pub(crate) fn finish_upload(
        &mut self,
        id: Uuid,
        to: State,
        receipt_or_reason: Option<&str>,
    ) -> Result<(), QueueError> {
        self.transition(id, to, |tx| {
            let column = if to == State::Rejected {
                "reject_reason"
            } else {
                "receipt"
            };
            tx.execute(
                &format!(
                    "UPDATE reports SET {column} = ?2, last_error = NULL, last_error_kind = NULL,
                          last_error_status = NULL, next_attempt_ms = NULL WHERE id = ?1"
                ),
                params![id.to_string(), receipt_or_reason],
            )?;
            Ok(())
        })
    }

    /// Flags a row the recovery sweep found wrong (kept, shown, never silently dropped).
    pub(crate) fn flag(&self, id: Uuid, problem: &str) -> Result<(), QueueError> {
        self.conn.execute(
            "UPDATE reports SET problem = ?2 WHERE id = ?1",
            params![id.to_string(), problem],
        )?;
        Ok(())
    }

    /// The outbox, oldest first, purged reports left out.
    pub(crate) fn reports(&self) -> Result<Vec<ReportStatus>, QueueError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, state, bytes, created_at_ms, updated_at_ms, attempts, last_error,
                    next_attempt_ms, reject_reason, problem, last_error_kind, last_error_status
             FROM reports WHERE state != 'purged' ORDER BY created_at_ms, rowid",
        )?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let state: String = r.get(1)?;
            let created: i64 = r.get(3)?;
            let kind: Option<String> = r.get(10)?;
            out.push(ReportStatus {
                id: parse_id(&id)?,
                state: state.parse()?,
                bytes: r.get::<_, i64>(2)?.max(0) as u64,
                created_at: from_ms(created)?,
                updated_at: from_ms(r.get::<_, Option<i64>>(4)?.unwrap_or(created))?,
                attempts: r.get::<_, i64>(5)?.max(0) as u32,
                last_error: kind
                    .map(|k| AttemptError::from_columns(&k, r.get(11)?))
                    .transpose()?,
                last_error_detail: r.get(6)?,
                next_attempt_at: r.get::<_, Option<i64>>(7)?.map(from_ms).transpose()?,
                reject_reason: r.get(8)?,
                problem: r.get(9)?,
            });
        }
        Ok(out)
    }

    /// The server's signed receipt (JSON) for a delivered report.
    pub(crate) fn receipt(&self, id: Uuid) -> Result<Option<String>, QueueError> {
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
    pub(crate) fn totals(&self) -> Result<BTreeMap<State, (u64, u64)>, QueueError> {
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
    pub(crate) fn stored_bytes(&self) -> Result<u64, QueueError> {
        let total: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(bytes), 0) FROM reports WHERE state IN ('draft', 'sealed', 'uploading')",
            [],
            |r| r.get(0),
        )?;
        Ok(total.max(0) as u64)
    }

    /// Deletes a delivered (or unconfirmed) report's row; with `secure_delete` on, its bytes
    /// are overwritten too.
    pub(crate) fn purge(&mut self, id: Uuid) -> Result<(), QueueError> {
        self.transition(id, State::Purged, |tx| {
            tx.execute("DELETE FROM reports WHERE id = ?1", [id.to_string()])?;
            Ok(())
        })
    }

    /// `PRAGMA integrity_check` = "ok".
    pub(crate) fn integrity_ok(&self) -> Result<bool, QueueError> {
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

fn now_ms() -> i64 {
    millis::now()
}

fn from_ms(ms: i64) -> Result<OffsetDateTime, QueueError> {
    millis::to_time(ms).ok_or_else(|| QueueError::Corrupt(format!("the time {ms}")))
}

#[cfg(test)]
mod tests;
