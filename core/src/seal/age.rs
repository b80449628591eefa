//! age v1 encryption to X25519 recipients, written on `ring`.
//!
//! Written here rather than taken from the `age` crate because the phone build must stay on one
//! crypto library (ring, also used for signatures and at-rest encryption) and the encrypt side is
//! small. The desk decrypts with the `age` crate and the tests check every size against the `age`
//! CLI, so the two implementations keep each other honest.
//!
//! C2SP age v1, *Header*: "The header is a sequence of lines [...] `age-encryption.org/v1`
//! [...] Each recipient stanza starts with a line beginning with `-> ` [...] followed by the body
//! [...] wrapped at 64 columns [...] The last line of the body MUST be shorter than 64 columns,
//! and it MAY be empty. [...] The header ends with the MAC line: `---`, a space, and the base64
//! encoding of a MAC [...] HMAC-SHA-256 [...] with key HKDF-SHA-256(ikm = file key, salt = empty,
//! info = "header") over the whole header up to and including the `---` mark."
//!
//! *X25519 recipient stanza*: "`-> X25519 <base64(ephemeral share)>` [...] salt = ephemeral share
//! || recipient, info = "age-encryption.org/v1/X25519", wrap key = HKDF-SHA-256(ikm = shared
//! secret, salt, info); body = ChaCha20-Poly1305(key = wrap key, nonce = 0, file key)". "If the
//! shared secret is all zeroes, the recipient MUST be rejected."
//!
//! *Payload*: "a 16 bytes nonce [...] payload key = HKDF-SHA-256(ikm = file key, salt = nonce,
//! info = "payload") [...] STREAM [...] chunks of 64 KiB [...] the nonce is the 11 bytes big
//! endian chunk counter followed by the last-chunk flag byte (0x01 for the last chunk). [...] The
//! last chunk MAY be full, and it MAY be empty only if the whole payload is empty."

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use base64::{engine::general_purpose::STANDARD_NO_PAD, Engine};
use bech32::{primitives::decode::CheckedHrpstring, Bech32, Hrp};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey, X25519};
use ring::hkdf::{self, HKDF_SHA256};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use super::SealError;

const VERSION_LINE: &str = "age-encryption.org/v1";
const X25519_INFO: &[u8] = b"age-encryption.org/v1/X25519";
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

/// An organisation's X25519 recipient, parsed from its `age1…` string.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient([u8; 32]);

impl Recipient {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }
}

impl FromStr for Recipient {
    type Err = SealError;

    /// Bech32 (not Bech32m) with the `age` prefix, checksum verified, lowercase as age writes it.
    fn from_str(s: &str) -> Result<Self, SealError> {
        let bad = |why: &str| SealError::Recipient(format!("{why}: {s:.12}…"));
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad("an age recipient is lowercase"));
        }
        let checked = CheckedHrpstring::new::<Bech32>(s).map_err(|e| bad(&e.to_string()))?;
        if checked.hrp() != Hrp::parse_unchecked("age") {
            return Err(bad("not an age recipient (must start with age1)"));
        }
        let key: Vec<u8> = checked.byte_iter().collect();
        let key = <[u8; 32]>::try_from(key).map_err(|_| bad("not a 32-byte X25519 key"))?;
        // BIP 173: "Any incomplete group at the end MUST be 4 bits or less, MUST be all
        // zeroes". 32 bytes are 52 five-bit groups with 4 bits of padding; the age CLI refuses
        // non-zero padding, and so do we, so that one key has one spelling.
        let data = checked.data_part_ascii_no_checksum();
        let padding = data
            .last()
            .and_then(|c| bech32::Fe32::from_char(char::from(*c)).ok())
            .map_or(0xff, |last| last.to_u8() & 0x0f);
        if data.len() != 52 || padding != 0 {
            return Err(bad("non-zero padding"));
        }
        Ok(Self(key))
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked("age");
        match bech32::encode::<Bech32>(hrp, &self.0) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({self})")
    }
}

