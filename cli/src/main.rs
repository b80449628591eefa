//! `sighting`: the device side on a desktop.

mod bulletins;
mod config;
mod device;
mod observations;
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
    data: config::Data,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work on a single photo, without any device state.
    #[command(subcommand)]
    Photo(PhotoCommand),
    /// Set up this device for an organisation (its recipients, intake server and receipt key).
    Init(config::InitArgs),
    /// Capture a photo and seal it for sending (`--draft` to stop at a draft).
    Capture(device::CaptureArgs),
    /// Throw a draft away, photo and thumbnail.
    Discard(device::DiscardArgs),
    /// The outbox: every report and its honest state.
    Queue(device::QueueArgs),
    /// Send what is waiting, within a time budget; resumes where the last one stopped.
    Sync(device::SyncArgs),
    /// The organisation's missing-children list around you (fetched, then shown offline).
    Bulletins(bulletins::BulletinsArgs),
    /// Panic wipe: the keys first, then every draft, report and the database (asks first,
    /// unless `--yes`).
    Wipe(device::WipeArgs),
    /// Run the whole flow on this machine with the bundled sample photos.
    #[cfg(feature = "demo")]
    Demo(sighting_demo::DemoArgs),
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
        Command::Init(args) => config::init(&cli.data, &args),
        Command::Capture(args) => device::capture(&cli.data, &args),
        Command::Discard(args) => device::discard(&cli.data, &args),
        Command::Queue(args) => device::queue(&cli.data, &args),
        Command::Sync(args) => device::sync(&cli.data, &args),
        Command::Bulletins(args) => bulletins::bulletins(&cli.data, &args),
        Command::Wipe(args) => device::wipe(&cli.data, &args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => sighting_demo::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, with the causes: the exit code says the rest.
            eprintln!("sighting: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// `n` things, in the singular for one.
fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// The error and its causes, each said once. The core's errors put their cause in their own
/// text (the apps get one sentence from them) and also return it as `source()`, so printing
/// the whole chain repeated it: a cause whose text is already in the line is left out.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
