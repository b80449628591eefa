//! Seals one file as a report bundle (`photo.jpg`) to age recipients, streaming to OUT: the
//! process `cargo xtask bench` times against `age -R`.
//!
//! `cargo run --release -p sighting-core --example seal_file -- IN OUT RECIPIENTS_FILE`

use std::io::{BufReader, BufWriter, Write};

use sighting_core::seal::{seal, BundleFile, Recipient};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, recipients] = &args[..] else {
        return Err("usage: seal_file IN OUT RECIPIENTS_FILE".into());
    };
    let recipients: Vec<Recipient> = std::fs::read_to_string(recipients)?
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.trim().parse())
        .collect::<Result<_, _>>()?;
    // Streamed from disk: the bundle is never whole in memory.
    let photo = std::fs::File::open(input)?;
    let size = photo.metadata()?.len();
    let out = BufWriter::new(std::fs::File::create(output)?);
    let files = vec![BundleFile {
        name: "photo.jpg",
        size,
        data: Box::new(BufReader::new(photo)),
    }];
    seal(&recipients, files, out)?.flush()?;
    Ok(())
}
