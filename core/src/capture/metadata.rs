//! Exif in and out: what we read from the camera's block, and the fresh minimal block we write.
//!
//! Exif 2.32 (CIPA DC-008), 4.6.6 *GPS Attribute Information*: "GPSLatitude [...] expressed as
//! three RATIONAL values giving the degrees, minutes, and seconds, respectively. [...] When
//! degrees, minutes and seconds are expressed, the format is dd/1,mm/1,ss/1." GPSTimeStamp:
//! "the time as UTC [...] expressed as three RATIONAL values giving the hour, minute, and
//! second". GPSHPositioningError: "the horizontal positioning errors in meters".
//!
//! We write seconds with a denominator of 10 000 (1e-4″ ≈ 3 mm on the ground), far finer than
//! any phone fix: the written position reads back within half of that, 1.4e-8°.

use std::io::Cursor;

use exif::{experimental::Writer, Field, In, Rational, Tag, Value};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::location::{LocationFix, LocationSource};
use super::CaptureError;

const SECONDS_DENOM: u32 = 10_000;

/// What we take from the camera's Exif before it is thrown away.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CameraMetadata {
    /// Exif Orientation, 1–8 (1 when absent or invalid).
    pub orientation: u16,
    /// DateTimeOriginal, with OffsetTimeOriginal when the camera wrote one (else read as UTC,
    /// and `taken_at_offset_known` is false).
    pub taken_at: Option<OffsetDateTime>,
    pub taken_at_offset_known: bool,
    /// The camera's own GPS position (`source: exif`).
    pub gps: Option<LocationFix>,
    /// Why part of the camera's Exif could not be read (the photo is still usable: all of it is
    /// discarded anyway).
    pub problems: Vec<String>,
}

/// Reads the camera's Exif (the TIFF structure inside APP1). Never fails: a broken block only
/// loses the facts it held, and the reasons are listed in `problems`.
pub fn read_camera(tiff: Option<&[u8]>) -> CameraMetadata {
    let mut meta = CameraMetadata {
        orientation: 1,
        ..Default::default()
    };
    let Some(tiff) = tiff else { return meta };
    let exif = match exif::Reader::new()
        .continue_on_error(true)
        .read_raw(tiff.to_vec())
    {
        Ok(exif) => exif,
        Err(exif::Error::PartialResult(partial)) => {
            let (exif, errors) = partial.into_inner();
            meta.problems.extend(errors.iter().map(|e| e.to_string()));
            exif
        }
        Err(e) => {
            meta.problems.push(e.to_string());
            return meta;
        }
    };
    let get = |tag| exif.get_field(tag, In::PRIMARY).map(|f| &f.value);
    meta.orientation = get(Tag::Orientation)
        .and_then(|v| v.get_uint(0))
        .and_then(|o| u16::try_from(o).ok())
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1);
    if let Some(Value::Ascii(dt)) = get(Tag::DateTimeOriginal) {
        if let Some(Ok(mut dt)) = dt.first().map(|d| exif::DateTime::from_ascii(d)) {
            if let Some(Value::Ascii(off)) = get(Tag::OffsetTimeOriginal) {
                let _ = off.first().map(|o| dt.parse_offset(o));
            }
            meta.taken_at_offset_known = dt.offset.is_some();
            meta.taken_at = to_offset_date_time(&dt);
        }
    }
    meta.gps = read_gps(&get, meta.taken_at);
    meta
}

