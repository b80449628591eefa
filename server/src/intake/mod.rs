//! The intake server: tus 1.0.0 (core + creation, creation-with-upload, termination, checksum,
//! expiration) at `/v1/uploads`, plus `GET /v1/reports/{id}/receipt`.
//!
//! It holds only ciphertext. It checks what it can without decrypting: the device's envelope
//! signature at creation, and at the last byte the length and SHA-256 the signature covers.
//! It never logs or stores a client's address or user agent: logs carry report ids and sizes.
//!
//! tus 1.0.0, *Core Protocol*: "The Tus-Resumable header MUST be included in every request and
//! response except for OPTIONS requests. [...] If the Client's version is not supported by the
//! Server, it MUST respond with the 412 Precondition Failed status and MUST include the
//! Tus-Version header." "[PATCH] If the offsets do not match, the Server MUST respond with the
//! 409 Conflict status [...] All PATCH requests MUST use Content-Type:
//! application/offset+octet-stream, otherwise the server SHOULD return a 415".
//! *Checksum*: "If the hashes do not match, the Server MUST respond with the 460 Checksum
//! Mismatch status [...] and the Upload-Offset MUST NOT be incremented."

pub mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, options};
use axum::{Json, Router};
use base64::{engine::general_purpose::STANDARD, Engine};
use futures_util::StreamExt;
use ring::digest::{digest, SHA1_FOR_LEGACY_USE_ONLY, SHA256};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde_json::json;
use sighting_core::keys::envelope_message;
use sighting_core::receipt::Receipt;
use sighting_core::report::{hex, parse_hex32};
use uuid::Uuid;

use store::{StoreError, Upload, UploadStore};

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
const OFFSET_STREAM: &str = "application/offset+octet-stream";

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
    /// A request (headers and body) taking longer than this is cut (slow clients).
    pub request_timeout: Duration,
    /// Uploads (POST or PATCH with a body) being received at once; more get 503 + Retry-After.
    pub max_concurrent_uploads: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            max_size: 64 << 20,
            expiry: Duration::from_secs(24 * 3600),
            rate_burst: 30,
            rate_refill: Duration::from_secs(2),
            request_timeout: Duration::from_secs(120),
            max_concurrent_uploads: 256,
        }
    }
}

pub struct Intake {
    store: Arc<dyn UploadStore>,
    key: Ed25519KeyPair,
    config: IntakeConfig,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    receiving: Arc<tokio::sync::Semaphore>,
}

/// A protocol error: status and the JSON body every error carries.
struct Refusal(
    StatusCode,
    &'static str,
    String,
    Vec<(header::HeaderName, String)>,
);

impl Refusal {
    fn new(status: StatusCode, error: &'static str, detail: impl Into<String>) -> Self {
        Self(status, error, detail.into(), Vec::new())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut response =
            (self.0, Json(json!({ "error": self.1, "detail": self.2 }))).into_response();
        for (name, value) in self.3 {
            if let Ok(value) = HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, value);
            }
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
            other => {
                tracing::error!(error = %other, "storage failure");
                Refusal::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "storage",
                    "the server could not store the upload",
                )
            }
        }
    }
}

type Reply = Result<Response, Refusal>;

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
}

/// The running server ([`serve`]); `.with_graceful_shutdown(…)` or await it.
pub type Serving = axum::serve::Serve<NoDelay, Router, Router>;
type NoDelay = axum::serve::TapIo<tokio::net::TcpListener, fn(&mut tokio::net::TcpStream)>;

/// Serves the intake on `listener`, with `TCP_NODELAY`: tus requests are small writes (a head,
/// then a body), and Nagle's algorithm against delayed ACKs would add ~40 ms to each.
pub fn serve(listener: tokio::net::TcpListener, intake: Arc<Intake>) -> Serving {
    use axum::serve::ListenerExt;
    let nodelay: fn(&mut tokio::net::TcpStream) = |tcp| {
        let _ = tcp.set_nodelay(true);
    };
    axum::serve(listener.tap_io(nodelay), router(intake))
}

