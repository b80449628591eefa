//! Every shared fixture photo through the capture pipeline, checked with real peers: libjpeg-turbo
//! decodes for pixel equality, `exiftool` reads what we wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sighting_core::capture::{
    capture, read_photo, sanitize, CaptureError, CaptureOptions, CaptureRequest, Location,
    LocationFix, LocationMissing, LocationSource, WRITTEN_TAGS,
};
use time::OffsetDateTime;

use support::fixtures;
use test_support as support;

#[path = "capture_fixtures/hostile.rs"]
mod hostile;
#[path = "capture_fixtures/icc.rs"]
mod icc;

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else if !matches!(
            path.file_name().and_then(|n| n.to_str()),
            Some("README" | "SOURCE.md")
        ) {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn fix() -> LocationFix {
    LocationFix {
        lat: -1.292_066_7,
        lon: 36.821_946_1,
        accuracy_m: Some(6.5),
        altitude_m: Some(1795.25),
        heading_deg: Some(87.5),
        fix_time: OffsetDateTime::now_utc() - Duration::from_secs(3),
        provider: "fused".into(),
        source: LocationSource::Device,
    }
}

fn request() -> CaptureRequest {
    CaptureRequest {
        location: Location::Fix(fix()),
        captured_at: Some(OffsetDateTime::now_utc()),
    }
}

fn decode(jpeg: &[u8]) -> Result<turbojpeg::Image<Vec<u8>>, turbojpeg::Error> {
    turbojpeg::decompress(jpeg, turbojpeg::PixelFormat::RGB)
}

/// `exiftool -j -a -G1 -n` on many files at once (one process: exiftool starts slowly).
fn exiftool(files: &[PathBuf]) -> Vec<serde_json::Map<String, serde_json::Value>> {
    let out = Command::new("exiftool")
        .args(["-j", "-a", "-G1", "-n"])
        .args(files)
        .output()
        .expect("exiftool must be installed (Debian libimage-exiftool-perl; .ci/run installs it)");
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool JSON");
    parsed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
}

/// Tag groups exiftool reports about the file itself or about segments we keep on purpose
/// (ICC profile, Adobe colour transform), not metadata we wrote or failed to strip.
fn allowed(tag: &str) -> bool {
    let group = tag.split(':').next().unwrap_or_default();
    matches!(
        group,
        "SourceFile" | "ExifTool" | "System" | "File" | "Composite" | "Adobe"
    ) || group.starts_with("ICC")
        || WRITTEN_TAGS.contains(&tag)
}

/// Files that must be refused, with the error they must get. Everything else must go through.
fn expected_refusal(path: &Path) -> Option<fn(&CaptureError) -> bool> {
    let name = path.file_name()?.to_str()?;
    match name {
        "IMG_5195.HEIC" | "samplefilehub.heif" => Some(|e| matches!(e, CaptureError::Heic)),
        // Its scan data is damaged: the lossless strip works, the decode for the upload copy
        // does not.
        "corrupted.jpg" => Some(|e| matches!(e, CaptureError::Undecodable(_))),
        _ => None,
    }
}

#[test]
fn every_fixture_goes_through_the_pipeline() {
    let dir = fixtures();
    let out = tempfile::tempdir().unwrap();
    let options = CaptureOptions::default();
    let mut outputs = Vec::new();
    let mut failures = Vec::new();
    for (i, path) in all_files(&dir).iter().enumerate() {
        let started = Instant::now();
        let result = read_photo(path, &options).and_then(|b| capture(b, &request(), &options));
        // A hang guard, not a performance test: the slowest fixture takes well under a second.
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} took {:?}",
            path.display(),
            started.elapsed()
        );
        match (result, expected_refusal(path)) {
            (Ok(photo), None) => {
                let original = decode(&std::fs::read(path).unwrap());
                let sanitized = decode(&photo.sanitized.jpeg).expect("sanitized photo decodes");
                let original = original.expect("a photo that captured also decodes");
                assert_eq!(
                    (original.width, original.height),
                    (sanitized.width, sanitized.height)
                );
                assert!(
                    original.pixels == sanitized.pixels,
                    "{}: pixels changed",
                    path.display()
                );
                // Always re-encoded: a few 2 KB thumbnails-sized fixtures come out slightly
                // bigger at our lowest quality (tables and Exif dominate); never by much.
                assert!(
                    photo.upload_copy.len() <= photo.sanitized.jpeg.len() * 5 / 4 + 1024,
                    "{}: upload copy {} B, sanitized {} B",
                    path.display(),
                    photo.upload_copy.len(),
                    photo.sanitized.jpeg.len()
                );
                assert!(
                    photo.width.max(photo.height) <= options.max_edge,
                    "{}",
                    path.display()
                );
                let thumb = decode(&photo.thumbnail).expect("thumbnail decodes");
                assert!(thumb.width.max(thumb.height) <= options.thumbnail_edge as usize);
                for (kind, bytes) in [("s", &photo.sanitized.jpeg), ("u", &photo.upload_copy)] {
                    let file = out.path().join(format!("{i}.{kind}.jpg"));
                    std::fs::write(&file, bytes).unwrap();
                    outputs.push((path.clone(), file));
                }
            }
            (Err(e), Some(is_expected)) if is_expected(&e) => {}
            (result, _) => failures.push(format!(
                "{}: {:?}",
                path.display(),
                result.map(|_| "accepted")
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "unexpected outcomes:\n{}",
        failures.join("\n")
    );
    assert!(
        outputs.len() > 100,
        "only {} outputs: fixtures missing?",
        outputs.len()
    );

    let files: Vec<PathBuf> = outputs.iter().map(|(_, f)| f.clone()).collect();
    let read = exiftool(&files);
    assert_eq!(read.len(), files.len());
    let expected = fix();
    for ((source, file), tags) in outputs.iter().zip(&read) {
        let stray: Vec<&String> = tags.keys().filter(|t| !allowed(t)).collect();
        assert!(
            stray.is_empty(),
            "{} ({}) carries {:?}",
            source.display(),
            file.display(),
            stray
        );
        let num = |t: &str| tags.get(t).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
        assert!(
            (num("Composite:GPSLatitude") - expected.lat).abs() < 1e-6,
            "{}",
            source.display()
        );
        assert!(
            (num("Composite:GPSLongitude") - expected.lon).abs() < 1e-6,
            "{}",
            source.display()
        );
        assert_eq!(num("GPS:GPSHPositioningError"), 6.5);
        assert_eq!(num("GPS:GPSAltitude"), 1795.25);
        assert_eq!(
            tags.get("GPS:GPSMapDatum").and_then(|v| v.as_str()),
            Some("WGS-84")
        );
        assert!(tags.contains_key("ExifIFD:DateTimeOriginal"));
        for problem in ["ExifTool:Warning", "ExifTool:Error"] {
            assert!(
                !tags.contains_key(problem),
                "{}: {:?}",
                source.display(),
                tags[problem]
            );
        }
    }
}

#[test]
fn damaged_scan_data_still_sanitizes_losslessly() {
    let bytes = std::fs::read(fixtures().join("corrupted.jpg")).unwrap();
    let photo = sanitize(bytes.clone(), &request(), &CaptureOptions::default()).unwrap();
    // Everything from the first scan header to EOI is carried over byte for byte.
    let sos = photo
        .jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .unwrap();
    let scans = &photo.jpeg[sos..];
    let at = bytes
        .windows(64)
        .position(|w| w == &scans[..64])
        .expect("scan start found");
    assert_eq!(&bytes[at..at + scans.len()], scans);
    assert!(matches!(
        capture(bytes, &request(), &CaptureOptions::default()),
        Err(CaptureError::Undecodable(_))
    ));
}

/// Mean absolute difference per channel of two same-size RGB images.
fn mad(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(x.abs_diff(*y)))
        .sum::<f64>()
        / a.len() as f64
}

#[test]
fn every_orientation_uploads_upright() {
    let dir = fixtures().join("orientation");
    let options = CaptureOptions::default();
    for shape in ["landscape", "portrait"] {
        let reference =
            decode(&std::fs::read(dir.join(format!("{shape}_1.jpg"))).unwrap()).unwrap();
        for n in 1..=8 {
            let bytes = std::fs::read(dir.join(format!("{shape}_{n}.jpg"))).unwrap();
            let photo = capture(bytes, &request(), &options).unwrap();
            assert_eq!(
                photo.sanitized.orientation, n,
                "{shape}_{n}: orientation read"
            );
            let upload = decode(&photo.upload_copy).unwrap();
            assert_eq!(
                (upload.width, upload.height),
                (reference.width, reference.height),
                "{shape}_{n}"
            );
            // Each fixture has its own number painted on the scene, so even upright the
            // difference is about 14; a wrong rotation or flip gives over 50.
            let diff = mad(&upload.pixels, &reference.pixels);
            assert!(
                diff < 25.0,
                "{shape}_{n}: mean abs difference {diff:.2} from upright"
            );
            if n != 1 {
                let tags = exiftool(&[write_temp(&photo.upload_copy)]);
                assert_eq!(
                    tags[0].get("IFD0:Orientation").and_then(|v| v.as_u64()),
                    Some(1)
                );
            }
        }
    }
}

fn write_temp(bytes: &[u8]) -> PathBuf {
    let file = tempfile::Builder::new().suffix(".jpg").tempfile().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    file.into_temp_path().keep().unwrap()
}

#[test]
fn the_same_scene_hashes_close_and_different_scenes_far() {
    let dir = fixtures();
    let options = CaptureOptions::default();
    let hash = |p: &str| {
        let bytes = std::fs::read(dir.join(p)).unwrap();
        capture(bytes, &request(), &options)
            .unwrap()
            .perceptual_hash
    };
    let same: Vec<u64> = (1..=8)
        .map(|n| hash(&format!("orientation/landscape_{n}.jpg")))
        .collect();
    for h in &same {
        assert!(
            sighting_core::capture::phash_distance(same[0], *h) <= 6,
            "{:016x} vs {h:016x}",
            same[0]
        );
    }
    let others = [
        "Canon_40D.jpg",
        "Nikon_D70.jpg",
        "gps/DSCN0010.jpg",
        "mobile/jolla.jpg",
    ];
    for p in others {
        let d = sighting_core::capture::phash_distance(same[0], hash(p));
        assert!(d >= 16, "{p} is only {d} bits from the landscape scene");
    }
}

#[test]
fn big_photos_are_scaled_in_the_dct_domain_and_stay_within_the_edge() {
    let bytes = std::fs::read(fixtures().join("mobile/HMD_Nokia_8.3_5G.jpg")).unwrap();
    let photo = capture(bytes, &request(), &CaptureOptions::default()).unwrap();
    assert_eq!((photo.width, photo.height), (2048, 878));
    let decoded = decode(&photo.upload_copy).unwrap();
    assert_eq!((decoded.width, decoded.height), (2048, 878));
}

#[test]
fn a_bad_fix_is_refused_and_a_missing_one_stays_missing() {
    let bytes = std::fs::read(fixtures().join("Canon_40D.jpg")).unwrap();
    let options = CaptureOptions::default();
    let bad = CaptureRequest {
        location: Location::Fix(LocationFix {
            lat: f64::NAN,
            ..fix()
        }),
        captured_at: None,
    };
    assert!(matches!(
        sanitize(bytes.clone(), &bad, &options),
        Err(CaptureError::Location(_))
    ));
    let missing = CaptureRequest {
        location: Location::Missing(LocationMissing::PermissionDenied),
        captured_at: None,
    };
    let photo = sanitize(bytes, &missing, &options).unwrap();
    assert_eq!(
        photo.location,
        Location::Missing(LocationMissing::PermissionDenied)
    );
    let tags = exiftool(&[write_temp(&photo.jpeg)]);
    assert!(
        !tags[0].keys().any(|k| k.starts_with("GPS:")),
        "no GPS may be invented: {:?}",
        tags[0]
    );
}

#[test]
fn the_cameras_gps_is_the_fallback_location() {
    let dir = fixtures();
    let bytes = std::fs::read(dir.join("gps/DSCN0010.jpg")).unwrap();
    let expected = exiftool(&[dir.join("gps/DSCN0010.jpg")]);
    let missing = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let photo = sanitize(bytes, &missing, &CaptureOptions::default()).unwrap();
    let Location::Fix(fix) = &photo.location else {
        panic!("camera GPS not used")
    };
    assert_eq!(fix.source, LocationSource::Exif);
    let lat = expected[0]["Composite:GPSLatitude"].as_f64().unwrap();
    assert!((fix.lat - lat).abs() < 1e-6, "{} vs {lat}", fix.lat);
}

#[test]
fn what_is_removed_is_reported_per_kind() {
    let bytes = std::fs::read(fixtures().join("Nikon_D70.jpg")).unwrap();
    let photo = sanitize(bytes, &request(), &CaptureOptions::default()).unwrap();
    let kinds: BTreeMap<&str, usize> = photo.removed.iter().map(|r| (r.what, r.bytes)).collect();
    assert!(
        kinds.contains_key("Exif") && kinds.contains_key("XMP") && kinds.contains_key("comment"),
        "{kinds:?}"
    );
}

#[test]
fn an_arithmetic_coded_photo_goes_through_losslessly() {
    // jpegtran (libjpeg-turbo) recodes the entropy layer to arithmetic coding, pixels unchanged.
    let dir = tempfile::tempdir().unwrap();
    let arithmetic = dir.path().join("arith.jpg");
    let status = Command::new("jpegtran")
        .args(["-arithmetic", "-copy", "all", "-outfile"])
        .arg(&arithmetic)
        .arg(fixtures().join("Nikon_D70.jpg"))
        .status()
        .expect("jpegtran must be installed (Debian libjpeg-turbo-progs)");
    assert!(status.success());
    let bytes = std::fs::read(&arithmetic).unwrap();
    let photo = capture(bytes.clone(), &request(), &CaptureOptions::default()).unwrap();
    assert_eq!(
        photo.sanitized.frame.coding,
        sighting_core::capture::Coding::Arithmetic
    );
    assert!(decode(&bytes).unwrap().pixels == decode(&photo.sanitized.jpeg).unwrap().pixels);
}

#[test]
fn random_fixes_read_back_through_exiftool() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let fixes = (
        -90.0f64..=90.0,
        -180.0f64..=180.0,
        0.0f64..5000.0,
        -400.0f64..9000.0,
        0.0f64..359.99,
    );
    let mut runner = TestRunner::deterministic();
    let dir = tempfile::tempdir().unwrap();
    let source = std::fs::read(fixtures().join("Canon_40D.jpg")).unwrap();
    let mut cases = Vec::new();
    // One exiftool process for all cases: it takes a third of a second to start.
    for i in 0..64 {
        let (lat, lon, acc, alt, heading) = fixes.new_tree(&mut runner).unwrap().current();
        let fix = LocationFix {
            lat,
            lon,
            accuracy_m: Some(acc),
            altitude_m: Some(alt),
            heading_deg: Some(heading),
            ..fix()
        };
        let request = CaptureRequest {
            location: Location::Fix(fix.clone()),
            captured_at: None,
        };
        let photo = sanitize(source.clone(), &request, &CaptureOptions::default()).unwrap();
        let file = dir.path().join(format!("{i}.jpg"));
        std::fs::write(&file, &photo.jpeg).unwrap();
        cases.push((file, fix));
    }
    let files: Vec<PathBuf> = cases.iter().map(|(f, _)| f.clone()).collect();
    for (tags, (_, fix)) in exiftool(&files).iter().zip(&cases) {
        let num = |t: &str| tags[t].as_f64().unwrap();
        assert!(
            (num("Composite:GPSLatitude") - fix.lat).abs() < 1e-6,
            "{fix:?}"
        );
        assert!(
            (num("Composite:GPSLongitude") - fix.lon).abs() < 1e-6,
            "{fix:?}"
        );
        assert!(
            (num("Composite:GPSAltitude") - fix.altitude_m.unwrap()).abs() < 0.006,
            "{fix:?}"
        );
        assert!(
            (num("GPS:GPSHPositioningError") - fix.accuracy_m.unwrap()).abs() < 0.006,
            "{fix:?}"
        );
        assert!(
            (num("GPS:GPSImgDirection") - fix.heading_deg.unwrap()).abs() < 0.006,
            "{fix:?}"
        );
    }
}