fn to_offset_date_time(dt: &exif::DateTime) -> Option<OffsetDateTime> {
    let date =
        Date::from_calendar_date(i32::from(dt.year), Month::try_from(dt.month).ok()?, dt.day)
            .ok()?;
    let time = Time::from_hms(dt.hour, dt.minute, dt.second).ok()?;
    let offset = UtcOffset::from_whole_seconds(i32::from(dt.offset.unwrap_or(0)) * 60).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

fn read_gps<'a>(
    get: &impl Fn(Tag) -> Option<&'a Value>,
    taken_at: Option<OffsetDateTime>,
) -> Option<LocationFix> {
    let lat = dms(get(Tag::GPSLatitude)?)? * hemisphere(get(Tag::GPSLatitudeRef)?, b'S')?;
    let lon = dms(get(Tag::GPSLongitude)?)? * hemisphere(get(Tag::GPSLongitudeRef)?, b'W')?;
    let rational = |tag| match get(tag) {
        Some(Value::Rational(r)) if r.first().is_some_and(|r| r.denom != 0) => Some(r[0].to_f64()),
        _ => None,
    };
    let below_sea = matches!(
        get(Tag::GPSAltitudeRef).and_then(|v| v.get_uint(0)),
        Some(1)
    );
    let altitude_m = rational(Tag::GPSAltitude).map(|a| if below_sea { -a } else { a });
    let fix = LocationFix {
        lat,
        lon,
        accuracy_m: rational(Tag::GPSHPositioningError),
        altitude_m,
        heading_deg: rational(Tag::GPSImgDirection).filter(|h| (0.0..360.0).contains(h)),
        fix_time: gps_time(get).or(taken_at)?,
        provider: "exif".into(),
        source: LocationSource::Exif,
    };
    // A camera's broken tags are dropped, not passed on as a wrong place.
    fix.validate(OffsetDateTime::now_utc()).ok().map(|()| fix)
}

fn dms(v: &Value) -> Option<f64> {
    let Value::Rational(r) = v else { return None };
    let part = |i: usize| r.get(i).filter(|r| r.denom != 0).map(Rational::to_f64);
    let deg = part(0)? + part(1).unwrap_or(0.0) / 60.0 + part(2).unwrap_or(0.0) / 3600.0;
    deg.is_finite().then_some(deg)
}

fn hemisphere(v: &Value, negative: u8) -> Option<f64> {
    let Value::Ascii(a) = v else { return None };
    match a.first()?.first()? {
        c if c.eq_ignore_ascii_case(&negative) => Some(-1.0),
        _ => Some(1.0),
    }
}

fn gps_time<'a>(get: &impl Fn(Tag) -> Option<&'a Value>) -> Option<OffsetDateTime> {
    let Some(Value::Ascii(d)) = get(Tag::GPSDateStamp) else {
        return None;
    };
    let Some(Value::Rational(t)) = get(Tag::GPSTimeStamp) else {
        return None;
    };
    let d = std::str::from_utf8(d.first()?).ok()?;
    let mut ymd = d.split(':').map(|p| p.trim().parse::<u32>().ok());
    let (y, m, day) = (ymd.next()??, ymd.next()??, ymd.next()??);
    let date = Date::from_calendar_date(
        i32::try_from(y).ok()?,
        Month::try_from(u8::try_from(m).ok()?).ok()?,
        u8::try_from(day).ok()?,
    )
    .ok()?;
    let part = |i: usize| t.get(i).filter(|r| r.denom != 0).map(Rational::to_f64);
    let millis = ((part(0)? * 3600.0 + part(1)? * 60.0 + part(2)?) * 1000.0).round();
    if !(0.0..86_400_000.0).contains(&millis) {
        return None;
    }
    let midnight = PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc();
    Some(midnight + time::Duration::milliseconds(millis as i64))
}

/// The facts the fresh Exif block carries: nothing else is ever written.
#[derive(Debug, Clone, PartialEq)]
pub struct FreshExif<'a> {
    pub orientation: u16,
    pub captured_at: OffsetDateTime,
    pub location: Option<&'a LocationFix>,
}

/// The tags a sanitized photo may carry, as `exiftool -a -G1` names them. Everything else was
/// stripped; tests hold every output to this list.
pub const WRITTEN_TAGS: &[&str] = &[
    "IFD0:Orientation",
    "ExifIFD:ExifVersion",
    "ExifIFD:DateTimeOriginal",
    "ExifIFD:OffsetTimeOriginal",
    "GPS:GPSVersionID",
    "GPS:GPSLatitudeRef",
    "GPS:GPSLatitude",
    "GPS:GPSLongitudeRef",
    "GPS:GPSLongitude",
    "GPS:GPSAltitudeRef",
    "GPS:GPSAltitude",
    "GPS:GPSTimeStamp",
    "GPS:GPSMapDatum",
    "GPS:GPSImgDirectionRef",
    "GPS:GPSImgDirection",
    "GPS:GPSDateStamp",
    "GPS:GPSHPositioningError",
];

