//! The audit log: every line written through one [`AuditLine`], inside the caller's
//! transaction; read back whole or one sighting's ([`DeskState::audit`]), or as the Audit tab
//! reads it: newest first, a page at a time, filtered by person, action, sighting (an id or its
//! start) and case.

use rusqlite::{params, Connection};
use serde::Serialize;
use sighting_core::millis;

use super::people::PEOPLE_ACTIONS;
use super::{DeskState, StateError};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    /// `None`: the desk itself (opening a report).
    pub reviewer: Option<String>,
    pub sighting_id: Option<String>,
    pub case_number: Option<String>,
    pub action: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
}

/// One line to append to the audit log: who did what, about which sighting and case, from →
/// to, with a note. Unset fields stay NULL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuditLine<'a> {
    action: &'a str,
    reviewer: Option<i64>,
    sighting: Option<&'a str>,
    case_number: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    note: Option<&'a str>,
    at_ms: Option<i64>,
}

impl<'a> AuditLine<'a> {
    /// The desk itself acted (opening a report).
    pub(crate) fn desk(action: &'a str) -> Self {
        Self::new(None, action)
    }

    /// A reviewer acted.
    pub(crate) fn reviewer(id: i64, action: &'a str) -> Self {
        Self::new(Some(id), action)
    }

    /// An admin in the app (`Some`), or the desk's command line (`None`: whoever runs it holds
    /// the desk's files).
    pub(crate) fn admin(by: Option<i64>, action: &'a str) -> Self {
        Self::new(by, action)
    }

    fn new(reviewer: Option<i64>, action: &'a str) -> Self {
        Self {
            action,
            reviewer,
            sighting: None,
            case_number: None,
            from: None,
            to: None,
            note: None,
            at_ms: None,
        }
    }

    pub(crate) fn sighting(self, id: &'a str) -> Self {
        Self {
            sighting: Some(id),
            ..self
        }
    }

    pub(crate) fn case(self, number: &'a str) -> Self {
        Self {
            case_number: Some(number),
            ..self
        }
    }

    pub(crate) fn change(self, from: Option<&'a str>, to: Option<&'a str>) -> Self {
        Self { from, to, ..self }
    }

    pub(crate) fn note(self, note: Option<&'a str>) -> Self {
        Self { note, ..self }
    }

    /// When it happened, for a line that must carry the same time as the row it records
    /// (otherwise: when it is written).
    pub(crate) fn at(self, ms: i64) -> Self {
        Self {
            at_ms: Some(ms),
            ..self
        }
    }

    /// Appends the line, inside the caller's transaction.
    pub(crate) fn write(&self, conn: &Connection) -> rusqlite::Result<()> {
        conn.prepare_cached(
            "INSERT INTO audit (at_ms, reviewer_id, sighting_id, case_number, action, from_value,
                                to_value, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            self.at_ms.unwrap_or_else(millis::now),
            self.reviewer,
            self.sighting,
            self.case_number,
            self.action,
            self.from,
            self.to,
            self.note
        ])?;
        Ok(())
    }
}

/// The columns [`read_entry`] reads, in its order, from `audit a` joined to `reviewers r`.
const ENTRY_COLUMNS: &str = "a.seq, a.at_ms, r.name, a.sighting_id, a.action, a.from_value,
    a.to_value, a.note, a.case_number";

fn read_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        at_ms: r.get(1)?,
        reviewer: r.get(2)?,
        sighting_id: r.get(3)?,
        action: r.get(4)?,
        from: r.get(5)?,
        to: r.get(6)?,
        note: r.get(7)?,
        case_number: r.get(8)?,
    })
}

/// Lines per page at most.
pub const MAX_AUDIT_PAGE: u64 = 200;

/// What to show of the audit log. Empty strings filter nothing.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Who acted, or whom an admin's action was about.
    pub person: Option<String>,
    pub action: Option<String>,
    /// A sighting id, or its start as the list shows it.
    pub sighting: Option<String>,
    pub case: Option<String>,
    pub offset: u64,
    pub limit: u64,
}