/// The router, with the tus version rule and the `Tus-Resumable` header applied to every route.
pub fn router(intake: Arc<Intake>) -> Router {
    let body_limit = usize::try_from(intake.config.max_size)
        .unwrap_or(usize::MAX)
        .saturating_add(64 << 10);
    let timeout = intake.config.request_timeout;
    Router::new()
        .route("/v1/uploads", options(discover).post(create))
        .route(
            "/v1/uploads/{id}",
            axum::routing::head(head_upload)
                .patch(patch)
                .delete(terminate),
        )
        .route("/v1/reports/{id}/receipt", get(receipt))
        .layer(middleware::from_fn_with_state(intake.clone(), upload_slots))
        .layer(middleware::from_fn(tus_version))
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(
            move |req: Request, next: Next| async move {
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

/// Caps the uploads being received at once, before their bodies are read.
async fn upload_slots(State(intake): State<Arc<Intake>>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PATCH) {
        return next.run(req).await;
    }
    match intake.receiving.clone().try_acquire_owned() {
        Ok(_permit) => next.run(req).await,
        Err(_) => {
            let mut r = Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many uploads at once; retry shortly",
            );
            r.3.push((header::RETRY_AFTER, "5".into()));
            r.into_response()
        }
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

async fn discover(State(intake): State<Arc<Intake>>) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static("sha1,sha256"),
    );
    if let Ok(v) = HeaderValue::from_str(&intake.config.max_size.to_string()) {
        h.insert("tus-max-size", v);
    }
    r
}

/// `Upload-Metadata`: `key base64(value)` pairs, comma separated.
fn metadata(headers: &HeaderMap) -> Result<HashMap<String, String>, Refusal> {
    let bad = |d: &str| Refusal::new(StatusCode::BAD_REQUEST, "metadata", d.to_string());
    let raw = headers
        .get("upload-metadata")
        .ok_or_else(|| bad("Upload-Metadata is required"))?;
    let raw = raw
        .to_str()
        .map_err(|_| bad("Upload-Metadata is not ASCII"))?;
    let mut out = HashMap::new();
    for pair in raw.split(',') {
        let mut parts = pair.trim().splitn(2, ' ');
        let key = parts.next().unwrap_or_default();
        let value = parts.next().unwrap_or_default();
        let value = STANDARD
            .decode(value)
            .map_err(|_| bad("a metadata value is not base64"))?;
        let value = String::from_utf8(value).map_err(|_| bad("a metadata value is not UTF-8"))?;
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Result<Option<u64>, Refusal> {
    headers
        .get(name)
        .map(|v| {
            v.to_str().ok().and_then(|s| s.parse().ok()).ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "header",
                    format!("{name} must be a non-negative integer"),
                )
            })
        })
        .transpose()
}

/// Checks the envelope fields and signature; returns the upload to create.
fn envelope(
    meta: &HashMap<String, String>,
    length: u64,
    expiry: Duration,
) -> Result<Upload, Refusal> {
    let bad = |d: &str| Refusal::new(StatusCode::BAD_REQUEST, "envelope", d.to_string());
    let field = |k: &str| {
        meta.get(k)
            .ok_or_else(|| bad(&format!("metadata {k} is required")))
    };
    let report_id: Uuid = field("report_id")?
        .parse()
        .map_err(|_| bad("report_id is not a UUID"))?;
    let device_key = field("device_key")?.clone();
    let key_bytes = STANDARD
        .decode(&device_key)
        .ok()
        .filter(|k| k.len() == 32)
        .ok_or_else(|| bad("device_key is not a base64 Ed25519 key"))?;
    let sha_hex = field("ciphertext_sha256")?.to_ascii_lowercase();
    let sha: [u8; 32] =
        parse_hex32(&sha_hex).ok_or_else(|| bad("ciphertext_sha256 is not 64 hex digits"))?;
    let envelope_sig = field("envelope_sig")?.clone();
    let sig = STANDARD
        .decode(&envelope_sig)
        .map_err(|_| bad("envelope_sig is not base64"))?;
    UnparsedPublicKey::new(&ED25519, key_bytes)
        .verify(&envelope_message(report_id, &sha), &sig)
        .map_err(|_| bad("the envelope signature does not verify"))?;
    // Optional: "<16 hex digits> <ms since boot>"; anything else is not kept.
    let device_clock = meta
        .get("device_clock")
        .filter(|c| {
            c.split_once(' ').is_some_and(|(boot, ms)| {
                boot.len() == 16
                    && boot.bytes().all(|b| b.is_ascii_hexdigit())
                    && ms.parse::<u64>().is_ok()
            })
        })
        .cloned();
    Ok(Upload {
        id: Uuid::now_v7(),
        report_id,
        device_key,
        ciphertext_sha256: sha_hex,
        envelope_sig,
        length,
        offset: 0,
        expires_at: unix_now() + expiry.as_secs() as i64,
        receipt: None,
        device_clock,
        created_at_ms: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    })
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(f).await.map_err(|_| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "a storage task failed",
        )
    })?
}

