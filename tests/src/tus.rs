//! Talking tus by hand: sealed-looking reports with real envelopes, and the requests.

use std::path::Path;

use reqwest::{Client, StatusCode};
use ring::rand::SystemRandom;
use ring::signature::Ed25519KeyPair;
use sighting_core::keys::{DeviceKeys, FileKeyStore};
use sighting_core::wire::UploadMetadata;
use uuid::Uuid;

/// A sealed-looking report: random ciphertext bytes with a real envelope from a device key.
pub struct Report {
    pub id: Uuid,
    pub bytes: Vec<u8>,
    pub metadata: String,
}

pub fn device_keys(dir: &Path) -> DeviceKeys {
    let store = FileKeyStore::open(&dir.join("ks.key")).unwrap();
    DeviceKeys::open_or_create(&dir.join("keys"), &store).unwrap()
}

pub fn report(keys: &DeviceKeys, len: usize) -> Report {
    let mut bytes = vec![0u8; len];
    ring::rand::SecureRandom::fill(&SystemRandom::new(), &mut bytes).unwrap();
    let id = Uuid::now_v7();
    let sha: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .try_into()
        .unwrap();
    let sig = keys.device.sign_envelope(id, &sha);
    let metadata = metadata(id, keys.device.public_key(), sha, sig);
    Report {
        id,
        bytes,
        metadata,
    }
}

pub fn metadata(id: Uuid, device_key: [u8; 32], sha: [u8; 32], sig: [u8; 64]) -> String {
    UploadMetadata {
        report_id: id,
        device_key,
        ciphertext_sha256: sha,
        envelope_sig: sig,
        device_clock: None,
    }
    .to_string()
}

pub fn server_pkcs8() -> Vec<u8> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .unwrap()
        .as_ref()
        .to_vec()
}

pub async fn create(client: &Client, base: &str, r: &Report) -> reqwest::Response {
    client
        .post(format!("{base}/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", r.bytes.len().to_string())
        .header("Upload-Metadata", &r.metadata)
        .send()
        .await
        .unwrap()
}

pub async fn patch(
    client: &Client,
    url: &str,
    offset: usize,
    body: &[u8],
    checksum: Option<String>,
) -> reqwest::Response {
    let mut req = client
        .patch(url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", offset.to_string());
    if let Some(c) = checksum {
        req = req.header("Upload-Checksum", c);
    }
    req.body(body.to_vec()).send().await.unwrap()
}

pub async fn head_offset(client: &Client, url: &str) -> (StatusCode, Option<u64>) {
    let r = client
        .head(url)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    let offset = r
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (r.status(), offset)
}

/// tus *Termination*: `DELETE` on the upload's URL; the answer's status.
pub async fn terminate(client: &Client, url: &str) -> StatusCode {
    client
        .delete(url)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap()
        .status()
}

pub fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// `GET /v1/reports/<id>/receipt`: what a phone asks once its last byte is in.
pub async fn receipt(client: &Client, base: &str, report_id: Uuid) -> reqwest::Response {
    client
        .get(format!("{base}/v1/reports/{report_id}/receipt"))
        .send()
        .await
        .unwrap()
}

/// Sends a request that must succeed and reads its JSON answer.
pub async fn json<T: serde::de::DeserializeOwned>(request: reqwest::RequestBuilder) -> T {
    let answer = request.send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.json().await.unwrap()
}
