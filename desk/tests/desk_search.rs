//! Searching the list on a real `desk.sqlite3`: by the reporter's note (`%` and `_` are
//! themselves), an id's start, capture dates in the desk's zone (the corrected time where
//! known), the map's area (across the antimeridian too), a case's link and the status, each
//! alone and together; the map and the export see what the list sees; bad values are refused.

use sighting_desk::sightings::Sighting;
use sighting_desk::state::{
    Decision, DeskState, LinkReview, Role, SearchError, SearchQuery, SightingFilter, Triage,
};

const PASSWORD: &str = "correct horse battery";
const ZONE: &str = "Asia/Shanghai";

/// One report as `open` records it: captured at `captured` (RFC 3339), at `(lat, lon)`.
fn report(id: &str, captured: &str, place: Option<(f64, f64)>, note: Option<&str>) -> Sighting {
    let mut s = Sighting::failed(id.into(), format!("reports/{id}.age"), String::new());
    s.status = "verified".into();
    s.reason = None;
    s.captured_at = Some(captured.into());
    (s.lat, s.lon) = (place.map(|p| p.0), place.map(|p| p.1));
    s.note = note.map(str::to_string);
    s
}

const STATION: &str = "aaaa0001-0000-4000-8000-000000000001";
const MARKET: &str = "aaaa0002-0000-4000-8000-000000000002";
const SURE: &str = "bbbb0003-0000-4000-8000-000000000003";
const PERCENT: &str = "bbbb0004-0000-4000-8000-000000000004";
const UNDERSCORE: &str = "cccc0005-0000-4000-8000-000000000005";
const EAST_OF_180: &str = "cccc0006-0000-4000-8000-000000000006";
const CORRECTED: &str = "dddd0007-0000-4000-8000-000000000007";

struct Desk {
    _dir: tempfile::TempDir,
    state: DeskState,
}

/// Seven reports: Beijing and Amsterdam, two either side of the antimeridian, one with no
/// place; on 1, 2 and 3 March 2026 in Beijing's time (one just before its midnight).
fn desk() -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let state = DeskState::open(dir.path()).unwrap();
    let beijing = Some((39.915, 116.404));
    let mut corrected = report(
        CORRECTED,
        "2026-02-01T12:00:00+08:00",
        beijing,
        Some("clock was off"),
    );
    corrected.corrected_captured_at = Some("2026-03-02T12:00:00+08:00".into());
    state
        .record_reports(&[
            report(
                STATION,
                "2026-03-01T23:30:00+08:00",
                beijing,
                Some("A boy by the STATION gate"),
            ),
            report(
                MARKET,
                "2026-03-02T00:30:00+08:00",
                Some((52.379, 4.900)),
                Some("girl at the market, crying"),
            ),
            report(
                SURE,
                "2026-03-02T09:00:00+08:00",
                Some((-17.7, 179.5)),
                Some("100% sure it was her"),
            ),
            report(
                PERCENT,
                "2026-03-03T09:00:00+08:00",
                Some((-17.8, -179.5)),
                Some("100 percent the boy"),
            ),
            report(
                UNDERSCORE,
                "2026-03-03T10:00:00+08:00",
                None,
                Some("file_name.jpg"),
            ),
            report(EAST_OF_180, "2026-03-03T11:00:00+08:00", None, None),
            corrected,
        ])
        .unwrap();
    Desk { _dir: dir, state }
}

fn query(pairs: &[(&str, &str)]) -> SearchQuery {
    let mut q = SearchQuery::default();
    for (name, value) in pairs {
        let value = Some(value.to_string());
        match *name {
            "triage" => q.triage = value,
            "text" => q.text = value,
            "id" => q.id = value,
            "from" => q.from = value,
            "to" => q.to = value,
            "south" => q.south = value,
            "west" => q.west = value,
            "north" => q.north = value,
            "east" => q.east = value,
            "case" => q.case = value,
            other => panic!("no field {other}"),
        }
    }
    q
}

fn filter(pairs: &[(&str, &str)]) -> SightingFilter {
    SightingFilter::parse(&query(pairs), ZONE).unwrap()
}

/// What the list shows under a search (sorted: the order is the list's own test), checked
/// against its count, the map (the located ones) and the export (the same reports).
fn found(desk: &Desk, pairs: &[(&str, &str)]) -> Vec<&'static str> {
    let filter = filter(pairs);
    let (rows, total) = desk.state.search(&filter, 0, 100).unwrap();
    assert_eq!(total as usize, rows.len());
    let mut ids: Vec<String> = rows.into_iter().map(|r| r.id).collect();
    let mut exported = Vec::new();
    desk.state
        .each_match(&filter, |s, _| {
            exported.push(s.id);
            Ok(true)
        })
        .unwrap();
    assert_eq!(
        exported, ids,
        "the export lists what the list does, in order"
    );
    let on_map: Vec<String> = desk
        .state
        .map_points(&filter)
        .unwrap()
        .into_iter()
        .map(|p| p.0.to_string())
        .collect();
    for id in &on_map {
        assert!(ids.contains(id), "{id} on the map, not in the list");
    }
    ids.sort();
    ids.into_iter()
        .map(|id| {
            [
                STATION,
                MARKET,
                SURE,
                PERCENT,
                UNDERSCORE,
                EAST_OF_180,
                CORRECTED,
            ]
            .into_iter()
            .find(|known| *known == id)
            .unwrap()
        })
        .collect()
}

