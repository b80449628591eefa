//! Logging in and out, and the gate in front of every other route: a live session cookie, and
//! on every request that changes something the session's CSRF token in `X-CSRF-Token`.
//!
//! The cookie is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site sends it)
//! and, in LAN mode behind TLS, `Secure`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::Desk;
use crate::state::{Reviewer, StateError};

const COOKIE: &str = "sighting_session";

#[derive(Deserialize)]
pub(super) struct Login {
    name: String,
    password: String,
}

/// The API's JSON refusal, for the gates in front of the handlers (this one and the host check).
pub(super) use super::error::refuse;

/// Who is logged in, and the CSRF token the page sends back with every change.
#[derive(Serialize)]
pub(super) struct LoggedIn {
    csrf: String,
    reviewer: Reviewer,
}

/// Password checks run at once at most: each is argon2id with 19 MiB of its own, so this bounds
/// what strangers at the login can make the desk hold (57 MiB), whatever they send.
pub(super) const PASSWORD_CHECKS: usize = 3;

/// A login's JSON: a name and a password (at most 1 KiB) fit many times over.
pub(super) const MAX_LOGIN_BODY: usize = 8 << 10;

/// 429 with the seconds to wait.
fn too_many(error: &str, detail: &str, wait: u64) -> Response {
    let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, error, detail);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait));
    response
}

pub(super) async fn login(State(desk): State<Arc<Desk>>, Json(form): Json<Login>) -> Response {
    // Beyond the permits the answer is at once, not a queue: a queue would hold every
    // stranger's request (and connection) until its turn.
    let Ok(permit) = desk.password_checks.clone().try_acquire_owned() else {
        return too_many(
            "busy",
            "the desk is checking other logins: try again in a moment",
            1,
        );
    };
    // An admin's unlock, from the app or the command line, is in the database.
    let name = form.name.clone();
    let unlocks = match desk.blocking(move |d| d.state.unlocks(&name)).await {
        Ok(unlocks) => unlocks,
        Err(e) => return e.into_response(),
    };
    if let Err(wait) = desk.logins.begin(&form.name, Instant::now(), unlocks) {
        return too_many(
            "throttled",
            "too many failed logins: wait, then try again",
            wait,
        );
    }
    let name = form.name.clone();
    // The permit goes with the check: a client that hangs up does not free it before the hash
    // is done.
    let checked = desk
        .blocking(move |d| {
            let _permit = permit;
            d.state.login(&form.name, &form.password)
        })
        .await;
    let session = match checked {
        Ok(session) => {
            desk.logins.succeeded(&name);
            session
        }
        Err(e) => {
            match e {
                ApiError::State(StateError::Credentials) => desk.logins.failed(Instant::now()),
                _ => desk.logins.unchecked(&name),
            }
            return e.into_response();
        }
    };
    let secure = if desk.config.lan { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{secure}",
        session.token
    );
    let mut response = Json(LoggedIn {
        csrf: session.csrf,
        reviewer: session.reviewer,
    })
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

pub(super) async fn logout(
    State(desk): State<Arc<Desk>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_token(&headers) {
        desk.blocking(move |d| d.state.logout(&token)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Who is logged in, and the CSRF token the page sends back.
pub(super) async fn me(
    Extension(reviewer): Extension<Reviewer>,
    Extension(Csrf(csrf)): Extension<Csrf>,
) -> Json<LoggedIn> {
    Json(LoggedIn { csrf, reviewer })
}

/// The session's CSRF token, for handlers that hand it to the page.
#[derive(Clone)]
pub(super) struct Csrf(String);

/// Lets through a request with a live session (and, unless it only reads, the session's CSRF
/// token); the reviewer travels on as an extension.
pub(super) async fn require_session(
    State(desk): State<Arc<Desk>>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = session_token(req.headers()) else {
        return refuse(StatusCode::UNAUTHORIZED, "login", "log in first");
    };
    let (reviewer, csrf) = match desk.blocking(move |d| d.state.session(&token)).await {
        Ok(Some(found)) => found,
        Ok(None) => return refuse(StatusCode::UNAUTHORIZED, "login", "the session has ended"),
        Err(e) => return e.into_response(),
    };
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    let sent = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if !reads && !sent.is_some_and(|s| constant_time_eq(s.as_bytes(), csrf.as_bytes())) {
        return refuse(
            StatusCode::FORBIDDEN,
            "csrf",
            "the request did not come from the desk's page",
        );
    }
    req.extensions_mut().insert(reviewer);
    req.extensions_mut().insert(Csrf(csrf));
    next.run(req).await
}

fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// Compares digests, so how long the comparison takes says nothing about the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let digest = |x: &[u8]| ring::digest::digest(&ring::digest::SHA256, x);
    digest(a).as_ref() == digest(b).as_ref()
}
