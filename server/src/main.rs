//! `sighting-server`: the organisation's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use sighting_server::{desk, keygen};

#[derive(Parser)]
#[command(
    name = "sighting-server",
    version,
    about = "The organisation's side of Sighting"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make the organisation's age identity and the intake server's receipt key.
    Keygen {
        /// Directory for identity.txt (0600), recipient.txt, server.key (0600) and server.pub.
        #[arg(long)]
        out: PathBuf,
    },
    /// Decrypt and check every sealed report under DATA; write the good ones to OUT.
    Open {
        /// The organisation's age identity file.
        #[arg(long)]
        identity: PathBuf,
        /// Where the sealed reports are (the intake server's data dir, or a copy of it).
        #[arg(long)]
        data: PathBuf,
        /// Where to write reports/<id>/{photo.jpg,manifest.json}.
        #[arg(long)]
        out: PathBuf,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sighting-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Keygen { out } => {
            let keys = keygen::keygen(&out)?;
            println!("organisation recipient (app config): {}", keys.recipient);
            println!("server receipt key (app config):     {}", keys.server_key);
            println!(
                "identity written to {} — keep it offline",
                out.join(keygen::IDENTITY_FILE).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Open {
            identity,
            data,
            out,
            json,
        } => {
            let identities = desk::read_identities(&identity)?;
            let outcomes = desk::open_dir(&identities, &data, &out)?;
            let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
            if json {
                let rows: Vec<_> = outcomes
                    .iter()
                    .map(|o| match &o.result {
                        Ok(r) => json!({"file": o.file, "id": r.manifest.id, "status": "verified"}),
                        Err(e) => {
                            json!({"file": o.file, "status": "failed", "reason": e.to_string()})
                        }
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for o in &outcomes {
                    match &o.result {
                        Ok(r) => println!("verified  {}  {}", r.manifest.id, o.file.display()),
                        Err(e) => println!("FAILED    {}: {e}", o.file.display()),
                    }
                }
                println!("{} opened, {failed} failed", outcomes.len() - failed);
            }
            // Failed reports are listed, not fatal: the run itself succeeded.
            Ok(ExitCode::SUCCESS)
        }
    }
}
