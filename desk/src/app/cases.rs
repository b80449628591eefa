//! The case pages' API: the register, a case's photos, its ranked candidates with the reasons
//! and each reviewer decision, and recording a decision (audited); and for case managers, the
//! register's changes (open, add a photo, record consent, publish, close), each naming the
//! version it was made from, the state refusing anyone else.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::ApiError;
use super::feed::FeedOutcome;
use super::Desk;
use crate::bulletins;
use crate::ranking::{rank_with_decisions, Candidate};
use crate::state::{
    CaseDetails, CaseError, CaseRow, Decision, DecisionRow, DeskState, LinkReview, Reviewer,
    TriageRow,
};
use sighting_core::bulletins::distance_m;
use sighting_core::report::Observations;

/// Largest photo a case manager may upload (it is re-encoded small before it is kept).
pub(super) const MAX_CASE_PHOTO_UPLOAD: usize = 32 << 20;

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
) -> Result<Json<CaseRow>, ApiError> {
    let row = desk
        .blocking(move |d| d.state.create_case(&by, &new.number, &new.details))
        .await?;
    Ok(Json(row))
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
) -> Result<Json<CaseRow>, ApiError> {
    let row = desk
        .blocking(move |d| d.state.edit_case(&by, &number, edit.version, &edit.details))
        .await?;
    Ok(Json(row))
}

#[derive(Deserialize)]
pub(super) struct Step {
    version: i64,
}

/// A step taken, and how pushing the feed went (`null` when the step does not push it, or
/// the desk has no bulletin key).
#[derive(Serialize)]
pub(super) struct StepTaken {
    case: CaseRow,
    feed: Option<FeedOutcome>,
}

/// `consent`, `publish` or `close`: one step of the publication gate. Publishing or closing
/// pushes the feed when the desk has the bulletin key; the answer says how that went.
pub(super) async fn step(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path((number, step)): Path<(String, String)>,
    Json(at): Json<Step>,
) -> Result<Json<StepTaken>, ApiError> {
    let take: fn(&DeskState, &Reviewer, &str, i64) -> Result<CaseRow, CaseError> =
        match step.as_str() {
            "consent" => DeskState::record_family_consent,
            "publish" => DeskState::publish_case,
            "close" => DeskState::close_case,
            _ => {
                let refused = ApiError::refused(StatusCode::NOT_FOUND, "not_found", "no such step");
                return Err(refused);
            }
        };
    let case = desk
        .blocking(move |d| take(&d.state, &by, &number, at.version))
        .await?;
    let feed = match step.as_str() {
        "publish" | "close" => feed_outcome(&desk).await,
        _ => None,
    };
    Ok(Json(StepTaken { case, feed }))
}

#[derive(Serialize)]
pub(super) struct FeedPushed {
    feed: Option<FeedOutcome>,
}

/// Pushes the feed now (a case manager's "send the list to phones again").
pub(super) async fn push_feed(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
) -> Result<Json<FeedPushed>, ApiError> {
    if !by.role.manages_cases() {
        return Err(CaseError::Forbidden.into());
    }
    Ok(Json(FeedPushed {
        feed: feed_outcome(&desk).await,
    }))
}

/// How the push went; `None` without a bulletin key.
async fn feed_outcome(desk: &Arc<Desk>) -> Option<FeedOutcome> {
    let pusher = desk.config.bulletins.as_ref()?;
    Some(pusher.push(desk).await)
}

/// A photo for the case: the JPEG as the body, the version it was made from in the query.
pub(super) async fn add_photo(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(number): Path<String>,
    Query(at): Query<Step>,
    jpeg: axum::body::Bytes,
) -> Result<Json<CaseRow>, ApiError> {
    let row = desk
        .blocking(move |d| {
            let small = bulletins::case_photo(&jpeg).map_err(|_| {
                ApiError::refused(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    "not a usable JPEG photo",
                )
            })?;
            Ok::<_, ApiError>(d.state.add_case_photo(&by, &number, at.version, &small)?)
        })
        .await?;
    Ok(Json(row))
}

/// A case as `by` may see it: the police reference and the private notes only to those who
/// manage cases (a reviewer matches sightings without them).
fn for_role(case: &CaseRow, by: &Reviewer) -> Value {
    let mut value = json!(case);
    if let Some(fields) = value.as_object_mut().filter(|_| !by.role.manages_cases()) {
        fields.remove("police_reference");
        fields.remove("private_notes");
    }
    value
}

