//! The reviewers' API: sightings searched and paged on the server ([`super::search`]), one sighting with its
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
use super::search;
use super::views::{Detail, MapPoints, Page, SightingView};
use super::Desk;
use crate::lead;
use crate::state::{LeadGate, Reviewer, SearchQuery, StateError, Triage, TriageRow};

/// Sightings per page at most.
const MAX_PAGE: u64 = 500;

/// Which page of the list (the search is in the same query: [`SearchQuery`]).
#[derive(Deserialize)]
pub(super) struct PageQuery {
    #[serde(default)]
    offset: u64,
    limit: Option<u64>,
}

/// A sighting for the page ([`SightingView`]).
fn view(desk: &Desk, row: TriageRow) -> SightingView {
    let report = desk.report(&row.id);
    SightingView::new(row, report)
}

/// What the page needs to draw the map and show times in the desk's zone.
pub(super) async fn config(State(desk): State<Arc<Desk>>) -> Response {
    let time_zone = desk.zone_name();
    Json(json!({ "tiles": desk.config.tiles, "max_page": MAX_PAGE, "time_zone": time_zone }))
        .into_response()
}

/// Every located sighting under a search, compactly: `[id, lat, lon, triage, same_photo]`.
/// The map clusters them itself; the list pages.
pub(super) async fn map(
    State(desk): State<Arc<Desk>>,
    Query(search): Query<SearchQuery>,
) -> Response {
    let filter = match search::filter(&desk, &search) {
        Ok(filter) => filter,
        Err(e) => return e.into_response(),
    };
    match desk.blocking(move |d| d.state.map_points(&filter)).await {
        Ok(points) => Json(MapPoints { points }).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn list(
    State(desk): State<Arc<Desk>>,
    Query(q): Query<PageQuery>,
    Query(search): Query<SearchQuery>,
) -> Response {
    let filter = match search::filter(&desk, &search) {
        Ok(filter) => filter,
        Err(e) => return e.into_response(),
    };
    let (offset, limit) = (q.offset, q.limit.unwrap_or(100).min(MAX_PAGE));
    let page = desk
        .blocking(move |d| {
            let (rows, total) = d.state.search(&filter, offset, limit)?;
            let items = rows.into_iter().map(|r| view(d, r)).collect();
            Ok::<_, StateError>(Page {
                total,
                offset,
                items,
            })
        })
        .await;
    match page {
        Ok(page) => Json(page).into_response(),
        Err(e) => e.into_response(),
    }
}

pub(super) async fn detail(State(desk): State<Arc<Desk>>, Path(id): Path<String>) -> Response {
    let detail = desk
        .blocking(move |d| {
            let view = view(d, d.state.sighting(&id)?);
            let audit = d.state.audit(Some(&id))?;
            let named = view.report.as_ref().and_then(|r| r.observations.as_ref());
            let case_known = named
                .and_then(|o| o.case_number.as_deref())
                .map(|number| d.state.case(number).is_ok());
            Ok::<_, StateError>(Detail {
                view,
                audit,
                case_known,
            })
        })
        .await;
    match detail {
        Ok(detail) => Json(detail).into_response(),
        Err(e) => e.into_response(),
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
    /// The case the package is for.
    case: String,
    /// The officer's language: `zh`, `en` or `both` (the default).
    lang: Option<String>,
    /// The officer or unit it goes to.
    recipient: Option<String>,
    /// A case manager's reason to send sightings whose link is not confirmed.
    override_reason: Option<String>,
}

/// A signed lead package of verified sightings for a case, each once however often it is
/// named, made as `sighting-server lead` makes it with the settings the desk keeps. It is kept
/// under `leads/` with its signature, both fetched by name ([`lead_file`]); audited only once
/// made, so the audit log never holds a package that was not handed out.
pub(super) async fn lead_package(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(request): Json<LeadRequest>,
) -> Response {
    let langs = match lead::languages(request.lang.as_deref().unwrap_or("both")) {
        Ok(langs) => langs,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, "lead", e),
    };
    // A desk not set up for packages says so, and how, before anything is made or recorded.
    let config = match lead::LeadConfig::load(&desk.config.state) {
        Ok(config) => config,
        Err(e) => return refuse(StatusCode::CONFLICT, "lead_settings", format!("{e:#}")),
    };
    if config.key.as_deref().is_none_or(|key| !key.is_file()) {
        return refuse(StatusCode::CONFLICT, "lead_key_missing", NO_LEAD_KEY);
    }
    let made = tokio::task::spawn_blocking(move || {
        let settings = config.settings().map_err(Made::Settings)?;
        let export = lead::Export {
            desk: &desk.state,
            state: &desk.config.state,
            data: desk.data_dir(),
            by: &by,
            case: &request.case,
            ids: &request.ids,
            langs: &langs,
            now_ms: sighting_core::millis::now(),
            gate: LeadGate {
                recipient: text(&request.recipient),
                override_reason: text(&request.override_reason),
            },
        };
        lead::issue(&export, &settings, |id| desk.report(id)).map_err(Made::Export)
    })
    .await;
    match made {
        Ok(Ok((package, _))) => Json(json!({
            "name": package.name,
            "signature": format!("{}.minisig", package.name),
        }))
        .into_response(),
        Ok(Err(Made::Settings(e))) => {
            refuse(StatusCode::CONFLICT, "lead_settings", format!("{e:#}"))
        }
        Ok(Err(Made::Export(e))) => export_error(e),
        Err(_) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "lead",
            "the package could not be made",
        ),
    }
}

/// What the page shows a desk without a lead-signing key.
const NO_LEAD_KEY: &str = "this desk has no lead-signing key: make one with `sighting-server \
     keygen --lead-only --out ORG` (ORG: the organisation's key directory), publish ORG/lead.pub \
     beside recipient.txt, and start the desk once with --lead-key ORG/lead.key";

/// A field left empty is not given.
fn text(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|t| !t.trim().is_empty())
}

/// Why a package was not made.
enum Made {
    Settings(anyhow::Error),
    Export(lead::ExportError),
}

fn export_error(e: lead::ExportError) -> Response {
    use lead::ExportError as E;
    let detail = e.to_string();
    match e {
        E::Count => refuse(StatusCode::BAD_REQUEST, "lead", detail),
        E::Case(_) | E::NotOpened(_) => refuse(StatusCode::NOT_FOUND, "not_found", detail),
        E::State(StateError::Link(e)) => super::cases::link_error(e),
        E::State(e) => state_error(e),
        E::Package(lead::PackageError::NotVerified(_)) => {
            refuse(StatusCode::UNPROCESSABLE_ENTITY, "refused", detail)
        }
        E::Read { .. } | E::Package(_) => {
            tracing::error!(error = %detail, "lead package");
            refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "lead",
                "the package could not be made",
            )
        }
    }
}

/// A package the desk made, or its signature, by the name the desk gave it.
pub(super) async fn lead_file(State(desk): State<Arc<Desk>>, Path(name): Path<String>) -> Response {
    // Only names the desk gives: never a path from the request.
    let bytes = match lead::is_kept_name(&name) {
        true => {
            let path = desk.config.state.join(lead::LEADS_DIR).join(&name);
            tokio::fs::read(path).await.ok()
        }
        false => None,
    };
    let Some(bytes) = bytes else {
        return refuse(StatusCode::NOT_FOUND, "not_found", "no such lead package");
    };
    let kind = match name.ends_with(".zip") {
        true => "application/zip",
        false => "text/plain; charset=utf-8",
    };
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}
