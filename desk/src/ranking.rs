//! Candidates for a case: every verified sighting weighed against what the desk knows of the
//! missing child, with the reasons for each weight shown beside it. A ranking to decide where a
//! reviewer looks first, never a decision: the reviewer compares the photos and records one.
//!
//! The weights, and why:
//! - the reporter said "this may be case N" (+100): the strongest hint there is, a human who saw
//!   the bulletin and the child; naming another case is a weak hint against (−10);
//! - sex seen against the case (+15 fits, −40 differs): rarely misjudged;
//! - age band seen against the child's expected age at the sighting (the date of birth, else
//!   the age when missing plus the years since), ±1 year for a stranger's estimate (+15 / −40);
//! - where, for every case age: +20 at the last-seen place, falling with the log of the
//!   distance measured against how far a child may have been taken by then (50 km on the day,
//!   5 km more a day, at most 200 km): 3 km scores +20, 50 km on the day +3, Shanghai from
//!   Beijing months later −24, another continent −47 or less. So a sighting 3,000 km or more
//!   away (taken as another continent) scores below zero whatever the reporter saw, and is never
//!   listed above one within 50 km (the same city) unless its reporter linked it to the case. A
//!   place no one could have reached by road (20 km plus 80 km/h since the day of disappearance)
//!   is named as such;
//! - a sighting from before the day the child went missing cannot be of the missing child (−100);
//! - a visible injury or disability the reporter saw, against marks that name one (+15), or none
//!   seen where the marks name one (−5: it may have been hidden);
//! - the same photo sent twice (or re-encoded) is one candidate, with the other reports named.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sighting_core::report::{AgeBand, Sex};
use time::{Date, OffsetDateTime};

use sighting_core::bulletins::distance_m;

use super::sightings::Sighting;
use super::state::{CaseRow, DecisionRow};

/// Candidates listed per case at most.
pub const MAX_CANDIDATES: usize = 100;
/// Points for a sighting at the last-seen place, and how fast they fall per unit of log-distance.
const AT_LAST_SEEN_POINTS: f64 = 20.0;
const POINTS_PER_LOG_KM: f64 = 24.0;
/// How far a child may have been taken by the day of the sighting: the distance scale.
const SPREAD_BASE_KM: f64 = 50.0;
const SPREAD_KM_PER_DAY: f64 = 5.0;
const SPREAD_MAX_KM: f64 = 200.0;
/// From here on, a sighting is taken to be on another continent.
pub const CONTINENT_KM: f64 = 3000.0;
const REACH_BASE_KM: f64 = 20.0;
const REACH_KM_PER_HOUR: f64 = 80.0;
/// Words in a case's marks that name something a passer-by can see (English and Chinese).
const VISIBLE_MARKS: &[&str] = &[
    "injur",
    "wound",
    "scar",
    "burn",
    "limp",
    "cast",
    "crutch",
    "wheelchair",
    "disab",
    "missing",
    "amput",
    "blind",
    "deaf",
    "bandage",
    "伤",
    "疤",
    "烧",
    "瘸",
    "跛",
    "残",
    "拐",
    "轮椅",
    "盲",
    "聋",
    "缺",
];

/// Why a candidate is where it is. The page words each kind in Chinese and English, and so
/// does [`Reason::words`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    LinkedByReporter,
    LinkedToAnotherCase { case_number: String },
    SexFits,
    SexDiffers { seen: Sex },
    AgeFits { expected: i64, seen: AgeBand },
    AgeDiffers { expected: i64, seen: AgeBand },
    FromLastSeen { km: u32 },
    OutOfReach { km: u32, days: i64 },
    SeenBeforeMissing,
    InjuryFitsMarks,
    NoInjuryButMarks,
}

impl Reason {
    /// The weight, given the points the distance is worth.
    fn weight(&self, distance_points: i32) -> i32 {
        match self {
            Reason::LinkedByReporter => 100,
            Reason::LinkedToAnotherCase { .. } => -10,
            Reason::SexFits | Reason::AgeFits { .. } | Reason::InjuryFitsMarks => 15,
            Reason::SexDiffers { .. } | Reason::AgeDiffers { .. } => -40,
            Reason::FromLastSeen { .. } | Reason::OutOfReach { .. } => distance_points,
            Reason::SeenBeforeMissing => -100,
            Reason::NoInjuryButMarks => -5,
        }
    }
}

