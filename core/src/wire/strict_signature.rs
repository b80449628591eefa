//! Ed25519 verification as every check on the organisation's side does it: strictly.
//!
//! RFC 8032 verification alone accepts a public key of small order: the identity point
//! (`01 00…00`) with the signature R = identity, S = 0 "verifies" every message, so a forger
//! needs no key at all. ring accepts that pair. ed25519-dalek's `verify_strict` refuses public
//! keys and R values of small order and non-canonical S (S ≥ ℓ), which is what the envelope
//! and manifest checks need: a signature that proves possession of a real key.

use ed25519_dalek::{Signature, VerifyingKey};

/// Whether `signature` is a strict Ed25519 signature of `message` by `public_key`.
pub fn verify_strict(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(key) = <[u8; 32]>::try_from(public_key) else {
        return false;
    };
    let Ok(signature) = Signature::from_slice(signature) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&key) else {
        return false;
    };
    !key.is_weak() && key.verify_strict(message, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{Ed25519KeyPair, KeyPair};

    /// The identity point: a public key of order 1.
    const IDENTITY: [u8; 32] = {
        let mut p = [0u8; 32];
        p[0] = 1;
        p
    };

    #[test]
    fn a_small_order_key_with_the_trivial_signature_is_refused() {
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&IDENTITY); // R = identity, S = 0
        assert!(!verify_strict(&IDENTITY, b"any message at all", &sig));
        // ring's plain RFC 8032 check accepts it: why this module exists.
        assert!(
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, IDENTITY)
                .verify(b"any message at all", &sig)
                .is_ok()
        );
    }

    #[test]
    fn a_non_canonical_s_is_refused_and_a_real_signature_verifies() {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let sig = pair.sign(b"report");
        assert!(verify_strict(
            pair.public_key().as_ref(),
            b"report",
            sig.as_ref()
        ));
        // S + ℓ: the same signature, malleated (ℓ = 2^252 + 27742317777372353535851937790883648493).
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut malleated = [0u8; 64];
        malleated.copy_from_slice(sig.as_ref());
        let mut carry = 0u16;
        for i in 0..32 {
            let sum = u16::from(malleated[32 + i]) + u16::from(L[i]) + carry;
            malleated[32 + i] = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0, "S + ℓ fits in 256 bits for any canonical S");
        assert!(!verify_strict(
            pair.public_key().as_ref(),
            b"report",
            &malleated
        ));
        assert!(!verify_strict(
            pair.public_key().as_ref(),
            b"other",
            sig.as_ref()
        ));
    }
}
