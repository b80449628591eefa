//! The desk checks every intake receipt against the organisation's intake key (`server.pub`),
//! never against the key a receipt names: a receipt signed by an attacker's key and back-dated
//! a day is flagged in words wherever the report is shown, and the lead package says the
//! receipt does NOT verify.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::StatusCode;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{json, Value};
use sighting_core::wire::{hex, Receipt};
use sighting_desk::app::{Desk, DeskConfig, Source};
use sighting_desk::receipts::ReceiptCheck;
use sighting_desk::state::Role;
use sighting_desk::{self as desk, keygen};
use sighting_intake::store::IntakeRecord;
use sighting_intake::IntakeConfig;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use support::{phone, submit, syncer, DeskSession, Server, NOW};
use test_support as support;

const PASSWORD: &str = "a long desk password";

/// Re-signs `id`'s receipt with a key of the attacker's own, one day earlier.
fn forge_receipt(data: &std::path::Path, id: uuid::Uuid) -> String {
    let path = data.join("reports").join(format!("{id}.intake.json"));
    let mut record: IntakeRecord = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    let attacker = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let received = OffsetDateTime::parse(&record.receipt.received_at, &Rfc3339).unwrap();
    let back_dated = (received - time::Duration::days(1))
        .format(&Rfc3339)
        .unwrap();
    let sha = hex::decode::<32>(&record.receipt.ciphertext_sha256).unwrap();
    let message = Receipt::signed_message(id, &sha, &back_dated);
    record.receipt.received_at = back_dated.clone();
    record.receipt.server_key = STANDARD.encode(attacker.public_key().as_ref());
    record.receipt.sig = STANDARD.encode(attacker.sign(&message).as_ref());
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    back_dated
}

/// The text of the lead package's PDF for `id` (both languages), as the officer reads it
/// (`pdftotext`); sent by a case manager, whose written reason stands in for a confirmed link.
async fn lead_text(session: &DeskSession, id: uuid::Uuid, dir: &std::path::Path) -> String {
    let response = support::client()
        .post(format!("{}/api/leads", session.base))
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(&json!({
            "ids": [id.to_string()], "case": "C-1", "lang": "both",
            "recipient": "the officer on the case",
            "override_reason": "the officer asked for every sighting of the day",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let made: Value = response.json().await.unwrap();
    let name = made["name"].as_str().unwrap();
    let zip = support::client()
        .get(format!("{}/api/leads/{name}", session.base))
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let pdf_name = name.replace(".zip", ".pdf");
    let mut pdf = Vec::new();
    std::io::Read::read_to_end(&mut archive.by_name(&pdf_name).unwrap(), &mut pdf).unwrap();
    std::fs::write(dir.join(&pdf_name), pdf).unwrap();
    support::tool(dir, "pdftotext", &[&pdf_name, "-"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_signed_by_another_key_and_back_dated_is_flagged_and_never_vouched_for() {
    let tmp = tempfile::tempdir().unwrap();
    let org_dir = tmp.path().join("org");
    let org = keygen::keygen(&org_dir).unwrap();
    let server_pkcs8 = STANDARD
        .decode(
            std::fs::read_to_string(org_dir.join(keygen::SERVER_KEY_FILE))
                .unwrap()
                .trim(),
        )
        .unwrap();
    let intake_key = sighting_core::wire::parse_server_key(&org.server_key).unwrap();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &server_pkcs8, IntakeConfig::default()).await;
    let device = phone(tmp.path(), &org.recipient);
    let forged = submit(&device, "gps/DSCN0010.jpg").await;
    let genuine = submit(&device, "Canon_40D.jpg").await;
    let sync = syncer(&server.base, intake_key, 64 << 10);
    assert_eq!(sync.sync(&device, NOW).await.unwrap().delivered.len(), 2);
    server.stop().await;
    let back_dated = forge_receipt(&data, forged);

    let state = tmp.path().join("desk");
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&org_dir.join(keygen::IDENTITY_FILE)).unwrap(),
        intake_key: Some(intake_key),
        source: Source::Dir(data.clone()),
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
    desk::lead::LeadConfig {
        contact: Some("the duty desk".into()),
        time_zone: Some("Europe/Rome".into()),
        key: Some(org_dir.join(keygen::LEAD_KEY_FILE)),
        font: None,
    }
    .save(&state)
    .unwrap();
    let app = support::DeskApp::start(desk).await;
    let ana = DeskSession::login(&app.base, PASSWORD, "ana").await;
    let chen = DeskSession::login(&app.base, PASSWORD, "chen").await;
    for _ in 0..100 {
        if ana.get("/api/sightings").await.1["total"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // What the police are told: the forged receipt does not verify, in both languages, and
    // its claimed time is not passed on as the time of receipt.
    let text = lead_text(&chen, forged, tmp.path()).await;
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!flat.contains("signed a receipt for it"), "{flat}");
    assert!(
        flat.contains("does NOT verify against the organisation's intake key"),
        "{flat}"
    );
    assert!(
        flat.contains("接收收据未能通过机构接收密钥的验证"),
        "{flat}"
    );
    assert!(
        !flat.contains(&back_dated[..16]),
        "the claimed time: {flat}"
    );
    let text = lead_text(&chen, genuine, tmp.path()).await;
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("the receipt verifies"), "{flat}");
    assert!(!flat.contains("NOT verify"));

    // What the reviewers see, in the list and in the detail.
    let (_, list) = ana.get("/api/sightings").await;
    let shown: Vec<(Value, Value)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["report"]["id"].clone(), i["report"]["receipt"].clone()))
        .collect();
    assert!(shown.contains(&(json!(forged.to_string()), json!("not_verified"))));
    assert!(shown.contains(&(json!(genuine.to_string()), json!("verified"))));
    let (_, detail) = ana.get(&format!("/api/sightings/{forged}")).await;
    let warning = detail["report"]["receipt_warning"].as_str().unwrap();
    assert!(warning.contains("does NOT verify against the organisation's intake key"));
    assert!(warning.contains("接收时间不可信"));
    let (_, detail) = ana.get(&format!("/api/sightings/{genuine}")).await;
    assert_eq!(detail["report"]["receipt_warning"], Value::Null);
    app.stop().await;

    // `open` says the same, and a desk without the key says it did not check.
    let identities = desk::read_identities(&org_dir.join(keygen::IDENTITY_FILE)).unwrap();
    let out = tmp.path().join("opened");
    let outcomes = desk::open_dir_checked(&identities, Some(&intake_key), &data, &out).unwrap();
    let check = |id: uuid::Uuid| {
        outcomes
            .iter()
            .find(|o| o.file.to_string_lossy().contains(&id.to_string()))
            .unwrap()
            .receipt
    };
    assert_eq!(check(forged), Some(ReceiptCheck::NotVerified));
    assert_eq!(check(genuine), Some(ReceiptCheck::Verified));
    let unchecked = desk::open_dir(&identities, &data, &tmp.path().join("no-key")).unwrap();
    assert!(unchecked
        .iter()
        .all(|o| o.receipt == Some(ReceiptCheck::Unchecked)));
}
