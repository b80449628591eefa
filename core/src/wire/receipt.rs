//! The intake server's receipt: proof that the organisation holds a report, signed with the
//! server's Ed25519 key (whose public half is in the app's configuration).
//!
//! Signed message: `"sighting-receipt/1" || report_id (16 bytes) || sha256(ciphertext) (32 bytes)
//! || received_at (RFC 3339, UTC, as sent)`.

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::signature::{UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const CONTEXT: &[u8] = b"sighting-receipt/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub report_id: Uuid,
    /// Hex.
    pub ciphertext_sha256: String,
    /// RFC 3339, UTC: the server's clock, which the desk uses to correct a wrong phone clock.
    pub received_at: String,
    /// Base64 Ed25519 public key of the server that signed.
    pub server_key: String,
    /// Base64 Ed25519 signature over [`Receipt::signed_message`].
    pub sig: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReceiptError {
    #[error("the receipt is for another report or another ciphertext")]
    Mismatch,
    #[error("the receipt was signed by a server key other than the configured one")]
    WrongServer,
    #[error("the receipt's signature does not verify")]
    BadSignature,
}

impl Receipt {
    pub fn signed_message(
        report_id: Uuid,
        ciphertext_sha256: &[u8; 32],
        received_at: &str,
    ) -> Vec<u8> {
        [
            CONTEXT,
            report_id.as_bytes(),
            ciphertext_sha256,
            received_at.as_bytes(),
        ]
        .concat()
    }

    /// Checks the receipt is for this report and ciphertext, from this server.
    pub fn verify(
        &self,
        report_id: Uuid,
        ciphertext_sha256: &[u8; 32],
        server_key: &[u8; 32],
    ) -> Result<(), ReceiptError> {
        if self.report_id != report_id
            || self.ciphertext_sha256 != super::hex::encode(ciphertext_sha256)
        {
            return Err(ReceiptError::Mismatch);
        }
        if STANDARD.decode(&self.server_key).ok().as_deref() != Some(&server_key[..]) {
            return Err(ReceiptError::WrongServer);
        }
        let sig = STANDARD
            .decode(&self.sig)
            .map_err(|_| ReceiptError::BadSignature)?;
        UnparsedPublicKey::new(&ED25519, server_key)
            .verify(
                &Self::signed_message(report_id, ciphertext_sha256, &self.received_at),
                &sig,
            )
            .map_err(|_| ReceiptError::BadSignature)
    }
}

/// The server's receipt key as an organisation hands it out (`server.pub`, the app's settings):
/// base64 of the 32-byte Ed25519 public key; surrounding whitespace is ignored.
pub fn parse_server_key(b64: &str) -> Option<[u8; 32]> {
    STANDARD.decode(b64.trim()).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The JSON the intake writes is the JSON the phone and the desk read.
        #[test]
        fn json_round_trip(id in any::<u128>(), sha in any::<[u8; 32]>(), secs in 0i64..4_000_000_000) {
            let receipt = Receipt {
                report_id: Uuid::from_u128(id),
                ciphertext_sha256: super::super::hex::encode(&sha),
                received_at: time::OffsetDateTime::from_unix_timestamp(secs)
                    .unwrap()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap(),
                server_key: STANDARD.encode([3u8; 32]),
                sig: STANDARD.encode([4u8; 64]),
            };
            let json = serde_json::to_string(&receipt).unwrap();
            prop_assert_eq!(serde_json::from_str::<Receipt>(&json).unwrap(), receipt);
        }
    }

    #[test]
    fn server_keys_are_32_bytes_of_base64() {
        let key = [7u8; 32];
        let text = format!("{}\n", STANDARD.encode(key));
        assert_eq!(parse_server_key(&text), Some(key));
        assert_eq!(parse_server_key(&STANDARD.encode([7u8; 31])), None);
        assert_eq!(parse_server_key("not-a-key"), None);
    }
}
