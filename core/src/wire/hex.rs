//! Lowercase hexadecimal, as SHA-256 digests and boot tags travel in metadata, receipts and
//! manifests. Written here rather than taken from a crate: two short functions do not earn a
//! dependency in the phone library, whose size is budgeted.

/// `bytes` as lowercase hex digits.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Exactly `2 × N` hex digits (either case) as `N` bytes.
pub fn decode<const N: usize>(s: &str) -> Option<[u8; N]> {
    let digits = s.as_bytes();
    if digits.len() != 2 * N {
        return None;
    }
    let value = |d: u8| (d as char).to_digit(16).map(|v| v as u8);
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = value(pair[0])? << 4 | value(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(encode(&[0x00, 0x9f, 0xff]), "009fff");
        assert_eq!(decode::<3>("009FfF"), Some([0x00, 0x9f, 0xff]));
        assert_eq!(decode::<2>("009f"), Some([0x00, 0x9f]));
        assert_eq!(decode::<2>("009"), None, "odd length");
        assert_eq!(decode::<2>("00+f"), None, "a sign is not a digit");
        assert_eq!(decode::<1>("é"), None, "multi-byte UTF-8");
    }

    proptest! {
        #[test]
        fn round_trip(bytes in any::<[u8; 32]>()) {
            prop_assert_eq!(decode::<32>(&encode(&bytes)), Some(bytes));
        }
    }
}
