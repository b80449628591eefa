//! `sighting-server`: the organisation's command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;
use sighting_desk::{self as desk, keygen};
use sighting_intake as intake;

mod case_cli;
mod desk_cli;
mod lead_cli;
mod plural;

use plural::count;

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
    /// Make the organisation's age identity, the intake server's receipt key and the desk's
    /// bulletin key.
    Keygen {
        /// Directory for identity.txt (0600), recipient.txt, server.key (0600), server.pub,
        /// bulletin.key (0600), bulletin.pub, lead.key (0600) and lead.pub.
        #[arg(long)]
        out: PathBuf,
        /// Only the lead-signing key (lead.key, lead.pub), for keys made before it existed.
        #[arg(long)]
        lead_only: bool,
    },
    /// Run the intake server (tus 1.0.0 + receipts). It stores ciphertext only.
    #[command(group(clap::ArgGroup::new("storage").required(true).args(["data", "store"])))]
    Serve {
        /// Where uploads and received reports are kept (one machine: SQLite and files).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Or a store several intake nodes share: `postgres://USER@HOST:PORT/DB;s3://BUCKET/PREFIX`
        /// (or `;file:///DIR`). Passwords come from PGPASSWORD or SIGHTING_PG_PASSWORD_FILE and
        /// the bucket's keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (with AWS_ENDPOINT_URL,
        /// AWS_REGION, AWS_ALLOW_HTTP), never from the command line. `sqlite:DIR` is `--data DIR`.
        #[arg(long)]
        store: Option<String>,
        /// Address to listen on (put TLS in front for anything but loopback).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// The receipt signing key (server.key from keygen); default DATA/server.key (required
        /// with --store).
        #[arg(long)]
        key: Option<PathBuf>,
        /// desk-token.sha256 from `desk-token`: lets the review desk pull new ciphertexts.
        #[arg(long)]
        desk_token_hash: Option<PathBuf>,
        /// bulletin.pub from keygen: serve the bulletin feeds this key signs.
        #[arg(long)]
        bulletin_key: Option<PathBuf>,
        #[command(flatten)]
        limits: Limits,
    },
    /// Make the review desk's token (desk.token, 0600) and its hash for the intake server
    /// (desk-token.sha256): the desk pulls new ciphertexts with it, and nothing else.
    DeskToken {
        #[arg(long)]
        out: PathBuf,
    },
    /// Free the intake's storage: delete the ciphertexts the review desk has opened and keeps a
    /// copy of (as its record OUT/desk.sqlite3 says), and never one it has not. Receipts are
    /// kept.
    #[command(group(clap::ArgGroup::new("storage").required(true).args(["data", "store"])))]
    Prune {
        /// The intake server's data directory.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Or its shared store, as `serve --store` names it.
        #[arg(long)]
        store: Option<String>,
        /// The review desk's output directory (where `open --out` wrote desk.sqlite3).
        #[arg(long)]
        opened: PathBuf,
        /// Also delete the reports that failed to open with the organisation's own identity
        /// (sealed to another key, corrupt, tampered): junk that would otherwise fill the intake.
        #[arg(long)]
        failed: bool,
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
        /// The intake's receipt key (server.pub from keygen, or the key itself) every receipt
        /// must be signed with; default: server.pub beside --identity.
        #[arg(long)]
        server_key: Option<String>,
    },
    /// Run the review desk: a local web app for reviewers that opens new reports continuously.
    Desk(desk_cli::DeskArgs),
    /// Manage the review desk's reviewers.
    DeskUser {
        #[command(subcommand)]
        action: desk_cli::DeskUser,
    },
    /// A signed lead package for the police: a case and sightings, as PDF and files in a ZIP.
    Lead(lead_cli::LeadArgs),
    /// The case register, from scripts: add, photo, consent, publish, close, list.
    Case(case_cli::CaseArgs),
    /// The bulletin feed of published cases: build, sign, write and push to the intake.
    Bulletins {
        #[command(subcommand)]
        action: BulletinsAction,
    },
}

#[derive(Subcommand)]
enum BulletinsAction {
    /// Build and sign the feed from the published cases; write it and/or push it.
    Publish(case_cli::PublishArgs),
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
    /// Seconds a request body may take in all: slow clients are cut.
    #[arg(long, default_value_t = 120)]
    timeout_secs: u64,
    /// Seconds for a request head to arrive (and an idle connection to be kept).
    #[arg(long, default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds a body may send nothing before it is cut (what arrived is kept).
    #[arg(long, default_value_t = 30)]
    body_idle_secs: u64,
    /// Connections open at once (lowered to fit `ulimit -n`).
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Storage all uploads may take, e.g. 50G; above it new uploads get 507 until `prune`.
    #[arg(long, value_parser = parse_bytes)]
    max_storage: Option<u64>,
    /// Disk space always left free, e.g. 256M.
    #[arg(long, value_parser = parse_bytes, default_value = "64M")]
    min_free_disk: u64,
}

