//! Bulletins on the phone: the missing-child cases the organisation published for the regions
//! this phone cares about, kept encrypted at rest, listed nearest first, hidden once the feed
//! has expired. The feed's format is [`crate::wire::bulletin`]; fetching it is the sync
//! engine's (`Syncer::refresh_bulletins`); this module is what the phone keeps and shows.
//!
//! What the phone shows is the organisation's published case and its safety line, never a
//! comparison: nothing here looks at the reporter's photos.

mod store;

pub use store::{BulletinStore, BulletinStoreError, HeldFeed};

use time::OffsetDateTime;

use crate::wire::bulletin::{Case, SafetyLine};
use crate::wire::region_tile::RegionTile;

/// Where the phone's copy of the feed stands.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedStatus {
    /// No feed was ever fetched (or none is published).
    NotFetched,
    Current {
        version: u64,
        issued_at: OffsetDateTime,
        expires_at: OffsetDateTime,
    },
    /// The feed is past its expiry: its cases are hidden and their photos deleted until a
    /// refresh brings a current one.
    Expired {
        version: u64,
        expired_at: OffsetDateTime,
    },
}

/// A published case and how far its last-seen place is from the phone.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyCase {
    pub case: Case,
    /// Metres from `near` (computed on the phone); `None` when no position was given.
    pub distance_m: Option<f64>,
}

/// What the "Missing children" list shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Bulletins {
    pub status: FeedStatus,
    /// Do not approach, do not confront; report in the app. Shown with every case.
    pub safety_line: Option<SafetyLine>,
    /// Nearest first when a position is given, else by case number.
    pub cases: Vec<NearbyCase>,
}

/// The tiles a phone at `(lat, lon)` asks for: its cell and the eight around it.
pub fn regions_near(lat: f64, lon: f64) -> Vec<RegionTile> {
    RegionTile::at(lat, lon)
        .map(RegionTile::with_neighbours)
        .unwrap_or_default()
}

/// Great-circle distance in metres (haversine on a sphere of the mean Earth radius: right to
/// well under a percent). The phone sorts bulletins by it; the desk groups and ranks with it.
pub fn distance_m((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// Sorts cases nearest first (by number without a position, and to break ties).
pub fn nearest_first(cases: Vec<Case>, near: Option<(f64, f64)>) -> Vec<NearbyCase> {
    let mut cases: Vec<NearbyCase> = cases
        .into_iter()
        .map(|case| NearbyCase {
            distance_m: near.map(|p| distance_m(p, (case.last_seen.lat, case.last_seen.lon))),
            case,
        })
        .collect();
    cases.sort_by(|a, b| {
        let by_distance = match (a.distance_m, b.distance_m) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => std::cmp::Ordering::Equal,
        };
        by_distance.then_with(|| a.case.number.cmp(&b.case.number))
    });
    cases
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_of_known_city_pairs() {
        // Beijing to Shanghai is about 1,067 km; Amsterdam to itself is 0.
        let beijing = (39.9042, 116.4074);
        let shanghai = (31.2304, 121.4737);
        let km = distance_m(beijing, shanghai) / 1000.0;
        assert!((1060.0..1075.0).contains(&km), "{km}");
        assert_eq!(distance_m((52.37, 4.9), (52.37, 4.9)), 0.0);
        // Across the antimeridian: 2° of longitude on the equator, about 222 km.
        let km = distance_m((0.0, 179.0), (0.0, -179.0)) / 1000.0;
        assert!((221.0..224.0).contains(&km), "{km}");
        // One degree along a meridian: 111,195 m; Amsterdam Centraal → Dam Square, about 850 m.
        let d = distance_m((0.0, 0.0), (1.0, 0.0));
        assert!((d - 111_195.0).abs() < 1.0, "{d}");
        let d = distance_m((52.3791, 4.9003), (52.3731, 4.8926));
        assert!((820.0..880.0).contains(&d), "{d}");
    }

    #[test]
    fn a_phone_asks_for_nine_cells_around_it_and_none_off_the_globe() {
        let names: Vec<String> = regions_near(39.9, 116.4)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names.len(), 9);
        assert!(names.contains(&"25-59".to_string()));
        assert!(regions_near(f64::NAN, 0.0).is_empty());
    }
}
