//! `sighting-server`: the organisation's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use sighting_server::{desk, intake, keygen};

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
    /// Run the intake server (tus 1.0.0 + receipts). It stores ciphertext only.
    Serve {
        /// Where uploads and received reports are kept.
        #[arg(long)]
        data: PathBuf,
        /// Address to listen on (put TLS in front for anything but loopback).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// The receipt signing key (server.key from keygen); default DATA/server.key.
        #[arg(long)]
        key: Option<PathBuf>,
        #[command(flatten)]
        limits: Limits,
    },
    /// Decrypt and check every sealed report under DATA not opened before; write the good ones
    /// to OUT/reports/, and OUT/{sightings.json,sightings.geojson,sightings.csv,index.html}.
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

/// The intake server's limits (defaults suit one server on the open internet).
#[derive(clap::Args)]
struct Limits {
    /// Largest report accepted, in bytes (Tus-Max-Size).
    #[arg(long, default_value_t = 64 << 20)]
    max_size: u64,
    /// Hours after which an unfinished upload is abandoned and deleted.
    #[arg(long, default_value_t = 24)]
    expiry_hours: u64,
    /// Uploads one device key may create in a burst.
    #[arg(long, default_value_t = 30)]
    rate_burst: u32,
    /// Seconds for one more upload to come back to a device key's allowance.
    #[arg(long, default_value_t = 2)]
    rate_refill_secs: u64,
    /// Uploads received at once; more are told to retry.
    #[arg(long, default_value_t = 256)]
    max_concurrent: usize,
    /// Seconds a request (headers and body) may take: slow clients are cut.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
}

impl From<Limits> for intake::IntakeConfig {
    fn from(l: Limits) -> Self {
        use std::time::Duration;
        Self {
            max_size: l.max_size,
            expiry: Duration::from_secs(l.expiry_hours * 3600),
            rate_burst: l.rate_burst,
            rate_refill: Duration::from_secs(l.rate_refill_secs),
            request_timeout: Duration::from_secs(l.timeout_secs),
            max_concurrent_uploads: l.max_concurrent,
        }
    }
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
        Command::Serve {
            data,
            listen,
            key,
            limits,
        } => {
            let key = key.unwrap_or_else(|| data.join(keygen::SERVER_KEY_FILE));
            serve(&data, &listen, &key, limits.into())?;
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
                        Ok(r) => json!({"file": o.file, "id": r.id, "status": "verified"}),
                        Err(e) => {
                            json!({"file": o.file, "status": "failed", "reason": e.to_string()})
                        }
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for o in &outcomes {
                    match &o.result {
                        Ok(r) => println!("verified  {}  {}", r.id, o.file.display()),
                        Err(e) => println!("FAILED    {}: {e}", o.file.display()),
                    }
                }
                println!("{} opened now, {failed} failed", outcomes.len() - failed);
                let all = desk::sightings::load(&out)?;
                let clusters: std::collections::BTreeSet<_> =
                    all.iter().filter_map(|s| s.cluster.as_ref()).collect();
                println!(
                    "{} reports in all, {} repeat-sighting groups, {} phone clocks off by over 2 minutes",
                    all.len(),
                    clusters.len(),
                    all.iter().filter(|s| s.clock_flagged).count()
                );
                println!("review page: {}", out.join("index.html").display());
            }
            // Failed reports are listed, not fatal: the run itself succeeded.
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Starts the intake server; every bad configuration is a one-line error before it listens.
fn serve(
    data: &std::path::Path,
    listen: &str,
    key: &std::path::Path,
    config: intake::IntakeConfig,
) -> anyhow::Result<()> {
    use anyhow::Context;
    // Logs carry report ids and sizes only: no layer here records addresses or user agents.
    tracing_subscriber::fmt().with_target(false).init();
    let key = keygen::read_server_key(key)?;
    let store = intake::store::SqliteStore::open(data)
        .with_context(|| format!("cannot use {} as the data directory", data.display()))?;
    let intake = intake::Intake::new(std::sync::Arc::new(store), key, config);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        println!(
            "intake server on http://{} (receipt key {})",
            listener.local_addr()?,
            intake.server_key()
        );
        let sweeper = intake.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                let s = sweeper.clone();
                let _ = tokio::task::spawn_blocking(move || s.expire()).await;
            }
        });
        intake::serve(listener, intake)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the server stopped")
    })
}
