//! Searching the sightings: one filter for the list, the map and the exports alike, by the
//! reporter's note, an id's start, when the photo was taken, the map's area, a case's link and
//! the status. Every value a reviewer typed is checked before any query runs.
//!
//! What it costs at 100,000 reports (a 49 MB `desk.sqlite3` of 100,000 reports with notes,
//! timed with `sqlite3`'s `.timer on` on this project's 2-core machine under a load of 5; CPU
//! seconds, user + sys, for the count and a page of 50): a status 0.05 + 0.02; an id's start,
//! a day's captures, a city-sized map area, a case: under 0.01 each, walking an index (see
//! [`SightingFilter`]); a word in the notes reads every note, as `LIKE '%…%'` cannot use an
//! index: 0.3 + 0.35, and 0.3 + 0.5 when every note matches (the page sorts them all, as the
//! unfiltered list does: 0.2 + 0.25). An export reads each match once, on its own read-only
//! connection, so a long download never holds the desk's connection.

use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OpenFlags};
use serde::Deserialize;

use super::audit_log::AuditLine;
use super::reports::{read_sighting, MapPoint, COLUMNS};
use super::{row, DeskState, Reviewer, StateError, Triage, TriageRow};
use crate::sightings::Sighting;

/// Characters of note text searched for at most.
pub const MAX_SEARCH_TEXT: usize = 200;

/// A search as the page sends it: every field text, as typed (empty: not given).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SearchQuery {
    pub triage: Option<String>,
    /// Words in the reporter's note.
    pub text: Option<String>,
    /// An id's start, as the list shows ids.
    pub id: Option<String>,
    /// Capture dates `YYYY-MM-DD`, in the desk's time zone, both included.
    pub from: Option<String>,
    pub to: Option<String>,
    /// The map's bounds, in degrees (WGS-84).
    pub south: Option<String>,
    pub west: Option<String>,
    pub north: Option<String>,
    pub east: Option<String>,
    /// Sightings proposed as a possible match for this case, or linked to it.
    pub case: Option<String>,
}

/// Why a search was refused: the field, and what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("the text searched for is at most {MAX_SEARCH_TEXT} characters")]
    TextTooLong,
    #[error("an id's start is 1 to 36 of 0-9, a-f and '-'")]
    IdPrefix,
    #[error("{field}: {value:?} is not a date (YYYY-MM-DD)")]
    Date { field: &'static str, value: String },
    #[error("the first capture date is after the last")]
    DatesReversed,
    #[error("the map's area needs south, west, north and east, each a number of degrees")]
    Area,
    #[error("the map's area is south ≤ north within ±90°, west and east within ±540°")]
    AreaRange,
    #[error("a case number is 1 to 40 letters, digits, '-' or '_'")]
    Case,
    #[error("{0:?} is not a triage status")]
    Triage(String),
    #[error("the desk's time zone {0:?} is unknown")]
    Zone(String),
}

impl SearchError {
    /// A stable code for the page: which field to fix.
    pub fn code(&self) -> &'static str {
        match self {
            SearchError::TextTooLong => "search_text",
            SearchError::IdPrefix => "search_id",
            SearchError::Date { .. } | SearchError::DatesReversed => "search_dates",
            SearchError::Area | SearchError::AreaRange => "search_area",
            SearchError::Case => "search_case",
            SearchError::Triage(_) => "search_triage",
            SearchError::Zone(_) => "search_zone",
        }
    }
}

/// A map area: south ≤ north; west to east eastwards, across the antimeridian when west >
/// east (after both are brought into -180..180); the whole round when it spans 360° or more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

/// What to show of the sightings. Built only by [`SightingFilter::parse`] (or
/// [`SightingFilter::status`]), so every value in it was checked. Criteria and their indexes:
/// status `sightings_by_triage`; an id's start the sightings' key (a range of it); capture
/// dates `sightings_newest_first` (the sightings' capture time is the corrected one where
/// known, else the phone's); the map's area `reports_by_place`; a case `candidate_decisions`'
/// key; the note none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SightingFilter {
    triage: Option<Triage>,
    text: Option<String>,
    id_prefix: Option<String>,
    /// Unix ms: from (included), until (excluded).
    from_ms: Option<i64>,
    until_ms: Option<i64>,
    area: Option<Area>,
    case: Option<String>,
    /// The query as given, for the audit log.
    described: String,
}

