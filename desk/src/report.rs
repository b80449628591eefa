//! One sealed report, decrypted and checked.
//!
//! Checks, in order, each with its own error so staff see exactly which one failed: the report
//! decrypts with our identity; the bundle holds `manifest.json`, `manifest.sig` and `photo.jpg`;
//! the manifest is a known schema; its signature verifies against the `device_key` it names; the
//! photo's SHA-256 is the one the manifest states.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::digest::{digest, SHA256};
use sighting_core::report::{Manifest, ReportError};
use sighting_core::wire::hex;

/// The bundle's size limit once decrypted: a report is one photo and a manifest.
const MAX_BUNDLE_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("sealed to another organisation's key (none of our identities can open it)")]
    NotForUs,
    #[error("the ciphertext is corrupt or was tampered with: {0}")]
    Decrypt(String),
    #[error("the bundle is malformed: {0}")]
    Bundle(String),
    #[error("the manifest is invalid: {0}")]
    Manifest(#[from] ReportError),
    #[error("the manifest signature does not verify against its device key")]
    Signature,
    #[error("photo.jpg does not match the SHA-256 in the manifest (swapped or altered photo)")]
    PhotoHash,
    #[error("the manifest's id {manifest} is not the id {received} the intake received")]
    IdMismatch { manifest: String, received: String },
    #[error("a report with id {0} was opened before; this one is not allowed to replace it")]
    Duplicate(String),
}

/// A report that passed every check.
#[derive(Debug)]
pub struct OpenedReport {
    pub manifest: Manifest,
    pub manifest_json: Vec<u8>,
    pub photo: Vec<u8>,
}

/// Reads the organisation's age identities from an identity file (comments allowed).
pub fn read_identities(path: &Path) -> anyhow::Result<Vec<age::x25519::Identity>> {
    let text = fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let identities: Vec<age::x25519::Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.parse()
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    anyhow::ensure!(
        !identities.is_empty(),
        "{} holds no age identity",
        path.display()
    );
    Ok(identities)
}

/// An age header longer than this is refused before the `age` crate parses it. A report's
/// header is one stanza per recipient, ~100 bytes each; the crate re-parses a header from the
/// start each time it reads more of it, so a stranger's report with megabytes of stanzas
/// would keep the desk busy for hours (4 MiB: over 5 minutes, measured).
const MAX_HEADER_BYTES: usize = 16 << 10;

/// Decrypts and checks one sealed report.
pub fn open_report(
    identities: &[age::x25519::Identity],
    mut sealed: impl Read,
) -> Result<OpenedReport, OpenError> {
    let mut head = Vec::with_capacity(MAX_HEADER_BYTES);
    (&mut sealed)
        .take(MAX_HEADER_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| OpenError::Decrypt(e.to_string()))?;
    // age v1: "The header ends with the MAC line", which starts with "---" and a space.
    if !head.windows(5).any(|w| w == b"\n--- ") {
        return Err(OpenError::Decrypt(format!(
            "no end of the age header in its first {MAX_HEADER_BYTES} bytes"
        )));
    }
    let sealed = std::io::Cursor::new(head).chain(sealed);
    let decryptor = age::Decryptor::new(sealed).map_err(|e| OpenError::Decrypt(e.to_string()))?;
    let reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => OpenError::NotForUs,
            other => OpenError::Decrypt(other.to_string()),
        })?;
    let files = untar(reader.take(MAX_BUNDLE_BYTES))?;
    check_bundle(&files)
}

fn check_bundle(files: &BTreeMap<String, Vec<u8>>) -> Result<OpenedReport, OpenError> {
    let part = |name: &str| {
        files
            .get(name)
            .ok_or_else(|| OpenError::Bundle(format!("no {name}")))
    };
    let manifest_json = part("manifest.json")?.clone();
    let manifest = Manifest::from_json(&manifest_json)?;
    let device_key = STANDARD
        .decode(&manifest.device_key)
        .map_err(|_| OpenError::Bundle("device_key is not base64".into()))?;
    if !sighting_core::wire::strict_signature::verify_strict(
        &device_key,
        &manifest_json,
        part("manifest.sig")?,
    ) {
        return Err(OpenError::Signature);
    }
    let photo = part("photo.jpg")?.clone();
    if hex::encode(digest(&SHA256, &photo).as_ref()) != manifest.photo.sha256_upload {
        return Err(OpenError::PhotoHash);
    }
    Ok(OpenedReport {
        manifest,
        manifest_json,
        photo,
    })
}

fn untar(reader: impl Read) -> Result<BTreeMap<String, Vec<u8>>, OpenError> {
    // A decryption failure mid-stream surfaces as an I/O error from the tar reader.
    let io = |e: std::io::Error| match e.get_ref().map(|inner| inner.to_string()) {
        Some(inner) => OpenError::Decrypt(inner),
        None => OpenError::Decrypt(e.to_string()),
    };
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries().map_err(io)? {
        let mut entry = entry.map_err(io)?;
        let name = entry.path().map_err(io)?.to_string_lossy().into_owned();
        if !matches!(
            name.as_str(),
            "manifest.json" | "manifest.sig" | "photo.jpg" | "original.jpg"
        ) {
            return Err(OpenError::Bundle(format!("unexpected entry {name:?}")));
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(io)?;
        if files.insert(name.clone(), bytes).is_some() {
            return Err(OpenError::Bundle(format!("{name} appears twice")));
        }
    }
    Ok(files)
}
