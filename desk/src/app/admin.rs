//! The desk's people in the app: everyone sees who may be assigned a sighting; an admin adds,
//! disables, enables, unlocks people and gives them a new passphrase; each person makes and
//! revokes their own API tokens (for scripts that act as them); and the audit log, a page at a
//! time. Every change is audited in the state.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::json;

use super::auth::{refuse, state_error};
use super::Desk;
use crate::state::{AuditFilter, Reviewer, Role, StateError};

/// Audit lines per page when the page does not say.
const AUDIT_PAGE: u64 = 50;

/// The refusal for anyone but an admin.
fn unless_admin(by: &Reviewer) -> Option<Response> {
    (by.role != Role::Admin).then(|| {
        refuse(
            StatusCode::FORBIDDEN,
            "admin",
            "only an admin manages the desk's people",
        )
    })
}

fn done(result: Result<(), StateError>) -> Response {
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => state_error(e),
    }
}

/// The desk's people: an admin sees everyone, the others who is active (to assign).
pub(super) async fn people(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
) -> Response {
    match desk.state.accounts() {
        Ok(accounts) => {
            let shown: Vec<_> = accounts
                .into_iter()
                .filter(|a| by.role == Role::Admin || !a.disabled)
                .collect();
            Json(json!({ "people": shown })).into_response()
        }
        Err(e) => state_error(e),
    }
}

#[derive(Deserialize)]
pub(super) struct NewPerson {
    name: String,
    password: String,
    role: String,
}

pub(super) async fn add(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(new): Json<NewPerson>,
) -> Response {
    if let Some(refused) = unless_admin(&by) {
        return refused;
    }
    let role = match new.role.parse::<Role>() {
        Ok(role) => role,
        Err(e) => return state_error(e),
    };
    // argon2id takes tens of milliseconds: off the async threads.
    let added = tokio::task::spawn_blocking(move || {
        desk.state
            .add_reviewer_as(&by, &new.name, &new.password, role)
    })
    .await;
    match added {
        Ok(Ok(person)) => (StatusCode::CREATED, Json(json!({ "person": person }))).into_response(),
        Ok(Err(e)) => state_error(e),
        Err(_) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the desk failed",
        ),
    }
}

#[derive(Deserialize)]
pub(super) struct NewPassphrase {
    password: String,
}

/// An admin's change to one person: `disable`, `enable` or `unlock`.
pub(super) async fn change(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path((name, what)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = unless_admin(&by) {
        return refused;
    }
    match what.as_str() {
        "disable" => done(desk.state.set_disabled(Some(&by), &name, true)),
        "enable" => done(desk.state.set_disabled(Some(&by), &name, false)),
        "unlock" => done(desk.state.unlock(Some(&by), &name)),
        _ => refuse(StatusCode::NOT_FOUND, "not_found", "no such change"),
    }
}

/// An admin gives a person a new passphrase; their sessions end.
pub(super) async fn reset(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(name): Path<String>,
    Json(new): Json<NewPassphrase>,
) -> Response {
    if let Some(refused) = unless_admin(&by) {
        return refused;
    }
    let reset = tokio::task::spawn_blocking(move || {
        desk.state.reset_password(Some(&by), &name, &new.password)
    })
    .await;
    match reset {
        Ok(result) => done(result),
        Err(_) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the desk failed",
        ),
    }
}

/// The logged-in person's API tokens (never the tokens themselves).
pub(super) async fn tokens(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
) -> Response {
    match desk.state.tokens(&by) {
        Ok(tokens) => Json(json!({ "tokens": tokens })).into_response(),
        Err(e) => state_error(e),
    }
}

#[derive(Deserialize)]
pub(super) struct NewToken {
    label: String,
}

/// A new token for the logged-in person: in this answer only, never again.
pub(super) async fn make_token(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(new): Json<NewToken>,
) -> Response {
    match desk.state.make_token(&by, &new.label) {
        Ok((row, token)) => (
            StatusCode::CREATED,
            Json(json!({ "token": token, "row": row })),
        )
            .into_response(),
        Err(e) => state_error(e),
    }
}

pub(super) async fn revoke_token(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(id): Path<i64>,
) -> Response {
    done(desk.state.revoke_token(&by, id))
}

#[derive(Deserialize)]
pub(super) struct AuditQuery {
    person: Option<String>,
    action: Option<String>,
    sighting: Option<String>,
    case: Option<String>,
    #[serde(default)]
    offset: u64,
    limit: Option<u64>,
}

/// A page of the audit log, newest first, with the actions it holds for the filter.
pub(super) async fn audit(State(desk): State<Arc<Desk>>, Query(q): Query<AuditQuery>) -> Response {
    let filter = AuditFilter {
        person: q.person,
        action: q.action,
        sighting: q.sighting,
        case: q.case,
        offset: q.offset,
        limit: q.limit.unwrap_or(AUDIT_PAGE),
    };
    let page = desk
        .state
        .audit_page(&filter)
        .and_then(|page| Ok((page, desk.state.audit_actions()?)));
    match page {
        Ok(((entries, total), actions)) => Json(json!({
            "entries": entries,
            "total": total,
            "offset": filter.offset,
            "actions": actions,
        }))
        .into_response(),
        Err(e) => state_error(e),
    }
}
