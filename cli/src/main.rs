//! `sighting`: the device side on a desktop.

mod demo;
mod photo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sighting",
    version,
    about = "Report a sighting of a possibly missing child"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work on a single photo, without any device state.
    #[command(subcommand)]
    Photo(PhotoCommand),
    /// Run the whole flow on this machine with the bundled sample photos.
    Demo(demo::DemoArgs),
}

#[derive(Subcommand)]
enum PhotoCommand {
    /// The capture pipeline alone: strip every metadata segment losslessly, write a fresh Exif
    /// block (time, GPS), and optionally the upload copy and thumbnail.
    Sanitize(photo::SanitizeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Photo(PhotoCommand::Sanitize(args)) => photo::sanitize(&args),
        Command::Demo(args) => demo::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, with the causes: the exit code says the rest.
            eprintln!("sighting: {e:#}");
            ExitCode::FAILURE
        }
    }
}
