//! A body's pieces: a stranger trickling bytes, or sending them one PATCH at a time, and a
//! reporter whose report goes in pieces over a connection that gets cut.

use std::time::Duration;

use reqwest::StatusCode;
use sighting_core::keys::DeviceKeys;
use test_support::tus::{head_offset, patch, receipt, report};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::{status_line, upload_url};

/// Opens a connection and sends a PATCH head at `offset` for `len` body bytes.
async fn patch_head(addr: &str, path: &str, offset: usize, len: usize) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: intake\r\nTus-Resumable: 1.0.0\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n\
         Content-Length: {len}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp
}

/// A stranger's slow drip on a new upload of 4096 bytes: one PATCH trickling 4 bytes, one every
/// 1.1 s, then PATCHes of one byte each until one is refused (at most `tries`). Returns the
/// upload's URL, the one-byte PATCHes accepted, and the refusal (`None`: all were accepted).
pub async fn slow_drip(
    addr: &str,
    keys: &DeviceKeys,
    tries: usize,
) -> (String, usize, Option<reqwest::Response>) {
    let (client, base) = (test_support::client(), format!("http://{addr}"));
    let r = report(keys, 4096);
    let (url, path) = upload_url(&client, &base, &r).await;
    let mut tcp = patch_head(addr, &path, 0, 4).await;
    for byte in &r.bytes[..4] {
        tcp.write_all(std::slice::from_ref(byte)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let status = status_line(&mut tcp, Duration::from_secs(10)).await;
    assert!(
        status.contains(" 204 "),
        "the trickled PATCH got {status:?}"
    );
    for (accepted, offset) in (4..4 + tries).enumerate() {
        let sent = patch(&client, &url, offset, &r.bytes[offset..=offset], None).await;
        if sent.status() != StatusCode::NO_CONTENT {
            return (url, accepted, Some(sent));
        }
    }
    (url, tries, None)
}

/// A reporter's 1 MB report sent in PATCHes of 64 KiB, one of them cut after `cut_after` of
/// its bytes: the server keeps exactly what arrived of it, and the phone goes on from there to
/// a receipt.
pub async fn in_pieces_cut_and_resumed(addr: &str, keys: &DeviceKeys, cut_after: usize) {
    const CHUNK: usize = 64 << 10;
    let (client, base) = (test_support::client(), format!("http://{addr}"));
    let r = report(keys, 1_000_000);
    let (url, path) = upload_url(&client, &base, &r).await;
    let mut offset = 0;
    for _ in 0..5 {
        let end = offset + CHUNK;
        let sent = patch(&client, &url, offset, &r.bytes[offset..end], None).await;
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
        offset = end;
    }
    // Cut: half a chunk's bytes, then the connection goes.
    let mut tcp = patch_head(addr, &path, offset, CHUNK).await;
    tcp.write_all(&r.bytes[offset..offset + cut_after])
        .await
        .unwrap();
    tcp.flush().await.unwrap();
    drop(tcp);
    let kept = (offset + cut_after) as u64;
    let mut at = None;
    for _ in 0..100 {
        at = head_offset(&client, &url).await.1;
        if at == Some(kept) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        at,
        Some(kept),
        "what arrived before the cut is kept, no more"
    );
    offset += cut_after;
    while offset < r.bytes.len() {
        let end = (offset + CHUNK).min(r.bytes.len());
        let sent = patch(&client, &url, offset, &r.bytes[offset..end], None).await;
        assert_eq!(sent.status(), StatusCode::NO_CONTENT);
        offset = end;
    }
    assert_eq!(receipt(&client, &base, r.id).await.status(), StatusCode::OK);
}
