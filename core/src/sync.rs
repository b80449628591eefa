//! Sync, first stage: upload queued reports to the intake server over tus 1.0.0, resume from the
//! server's offset, verify the signed receipt, then mark the report delivered and delete its
//! ciphertext.
//!
//! The tus client is ours (no maintained Rust one exists): POST creates the upload, each PATCH
//! sends one chunk, and the upload URL and offset are written to the queue *before* each PATCH,
//! so a killed app resumes with a HEAD. This stage speaks plain `http://` to loopback only
//! (tests, demo); TLS with a pinned CA, scheduling across reports and the network-fault suite
//! are the rest of the sync issue.

use std::time::{Duration, Instant};

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::device::DeviceError;
use crate::handle::{DeviceHandle, HandleError};
use crate::queue::{PendingUpload, State};
use crate::receipt::Receipt;

const TUS: &str = "1.0.0";
const BACKOFF_BASE: Duration = Duration::from_secs(2);
const BACKOFF_CAP: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// The intake server's base URL, e.g. `http://127.0.0.1:8080`.
    pub intake: String,
    /// The server's receipt key (Ed25519 public key) from the app's configuration.
    pub server_key: [u8; 32],
    /// Bytes per PATCH (default 256 KiB).
    pub chunk_size: usize,
}

/// How much one sync run may spend.
#[derive(Debug, Clone, Copy)]
pub struct SyncBudget {
    pub max_wall: Duration,
    pub max_bytes: u64,
    /// Skip reports whose backoff has not run out (background runs); a reporter's "send now"
    /// tries everything.
    pub honour_backoff: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    pub delivered: Vec<Uuid>,
    pub unconfirmed: Vec<Uuid>,
    pub rejected: Vec<(Uuid, String)>,
    pub retrying: Vec<(Uuid, String)>,
    /// Cut by the budget mid-upload; the next sync resumes from the server's offset.
    pub paused: Vec<Uuid>,
    pub bytes_sent: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "the intake URL {0:?} is not supported yet (this stage speaks http:// to loopback only)"
    )]
    Url(String),
    #[error(transparent)]
    Device(#[from] HandleError),
}

impl From<DeviceError> for SyncError {
    fn from(e: DeviceError) -> Self {
        SyncError::Device(HandleError::Device(e))
    }
}

/// How one report's attempt ended.
enum Outcome {
    Delivered(String),
    Unconfirmed,
    Rejected(String),
    /// Try again later; not before the server's `Retry-After`, if it gave one.
    Retry(String, Option<Duration>),
    Paused,
}

/// What is left of the budget.
struct Allowance {
    started: Instant,
    budget: SyncBudget,
    sent: u64,
}

impl Allowance {
    fn spent(&self) -> bool {
        self.started.elapsed() >= self.budget.max_wall || self.sent >= self.budget.max_bytes
    }
}

/// Uploads what is due, oldest first, within `budget`.
pub async fn sync(
    device: &DeviceHandle,
    config: &SyncConfig,
    budget: SyncBudget,
) -> Result<SyncSummary, SyncError> {
    let url =
        reqwest::Url::parse(&config.intake).map_err(|_| SyncError::Url(config.intake.clone()))?;
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if url.scheme() != "http" || !loopback {
        return Err(SyncError::Url(config.intake.clone()));
    }
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|_| SyncError::Url(config.intake.clone()))?;
    let mut allowance = Allowance {
        started: Instant::now(),
        budget,
        sent: 0,
    };
    let due_by = budget.honour_backoff.then(OffsetDateTime::now_utc);
    let pending = device
        .call(move |d| Ok(d.queue().pending_uploads(due_by)?))
        .await?;
    let mut summary = SyncSummary::default();
    for item in pending {
        if allowance.spent() {
            break;
        }
        let id = item.id;
        if item.state == State::Sealed {
            device
                .call(move |d| Ok(d.queue().transition(id, State::Uploading, |_| Ok(()))?))
                .await?;
        }
        let outcome = upload(device, &client, config, &item, &mut allowance).await?;
        summary.bytes_sent = allowance.sent;
        let attempts = item.attempts;
        match outcome {
            Outcome::Delivered(receipt) => {
                device
                    .call(move |d| d.finish_delivered(id, State::Delivered, Some(&receipt)))
                    .await?;
                summary.delivered.push(id);
            }
            Outcome::Unconfirmed => {
                device
                    .call(move |d| d.finish_delivered(id, State::UploadedUnconfirmed, None))
                    .await?;
                summary.unconfirmed.push(id);
            }
            Outcome::Rejected(reason) => {
                let r = reason.clone();
                device
                    .call(move |d| Ok(d.queue().finish_upload(id, State::Rejected, Some(&r))?))
                    .await?;
                summary.rejected.push((id, reason));
            }
            Outcome::Paused => summary.paused.push(id),
            Outcome::Retry(error, retry_after) => {
                // Never sooner than the server asked for.
                let floor = retry_after
                    .and_then(|d| time::Duration::try_from(d).ok())
                    .unwrap_or_default();
                let next = OffsetDateTime::now_utc() + backoff(attempts).max(floor);
                let e = error.clone();
                device
                    .call(move |d| Ok(d.queue().record_failure(id, &e, next)?))
                    .await?;
                summary.retrying.push((id, error));
            }
        }
    }
    Ok(summary)
}

