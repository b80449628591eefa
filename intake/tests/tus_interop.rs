//! A third-party tus client (PyPI `tuspy`) uploads to our intake server: we speak standard tus,
//! not a private dialect. `cargo xtask test` provides the Python with tuspy (`SIGHTING_PYTHON`).

use std::process::Command;

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::Ed25519KeyPair;
use sighting_core::keys::{DeviceKeys, FileKeyStore};
use sighting_core::wire::hex;
use sighting_intake::IntakeConfig;
use uuid::Uuid;

use support::Server;
use test_support as support;

const UPLOAD: &str = r#"
import sys
from tusclient import client
url, path, report_id, device_key, sha, sig = sys.argv[1:7]
uploader = client.TusClient(url).uploader(
    path,
    chunk_size=65536,
    metadata={"report_id": report_id, "device_key": device_key, "ciphertext_sha256": sha, "envelope_sig": sig},
)
uploader.upload()
print(uploader.url)
"#;

#[tokio::test(flavor = "multi_thread")]
async fn tuspy_uploads_a_report_in_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        pkcs8.as_ref(),
        IntakeConfig::default(),
    )
    .await;
    let store = FileKeyStore::open(&tmp.path().join("ks.key")).unwrap();
    let keys = DeviceKeys::open_or_create(&tmp.path().join("keys"), &store).unwrap();
    let mut ciphertext = vec![0u8; 300_000];
    SystemRandom::new().fill(&mut ciphertext).unwrap();
    let file = tmp.path().join("report.age");
    std::fs::write(&file, &ciphertext).unwrap();
    let id = Uuid::now_v7();
    let sha: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &ciphertext)
        .as_ref()
        .try_into()
        .unwrap();
    let python = std::env::var("SIGHTING_PYTHON").unwrap_or_else(|_| "python3".into());
    let args = [
        format!("{}/v1/uploads", server.base),
        file.display().to_string(),
        id.to_string(),
        STANDARD.encode(keys.device.public_key()),
        hex::encode(&sha),
        STANDARD.encode(keys.device.sign_envelope(id, &sha)),
    ];
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg("-c")
            .arg(UPLOAD)
            .args(args)
            .output()
    })
    .await
    .unwrap()
    .expect("python with tuspy (cargo xtask test installs it)");
    assert!(
        out.status.success(),
        "tuspy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(tmp.path().join(format!("data/reports/{id}.age"))).unwrap(),
        ciphertext
    );
    server.stop().await;
}
