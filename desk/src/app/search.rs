//! The list searched, and exported as the search shows it: `GET /api/export.csv?…` and
//! `/api/export.geojson?…` take the list's query ([`SearchQuery`]). An export is personal
//! data leaving the desk: one audit line names who took it and the search, written before the
//! first byte goes. The rows are read on a blocking thread and sent as they are written, a
//! chunk at a time, so a desk of 100,000 reports never holds its export in memory; a reviewer
//! who stops the download stops the reading.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use std::io::Write;

use super::error::ApiError;
use super::Desk;
use crate::export::{csv_record, feature, CSV_HEADER, GEOJSON_START};
use crate::lead::LeadConfig;
use crate::sightings::Sighting;
use crate::state::{Reviewer, SearchQuery, SightingFilter, Triage};

/// Bytes gathered before they are sent.
const CHUNK: usize = 64 << 10;
/// Chunks written ahead of a slow download at most.
const CHUNKS_AHEAD: usize = 4;

impl Desk {
    /// The IANA name of the zone the desk shows times (and takes dates) in.
    pub(super) fn zone_name(&self) -> String {
        match LeadConfig::load(&self.config.state) {
            Ok(config) => config.zone_name(),
            Err(e) => {
                tracing::warn!("lead settings unreadable, times shown in UTC: {e:#}");
                "UTC".into()
            }
        }
    }
}

/// The search a request names, checked; dates are days in the desk's zone (read from the lead
/// settings: on a blocking thread).
pub(super) fn filter(desk: &Desk, query: &SearchQuery) -> Result<SightingFilter, ApiError> {
    SightingFilter::parse(query, &desk.zone_name()).map_err(|e| ApiError::Refused {
        status: StatusCode::BAD_REQUEST,
        code: e.code(),
        detail: e.to_string(),
    })
}

#[derive(Clone, Copy)]
enum Format {
    Csv,
    GeoJson,
}

pub(super) async fn export_csv(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Query(search): Query<SearchQuery>,
) -> Response {
    export(desk, by, search, Format::Csv).await
}

pub(super) async fn export_geojson(
    State(desk): State<Arc<Desk>>,
    Extension(by): Extension<Reviewer>,
    Query(search): Query<SearchQuery>,
) -> Response {
    export(desk, by, search, Format::GeoJson).await
}

async fn export(desk: Arc<Desk>, by: Reviewer, search: SearchQuery, format: Format) -> Response {
    let (name, kind, file) = match format {
        Format::Csv => ("csv", "text/csv; charset=utf-8", "sightings.csv"),
        // RFC 7946 §12: GeoJSON's media type.
        Format::GeoJson => ("geojson", "application/geo+json", "sightings.geojson"),
    };
    let audited = desk
        .blocking(move |d| {
            let filter = filter(d, &search)?;
            d.state.audit_export(&by, name, &filter)?;
            Ok::<_, ApiError>(filter)
        })
        .await;
    let filter = match audited {
        Ok(filter) => filter,
        Err(e) => return e.into_response(),
    };
    // The rows are read as the download takes them: a blocking task of its own that outlives
    // this handler, its failures logged and sent down the stream (the answer has begun).
    let (chunks, mut received) = tokio::sync::mpsc::channel(CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let mut writer = None;
        let written = Writer::new(format, chunks).and_then(|w| {
            let w = writer.insert(w);
            desk.state
                .each_match(&filter, |s, triage| w.add(&s, triage))?;
            w.finish()
        });
        if let Err(e) = written {
            tracing::error!(error = %e, "exporting the list");
            if let Some(w) = writer.as_mut() {
                w.fail();
            }
        }
    });
    let stream = futures_util::stream::poll_fn(move |cx| received.poll_recv(cx));
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

type Chunks = tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>;

/// Where the export is written: gathered into chunks of [`CHUNK`] bytes, each sent to the
/// download as it fills.
struct Sink {
    written: Vec<u8>,
    chunks: Chunks,
    /// No one receives any more (the download stopped).
    stopped: bool,
}

impl Sink {
    fn send(&mut self) -> std::io::Result<()> {
        if self.written.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.written);
        if self.chunks.blocking_send(Ok(chunk)).is_err() {
            self.stopped = true;
            return Err(std::io::ErrorKind::BrokenPipe.into());
        }
        Ok(())
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(buf);
        if self.written.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The export being written: CSV (RFC 4180 by `csv`, strangers' text kept from being read
/// as a formula) or a GeoJSON FeatureCollection (RFC 7946: positions longitude first), the
/// desk's status beside each report.
enum Writer {
    Csv(Box<csv::Writer<Sink>>),
    GeoJson { sink: Sink, features: usize },
}

impl Writer {
    fn new(format: Format, chunks: Chunks) -> anyhow::Result<Self> {
        let sink = Sink {
            written: Vec::new(),
            chunks,
            stopped: false,
        };
        Ok(match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(sink);
                csv.write_record(CSV_HEADER.iter().copied().chain(["triage"]))?;
                Writer::Csv(Box::new(csv))
            }
            Format::GeoJson => {
                let mut sink = sink;
                sink.write_all(GEOJSON_START.as_bytes())?;
                Writer::GeoJson { sink, features: 0 }
            }
        })
    }

    /// Adds one report; `false` once the download has stopped.
    fn add(&mut self, s: &Sighting, triage: Triage) -> anyhow::Result<bool> {
        let added = match self {
            Writer::Csv(csv) => {
                let triage = triage.as_str().to_string();
                csv.write_record(csv_record(s).iter().chain([&triage]))
                    .map_err(anyhow::Error::from)
            }
            Writer::GeoJson { sink, features } => {
                let Some(mut feature) = feature(s) else {
                    return Ok(true);
                };
                feature["properties"]["triage"] = triage.as_str().into();
                let comma: &[u8] = if *features > 0 { b",\n" } else { b"" };
                *features += 1;
                sink.write_all(comma)
                    .and_then(|()| sink.write_all(feature.to_string().as_bytes()))
                    .map_err(anyhow::Error::from)
            }
        };
        match added {
            Err(_) if self.stopped() => Ok(false),
            Err(e) => Err(e),
            Ok(()) => Ok(true),
        }
    }

    fn stopped(&self) -> bool {
        match self {
            Writer::Csv(csv) => csv.get_ref().stopped,
            Writer::GeoJson { sink, .. } => sink.stopped,
        }
    }

    /// The end, and what is left sent.
    fn finish(&mut self) -> anyhow::Result<()> {
        let done = match self {
            Writer::Csv(csv) => csv.flush(),
            Writer::GeoJson { sink, .. } => sink.write_all(b"\n]}\n").and_then(|()| sink.flush()),
        };
        match done {
            Err(_) if self.stopped() => Ok(()),
            done => Ok(done?),
        }
    }

    /// Tells the download the export failed, so it never looks complete.
    fn fail(&mut self) {
        let chunks = match self {
            Writer::Csv(csv) => &csv.get_ref().chunks,
            Writer::GeoJson { sink, .. } => &sink.chunks,
        };
        let _ = chunks.blocking_send(Err(std::io::Error::other("the export failed")));
    }
}
