//! `device_clock`: the phone's clock when it creates an upload, sent in the upload's metadata
//! so the desk can correct a phone whose wall clock is wrong.
//!
//! Format: `<boot tag> <milliseconds since boot>`, one space between; the boot tag is 16
//! lowercase hex digits, the first 8 bytes of HMAC-SHA256(clock key, "sighting-boot/2" ||
//! boot id) (see [`crate::keys::ClockKey`]), the same tag the manifest carries as
//! `clock.boot_id`. Milliseconds are decimal, the platform's boot-time clock (`CLOCK_BOOTTIME`
//! on Android). The intake keeps the value with the server's time of the POST; the desk pairs
//! them with the manifest's reading at the shutter when both tags match.

use std::fmt;
use std::str::FromStr;

use super::hex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceClock {
    pub boot_tag: [u8; 8],
    pub ms_since_boot: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device_clock is not `<16 hex digits> <milliseconds>`")]
pub struct DeviceClockError;

impl DeviceClock {
    /// The tag as the manifest's `clock.boot_id` holds it.
    pub fn boot_tag_hex(&self) -> String {
        hex::encode(&self.boot_tag)
    }
}

impl fmt::Display for DeviceClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.boot_tag_hex(), self.ms_since_boot)
    }
}

impl FromStr for DeviceClock {
    type Err = DeviceClockError;

    fn from_str(s: &str) -> Result<Self, DeviceClockError> {
        let (tag, ms) = s.split_once(' ').ok_or(DeviceClockError)?;
        // `u64::from_str` takes a leading `+`; the format has digits only.
        if ms.is_empty() || !ms.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DeviceClockError);
        }
        Ok(Self {
            boot_tag: hex::decode(tag).ok_or(DeviceClockError)?,
            ms_since_boot: ms.parse().map_err(|_| DeviceClockError)?,
        })
    }
}

/// In JSON records (the intake record beside each report) it is the same text.
impl serde::Serialize for DeviceClock {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for DeviceClock {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_form() {
        let clock: DeviceClock = "00ff10a2b3c4d5e6 123456".parse().unwrap();
        assert_eq!(
            clock.boot_tag,
            [0x00, 0xff, 0x10, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6]
        );
        assert_eq!(clock.ms_since_boot, 123_456);
        assert_eq!(clock.to_string(), "00ff10a2b3c4d5e6 123456");
        for bad in [
            "",
            "00ff10a2b3c4d5e6",
            "00ff10a2b3c4d5e6 ",
            "00ff10a2b3c4d5e6 +5",
            "00ff10a2b3c4d5e6 -5",
            "00ff10a2b3c4d5 5",
            "00ff10a2b3c4d5e6  5",
            "00ff10a2b3c4d5e6 99999999999999999999999",
            "zzff10a2b3c4d5e6 5",
        ] {
            assert_eq!(bad.parse::<DeviceClock>(), Err(DeviceClockError), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn round_trip(boot_tag in any::<[u8; 8]>(), ms_since_boot in any::<u64>()) {
            let clock = DeviceClock { boot_tag, ms_since_boot };
            prop_assert_eq!(clock.to_string().parse::<DeviceClock>(), Ok(clock));
            let json = serde_json::to_string(&clock).unwrap();
            prop_assert_eq!(serde_json::from_str::<DeviceClock>(&json).unwrap(), clock);
        }
    }
}
