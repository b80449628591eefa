//! The desk's state on a real SQLite file: triage with conflicts, the audit log (append-only,
//! in order, once per change), reviewers with argon2id hashes and sessions.

use sighting_desk::state::{DeskState, OpenedReport, Role, StateError, Triage, MAX_NOTE_BYTES};

const PASSWORD: &str = "correct horse battery";

fn opened<'a>(id: &'a str, verified: bool, failure: Option<&'a str>) -> OpenedReport<'a> {
    OpenedReport {
        id,
        verified,
        failure,
        captured_at_ms: None,
        received_at_ms: None,
    }
}

#[test]
fn triage_is_audited_in_order_and_a_stale_change_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let ana = desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let bo = desk
        .add_reviewer("bo", PASSWORD, Role::CaseManager)
        .unwrap();
    assert_eq!(desk.record_opened(&[opened("r1", true, None)]).unwrap(), 1);
    assert_eq!(
        desk.record_opened(&[opened("r1", true, None)]).unwrap(),
        0,
        "recorded once"
    );

    let seen = desk.sighting("r1").unwrap();
    assert_eq!((seen.triage, seen.version), (Triage::New, 1));
    let reviewed = desk
        .change_triage(
            &ana,
            "r1",
            seen.version,
            Triage::InReview,
            Some("looks like him"),
        )
        .unwrap();
    assert_eq!(reviewed.version, 2);
    // Bo decides from the page he loaded before Ana's change: refused, nothing overwritten.
    let stale = desk.change_triage(&bo, "r1", seen.version, Triage::NotRelevant, Some("no"));
    assert!(
        matches!(stale, Err(StateError::Conflict { current: 2 })),
        "{stale:?}"
    );
    assert_eq!(
        desk.sighting("r1").unwrap().note.as_deref(),
        Some("looks like him")
    );
    let assigned = desk.assign(&ana, "r1", 2, Some("bo")).unwrap();
    assert_eq!(assigned.assignee.as_deref(), Some("bo"));
    let forwarded = desk
        .change_triage(&bo, "r1", assigned.version, Triage::ForwardedToPolice, None)
        .unwrap();
    assert_eq!(
        forwarded.note.as_deref(),
        Some("looks like him"),
        "kept without a new note"
    );

    let log: Vec<_> = desk
        .audit(Some("r1"))
        .unwrap()
        .into_iter()
        .map(|e| (e.reviewer, e.action, e.from, e.to))
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        log,
        vec![
            (None, "opened".into(), None, s("verified")),
            (s("ana"), "triage".into(), s("new"), s("in_review")),
            (s("ana"), "assign".into(), None, s("bo")),
            (
                s("bo"),
                "triage".into(),
                s("in_review"),
                s("forwarded_to_police")
            ),
        ]
    );
    let seqs: Vec<i64> = desk.audit(None).unwrap().iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
}

#[test]
fn a_failed_report_is_never_a_lead_and_bad_changes_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let ana = desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    desk.record_opened(&[opened(
        "bad",
        false,
        Some("the manifest signature does not verify"),
    )])
    .unwrap();
    let v = desk
        .change_triage(&ana, "bad", 1, Triage::InReview, None)
        .unwrap()
        .version;
    assert!(matches!(
        desk.change_triage(&ana, "bad", v, Triage::ForwardedToPolice, None),
        Err(StateError::NotALead)
    ));
    // A link to a case is made on the case's page, never by a status change.
    assert!(matches!(
        desk.change_triage(&ana, "bad", v, Triage::LinkedToCase, None),
        Err(StateError::IllegalChange { .. })
    ));
    assert!(matches!(
        desk.change_triage(&ana, "bad", v, Triage::InReview, None),
        Err(StateError::IllegalChange { .. })
    ));
    let long = "x".repeat(MAX_NOTE_BYTES + 1);
    assert!(matches!(
        desk.change_triage(&ana, "bad", v, Triage::NotRelevant, Some(&long)),
        Err(StateError::NoteTooLong)
    ));
    assert!(matches!(
        desk.change_triage(&ana, "nope", 1, Triage::InReview, None),
        Err(StateError::NotFound(_))
    ));
    let row = desk.sighting("bad").unwrap();
    assert_eq!((row.triage, row.version), (Triage::InReview, v));
    assert_eq!(
        desk.audit(Some("bad")).unwrap().len(),
        2,
        "refusals leave no trace"
    );
}

