//! The case pages' API: the register, a case's photos, its ranked candidates with the reasons
//! and each reviewer decision, and recording a decision (audited); and for case managers, the
//! register's changes (open, add a photo, record consent, publish, close), each naming the
//! version it was made from, the state refusing anyone else.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::auth::{refuse, state_error};
use super::Desk;
use crate::bulletins;
use crate::ranking::rank_with_decisions;
use crate::state::{
    CaseDetails, CaseError, CaseRow, Decision, LinkError, LinkReview, Reviewer, StateError,
};
use sighting_core::bulletins::distance_m;

/// Largest photo a case manager may upload (it is re-encoded small before it is kept).
pub(super) const MAX_CASE_PHOTO_UPLOAD: usize = 32 << 20;

fn case_error(e: CaseError) -> Response {
    super::error::ApiError::from(e).into_response()
}

/// A link refused: 403 for an override by someone who does not manage cases, 422 otherwise.
pub(super) fn link_error(e: LinkError) -> Response {
    let status = match e {
        LinkError::OverrideNotAllowed => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let kind = match e {
        LinkError::NotConfirmed { .. } => "not_confirmed",
        LinkError::OwnProposal => "own_proposal",
        LinkError::NoteNeeded => "note_needed",
        LinkError::OverrideNotAllowed => "forbidden",
        _ => "refused",
    };
    refuse(status, kind, e.to_string())
}

fn decision_error(e: StateError) -> Response {
    match e {
        StateError::Link(e) => link_error(e),
        e => state_error(e),
    }
}

fn changed(result: Result<CaseRow, CaseError>) -> Response {
    match result {
        Ok(row) => Json(row).into_response(),
        Err(e) => case_error(e),
    }
}

#[derive(Deserialize)]
pub(super) struct NewCase {
    number: String,
    #[serde(flatten)]
    details: CaseDetails,
}

pub(super) async fn create(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(new): Json<NewCase>,
) -> Response {
    changed(desk.state.create_case(&by, &new.number, &new.details))
}

#[derive(Deserialize)]
pub(super) struct Edit {
    version: i64,
    #[serde(flatten)]
    details: CaseDetails,
}

pub(super) async fn edit(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(number): Path<String>,
    Json(edit): Json<Edit>,
) -> Response {
    changed(
        desk.state
            .edit_case(&by, &number, edit.version, &edit.details),
    )
}

#[derive(Deserialize)]
pub(super) struct Step {
    version: i64,
}

/// `consent`, `publish` or `close`: one step of the publication gate. Publishing or closing
/// pushes the feed when the desk has the bulletin key; the answer says how that went.
pub(super) async fn step(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path((number, step)): Path<(String, String)>,
    Json(at): Json<Step>,
) -> Response {
    let state = &desk.state;
    let row = match step.as_str() {
        "consent" => state.record_family_consent(&by, &number, at.version),
        "publish" => state.publish_case(&by, &number, at.version),
        "close" => state.close_case(&by, &number, at.version),
        _ => return refuse(StatusCode::NOT_FOUND, "not_found", "no such step"),
    };
    let row = match row {
        Ok(row) => row,
        Err(e) => return case_error(e),
    };
    let feed = match step.as_str() {
        "publish" | "close" => feed_outcome(&desk).await,
        _ => json!(null),
    };
    Json(json!({ "case": row, "feed": feed })).into_response()
}

/// Pushes the feed now (a case manager's "send the list to phones again").
pub(super) async fn push_feed(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
) -> Response {
    if !by.role.manages_cases() {
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            CaseError::Forbidden.to_string(),
        );
    }
    Json(json!({ "feed": feed_outcome(&desk).await })).into_response()
}

/// `{"version": n}` when pushed, `{"error": "…"}` when not, `null` without a bulletin key.
async fn feed_outcome(desk: &Arc<Desk>) -> serde_json::Value {
    let Some(pusher) = desk.config.bulletins.as_ref() else {
        return json!(null);
    };
    match pusher.push(desk).await {
        Ok(version) => json!({ "version": version }),
        Err(e) => json!({ "error": format!("{e:#}") }),
    }
}

/// A photo for the case: the JPEG as the body, the version it was made from in the query.
pub(super) async fn add_photo(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(number): Path<String>,
    Query(at): Query<Step>,
    jpeg: axum::body::Bytes,
) -> Response {
    let small = match tokio::task::spawn_blocking(move || bulletins::case_photo(&jpeg)).await {
        Ok(Ok(small)) => small,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "invalid",
                "not a usable JPEG photo",
            )
        }
    };
    changed(desk.state.add_case_photo(&by, &number, at.version, &small))
}

/// A case as `by` may see it: the police reference and the private notes only to those who
/// manage cases (a reviewer matches sightings without them).
fn for_role(case: &CaseRow, by: &Reviewer) -> serde_json::Value {
    let mut value = json!(case);
    if let Some(fields) = value.as_object_mut().filter(|_| !by.role.manages_cases()) {
        fields.remove("police_reference");
        fields.remove("private_notes");
    }
    value
}

pub(super) async fn list(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
) -> Response {
    match desk.state.cases() {
        Ok(cases) => {
            let cases: Vec<_> = cases.iter().map(|c| for_role(c, &by)).collect();
            Json(json!({ "cases": cases })).into_response()
        }
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
    Extension(by): Extension<Reviewer>,
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
    let ranked = desk
        .state
        .with_opened_reports(|reports| rank_with_decisions(&case, reports, &decisions));
    let ranked = match ranked {
        Ok(ranked) => ranked,
        Err(e) => return state_error(e),
    };
    let mut rows: Vec<serde_json::Value> = ranked
        .into_iter()
        .filter_map(|(c, decision)| {
            let s = desk.report(&c.sighting_id)?;
            let km = s.lat.zip(s.lon).map(|at| {
                let m = distance_m(at, (case.details.last_seen_lat, case.details.last_seen_lon));
                (m / 100.0).round() / 10.0
            });
            Some(json!({
                "candidate": c,
                "report": {
                    "captured_at": s.corrected_captured_at.as_ref().or(s.captured_at.as_ref()),
                    "lat": s.lat, "lon": s.lon, "km": km,
                    "observations": s.observations, "note": s.note,
                },
                "decision": decision,
            }))
        })
        .collect();
    rows.sort_by_key(|r| r["decision"]["decision"] == "not_this_child");
    Json(json!({ "case": for_role(&case, &by), "candidates": rows })).into_response()
}

/// A decision (possible match, not this child), or a second reviewer's answer to a possible
/// match (confirmed, rejected; a note needed).
#[derive(Deserialize)]
pub(super) struct DecisionChange {
    decision: Option<Decision>,
    review: Option<LinkReview>,
    note: Option<String>,
}

pub(super) async fn decide(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path((number, id)): Path<(String, String)>,
    Json(change): Json<DecisionChange>,
) -> Response {
    let note = change.note.as_deref().filter(|n| !n.trim().is_empty());
    let state = &desk.state;
    let decided = match (change.decision, change.review) {
        (Some(decision), None) => state
            .decide_candidate(&by, &number, &id, decision, note)
            .map(|row| json!(row)),
        (None, Some(review)) => state
            .review_link(&by, &number, &id, review, note.unwrap_or_default())
            .map(|row| json!(row)),
        _ => {
            let detail = "a decision or a review, one of them";
            return refuse(StatusCode::BAD_REQUEST, "invalid", detail);
        }
    };
    match decided {
        Ok(row) => Json(row).into_response(),
        Err(e) => decision_error(e),
    }
}
