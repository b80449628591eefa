//! A possible match on a real SQLite file: it links the sighting to the case and waits for a
//! second reviewer, who is never the one who proposed it; a rejection undoes the link; only a
//! confirmed link goes out in a lead package unless a case manager overrides with a reason; the
//! export moves each sighting to "forwarded to police", all in the audit log with the case.

use sighting_desk::state::{
    AuditEntry, Decision, DeskState, LeadGate, LinkError, LinkReview, OpenedReport, Reviewer, Role,
    StateError, Triage,
};

const PASSWORD: &str = "correct horse battery";

struct Desk {
    _dir: tempfile::TempDir,
    state: DeskState,
    ana: Reviewer,
    bo: Reviewer,
    chen: Reviewer,
}

/// A desk with two reviewers, a case manager, case C-1, and sightings r1, r2 (verified) and
/// bad (failed verification).
fn desk() -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let state = DeskState::open(dir.path()).unwrap();
    let ana = state.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let bo = state.add_reviewer("bo", PASSWORD, Role::Reviewer).unwrap();
    let chen = state
        .add_reviewer("chen", PASSWORD, Role::CaseManager)
        .unwrap();
    let details = sighting_desk::state::CaseDetails {
        first_name: "Lin".into(),
        sex: sighting_core::wire::bulletin::Sex::Girl,
        date_of_birth: None,
        age_when_missing: 7,
        missing_since: "2026-09-01".into(),
        last_seen_district: "Haidian".into(),
        last_seen_lat: 39.96,
        last_seen_lon: 116.30,
        marks: "none".into(),
        police_reference: Some("2026-HD-1234".into()),
        private_notes: None,
    };
    state.create_case(&chen, "C-1", &details).unwrap();
    let opened = |id, verified| OpenedReport {
        id,
        verified,
        failure: (!verified).then_some("bad signature"),
        captured_at_ms: None,
        received_at_ms: None,
    };
    state
        .record_opened(&[opened("r1", true), opened("r2", true), opened("bad", false)])
        .unwrap();
    Desk {
        _dir: dir,
        state,
        ana,
        bo,
        chen,
    }
}

fn link_error(result: Result<impl std::fmt::Debug, StateError>) -> LinkError {
    match result {
        Err(StateError::Link(e)) => e,
        other => panic!("expected a link refusal, got {other:?}"),
    }
}

