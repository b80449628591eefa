use sighting_core::report::{Activity, Observations};

use super::*;
use crate::state::{CaseDetails, Publication};

pub(super) fn case(date_of_birth: Option<&str>) -> CaseRow {
    CaseRow {
        number: "C-7".into(),
        details: CaseDetails {
            first_name: "Lin".into(),
            sex: Sex::Girl,
            date_of_birth: date_of_birth.map(String::from),
            age_when_missing: 8,
            missing_since: "2026-05-20".into(),
            last_seen_district: "Haidian".into(),
            last_seen_lat: 39.96,
            last_seen_lon: 116.30,
            marks: "scar on the left hand, limps".into(),
            police_reference: Some("P-1".into()),
            private_notes: None,
        },
        consent_at_ms: Some(1),
        consent_by: Some("chen".into()),
        publication: Publication::Published,
        photos: 1,
        version: 3,
        published_fields: crate::state::PUBLISHED_FIELDS,
    }
}

const NEAR: (f64, f64) = (39.97, 116.31);
const SHANGHAI: (f64, f64) = (31.23, 121.47);
const GUANGZHOU: (f64, f64) = (23.13, 113.26);

pub(super) fn seen(id: &str, at: (f64, f64), time: &str, o: Observations) -> Sighting {
    let mut s = Sighting::failed(id.into(), format!("{id}.age"), String::new());
    s.status = "verified".into();
    s.reason = None;
    (s.lat, s.lon) = (Some(at.0), Some(at.1));
    s.captured_at = Some(time.into());
    s.observations = Some(o);
    s
}

pub(super) fn girl_5_to_9() -> Observations {
    Observations {
        sex: Some(Sex::Girl),
        age_band: Some(AgeBand::From5To9),
        ..Default::default()
    }
}

pub(super) fn linked(o: Observations, number: &str) -> Observations {
    Observations {
        case_number: Some(number.into()),
        ..o
    }
}

#[test]
fn candidates_come_in_the_expected_order_with_their_reasons() {
    let injured = Observations {
        injury_or_disability: Some(true),
        activity: Some(Activity::Begging),
        ..girl_5_to_9()
    };
    let mut b_again = seen(
        "h",
        NEAR,
        "2026-06-02T09:00:00+08:00",
        Observations {
            sex: Some(Sex::Girl),
            ..Default::default()
        },
    );
    b_again.same_photo = Some("P1".into());
    let mut b = seen("b", NEAR, "2026-06-02T09:00:00+08:00", girl_5_to_9());
    b.same_photo = Some("P1".into());
    let mut failed = seen(
        "i",
        NEAR,
        "2026-06-01T10:00:00+08:00",
        linked(girl_5_to_9(), "C-7"),
    );
    failed.status = "failed".into();
    let boy_older = Observations {
        sex: Some(Sex::Boy),
        age_band: Some(AgeBand::From14To17),
        ..Default::default()
    };
    let sightings = vec![
        // Linked by the reporter, everything fits, near: first.
        seen(
            "a",
            NEAR,
            "2026-06-01T10:00:00+08:00",
            linked(injured.clone(), "C-7"),
        ),
        b,
        b_again,
        // Fits, 1,100 km away months later: the distance weighs against it, not out.
        seen("c", SHANGHAI, "2026-11-01T10:00:00+08:00", injured),
        // A boy: out.
        seen(
            "d",
            NEAR,
            "2026-06-01T10:00:00+08:00",
            Observations {
                sex: Some(Sex::Boy),
                ..girl_5_to_9()
            },
        ),
        // Linked, though little fits: kept, low.
        seen(
            "e",
            SHANGHAI,
            "2026-11-01T10:00:00+08:00",
            linked(boy_older, "C-7"),
        ),
        // 1,900 km away ten hours after the day began: no one could be there yet.
        seen("f", GUANGZHOU, "2026-05-20T10:00:00Z", girl_5_to_9()),
        // Before she went missing.
        seen("g", NEAR, "2026-05-01T10:00:00+08:00", girl_5_to_9()),
        failed,
        // The reporter thought of another case.
        seen(
            "j",
            NEAR,
            "2026-06-01T10:00:00+08:00",
            linked(girl_5_to_9(), "C-9"),
        ),
    ];
    let ranked = rank(&case(None), &sightings, &BTreeSet::new());
    let order: Vec<&str> = ranked.iter().map(|c| c.sighting_id.as_str()).collect();
    assert_eq!(order, ["a", "b", "j", "c", "e"]);
    let scores: Vec<i32> = ranked.iter().map(|c| c.score).collect();
    assert_eq!(scores, [165, 50, 40, 21, -4]);
    assert_eq!(
        ranked[0].reasons,
        [
            Reason::LinkedByReporter,
            Reason::SexFits,
            Reason::AgeFits {
                expected: 8,
                seen: AgeBand::From5To9
            },
            Reason::FromLastSeen { km: 1 },
            Reason::InjuryFitsMarks,
        ]
    );
    assert_eq!(
        ranked[1].same_photo,
        ["h"],
        "the same photo twice is one candidate"
    );
    let far = weigh(&CaseFacts::of(&case(None)), &sightings[6]);
    let out_of_reach = |r: &Reason| {
        matches!(
            r,
            Reason::OutOfReach {
                km: 1850..=1950,
                days: 0
            }
        )
    };
    assert!(far.reasons.iter().any(out_of_reach), "{far:?}");
    let early = weigh(&CaseFacts::of(&case(None)), &sightings[7]);
    assert!(early.reasons.contains(&Reason::SeenBeforeMissing));
}

