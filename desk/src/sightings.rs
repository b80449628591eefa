//! What the desk knows about every sealed report: one [`Sighting`] each, kept in the `reports`
//! table of `desk.sqlite3` ([`crate::state::reports`]) so that a re-run opens only reports it
//! has not seen (and exported to `OUT/sightings.json`); the phone's clock corrected where the
//! intake server's record allows it; the same photo sent more than once grouped.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sighting_core::report::{Manifest, ManifestLocation, Observations};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::receipts::ReceiptCheck;
use super::state::reports::FailureReason;
use sighting_core::wire::desk_feed::IntakeRecord;

mod groups;
pub use groups::same_photo_groups;

/// Two photos whose dHashes differ in at most this many of 64 bits show the same picture.
/// Tuned on the shared fixtures (`tests/desk.rs` prints the figures): the same photo
/// re-encoded at quality 60 and shrunk to 640 px stays within 1 bit; the closest two different
/// photos (two street scenes from one camera in one town) are 23 bits apart. 10 leaves room for
/// crops and filters on one side and for look-alike scenes on the other.
pub const PHASH_THRESHOLD: u32 = 10;
/// How far a child may plausibly move between two sightings: a brisk walk, plus the two fixes'
/// accuracy and a margin for where in a street a photo was taken.
const WALK_M_PER_S: f64 = 2.0;
const PLACE_MARGIN_M: f64 = 300.0;
/// A phone clock further off than this is flagged.
pub(crate) const SKEW_FLAG_S: i64 = 120;

/// One sealed report as the desk sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    /// The report id (a report that failed to open: its file name).
    pub id: String,
    /// The sealed file, relative to the data directory.
    pub file: String,
    /// `verified`, or `failed` with the reason.
    pub status: String,
    pub reason: Option<String>,
    /// Why it did not open, as a stable code (`reason` says it in words).
    #[serde(default)]
    pub failure: Option<FailureReason>,
    /// The phone's wall clock at the shutter (RFC 3339, with the phone's offset).
    pub captured_at: Option<String>,
    /// The capture time from the server's clock and the phone's monotonic clock (same boot),
    /// in the same offset; and how far the phone's wall clock was off (seconds, + = ahead).
    pub corrected_captured_at: Option<String>,
    pub clock_skew_s: Option<i64>,
    /// The phone's clock was more than 2 minutes off.
    pub clock_flagged: bool,
    pub received_at: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    pub location_source: Option<String>,
    /// Why there is no location (`permission_denied`, `no_fix`, …).
    pub location_missing: Option<String>,
    pub note: Option<String>,
    pub tags: BTreeMap<String, serde_json::Value>,
    /// "This may be case N" and what the reporter saw.
    #[serde(default)]
    pub observations: Option<Observations>,
    pub perceptual_hash: Option<String>,
    pub device_key: Option<String>,
    /// The whole manifest, for the detail view.
    pub manifest: Option<serde_json::Value>,
    /// The group of reports that carry the same photo (sent twice, or re-encoded): `P1`, `P2`,
    /// …; `None` when no other report does. Not a repeat sighting of one child: those come from
    /// case links and reviewers' decisions. (`cluster` in files written before the rename.)
    #[serde(alias = "cluster")]
    pub same_photo: Option<String>,
    /// The intake's receipt checked against the organisation's intake key (`None`: no intake
    /// record), and in words, both languages, why it cannot be relied on when it cannot.
    #[serde(default)]
    pub receipt: Option<ReceiptCheck>,
    #[serde(default)]
    pub receipt_warning: Option<String>,
}

impl Sighting {
    pub fn failed(id: String, file: String, reason: String) -> Self {
        Sighting {
            id,
            file,
            status: "failed".into(),
            reason: Some(reason),
            failure: None,
            captured_at: None,
            corrected_captured_at: None,
            clock_skew_s: None,
            clock_flagged: false,
            received_at: None,
            lat: None,
            lon: None,
            accuracy_m: None,
            location_source: None,
            location_missing: None,
            note: None,
            tags: BTreeMap::new(),
            observations: None,
            perceptual_hash: None,
            device_key: None,
            manifest: None,
            same_photo: None,
            receipt: None,
            receipt_warning: None,
        }
    }

    /// A report that did not open, and why.
    pub fn not_opened(id: String, file: String, error: &crate::OpenError) -> Self {
        let mut s = Sighting::failed(id, file, error.to_string());
        s.failure = Some(error.into());
        s
    }

    /// Records what the check of the intake receipt found, with words where it failed.
    pub fn set_receipt(&mut self, check: ReceiptCheck) {
        self.receipt = Some(check);
        self.receipt_warning = check.warning_text();
    }

