//! The review desk's web app on loopback, fed by reports that went phone → intake server: a
//! login in front of everything, CSRF on every change, two reviewers racing (the second gets a
//! conflict), a failed report that can never be a lead, photos only to a session, a hostile
//! note that stays data, and the audit trail of it all.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::state::Role;
use sighting_desk::{self as desk, keygen};

use support::tool;
use support::{phone, server_key, submit, syncer, DeskSession as Browser, Server, NOW};
use test_support as support;

const PASSWORD: &str = "a long desk password";

/// The list searched and exported.
#[path = "desk_app/export.rs"]
mod export;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewers_triage_sightings_behind_a_login_and_every_change_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let good = submit(&device, "gps/DSCN0010.jpg").await;
    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, Default::default()).await;
    assert_eq!(
        syncer(&server.base, public, 64 << 10)
            .sync(&device, NOW)
            .await
            .unwrap()
            .delivered,
        vec![good]
    );
    server.stop().await;
    // A report that does not decrypt: shown as failed, never a lead.
    let bad = uuid::Uuid::new_v4();
    std::fs::write(
        data.join("reports").join(format!("{bad}.age")),
        b"not age at all",
    )
    .unwrap();

    let state = tmp.path().join("desk");
    // The organisation's settings for lead packages, as `desk --contact … --lead-key …` keeps them.
    desk::lead::LeadConfig {
        contact: Some("Beijing Child Search, duty desk +86 10 5555 0100".into()),
        time_zone: Some("Asia/Shanghai".into()),
        key: Some(tmp.path().join("org").join(keygen::LEAD_KEY_FILE)),
        font: None,
    }
    .save(&state)
    .unwrap();
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
    let manager = desk
        .state
        .add_reviewer("bo", PASSWORD, Role::CaseManager)
        .unwrap();
    let mut case = support::cases::case_details(39.96, 116.30);
    case.police_reference = Some("2026-HD-1234".into());
    desk.state.create_case(&manager, "C-1", &case).unwrap();
    let app = support::DeskApp::start(desk).await;
    let base = app.base.clone();

    // Nothing without a login; a wrong password is refused.
    let anonymous = support::client()
        .get(format!("{base}/api/sightings"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let wrong = support::client()
        .post(format!("{base}/api/login"))
        .json(&json!({ "name": "ana", "password": "not the password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let ana = Browser::login(&base, PASSWORD, "ana").await;
    let bo = Browser::login(&base, PASSWORD, "bo").await;
    // The desk opens what the intake received, on its own.
    let mut listing = Value::Null;
    for _ in 0..100 {
        listing = ana.get("/api/sightings?triage=new").await.1;
        if listing["total"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listing["total"], 2, "{listing}");
    let item = |id: uuid::Uuid| {
        listing["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["triage"]["id"] == id.to_string())
            .cloned()
            .unwrap()
    };
    assert_eq!(item(good)["report"]["status"], "verified");
    assert_eq!(item(bad)["triage"]["verified"], false);

    // A change without the page's CSRF token is refused; with it, applied.
    let path = format!("/api/sightings/{good}/triage");
    let hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let change = json!({ "to": "in_review", "version": 1, "note": hostile });
    let (status, _) = ana
        .send(Method::POST, &path, Some(change.clone()), false)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, changed) = ana.post(&path, change).await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["triage"]["version"], 2);
    assert_eq!(changed["triage"]["note"], hostile, "kept as data, exactly");

    // Bo decides from the version he saw before Ana's change: a conflict, nothing overwritten.
    let (status, conflict) = bo
        .post(
            &path,
            json!({ "to": "not_relevant", "version": 1, "note": "no" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(conflict["current_version"], 2);
    let (_, detail) = bo.get(&format!("/api/sightings/{good}")).await;
    assert_eq!(detail["triage"]["triage"], "in_review");
    let (status, _) = bo
        .post(&path, json!({ "to": "forwarded_to_police", "version": 2 }))
        .await;
    assert_eq!(status, StatusCode::OK);

    // The failed report: reviewed, but never a lead.
    let bad_path = format!("/api/sightings/{bad}/triage");
    assert_eq!(
        ana.post(&bad_path, json!({ "to": "in_review", "version": 1 }))
            .await
            .0,
        StatusCode::OK
    );
    let (status, refused) = ana
        .post(
            &bad_path,
            json!({ "to": "forwarded_to_police", "version": 2 }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    // A lead package of the forwarded sighting for case C-1 in the officer's language, opened
    // with stock tools only: the signature with the published key, the sums, the PDF's text.
    let officer = tmp.path().join("officer");
    // Its link to the case was never confirmed by a second reviewer: a reviewer cannot send
    // it; the case manager can, with a written reason (audited).
    let (status, refused) = ana
        .post(
            "/api/leads",
            json!({ "ids": [good.to_string()], "case": "C-1", "lang": "zh" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"], "not_confirmed");
    let name = lead_package(&bo, &[good.to_string()], "zh", &officer).await;
    let lead_pub = tmp.path().join("org").join(keygen::LEAD_PUB_FILE);
    tool(
        &officer,
        "minisign",
        &["-Vm", &name, "-p", lead_pub.to_str().unwrap()],
    );
    let unpacked = officer.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    tool(&unpacked, "unzip", &["-q", &format!("../{name}")]);
    tool(&unpacked, "sha256sum", &["-c", "--strict", "SHA256SUMS"]);
    assert_eq!(
        std::fs::read(unpacked.join(good.to_string()).join("photo.jpg")).unwrap(),
        std::fs::read(
            state
                .join("reports")
                .join(good.to_string())
                .join("photo.jpg")
        )
        .unwrap()
    );
    let pdf = name.replace(".zip", ".pdf");
    let text = tool(&unpacked, "pdftotext", &["-layout", &pdf, "-"]);
    for words in ["C-1", "2026-HD-1234", "保管链", "Asia/Shanghai", "请勿"] {
        assert!(text.contains(words), "{words:?} not in the PDF:\n{text}");
    }
    for code in [
        "forwarded_to_police",
        "in_review",
        "lead_package",
        "Chain of custody",
    ] {
        assert!(!text.contains(code), "{code:?} in the Chinese PDF:\n{text}");
    }
    let custody: Value = serde_json::from_slice(
        &std::fs::read(unpacked.join(good.to_string()).join("custody.json")).unwrap(),
    )
    .unwrap();
    let last = custody["custody"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    // The package is audited once it is made: its custody ends with what came before it.
    assert_eq!(
        (last["reviewer"].clone(), last["to"].clone()),
        (json!("bo"), json!("forwarded_to_police"))
    );
    let (status, _) = ana
        .post(
            "/api/leads",
            json!({ "ids": [bad.to_string()], "case": "C-1", "lang": "en" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a failed report is never a lead"
    );

    // The photo: to a session only, for opened ids only.
    let photo = support::client()
        .get(format!("{base}/api/sightings/{good}/photo"))
        .header("cookie", &ana.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    let on_disk = std::fs::read(
        state
            .join("reports")
            .join(good.to_string())
            .join("photo.jpg"),
    )
    .unwrap();
    assert_eq!(photo.bytes().await.unwrap().as_ref(), on_disk.as_slice());
    for id in [bad.to_string(), "..%2F..%2Forg%2Fidentity.txt".into()] {
        assert_eq!(
            ana.get(&format!("/api/sightings/{id}/photo")).await.0,
            StatusCode::NOT_FOUND
        );
    }
    let anonymous = support::client()
        .get(format!("{base}/api/sightings/{good}/photo"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // The audit trail: every change once, in order; nothing in the app edits it.
    let (_, detail) = ana.get(&format!("/api/sightings/{good}")).await;
    let trail: Vec<(Value, Value, Value)> = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["reviewer"].clone(), e["action"].clone(), e["to"].clone()))
        .collect();
    assert_eq!(
        trail,
        vec![
            (Value::Null, json!("opened"), json!("verified")),
            (json!("ana"), json!("triage"), json!("in_review")),
            (json!("bo"), json!("triage"), json!("forwarded_to_police")),
            // The override with its reason, then the package by name, once it exists.
            (json!("bo"), json!("lead_override"), Value::Null),
            (json!("bo"), json!("lead_package"), json!(name)),
        ]
    );
    for method in [Method::PUT, Method::DELETE, Method::PATCH] {
        let (status, _) = ana.send(method, "/api/audit", None, true).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    // Logging out ends the session.
    assert_eq!(
        ana.send(Method::POST, "/api/logout", None, true).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(ana.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    app.stop().await;
    assert_private(&state);
}

/// A guesser gets five tries per name, then 429 with Retry-After even for the right password;
/// other reviewers are not locked out, and the desk checks no more hashes for that name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_wrong_passwords_are_throttled_per_name() {
    let tmp = tempfile::tempdir().unwrap();
    keygen::keygen(&tmp.path().join("org")).unwrap();
    let data = tmp.path().join("intake");
    std::fs::create_dir_all(data.join("reports")).unwrap();
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&tmp.path().join("org").join(keygen::IDENTITY_FILE))
            .unwrap(),
        intake_key: None,
        source: app::Source::Dir(data),
        state: tmp.path().join("desk"),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: None,
    })
    .unwrap();
    for name in ["ana", "bo"] {
        desk.state
            .add_reviewer(name, PASSWORD, Role::Reviewer)
            .unwrap();
    }
    let app = support::DeskApp::start(desk).await;
    let base = app.base.clone();
    let try_login = |name: &'static str, password: &'static str| {
        let base = base.clone();
        async move {
            support::client()
                .post(format!("{base}/api/login"))
                .json(&json!({ "name": name, "password": password }))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(
            try_login("ana", "a guess").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = try_login("ana", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((800..=900).contains(&wait), "{wait}");
    assert_eq!(try_login("bo", PASSWORD).await.status(), StatusCode::OK);
    app.stop().await;
}

/// Asks the desk (as a case manager, overriding) for a lead package for case C-1, then downloads it and its signature into
/// `into` as the page's links do; returns the package's name.
async fn lead_package(browser: &Browser, ids: &[String], lang: &str, into: &Path) -> String {
    let (status, made) = browser
        .post(
            "/api/leads",
            json!({
                "ids": ids, "case": "C-1", "lang": lang,
                "recipient": "Haidian police, officer Li",
                "override_reason": "the officer asked for every sighting near the station",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let name = made["name"].as_str().unwrap().to_string();
    assert!(
        name.starts_with("lead-C-1-") && name.ends_with("-1.zip"),
        "{name}"
    );
    assert_eq!(made["signature"], format!("{name}.minisig"));
    std::fs::create_dir_all(into).unwrap();
    for (file, kind) in [
        (name.clone(), "application/zip"),
        (format!("{name}.minisig"), "text/plain; charset=utf-8"),
    ] {
        let response = support::client()
            .get(format!("{}/api/leads/{file}", browser.base))
            .header("cookie", &browser.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{file}");
        assert_eq!(response.headers()["content-type"], kind);
        std::fs::write(into.join(&file), response.bytes().await.unwrap()).unwrap();
    }
    // Only the names the desk gives: nothing else under its state, nothing without a session.
    for other in [
        "..%2Fdesk.sqlite3",
        "lead-..%2F..%2Forg%2Flead.key",
        "lead-C-1-2000-01-01-1.zip",
        "lead.key",
        "..",
    ] {
        assert_eq!(
            browser.get(&format!("/api/leads/{other}")).await.0,
            StatusCode::NOT_FOUND,
            "{other}"
        );
    }
    let anonymous = support::client()
        .get(format!("{}/api/leads/{name}", browser.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    name
}

/// Everything the desk wrote is its user's alone.
fn assert_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o077;
        assert_eq!(mode, 0, "{} is readable by others", path.display());
        if path.is_dir() {
            assert_private(&path);
        }
    }
}