/// Encrypts to `recipients`, writing the header now and the payload as it is written.
/// Call [`AgeWriter::finish`]: dropping the writer leaves a truncated file that age refuses.
pub fn encrypt<W: Write>(recipients: &[Recipient], mut out: W) -> Result<AgeWriter<W>, SealError> {
    if recipients.is_empty() {
        return Err(SealError::NoRecipients);
    }
    let rng = SystemRandom::new();
    // A fresh file key, nonce and ephemeral key per file.
    let file_key: [u8; 16] = random(&rng)?;
    let mut header = format!("{VERSION_LINE}\n");
    for recipient in recipients {
        header.push_str(&x25519_stanza(&rng, &file_key, recipient)?);
    }
    header.push_str("---");
    let mac_key = hmac::Key::new(hmac::HMAC_SHA256, &hkdf32(&[], &file_key, b"header")?);
    let mac = hmac::sign(&mac_key, header.as_bytes());
    header.push(' ');
    header.push_str(&STANDARD_NO_PAD.encode(mac.as_ref()));
    header.push('\n');
    let nonce: [u8; 16] = random(&rng)?;
    out.write_all(header.as_bytes())?;
    out.write_all(&nonce)?;
    let payload_key = hkdf32(&nonce, &file_key, b"payload")?;
    Ok(AgeWriter {
        out,
        key: chacha(&payload_key)?,
        counter: 0,
        chunk: Vec::with_capacity(CHUNK + TAG),
    })
}

fn x25519_stanza(
    rng: &SystemRandom,
    file_key: &[u8; 16],
    recipient: &Recipient,
) -> Result<String, SealError> {
    let ephemeral =
        EphemeralPrivateKey::generate(&X25519, rng).map_err(|_| SealError::Crypto("X25519 key"))?;
    let share = ephemeral
        .compute_public_key()
        .map_err(|_| SealError::Crypto("X25519 key"))?;
    let mut salt = share.as_ref().to_vec();
    salt.extend_from_slice(&recipient.0);
    // ring refuses an all-zero shared secret (a low-order recipient point), as age requires.
    let wrap_key = agreement::agree_ephemeral(
        ephemeral,
        &UnparsedPublicKey::new(&X25519, recipient.0),
        |shared| hkdf32(&salt, shared, X25519_INFO),
    )
    .map_err(|_| SealError::Recipient("a low-order X25519 key cannot be a recipient".into()))??;
    let mut body = file_key.to_vec();
    chacha(&wrap_key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key([0; 12]),
            Aad::empty(),
            &mut body,
        )
        .map_err(|_| SealError::Crypto("wrapping the file key"))?;
    Ok(format!(
        "-> X25519 {}\n{}",
        STANDARD_NO_PAD.encode(share.as_ref()),
        wrap_body(&STANDARD_NO_PAD.encode(body))
    ))
}

/// A stanza body at 64 columns, its last line always shorter (so possibly empty).
fn wrap_body(b64: &str) -> String {
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 1);
    let mut rest = b64;
    loop {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        if line.len() < 64 {
            return out;
        }
        rest = tail;
    }
}

/// The STREAM writer. Holds at most one chunk: a full chunk is only sealed once more data shows
/// it is not the last one.
pub struct AgeWriter<W: Write> {
    out: W,
    key: LessSafeKey,
    counter: u64,
    chunk: Vec<u8>,
}

impl<W: Write> AgeWriter<W> {
    /// Seals the final chunk and returns the inner writer.
    pub fn finish(mut self) -> Result<W, SealError> {
        self.seal_chunk(true)?;
        Ok(self.out)
    }

    fn seal_chunk(&mut self, last: bool) -> io::Result<()> {
        let mut nonce = [0u8; 12];
        nonce[3..11].copy_from_slice(&self.counter.to_be_bytes());
        nonce[11] = u8::from(last);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut self.chunk,
            )
            .map_err(|_| io::Error::other("ChaCha20-Poly1305 refused a chunk"))?;
        self.out.write_all(&self.chunk)?;
        self.chunk.clear();
        // 2^64 chunks of 64 KiB is beyond any report; overflow would reuse a nonce, so refuse.
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| io::Error::other("age STREAM counter overflow"))?;
        Ok(())
    }
}

