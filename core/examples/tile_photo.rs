//! Makes a big benchmark photo reproducibly by tiling a real one (not by upscaling, which would
//! make an unrealistically smooth, easy-to-compress picture).
//!
//! `cargo run --release -p sighting-core --example tile_photo -- IN OUT WIDTH HEIGHT`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, width, height] = &args[..] else {
        return Err("usage: tile_photo IN OUT WIDTH HEIGHT".into());
    };
    let (w, h): (usize, usize) = (width.parse()?, height.parse()?);
    let tile = turbojpeg::decompress(&std::fs::read(input)?, turbojpeg::PixelFormat::RGB)?;
    let mut pixels = vec![0u8; w * h * 3];
    for (y, row) in pixels.chunks_exact_mut(w * 3).enumerate() {
        let src = &tile.pixels[(y % tile.height) * tile.pitch..][..tile.width * 3];
        for (x, px) in row.chunks_exact_mut(3).enumerate() {
            px.copy_from_slice(&src[(x % tile.width) * 3..][..3]);
        }
    }
    let image = turbojpeg::Image {
        pixels: &pixels[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    let mut compressor = turbojpeg::Compressor::new()?;
    compressor.set_quality(92)?;
    compressor.set_subsamp(turbojpeg::Subsamp::Sub2x2)?;
    std::fs::write(output, compressor.compress_to_vec(image)?)?;
    Ok(())
}