    pub fn verified(
        file: String,
        manifest: &Manifest,
        manifest_json: &[u8],
        record: Option<&IntakeRecord>,
    ) -> Self {
        let mut s = Sighting::failed(manifest.id.to_string(), file, String::new());
        s.status = "verified".into();
        s.reason = None;
        s.captured_at = manifest.captured_at.format(&Rfc3339).ok();
        if let Some(corrected) = record.and_then(|r| corrected_capture_time(manifest, r)) {
            let corrected = corrected.to_offset(manifest.captured_at.offset());
            let skew = (manifest.captured_at - corrected).whole_seconds();
            s.corrected_captured_at = corrected.format(&Rfc3339).ok();
            s.clock_skew_s = Some(skew);
            s.clock_flagged = skew.abs() > SKEW_FLAG_S;
        }
        s.received_at = record.map(|r| r.receipt.received_at.clone());
        match &manifest.location {
            // A signed manifest is still a stranger's text: a position off the globe is flagged,
            // never exported as a point.
            ManifestLocation::Location(l) if !on_the_globe(l.lat, l.lon) => {
                s.location_missing = Some(INVALID_LOCATION.into());
            }
            ManifestLocation::Location(l) => {
                (s.lat, s.lon) = (Some(l.lat), Some(l.lon));
                s.accuracy_m = l.accuracy_m.filter(|a| a.is_finite() && *a >= 0.0);
                s.location_source = Some(l.source.clone());
            }
            ManifestLocation::LocationMissing { reason } => {
                s.location_missing = Some(reason.clone());
            }
        }
        s.note = manifest.details.note.clone();
        s.tags = manifest.details.tags.clone();
        s.observations = manifest.details.observations.clone();
        s.perceptual_hash = Some(manifest.perceptual_hash.clone());
        s.device_key = Some(manifest.device_key.clone());
        s.manifest = serde_json::from_slice(manifest_json).ok();
        s
    }

    /// The best capture time known: corrected if possible, else the phone's.
    pub fn time(&self) -> Option<OffsetDateTime> {
        let text = self
            .corrected_captured_at
            .as_ref()
            .or(self.captured_at.as_ref())?;
        OffsetDateTime::parse(text, &Rfc3339).ok()
    }

    /// When the intake received it, by the intake's clock.
    pub fn received_time(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(self.received_at.as_ref()?, &Rfc3339).ok()
    }
}

/// `location_missing` for a manifest whose coordinates are not a WGS-84 position.
pub const INVALID_LOCATION: &str = "invalid_coordinates";

fn on_the_globe(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

/// The true capture time: the server's time of the upload's POST, minus the phone's monotonic
/// time between the shutter and that POST. Only when both readings are from the same boot (the
/// boot tag the phone sent matches the manifest's boot id).
pub fn corrected_capture_time(
    manifest: &Manifest,
    record: &IntakeRecord,
) -> Option<OffsetDateTime> {
    let clock = record.device_clock?;
    // The phone put the same keyed boot tag in the manifest and in the upload's metadata.
    if clock.boot_tag_hex() != manifest.clock.boot_id || record.created_at_ms <= 0 {
        return None;
    }
    let since_capture = clock
        .ms_since_boot
        .checked_sub(manifest.clock.monotonic_ms_at_capture)?;
    let post = sighting_core::millis::to_time(record.created_at_ms)?;
    Some(post - time::Duration::milliseconds(i64::try_from(since_capture).ok()?))
}

/// Every report the desk at `out` recorded, with its manifest (the command-line tools' view;
/// the desk app reads the table a page at a time).
pub fn load(out: &Path) -> anyhow::Result<Vec<Sighting>> {
    super::state::DeskState::open(out)?.all_reports()
}

/// What grouping needs of one report: the photo's dHash, where and when it was taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotoFacts {
    pub hash: Option<u64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    /// The capture time (corrected where known), in Unix milliseconds.
    pub time_ms: Option<i64>,
}

impl PhotoFacts {
    pub fn of(s: &Sighting) -> Self {
        PhotoFacts {
            hash: s
                .perceptual_hash
                .as_deref()
                .and_then(|h| u64::from_str_radix(h, 16).ok()),
            lat: s.lat,
            lon: s.lon,
            accuracy_m: s.accuracy_m,
            time_ms: s.time().map(sighting_core::millis::from_time),
        }
    }
}

/// Groups verified reports that carry the same photo (dHash within [`PHASH_THRESHOLD`]: sent
/// twice, or re-encoded on the way) at a place and time one child could have moved between;
/// numbers the groups `P1`, `P2`, … by their first report. Reports without a location group on
/// the picture alone.
pub fn group_same_photos(sightings: &mut [Sighting]) {
    let facts: Vec<PhotoFacts> = sightings.iter().map(PhotoFacts::of).collect();
    for (s, group) in sightings.iter_mut().zip(same_photo_groups(&facts)) {
        s.same_photo = group.map(|k| format!("P{k}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hash: &str, lat: f64, lon: f64, time: &str) -> Sighting {
        let mut s = Sighting::failed("x".into(), "x".into(), String::new());
        s.status = "verified".into();
        s.perceptual_hash = Some(hash.into());
        (s.lat, s.lon, s.accuracy_m) = (Some(lat), Some(lon), Some(10.0));
        s.captured_at = Some(time.into());
        s
    }

    #[test]
    fn the_same_photo_close_in_place_and_time_is_one_group_far_is_not() {
        let mut s = vec![
            at("f0f0f0f0f0f0f0f0", 52.37, 4.90, "2026-11-01T10:00:00Z"),
            // Same picture (2 bits off), 1 km away an hour later: walkable.
            at("f0f0f0f0f0f0f0f3", 52.379, 4.90, "2026-11-01T11:00:00Z"),
            // Same picture, 60 km away ten minutes later: not the same child.
            at("f0f0f0f0f0f0f0f0", 52.90, 4.90, "2026-11-01T10:10:00Z"),
            // A different picture at the first place.
            at("0f0f0f0f0f0f0f0f", 52.37, 4.90, "2026-11-01T10:01:00Z"),
        ];
        group_same_photos(&mut s);
        let groups: Vec<_> = s.iter().map(|s| s.same_photo.as_deref()).collect();
        assert_eq!(groups, [Some("P1"), Some("P1"), None, None]);
    }
}