impl<W: Write> Write for AgeWriter<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let written = data.len();
        while !data.is_empty() {
            if self.chunk.len() == CHUNK {
                self.seal_chunk(false)?;
            }
            let take = (CHUNK - self.chunk.len()).min(data.len());
            self.chunk.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn hkdf32(salt: &[u8], ikm: &[u8], info: &[u8]) -> Result<[u8; 32], SealError> {
    let mut out = [0u8; 32];
    hkdf::Salt::new(HKDF_SHA256, salt)
        .extract(ikm)
        .expand(&[info], HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| SealError::Crypto("HKDF"))?;
    Ok(out)
}

fn chacha(key: &[u8; 32]) -> Result<LessSafeKey, SealError> {
    UnboundKey::new(&CHACHA20_POLY1305, key)
        .map(LessSafeKey::new)
        .map_err(|_| SealError::Crypto("ChaCha20-Poly1305 key"))
}

fn random<const N: usize>(rng: &SystemRandom) -> Result<[u8; N], SealError> {
    let mut out = [0u8; N];
    rng.fill(&mut out)
        .map_err(|_| SealError::Crypto("the system random generator failed"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with `age-keygen` for these tests only; its identity is
    // AGE-SECRET-KEY-1YY559S4PG9HW0XFFR0NH5SV9TA7NPKDZLH05KE7CG8QM4Q20SRTQ0K4MUC.
    const RECIPIENT: &str = "age12d26g50hktp8t73tgtudnn5dgd5efy88fgntq49fcremdz20ua8spn6353";

    #[test]
    fn parses_and_prints_a_recipient() {
        let r: Recipient = RECIPIENT.parse().unwrap();
        assert_eq!(r.to_string(), RECIPIENT);
    }

    #[test]
    fn refuses_bad_recipients() {
        let mut wrong_checksum = RECIPIENT.to_string();
        wrong_checksum.pop();
        wrong_checksum.push('q');
        for bad in [
            wrong_checksum.as_str(),
            "age1",
            "",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            &RECIPIENT.to_uppercase(),
        ] {
            assert!(
                matches!(bad.parse::<Recipient>(), Err(SealError::Recipient(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refuses_a_second_spelling_with_non_zero_padding() {
        use bech32::primitives::iter::{ByteIterExt, Fe32IterExt};
        let key = RECIPIENT.parse::<Recipient>().unwrap().0;
        let mut groups: Vec<bech32::Fe32> = key.iter().copied().bytes_to_fes().collect();
        let last = groups.pop().unwrap();
        groups.push(bech32::Fe32::try_from(last.to_u8() | 1).unwrap());
        let hrp = Hrp::parse_unchecked("age");
        let other: String = groups
            .into_iter()
            .with_checksum::<Bech32>(&hrp)
            .chars()
            .collect();
        assert_ne!(other, RECIPIENT);
        // The same key bytes, another valid bech32 string: refused as the age CLI does.
        let checked = CheckedHrpstring::new::<Bech32>(&other).unwrap();
        assert_eq!(checked.byte_iter().collect::<Vec<u8>>(), key);
        let refused = other.parse::<Recipient>().unwrap_err().to_string();
        assert!(refused.contains("non-zero padding"), "{refused}");
    }

    #[test]
    fn refuses_zero_recipients_and_low_order_points() {
        assert!(matches!(
            encrypt(&[], Vec::new()),
            Err(SealError::NoRecipients)
        ));
        let zero = Recipient::from_bytes([0; 32]);
        assert!(matches!(
            encrypt(&[zero], Vec::new()),
            Err(SealError::Recipient(_))
        ));
    }

    #[test]
    fn bodies_wrap_at_64_columns_with_a_short_last_line() {
        assert_eq!(wrap_body("abc"), "abc\n");
        let sixty_four = "a".repeat(64);
        assert_eq!(wrap_body(&sixty_four), format!("{sixty_four}\n\n"));
        assert_eq!(
            wrap_body(&"b".repeat(70)),
            format!("{}\n{}\n", "b".repeat(64), "b".repeat(6))
        );
    }

    #[test]
    fn chunks_follow_the_stream_rule() {
        // Header + 16-byte nonce + ⌈n / 64 KiB⌉ chunks (at least one) each with a 16-byte tag.
        let r: Recipient = RECIPIENT.parse().unwrap();
        for (n, chunks) in [
            (0, 1),
            (1, 1),
            (CHUNK - 1, 1),
            (CHUNK, 1),
            (CHUNK + 1, 2),
            (3 * CHUNK, 3),
        ] {
            let mut w = encrypt(std::slice::from_ref(&r), Vec::new()).unwrap();
            w.write_all(&vec![7; n]).unwrap();
            let out = w.finish().unwrap();
            let header_end = out.windows(4).position(|w| w == b"--- ").unwrap();
            let header_len =
                header_end + out[header_end..].iter().position(|&b| b == b'\n').unwrap() + 1;
            assert_eq!(
                out.len(),
                header_len + 16 + n + chunks * TAG,
                "payload of {n}"
            );
        }
    }
}
