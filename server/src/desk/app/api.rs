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
use crate::desk::state::{Reviewer, Triage, TriageRow};

/// Sightings per page at most.
const MAX_PAGE: u64 = 500;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    triage: Option<String>,
    #[serde(default)]
    offset: u64,
    limit: Option<u64>,
}

/// A sighting for the page: the desk's triage with what the report says.
fn view(desk: &Desk, row: TriageRow) -> serde_json::Value {
    json!({ "triage": row, "report": desk.sighting(&row.id) })
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

#[derive(Deserialize)]
pub(super) struct TriageChange {
    to: String,
    version: i64,
    note: Option<String>,
}

pub(super) async fn triage(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(id): Path<String>,
    Json(change): Json<TriageChange>,
) -> Response {
    let to = match change.to.parse::<Triage>() {
        Ok(to) => to,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "triage", e.to_string()),
    };
    let note = change.note.as_deref().filter(|n| !n.trim().is_empty());
    match desk.state.change_triage(&by, &id, change.version, to, note) {
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

/// A lead package (ZIP) of verified sightings; making it is audited first, so the package's
/// chain of custody ends with it.
pub(super) async fn lead_package(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(request): Json<LeadRequest>,
) -> Response {
    if request.ids.is_empty() || request.ids.len() > MAX_LEAD {
        let detail = format!("a lead package holds 1 to {MAX_LEAD} sightings");
        return refuse(StatusCode::BAD_REQUEST, "lead", detail);
    }
    if let Err(e) = desk.state.record_lead_package(&by, &request.ids) {
        return state_error(e);
    }
    let made = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let items = request
            .ids
            .iter()
            .map(|id| desk.lead_item(id))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(crate::desk::lead::package(
            &items,
            &by.name,
            sighting_core::millis::now(),
        )?)
    })
    .await;
    match made {
        Ok(Ok(zip)) => (
            [
                (header::CONTENT_TYPE, "application/zip"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"lead-package.zip\"",
                ),
            ],
            zip,
        )
            .into_response(),
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
