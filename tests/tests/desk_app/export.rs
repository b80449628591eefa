//! The list searched and exported from the app, on loopback, of reports that went phone →
//! intake → desk: the CSV read back with `csv` (a note that looks like a formula kept from
//! being one), the GeoJSON longitude first, bad searches refused with the field to fix, and one
//! audit line per export naming who took it and the search.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use sighting_core::handle::DeviceHandle;
use sighting_core::report::{CaptureClock, Details};
use sighting_desk::app::{self, Desk, DeskConfig};
use sighting_desk::export::csv_cell_value;
use sighting_desk::state::{AuditFilter, Role};
use sighting_desk::{self as desk, keygen};
use uuid::Uuid;

use super::support::{self, phone, server_key, syncer, DeskSession as Browser, Server, NOW};
use super::PASSWORD;

const FORMULA: &str = "=HYPERLINK(\"http://example.invalid\",\"open me\")";

async fn submit(device: &DeviceHandle, photo: &'static str, note: &str) -> Uuid {
    let note = note.to_string();
    device
        .call(move |d| {
            let draft = d.capture(
                support::fixture(photo),
                &support::no_location(),
                CaptureClock::now()?,
            )?;
            let details = Details {
                note: Some(note),
                ..Default::default()
            };
            d.submit(draft.id, details)?;
            Ok(draft.id)
        })
        .await
        .unwrap()
}

/// A session's download: its status, content type and body.
async fn download(who: &Browser, path: &str) -> (StatusCode, String, String) {
    let response = support::client()
        .get(format!("{}{path}", who.base))
        .header("cookie", &who.cookie)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

/// The CSV as records keyed by its header.
fn records(csv_text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .map(String::from)
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_searched_list_exports_as_csv_and_geojson_and_each_export_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let org = keygen::keygen(&tmp.path().join("org")).unwrap();
    let device = phone(tmp.path(), &org.recipient);
    let formula = submit(&device, "gps/DSCN0010.jpg", FORMULA).await;
    let station = submit(&device, "gps/DSCN0012.jpg", "a boy by the Station").await;
    let market = submit(&device, "gps/DSCN0021.jpg", "girl at the market, 100%").await;
    let (pkcs8, public) = server_key();
    let data = tmp.path().join("intake");
    let server = Server::start(&data, &pkcs8, Default::default()).await;
    let delivered = syncer(&server.base, public, 256 << 10)
        .sync(&device, NOW)
        .await
        .unwrap()
        .delivered;
    assert_eq!(delivered.len(), 3);
    server.stop().await;
    let desk = Desk::new(DeskConfig {
        identities: desk::read_identities(&tmp.path().join("org").join(keygen::IDENTITY_FILE))
            .unwrap(),
        intake_key: Some(public),
        source: app::Source::Dir(data),
        state: tmp.path().join("desk"),
        poll: Duration::from_secs(3600),
        lan: false,
        tiles: None,
        bulletins: None,
    })
    .unwrap();
    assert_eq!(desk.open_new().unwrap(), 3);
    desk.state
        .add_reviewer("ana", PASSWORD, Role::Reviewer)
        .unwrap();
    let app = support::DeskApp::start(desk.clone()).await;
    let ana = Browser::login(&app.base, PASSWORD, "ana").await;

    // The list and the map under one search.
    let (status, page) = ana.get("/api/sightings?text=station").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["triage"]["id"], station.to_string());
    let (_, map) = ana.get("/api/map?text=100%25").await;
    let on_map: Vec<&Value> = map["points"].as_array().unwrap().iter().collect();
    assert_eq!(on_map.len(), 1);
    assert_eq!(on_map[0][0], market.to_string());

    // Everything, as CSV: one row each, the formula read back as written but not as a formula.
    let (status, kind, body) = download(&ana, "/api/export.csv").await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "text/csv; charset=utf-8")
    );
    let rows = records(&body);
    assert_eq!(rows.len(), 3, "{body}");
    let row = |id: Uuid| rows.iter().find(|r| r["id"] == id.to_string()).unwrap();
    let cell = &row(formula)["note"];
    assert!(cell.starts_with("'="), "{cell:?}");
    assert_eq!(csv_cell_value(cell), FORMULA);
    assert_eq!(row(station)["triage"], "new");
    let shown = desk.report(&market.to_string()).unwrap();
    assert_eq!(row(market)["lat"], shown.lat.unwrap().to_string());

    // Searched: only what matches.
    let (_, _, body) = download(&ana, "/api/export.csv?text=%3DHYPER").await;
    let ids: Vec<String> = records(&body)
        .into_iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(ids, [formula.to_string()]);

    // GeoJSON (RFC 7946): a FeatureCollection, each point longitude first.
    let (status, kind, body) = download(&ana, "/api/export.geojson?text=STATION").await;
    assert_eq!(
        (status, kind.as_str()),
        (StatusCode::OK, "application/geo+json")
    );
    let collection: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(collection["type"], "FeatureCollection");
    let features = collection["features"].as_array().unwrap();
    assert_eq!(features.len(), 1, "{body}");
    let shown = desk.report(&station.to_string()).unwrap();
    assert_eq!(
        features[0]["geometry"],
        json!({ "type": "Point", "coordinates": [shown.lon.unwrap(), shown.lat.unwrap()] })
    );
    assert_eq!(features[0]["properties"]["note"], "a boy by the Station");
    assert_eq!(features[0]["properties"]["triage"], "new");

    // Bad searches: refused with the field to fix, nothing exported, nothing audited.
    for (path, code) in [
        ("/api/export.csv?id=zz", "search_id"),
        ("/api/export.geojson?from=2026-02-30", "search_dates"),
        ("/api/map?south=1&west=2&north=3", "search_area"),
        ("/api/sightings?case=C%201", "search_case"),
        ("/api/sightings?triage=bogus", "search_triage"),
    ] {
        let (status, refused) = ana.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(refused["error"], code, "{path}: {refused}");
    }
    let long = "x".repeat(201);
    let (status, refused) = ana.get(&format!("/api/export.csv?text={long}")).await;
    assert_eq!(
        (status, refused["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("search_text"))
    );
    let anonymous = support::client()
        .get(format!("{}/api/export.csv", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    // One line per export: who, the format, the search.
    let filter = AuditFilter {
        action: Some("export".into()),
        limit: 50,
        ..Default::default()
    };
    let (lines, total) = desk.state.audit_page(&filter).unwrap();
    let lines: Vec<String> = lines
        .into_iter()
        .rev()
        .map(|e| {
            let search = e.note.unwrap_or_default();
            format!("{} {} {search}", e.reviewer.unwrap(), e.to.unwrap())
        })
        .collect();
    assert_eq!(total, 3);
    assert_eq!(
        lines,
        [
            "ana csv ",
            "ana csv text=\"=HYPER\"",
            "ana geojson text=\"STATION\""
        ]
    );
    app.stop().await;
}
