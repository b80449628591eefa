//! A sighting's link to a case, and what may go out to the police.
//!
//! A reviewer proposes a possible match on the case's page ([`super::decisions`]); a second
//! reviewer, never the one who proposed it, confirms it (`→ linked to a case`) or rejects it
//! (the link undone, `→ in review`), always with a note. Only sightings whose link to the case
//! was confirmed go in that case's lead package, unless a case manager overrides the rule with
//! a written reason; the export moves each to `forwarded to police`, naming the package and
//! its recipient. Every step is audited with the case number.

use std::collections::HashSet;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use sighting_core::millis;

use super::audit_log::AuditLine;
use super::{row, DeskState, Reviewer, StateError, Triage, TriageRow, MAX_NOTE_BYTES};

/// A second reviewer's answer to a possible match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkReview {
    Confirmed,
    Rejected,
}

impl LinkReview {
    fn as_str(self) -> &'static str {
        match self {
            LinkReview::Confirmed => "confirmed",
            LinkReview::Rejected => "rejected",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Self> {
        [Self::Confirmed, Self::Rejected]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this possible match awaits a second reviewer: confirm or reject it first")]
    AwaitingReview,
    #[error("a second reviewer confirmed this link; it is not decided again")]
    AlreadyConfirmed,
    #[error("no possible match for case {0} awaits a second reviewer for this sighting")]
    NotProposed(String),
    #[error("a second reviewer confirms or rejects a possible match, not the one who proposed it")]
    OwnProposal,
    #[error("confirming or rejecting a link needs a note saying why")]
    NoteNeeded,
    #[error(
        "sighting {id}: no second reviewer confirmed its link to case {case}; only a case \
         manager may send it anyway, with a written reason"
    )]
    NotConfirmed { id: String, case: String },
    #[error("only a case manager may send a sighting whose link is not confirmed")]
    OverrideNotAllowed,
    #[error("sending a sighting whose link is not confirmed needs a written reason")]
    OverrideReason,
    #[error("a recipient or a reason is at most {MAX_NOTE_BYTES} bytes")]
    TooLong,
}

impl From<LinkError> for StateError {
    fn from(e: LinkError) -> Self {
        StateError::Link(e)
    }
}

/// Who the package goes to and why it may go: checked before any work, recorded after.
#[derive(Debug, Clone, Copy, Default)]
pub struct LeadGate<'a> {
    /// The officer or unit the package is for.
    pub recipient: Option<&'a str>,
    /// A case manager's reason to send sightings whose link is not confirmed.
    pub override_reason: Option<&'a str>,
}

impl LeadGate<'_> {
    /// The override, when it is one: a case manager's, with a reason.
    fn override_reason(&self, by: &Reviewer) -> Result<Option<&str>, LinkError> {
        let Some(reason) = self.override_reason else {
            return Ok(None);
        };
        if reason.trim().is_empty() {
            return Err(LinkError::OverrideReason);
        }
        if !by.role.manages_cases() {
            return Err(LinkError::OverrideNotAllowed);
        }
        Ok(Some(reason))
    }

    fn check_sizes(&self) -> Result<(), LinkError> {
        let long = |t: Option<&str>| t.is_some_and(|t| t.len() > MAX_NOTE_BYTES);
        match long(self.recipient) || long(self.override_reason) {
            true => Err(LinkError::TooLong),
            false => Ok(()),
        }
    }
}

