//! `sighting photo sanitize`: the capture pipeline on one file, no device state.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use sighting_core::capture::{
    self, read_photo, CaptureOptions, CaptureRequest, Location, LocationFix, LocationMissing,
    LocationSource, SanitizedPhoto,
};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

#[derive(Args)]
pub struct SanitizeArgs {
    /// The camera's JPEG.
    input: PathBuf,
    /// Where to write the sanitized full-size JPEG.
    output: PathBuf,
    #[command(flatten)]
    location: LocationArgs,
    /// Also write the upload copy (upright, long edge ≤ 2048) here.
    #[arg(long)]
    upload_copy: Option<PathBuf>,
    /// Also write the 320 px thumbnail here.
    #[arg(long)]
    thumbnail: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

/// Where the sighting was: typed in, or none (then the camera's own GPS, if any).
#[derive(Args)]
pub struct LocationArgs {
    /// Latitude of the sighting in degrees (WGS-84); with --lon.
    #[arg(long, requires = "lon", allow_hyphen_values = true)]
    lat: Option<f64>,
    /// Longitude of the sighting in degrees (WGS-84); with --lat.
    #[arg(long, requires = "lat", allow_hyphen_values = true)]
    lon: Option<f64>,
    /// Horizontal accuracy of the position, in metres.
    #[arg(long, requires = "lat")]
    accuracy: Option<f64>,
    /// When the position was taken (RFC 3339); default now.
    #[arg(long, requires = "lat", value_parser = parse_time)]
    time: Option<OffsetDateTime>,
}

impl LocationArgs {
    pub fn location(&self) -> Location {
        match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Location::Fix(LocationFix {
                lat,
                lon,
                accuracy_m: self.accuracy,
                altitude_m: None,
                heading_deg: None,
                fix_time: self.time.unwrap_or_else(OffsetDateTime::now_utc),
                provider: "manual".into(),
                source: LocationSource::Manual,
            }),
            _ => Location::Missing(LocationMissing::NoFix),
        }
    }
}

fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("not an RFC 3339 time: {e}"))
}

pub fn sanitize(args: &SanitizeArgs) -> Result<()> {
    let request = CaptureRequest {
        location: args.location.location(),
        captured_at: None,
    };
    let options = CaptureOptions::default();
    let context = || format!("{}", args.input.display());
    let bytes = read_photo(&args.input, &options).with_context(context)?;
    // Only decode when a derived file is asked for: the lossless strip works on photos whose
    // scan data is damaged.
    let (sanitized, derived): (_, Vec<(PathBuf, Vec<u8>)>) =
        if args.upload_copy.is_some() || args.thumbnail.is_some() {
            let captured = capture::capture(bytes, &request, &options).with_context(context)?;
            let derived = [
                (&args.upload_copy, captured.upload_copy),
                (&args.thumbnail, captured.thumbnail),
            ];
            let derived = derived
                .into_iter()
                .filter_map(|(p, b)| Some((p.clone()?, b)));
            (captured.sanitized, derived.collect())
        } else {
            (
                capture::sanitize(bytes, &request, &options).with_context(context)?,
                Vec::new(),
            )
        };
    let mut written = vec![write(&args.output, &sanitized.jpeg)?];
    for (path, bytes) in derived {
        written.push(write(&path, &bytes)?);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(&sanitized, &written))?
        );
    } else {
        print!("{}", summary_text(&args.input, &sanitized, &written));
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(PathBuf, usize)> {
    if path.as_os_str().is_empty() {
        bail!("an output path is empty");
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok((path.to_path_buf(), bytes.len()))
}

pub fn summary_text(input: &Path, photo: &SanitizedPhoto, written: &[(PathBuf, usize)]) -> String {
    let mut out = format!(
        "{}: {}×{} {:?}, orientation {}\n  removed:",
        input.display(),
        photo.frame.width,
        photo.frame.height,
        photo.frame.coding,
        photo.orientation
    );
    if photo.removed.is_empty() {
        out.push_str(" nothing (no metadata)");
    }
    for r in &photo.removed {
        out.push_str(&format!(" {} ({} B);", r.what, r.bytes));
    }
    out.push_str(&format!(
        "\n  location: {}\n  captured: {}\n",
        photo.location,
        photo.captured_at.format(&Rfc3339).unwrap_or_default()
    ));
    for (path, bytes) in written {
        out.push_str(&format!("  wrote {} ({bytes} B)\n", path.display()));
    }
    out
}

fn summary_json(photo: &SanitizedPhoto, written: &[(PathBuf, usize)]) -> serde_json::Value {
    json!({
        "width": photo.frame.width,
        "height": photo.frame.height,
        "orientation": photo.orientation,
        "removed": photo.removed.iter().map(|r| json!({"what": r.what, "bytes": r.bytes})).collect::<Vec<_>>(),
        "location": photo.location.to_string(),
        "captured_at": photo.captured_at.format(&Rfc3339).ok(),
        "sha256": sighting_core::wire::hex::encode(&photo.sha256()),
        "camera_exif_problems": photo.camera_exif_problems,
        "written": written.iter().map(|(p, b)| json!({"path": p, "bytes": b})).collect::<Vec<_>>(),
    })
}
