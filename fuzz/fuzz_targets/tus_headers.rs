//! The intake's creation checks on any request head: `Upload-Metadata` parsing and the
//! envelope (fields, base64, hex, signature). Input: header lines, `name: value`.
#![no_main]

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sighting_intake::envelope::{envelope, metadata};

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
            headers.append(name, value);
        }
    }
    if let Ok(meta) = metadata(&headers) {
        let _ = envelope(&meta, 1000, std::time::Duration::from_secs(60));
    }
});
