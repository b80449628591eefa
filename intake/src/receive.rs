//! Receiving a body: streamed to the upload's file through a fixed buffer, hashed as it
//! arrives, cut when it idles or runs past its time, and the upload finished on its last byte.
//!
//! tus 1.0.0, *Core Protocol*: "The Server SHOULD accept PATCH requests with partial content
//! [...] and SHOULD store as much of the received data as possible". *Checksum*: "If the hashes
//! do not match, the Server MUST respond with the 460 Checksum Mismatch status [...] and the
//! Upload-Offset MUST NOT be incremented."
//!
//! So without `Upload-Checksum` bytes are acknowledged every 256 KiB or second (a drop on a 2G
//! link costs little); with one they are written as they come but acknowledged only when the
//! whole body matches, and rolled back otherwise. Either way no more than one buffer of a body
//! is ever in memory.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use base64::{engine::general_purpose::STANDARD, Engine};
use futures_util::StreamExt;
use ring::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY, SHA256};
use sighting_core::wire::{hex, Receipt};
use tokio::time::Instant;

use super::store::Upload;
use super::{Claim, Intake, Refusal, UploadSlot};

/// Received bytes are written every 256 KiB (not per frame: each write is an fsync, or an object
/// and a row on the shared store), or every second on a slow link once the store's
/// `min_piece_bytes` have arrived, so a node that dies loses at most a second's bytes, or that
/// minimum (a cut body loses nothing: what arrived is kept). At most 64 MiB in memory for the
/// default 256 uploads at once.
const KEEP_EVERY: usize = 256 << 10;
const KEEP_AFTER: Duration = Duration::from_secs(1);

fn checksum_mismatch(error: &'static str, detail: &str) -> Refusal {
    Refusal::new(
        StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
        error,
        detail,
    )
}

/// Appends a request body and finishes the upload on its last byte.
///
/// It runs as its own task: when the phone's connection drops, hyper drops the request
/// handler, and the bytes that did arrive must still be kept (and a complete upload finished).
/// The task holds the upload's claim and the upload slot until it has ended, and the handler
/// answers only then: nothing is stored after a request has been answered.
pub(super) async fn append(
    intake: &Arc<Intake>,
    claim: Claim,
    slot: UploadSlot,
    upload: &Upload,
    offset: u64,
    headers: &HeaderMap,
    body: Body,
) -> Result<Upload, Refusal> {
    let checksum = headers
        .get("upload-checksum")
        .map(Checksum::parse)
        .transpose()?;
    let task = tokio::spawn({
        let (intake, upload) = (intake.clone(), upload.clone());
        let permit = slot.take();
        async move {
            let received = receive(&intake, &upload, offset, checksum, body).await;
            drop((claim, permit));
            received
        }
    });
    task.await
        .map_err(|_| Refusal::internal("receiving the body failed"))?
}

/// `Upload-Checksum: <algorithm> <base64 digest>`.
struct Checksum {
    hash: Context,
    expected: String,
}

impl Checksum {
    fn parse(value: &HeaderValue) -> Result<Self, Refusal> {
        let v = value.to_str().unwrap_or_default();
        let (algorithm, expected) = v.split_once(' ').unwrap_or((v, ""));
        let algorithm = match algorithm {
            "sha1" => &SHA1_FOR_LEGACY_USE_ONLY,
            "sha256" => &SHA256,
            _ => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "checksum",
                    "supported: sha1, sha256",
                ))
            }
        };
        Ok(Self {
            hash: Context::new(algorithm),
            expected: expected.to_string(),
        })
    }

    fn matches(self) -> bool {
        STANDARD.encode(self.hash.finish().as_ref()) == self.expected
    }
}

/// How reading a body ended.
#[derive(PartialEq)]
enum End {
    Complete,
    /// The connection dropped mid-body.
    Cut,
    /// Nothing arrived for `body_idle_timeout`, or the body ran past `request_timeout`.
    TimedOut,
}

