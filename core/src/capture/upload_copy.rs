//! The upload copy (upright, long edge ≤ `max_edge`) and the reporter's thumbnail, from one decode.
//!
//! libjpeg-turbo scales in the DCT domain, so a 48 MP photo is decoded straight to 2000 px and never becomes a full-size RGB buffer; `fast_image_resize` takes it the rest
//! of the way. Orientation is applied after resizing, on the smaller buffer.

use fast_image_resize::{
    images::{TypedImage, TypedImageRef},
    pixels::U8x3,
    FilterType, ResizeAlg, ResizeOptions, Resizer,
};
use image::imageops::{flip_horizontal_in_place, flip_vertical_in_place, rotate180_in_place};
use image::imageops::{rotate270, rotate90};
use image::{metadata::Orientation, RgbImage};
use turbojpeg::{Compressor, Decompressor, PixelFormat, ScalingFactor, Subsamp};

use super::{phash, CaptureError, CaptureOptions};

/// Decodes `jpeg` at the smallest DCT scale that still covers `long_edge`, resizes to it and
/// turns the pixels upright.
pub fn decode_upright(
    jpeg: &[u8],
    long_edge: u32,
    orientation: u16,
) -> Result<RgbImage, CaptureError> {
    let mut decoder = Decompressor::new().map_err(undecodable)?;
    let header = decoder.read_header(jpeg).map_err(undecodable)?;
    if header.is_lossless {
        return Err(CaptureError::Unsupported("lossless JPEG"));
    }
    let scale = pick_scale(header.width.max(header.height), long_edge as usize);
    decoder.set_scaling_factor(scale).map_err(undecodable)?;
    let scaled = header.scaled(scale);
    let mut image = turbojpeg::Image {
        pixels: vec![0u8; 3 * scaled.width * scaled.height],
        width: scaled.width,
        pitch: 3 * scaled.width,
        height: scaled.height,
        format: PixelFormat::RGB,
    };
    decoder
        .decompress(jpeg, image.as_deref_mut())
        .map_err(undecodable)?;
    let (w, h) = (scaled.width as u32, scaled.height as u32);
    let resized = match resize(&image.pixels, (w, h), long_edge)? {
        Some(resized) => resized,
        None => RgbImage::from_raw(w, h, image.pixels)
            .ok_or(CaptureError::Internal("pixel buffer size"))?,
    };
    Ok(upright(
        resized,
        Orientation::from_exif(orientation as u8).unwrap_or(Orientation::NoTransforms),
    ))
}

/// `DynamicImage::apply_orientation`, on RGB pixels only: through `DynamicImage` every pixel
/// type's conversions (and a colour-management crate) were compiled into the phone library.
fn upright(mut image: RgbImage, orientation: Orientation) -> RgbImage {
    match orientation {
        Orientation::NoTransforms => image,
        Orientation::Rotate90 => rotate90(&image),
        Orientation::Rotate180 => {
            rotate180_in_place(&mut image);
            image
        }
        Orientation::Rotate270 => rotate270(&image),
        Orientation::FlipHorizontal => {
            flip_horizontal_in_place(&mut image);
            image
        }
        Orientation::FlipVertical => {
            flip_vertical_in_place(&mut image);
            image
        }
        Orientation::Rotate90FlipH => {
            let mut turned = rotate90(&image);
            flip_horizontal_in_place(&mut turned);
            turned
        }
        Orientation::Rotate270FlipH => {
            let mut turned = rotate270(&image);
            flip_horizontal_in_place(&mut turned);
            turned
        }
    }
}

/// The DCT scale to decode at: the smallest of 1/8, 1/4, 1/2, 1 whose output still has a long
/// edge of at least ¾ of `long_edge`. Only those four scales have SIMD inverse DCTs in
/// libjpeg-turbo (5/8 decodes slower than full size), and landing in [¾, 1] × `long_edge` means
/// most photos need no resampling pass at all: 8 MP → 1632 px, 12 MP → 2000, 48 MP → 2000.
fn pick_scale(long: usize, long_edge: usize) -> ScalingFactor {
    let floor = long_edge * 3 / 4;
    [8, 4, 2]
        .into_iter()
        .map(|d| ScalingFactor::new(1, d))
        .find(|f| f.scale(long) >= floor)
        .unwrap_or(ScalingFactor::ONE)
}