#[test]
fn a_word_in_the_note_finds_its_reports_whatever_its_case() {
    let desk = desk();
    assert_eq!(found(&desk, &[("text", "station")]), [STATION]);
    assert_eq!(found(&desk, &[("text", "BOY")]), [STATION, PERCENT]);
    assert_eq!(found(&desk, &[("text", "nobody wrote this")]), [""; 0]);
    // Nothing typed: everything.
    assert_eq!(found(&desk, &[("text", "  ")]).len(), 7);
}

#[test]
fn percent_and_underscore_are_searched_for_as_themselves() {
    let desk = desk();
    // As a LIKE wildcard "100%" would find "100 percent" too, and "_" every note.
    assert_eq!(found(&desk, &[("text", "100%")]), [SURE]);
    assert_eq!(found(&desk, &[("text", "_")]), [UNDERSCORE]);
    assert_eq!(found(&desk, &[("text", "\\")]), [""; 0]);
}

#[test]
fn an_ids_start_finds_its_reports_and_anything_but_hex_is_refused() {
    let desk = desk();
    assert_eq!(found(&desk, &[("id", "aaaa")]), [STATION, MARKET]);
    assert_eq!(found(&desk, &[("id", "BBBB0003")]), [SURE]);
    assert_eq!(found(&desk, &[("id", STATION)]), [STATION]);
    for bad in ["aaaa%", "x", "aaaa' OR 1=1 --", &"a".repeat(37)] {
        assert_eq!(
            SightingFilter::parse(&query(&[("id", bad)]), ZONE),
            Err(SearchError::IdPrefix),
            "{bad:?}"
        );
    }
}

#[test]
fn capture_dates_are_days_in_the_desks_zone_by_the_corrected_time() {
    let desk = desk();
    // 23:30 on the 1st in Beijing is 15:30 UTC: the 1st, not the 2nd. The corrected time
    // (the 2nd) counts, not the phone's (February).
    let second = [("from", "2026-03-02"), ("to", "2026-03-02")];
    assert_eq!(found(&desk, &second), [MARKET, SURE, CORRECTED]);
    assert_eq!(found(&desk, &[("to", "2026-03-01")]), [STATION]);
    assert_eq!(
        found(&desk, &[("from", "2026-03-03")]),
        [PERCENT, UNDERSCORE, EAST_OF_180]
    );
    let refused = |pairs: &[(&str, &str)]| SightingFilter::parse(&query(pairs), ZONE).unwrap_err();
    assert!(matches!(
        refused(&[("from", "2026-13-01")]),
        SearchError::Date { field: "from", .. }
    ));
    assert!(matches!(
        refused(&[("to", "3/2/2026")]),
        SearchError::Date { field: "to", .. }
    ));
    assert_eq!(
        refused(&[("from", "2026-03-03"), ("to", "2026-03-02")]),
        SearchError::DatesReversed
    );
}

#[test]
fn the_maps_area_holds_what_is_in_it_across_the_antimeridian_too() {
    let desk = desk();
    let area = |s: &str, w: &str, n: &str, e: &str| {
        found(
            &desk,
            &[("south", s), ("west", w), ("north", n), ("east", e)],
        )
    };
    assert_eq!(area("30", "100", "45", "130"), [STATION, CORRECTED]);
    // Leaflet's bounds past 180° when the Pacific is in view.
    assert_eq!(area("-20", "170", "-15", "190"), [SURE, PERCENT]);
    assert_eq!(area("-20", "-190", "-15", "-170"), [SURE, PERCENT]);
    assert_eq!(area("-20", "175", "-15", "179.9"), [SURE]);
    // The whole round: every located report.
    assert_eq!(area("-90", "-200", "90", "200").len(), 5);
    let refused = |pairs: &[(&str, &str)]| SightingFilter::parse(&query(pairs), ZONE).unwrap_err();
    let three = [("south", "1"), ("west", "2"), ("north", "3")];
    assert_eq!(refused(&three), SearchError::Area);
    let nan = [
        ("south", "NaN"),
        ("west", "2"),
        ("north", "3"),
        ("east", "4"),
    ];
    assert_eq!(refused(&nan), SearchError::Area);
    let upside_down = [
        ("south", "50"),
        ("west", "2"),
        ("north", "3"),
        ("east", "4"),
    ];
    assert_eq!(refused(&upside_down), SearchError::AreaRange);
    let off_globe = [
        ("south", "-91"),
        ("west", "2"),
        ("north", "3"),
        ("east", "4"),
    ];
    assert_eq!(refused(&off_globe), SearchError::AreaRange);
}

