//! Photos chosen from the gallery that are not JPEGs: PNG and WebP (screenshots, reposts from
//! Weibo or WeChat). Only their pixels are kept: they are decoded and encoded as a JPEG, which
//! then goes through the camera pipeline like any photo, so nothing of the file survives (PNG
//! text, iTXt/zTXt, eXIf, iCCP, tIME chunks; WebP EXIF, XMP and ICCP chunks) and the fresh
//! Exif is the only metadata. The colour profile goes too: the pixels are taken as sRGB, as
//! screenshots and reposts almost always are. HEIC is converted by the phone's own decoder
//! (Android `ImageDecoder`, iOS ImageIO) before the core sees it.

use std::io::Cursor;

use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use image::{ColorType, ImageDecoder, ImageError, Limits, RgbImage};

use super::{upload_copy, CaptureError, CaptureOptions, Removed};

/// JPEG quality of the full-size re-encode: high, since the upload copy is encoded again from it.
const REENCODE_QUALITY: u8 = 92;
/// The largest side a baseline JPEG can have.
const JPEG_MAX_SIDE: u32 = 65_535;

/// A JPEG of a gallery photo's pixels alone, and what of the file was dropped.
pub(super) type Reencoded = (Vec<u8>, Vec<Removed>);

/// A gallery photo as a JPEG of its pixels alone; `None` when `bytes` is not PNG or WebP (the
/// JPEG path reads it, or says what it is).
pub(super) fn as_jpeg(
    bytes: &[u8],
    options: &CaptureOptions,
) -> Result<Option<Reencoded>, CaptureError> {
    let (decoder, container): (Box<dyn ImageDecoder + '_>, _) = match bytes {
        [0x89, b'P', b'N', b'G', ..] => (
            Box::new(PngDecoder::with_limits(Cursor::new(bytes), limits()).map_err(undecodable)?),
            "PNG file",
        ),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => (
            Box::new(WebPDecoder::new(Cursor::new(bytes)).map_err(undecodable)?),
            "WebP file",
        ),
        _ => return Ok(None),
    };
    let mut decoder = decoder;
    // Only the header has been read: the pixel limit holds before any pixel is decoded.
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > options.max_pixels
        || width > JPEG_MAX_SIDE
        || height > JPEG_MAX_SIDE
    {
        return Err(CaptureError::TooManyPixels {
            width,
            height,
            limit: options.max_pixels,
        });
    }
    decoder.set_limits(limits()).map_err(undecodable)?;
    let mut removed = Vec::new();
    let mut note = |what, found: Result<Option<Vec<u8>>, ImageError>| {
        if let Ok(Some(bytes)) = found {
            removed.push(Removed {
                what,
                bytes: bytes.len(),
            });
        }
    };
    note("Exif", decoder.exif_metadata());
    note("XMP", decoder.xmp_metadata());
    note("ICC profile", decoder.icc_profile());
    note("IPTC", decoder.iptc_metadata());
    removed.push(Removed {
        what: container,
        bytes: bytes.len(),
    });
    let color = decoder.color_type();
    let mut pixels = vec![0u8; decoder.total_bytes() as usize];
    decoder.read_image_boxed(&mut pixels).map_err(undecodable)?;
    let rgb = to_rgb(&pixels, color, width, height)?;
    Ok(Some((
        upload_copy::encode(&rgb, REENCODE_QUALITY)?,
        removed,
    )))
}

/// The decoders' limits besides the pixel count: JPEG's side limit, and image's default
/// allocation cap (512 MiB) against a file that claims more than its pixels need.
fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(JPEG_MAX_SIDE);
    limits.max_image_height = Some(JPEG_MAX_SIDE);
    limits
}

/// 8-bit RGB from any of the layouts PNG and WebP decode to: grey is spread to three channels,
/// 16-bit samples (native byte order, as `image` hands them over) keep their high byte, and
/// transparency is laid over white, as a gallery shows it.
fn to_rgb(
    pixels: &[u8],
    color: ColorType,
    width: u32,
    height: u32,
) -> Result<RgbImage, CaptureError> {
    let channels = usize::from(color.channel_count());
    let sample_bytes = usize::from(color.bytes_per_pixel()) / channels;
    if !matches!(
        color,
        ColorType::L8
            | ColorType::La8
            | ColorType::Rgb8
            | ColorType::Rgba8
            | ColorType::L16
            | ColorType::La16
            | ColorType::Rgb16
            | ColorType::Rgba16
    ) {
        return Err(CaptureError::Unsupported("a floating-point image"));
    }
    let sample = |px: &[u8], i: usize| match sample_bytes {
        1 => px[i],
        _ => (u16::from_ne_bytes([px[2 * i], px[2 * i + 1]]) >> 8) as u8,
    };
    let colours = if color.has_alpha() {
        channels - 1
    } else {
        channels
    };
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for px in pixels.chunks_exact(channels * sample_bytes) {
        let alpha = if color.has_alpha() {
            u32::from(sample(px, channels - 1))
        } else {
            255
        };
        for c in 0..3 {
            let value = u32::from(sample(px, if colours == 1 { 0 } else { c }));
            out.push(((value * alpha + 255 * (255 - alpha) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(width, height, out).ok_or(CaptureError::Internal("pixel buffer size"))
}

fn undecodable(e: ImageError) -> CaptureError {
    match e {
        ImageError::Limits(_) => {
            CaptureError::Unsupported("an image larger than the decoder's limits")
        }
        other => CaptureError::Undecodable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_becomes_rgb_over_white() {
        let rgb = |pixels: &[u8], color| to_rgb(pixels, color, 1, 1).unwrap().into_raw();
        assert_eq!(rgb(&[7], ColorType::L8), [7, 7, 7]);
        assert_eq!(rgb(&[1, 2, 3], ColorType::Rgb8), [1, 2, 3]);
        // Fully transparent is white; half transparent black is mid grey.
        assert_eq!(rgb(&[0, 0, 0, 0], ColorType::Rgba8), [255, 255, 255]);
        assert_eq!(rgb(&[0, 128], ColorType::La8), [127, 127, 127]);
        let deep: Vec<u8> = [0x1234u16, 0xABCD, 0xFFFF]
            .iter()
            .flat_map(|s| s.to_ne_bytes())
            .collect();
        assert_eq!(rgb(&deep, ColorType::Rgb16), [0x12, 0xAB, 0xFF]);
    }

    #[test]
    fn the_pixel_limit_holds_before_decoding() {
        use image::ImageEncoder;
        let mut png = Vec::new();
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(
                &[200u8; 40 * 30 * 3],
                40,
                30,
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        let small = CaptureOptions {
            max_pixels: 1000,
            ..CaptureOptions::default()
        };
        assert!(matches!(
            as_jpeg(&png, &small),
            Err(CaptureError::TooManyPixels {
                width: 40,
                height: 30,
                ..
            })
        ));
        let (jpeg, removed) = as_jpeg(&png, &CaptureOptions::default()).unwrap().unwrap();
        assert!(jpeg.starts_with(&[0xFF, 0xD8]));
        assert_eq!(removed.last().unwrap().what, "PNG file");
    }

    #[test]
    fn anything_else_is_left_to_the_jpeg_path() {
        let options = CaptureOptions::default();
        assert!(as_jpeg(b"\xFF\xD8\xFF\xE0", &options).unwrap().is_none());
        assert!(as_jpeg(b"GIF89a", &options).unwrap().is_none());
    }
}
