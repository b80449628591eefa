//! What a reviewer decided about a candidate sighting for a case, after comparing the photos:
//! a possible match (escalated to the case manager and, through them, to the police and the
//! family) or not this child. The ranking only orders candidates; this is the human decision,
//! and every one is audited with both the case and the sighting.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use sighting_core::millis;

use super::{DeskState, Reviewer, StateError, MAX_NOTE_BYTES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Escalate: a human thinks this may be the child.
    PossibleMatch,
    NotThisChild,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::PossibleMatch => "possible_match",
            Decision::NotThisChild => "not_this_child",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::PossibleMatch, Self::NotThisChild]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// The latest decision on one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRow {
    pub sighting_id: String,
    pub decision: Decision,
    pub by: String,
    pub at_ms: i64,
    pub note: Option<String>,
}

impl DeskState {
    /// Records `by`'s decision on sighting `sighting` for case `case_number` (replacing an
    /// earlier one; the audit log keeps both).
    pub fn decide_candidate(
        &self,
        by: &Reviewer,
        case_number: &str,
        sighting: &str,
        decision: Decision,
        note: Option<&str>,
    ) -> Result<DecisionRow, StateError> {
        if note.is_some_and(|n| n.len() > MAX_NOTE_BYTES) {
            return Err(StateError::NoteTooLong);
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists = |sql: &str, key: &str| -> Result<bool, rusqlite::Error> {
            Ok(tx.query_row(sql, [key], |_| Ok(())).optional()?.is_some())
        };
        if !exists("SELECT 1 FROM cases WHERE number = ?1", case_number)? {
            return Err(StateError::NotFound(format!("case {case_number}")));
        }
        if !exists("SELECT 1 FROM sightings WHERE id = ?1", sighting)? {
            return Err(StateError::NotFound(sighting.to_string()));
        }
        let before: Option<String> = tx
            .query_row(
                "SELECT decision FROM candidate_decisions
                 WHERE case_number = ?1 AND sighting_id = ?2",
                params![case_number, sighting],
                |r| r.get(0),
            )
            .optional()?;
        let now = millis::now();
        tx.execute(
            "INSERT INTO candidate_decisions
                (case_number, sighting_id, decision, reviewer_id, at_ms, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (case_number, sighting_id) DO UPDATE SET
                decision = excluded.decision, reviewer_id = excluded.reviewer_id,
                at_ms = excluded.at_ms, note = excluded.note",
            params![case_number, sighting, decision.as_str(), by.id, now, note],
        )?;
        tx.execute(
            "INSERT INTO audit
                (at_ms, reviewer_id, sighting_id, case_number, action, from_value, to_value, note)
             VALUES (?1, ?2, ?3, ?4, 'candidate_decision', ?5, ?6, ?7)",
            params![
                now,
                by.id,
                sighting,
                case_number,
                before,
                decision.as_str(),
                note
            ],
        )?;
        tx.commit()?;
        Ok(DecisionRow {
            sighting_id: sighting.to_string(),
            decision,
            by: by.name.clone(),
            at_ms: now,
            note: note.map(str::to_string),
        })
    }

    /// The latest decision on each candidate of a case.
    pub fn candidate_decisions(&self, case_number: &str) -> Result<Vec<DecisionRow>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT d.sighting_id, d.decision, r.name, d.at_ms, d.note
             FROM candidate_decisions d JOIN reviewers r ON r.id = d.reviewer_id
             WHERE d.case_number = ?1 ORDER BY d.sighting_id",
        )?;
        let rows = stmt.query_map([case_number], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        rows.map(|row| {
            let (sighting_id, decision, by, at_ms, note) = row?;
            let decision = Decision::parse(&decision)
                .ok_or_else(|| StateError::Corrupt(format!("decision {decision:?}")))?;
            Ok(DecisionRow {
                sighting_id,
                decision,
                by,
                at_ms,
                note,
            })
        })
        .collect()
    }
}
