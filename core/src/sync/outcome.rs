//! How one report's attempt ends, and how a failure is read from what the network or the
//! server did: the typed [`AttemptError`] the outbox shows, and when to try again.

use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

use crate::queue::{AttemptError, AttemptFailure};

const BACKOFF_BASE: Duration = Duration::from_secs(2);
pub(super) const BACKOFF_CAP: Duration = Duration::from_secs(3600);
/// Bytes of a response body read at most: receipts and error bodies are small, and a hostile
/// server must not fill the phone's memory.
const MAX_RESPONSE_BODY: usize = 64 << 10;

pub(super) enum Outcome {
    /// The verified receipt (JSON).
    Delivered(String),
    Unconfirmed,
    Rejected(String),
    /// Try again later; not before the server's `Retry-After`, if it gave one.
    Retry(AttemptFailure, Option<Duration>),
    /// Cut by the budget or a cancel; the next run resumes from the server's offset.
    Paused,
}

impl Outcome {
    pub(super) fn retry(error: AttemptError, detail: impl Into<String>) -> Self {
        Outcome::Retry(AttemptFailure::new(error, detail), None)
    }

    /// The server broke the protocol (or lies): retried, and shown as such.
    pub(super) fn protocol(detail: impl Into<String>) -> Self {
        Outcome::retry(AttemptError::ServerProtocol, detail)
    }

    pub(super) fn network(e: &reqwest::Error) -> Self {
        Outcome::Retry(network_failure(e), None)
    }

    pub(super) fn stalled() -> Self {
        Outcome::retry(AttemptError::Stalled, "the connection stalled")
    }

    /// A server that says its offset is past the end of the report is broken or hostile.
    pub(super) fn past_the_end(offset: u64) -> Self {
        Outcome::protocol(format!(
            "the upload offset {offset} is past the end of the report"
        ))
    }

    /// 4xx other than 408/409/429 is the server's final word; anything else is worth retrying.
    pub(super) async fn refusal(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        // Never beyond the backoff ceiling, whatever the server asks: a huge value would park
        // the report for good (or overflow the clock).
        let retry_after = header_u64(&response, "retry-after")
            .map(|s| Duration::from_secs(s.min(BACKOFF_CAP.as_secs())));
        let detail = bounded_text(response)
            .await
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["detail"].as_str().map(|d| d.chars().take(500).collect()))
            .unwrap_or_else(|| format!("HTTP {status}"));
        if (400..500).contains(&status) && !matches!(status, 408 | 409 | 429) {
            return Outcome::Rejected(detail);
        }
        let error = if status == 507 {
            AttemptError::ServerFull
        } else {
            AttemptError::ServerStatus(status)
        };
        Outcome::Retry(AttemptFailure::new(error, detail), retry_after)
    }
}

/// What a failed request means to the reporter: untrusted TLS, or the network.
pub(super) fn network_failure(e: &reqwest::Error) -> AttemptFailure {
    if let Some(tls) = tls_error(e) {
        return AttemptFailure::new(
            AttemptError::TlsNotTrusted,
            format!("the intake server's certificate is not trusted ({tls})"),
        );
    }
    let what = if e.is_connect() {
        "cannot reach the intake server"
    } else if e.is_timeout() {
        "the connection timed out"
    } else {
        "the connection failed"
    };
    AttemptFailure::new(AttemptError::Network, what)
}

/// The rustls error behind a failed request, if TLS is what failed. It travels inside nested
/// `io::Error`s, whose `source()` skips the error they wrap, so each is opened with `get_ref`.
fn tls_error(e: &reqwest::Error) -> Option<&rustls::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
            None => cause.source(),
        };
    }
    None
}

/// Full jitter: a random delay in [0, min(cap, base × 2^attempts)], and never sooner than
/// the server asked for.
pub(super) fn next_try(attempts: u32, retry_after: Option<Duration>) -> time::Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempts.min(20))
        .min(BACKOFF_CAP);
    let mut r = [0u8; 8];
    let fraction = match SystemRandom::new().fill(&mut r) {
        Ok(()) => u64::from_le_bytes(r) as f64 / u64::MAX as f64,
        Err(_) => 1.0,
    };
    let backoff = time::Duration::seconds_f64(ceiling.as_secs_f64() * fraction);
    let floor = retry_after
        .map(|d| d.min(BACKOFF_CAP))
        .and_then(|d| time::Duration::try_from(d).ok())
        .unwrap_or_default();
    backoff.max(floor)
}

/// The response body as text, or `None` when it is unreadable, not UTF-8, or too long.
pub(super) async fn bounded_text(response: reqwest::Response) -> Option<String> {
    let body = bounded_body(response, MAX_RESPONSE_BODY).await.ok()??;
    String::from_utf8(body).ok()
}

/// The response body, or `None` past `limit` bytes (a declared length over it is refused
/// before a byte is read).
pub(super) async fn bounded_body(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

pub(super) fn header_u64(r: &reqwest::Response, name: &str) -> Option<u64> {
    r.headers().get(name)?.to_str().ok()?.parse().ok()
}
