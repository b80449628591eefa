//! Sealing: the report bundle (ustar) encrypted with age to the organisation's recipients,
//! streamed: the bundle is never held whole in memory, plain or encrypted.

pub mod age;

use std::io::{self, Read, Write};

use ring::digest::{Context, SHA256};
use uuid::Uuid;

pub use self::age::Recipient;
use crate::keys::DeviceKey;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("invalid organisation recipient ({0})")]
    Recipient(String),
    #[error("no organisation recipient is configured")]
    NoRecipients,
    #[error("encryption failed: {0}")]
    Crypto(&'static str),
    #[error("cannot write the sealed report: {0}")]
    Io(#[from] io::Error),
}

/// One file of the bundle, read as it is sealed.
pub struct BundleFile<'a> {
    pub name: &'static str,
    pub size: u64,
    pub data: Box<dyn Read + 'a>,
}

impl<'a> BundleFile<'a> {
    pub fn bytes(name: &'static str, bytes: &'a [u8]) -> Self {
        Self {
            name,
            size: bytes.len() as u64,
            data: Box::new(bytes),
        }
    }
}

/// Writes `files` as a ustar archive, age-encrypted to `recipients`, into `out`.
///
/// Entries carry no owner, time or mode beyond 0644: nothing about the phone.
pub fn seal<W: Write>(
    recipients: &[Recipient],
    files: Vec<BundleFile<'_>>,
    out: W,
) -> Result<W, SealError> {
    let mut tar = tar::Builder::new(age::encrypt(recipients, out)?);
    for file in files {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.size);
        header.set_mode(0o644);
        header.set_mtime(0);
        tar.append_data(&mut header, file.name, file.data.take(file.size))?;
    }
    tar.into_inner()?.finish()
}

/// What the intake server is told about a sealed report (it never sees inside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub report_id: Uuid,
    pub ciphertext_sha256: [u8; 32],
    pub ciphertext_bytes: u64,
    /// Ed25519 by the device key over `"sighting-envelope/1" || report_id || sha256(ciphertext)`.
    pub envelope_sig: [u8; 64],
}

/// Seals one report: `manifest.json`, `manifest.sig`, `photo.jpg` (and `original.jpg` when the
/// configuration asks for the full-size photo), hashing the ciphertext as it streams out.
pub fn seal_report<W: Write>(
    report_id: Uuid,
    manifest_json: &[u8],
    photo: &[u8],
    original: Option<&[u8]>,
    device: &DeviceKey,
    recipients: &[Recipient],
    out: W,
) -> Result<(W, Envelope), SealError> {
    let signature = device.sign_manifest(manifest_json);
    let mut files = vec![
        BundleFile::bytes("manifest.json", manifest_json),
        BundleFile::bytes("manifest.sig", &signature),
        BundleFile::bytes("photo.jpg", photo),
    ];
    if let Some(original) = original {
        files.push(BundleFile::bytes("original.jpg", original));
    }
    let hashing = seal(
        recipients,
        files,
        HashingWriter {
            inner: out,
            hash: Context::new(&SHA256),
            bytes: 0,
        },
    )?;
    let mut ciphertext_sha256 = [0u8; 32];
    ciphertext_sha256.copy_from_slice(hashing.hash.finish().as_ref());
    let envelope = Envelope {
        report_id,
        ciphertext_sha256,
        ciphertext_bytes: hashing.bytes,
        envelope_sig: device.sign_envelope(report_id, &ciphertext_sha256),
    };
    Ok((hashing.inner, envelope))
}

struct HashingWriter<W> {
    inner: W,
    hash: Context,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