fn location(id: Uuid) -> String {
    format!("/v1/uploads/{id}")
}

async fn create(State(intake): State<Arc<Intake>>, headers: HeaderMap, body: Body) -> Reply {
    let length = header_u64(&headers, "upload-length")?.ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "header",
            "Upload-Length is required (deferred length is not supported)",
        )
    })?;
    if length > intake.config.max_size {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the limit is {} bytes", intake.config.max_size),
        ));
    }
    let upload = envelope(&metadata(&headers)?, length, intake.config.expiry)?;
    let store = intake.store.clone();
    let existing = {
        let (store, report_id) = (store.clone(), upload.report_id);
        blocking(move || Ok(store.by_report(report_id)?)).await?
    };
    if let Some(existing) = existing {
        if existing.ciphertext_sha256 != upload.ciphertext_sha256 || existing.length != length {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                "report_exists",
                "this report id was uploaded with other content",
            ));
        }
        // Idempotent: the same report again gets the same upload (finished: 200, to fetch the
        // receipt; unfinished: 201, to resume from its offset).
        let status = if existing.receipt.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok(upload_response(status, &existing));
    }
    // Only new uploads count against the device's allowance: a phone resuming after a drop
    // re-POSTs the same report and must get it back.
    if let Err(wait) = intake.rate_limit(&upload.device_key) {
        let mut r = Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many uploads from this device; retry later",
        );
        r.3.push((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
        return Err(r);
    }
    {
        let (store, upload) = (store.clone(), upload.clone());
        blocking(move || Ok(store.create(&upload)?)).await?;
    }
    tracing::info!(report = %upload.report_id, bytes = length, "upload created");
    if !headers.contains_key(header::CONTENT_TYPE) {
        return Ok(upload_response(StatusCode::CREATED, &upload));
    }
    // creation-with-upload: the first bytes ride along with the POST.
    check_content_type(&headers)?;
    let done = append(&intake, &upload, 0, &headers, body).await?;
    Ok(upload_response(StatusCode::CREATED, &done))
}

fn upload_response(status: StatusCode, upload: &Upload) -> Response {
    let mut r = status.into_response();
    let h = r.headers_mut();
    let offset = if upload.receipt.is_some() {
        upload.length
    } else {
        upload.offset
    };
    for (name, value) in [
        ("location", location(upload.id)),
        ("upload-offset", offset.to_string()),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    if upload.receipt.is_none() {
        let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(upload.expires_at.max(0) as u64);
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(expires)) {
            h.insert("upload-expires", v);
        }
    }
    r
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(OFFSET_STREAM) => Ok(()),
        _ => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content_type",
            format!("Content-Type must be {OFFSET_STREAM}"),
        )),
    }
}

/// Looks an upload up; an expired one is deleted and answered with 410.
async fn live_upload(intake: &Arc<Intake>, id: &str) -> Result<Upload, Refusal> {
    let not_found = || Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such upload");
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let store = intake.store.clone();
    let upload = blocking(move || Ok(store.get(id)?))
        .await?
        .ok_or_else(not_found)?;
    if upload.receipt.is_none() && upload.expires_at < unix_now() {
        let store = intake.store.clone();
        blocking(move || Ok(store.delete(id)?)).await?;
        return Err(Refusal::new(
            StatusCode::GONE,
            "expired",
            "the upload expired; create it again",
        ));
    }
    Ok(upload)
}

