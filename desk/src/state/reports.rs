//! One record per report: the `reports` table of `desk.sqlite3`. `open` records each report
//! here once (opened, or failed with its reason); the list, the map, the detail view, ranking,
//! lead packages, `prune` and the exports read it with SQL, so the desk holds no report in
//! memory but the ones a request needs. `OUT/sightings.json` is an export of this table; a
//! state from before the table had it as the desk's record and it is imported once.

use std::path::Path;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::{DeskState, StateError, Triage};
use crate::receipts::ReceiptCheck;
use crate::sightings::Sighting;

/// A report's id: the UUID the phone gave it, the name the intake keeps it under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(pub Uuid);

impl std::fmt::Display for ReportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl std::str::FromStr for ReportId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(ReportId)
    }
}

impl ToSql for ReportId {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_string()))
    }
}

impl FromSql for ReportId {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        value
            .as_str()?
            .parse()
            .map_err(|e| FromSqlError::Other(Box::new(e)))
    }
}

/// Why a report did not open, kept as a stable code (the words are kept beside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    NotForUs,
    Decrypt,
    Bundle,
    Manifest,
    Signature,
    PhotoHash,
    IdMismatch,
    Duplicate,
}

impl FailureReason {
    const ALL: [FailureReason; 8] = [
        Self::NotForUs,
        Self::Decrypt,
        Self::Bundle,
        Self::Manifest,
        Self::Signature,
        Self::PhotoHash,
        Self::IdMismatch,
        Self::Duplicate,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::NotForUs => "not_for_us",
            Self::Decrypt => "decrypt",
            Self::Bundle => "bundle",
            Self::Manifest => "manifest",
            Self::Signature => "signature",
            Self::PhotoHash => "photo_hash",
            Self::IdMismatch => "id_mismatch",
            Self::Duplicate => "duplicate",
        }
    }

    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reason a desk before the table recorded only in words (its `OpenError` text).
    pub fn from_words(words: &str) -> Self {
        let starts = |prefix: &str| words.starts_with(prefix);
        match () {
            _ if words == crate::OpenError::NotForUs.to_string() => Self::NotForUs,
            _ if starts("the bundle is malformed") => Self::Bundle,
            _ if starts("the manifest is invalid") => Self::Manifest,
            _ if starts("the manifest signature") => Self::Signature,
            _ if starts("photo.jpg does not match") => Self::PhotoHash,
            _ if starts("the manifest's id") => Self::IdMismatch,
            _ if starts("a report with id") => Self::Duplicate,
            // Corrupt, tampered, unreadable: the ciphertext did not give a report.
            _ => Self::Decrypt,
        }
    }
}

impl From<&crate::OpenError> for FailureReason {
    fn from(e: &crate::OpenError) -> Self {
        use crate::OpenError as E;
        match e {
            E::NotForUs => Self::NotForUs,
            E::Decrypt(_) => Self::Decrypt,
            E::Bundle(_) => Self::Bundle,
            E::Manifest(_) => Self::Manifest,
            E::Signature => Self::Signature,
            E::PhotoHash => Self::PhotoHash,
            E::IdMismatch { .. } => Self::IdMismatch,
            E::Duplicate(_) => Self::Duplicate,
        }
    }
}

/// One located sighting on the map: `[id, lat, lon, triage, same_photo]` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MapPoint(
    pub ReportId,
    pub f64,
    pub f64,
    pub Triage,
    pub Option<String>,
);

/// The columns a [`Sighting`] is read from, in [`read_sighting`]'s order.
pub(super) const COLUMNS: &str =
    "id, file, opened, failure, failure_detail, captured_at_ms, utc_offset_s,
    corrected_at_ms, clock_skew_s, received_at_ms, lat, lon, accuracy_m, location_source,
    location_missing, same_photo, perceptual_hash, receipt, note, details_json, device_key";

/// A time kept as milliseconds (and the phone's UTC offset) as the RFC 3339 text it was.
fn text_time(ms: Option<i64>, offset_s: Option<i32>) -> Option<String> {
    let offset = UtcOffset::from_whole_seconds(offset_s.unwrap_or(0)).ok()?;
    sighting_core::millis::to_time(ms?)?
        .to_offset(offset)
        .format(&Rfc3339)
        .ok()
}

fn parse_time(text: Option<&str>) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text?, &Rfc3339).ok()
}

/// Tags and observations, kept together as JSON.
#[derive(Serialize, Deserialize)]
struct Details {
    tags: std::collections::BTreeMap<String, serde_json::Value>,
    observations: Option<sighting_core::report::Observations>,
}

