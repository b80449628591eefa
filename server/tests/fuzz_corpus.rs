//! The fuzz targets' corpus (`fuzz/corpus/<target>/`: the seeds, and every crash once fixed)
//! replayed through the same entry points on stable Rust, so `cargo xtask test` keeps them
//! fixed. The fuzzing itself (libFuzzer, nightly) is `cargo xtask fuzz`.

use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use sighting_core::capture::{sanitize, CaptureOptions, CaptureRequest, Location, LocationMissing};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{target} has a seed corpus");
    inputs
}

#[test]
fn jpeg_walker() {
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let mut accepted = 0;
    for (path, input) in corpus("jpeg_walker") {
        if let Ok(photo) = sanitize(input, &request, &CaptureOptions::default()) {
            sanitize(photo.jpeg, &request, &CaptureOptions::default())
                .unwrap_or_else(|e| panic!("{}: our output refused: {e}", path.display()));
            accepted += 1;
        }
    }
    assert!(accepted >= 3, "the seeds reach past the walker");
}

#[test]
fn exif_reader() {
    for (_, input) in corpus("exif_reader") {
        let camera = sighting_core::capture::read_camera(Some(&input));
        assert!((1..=8).contains(&camera.orientation));
    }
}

/// `name: value` lines to a header map, as the tus_headers target reads its input.
fn header_lines(data: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    headers
}

#[test]
fn tus_headers() {
    use sighting_intake::envelope::{envelope, metadata};
    let outcomes: Vec<(String, bool)> = corpus("tus_headers")
        .into_iter()
        .map(|(path, input)| {
            let accepted = metadata(&header_lines(&input))
                .and_then(|meta| envelope(&meta, 1000, std::time::Duration::from_secs(60)))
                .is_ok();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                accepted,
            )
        })
        .collect();
    for (name, accepted) in &outcomes {
        assert_eq!(*accepted, name == "creation", "{name}");
    }
}

#[test]
fn manifest() {
    for (path, input) in corpus("manifest") {
        let manifest = sighting_core::report::Manifest::from_json(&input)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json = manifest.to_json().unwrap();
        assert_eq!(
            sighting_core::report::Manifest::from_json(&json).unwrap(),
            manifest
        );
    }
}

#[test]
fn sealed_report() {
    // The fuzz-only identity of fuzz/fuzz_targets/sealed_report.rs.
    let identity: age::x25519::Identity =
        "AGE-SECRET-KEY-153PKYGKFWAFAXC2537LHHAZR6NC5MYXCXJVFJRMYKVC52HYWKZ9SZ7MZCH"
            .parse()
            .unwrap();
    for (path, input) in corpus("sealed_report") {
        let opened = sighting_desk::open_report(std::slice::from_ref(&identity), &input[..]);
        let name = path.file_name().unwrap().to_string_lossy();
        match (name.as_ref(), opened) {
            // Decrypted, unpacked and parsed; the zero signature is where it stops.
            ("bundle.age", Err(sighting_desk::OpenError::Signature)) => {}
            ("bundle.age", other) => panic!("bundle.age: {other:?}"),
            (_, result) => assert!(result.is_err(), "{name}"),
        }
    }
}
