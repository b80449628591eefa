//! The intake server on a real loopback socket, driven over HTTP: tus conformance, envelope and
//! ciphertext checks, receipts, limits, and a restart in the middle of an upload.

use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::{Method, StatusCode};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::wire::Receipt;
use sighting_intake::IntakeConfig;
use uuid::Uuid;

use support::tus::{
    create, device_keys, head_offset, header, metadata, patch, receipt, report, server_pkcs8,
    terminate,
};
use support::Server;
use test_support as support;

#[tokio::test]
async fn a_report_goes_through_the_tus_protocol_and_gets_a_verified_receipt() {
    let tmp = tempfile::tempdir().unwrap();
    let pkcs8 = server_pkcs8();
    let server_key: [u8; 32] = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .unwrap()
        .public_key()
        .as_ref()
        .try_into()
        .unwrap();
    let server = Server::start(&tmp.path().join("data"), &pkcs8, IntakeConfig::default()).await;
    let client = support::client();
    let base = server.base.clone();
    let keys = device_keys(tmp.path());
    let r = report(&keys, 150_000);

    let options = client
        .request(Method::OPTIONS, format!("{base}/v1/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&options, "tus-version").as_deref(), Some("1.0.0"));
    assert_eq!(
        header(&options, "tus-extension").as_deref(),
        Some("creation,creation-with-upload,termination,checksum,expiration")
    );
    assert_eq!(
        header(&options, "tus-max-size").as_deref(),
        Some("67108864")
    );
    assert!(
        header(&options, "tus-resumable").is_none(),
        "no Tus-Resumable on OPTIONS"
    );

    let old = client
        .post(format!("{base}/v1/uploads"))
        .header("Tus-Resumable", "0.2.2")
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(header(&old, "tus-version").as_deref(), Some("1.0.0"));

    let created = create(&client, &base, &r).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(header(&created, "tus-resumable").as_deref(), Some("1.0.0"));
    assert!(header(&created, "upload-expires").is_some());
    let url = format!("{base}{}", header(&created, "location").unwrap());
    assert_eq!(head_offset(&client, &url).await, (StatusCode::OK, Some(0)));

    let wrong_type = client
        .patch(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/octet-stream")
        .header("Upload-Offset", "0")
        .body(r.bytes[..10].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        patch(&client, &url, 5, &r.bytes[..10], None).await.status(),
        StatusCode::CONFLICT
    );
    let bad_sum = patch(
        &client,
        &url,
        0,
        &r.bytes[..1000],
        Some(format!("sha1 {}", STANDARD.encode([0u8; 20]))),
    )
    .await;
    assert_eq!(bad_sum.status().as_u16(), 460);
    assert_eq!(
        head_offset(&client, &url).await.1,
        Some(0),
        "a checksum mismatch does not advance the offset"
    );

    let sha1 = STANDARD.encode(
        ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &r.bytes[..100_000]).as_ref(),
    );
    let first = patch(
        &client,
        &url,
        0,
        &r.bytes[..100_000],
        Some(format!("sha1 {sha1}")),
    )
    .await;
    assert_eq!(first.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&first, "upload-offset").as_deref(), Some("100000"));
    let sha256 =
        STANDARD.encode(ring::digest::digest(&ring::digest::SHA256, &r.bytes[100_000..]).as_ref());
    let last = patch(
        &client,
        &url,
        100_000,
        &r.bytes[100_000..],
        Some(format!("sha256 {sha256}")),
    )
    .await;
    assert_eq!(last.status(), StatusCode::NO_CONTENT);
    assert_eq!(header(&last, "upload-offset").as_deref(), Some("150000"));

    let receipt: Receipt = receipt(&client, &base, r.id).await.json().await.unwrap();
    let sha: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &r.bytes)
        .as_ref()
        .try_into()
        .unwrap();
    receipt.verify(r.id, &sha, &server_key).unwrap();
    assert!(receipt.verify(r.id, &[0; 32], &server_key).is_err());

    // Stored byte-identical where the desk reads; a replay stores nothing new and says 200.
    assert_eq!(
        std::fs::read(tmp.path().join(format!("data/reports/{}.age", r.id))).unwrap(),
        r.bytes
    );
    let replay = create(&client, &base, &r).await;
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(
        format!("{base}{}", header(&replay, "location").unwrap()),
        url
    );
    let mut filed: Vec<String> = std::fs::read_dir(tmp.path().join("data/reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    filed.sort();
    assert_eq!(
        filed,
        [format!("{}.age", r.id), format!("{}.intake.json", r.id)],
        "one ciphertext and its intake record"
    );
    let record: sighting_intake::store::IntakeRecord = serde_json::from_slice(
        &std::fs::read(
            tmp.path()
                .join(format!("data/reports/{}.intake.json", r.id)),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(record.receipt, receipt);
    assert_eq!(terminate(&client, &url).await, StatusCode::FORBIDDEN);
    server.stop().await;
}

#[tokio::test]
async fn forged_oversize_tampered_and_terminated_uploads_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let config = IntakeConfig {
        max_size: 1 << 20,
        rate_burst: 100,
        ..IntakeConfig::default()
    };
    let server = Server::start(&tmp.path().join("data"), &server_pkcs8(), config).await;
    let (client, base) = (support::client(), server.base.clone());
    let keys = device_keys(tmp.path());
    let stored = || {
        std::fs::read_dir(tmp.path().join("data/reports"))
            .unwrap()
            .count()
    };

    // A signature by another key, and a valid signature over another hash.
    let mut forged = report(&keys, 1000);
    let other = device_keys(&tmp.path().join("other"));
    let real = report(&keys, 1000);
    let sha = ring::digest::digest(&ring::digest::SHA256, &real.bytes)
        .as_ref()
        .try_into()
        .unwrap();
    forged.metadata = metadata(
        real.id,
        keys.device.public_key(),
        sha,
        other.device.sign_envelope(real.id, &[1; 32]),
    );
    let refused = create(&client, &base, &forged).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "envelope");
    assert!(body["detail"].as_str().unwrap().contains("signature"));

    let big = report(&keys, (1 << 20) + 1);
    assert_eq!(
        create(&client, &base, &big).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );

    // The envelope is right, the bytes sent are not the sealed ones.
    let tampered = report(&keys, 5000);
    let url = format!(
        "{base}{}",
        header(&create(&client, &base, &tampered).await, "location").unwrap()
    );
    let mut bytes = tampered.bytes.clone();
    bytes[4000] ^= 1;
    let end = patch(&client, &url, 0, &bytes, None).await;
    assert_eq!(end.status().as_u16(), 460);
    assert_eq!(
        head_offset(&client, &url).await.0,
        StatusCode::NOT_FOUND,
        "the partial data is deleted"
    );

    let abandoned = report(&keys, 5000);
    let url = format!(
        "{base}{}",
        header(&create(&client, &base, &abandoned).await, "location").unwrap()
    );
    patch(&client, &url, 0, &abandoned.bytes[..100], None).await;
    assert_eq!(terminate(&client, &url).await, StatusCode::NO_CONTENT);
    assert_eq!(head_offset(&client, &url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(stored(), 0, "nothing was stored");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("data/uploads"))
            .unwrap()
            .count(),
        0
    );
    server.stop().await;
}

#[tokio::test]
async fn a_device_over_its_rate_limit_gets_429_with_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let config = IntakeConfig {
        rate_burst: 2,
        rate_refill: std::time::Duration::from_secs(30),
        ..IntakeConfig::default()
    };
    let server = Server::start(&tmp.path().join("data"), &server_pkcs8(), config).await;
    let (client, base) = (support::client(), server.base.clone());
    let keys = device_keys(tmp.path());
    for _ in 0..2 {
        assert_eq!(
            create(&client, &base, &report(&keys, 100)).await.status(),
            StatusCode::CREATED
        );
    }
    let limited = create(&client, &base, &report(&keys, 100)).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = header(&limited, "retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait));
    // Another device is not affected.
    let other = device_keys(&tmp.path().join("other"));
    assert_eq!(
        create(&client, &base, &report(&other, 100)).await.status(),
        StatusCode::CREATED
    );
    server.stop().await;
}

#[tokio::test]
async fn creation_with_upload_and_a_restart_mid_upload_lose_no_acknowledged_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pkcs8 = server_pkcs8();
    let keys = device_keys(tmp.path());
    let client = support::client();

    let small = report(&keys, 2000);
    let server = Server::start(&data, &pkcs8, IntakeConfig::default()).await;
    let one_shot = client
        .post(format!("{}/v1/uploads", server.base))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "2000")
        .header("Upload-Metadata", &small.metadata)
        .header("Content-Type", "application/offset+octet-stream")
        .body(small.bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(one_shot.status(), StatusCode::CREATED);
    assert_eq!(header(&one_shot, "upload-offset").as_deref(), Some("2000"));

    let r = report(&keys, 300_000);
    let path = header(&create(&client, &server.base, &r).await, "location").unwrap();
    let sent = patch(
        &client,
        &format!("{}{path}", server.base),
        0,
        &r.bytes[..120_000],
        None,
    )
    .await;
    assert_eq!(sent.status(), StatusCode::NO_CONTENT);
    server.stop().await;

    let server = Server::start(&data, &pkcs8, IntakeConfig::default()).await;
    let url = format!("{}{path}", server.base);
    assert_eq!(
        head_offset(&client, &url).await,
        (StatusCode::OK, Some(120_000))
    );
    assert_eq!(
        patch(&client, &url, 120_000, &r.bytes[120_000..], None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        std::fs::read(data.join(format!("reports/{}.age", r.id))).unwrap(),
        r.bytes
    );
    assert!(receipt(&client, &server.base, small.id)
        .await
        .status()
        .is_success());
    server.stop().await;
}

#[tokio::test]
async fn garbage_requests_never_get_a_5xx_and_store_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(
        &tmp.path().join("data"),
        &server_pkcs8(),
        IntakeConfig::default(),
    )
    .await;
    let (client, base) = (support::client(), server.base.clone());
    let rng = SystemRandom::new();
    let random = |n: usize| {
        let mut v = vec![0u8; n];
        ring::rand::SecureRandom::fill(&rng, &mut v).unwrap();
        v
    };
    let methods = [
        Method::POST,
        Method::PATCH,
        Method::HEAD,
        Method::DELETE,
        Method::GET,
        Method::OPTIONS,
        Method::PUT,
    ];
    let keys = device_keys(tmp.path());
    let valid = report(&keys, 100);
    for i in 0..1000 {
        let r = random(8);
        let method = methods[r[0] as usize % methods.len()].clone();
        let path = match r[1] % 5 {
            0 => "/v1/uploads".to_string(),
            1 => format!("/v1/uploads/{}", Uuid::now_v7()),
            2 => format!(
                "/v1/uploads/{}",
                String::from_utf8_lossy(&random(6)).replace(['/', '?', '#'], "x")
            ),
            3 => format!("/v1/reports/{}/receipt", Uuid::now_v7()),
            _ => "/v1/uploads/..%2f..%2fetc".to_string(),
        };
        let url = reqwest::Url::parse(&base)
            .unwrap()
            .join(&path.replace(' ', "%20"))
            .unwrap_or_else(|_| reqwest::Url::parse(&base).unwrap());
        let mut req = client.request(method, url);
        if r[2] % 4 != 0 {
            req = req.header(
                "Tus-Resumable",
                if r[3] % 5 == 0 { "9.9.9" } else { "1.0.0" },
            );
        }
        let garbage_b64 = STANDARD.encode(random(r[4] as usize % 40));
        req = match r[5] % 6 {
            0 => req.header(
                "Upload-Length",
                format!("{}", u64::from_le_bytes(random(8).try_into().unwrap())),
            ),
            1 => req.header("Upload-Length", "-1"),
            2 => req.header("Upload-Length", "100").header(
                "Upload-Metadata",
                format!("report_id {garbage_b64},device_key ,x"),
            ),
            3 => req
                .header("Upload-Length", "100")
                .header("Upload-Metadata", &valid.metadata)
                .header("Upload-Checksum", format!("md5 {garbage_b64}")),
            4 => req
                .header("Upload-Offset", "18446744073709551615")
                .header("Content-Type", "application/offset+octet-stream"),
            _ => req.header(
                "Upload-Metadata",
                ["", ",,,", "a", "report_id", "k v w", "report_id !!!"][r[6] as usize % 6],
            ),
        };
        let body = random(r[7] as usize * 4);
        let response = req.body(body).send().await.unwrap();
        assert!(
            !response.status().is_server_error(),
            "request {i} got {}",
            response.status()
        );
    }
    assert_eq!(
        std::fs::read_dir(tmp.path().join("data/reports"))
            .unwrap()
            .count(),
        0,
        "nothing stored"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_abandoned_upload_expires() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let pkcs8 = server_pkcs8();
    let config = IntakeConfig {
        expiry: std::time::Duration::from_secs(1),
        ..IntakeConfig::default()
    };
    let server = Server::start(&data, &pkcs8, config.clone()).await;
    let (client, base) = (support::client(), server.base.clone());
    let keys = device_keys(tmp.path());
    let r = report(&keys, 1000);
    let url = format!(
        "{base}{}",
        header(&create(&client, &base, &r).await, "location").unwrap()
    );
    patch(&client, &url, 0, &r.bytes[..10], None).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(head_offset(&client, &url).await.0, StatusCode::GONE);
    assert_eq!(
        head_offset(&client, &url).await.0,
        StatusCode::NOT_FOUND,
        "and then it is gone"
    );
    // The sweep deletes the ones nobody asks about.
    let other = report(&keys, 1000);
    create(&client, &base, &other).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let store = sighting_intake::store::SqliteStore::open(&data).unwrap();
    let intake = sighting_intake::Intake::new(
        std::sync::Arc::new(store),
        Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap(),
        config,
    );
    assert_eq!(intake.expire().await.unwrap(), 1);
    assert_eq!(std::fs::read_dir(data.join("uploads")).unwrap().count(), 0);
    server.stop().await;
}

#[tokio::test]
async fn uploads_over_the_concurrency_cap_are_told_to_retry() {
    let tmp = tempfile::tempdir().unwrap();
    let config = IntakeConfig {
        max_concurrent_uploads: 0,
        ..IntakeConfig::default()
    };
    let server = Server::start(&tmp.path().join("data"), &server_pkcs8(), config).await;
    let (client, base) = (support::client(), server.base.clone());
    let busy = create(&client, &base, &report(&device_keys(tmp.path()), 100)).await;
    assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&busy, "retry-after").as_deref(), Some("5"));
    let options = client
        .request(Method::OPTIONS, format!("{base}/v1/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        options.status(),
        StatusCode::NO_CONTENT,
        "discovery is not an upload"
    );
    server.stop().await;
}
