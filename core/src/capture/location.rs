//! Where a photo was taken: a validated WGS-84 fix, or the honest reason there is none.

use time::{Duration, OffsetDateTime};

/// How far a fix's time may lie ahead of the phone's clock: GNSS time and the wall clock drift
/// apart by seconds, not minutes.
const FUTURE_TOLERANCE: Duration = Duration::seconds(60);

/// A location fix as the platform's location service gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationFix {
    /// Latitude in degrees, WGS-84, −90..=90.
    pub lat: f64,
    /// Longitude in degrees, WGS-84, −180..=180.
    pub lon: f64,
    /// Horizontal accuracy (radius, metres). `None` only for a camera's own GPS tags, which
    /// often do not say.
    pub accuracy_m: Option<f64>,
    /// Altitude above the WGS-84 ellipsoid in metres, if known.
    pub altitude_m: Option<f64>,
    /// Direction the camera faced, degrees from true north, if known.
    pub heading_deg: Option<f64>,
    /// When the fix was taken.
    pub fix_time: OffsetDateTime,
    /// The platform's name for the provider ("fused", "gps", "network", "exif", "manual").
    pub provider: String,
    pub source: LocationSource,
}

/// Who said where the photo was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationSource {
    /// The phone's location service at shutter time.
    Device,
    /// The camera's own GPS tags in the photo.
    Exif,
    /// Typed in by a person.
    Manual,
}

/// Why a sighting has no location. Never replaced by a made-up 0,0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationMissing {
    PermissionDenied,
    /// A location service was asked and gave nothing in time.
    NoFix,
    Stale,
    /// The reporter turned location off.
    Disabled,
    /// The phone has no location service to ask (no GPS, network or fused provider; on iOS,
    /// location restricted for the whole device): not the reporter's doing, not a weak signal.
    NoProvider,
}

impl LocationMissing {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PermissionDenied => "permission_denied",
            Self::NoFix => "no_fix",
            Self::Stale => "stale",
            Self::Disabled => "disabled",
            Self::NoProvider => "no_provider",
        }
    }
}

/// The location a capture ends up with.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    Fix(LocationFix),
    Missing(LocationMissing),
}

/// `52.090700, 5.121400 ±5 m (device)`, or `none (no_fix)`: one line for a person reading a
/// terminal (the command line and the demo).
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Fix(fix) => {
                write!(f, "{:.6}, {:.6}", fix.lat, fix.lon)?;
                if let Some(accuracy) = fix.accuracy_m {
                    write!(f, " ±{accuracy} m")?;
                }
                let source = match fix.source {
                    LocationSource::Device => "device",
                    LocationSource::Exif => "camera GPS",
                    LocationSource::Manual => "manual",
                };
                write!(f, " ({source})")
            }
            Location::Missing(reason) => write!(f, "none ({})", reason.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocationError {
    #[error("latitude {0} is not between -90 and 90 degrees")]
    Latitude(f64),
    #[error("longitude {0} is not between -180 and 180 degrees")]
    Longitude(f64),
    #[error("accuracy {0} m is not a distance (must be 0 or more)")]
    Accuracy(f64),
    #[error("altitude {0} m is not between -1000 and 20000 m")]
    Altitude(f64),
    #[error("heading {0}° is not between 0 and 360")]
    Heading(f64),
    #[error("the fix time {0} is in the future")]
    FutureFix(OffsetDateTime),
    #[error("the provider name is empty or longer than 32 bytes")]
    Provider,
}

impl LocationFix {
    /// Checks every field; `now` is the phone's clock.
    pub fn validate(&self, now: OffsetDateTime) -> Result<(), LocationError> {
        if !(-90.0..=90.0).contains(&self.lat) {
            return Err(LocationError::Latitude(self.lat));
        }
        if !(-180.0..=180.0).contains(&self.lon) {
            return Err(LocationError::Longitude(self.lon));
        }
        if let Some(a) = self.accuracy_m.filter(|a| !(a.is_finite() && *a >= 0.0)) {
            return Err(LocationError::Accuracy(a));
        }
        if let Some(a) = self
            .altitude_m
            .filter(|a| !(-1000.0..=20_000.0).contains(a))
        {
            return Err(LocationError::Altitude(a));
        }
        if let Some(h) = self.heading_deg.filter(|h| !(0.0..360.0).contains(h)) {
            return Err(LocationError::Heading(h));
        }
        if self.fix_time > now + FUTURE_TOLERANCE {
            return Err(LocationError::FutureFix(self.fix_time));
        }
        if self.provider.is_empty() || self.provider.len() > 32 {
            return Err(LocationError::Provider);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix() -> LocationFix {
        LocationFix {
            lat: 52.37,
            lon: 4.89,
            accuracy_m: Some(8.0),
            altitude_m: Some(-2.5),
            heading_deg: Some(359.9),
            fix_time: OffsetDateTime::now_utc(),
            provider: "fused".into(),
            source: LocationSource::Device,
        }
    }

    #[test]
    fn each_missing_reason_has_its_own_word() {
        let all = [
            LocationMissing::PermissionDenied,
            LocationMissing::NoFix,
            LocationMissing::Stale,
            LocationMissing::Disabled,
            LocationMissing::NoProvider,
        ];
        let words: std::collections::HashSet<_> = all.iter().map(|m| m.as_str()).collect();
        assert_eq!(words.len(), all.len());
        assert_eq!(LocationMissing::NoProvider.as_str(), "no_provider");
    }

    #[test]
    fn accepts_a_real_fix() {
        fix().validate(OffsetDateTime::now_utc()).unwrap();
    }

    #[test]
    fn refuses_each_bad_field() {
        use std::mem::discriminant;
        let now = OffsetDateTime::now_utc();
        let later = now + Duration::hours(1);
        let cases = [
            (
                LocationFix {
                    lat: f64::NAN,
                    ..fix()
                },
                LocationError::Latitude(0.0),
            ),
            (
                LocationFix { lat: 90.5, ..fix() },
                LocationError::Latitude(0.0),
            ),
            (
                LocationFix {
                    lon: -180.01,
                    ..fix()
                },
                LocationError::Longitude(0.0),
            ),
            (
                LocationFix {
                    lon: f64::INFINITY,
                    ..fix()
                },
                LocationError::Longitude(0.0),
            ),
            (
                LocationFix {
                    accuracy_m: Some(-1.0),
                    ..fix()
                },
                LocationError::Accuracy(0.0),
            ),
            (
                LocationFix {
                    accuracy_m: Some(f64::NAN),
                    ..fix()
                },
                LocationError::Accuracy(0.0),
            ),
            (
                LocationFix {
                    altitude_m: Some(1e9),
                    ..fix()
                },
                LocationError::Altitude(0.0),
            ),
            (
                LocationFix {
                    heading_deg: Some(360.0),
                    ..fix()
                },
                LocationError::Heading(0.0),
            ),
            (
                LocationFix {
                    fix_time: later,
                    ..fix()
                },
                LocationError::FutureFix(later),
            ),
            (
                LocationFix {
                    provider: String::new(),
                    ..fix()
                },
                LocationError::Provider,
            ),
        ];
        for (bad, expected) in cases {
            let err = bad.validate(now).expect_err("must be refused");
            assert_eq!(
                discriminant(&err),
                discriminant(&expected),
                "{bad:?} gave {err}"
            );
        }
    }
}
