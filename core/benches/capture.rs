//! The capture stage in-process, and the JPEG decoder candidates side by side on the same 8 MP
//! photo (what `docs/benchmarks.md` cites for choosing libjpeg-turbo).
//!
//! Run: `cargo bench -p sighting-core --bench capture` (or `cargo xtask bench`).

use criterion::{criterion_group, criterion_main, Criterion};
use sighting_core::capture::{
    capture, sanitize, CaptureOptions, CaptureRequest, Location, LocationMissing,
};

fn pipeline(c: &mut Criterion) {
    let bytes = test_support::iphone_8mp();
    let request = CaptureRequest {
        location: Location::Missing(LocationMissing::NoFix),
        captured_at: None,
    };
    let options = CaptureOptions::default();
    let mut g = c.benchmark_group("capture_8mp");
    g.sample_size(20);
    g.bench_function("sanitize", |b| {
        b.iter(|| sanitize(bytes.clone(), &request, &options).unwrap())
    });
    g.bench_function("capture (sanitize + upload copy + thumbnail)", |b| {
        b.iter(|| capture(bytes.clone(), &request, &options).unwrap())
    });
    g.finish();
}

/// Decoding the 8 MP photo for its upload copy (1632 px: the 1/2 DCT scale).
fn decoders(c: &mut Criterion) {
    let bytes = test_support::iphone_8mp();
    let mut g = c.benchmark_group("decode_8mp_for_upload_copy");
    g.sample_size(10);
    for (num, den) in [(1, 2), (5, 8)] {
        let name = format!(
            "turbojpeg at {num}/{den} (DCT scaling{})",
            if den == 2 { ", ours" } else { ", no SIMD" }
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut d = turbojpeg::Decompressor::new().unwrap();
                let scale = turbojpeg::ScalingFactor::new(num, den);
                let h = d.read_header(&bytes).unwrap().scaled(scale);
                d.set_scaling_factor(scale).unwrap();
                let mut img = turbojpeg::Image {
                    pixels: vec![0u8; 3 * h.width * h.height],
                    width: h.width,
                    pitch: 3 * h.width,
                    height: h.height,
                    format: turbojpeg::PixelFormat::RGB,
                };
                d.decompress(&bytes, img.as_deref_mut()).unwrap();
                img.pixels.len()
            })
        });
    }
    g.bench_function("turbojpeg full size", |b| {
        b.iter(|| {
            turbojpeg::decompress(&bytes, turbojpeg::PixelFormat::RGB)
                .unwrap()
                .pixels
                .len()
        })
    });
    g.bench_function("jpeg-decoder at 1/2 (pure Rust, DCT scaling)", |b| {
        b.iter(|| {
            let mut d = jpeg_decoder::Decoder::new(&bytes[..]);
            d.scale(1632, 1224).unwrap();
            d.decode().unwrap().len()
        })
    });
    g.bench_function("zune-jpeg full size (pure Rust, cannot scale)", |b| {
        b.iter(|| {
            zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(&bytes[..]))
                .decode()
                .unwrap()
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, pipeline, decoders);
criterion_main!(benches);