/// The sighting's audit lines after it was opened: who, action, case, from → to, note.
fn trail(state: &DeskState, id: &str) -> Vec<String> {
    state
        .audit(Some(id))
        .unwrap()
        .into_iter()
        .skip(1)
        .map(|e: AuditEntry| {
            format!(
                "{} {} {} {}→{} {}",
                e.reviewer.unwrap_or_default(),
                e.action,
                e.case_number.unwrap_or_default(),
                e.from.unwrap_or_default(),
                e.to.unwrap_or_default(),
                e.note.unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn a_possible_match_waits_for_a_second_reviewer_who_is_not_the_proposer() {
    let Desk { state, ana, bo, .. } = &desk();
    let before = state.sighting("r1").unwrap();
    state
        .decide_candidate(ana, "C-1", "r1", Decision::PossibleMatch, Some("same coat"))
        .unwrap();
    let waiting = state.sighting("r1").unwrap();
    assert_eq!(waiting.triage, Triage::PossibleMatch);
    assert!(
        waiting.version > before.version,
        "a stale form is a conflict"
    );
    let (queue, total) = state.list(Some(Triage::PossibleMatch), 0, 10).unwrap();
    assert_eq!((queue[0].id.as_str(), total), ("r1", 1), "the queue");
    let decision = &state.candidate_decisions("C-1").unwrap()[0];
    assert!(decision.awaits_review() && !decision.confirmed());

    // Not the proposer; not without a note; not decided again while it waits.
    let confirm = |by, note| state.review_link(by, "C-1", "r1", LinkReview::Confirmed, note);
    assert_eq!(link_error(confirm(ana, "yes")), LinkError::OwnProposal);
    assert_eq!(link_error(confirm(bo, "  ")), LinkError::NoteNeeded);
    let again = state.decide_candidate(bo, "C-1", "r1", Decision::NotThisChild, None);
    assert_eq!(link_error(again), LinkError::AwaitingReview);
    // Nor moved on the sighting alone.
    let v = state.sighting("r1").unwrap().version;
    for to in [Triage::LinkedToCase, Triage::InReview] {
        assert!(matches!(
            state.change_triage(bo, "r1", v, to, None),
            Err(StateError::IllegalChange { .. })
        ));
    }
    assert_eq!(state.sighting("r1").unwrap().triage, Triage::PossibleMatch);

    let linked = confirm(bo, "the scar matches").unwrap();
    assert_eq!(linked.triage, Triage::LinkedToCase);
    let decision = &state.candidate_decisions("C-1").unwrap()[0];
    assert!(decision.confirmed());
    assert_eq!(decision.reviewed_by.as_deref(), Some("bo"));
    assert_eq!(decision.review_note.as_deref(), Some("the scar matches"));
    let again = state.decide_candidate(ana, "C-1", "r1", Decision::NotThisChild, None);
    assert_eq!(link_error(again), LinkError::AlreadyConfirmed);
    assert_eq!(
        trail(state, "r1"),
        [
            "ana candidate_decision C-1 →possible_match same coat",
            "ana triage C-1 new→possible_match same coat",
            "bo link_confirmed C-1 possible_match→linked_to_case the scar matches",
        ]
    );
}

#[test]
fn a_rejection_undoes_the_link_and_a_failed_report_is_never_proposed() {
    let Desk { state, ana, bo, .. } = &desk();
    state
        .decide_candidate(ana, "C-1", "r1", Decision::PossibleMatch, None)
        .unwrap();
    let reject = |by| state.review_link(by, "C-1", "r1", LinkReview::Rejected, "different child");
    assert_eq!(link_error(reject(ana)), LinkError::OwnProposal);
    assert_eq!(reject(bo).unwrap().triage, Triage::InReview);
    let decision = &state.candidate_decisions("C-1").unwrap()[0];
    assert_eq!(decision.review, Some(LinkReview::Rejected));
    assert!(!decision.confirmed() && !decision.awaits_review());
    // Unlinked: not in the case's package, and nothing left to review.
    let gate = LeadGate::default();
    let refused = state.check_lead_package(ana, "C-1", &["r1".into()], &gate);
    assert!(matches!(
        link_error(refused),
        LinkError::NotConfirmed { .. }
    ));
    assert!(matches!(
        link_error(reject(bo)),
        LinkError::NotProposed(case) if case == "C-1"
    ));
    // Proposed again later, it waits again.
    state
        .decide_candidate(bo, "C-1", "r1", Decision::PossibleMatch, None)
        .unwrap();
    assert!(state.candidate_decisions("C-1").unwrap()[0].awaits_review());
    assert_eq!(state.sighting("r1").unwrap().triage, Triage::PossibleMatch);

    assert!(matches!(
        state.decide_candidate(ana, "C-1", "bad", Decision::PossibleMatch, None),
        Err(StateError::NotALead)
    ));
    assert_eq!(state.sighting("bad").unwrap().triage, Triage::New);
}

#[test]
fn only_a_confirmed_link_goes_out_unless_a_case_manager_gives_a_reason() {
    let Desk {
        state,
        ana,
        bo,
        chen,
        ..
    } = &desk();
    let both = ["r1".to_string(), "r2".to_string()];
    let gate = |reason| LeadGate {
        recipient: Some("Officer Wang, Haidian police"),
        override_reason: reason,
    };
    // r1 confirmed, r2 never proposed.
    state
        .decide_candidate(ana, "C-1", "r1", Decision::PossibleMatch, None)
        .unwrap();
    state
        .review_link(bo, "C-1", "r1", LinkReview::Confirmed, "same child")
        .unwrap();
    state
        .check_lead_package(ana, "C-1", &both[..1], &gate(None))
        .unwrap();
    let refused = state.check_lead_package(ana, "C-1", &both, &gate(None));
    assert_eq!(
        link_error(refused),
        LinkError::NotConfirmed {
            id: "r2".into(),
            case: "C-1".into()
        }
    );
    // Confirmed for C-1 is not confirmed for another case.
    let mut other = state.case("C-1").unwrap().details;
    other.first_name = "Mei".into();
    state.create_case(chen, "C-2", &other).unwrap();
    let refused = state.check_lead_package(ana, "C-2", &both[..1], &gate(None));
    assert!(matches!(
        link_error(refused),
        LinkError::NotConfirmed { .. }
    ));
    // The override: a case manager's, with a reason.
    let written = "the officer asked for every sighting near the school";
    let reason = Some(written);
    let refused = state.check_lead_package(ana, "C-1", &both, &gate(reason));
    assert_eq!(link_error(refused), LinkError::OverrideNotAllowed);
    let refused = state.check_lead_package(chen, "C-1", &both, &gate(Some(" ")));
    assert_eq!(link_error(refused), LinkError::OverrideReason);
    let refused = state.record_lead_package(ana, "C-1", &both, "lead-C-1-x.zip", &gate(None));
    assert!(matches!(
        link_error(refused),
        LinkError::NotConfirmed { .. }
    ));
    assert_eq!(
        state.sighting("r2").unwrap().triage,
        Triage::New,
        "refused: nothing changed"
    );
    state
        .check_lead_package(chen, "C-1", &both, &gate(reason))
        .unwrap();

    // Recorded once the package exists: each forwarded, the package and recipient named, the
    // override only where it was needed.
    let package = "lead-C-1-2026-12-03-1.zip";
    let named_twice = [both.to_vec(), both.to_vec()].concat();
    state
        .record_lead_package(chen, "C-1", &named_twice, package, &gate(reason))
        .unwrap();
    for id in &both {
        assert_eq!(
            state.sighting(id).unwrap().triage,
            Triage::ForwardedToPolice
        );
    }
    let recipient = "Officer Wang, Haidian police";
    assert_eq!(
        trail(state, "r1")[3..],
        [
            format!("chen lead_package C-1 →{package} {recipient}"),
            "chen triage C-1 linked_to_case→forwarded_to_police ".to_string(),
        ]
    );
    assert_eq!(
        trail(state, "r2"),
        [
            format!("chen lead_override C-1 → {written}"),
            format!("chen lead_package C-1 →{package} {recipient}"),
            "chen triage C-1 new→forwarded_to_police ".to_string(),
        ]
    );
    // Sent again (another officer): still forwarded, the new package in the log.
    state
        .record_lead_package(
            ana,
            "C-1",
            &both[..1],
            "lead-C-1-2026-12-03-2.zip",
            &gate(None),
        )
        .unwrap();
    assert_eq!(
        trail(state, "r1").last().unwrap(),
        &format!("ana lead_package C-1 →lead-C-1-2026-12-03-2.zip {recipient}")
    );
}
