//! The tus requests: discovery, creation, HEAD, PATCH, termination, and the receipt.
//!
//! tus 1.0.0, *Core Protocol*: "[PATCH] If the offsets do not match, the Server MUST respond
//! with the 409 Conflict status [...] All PATCH requests MUST use Content-Type:
//! application/offset+octet-stream, otherwise the server SHOULD return a 415".

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Extension, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::envelope::{envelope, metadata};
use super::receive::{append, finish};
use super::store::Upload;
use super::{unix_now, Claim, Intake, Refusal, UploadSlot, TUS_VERSION};

const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
const OFFSET_STREAM: &str = "application/offset+octet-stream";
/// How long a request waits for another request on the same upload to finish with it (a
/// phone that reconnected while the server still reads its dropped body).
const CLAIM_WAIT: Duration = Duration::from_secs(3);

type Reply = Result<Response, Refusal>;

pub(super) async fn discover(State(intake): State<Arc<Intake>>) -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static("sha1,sha256"),
    );
    h.insert("tus-max-size", HeaderValue::from(intake.config.max_size));
    r
}

/// A length or offset header: ASCII digits only, and no leading zero but in "0" itself. Rust's
/// `u64` parser also takes a `+` sign; tus numbers have one spelling, so anything else is
/// refused rather than read two ways by two servers. (Whitespace around a field value is not
/// part of it, RFC 9110 §5.5: hyper strips it before this sees the value.)
fn header_u64(headers: &HeaderMap, name: &str) -> Result<Option<u64>, Refusal> {
    let plain_number = |s: &str| {
        let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let canonical = s == "0" || !s.starts_with('0');
        (digits && canonical).then(|| s.parse().ok()).flatten()
    };
    headers
        .get(name)
        .map(|v| {
            v.to_str().ok().and_then(plain_number).ok_or_else(|| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "header",
                    format!("{name} must be a non-negative integer in plain digits"),
                )
            })
        })
        .transpose()
}

pub(super) async fn create(
    State(intake): State<Arc<Intake>>,
    Extension(slot): Extension<UploadSlot>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let length = header_u64(&headers, "upload-length")?.ok_or_else(|| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "header",
            "Upload-Length is required (deferred length is not supported)",
        )
    })?;
    if length == 0 {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "empty",
            "Upload-Length is 0; a sealed report is never empty",
        ));
    }
    if length > intake.config.max_size {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the limit is {} bytes", intake.config.max_size),
        ));
    }
    let upload = envelope(&metadata(&headers)?, length, intake.config.expiry)?;
    if let Some(existing) = intake.store.by_report(upload.report_id).await? {
        return resumed(&existing, &upload);
    }
    // Only new uploads count against the device's allowance: a phone resuming after a drop
    // re-POSTs the same report and must get it back.
    let allowed = intake
        .store
        .take_upload_token(&upload.device_key, intake.rate_limit())
        .await?;
    if let Err(wait) = allowed {
        return Err(Refusal::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many uploads from this device; retry later",
        )
        .retry_after(wait.as_secs().max(1)));
    }
    intake.admit(upload.length).await?;
    let created = intake.store.create(&upload).await?;
    if created.id != upload.id {
        // Created at the same moment by another request (on this node or another).
        return resumed(&created, &upload);
    }
    tracing::info!(report = %upload.report_id, bytes = length, "upload created");
    if !headers.contains_key(header::CONTENT_TYPE) {
        return Ok(upload_response(StatusCode::CREATED, &upload));
    }
    // creation-with-upload: the first bytes ride along with the POST.
    check_content_type(&headers)?;
    let claim = intake
        .claim(upload.id)
        .ok_or_else(|| Refusal::internal("a new upload is busy"))?;
    let done = append(&intake, claim, slot, &upload, 0, &headers, body).await?;
    Ok(upload_response(StatusCode::CREATED, &done))
}