/// One sighting (or one photo sent several times) weighed against a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub sighting_id: String,
    pub score: i32,
    pub reasons: Vec<Reason>,
    /// Other reports of the same photo (sent twice, or re-encoded), merged into this one.
    pub same_photo: Vec<String>,
    /// From where the child was last seen, unrounded: the nearer of two equal scores goes first.
    #[serde(skip)]
    km: Option<f64>,
}

impl Candidate {
    /// On another continent and not linked by its reporter: listed below every other.
    fn far_and_unlinked(&self) -> bool {
        self.km.is_some_and(|km| km >= CONTINENT_KM)
            && !self.reasons.contains(&Reason::LinkedByReporter)
    }
}

/// The candidates for `case` among `sightings`, best first (equal scores nearer first; an
/// unlinked sighting on another continent after every other), at most [`MAX_CANDIDATES`]: those
/// with a positive score, every sighting the reporter linked to this case, and every one in
/// `keep` (a reviewer decided on it), whatever their score.
pub fn rank<S: std::borrow::Borrow<Sighting>>(
    case: &CaseRow,
    sightings: impl IntoIterator<Item = S>,
    keep: &BTreeSet<&str>,
) -> Vec<Candidate> {
    let facts = CaseFacts::of(case);
    let mut by_photo: BTreeMap<String, Candidate> = BTreeMap::new();
    for s in sightings {
        let s = s.borrow();
        if s.status != "verified" {
            continue;
        }
        let candidate = weigh(&facts, s);
        let linked = candidate.reasons.contains(&Reason::LinkedByReporter);
        if candidate.score <= 0 && !linked && !keep.contains(s.id.as_str()) {
            continue;
        }
        let key = s.same_photo.clone().unwrap_or_else(|| s.id.clone());
        match by_photo.get_mut(&key) {
            Some(kept) if kept.score >= candidate.score => kept.same_photo.push(s.id.clone()),
            Some(kept) => {
                let mut same = std::mem::take(&mut kept.same_photo);
                same.push(kept.sighting_id.clone());
                *kept = Candidate {
                    same_photo: same,
                    ..candidate
                };
            }
            None => {
                by_photo.insert(key, candidate);
            }
        }
    }
    let mut ranked: Vec<Candidate> = by_photo.into_values().collect();
    let km = |c: &Candidate| c.km.unwrap_or(f64::INFINITY);
    ranked.sort_by(|a, b| {
        a.far_and_unlinked()
            .cmp(&b.far_and_unlinked())
            .then_with(|| b.score.cmp(&a.score))
            .then_with(|| km(a).total_cmp(&km(b)))
            .then_with(|| a.sighting_id.cmp(&b.sighting_id))
    });
    // Decided ones stay listed past the cut: a decision is never out of sight.
    let mut listed = 0;
    ranked.retain(|c| {
        listed += 1;
        listed <= MAX_CANDIDATES || keep.contains(c.sighting_id.as_str())
    });
    ranked
}

/// The candidates for `case` with each one's latest reviewer decision; every sighting decided
/// on stays listed, whatever its score (the desk's case page and `case … candidates`).
pub fn rank_with_decisions<S: std::borrow::Borrow<Sighting>>(
    case: &CaseRow,
    sightings: impl IntoIterator<Item = S>,
    decisions: &[DecisionRow],
) -> Vec<(Candidate, Option<DecisionRow>)> {
    let decided: BTreeSet<&str> = decisions.iter().map(|d| d.sighting_id.as_str()).collect();
    rank(case, sightings, &decided)
        .into_iter()
        .map(|c| {
            let decision = decisions.iter().find(|d| d.sighting_id == c.sighting_id);
            (c, decision.cloned())
        })
        .collect()
}

/// What ranking uses of a case, parsed once.
struct CaseFacts<'a> {
    number: &'a str,
    sex: Sex,
    born: Option<Date>,
    age_when_missing: i64,
    missing_since: Option<Date>,
    last_seen: (f64, f64),
    visible_marks: bool,
}

impl<'a> CaseFacts<'a> {
    fn of(case: &'a CaseRow) -> Self {
        let d = &case.details;
        let date = time::macros::format_description!("[year]-[month]-[day]");
        let marks = d.marks.to_lowercase();
        CaseFacts {
            number: &case.number,
            sex: d.sex,
            born: d
                .date_of_birth
                .as_deref()
                .and_then(|t| Date::parse(t, &date).ok()),
            age_when_missing: i64::from(d.age_when_missing),
            missing_since: Date::parse(&d.missing_since, &date).ok(),
            last_seen: (d.last_seen_lat, d.last_seen_lon),
            visible_marks: VISIBLE_MARKS.iter().any(|w| marks.contains(w)),
        }
    }

