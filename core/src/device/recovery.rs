//! What opening the device does after a kill or storage damage: the recovery sweep, and the
//! background hash check of every queued ciphertext.

use std::fs;
use std::path::Path;

use ring::digest::{Context, SHA256};
use uuid::Uuid;

use super::{Device, DeviceError};
use crate::queue::State;
use crate::wire::hex;

impl Device {
    /// Cleans up after a kill: temp files and files no row points at are removed; rows whose
    /// file is missing or has the wrong size are flagged. Only metadata is read, so opening
    /// stays fast with a full outbox; [`Device::verify_ciphertexts`] checks the hashes.
    ///
    /// A kill cannot leave a `sealed` row with a partial file (the file is durable before the
    /// row says so); what this catches is storage damage and files removed behind our back.
    pub(super) fn recovery_sweep(&self) -> Result<(), DeviceError> {
        let rows = self.queue.all_rows()?;
        let state_of = |id: Uuid| rows.iter().find(|r| r.id == id).map(|r| r.state);
        for dir in ["outbox", "drafts", "thumbnails"] {
            for entry in fs::read_dir(self.data_dir.join(dir))? {
                let path = entry?.path();
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let id = name.split('.').next().and_then(|i| i.parse::<Uuid>().ok());
                let keep = match (dir, id.and_then(state_of)) {
                    _ if name.ends_with(".tmp") => false,
                    // A sealed file whose row never said so: the submit did not return.
                    ("outbox", Some(state)) => matches!(state, State::Sealed | State::Uploading),
                    // A draft file after its report was sealed, or before its row existed.
                    ("drafts", Some(state)) => state == State::Draft,
                    ("thumbnails", Some(state)) => state != State::Purged,
                    _ => false,
                };
                if !keep {
                    fs::remove_file(&path)?;
                }
            }
        }
        for row in &rows {
            let problem = match row.state {
                State::Sealed | State::Uploading => match fs::metadata(self.outbox_path(row.id)) {
                    Ok(meta) if meta.len() == row.bytes => None,
                    Ok(_) => Some("the sealed file has the wrong size (damaged)"),
                    Err(_) => Some("the sealed file is missing"),
                },
                State::Draft if !self.drafts.exists(row.id) => Some("the draft file is missing"),
                _ => None,
            };
            if let Some(problem) = problem {
                self.queue.flag(row.id, problem)?;
            }
        }
        Ok(())
    }

    /// Hashes every queued ciphertext and flags those that no longer match; returns how many.
    /// [`crate::handle::DeviceHandle`] runs it in the background right after open.
    pub fn verify_ciphertexts(&self) -> Result<usize, DeviceError> {
        let mut flagged = 0;
        for row in self.queue.all_rows()? {
            if !matches!(row.state, State::Sealed | State::Uploading) {
                continue;
            }
            if let Ok(actual) = file_sha256(&self.outbox_path(row.id)) {
                if Some(actual) != row.ciphertext_sha256 {
                    self.queue
                        .flag(row.id, "the sealed file does not match its hash")?;
                    flagged += 1;
                }
            }
        }
        Ok(flagged)
    }
}

fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut file = fs::File::open(path)?;
    let mut hash = Context::new(&SHA256);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hash.finish().as_ref()));
        }
        hash.update(&buf[..n]);
    }
}
