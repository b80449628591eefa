//! What the reviewers' API answers, as types: a sighting with what its report says, a page of
//! them, one with its history, and the map's points.

use serde::Serialize;

use crate::gcj02::MapLink;
use crate::sightings::Sighting;
use crate::state::{AuditEntry, MapPoint, Triage, TriageRow};

/// A sighting for the page: the desk's triage with what the report says, and the statuses it
/// may move to from here (a report that failed verification never to a lead).
#[derive(Debug, Serialize)]
pub(super) struct SightingView {
    pub triage: TriageRow,
    pub report: Option<Sighting>,
    /// Where a reviewer opens the place: Amap in GCJ-02 inside mainland China, else OSM.
    pub map: Option<MapLink>,
    pub next: Vec<Triage>,
}

impl SightingView {
    pub fn new(row: TriageRow, report: Option<Sighting>) -> Self {
        // A case's link (possible match, linked) moves only on the case's page.
        let next = Triage::ALL
            .into_iter()
            .filter(|t| row.triage.can_become(*t) && (row.verified || !t.is_lead()))
            .filter(|t| !t.needs_case() && row.triage != Triage::PossibleMatch)
            .collect();
        let map = report
            .as_ref()
            .and_then(|r| Some(MapLink::for_point(r.lat?, r.lon?)));
        SightingView {
            triage: row,
            report,
            map,
            next,
        }
    }
}

/// One page of the list, and how many match in all.
#[derive(Debug, Serialize)]
pub(super) struct Page {
    pub total: u64,
    pub offset: u64,
    pub items: Vec<SightingView>,
}

/// One sighting with its audit trail; whether the case its reporter named is in the register
/// (only when one is named: a number the register does not have is shown as such).
#[derive(Debug, Serialize)]
pub(super) struct Detail {
    #[serde(flatten)]
    pub view: SightingView,
    pub audit: Vec<AuditEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_known: Option<bool>,
}

/// Every located sighting under a filter: `[id, lat, lon, triage, same_photo]` each.
#[derive(Debug, Serialize)]
pub(super) struct MapPoints {
    pub points: Vec<MapPoint>,
}
