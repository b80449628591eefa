//! The device's settings on a desktop: `--data DIR` (default `$XDG_DATA_HOME/sighting`, else
//! `~/.local/share/sighting`) holds `config.json`, what the organisation gives a reporter
//! (recipients, intake URL, receipt key, optional pinned CA and bulletin key), and the key file
//! standing in for a phone's keystore (`keystore.key`). The folder is 0700 and its files 0600.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use serde::{Deserialize, Serialize};
use sighting_core::client::ClientConfig;
use sighting_core::device::Device;
use sighting_core::handle::DeviceHandle;
use sighting_core::keys::FileKeyStore;
use sighting_core::sync::Syncer;
use sighting_core::wire::parse_server_key;

#[derive(Args)]
pub struct Data {
    /// The device's data directory.
    #[arg(long, global = true)]
    data: Option<PathBuf>,
}

impl Data {
    pub fn dir(&self) -> Result<PathBuf> {
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
#[derive(Clone, Serialize, Deserialize)]
pub struct Config {
    recipients: Vec<String>,
    intake: String,
    server_key: String,
    pinned_ca_pem: Option<String>,
    /// bulletin.pub: verifies the missing-children list (none: no list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulletin_key: Option<String>,
}

#[derive(Args)]
pub struct InitArgs {
    /// The organisation's age recipient (repeat for several).
    #[arg(long = "recipient")]
    recipients: Vec<String>,
    /// The intake server's URL (https://…; http:// only to loopback).
    #[arg(long)]
    intake: Option<String>,
    /// The intake server's receipt key: the key itself, or the file holding it (server.pub
    /// from `sighting-server keygen`).
    #[arg(long)]
    server_key: Option<String>,
    /// Trust only this CA certificate (PEM) for the intake server.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The organisation's bulletin key, or the file holding it (bulletin.pub from
    /// `sighting-server keygen`): shows the missing-children list it signs.
    #[arg(long)]
    bulletin_key: Option<String>,
    /// Change the settings of a device already set up: the options given replace the old
    /// ones, the others (the bulletin key too) are kept, and so are its reports and keys.
    #[arg(long)]
    update: bool,
}

pub fn init(data: &Data, args: &InitArgs) -> Result<()> {
    let dir = data.dir()?;
    let old = if dir.join("config.json").exists() {
        anyhow::ensure!(
            args.update,
            "{} is already set up (its reports and keys are kept): to change its settings, \
             run `sighting init --update` with the options to change",
            dir.display()
        );
        Some(load(&dir)?)
    } else {
        None
    };
    let required = |flag: &str| {
        anyhow::anyhow!(
            "{flag} is needed to set up a device (there is none in {})",
            dir.display()
        )
    };
    let recipients = match (&old, args.recipients.is_empty()) {
        (Some(old), true) => old.recipients.clone(),
        (None, true) => return Err(required("--recipient")),
        (_, false) => args.recipients.clone(),
    };
    let server_key = match (&args.server_key, &old) {
        (Some(key), _) => key_or_file("--server-key", key)?,
        (None, Some(old)) => old.server_key.clone(),
        (None, None) => return Err(required("--server-key")),
    };
    let config = Config {
        recipients,
        intake: match (&args.intake, &old) {
            (Some(url), _) => url.clone(),
            (None, Some(old)) => old.intake.clone(),
            (None, None) => return Err(required("--intake")),
        },
        server_key,
        pinned_ca_pem: match &args.ca {
            Some(p) => {
                Some(std::fs::read_to_string(p).with_context(|| format!("--ca {}", p.display()))?)
            }
            None => old.as_ref().and_then(|o| o.pinned_ca_pem.clone()),
        },
        bulletin_key: match &args.bulletin_key {
            Some(key) => Some(key_or_file("--bulletin-key", key)?),
            None => old.and_then(|o| o.bulletin_key),
        },
    };
    // Everything is checked before anything is written.
    syncer(&dir, &config)?;
    private_dir(&dir)?;
    open(&dir, &config)?;
    write_private(
        &dir.join("config.json"),
        &serde_json::to_vec_pretty(&config)?,
    )?;
    println!("device ready in {}", dir.display());
    Ok(())
}

/// A key given on the command line, or the file holding it (as `keygen` writes them).
fn key_or_file(flag: &str, value: &str) -> Result<String> {
    if parse_server_key(value).is_some() {
        return Ok(value.trim().to_string());
    }
    let path = Path::new(value);
    let text = std::fs::read_to_string(path).map_err(|_| {
        anyhow::anyhow!("{flag} is neither a base64 Ed25519 public key nor a file holding one")
    })?;
    anyhow::ensure!(
        parse_server_key(&text).is_some(),
        "{flag}: {} does not hold a base64 Ed25519 public key",
        path.display()
    );
    Ok(text.trim().to_string())
}

/// The data folder, 0700 even if it was there before: other users of the machine may not list
/// which reports exist.
fn private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    builder.create(dir)?;
    Ok(())
}

/// Writes a file only this user may read, 0600 from the start.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| path.display().to_string())
}

pub fn load(dir: &Path) -> Result<Config> {
    let path = dir.join("config.json");
    let bytes = std::fs::read(&path)
        .with_context(|| format!("{}: run `sighting init` first", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
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

pub fn open(dir: &Path, config: &Config) -> Result<Device> {
    let keystore = FileKeyStore::open(&dir.join("keystore.key"))?;
    let config = client_config(dir, config)?;
    Ok(Device::open(
        &config.data_dir,
        &keystore,
        config.device_config(),
    )?)
}

/// The sync engine for the configured server (a bad URL, key or CA is refused here).
pub fn syncer(dir: &Path, config: &Config) -> Result<Syncer> {
    Ok(client_config(dir, config)?.syncer()?)
}

/// The device on its I/O thread and the sync engine, from `DATA/config.json`.
pub(crate) fn online(data: &Data) -> Result<(DeviceHandle, Syncer)> {
    let dir = data.dir()?;
    let config = load(&dir)?;
    anyhow::ensure!(
        config.bulletin_key.is_some(),
        "no bulletin key: run `sighting init --update --bulletin-key KEY` with the \
         organisation's bulletin.pub"
    );
    Ok((
        DeviceHandle::new(open(&dir, &config)?)?,
        syncer(&dir, &config)?,
    ))
}