#[test]
fn the_expected_age_grows_with_the_years_missing_or_comes_from_the_birth_date() {
    let missing = case(None);
    let facts = CaseFacts::of(&missing);
    let day = |t: &str| {
        Date::parse(t, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
    };
    assert_eq!(facts.age_on(day("2026-05-21")), Some(8));
    assert_eq!(facts.age_on(day("2029-05-19")), Some(10));
    assert_eq!(facts.age_on(day("2029-05-20")), Some(11));
    let case = case(Some("2014-01-15"));
    let born = CaseFacts::of(&case);
    assert_eq!(born.age_on(day("2026-06-01")), Some(12));
    // Twelve is no longer "5 to 9", even with a year's tolerance.
    let s = seen("x", NEAR, "2026-06-01T10:00:00+08:00", girl_5_to_9());
    let c = weigh(&born, &s);
    assert!(
        matches!(c.reasons[1], Reason::AgeDiffers { expected: 12, .. }),
        "{c:?}"
    );
}

#[test]
fn nothing_known_scores_nothing_and_is_not_listed() {
    let mut bare = Sighting::failed("z".into(), "z.age".into(), String::new());
    bare.status = "verified".into();
    assert!(rank(&case(None), [&bare], &BTreeSet::new()).is_empty());
    // Unless a reviewer decided on it: then it stays in the list.
    let kept = rank(&case(None), [&bare], &BTreeSet::from(["z"]));
    assert_eq!(kept.len(), 1);
}

const AMSTERDAM: (f64, f64) = (52.37, 4.90);
/// About 3 km from where C-7's child was last seen in Haidian.
const THREE_KM: (f64, f64) = (39.985, 116.318);

#[test]
fn another_continent_does_not_outrank_the_same_city_unless_the_reporter_linked_it() {
    // Six months after a child went missing in Beijing: a girl of the right age in Amsterdam,
    // and a sighting 3 km from where she was last seen with nothing observed.
    let later = "2026-11-20T10:00:00+08:00";
    let amsterdam = seen("a", AMSTERDAM, later, girl_5_to_9());
    let near = seen("n", THREE_KM, later, Observations::default());
    let case = case(None);
    let far = weigh(&CaseFacts::of(&case), &amsterdam);
    assert!(
        far.reasons
            .iter()
            .any(|r| matches!(r, Reason::FromLastSeen { km: 7700..=7900 })),
        "the distance is a reason, with the km: {far:?}"
    );
    let ranked = rank(&case, [&amsterdam, &near], &BTreeSet::new());
    let order: Vec<&str> = ranked.iter().map(|c| c.sighting_id.as_str()).collect();
    assert_eq!(order, ["n"], "{ranked:?}");
    assert!(matches!(
        ranked[0].reasons[..],
        [Reason::FromLastSeen { km: 2..=3 }]
    ));
    // Decided on, it is listed, still below the same city.
    let kept = rank(&case, [&amsterdam, &near], &BTreeSet::from(["a", "n"]));
    let order: Vec<&str> = kept.iter().map(|c| c.sighting_id.as_str()).collect();
    assert_eq!(order, ["n", "a"], "{kept:?}");
    // Linked by its reporter, it is looked at first.
    let linked = seen("a", AMSTERDAM, later, linked(girl_5_to_9(), "C-7"));
    let ranked = rank(&case, [&linked, &near], &BTreeSet::new());
    let order: Vec<&str> = ranked.iter().map(|c| c.sighting_id.as_str()).collect();
    assert_eq!(order, ["a", "n"], "{ranked:?}");
}
