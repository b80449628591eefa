//! The manifest parser (schema first, then fields) on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = sighting_core::report::Manifest::from_json(data) {
        // What parses, prints and parses again.
        let json = manifest.to_json().unwrap();
        sighting_core::report::Manifest::from_json(&json).unwrap();
    }
});
