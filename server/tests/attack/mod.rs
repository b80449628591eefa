//! What the intake's attack tests share, whichever store is under the server: the real
//! `sighting-server serve` as its own process (measured from /proc), raw requests a stranger
//! writes, junk from fresh keys, and the attacks themselves. `intake_attacks.rs` runs them on the
//! SQLite store, and on PostgreSQL + S3 in `the_shared_store_withstands_the_same_attacks`.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::StatusCode;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sighting_core::keys::DeviceKeys;
use sighting_core::wire::envelope_message;
use test_support::tus::{create, head_offset, header, metadata, report, Report};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

mod pieces;
mod process;
pub use pieces::{in_pieces_cut_and_resumed, slow_drip};
pub use process::{ServerProcess, Store};

/// Opens a connection and sends a PATCH head for `len` body bytes, then `body` (≤ len).
pub async fn raw_patch(
    addr: &str,
    path: &str,
    len: usize,
    checksum: Option<&[u8]>,
    body: &[u8],
) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let checksum = checksum
        .map(|sum| format!("Upload-Checksum: sha256 {}\r\n", STANDARD.encode(sum)))
        .unwrap_or_default();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: intake\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n{checksum}\
         Content-Length: {len}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    tcp
}

/// The status line of the response on `tcp`, waiting up to `within`.
pub async fn status_line(tcp: &mut TcpStream, within: Duration) -> String {
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    let read = async {
        while !got.windows(2).any(|w| w == b"\r\n") {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(within, read).await;
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Creates the upload: its URL, and its path.
pub async fn upload_url(client: &reqwest::Client, base: &str, r: &Report) -> (String, String) {
    let created = create(client, base, r).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let path = header(&created, "location").unwrap();
    (format!("{base}{path}"), path)
}

/// A whole report in one POST (creation-with-upload).
pub async fn upload_whole(client: &reqwest::Client, base: &str, r: &Report) -> reqwest::Response {
    client
        .post(format!("{base}/v1/uploads"))
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", r.bytes.len().to_string())
        .header("Upload-Metadata", &r.metadata)
        .header("Content-Type", "application/offset+octet-stream")
        .body(r.bytes.clone())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap()
}

/// Junk that passes the envelope check: random bytes signed by a fresh key (keys are free).
pub fn junk(len: usize) -> Report {
    let rng = SystemRandom::new();
    let pair =
        Ed25519KeyPair::from_pkcs8(Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref()).unwrap();
    let mut bytes = vec![0u8; len];
    ring::rand::SecureRandom::fill(&rng, &mut bytes).unwrap();
    signed_by(&pair, Uuid::new_v4(), bytes)
}

/// A report of `bytes` whose envelope `pair` signed.
fn signed_by(pair: &Ed25519KeyPair, id: Uuid, bytes: Vec<u8>) -> Report {
    let sha: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .try_into()
        .unwrap();
    let sig = pair.sign(&envelope_message(id, &sha));
    Report {
        id,
        metadata: metadata(
            id,
            pair.public_key().as_ref().try_into().unwrap(),
            sha,
            sig.as_ref().try_into().unwrap(),
        ),
        bytes,
    }
}

/// `count` checksummed bodies of `len` bytes, each sent but for its last byte, then silence:
/// the server keeps them out of memory (growth under `max_growth_mib`), a reporter's upload
/// goes through meanwhile, and each idle body is cut with 408, none of it kept. Needs a server
/// whose body idle timeout is a few seconds.
pub async fn stalled_checksummed_bodies(
    server: &ServerProcess,
    keys: &DeviceKeys,
    (count, len): (usize, usize),
    max_growth_mib: u64,
) {
    let (client, base) = (test_support::client(), server.base());
    // One upload first, so the baseline includes a warmed-up server.
    let warm = report(keys, 200_000);
    assert_eq!(
        upload_whole(&client, &base, &warm).await.status(),
        StatusCode::CREATED
    );
    let baseline = server.rss_kib();
    let mut stalled = Vec::new();
    for _ in 0..count {
        let r = report(keys, len);
        let (url, path) = upload_url(&client, &base, &r).await;
        let sum = ring::digest::digest(&ring::digest::SHA256, &r.bytes);
        let tcp = raw_patch(
            &server.addr,
            &path,
            len,
            Some(sum.as_ref()),
            &r.bytes[..len - 1],
        )
        .await;
        stalled.push((tcp, url));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let grown_mib = server.rss_kib().saturating_sub(baseline) / 1024;
    println!(
        "RSS {} MiB → +{grown_mib} MiB with {count} stalled {} KiB bodies",
        baseline / 1024,
        len >> 10
    );
    assert!(
        grown_mib < max_growth_mib,
        "{count} stalled checksummed bodies of {len} bytes grew the server by {grown_mib} MiB"
    );

    let legit = report(keys, 300_000);
    let response = upload_whole(&client, &base, &legit).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        header(&response, "upload-offset").as_deref(),
        Some("300000")
    );

    for (mut tcp, url) in stalled {
        let status = status_line(&mut tcp, Duration::from_secs(10)).await;
        assert!(status.contains(" 408 "), "a stalled body got {status:?}");
        assert_eq!(head_offset(&client, &url).await, (StatusCode::OK, Some(0)));
    }
}

/// 200 connections each sending a request head a line at a time, never finishing it, while
/// two reporters upload: the heads are cut, the uploads complete. Needs a server with a short
/// header timeout (and, to matter, a low descriptor limit).
pub async fn slow_request_heads(server: &mut ServerProcess, keys: &DeviceKeys) {
    let (client, base) = (test_support::client(), server.base());
    let mut attackers = Vec::new();
    for _ in 0..200 {
        let mut tcp = TcpStream::connect(&server.addr).await.unwrap();
        let _ = tcp
            .write_all(b"POST /v1/uploads HTTP/1.1\r\nHost: intake\r\n")
            .await;
        attackers.push(tcp);
    }
    let trickle = tokio::spawn(async move {
        let mut cut = 0;
        for _ in 0..80 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            cut = 0;
            for tcp in &mut attackers {
                let mut probe = [0u8; 512];
                let probed =
                    tokio::time::timeout(Duration::from_millis(1), tcp.read(&mut probe)).await;
                // Closed, or answered (408) instead of waiting: either way cut.
                let closed = probed.is_ok();
                if closed || tcp.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    cut += 1;
                }
            }
            if cut == 200 {
                break;
            }
        }
        cut
    });
    for len in [150_000, 90_000] {
        let r = report(keys, len);
        let response = upload_whole(&client, &base, &r).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let cut = trickle.await.unwrap();
    assert_eq!(cut, 200, "slow request heads still open after 20 s");
    assert!(server.running(), "the server died");
}

/// `count` uploads of `len` bytes, each sent but for its last byte, then every last byte at
/// once: finishing them (the checks, and putting the report where it is kept) stays within
/// `max_growth_mib` of peak memory, and every one gets its receipt.
pub async fn finishing_at_once(
    server: &ServerProcess,
    (count, len): (usize, usize),
    max_growth_mib: u64,
) {
    let (client, base) = (test_support::client(), server.base());
    let mut almost = Vec::new();
    for _ in 0..count {
        let r = junk(len);
        let (url, _) = upload_url(&client, &base, &r).await;
        let sent = test_support::tus::patch(&client, &url, 0, &r.bytes[..len - 1], None).await;
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
        almost.push((r, url));
    }
    let baseline = server.peak_rss_kib();
    let last_bytes = almost.iter().map(|(r, url)| {
        let client = client.clone();
        async move {
            let last = &r.bytes[len - 1..];
            test_support::tus::patch(&client, url, len - 1, last, None)
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(last_bytes).await;
    let grown_mib = server.peak_rss_kib().saturating_sub(baseline) / 1024;
    println!(
        "peak RSS {} MiB → +{grown_mib} MiB finishing {count} uploads of {} KiB at once",
        baseline / 1024,
        len >> 10
    );
    assert!(
        statuses.iter().all(|s| *s == StatusCode::NO_CONTENT),
        "{statuses:?}"
    );
    assert!(
        grown_mib < max_growth_mib,
        "finishing {count} uploads of {len} bytes at once grew the server's peak by {grown_mib} MiB"
    );
    for (r, _) in &almost {
        let receipt = test_support::tus::receipt(&client, &base, r.id).await;
        assert_eq!(receipt.status(), StatusCode::OK);
    }
}

/// Half a body, then nothing until the server answers 408; the rest sent after the answer is
/// not stored. Needs a server that cuts a body within a few seconds.
pub async fn nothing_is_stored_after_the_answer(server: &ServerProcess, keys: &DeviceKeys) {
    let (client, base) = (test_support::client(), server.base());
    let r = report(keys, 200_000);
    let (url, path) = upload_url(&client, &base, &r).await;
    let mut tcp = raw_patch(&server.addr, &path, 200_000, None, &r.bytes[..100_000]).await;
    let status = status_line(&mut tcp, Duration::from_secs(10)).await;
    assert!(status.contains(" 408 "), "got {status:?}");
    let kept = head_offset(&client, &url).await.1.unwrap();
    assert!(kept <= 100_000);
    let _ = tcp.write_all(&r.bytes[100_000..]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        head_offset(&client, &url).await,
        (StatusCode::OK, Some(kept))
    );
}

/// Someone who learnt a report's id, hash and length signs the same envelope with their own
/// key: refused (409), no upload URL; the victim's own re-POST still resumes it.
pub async fn someone_elses_upload(base: &str, victim: &DeviceKeys, attacker: &DeviceKeys) {
    let client = test_support::client();
    let r = report(victim, 5000);
    let (url, path) = upload_url(&client, base, &r).await;
    test_support::tus::patch(&client, &url, 0, &r.bytes[..2000], None).await;
    let id: Uuid = path.rsplit('/').next().unwrap().parse().unwrap();
    assert_eq!(
        id.get_version_num(),
        4,
        "upload ids are random, not time-ordered"
    );
    let sha: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, &r.bytes)
        .as_ref()
        .try_into()
        .unwrap();
    let forged = Report {
        id: r.id,
        bytes: r.bytes.clone(),
        metadata: metadata(
            r.id,
            attacker.device.public_key(),
            sha,
            attacker.device.sign_envelope(r.id, &sha),
        ),
    };
    let refused = create(&client, base, &forged).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert_eq!(header(&refused, "location"), None, "the upload URL leaked");
    let resumed = create(&client, base, &r).await;
    assert_eq!(resumed.status(), StatusCode::CREATED);
    assert_eq!(header(&resumed, "location").as_deref(), Some(path.as_str()));
    assert_eq!(
        head_offset(&client, &url).await,
        (StatusCode::OK, Some(2000))
    );
}

/// An envelope "signed" by the identity point (a key of order 1, R = identity, S = 0): refused
/// with 400. Returns its report id, for the caller to check nothing was stored.
pub async fn small_order_key(base: &str) -> Uuid {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&identity);
    let bytes = vec![7u8; 1000];
    let sha = ring::digest::digest(&ring::digest::SHA256, &bytes)
        .as_ref()
        .try_into()
        .unwrap();
    let id = Uuid::new_v4();
    let forged = Report {
        id,
        bytes,
        metadata: metadata(id, identity, sha, sig),
    };
    let refused = create(&test_support::client(), base, &forged).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    id
}

/// A valid envelope over zero bytes, created then sent whole: 400 both ways. Returns its
/// report id, for the caller to check nothing was stored.
pub async fn empty_report(base: &str) -> Uuid {
    let client = test_support::client();
    let empty = junk(0);
    let refused = create(&client, base, &empty).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("empty"));
    let whole = upload_whole(&client, base, &empty).await;
    assert_eq!(whole.status(), StatusCode::BAD_REQUEST);
    empty.id
}

/// Junk from fresh keys until the server refuses (each created, then sent whole), while an
/// upload begun before the flood waits half-sent; that one then finishes. Returns how many
/// were accepted and the refusal.
pub async fn junk_until_full(base: &str, junk_len: usize) -> (usize, reqwest::Response) {
    let client = test_support::client();
    let early = junk(100_000);
    let (early_url, _) = upload_url(&client, base, &early).await;
    test_support::tus::patch(&client, &early_url, 0, &early.bytes[..50_000], None).await;
    let mut accepted = 0;
    // Creation then PATCH, not one POST with the body: a refusal comes before the body is read,
    // and a client still writing it may see the connection close instead of the answer.
    let refused = loop {
        let r = junk(junk_len);
        let response = create(&client, base, &r).await;
        if response.status() != StatusCode::CREATED {
            break response;
        }
        let url = format!("{base}{}", header(&response, "location").unwrap());
        let sent = test_support::tus::patch(&client, &url, 0, &r.bytes, None).await;
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
        accepted += 1;
        assert!(accepted < 20, "the quota never applied");
    };
    assert_eq!(refused.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(header(&refused, "retry-after").as_deref(), Some("1800"));
    let rest = &early.bytes[50_000..];
    let finished = test_support::tus::patch(&client, &early_url, 50_000, rest, None).await;
    assert_eq!(
        finished.status(),
        StatusCode::NO_CONTENT,
        "the early upload finishes"
    );
    (accepted, refused)
}

/// A body that is not what its envelope promised (same length, other bytes): refused with 460
/// when its last byte arrives. Returns its report id, for the caller to check nothing was kept.
pub async fn lying_body(base: &str) -> Uuid {
    let client = test_support::client();
    let promised = junk(300_000);
    let (url, _) = upload_url(&client, base, &promised).await;
    let other = vec![0x5A; promised.bytes.len()];
    let refused = test_support::tus::patch(&client, &url, 0, &other, None).await;
    assert_eq!(refused.status().as_u16(), 460);
    assert_eq!(head_offset(&client, &url).await.0, StatusCode::NOT_FOUND);
    promised.id
}

/// A body longer than its upload: 413, and nothing of it acknowledged.
pub async fn body_past_its_length(base: &str) {
    let client = test_support::client();
    let r = junk(1000);
    let (url, _) = upload_url(&client, base, &r).await;
    let mut longer = r.bytes.clone();
    longer.extend_from_slice(&[1; 5000]);
    let refused = test_support::tus::patch(&client, &url, 0, &longer, None).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(head_offset(&client, &url).await, (StatusCode::OK, Some(0)));
}
