//! Managing the desk's people on a real SQLite file: disabling ends sessions at once, a new
//! passphrase replaces the old, an unlock is counted for the running desk to see, API tokens
//! are kept hashed and stop working when revoked, and the audit log pages and filters.

use sighting_desk::state::{AuditFilter, DeskState, OpenedReport, Proof, Role, StateError};

const PASSWORD: &str = "correct horse battery";

fn desk() -> (tempfile::TempDir, DeskState) {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    (dir, desk)
}

#[test]
fn disabling_a_person_ends_their_sessions_at_once_and_enabling_lets_them_back() {
    let (_dir, desk) = desk();
    let admin = desk.add_reviewer("root", PASSWORD, Role::Admin).unwrap();
    desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let session = desk.login("ana", PASSWORD).unwrap();
    assert!(desk.session(&session.token).unwrap().is_some());

    desk.set_disabled(Some(&admin), "ana", true).unwrap();
    assert!(
        desk.session(&session.token).unwrap().is_none(),
        "her open session ended"
    );
    assert!(matches!(
        desk.login("ana", PASSWORD),
        Err(StateError::Credentials)
    ));
    let listed = desk.accounts().unwrap();
    let ana = listed.iter().find(|a| a.name == "ana").unwrap();
    assert!(ana.disabled);
    assert_eq!(ana.role, Role::Reviewer);

    desk.set_disabled(None, "ana", false).unwrap();
    assert!(desk.login("ana", PASSWORD).is_ok());
    assert!(
        desk.session(&session.token).unwrap().is_none(),
        "the old session stays ended"
    );
    let refused = desk.set_disabled(Some(&admin), "root", true);
    assert!(
        matches!(&refused, Err(StateError::Account(m)) if m.contains("last active admin")),
        "{refused:?}"
    );
    assert!(desk.set_disabled(None, "nobody", true).is_err());
    let actions: Vec<_> = desk
        .audit(None)
        .unwrap()
        .into_iter()
        .map(|e| (e.reviewer, e.action, e.to))
        .collect();
    assert!(actions.contains(&(
        Some("root".into()),
        "reviewer_disabled".into(),
        Some("ana".into())
    )));
    assert!(actions.contains(&(None, "reviewer_enabled".into(), Some("ana".into()))));
}

#[test]
fn a_reset_passphrase_replaces_the_old_one_and_ends_sessions() {
    let (_dir, desk) = desk();
    let admin = desk.add_reviewer("root", PASSWORD, Role::Admin).unwrap();
    desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let session = desk.login("ana", PASSWORD).unwrap();
    assert!(desk.reset_password(Some(&admin), "ana", "short").is_err());
    desk.reset_password(Some(&admin), "ana", "a brand new passphrase")
        .unwrap();
    assert!(desk.session(&session.token).unwrap().is_none());
    assert!(matches!(
        desk.login("ana", PASSWORD),
        Err(StateError::Credentials)
    ));
    assert!(desk.login("ana", "a brand new passphrase").is_ok());
    let last = desk.audit(None).unwrap().pop().unwrap();
    assert_eq!(
        (last.action.as_str(), last.to.as_deref()),
        ("password_reset", Some("ana"))
    );
    assert!(last.note.is_none(), "no passphrase in the log");
}

#[test]
fn an_unlock_is_counted_for_the_running_desk_whatever_the_case_of_the_name() {
    let (_dir, desk) = desk();
    desk.add_reviewer("Ana", PASSWORD, Role::Reviewer).unwrap();
    assert_eq!(desk.unlocks("ana").unwrap(), Some(0));
    desk.unlock(None, "Ana").unwrap();
    assert_eq!(desk.unlocks(" ANA ").unwrap(), Some(1));
    assert_eq!(desk.unlocks("bo").unwrap(), None);
    assert!(desk.unlock(None, "bo").is_err());
}

