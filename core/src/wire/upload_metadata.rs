//! `Upload-Metadata`: what a new upload carries so the intake can check it without decrypting:
//! the report id, the device key, the ciphertext's SHA-256 and the envelope signature over
//! both (see [`super::envelope`]), and optionally the [`DeviceClock`].
//!
//! tus 1.0.0, *Creation*: "The Upload-Metadata request and response header MUST consist of one
//! or more comma-separated key-value pairs. The key and value MUST be separated by a space. The
//! key MUST NOT contain spaces and commas and MUST NOT be empty. The key SHOULD be ASCII
//! encoded and the value MUST be Base64 encoded. All keys MUST be unique."
//!
//! Keys: `report_id` (UUID text), `device_key` (base64 of 32 bytes), `ciphertext_sha256` (64 hex
//! digits), `envelope_sig` (base64 of 64 bytes), `device_clock` (optional). Each value is then
//! base64-encoded again as tus requires. Keys other tus clients add (`filename`, …) are ignored;
//! a `device_clock` that does not parse is dropped, not refused (it only helps the desk).

use std::fmt;
use std::str::FromStr;

use base64::{engine::general_purpose::STANDARD, Engine};
use uuid::Uuid;

use super::{hex, DeviceClock};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadMetadata {
    pub report_id: Uuid,
    pub device_key: [u8; 32],
    pub ciphertext_sha256: [u8; 32],
    pub envelope_sig: [u8; 64],
    pub device_clock: Option<DeviceClock>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    #[error("Upload-Metadata is not `key base64,…` pairs")]
    Malformed,
    #[error("the metadata key {0} appears twice")]
    Duplicate(String),
    #[error("a metadata value is not base64 of UTF-8 text")]
    NotBase64,
    #[error("metadata {0} is required")]
    Missing(&'static str),
    #[error("report_id is not a UUID")]
    ReportId,
    #[error("device_key is not a base64 Ed25519 key")]
    DeviceKey,
    #[error("ciphertext_sha256 is not 64 hex digits")]
    CiphertextSha256,
    #[error("envelope_sig is not a base64 Ed25519 signature")]
    EnvelopeSig,
}

impl fmt::Display for UploadMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs = [
            ("report_id", Some(self.report_id.to_string())),
            ("device_key", Some(STANDARD.encode(self.device_key))),
            (
                "ciphertext_sha256",
                Some(hex::encode(&self.ciphertext_sha256)),
            ),
            ("envelope_sig", Some(STANDARD.encode(self.envelope_sig))),
            ("device_clock", self.device_clock.map(|c| c.to_string())),
        ];
        let mut first = true;
        for (key, value) in pairs {
            let Some(value) = value else { continue };
            if !std::mem::take(&mut first) {
                f.write_str(",")?;
            }
            write!(f, "{key} {}", STANDARD.encode(value))?;
        }
        Ok(())
    }
}

impl FromStr for UploadMetadata {
    type Err = MetadataError;

    fn from_str(header: &str) -> Result<Self, MetadataError> {
        let mut pairs = std::collections::HashMap::new();
        for pair in header.split(',') {
            // Values may be empty ("key" alone), but a key is never empty.
            let (key, value) = pair.trim().split_once(' ').unwrap_or((pair.trim(), ""));
            if key.is_empty() {
                return Err(MetadataError::Malformed);
            }
            let value = STANDARD
                .decode(value)
                .ok()
                .and_then(|v| String::from_utf8(v).ok())
                .ok_or(MetadataError::NotBase64)?;
            if pairs.insert(key, value).is_some() {
                return Err(MetadataError::Duplicate(key.to_string()));
            }
        }
        let field = |key: &'static str| pairs.get(key).ok_or(MetadataError::Missing(key));
        Ok(Self {
            report_id: field("report_id")?
                .parse()
                .map_err(|_| MetadataError::ReportId)?,
            device_key: base64_array(field("device_key")?).ok_or(MetadataError::DeviceKey)?,
            ciphertext_sha256: hex::decode(field("ciphertext_sha256")?)
                .ok_or(MetadataError::CiphertextSha256)?,
            envelope_sig: base64_array(field("envelope_sig")?).ok_or(MetadataError::EnvelopeSig)?,
            device_clock: pairs.get("device_clock").and_then(|c| c.parse().ok()),
        })
    }
}

