//! `sighting`: the device side on a desktop.

mod bulletins;
mod demo;
mod device;
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
    #[command(flatten)]
    data: device::Data,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work on a single photo, without any device state.
    #[command(subcommand)]
    Photo(PhotoCommand),
    /// Set up this device for an organisation (its recipients, intake server and receipt key).
    Init(device::InitArgs),
    /// Capture a photo and seal it for sending (`--draft` to stop at a draft).
    Capture(device::CaptureArgs),
    /// The outbox: every report and its honest state.
    Queue(device::QueueArgs),
    /// Send what is waiting, within a time budget; resumes where the last one stopped.
    Sync(device::SyncArgs),
    /// The organisation's missing-children list around you (fetched, then shown offline).
    Bulletins(bulletins::BulletinsArgs),
    /// Panic wipe: the keys first, then every draft, report and the database.
    Wipe,
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
        Command::Init(args) => device::init(&cli.data, &args),
        Command::Capture(args) => device::capture(&cli.data, &args),
        Command::Queue(args) => device::queue(&cli.data, &args),
        Command::Sync(args) => device::sync(&cli.data, &args),
        Command::Bulletins(args) => bulletins::bulletins(&cli.data, &args),
        Command::Wipe => device::wipe(&cli.data),
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
