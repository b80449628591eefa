//! Freeing the intake's storage safely: only reports the review desk has opened go.
//!
//! The desk's incremental record (`sightings.json`, written by `open`) lists every sealed file
//! it opened, verified or failed, by its path under the data directory. A report is pruned only
//! when that record names it, so a report the desk has not seen is never lost. Its row and
//! receipt stay: a phone that has not yet fetched its receipt still gets it.

use std::path::Path;

use uuid::Uuid;

use super::store::{StoreError, UploadStore};
use crate::desk::sightings::Sighting;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub reports: usize,
    pub bytes: u64,
    /// Named by the desk's record but no longer kept (pruned before, or not from this intake).
    pub already_gone: usize,
}

/// Deletes the ciphertext and intake record of every report in `opened`.
pub async fn prune(store: &dyn UploadStore, opened: &[Sighting]) -> Result<Pruned, StoreError> {
    let mut pruned = Pruned::default();
    for sighting in opened {
        let Some(report_id) = report_id(&sighting.file) else {
            pruned.already_gone += 1;
            continue;
        };
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

/// `reports/<report id>.age`, as the desk records it, to the report id.
fn report_id(file: &str) -> Option<Uuid> {
    let path = Path::new(file);
    if path.parent()? != Path::new("reports") || path.extension()? != "age" {
        return None;
    }
    path.file_stem()?.to_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::report_id;

    #[test]
    fn only_finished_report_paths_name_a_report() {
        let id = "0191e3a4-7b2c-4d5e-8f90-123456789abc";
        assert!(report_id(&format!("reports/{id}.age")).is_some());
        assert!(report_id(&format!("uploads/{id}")).is_none());
        assert!(report_id(&format!("reports/{id}.intake.json")).is_none());
        assert!(report_id(&format!("other/reports/{id}.age")).is_none());
        assert!(report_id("reports/not-an-id.age").is_none());
    }
}
