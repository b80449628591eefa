//! `sighting-server keygen`: the organisation's keys.

use std::fs;
use std::io::Write;
use std::path::Path;

use age::secrecy::ExposeSecret;
use anyhow::{bail, Context, Result};
use base64::{engine::general_purpose::STANDARD, Engine};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};

pub const IDENTITY_FILE: &str = "identity.txt";
pub const RECIPIENT_FILE: &str = "recipient.txt";
pub const SERVER_KEY_FILE: &str = "server.key";
pub const SERVER_PUB_FILE: &str = "server.pub";
pub const BULLETIN_KEY_FILE: &str = "bulletin.key";
pub const BULLETIN_PUB_FILE: &str = "bulletin.pub";
pub const LEAD_KEY_FILE: &str = "lead.key";
pub const LEAD_PUB_FILE: &str = "lead.pub";

/// What goes into the app's configuration.
#[derive(Debug, Clone)]
pub struct PublicKeys {
    /// The `age1…` recipient reports are sealed to.
    pub recipient: String,
    /// The intake server's Ed25519 receipt key, base64.
    pub server_key: String,
    /// The desk's Ed25519 key that signs the bulletin feed, base64.
    pub bulletin_key: String,
    /// The desk's minisign key that signs lead packages (`lead.pub`'s key line).
    pub lead_key: String,
}

/// Writes a new organisation identity, server key, bulletin key and lead-signing key into
/// `out`. Refuses to overwrite: losing an organisation identity loses every report sealed to it.
pub fn keygen(out: &Path) -> Result<PublicKeys> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for name in [
        IDENTITY_FILE,
        SERVER_KEY_FILE,
        BULLETIN_KEY_FILE,
        LEAD_KEY_FILE,
    ] {
        if out.join(name).exists() {
            bail!(
                "{} already exists; refusing to overwrite an organisation key",
                out.join(name).display()
            );
        }
    }
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let secret = identity.to_string();
    let identity_text = format!(
        "# Sighting organisation identity: keep offline, at the review desk only.\n# public key: {recipient}\n{}\n",
        secret.expose_secret()
    );
    write_file(&out.join(IDENTITY_FILE), identity_text.as_bytes(), true)?;
    write_file(
        &out.join(RECIPIENT_FILE),
        format!("{recipient}\n").as_bytes(),
        false,
    )?;

    let server_key = signing_pair(out, SERVER_KEY_FILE, SERVER_PUB_FILE)?;
    let bulletin_key = signing_pair(out, BULLETIN_KEY_FILE, BULLETIN_PUB_FILE)?;
    let lead_key = lead_keygen(out)?;
    Ok(PublicKeys {
        recipient,
        server_key,
        bulletin_key,
        lead_key,
    })
}

/// A lead-signing key (`lead.key`, 0600; `lead.pub`, to publish beside `recipient.txt`) for an
/// organisation whose keys were made before lead packages were signed; never overwrites one.
/// Returns the public key line.
pub fn lead_keygen(out: &Path) -> Result<String> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    if out.join(LEAD_KEY_FILE).exists() {
        bail!(
            "{} already exists; refusing to overwrite the lead-signing key (officers hold its lead.pub)",
            out.join(LEAD_KEY_FILE).display()
        );
    }
    let (secret, public) = crate::lead::sign::new_key_pair()?;
    write_file(&out.join(LEAD_KEY_FILE), secret.as_bytes(), true)?;
    write_file(&out.join(LEAD_PUB_FILE), public.as_bytes(), false)?;
    Ok(public.lines().nth(1).unwrap_or_default().to_string())
}

/// A bulletin key for an organisation whose keys were made before bulletins existed.
pub fn bulletin_keygen(out: &Path) -> Result<String> {
    signing_pair(out, BULLETIN_KEY_FILE, BULLETIN_PUB_FILE)
}

/// A new Ed25519 pair: the private key (base64 PKCS#8, 0600) and the public key (base64), which
/// is returned.
fn signing_pair(out: &Path, key_file: &str, pub_file: &str) -> Result<String> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    let pair =
        Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| anyhow::anyhow!("Ed25519 key"))?;
    let public = STANDARD.encode(pair.public_key().as_ref());
    write_file(
        &out.join(key_file),
        format!("{}\n", STANDARD.encode(pkcs8.as_ref())).as_bytes(),
        true,
    )?;
    write_file(&out.join(pub_file), format!("{public}\n").as_bytes(), false)?;
    Ok(public)
}

fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, if private { 0o600 } else { 0o644 });
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Reads the receipt signing key written by [`keygen`].
pub fn read_server_key(path: &Path) -> Result<Ed25519KeyPair> {
    read_signing_key(path, "server")
}

/// Reads the bulletin signing key written by [`keygen`].
pub fn read_bulletin_key(path: &Path) -> Result<Ed25519KeyPair> {
    read_signing_key(path, "bulletin")
}

/// Reads `bulletin.pub` (base64 Ed25519): what the intake checks feeds against.
pub fn read_bulletin_public_key(path: &Path) -> Result<[u8; 32]> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the bulletin key {}", path.display()))?;
    sighting_core::wire::parse_server_key(&text)
        .with_context(|| format!("{} is not a bulletin public key", path.display()))
}

fn read_signing_key(path: &Path, what: &str) -> Result<Ed25519KeyPair> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} key {}", path.display()))?;
    let pkcs8 = STANDARD
        .decode(text.trim())
        .with_context(|| format!("{} is not a {what} key (base64 PKCS#8)", path.display()))?;
    Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map_err(|_| anyhow::anyhow!("{} is not an Ed25519 {what} key", path.display()))
}

pub const DESK_TOKEN_FILE: &str = "desk.token";
pub const DESK_TOKEN_HASH_FILE: &str = "desk-token.sha256";

/// Writes a new desk token (`desk.token`, 0600, for the review desk) and its SHA-256
/// (`desk-token.sha256`, hex, for the intake server, which never holds the token itself).
pub fn desk_token(out: &Path) -> Result<()> {
    use ring::rand::SecureRandom;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    write_file(
        &out.join(DESK_TOKEN_FILE),
        format!("{token}\n").as_bytes(),
        true,
    )?;
    let hex = sighting_core::wire::hex::encode(hash.as_ref());
    write_file(
        &out.join(DESK_TOKEN_HASH_FILE),
        format!("{hex}\n").as_bytes(),
        false,
    )
}

/// Reads `desk-token.sha256` as [`desk_token`] wrote it.
pub fn read_desk_token_hash(path: &Path) -> Result<[u8; 32]> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the desk token hash {}", path.display()))?;
    sighting_core::wire::hex::decode(text.trim())
        .with_context(|| format!("{} is not a SHA-256 in hex", path.display()))
}

/// Reads `desk.token` as [`desk_token`] wrote it.
pub fn read_desk_token(path: &Path) -> Result<String> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read the desk token {}", path.display()))?;
    let token = text.trim();
    anyhow::ensure!(!token.is_empty(), "{} is empty", path.display());
    Ok(token.to_string())
}
