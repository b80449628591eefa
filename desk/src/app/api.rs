//! The reviewers' API: sightings filtered and paged on the server, one sighting with its
//! audit trail, its photo, and the changes (triage with a note, assignment), each naming the
//! version it was made from.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::auth::{refuse, state_error};
use super::Desk;
use crate::state::{Reviewer, Triage, TriageRow};

/// Sightings per page at most.
const MAX_PAGE: u64 = 500;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    triage: Option<String>,
    #[serde(default)]
    offset: u64,
    limit: Option<u64>,
}

/// A sighting for the page: the desk's triage with what the report says, and the statuses it
/// may move to from here (a report that failed verification never to a lead).
fn view(desk: &Desk, row: TriageRow) -> serde_json::Value {
    let next: Vec<Triage> = Triage::ALL
        .into_iter()
        .filter(|t| row.triage.can_become(*t) && (row.verified || !t.is_lead()))
        .collect();
    json!({ "triage": row, "report": desk.report(&row.id), "next": next })
}

/// What the page needs to draw the map.
pub(super) async fn config(State(desk): State<Arc<Desk>>) -> Response {
    Json(json!({ "tiles": desk.config.tiles, "max_page": MAX_PAGE })).into_response()
}

#[derive(Deserialize)]
pub(super) struct MapQuery {
    triage: Option<String>,
}

/// Every located sighting under a filter, compactly: `[id, lat, lon, triage, same_photo]`. The map
/// clusters them itself; the list pages.
pub(super) async fn map(State(desk): State<Arc<Desk>>, Query(q): Query<MapQuery>) -> Response {
    let only = match q.triage.as_deref().map(str::parse::<Triage>).transpose() {
        Ok(only) => only,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "query", e.to_string()),
    };
    let rows = match desk.state.list(only, 0, u64::MAX) {
        Ok((rows, _)) => rows,
        Err(e) => return state_error(e),
    };
    let points: Vec<_> = desk.with_reports(|reports| {
        rows.into_iter()
            .filter_map(|row| {
                let s = reports.get(&row.id)?;
                Some(json!([row.id, s.lat?, s.lon?, row.triage, s.same_photo]))
            })
            .collect()
    });
    Json(json!({ "points": points })).into_response()
}

pub(super) async fn list(State(desk): State<Arc<Desk>>, Query(q): Query<ListQuery>) -> Response {
    let only = match q.triage.as_deref().map(str::parse::<Triage>).transpose() {
        Ok(only) => only,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "query", e.to_string()),
    };
    let limit = q.limit.unwrap_or(100).min(MAX_PAGE);
    match desk.state.list(only, q.offset, limit) {
        Ok((rows, total)) => {
            let items: Vec<_> = rows.into_iter().map(|r| view(&desk, r)).collect();
            Json(json!({ "total": total, "offset": q.offset, "items": items })).into_response()
        }
        Err(e) => state_error(e),
    }
}

pub(super) async fn detail(State(desk): State<Arc<Desk>>, Path(id): Path<String>) -> Response {
    let row = match desk.state.sighting(&id) {
        Ok(row) => row,
        Err(e) => return state_error(e),
    };
    match desk.state.audit(Some(&id)) {
        Ok(audit) => {
            let mut v = view(&desk, row);
            v["audit"] = json!(audit);
            // A case number the register does not have is shown as such, never dropped.
            let named = v["report"]["observations"]["case_number"].as_str();
            if let Some(number) = named {
                v["case_known"] = json!(desk.state.case(number).is_ok());
            }
            Json(v).into_response()
        }
        Err(e) => state_error(e),
    }
}

pub(super) async fn photo(State(desk): State<Arc<Desk>>, Path(id): Path<String>) -> Response {
    let Some(path) = desk.photo_path(&id) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "no verified photo for that id",
        );
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response(),
        Err(_) => refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "the photo is not on this desk",
        ),
    }
}

/// Long edge of the list's thumbnails, in pixels.
const THUMB_EDGE: u32 = 240;

