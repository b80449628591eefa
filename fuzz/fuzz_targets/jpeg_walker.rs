//! The JPEG marker walker and the lossless strip (with the Exif reader and the ICC rebuild it
//! calls) on any bytes: an error, never a panic, and what it writes walks again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sighting_core::capture::{sanitize, CaptureOptions, CaptureRequest, Location, LocationMissing};

fuzz_target!(|data: &[u8]| {
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    if let Ok(photo) = sanitize(data.to_vec(), &request, &CaptureOptions::default()) {
        // Our own output must be a JPEG we accept.
        sanitize(photo.jpeg, &request, &CaptureOptions::default()).unwrap();
    }
});
