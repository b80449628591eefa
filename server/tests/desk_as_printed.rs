//! The desk exactly as the README and the demo start it: `sighting demo --keep DIR`, then the two
//! commands it prints, run as printed (the real binaries; the only flag added is `--listen` on a
//! free loopback port). A reviewer logs in in Chromium (`tests/browser/desk_as_printed.mjs`) and
//! sees the demo's sightings in the list and on the map; with no tile server the page once threw
//! `Map has no maxZoom specified` and showed "0 sightings".

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const SERVER: &str = env!("CARGO_BIN_EXE_sighting-server");
const PASSWORD: &str = "a long desk passphrase";

/// The `sighting` binary (the demo is its `demo` command), built beside this package's (same
/// target directory and profile): it is another package, so cargo gives this test no path to it.
fn sighting_binary() -> PathBuf {
    let server = Path::new(SERVER);
    let profile_dir = server.parent().unwrap();
    let target = profile_dir.parent().unwrap();
    let mut build = Command::new(env!("CARGO"));
    build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "-q", "-p", "sighting-cli", "--bin", "sighting"])
        .env("CARGO_TARGET_DIR", target);
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let built = build.status().expect("cargo");
    assert!(built.success(), "building sighting failed");
    profile_dir.join("sighting")
}

/// A printed command line, `cargo run --release -p sighting-server -- …`: the binary under test
/// is the one that command builds and runs.
fn as_printed(line: &str) -> Command {
    let rest = line
        .strip_prefix("cargo run --release -p sighting-server -- ")
        .unwrap_or_else(|| panic!("not a sighting-server command: {line}"));
    let mut command = Command::new(SERVER);
    command.args(
        shell_words(rest)
            .into_iter()
            .take_while(|w| !w.starts_with('(')),
    );
    command
}

/// The words a shell makes of `line`: split at spaces, except within double quotes.
fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted, mut started) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '"' => (quoted, started) = (!quoted, true),
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// The desk process, stopped however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn browser_tests() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules is missing: `cargo xtask test` installs it, or run `npm ci` there",
        dir.display()
    );
    dir
}

#[test]
fn the_desk_started_as_the_demo_prints_it_shows_the_demos_sightings() {
    let scripts = browser_tests();
    let tmp = tempfile::tempdir().unwrap();
    let kept = tmp.path().join("demo");
    let demo = Command::new(sighting_binary())
        .args(["demo", "--keep"])
        .arg(&kept)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&demo.stdout).into_owned();
    assert!(demo.status.success(), "the demo failed:\n{printed}");
    let line = |start: &str| {
        printed
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("the demo printed no {start:?}:\n{printed}"))
            .to_string()
    };

    let mut add = as_printed(&line(
        "cargo run --release -p sighting-server -- desk-user add",
    ))
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let added = add.wait_with_output().unwrap();
    assert!(added.status.success(), "desk-user add failed");

    let mut desk = as_printed(&line(
        "cargo run --release -p sighting-server -- desk --identity",
    ));
    let desk = desk
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut desk = Running(desk);
    let mut said = BufReader::new(desk.0.stdout.take().unwrap()).lines();
    let url = said
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("review desk on ").map(str::to_string))
        .expect("the desk said where it listens");
    // The rest of what it says is read (and dropped) so it never blocks on a full pipe.
    std::thread::spawn(move || said.for_each(drop));

    // What the demo's desk opened: every sighting, and those with a place.
    let opened: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(kept.join("desk").join("sightings.json")).unwrap())
            .unwrap();
    let ids: Vec<&str> = opened.iter().map(|s| s["id"].as_str().unwrap()).collect();
    let located = opened.iter().filter(|s| s["lat"].is_number()).count();
    assert!(ids.len() >= 5 && located >= 5, "the demo made sightings");
    let facts = serde_json::json!({
        "url": format!("{url}/"), "name": "you", "password": PASSWORD,
        "ids": ids, "located": located,
    });
    let facts_file = tmp.path().join("facts.json");
    std::fs::write(&facts_file, facts.to_string()).unwrap();
    let clicked = Command::new("node")
        .arg(scripts.join("desk_as_printed.mjs"))
        .env("DESK_FACTS", &facts_file)
        .output()
        .expect("node (Node.js) on PATH");
    println!("{}", String::from_utf8_lossy(&clicked.stdout));
    assert!(
        clicked.status.success(),
        "the browser test failed:\n{}",
        String::from_utf8_lossy(&clicked.stderr)
    );
    assert!(desk.0.try_wait().unwrap().is_none(), "the desk still runs");
    // Started as printed, the desk signs lead packages with the key keygen put beside the
    // identity: nothing more to give.
    let kept_settings: serde_json::Value = serde_json::from_slice(
        &std::fs::read(kept.join("desk").join("lead-settings.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        kept_settings["key"],
        kept.join("org").join("lead.key").to_str().unwrap()
    );
    // And with the contact the printed command gives (one argument, spaces and all).
    assert_eq!(
        kept_settings["contact"],
        "Sighting demo organisation, demo@example.org"
    );
}
