//! The desk's exports, rewritten on every run from `sightings.json`:
//!
//! - `sightings.geojson`: RFC 7946 §3.3 "A FeatureCollection object has a member with the name
//!   "features" [...] an array. Each element of the array is a Feature object"; §3.1.1 "A
//!   position is an array of numbers [...] The first two elements are longitude and latitude".
//!   One Point per located, verified report.
//! - `sightings-gcj02.geojson`: the same points in GCJ-02 ([`super::gcj02`]), for the map
//!   services of mainland China; marked with a `"datum": "GCJ-02"` member (RFC 7946 §6.1 allows
//!   foreign members) so no one mistakes it for WGS-84.
//! - `sightings-no-location.csv`: verified reports without a location, and why.
//! - `sightings.csv`: one row per report, failed ones included (RFC 4180 quoting, by `csv`).
//! - `index.html`: the review page, one self-contained file that works offline from the folder.

use std::path::Path;

use serde_json::{json, Value};

use super::sightings::Sighting;
use super::write_private;

pub fn write_all(out: &Path, sightings: &[Sighting]) -> anyhow::Result<()> {
    write_private(
        &out.join("sightings.geojson"),
        &serde_json::to_vec_pretty(&geojson(sightings))?,
    )?;
    write_private(
        &out.join("sightings-gcj02.geojson"),
        &serde_json::to_vec_pretty(&geojson_gcj02(sightings))?,
    )?;
    write_csv(&out.join("sightings.csv"), sightings.iter())?;
    write_csv(
        &out.join("sightings-no-location.csv"),
        sightings
            .iter()
            .filter(|s| s.status == "verified" && s.lat.is_none()),
    )?;
    write_private(&out.join("index.html"), page(sightings)?.as_bytes())?;
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
                    "same_photo": s.same_photo,
                    "received_at": s.received_at,
                },
            }))
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

/// [`geojson`] with every point in GCJ-02.
pub fn geojson_gcj02(sightings: &[Sighting]) -> Value {
    let mut collection = geojson(sightings);
    if let Some(features) = collection["features"].as_array_mut() {
        for feature in features {
            let point = &mut feature["geometry"]["coordinates"];
            if let (Some(lon), Some(lat)) = (point[0].as_f64(), point[1].as_f64()) {
                let (lat, lon) = super::gcj02::from_wgs84(lat, lon);
                *point = json!([lon, lat]);
            }
        }
    }
    collection["datum"] = json!("GCJ-02");
    collection
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
    "same_photo",
    "note",
    "file",
];

/// OWASP, *CSV Injection*: a cell beginning with `=`, `+`, `-`, `@`, tab or carriage return is
/// read as a formula by spreadsheet programs, so such a cell is prefixed with a single quote.
/// A cell that already begins with a quote gets one more, so a program that knows the rule
/// reads every cell back exactly by dropping one leading quote ([`csv_cell_value`]).
pub fn csv_cell(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\'') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// The value of a text cell written by [`csv_cell`].
pub fn csv_cell_value(cell: &str) -> &str {
    cell.strip_prefix('\'').unwrap_or(cell)
}

fn write_csv<'a>(path: &Path, rows: impl Iterator<Item = &'a Sighting>) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    let mut w = csv::Writer::from_writer(&mut buffer);
    w.write_record(CSV_HEADER)?;
    // Every text column goes through the rule; numbers (a negative longitude) do not.
    let text = |v: &Option<String>| csv_cell(v.as_deref().unwrap_or_default());
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for s in rows {
        w.write_record([
            csv_cell(&s.id),
            csv_cell(&s.status),
            text(&s.reason),
            text(&s.captured_at),
            text(&s.corrected_captured_at),
            s.clock_skew_s.map(|v| v.to_string()).unwrap_or_default(),
            text(&s.received_at),
            num(s.lat),
            num(s.lon),
            num(s.accuracy_m),
            text(&s.location_missing),
            text(&s.same_photo),
            text(&s.note),
            csv_cell(&s.file),
        ])?;
    }
    w.flush()?;
    drop(w);
    write_private(path, &buffer)?;
    Ok(())
}

/// The review page: the data inline as JSON, the script and styles inline, photos from
/// `reports/<id>/photo.jpg` beside it. Its Content-Security-Policy forbids every network fetch,
/// so nothing can leave the reviewer's machine even if the data held a URL.
pub fn page(sightings: &[Sighting]) -> anyhow::Result<String> {
    // Inside a <script> element the HTML parser looks for `</script`, and `<!--` sends it into
    // states where the page's own script is swallowed: no `<`, `>` or `&` may appear raw. They
    // (and U+2028/U+2029, line ends to older JavaScript parsers) only occur inside JSON
    // strings, where the \u escapes mean the same characters.
    let data = serde_json::to_string(sightings)?
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    Ok(PAGE.replace("/*DATA*/[]", &data))
}

const PAGE: &str = include_str!("review.html");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gcj02_export_moves_points_in_china_only_and_says_so() {
        let at = |id: &str, lat: f64, lon: f64| Sighting {
            status: "verified".into(),
            reason: None,
            lat: Some(lat),
            lon: Some(lon),
            ..Sighting::failed(id.into(), format!("reports/{id}.age"), String::new())
        };
        let sightings = [
            at("beijing", 39.915, 116.404),
            at("amsterdam", 52.3791, 4.9003),
        ];
        let (wgs, gcj) = (geojson(&sightings), geojson_gcj02(&sightings));
        assert_eq!(gcj["datum"], "GCJ-02");
        assert!(wgs.get("datum").is_none());
        let point = |c: &Value, i: usize| c["features"][i]["geometry"]["coordinates"].clone();
        assert_eq!(point(&wgs, 0), json!([116.404, 39.915]));
        let moved = point(&gcj, 0);
        assert!((moved[0].as_f64().unwrap() - 116.41024449916938).abs() < 1e-9);
        assert!((moved[1].as_f64().unwrap() - 39.91640428150164).abs() < 1e-9);
        assert_eq!(
            point(&gcj, 1),
            point(&wgs, 1),
            "outside China nothing moves"
        );
    }

    #[test]
    fn formula_cells_are_neutralised_and_read_back_exactly() {
        for text in [
            "=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "'=x", "'", "plain", "",
        ] {
            let cell = csv_cell(text);
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
            assert_eq!(csv_cell_value(&cell), text);
        }
    }

    #[test]
    fn embedded_json_has_no_raw_markup_characters() {
        let mut s = Sighting::failed("x".into(), "f".into(), "r".into());
        s.note = Some("<!--<script>&\u{2028}\u{2029}</script>".into());
        let html = page(&[s.clone()]).unwrap();
        let data = &html[html.find("type=\"application/json\">").unwrap()..];
        let data = &data[data.find('>').unwrap() + 1..data.find("</script>").unwrap()];
        assert!(
            !data.contains(['<', '>', '&', '\u{2028}', '\u{2029}']),
            "{data}"
        );
        let back: Vec<Sighting> = serde_json::from_str(data).unwrap();
        assert_eq!(back, vec![s]);
    }
}
