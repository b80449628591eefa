//! Freeing the intake's storage safely: only reports the review desk has opened go.
//!
//! The caller names the reports by id; the desk decides which (those it opened successfully
//! and holds its own copy of: `sighting_desk::prunable`), so a report the desk has not opened,
//! or failed to open, is never lost. Its row and receipt stay: a phone that has not yet fetched
//! its receipt still gets it.

use uuid::Uuid;

use super::store::{StoreError, UploadStore};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub reports: usize,
    pub bytes: u64,
    /// Named but no longer kept (pruned before, or not from this intake).
    pub already_gone: usize,
}

/// Deletes the ciphertext and intake record of every report in `opened`.
pub async fn prune(store: &dyn UploadStore, opened: &[Uuid]) -> Result<Pruned, StoreError> {
    let mut pruned = Pruned::default();
    for &report_id in opened {
        match store.prune(report_id).await? {
            Some(bytes) => {
                pruned.reports += 1;
                pruned.bytes += bytes;
            }
            None => pruned.already_gone += 1,
        }
    }
    Ok(pruned)
}