/// A byte count with an optional binary suffix: `1048576`, `512K`, `64M`, `50G`, `2T`.
fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (digits, shift) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{s:?}: the suffix must be K, M, G or T")),
            };
            (&s[..i], shift)
        }
        _ => (s, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a byte count"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?} is too large"))
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
            header_timeout: Duration::from_secs(l.header_timeout_secs),
            body_idle_timeout: Duration::from_secs(l.body_idle_secs),
            max_concurrent_uploads: l.max_concurrent,
            max_connections: l.max_connections,
            max_storage: l.max_storage,
            min_free_disk: l.min_free_disk,
            desk_token_sha256: None,
            bulletin_key: None,
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
        Command::Keygen {
            out,
            lead_only: true,
        } => {
            let key = keygen::lead_keygen(&out)?;
            println!("lead-signing key (publish lead.pub):  {key}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Keygen { out, .. } => {
            let keys = keygen::keygen(&out)?;
            println!("organisation recipient (app config): {}", keys.recipient);
            println!("server receipt key (app config):     {}", keys.server_key);
            println!("bulletin key (app config, intake):   {}", keys.bulletin_key);
            println!("lead-signing key (publish lead.pub): {}", keys.lead_key);
            println!(
                "identity written to {} — keep it offline",
                out.join(keygen::IDENTITY_FILE).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            data,
            store,
            listen,
            key,
            desk_token_hash,
            bulletin_key,
            limits,
        } => {
            let key = match (&key, &data) {
                (Some(key), _) => key.clone(),
                (None, Some(data)) => data.join(keygen::SERVER_KEY_FILE),
                (None, None) => anyhow::bail!("--store needs --key (the receipt signing key)"),
            };
            let config = intake::IntakeConfig {
                desk_token_sha256: desk_token_hash
                    .map(|p| keygen::read_desk_token_hash(&p))
                    .transpose()?,
                bulletin_key: bulletin_key
                    .map(|p| keygen::read_bulletin_public_key(&p))
                    .transpose()?,
                ..limits.into()
            };
            serve(&store_spec(data, store), &listen, &key, config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::DeskToken { out } => {
            keygen::desk_token(&out)?;
            println!(
                "desk token written to {} (for the desk, keep it there); give {} to the intake server",
                out.join(keygen::DESK_TOKEN_FILE).display(),
                out.join(keygen::DESK_TOKEN_HASH_FILE).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Prune {
            data,
            store,
            opened,
            failed,
        } => prune(&store_spec(data, store), &opened, failed).map(|()| ExitCode::SUCCESS),
        Command::Desk(args) => desk_cli::desk(args).map(|()| ExitCode::SUCCESS),
        Command::DeskUser { action } => desk_cli::desk_user(action).map(|()| ExitCode::SUCCESS),
        Command::Case(args) => case_cli::case(args).map(|()| ExitCode::SUCCESS),
        Command::Lead(args) => lead_cli::lead(args).map(|()| ExitCode::SUCCESS),
        Command::Bulletins {
            action: BulletinsAction::Publish(args),
        } => case_cli::publish(args).map(|()| ExitCode::SUCCESS),
        Command::Open {
            identity,
            data,
            out,
            json,
            server_key,
        } => {
            let intake_key = desk::receipts::intake_key_for(server_key.as_deref(), &identity)?;
            open(&identity, intake_key.as_ref(), &data, &out, json).map(|()| ExitCode::SUCCESS)
        }
    }
}

/// `--data DIR` is the store `sqlite:DIR`.
fn store_spec(data: Option<PathBuf>, store: Option<String>) -> String {
    store.unwrap_or_else(|| format!("sqlite:{}", data.unwrap_or_default().display()))
}

/// Opens a store, saying which on failure.
async fn open_store(spec: &str) -> anyhow::Result<std::sync::Arc<dyn intake::store::UploadStore>> {
    // The bucket's HTTPS client uses rustls with ring, the one provider in this build.
    let _ = rustls::crypto::ring::default_provider().install_default();
    intake::store::open(spec)
        .await
        .map_err(|e| match spec.strip_prefix("sqlite:") {
            Some(dir) => anyhow::anyhow!("cannot use {dir} as the data directory: {e}"),
            None => anyhow::anyhow!(
                "cannot use the shared store at {}: {e}",
                without_password(spec.split(';').next().unwrap_or_default())
            ),
        })
}

/// `postgres://user:secret@host/db` as `postgres://user@host/db`, for messages.
fn without_password(address: &str) -> String {
    match address.split_once("://").and_then(|(scheme, rest)| {
        let (userinfo, host) = rest.split_once('@')?;
        let user = userinfo.split(':').next()?;
        Some(format!("{scheme}://{user}@{host}"))
    }) {
        Some(shown) => shown,
        None => address.to_string(),
    }
}

/// Deletes the ciphertexts the desk's record says it has opened.
fn prune(spec: &str, opened: &std::path::Path, failed: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        opened.join("desk.sqlite3").is_file() || opened.join("sightings.json").is_file(),
        "{} holds no desk.sqlite3: point --opened at the folder `open --out` wrote",
        opened.display()
    );
    let state = desk::state::DeskState::open(opened)?;
    let prunable = desk::keep::prunable(opened, &state)?;
    let mut ids = prunable.opened.clone();
    if failed {
        ids.extend(prunable.failed.iter().map(|(id, _)| *id));
    }
    let pruned = tokio::runtime::Runtime::new()?.block_on(async {
        let store = open_store(spec).await?;
        anyhow::Ok(intake::prune::prune(&*store, &ids).await?)
    })?;
    println!(
        "pruned {} ({} bytes freed); {} already gone",
        count(pruned.reports, "report", "reports"),
        pruned.bytes,
        count(pruned.already_gone, "was", "were")
    );
    let kept = |what: &str, reports: &[(String, String)]| {
        if !reports.is_empty() {
            println!("kept {} {what}:", count(reports.len(), "report", "reports"));
            for (id, reason) in reports {
                println!("  {id}: {reason}");
            }
        }
    };
    kept(
        "the desk could not open yet (it tries them again on every run)",
        &prunable.not_opened,
    );
    if !failed {
        let failed: Vec<_> = prunable
            .failed
            .iter()
            .map(|(id, reason)| (id.to_string(), reason.clone()))
            .collect();
        kept(
            "that failed with the organisation's own identity (add --failed to delete them)",
            &failed,
        );
    }
    if !prunable.no_copy.is_empty() {
        println!(
            "kept {} opened reports whose copy at the desk is missing: {}",
            prunable.no_copy.len(),
            prunable.no_copy.join(", ")
        );
    }
    Ok(())
}

/// Opens what is new and prints each outcome. Failed reports are listed, not fatal: the run
/// itself succeeded.
fn open(
    identity: &std::path::Path,
    intake_key: Option<&[u8; 32]>,
    data: &std::path::Path,
    out: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    let identities = desk::read_identities(identity)?;
    let outcomes = desk::open_dir_checked(&identities, intake_key, data, out)?;
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    if json {
        let rows: Vec<_> = outcomes
            .iter()
            .map(|o| match &o.result {
                Ok(r) => json!({
                    "file": o.file, "id": r.id, "status": "verified", "receipt": o.receipt,
                    "receipt_warning": o.receipt.and_then(|c| c.warning_text()),
                }),
                Err(e) => json!({"file": o.file, "status": "failed", "reason": e.to_string()}),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    for o in &outcomes {
        match &o.result {
            Ok(r) => {
                println!("verified  {}  {}", r.id, o.file.display());
                if let Some(warning) = o.receipt.and_then(|c| c.warning_text()) {
                    println!("  RECEIPT {}: {warning}", r.id);
                }
            }
            Err(e) => println!("FAILED    {}: {e}", o.file.display()),
        }
    }
    println!("{} opened now, {failed} failed", outcomes.len() - failed);
    let (mut reports, mut groups, mut clocks_off) = (0, std::collections::BTreeSet::new(), 0);
    desk::state::DeskState::open(out)?.each_report(false, |s| {
        reports += 1;
        groups.extend(s.same_photo);
        clocks_off += usize::from(s.clock_flagged);
        Ok(())
    })?;
    println!(
        "{} in all, {} of the same photo sent more than once, {} off by over 2 minutes",
        count(reports, "report", "reports"),
        count(groups.len(), "group", "groups"),
        count(clocks_off, "phone clock", "phone clocks"),
    );
    println!("review page: {}", out.join("index.html").display());
    Ok(())
}

/// Starts the intake server; every bad configuration is a one-line error before it listens.
fn serve(
    spec: &str,
    listen: &str,
    key: &std::path::Path,
    config: intake::IntakeConfig,
) -> anyhow::Result<()> {
    use anyhow::Context;
    // Logs carry report ids and sizes only: no layer here records addresses or user agents.
    tracing_subscriber::fmt().with_target(false).init();
    let key = keygen::read_server_key(key)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let store = open_store(spec).await?;
        let intake = intake::Intake::new(store, key, config);
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
                if let Err(e) = sweeper.expire().await {
                    tracing::warn!(error = %e, "the expiry sweep failed; next try in a minute");
                }
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
