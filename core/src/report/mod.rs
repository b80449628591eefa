//! The report manifest, v1: what the organisation learns about a sighting besides the photo.
//!
//! `manifest.json` is UTF-8 JSON. `schema` is checked first, so a reader meets a version it does
//! not know as a clear error rather than as missing fields; fields it does not know are ignored,
//! so v1 readers keep working when fields are added.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

mod observations;

pub use observations::{is_case_number, Activity, AgeBand, Observations, Sex, WithAdults};

use crate::capture::{self, CapturedPhoto, LocationSource};
use crate::wire::hex;

pub const SCHEMA: &str = "sighting.report/1";
/// The longest note a reporter may add, in characters (Unicode scalar values: a Chinese character
/// is one, as the reporter counts it). Scalars rather than grapheme clusters because every
/// platform counts them the same way (Kotlin `codePointCount`, Swift `unicodeScalars.count`),
/// while cluster rules change with each Unicode version, so a note the phone's counter allowed
/// could be refused here.
pub const MAX_NOTE_CHARS: usize = 1000;
/// The manifest's byte cap on a note ("notes over 4 KiB" are refused): at most 4 bytes of UTF-8 a
/// scalar, a note within [`MAX_NOTE_CHARS`] is always within it.
pub const MAX_NOTE_BYTES: usize = 4096;
const _: () = assert!(MAX_NOTE_CHARS * 4 <= MAX_NOTE_BYTES);
const MAX_TAGS: usize = 32;
const MAX_TAG_BYTES: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the note is {0} characters; the limit is {MAX_NOTE_CHARS}")]
    NoteTooLong(usize),
    #[error("too many tags, or a tag longer than {MAX_TAG_BYTES} bytes")]
    Tags,
    #[error("a case number is 1 to 40 letters, digits, '-' or '_'")]
    CaseNumber,
    #[error("unknown report schema {0:?} (this reader knows {SCHEMA})")]
    UnknownSchema(String),
    #[error("the manifest is not valid JSON for {SCHEMA}: {0}")]
    Json(#[from] serde_json::Error),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: String,
    /// UUIDv7: time-ordered, random in its low bits; not derived from anything on the phone.
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub captured_at: OffsetDateTime,
    pub clock: CaptureClock,
    #[serde(flatten)]
    pub location: ManifestLocation,
    pub details: Details,
    pub photo: PhotoInfo,
    /// dHash of the upright picture, 16 hex digits.
    pub perceptual_hash: String,
    pub app: AppInfo,
    /// The device's pseudonymous Ed25519 public key, base64.
    pub device_key: String,
}

/// The phone's clocks at the shutter: with the server's receipt time they let the desk correct
/// a phone whose wall clock is wrong (same `boot_id` ⇒ the monotonic clock is comparable).
/// In a manifest `boot_id` is the device's keyed tag of the boot ([`crate::keys::ClockKey`]),
/// never the kernel's boot id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureClock {
    #[serde(with = "time::serde::rfc3339")]
    pub wall_at_capture: OffsetDateTime,
    pub monotonic_ms_at_capture: u64,
    pub boot_id: String,
}

/// `"location": {…}` or `"location_missing": {"reason": …}`: never both, never a fake 0,0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManifestLocation {
    Location(LocationJson),
    LocationMissing { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationJson {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub altitude_m: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub heading_deg: Option<f64>,
    #[serde(with = "time::serde::rfc3339")]
    pub fix_time: OffsetDateTime,
    pub provider: String,
    /// `device`, `exif` or `manual`.
    pub source: String,
}

/// What the reporter chose to add.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Details {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Free tags ("child_alone": "yes", …), for the organisation's own forms. Any JSON value,
    /// so a later version's structured field does not break this reader; the phone writes
    /// strings.
    #[serde(flatten)]
    pub tags: BTreeMap<String, serde_json::Value>,
    /// The case the reporter thinks of, and what they saw (see [`Observations`]).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub observations: Option<Observations>,
}