/// The same report again: its upload back, but only to the device key that created it (the
/// upload URL is what lets a client resume or terminate an upload).
fn resumed(existing: &Upload, new: &Upload) -> Reply {
    if existing.device_key != new.device_key
        || existing.ciphertext_sha256 != new.ciphertext_sha256
        || existing.length != new.length
    {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "report_exists",
            "this report id was uploaded with other content or by another device",
        ));
    }
    // Idempotent: finished, 200 (fetch the receipt); unfinished, 201 (resume from its offset).
    let status = if existing.receipt.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(upload_response(status, existing))
}

fn upload_response(status: StatusCode, upload: &Upload) -> Response {
    let mut r = status.into_response();
    let h = r.headers_mut();
    let offset = if upload.receipt.is_some() {
        upload.length
    } else {
        upload.offset
    };
    h.insert("upload-offset", HeaderValue::from(offset));
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/uploads/{}", upload.id)) {
        h.insert(header::LOCATION, v);
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

fn parse_id(id: &str) -> Result<Uuid, Refusal> {
    id.parse()
        .map_err(|_| Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such upload"))
}

/// Claims the upload, waiting a little for another request to let go of it.
async fn claim_waiting(intake: &Intake, id: Uuid) -> Result<Claim, Refusal> {
    let until = tokio::time::Instant::now() + CLAIM_WAIT;
    loop {
        if let Some(claim) = intake.claim(id) {
            return Ok(claim);
        }
        if tokio::time::Instant::now() >= until {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                "busy",
                "another request is writing this upload; ask HEAD for its offset",
            )
            .retry_after(1));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Looks an upload up; an expired one is deleted and answered with 410.
async fn live_upload(intake: &Arc<Intake>, id: Uuid) -> Result<Upload, Refusal> {
    let upload = intake
        .store
        .get(id)
        .await?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such upload"))?;
    if upload.receipt.is_none() && upload.expires_at < unix_now() {
        intake.store.delete(id).await?;
        return Err(Refusal::new(
            StatusCode::GONE,
            "expired",
            "the upload expired; create it again",
        ));
    }
    Ok(upload)
}

pub(super) async fn head_upload(
    State(intake): State<Arc<Intake>>,
    Path(id): Path<String>,
) -> Reply {
    let id = parse_id(&id)?;
    let mut upload = live_upload(&intake, id).await?;
    if upload.offset == upload.length && upload.receipt.is_none() {
        // Every byte arrived but the checks did not run (the server stopped in between, or a
        // PATCH is running them now): run them under the upload's claim, so exactly once.
        let _claim = claim_waiting(&intake, id).await?;
        upload = live_upload(&intake, id).await?;
        if upload.offset == upload.length && upload.receipt.is_none() {
            upload.receipt = Some(finish(&intake, &upload).await?);
        }
    }
    let mut r = upload_response(StatusCode::OK, &upload);
    let h = r.headers_mut();
    h.remove(header::LOCATION);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("upload-length", HeaderValue::from(upload.length));
    Ok(r)
}

pub(super) async fn patch(
    State(intake): State<Arc<Intake>>,
    Extension(slot): Extension<UploadSlot>,
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
    let id = parse_id(&id)?;
    let claim = claim_waiting(&intake, id).await?;
    let upload = live_upload(&intake, id).await?;
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
    let done = append(&intake, claim, slot, &upload, offset, &headers, body).await?;
    let mut r = upload_response(StatusCode::NO_CONTENT, &done);
    r.headers_mut().remove(header::LOCATION);
    Ok(r)
}

pub(super) async fn terminate(State(intake): State<Arc<Intake>>, Path(id): Path<String>) -> Reply {
    let id = parse_id(&id)?;
    let _claim = claim_waiting(&intake, id).await?;
    let upload = live_upload(&intake, id).await?;
    if upload.receipt.is_some() {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "delivered",
            "a delivered report cannot be terminated",
        ));
    }
    intake.store.delete(upload.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn receipt(
    State(intake): State<Arc<Intake>>,
    Path(report_id): Path<String>,
) -> Reply {
    let not_found = || {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no receipt for this report",
        )
    };
    let report_id: Uuid = report_id.parse().map_err(|_| not_found())?;
    let upload = intake
        .store
        .by_report(report_id)
        .await?
        .ok_or_else(not_found)?;
    let receipt = upload.receipt.ok_or_else(not_found)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], receipt).into_response())
}
