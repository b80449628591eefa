//! What a newcomer walking the desk in Chromium hit, each checked in Chinese and English
//! (`tests/browser/newcomer.mjs`): a desk started without `--contact`, four sightings by a
//! ferry that are candidates for case C-1, a reviewer with no API tokens. The case page fits
//! 1024 and 1280 px; counts in the singular; an empty search and no tokens said in words;
//! messages follow a language switch and clear at the next action; the export button says up
//! front that the desk cannot make lead packages, and the server's refusal is a code.

use std::time::Duration;

use serde_json::json;
use sighting_core::report::{AgeBand, Observations, Sex};
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::sightings::Sighting;
use sighting_desk::state::Role;
use sighting_desk::{self as desk, keygen};

use super::{browser_tests, run_script, support, PASSWORD};

const FERRY: &str = "d4d4d4d4-0000-4000-8000-000000000001";
const CANON: &str = "e5e5e5e5-0000-4000-8000-000000000002";
const NIKON: &str = "f6f6f6f6-0000-4000-8000-000000000003";
const DSCN: &str = "a7a7a7a7-0000-4000-8000-000000000004";

fn report(id: &str, place: (f64, f64), note: &str) -> Sighting {
    let mut s = Sighting::failed(id.into(), format!("reports/{id}.age"), String::new());
    s.status = "verified".into();
    s.reason = None;
    s.captured_at = Some("2026-12-03T18:32:00Z".into());
    (s.lat, s.lon) = (Some(place.0), Some(place.1));
    s.note = Some(note.into());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_walks_the_desk_in_chinese_and_english_in_chromium() {
    browser_tests(); // fails at once when node_modules is missing
    let tmp = tempfile::tempdir().unwrap();
    keygen::keygen(&tmp.path().join("org")).unwrap();
    let data = tmp.path().join("intake");
    std::fs::create_dir_all(data.join("reports")).unwrap();
    let state = tmp.path().join("desk");
    // Started with a lead-signing key but no --contact.
    desk::lead::LeadConfig {
        time_zone: Some("Europe/Amsterdam".into()),
        key: Some(tmp.path().join("org").join(keygen::LEAD_KEY_FILE)),
        ..Default::default()
    }
    .save(&state)
    .unwrap();
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&tmp.path().join("org").join(keygen::IDENTITY_FILE))
            .unwrap(),
        intake_key: None,
        source: app::Source::Dir(data),
        state: state.clone(),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: None,
    })
    .unwrap();
    let mut ferry = report(
        FERRY,
        (52.371, 4.8904),
        "a girl selling flowers by the ferry; she looks like the photo",
    );
    ferry.observations = Some(Observations {
        case_number: Some("C-1".into()),
        sex: Some(Sex::Girl),
        age_band: Some(AgeBand::From5To9),
        ..Default::default()
    });
    desk.state
        .record_reports(&[
            ferry,
            report(CANON, (52.3791, 4.9003), "demo sighting from Canon_40D.jpg"),
            report(NIKON, (52.3773, 4.8981), "demo sighting from Nikon_D70.jpg"),
            report(DSCN, (52.3764, 4.897), "demo sighting from DSCN0010.jpg"),
        ])
        .unwrap();
    for id in [FERRY, CANON, NIKON, DSCN] {
        let dir = state.join("reports").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("photo.jpg"), support::fixture("gps/DSCN0010.jpg")).unwrap();
    }
    let chen = desk
        .state
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let mut details = support::cases::case_details(52.37, 4.9);
    details.first_name = "Mila".into();
    details.age_when_missing = 7;
    details.missing_since = "2026-10-01".into();
    details.last_seen_district = "Amsterdam-Noord".into();
    let case = desk.state.create_case(&chen, "C-1", &details).unwrap();
    let photo = desk::bulletins::case_photo(&support::fixture("gps/DSCN0012.jpg")).unwrap();
    desk.state
        .add_case_photo(&chen, "C-1", case.version, &photo)
        .unwrap();
    desk.state
        .add_reviewer("ana", PASSWORD, Role::Reviewer)
        .unwrap();
    let app = support::DeskApp::start(desk.clone()).await;
    let facts = json!({
        "url": format!("{}/", app.base),
        "reviewer": "ana",
        "password": PASSWORD,
        "all": [FERRY, CANON, NIKON, DSCN],
        "word": "ferry",
        "ferry": FERRY,
        "canon": CANON,
        "case": "C-1",
    });
    run_script("newcomer.mjs", &facts, tmp.path()).await;
    app.stop().await;
}
