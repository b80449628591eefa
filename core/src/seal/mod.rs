//! Sealing: the report bundle (ustar) encrypted with age to the organisation's recipients,
//! streamed: the bundle is never held whole in memory, plain or encrypted.

pub mod age;

use std::io::{self, Write};

pub use self::age::Recipient;

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

/// One file of the bundle.
pub struct BundleFile<'a> {
    pub name: &'static str,
    pub bytes: &'a [u8],
}

/// Writes `files` as a ustar archive, age-encrypted to `recipients`, into `out`.
///
/// Entries carry no owner, time or mode beyond 0644: nothing about the phone.
pub fn seal<W: Write>(
    recipients: &[Recipient],
    files: &[BundleFile<'_>],
    out: W,
) -> Result<W, SealError> {
    let mut tar = tar::Builder::new(age::encrypt(recipients, out)?);
    for file in files {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(file.bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        tar.append_data(&mut header, file.name, file.bytes)?;
    }
    tar.into_inner()?.finish()
}