#[derive(Serialize)]
pub(super) struct Register {
    cases: Vec<Value>,
}

pub(super) async fn list(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
) -> Result<Json<Register>, ApiError> {
    let cases = desk.blocking(|d| d.state.cases()).await?;
    let cases = cases.iter().map(|c| for_role(c, &by)).collect();
    Ok(Json(Register { cases }))
}

pub(super) async fn photo(
    State(desk): State<Arc<Desk>>,
    Path((number, index)): Path<(String, usize)>,
) -> Result<impl IntoResponse, ApiError> {
    let photos = desk.blocking(move |d| d.state.case_photos(&number)).await?;
    let jpeg = photos.into_iter().nth(index).ok_or_else(|| {
        ApiError::refused(StatusCode::NOT_FOUND, "not_found", "no such case photo")
    })?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], jpeg))
}

/// The case, and its candidates best first: not-this-child decisions last.
#[derive(Serialize)]
pub(super) struct Candidates {
    candidates: Vec<CandidateRow>,
    case: Value,
}

/// One candidate: why it ranks where it does, what its report says, and the decision on it.
#[derive(Serialize)]
pub(super) struct CandidateRow {
    candidate: Candidate,
    decision: Option<DecisionRow>,
    report: CandidateReport,
}

#[derive(Serialize)]
pub(super) struct CandidateReport {
    captured_at: Option<String>,
    /// From where the child was last seen, to 100 m.
    km: Option<f64>,
    lat: Option<f64>,
    lon: Option<f64>,
    note: Option<String>,
    observations: Option<Observations>,
}

pub(super) async fn candidates(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(number): Path<String>,
) -> Result<Json<Candidates>, ApiError> {
    let (case, mut rows) = desk
        .blocking(move |d| {
            let case = d.state.case(&number)?;
            let decisions = d.state.candidate_decisions(&number)?;
            let ranked = d
                .state
                .with_opened_reports(|reports| rank_with_decisions(&case, reports, &decisions))?;
            let last_seen = (case.details.last_seen_lat, case.details.last_seen_lon);
            let rows: Vec<_> = ranked
                .into_iter()
                .filter_map(|(candidate, decision)| {
                    let s = d.report(&candidate.sighting_id)?;
                    let km = s
                        .lat
                        .zip(s.lon)
                        .map(|at| (distance_m(at, last_seen) / 100.0).round() / 10.0);
                    let report = CandidateReport {
                        captured_at: s.corrected_captured_at.or(s.captured_at),
                        km,
                        lat: s.lat,
                        lon: s.lon,
                        note: s.note,
                        observations: s.observations,
                    };
                    Some(CandidateRow {
                        candidate,
                        decision,
                        report,
                    })
                })
                .collect();
            Ok::<_, ApiError>((case, rows))
        })
        .await?;
    rows.sort_by_key(|r| {
        r.decision
            .as_ref()
            .is_some_and(|d| d.decision == Decision::NotThisChild)
    });
    Ok(Json(Candidates {
        candidates: rows,
        case: for_role(&case, &by),
    }))
}

/// A decision (possible match, not this child), or a second reviewer's answer to a possible
/// match (confirmed, rejected; a note needed).
#[derive(Deserialize)]
pub(super) struct DecisionChange {
    decision: Option<Decision>,
    review: Option<LinkReview>,
    note: Option<String>,
}

/// The decision recorded, or the sighting as a review left it.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum Decided {
    Decision(DecisionRow),
    Review(TriageRow),
}

pub(super) async fn decide(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path((number, id)): Path<(String, String)>,
    Json(change): Json<DecisionChange>,
) -> Result<Json<Decided>, ApiError> {
    let note = change.note.filter(|n| !n.trim().is_empty());
    let decided = desk
        .blocking(move |d| {
            let (state, note) = (&d.state, note.as_deref());
            Ok(match (change.decision, change.review) {
                (Some(decision), None) => {
                    Decided::Decision(state.decide_candidate(&by, &number, &id, decision, note)?)
                }
                (None, Some(review)) => Decided::Review(state.review_link(
                    &by,
                    &number,
                    &id,
                    review,
                    note.unwrap_or_default(),
                )?),
                _ => {
                    let detail = "a decision or a review, one of them";
                    return Err(ApiError::refused(
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        detail,
                    ));
                }
            })
        })
        .await?;
    Ok(Json(decided))
}
