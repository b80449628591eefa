//! The reviewers' API: sightings searched and paged on the server ([`super::search`]), one sighting with its
//! audit trail, its photo, and the changes (triage with a note, assignment), each naming the
//! version it was made from.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::search;
use super::views::{Detail, MapPoints, Page, SightingView};
use super::{Desk, MapTiles};
use crate::lead;
use crate::sightings::Sighting;
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

/// What the page needs to draw the map and show times in the desk's zone, and whether it can
/// offer lead packages.
#[derive(Serialize)]
pub(super) struct Config {
    max_page: u64,
    tiles: Option<MapTiles>,
    time_zone: String,
    /// Why this desk cannot make lead packages yet ([`lead_unready`]), so the page says so
    /// before a reviewer fills the form.
    lead_unready: Option<&'static str>,
}

pub(super) async fn config(State(desk): State<Arc<Desk>>) -> Result<Json<Config>, ApiError> {
    // The zone is in the lead settings, a file.
    let (time_zone, lead_unready) = desk
        .blocking(|d| Ok::<_, Infallible>((d.zone_name(), lead_unready(&d.config.state))))
        .await?;
    Ok(Json(Config {
        max_page: MAX_PAGE,
        tiles: desk.config.tiles.clone(),
        time_zone,
        lead_unready,
    }))
}

/// The first piece a desk lacks for lead packages, as a code the page puts in the reader's
/// words (what only the desk's operator can give): the signing key, the organisation's
/// contact, or settings it cannot read.
fn lead_unready(state: &std::path::Path) -> Option<&'static str> {
    match lead::LeadConfig::load(state) {
        Err(_) => Some("lead_settings"),
        Ok(c) if c.key.as_deref().is_none_or(|key| !key.is_file()) => Some("lead_key_missing"),
        Ok(c) if c.contact.is_none() => Some("lead_contact_missing"),
        Ok(_) => None,
    }
}

/// Every located sighting under a search, compactly: `[id, lat, lon, triage, same_photo]`.
/// The map clusters them itself; the list pages.
pub(super) async fn map(
    State(desk): State<Arc<Desk>>,
    Query(search): Query<SearchQuery>,
) -> Result<Json<MapPoints>, ApiError> {
    let points = desk
        .blocking(move |d| {
            let filter = search::filter(d, &search)?;
            Ok::<_, ApiError>(d.state.map_points(&filter)?)
        })
        .await?;
    Ok(Json(MapPoints { points }))
}

pub(super) async fn list(
    State(desk): State<Arc<Desk>>,
    Query(q): Query<PageQuery>,
    Query(search): Query<SearchQuery>,
) -> Result<Json<Page>, ApiError> {
    let (offset, limit) = (q.offset, q.limit.unwrap_or(100).min(MAX_PAGE));
    let page = desk
        .blocking(move |d| {
            let filter = search::filter(d, &search)?;
            let (rows, total) = d.state.search(&filter, offset, limit)?;
            // Without their manifests: a page shows none, and parsing 50 took most of its time.
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let mut reports: HashMap<String, Sighting> = (d.state.reports(&ids)?.into_iter())
                .map(|s| (s.id.clone(), s))
                .collect();
            let items = rows
                .into_iter()
                .map(|r| {
                    let report = reports.remove(&r.id);
                    SightingView::new(r, report)
                })
                .collect();
            Ok::<_, ApiError>(Page {
                total,
                offset,
                items,
            })
        })
        .await?;
    Ok(Json(page))
}

pub(super) async fn detail(
    State(desk): State<Arc<Desk>>,
    Path(id): Path<String>,
) -> Result<Json<Detail>, ApiError> {
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
        .await?;
    Ok(Json(detail))
}

fn not_found(detail: &str) -> ApiError {
    ApiError::refused(StatusCode::NOT_FOUND, "not_found", detail)
}

/// A photo the desk keeps, as a JPEG answer.
fn jpeg(bytes: Vec<u8>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/jpeg")], bytes)
}

pub(super) async fn photo(
    State(desk): State<Arc<Desk>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = desk
        .blocking(move |d| {
            let path = d
                .photo_path(&id)
                .ok_or_else(|| not_found("no verified photo for that id"))?;
            std::fs::read(path).map_err(|_| not_found("the photo is not on this desk"))
        })
        .await?;
    Ok(jpeg(bytes))
}

/// Long edge of the list's thumbnails, in pixels.
const THUMB_EDGE: u32 = 240;

/// A small copy of the photo, made on first request and kept (0600) beside the photo.
pub(super) async fn thumb(
    State(desk): State<Arc<Desk>>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let bytes = desk
        .blocking(move |d| {
            let photo = d
                .photo_path(&id)
                .ok_or_else(|| not_found("no verified photo for that id"))?;
            small_copy(&photo).map_err(|e| {
                tracing::warn!(error = %e, "making a thumbnail");
                not_found("no thumbnail for that photo")
            })
        })
        .await?;
    Ok(jpeg(bytes))
}

