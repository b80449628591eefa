//! `sighting bulletins`: the organisation's missing-children list on this device — refreshed
//! for the area around `--near` (a coarse 5° block is asked for, never the point) unless
//! `--offline`, then listed nearest first with the safety line. `--photo CASE --out FILE` fetches
//! that case's photo (the list carries none), checked against the signed list, into FILE.

use anyhow::{Context, Result};
use clap::Args;
use sighting_core::bulletins::{Bulletins, FeedStatus};
use sighting_core::handle::DeviceHandle;
use sighting_core::sync::Syncer;
use time::OffsetDateTime;

use crate::config::{online, Data};

#[derive(Args)]
pub struct BulletinsArgs {
    /// Where you are, `LAT,LON`: the list is fetched for the area around it and sorted by
    /// distance from it (worked out on this device).
    #[arg(long, value_parser = parse_near, allow_hyphen_values = true)]
    near: Option<(f64, f64)>,
    /// Show the list held on this device without asking the server.
    #[arg(long)]
    offline: bool,
    #[arg(long)]
    json: bool,
    /// Fetch the photo of this case (from the list held) instead of listing, into `--out`.
    #[arg(long, value_name = "CASE", requires = "out")]
    photo: Option<String>,
    /// Where `--photo` writes the JPEG.
    #[arg(long, value_name = "FILE", requires = "photo")]
    out: Option<std::path::PathBuf>,
}

fn parse_near(s: &str) -> Result<(f64, f64), String> {
    let bad = || format!("{s:?} is not LAT,LON in degrees");
    let (lat, lon) = s.split_once(',').ok_or_else(bad)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
    let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad());
    }
    Ok((lat, lon))
}

pub fn bulletins(data: &Data, args: &BulletinsArgs) -> Result<()> {
    let (device, syncer) = online(data)?;
    let runtime = tokio::runtime::Runtime::new()?;
    if let (Some(case), Some(out)) = (&args.photo, &args.out) {
        let jpeg = runtime.block_on(syncer.case_photo(&device, case, 0))?;
        std::fs::write(out, &jpeg).with_context(|| format!("writing {}", out.display()))?;
        println!(
            "photo of case {case}: {} bytes, as the signed list gives, written to {}",
            jpeg.len(),
            out.display()
        );
        return Ok(());
    }
    if !args.offline {
        runtime.block_on(refresh_line(&syncer, &device, args.near));
    }
    let near = args.near;
    let list = runtime
        .block_on(device.call(move |d| d.bulletins(OffsetDateTime::now_utc(), near)))
        .context("reading the list held on this device")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json(&list))?);
    } else {
        print(&list);
    }
    Ok(())
}

/// Refreshes the list and prints one line of what happened; a failure keeps the list held.
pub async fn refresh_line(syncer: &Syncer, device: &DeviceHandle, near: Option<(f64, f64)>) {
    let refresh = syncer.refresh_bulletins(device, near).await;
    match refresh {
        Ok(r) if r.version.is_none() => println!("missing-children list: none published yet"),
        Ok(r) => println!(
            "missing-children list version {}: {} around you, {} ({} bytes fetched)",
            r.version.unwrap_or_default(),
            crate::count(r.cases, "case", "cases"),
            if r.changed { "updated" } else { "unchanged" },
            r.bytes_downloaded
        ),
        Err(e) => println!("missing-children list not refreshed, the one held is kept: {e}"),
    }
}

fn print(list: &Bulletins) {
    match &list.status {
        FeedStatus::NotFetched => println!("No missing-children list on this device yet."),
        FeedStatus::Expired { expired_at, .. } => println!(
            "The missing-children list expired on {}; it is hidden until a refresh.",
            expired_at.date()
        ),
        FeedStatus::Current { expires_at, .. } => {
            println!("Missing children (list valid until {}):", expires_at.date())
        }
    }
    for c in &list.cases {
        let case = &c.case;
        let distance = c
            .distance_m
            .map(|m| format!(", {:.0} km away", m / 1000.0))
            .unwrap_or_default();
        println!(
            "  {}  {}, {}, {} old when missing on {}; last seen in {}{distance}",
            case.number,
            case.first_name,
            serde_json::to_value(case.sex)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            crate::count(case.age_when_missing.into(), "year", "years"),
            case.missing_since,
            case.last_seen.district,
        );
        if !case.marks.is_empty() {
            println!("        marks: {}", case.marks);
        }
    }
    if let Some(line) = &list.safety_line {
        if !list.cases.is_empty() {
            println!("{}", line.en);
            println!("{}", line.zh);
        }
    }
}

fn json(list: &Bulletins) -> serde_json::Value {
    let status = match &list.status {
        FeedStatus::NotFetched => serde_json::json!({"state": "not_fetched"}),
        FeedStatus::Current {
            version,
            expires_at,
            ..
        } => serde_json::json!({"state": "current", "version": version,
            "expires_at": expires_at.unix_timestamp()}),
        FeedStatus::Expired {
            version,
            expired_at,
        } => serde_json::json!({"state": "expired", "version": version,
            "expired_at": expired_at.unix_timestamp()}),
    };
    let cases: Vec<_> = list
        .cases
        .iter()
        .map(|c| {
            let mut case = serde_json::to_value(&c.case).unwrap_or_default();
            // Photos stay on the device; the list says how many.
            case["photos"] = serde_json::json!(c.case.photos.len());
            case["distance_m"] = serde_json::json!(c.distance_m.map(f64::round));
            case
        })
        .collect();
    serde_json::json!({"status": status, "safety_line": list.safety_line, "cases": cases})
}