/// A small copy of the photo, made on first request and kept (0600) beside the photo.
pub(super) async fn thumb(State(desk): State<Arc<Desk>>, Path(id): Path<String>) -> Response {
    let Some(photo) = desk.photo_path(&id) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "no verified photo for that id",
        );
    };
    let made = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let kept = photo.with_file_name("thumb.jpg");
        if let Ok(bytes) = std::fs::read(&kept) {
            return Ok(bytes);
        }
        let options = sighting_core::capture::CaptureOptions::default();
        let small =
            sighting_core::capture::small_copy(&std::fs::read(&photo)?, THUMB_EDGE, &options)?;
        crate::write_private(&kept, &small)?;
        Ok(small)
    })
    .await;
    match made {
        Ok(Ok(bytes)) => ([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response(),
        _ => refuse(
            StatusCode::NOT_FOUND,
            "not_found",
            "no thumbnail for that photo",
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct TriageChange {
    /// The new status; none: the status stays and the note is a comment.
    to: Option<String>,
    version: i64,
    note: Option<String>,
}

pub(super) async fn triage(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(id): Path<String>,
    Json(change): Json<TriageChange>,
) -> Response {
    let to = match change.to.as_deref().map(str::parse::<Triage>).transpose() {
        Ok(to) => to,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "triage", e.to_string()),
    };
    let note = change.note.as_deref().filter(|n| !n.trim().is_empty());
    let changed = match (to, note) {
        (Some(to), note) => desk.state.change_triage(&by, &id, change.version, to, note),
        (None, Some(note)) => desk.state.comment(&by, &id, change.version, note),
        (None, None) => {
            let detail = "nothing to save: a new status, a note, or both";
            return refuse(StatusCode::BAD_REQUEST, "triage", detail);
        }
    };
    match changed {
        Ok(row) => Json(view(&desk, row)).into_response(),
        Err(e) => state_error(e),
    }
}

#[derive(Deserialize)]
pub(super) struct Assignment {
    assignee: Option<String>,
    version: i64,
}

pub(super) async fn assign(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(id): Path<String>,
    Json(change): Json<Assignment>,
) -> Response {
    match desk
        .state
        .assign(&by, &id, change.version, change.assignee.as_deref())
    {
        Ok(row) => Json(view(&desk, row)).into_response(),
        Err(e) => state_error(e),
    }
}

#[derive(Deserialize)]
pub(super) struct LeadRequest {
    ids: Vec<String>,
}

/// Sightings per lead package at most.
const MAX_LEAD: usize = 100;

/// A lead package (ZIP) of verified sightings, each once however often it is named. It is
/// audited only once it is made (its page names who made it and when), so the audit log never
/// holds a package that was not handed out.
pub(super) async fn lead_package(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(request): Json<LeadRequest>,
) -> Response {
    if request.ids.is_empty() || request.ids.len() > MAX_LEAD {
        let detail = format!("a lead package holds 1 to {MAX_LEAD} sightings");
        return refuse(StatusCode::BAD_REQUEST, "lead", detail);
    }
    let mut named = std::collections::HashSet::new();
    let ids: Vec<String> = request
        .ids
        .into_iter()
        .filter(|id| named.insert(id.clone()))
        .collect();
    if let Err(e) = desk.state.check_lead_package(&ids) {
        return state_error(e);
    }
    let making = (desk.clone(), ids.clone(), by.name.clone());
    let made = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let (desk, ids, by) = making;
        let items = ids
            .iter()
            .map(|id| desk.lead_item(id))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(crate::lead::package(
            &items,
            &by,
            sighting_core::millis::now(),
        )?)
    })
    .await;
    match made {
        Ok(Ok(zip)) => {
            if let Err(e) = desk.state.record_lead_package(&by, &ids) {
                return state_error(e);
            }
            (
                [
                    (header::CONTENT_TYPE, "application/zip"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"lead-package.zip\"",
                    ),
                ],
                zip,
            )
                .into_response()
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "lead package");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "lead",
                "the package could not be made",
            )
        }
        Err(_) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "lead",
            "the package could not be made",
        ),
    }
}

pub(super) async fn audit(State(desk): State<Arc<Desk>>) -> Response {
    match desk.state.audit(None) {
        Ok(entries) => Json(json!({ "entries": entries })).into_response(),
        Err(e) => state_error(e),
    }
}
