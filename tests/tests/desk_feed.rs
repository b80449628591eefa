//! The desk app pushing the bulletin feed: a case manager opens a case in the app, records the
//! family's consent, uploads a photo and publishes; the desk signs the feed and pushes it to the
//! intake, which serves the case; closing it pushes a feed without it. A reviewer can neither
//! change cases nor push.

use std::time::Duration;

use reqwest::StatusCode;
use ring::signature::KeyPair;
use serde_json::json;
use sighting_core::wire::bulletin::IndexBody;
use sighting_desk::app::{self, Desk, DeskConfig, FeedPusher};
use sighting_desk::state::Role;
use sighting_desk::{self as desk, keygen};
use sighting_intake::IntakeConfig;
use time::OffsetDateTime;

use support::{server_key, DeskSession, Server};
use test_support as support;

const PASSWORD: &str = "a long desk password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_and_closing_in_the_app_push_the_feed_to_the_intake() {
    let tmp = tempfile::tempdir().unwrap();
    let org = tmp.path().join("org");
    keygen::keygen(&org).unwrap();
    let key = keygen::read_bulletin_key(&org.join(keygen::BULLETIN_KEY_FILE)).unwrap();
    let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let config = IntakeConfig {
        bulletin_key: Some(public),
        ..IntakeConfig::default()
    };
    let intake = Server::start(&tmp.path().join("intake"), &server_key().0, config).await;
    std::fs::create_dir_all(tmp.path().join("intake/reports")).unwrap();
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&org.join(keygen::IDENTITY_FILE)).unwrap(),
        intake_key: None,
        source: app::Source::Dir(tmp.path().join("intake")),
        state: tmp.path().join("desk"),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: Some(FeedPusher::new(key, &intake.base, None).unwrap()),
    })
    .unwrap();
    desk.state
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    desk.state
        .add_reviewer("ana", PASSWORD, Role::Reviewer)
        .unwrap();
    let app = support::DeskApp::start(desk).await;
    let chen = DeskSession::login(&app.base, PASSWORD, "chen").await;
    let ana = DeskSession::login(&app.base, PASSWORD, "ana").await;

    let mut details = serde_json::to_value(support::cases::case_details(52.37, 4.90)).unwrap();
    details["number"] = json!("C-1");
    assert_eq!(
        ana.post("/api/cases", details.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, case) = chen.post("/api/cases", details).await;
    assert_eq!(status, StatusCode::OK, "{case}");
    let (status, refused) = chen
        .post(
            "/api/cases/C-1/publish",
            json!({ "version": case["version"] }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not vetted: {refused}"
    );
    let (_, consented) = chen
        .post(
            "/api/cases/C-1/consent",
            json!({ "version": case["version"] }),
        )
        .await;
    let version = consented["case"]["version"].as_i64().unwrap();
    let photo = support::client()
        .post(format!(
            "{}/api/cases/C-1/photos?version={version}",
            app.base
        ))
        .header("cookie", &chen.cookie)
        .header("x-csrf-token", &chen.csrf)
        .body(support::fixture("gps/DSCN0012.jpg"))
        .send()
        .await
        .unwrap();
    assert_eq!(photo.status(), StatusCode::OK);
    let version = photo.json::<serde_json::Value>().await.unwrap()["version"].clone();

    // Published: the desk pushed a feed, and the intake serves the case.
    let (status, published) = chen
        .post("/api/cases/C-1/publish", json!({ "version": version }))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    let pushed = published["feed"]["version"]
        .as_u64()
        .expect("a feed was pushed");
    let index = served_index(&intake.base, &public).await;
    assert_eq!(index.version, pushed);
    let listed: Vec<&String> = index.tiles.iter().flat_map(|t| &t.cases).collect();
    assert_eq!(listed, ["C-1"]);

    // A reviewer cannot push; closing pushes a feed without the case.
    assert_eq!(
        ana.post("/api/bulletins/push", json!({})).await.0,
        StatusCode::FORBIDDEN
    );
    let version = published["case"]["version"].clone();
    let (_, closed) = chen
        .post("/api/cases/C-1/close", json!({ "version": version }))
        .await;
    let after = closed["feed"]["version"]
        .as_u64()
        .expect("a feed was pushed");
    assert!(after > pushed);
    let index = served_index(&intake.base, &public).await;
    assert_eq!((index.version, index.tiles.len()), (after, 0));
    app.stop().await;
    intake.stop().await;
}

async fn served_index(base: &str, key: &[u8; 32]) -> IndexBody {
    let url = format!("{base}/v1/bulletins/index.json");
    let bytes = support::client()
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    IndexBody::open(&bytes, key, None, OffsetDateTime::now_utc()).unwrap()
}
