//! The desk's own state, `STATE/desk.sqlite3` (0600): every sighting's triage, reviewer notes
//! and assignment, the reviewers and their sessions ([`accounts`]), and an append-only audit log
//! of every change (who, when, from → to). SQLite refuses any UPDATE or DELETE of an audit row
//! (triggers), so not even a bug in the app can rewrite history.
//!
//! Two reviewers changing one sighting at once: each change names the version it was made
//! from; the second gets [`StateError::Conflict`] with the current version, never a silent
//! overwrite.

pub mod accounts;
mod audit_log;
pub mod cases;
pub mod contact;
pub mod decisions;
mod gate;
pub mod links;
pub mod people;
pub mod reports;
mod schema;
pub mod search;
pub mod tokens;
pub mod triage;
mod upkeep;
mod versioned;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use sighting_core::millis;

use audit_log::AuditLine;
use versioned::Versioned;

pub use accounts::{Reviewer, Role, Session};
pub use audit_log::{AuditEntry, AuditFilter, MAX_AUDIT_PAGE};
pub use cases::{CaseDetails, CaseError, CaseRow, Publication};
pub use decisions::{Decision, DecisionRow};
pub use gate::{GateItem, PUBLISHED_FIELDS};
pub use links::{LeadGate, LinkError, LinkReview};
pub use people::Account;
pub use reports::{FailureReason, MapPoint, ReportId};
pub use search::{SearchError, SearchQuery, SightingFilter, MAX_SEARCH_TEXT};
pub use tokens::{Proof, TokenRow};
pub use triage::Triage;

/// The longest reviewer note kept (bytes of UTF-8).
pub const MAX_NOTE_BYTES: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("no sighting {0}")]
    NotFound(String),
    #[error("someone else changed this sighting first (it is now at version {current})")]
    Conflict { current: i64 },
    #[error("a sighting cannot go from {from} to {to}")]
    IllegalChange { from: Triage, to: Triage },
    #[error("this report failed verification; it can never be passed on as a lead")]
    NotALead,
    #[error("a note is at most {MAX_NOTE_BYTES} bytes")]
    NoteTooLong,
    #[error(transparent)]
    Link(LinkError),
    #[error("wrong name or password")]
    Credentials,
    #[error("{0}")]
    Account(String),
    #[error("the desk database is damaged: {0}")]
    Corrupt(String),
    #[error("the desk database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the desk database: {0}")]
    Schema(#[from] sighting_core::sqlite::MigrationError),
    #[error("the desk's state directory: {0}")]
    Io(#[from] std::io::Error),
}

/// One sighting's triage as the desk keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageRow {
    pub id: String,
    pub verified: bool,
    /// Why verification failed.
    pub failure: Option<String>,
    pub triage: Triage,
    /// The reviewer it is assigned to.
    pub assignee: Option<String>,
    pub note: Option<String>,
    /// Changes when anything above does; a change names the version it was made from.
    pub version: i64,
    pub opened_at_ms: i64,
}

/// A report the desk opened: verified, or not and why.
pub struct OpenedReport<'a> {
    pub id: &'a str,
    pub verified: bool,
    pub failure: Option<&'a str>,
    /// When the photo was taken (corrected where known) and when the intake received it: the
    /// list's order.
    pub captured_at_ms: Option<i64>,
    pub received_at_ms: Option<i64>,
}

pub struct DeskState {
    conn: Mutex<Connection>,
}

