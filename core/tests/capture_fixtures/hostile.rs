//! Photos made to hurt: a header claiming a huge size, 12-bit samples, every truncation, a
//! looping Exif block, a file over the limit. Each is a typed error, found before the work.

use super::*;

/// A fixture whose SOF0 has been rewritten to claim another size or precision.
fn with_frame(width: u16, height: u16, precision: u8) -> Vec<u8> {
    let mut bytes = std::fs::read(fixtures().join("Canon_40D.jpg")).unwrap();
    // The last SOF0 is the primary frame's (the first may be the Exif thumbnail's).
    let sof = bytes.windows(2).rposition(|w| w == [0xFF, 0xC0]).unwrap();
    bytes[sof + 4] = precision;
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn a_huge_header_is_refused_before_decoding() {
    let err = capture(
        with_frame(65000, 65000, 8),
        &request(),
        &CaptureOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::TooManyPixels {
                width: 65000,
                height: 65000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn twelve_bit_is_a_typed_error() {
    let err = capture(
        with_frame(100, 68, 12),
        &request(),
        &CaptureOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, CaptureError::Unsupported(_)), "{err}");
}

#[test]
fn every_truncation_of_a_photo_is_a_typed_error() {
    let dir = fixtures();
    let options = CaptureOptions::default();
    let small = std::fs::read(dir.join("Canon_40D.jpg")).unwrap();
    let big = std::fs::read(dir.join("gps/DSCN0010.jpg")).unwrap();
    let cuts = (0..small.len())
        .map(|c| (&small, c))
        .chain((0..64).map(|k| (&big, big.len() * k / 64)));
    for (bytes, cut) in cuts {
        match sanitize(bytes[..cut].to_vec(), &request(), &options) {
            Err(CaptureError::Truncated { .. } | CaptureError::Empty) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn a_looping_exif_block_is_survived() {
    // Replace the camera's Exif with a TIFF whose IFD0 points back at itself.
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0, 0, 8]);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    let original = std::fs::read(fixtures().join("xmp/no_exif.jpg")).unwrap();
    let mut bytes = original[..2].to_vec();
    bytes.extend_from_slice(&app1);
    bytes.extend_from_slice(&original[2..]);
    let started = Instant::now();
    let photo = capture(bytes, &request(), &CaptureOptions::default()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(photo.sanitized.orientation, 8);
    assert!(!photo.sanitized.camera_exif_problems.is_empty());
}

#[test]
fn a_file_over_the_limit_is_refused_unread() {
    let file = tempfile::NamedTempFile::new().unwrap();
    file.as_file().set_len(65 << 20).unwrap(); // sparse: nothing is written
    let err = read_photo(file.path(), &CaptureOptions::default()).unwrap_err();
    assert!(
        matches!(err, CaptureError::FileTooLarge { bytes, .. } if bytes == 65 << 20),
        "{err}"
    );
}
