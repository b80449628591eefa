//! The audit log as the Audit tab reads it: newest first, a page at a time, filtered by person,
//! action, sighting (an id or its start) and case.

use rusqlite::params;

use super::people::PEOPLE_ACTIONS;
use super::{AuditEntry, DeskState, StateError};

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
            "SELECT a.seq, a.at_ms, r.name, a.sighting_id, a.action, a.from_value, a.to_value,
                    a.note, a.case_number
             {matching} ORDER BY a.seq DESC LIMIT ?5 OFFSET ?6"
        ))?;
        let entries = stmt
            .query_map(
                params![person, action, sighting, case, limit, offset],
                |r| {
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
                },
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
