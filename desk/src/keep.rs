//! Never losing a report at the desk.
//!
//! - [`check_organisation`]: the desk's output records which organisation it opens reports for
//!   (the recipients of the identity that first opened one), and refuses, at start, an
//!   identity that is not that organisation's. Recorded only once a report opened with it, so a
//!   fresh desk started by mistake with another organisation's identity records nothing, and
//!   the right identity started after it opens every report.
//! - [`prunable`]: which ciphertexts the intake may delete: only reports the desk opened
//!   successfully and holds its own copy of (`OUT/reports/<id>/`). A report that failed to open
//!   is kept, and retried on every run, so a wrong key today opens tomorrow.

use std::path::Path;

use anyhow::{bail, Result};
use uuid::Uuid;

use crate::state::{DeskState, FailureReason};

/// `OUT/organisation.txt`: the `age1…` recipients this desk opens reports for, one a line.
pub const ORGANISATION_FILE: &str = "organisation.txt";

/// The recipients of `identities`, sorted.
fn recipients(identities: &[age::x25519::Identity]) -> Vec<String> {
    let mut recipients: Vec<String> = identities
        .iter()
        .map(|i| i.to_public().to_string())
        .collect();
    recipients.sort();
    recipients
}

/// Refuses `identities` when `out` already opens reports for another organisation.
pub fn check_organisation(identities: &[age::x25519::Identity], out: &Path) -> Result<()> {
    let recorded = match std::fs::read_to_string(out.join(ORGANISATION_FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => bail!("cannot read {}: {e}", out.join(ORGANISATION_FILE).display()),
    };
    let recorded: Vec<&str> = recorded
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let given = recipients(identities);
    if given.iter().any(|r| recorded.contains(&r.as_str())) {
        return Ok(());
    }
    bail!(
        "this identity is not the organisation's this desk opens reports for.\n  \
         the desk at {} opens reports sealed to {} (recorded in {} when it first opened one);\n  \
         the identity given is for {}.\n  \
         Check that --identity is the organisation's identity.txt from `keygen` (not another \
         organisation's copy); nothing was opened or changed.",
        out.display(),
        recorded.join(", "),
        ORGANISATION_FILE,
        given.join(", ")
    )
}

/// Records `identities` as the organisation of `out`, once a report opened with them.
pub fn record_organisation(identities: &[age::x25519::Identity], out: &Path) -> Result<()> {
    let path = out.join(ORGANISATION_FILE);
    if path.exists() {
        return Ok(());
    }
    let mut text = recipients(identities).join("\n");
    text.push('\n');
    crate::write_private(&path, text.as_bytes())?;
    Ok(())
}

/// What `prune` may delete from the intake, and what it keeps and why.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Prunable {
    /// Opened, verified, and the desk holds its own copy.
    pub opened: Vec<Uuid>,
    /// Failed for good: corrupt, tampered, forged, or sealed to another key once the desk has
    /// opened reports with the organisation's identity. Junk a stranger can send to fill the
    /// intake; deleted only when the operator asks (`prune --failed`).
    pub failed: Vec<(Uuid, String)>,
    /// Not opened, and not known to be junk: kept, and tried again on every run.
    pub not_opened: Vec<(String, String)>,
    /// Verified, but the desk's own copy is missing (so the ciphertext is its only copy).
    pub no_copy: Vec<String>,
}

/// Sorts the reports the desk at `out` recorded (the `reports` table of its state) into what
/// may be pruned and what must be kept.
pub fn prunable(out: &Path, state: &DeskState) -> Result<Prunable> {
    // "Sealed to another key" is the organisation's own verdict only once the desk knows its
    // organisation (every failed report is tried again on the run that records it); before
    // that, it may be the desk's identity that is wrong. Other failures (not age, corrupt,
    // tampered, forged) do not depend on the key.
    let knows_organisation = out.join(ORGANISATION_FILE).is_file();
    let mut result = Prunable::default();
    state.each_report(false, |s| {
        let id = s.id.parse::<Uuid>().ok();
        let reason = s.reason.clone().unwrap_or_default();
        let not_for_us = s.failure == Some(FailureReason::NotForUs);
        match (s.status == "verified", id) {
            (true, Some(id)) => {
                let copy = out.join("reports").join(id.to_string());
                if copy.join("photo.jpg").is_file() && copy.join("manifest.json").is_file() {
                    result.opened.push(id);
                } else {
                    result.no_copy.push(s.id.clone());
                }
            }
            (false, Some(id)) if knows_organisation || !not_for_us => {
                result.failed.push((id, reason))
            }
            _ => result.not_opened.push((s.id.clone(), reason)),
        }
        Ok(())
    })?;
    Ok(result)
}
