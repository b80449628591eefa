//! The camera Exif reader on any TIFF bytes: it never fails, it lists problems.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sighting_core::capture::read_camera(Some(data));
});