pub(super) fn read_sighting(r: &Row<'_>, with_manifest: bool) -> rusqlite::Result<Sighting> {
    let id: ReportId = r.get(0)?;
    let opened: bool = r.get(2)?;
    let failure: Option<String> = r.get(3)?;
    let offset: Option<i32> = r.get(6)?;
    let skew: Option<i64> = r.get(8)?;
    let receipt: Option<String> = r.get(17)?;
    let receipt = receipt.as_deref().and_then(|code| {
        [
            ReceiptCheck::Verified,
            ReceiptCheck::NotVerified,
            ReceiptCheck::Unchecked,
        ]
        .into_iter()
        .find(|c| super::upkeep::receipt_code(*c) == code)
    });
    let details: Option<String> = r.get(19)?;
    let details: Option<Details> = details.and_then(|d| serde_json::from_str(&d).ok());
    let hash: Option<i64> = r.get(16)?;
    let manifest: Option<String> = match with_manifest {
        true => r.get(21)?,
        false => None,
    };
    let mut s = Sighting::failed(id.to_string(), r.get(1)?, String::new());
    s.status = if opened { "verified" } else { "failed" }.into();
    s.failure = failure.as_deref().and_then(FailureReason::from_code);
    s.reason = r.get(4)?;
    s.captured_at = text_time(r.get(5)?, offset);
    s.corrected_captured_at = text_time(r.get(7)?, offset);
    s.clock_skew_s = skew;
    s.clock_flagged = skew.is_some_and(|skew| skew.abs() > crate::sightings::SKEW_FLAG_S);
    s.received_at = text_time(r.get(9)?, None);
    (s.lat, s.lon, s.accuracy_m) = (r.get(10)?, r.get(11)?, r.get(12)?);
    s.location_source = r.get(13)?;
    s.location_missing = r.get(14)?;
    s.same_photo = r.get::<_, Option<i64>>(15)?.map(|n| format!("P{n}"));
    s.perceptual_hash = hash.map(|h| format!("{:016x}", h as u64));
    if let Some(check) = receipt {
        s.set_receipt(check);
    }
    s.note = r.get(18)?;
    if let Some(details) = details {
        (s.tags, s.observations) = (details.tags, details.observations);
    }
    s.device_key = r.get(20)?;
    s.manifest = manifest.and_then(|m| serde_json::from_str(&m).ok());
    Ok(s)
}

/// Records one report (a new one, or a failed one tried again), replacing what was there.
pub(crate) fn put(conn: &Connection, s: &Sighting) -> Result<(), StateError> {
    let id: ReportId =
        s.id.parse()
            .map_err(|_| StateError::Corrupt(format!("report id {:?} is not a UUID", s.id)))?;
    let captured = parse_time(s.captured_at.as_deref());
    let corrected = parse_time(s.corrected_captured_at.as_deref());
    let ms = |t: Option<OffsetDateTime>| t.map(sighting_core::millis::from_time);
    let failure = s.failure.or_else(|| match s.status.as_str() {
        "verified" => None,
        _ => Some(FailureReason::from_words(s.reason.as_deref().unwrap_or(""))),
    });
    let details = serde_json::to_string(&Details {
        tags: s.tags.clone(),
        observations: s.observations.clone(),
    })
    .map_err(|e| StateError::Corrupt(e.to_string()))?;
    let hash = s
        .perceptual_hash
        .as_deref()
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .map(|h| h as i64);
    let receipt = s.receipt.map(super::upkeep::receipt_code);
    let same_photo = s
        .same_photo
        .as_deref()
        .and_then(|p| p.strip_prefix('P')?.parse::<i64>().ok());
    conn.prepare_cached(
        "INSERT OR REPLACE INTO reports (id, file, opened, failure, failure_detail,
            captured_at_ms, utc_offset_s, corrected_at_ms, clock_skew_s, received_at_ms, lat, lon,
            accuracy_m, location_source, location_missing, same_photo, perceptual_hash, receipt,
            note, details_json, device_key, manifest_json, recorded_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
                 ?19, ?20, ?21, ?22, ?23)",
    )?
    .execute(params![
        id,
        s.file,
        s.status == "verified",
        failure.map(FailureReason::code),
        s.reason,
        ms(captured),
        captured.map(|t| t.offset().whole_seconds()),
        ms(corrected),
        s.clock_skew_s,
        s.received_time().map(sighting_core::millis::from_time),
        s.lat,
        s.lon,
        s.accuracy_m,
        s.location_source,
        s.location_missing,
        same_photo,
        hash,
        receipt,
        s.note,
        details,
        s.device_key,
        s.manifest.as_ref().map(|m| m.to_string()),
        sighting_core::millis::now(),
    ])?;
    Ok(())
}

/// The order exports list reports in: by capture time (corrected where known), then id.
const EXPORT_ORDER: &str = "ORDER BY COALESCE(corrected_at_ms, captured_at_ms) IS NOT NULL,
    COALESCE(corrected_at_ms, captured_at_ms), id";

