//! No report is ever lost at the desk, run as an operator runs it (the real `sighting-server`):
//! a desk started with another organisation's identity opens nothing and records nothing that
//! `prune` could act on; the right identity then opens every report; once a desk has opened
//! reports for one organisation, another organisation's identity is refused at start; and a
//! second desk on the same state is refused.

use std::path::Path;
use std::process::{Command, Output};

use sighting_desk::keygen;
use sighting_intake::IntakeConfig;
use test_support::{phone, server_key, submit, syncer, Server, NOW};

fn server(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sighting-server"))
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Waits for a desk that should refuse to start; one that serves instead is killed after a
/// minute and the test fails.
fn refused(mut child: std::process::Child) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the desk started instead of refusing");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn sealed_in(intake: &Path) -> usize {
    std::fs::read_dir(intake.join("reports"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("age".as_ref()))
        .count()
}

/// Three reports sealed to `org` and delivered to an intake in `intake`.
async fn three_reports(dir: &Path, org: &Path, intake: &Path) {
    let recipient = std::fs::read_to_string(org.join(keygen::RECIPIENT_FILE)).unwrap();
    let (pkcs8, public) = server_key();
    let server = Server::start(intake, &pkcs8, IntakeConfig::default()).await;
    let device = phone(dir, recipient.trim());
    for photo in [
        "tests/22-canon_tags.jpg",
        "gps/DSCN0021.jpg",
        "orientation/portrait_1.jpg",
    ] {
        submit(&device, photo).await;
    }
    let summary = syncer(&server.base, public, 256 << 10)
        .sync(&device, NOW)
        .await
        .unwrap();
    assert_eq!(summary.delivered.len(), 3, "{summary:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_identity_then_prune_loses_nothing_and_the_right_one_opens_every_report() {
    let tmp = tempfile::tempdir().unwrap();
    let (org, other) = (tmp.path().join("org"), tmp.path().join("other"));
    keygen::keygen(&org).unwrap();
    keygen::keygen(&other).unwrap();
    let (intake, desk) = (tmp.path().join("intake"), tmp.path().join("desk"));
    three_reports(tmp.path(), &org, &intake).await;
    let (intake_s, desk_s) = (intake.to_str().unwrap(), desk.to_str().unwrap());
    let identity = |dir: &Path| {
        dir.join(keygen::IDENTITY_FILE)
            .to_str()
            .unwrap()
            .to_string()
    };

    // The copy of another organisation's keys: every report fails, none is lost.
    let out = server(&[
        "open",
        "--identity",
        &identity(&other),
        "--data",
        intake_s,
        "--out",
        desk_s,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = server(&["prune", "--data", intake_s, "--opened", desk_s]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("pruned 0 reports"), "{}", text(&out));
    assert!(
        text(&out).contains("kept 3 reports the desk could not open"),
        "{}",
        text(&out)
    );
    assert_eq!(
        sealed_in(&intake),
        3,
        "prune deleted reports the desk never opened"
    );

    // The right identity opens every one of them.
    let out = server(&[
        "open",
        "--identity",
        &identity(&org),
        "--data",
        intake_s,
        "--out",
        desk_s,
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let record: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(desk.join("sightings.json")).unwrap()).unwrap();
    assert_eq!(record.len(), 3, "one record per report: {record:?}");
    assert!(
        record.iter().all(|s| s["status"] == "verified"),
        "{record:?}"
    );

    // From now on this desk opens for `org`: the other identity is refused before anything.
    let out = server(&[
        "open",
        "--identity",
        &identity(&other),
        "--data",
        intake_s,
        "--out",
        desk_s,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not the organisation's"),
        "{}",
        text(&out)
    );

    let out = server(&["prune", "--data", intake_s, "--opened", desk_s]);
    assert!(text(&out).contains("pruned 3 reports"), "{}", text(&out));
    assert_eq!(sealed_in(&intake), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desk_refuses_a_wrong_identity_on_its_state_and_a_second_desk() {
    let tmp = tempfile::tempdir().unwrap();
    let (org, other) = (tmp.path().join("org"), tmp.path().join("other"));
    keygen::keygen(&org).unwrap();
    keygen::keygen(&other).unwrap();
    let (intake, state) = (tmp.path().join("intake"), tmp.path().join("desk"));
    three_reports(tmp.path(), &org, &intake).await;
    let (intake_s, state_s) = (intake.to_str().unwrap(), state.to_str().unwrap());
    let identity = |dir: &Path| {
        dir.join(keygen::IDENTITY_FILE)
            .to_str()
            .unwrap()
            .to_string()
    };
    let free_port = || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().to_string()
    };

    let desk = |identity: &str| {
        Command::new(env!("CARGO_BIN_EXE_sighting-server"))
            .args([
                "desk",
                "--identity",
                identity,
                "--state",
                state_s,
                "--data",
                intake_s,
            ])
            .args(["--listen", &free_port()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = desk(&identity(&org));
    // Serving once it has opened the reports and recorded the organisation.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !state.join("organisation.txt").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the desk never opened the reports"
        );
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first desk stopped"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let second = refused(desk(&identity(&org)));
    assert!(!second.status.success());
    assert!(
        text(&second).contains("another desk is already running"),
        "{}",
        text(&second)
    );

    first.kill().unwrap();
    first.wait().unwrap();
    let wrong = refused(desk(&identity(&other)));
    assert!(!wrong.status.success());
    assert!(
        text(&wrong).contains("not the organisation's"),
        "{}",
        text(&wrong)
    );
}
