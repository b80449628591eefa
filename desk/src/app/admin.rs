//! The desk's people in the app: everyone sees who may be assigned a sighting; an admin adds,
//! disables, enables, unlocks people and gives them a new passphrase; each person makes and
//! revokes their own API tokens (for scripts that act as them); and the audit log, a page at a
//! time. Every change is audited in the state.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::Desk;
use crate::state::{Account, AuditEntry, AuditFilter, Reviewer, Role, TokenRow};

/// Audit lines per page when the page does not say.
const AUDIT_PAGE: u64 = 50;

/// Refused to anyone but an admin.
fn admin_only(by: &Reviewer) -> Result<(), ApiError> {
    match by.role {
        Role::Admin => Ok(()),
        _ => Err(ApiError::refused(
            StatusCode::FORBIDDEN,
            "admin",
            "only an admin manages the desk's people",
        )),
    }
}

#[derive(Serialize)]
pub(super) struct People {
    people: Vec<Account>,
}

/// The desk's people: an admin sees everyone, the others who is active (to assign).
pub(super) async fn people(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
) -> Result<Json<People>, ApiError> {
    let accounts = desk.blocking(|d| d.state.accounts()).await?;
    let people = accounts
        .into_iter()
        .filter(|a| by.role == Role::Admin || !a.disabled)
        .collect();
    Ok(Json(People { people }))
}

#[derive(Deserialize)]
pub(super) struct NewPerson {
    name: String,
    password: String,
    role: String,
}

#[derive(Serialize)]
pub(super) struct Added {
    person: Reviewer,
}

pub(super) async fn add(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(new): Json<NewPerson>,
) -> Result<(StatusCode, Json<Added>), ApiError> {
    admin_only(&by)?;
    let role = new.role.parse::<Role>()?;
    // argon2id takes tens of milliseconds: off the async threads with the rest.
    let person = desk
        .blocking(move |d| d.state.add_reviewer_as(&by, &new.name, &new.password, role))
        .await?;
    Ok((StatusCode::CREATED, Json(Added { person })))
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
) -> Result<StatusCode, ApiError> {
    admin_only(&by)?;
    let by = Some(by);
    match what.as_str() {
        "disable" => {
            desk.blocking(move |d| d.state.set_disabled(by.as_ref(), &name, true))
                .await?
        }
        "enable" => {
            desk.blocking(move |d| d.state.set_disabled(by.as_ref(), &name, false))
                .await?
        }
        "unlock" => {
            desk.blocking(move |d| d.state.unlock(by.as_ref(), &name))
                .await?
        }
        _ => {
            let refused = ApiError::refused(StatusCode::NOT_FOUND, "not_found", "no such change");
            return Err(refused);
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// An admin gives a person a new passphrase; their sessions end.
pub(super) async fn reset(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(name): Path<String>,
    Json(new): Json<NewPassphrase>,
) -> Result<StatusCode, ApiError> {
    admin_only(&by)?;
    desk.blocking(move |d| d.state.reset_password(Some(&by), &name, &new.password))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub(super) struct Tokens {
    tokens: Vec<TokenRow>,
}

/// The logged-in person's API tokens (never the tokens themselves).
pub(super) async fn tokens(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
) -> Result<Json<Tokens>, ApiError> {
    let tokens = desk.blocking(move |d| d.state.tokens(&by)).await?;
    Ok(Json(Tokens { tokens }))
}

#[derive(Deserialize)]
pub(super) struct NewToken {
    label: String,
}

/// A token made: the token itself in this answer only, never again.
#[derive(Serialize)]
pub(super) struct TokenMade {
    row: TokenRow,
    token: String,
}

pub(super) async fn make_token(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Json(new): Json<NewToken>,
) -> Result<(StatusCode, Json<TokenMade>), ApiError> {
    let (row, token) = desk
        .blocking(move |d| d.state.make_token(&by, &new.label))
        .await?;
    Ok((StatusCode::CREATED, Json(TokenMade { row, token })))
}

pub(super) async fn revoke_token(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    desk.blocking(move |d| d.state.revoke_token(&by, id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
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
#[derive(Serialize)]
pub(super) struct AuditPage {
    actions: Vec<String>,
    entries: Vec<AuditEntry>,
    offset: u64,
    total: u64,
}

pub(super) async fn audit(
    State(desk): State<Arc<Desk>>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let filter = AuditFilter {
        person: q.person,
        action: q.action,
        sighting: q.sighting,
        case: q.case,
        offset: q.offset,
        limit: q.limit.unwrap_or(AUDIT_PAGE),
    };
    let page = desk
        .blocking(move |d| {
            let (entries, total) = d.state.audit_page(&filter)?;
            Ok::<_, ApiError>(AuditPage {
                actions: d.state.audit_actions()?,
                entries,
                offset: filter.offset,
                total,
            })
        })
        .await?;
    Ok(Json(page))
}
