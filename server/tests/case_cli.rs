//! The case register and the bulletin feed from the command line, against the real binary: a
//! case manager opens, vets and publishes a case; `bulletins publish` signs the feed and pushes
//! it to a running `serve --bulletin-key`, which serves it; a reviewer cannot change cases; no
//! one acts as a person without their passphrase or a token they made.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sighting-server");

fn run(args: &[&str]) -> (bool, String, String) {
    run_with_stdin(args, None)
}

/// `args`, with `stdin` piped in (none: no standard input at all, as from cron).
fn run_with_stdin(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
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
    // Both know their passphrase (the same one here).
    let pass = s(&tmp.path().join("passphrase"));
    std::fs::write(&pass, "a long desk password\n").unwrap();
    let case = |by: &str, args: &[&str]| {
        let mut all = vec![
            "case",
            "--state",
            &state_dir,
            "--as",
            by,
            "--passphrase-file",
            &pass,
        ];
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
    assert!(out.contains("1 published case in 1 tile,"), "{out}");
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

/// `case --as chen` once needed no passphrase, yet the audit named chen. Now the command proves
/// it is chen (a passphrase file, the passphrase on standard input, or a token chen made in
/// the app) or refuses, doing nothing.
#[test]
fn acting_as_a_person_needs_their_passphrase_or_their_token() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("desk");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    add_user(&state, "chen", "case_manager");
    add_user(&state, "ana", "reviewer");
    let state_dir = s(&state);
    let file = |name: &str, text: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        s(&path)
    };
    let add = |proof: &[&str], number: &str, stdin: Option<&str>| {
        let mut all = vec!["case", "--state", &state_dir, "--as", "chen"];
        all.extend_from_slice(proof);
        all.extend_from_slice(&[
            "add",
            "--number",
            number,
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
        ]);
        run_with_stdin(&all, stdin)
    };

    let (ok, _, err) = add(&[], "C-1", None);
    assert!(
        !ok && err.contains("--passphrase-file") && err.contains("--token-file"),
        "{err}"
    );
    // Worded so that any name reads well (once "prove it with you's passphrase").
    assert!(
        err.contains("acting as “chen” needs their passphrase"),
        "{err}"
    );
    let wrong = file("wrong", "not chen's passphrase\n");
    let (ok, _, err) = add(&["--passphrase-file", &wrong], "C-1", None);
    assert!(
        !ok && err.contains("not the passphrase or a live token of “chen”"),
        "{err}"
    );
    let (ok, _, err) = add(&[], "C-1", Some("a guess at it\n"));
    assert!(!ok && err.contains("Nothing was done"), "{err}");
    // Ana's passphrase does not make her chen.
    let anas = file("ana.pass", "a long desk password\n");
    let as_ana = run(&[
        "case",
        "--state",
        &state_dir,
        "--as",
        "nobody",
        "--passphrase-file",
        &anas,
        "list",
    ]);
    assert!(!as_ana.0, "{as_ana:?}");
    let listed = || {
        run(&[
            "case",
            "--state",
            &state_dir,
            "--as",
            "ana",
            "--passphrase-file",
            &anas,
            "list",
        ])
    };
    let (ok, out, err) = listed();
    assert!(ok && out.trim() == "[]", "nothing was added: {out}{err}");

    let right = file("chen.pass", "a long desk password\n");
    assert!(add(&["--passphrase-file", &right], "C-1", None).0);
    assert!(
        add(&[], "C-2", Some("a long desk password\n")).0,
        "on standard input"
    );

    // A token chen made in the app, then revoked there.
    let token = {
        use sighting_desk::state::DeskState;
        let desk = DeskState::open(&state).unwrap();
        let chen = desk.reviewer("chen").unwrap().unwrap();
        desk.make_token(&chen, "case script").unwrap()
    };
    let token_file = file("chen.token", &format!("{}\n", token.1));
    assert!(add(&["--token-file", &token_file], "C-3", None).0);
    {
        use sighting_desk::state::DeskState;
        let desk = DeskState::open(&state).unwrap();
        let chen = desk.reviewer("chen").unwrap().unwrap();
        desk.revoke_token(&chen, token.0.id).unwrap();
    }
    let (ok, _, err) = add(&["--token-file", &token_file], "C-4", None);
    assert!(
        !ok && err.contains("not the passphrase or a live token of “chen”"),
        "{err}"
    );
    let (_, out, _) = listed();
    let numbers: Vec<_> = serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(numbers, ["C-1", "C-2", "C-3"]);
    let audit = sighting_desk::state::DeskState::open(&state)
        .unwrap()
        .audit(None)
        .unwrap();
    let by_chen = audit
        .iter()
        .filter(|e| e.action == "case_created")
        .all(|e| e.reviewer.as_deref() == Some("chen"));
    assert!(by_chen);
}
