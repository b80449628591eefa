//! The reviewers' API's one error type, and state calls off the async threads.
//!
//! A refusal says what the reviewer can act on (status, a stable code, words); anything that
//! failed inside the desk (SQLite, files, a panicked task) is logged and answered with a
//! generic 500, so no database or path detail reaches a browser.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::Desk;
use crate::state::{CaseError, StateError};

#[derive(Debug)]
pub(super) enum ApiError {
    /// A refusal the reviewer can act on.
    Refused {
        status: StatusCode,
        code: &'static str,
        detail: String,
    },
    State(StateError),
    Case(CaseError),
    /// Failed inside the desk: logged, never sent.
    Internal(String),
}

impl From<StateError> for ApiError {
    fn from(e: StateError) -> Self {
        ApiError::State(e)
    }
}

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> Self {
        ApiError::Case(e)
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("a desk task failed: {e}"))
    }
}

fn refuse(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    let body = json!({ "error": code, "detail": detail.into() });
    (status, Json(body)).into_response()
}

fn internal(what: &str, error: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %error, "{what}");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the desk failed",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Refused {
                status,
                code,
                detail,
            } => refuse(status, code, detail),
            ApiError::State(e) => state_response(e),
            ApiError::Case(e) => case_response(e),
            ApiError::Internal(e) => internal("desk", &e),
        }
    }
}

fn conflict(detail: String, current: i64) -> Response {
    let body = json!({ "error": "conflict", "detail": detail, "current_version": current });
    (StatusCode::CONFLICT, Json(body)).into_response()
}

fn state_response(e: StateError) -> Response {
    let detail = e.to_string();
    match e {
        StateError::NotFound(_) => refuse(StatusCode::NOT_FOUND, "not_found", detail),
        StateError::Conflict { current } => conflict(detail, current),
        StateError::IllegalChange { .. } | StateError::NotALead | StateError::NoteTooLong => {
            refuse(StatusCode::UNPROCESSABLE_ENTITY, "refused", detail)
        }
        StateError::Credentials => refuse(StatusCode::UNAUTHORIZED, "credentials", detail),
        StateError::Account(_) => refuse(StatusCode::BAD_REQUEST, "account", detail),
        other => internal("desk state", &other),
    }
}

fn case_response(e: CaseError) -> Response {
    let detail = e.to_string();
    match e {
        CaseError::NotFound(_) => refuse(StatusCode::NOT_FOUND, "not_found", detail),
        CaseError::Forbidden => refuse(StatusCode::FORBIDDEN, "forbidden", detail),
        CaseError::Exists(_) => refuse(StatusCode::CONFLICT, "exists", detail),
        CaseError::Conflict { current } => conflict(detail, current),
        // What the gate needs, and the field that holds contact details, also as keys, so the
        // page can say it in the reader's language.
        CaseError::NotVetted(missing) | CaseError::WouldUnvet(missing) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "refused", "detail": detail, "missing": missing })),
        )
            .into_response(),
        CaseError::Published { field, contact } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": "refused", "detail": detail, "field": field, "contact": contact,
            })),
        )
            .into_response(),
        CaseError::Closed => refuse(StatusCode::UNPROCESSABLE_ENTITY, "refused", detail),
        CaseError::Invalid(_) => refuse(StatusCode::BAD_REQUEST, "invalid", detail),
        // SQLite's words name tables and constraints: the log's, not the browser's.
        CaseError::Sqlite(e) => internal("desk cases", &e),
    }
}

impl Desk {
    /// Runs a state call on a blocking thread (SQLite waits on the disk and on the state's
    /// lock; the async threads serve other requests meanwhile).
    pub(super) async fn blocking<T, E>(
        self: &Arc<Self>,
        call: impl FnOnce(&Desk) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let desk = self.clone();
        tokio::task::spawn_blocking(move || call(&desk))
            .await?
            .map_err(Into::into)
    }
}
