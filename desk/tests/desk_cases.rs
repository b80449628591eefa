//! The case register on a real SQLite file: only case managers change it, only vetted cases
//! are published, a closed case stays closed, every change is versioned and audited (field
//! names, never private values), and a desk database from before cases upgrades in place.

use sighting_core::wire::bulletin::Sex;
use sighting_desk::state::{
    CaseDetails, CaseError, DeskState, GateItem, OpenedReport, Publication, Role,
};

const PASSWORD: &str = "correct horse battery";

fn details() -> CaseDetails {
    CaseDetails {
        first_name: "小明".into(),
        sex: Sex::Boy,
        date_of_birth: Some("2019-05-02".into()),
        age_when_missing: 6,
        missing_since: "2026-03-01".into(),
        last_seen_district: "朝阳区 Chaoyang".into(),
        last_seen_lat: 39.92,
        last_seen_lon: 116.44,
        marks: "scar above the left eye".into(),
        police_reference: None,
        private_notes: Some("father's phone 138…".into()),
    }
}

/// The smallest JPEG-looking photo.
const PHOTO: &[u8] = &[0xFF, 0xD8, 0xFF, 0xD9];

#[test]
fn only_a_vetted_case_is_published_by_a_case_manager_and_every_step_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let ana = desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let cm = desk
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();

    assert!(matches!(
        desk.create_case(&ana, "C-1", &details()),
        Err(CaseError::Forbidden)
    ));
    let case = desk.create_case(&cm, "C-1", &details()).unwrap();
    assert_eq!((case.publication, case.version), (Publication::Draft, 1));
    assert!(matches!(
        desk.create_case(&cm, "C-1", &details()),
        Err(CaseError::Exists(_))
    ));

    // Every missing piece is named, each time.
    let refusal = |version| match desk.publish_case(&cm, "C-1", version) {
        Err(CaseError::NotVetted(missing)) => missing,
        other => panic!("{other:?}"),
    };
    use GateItem::{Consent, Photo, PoliceReference};
    assert_eq!(refusal(1), [PoliceReference, Consent, Photo]);
    let mut with_reference = details();
    with_reference.police_reference = Some("京公刑 2026-0301".into());
    with_reference.private_notes = Some("mother's phone 139 0000 7311".into());
    assert!(matches!(
        desk.edit_case(&cm, "C-1", 0, &with_reference),
        Err(CaseError::Conflict { current: 1 })
    ));
    let case = desk.edit_case(&cm, "C-1", 1, &with_reference).unwrap();
    assert_eq!(refusal(case.version), [Consent, Photo]);
    let case = desk
        .record_family_consent(&cm, "C-1", case.version)
        .unwrap();
    assert_eq!(case.consent_by.as_deref(), Some("chen"));
    assert_eq!(refusal(case.version), [Photo]);
    let case = desk
        .add_case_photo(&cm, "C-1", case.version, PHOTO)
        .unwrap();
    assert!(matches!(
        desk.publish_case(&ana, "C-1", case.version),
        Err(CaseError::Forbidden)
    ));
    let case = desk.publish_case(&cm, "C-1", case.version).unwrap();
    assert_eq!(case.publication, Publication::Published);
    assert_eq!(desk.case_photos("C-1").unwrap(), vec![PHOTO.to_vec()]);

    // Closed: off the phones, and no way back through the register.
    let case = desk.close_case(&cm, "C-1", case.version).unwrap();
    assert_eq!(case.publication, Publication::Closed);
    assert!(matches!(
        desk.publish_case(&cm, "C-1", case.version),
        Err(CaseError::Closed)
    ));
    assert!(matches!(
        desk.edit_case(&cm, "C-1", case.version, &details()),
        Err(CaseError::Closed)
    ));

    let trail: Vec<String> = desk
        .audit(None)
        .unwrap()
        .into_iter()
        .filter(|e| e.case_number.as_deref() == Some("C-1"))
        .map(|e| {
            let who = e.reviewer.unwrap_or_default();
            let (from, to) = (e.from.unwrap_or_default(), e.to.unwrap_or_default());
            format!("{who} {} {from}→{to}", e.action)
        })
        .collect();
    assert_eq!(
        trail,
        [
            "chen case_created →draft",
            "chen case_edited →police_reference,private_notes",
            "chen case_consent →",
            "chen case_photo_added →",
            "chen case_publication draft→published",
            "chen case_publication published→closed",
        ]
    );
    let log = format!("{:?}", desk.audit(None).unwrap());
    // The whole value: a short piece such as "139" turns up by chance in times and ids.
    assert!(
        !log.contains("mother's phone") && !log.contains("139 0000 7311"),
        "a private value never enters the audit log"
    );
}

