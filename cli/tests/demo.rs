//! `sighting demo`, as the README's first command runs it: the whole flow twice in one kept
//! directory.

use std::process::{Command, Output};

use sighting_desk::lead::Lang;
use sighting_desk::ranking::Reason;

fn sighting_demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sighting"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn demo_runs_and_runs_again_in_the_same_dir() {
    let dir = tempfile::tempdir().unwrap();
    for run in 1..=2 {
        let out = sighting_demo(&["demo", "--keep", dir.path().to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        // Each run seals three samples (one of them twice) while offline, and the fourth (the
        // child of case C-1) once online; the desk opens the new ones.
        assert_eq!(stdout.matches("   verified ").count(), 5, "{stdout}");
        assert!(stdout.contains("stripped: "), "{stdout}");
        // Offline first: each new report waits with the reason; then each is delivered.
        assert_eq!(
            stdout
                .matches("attempt 1, network: cannot reach the intake server")
                .count(),
            4,
            "{stdout}"
        );
        assert_eq!(stdout.matches("4 delivered").count(), 1, "{stdout}");
        // The summary lists every report this run made, the one linked to the case too; a run
        // again says where the others at the desk came from.
        let at_desk = match run {
            1 => "5 reports at the desk in all, 1 group of the same photo".to_string(),
            _ => "10 reports at the desk in all (5 above, 5 from earlier runs)".to_string(),
        };
        assert!(stdout.contains(&at_desk), "{stdout}");
        let summary = stdout
            .split("Summary of this run")
            .nth(1)
            .unwrap_or_default();
        let table: Vec<&str> = summary
            .lines()
            .skip(2)
            .take_while(|l| !l.contains(" at the desk in all"))
            .collect();
        assert_eq!(table.len(), 5, "a row for each report: {summary}");
        assert!(table[4].contains("child's photo (case C-1)"), "{summary}");
        // The loop: two published cases on the phone, nearest first; the linked sighting ranked
        // first among the case's candidates, with the reporter's link as its first reason.
        let list: Vec<&str> = stdout.lines().filter(|l| l.starts_with("   C-")).collect();
        assert!(
            list[0].starts_with("   C-1  Mila") && list[1].starts_with("   C-2  Sam"),
            "{stdout}"
        );
        let ranked = stdout
            .split("candidates for C-1")
            .nth(1)
            .unwrap_or_default();
        // The reasons in the desk page's words, never as JSON.
        let first_reason = ranked.lines().nth(2).unwrap_or_default().trim();
        let linked = Reason::LinkedByReporter.words(Lang::En);
        assert_eq!(first_reason, linked, "{stdout}");
        assert!(!stdout.contains("{\"kind\""), "{stdout}");
        assert!(!stdout.contains("(s)"), "plurals in words: {stdout}");
        // The desk's command as printed gives the demo organisation's contact, so a newcomer
        // can make a lead package there (`desk_as_printed` runs it).
        let desk = stdout
            .lines()
            .find(|l| l.contains("sighting-server -- desk --identity"))
            .unwrap_or_default();
        assert!(
            desk.ends_with(" --contact \"Sighting demo organisation, demo@example.org\""),
            "{stdout}"
        );
    }
    // The desk's products: the photo sent twice grouped, the exports and the review page.
    let desk = dir.path().join("desk");
    let sightings: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(desk.join("sightings.json")).unwrap()).unwrap();
    assert_eq!(sightings.len(), 10);
    assert!(sightings.iter().all(|s| s["status"] == "verified"));
    let grouped = sightings
        .iter()
        .filter(|s| !s["same_photo"].is_null())
        .count();
    assert!(grouped >= 2, "the photo sent twice is grouped");
    let geojson: serde_json::Value =
        serde_json::from_slice(&std::fs::read(desk.join("sightings.geojson")).unwrap()).unwrap();
    assert_eq!(geojson["features"].as_array().unwrap().len(), 10);
    assert!(std::fs::read_to_string(desk.join("index.html"))
        .unwrap()
        .contains("Sighting — reports for review"));
}

/// Without --keep the last line says what keeping it is for: the review desk on its data.
#[test]
fn the_demo_without_keep_says_keep_gives_the_review_desk() {
    let out = sighting_demo(&["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.contains("run with --keep DIR to keep it and try the review desk on it"),
        "{stdout}"
    );
}
