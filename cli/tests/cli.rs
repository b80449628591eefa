//! The `sighting` binary as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sighting(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sighting"))
        .args(args)
        .output()
        .unwrap()
}

fn fixtures() -> PathBuf {
    std::env::var_os("SIGHTING_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/photos")
        })
}

fn exiftool_n(path: &Path) -> serde_json::Value {
    let out = Command::new("exiftool")
        .args(["-j", "-n", "-G1"])
        .arg(path)
        .output()
        .unwrap();
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

#[test]
fn sanitize_writes_gps_that_exiftool_reads() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixtures().join("Nikon_D70.jpg");
    let (out, up, thumb) = (
        dir.path().join("o.jpg"),
        dir.path().join("u.jpg"),
        dir.path().join("t.jpg"),
    );
    let run = sighting(&[
        "photo",
        "sanitize",
        input.to_str().unwrap(),
        out.to_str().unwrap(),
        "--lat",
        "-33.8567844",
        "--lon",
        "151.2152967",
        "--accuracy",
        "12",
        "--time",
        "2026-01-02T03:04:05Z",
        "--upload-copy",
        up.to_str().unwrap(),
        "--thumbnail",
        thumb.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let removed: Vec<&str> = summary["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["what"].as_str().unwrap())
        .collect();
    assert!(
        removed.contains(&"Exif") && removed.contains(&"XMP"),
        "{removed:?}"
    );
    let tags = exiftool_n(&out);
    assert!((tags["Composite:GPSLatitude"].as_f64().unwrap() + 33.856_784_4).abs() < 1e-6);
    assert!((tags["Composite:GPSLongitude"].as_f64().unwrap() - 151.215_296_7).abs() < 1e-6);
    assert_eq!(tags["GPS:GPSDateStamp"], "2026:01:02");
    assert!(tags.get("XMP-x:XMPToolkit").is_none() && tags.get("IFD0:Make").is_none());
    assert!(up.exists() && thumb.exists());
}

#[test]
fn bad_input_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.jpg");
    let heic = fixtures().join("heic/IMG_5195.HEIC");
    let run = sighting(&[
        "photo",
        "sanitize",
        heic.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("HEIC is not supported yet, capture as JPEG"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!out.exists());

    let nikon = fixtures().join("Nikon_D70.jpg");
    let run = sighting(&[
        "photo",
        "sanitize",
        nikon.to_str().unwrap(),
        out.to_str().unwrap(),
        "--lat",
        "91",
        "--lon",
        "0",
    ]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("latitude 91"));
}

#[test]
fn demo_runs_and_runs_again_in_the_same_dir() {
    let dir = tempfile::tempdir().unwrap();
    for run in 1..=2 {
        let out = sighting(&["demo", "--keep", dir.path().to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Each run seals the four samples (one of them twice) again; the desk opens the new ones.
        assert_eq!(stdout.matches("   verified ").count(), 5, "{stdout}");
        assert!(stdout.contains("stripped: "), "{stdout}");
        // Offline first: each new report waits with the reason; then each is delivered.
        assert_eq!(
            stdout
                .matches("attempt 1, network: cannot reach the intake server")
                .count(),
            5,
            "{stdout}"
        );
        assert_eq!(stdout.matches("5 delivered").count(), 1, "{stdout}");
        assert!(
            stdout.contains(&format!("{} reports at the desk in all", 5 * run)),
            "{stdout}"
        );
    }
    // The desk's products: the repeat sightings grouped, the exports and the review page.
    let desk = dir.path().join("desk");
    let sightings: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(desk.join("sightings.json")).unwrap()).unwrap();
    assert_eq!(sightings.len(), 10);
    assert!(sightings.iter().all(|s| s["status"] == "verified"));
    let in_clusters = sightings.iter().filter(|s| !s["cluster"].is_null()).count();
    assert!(in_clusters >= 2, "the repeat sighting is grouped");
    let geojson: serde_json::Value =
        serde_json::from_slice(&std::fs::read(desk.join("sightings.geojson")).unwrap()).unwrap();
    assert_eq!(geojson["features"].as_array().unwrap().len(), 10);
    assert!(std::fs::read_to_string(desk.join("index.html"))
        .unwrap()
        .contains("Sighting — reports for review"));
}