fn base64_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    STANDARD.decode(text).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn example() -> UploadMetadata {
        UploadMetadata {
            report_id: "0196d1c4-7e40-4a8b-9c5e-1234567890ab".parse().unwrap(),
            device_key: [1; 32],
            ciphertext_sha256: [0xab; 32],
            envelope_sig: [2; 64],
            device_clock: Some("00ff10a2b3c4d5e6 5".parse().unwrap()),
        }
    }

    #[test]
    fn each_value_is_base64_of_its_text_form() {
        let header = example().to_string();
        let pairs: Vec<(&str, String)> = header
            .split(',')
            .map(|p| {
                let (k, v) = p.split_once(' ').unwrap();
                (k, String::from_utf8(STANDARD.decode(v).unwrap()).unwrap())
            })
            .collect();
        assert_eq!(
            pairs[0],
            ("report_id", "0196d1c4-7e40-4a8b-9c5e-1234567890ab".into())
        );
        assert_eq!(pairs[1], ("device_key", STANDARD.encode([1u8; 32])));
        assert_eq!(pairs[2], ("ciphertext_sha256", "ab".repeat(32)));
        assert_eq!(pairs[4], ("device_clock", "00ff10a2b3c4d5e6 5".into()));
        let without_clock = UploadMetadata {
            device_clock: None,
            ..example()
        };
        assert_eq!(without_clock.to_string().split(',').count(), 4);
    }

    #[test]
    fn foreign_keys_are_ignored_and_a_bad_clock_is_dropped() {
        let extra = format!(
            "{},filename {},device_clock {},flag",
            UploadMetadata {
                device_clock: None,
                ..example()
            },
            STANDARD.encode("photo.jpg"),
            STANDARD.encode("not a clock"),
        );
        let parsed: UploadMetadata = extra.parse().unwrap();
        assert_eq!(
            parsed,
            UploadMetadata {
                device_clock: None,
                ..example()
            }
        );
    }

    #[test]
    fn each_broken_field_has_its_error() {
        let with = |key: &str, value: &str| {
            let mut header = example().to_string();
            header.push_str(&format!(",{key} {}", STANDARD.encode(value)));
            header
        };
        let cases = [
            (String::new(), MetadataError::Malformed),
            ("report_id %%%".into(), MetadataError::NotBase64),
            (
                with("report_id", "x"),
                MetadataError::Duplicate("report_id".into()),
            ),
            (
                example().to_string().replace("device_key", "devicekey"),
                MetadataError::Missing("device_key"),
            ),
        ];
        for (header, error) in cases {
            assert_eq!(header.parse::<UploadMetadata>(), Err(error), "{header}");
        }
        let only = |key: &str, value: &str| {
            let mut parts: Vec<String> = example()
                .to_string()
                .split(',')
                .filter(|p| !p.starts_with(&format!("{key} ")))
                .map(str::to_owned)
                .collect();
            parts.push(format!("{key} {}", STANDARD.encode(value)));
            parts.join(",").parse::<UploadMetadata>()
        };
        assert_eq!(only("report_id", "42"), Err(MetadataError::ReportId));
        assert_eq!(
            only("device_key", &STANDARD.encode([1u8; 31])),
            Err(MetadataError::DeviceKey)
        );
        assert_eq!(
            only("ciphertext_sha256", "ab"),
            Err(MetadataError::CiphertextSha256)
        );
        assert_eq!(
            only("envelope_sig", "c2ln"),
            Err(MetadataError::EnvelopeSig)
        );
    }

    proptest! {
        #[test]
        fn round_trip(
            id in any::<u128>(),
            device_key in any::<[u8; 32]>(),
            sha in any::<[u8; 32]>(),
            sig in proptest::collection::vec(any::<u8>(), 64),
            clock in proptest::option::of((any::<[u8; 8]>(), any::<u64>())),
        ) {
            let metadata = UploadMetadata {
                report_id: Uuid::from_u128(id),
                device_key,
                ciphertext_sha256: sha,
                envelope_sig: sig.try_into().unwrap(),
                device_clock: clock.map(|(boot_tag, ms_since_boot)| DeviceClock { boot_tag, ms_since_boot }),
            };
            prop_assert_eq!(metadata.to_string().parse::<UploadMetadata>(), Ok(metadata));
        }
    }
}
