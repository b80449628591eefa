//! A 64-bit difference hash (dHash) of the upright picture, for the desk's repeat-sighting
//! clusters.
//!
//! dHash (Krawetz, "Kind of Like That", 2013): shrink to 9×8 grey pixels, then each bit says
//! whether a pixel is brighter than its right neighbour. Re-encoding and resizing barely move it;
//! a different scene flips about half the bits. Written here (a dozen lines) rather than pulling
//! `image_hasher`, whose resize pipeline would decode the thumbnail a second time.

use fast_image_resize::{
    images::{TypedImage, TypedImageRef},
    pixels::U8,
    FilterType, ResizeAlg, ResizeOptions, Resizer,
};
use image::RgbImage;

/// The dHash of `pixels`; bit 63 is the top-left comparison.
pub fn dhash(pixels: &RgbImage) -> u64 {
    let grey: Vec<u8> = pixels
        .pixels()
        // ITU-R BT.601 luma in integers.
        .map(|p| {
            ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000) as u8
        })
        .collect();
    let (w, h) = pixels.dimensions();
    let mut buffer = [0u8; 9 * 8];
    let shrunk = TypedImageRef::<U8>::from_buffer(w, h, &grey)
        .ok()
        .zip(TypedImage::<U8>::from_buffer(9, 8, &mut buffer).ok())
        .and_then(|(src, mut small)| {
            Resizer::new()
                .resize_typed(
                    &src,
                    &mut small,
                    &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box)),
                )
                .ok()
        });
    if shrunk.is_none() {
        return 0;
    }
    let g = &buffer;
    (0..8)
        .flat_map(|y| (0..8).map(move |x| (y, x)))
        .fold(0u64, |hash, (y, x)| {
            (hash << 1) | u64::from(g[y * 9 + x] < g[y * 9 + x + 1])
        })
}

/// How many bits two hashes differ in.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_left_to_right_ramp_sets_every_bit() {
        let ramp = RgbImage::from_fn(90, 80, |x, _| image::Rgb([(x * 2) as u8; 3]));
        assert_eq!(dhash(&ramp), u64::MAX);
        let mirrored = RgbImage::from_fn(90, 80, |x, _| image::Rgb([(200 - x * 2) as u8; 3]));
        assert_eq!(dhash(&mirrored), 0);
        assert_eq!(distance(dhash(&ramp), dhash(&mirrored)), 64);
    }
}
