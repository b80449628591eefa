//! What a new upload must carry ([`UploadMetadata`], parsed in `sighting_core::wire`) and the
//! device's envelope signature over the report id and the ciphertext's SHA-256, checked before
//! any byte is kept.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::{engine::general_purpose::STANDARD, Engine};
use sighting_core::wire::{envelope_message, hex, UploadMetadata};
use uuid::Uuid;

use super::store::Upload;
use super::{unix_now, Refusal};

/// Parses the `Upload-Metadata` header.
pub fn metadata(headers: &HeaderMap) -> Result<UploadMetadata, Refusal> {
    let bad = |d: String| Refusal::new(StatusCode::BAD_REQUEST, "metadata", d);
    headers
        .get("upload-metadata")
        .ok_or_else(|| bad("Upload-Metadata is required".into()))?
        .to_str()
        .map_err(|_| bad("Upload-Metadata is not ASCII".into()))?
        .parse()
        .map_err(|e: sighting_core::wire::MetadataError| bad(e.to_string()))
}

/// Checks the envelope signature (strict Ed25519: no small-order keys, canonical encodings);
/// returns the upload to create.
pub fn envelope(meta: &UploadMetadata, length: u64, expiry: Duration) -> Result<Upload, Refusal> {
    let message = envelope_message(meta.report_id, &meta.ciphertext_sha256);
    if !sighting_core::wire::strict_signature::verify_strict(
        &meta.device_key,
        &message,
        &meta.envelope_sig,
    ) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "envelope",
            "the envelope signature does not verify",
        ));
    }
    Ok(Upload {
        // Random, not time-ordered: an upload URL is the capability to resume or terminate it.
        id: Uuid::new_v4(),
        report_id: meta.report_id,
        device_key: STANDARD.encode(meta.device_key),
        ciphertext_sha256: hex::encode(&meta.ciphertext_sha256),
        envelope_sig: STANDARD.encode(meta.envelope_sig),
        length,
        offset: 0,
        expires_at: unix_now() + expiry.as_secs() as i64,
        receipt: None,
        device_clock: meta.device_clock,
        created_at_ms: sighting_core::millis::now(),
    })
}