#[test]
fn the_audit_log_cannot_be_rewritten_even_behind_the_apps_back() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    desk.record_opened(&[opened("r1", true, None)]).unwrap();
    drop(desk);
    let db = rusqlite::Connection::open(dir.path().join("desk.sqlite3")).unwrap();
    for sql in ["UPDATE audit SET to_value = 'failed'", "DELETE FROM audit"] {
        let err = db.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    let desk = DeskState::open(dir.path()).unwrap();
    assert_eq!(desk.audit(None).unwrap()[0].to.as_deref(), Some("verified"));
}

#[test]
fn reviewers_log_in_with_argon2id_and_sessions_end() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    desk.add_reviewer("ana", PASSWORD, Role::Admin).unwrap();
    assert!(matches!(
        desk.add_reviewer("ana", PASSWORD, Role::Reviewer),
        Err(StateError::Account(_))
    ));
    assert!(matches!(
        desk.add_reviewer("short", "too short", Role::Reviewer),
        Err(StateError::Account(_))
    ));
    for (name, password) in [("ana", "wrong password!"), ("nobody", PASSWORD)] {
        assert!(matches!(
            desk.login(name, password),
            Err(StateError::Credentials)
        ));
    }
    let session = desk.login("ana", PASSWORD).unwrap();
    let (who, csrf) = desk.session(&session.token).unwrap().unwrap();
    assert_eq!((who.name.as_str(), who.role), ("ana", Role::Admin));
    assert_eq!(csrf, session.csrf);
    assert_ne!(session.token, session.csrf);
    assert!(desk.session("forged").unwrap().is_none());
    desk.logout(&session.token).unwrap();
    assert!(desk.session(&session.token).unwrap().is_none());

    // Only hashes are stored: the password and the session token appear nowhere in the file.
    let db = rusqlite::Connection::open(dir.path().join("desk.sqlite3")).unwrap();
    let hash: String = db
        .query_row("SELECT password_hash FROM reviewers", [], |r| r.get(0))
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    drop(db);
    // The database and its write-ahead log.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let holds = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(holds("ana"), "the scan sees the rows");
    assert!(!holds(PASSWORD) && !holds(&session.token));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("desk.sqlite3"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// A note alone is a comment: in the history under its author, the status unchanged; made from
/// a stale version it is a conflict like any change.
#[test]
fn a_note_alone_is_a_comment_and_changes_no_status() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let ana = desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let bo = desk.add_reviewer("bo", PASSWORD, Role::Reviewer).unwrap();
    desk.record_opened(&[opened("r1", true, None)]).unwrap();
    let row = desk.comment(&ana, "r1", 1, "I take this one").unwrap();
    assert_eq!((row.triage, row.version), (Triage::New, 2));
    assert!(matches!(
        desk.comment(&bo, "r1", 1, "me too"),
        Err(StateError::Conflict { current: 2 })
    ));
    let long = "x".repeat(MAX_NOTE_BYTES + 1);
    assert!(matches!(
        desk.comment(&bo, "r1", 2, &long),
        Err(StateError::NoteTooLong)
    ));
    let last = desk.audit(Some("r1")).unwrap().pop().unwrap();
    assert_eq!(
        (
            last.reviewer.as_deref(),
            last.action.as_str(),
            last.from,
            last.to,
            last.note.as_deref()
        ),
        (Some("ana"), "comment", None, None, Some("I take this one"))
    );
}

#[test]
fn an_assignment_that_changes_nothing_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let ana = desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    desk.record_opened(&[opened("r1", true, None)]).unwrap();
    // "Save the assignment" with the dropdown left at Nobody: the row as it was.
    let same = desk.assign(&ana, "r1", 1, None).unwrap();
    assert_eq!((same.assignee, same.version), (None, 1));
    let to_ana = desk.assign(&ana, "r1", 1, Some("ana")).unwrap();
    assert_eq!(to_ana.version, 2);
    let again = desk.assign(&ana, "r1", 2, Some("ana")).unwrap();
    assert_eq!((again.assignee.as_deref(), again.version), (Some("ana"), 2));
    // From a page loaded before a change it is still a conflict, as every change is.
    assert!(matches!(
        desk.assign(&ana, "r1", 1, Some("ana")),
        Err(StateError::Conflict { current: 2 })
    ));
    let actions: Vec<_> = desk
        .audit(Some("r1"))
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["opened", "assign"], "one line for the one change");
}
