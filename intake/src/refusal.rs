//! What every refused request gets: a status, `{ "error", "detail" }`, and `Retry-After` where
//! the client should come back.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::store::StoreError;

/// How long a phone is asked to wait when storage is full: an organisation prunes in hours.
const FULL_RETRY_AFTER_S: u64 = 1800;

/// A protocol error: a status and the JSON body every error carries.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    error: &'static str,
    detail: String,
    retry_after: Option<u64>,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            error,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The HTTP status the client gets.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub(crate) fn storage_full() -> Self {
        Refusal::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the server is out of storage for new reports; keep the report and retry later",
        )
        .retry_after(FULL_RETRY_AFTER_S)
    }

    pub(crate) fn internal(what: &str) -> Self {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", what)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.error, "detail": self.detail }));
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::OffsetMismatch { expected, actual } => Refusal::new(
                StatusCode::CONFLICT,
                "offset_mismatch",
                format!("Upload-Offset {expected} does not match the upload's offset {actual}"),
            ),
            StoreError::StaleBulletins { held } => Refusal::new(
                StatusCode::CONFLICT,
                "stale_bulletins",
                format!("the feed held is version {held}; a new feed must be newer"),
            ),
            gone if gone.is_unavailable() => {
                tracing::warn!(error = %gone, "storage unavailable");
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "storage is out of reach for now; retry later",
                )
                .retry_after(5)
            }
            full if full.is_full() => {
                tracing::warn!(error = %full, "storage full");
                Refusal::storage_full()
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                Refusal::internal("the server could not store the upload")
            }
        }
    }
}