/// Full jitter: a random delay in [0, min(cap, base × 2^attempts)].
fn backoff(attempts: u32) -> time::Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempts.min(20))
        .min(BACKOFF_CAP);
    let mut r = [0u8; 8];
    let fraction = match SystemRandom::new().fill(&mut r) {
        Ok(()) => u64::from_le_bytes(r) as f64 / u64::MAX as f64,
        Err(_) => 1.0,
    };
    time::Duration::seconds_f64(ceiling.as_secs_f64() * fraction)
}

async fn upload(
    device: &DeviceHandle,
    client: &reqwest::Client,
    config: &SyncConfig,
    item: &PendingUpload,
    allowance: &mut Allowance,
) -> Result<Outcome, SyncError> {
    let id = item.id;
    let mut upload_url = item.upload_url.clone();
    let mut offset;
    loop {
        let url = match upload_url.clone() {
            Some(url) => url,
            None => match create(client, config, item).await {
                Ok(Created::New(url)) => {
                    let u = url.clone();
                    device
                        .call(move |d| Ok(d.queue().set_upload_progress(id, Some(&u), 0)?))
                        .await?;
                    url
                }
                Ok(Created::AlreadyDelivered) => return Ok(receipt(client, config, item).await),
                Err(outcome) => return Ok(outcome),
            },
        };
        match head(client, &url).await {
            Ok(Some(server_offset)) => {
                offset = server_offset;
                upload_url = Some(url);
                break;
            }
            // 404/410: the server lost or expired it; a new upload for the same report.
            Ok(None) => {
                upload_url = None;
                device
                    .call(move |d| Ok(d.queue().set_upload_progress(id, None, 0)?))
                    .await?;
            }
            Err(outcome) => return Ok(outcome),
        }
    }
    let url = upload_url.unwrap_or_default();
    while offset < item.bytes {
        if allowance.spent() {
            return Ok(Outcome::Paused);
        }
        let (from, len) = (offset, (config.chunk_size as u64).min(item.bytes - offset));
        // Persisted before the PATCH: a kill now resumes from here (after asking HEAD).
        let u = url.clone();
        let chunk = device
            .call(move |d| {
                d.queue().set_upload_progress(id, Some(&u), from)?;
                d.read_sealed(id, from, len)
            })
            .await?;
        let response = client
            .patch(&url)
            .header("Tus-Resumable", TUS)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", from.to_string())
            .body(chunk)
            .send()
            .await;
        match response {
            Ok(r) if r.status().as_u16() == 204 => {
                offset = header_u64(&r, "upload-offset").unwrap_or(from + len);
                allowance.sent += len;
            }
            Ok(r) if r.status().as_u16() == 409 => match head(client, &url).await {
                Ok(Some(server_offset)) => offset = server_offset,
                Ok(None) => return Ok(Outcome::Retry("the server lost the upload".into(), None)),
                Err(outcome) => return Ok(outcome),
            },
            Ok(r) => return Ok(refusal(r).await),
            Err(e) => return Ok(Outcome::Retry(network(&e), None)),
        }
    }
    Ok(receipt(client, config, item).await)
}

