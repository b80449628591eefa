//! A desk state made by the desk before the `reports` table (`fixtures/previous_layout`: its
//! `sightings.json`, `desk.sqlite3` at schema 4 with a status, an assignment, notes and audit
//! lines, the opened reports and the intake's folder they came from) opened by this desk: every
//! report, status, note and audit line is there, once, and nothing is opened twice.

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use sighting_desk::sightings::Sighting;
use sighting_desk::state::{DeskState, FailureReason};
use sighting_desk::{self as desk, keep};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/previous_layout")
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Every triage row and audit line, as SQLite holds them.
fn triage_and_audit(state: &Path) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let conn = Connection::open(state.join("desk.sqlite3")).unwrap();
    let rows = |sql: &str| -> Vec<Vec<String>> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    let v: rusqlite::types::Value = r.get(i)?;
                    Ok(format!("{v:?}"))
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    (
        rows(
            "SELECT id, verified, failure, triage, assignee, note, version, opened_at_ms,
                     captured_at_ms, received_at_ms FROM sightings ORDER BY id",
        ),
        rows("SELECT * FROM audit ORDER BY seq"),
    )
}

#[test]
fn a_state_from_before_the_reports_table_keeps_every_report_status_note_and_audit_line() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let data = tmp.path().join("data");
    copy(&fixture().join("state"), &state);
    copy(&fixture().join("data"), &data);
    let before: Vec<Sighting> =
        serde_json::from_slice(&std::fs::read(state.join("sightings.json")).unwrap()).unwrap();
    let (triage_before, audit_before) = triage_and_audit(&state);
    assert_eq!(
        before.len(),
        5,
        "three opened, one for another key, one junk"
    );
    assert!(audit_before.len() >= 8, "{audit_before:?}");
    assert!(triage_before.iter().any(|r| r[3] == "Text(\"in_review\")"));

    let desk_state = DeskState::open(&state).unwrap();
    for old in &before {
        let now = desk_state
            .report(&old.id)
            .unwrap()
            .unwrap_or_else(|| panic!("{} was not imported", old.id));
        let expected_failure = match (old.status.as_str(), old.reason.as_deref()) {
            ("verified", _) => None,
            (_, Some(r)) if r.starts_with("sealed to another") => Some(FailureReason::NotForUs),
            _ => Some(FailureReason::Decrypt),
        };
        assert_eq!(now.failure, expected_failure, "{}", old.id);
        // The old record had the reason in words only; everything else is as it was.
        let old = Sighting {
            failure: now.failure,
            ..old.clone()
        };
        assert_eq!(now, old);
    }
    assert_eq!(
        triage_and_audit(&state),
        (triage_before.clone(), audit_before.clone())
    );

    // Opened again (as the desk does at every start): nothing opened twice, the failed two tried
    // again and still failed, the record and its history unchanged.
    drop(desk_state);
    let identities = desk::read_identities(&fixture().join("identity.txt")).unwrap();
    let outcomes = desk::open_dir(&identities, &data, &state).unwrap();
    let retried: Vec<_> = outcomes.iter().map(|o| o.result.is_err()).collect();
    assert_eq!(retried, [true, true], "{outcomes:?}");
    let after = desk::sightings::load(&state).unwrap();
    assert_eq!(after.len(), before.len());
    for old in &before {
        let now = after.iter().find(|s| s.id == old.id).unwrap();
        assert_eq!(
            (&now.status, &now.same_photo),
            (&old.status, &old.same_photo)
        );
        assert_eq!(now.manifest, old.manifest);
    }
    assert_eq!(triage_and_audit(&state), (triage_before, audit_before));
    // `sightings.json` is now an export of the table.
    let exported: Vec<Sighting> =
        serde_json::from_slice(&std::fs::read(state.join("sightings.json")).unwrap()).unwrap();
    assert_eq!(exported, after);

    // Prune: the three opened ones; the junk and the one for another key are failed for good
    // (the desk knows its organisation), never counted as opened.
    let desk_state = DeskState::open(&state).unwrap();
    let prunable = keep::prunable(&state, &desk_state).unwrap();
    assert_eq!(prunable.opened.len(), 3);
    assert_eq!(prunable.failed.len(), 2);
}