impl FreshExif<'_> {
    /// Encodes the block as a TIFF structure (big-endian, as cameras traditionally write it).
    pub fn to_tiff(&self) -> Result<Vec<u8>, CaptureError> {
        let local = self.captured_at;
        let offset = local.offset();
        let mut fields = vec![
            field(Tag::Orientation, Value::Short(vec![self.orientation])),
            field(Tag::ExifVersion, Value::Undefined(b"0232".to_vec(), 0)),
            ascii(
                Tag::DateTimeOriginal,
                format!(
                    "{:04}:{:02}:{:02} {:02}:{:02}:{:02}",
                    local.year(),
                    u8::from(local.month()),
                    local.day(),
                    local.hour(),
                    local.minute(),
                    local.second()
                ),
            ),
            ascii(
                Tag::OffsetTimeOriginal,
                format!(
                    "{}{:02}:{:02}",
                    if offset.is_negative() { '-' } else { '+' },
                    offset.whole_hours().unsigned_abs(),
                    offset.minutes_past_hour().unsigned_abs()
                ),
            ),
        ];
        if let Some(fix) = self.location {
            fields.extend(gps_fields(fix));
        }
        let mut writer = Writer::new();
        for f in &fields {
            writer.push_field(f);
        }
        let mut out = Cursor::new(Vec::with_capacity(512));
        writer
            .write(&mut out, false)
            .map_err(|_| CaptureError::Internal("the Exif writer refused our fields"))?;
        Ok(out.into_inner())
    }
}

fn gps_fields(fix: &LocationFix) -> Vec<Field> {
    let utc = fix.fix_time.to_offset(UtcOffset::UTC);
    let millis = u32::from(utc.millisecond());
    let mut fields = vec![
        field(Tag::GPSVersionID, Value::Byte(vec![2, 3, 0, 0])),
        ascii(
            Tag::GPSLatitudeRef,
            if fix.lat < 0.0 { "S" } else { "N" }.into(),
        ),
        field(Tag::GPSLatitude, Value::Rational(to_dms(fix.lat))),
        ascii(
            Tag::GPSLongitudeRef,
            if fix.lon < 0.0 { "W" } else { "E" }.into(),
        ),
        field(Tag::GPSLongitude, Value::Rational(to_dms(fix.lon))),
        field(
            Tag::GPSTimeStamp,
            Value::Rational(vec![
                Rational {
                    num: utc.hour().into(),
                    denom: 1,
                },
                Rational {
                    num: utc.minute().into(),
                    denom: 1,
                },
                Rational {
                    num: u32::from(utc.second()) * 1000 + millis,
                    denom: 1000,
                },
            ]),
        ),
        ascii(Tag::GPSMapDatum, "WGS-84".into()),
        ascii(
            Tag::GPSDateStamp,
            format!(
                "{:04}:{:02}:{:02}",
                utc.year(),
                u8::from(utc.month()),
                utc.day()
            ),
        ),
    ];
    if let Some(alt) = fix.altitude_m {
        fields.push(field(
            Tag::GPSAltitudeRef,
            Value::Byte(vec![u8::from(alt < 0.0)]),
        ));
        fields.push(field(
            Tag::GPSAltitude,
            Value::Rational(vec![centi(alt.abs())]),
        ));
    }
    if let Some(acc) = fix.accuracy_m {
        fields.push(field(
            Tag::GPSHPositioningError,
            Value::Rational(vec![centi(acc)]),
        ));
    }
    if let Some(heading) = fix.heading_deg {
        fields.push(ascii(Tag::GPSImgDirectionRef, "T".into()));
        fields.push(field(
            Tag::GPSImgDirection,
            Value::Rational(vec![centi(heading)]),
        ));
    }
    fields
}

/// Degrees as D/1, M/1, S/10000, computed in integers so nothing is lost to float error twice.
fn to_dms(deg: f64) -> Vec<Rational> {
    let units_per_degree = 3600 * u64::from(SECONDS_DENOM);
    let total = (deg.abs() * units_per_degree as f64).round() as u64;
    let (d, rest) = (total / units_per_degree, total % units_per_degree);
    let per_minute = 60 * u64::from(SECONDS_DENOM);
    let (m, s) = (rest / per_minute, rest % per_minute);
    // d ≤ 180, m < 60, s < 600 000: all fit in u32.
    vec![
        Rational {
            num: d as u32,
            denom: 1,
        },
        Rational {
            num: m as u32,
            denom: 1,
        },
        Rational {
            num: s as u32,
            denom: SECONDS_DENOM,
        },
    ]
}