async fn receive(
    intake: &Arc<Intake>,
    upload: &Upload,
    offset: u64,
    mut checksum: Option<Checksum>,
    body: Body,
) -> Result<Upload, Refusal> {
    let id = upload.id;
    intake.store.begin_append(id, offset).await?;
    let deadline = Instant::now() + intake.config.request_timeout;
    let room = upload.length - offset;
    let mut stream = body.into_data_stream();
    let mut pending: Vec<u8> = Vec::with_capacity(KEEP_EVERY);
    let mut written = offset;
    let mut acknowledged = offset;
    let mut last_write = Instant::now();
    // Without a checksum, what is kept is acknowledged at once; with one, only at the end.
    let acknowledge = checksum.is_none();
    let end = loop {
        let idle_until = (Instant::now() + intake.config.body_idle_timeout).min(deadline);
        let bytes = match tokio::time::timeout_at(idle_until, stream.next()).await {
            Err(_) => break End::TimedOut,
            Ok(None) => break End::Complete,
            Ok(Some(Err(_))) => break End::Cut,
            Ok(Some(Ok(bytes))) => bytes,
        };
        if written - offset + (pending.len() + bytes.len()) as u64 > room {
            rollback_to_acknowledged(intake, id).await?;
            return Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_long",
                "the body goes past Upload-Length",
            ));
        }
        if let Some(c) = checksum.as_mut() {
            c.hash.update(&bytes);
        }
        pending.extend_from_slice(&bytes);
        let slow_and_enough =
            last_write.elapsed() >= KEEP_AFTER && pending.len() >= intake.store.min_piece_bytes();
        if pending.len() >= KEEP_EVERY || slow_and_enough {
            last_write = Instant::now();
            (written, acknowledged) = keep(
                intake,
                upload,
                (written, acknowledged),
                &mut pending,
                acknowledge,
            )
            .await?;
        }
    };
    (written, acknowledged) = keep(
        intake,
        upload,
        (written, acknowledged),
        &mut pending,
        acknowledge,
    )
    .await?;
    drop(stream);
    if let Some(c) = checksum {
        if end != End::Complete {
            rollback_to_acknowledged(intake, id).await?;
            return Err(unfinished(
                end,
                "a checksummed body is kept whole or not at all",
            ));
        }
        if !c.matches() {
            rollback_to_acknowledged(intake, id).await?;
            return Err(checksum_mismatch(
                "checksum_mismatch",
                "the body does not match Upload-Checksum",
            ));
        }
    }
    let acknowledged = commit(intake, upload, acknowledged, written).await?;
    if end != End::Complete {
        return Err(unfinished(
            end,
            &format!("kept up to offset {acknowledged}"),
        ));
    }
    let mut done = Upload {
        offset: acknowledged,
        ..upload.clone()
    };
    if acknowledged == upload.length {
        done.receipt = Some(finish(intake, &done).await?);
    }
    Ok(done)
}

fn unfinished(end: End, kept: &str) -> Refusal {
    if end == End::TimedOut {
        Refusal::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the body stopped arriving or took too long; {kept}"),
        )
    } else {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "cut",
            format!("the body was cut short; {kept}"),
        )
    }
}

/// Writes what is buffered after the `written` bytes and, when `acknowledge`, makes everything
/// after the `acknowledged` ones durable and acknowledged in the same step. Returns the new
/// (written, acknowledged).
async fn keep(
    intake: &Arc<Intake>,
    upload: &Upload,
    (written, acknowledged): (u64, u64),
    pending: &mut Vec<u8>,
    acknowledge: bool,
) -> Result<(u64, u64), Refusal> {
    let bytes = std::mem::take(pending);
    let end = written + bytes.len() as u64;
    match (bytes.is_empty(), acknowledge) {
        (true, false) => {}
        (false, false) => intake.store.write(upload.id, written, bytes).await?,
        (true, true) => return Ok((end, commit(intake, upload, acknowledged, end).await?)),
        (false, true) => {
            intake
                .store
                .write_and_commit(upload.id, acknowledged, written, bytes)
                .await?
        }
    }
    Ok((end, if acknowledge { end } else { acknowledged }))
}

/// Acknowledges the bytes from `from` to `to`; returns the new offset.
async fn commit(intake: &Arc<Intake>, upload: &Upload, from: u64, to: u64) -> Result<u64, Refusal> {
    if to > from {
        intake.store.commit(upload.id, from, to).await?;
    }
    Ok(to)
}

async fn rollback_to_acknowledged(intake: &Arc<Intake>, id: uuid::Uuid) -> Result<(), Refusal> {
    Ok(intake.store.rollback(id).await?)
}

/// The last byte arrived: check the whole ciphertext against the envelope, then sign a receipt.
/// A failure deletes everything received: nothing unverified is kept. The caller holds the
/// upload's claim, so on one node this runs once per upload; nodes sharing a store may both run
/// it, and the store keeps the first receipt recorded (both then answer with that one).
pub(super) async fn finish(intake: &Arc<Intake>, upload: &Upload) -> Result<String, Refusal> {
    let id = upload.id;
    let (len, sha32) = match intake.store.assemble(id).await {
        Ok(assembled) => assembled,
        // Another node finished it meanwhile (and took its pieces away): its receipt stands.
        Err(e) => match intake.store.get(id).await?.and_then(|u| u.receipt) {
            Some(receipt) => return Ok(receipt),
            None => return Err(e.into()),
        },
    };
    if len != upload.length || hex::encode(&sha32) != upload.ciphertext_sha256 {
        intake.store.delete(id).await?;
        tracing::warn!(report = %upload.report_id, "completed upload refused: hash mismatch");
        return Err(checksum_mismatch(
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
    let json = serde_json::to_string(&receipt).map_err(|_| Refusal::internal("receipt"))?;
    let kept = intake.store.complete(id, &json).await?;
    tracing::info!(report = %upload.report_id, bytes = upload.length, "report received");
    Ok(kept)
}