async fn head_upload(State(intake): State<Arc<Intake>>, Path(id): Path<String>) -> Reply {
    let mut upload = live_upload(&intake, &id).await?;
    if upload.offset == upload.length && upload.receipt.is_none() {
        // Every byte arrived but the checks never ran (the server stopped in between): run
        // them now, so the phone finds its receipt.
        upload.receipt = Some(finish(&intake, &upload).await?);
    }
    let mut r = upload_response(StatusCode::OK, &upload);
    let h = r.headers_mut();
    h.remove("location");
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&upload.length.to_string()) {
        h.insert("upload-length", v);
    }
    Ok(r)
}

async fn patch(
    State(intake): State<Arc<Intake>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    check_content_type(&headers)?;
    let offset = header_u64(&headers, "upload-offset")?.ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "header",
            "Upload-Offset is required",
        )
    })?;
    let upload = live_upload(&intake, &id).await?;
    if upload.receipt.is_some() {
        let empty = header_u64(&headers, "content-length")? == Some(0);
        if offset == upload.length && empty {
            return Ok(upload_response(StatusCode::NO_CONTENT, &upload));
        }
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "finished",
            "this upload is complete",
        ));
    }
    let done = append(&intake, &upload, offset, &headers, body).await?;
    let mut r = upload_response(StatusCode::NO_CONTENT, &done);
    r.headers_mut().remove("location");
    Ok(r)
}

/// Appends a request body and finishes the upload on its last byte.
///
/// Without `Upload-Checksum` the bytes are kept as they arrive, so a connection that drops
/// mid-body keeps what got through (tus 1.0.0, PATCH: "The Server SHOULD accept PATCH requests
/// with partial content [...] and SHOULD store as much of the received data as possible");
/// that is what makes a drop on a 2G link cheap. With a checksum, no byte of the body is kept
/// until the whole body matches it.
///
/// It runs as its own task: when the phone's connection drops, hyper drops the request
/// handler, and the bytes that did arrive must still be kept (and a complete upload finished).
async fn append(
    intake: &Arc<Intake>,
    upload: &Upload,
    offset: u64,
    headers: &HeaderMap,
    body: Body,
) -> Result<Upload, Refusal> {
    let task = tokio::spawn(receive(
        intake.clone(),
        upload.clone(),
        offset,
        headers.get("upload-checksum").cloned(),
        body,
    ));
    task.await.map_err(|_| {
        Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "receiving the body failed",
        )
    })?
}

async fn receive(
    intake: Arc<Intake>,
    upload: Upload,
    offset: u64,
    checksum: Option<HeaderValue>,
    body: Body,
) -> Result<Upload, Refusal> {
    let intake = &intake;
    if offset != upload.offset {
        return Err(StoreError::OffsetMismatch {
            expected: offset,
            actual: upload.offset,
        }
        .into());
    }
    let checksum = checksum
        .map(|v| {
            let v = v.to_str().unwrap_or_default();
            let (algorithm, expected) = v.split_once(' ').unwrap_or((v, ""));
            match algorithm {
                "sha1" => Ok((&SHA1_FOR_LEGACY_USE_ONLY, expected.to_string())),
                "sha256" => Ok((&SHA256, expected.to_string())),
                _ => Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "checksum",
                    "supported: sha1, sha256",
                )),
            }
        })
        .transpose()?;
    let too_long = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_long",
            "the body goes past Upload-Length",
        )
    };
    let room = upload.length - offset;
    let mut stream = body.into_data_stream();
    let mut pending: Vec<u8> = Vec::new();
    let (mut at, mut cut) = (offset, false);
    let mut last_keep = Instant::now();
    loop {
        match stream.next().await {
            Some(Ok(bytes)) => {
                if at - offset + (pending.len() + bytes.len()) as u64 > room {
                    return Err(too_long());
                }
                pending.extend_from_slice(&bytes);
                if checksum.is_none()
                    && (pending.len() >= KEEP_EVERY || last_keep.elapsed() >= KEEP_AFTER)
                {
                    last_keep = Instant::now();
                    at = keep(intake, upload.id, at, std::mem::take(&mut pending)).await?;
                }
            }
            Some(Err(_)) => {
                cut = true;
                break;
            }
            None => break,
        }
    }
    if let Some((algorithm, expected)) = checksum {
        if cut {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "cut",
                "the body was cut short; a checksummed body is kept whole or not at all",
            ));
        }
        if STANDARD.encode(digest(algorithm, &pending).as_ref()) != expected {
            return Err(Refusal::new(
                StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
                "checksum_mismatch",
                "the body does not match Upload-Checksum",
            ));
        }
    }
    if !pending.is_empty() {
        at = keep(intake, upload.id, at, pending).await?;
    }
    if cut {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "cut",
            format!("the body was cut short; kept up to offset {at}"),
        ));
    }
    let mut done = Upload {
        offset: at,
        ..upload.clone()
    };
    if at == upload.length {
        done.receipt = Some(finish(intake, &done).await?);
    }
    Ok(done)
}