impl DeskState {
    /// A second reviewer's answer to `case_number`'s possible match `sighting`, with a note:
    /// confirmed, the sighting is linked to the case; rejected, the link is undone and the
    /// sighting back in review (unless another case's possible match still waits).
    pub fn review_link(
        &self,
        by: &Reviewer,
        case_number: &str,
        sighting: &str,
        review: LinkReview,
        note: &str,
    ) -> Result<TriageRow, StateError> {
        if note.trim().is_empty() {
            return Err(LinkError::NoteNeeded.into());
        }
        if note.len() > MAX_NOTE_BYTES {
            return Err(StateError::NoteTooLong);
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let proposer: Option<i64> = tx
            .query_row(
                "SELECT reviewer_id FROM candidate_decisions
                 WHERE case_number = ?1 AND sighting_id = ?2
                   AND decision = 'possible_match' AND review IS NULL",
                params![case_number, sighting],
                |r| r.get(0),
            )
            .optional()?;
        match proposer {
            None => return Err(LinkError::NotProposed(case_number.into()).into()),
            Some(id) if id == by.id => return Err(LinkError::OwnProposal.into()),
            Some(_) => {}
        }
        let current = row(&tx, sighting)?.ok_or_else(|| StateError::NotFound(sighting.into()))?;
        tx.execute(
            "UPDATE candidate_decisions
             SET review = ?3, reviewed_by = ?4, reviewed_at_ms = ?5, review_note = ?6
             WHERE case_number = ?1 AND sighting_id = ?2",
            params![
                case_number,
                sighting,
                review.as_str(),
                by.id,
                millis::now(),
                note
            ],
        )?;
        let still_waiting: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM candidate_decisions WHERE sighting_id = ?1
                AND decision = 'possible_match' AND review IS NULL)",
            [sighting],
            |r| r.get(0),
        )?;
        let to = match review {
            LinkReview::Confirmed => Triage::LinkedToCase,
            LinkReview::Rejected if still_waiting => Triage::PossibleMatch,
            LinkReview::Rejected => Triage::InReview,
        };
        let from = current.triage;
        if from != to && from.can_become(to) {
            set_triage(&tx, sighting, to)?;
        }
        let action = match review {
            LinkReview::Confirmed => "link_confirmed",
            LinkReview::Rejected => "link_rejected",
        };
        let after = row(&tx, sighting)?.ok_or_else(|| StateError::NotFound(sighting.into()))?;
        link_line(by, sighting, case_number, action)
            .change(Some(from.as_str()), Some(after.triage.as_str()))
            .note(Some(note))
            .write(&tx)?;
        tx.commit()?;
        Ok(after)
    }

    /// Whether these sightings may go in case `case_number`'s lead package (each verified,
    /// its link to the case confirmed, or a case manager's override with a reason); changes
    /// nothing, so a refused package costs no work. Returns those that go only by the
    /// override, for the package to say so.
    pub fn check_lead_package(
        &self,
        by: &Reviewer,
        case_number: &str,
        ids: &[String],
        gate: &LeadGate<'_>,
    ) -> Result<HashSet<String>, StateError> {
        let overridden = gate_sightings(&self.conn(), by, case_number, ids, gate)?;
        Ok(overridden.into_iter().map(str::to_string).collect())
    }

    /// Records that `by` passed these sightings on in package `package` to the gate's
    /// recipient, all or none, once each however often an id was named: each `forwarded to
    /// police`, any override with its reason. Called once the package is made, so no line
    /// stands for a package that never was; the gate is checked again in the same transaction.
    pub fn record_lead_package(
        &self,
        by: &Reviewer,
        case_number: &str,
        ids: &[String],
        package: &str,
        gate: &LeadGate<'_>,
    ) -> Result<(), StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let overridden = gate_sightings(&tx, by, case_number, ids, gate)?;
        let mut recorded = HashSet::new();
        for id in ids.iter().filter(|id| recorded.insert(id.as_str())) {
            let current = row(&tx, id)?.ok_or_else(|| StateError::NotFound(id.clone()))?;
            if overridden.contains(id.as_str()) {
                link_line(by, id, case_number, "lead_override")
                    .note(gate.override_reason)
                    .write(&tx)?;
            }
            link_line(by, id, case_number, "lead_package")
                .change(None, Some(package))
                .note(gate.recipient)
                .write(&tx)?;
            // However it stood: the package is what went to the police.
            let forwarded = Triage::ForwardedToPolice;
            if current.triage != forwarded {
                set_triage(&tx, id, forwarded)?;
                link_line(by, id, case_number, "triage")
                    .change(Some(current.triage.as_str()), Some(forwarded.as_str()))
                    .write(&tx)?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The gate for a case's lead package; returns the sightings that pass only by the override.
fn gate_sightings<'a>(
    conn: &Connection,
    by: &Reviewer,
    case_number: &str,
    ids: &'a [String],
    gate: &LeadGate<'_>,
) -> Result<HashSet<&'a str>, StateError> {
    gate.check_sizes()?;
    let reason = gate.override_reason(by)?;
    let mut overridden = HashSet::new();
    for id in ids {
        let row = row(conn, id)?.ok_or_else(|| StateError::NotFound(id.clone()))?;
        if !row.verified {
            return Err(StateError::NotALead);
        }
        // Confirmed, and not reopened since.
        let linked = matches!(row.triage, Triage::LinkedToCase | Triage::ForwardedToPolice)
            && conn
                .query_row(
                    "SELECT 1 FROM candidate_decisions WHERE case_number = ?1 AND sighting_id = ?2
                   AND decision = 'possible_match' AND review = 'confirmed'",
                    params![case_number, id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
        if !linked {
            if reason.is_none() {
                return Err(LinkError::NotConfirmed {
                    id: id.clone(),
                    case: case_number.into(),
                }
                .into());
            }
            overridden.insert(id.as_str());
        }
    }
    Ok(overridden)
}

/// Moves a sighting to `to` for a case's link, audited with the case (the caller checked
/// that the change is allowed).
pub(super) fn move_triage(
    conn: &Connection,
    by: &Reviewer,
    case_number: &str,
    sighting: &str,
    from: Triage,
    to: Triage,
    note: Option<&str>,
) -> Result<(), StateError> {
    set_triage(conn, sighting, to)?;
    link_line(by, sighting, case_number, "triage")
        .change(Some(from.as_str()), Some(to.as_str()))
        .note(note)
        .write(conn)?;
    Ok(())
}

/// A new status, and a new version: a reviewer's form made from the old one is a conflict.
fn set_triage(conn: &Connection, sighting: &str, to: Triage) -> Result<(), StateError> {
    conn.execute(
        "UPDATE sightings SET triage = ?2, version = version + 1 WHERE id = ?1",
        params![sighting, to.as_str()],
    )?;
    Ok(())
}

/// An audit line about a sighting and a case, by a reviewer.
fn link_line<'a>(
    by: &Reviewer,
    sighting: &'a str,
    case_number: &'a str,
    action: &'a str,
) -> AuditLine<'a> {
    AuditLine::reviewer(by.id, action)
        .sighting(sighting)
        .case(case_number)
}