/// The thumbnail kept beside `photo`, made first if it is not there yet.
fn small_copy(photo: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let kept = photo.with_file_name("thumb.jpg");
    if let Ok(bytes) = std::fs::read(&kept) {
        return Ok(bytes);
    }
    let options = sighting_core::capture::CaptureOptions::default();
    let small = sighting_core::capture::small_copy(&std::fs::read(photo)?, THUMB_EDGE, &options)?;
    crate::write_private(&kept, &small)?;
    Ok(small)
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
) -> Result<Json<SightingView>, ApiError> {
    let to = change.to.as_deref().map(str::parse::<Triage>).transpose();
    let to = to.map_err(|e| ApiError::refused(StatusCode::BAD_REQUEST, "triage", e.to_string()))?;
    let note = change.note.filter(|n| !n.trim().is_empty());
    let changed = desk
        .blocking(move |d| {
            let (by, version) = (&by, change.version);
            let row = match (to, note.as_deref()) {
                (Some(to), note) => d.state.change_triage(by, &id, version, to, note)?,
                (None, Some(note)) => d.state.comment(by, &id, version, note)?,
                (None, None) => {
                    let detail = "nothing to save: a new status, a note, or both";
                    return Err(ApiError::refused(StatusCode::BAD_REQUEST, "triage", detail));
                }
            };
            Ok(view(d, row))
        })
        .await?;
    Ok(Json(changed))
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
) -> Result<Json<SightingView>, ApiError> {
    let changed = desk
        .blocking(move |d| {
            let assignee = change.assignee.as_deref();
            let row = d.state.assign(&by, &id, change.version, assignee)?;
            Ok::<_, StateError>(view(d, row))
        })
        .await?;
    Ok(Json(changed))
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

/// A package made: its name and its signature's, each fetched by name ([`lead_file`]).
#[derive(Serialize)]
pub(super) struct LeadMade {
    name: String,
    signature: String,
}

/// A signed lead package of verified sightings for a case, each once however often it is
/// named, made as `sighting-server lead` makes it with the settings the desk keeps. It is kept
/// under `leads/` with its signature, both fetched by name ([`lead_file`]); audited only once
/// made, so the audit log never holds a package that was not handed out.
pub(super) async fn lead_package(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(request): Json<LeadRequest>,
) -> Result<Json<LeadMade>, ApiError> {
    let langs = lead::languages(request.lang.as_deref().unwrap_or("both"))
        .map_err(|e| ApiError::refused(StatusCode::BAD_REQUEST, "lead", e))?;
    let (package, _) = desk
        .blocking(move |d| {
            // A desk not set up for packages says so before anything is made or recorded (the
            // page knew from /api/config: this is the safety net), as a code the page words;
            // the detail is for the operator's scripts and the log.
            if let Some(code) = lead_unready(&d.config.state) {
                let detail = match code {
                    "lead_key_missing" => NO_LEAD_KEY,
                    "lead_contact_missing" => NO_CONTACT,
                    _ => "lead-settings.json is not readable",
                };
                return Err(ApiError::refused(StatusCode::CONFLICT, code, detail));
            }
            let unset = |e: anyhow::Error| {
                ApiError::refused(StatusCode::CONFLICT, "lead_settings", format!("{e:#}"))
            };
            let config = lead::LeadConfig::load(&d.config.state).map_err(unset)?;
            let settings = config.settings().map_err(unset)?;
            let export = lead::Export {
                desk: &d.state,
                state: &d.config.state,
                data: d.data_dir(),
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
            Ok(lead::issue(&export, &settings, |id| d.report(id))?)
        })
        .await?;
    Ok(Json(LeadMade {
        signature: format!("{}.minisig", package.name),
        name: package.name,
    }))
}

/// What the page shows a desk without a lead-signing key.
const NO_LEAD_KEY: &str = "this desk has no lead-signing key: make one with `sighting-server \
     keygen --lead-only --out ORG` (ORG: the organisation's key directory), publish ORG/lead.pub \
     beside recipient.txt, and start the desk once with --lead-key ORG/lead.key";
/// What a script is told of a desk without the organisation's contact.
const NO_CONTACT: &str =
    "this desk has no organisation contact for lead packages: start it once with --contact";

/// A field left empty is not given.
fn text(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|t| !t.trim().is_empty())
}

/// Why a package was not made, as the API answers it.
impl From<lead::ExportError> for ApiError {
    fn from(e: lead::ExportError) -> Self {
        use lead::ExportError as E;
        let detail = e.to_string();
        match e {
            E::Count => ApiError::refused(StatusCode::BAD_REQUEST, "lead", detail),
            E::Case(_) | E::NotOpened(_) => not_found(&detail),
            E::State(e) => e.into(),
            E::Package(lead::PackageError::NotVerified(_)) => {
                ApiError::refused(StatusCode::UNPROCESSABLE_ENTITY, "refused", detail)
            }
            E::Read { .. } | E::Package(_) => ApiError::Internal(format!("lead package: {detail}")),
        }
    }
}

/// A package the desk made, or its signature, by the name the desk gave it.
pub(super) async fn lead_file(
    State(desk): State<Arc<Desk>>,
    Path(name): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    // Only names the desk gives: never a path from the request.
    if !lead::is_kept_name(&name) {
        return Err(not_found("no such lead package"));
    }
    let path = desk.config.state.join(lead::LEADS_DIR).join(&name);
    let bytes = desk
        .blocking(move |_| std::fs::read(path).map_err(|_| not_found("no such lead package")))
        .await?;
    let kind = match name.ends_with(".zip") {
        true => "application/zip",
        false => "text/plain; charset=utf-8",
    };
    let headers = [
        (header::CONTENT_TYPE, kind.to_string()),
        (
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ),
    ];
    Ok((headers, bytes))
}
