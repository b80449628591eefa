//! The case register over the desk app on loopback (issue 27, findings 7 and 9): a plain
//! reviewer never gets a case's police reference or private notes; a case manager does, sees
//! which fields phones hold, and cannot walk a published case around the publication gate.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::state::Role;
use sighting_desk::{self as desk, keygen};

use support::DeskSession;
use test_support as support;

const PASSWORD: &str = "a long desk password";
const REFERENCE: &str = "2026-AMS-77";
const NOTES: &str = "mother +31 6 87654321, lives at Damstraat 12";

/// A desk app with case `C-1` published (its private notes set), a reviewer `ana` and a case
/// manager `chen`, both logged in.
async fn desk_with_a_published_case(
    dir: &std::path::Path,
) -> (support::DeskApp, DeskSession, DeskSession) {
    let org = dir.join("org");
    keygen::keygen(&org).unwrap();
    std::fs::create_dir_all(dir.join("intake/reports")).unwrap();
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&org.join(keygen::IDENTITY_FILE)).unwrap(),
        intake_key: None,
        source: app::Source::Dir(dir.join("intake")),
        state: dir.join("desk"),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: None,
    })
    .unwrap();
    let state = &desk.state;
    let cm = state
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    state.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let mut details = support::cases::case_details(52.37, 4.90);
    details.police_reference = Some(REFERENCE.into());
    details.private_notes = Some(NOTES.into());
    let photo =
        sighting_desk::bulletins::case_photo(&support::fixture("gps/DSCN0012.jpg")).unwrap();
    let c = state.create_case(&cm, "C-1", &details).unwrap();
    let c = state.record_family_consent(&cm, "C-1", c.version).unwrap();
    let c = state.add_case_photo(&cm, "C-1", c.version, &photo).unwrap();
    state.publish_case(&cm, "C-1", c.version).unwrap();
    let app = support::DeskApp::start(desk).await;
    let ana = DeskSession::login(&app.base, PASSWORD, "ana").await;
    let chen = DeskSession::login(&app.base, PASSWORD, "chen").await;
    (app, ana, chen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_never_gets_the_police_reference_or_private_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, ana, chen) = desk_with_a_published_case(tmp.path()).await;

    for path in ["/api/cases", "/api/cases/C-1/candidates"] {
        let (status, body) = ana.get(path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let case = body["cases"].get(0).unwrap_or(&body["case"]);
        assert_eq!(case["number"], "C-1", "{body}");
        assert_eq!(
            case["first_name"], "Ana",
            "what a reviewer matches by stays"
        );
        let object = case.as_object().unwrap();
        for private in ["police_reference", "private_notes"] {
            assert!(!object.contains_key(private), "{path}: {private} in {case}");
        }
        let text = body.to_string();
        assert!(
            !text.contains(REFERENCE) && !text.contains("87654321"),
            "{path}: {text}"
        );

        let (status, body) = chen.get(path).await;
        assert_eq!(status, StatusCode::OK);
        let case = body["cases"].get(0).unwrap_or(&body["case"]);
        assert_eq!(case["police_reference"], REFERENCE, "{path}");
        assert_eq!(case["private_notes"], NOTES, "{path}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_published_case_meets_the_gate_and_names_what_is_published() {
    let tmp = tempfile::tempdir().unwrap();
    let (app, _ana, chen) = desk_with_a_published_case(tmp.path()).await;
    let (_, listing) = chen.get("/api/cases").await;
    let case = listing["cases"][0].clone();
    assert_eq!(case["publication"], "published");
    let published: Vec<&str> = case["published_fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["first_name", "marks", "last_seen_district", "photos"] {
        assert!(published.contains(&field), "{field}: {published:?}");
    }
    for private in ["police_reference", "private_notes", "date_of_birth"] {
        assert!(!published.contains(&private), "{private}: {published:?}");
    }

    // The finding, as a case manager's browser sends it: the reference gone, a phone in marks.
    let mut walked = case.clone();
    walked["police_reference"] = Value::Null;
    walked["marks"] = json!("family phone +31 6 12345678");
    let (status, refused) = chen.post("/api/cases/C-1", walked).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["missing"], json!(["police_reference"]), "{refused}");

    let mut phone = case.clone();
    phone["marks"] = json!("family phone +31 6 12345678");
    let (status, refused) = chen.post("/api/cases/C-1", phone).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(
        (refused["field"].clone(), refused["contact"].clone()),
        (json!("marks"), json!("phone"))
    );
    assert!(refused["detail"]
        .as_str()
        .unwrap()
        .contains("private notes"));

    // Nothing changed: still published, as it was.
    let (_, after) = chen.get("/api/cases").await;
    assert_eq!(after["cases"][0], case);

    let mut ordinary = case.clone();
    ordinary["marks"] = json!("scar on left arm, 3 cm");
    let (status, edited) = chen.post("/api/cases/C-1", ordinary).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["publication"], "published");
    assert_eq!(edited["marks"], "scar on left arm, 3 cm");
    app.stop().await;
}
