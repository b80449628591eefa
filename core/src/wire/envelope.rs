//! The envelope signature: what the intake server checks of a report without decrypting it.
//!
//! Signed message: `"sighting-envelope/1" || report_id (16 bytes, RFC 9562 order) ||
//! sha256(ciphertext) (32 bytes)`, Ed25519 by the device key. The context string keeps it from
//! ever being replayed as a manifest signature or anything else the device key signs. It
//! travels as `envelope_sig` in the upload's metadata ([`super::UploadMetadata`]).

use uuid::Uuid;

pub const ENVELOPE_CONTEXT: &[u8] = b"sighting-envelope/1";

/// The bytes the device signs and the intake verifies.
pub fn envelope_message(report_id: Uuid, ciphertext_sha256: &[u8; 32]) -> Vec<u8> {
    [ENVELOPE_CONTEXT, report_id.as_bytes(), ciphertext_sha256].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test vector: the message is exactly context, id bytes, hash.
    #[test]
    fn message_layout() {
        let id: Uuid = "0196d1c4-7e40-4a8b-9c5e-1234567890ab".parse().unwrap();
        let message = envelope_message(id, &[0xab; 32]);
        assert_eq!(message.len(), 19 + 16 + 32);
        assert_eq!(&message[..19], b"sighting-envelope/1");
        assert_eq!(
            super::super::hex::encode(&message[19..35]),
            "0196d1c47e404a8b9c5e1234567890ab"
        );
        assert!(message[35..].iter().all(|&b| b == 0xab));
    }
}
