//! `sighting-demo`: the whole flow on one machine (see the library's documentation).

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "sighting-demo",
    version,
    about = "Run the whole flow on this machine: the organisation's keys, a phone offline then \
             online, the intake server and the review desk"
)]
struct Cli {
    #[command(flatten)]
    args: sighting_demo::DemoArgs,
}

fn main() -> ExitCode {
    match sighting_demo::run(&Cli::parse().args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sighting-demo: {e:#}");
            ExitCode::FAILURE
        }
    }
}
