//! The list searched in Chromium (`tests/browser/search.mjs`): reports recorded as `open`
//! records them, with notes, capture times and places; a reviewer in Chinese and one in English
//! search a note's word, narrow by day, and download the CSV, which this side reads back with
//! `csv`: only what was listed, the formula-looking note neutralised; each download audited.

use std::time::Duration;

use serde_json::json;
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::export::csv_cell_value;
use sighting_desk::sightings::Sighting;
use sighting_desk::state::{AuditFilter, Role};
use sighting_desk::{self as desk, keygen};

use super::{browser_tests, run_script, support, PASSWORD};

const STATION: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const GATE: &str = "b2b2b2b2-0000-4000-8000-000000000002";
const MARKET: &str = "c3c3c3c3-0000-4000-8000-000000000003";
const FORMULA_NOTE: &str = "=Station gate, a girl in a red coat";

fn report(id: &str, captured: &str, place: (f64, f64), note: &str) -> Sighting {
    let mut s = Sighting::failed(id.into(), format!("reports/{id}.age"), String::new());
    s.status = "verified".into();
    s.reason = None;
    s.captured_at = Some(captured.into());
    (s.lat, s.lon) = (Some(place.0), Some(place.1));
    s.note = Some(note.into());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_searches_narrows_by_day_and_downloads_the_csv_in_chromium() {
    browser_tests(); // fails at once when node_modules is missing
    let tmp = tempfile::tempdir().unwrap();
    keygen::keygen(&tmp.path().join("org")).unwrap();
    let data = tmp.path().join("intake");
    std::fs::create_dir_all(data.join("reports")).unwrap();
    let state = tmp.path().join("desk");
    desk::lead::LeadConfig {
        time_zone: Some("Asia/Shanghai".into()),
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
    let beijing = (39.915, 116.404);
    desk.state
        .record_reports(&[
            report(
                STATION,
                "2026-03-01T10:00:00+08:00",
                beijing,
                "a boy at the STATION",
            ),
            // 00:30 on the 5th in the desk's zone: the 4th in Amsterdam, where the browser is.
            report(GATE, "2026-03-05T00:30:00+08:00", beijing, FORMULA_NOTE),
            report(
                MARKET,
                "2026-03-05T10:00:00+08:00",
                (52.379, 4.9),
                "by the market",
            ),
        ])
        .unwrap();
    for id in [STATION, GATE, MARKET] {
        let dir = state.join("reports").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("photo.jpg"), support::fixture("gps/DSCN0010.jpg")).unwrap();
    }
    desk.state
        .add_reviewer("ana", PASSWORD, Role::Reviewer)
        .unwrap();
    let app = support::DeskApp::start(desk.clone()).await;
    let out = tmp.path().join("browser");
    std::fs::create_dir_all(&out).unwrap();
    let facts = json!({
        "url": format!("{}/", app.base),
        "reviewer": "ana",
        "password": PASSWORD,
        "out": out,
        "all": [STATION, GATE, MARKET],
        "word": "station",
        "with_word": [STATION, GATE],
        "day": "2026-03-05",
        "on_day": GATE,
    });
    run_script("search.mjs", &facts, tmp.path()).await;
    app.stop().await;
    if let Ok(keep) = std::env::var("SIGHTING_SCREENSHOTS") {
        for lang in ["zh", "en"] {
            let name = format!("search-{lang}.png");
            std::fs::copy(out.join(&name), std::path::Path::new(&keep).join(&name)).unwrap();
        }
    }

    // Each download: only the sighting listed, its note read back as written, not a formula.
    for lang in ["zh", "en"] {
        let mut csv = csv::Reader::from_path(out.join(format!("search-{lang}.csv"))).unwrap();
        let header = csv.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1, "{lang}");
        let cell = |name: &str| {
            let at = header.iter().position(|h| h == name).unwrap();
            rows[0][at].to_string()
        };
        assert_eq!(cell("id"), GATE);
        assert!(cell("note").starts_with("'="));
        assert_eq!(csv_cell_value(&cell("note")), FORMULA_NOTE);
    }
    let filter = AuditFilter {
        action: Some("export".into()),
        limit: 10,
        ..Default::default()
    };
    let (lines, _) = desk.state.audit_page(&filter).unwrap();
    let lines: Vec<String> = lines
        .into_iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e.reviewer.unwrap(),
                e.to.unwrap(),
                e.note.unwrap()
            )
        })
        .collect();
    let search = r#"text="station" from="2026-03-05" to="2026-03-05""#;
    assert_eq!(
        lines,
        [format!("ana csv {search}"), format!("ana csv {search}")]
    );
}
