//! The intake server: tus 1.0.0 (core + creation, creation-with-upload, termination, checksum,
//! expiration) at `/v1/uploads`, plus `GET /v1/reports/{id}/receipt`.
//!
//! It holds only ciphertext. It checks what it can without decrypting: the device's envelope
//! signature at creation, and at the last byte the length and SHA-256 the signature covers.
//! It never logs or stores a client's address or user agent: logs carry report ids and sizes.
//!
//! It is a public, unauthenticated endpoint, so every resource an anonymous client can spend is
//! bounded before work is done: connections and the time to send a request head ([`serve`]),
//! uploads received at once and the time a body may idle ([`receive`]), new uploads per device
//! key, and the storage all uploads may take (`507` above it, never `500`).
//!
//! tus 1.0.0, *Core Protocol*: "The Tus-Resumable header MUST be included in every request and
//! response except for OPTIONS requests. [...] If the Client's version is not supported by the
//! Server, it MUST respond with the 412 Precondition Failed status and MUST include the
//! Tus-Version header."

pub mod envelope;
mod handlers;
pub mod prune;
mod receive;
mod serve;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, options};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::json;
use uuid::Uuid;

pub use serve::{serve, Serving};
use store::{StoreError, UploadStore};

const TUS_VERSION: &str = "1.0.0";

/// What the organisation can tune; the defaults suit one server on the open internet.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// `Tus-Max-Size`: the largest report accepted (default 64 MiB).
    pub max_size: u64,
    /// An unfinished upload is abandoned after this long without completion (default 24 h).
    pub expiry: Duration,
    /// Per device key: uploads created in a burst, and the refill interval of one more.
    pub rate_burst: u32,
    pub rate_refill: Duration,
    /// A request body taking longer than this in all is cut; other requests are answered
    /// within it (default 120 s).
    pub request_timeout: Duration,
    /// A request head must arrive within this, counted from when the connection is idle, so
    /// it is also how long an idle keep-alive connection is kept (default 10 s).
    pub header_timeout: Duration,
    /// A body that sends nothing for this long is cut, keeping what arrived (default 30 s).
    pub body_idle_timeout: Duration,
    /// Uploads (POST or PATCH) being received at once; more get 503 + Retry-After.
    pub max_concurrent_uploads: usize,
    /// Connections open at once (lowered to fit the file-descriptor limit); more wait to be
    /// accepted.
    pub max_connections: usize,
    /// Bytes all kept uploads may take, finished and unfinished (`None`: no quota). A new
    /// upload that would pass it gets 507 with Retry-After; uploads in progress finish.
    pub max_storage: Option<u64>,
    /// Free disk space always left alone: a new upload that would eat into it gets 507.
    pub min_free_disk: u64,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            max_size: 64 << 20,
            expiry: Duration::from_secs(24 * 3600),
            rate_burst: 30,
            rate_refill: Duration::from_secs(2),
            request_timeout: Duration::from_secs(120),
            header_timeout: Duration::from_secs(10),
            body_idle_timeout: Duration::from_secs(30),
            max_concurrent_uploads: 256,
            max_connections: 1024,
            max_storage: None,
            min_free_disk: 64 << 20,
        }
    }
}

/// How long a phone is asked to wait when storage is full: an organisation prunes in hours.
const FULL_RETRY_AFTER_S: u64 = 1800;
/// Rate-limit buckets kept before idle (full) ones are dropped.
const MAX_BUCKETS: usize = 10_000;

pub struct Intake {
    store: Arc<dyn UploadStore>,
    key: Ed25519KeyPair,
    config: IntakeConfig,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    receiving: Arc<tokio::sync::Semaphore>,
    /// Uploads a request is working on: one receiver (or completion) per upload at a time.
    busy: Arc<Mutex<HashSet<Uuid>>>,
}

/// A protocol error: a status and the JSON body every error carries.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    error: &'static str,
    detail: String,
    retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
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

    fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    fn storage_full() -> Self {
        Refusal::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "storage_full",
            "the server is out of storage for new reports; keep the report and retry later",
        )
        .retry_after(FULL_RETRY_AFTER_S)
    }

    fn internal(what: &str) -> Self {
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

/// Exclusive use of one upload by one request, released when dropped.
pub(crate) struct Claim {
    busy: Arc<Mutex<HashSet<Uuid>>>,
    id: Uuid,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            busy.remove(&self.id);
        }
    }
}

impl Intake {
    pub fn new(
        store: Arc<dyn UploadStore>,
        key: Ed25519KeyPair,
        config: IntakeConfig,
    ) -> Arc<Self> {
        let receiving = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent_uploads));
        Arc::new(Self {
            store,
            key,
            config,
            buckets: Mutex::new(HashMap::new()),
            receiving,
            busy: Arc::new(Mutex::new(HashSet::new())),
        })
    }

    pub fn server_key(&self) -> String {
        STANDARD.encode(self.key.public_key().as_ref())
    }

    /// Deletes abandoned uploads; returns how many.
    pub fn expire(&self) -> Result<usize, StoreError> {
        let ids = self.store.expired(unix_now())?;
        for id in &ids {
            self.store.delete(*id)?;
            tracing::info!(upload = %id, "abandoned upload expired");
        }
        Ok(ids.len())
    }

    /// Takes a token from the device key's bucket, or says how long until there is one.
    fn rate_limit(&self, device_key: &str) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let burst = f64::from(self.config.rate_burst);
        let refill = self.config.rate_refill.as_secs_f64().max(1e-3);
        if buckets.len() >= MAX_BUCKETS {
            // Keys are free: forget the ones whose bucket has refilled (they start full again).
            let full_after = refill * burst;
            buckets.retain(|_, (tokens, at)| {
                *tokens + at.elapsed().as_secs_f64() / refill < burst
                    && at.elapsed().as_secs_f64() < full_after
            });
        }
        let (tokens, at) = buckets
            .entry(device_key.to_string())
            .or_insert((burst, Instant::now()));
        *tokens = (*tokens + at.elapsed().as_secs_f64() / refill).min(burst);
        *at = Instant::now();
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) * refill))
        }
    }

    /// Whether a new upload of `length` bytes fits: under the quota, and leaving the disk's
    /// reserve free. Checked before the upload is recorded, so it never starts to fail later.
    fn admit(&self, length: u64) -> Result<(), Refusal> {
        let reserved = self.store.reserved_bytes()?;
        let over_quota = self
            .config
            .max_storage
            .is_some_and(|quota| reserved.saturating_add(length) > quota);
        let disk_short = self
            .store
            .free_bytes()
            .is_some_and(|free| free < length.saturating_add(self.config.min_free_disk));
        if over_quota || disk_short {
            tracing::warn!(reserved, length, "storage full: new upload refused");
            return Err(Refusal::storage_full());
        }
        Ok(())
    }

    /// Claims an upload for one request, or `None` when another request holds it.
    fn claim(&self, id: Uuid) -> Option<Claim> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.insert(id).then(|| Claim {
            busy: self.busy.clone(),
            id,
        })
    }
}

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
        .layer(middleware::from_fn_with_state(intake.clone(), upload_slots))
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

/// One of the `max_concurrent_uploads` slots. It travels with the request to the task that
/// receives its body, and is released only when that task has ended.
#[derive(Clone)]
pub(crate) struct UploadSlot(Arc<Mutex<Option<tokio::sync::OwnedSemaphorePermit>>>);

impl UploadSlot {
    fn take(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
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

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| Refusal::internal("a storage task failed"))?
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
