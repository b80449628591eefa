//! The routes, and what runs around every request: the tus version rule, the cap on the
//! `Upload-Metadata` header, the cap on uploads received at once (checked before a body is
//! read), and the time limit on requests without a body.

use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, options};
use axum::Router;

use super::{bulletins, desk_feed, handlers, Intake, Refusal, TUS_VERSION};

/// The router, with the tus version rule and the `Tus-Resumable` header applied to every route.
pub fn router(intake: Arc<Intake>) -> Router {
    let body_limit = usize::try_from(intake.config.max_size)
        .unwrap_or(usize::MAX)
        .saturating_add(64 << 10);
    let timeout = intake.config.request_timeout;
    Router::new()
        .route(
            "/v1/uploads",
            options(handlers::discover).post(handlers::create),
        )
        .route(
            "/v1/uploads/{id}",
            axum::routing::head(handlers::head_upload)
                .patch(handlers::patch)
                .delete(handlers::terminate),
        )
        .route("/v1/reports/{id}/receipt", get(handlers::receipt))
        .route("/v1/bulletins", axum::routing::put(bulletins::put))
        .route("/v1/bulletins/index.json", get(bulletins::index))
        .route("/v1/bulletins/tiles/{file}", get(bulletins::tile))
        .route("/v1/bulletins/photos/{file}", get(bulletins::photo))
        .merge(desk_feed(intake.clone()))
        .layer(middleware::from_fn_with_state(intake.clone(), upload_slots))
        .layer(middleware::from_fn(metadata_limit))
        .layer(middleware::from_fn(tus_version))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(
            move |req: Request, next: Next| async move {
                // Bodies are timed where they are read, and answered only once their bytes are
                // stored or dropped: a 408 here would leave a receiver writing after the answer.
                if matches!(*req.method(), Method::POST | Method::PATCH) {
                    return next.run(req).await;
                }
                match tokio::time::timeout(timeout, next.run(req)).await {
                    Ok(response) => response,
                    Err(_) => Refusal::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "timeout",
                        "the request took too long",
                    )
                    .into_response(),
                }
            },
        ))
        .with_state(intake)
}

/// The desk's feed, behind the desk token.
fn desk_feed(intake: Arc<Intake>) -> Router<Arc<Intake>> {
    Router::new()
        .route("/v1/desk/reports", get(desk_feed::list))
        .route("/v1/desk/reports/{id}", get(desk_feed::ciphertext))
        .route("/v1/desk/reports/{id}/record", get(desk_feed::record))
        .route_layer(middleware::from_fn_with_state(
            intake,
            desk_feed::require_token,
        ))
}

/// One of the `max_concurrent_uploads` slots. It travels with the request to the task that
/// receives its body, and is released only when that task has ended.
#[derive(Clone)]
pub(crate) struct UploadSlot(Arc<Mutex<Option<tokio::sync::OwnedSemaphorePermit>>>);

impl UploadSlot {
    pub(crate) fn take(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.0.lock().ok()?.take()
    }
}

/// Caps the uploads being received at once, before their bodies are read.
async fn upload_slots(State(intake): State<Arc<Intake>>, mut req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH) {
        return next.run(req).await;
    }
    match intake.receiving.clone().try_acquire_owned() {
        Ok(permit) => {
            req.extensions_mut()
                .insert(UploadSlot(Arc::new(Mutex::new(Some(permit)))));
            next.run(req).await
        }
        Err(_) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many uploads at once; retry shortly",
        )
        .retry_after(5)
        .into_response(),
    }
}

/// A phone's `Upload-Metadata` is about 500 bytes; hyper alone lets a request head reach
/// ~400 KB. Anything over this is refused before it is parsed (431, RFC 6585 §5).
const MAX_METADATA_BYTES: usize = 4 << 10;

async fn metadata_limit(req: Request, next: Next) -> Response {
    let size = req
        .headers()
        .get_all("upload-metadata")
        .iter()
        .map(|v| v.len())
        .sum::<usize>();
    if size > MAX_METADATA_BYTES {
        return Refusal::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "metadata_too_large",
            format!("Upload-Metadata is {size} bytes; the limit is {MAX_METADATA_BYTES}"),
        )
        .into_response();
    }
    next.run(req).await
}

async fn tus_version(req: Request, next: Next) -> Response {
    let is_options = req.method() == Method::OPTIONS;
    let is_tus = req.uri().path().starts_with("/v1/uploads");
    let version = req
        .headers()
        .get("tus-resumable")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut response = if is_tus && !is_options && version.as_deref() != Some(TUS_VERSION) {
        let mut r = Refusal::new(
            StatusCode::PRECONDITION_FAILED,
            "tus_version",
            "this server speaks tus 1.0.0",
        )
        .into_response();
        r.headers_mut()
            .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
        r
    } else {
        next.run(req).await
    };
    if !is_options {
        response
            .headers_mut()
            .insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    }
    response
}
