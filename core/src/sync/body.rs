//! Sending one request body (a PATCH chunk, or a small report with its POST): in pieces, each
//! counted against the run's bytes, with a watchdog that abandons a request that moves nothing
//! for the stall timeout.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::{engine::general_purpose::STANDARD, Engine};
use futures_util::stream;
use tokio::time::Instant;

use super::outcome::Outcome;
use super::run::Run;
use super::{Syncer, TUS};

/// Bytes handed to the connection at a time: the grain of the stall watchdog.
const PIECE: usize = 16 << 10;

pub(super) enum Sent {
    Response(reqwest::Response),
    Failed(Outcome),
}

impl Syncer {
    /// Sends `body` in pieces, counting what leaves; abandons a request that moves nothing for
    /// `stall_timeout`, and is cut by the deadline or a cancel.
    pub(super) async fn send_body(
        &self,
        run: &Run<'_>,
        request: reqwest::RequestBuilder,
        body: Vec<u8>,
        checksum: Option<&'static str>,
    ) -> Sent {
        let mut request = request
            .header("Tus-Resumable", TUS)
            .header("Content-Length", body.len().to_string());
        if let Some(algorithm) = checksum {
            request = request.header("Upload-Checksum", upload_checksum(algorithm, &body));
        }
        let moved = Arc::new(AtomicU64::new(0));
        let body = bytes::Bytes::from(body);
        let pieces = (0..body.len().div_ceil(PIECE)).map({
            let body = body.clone();
            let moved = moved.clone();
            let sent = &run.sent;
            move |i| {
                let piece = body.slice(i * PIECE..((i + 1) * PIECE).min(body.len()));
                moved.fetch_add(piece.len() as u64, Ordering::Relaxed);
                sent.fetch_add(piece.len() as u64, Ordering::Relaxed);
                Ok::<_, std::io::Error>(piece)
            }
        });
        // The iterator borrows `run`; reqwest wants 'static, so feed it through a channel.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
        let feed = async move {
            for piece in pieces {
                if tx.send(piece).await.is_err() {
                    break;
                }
            }
        };
        let body_stream = stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|piece| (piece, rx))
        });
        let send = request.body(reqwest::Body::wrap_stream(body_stream)).send();
        let watchdog = async {
            let mut last = moved.load(Ordering::Relaxed);
            let mut still_since = Instant::now();
            loop {
                tokio::time::sleep(self.config.stall_timeout / 4).await;
                let now = moved.load(Ordering::Relaxed);
                if now != last {
                    (last, still_since) = (now, Instant::now());
                } else if last < body.len() as u64
                    && still_since.elapsed() >= self.config.stall_timeout
                {
                    return;
                }
            }
        };
        let attempt = async {
            tokio::select! {
                (r, ()) = async { tokio::join!(send, feed) } => Some(r),
                () = watchdog => None,
            }
        };
        match run.bounded(attempt).await {
            None => Sent::Failed(Outcome::Paused),
            Some(None) => Sent::Failed(Outcome::stalled()),
            Some(Some(Err(e))) => Sent::Failed(Outcome::network(&e)),
            Some(Some(Ok(r))) => Sent::Response(r),
        }
    }
}

/// tus 1.0.0, *Checksum*: "The Upload-Checksum header MUST consist of the name of the used
/// checksum algorithm and the Base64 encoded checksum separated by a space."
fn upload_checksum(algorithm: &str, body: &[u8]) -> String {
    let digest = if algorithm == "sha1" {
        &ring::digest::SHA1_FOR_LEGACY_USE_ONLY
    } else {
        &ring::digest::SHA256
    };
    let sum = STANDARD.encode(ring::digest::digest(digest, body));
    format!("{algorithm} {sum}")
}
