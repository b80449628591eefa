//! Mapping between the exported records and the core's types (both directions), and the
//! adapters that let the app's foreign traits stand in for the core's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sighting_core::capture::{Location, LocationMissing, LocationSource};
use sighting_core::device::Storage;
use sighting_core::keys::KeyError;
use sighting_core::queue::{self, ReportStatus, State};
use sighting_core::report::CaptureClock;
use sighting_core::sync;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use crate::{
    AttemptError, CaptureLocation, ClientConfig, DraftSummary, EventListener, KeyStore,
    LocationFix, LocationMissingReason, OutboxReport, ReportReason, ReportState, RetryingReport,
    ShutterClock, SightingError, StorageInfo, SyncBudget, SyncSummary,
};

pub(crate) fn id(text: &str) -> Result<Uuid, SightingError> {
    text.parse().map_err(|_| SightingError::InvalidInput {
        reason: format!("{text:?} is not a report id"),
    })
}

/// The app's settings as the core's one client configuration.
pub(crate) fn client_config(
    c: ClientConfig,
) -> Result<sighting_core::client::ClientConfig, SightingError> {
    let server_key = sighting_core::wire::parse_server_key(&c.server_key).ok_or_else(|| {
        SightingError::InvalidInput {
            reason: "server_key is not a base64 Ed25519 public key".into(),
        }
    })?;
    let recipients = c
        .recipients
        .iter()
        .map(|r| r.parse())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| SightingError::InvalidInput {
            reason: format!("recipient: {e}"),
        })?;
    Ok(sighting_core::client::ClientConfig {
        pinned_ca: c.pinned_ca_pem.map(String::into_bytes),
        quota_bytes: c.quota_bytes,
        upload_max_edge: c.upload_max_edge,
        max_photo_bytes: c.max_photo_bytes,
        max_photo_pixels: c.max_photo_pixels,
        chunk_size: c.chunk_bytes.map(|b| b as usize),
        bulletin_key: c.bulletin_key.as_deref().map(bulletin_key).transpose()?,
        ..sighting_core::client::ClientConfig::new(
            PathBuf::from(c.data_dir),
            recipients,
            c.intake_url,
            server_key,
        )
    })
}

fn bulletin_key(text: &str) -> Result<[u8; 32], SightingError> {
    sighting_core::wire::parse_server_key(text).ok_or_else(|| SightingError::InvalidInput {
        reason: "bulletin_key is not a base64 Ed25519 public key".into(),
    })
}

fn offset_time(t: SystemTime) -> OffsetDateTime {
    OffsetDateTime::from(t)
}

fn system_time(t: OffsetDateTime) -> SystemTime {
    SystemTime::from(t)
}

pub(crate) fn wall_time(
    wall: SystemTime,
    utc_offset_minutes: i32,
) -> Result<OffsetDateTime, SightingError> {
    let offset =
        UtcOffset::from_whole_seconds(utc_offset_minutes.saturating_mul(60)).map_err(|_| {
            SightingError::InvalidInput {
                reason: format!("UTC offset of {utc_offset_minutes} minutes"),
            }
        })?;
    Ok(offset_time(wall).to_offset(offset))
}

