//! The device on a desktop: `init`, `capture`, `queue`, `sync`, `wipe`, all on `--data DIR`
//! (default `$XDG_DATA_HOME/sighting`, else `~/.local/share/sighting`).
//!
//! The same core as the phone apps: `DATA/config.json` holds what the organisation gives a
//! reporter (recipients, intake URL, receipt key, optional pinned CA); the device keys are
//! wrapped by a key file (`DATA/keystore.key`, 0600) standing in for a phone's keystore.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use sighting_core::capture::{read_photo, CaptureOptions, CaptureRequest};
use sighting_core::client::ClientConfig;
use sighting_core::device::Device;
use sighting_core::handle::DeviceHandle;
use sighting_core::keys::FileKeyStore;
use sighting_core::report::{CaptureClock, Details};
use sighting_core::sync::{SyncBudget, Syncer};
use sighting_core::wire::parse_server_key;
use time::OffsetDateTime;

use crate::photo::{location_text, LocationArgs};

#[derive(Args)]
pub struct Data {
    /// The device's data directory.
    #[arg(long, global = true)]
    data: Option<PathBuf>,
}

impl Data {
    fn dir(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.data {
            return Ok(dir.clone());
        }
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))
            .context("no --data and no HOME")?;
        Ok(base.join("sighting"))
    }
}

/// What the organisation gives a reporter.
#[derive(Serialize, Deserialize)]
struct Config {
    recipients: Vec<String>,
    intake: String,
    server_key: String,
    pinned_ca_pem: Option<String>,
}

#[derive(Args)]
pub struct InitArgs {
    /// The organisation's age recipient (repeat for several).
    #[arg(long = "recipient", required = true)]
    recipients: Vec<String>,
    /// The intake server's URL (https://…; http:// only to loopback).
    #[arg(long)]
    intake: String,
    /// The intake server's receipt key (server.pub from `sighting-server keygen`).
    #[arg(long)]
    server_key: String,
    /// Trust only this CA certificate (PEM) for the intake server.
    #[arg(long)]
    ca: Option<PathBuf>,
}

pub fn init(data: &Data, args: &InitArgs) -> Result<()> {
    let dir = data.dir()?;
    let config = Config {
        recipients: args.recipients.clone(),
        intake: args.intake.clone(),
        server_key: args.server_key.trim().to_string(),
        pinned_ca_pem: args
            .ca
            .as_ref()
            .map(|p| std::fs::read_to_string(p).with_context(|| p.display().to_string()))
            .transpose()?,
    };
    // Everything is checked before anything is written.
    syncer(&dir, &config)?;
    open(&dir, &config)?;
    std::fs::write(dir.join("config.json"), serde_json::to_vec_pretty(&config)?)?;
    println!("device ready in {}", dir.display());
    Ok(())
}

#[derive(Args)]
pub struct CaptureArgs {
    /// The camera's JPEG.
    photo: PathBuf,
    #[command(flatten)]
    location: LocationArgs,
    /// What the reporter saw.
    #[arg(long)]
    note: Option<String>,
    /// Stop at a draft (not sealed, not sent).
    #[arg(long)]
    draft: bool,
}