impl DeskState {
    /// The audit log, oldest first: all of it, or one sighting's.
    pub fn audit(&self, sighting: Option<&str>) -> Result<Vec<AuditEntry>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS}
             FROM audit a LEFT JOIN reviewers r ON r.id = a.reviewer_id
             WHERE ?1 IS NULL OR a.sighting_id = ?1 ORDER BY a.seq"
        ))?;
        let entries = stmt
            .query_map([sighting], read_entry)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(entries)
    }

    /// A page of the audit log under `filter`, newest first, and how many lines match in all.
    pub fn audit_page(&self, filter: &AuditFilter) -> Result<(Vec<AuditEntry>, u64), StateError> {
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let (person, action) = (given(&filter.person), given(&filter.action));
        let (sighting, case) = (given(&filter.sighting), given(&filter.case));
        let people = PEOPLE_ACTIONS.map(|a| format!("'{a}'")).join(", ");
        let matching = format!(
            "FROM audit a LEFT JOIN reviewers r ON r.id = a.reviewer_id
             WHERE (?1 IS NULL OR r.name = ?1 OR (a.action IN ({people}) AND a.to_value = ?1))
               AND (?2 IS NULL OR a.action = ?2)
               AND (?3 IS NULL OR substr(a.sighting_id, 1, length(?3)) = ?3)
               AND (?4 IS NULL OR a.case_number = ?4)"
        );
        let conn = self.conn();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) {matching}"),
            params![person, action, sighting, case],
            |r| r.get(0),
        )?;
        let limit = filter.limit.clamp(1, MAX_AUDIT_PAGE) as i64;
        let offset = filter.offset.min(i64::MAX as u64) as i64;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} {matching} ORDER BY a.seq DESC LIMIT ?5 OFFSET ?6"
        ))?;
        let entries = stmt
            .query_map(
                params![person, action, sighting, case, limit, offset],
                read_entry,
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((entries, total.max(0) as u64))
    }

    /// The actions the log holds, for the filter's choices.
    pub fn audit_actions(&self) -> Result<Vec<String>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT DISTINCT action FROM audit ORDER BY action")?;
        let actions = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Role;

    fn entry(
        seq: i64,
        reviewer: Option<&str>,
        (sighting, case): (Option<&str>, Option<&str>),
        action: &str,
        (from, to): (Option<&str>, Option<&str>),
        note: Option<&str>,
    ) -> AuditEntry {
        let text = |v: Option<&str>| v.map(str::to_string);
        AuditEntry {
            seq,
            at_ms: 0,
            reviewer: text(reviewer),
            sighting_id: text(sighting),
            case_number: text(case),
            action: action.into(),
            from: text(from),
            to: text(to),
            note: text(note),
        }
    }

    #[test]
    fn every_kind_of_line_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let state = DeskState::open(dir.path()).unwrap();
        let before = millis::now();
        // Audited by the desk's command line: no one acting.
        let ana = state
            .add_reviewer("ana", "a passphrase of some length", Role::CaseManager)
            .unwrap();
        {
            let conn = state.conn();
            AuditLine::desk("opened")
                .sighting("s-1")
                .change(None, Some("failed"))
                .note(Some("bad signature"))
                .write(&conn)
                .unwrap();
            AuditLine::reviewer(ana.id, "triage")
                .sighting("s-1")
                .change(Some("new"), Some("in_review"))
                .write(&conn)
                .unwrap();
            AuditLine::reviewer(ana.id, "case_publication")
                .case("C-7")
                .change(Some("draft"), Some("published"))
                .write(&conn)
                .unwrap();
            AuditLine::reviewer(ana.id, "link_confirmed")
                .sighting("s-1")
                .case("C-7")
                .change(Some("possible_match"), Some("linked_to_case"))
                .note(Some("the same scar"))
                .at(1_234)
                .write(&conn)
                .unwrap();
        }
        let after = millis::now();

        let mut lines = state.audit(None).unwrap();
        let stamped: Vec<i64> = lines
            .iter_mut()
            .map(|l| std::mem::take(&mut l.at_ms))
            .collect();
        let none = (None, None);
        assert_eq!(
            lines,
            [
                entry(
                    1,
                    None,
                    none,
                    "reviewer_added",
                    (None, Some("ana")),
                    Some("case_manager")
                ),
                entry(
                    2,
                    None,
                    (Some("s-1"), None),
                    "opened",
                    (None, Some("failed")),
                    Some("bad signature")
                ),
                entry(
                    3,
                    Some("ana"),
                    (Some("s-1"), None),
                    "triage",
                    (Some("new"), Some("in_review")),
                    None
                ),
                entry(
                    4,
                    Some("ana"),
                    (None, Some("C-7")),
                    "case_publication",
                    (Some("draft"), Some("published")),
                    None
                ),
                entry(
                    5,
                    Some("ana"),
                    (Some("s-1"), Some("C-7")),
                    "link_confirmed",
                    (Some("possible_match"), Some("linked_to_case")),
                    Some("the same scar")
                ),
            ]
        );
        // Written now, unless given a time.
        assert!(
            stamped[..4].iter().all(|t| (before..=after).contains(t)),
            "{stamped:?}"
        );
        assert_eq!(stamped[4], 1_234);
        // One sighting's lines are the ones that name it.
        let seqs: Vec<i64> = state
            .audit(Some("s-1"))
            .unwrap()
            .iter()
            .map(|l| l.seq)
            .collect();
        assert_eq!(seqs, [2, 3, 5]);
    }
}
