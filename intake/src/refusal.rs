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

/// Every store failure's status, in one place. Only the kind reaches the client; the backend's
/// own error goes to the log.
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
            StoreError::NotFound(_) => {
                Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such upload")
            }
            StoreError::Finished(_) => {
                Refusal::new(StatusCode::CONFLICT, "finished", "this upload is complete")
            }
            // 409, not a final 4xx: a phone asks for the offset, finds the upload gone, and
            // starts it again.
            StoreError::TooManyPieces { most, .. } => Refusal::new(
                StatusCode::CONFLICT,
                "too_many_pieces",
                format!(
                    "this upload came in more than {most} pieces and was dropped; \
                     start it again, in larger requests"
                ),
            ),
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %error_chain(&e), "storage unavailable");
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "storage is out of reach for now; retry later",
                )
                .retry_after(5)
            }
            StoreError::Full(_) => {
                tracing::warn!(error = %error_chain(&e), "storage full");
                Refusal::storage_full()
            }
            StoreError::Corrupt(_) | StoreError::Config(_) | StoreError::Failed(_) => {
                tracing::error!(error = %error_chain(&e), "storage failure");
                Refusal::internal("the server could not store the upload")
            }
        }
    }
}

/// An error and its causes, for the log.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let said = e.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        cause = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_store_failure_has_its_status_and_no_backend_detail() {
        let backend = || -> crate::store::Source { "connection refused by 10.0.0.7".into() };
        let cases = [
            (StoreError::Full(backend()), 507),
            (StoreError::Unavailable(backend()), 503),
            (StoreError::Failed(backend()), 500),
            (StoreError::Corrupt("row 7".into()), 500),
            (StoreError::NotFound(uuid::Uuid::nil()), 404),
            (StoreError::Finished(uuid::Uuid::nil()), 409),
            (
                StoreError::TooManyPieces {
                    id: uuid::Uuid::nil(),
                    most: 65,
                },
                409,
            ),
            (StoreError::StaleBulletins { held: 3 }, 409),
        ];
        for (error, status) in cases {
            let refusal = Refusal::from(error);
            assert_eq!(refusal.status().as_u16(), status);
            assert!(!refusal.detail.contains("10.0.0.7"), "{}", refusal.detail);
        }
    }
}
