//! The review desk's products, from reports that really went phone → intake server → desk:
//! the same photo sent twice grouped, the corrected capture time, incremental opening, the GeoJSON and
//! CSV exports, and the review page rendered by real browsers (Debian's `chromium` and
//! `firefox-esr`, headless).

use std::path::Path;
use std::process::Command;

use sighting_core::capture::{
    capture, CaptureOptions, CaptureRequest, Location, LocationFix, LocationMissing, LocationSource,
};
use sighting_core::handle::DeviceHandle;
use sighting_core::report::{CaptureClock, Details};
use sighting_desk::keygen;
use sighting_desk::{self as desk, sightings::Sighting, sightings::PHASH_THRESHOLD};
use sighting_intake::IntakeConfig;
use time::OffsetDateTime;
use uuid::Uuid;

use support::{fixture, phone, server_key, syncer, Server, NOW};
use test_support as support;

fn phash(photo: Vec<u8>, max_edge: u32) -> u64 {
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let options = CaptureOptions {
        max_edge,
        ..CaptureOptions::default()
    };
    capture(photo, &request, &options).unwrap().perceptual_hash
}

const SCENES: [&str; 10] = [
    "gps/DSCN0010.jpg",
    "gps/DSCN0012.jpg",
    "gps/DSCN0021.jpg",
    "gps/DSCN0025.jpg",
    "gps/DSCN0027.jpg",
    "Canon_40D.jpg",
    "Nikon_D70.jpg",
    "orientation/portrait_1.jpg",
    "hdr/iphone_hdr_NO.jpg",
    "mobile/jolla.jpg",
];

/// The threshold sits between the same photo re-encoded and resized (a forwarded or
/// screenshotted copy) and different photos.
#[test]
fn the_phash_threshold_separates_copies_from_different_scenes() {
    let mut hashes = Vec::new();
    let mut same_max = 0;
    for name in SCENES {
        let original = phash(fixture(name), 2048);
        // A copy: the upload copy at 640 px, re-encoded again by capture.
        let request = CaptureRequest {
            location: Location::Missing(LocationMissing::NoFix),
            captured_at: None,
        };
        let small = CaptureOptions {
            max_edge: 640,
            quality: 60,
            ..CaptureOptions::default()
        };
        let copy = capture(fixture(name), &request, &small)
            .unwrap()
            .upload_copy;
        let d = (original ^ phash(copy, 320)).count_ones();
        same_max = same_max.max(d);
        hashes.push((name, original));
    }
    let mut different_min = u32::MAX;
    for (i, (a, ha)) in hashes.iter().enumerate() {
        for (b, hb) in &hashes[i + 1..] {
            let d = (ha ^ hb).count_ones();
            if d < different_min {
                println!("closest different pair so far: {a} / {b}: {d} bits");
            }
            different_min = different_min.min(d);
        }
    }
    println!("same photo re-encoded + resized: ≤ {same_max} bits; different photos: ≥ {different_min} bits; threshold {PHASH_THRESHOLD}");
    assert!(same_max <= PHASH_THRESHOLD, "a copy is {same_max} bits off");
    assert!(
        different_min > PHASH_THRESHOLD,
        "two different photos are {different_min} bits apart"
    );
}

fn fix(lat: f64, lon: f64) -> Location {
    Location::Fix(LocationFix {
        lat,
        lon,
        accuracy_m: Some(15.0),
        altitude_m: None,
        heading_deg: None,
        fix_time: OffsetDateTime::now_utc() - time::Duration::seconds(3),
        provider: "fused".into(),
        source: LocationSource::Device,
    })
}