impl Details {
    pub fn validate(&self) -> Result<(), ReportError> {
        let note_chars = self.note.as_deref().map_or(0, |n| n.chars().count());
        if note_chars > MAX_NOTE_CHARS {
            return Err(ReportError::NoteTooLong(note_chars));
        }
        let tag_too_long = |(k, v): (&String, &serde_json::Value)| {
            k.len() > MAX_TAG_BYTES || v.to_string().len() > MAX_TAG_BYTES
        };
        // "note" or "observations" as a tag would collide with the field when flattened.
        if self.tags.len() > MAX_TAGS
            || self.tags.iter().any(tag_too_long)
            || self.tags.contains_key("note")
            || self.tags.contains_key("observations")
        {
            return Err(ReportError::Tags);
        }
        if !self
            .observations
            .as_ref()
            .is_none_or(Observations::case_number_is_valid)
        {
            return Err(ReportError::CaseNumber);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoInfo {
    /// SHA-256 (hex) of the sanitized full-size photo.
    pub sha256_original: String,
    /// SHA-256 (hex) of `photo.jpg` in the bundle.
    pub sha256_upload: String,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
}

impl Manifest {
    /// The manifest for a captured photo. `details` are validated here.
    pub fn new(
        id: Uuid,
        photo: &CapturedPhoto,
        clock: CaptureClock,
        details: Details,
        device_key: &[u8; 32],
    ) -> Result<Self, ReportError> {
        details.validate()?;
        let location = match &photo.sanitized.location {
            capture::Location::Fix(f) => ManifestLocation::Location(LocationJson {
                lat: f.lat,
                lon: f.lon,
                accuracy_m: f.accuracy_m,
                altitude_m: f.altitude_m,
                heading_deg: f.heading_deg,
                fix_time: f.fix_time,
                provider: f.provider.clone(),
                source: match f.source {
                    LocationSource::Device => "device",
                    LocationSource::Exif => "exif",
                    LocationSource::Manual => "manual",
                }
                .into(),
            }),
            capture::Location::Missing(reason) => ManifestLocation::LocationMissing {
                reason: reason.as_str().into(),
            },
        };
        Ok(Self {
            schema: SCHEMA.into(),
            id,
            captured_at: photo.sanitized.captured_at,
            clock,
            location,
            details,
            photo: PhotoInfo {
                sha256_original: hex::encode(&photo.sanitized.sha256()),
                sha256_upload: hex::encode(&photo.sha256_upload),
                width: photo.width,
                height: photo.height,
                bytes: photo.upload_copy.len() as u64,
            },
            perceptual_hash: format!("{:016x}", photo.perceptual_hash),
            app: AppInfo {
                name: "sighting".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            device_key: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                device_key,
            ),
        })
    }

    /// The exact bytes that are signed and bundled.
    pub fn to_json(&self) -> Result<Vec<u8>, ReportError> {
        Ok(serde_json::to_vec_pretty(self)?)
    }

    /// Reads a manifest: the schema first, then the fields (unknown ones ignored).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ReportError> {
        #[derive(Deserialize)]
        struct Schema {
            schema: String,
        }
        let Schema { schema } = serde_json::from_slice(bytes)?;
        if schema != SCHEMA {
            return Err(ReportError::UnknownSchema(schema));
        }
        Ok(serde_json::from_slice(bytes)?)
    }
}

impl CaptureClock {
    /// This machine's clocks now (Linux and Android: `CLOCK_BOOTTIME` and the kernel's boot id,
    /// which both survive sleep; elsewhere the platform passes its own).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn now() -> std::io::Result<Self> {
        let boot = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")?;
        Ok(Self {
            wall_at_capture: OffsetDateTime::now_utc(),
            monotonic_ms_at_capture: boot.tv_sec as u64 * 1000 + boot.tv_nsec as u64 / 1_000_000,
            boot_id: boot_id.trim().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            schema: SCHEMA.into(),
            id: Uuid::now_v7(),
            captured_at: time::macros::datetime!(2026-11-28 10:00:00 +01:00),
            clock: CaptureClock {
                wall_at_capture: time::macros::datetime!(2026-11-28 09:00:00 UTC),
                monotonic_ms_at_capture: 123_456,
                boot_id: "5d1c7a53-8b57-4b8e-9d2a-2b0f3c6a1e11".into(),
            },
            location: ManifestLocation::LocationMissing {
                reason: "permission_denied".into(),
            },
            details: Details {
                note: Some("by the bus station".into()),
                tags: BTreeMap::from([("alone".into(), "yes".into())]),
                observations: None,
            },
            photo: PhotoInfo {
                sha256_original: "00".repeat(32),
                sha256_upload: "11".repeat(32),
                width: 2,
                height: 1,
                bytes: 3,
            },
            perceptual_hash: "0123456789abcdef".into(),
            app: AppInfo {
                name: "sighting".into(),
                version: "0.1.0".into(),
            },
            device_key: "AAAA".into(),
        }
    }

    #[test]
    fn round_trips_with_the_documented_shape() {
        let m = sample();
        let json: serde_json::Value = serde_json::from_slice(&m.to_json().unwrap()).unwrap();
        assert_eq!(json["schema"], SCHEMA);
        assert_eq!(json["captured_at"], "2026-11-28T10:00:00+01:00");
        assert_eq!(json["location_missing"]["reason"], "permission_denied");
        assert!(json.get("location").is_none());
        assert_eq!(json["details"]["note"], "by the bus station");
        assert_eq!(json["details"]["alone"], "yes");
        assert_eq!(Manifest::from_json(&m.to_json().unwrap()).unwrap(), m);
    }

    #[test]
    fn unknown_fields_are_ignored_and_unknown_schemas_refused() {
        let mut json: serde_json::Value =
            serde_json::from_slice(&sample().to_json().unwrap()).unwrap();
        json["added_in_v1_1"] = serde_json::json!({"x": 1});
        Manifest::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
        json["schema"] = "sighting.report/2".into();
        let err = Manifest::from_json(&serde_json::to_vec(&json).unwrap()).unwrap_err();
        assert!(matches!(err, ReportError::UnknownSchema(s) if s == "sighting.report/2"));
    }

    #[test]
    fn a_later_versions_structured_detail_does_not_break_this_reader() {
        let mut json: serde_json::Value =
            serde_json::from_slice(&sample().to_json().unwrap()).unwrap();
        json["details"]["estimated_age"] = serde_json::json!({"min": 6, "max": 9});
        let m = Manifest::from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(m.details.tags["estimated_age"]["max"], 9);
        assert_eq!(m.details.note.as_deref(), Some("by the bus station"));
    }

    #[test]
    fn the_note_limit_is_in_characters_the_reporter_sees() {
        let note = |text: String| Details {
            note: Some(text),
            ..Default::default()
        };
        // 1,000 Chinese characters are 3,000 bytes; 1,000 emoji 4,000: both within 4 KiB.
        note("见".repeat(MAX_NOTE_CHARS)).validate().unwrap();
        note("👧".repeat(MAX_NOTE_CHARS)).validate().unwrap();
        let refused = note("见".repeat(1760)).validate().unwrap_err();
        assert!(matches!(refused, ReportError::NoteTooLong(1760)));
        assert_eq!(
            refused.to_string(),
            "the note is 1760 characters; the limit is 1000"
        );
        assert!(matches!(
            note("x".repeat(MAX_NOTE_CHARS + 1)).validate(),
            Err(ReportError::NoteTooLong(1001))
        ));
    }

    #[test]
    fn non_utf8_is_a_clear_error() {
        let mut bytes = sample().to_json().unwrap();
        let at = bytes.windows(3).position(|w| w == b"bus").unwrap();
        bytes[at] = 0xFF;
        assert!(matches!(
            Manifest::from_json(&bytes),
            Err(ReportError::Json(_))
        ));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_machines_clocks() {
        let a = CaptureClock::now().unwrap();
        let b = CaptureClock::now().unwrap();
        assert_eq!(a.boot_id, b.boot_id);
        assert_eq!(a.boot_id.len(), 36);
        assert!(
            b.monotonic_ms_at_capture >= a.monotonic_ms_at_capture && a.monotonic_ms_at_capture > 0
        );
    }
}