/// The shutter's clocks: the app's monotonic clock if it passed one, else this machine's.
pub(crate) fn capture_clock(clock: &ShutterClock) -> Result<CaptureClock, SightingError> {
    let wall_at_capture = offset_time(clock.wall);
    match &clock.monotonic {
        Some(m) => Ok(CaptureClock {
            wall_at_capture,
            monotonic_ms_at_capture: m.ms_since_boot,
            boot_id: m.boot_id.clone(),
        }),
        None => own_clock(wall_at_capture),
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn own_clock(wall_at_capture: OffsetDateTime) -> Result<CaptureClock, SightingError> {
    let now = CaptureClock::now().map_err(|e| SightingError::internal(e.to_string()))?;
    Ok(CaptureClock {
        wall_at_capture,
        ..now
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn own_clock(_: OffsetDateTime) -> Result<CaptureClock, SightingError> {
    Err(SightingError::InvalidInput {
        reason: "this platform must pass ShutterClock.monotonic".into(),
    })
}

pub(crate) fn location(location: CaptureLocation) -> Result<Location, SightingError> {
    Ok(match location {
        CaptureLocation::Fix { fix } => {
            // Validated by capture (CaptureError::Location → InvalidLocation).
            Location::Fix(sighting_core::capture::LocationFix {
                lat: fix.lat,
                lon: fix.lon,
                accuracy_m: Some(fix.accuracy_m),
                altitude_m: fix.altitude_m,
                heading_deg: fix.heading_deg,
                fix_time: offset_time(fix.fix_time),
                provider: fix.provider,
                source: LocationSource::Device,
            })
        }
        CaptureLocation::Missing { reason } => Location::Missing(match reason {
            LocationMissingReason::PermissionDenied => LocationMissing::PermissionDenied,
            LocationMissingReason::NoFix => LocationMissing::NoFix,
            LocationMissingReason::Stale => LocationMissing::Stale,
            LocationMissingReason::Disabled => LocationMissing::Disabled,
            LocationMissingReason::NoProvider => LocationMissing::NoProvider,
        }),
    })
}

fn location_out(location: Location) -> CaptureLocation {
    match location {
        Location::Fix(f) => CaptureLocation::Fix {
            fix: LocationFix {
                lat: f.lat,
                lon: f.lon,
                accuracy_m: f.accuracy_m.unwrap_or(f64::NAN),
                altitude_m: f.altitude_m,
                heading_deg: f.heading_deg,
                fix_time: system_time(f.fix_time),
                provider: f.provider,
            },
        },
        Location::Missing(m) => CaptureLocation::Missing {
            reason: match m {
                LocationMissing::PermissionDenied => LocationMissingReason::PermissionDenied,
                LocationMissing::NoFix => LocationMissingReason::NoFix,
                LocationMissing::Stale => LocationMissingReason::Stale,
                LocationMissing::Disabled => LocationMissingReason::Disabled,
                LocationMissing::NoProvider => LocationMissingReason::NoProvider,
            },
        },
    }
}

pub(crate) fn draft(d: sighting_core::device::DraftSummary) -> DraftSummary {
    DraftSummary {
        id: d.id.to_string(),
        width: d.width,
        height: d.height,
        bytes: d.bytes,
        location: location_out(d.location),
        removed: d
            .removed
            .iter()
            .map(|r| format!("{} ({} bytes)", r.what, r.bytes))
            .collect(),
    }
}

pub(crate) fn state(s: State) -> ReportState {
    match s {
        State::Draft => ReportState::Draft,
        State::Sealed => ReportState::Sealed,
        State::Uploading => ReportState::Uploading,
        State::Delivered => ReportState::Delivered,
        State::Purged => ReportState::Purged,
        State::Rejected => ReportState::Rejected,
        State::UploadedUnconfirmed => ReportState::UploadedUnconfirmed,
    }
}

pub(crate) fn report(r: ReportStatus) -> OutboxReport {
    OutboxReport {
        id: r.id.to_string(),
        state: state(r.state),
        bytes: r.bytes,
        created_at: system_time(r.created_at),
        updated_at: system_time(r.updated_at),
        attempts: r.attempts,
        last_error: r.last_error.map(attempt_error),
        last_error_detail: r.last_error_detail,
        next_attempt_at: r.next_attempt_at.map(system_time),
        reject_reason: r.reject_reason,
        problem: r.problem,
    }
}

pub(crate) fn attempt_error(e: queue::AttemptError) -> AttemptError {
    match e {
        queue::AttemptError::Network => AttemptError::Network,
        queue::AttemptError::TlsNotTrusted => AttemptError::TlsNotTrusted,
        queue::AttemptError::Stalled => AttemptError::Stalled,
        queue::AttemptError::ServerStatus(status) => AttemptError::ServerStatus { status },
        queue::AttemptError::ServerFull => AttemptError::ServerFull,
        queue::AttemptError::ServerProtocol => AttemptError::ServerProtocol,
        queue::AttemptError::ReceiptRefused => AttemptError::ReceiptRefused,
    }
}

pub(crate) fn budget(b: &SyncBudget) -> sync::SyncBudget {
    sync::SyncBudget {
        max_wall: Duration::from_millis(b.max_wall_ms),
        max_bytes: b.max_bytes.unwrap_or(u64::MAX),
        honour_backoff: b.honour_backoff,
        allow_metered: b.allow_metered,
        metered: b.metered,
    }
}

pub(crate) fn summary(s: sync::SyncSummary) -> SyncSummary {
    let ids = |v: Vec<Uuid>| v.iter().map(Uuid::to_string).collect();
    SyncSummary {
        delivered: ids(s.delivered),
        unconfirmed: ids(s.unconfirmed),
        rejected: s
            .rejected
            .into_iter()
            .map(|(id, reason)| ReportReason {
                id: id.to_string(),
                reason,
            })
            .collect(),
        retrying: s
            .retrying
            .into_iter()
            .map(|(id, failure)| RetryingReport {
                id: id.to_string(),
                error: attempt_error(failure.error),
                detail: failure.detail,
            })
            .collect(),
        paused: ids(s.paused),
        bytes_sent: s.bytes_sent,
        skipped_metered: s.skipped_metered,
    }
}

pub(crate) fn storage(s: Storage) -> StorageInfo {
    let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    StorageInfo {
        used_bytes: s.used_bytes,
        quota_bytes: s.quota_bytes,
        drafts: count(s.drafts),
        waiting: count(s.waiting),
        delivered: count(s.delivered),
    }
}

/// The app's keystore, as the core's.
pub(crate) struct CoreKeyStore(pub Arc<dyn KeyStore>);

impl sighting_core::keys::KeyStore for CoreKeyStore {
    fn wrap(&self, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(self.0.wrap(plain.to_vec())?)
    }

    fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(self.0.unwrap(wrapped.to_vec())?)
    }
}

/// The app's listener, as the sync engine's. A listener that throws is ignored.
pub(crate) struct Listener(pub Arc<dyn EventListener>);

impl sync::SyncListener for Listener {
    fn progress(&self, report: Uuid, sent: u64, total: u64) {
        let _ = self.0.on_progress(report.to_string(), sent, total);
    }

    fn state_changed(
        &self,
        report: Uuid,
        s: State,
        error: Option<queue::AttemptError>,
        detail: Option<&str>,
    ) {
        let _ = self.0.on_state_changed(
            report.to_string(),
            state(s),
            error.map(attempt_error),
            detail.map(str::to_owned),
        );
    }

    fn bulletins_changed(&self, version: u64, cases: usize) {
        let _ = self.0.on_bulletins_changed(version, cases as u32);
    }
}