/// A field given: trimmed, and not empty.
fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl SightingFilter {
    /// Only one status, or all.
    pub fn status(triage: Option<Triage>) -> Self {
        Self {
            triage,
            described: triage.map(|t| format!("triage={t}")).unwrap_or_default(),
            ..Self::default()
        }
    }

    /// Checks a search as typed; dates are days in `zone` (an IANA name).
    pub fn parse(query: &SearchQuery, zone: &str) -> Result<Self, SearchError> {
        let triage = given(&query.triage)
            .map(|t| t.parse().map_err(|_| SearchError::Triage(t.into())))
            .transpose()?;
        let text = match query.text.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(t) if t.chars().count() > MAX_SEARCH_TEXT => return Err(SearchError::TextTooLong),
            t => t.map(str::to_string),
        };
        let id_prefix = given(&query.id)
            .map(|id| {
                let hex = |c: char| c.is_ascii_hexdigit() || c == '-';
                match id.len() <= 36 && id.chars().all(hex) {
                    true => Ok(id.to_ascii_lowercase()),
                    false => Err(SearchError::IdPrefix),
                }
            })
            .transpose()?;
        let zone_of = || jiff::tz::TimeZone::get(zone).map_err(|_| SearchError::Zone(zone.into()));
        // A day's start in the desk's zone; `to` includes its whole day.
        let day = |field: &'static str, value: Option<&str>, next: bool| {
            let Some(value) = value else {
                return Ok(None);
            };
            let bad = || SearchError::Date {
                field,
                value: value.into(),
            };
            let date: jiff::civil::Date = value.parse().map_err(|_| bad())?;
            let date = if next {
                date.tomorrow().map_err(|_| bad())?
            } else {
                date
            };
            let start = date.to_zoned_datetime(zone_of()?).map_err(|_| bad())?;
            Ok::<_, SearchError>(Some(start.timestamp().as_millisecond()))
        };
        let from_ms = day("from", given(&query.from), false)?;
        let until_ms = day("to", given(&query.to), true)?;
        if matches!((from_ms, until_ms), (Some(from), Some(until)) if from >= until) {
            return Err(SearchError::DatesReversed);
        }
        let area = area(query)?;
        let case = given(&query.case)
            .map(|c| match sighting_core::report::is_case_number(c) {
                true => Ok(c.to_string()),
                false => Err(SearchError::Case),
            })
            .transpose()?;
        let fields = [
            ("triage", &query.triage),
            ("text", &query.text),
            ("id", &query.id),
            ("from", &query.from),
            ("to", &query.to),
            ("south", &query.south),
            ("west", &query.west),
            ("north", &query.north),
            ("east", &query.east),
            ("case", &query.case),
        ];
        let described = fields
            .iter()
            .filter_map(|(name, value)| Some(format!("{name}={:?}", given(value)?)))
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Self {
            triage,
            text,
            id_prefix,
            from_ms,
            until_ms,
            area,
            case,
            described,
        })
    }

    /// The filter as it was given, in one line (`text="station" from="2026-12-01"`).
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// `FROM … WHERE …` over sightings `s` and their reports `r`, and its values in order.
    fn matching(&self) -> (String, Vec<Value>) {
        self.matching_from(
            "FROM sightings s LEFT JOIN reports r ON r.id = s.id
             LEFT JOIN reviewers v ON v.id = s.assignee",
        )
    }

    /// [`Self::matching`] without the joins where no condition needs the report: SQLite keeps
    /// a join it need not make in a count (10,000 in review counted in 31 ms, 0.7 without).
    fn matching_sightings(&self) -> (String, Vec<Value>) {
        match self.text.is_none() && self.area.is_none() {
            true => self.matching_from("FROM sightings s"),
            false => self.matching(),
        }
    }

    /// [`Self::matching`] over the reports that have a place: SQLite may then read them from
    /// the index `reports_on_the_map` alone, in id order (the map's 100,000 points in 50 ms,
    /// where joining each sighting to its report's row took 500).
    fn matching_located(&self) -> (String, Vec<Value>) {
        let (sql, values) = self.matching_from(
            "FROM reports r JOIN sightings s ON s.id = r.id
             LEFT JOIN reviewers v ON v.id = s.assignee",
        );
        (
            format!("{sql} AND r.lat IS NOT NULL AND r.lon IS NOT NULL"),
            values,
        )
    }

    fn matching_from(&self, from: &str) -> (String, Vec<Value>) {
        let mut clauses = Vec::new();
        let mut values = Vec::new();
        if let Some(triage) = self.triage {
            clauses.push("s.triage = ?");
            values.push(Value::Text(triage.as_str().into()));
        }
        if let Some(prefix) = &self.id_prefix {
            // Ids are lower-case hex and '-', all below '~': a range of the key.
            clauses.push("s.id >= ? AND s.id < ?");
            values.push(Value::Text(prefix.clone()));
            values.push(Value::Text(format!("{prefix}~")));
        }
        if let Some(text) = &self.text {
            // `%` and `_` typed are themselves, not wildcards; LIKE folds ASCII letters' case.
            let escaped = text
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            clauses.push("r.note LIKE ? ESCAPE '\\'");
            values.push(Value::Text(format!("%{escaped}%")));
        }
        if let Some(from) = self.from_ms {
            clauses.push("s.captured_at_ms >= ?");
            values.push(Value::Integer(from));
        }
        if let Some(until) = self.until_ms {
            clauses.push("s.captured_at_ms < ?");
            values.push(Value::Integer(until));
        }
        if let Some(area) = self.area {
            clauses.push("r.lat BETWEEN ? AND ?");
            values.extend([Value::Real(area.south), Value::Real(area.north)]);
            if area.east - area.west < 360.0 {
                let (west, east) = (wrap(area.west), wrap(area.east));
                clauses.push(match west <= east {
                    true => "r.lon BETWEEN ? AND ?",
                    false => "(r.lon >= ? OR r.lon <= ?)",
                });
                values.extend([Value::Real(west), Value::Real(east)]);
            }
        }
        if let Some(case) = &self.case {
            // Proposed and awaiting a second reviewer, or confirmed: not a rejected link.
            // The decisions' key (case first) finds them; each sighting by its key.
            clauses.push(
                "s.id IN (SELECT d.sighting_id FROM candidate_decisions d
                    WHERE d.case_number = ? AND d.decision = 'possible_match'
                    AND d.review IS NOT 'rejected')",
            );
            values.push(Value::Text(case.clone()));
        }
        let sql = format!(
            "{from} WHERE {}",
            if clauses.is_empty() {
                "1".into()
            } else {
                clauses.join(" AND ")
            }
        );
        (sql, values)
    }
}