impl DeskState {
    /// What the desk knows of one report, with its manifest.
    pub fn report(&self, id: &str) -> Result<Option<Sighting>, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS}, manifest_json FROM reports WHERE id = ?1"
        ))?;
        Ok(stmt
            .query_row([id], |r| read_sighting(r, true))
            .optional()?)
    }

    /// The reports with these ids, without their manifests (a list page).
    pub fn reports(&self, ids: &[&str]) -> Result<Vec<Sighting>, StateError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM reports WHERE id = ?1"))?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(s) = stmt
                .query_row([id], |r| read_sighting(r, false))
                .optional()?
            {
                found.push(s);
            }
        }
        Ok(found)
    }

    /// Every report in export order, one at a time (with manifests when asked), so a desk of
    /// 100,000 reports holds one.
    pub fn each_report(
        &self,
        with_manifest: bool,
        mut each: impl FnMut(Sighting) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let conn = self.conn();
        let manifest = if with_manifest { ", manifest_json" } else { "" };
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS}{manifest} FROM reports {EXPORT_ORDER}"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            each(read_sighting(r, with_manifest)?)?;
        }
        Ok(())
    }

    /// Reads the opened reports one at a time, without manifests (ranking every report for a
    /// case holds one).
    pub fn with_opened_reports<T>(
        &self,
        read: impl FnOnce(&mut dyn Iterator<Item = Sighting>) -> T,
    ) -> Result<T, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM reports WHERE opened"))?;
        let mut failed = None;
        let rows = stmt.query_map([], |r| read_sighting(r, false))?;
        let mut rows = rows.map_while(|r| r.map_err(|e| failed = Some(e)).ok());
        let read = read(&mut rows);
        match failed {
            Some(e) => Err(e.into()),
            None => Ok(read),
        }
    }

    /// Every report, in export order, with manifests (the command-line tools' view).
    pub fn all_reports(&self) -> anyhow::Result<Vec<Sighting>> {
        let mut all = Vec::new();
        self.each_report(true, |s| {
            all.push(s);
            Ok(())
        })?;
        Ok(all)
    }

    /// Whether the sealed file `file` (relative to the data directory) was opened.
    pub fn is_opened(&self, file: &str) -> Result<bool, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT 1 FROM reports WHERE file = ?1 AND opened")?;
        Ok(stmt.exists([file])?)
    }

    /// Whether a report with this id was opened (a forgery reusing its id may not replace it).
    pub fn is_opened_id(&self, id: &str) -> Result<bool, StateError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT 1 FROM reports WHERE id = ?1 AND opened")?;
        Ok(stmt.exists([id])?)
    }

    /// Records reports as `open` found them (each replacing a failed record of the same id)
    /// and their triage rows, in one transaction.
    pub fn record_reports(&self, reports: &[Sighting]) -> Result<usize, StateError> {
        {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            for s in reports {
                // A report that failed under the id of one opened before (a forgery reusing
                // it) is reported by `open`, never recorded over the one opened.
                let opened_before = tx
                    .prepare_cached("SELECT 1 FROM reports WHERE id = ?1 AND opened")?
                    .exists([&s.id])?;
                if s.status == "verified" || !opened_before {
                    put(&tx, s)?;
                }
            }
            tx.commit()?;
        }

        let opened: Vec<super::OpenedReport<'_>> = reports.iter().map(opened_report).collect();
        self.record_opened(&opened)
    }

    /// Imports `sightings.json` once: the record of a desk from before the table.
    pub(super) fn import_sightings_json(&self, out: &Path) -> Result<(), StateError> {
        let imported: bool =
            self.conn()
                .query_row("SELECT COUNT(*) FROM sightings_json_import", [], |r| {
                    r.get::<_, i64>(0)
                })?
                > 0;
        if imported {
            return Ok(());
        }
        let old = match std::fs::read(out.join("sightings.json")) {
            Ok(bytes) => serde_json::from_slice::<Vec<Sighting>>(&bytes)
                .map_err(|e| StateError::Corrupt(format!("sightings.json: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        // A failed file whose name was no report id is tried again by `open`, not imported.
        let (old, not_ids): (Vec<_>, Vec<_>) =
            old.into_iter().partition(|s| s.id.parse::<Uuid>().is_ok());
        for s in &not_ids {
            tracing::warn!(file = %s.file, "not imported: its name is not a report id");
        }
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for s in &old {
            put(&tx, s)?;
        }
        tx.execute(
            "INSERT INTO sightings_json_import (at_ms, reports) VALUES (?1, ?2)",
            params![sighting_core::millis::now(), old.len() as i64],
        )?;
        tx.commit()?;
        drop(conn);
        let opened: Vec<super::OpenedReport<'_>> = old.iter().map(opened_report).collect();
        self.record_opened(&opened)?;
        Ok(())
    }
}

/// A report's triage row as `record_opened` takes it.
fn opened_report(s: &Sighting) -> super::OpenedReport<'_> {
    super::OpenedReport {
        id: &s.id,
        verified: s.status == "verified",
        failure: s.reason.as_deref(),
        captured_at_ms: s.time().map(sighting_core::millis::from_time),
        received_at_ms: s.received_time().map(sighting_core::millis::from_time),
    }
}
