//! A desk with published cases, for the tests of the bulletin feed (intake and phone).

use std::path::Path;

use sighting_core::wire::bulletin::Sex;
use sighting_desk::state::{CaseDetails, DeskState, Reviewer, Role};

/// A case's details, last seen at `(lat, lon)`, vetted (police reference set).
pub fn case_details(lat: f64, lon: f64) -> CaseDetails {
    CaseDetails {
        first_name: "Ana".into(),
        sex: Sex::Girl,
        date_of_birth: None,
        age_when_missing: 9,
        missing_since: "2026-06-01".into(),
        last_seen_district: "Centrum".into(),
        last_seen_lat: lat,
        last_seen_lon: lon,
        marks: "limps on the right leg".into(),
        police_reference: Some("2026-AMS-77".into()),
        private_notes: None,
    }
}

/// A desk in `dir` with one published case `C-<i>` per place, and its case manager.
pub fn desk_with_cases(dir: &Path, places: &[(f64, f64)]) -> (DeskState, Reviewer) {
    let desk = DeskState::open(dir).unwrap();
    let cm = desk
        .add_reviewer("chen", "a long desk password", Role::CaseManager)
        .unwrap();
    let photo = sighting_desk::bulletins::case_photo(&super::fixture("gps/DSCN0012.jpg")).unwrap();
    for (i, (lat, lon)) in places.iter().enumerate() {
        let number = format!("C-{i}");
        let c = desk
            .create_case(&cm, &number, &case_details(*lat, *lon))
            .unwrap();
        let c = desk.record_family_consent(&cm, &number, c.version).unwrap();
        let c = desk
            .add_case_photo(&cm, &number, c.version, &photo)
            .unwrap();
        desk.publish_case(&cm, &number, c.version).unwrap();
    }
    (desk, cm)
}