/// Captures and submits `photo` at `location`, the phone's wall clock `skew` off.
async fn report(
    device: &DeviceHandle,
    photo: &'static str,
    location: Location,
    note: &str,
    skew: time::Duration,
) -> Uuid {
    let note = note.to_string();
    device
        .call(move |d| {
            let wall = OffsetDateTime::now_utc() + skew;
            let request = CaptureRequest {
                location,
                captured_at: Some(wall),
            };
            let clock = CaptureClock {
                wall_at_capture: wall,
                ..CaptureClock::now()?
            };
            let draft = d.capture(fixture(photo), &request, clock)?;
            let details = Details {
                note: Some(note),
                ..Default::default()
            };
            d.submit(draft.id, details)?;
            Ok(draft.id)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_through_the_intake_server_become_groups_exports_and_a_review_page() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let identities = desk::read_identities(&tmp.path().join("org/identity.txt")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let zero = time::Duration::ZERO;
    // The same child twice, 90 m apart; a different scene; no location; a phone 3 h fast.
    let first = report(
        &device,
        "gps/DSCN0010.jpg",
        fix(52.3731, 4.8926),
        "begging, \"alone\", by the Dam",
        zero,
    )
    .await;
    let again = report(
        &device,
        "gps/DSCN0010.jpg",
        fix(52.3738, 4.8931),
        "same girl\nnear the station",
        zero,
    )
    .await;
    let other = report(
        &device,
        "Canon_40D.jpg",
        fix(52.3600, 4.8800),
        "a boy",
        zero,
    )
    .await;
    let nowhere = report(
        &device,
        "orientation/portrait_1.jpg",
        Location::Missing(LocationMissing::PermissionDenied),
        "",
        zero,
    )
    .await;
    let fast = report(
        &device,
        "gps/DSCN0021.jpg",
        fix(52.3700, 4.9000),
        "clock",
        time::Duration::hours(3),
    )
    .await;

    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, IntakeConfig::default()).await;
    let summary = syncer(&server.base, public, 256 << 10)
        .sync(&device, NOW)
        .await
        .unwrap();
    assert_eq!(summary.delivered.len(), 5);
    server.stop().await;
    // A tampered copy of one report beside the good ones.
    let mut tampered = std::fs::read(data.join(format!("reports/{other}.age"))).unwrap();
    let n = tampered.len();
    tampered[n - 40] ^= 1;
    let tampered_id = Uuid::new_v4();
    std::fs::write(data.join(format!("reports/{tampered_id}.age")), tampered).unwrap();

    let out = tmp.path().join("desk");
    let outcomes = desk::open_dir(&identities, &data, &out).unwrap();
    assert_eq!(outcomes.len(), 6);
    let sightings: Vec<Sighting> =
        serde_json::from_slice(&std::fs::read(out.join("sightings.json")).unwrap()).unwrap();
    let by_id = |id: Uuid| sightings.iter().find(|s| s.id == id.to_string()).unwrap();
    let broken = by_id(tampered_id);
    assert_eq!(broken.status, "failed");
    assert!(
        broken.reason.as_deref().unwrap().contains("tampered"),
        "{:?}",
        broken.reason
    );

    // The same photo sent twice, 90 m apart: one group, nothing else grouped.
    assert_eq!(by_id(first).same_photo.as_deref(), Some("P1"));
    assert_eq!(by_id(again).same_photo.as_deref(), Some("P1"));
    for id in [other, nowhere, fast] {
        assert_eq!(by_id(id).same_photo, None);
    }

    // Clock: corrected from the server's clock; the phone 3 h fast is flagged, the others not.
    let skew = by_id(fast).clock_skew_s.expect("a corrected time");
    assert!((3 * 3600 - 60..3 * 3600 + 60).contains(&skew), "{skew}");
    assert!(by_id(fast).clock_flagged);
    assert!(by_id(first).clock_skew_s.unwrap().abs() < 60);
    assert!(!by_id(first).clock_flagged);

    // GeoJSON (RFC 7946): a FeatureCollection of Points, [lon, lat].
    let geo: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("sightings.geojson")).unwrap()).unwrap();
    assert_eq!(geo["type"], "FeatureCollection");
    let features = geo["features"].as_array().unwrap();
    assert_eq!(features.len(), 4, "located, verified reports only");
    for f in features {
        assert_eq!(f["type"], "Feature");
        assert_eq!(f["geometry"]["type"], "Point");
        let s = sightings
            .iter()
            .find(|s| s.id == f["properties"]["id"].as_str().unwrap())
            .unwrap();
        let c = f["geometry"]["coordinates"].as_array().unwrap();
        assert_eq!(
            (c[0].as_f64(), c[1].as_f64()),
            (s.lon, s.lat),
            "lon, lat order"
        );
    }
    let c1 = &features
        .iter()
        .find(|f| f["id"] == first.to_string())
        .unwrap()["properties"];
    assert_eq!(c1["same_photo"], "P1");

    // CSV: every report, and it round-trips through a CSV parser (quotes, commas, newlines).
    let mut csv = csv::Reader::from_path(out.join("sightings.csv")).unwrap();
    let headers = csv.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    let note = headers.iter().position(|h| h == "note").unwrap();
    let id = headers.iter().position(|h| h == "id").unwrap();
    let row = |u: Uuid| rows.iter().find(|r| r[id] == u.to_string()).unwrap();
    assert_eq!(&row(first)[note], "begging, \"alone\", by the Dam");
    assert_eq!(&row(again)[note], "same girl\nnear the station");
    let mut missing = csv::Reader::from_path(out.join("sightings-no-location.csv")).unwrap();
    let missing: Vec<_> = missing.records().map(Result::unwrap).collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(&missing[0][id], nowhere.to_string());

    // Incremental: no opened report is reopened; the one that failed (tampered) is tried again,
    // in case the desk's key was what was wrong, and fails again; the record is unchanged.
    let before = std::fs::read(out.join("sightings.json")).unwrap();
    let again = desk::open_dir(&identities, &data, &out).unwrap();
    assert_eq!(again.len(), 1);
    assert!(again[0].file.ends_with(format!("{tampered_id}.age")) && again[0].result.is_err());
    assert_eq!(std::fs::read(out.join("sightings.json")).unwrap(), before);

    // The page, in a real browser, offline.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Content-Security-Policy"));
    let stripped = html.replace("http://www.w3.org/2000/svg", "");
    assert!(
        !stripped.contains("://"),
        "the page refers to nothing on the network: {:?}",
        stripped
            .find("://")
            .map(|i| &stripped[i.saturating_sub(80)..i + 40])
    );
    let page = format!("file://{}", out.join("index.html").display());
    let dom = dump_dom(&page);
    assert!(
        dom.contains("data-ready=\"1\""),
        "the script ran to the end"
    );
    assert!(!dom.contains("data-error"), "no script error");
    for s in &sightings {
        assert!(
            dom.contains(&format!("<li data-id=\"{}\"", s.id)),
            "{} listed",
            s.id
        );
    }
    assert!(
        dom.contains("data-same-photo=\"P1\""),
        "the same photo's path is drawn"
    );
    assert_eq!(
        dom.matches("<circle").count(),
        4,
        "one dot per located report"
    );
    assert!(dom.contains("phone clock 3 h 0 min ahead"));
    let artefacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("review-page.png");
    let shot = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args(["--hide-scrollbars", "--window-size=1280,900"])
        .arg(format!("--screenshot={}", artefacts.display()))
        .arg(&page)
        .output()
        .unwrap();
    assert!(shot.status.success());
    println!("screenshot: {}", artefacts.display());

    // Firefox (Debian's firefox-esr) draws the same page: headless Firefox has no DOM dump, so
    // the script's output is compared as pixels — the "verified" badges, the same-photo colour and
    // the plain dots, all drawn by the script — against Chromium's screenshot.
    let firefox_shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("review-page-firefox.png");
    let profile = tempfile::tempdir().unwrap();
    let firefox = Command::new("firefox-esr")
        .args(["--headless", "--no-remote", "--profile"])
        .arg(profile.path())
        .args(["--window-size=1280,900", "--screenshot"])
        .arg(&firefox_shot)
        .arg(&page)
        .output()
        .expect("firefox-esr (Debian package firefox-esr; .ci/run installs it)");
    assert!(firefox.status.success());
    println!("screenshot: {}", firefox_shot.display());
    let (in_chromium, in_firefox) = (colour_counts(&artefacts), colour_counts(&firefox_shot));
    println!("badge, same-photo, dot pixels: Chromium {in_chromium:?}, Firefox {in_firefox:?}");
    for (colour, (c, f)) in ["verified", "same photo", "plain dot"]
        .iter()
        .zip(in_chromium.iter().zip(&in_firefox))
    {
        assert!(*c > 50, "Chromium drew the {colour}s: {in_chromium:?}");
        let ratio = *f as f64 / *c as f64;
        assert!(
            (0.5..2.0).contains(&ratio),
            "Firefox drew the {colour}s as Chromium did: {in_firefox:?} vs {in_chromium:?}"
        );
    }
}