/// A longitude brought into -180..180.
fn wrap(lon: f64) -> f64 {
    (lon + 180.0).rem_euclid(360.0) - 180.0
}

/// The map's area, when all four sides are given; none of them, no area.
fn area(query: &SearchQuery) -> Result<Option<Area>, SearchError> {
    let sides = [&query.south, &query.west, &query.north, &query.east].map(given);
    if sides.iter().all(Option::is_none) {
        return Ok(None);
    }
    let mut degrees = [0.0; 4];
    for (side, value) in sides.iter().zip(&mut degrees) {
        *value = side
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|d| d.is_finite())
            .ok_or(SearchError::Area)?;
    }
    let [south, west, north, east] = degrees;
    let lat = -90.0..=90.0;
    // Leaflet's bounds run past ±180° when the world repeats on the screen.
    let lon = -540.0..=540.0;
    let lat_ok = lat.contains(&south) && lat.contains(&north) && south <= north;
    if !(lat_ok && lon.contains(&west) && lon.contains(&east) && west <= east) {
        return Err(SearchError::AreaRange);
    }
    Ok(Some(Area {
        south,
        west,
        north,
        east,
    }))
}

/// The list's order: newest first by capture time (corrected where known), the same time
/// latest received first, those with no time (not opened) last — SQLite sorts NULL below
/// every value, so last when descending. Spelled as the indexes `sightings_newest_first` and
/// `sightings_by_triage_newest_first` are, so a page is read from an index in order.
const NEWEST_FIRST: &str =
    "ORDER BY s.captured_at_ms DESC, s.received_at_ms DESC, s.opened_at_ms DESC, s.id";

