//! The desk's exports, rewritten on every run from `sightings.json`:
//!
//! - `sightings.geojson`: RFC 7946 §3.3 "A FeatureCollection object has a member with the name
//!   "features" [...] an array. Each element of the array is a Feature object"; §3.1.1 "A
//!   position is an array of numbers [...] The first two elements are longitude and latitude".
//!   One Point per located, verified report.
//! - `sightings-no-location.csv`: verified reports without a location, and why.
//! - `sightings.csv`: one row per report, failed ones included (RFC 4180 quoting, by `csv`).
//! - `index.html`: the review page, one self-contained file that works offline from the folder.

use std::path::Path;

use serde_json::{json, Value};

use super::sightings::Sighting;

pub fn write_all(out: &Path, sightings: &[Sighting]) -> anyhow::Result<()> {
    std::fs::write(
        out.join("sightings.geojson"),
        serde_json::to_vec_pretty(&geojson(sightings))?,
    )?;
    write_csv(&out.join("sightings.csv"), sightings.iter())?;
    write_csv(
        &out.join("sightings-no-location.csv"),
        sightings
            .iter()
            .filter(|s| s.status == "verified" && s.lat.is_none()),
    )?;
    std::fs::write(out.join("index.html"), page(sightings)?)?;
    Ok(())
}

pub fn geojson(sightings: &[Sighting]) -> Value {
    let features: Vec<Value> = sightings
        .iter()
        .filter(|s| s.status == "verified")
        .filter_map(|s| {
            let (lat, lon) = (s.lat?, s.lon?);
            Some(json!({
                "type": "Feature",
                "id": s.id,
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "id": s.id,
                    "captured_at": s.captured_at,
                    "corrected_captured_at": s.corrected_captured_at,
                    "clock_skew_s": s.clock_skew_s,
                    "accuracy_m": s.accuracy_m,
                    "location_source": s.location_source,
                    "note": s.note,
                    "cluster": s.cluster,
                    "received_at": s.received_at,
                },
            }))
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

const CSV_HEADER: [&str; 14] = [
    "id",
    "status",
    "reason",
    "captured_at",
    "corrected_captured_at",
    "clock_skew_s",
    "received_at",
    "lat",
    "lon",
    "accuracy_m",
    "location_missing",
    "cluster",
    "note",
    "file",
];

fn write_csv<'a>(path: &Path, rows: impl Iterator<Item = &'a Sighting>) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(CSV_HEADER)?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for s in rows {
        w.write_record([
            s.id.clone(),
            s.status.clone(),
            text(&s.reason),
            text(&s.captured_at),
            text(&s.corrected_captured_at),
            s.clock_skew_s.map(|v| v.to_string()).unwrap_or_default(),
            text(&s.received_at),
            num(s.lat),
            num(s.lon),
            num(s.accuracy_m),
            text(&s.location_missing),
            text(&s.cluster),
            text(&s.note),
            s.file.clone(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// The review page: the data inline as JSON, the script and styles inline, photos from
/// `reports/<id>/photo.jpg` beside it. Its Content-Security-Policy forbids every network fetch,
/// so nothing can leave the reviewer's machine even if the data held a URL.
pub fn page(sightings: &[Sighting]) -> anyhow::Result<String> {
    // `</` cannot appear inside the script element: escape it in the JSON.
    let data = serde_json::to_string(sightings)?.replace("</", "<\\/");
    Ok(PAGE.replace("/*DATA*/[]", &data))
}

const PAGE: &str = include_str!("review.html");
