//! The intake's tus headers as a stranger writes them, sent byte for byte over loopback: numbers
//! with a sign, spaces or leading zeros, and an `Upload-Metadata` far larger than any phone's.
//! Each is refused with a status and the JSON error body, and nothing is created.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::tus::{create, device_keys, header, report, Report};
use support::Server;
use test_support as support;

/// One request written as-is (`head` without the blank line); the status and the body.
async fn raw(addr: &str, head: &str, body: &[u8]) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}Host: intake\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_string()
}

fn creation(length: &str, metadata: &str) -> String {
    format!(
        "POST /v1/uploads HTTP/1.1\r\nTus-Resumable: 1.0.0\r\nUpload-Length: {length}\r\n\
         Upload-Metadata: {metadata}\r\n"
    )
}

/// `Upload-Length` and `Upload-Offset` are ASCII digits and nothing else: no sign, no inner
/// space, no leading zero (a tus client writes a number one way; anything else is not one).
#[tokio::test]
async fn upload_length_and_offset_are_plain_digits() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_default(&tmp.path().join("data")).await;
    let keys = device_keys(tmp.path());
    let addr = addr(&server);
    for length in [
        "+5",
        "-5",
        "05",
        "5 5",
        "0x5",
        "5.0",
        "٥",
        "1e3",
        "18446744073709551616",
    ] {
        let r = report(&keys, 5);
        let (status, body) = raw(&addr, &creation(length, &r.metadata), b"").await;
        assert_eq!(status, 400, "Upload-Length {length:?} got {status}: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "header", "{body}");
        let client = support::client();
        let receipt = support::tus::receipt(&client, &server.base, r.id).await;
        assert_eq!(receipt.status(), 404, "{length:?} created an upload");
    }
    // Whitespace around a field value is not part of it (RFC 9110 §5.5): " 5" on the wire is 5.
    let r = report(&keys, 5);
    let (status, _) = raw(&addr, &creation(" 5 ", &r.metadata), b"").await;
    assert_eq!(status, 201);

    // The same rule for Upload-Offset.
    let client = support::client();
    let r = report(&keys, 5);
    let created = create(&client, &server.base, &r).await;
    let path = header(&created, "location").unwrap();
    for offset in ["+0", "00", "-0", "0 0"] {
        let head = format!(
            "PATCH {path} HTTP/1.1\r\nTus-Resumable: 1.0.0\r\n\
             Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
        );
        let (status, body) = raw(&addr, &head, &r.bytes).await;
        assert_eq!(status, 400, "Upload-Offset {offset:?} got {status}: {body}");
        assert!(body.contains("\"header\""), "{body}");
    }
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
    );
    assert_eq!(raw(&addr, &head, &r.bytes).await.0, 204);
    server.stop().await;
}

/// A phone's metadata is about 500 bytes; 4 KiB is the most the intake reads. 400 KB of it
/// (just under hyper's own cap on a request head) is answered 431 with the JSON body.
#[tokio::test]
async fn oversized_upload_metadata_is_refused_with_431() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start_default(&tmp.path().join("data")).await;
    let keys = device_keys(tmp.path());
    let addr = addr(&server);
    let r = report(&keys, 5);
    assert!(r.metadata.len() < 1024, "{}", r.metadata.len());
    for padding in [4096, 400_000] {
        // A valid report's metadata with an extra key of `padding` bytes of base64.
        let metadata = format!("{},filename {}", r.metadata, "A".repeat(padding));
        let (status, body) = raw(&addr, &creation("5", &metadata), b"").await;
        assert_eq!(status, 431, "{padding} bytes of metadata: {body}");
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "metadata_too_large", "{body}");
    }
    let client = support::client();
    let receipt = support::tus::receipt(&client, &server.base, r.id).await;
    assert_eq!(receipt.status(), 404);
    // The same report with its own metadata is created.
    let Report { metadata, .. } = &r;
    assert_eq!(raw(&addr, &creation("5", metadata), b"").await.0, 201);
    server.stop().await;
}
