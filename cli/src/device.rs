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
use sighting_core::report::{CaptureClock, Details, Observations};
use sighting_core::sync::{SyncBudget, Syncer};
use sighting_core::wire::parse_server_key;
use time::OffsetDateTime;

use crate::photo::LocationArgs;

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
    /// bulletin.pub: verifies the missing-children list (none: no list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    bulletin_key: Option<String>,
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
    /// The organisation's bulletin key (bulletin.pub from `sighting-server keygen`): shows the
    /// missing-children list it signs.
    #[arg(long)]
    bulletin_key: Option<String>,
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
        bulletin_key: args.bulletin_key.as_deref().map(|k| k.trim().to_string()),
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
    #[command(flatten)]
    observations: ObservationArgs,
    /// Stop at a draft (not sealed, not sent).
    #[arg(long)]
    draft: bool,
}

/// "This may be case N" and what the reporter saw, chosen from lists (sealed in the report).
#[derive(Args)]
pub struct ObservationArgs {
    /// The published case number this child may be (from `sighting bulletins`).
    #[arg(long = "case")]
    case_number: Option<String>,
    /// boy, girl or unknown.
    #[arg(long)]
    sex: Option<String>,
    /// under_5, 5_to_9, 10_to_13 or 14_to_17.
    #[arg(long)]
    age_band: Option<String>,
    /// A visible injury or disability: yes or no.
    #[arg(long)]
    injury: Option<String>,
    /// Accompanied by adults: none, one or several.
    #[arg(long)]
    with_adults: Option<String>,
    /// begging, selling, performing or other.
    #[arg(long)]
    activity: Option<String>,
}

impl ObservationArgs {
    fn observations(&self) -> Result<Option<Observations>> {
        let o = Observations {
            case_number: self.case_number.clone(),
            sex: choice("--sex", &self.sex)?,
            age_band: choice("--age-band", &self.age_band)?,
            injury_or_disability: match self.injury.as_deref() {
                None => None,
                Some("yes") => Some(true),
                Some("no") => Some(false),
                Some(other) => anyhow::bail!("--injury is yes or no, not {other:?}"),
            },
            with_adults: choice("--with-adults", &self.with_adults)?,
            activity: choice("--activity", &self.activity)?,
        };
        anyhow::ensure!(
            o.case_number_is_valid(),
            "--case: a case number is 1 to 40 letters, digits, - or _"
        );
        Ok((o != Observations::default()).then_some(o))
    }
}

/// One of the manifest's words for a list answer (the core's serde names are the one list).
fn choice<T: serde::de::DeserializeOwned>(flag: &str, value: &Option<String>) -> Result<Option<T>> {
    value
        .as_ref()
        .map(|v| {
            serde_json::from_value(serde_json::Value::String(v.clone()))
                .with_context(|| format!("{flag}: {v:?} is not one of the choices (see --help)"))
        })
        .transpose()
}

pub fn capture(data: &Data, args: &CaptureArgs) -> Result<()> {
    let observations = args.observations.observations()?;
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
        draft.location
    );
    if !args.draft {
        let details = Details {
            note: args.note.clone(),
            observations,
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
    let runtime = tokio::runtime::Runtime::new()?;
    let summary = runtime.block_on(syncer.sync(&device, budget))?;
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
    // The missing-children list comes along with a sync, for the area asked for last time.
    if config.bulletin_key.is_some() {
        runtime.block_on(crate::bulletins::refresh_line(&syncer, &device, None));
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

/// The device on its I/O thread and the sync engine, from `DATA/config.json`.
pub(crate) fn online(data: &Data) -> Result<(DeviceHandle, Syncer)> {
    let dir = data.dir()?;
    let config = load(&dir)?;
    anyhow::ensure!(
        config.bulletin_key.is_some(),
        "no bulletin key: run `sighting init … --bulletin-key KEY` with the organisation's bulletin.pub"
    );
    Ok((
        DeviceHandle::new(open(&dir, &config)?)?,
        syncer(&dir, &config)?,
    ))
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
    let bulletin_key = config
        .bulletin_key
        .as_deref()
        .map(|k| parse_server_key(k).context("--bulletin-key is not a base64 Ed25519 public key"))
        .transpose()?;
    Ok(ClientConfig {
        pinned_ca: config.pinned_ca_pem.clone().map(String::into_bytes),
        bulletin_key,
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