/// The ids on a page of the rows `matching` names (its last two parameters: the page's size and
/// offset). Ids alone: the rows skipped to reach a deep page are read from the index, not
/// joined to their reports and reviewers first (that took 170 ms a page at 100,000 reports).
fn page_sql(matching: &str) -> String {
    format!("SELECT s.id {matching} {NEWEST_FIRST} LIMIT ? OFFSET ?")
}

/// The map's points that `matching` names (from [`SightingFilter::matching_located`]).
fn map_sql(matching: &str) -> String {
    format!("SELECT r.id, r.lat, r.lon, s.triage, r.same_photo {matching} ORDER BY r.id")
}

impl DeskState {
    /// A page of the sightings `filter` lets through, newest first, and how many there are.
    pub fn search(
        &self,
        filter: &SightingFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<TriageRow>, u64), StateError> {
        let (matching, mut values) = filter.matching_sightings();
        let conn = self.conn();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) {matching}"),
            params_from_iter(&values),
            |r| r.get(0),
        )?;
        let sql = page_sql(&matching);
        values.push(Value::Integer(limit.min(i64::MAX as u64) as i64));
        values.push(Value::Integer(offset.min(i64::MAX as u64) as i64));
        let ids = conn
            .prepare_cached(&sql)?
            .query_map(params_from_iter(&values), |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut rows = Vec::with_capacity(ids.len());
        for id in ids {
            // Read in the same snapshot as the ids: the lock is held throughout.
            rows.extend(row(&conn, &id)?);
        }
        Ok((rows, total.max(0) as u64))
    }

    /// Every located sighting `filter` lets through, for the map, in the order of their ids
    /// (the map clusters them; it needs no other).
    pub fn map_points(&self, filter: &SightingFilter) -> Result<Vec<MapPoint>, StateError> {
        let (matching, values) = filter.matching_located();
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&map_sql(&matching))?;
        let rows = stmt.query_map(params_from_iter(&values), |r| {
            let triage: String = r.get(3)?;
            let group: Option<i64> = r.get(4)?;
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, triage, group))
        })?;
        let mut points = Vec::new();
        for row in rows {
            let (id, lat, lon, triage, group) = row?;
            points.push(MapPoint(
                id,
                lat,
                lon,
                parse_triage(&triage)?,
                group.map(|n| format!("P{n}")),
            ));
        }
        Ok(points)
    }

    /// Each report `filter` lets through with its status, newest first, one at a time, read on
    /// a connection of its own (a slow download holds no one up); stops when `each` says so.
    pub fn each_match(
        &self,
        filter: &SightingFilter,
        mut each: impl FnMut(Sighting, Triage) -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        let conn = self.reader()?;
        let (matching, values) = filter.matching();
        let columns = COLUMNS
            .split(',')
            .map(|c| format!("r.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT {columns}, s.triage {matching} AND r.id IS NOT NULL {NEWEST_FIRST}"
        ))?;
        let mut rows = stmt.query(params_from_iter(&values))?;
        let triage_column = COLUMNS.split(',').count();
        while let Some(r) = rows.next()? {
            let triage = parse_triage(&r.get::<_, String>(triage_column)?)?;
            if !each(read_sighting(r, false)?, triage)? {
                break;
            }
        }
        Ok(())
    }

    /// One audit line for an export of the list: who, the format, and the search.
    pub fn audit_export(
        &self,
        by: &Reviewer,
        format: &str,
        filter: &SightingFilter,
    ) -> Result<(), StateError> {
        let search = Some(filter.describe()).filter(|d| !d.is_empty());
        AuditLine::reviewer(by.id, "export")
            .change(None, Some(format))
            .note(search)
            .write(&self.conn())?;
        Ok(())
    }

    /// A read-only connection of its own to `desk.sqlite3` (WAL: it reads one snapshot while
    /// the desk goes on writing).
    fn reader(&self) -> Result<Connection, StateError> {
        let path = self
            .conn()
            .path()
            .map(std::path::PathBuf::from)
            .ok_or_else(|| StateError::Corrupt("the desk database has no file".into()))?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(conn)
    }
}

fn parse_triage(text: &str) -> Result<Triage, StateError> {
    text.parse::<Triage>()
        .map_err(|e| StateError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests;
