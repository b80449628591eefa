//! Times as Unix milliseconds, the form every database and record of the project stores them
//! in (the phone's queue, the intake's uploads, the intake record the desk reads).

use time::OffsetDateTime;

/// `t` as milliseconds since the Unix epoch (saturating far outside ±292 million years).
pub fn from_time(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(if t.year() < 1970 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// The time `ms` milliseconds after the Unix epoch, or `None` outside the range `time` holds.
pub fn to_time(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// Now, in milliseconds since the Unix epoch.
pub fn now() -> i64 {
    from_time(OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        assert_eq!(from_time(OffsetDateTime::UNIX_EPOCH), 0);
        assert_eq!(to_time(-1).unwrap().unix_timestamp_nanos(), -1_000_000);
        assert_eq!(to_time(i64::MAX), None);
    }

    proptest! {
        #[test]
        fn round_trip(ms in -62_000_000_000_000i64..250_000_000_000_000) {
            prop_assert_eq!(from_time(to_time(ms).unwrap()), ms);
        }
    }
}
