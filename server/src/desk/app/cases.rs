//! The case pages' API: the register, a case's photos, its ranked candidates with the reasons
//! and each reviewer decision, and recording a decision (audited).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::auth::{refuse, state_error};
use super::Desk;
use crate::desk::ranking::rank;
use crate::desk::state::{CaseError, Decision, Reviewer};

fn case_error(e: CaseError) -> Response {
    match e {
        CaseError::NotFound(_) => refuse(StatusCode::NOT_FOUND, "not_found", e.to_string()),
        other => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            other.to_string(),
        ),
    }
}

pub(super) async fn list(State(desk): State<Arc<Desk>>) -> Response {
    match desk.state.cases() {
        Ok(cases) => Json(json!({ "cases": cases })).into_response(),
        Err(e) => case_error(e),
    }
}

pub(super) async fn photo(
    State(desk): State<Arc<Desk>>,
    Path((number, index)): Path<(String, usize)>,
) -> Response {
    match desk.state.case_photos(&number) {
        Ok(photos) => match photos.into_iter().nth(index) {
            Some(jpeg) => ([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response(),
            None => refuse(StatusCode::NOT_FOUND, "not_found", "no such case photo"),
        },
        Err(e) => case_error(e),
    }
}

/// The case, and its candidates best first: not-this-child decisions last.
pub(super) async fn candidates(
    State(desk): State<Arc<Desk>>,
    Path(number): Path<String>,
) -> Response {
    let case = match desk.state.case(&number) {
        Ok(case) => case,
        Err(e) => return case_error(e),
    };
    let decisions = match desk.state.candidate_decisions(&number) {
        Ok(d) => d,
        Err(e) => return state_error(e),
    };
    let decided: BTreeSet<&str> = decisions.iter().map(|d| d.sighting_id.as_str()).collect();
    let mut rows: Vec<serde_json::Value> = desk.with_reports(|reports| {
        rank(&case, reports.values(), &decided)
            .into_iter()
            .map(|c| {
                let s = &reports[&c.sighting_id];
                let decision = decisions.iter().find(|d| d.sighting_id == c.sighting_id);
                json!({
                    "candidate": c,
                    "report": {
                        "captured_at": s.corrected_captured_at.as_ref().or(s.captured_at.as_ref()),
                        "lat": s.lat, "lon": s.lon,
                        "observations": s.observations, "note": s.note,
                    },
                    "decision": decision,
                })
            })
            .collect()
    });
    rows.sort_by_key(|r| r["decision"]["decision"] == "not_this_child");
    Json(json!({ "case": case, "candidates": rows })).into_response()
}

#[derive(Deserialize)]
pub(super) struct DecisionChange {
    decision: Decision,
    note: Option<String>,
}

pub(super) async fn decide(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path((number, id)): Path<(String, String)>,
    Json(change): Json<DecisionChange>,
) -> Response {
    let note = change.note.as_deref().filter(|n| !n.trim().is_empty());
    match desk
        .state
        .decide_candidate(&by, &number, &id, change.decision, note)
    {
        Ok(row) => Json(row).into_response(),
        Err(e) => state_error(e),
    }
}
