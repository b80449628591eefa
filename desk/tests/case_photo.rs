//! A case photo taken sideways (Exif Orientation 6, "Rotate 90 CW") is turned upright when the
//! desk re-encodes it: what the desk stores, what the desk app serves, and the photo in the
//! bulletin feed phones get all stand up, with no Orientation left to honour. Checked with
//! `exiftool` on the real sample photo.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sighting_core::capture::{perceptual_hash, phash_distance, CaptureOptions};
use sighting_core::wire::bulletin::PhotoRef;
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::sightings::PHASH_THRESHOLD;
use sighting_desk::state::Role;
use sighting_desk::{self as desk, bulletins, keygen};
use test_support::{DeskApp, DeskSession};
use time::OffsetDateTime;

const PASSWORD: &str = "a long desk password";

fn portrait() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/samples/portrait_6.jpg");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What `exiftool` reads of a JPEG: the frame's width and height (from SOF) and the Exif
/// Orientation, if any.
fn exiftool(dir: &Path, name: &str, jpeg: &[u8]) -> (u64, u64, Option<u64>) {
    let file: PathBuf = dir.join(name);
    std::fs::write(&file, jpeg).unwrap();
    let out = Command::new("exiftool")
        .args([
            "-j",
            "-n",
            "-G1",
            "-ImageWidth",
            "-ImageHeight",
            "-Orientation",
        ])
        .arg(&file)
        .output()
        .expect("exiftool must be installed (Debian libimage-exiftool-perl)");
    let tags: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool JSON");
    let tags = &tags[0];
    (
        tags["File:ImageWidth"].as_u64().expect("a width"),
        tags["File:ImageHeight"].as_u64().expect("a height"),
        tags["IFD0:Orientation"].as_u64(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sideways_case_photo_is_stored_served_and_published_upright() {
    let tmp = tempfile::tempdir().unwrap();
    let raw = portrait();
    let (raw_w, raw_h, raw_orientation) = exiftool(tmp.path(), "raw.jpg", &raw);
    assert_eq!(
        raw_orientation,
        Some(6),
        "the sample is tagged Rotate 90 CW"
    );
    assert!(
        raw_w > raw_h,
        "its pixels lie on their side: {raw_w}×{raw_h}"
    );

    let org = tmp.path().join("org");
    keygen::keygen(&org).unwrap();
    std::fs::create_dir_all(tmp.path().join("intake/reports")).unwrap();
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&org.join(keygen::IDENTITY_FILE)).unwrap(),
        source: app::Source::Dir(tmp.path().join("intake")),
        state: tmp.path().join("desk"),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: None,
        intake_key: None,
    })
    .unwrap();
    desk.state
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let served_app = DeskApp::start(desk.clone()).await;
    let chen = DeskSession::login(&served_app.base, PASSWORD, "chen").await;

    // The case manager uploads the photo as the Cases tab does, and publishes the case.
    let mut details =
        serde_json::to_value(test_support::cases::case_details(39.96, 116.30)).unwrap();
    details["number"] = json!("C-1");
    let (_, case) = chen.post("/api/cases", details).await;
    let (_, consented) = chen
        .post(
            "/api/cases/C-1/consent",
            json!({ "version": case["version"] }),
        )
        .await;
    let version = consented["case"]["version"].as_i64().unwrap();
    let client = test_support::client();
    let uploaded = client
        .post(format!(
            "{}/api/cases/C-1/photos?version={version}",
            served_app.base
        ))
        .header("cookie", &chen.cookie)
        .header("x-csrf-token", &chen.csrf)
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), reqwest::StatusCode::OK);
    let version = uploaded.json::<serde_json::Value>().await.unwrap()["version"].clone();
    let (status, published) = chen
        .post("/api/cases/C-1/publish", json!({ "version": version }))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{published}");

    let stored = desk.state.case_photos("C-1").unwrap().remove(0);
    let served = client
        .get(format!("{}/api/cases/C-1/photos/0", served_app.base))
        .header("cookie", &chen.cookie)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    served_app.stop().await;

    // The feed phones get, built from the published case.
    let key = keygen::read_bulletin_key(&org.join(keygen::BULLETIN_KEY_FILE)).unwrap();
    let feed = bulletins::build(
        &desk.state,
        &key,
        1,
        OffsetDateTime::now_utc(),
        time::Duration::days(7),
    )
    .unwrap();
    // The tile names the photo (feed v2); phones fetch its bytes when the case is opened.
    let tile: serde_json::Value =
        serde_json::from_slice(feed.tiles.values().next().expect("one tile")).unwrap();
    let named: PhotoRef = serde_json::from_value(tile["cases"][0]["photos"][0].clone()).unwrap();
    let in_bulletin = feed.photos[&named].clone();
    named.open(&in_bulletin).unwrap();

    let options = CaptureOptions::default();
    let upright_hash = perceptual_hash(&raw, &options).unwrap();
    for (name, jpeg) in [
        ("stored", &stored),
        ("served", &served),
        ("bulletin", &in_bulletin),
    ] {
        let (w, h, orientation) = exiftool(tmp.path(), &format!("{name}.jpg"), jpeg);
        assert!(
            orientation.unwrap_or(1) == 1,
            "{name}: Orientation {orientation:?} left for a viewer to honour"
        );
        assert_eq!(
            (w.max(h), w * raw_w, h < w),
            (u64::from(bulletins::CASE_PHOTO_EDGE), h * raw_h, false),
            "{name}: {w}×{h} is not the {raw_w}×{raw_h} frame turned upright"
        );
        // Turned the way the camera said (not the other way): it looks like the raw photo
        // read upright by its own Orientation.
        let distance = phash_distance(perceptual_hash(jpeg, &options).unwrap(), upright_hash);
        assert!(distance <= PHASH_THRESHOLD, "{name}: {distance} bits apart");
    }
    assert_eq!(stored, served);
}
