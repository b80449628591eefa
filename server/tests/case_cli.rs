//! The case register and the bulletin feed from the command line, against the real binary: a
//! case manager opens, vets and publishes a case; `bulletins publish` signs the feed and pushes
//! it to a running `serve --bulletin-key`, which serves it; a reviewer cannot change cases.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sighting-server");

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn add_user(state: &Path, name: &str, role: &str) {
    let mut child = Command::new(BIN)
        .args(["desk-user", "add", "--state"])
        .arg(state)
        .args(["--name", name, "--role", role])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a long desk password").unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_case_manager_publishes_a_case_and_the_feed_reaches_the_intake() {
    let tmp = tempfile::tempdir().unwrap();
    let (org, state) = (tmp.path().join("org"), tmp.path().join("desk"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    assert!(run(&["keygen", "--out", &s(&org)]).0);
    add_user(&state, "chen", "case_manager");
    add_user(&state, "ana", "reviewer");
    let state_dir = s(&state);
    let case = |by: &str, args: &[&str]| {
        let mut all = vec!["case", "--state", &state_dir, "--as", by];
        all.extend_from_slice(args);
        run(&all)
    };
    let add = [
        "add",
        "--number",
        "C-7",
        "--first-name",
        "Lin",
        "--sex",
        "girl",
        "--age-when-missing",
        "8",
        "--missing-since",
        "2026-05-20",
        "--district",
        "Haidian",
        "--lat",
        "39.96",
        "--lon",
        "116.30",
        "--marks",
        "birthmark on the neck",
        "--police-reference",
        "2026-HD-1234",
    ];
    let (ok, _, err) = case("ana", &add);
    assert!(!ok && err.contains("only a case manager"), "{err}");
    assert!(case("chen", &add).0);
    // A private note written at the desk survives an edit from the command line (which has no
    // flag for it); the edit itself lands.
    {
        use sighting_desk::state::DeskState;
        let desk = DeskState::open(&state).unwrap();
        let cm = desk.reviewer("chen").unwrap().unwrap();
        let current = desk.case("C-7").unwrap();
        let mut details = current.details.clone();
        details.private_notes = Some("the uncle may know".into());
        desk.edit_case(&cm, "C-7", current.version, &details)
            .unwrap();
    }
    let mut edit = add.to_vec();
    edit[0] = "edit";
    let marks = edit.iter().position(|a| *a == "--marks").unwrap() + 1;
    edit[marks] = "birthmark on the neck, scar on the chin";
    let (ok, out, err) = case("chen", &edit);
    assert!(ok, "{err}");
    assert!(
        out.contains("scar on the chin") && out.contains("the uncle may know"),
        "{out}"
    );
    let (ok, _, err) = case("chen", &["publish", "--number", "C-7"]);
    assert!(
        !ok && err.contains("the family's consent recorded"),
        "{err}"
    );
    let photo = test_support::fixtures().join("gps/DSCN0021.jpg");
    assert!(case("chen", &["consent", "--number", "C-7"]).0);
    assert!(case("chen", &["photo", "--number", "C-7", "--file", &s(&photo)]).0);
    let (ok, out, err) = case("chen", &["publish", "--number", "C-7"]);
    assert!(ok, "{err}");
    assert!(out.contains("\"publication\": \"published\""), "{out}");

    // The intake, with the bulletin key's public half.
    let mut serve = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(tmp.path().join("intake"))
        .arg("--key")
        .arg(org.join("server.key"))
        .arg("--bulletin-key")
        .arg(org.join("bulletin.pub"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();

    let key = s(&org.join("bulletin.key"));
    let (ok, out, err) = run(&[
        "bulletins",
        "publish",
        "--state",
        &s(&state),
        "--key",
        &key,
        "--intake",
        &base,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("1 published cases in 1 tiles"), "{out}");
    let url = format!("{base}/v1/bulletins/index.json");
    let index = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let response = test_support::client().get(&url).send().await.unwrap();
        response.text().await.unwrap()
    });
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(index.contains("\"sig\""), "{index}");
}

/// A feed that would not last an hour is not signed (issue 27, finding 10): phones would drop it.
#[test]
fn bulletins_publish_refuses_to_sign_a_feed_that_would_not_last() {
    let tmp = tempfile::tempdir().unwrap();
    let (org, state, out) = (
        tmp.path().join("org"),
        tmp.path().join("desk"),
        tmp.path().join("feed"),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    assert!(run(&["keygen", "--out", &s(&org)]).0);
    add_user(&state, "chen", "case_manager");
    let key = s(&org.join("bulletin.key"));
    for days in ["--days=0", "--days=-3"] {
        let (ok, _, err) = run(&[
            "bulletins",
            "publish",
            "--state",
            &s(&state),
            "--key",
            &key,
            days,
            "--out",
            &s(&out),
        ]);
        assert!(
            !ok && err.contains("clock") && err.contains("--days"),
            "{err}"
        );
        assert!(!out.exists(), "nothing written");
    }
}
