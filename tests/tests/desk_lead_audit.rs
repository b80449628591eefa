//! Lead packages and the audit log (issue 27, finding 8): a sighting named many times goes in a
//! package once and is audited once; a package that could not be made leaves no audit line
//! (the line would enter that sighting's chain of custody, shown to the police); a desk with no
//! lead-signing key says how to make one.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::state::{Decision, LinkReview, Role};
use sighting_desk::{self as desk, keygen};

use support::{phone, server_key, submit, syncer, DeskSession, Server, NOW};
use test_support as support;

const PASSWORD: &str = "a long desk password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_package_is_audited_once_per_sighting_and_only_when_made() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let good = submit(&device, "gps/DSCN0010.jpg").await;
    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, Default::default()).await;
    syncer(&server.base, public, 64 << 10)
        .sync(&device, NOW)
        .await
        .unwrap();
    server.stop().await;
    let state = tmp.path().join("desk");
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&tmp.path().join("org").join(keygen::IDENTITY_FILE))
            .unwrap(),
        intake_key: Some(public),
        source: app::Source::Dir(data),
        state: state.clone(),
        poll: Duration::from_millis(200),
        lan: false,
        tiles: None,
        bulletins: None,
    })
    .unwrap();
    desk.state
        .add_reviewer("ana", PASSWORD, Role::Reviewer)
        .unwrap();
    let chen = desk
        .state
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let details = support::cases::case_details(43.47, 11.88);
    desk.state.create_case(&chen, "C-1", &details).unwrap();
    let app = support::DeskApp::start(desk.clone()).await;
    let ana = DeskSession::login(&app.base, PASSWORD, "ana").await;
    let mut total = Value::Null;
    for _ in 0..100 {
        total = ana.get("/api/sightings").await.1["total"].clone();
        if total == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(total, 1);
    // What normally goes out: a possible match a second reviewer confirmed.
    let ana_reviewer = desk.state.reviewer("ana").unwrap().unwrap();
    desk.state
        .decide_candidate(
            &ana_reviewer,
            "C-1",
            &good.to_string(),
            Decision::PossibleMatch,
            Some("same coat"),
        )
        .unwrap();
    desk.state
        .review_link(
            &chen,
            "C-1",
            &good.to_string(),
            LinkReview::Confirmed,
            "the same child",
        )
        .unwrap();
    let lead_lines = || async {
        let (_, detail) = ana.get(&format!("/api/sightings/{good}")).await;
        detail["audit"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "lead_package")
            .count()
    };
    let request = |ids: Vec<String>| {
        support::client()
            .post(format!("{}/api/leads", ana.base))
            .header("cookie", &ana.cookie)
            .header("x-csrf-token", &ana.csrf)
            .json(&json!({ "ids": ids, "case": "C-1", "lang": "en" }))
            .send()
    };

    // No lead-signing key yet: refused before anything is made or recorded, saying how to make
    // one.
    let response = request(vec![good.to_string()]).await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let refused: Value = response.json().await.unwrap();
    assert_eq!(refused["error"], "lead_key_missing", "{refused}");
    let detail = refused["detail"].as_str().unwrap();
    assert!(
        detail.contains("sighting-server keygen --lead-only --out"),
        "{detail}"
    );
    assert_eq!(lead_lines().await, 0);
    desk::lead::LeadConfig {
        contact: Some("the duty desk".into()),
        time_zone: Some("Europe/Rome".into()),
        key: Some(tmp.path().join("org").join(keygen::LEAD_KEY_FILE)),
        font: None,
    }
    .save(&state)
    .unwrap();

    // The finding: the same id 100 times.
    let response = request(vec![good.to_string(); 100]).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let made: Value = response.json().await.unwrap();
    let zip = std::fs::read(state.join("leads").join(made["name"].as_str().unwrap())).unwrap();
    let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let photos = archive
        .file_names()
        .filter(|name| name.as_ref().unwrap().ends_with("/photo.jpg"))
        .count();
    assert_eq!(photos, 1, "the sighting once");
    assert_eq!(lead_lines().await, 1, "audited once");

    // The package cannot be made (its photo gone from the desk): refused, and no audit line.
    std::fs::remove_file(
        state
            .join("reports")
            .join(good.to_string())
            .join("photo.jpg"),
    )
    .unwrap();
    let response = request(vec![good.to_string()]).await.unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        lead_lines().await,
        1,
        "nothing audited for a package never made"
    );

    // An id the desk never opened: refused before anything is made or written.
    let response = request(vec![uuid::Uuid::new_v4().to_string()])
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}
