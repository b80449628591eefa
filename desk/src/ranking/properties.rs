//! Properties of the ranking over random observations, places and times (from a month before
//! the child went missing to ten years after): all else equal, nearer never ranks lower and a
//! reporter's link always ranks above none; a fitting observation never lowers a score; another
//! continent never outranks the same city unless its reporter linked it.

use proptest::option;
use proptest::prelude::*;
use sighting_core::report::Observations;
use time::macros::date;

use super::tests::{case, seen};
use super::*;

fn sex() -> impl Strategy<Value = Sex> {
    prop_oneof![Just(Sex::Boy), Just(Sex::Girl), Just(Sex::Unknown)]
}

const BANDS: [AgeBand; 4] = [
    AgeBand::Under5,
    AgeBand::From5To9,
    AgeBand::From10To13,
    AgeBand::From14To17,
];

fn observations() -> impl Strategy<Value = Observations> {
    (
        option::of(prop_oneof![Just("C-7"), Just("C-9")]),
        option::of(sex()),
        option::of(proptest::sample::select(&BANDS[..])),
        option::of(any::<bool>()),
    )
        .prop_map(|(number, sex, age_band, injury)| Observations {
            case_number: number.map(String::from),
            sex,
            age_band,
            injury_or_disability: injury,
            ..Default::default()
        })
}

/// A capture time (or none), the case having been opened on 2026-05-20.
fn time() -> impl Strategy<Value = Option<String>> {
    option::weighted(
        0.9,
        (-30i64..3650, 0u32..24).prop_map(|(days, hour)| {
            let day = date!(2026 - 05 - 20) + time::Duration::days(days);
            format!("{day}T{hour:02}:00:00Z")
        }),
    )
}

fn place() -> impl Strategy<Value = (f64, f64)> {
    (-85.0..85.0f64, -180.0..180.0f64)
}

/// The case, with a birth date or with only the age when missing.
fn any_case() -> impl Strategy<Value = CaseRow> {
    any::<bool>().prop_map(|born| case(born.then_some("2018-03-01")))
}

fn sighting(id: &str, at: (f64, f64), time: &Option<String>, o: Observations) -> Sighting {
    let mut s = seen(id, at, "", o);
    s.captured_at = time.clone();
    s
}

/// The ids in ranked order, both kept in the list by a reviewer's decision.
fn order(case: &CaseRow, a: &Sighting, b: &Sighting) -> Vec<String> {
    let keep = BTreeSet::from([a.id.as_str(), b.id.as_str()]);
    let ranked = rank(case, [a, b], &keep);
    ranked.into_iter().map(|c| c.sighting_id).collect()
}

fn km(case: &CaseRow, at: (f64, f64)) -> f64 {
    let last_seen = (case.details.last_seen_lat, case.details.last_seen_lon);
    distance_m(at, last_seen) / 1e3
}

proptest! {
    #[test]
    fn nearer_never_ranks_lower(
        case in any_case(), o in observations(), time in time(), p in place(), q in place(),
    ) {
        prop_assume!(km(&case, p) != km(&case, q));
        let (near, far) = if km(&case, p) < km(&case, q) { (p, q) } else { (q, p) };
        // The farther one has the id that wins a tie.
        let far = sighting("a", far, &time, o.clone());
        let near = sighting("b", near, &time, o);
        let facts = CaseFacts::of(&case);
        prop_assert!(weigh(&facts, &near).score >= weigh(&facts, &far).score);
        prop_assert_eq!(order(&case, &near, &far), ["b", "a"]);
    }

    #[test]
    fn a_reporters_link_always_ranks_above_no_link(
        case in any_case(), o in observations(), time in time(), p in place(),
    ) {
        let other = o.case_number.clone().filter(|n| n != "C-7");
        let unlinked = sighting("a", p, &time, Observations { case_number: other, ..o.clone() });
        let linked = sighting("b", p, &time, Observations { case_number: Some("C-7".into()), ..o });
        let facts = CaseFacts::of(&case);
        prop_assert!(weigh(&facts, &linked).score > weigh(&facts, &unlinked).score);
        prop_assert_eq!(order(&case, &linked, &unlinked), ["b", "a"]);
    }

    #[test]
    fn adding_a_fitting_observation_never_lowers_a_score(
        case in any_case(), o in observations(), time in time(), p in place(), which in 0..4u8,
    ) {
        let facts = CaseFacts::of(&case);
        let expected = seen("x", p, time.as_deref().unwrap_or_default(), o.clone())
            .time()
            .and_then(|t| facts.age_on(t.date()));
        let fitting_band = expected.and_then(|years| {
            BANDS.into_iter().find(|&b| {
                let (lo, hi) = band_years(b);
                (lo - 1..=hi + 1).contains(&years)
            })
        });
        let (mut without, mut with) = (o.clone(), o);
        match which {
            0 => (without.sex, with.sex) = (None, Some(case.details.sex)),
            1 => {
                // A child too old for every band has no fitting one to add.
                prop_assume!(fitting_band.is_some());
                (without.age_band, with.age_band) = (None, fitting_band);
            }
            // The case's marks name a scar and a limp.
            2 => (without.injury_or_disability, with.injury_or_disability) = (None, Some(true)),
            _ => (without.case_number, with.case_number) = (None, Some("C-7".into())),
        }
        let without = weigh(&facts, &sighting("a", p, &time, without));
        let with = weigh(&facts, &sighting("a", p, &time, with));
        prop_assert!(with.score >= without.score, "{:?} then {:?}", without, with);
    }

    #[test]
    fn another_continent_never_outranks_the_same_city_unless_linked(
        case in any_case(),
        far_seen in observations(),
        near_seen in observations(),
        far_time in time(),
        near_time in time(),
        far in place(),
        (dlat, dlon) in (-0.3..0.3f64, -0.3..0.3f64),
    ) {
        prop_assume!(km(&case, far) >= CONTINENT_KM);
        let near = (case.details.last_seen_lat + dlat, case.details.last_seen_lon + dlon);
        prop_assert!(km(&case, near) <= 50.0);
        let unlinked = far_seen.case_number.clone().filter(|n| n != "C-7");
        let far_seen = Observations { case_number: unlinked, ..far_seen };
        let far = sighting("a", far, &far_time, far_seen);
        let near = sighting("b", near, &near_time, near_seen);
        prop_assert!(weigh(&CaseFacts::of(&case), &far).score < 0, "never listed on its own");
        prop_assert_eq!(order(&case, &near, &far), ["b", "a"]);
    }
}
