//! The "Missing children" list: the organisation's published cases around the phone, kept
//! offline, each with the safety line. The phone shows cases; it never compares photos.

use std::time::SystemTime;

use sighting_core::bulletins::{FeedStatus, NearbyCase};
use sighting_core::sync::{CasePhotoError, RefreshError};
use time::OffsetDateTime;

use crate::{LocationFix, SightingClient, SightingError};

/// The child's sex as the case or the reporter gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Sex {
    Boy,
    Girl,
    Unknown,
}

/// The organisation's words shown with every case: do not approach, do not confront; report
/// in the app.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SafetyLine {
    pub en: String,
    pub zh: String,
}

/// A published case as the phone may show it: first name only.
#[derive(Debug, Clone, uniffi::Record)]
pub struct MissingChild {
    pub case_number: String,
    pub first_name: String,
    pub sex: Sex,
    pub age_when_missing: u8,
    /// `YYYY-MM-DD`.
    pub missing_since: String,
    pub last_seen_district: String,
    pub last_seen_lat: f64,
    pub last_seen_lon: f64,
    /// Distinguishing marks, visible injury or disability.
    pub marks: String,
    /// How many photos the case has: fetch one with `case_photo` when the case is opened (the
    /// list carries none, so a refresh costs kilobytes).
    pub photo_count: u32,
    /// Metres from the position given to `bulletins` (worked out on the phone).
    pub distance_m: Option<f64>,
}

/// Whether the phone's copy of the feed may be shown.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum BulletinStatus {
    /// Never fetched, or nothing published yet.
    NotFetched,
    Current {
        version: u64,
        issued_at: SystemTime,
        expires_at: SystemTime,
    },
    /// Past its expiry (the phone was offline too long): nothing is shown until a refresh.
    Expired {
        version: u64,
        expired_at: SystemTime,
    },
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct BulletinList {
    pub status: BulletinStatus,
    pub safety_line: Option<SafetyLine>,
    /// Nearest first when a position was given.
    pub cases: Vec<MissingChild>,
}

/// What a refresh did.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BulletinRefresh {
    /// The feed version held now (`None`: nothing published yet).
    pub version: Option<u64>,
    /// The list changed (a new feed, or other regions).
    pub changed: bool,
    pub cases: u32,
    pub tiles_downloaded: u32,
    pub bytes_downloaded: u64,
}

#[uniffi::export(async_runtime = "tokio")]
impl SightingClient {
    /// Fetches the bulletin feed for the area around `near` (a coarse 5° block is asked for,
    /// never the position), or the area asked for last time. A feed that does not verify is
    /// refused whole and the one held is kept.
    pub async fn refresh_bulletins(
        &self,
        near: Option<LocationFix>,
    ) -> Result<BulletinRefresh, SightingError> {
        let device = self.device()?;
        let r = self
            .syncer
            .refresh_bulletins(&device, near.map(|f| (f.lat, f.lon)))
            .await?;
        Ok(BulletinRefresh {
            version: r.version,
            changed: r.changed,
            cases: r.cases as u32,
            tiles_downloaded: r.tiles_downloaded,
            bytes_downloaded: r.bytes_downloaded,
        })
    }

    /// Photo `photo` (from 0) of a case in the list held: a small JPEG, from the phone's
    /// encrypted copy or fetched now, checked against the digest and size the signed list gives
    /// (`CasePhotoRefused` when it does not match; nothing is kept then).
    pub async fn case_photo(
        &self,
        case_number: String,
        photo: u32,
    ) -> Result<Vec<u8>, SightingError> {
        let device = self.device()?;
        Ok(self
            .syncer
            .case_photo(&device, &case_number, photo as usize)
            .await?)
    }

    /// The cases held on the phone, nearest to `near` first (offline; an expired feed shows
    /// none).
    pub async fn bulletins(
        &self,
        near: Option<LocationFix>,
    ) -> Result<BulletinList, SightingError> {
        let near = near.map(|f| (f.lat, f.lon));
        let list = self
            .device()?
            .call(move |d| d.bulletins(OffsetDateTime::now_utc(), near))
            .await?;
        Ok(BulletinList {
            status: status(list.status),
            safety_line: list.safety_line.map(|s| SafetyLine { en: s.en, zh: s.zh }),
            cases: list.cases.into_iter().map(missing_child).collect(),
        })
    }
}

fn status(s: FeedStatus) -> BulletinStatus {
    match s {
        FeedStatus::NotFetched => BulletinStatus::NotFetched,
        FeedStatus::Current {
            version,
            issued_at,
            expires_at,
        } => BulletinStatus::Current {
            version,
            issued_at: issued_at.into(),
            expires_at: expires_at.into(),
        },
        FeedStatus::Expired {
            version,
            expired_at,
        } => BulletinStatus::Expired {
            version,
            expired_at: expired_at.into(),
        },
    }
}

pub(crate) fn sex(s: sighting_core::wire::bulletin::Sex) -> Sex {
    use sighting_core::wire::bulletin::Sex as Core;
    match s {
        Core::Boy => Sex::Boy,
        Core::Girl => Sex::Girl,
        Core::Unknown => Sex::Unknown,
    }
}

fn missing_child(c: NearbyCase) -> MissingChild {
    let case = c.case;
    MissingChild {
        case_number: case.number,
        first_name: case.first_name,
        sex: sex(case.sex),
        age_when_missing: case.age_when_missing,
        missing_since: case.missing_since,
        last_seen_district: case.last_seen.district,
        last_seen_lat: case.last_seen.lat,
        last_seen_lon: case.last_seen.lon,
        marks: case.marks,
        photo_count: case.photos.len() as u32,
        distance_m: c.distance_m,
    }
}

impl From<RefreshError> for SightingError {
    fn from(e: RefreshError) -> Self {
        let reason = e.to_string();
        match e {
            RefreshError::Device(h) => h.into(),
            RefreshError::NotConfigured => SightingError::InvalidInput { reason },
            RefreshError::Url(_) => SightingError::Network { reason },
            RefreshError::Network(_) | RefreshError::Status(_) => {
                SightingError::Unreachable { reason }
            }
            RefreshError::TooLarge | RefreshError::Feed(_) => {
                SightingError::BulletinsRefused { reason }
            }
        }
    }
}

impl From<CasePhotoError> for SightingError {
    fn from(e: CasePhotoError) -> Self {
        let reason = e.to_string();
        match e {
            CasePhotoError::Device(h) => h.into(),
            CasePhotoError::NotHeld { .. } => SightingError::InvalidInput { reason },
            CasePhotoError::Url(_) => SightingError::Network { reason },
            CasePhotoError::Network(_) | CasePhotoError::Status(_) => {
                SightingError::Unreachable { reason }
            }
            CasePhotoError::Refused(_) => SightingError::CasePhotoRefused { reason },
        }
    }
}