/// `Upload-Metadata` for a report: `report_id` (UUID), `device_key` (base64), `ciphertext_sha256`
/// (hex), `envelope_sig` (base64), each value base64-encoded again as tus requires.
pub fn upload_metadata(
    report_id: Uuid,
    device_key: &str,
    ciphertext_sha256: &str,
    envelope_sig: &str,
) -> String {
    [
        ("report_id", report_id.to_string()),
        ("device_key", device_key.to_string()),
        ("ciphertext_sha256", ciphertext_sha256.to_string()),
        ("envelope_sig", envelope_sig.to_string()),
    ]
    .iter()
    .map(|(k, v)| format!("{k} {}", STANDARD.encode(v)))
    .collect::<Vec<_>>()
    .join(",")
}

enum Created {
    New(String),
    AlreadyDelivered,
}

async fn create(
    client: &reqwest::Client,
    config: &SyncConfig,
    item: &PendingUpload,
) -> Result<Created, Outcome> {
    let metadata = upload_metadata(
        item.id,
        &item.device_key,
        &item.ciphertext_sha256,
        &item.envelope_sig,
    );
    let response = client
        .post(format!(
            "{}/v1/uploads",
            config.intake.trim_end_matches('/')
        ))
        .header("Tus-Resumable", TUS)
        .header("Upload-Length", item.bytes.to_string())
        .header("Upload-Metadata", metadata)
        .send()
        .await
        .map_err(|e| Outcome::Retry(network(&e), None))?;
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match (response.status().as_u16(), location) {
        (200, _) => Ok(Created::AlreadyDelivered),
        (201, Some(location)) => Ok(Created::New(absolute(&config.intake, &location))),
        _ => Err(refusal(response).await),
    }
}

/// The server's offset, or `None` when the upload is gone (404/410).
async fn head(client: &reqwest::Client, url: &str) -> Result<Option<u64>, Outcome> {
    let r = client
        .head(url)
        .header("Tus-Resumable", TUS)
        .send()
        .await
        .map_err(|e| Outcome::Retry(network(&e), None))?;
    match r.status().as_u16() {
        200 | 204 => header_u64(&r, "upload-offset")
            .map(Some)
            .ok_or_else(|| Outcome::Retry("HEAD without Upload-Offset".into(), None)),
        404 | 410 => Ok(None),
        _ => Err(refusal(r).await),
    }
}

/// Fetches and verifies the receipt. No receipt endpoint (a third-party tus server): the
/// upload happened but nobody vouches for it. A forged receipt keeps the report queued.
async fn receipt(client: &reqwest::Client, config: &SyncConfig, item: &PendingUpload) -> Outcome {
    let url = format!(
        "{}/v1/reports/{}/receipt",
        config.intake.trim_end_matches('/'),
        item.id
    );
    let response = match client.get(url).send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Retry(network(&e), None),
    };
    if response.status().as_u16() == 404 {
        return Outcome::Unconfirmed;
    }
    let Ok(text) = response.text().await else {
        return Outcome::Retry("the receipt could not be read".into(), None);
    };
    let Ok(receipt) = serde_json::from_str::<Receipt>(&text) else {
        return Outcome::Retry("the server's receipt is not a receipt".into(), None);
    };
    let sha = crate::report::parse_hex32(&item.ciphertext_sha256).unwrap_or_default();
    match receipt.verify(item.id, &sha, &config.server_key) {
        Ok(()) => Outcome::Delivered(text),
        Err(e) => Outcome::Retry(format!("RECEIPT REFUSED: {e}"), None),
    }
}

/// 4xx other than 408/409/429 is the server's final word; anything else is worth retrying.
async fn refusal(response: reqwest::Response) -> Outcome {
    let status = response.status().as_u16();
    let retry_after = header_u64(&response, "retry-after").map(Duration::from_secs);
    let detail = response
        .text()
        .await
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or_else(|| format!("HTTP {status}"));
    if (400..500).contains(&status) && !matches!(status, 408 | 409 | 429) {
        Outcome::Rejected(detail)
    } else {
        Outcome::Retry(format!("server: {detail}"), retry_after)
    }
}

fn network(e: &reqwest::Error) -> String {
    if e.is_connect() {
        "network: cannot reach the intake server".into()
    } else if e.is_timeout() {
        "network: the connection timed out".into()
    } else {
        "network: the connection failed".into()
    }
}

fn header_u64(r: &reqwest::Response, name: &str) -> Option<u64> {
    r.headers().get(name)?.to_str().ok()?.parse().ok()
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        location.to_string()
    } else {
        format!("{}{location}", base.trim_end_matches('/'))
    }
}
