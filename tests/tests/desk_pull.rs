//! The desk pulling from the intake server with the desk token: without it, 401; with it, the
//! finished ciphertexts (exactly as the phone sent them) and their records, and nothing else;
//! a desk in pull mode opens what the intake received.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sighting_desk::app::{Desk, DeskConfig, Puller, Source};
use sighting_desk::state::Role;
use sighting_desk::{self as desk, keygen};
use sighting_intake::store::IntakeRecord;
use sighting_intake::IntakeConfig;

use support::{phone, server_key, submit, syncer, Server, NOW};
use test_support as support;
use test_support::tus::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_desk_token_reads_the_feed_and_a_pulling_desk_opens_what_arrived() {
    let tmp = tempfile::tempdir().unwrap();
    let org_dir = tmp.path().join("org");
    let org = keygen::keygen(&org_dir).unwrap();
    keygen::desk_token(&org_dir).unwrap();
    let token = keygen::read_desk_token(&org_dir.join(keygen::DESK_TOKEN_FILE)).unwrap();
    let config = IntakeConfig {
        desk_token_sha256: Some(
            keygen::read_desk_token_hash(&org_dir.join(keygen::DESK_TOKEN_HASH_FILE)).unwrap(),
        ),
        ..IntakeConfig::default()
    };
    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, config).await;
    let device = phone(tmp.path(), &org.recipient);
    let id = submit(&device, "gps/DSCN0010.jpg").await;
    let sync = syncer(&server.base, public, 64 << 10);
    assert_eq!(sync.sync(&device, NOW).await.unwrap().delivered, vec![id]);

    let client = support::client();
    let feed = format!("{}/v1/desk/reports", server.base);
    for auth in [None, Some("wrong-token"), Some("")] {
        let mut request = client.get(&feed);
        if let Some(t) = auth {
            request = request.bearer_auth(t);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    }
    let listing: Value = json(client.get(&feed).bearer_auth(&token)).await;
    let reports = listing["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0]["report_id"], id.to_string());
    let after: Value = json(
        client
            .get(format!("{feed}?after={}", listing["next"]))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(
        after["reports"],
        serde_json::json!([]),
        "the cursor moves on"
    );

    let one = format!("{feed}/{id}");
    let ciphertext = client.get(&one).bearer_auth(&token).send().await.unwrap();
    let stored = std::fs::read(data.join("reports").join(format!("{id}.age"))).unwrap();
    assert_eq!(
        ciphertext.bytes().await.unwrap().as_ref(),
        stored.as_slice()
    );
    let record: IntakeRecord = json(client.get(format!("{one}/record")).bearer_auth(&token)).await;
    assert_eq!(record.receipt.report_id, id);
    // The token reads; it changes nothing.
    for method in [
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
        reqwest::Method::POST,
    ] {
        let response = client
            .request(method.clone(), &one)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
    assert!(data.join("reports").join(format!("{id}.age")).exists());
    let unknown = client
        .get(format!("{feed}/{}", uuid::Uuid::new_v4()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // A desk elsewhere, pulling from the intake over HTTP(S) with the token.
    let state = tmp.path().join("desk");
    let puller = Puller::new(&server.base, token, None, state.join("pulled")).unwrap();
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&org_dir.join(keygen::IDENTITY_FILE)).unwrap(),
        intake_key: None,
        source: Source::Intake(puller),
        state: state.clone(),
        poll: Duration::from_millis(200),
        lan: false,
        tiles: None,
        bulletins: None,
    })
    .unwrap();
    desk.state
        .add_reviewer("ana", "a long desk password", Role::Reviewer)
        .unwrap();
    let app = support::DeskApp::start(desk).await;
    let base = app.base.clone();
    let login = client
        .post(format!("{base}/api/login"))
        .json(&serde_json::json!({ "name": "ana", "password": "a long desk password" }))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let mut listing = Value::Null;
    for _ in 0..100 {
        listing = json(
            client
                .get(format!("{base}/api/sightings"))
                .header("cookie", &cookie),
        )
        .await;
        if listing["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        listing["items"][0]["report"]["id"],
        id.to_string(),
        "{listing}"
    );
    assert_eq!(listing["items"][0]["report"]["status"], "verified");
    let pulled = std::fs::read(state.join("pulled/reports").join(format!("{id}.age"))).unwrap();
    assert_eq!(pulled, stored, "byte-identical to what the intake holds");
    app.stop().await;
    server.stop().await;
}