#[test]
fn bad_case_details_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let cm = desk
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let bad = |edit: fn(&mut CaseDetails)| {
        let mut d = details();
        edit(&mut d);
        desk.create_case(&cm, "C-9", &d).unwrap_err()
    };
    for error in [
        bad(|d| d.age_when_missing = 18),
        bad(|d| d.missing_since = "March 2026".into()),
        bad(|d| d.date_of_birth = Some("2019-13-01".into())),
        bad(|d| d.last_seen_lat = 95.0),
        bad(|d| d.last_seen_lon = f64::NAN),
        bad(|d| d.marks = "x".repeat(1001)),
        bad(|d| d.first_name = " ".into()),
    ] {
        assert!(matches!(error, CaseError::Invalid(_)), "{error:?}");
    }
    for number in ["", "C 1", "../C-1", &"C".repeat(41)] {
        assert!(matches!(
            desk.create_case(&cm, number, &details()),
            Err(CaseError::Invalid(_))
        ));
    }
    assert!(desk.cases().unwrap().is_empty());
}

/// A desk that ran before cases existed (schema version 1, sightings and audit lines in it)
/// upgrades on open and keeps everything.
#[test]
fn a_desk_database_from_before_cases_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    {
        let desk = DeskState::open(dir.path()).unwrap();
        let opened = OpenedReport {
            id: "r1",
            verified: true,
            failure: None,
            captured_at_ms: None,
            received_at_ms: None,
        };
        desk.record_opened(&[opened]).unwrap();
    }
    // Back to version 1, as an older desk left it.
    let db = dir.path().join("desk.sqlite3");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP TABLE reports; DROP TABLE sightings_json_import;
         DROP TABLE api_tokens; DROP INDEX audit_by_reviewer; DROP INDEX audit_by_action;
         ALTER TABLE reviewers DROP COLUMN unlocks;
         DROP TABLE candidate_decisions; DROP TABLE case_photos; DROP TABLE cases;
         DROP INDEX audit_by_case;
         ALTER TABLE audit DROP COLUMN case_number; DROP INDEX sightings_newest_first;
         DROP INDEX sightings_by_triage_newest_first;
         ALTER TABLE sightings DROP COLUMN captured_at_ms;
         ALTER TABLE sightings DROP COLUMN received_at_ms; PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);

    let desk = DeskState::open(dir.path()).unwrap();
    assert_eq!(desk.audit(Some("r1")).unwrap().len(), 1);
    let cm = desk
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    desk.create_case(&cm, "C-1", &details()).unwrap();
    assert_eq!(desk.cases().unwrap().len(), 1);
}

