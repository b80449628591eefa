//! An admin in a real browser (Debian's Chromium driven by playwright-core,
//! `tests/browser/admin.mjs`, axe-core over each view): assigns a sighting to someone else and
//! to no one, unlocks a reviewer five wrong
//! passphrases locked out, adds a person, disables one (whose open page is logged out), makes
//! and revokes an API token, pages and filters the audit log, enables and resets, in Chinese
//! and English. Screenshots go to `target/desk-admin-screenshots`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::state::{Decision, Role};
use sighting_desk::{self as desk, keygen};
use test_support as support;

const PASSWORD: &str = "a long desk password";
/// Audit lines made beforehand: more than one page of the log.
const UNLOCKS: usize = 55;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_people_and_reads_the_audit_log_in_chromium() {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    assert!(
        scripts.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules is missing: `cargo xtask test` installs it, or run `npm ci` there",
        scripts.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    keygen::keygen(&tmp.path().join("org")).unwrap();
    // One report the desk opens (it fails verification): a sighting with a history.
    let data = tmp.path().join("intake");
    std::fs::create_dir_all(data.join("reports")).unwrap();
    let sighting = uuid::Uuid::new_v4().to_string();
    std::fs::write(
        data.join("reports").join(format!("{sighting}.age")),
        b"not age at all",
    )
    .unwrap();
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
    assert_eq!(desk.open_new().unwrap(), 1);
    let root = desk
        .state
        .add_reviewer("root", PASSWORD, Role::Admin)
        .unwrap();
    desk.state
        .add_reviewer("ana", PASSWORD, Role::Reviewer)
        .unwrap();
    let chen = desk
        .state
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    desk.state
        .create_case(&chen, "C-7", &support::cases::case_details(39.96, 116.30))
        .unwrap();
    desk.state
        .decide_candidate(
            &chen,
            "C-7",
            &sighting,
            Decision::NotThisChild,
            Some("not her"),
        )
        .unwrap();
    for _ in 0..UNLOCKS {
        desk.state.unlock(Some(&root), "chen").unwrap();
    }
    let audit_lines = desk.state.audit(None).unwrap().len();
    let app = support::DeskApp::start(desk.clone()).await;

    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/desk-admin-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let facts = json!({
        "url": format!("{}/", app.base),
        "admin": "root",
        "password": PASSWORD,
        "sighting": sighting,
        "audit_lines": audit_lines,
    });
    let facts_file = tmp.path().join("facts.json");
    std::fs::write(&facts_file, facts.to_string()).unwrap();
    let clicked = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(scripts.join("admin.mjs"))
            .env("DESK_FACTS", &facts_file)
            .env("DESK_SCREENSHOTS", &shots)
            .output()
            .expect("node (Node.js) on PATH")
    })
    .await
    .unwrap();
    println!("{}", String::from_utf8_lossy(&clicked.stdout));
    assert!(
        clicked.status.success(),
        "the browser test failed:\n{}",
        String::from_utf8_lossy(&clicked.stderr)
    );
    app.stop().await;

    // What the browser did is in the log, by the admin, naming whom it was about.
    let log: Vec<_> = desk
        .state
        .audit(None)
        .unwrap()
        .into_iter()
        .skip(audit_lines)
        .map(|e| {
            (
                e.reviewer.unwrap_or_default(),
                e.action,
                e.to.unwrap_or_default(),
            )
        })
        .collect();
    let by_root = |action: &str, to: &str| ("root".to_string(), action.to_string(), to.to_string());
    for line in [
        by_root("assign", "chen"),
        by_root("logins_unlocked", "ana"),
        by_root("reviewer_added", "dana"),
        by_root("reviewer_disabled", "ana"),
        by_root("reviewer_enabled", "ana"),
        by_root("password_reset", "ana"),
    ] {
        assert!(log.contains(&line), "{line:?} not in {log:?}");
    }
    assert_eq!(
        desk.state.reviewer("dana").unwrap().unwrap().role,
        Role::CaseManager
    );
}