/// Metres (or degrees) to the hundredth, saturating at what a RATIONAL can hold.
fn centi(v: f64) -> Rational {
    Rational {
        num: (v * 100.0).round().min(f64::from(u32::MAX)) as u32,
        denom: 100,
    }
}

fn field(tag: Tag, value: Value) -> Field {
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    }
}

fn ascii(tag: Tag, s: String) -> Field {
    field(tag, Value::Ascii(vec![s.into_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn written(fix: &LocationFix, captured_at: OffsetDateTime) -> CameraMetadata {
        let tiff = FreshExif {
            orientation: 6,
            captured_at,
            location: Some(fix),
        }
        .to_tiff()
        .unwrap();
        read_camera(Some(&tiff))
    }

    #[test]
    fn round_trips_a_known_fix() {
        let fix = LocationFix {
            lat: -33.856_784,
            lon: 151.215_297,
            accuracy_m: Some(4.5),
            altitude_m: Some(-12.25),
            heading_deg: Some(271.5),
            fix_time: datetime!(2026-03-01 23:59:58.250 UTC),
            provider: "gps".into(),
            source: LocationSource::Device,
        };
        let captured = datetime!(2026-03-02 10:59:59 +11:00);
        let back = written(&fix, captured);
        assert_eq!(back.orientation, 6);
        assert_eq!(back.taken_at, Some(captured));
        assert!(back.taken_at_offset_known);
        let gps = back.gps.unwrap();
        assert!((gps.lat - fix.lat).abs() < 1.4e-8 && (gps.lon - fix.lon).abs() < 1.4e-8);
        assert_eq!(gps.accuracy_m, Some(4.5));
        assert_eq!(gps.altitude_m, Some(-12.25));
        assert_eq!(gps.heading_deg, Some(271.5));
        assert_eq!(gps.fix_time, fix.fix_time);
        assert_eq!(gps.source, LocationSource::Exif);
        assert!(back.problems.is_empty());
    }

    #[test]
    fn an_ifd_loop_is_reported_not_followed() {
        // Big-endian TIFF whose IFD0 (one Orientation entry) links back to itself.
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0]);
        tiff.extend_from_slice(&[0, 0, 0, 8]);
        let meta = read_camera(Some(&tiff));
        assert_eq!(meta.orientation, 3);
        assert!(!meta.problems.is_empty(), "the loop must be reported");
    }

    #[test]
    fn out_of_range_offsets_are_reported() {
        let tiff = b"MM\0\x2a\xff\xff\xff\xf0".to_vec();
        let meta = read_camera(Some(&tiff));
        assert_eq!(meta.orientation, 1);
        assert!(!meta.problems.is_empty());
    }

    proptest! {
        #[test]
        fn random_valid_fixes_round_trip(
            lat in -90.0f64..=90.0,
            lon in -180.0f64..=180.0,
            acc in proptest::option::of(0.0f64..10_000.0),
            alt in proptest::option::of(-999.0f64..19_999.0),
            heading in proptest::option::of(0.0f64..359.99),
            secs in 0i64..1_700_000_000,
            millis in 0i64..1000,
        ) {
            let fix_time = OffsetDateTime::from_unix_timestamp(secs).unwrap()
                + time::Duration::milliseconds(millis);
            let fix = LocationFix {
                lat, lon, accuracy_m: acc, altitude_m: alt, heading_deg: heading, fix_time,
                provider: "gps".into(), source: LocationSource::Device,
            };
            let gps = written(&fix, fix_time).gps.expect("the fix reads back");
            prop_assert!((gps.lat - lat).abs() < 1.4e-8, "{} vs {}", gps.lat, lat);
            prop_assert!((gps.lon - lon).abs() < 1.4e-8, "{} vs {}", gps.lon, lon);
            prop_assert_eq!(gps.accuracy_m, acc.map(|a| (a * 100.0).round() / 100.0));
            prop_assert_eq!(gps.altitude_m, alt.map(|a| (a * 100.0).round() / 100.0));
            prop_assert_eq!(gps.heading_deg, heading.map(|h| (h * 100.0).round() / 100.0));
            prop_assert_eq!(gps.fix_time, fix_time);
        }
    }
}