#[test]
fn tokens_are_kept_hashed_prove_their_owner_only_and_stop_when_revoked() {
    let (dir, desk) = desk();
    let admin = desk.add_reviewer("root", PASSWORD, Role::Admin).unwrap();
    let chen = desk
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let ana = desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let (row, token) = desk.make_token(&chen, "nightly case script").unwrap();
    assert!(token.starts_with("sgt_") && token.len() > 40);
    drop(desk);
    // Nowhere in the database (or its journal) is the token itself.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
        assert!(!found, "the token is stored in the clear");
    }
    let desk = DeskState::open(dir.path()).unwrap();

    assert_eq!(
        desk.prove("chen", Proof::Token(&format!("{token}\n")))
            .unwrap()
            .name,
        "chen"
    );
    assert!(matches!(
        desk.prove("ana", Proof::Token(&token)),
        Err(StateError::Credentials)
    ));
    assert_eq!(
        desk.prove("ana", Proof::Passphrase(PASSWORD)).unwrap().name,
        "ana"
    );
    assert!(desk
        .prove("ana", Proof::Passphrase("wrong guess!!"))
        .is_err());
    assert!(desk.prove("nobody", Proof::Passphrase(PASSWORD)).is_err());

    assert!(
        desk.revoke_token(&ana, row.id).is_err(),
        "not her token to revoke"
    );
    desk.revoke_token(&chen, row.id).unwrap();
    assert!(matches!(
        desk.prove("chen", Proof::Token(&token)),
        Err(StateError::Credentials)
    ));
    assert!(desk.tokens(&chen).unwrap()[0].revoked_at_ms.is_some());

    // A disabled person's tokens prove nothing.
    let (_, second) = desk.make_token(&chen, "another").unwrap();
    desk.set_disabled(Some(&admin), "chen", true).unwrap();
    assert!(desk.prove("chen", Proof::Token(&second)).is_err());
    assert!(desk.make_token(&chen, "").is_err());
    let made: Vec<_> = desk
        .audit(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("token_"))
        .map(|e| (e.action, e.to))
        .collect();
    assert_eq!(made.len(), 3, "{made:?}");
    assert!(!format!("{made:?}").contains(&token), "no token in the log");
}

#[test]
fn the_audit_log_is_paged_newest_first_and_filtered() {
    let (_dir, desk) = desk();
    let ana = desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    desk.add_reviewer("bo", PASSWORD, Role::Reviewer).unwrap();
    let ids: Vec<String> = (0..30).map(|i| format!("{i:02}-sighting")).collect();
    let opened: Vec<_> = ids
        .iter()
        .map(|id| OpenedReport {
            id,
            verified: true,
            failure: None,
            captured_at_ms: None,
            received_at_ms: None,
        })
        .collect();
    desk.record_opened(&opened).unwrap();
    for id in &ids[..5] {
        desk.comment(&ana, id, 1, "seen").unwrap();
    }
    let all = |f: AuditFilter| desk.audit_page(&AuditFilter { limit: 10, ..f }).unwrap();
    let (first, total) = all(AuditFilter::default());
    assert_eq!(total, 2 + 30 + 5);
    assert_eq!(first.len(), 10);
    assert!(
        first.windows(2).all(|w| w[0].seq > w[1].seq),
        "newest first"
    );
    assert_eq!(first[0].sighting_id.as_deref(), Some("04-sighting"));
    let (second, _) = all(AuditFilter {
        offset: 10,
        ..Default::default()
    });
    assert!(second[0].seq < first[9].seq);

    let (anas, n) = all(AuditFilter {
        person: Some("ana".into()),
        ..Default::default()
    });
    // Her comments and her account being added.
    assert_eq!(n, 6);
    assert!(anas.iter().any(|e| e.action == "reviewer_added"));
    let (comments, n) = all(AuditFilter {
        action: Some("comment".into()),
        ..Default::default()
    });
    assert_eq!((n, comments.len()), (5, 5));
    let (one, n) = all(AuditFilter {
        sighting: Some("03-si".into()),
        ..Default::default()
    });
    assert_eq!(n, 2, "opened and commented: {one:?}");
    let (none, n) = all(AuditFilter {
        case: Some("C-1".into()),
        ..Default::default()
    });
    assert_eq!((none.len(), n), (0, 0));
    assert_eq!(
        desk.audit_actions().unwrap(),
        ["comment", "opened", "reviewer_added"]
    );
}