/// Pixels of the page's badge green, same-photo purple and plain-dot grey in a screenshot.
fn colour_counts(png_file: &Path) -> [usize; 3] {
    const COLOURS: [[u8; 3]; 3] = [[0x2e, 0x7d, 0x32], [0x5e, 0x35, 0xb1], [0x60, 0x7d, 0x8b]];
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let channels = frame.color_type.samples();
    assert!(channels >= 3, "an RGB screenshot");
    let mut counts = [0; 3];
    for pixel in pixels[..frame.buffer_size()].chunks_exact(channels) {
        for (count, colour) in counts.iter_mut().zip(COLOURS) {
            // Anti-aliasing and colour management shift edges and fills by a few levels.
            if pixel[..3]
                .iter()
                .zip(colour)
                .all(|(p, c)| p.abs_diff(c) <= 6)
            {
                *count += 1;
            }
        }
    }
    counts
}

/// What strangers write, as notes and as failure reasons: markup, comment and script openers,
/// very long text, direction overrides, zero-width characters. Every report is still listed,
/// and none of it becomes an element.
#[test]
fn hostile_notes_never_blank_the_review_page_or_inject_an_element() {
    let mut hostile = support::hostile_notes();
    hostile.push("<!--".repeat(5000));
    let mut sightings = Vec::new();
    for (i, note) in hostile.iter().enumerate() {
        let mut s = Sighting::failed(format!("v{i}"), format!("reports/v{i}.age"), String::new());
        s.status = "verified".into();
        s.reason = None;
        s.note = Some(note.to_string());
        s.lat = Some(52.0 + i as f64 / 100.0);
        s.lon = Some(5.1);
        sightings.push(s);
        sightings.push(Sighting::failed(
            format!("f{i}"),
            format!("reports/f{i}.age"),
            note.to_string(),
        ));
    }
    // One page per hostile text (a later `-->` in another note would undo an earlier `<!--`),
    // with an ordinary sighting beside it.
    let mut plain = Sighting::failed("plain".into(), "reports/plain.age".into(), String::new());
    plain.status = "verified".into();
    plain.reason = None;
    for (i, pair) in sightings.chunks(2).enumerate() {
        let out = tempfile::tempdir().unwrap();
        let page_sightings = [&[plain.clone()], pair].concat();
        desk::export::write_all(out.path(), &page_sightings).unwrap();
        let dom = dump_dom(&format!(
            "file://{}",
            out.path().join("index.html").display()
        ));
        let note = &hostile[i];
        assert!(
            dom.contains("data-ready=\"1\""),
            "{note:.40?}: the script ran to the end"
        );
        assert!(!dom.contains("data-error"), "{note:.40?}: no script error");
        assert!(
            !dom.contains("data-injected"),
            "{note:.40?}: no stranger's script ran"
        );
        for s in &page_sightings {
            let listed = format!("<li data-id=\"{}\"", s.id);
            assert!(dom.contains(&listed), "{note:.40?}: {} listed", s.id);
        }
        assert!(
            !dom.contains("<b id=\"injected\""),
            "{note:.40?}: an element"
        );
        assert!(!dom.contains("<img src=\"x\""), "{note:.40?}: an element");
    }
    let out = tempfile::tempdir().unwrap();
    desk::export::write_all(out.path(), &sightings).unwrap();
    // The notes are shown as text.
    let dom = dump_dom(&format!(
        "file://{}",
        out.path().join("index.html").display()
    ));
    assert!(dom.contains("&lt;b id=\"injected\"&gt;bold&lt;/b&gt;"));

    // The CSV: formula cells neutralised, and read back exactly by the rule.
    let mut reader = csv::Reader::from_path(out.path().join("sightings.csv")).unwrap();
    let notes: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[12].to_string())
        .filter(|n| !n.is_empty())
        .collect();
    for cell in &notes {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{cell:?}"
        );
    }
    let read_back: Vec<&str> = notes
        .iter()
        .map(|c| desk::export::csv_cell_value(c))
        .collect();
    let written: Vec<&str> = hostile.iter().map(String::as_str).collect();
    assert_eq!(read_back, written);
}

/// The page's DOM after its script ran, from headless Chromium.
fn dump_dom(page: &str) -> String {
    let dom = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
        ])
        .args(["--virtual-time-budget=3000", "--dump-dom", page])
        .output()
        .expect("chromium (Debian package chromium; .ci/run installs it)");
    String::from_utf8_lossy(&dom.stdout).into_owned()
}