    /// Whole years old on `day`.
    fn age_on(&self, day: Date) -> Option<i64> {
        let years = |from: Date| {
            let mut y = i64::from(day.year() - from.year());
            if (day.month() as u8, day.day()) < (from.month() as u8, from.day()) {
                y -= 1;
            }
            y
        };
        match (self.born, self.missing_since) {
            (Some(born), _) => Some(years(born)),
            (None, Some(since)) => Some(self.age_when_missing + years(since).max(0)),
            (None, None) => None,
        }
    }
}

fn weigh(case: &CaseFacts, s: &Sighting) -> Candidate {
    let mut reasons = Vec::new();
    let seen = s.observations.clone().unwrap_or_default();
    match seen.case_number.as_deref() {
        Some(n) if n == case.number => reasons.push(Reason::LinkedByReporter),
        Some(n) => reasons.push(Reason::LinkedToAnotherCase {
            case_number: n.to_string(),
        }),
        None => {}
    }
    match seen.sex {
        // "Unknown" on either side says nothing.
        Some(sex) if sex != Sex::Unknown && case.sex != Sex::Unknown => {
            reasons.push(if sex == case.sex {
                Reason::SexFits
            } else {
                Reason::SexDiffers { seen: sex }
            });
        }
        _ => {}
    }
    let when = s.time();
    let day = when.map(OffsetDateTime::date);
    if let (Some(band), Some(expected)) = (seen.age_band, day.and_then(|d| case.age_on(d))) {
        let (lo, hi) = band_years(band);
        reasons.push(if (lo - 1..=hi + 1).contains(&expected) {
            Reason::AgeFits {
                expected,
                seen: band,
            }
        } else {
            Reason::AgeDiffers {
                expected,
                seen: band,
            }
        });
    }
    if let (Some(day), Some(since)) = (day, case.missing_since) {
        if day < since {
            reasons.push(Reason::SeenBeforeMissing);
        }
    }
    let km = match (s.lat, s.lon) {
        (Some(lat), Some(lon)) => Some(distance_m((lat, lon), case.last_seen) / 1e3),
        _ => None,
    }
    .filter(|km| km.is_finite());
    let elapsed = match (when, case.missing_since) {
        (Some(when), Some(since)) => Some(when - since.midnight().assume_utc()),
        _ => None,
    };
    let mut distance_points = 0;
    if let Some(km) = km {
        let hours = elapsed.map(|e| e.as_seconds_f64().max(0.0) / 3600.0);
        distance_points = distance_weight(km, hours.map(|h| h / 24.0));
        let reach = hours.map(|h| REACH_BASE_KM + REACH_KM_PER_HOUR * h);
        reasons.push(match (reach, elapsed) {
            (Some(reach), Some(elapsed)) if km > reach => Reason::OutOfReach {
                km: km as u32,
                days: elapsed.whole_days(),
            },
            _ => Reason::FromLastSeen { km: km as u32 },
        });
    }
    match seen.injury_or_disability {
        Some(true) if case.visible_marks => reasons.push(Reason::InjuryFitsMarks),
        Some(false) if case.visible_marks => reasons.push(Reason::NoInjuryButMarks),
        _ => {}
    }
    Candidate {
        sighting_id: s.id.clone(),
        score: reasons.iter().map(|r| r.weight(distance_points)).sum(),
        reasons,
        same_photo: Vec::new(),
        km,
    }
}

/// The points a sighting `km` from the last-seen place is worth, `days` after the child went
/// missing (unknown: the widest spread). Never rises with the distance.
fn distance_weight(km: f64, days: Option<f64>) -> i32 {
    let spread = days.map_or(SPREAD_MAX_KM, |d| {
        (SPREAD_BASE_KM + SPREAD_KM_PER_DAY * d.max(0.0)).min(SPREAD_MAX_KM)
    });
    (AT_LAST_SEEN_POINTS - POINTS_PER_LOG_KM * (km / spread).ln_1p()).round() as i32
}

/// The years an age band covers.
fn band_years(band: AgeBand) -> (i64, i64) {
    match band {
        AgeBand::Under5 => (0, 4),
        AgeBand::From5To9 => (5, 9),
        AgeBand::From10To13 => (10, 13),
        AgeBand::From14To17 => (14, 17),
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
mod words;
