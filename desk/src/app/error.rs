//! The reviewers' API's one error type, and state calls off the async threads.
//!
//! A refusal says what the reviewer can act on (status, a stable code, words); anything that
//! failed inside the desk (SQLite, files, a panicked task) is logged and answered with a
//! generic 500, so no database or path detail reaches a browser.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::Desk;
use crate::state::{CaseError, LinkError, StateError};

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

impl ApiError {
    pub(super) fn refused(
        status: StatusCode,
        code: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError::Refused {
            status,
            code,
            detail: detail.into(),
        }
    }

    /// The status and JSON body the browser is sent; what failed inside the desk is logged
    /// here, and only here.
    pub(super) fn answer(self) -> (StatusCode, Value) {
        match self {
            ApiError::Refused {
                status,
                code,
                detail,
            } => (status, refusal(code, detail)),
            ApiError::State(e) => state_answer(e),
            ApiError::Case(e) => case_answer(e),
            ApiError::Internal(e) => internal("desk", &e),
        }
    }
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

impl From<std::convert::Infallible> for ApiError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::Internal(format!("a desk task failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = self.answer();
        (status, Json(body)).into_response()
    }
}

/// A JSON refusal with its status (for what answers before a handler: the session and host
/// checks).
pub(super) fn refuse(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    (status, Json(refusal(code, detail.into()))).into_response()
}

fn refusal(code: &str, detail: String) -> Value {
    json!({ "error": code, "detail": detail })
}

fn internal(what: &str, error: &dyn std::fmt::Display) -> (StatusCode, Value) {
    tracing::error!(error = %error, "{what}");
    let body = refusal("internal", "the desk failed".into());
    (StatusCode::INTERNAL_SERVER_ERROR, body)
}

fn conflict(detail: String, current: i64) -> (StatusCode, Value) {
    let body = json!({ "error": "conflict", "detail": detail, "current_version": current });
    (StatusCode::CONFLICT, body)
}

fn state_answer(e: StateError) -> (StatusCode, Value) {
    let detail = e.to_string();
    let refused = |status, code| (status, refusal(code, detail.clone()));
    match e {
        StateError::NotFound(_) => refused(StatusCode::NOT_FOUND, "not_found"),
        StateError::Conflict { current } => conflict(detail, current),
        StateError::IllegalChange { .. } | StateError::NotALead | StateError::NoteTooLong => {
            refused(StatusCode::UNPROCESSABLE_ENTITY, "refused")
        }
        StateError::Link(e) => link_answer(e),
        StateError::Credentials => refused(StatusCode::UNAUTHORIZED, "credentials"),
        StateError::Account(_) => refused(StatusCode::BAD_REQUEST, "account"),
        other => internal("desk state", &other),
    }
}

/// A link refused: 403 for an override by someone who does not manage cases, 422 otherwise.
fn link_answer(e: LinkError) -> (StatusCode, Value) {
    let status = match e {
        LinkError::OverrideNotAllowed => StatusCode::FORBIDDEN,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let code = match e {
        LinkError::NotConfirmed { .. } => "not_confirmed",
        LinkError::OwnProposal => "own_proposal",
        LinkError::NoteNeeded => "note_needed",
        LinkError::OverrideNotAllowed => "forbidden",
        _ => "refused",
    };
    (status, refusal(code, e.to_string()))
}

fn case_answer(e: CaseError) -> (StatusCode, Value) {
    let detail = e.to_string();
    let refused = |status, code| (status, refusal(code, detail.clone()));
    match e {
        CaseError::NotFound(_) => refused(StatusCode::NOT_FOUND, "not_found"),
        CaseError::Forbidden => refused(StatusCode::FORBIDDEN, "forbidden"),
        CaseError::Exists(_) => refused(StatusCode::CONFLICT, "exists"),
        CaseError::Conflict { current } => conflict(detail, current),
        // What the gate needs, and the field that holds contact details, also as keys, so the
        // page can say it in the reader's language.
        CaseError::NotVetted(missing) | CaseError::WouldUnvet(missing) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "error": "refused", "detail": detail, "missing": missing }),
        ),
        CaseError::Published { field, contact } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "error": "refused", "detail": detail, "field": field, "contact": contact }),
        ),
        CaseError::Closed => refused(StatusCode::UNPROCESSABLE_ENTITY, "refused"),
        CaseError::Invalid(_) => refused(StatusCode::BAD_REQUEST, "invalid"),
        // SQLite's words name tables and constraints: the log's, not the browser's.
        CaseError::Sqlite(e) => internal("desk cases", &e),
    }
}

impl Desk {
    /// Runs a state (or disk) call on a blocking thread: SQLite waits on the disk and on the
    /// write lock, and the async threads serve other requests meanwhile. Every handler that
    /// touches the state or the disk goes through here.
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
