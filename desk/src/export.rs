//! The desk's exports, rewritten from the `reports` table when a run changed something, one
//! report at a time (a desk of 100,000 reports holds one in memory while it writes):
//!
//! - `sightings.json`: every report as the desk recorded it, with its manifest.
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

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::sightings::Sighting;
use super::state::DeskState;

/// Writes every export of `sightings`.
pub fn write_all(out: &Path, sightings: &[Sighting]) -> anyhow::Result<()> {
    let mut exports = Exports::create(out)?;
    for s in sightings {
        exports.add(s)?;
    }
    exports.finish()
}

/// Writes every export of the reports `state` records.
pub fn write_from(out: &Path, state: &DeskState) -> anyhow::Result<()> {
    let mut exports = Exports::create(out)?;
    state.each_report(true, |s| exports.add(&s))?;
    exports.finish()
}

/// One export file being written: a temporary file (0600), renamed over the old one at the end.
struct Part {
    path: PathBuf,
    temp: PathBuf,
    file: BufWriter<fs::File>,
}

impl Part {
    fn create(path: PathBuf) -> std::io::Result<Self> {
        // Beside it, under its whole name: the exports share a stem.
        let mut temp = path.clone().into_os_string();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = BufWriter::new(options.open(&temp)?);
        Ok(Part { path, temp, file })
    }

    fn finish(self) -> std::io::Result<()> {
        self.file
            .into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()?;
        fs::rename(self.temp, self.path)
    }
}

/// Every export, written in one pass over the reports.
struct Exports {
    json: Part,
    geojson: Part,
    gcj02: Part,
    csv: csv::Writer<Part>,
    no_location: csv::Writer<Part>,
    page: Part,
    reports: usize,
    features: usize,
}

impl std::io::Write for Part {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

pub(crate) const GEOJSON_START: &str = "{\"type\": \"FeatureCollection\", \"features\": [\n";

impl Exports {
    fn create(out: &Path) -> anyhow::Result<Self> {
        let part = |name: &str| Part::create(out.join(name));
        let (page_start, _) = PAGE
            .split_once(PAGE_DATA)
            .expect("the page has a data slot");
        let mut exports = Exports {
            json: part("sightings.json")?,
            geojson: part("sightings.geojson")?,
            gcj02: part("sightings-gcj02.geojson")?,
            csv: csv::Writer::from_writer(part("sightings.csv")?),
            no_location: csv::Writer::from_writer(part("sightings-no-location.csv")?),
            page: part("index.html")?,
            reports: 0,
            features: 0,
        };
        exports.json.write_all(b"[")?;
        exports.geojson.write_all(GEOJSON_START.as_bytes())?;
        exports.gcj02.write_all(b"{\"datum\": \"GCJ-02\", ")?;
        exports.gcj02.write_all(&GEOJSON_START.as_bytes()[1..])?;
        exports.csv.write_record(CSV_HEADER)?;
        exports.no_location.write_record(CSV_HEADER)?;
        write!(exports.page, "{page_start}[")?;
        Ok(exports)
    }

    fn add(&mut self, s: &Sighting) -> anyhow::Result<()> {
        let comma = if self.reports > 0 { "," } else { "" };
        write!(self.json, "{comma}\n{}", serde_json::to_string_pretty(s)?)?;
        write!(
            self.page,
            "{comma}{}",
            script_safe(&serde_json::to_string(s)?)
        )?;
        csv_row(&mut self.csv, s)?;
        if s.status == "verified" && s.lat.is_none() {
            csv_row(&mut self.no_location, s)?;
        }
        if let Some(feature) = feature(s) {
            let comma = if self.features > 0 { ",\n" } else { "" };
            write!(self.geojson, "{comma}{feature}")?;
            write!(self.gcj02, "{comma}{}", to_gcj02(feature))?;
            self.features += 1;
        }
        self.reports += 1;
        Ok(())
    }

    fn finish(mut self) -> anyhow::Result<()> {
        let (_, page_end) = PAGE
            .split_once(PAGE_DATA)
            .expect("the page has a data slot");
        self.json.write_all(b"\n]\n")?;
        self.geojson.write_all(b"\n]}\n")?;
        self.gcj02.write_all(b"\n]}\n")?;
        write!(self.page, "]{page_end}")?;
        self.json.finish()?;
        self.geojson.finish()?;
        self.gcj02.finish()?;
        self.csv
            .into_inner()
            .map_err(|e| e.into_error())?
            .finish()?;
        self.no_location
            .into_inner()
            .map_err(|e| e.into_error())?
            .finish()?;
        self.page.finish()?;
        Ok(())
    }
}

/// A located, verified report as a GeoJSON Point feature.
pub(crate) fn feature(s: &Sighting) -> Option<Value> {
    if s.status != "verified" {
        return None;
    }
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
}

/// A feature with its point in GCJ-02.
fn to_gcj02(mut feature: Value) -> Value {
    let point = &mut feature["geometry"]["coordinates"];
    if let (Some(lon), Some(lat)) = (point[0].as_f64(), point[1].as_f64()) {
        let (lat, lon) = super::gcj02::from_wgs84(lat, lon);
        *point = json!([lon, lat]);
    }
    feature
}

pub fn geojson(sightings: &[Sighting]) -> Value {
    let features: Vec<Value> = sightings.iter().filter_map(feature).collect();
    json!({"type": "FeatureCollection", "features": features})
}

/// [`geojson`] with every point in GCJ-02.
pub fn geojson_gcj02(sightings: &[Sighting]) -> Value {
    let features: Vec<Value> = sightings.iter().filter_map(feature).map(to_gcj02).collect();
    json!({"type": "FeatureCollection", "features": features, "datum": "GCJ-02"})
}

pub(crate) const CSV_HEADER: [&str; 14] = [
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

/// One report as a CSV row.
fn csv_row(w: &mut csv::Writer<Part>, s: &Sighting) -> anyhow::Result<()> {
    w.write_record(csv_record(s))?;
    Ok(())
}

/// One report's cells, in [`CSV_HEADER`]'s order.
pub(crate) fn csv_record(s: &Sighting) -> [String; 14] {
    // Every text column goes through the rule; numbers (a negative longitude) do not.
    let text = |v: &Option<String>| csv_cell(v.as_deref().unwrap_or_default());
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    [
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
    ]
}

/// The review page: the data inline as JSON, the script and styles inline, photos from
/// `reports/<id>/photo.jpg` beside it. Its Content-Security-Policy forbids every network fetch,
/// so nothing can leave the reviewer's machine even if the data held a URL.
pub fn page(sightings: &[Sighting]) -> anyhow::Result<String> {
    let data = script_safe(&serde_json::to_string(sightings)?);
    Ok(PAGE.replace(PAGE_DATA, &data))
}

/// JSON text safe inside a `<script>` element: inside one the HTML parser looks for
/// `</script`, and `<!--` sends it into states where the page's own script is swallowed, so no
/// `<`, `>` or `&` may appear raw. They (and U+2028/U+2029, line ends to older JavaScript
/// parsers) only occur inside JSON strings, where the \u escapes mean the same characters.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Where the page's data goes.
const PAGE_DATA: &str = "/*DATA*/[]";

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
