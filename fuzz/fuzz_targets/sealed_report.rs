//! The desk opening any bytes as a sealed report: the age header parser (the `age` crate), the
//! payload, the bundle (tar) and the checks after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The seed corpus is sealed to its recipient,
/// age1wsf9ee82vnraf839gwatdggtt7zsk8gm5rfptv5c7zkk89uu9yqqzgqsv0.
pub const FUZZ_IDENTITY: &str =
    "AGE-SECRET-KEY-153PKYGKFWAFAXC2537LHHAZR6NC5MYXCXJVFJRMYKVC52HYWKZ9SZ7MZCH";

fn identities() -> &'static [age::x25519::Identity] {
    static IDENTITIES: OnceLock<Vec<age::x25519::Identity>> = OnceLock::new();
    // A key for fuzzing only (its recipient sealed the seed corpus): published, protects nothing.
    IDENTITIES.get_or_init(|| vec![FUZZ_IDENTITY.parse().unwrap()])
}

fuzz_target!(|data: &[u8]| {
    let _ = sighting_desk::open_report(identities(), data);
});