/// Received bytes are written and fsynced every 64 KiB (not per frame), or every second on a
/// slow link, so a server crash loses at most that much of a body.
const KEEP_EVERY: usize = 64 << 10;
const KEEP_AFTER: Duration = Duration::from_secs(1);

async fn keep(intake: &Arc<Intake>, id: Uuid, offset: u64, bytes: Vec<u8>) -> Result<u64, Refusal> {
    let store = intake.store.clone();
    blocking(move || Ok(store.append(id, offset, &bytes)?)).await
}

/// The last byte arrived: check the whole ciphertext against the envelope, then sign a receipt.
/// A failure deletes everything received: nothing unverified is kept.
async fn finish(intake: &Arc<Intake>, upload: &Upload) -> Result<String, Refusal> {
    let store = intake.store.clone();
    let id = upload.id;
    let (len, sha32) = blocking(move || Ok(store.digest(id)?)).await?;
    if len != upload.length || hex(&sha32) != upload.ciphertext_sha256 {
        let store = intake.store.clone();
        blocking(move || Ok(store.delete(id)?)).await?;
        tracing::warn!(report = %upload.report_id, "completed upload refused: hash mismatch");
        return Err(Refusal::new(
            StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
            "ciphertext_mismatch",
            "the uploaded bytes do not match ciphertext_sha256; nothing was kept",
        ));
    }
    let received_at = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default();
    let sig = intake.key.sign(&Receipt::signed_message(
        upload.report_id,
        &sha32,
        &received_at,
    ));
    let receipt = Receipt {
        report_id: upload.report_id,
        ciphertext_sha256: upload.ciphertext_sha256.clone(),
        received_at,
        server_key: intake.server_key(),
        sig: STANDARD.encode(sig.as_ref()),
    };
    let json = serde_json::to_string(&receipt)
        .map_err(|_| Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "receipt"))?;
    let (store, stored) = (intake.store.clone(), json.clone());
    blocking(move || Ok(store.complete(id, &stored)?)).await?;
    tracing::info!(report = %upload.report_id, bytes = upload.length, "report received");
    Ok(json)
}

async fn terminate(State(intake): State<Arc<Intake>>, Path(id): Path<String>) -> Reply {
    let upload = live_upload(&intake, &id).await?;
    if upload.receipt.is_some() {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "delivered",
            "a delivered report cannot be terminated",
        ));
    }
    let store = intake.store.clone();
    blocking(move || Ok(store.delete(upload.id)?)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn receipt(State(intake): State<Arc<Intake>>, Path(report_id): Path<String>) -> Reply {
    let not_found = || {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no receipt for this report",
        )
    };
    let report_id: Uuid = report_id.parse().map_err(|_| not_found())?;
    let store = intake.store.clone();
    let upload = blocking(move || Ok(store.by_report(report_id)?))
        .await?
        .ok_or_else(not_found)?;
    let receipt = upload.receipt.ok_or_else(not_found)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], receipt).into_response())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
