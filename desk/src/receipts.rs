//! Each report's intake receipt, checked against the organisation's intake key (`server.pub`
//! from keygen), never against the key the receipt names: an intake, or anyone else, without
//! the organisation's key cannot make the desk vouch for a receipt or for the time of receipt
//! it states.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sighting_core::wire::Receipt;

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptCheck {
    /// Signed with the organisation's intake key, for this report and this ciphertext.
    Verified,
    /// Not signed with the organisation's intake key, or not for this ciphertext.
    NotVerified,
    /// The desk was not given the organisation's intake key.
    Unchecked,
}

impl ReceiptCheck {
    /// Why the receipt and its time of receipt cannot be relied on, in English and Chinese.
    pub fn warning(self) -> Option<(&'static str, &'static str)> {
        match self {
            ReceiptCheck::Verified => None,
            ReceiptCheck::NotVerified => Some((
                "The intake receipt does NOT verify against the organisation's intake key: it \
                 was not signed by the organisation's intake server, and its time of receipt \
                 cannot be relied on.",
                "接收收据无法通过本机构接收服务器的密钥验证：它并非本机构接收服务器签发，其接收时间不可信。",
            )),
            ReceiptCheck::Unchecked => Some((
                "The intake receipt was not checked: this desk was not given the organisation's \
                 intake key (server.pub).",
                "接收收据未经核验：本审核台没有本机构接收服务器的公钥（server.pub）。",
            )),
        }
    }

    /// [`ReceiptCheck::warning`] on one line.
    pub fn warning_text(self) -> Option<String> {
        self.warning().map(|(en, zh)| format!("{en} / {zh}"))
    }
}

/// Checks `receipt` for the ciphertext whose SHA-256 is `ciphertext_sha256`.
pub fn check(
    receipt: &Receipt,
    ciphertext_sha256: &[u8; 32],
    intake_key: Option<&[u8; 32]>,
) -> ReceiptCheck {
    match intake_key {
        None => ReceiptCheck::Unchecked,
        Some(key) => match receipt.verify(receipt.report_id, ciphertext_sha256, key) {
            Ok(()) => ReceiptCheck::Verified,
            Err(_) => ReceiptCheck::NotVerified,
        },
    }
}

/// The SHA-256 of a file, read in pieces.
pub fn file_sha256(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = std::fs::File::open(path)?;
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        match file.read(&mut buffer)? {
            0 => break,
            n => hash.update(&buffer[..n]),
        }
    }
    let mut sha = [0u8; 32];
    sha.copy_from_slice(hash.finish().as_ref());
    Ok(sha)
}

/// The intake key from `--server-key`: a `server.pub` file, or the key itself (base64).
pub fn read_intake_key(file_or_key: &str) -> anyhow::Result<[u8; 32]> {
    let path = Path::new(file_or_key);
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the intake key {}", path.display()))?;
        return sighting_core::wire::parse_server_key(&text).with_context(|| {
            format!(
                "{} is not an intake key (server.pub from keygen)",
                path.display()
            )
        });
    }
    sighting_core::wire::parse_server_key(file_or_key).with_context(|| {
        format!("--server-key {file_or_key:?} is neither a file nor a base64 Ed25519 key")
    })
}

/// The intake key `--server-key` names, or else `server.pub` beside the identity file; `None`
/// (said on standard error) when there is neither.
pub fn intake_key_for(
    server_key: Option<&str>,
    identity: &Path,
) -> anyhow::Result<Option<[u8; 32]>> {
    if let Some(given) = server_key {
        return read_intake_key(given).map(Some);
    }
    let beside = identity
        .parent()
        .unwrap_or(Path::new("."))
        .join(crate::keygen::SERVER_PUB_FILE);
    if beside.exists() {
        return read_intake_key(&beside.to_string_lossy()).map(Some);
    }
    eprintln!(
        "no intake key: {} does not exist and --server-key was not given; receipts will NOT be \
         checked against the organisation's intake key / 没有接收服务器公钥：收据将不会用本机构接收服务器的密钥核验",
        beside.display()
    );
    Ok(None)
}

/// The intake record beside a sealed report, if it is there and readable.
pub(crate) fn read_record(sealed: &Path) -> Option<sighting_core::wire::desk_feed::IntakeRecord> {
    let bytes = std::fs::read(sealed.with_extension("intake.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_but_verified_has_words_in_both_languages() {
        assert_eq!(ReceiptCheck::Verified.warning(), None);
        for check in [ReceiptCheck::NotVerified, ReceiptCheck::Unchecked] {
            let (en, zh) = check.warning().unwrap();
            assert!(en.contains("receipt"), "{en}");
            assert!(zh.contains("收据"), "{zh}");
        }
    }
}
