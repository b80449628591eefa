//! The desk app's state calls wait on blocking threads, not on the async runtime: while a
//! reviewer's triage waits for SQLite's write lock (held here by a second connection to the
//! same `desk.sqlite3`, as a long write elsewhere would hold it), the same one-thread runtime
//! still answers the next request, and the triage goes through once the lock is free.

use std::sync::mpsc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::Value;
use sighting_desk::app::{self, AllowedHosts, Desk, DeskConfig};
use sighting_desk::state::{OpenedReport, Role};
use sighting_desk::{keygen, read_identities};

const PASSWORD: &str = "a long desk password";

#[tokio::test(flavor = "current_thread")]
async fn a_triage_waiting_on_the_write_lock_leaves_the_runtime_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let org = tmp.path().join("org");
    keygen::keygen(&org).unwrap();
    let data = tmp.path().join("intake");
    std::fs::create_dir_all(data.join("reports")).unwrap();
    let state = tmp.path().join("desk");
    let desk = Desk::new(DeskConfig {
        identities: read_identities(&org.join(keygen::IDENTITY_FILE)).unwrap(),
        intake_key: None,
        source: app::Source::Dir(data),
        state: state.clone(),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: None,
    })
    .unwrap();
    desk.state
        .add_reviewer("ana", PASSWORD, Role::Reviewer)
        .unwrap();
    let report = OpenedReport {
        id: "r1",
        verified: true,
        failure: None,
        captured_at_ms: None,
        received_at_ms: None,
    };
    desk.state.record_opened(&[report]).unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hosts = AllowedHosts::new(listener.local_addr().unwrap(), &[]).unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app::router(desk, hosts))
            .await
            .unwrap()
    });
    let http = test_support::client();
    let login = http
        .post(format!("{base}/api/login"))
        .header(CONTENT_TYPE, "application/json")
        .body(format!(r#"{{"name":"ana","password":"{PASSWORD}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()[SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let csrf = login.json_value().await["csrf"]
        .as_str()
        .unwrap()
        .to_string();

    // Another writer holds the lock until told to let go (a minute at most, so a broken
    // desk fails this test instead of hanging it).
    let (held, release) = (mpsc::channel(), mpsc::channel::<()>());
    let database = state.join("desk.sqlite3");
    let holder = std::thread::spawn(move || {
        let mut other = rusqlite::Connection::open(database).unwrap();
        let tx = other
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        held.0.send(()).unwrap();
        let _ = release.1.recv_timeout(Duration::from_secs(60));
        tx.rollback().unwrap();
    });
    held.1.recv().unwrap();

    let triage = tokio::spawn({
        let (http, base, cookie) = (http.clone(), base.clone(), cookie.clone());
        async move {
            let answer = http
                .post(format!("{base}/api/sightings/r1/triage"))
                .header(CONTENT_TYPE, "application/json")
                .header(COOKIE, cookie)
                .header("x-csrf-token", csrf)
                .body(r#"{"to":"in_review","version":1}"#)
                .send()
                .await
                .unwrap();
            (answer.status(), answer.json_value().await)
        }
    });
    // Time for the triage to reach the lock. Too short a wait could only let a desk that
    // blocks its runtime pass, never fail a desk that does not.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let page = http
        .get(format!("{base}/static/desk.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let triage_done_first = triage.is_finished();
    release.0.send(()).unwrap();
    holder.join().unwrap();
    let (status, body) = triage.await.unwrap();
    assert!(
        !triage_done_first,
        "the page was answered only after the triage gave up waiting for the lock"
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["triage"]["triage"], "in_review");
    assert_eq!(body["triage"]["version"], 2);
}

/// The answer's JSON (reqwest's `json` feature is not on in the workspace).
trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap()
    }
}
