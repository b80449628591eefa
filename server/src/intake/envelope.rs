//! What a new upload must carry: the `Upload-Metadata` header and the device's envelope
//! signature over the report id and the ciphertext's SHA-256, checked before any byte is kept.
//!
//! tus 1.0.0, *Creation*: "The Upload-Metadata request and response header MUST consist of one
//! or more comma-separated key-value pairs. The key and value MUST be separated by a space. The
//! key MUST NOT contain spaces and commas and MUST NOT be empty. [...] The value MUST be Base64
//! encoded."

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::{engine::general_purpose::STANDARD, Engine};
use sighting_core::keys::envelope_message;
use sighting_core::report::parse_hex32;
use uuid::Uuid;

use super::store::Upload;
use super::{unix_now, Refusal};

/// Parses `Upload-Metadata`: `key base64(value)` pairs, comma separated.
pub fn metadata(headers: &HeaderMap) -> Result<HashMap<String, String>, Refusal> {
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

/// Checks the envelope fields and signature; returns the upload to create.
pub fn envelope(
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
    if !crate::signature::verify_strict(&key_bytes, &envelope_message(report_id, &sha), &sig) {
        return Err(bad("the envelope signature does not verify"));
    }
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
        // Random, not time-ordered: an upload URL is the capability to resume or terminate it.
        id: Uuid::new_v4(),
        report_id,
        device_key,
        ciphertext_sha256: sha_hex,
        envelope_sig,
        length,
        offset: 0,
        expires_at: unix_now() + expiry.as_secs() as i64,
        receipt: None,
        device_clock,
        created_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    })
}
