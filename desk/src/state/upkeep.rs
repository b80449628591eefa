//! What `open` redoes over every recorded report after a run that changed something: the
//! same-photo groups, and the receipts of reports opened before the intake key was given.
//! Both read a few columns per report, never the manifests.

use std::path::Path;

use rusqlite::params;

use super::reports::ReportId;
use super::{DeskState, StateError};
use crate::receipts::{self, ReceiptCheck};
use crate::sightings::{same_photo_groups, PhotoFacts};

impl DeskState {
    /// Groups the same photo over every opened report and records the groups that changed;
    /// returns whether any did.
    pub fn regroup_same_photos(&self) -> Result<bool, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut ids: Vec<(ReportId, Option<i64>)> = Vec::new();
        let mut facts = Vec::new();
        {
            let mut stmt = tx.prepare(
                "SELECT id, same_photo, perceptual_hash, lat, lon, accuracy_m,
                        COALESCE(corrected_at_ms, captured_at_ms)
                 FROM reports WHERE opened ORDER BY COALESCE(corrected_at_ms, captured_at_ms), id",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                ids.push((r.get(0)?, r.get(1)?));
                facts.push(PhotoFacts {
                    hash: r.get::<_, Option<i64>>(2)?.map(|h| h as u64),
                    lat: r.get(3)?,
                    lon: r.get(4)?,
                    accuracy_m: r.get(5)?,
                    time_ms: r.get(6)?,
                });
            }
        }
        let mut changed = false;
        for ((id, was), now) in ids.iter().zip(same_photo_groups(&facts)) {
            let now = now.map(i64::from);
            if *was != now {
                tx.execute(
                    "UPDATE reports SET same_photo = ?2 WHERE id = ?1",
                    params![id, now],
                )?;
                changed = true;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Checks again the receipts of opened reports checked without the intake key (or before
    /// receipts were checked), from the intake records under `data`; returns whether any
    /// changed.
    pub fn recheck_receipts(
        &self,
        data: &Path,
        intake_key: Option<&[u8; 32]>,
    ) -> Result<bool, StateError> {
        if intake_key.is_none() {
            return Ok(false);
        }
        let unchecked: Vec<(ReportId, String)> = {
            let conn = self.conn();
            let mut stmt = conn.prepare(
                "SELECT id, file FROM reports
                 WHERE opened AND (receipt IS NULL OR receipt = 'unchecked')",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut changed = false;
        for (id, file) in unchecked {
            let sealed = data.join(&file);
            let Some(record) = receipts::read_record(&sealed) else {
                continue;
            };
            let Ok(sha) = receipts::file_sha256(&sealed) else {
                continue;
            };
            let check = receipts::check(&record.receipt, &sha, intake_key);
            self.conn().execute(
                "UPDATE reports SET receipt = ?2 WHERE id = ?1",
                params![id, receipt_code(check)],
            )?;
            changed = true;
        }
        Ok(changed)
    }
}

/// A receipt check as its stable code (`verified`, `not_verified`, `unchecked`).
pub(super) fn receipt_code(check: ReceiptCheck) -> &'static str {
    match check {
        ReceiptCheck::Verified => "verified",
        ReceiptCheck::NotVerified => "not_verified",
        ReceiptCheck::Unchecked => "unchecked",
    }
}
