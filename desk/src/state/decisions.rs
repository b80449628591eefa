//! What a reviewer decided about a candidate sighting for a case, after comparing the photos:
//! a possible match or not this child. The ranking only orders candidates; this is the human
//! decision, and every one is audited with both the case and the sighting.
//!
//! A possible match links the sighting to the case and moves it to `possible match`, where a
//! second reviewer confirms or rejects the link ([`super::links`]); while it waits, and once
//! confirmed, no one decides on it again here.

use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use sighting_core::millis;

use super::audit_log::AuditLine;
use super::links::{LinkError, LinkReview};
use super::{row, DeskState, Reviewer, StateError, Triage, MAX_NOTE_BYTES};

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

/// The latest decision on one candidate, and a possible match's review by a second reviewer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRow {
    pub sighting_id: String,
    pub decision: Decision,
    pub by: String,
    pub at_ms: i64,
    pub note: Option<String>,
    /// None while a possible match awaits its second reviewer.
    pub review: Option<LinkReview>,
    pub reviewed_by: Option<String>,
    pub reviewed_at_ms: Option<i64>,
    pub review_note: Option<String>,
}

impl DecisionRow {
    /// A possible match waiting for its second reviewer.
    pub fn awaits_review(&self) -> bool {
        self.decision == Decision::PossibleMatch && self.review.is_none()
    }

    /// A link a second reviewer confirmed.
    pub fn confirmed(&self) -> bool {
        self.decision == Decision::PossibleMatch && self.review == Some(LinkReview::Confirmed)
    }
}

impl DeskState {
    /// Records `by`'s decision on sighting `sighting` for case `case_number` (replacing an
    /// earlier one; the audit log keeps both). A possible match moves the sighting to `possible
    /// match`, awaiting a second reviewer; a link awaiting review or confirmed is not replaced.
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
        let current = row(&tx, sighting)?.ok_or_else(|| StateError::NotFound(sighting.into()))?;
        let before: Option<(String, Option<String>)> = tx
            .query_row(
                "SELECT decision, review FROM candidate_decisions
                 WHERE case_number = ?1 AND sighting_id = ?2",
                params![case_number, sighting],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match before.as_ref().map(|(d, r)| (d.as_str(), r.as_deref())) {
            Some(("possible_match", None)) => return Err(LinkError::AwaitingReview.into()),
            Some(("possible_match", Some("confirmed"))) => {
                return Err(LinkError::AlreadyConfirmed.into())
            }
            _ => {}
        }
        let now = millis::now();
        // A possible match moves the sighting to the second reviewer's queue.
        let move_to = match decision {
            Decision::PossibleMatch if !current.verified => return Err(StateError::NotALead),
            Decision::PossibleMatch if current.triage == Triage::PossibleMatch => None,
            Decision::PossibleMatch if current.triage.can_become(Triage::PossibleMatch) => {
                Some(Triage::PossibleMatch)
            }
            Decision::PossibleMatch => {
                return Err(StateError::IllegalChange {
                    from: current.triage,
                    to: Triage::PossibleMatch,
                })
            }
            Decision::NotThisChild => None,
        };
        tx.execute(
            "INSERT INTO candidate_decisions
                (case_number, sighting_id, decision, reviewer_id, at_ms, note)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (case_number, sighting_id) DO UPDATE SET
                decision = excluded.decision, reviewer_id = excluded.reviewer_id,
                at_ms = excluded.at_ms, note = excluded.note, review = NULL,
                reviewed_by = NULL, reviewed_at_ms = NULL, review_note = NULL",
            params![case_number, sighting, decision.as_str(), by.id, now, note],
        )?;
        let before = before.as_ref().map(|(decision, _)| decision.as_str());
        // The same time as the decision's row.
        AuditLine::reviewer(by.id, "candidate_decision")
            .sighting(sighting)
            .case(case_number)
            .change(before, Some(decision.as_str()))
            .note(note)
            .at(now)
            .write(&tx)?;
        if let Some(to) = move_to {
            let from = current.triage;
            super::links::move_triage(&tx, by, case_number, sighting, from, to, note)?;
        }
        tx.commit()?;
        Ok(DecisionRow {
            sighting_id: sighting.to_string(),
            decision,
            by: by.name.clone(),
            at_ms: now,
            note: note.map(str::to_string),
            review: None,
            reviewed_by: None,
            reviewed_at_ms: None,
            review_note: None,
        })
    }

    /// The latest decision on each candidate of a case.
    pub fn candidate_decisions(&self, case_number: &str) -> Result<Vec<DecisionRow>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT d.sighting_id, d.decision, r.name, d.at_ms, d.note,
                    d.review, v.name, d.reviewed_at_ms, d.review_note
             FROM candidate_decisions d JOIN reviewers r ON r.id = d.reviewer_id
                  LEFT JOIN reviewers v ON v.id = d.reviewed_by
             WHERE d.case_number = ?1 ORDER BY d.sighting_id",
        )?;
        let rows = stmt.query_map([case_number], |r| {
            Ok((
                (
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ),
                (
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ),
            ))
        })?;
        rows.map(|row| {
            let ((sighting_id, decision, by, at_ms, note), review) = row?;
            let (review, reviewed_by, reviewed_at_ms, review_note) = review;
            let decision = Decision::parse(&decision)
                .ok_or_else(|| StateError::Corrupt(format!("decision {decision:?}")))?;
            let review = review
                .map(|r| {
                    LinkReview::parse(&r)
                        .ok_or_else(|| StateError::Corrupt(format!("link review {r:?}")))
                })
                .transpose()?;
            Ok(DecisionRow {
                sighting_id,
                decision,
                by,
                at_ms,
                note,
                review,
                reviewed_by,
                reviewed_at_ms,
                review_note,
            })
        })
        .collect()
    }
}