/// Resizes RGB pixels so the long edge is `long_edge`; `None` when they already fit.
fn resize(
    pixels: &[u8],
    (w, h): (u32, u32),
    long_edge: u32,
) -> Result<Option<RgbImage>, CaptureError> {
    let (nw, nh) = fit((w, h), long_edge);
    if (nw, nh) == (w, h) {
        return Ok(None);
    }
    // Typed: only the RGB resizer is compiled in; the untyped `Resizer::resize` dispatches to all
    // 13 pixel types and made fast_image_resize 2.9 MB of the mobile library.
    let src = TypedImageRef::<U8x3>::from_buffer(w, h, pixels)
        .map_err(|_| CaptureError::Internal("pixel buffer size"))?;
    let mut out = vec![0u8; nw as usize * nh as usize * 3];
    let mut dst = TypedImage::<U8x3>::from_buffer(nw, nh, &mut out)
        .map_err(|_| CaptureError::Internal("pixel buffer size"))?;
    Resizer::new()
        .resize_typed(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom)),
        )
        .map_err(|_| CaptureError::Internal("resize failed"))?;
    RgbImage::from_raw(nw, nh, out)
        .map(Some)
        .ok_or(CaptureError::Internal("pixel buffer size"))
}

/// The size that fits `long_edge` with the aspect ratio kept (never upscales, never 0).
fn fit((w, h): (u32, u32), long_edge: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= long_edge {
        return (w, h);
    }
    let scale = |v: u32| {
        ((u64::from(v) * u64::from(long_edge) + u64::from(long) / 2) / u64::from(long)).max(1)
            as u32
    };
    (scale(w), scale(h))
}

/// Encodes upright RGB pixels as a baseline 4:2:0 JPEG. Standard Huffman tables: optimised ones
/// saved about 3% of the bytes but cost a second pass over every block (a sixth of the time).
pub fn encode(pixels: &RgbImage, quality: u8) -> Result<Vec<u8>, CaptureError> {
    let mut c = Compressor::new().map_err(encode_error)?;
    c.set_quality(i32::from(quality)).map_err(encode_error)?;
    c.set_subsamp(Subsamp::Sub2x2).map_err(encode_error)?;
    let (w, h) = pixels.dimensions();
    let image = turbojpeg::Image {
        pixels: pixels.as_raw().as_slice(),
        width: w as usize,
        pitch: 3 * w as usize,
        height: h as usize,
        format: PixelFormat::RGB,
    };
    c.compress_to_vec(image).map_err(encode_error)
}

/// The thumbnail (JPEG) and perceptual hash, from the upright pixels.
pub fn thumbnail(
    upright: &RgbImage,
    options: &CaptureOptions,
) -> Result<(Vec<u8>, u64), CaptureError> {
    let resized = resize(
        upright.as_raw(),
        upright.dimensions(),
        options.thumbnail_edge,
    )?;
    let small = resized.as_ref().unwrap_or(upright);
    Ok((
        encode(small, options.thumbnail_quality)?,
        phash::dhash(small),
    ))
}

fn undecodable(e: turbojpeg::Error) -> CaptureError {
    CaptureError::Undecodable(e.to_string())
}

fn encode_error(e: turbojpeg::Error) -> CaptureError {
    CaptureError::Encode(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every Exif orientation turns a 3×2 picture exactly as `DynamicImage` does.
    #[test]
    fn each_orientation_matches_the_image_crate() {
        let picture = RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8, y as u8, 7]));
        for exif in 1..=8u8 {
            let orientation = Orientation::from_exif(exif).unwrap();
            let mut expected = image::DynamicImage::ImageRgb8(picture.clone());
            expected.apply_orientation(orientation);
            assert_eq!(
                upright(picture.clone(), orientation),
                expected.into_rgb8(),
                "Exif orientation {exif}"
            );
        }
    }

    #[test]
    fn scale_is_picked_in_the_dct_domain_where_it_can_be() {
        let eighths = |long, edge| {
            let f = super::pick_scale(long, edge);
            (f.num() * 8 / f.denom(), f.scale(long))
        };
        assert_eq!(eighths(3264, 2048), (4, 1632));
        assert_eq!(eighths(4000, 2048), (4, 2000));
        assert_eq!(eighths(8000, 2048), (2, 2000));
        assert_eq!(eighths(12000, 2048), (2, 3000));
        assert_eq!(eighths(4608, 2048), (4, 2304));
        assert_eq!(eighths(1000, 2048), (8, 1000));
    }

    #[test]
    fn fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit((8000, 6000), 2048), (2048, 1536));
        assert_eq!(fit((1976, 4608), 2048), (878, 2048));
        assert_eq!(fit((600, 450), 2048), (600, 450));
        assert_eq!(fit((10000, 1), 320), (320, 1));
    }
}