/// The feed a phone gets: published cases only, nothing private, photos small, each tile pinned
/// by the signed index; a case closed since the last feed is gone from the next.
#[test]
fn the_bulletin_feed_holds_published_cases_only_and_drops_a_closed_one() {
    use ring::signature::{Ed25519KeyPair, KeyPair};
    use sighting_core::wire::bulletin::{IndexBody, TileFile};
    use sighting_desk::bulletins;
    use time::macros::datetime;

    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let cm = desk
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let photo = bulletins::case_photo(&test_support::fixture("gps/DSCN0010.jpg")).unwrap();
    assert!(photo.len() < 64 << 10, "{} bytes", photo.len());
    let publish = |number: &str, lat: f64, lon: f64| {
        let mut d = details();
        d.police_reference = Some("ref-secret-4711".into());
        (d.last_seen_lat, d.last_seen_lon) = (lat, lon);
        let c = desk.create_case(&cm, number, &d).unwrap();
        let c = desk.record_family_consent(&cm, number, c.version).unwrap();
        let c = desk.add_case_photo(&cm, number, c.version, &photo).unwrap();
        desk.publish_case(&cm, number, c.version).unwrap()
    };
    publish("C-BJ", 39.92345, 116.44321);
    let amsterdam = publish("C-AMS", 52.3791, 4.9003);
    desk.create_case(&cm, "C-DRAFT", &details()).unwrap();

    let key = Ed25519KeyPair::from_seed_unchecked(&[9; 32]).unwrap();
    let public: [u8; 32] = key.public_key().as_ref().try_into().unwrap();
    let now = datetime!(2026-11-29 12:00 UTC);
    let feed = bulletins::build(&desk, &key, 1, now, time::Duration::days(14)).unwrap();
    let index = IndexBody::open(&feed.index_json, &public, None, now).unwrap();
    assert_eq!(index.expires_at, "2026-12-13T12:00:00Z");
    let mut numbers = Vec::new();
    for (name, bytes) in &feed.tiles {
        let text = String::from_utf8_lossy(bytes);
        for private in ["ref-secret-4711", "phone", "2019-05-02"] {
            assert!(!text.contains(private), "{private} in tile {name}");
        }
        let tile = TileFile::open(bytes, &index, name).unwrap();
        for case in tile.cases {
            assert_eq!(case.photos.len(), 1);
            assert_eq!(
                case.last_seen.lat,
                (case.last_seen.lat * 100.0).round() / 100.0
            );
            numbers.push(case.number);
        }
    }
    numbers.sort();
    assert_eq!(numbers, ["C-AMS", "C-BJ"], "drafts never go out");
    assert_eq!(feed.tiles.len(), 2, "two regions");

    desk.close_case(&cm, "C-AMS", amsterdam.version).unwrap();
    let next = bulletins::build(&desk, &key, 2, now, time::Duration::days(14)).unwrap();
    let index = IndexBody::open(&next.index_json, &public, Some(1), now).unwrap();
    let listed: Vec<&String> = index.tiles.iter().flat_map(|t| &t.cases).collect();
    assert_eq!(listed, ["C-BJ"], "a closed case is gone");
}

/// A reviewer's decision on a candidate: kept (the latest), audited with both the case and the
/// sighting, refused for a case or sighting the desk does not have.
#[test]
fn a_candidate_decision_is_kept_and_audited_with_case_and_sighting() {
    use sighting_desk::state::{Decision, StateError};

    let dir = tempfile::tempdir().unwrap();
    let desk = DeskState::open(dir.path()).unwrap();
    let cm = desk
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let ana = desk.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    desk.create_case(&cm, "C-1", &details()).unwrap();
    let opened = OpenedReport {
        id: "r1",
        verified: true,
        failure: None,
        captured_at_ms: None,
        received_at_ms: None,
    };
    desk.record_opened(&[opened]).unwrap();

    // A decision may be changed until it is a possible match (then a second reviewer decides).
    desk.decide_candidate(&ana, "C-1", "r1", Decision::NotThisChild, Some("no scar"))
        .unwrap();
    desk.decide_candidate(&cm, "C-1", "r1", Decision::PossibleMatch, None)
        .unwrap();
    let kept = desk.candidate_decisions("C-1").unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].decision, kept[0].by.as_str()),
        (Decision::PossibleMatch, "chen")
    );
    let trail: Vec<_> = desk
        .audit(Some("r1"))
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "candidate_decision")
        .map(|e| {
            (
                e.reviewer.unwrap(),
                e.case_number.unwrap(),
                e.from,
                e.to.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        trail,
        [
            ("ana".into(), "C-1".into(), None, "not_this_child".into()),
            (
                "chen".into(),
                "C-1".into(),
                Some("not_this_child".into()),
                "possible_match".into()
            ),
        ]
    );
    for (case, sighting) in [("C-404", "r1"), ("C-1", "nope")] {
        let refused = desk.decide_candidate(&ana, case, sighting, Decision::PossibleMatch, None);
        assert!(
            matches!(refused, Err(StateError::NotFound(_))),
            "{case} {sighting}"
        );
    }
    let long = "x".repeat(5000);
    let refused = desk.decide_candidate(&ana, "C-1", "r1", Decision::PossibleMatch, Some(&long));
    assert!(matches!(refused, Err(StateError::NoteTooLong)));
}