#[test]
fn a_case_finds_the_sightings_proposed_or_confirmed_for_it_not_rejected_ones() {
    let desk = desk();
    let state = &desk.state;
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
        missing_since: "2026-02-01".into(),
        last_seen_district: "Haidian".into(),
        last_seen_lat: 39.96,
        last_seen_lon: 116.30,
        marks: "none".into(),
        police_reference: Some("2026-HD-1234".into()),
        private_notes: None,
    };
    for number in ["C-1", "C-2"] {
        state.create_case(&chen, number, &details).unwrap();
    }
    let decide = |id, case, decision| {
        state
            .decide_candidate(&ana, case, id, decision, Some("why"))
            .unwrap();
    };
    decide(STATION, "C-1", Decision::PossibleMatch);
    decide(CORRECTED, "C-1", Decision::PossibleMatch);
    decide(MARKET, "C-1", Decision::PossibleMatch);
    decide(SURE, "C-1", Decision::NotThisChild);
    decide(PERCENT, "C-2", Decision::PossibleMatch);
    state
        .review_link(&bo, "C-1", CORRECTED, LinkReview::Confirmed, "same coat")
        .unwrap();
    state
        .review_link(&bo, "C-1", MARKET, LinkReview::Rejected, "not her")
        .unwrap();
    assert_eq!(found(&desk, &[("case", "C-1")]), [STATION, CORRECTED]);
    assert_eq!(found(&desk, &[("case", "C-2")]), [PERCENT]);
    assert_eq!(found(&desk, &[("case", "C-404")]), [""; 0]);
    // With the status: the one awaiting its second reviewer.
    let waiting = [("case", "C-1"), ("triage", "possible_match")];
    assert_eq!(found(&desk, &waiting), [STATION]);
    for bad in ["C 1", "C-1'--", &"C".repeat(41)] {
        assert_eq!(
            SightingFilter::parse(&query(&[("case", bad)]), ZONE),
            Err(SearchError::Case),
            "{bad:?}"
        );
    }
}

#[test]
fn every_criterion_together_narrows_to_what_meets_them_all() {
    let desk = desk();
    let state = &desk.state;
    let ana = state.add_reviewer("ana", PASSWORD, Role::Reviewer).unwrap();
    let row = state.sighting(MARKET).unwrap();
    state
        .change_triage(&ana, MARKET, row.version, Triage::InReview, None)
        .unwrap();
    assert_eq!(found(&desk, &[("triage", "in_review")]), [MARKET]);
    assert_eq!(found(&desk, &[("triage", "new")]).len(), 6);
    let europe = [
        ("south", "40"),
        ("west", "-10"),
        ("north", "60"),
        ("east", "20"),
    ];
    let all = [
        &europe[..],
        &[
            ("text", "GIRL"),
            ("id", "aaaa"),
            ("from", "2026-03-02"),
            ("to", "2026-03-02"),
            ("triage", "in_review"),
        ],
    ]
    .concat();
    assert_eq!(found(&desk, &all), [MARKET]);
    // Any one of them not met: nothing.
    for (field, other) in [
        ("text", "station"),
        ("id", "bbbb"),
        ("from", "2026-03-03"),
        ("triage", "new"),
    ] {
        let mut pairs = all.clone();
        // Dates apart, as a reviewer would change them (never first after last).
        pairs.retain(|(name, _)| *name != field && (field != "from" || *name != "to"));
        pairs.push((field, other));
        assert_eq!(found(&desk, &pairs), [""; 0], "{field}={other}");
    }
    // Paged like the list.
    let (page, total) = state.search(&filter(&[("text", "the")]), 1, 1).unwrap();
    assert_eq!((page.len(), total), (1, 3));
}

#[test]
fn limits_are_checked_and_the_search_is_described_for_the_audit() {
    let long = "字".repeat(201);
    assert_eq!(
        SightingFilter::parse(&query(&[("text", &long)]), ZONE),
        Err(SearchError::TextTooLong)
    );
    assert!(SightingFilter::parse(&query(&[("text", &long[3..])]), ZONE).is_ok());
    assert_eq!(
        SightingFilter::parse(&query(&[("triage", "bogus")]), ZONE),
        Err(SearchError::Triage("bogus".into()))
    );
    assert_eq!(
        SightingFilter::parse(&query(&[("from", "2026-03-02")]), "Not/AZone"),
        Err(SearchError::Zone("Not/AZone".into()))
    );
    let described = filter(&[("text", "a \"boy\""), ("from", "2026-03-02")]);
    assert_eq!(
        described.describe(),
        r#"text="a \"boy\"" from="2026-03-02""#
    );
}
