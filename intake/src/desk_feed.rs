//! The desk's read-only feed: finished reports in the order they finished, each one's
//! ciphertext and intake record. Only for the holder of the desk token (`Authorization: Bearer
//! …`, compared by its SHA-256, which is all the intake keeps); anything else gets 401. The
//! intake still sees no plaintext: it hands over the same ciphertext the phone sent.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sighting_core::wire::desk_feed::Listing;
use uuid::Uuid;

use super::store::FinishedBytes;
use super::{Intake, Refusal};

/// Reports per page at most.
const MAX_PAGE: u32 = 1000;

/// Lets a request through only with the desk token.
pub(super) async fn require_token(
    State(intake): State<Arc<Intake>>,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let hash = |t: &str| ring::digest::digest(&ring::digest::SHA256, t.as_bytes());
    let allowed = match (presented, intake.config.desk_token_sha256) {
        (Some(token), Some(expected)) => hash(token).as_ref() == expected.as_slice(),
        _ => false,
    };
    if !allowed {
        let mut refused = Refusal::new(
            StatusCode::UNAUTHORIZED,
            "desk_token",
            "the desk token is required",
        )
        .into_response();
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return refused;
    }
    next.run(req).await
}

#[derive(Deserialize)]
pub(super) struct Page {
    #[serde(default)]
    after: i64,
    limit: Option<u32>,
}

/// `GET /v1/desk/reports?after=SEQ&limit=N`: `{ "reports": [...], "next": SEQ }`.
pub(super) async fn list(
    State(intake): State<Arc<Intake>>,
    Query(page): Query<Page>,
) -> Result<Response, Refusal> {
    let limit = page.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE);
    let reports = intake.store.finished_after(page.after, limit).await?;
    Ok(Json(Listing::after(page.after, reports)).into_response())
}

async fn finished(intake: &Intake, id: &str) -> Result<FinishedBytes, Refusal> {
    let not_found = || {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such finished report",
        )
    };
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    intake.store.read_finished(id).await?.ok_or_else(not_found)
}

/// `GET /v1/desk/reports/{id}`: the ciphertext, as the phone sent it.
pub(super) async fn ciphertext(
    State(intake): State<Arc<Intake>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let bytes = finished(&intake, &id).await?;
    let content_type = [(header::CONTENT_TYPE, "application/octet-stream")];
    Ok((content_type, bytes.ciphertext).into_response())
}

/// `GET /v1/desk/reports/{id}/record`: the intake record (receipt, clocks).
pub(super) async fn record(
    State(intake): State<Arc<Intake>>,
    Path(id): Path<String>,
) -> Result<Response, Refusal> {
    let bytes = finished(&intake, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes.record).into_response())
}