pub fn capture(data: &Data, args: &CaptureArgs) -> Result<()> {
    let dir = data.dir()?;
    let mut device = open(&dir, &load(&dir)?)?;
    let options = CaptureOptions::default();
    let bytes =
        read_photo(&args.photo, &options).with_context(|| args.photo.display().to_string())?;
    let request = CaptureRequest {
        location: args.location.location(),
        captured_at: Some(OffsetDateTime::now_utc()),
    };
    let draft = device.capture(bytes, &request, CaptureClock::now()?)?;
    println!(
        "draft {}: {}×{}, location {}",
        draft.id,
        draft.width,
        draft.height,
        location_text(&draft.location)
    );
    if !args.draft {
        let details = Details {
            note: args.note.clone(),
            ..Default::default()
        };
        let envelope = device.submit(draft.id, details)?;
        println!(
            "sealed {} ({} bytes), waiting to be sent",
            envelope.report_id, envelope.ciphertext_bytes
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct QueueArgs {
    #[arg(long)]
    json: bool,
}

pub fn queue(data: &Data, args: &QueueArgs) -> Result<()> {
    let dir = data.dir()?;
    let device = open(&dir, &load(&dir)?)?;
    let reports = device.reports()?;
    if args.json {
        let rows: Vec<_> = reports
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "state": r.state.as_str(), "bytes": r.bytes,
                    "attempts": r.attempts,
                    "last_error": r.last_error.map(|e| e.to_string()),
                    "last_error_detail": r.last_error_detail,
                    "reject_reason": r.reject_reason, "problem": r.problem,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for r in &reports {
            let why = r
                .problem
                .as_deref()
                .or(r.reject_reason.as_deref())
                .or(r.last_error_detail.as_deref())
                .unwrap_or("");
            println!("{}  {:<21} {:>8} B  {why}", r.id, r.state.as_str(), r.bytes);
        }
        println!("{} report(s)", reports.len());
    }
    Ok(())
}

#[derive(Args)]
pub struct SyncArgs {
    /// Stop after this many seconds (what is cut resumes next time).
    #[arg(long, default_value_t = 30)]
    budget_secs: u64,
}

pub fn sync(data: &Data, args: &SyncArgs) -> Result<()> {
    let dir = data.dir()?;
    let config = load(&dir)?;
    let syncer = syncer(&dir, &config)?;
    let device = DeviceHandle::new(open(&dir, &config)?)?;
    let budget = SyncBudget {
        honour_backoff: false,
        ..SyncBudget::background(Duration::from_secs(args.budget_secs))
    };
    let summary = tokio::runtime::Runtime::new()?.block_on(syncer.sync(&device, budget))?;
    println!(
        "{} delivered, {} not confirmed, {} rejected, {} to retry, {} paused; {} bytes sent",
        summary.delivered.len(),
        summary.unconfirmed.len(),
        summary.rejected.len(),
        summary.retrying.len(),
        summary.paused.len(),
        summary.bytes_sent
    );
    for (id, failure) in &summary.retrying {
        println!("  {id}: {} ({})", failure.detail, failure.error);
    }
    for (id, why) in &summary.rejected {
        println!("  {id}: refused: {why}");
    }
    Ok(())
}

pub fn wipe(data: &Data) -> Result<()> {
    let dir = data.dir()?;
    // `load` refuses a directory without our config.json, so nothing else is ever removed.
    open(&dir, &load(&dir)?)?.wipe()?;
    // The key file standing in for the phone's keystore goes too.
    std::fs::remove_dir_all(&dir)?;
    println!("wiped {}", dir.display());
    Ok(())
}

fn load(dir: &Path) -> Result<Config> {
    let path = dir.join("config.json");
    let bytes = std::fs::read(&path)
        .with_context(|| format!("{}: run `sighting init` first", path.display()))?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// `config.json` as the core's one client configuration.
fn client_config(dir: &Path, config: &Config) -> Result<ClientConfig> {
    let recipients = config
        .recipients
        .iter()
        .map(|r| r.parse())
        .collect::<Result<Vec<_>, _>>()?;
    let server_key = parse_server_key(&config.server_key)
        .context("--server-key is not a base64 Ed25519 public key")?;
    Ok(ClientConfig {
        pinned_ca: config.pinned_ca_pem.clone().map(String::into_bytes),
        ..ClientConfig::new(dir.join("device"), recipients, &config.intake, server_key)
    })
}

fn open(dir: &Path, config: &Config) -> Result<Device> {
    let keystore = FileKeyStore::open(&dir.join("keystore.key"))?;
    let config = client_config(dir, config)?;
    Ok(Device::open(
        &config.data_dir,
        &keystore,
        config.device_config(),
    )?)
}

/// The sync engine for the configured server (a bad URL, key or CA is refused here).
fn syncer(dir: &Path, config: &Config) -> Result<Syncer> {
    Ok(client_config(dir, config)?.syncer()?)
}