impl DeskState {
    /// Opens (or makes) `dir/desk.sqlite3`, private to the desk's user, at the newest schema.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        super::make_private_dir(dir)?;
        let path = dir.join("desk.sqlite3");
        if !path.exists() {
            super::write_private(&path, b"")?;
        }
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        sighting_core::sqlite::migrate(&mut conn, schema::MIGRATIONS)?;
        let state = Self {
            conn: Mutex::new(conn),
        };
        state.import_sightings_json(dir)?;
        Ok(state)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records reports the desk has opened (verified or not), each `new` and audited, in one
    /// transaction. Returns how many were not recorded before.
    pub fn record_opened(&self, reports: &[OpenedReport<'_>]) -> Result<usize, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = millis::now();
        let mut added = 0;
        for r in reports {
            if tx.execute(
                "INSERT OR IGNORE INTO sightings (id, verified, failure, triage, opened_at_ms,
                                                  captured_at_ms, received_at_ms)
                 VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?6)",
                params![
                    r.id,
                    r.verified,
                    r.failure,
                    now,
                    r.captured_at_ms,
                    r.received_at_ms
                ],
            )? == 1
            {
                let outcome = if r.verified { "verified" } else { "failed" };
                AuditLine::desk("opened")
                    .sighting(r.id)
                    .change(None, Some(outcome))
                    .note(r.failure)
                    .write(&tx)?;
                added += 1;
            } else if r.verified
                && tx.execute(
                    "UPDATE sightings SET verified = 1, failure = NULL
                     WHERE id = ?1 AND verified = 0",
                    params![r.id],
                )? == 1
            {
                // Failed before (another key, say), opened now.
                AuditLine::desk("opened")
                    .sighting(r.id)
                    .change(Some("failed"), Some("verified"))
                    .write(&tx)?;
            } else if !r.verified {
                tx.execute(
                    "UPDATE sightings SET failure = ?2 WHERE id = ?1 AND verified = 0",
                    params![r.id, r.failure],
                )?;
            }
        }
        // Rows recorded before the times were kept, or before the report opened: their times now.
        for r in reports {
            tx.execute(
                "UPDATE sightings SET captured_at_ms = ?2, received_at_ms = ?3
                 WHERE id = ?1 AND (captured_at_ms IS NOT ?2 OR received_at_ms IS NOT ?3)",
                params![r.id, r.captured_at_ms, r.received_at_ms],
            )?;
        }
        tx.commit()?;
        Ok(added)
    }

    pub fn sighting(&self, id: &str) -> Result<TriageRow, StateError> {
        row(&self.conn(), id)?.ok_or_else(|| StateError::NotFound(id.to_string()))
    }

    /// A page of sightings, newest first by when the photo was taken (corrected where known);
    /// optionally only those in one triage status; and how many there are in all.
    pub fn list(
        &self,
        only: Option<Triage>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<TriageRow>, u64), StateError> {
        self.search(&SightingFilter::status(only), offset, limit)
    }

    /// Moves a sighting to `to`, from the version the reviewer saw, with an optional note that
    /// replaces the sighting's note. Audited in the same transaction.
    pub fn change_triage(
        &self,
        by: &Reviewer,
        id: &str,
        seen_version: i64,
        to: Triage,
        note: Option<&str>,
    ) -> Result<TriageRow, StateError> {
        if note.is_some_and(|n| n.len() > MAX_NOTE_BYTES) {
            return Err(StateError::NoteTooLong);
        }
        self.change_versioned(id, seen_version, |tx, current: &TriageRow| {
            // A case's link is proposed, confirmed or rejected on the case's page.
            if !current.triage.can_become(to)
                || to.needs_case()
                || current.triage == Triage::PossibleMatch
            {
                return Err(StateError::IllegalChange {
                    from: current.triage,
                    to,
                });
            }
            if to.is_lead() && !current.verified {
                return Err(StateError::NotALead);
            }
            tx.execute(
                "UPDATE sightings SET triage = ?2, note = COALESCE(?3, note) WHERE id = ?1",
                params![id, to.as_str(), note],
            )?;
            let from = current.triage.as_str();
            AuditLine::reviewer(by.id, "triage")
                .sighting(id)
                .change(Some(from), Some(to.as_str()))
                .note(note)
                .write(tx)?;
            Ok(())
        })
    }

    /// A note alone: a comment in the sighting's history, its status unchanged. Made from the
    /// version the reviewer saw, like any change, so a comment on what has changed meanwhile
    /// is a conflict the reviewer sees.
    pub fn comment(
        &self,
        by: &Reviewer,
        id: &str,
        seen_version: i64,
        note: &str,
    ) -> Result<TriageRow, StateError> {
        if note.len() > MAX_NOTE_BYTES {
            return Err(StateError::NoteTooLong);
        }
        self.change_versioned(id, seen_version, |tx, _: &TriageRow| {
            tx.execute(
                "UPDATE sightings SET note = ?2 WHERE id = ?1",
                params![id, note],
            )?;
            AuditLine::reviewer(by.id, "comment")
                .sighting(id)
                .note(Some(note))
                .write(tx)?;
            Ok(())
        })
    }

    /// Assigns a sighting to a reviewer (by name), or to nobody.
    pub fn assign(
        &self,
        by: &Reviewer,
        id: &str,
        seen_version: i64,
        assignee: Option<&str>,
    ) -> Result<TriageRow, StateError> {
        let assignee_id = match assignee {
            None => None,
            Some(name) => Some(
                self.reviewer_id(name)?
                    .ok_or_else(|| StateError::Account(format!("no reviewer {name:?}")))?,
            ),
        };
        // Saving the assignment as it stands changes nothing: no new version, no history line.
        let current = self.sighting(id)?;
        if current.version == seen_version && current.assignee.as_deref() == assignee {
            return Ok(current);
        }
        self.change_versioned(id, seen_version, |tx, current: &TriageRow| {
            tx.execute(
                "UPDATE sightings SET assignee = ?2 WHERE id = ?1",
                params![id, assignee_id],
            )?;
            let from = current.assignee.as_deref();
            AuditLine::reviewer(by.id, "assign")
                .sighting(id)
                .change(from, assignee)
                .write(tx)?;
            Ok(())
        })
    }

    fn reviewer_id(&self, name: &str) -> Result<Option<i64>, StateError> {
        Ok(self
            .conn()
            .query_row("SELECT id FROM reviewers WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }
}

const SELECT_ROW: &str = "SELECT s.id, s.verified, s.failure, s.triage, r.name, s.note, s.version,
        s.opened_at_ms FROM sightings s LEFT JOIN reviewers r ON r.id = s.assignee";

fn row(conn: &Connection, id: &str) -> Result<Option<TriageRow>, StateError> {
    conn.prepare_cached(&format!("{SELECT_ROW} WHERE s.id = ?1"))?
        .query_row([id], read_row)
        .optional()?
        .transpose()
}

impl Versioned for TriageRow {
    type Error = StateError;
    const BUMP_VERSION: &'static str = "UPDATE sightings SET version = version + 1 WHERE id = ?1";

    fn read(conn: &Connection, id: &str) -> Result<Self, StateError> {
        row(conn, id)?.ok_or_else(|| StateError::NotFound(id.to_string()))
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn conflict(current: i64) -> StateError {
        StateError::Conflict { current }
    }
}

/// A row, or why it is damaged (the outer error is SQLite's).
fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<TriageRow, StateError>> {
    let triage: String = r.get(3)?;
    Ok(match triage.parse::<Triage>() {
        Err(e) => Err(StateError::Corrupt(e.to_string())),
        Ok(triage) => Ok(TriageRow {
            id: r.get(0)?,
            verified: r.get(1)?,
            failure: r.get(2)?,
            triage,
            assignee: r.get(4)?,
            note: r.get(5)?,
            version: r.get(6)?,
            opened_at_ms: r.get(7)?,
        }),
    })
}
