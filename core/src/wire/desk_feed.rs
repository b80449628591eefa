//! The desk's feed: what passes from the intake to the review desk, written by the intake and
//! read by the desk with these same types.
//!
//! ```text
//! GET /v1/desk/reports?after=SEQ&limit=N      (Authorization: Bearer <desk token>)
//!   → { "reports": [ { "report_id", "length", "ciphertext_sha256", "seq" }, … ], "next": SEQ }
//! GET /v1/desk/reports/{report_id}            → the ciphertext, as the phone sent it
//! GET /v1/desk/reports/{report_id}/record     → the intake record (receipt, clocks)
//! ```
//!
//! Reports are listed in the order they finished; `seq` is each one's place in that order and
//! `next` the cursor for the following page (the last `seq` listed, or `after` on an empty
//! page). A reader must see the cursor move strictly forward: a listing whose `next` does not
//! is a broken or hostile intake.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{DeviceClock, Receipt};

/// The largest report the intake takes by default (`Tus-Max-Size`), and the most the review
/// desk fetches for one.
pub const MAX_REPORT_BYTES: u64 = 64 << 20;

/// A finished report as the feed lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finished {
    pub report_id: Uuid,
    pub length: u64,
    /// Lowercase hex.
    pub ciphertext_sha256: String,
    /// Its place in the order reports finished in: the cursor for the next page.
    pub seq: i64,
}

/// One page of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub reports: Vec<Finished>,
    pub next: i64,
}

impl Listing {
    /// The page after `after`: its cursor is the last report's `seq`.
    pub fn after(after: i64, reports: Vec<Finished>) -> Self {
        let next = reports.last().map_or(after, |r| r.seq);
        Listing { reports, next }
    }
}

/// What the intake knows about a report that the sealed bundle cannot (it was sealed before
/// the upload): its signed receipt, and the device's clock at upload time beside the server's
/// (Unix ms), the pair the desk corrects a wrong phone clock with. Kept by the intake as
/// `reports/<report_id>.intake.json` and served as `…/record`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntakeRecord {
    pub receipt: Receipt,
    pub created_at_ms: i64,
    pub device_clock: Option<DeviceClock>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The listing as the intake has always written it (field names are the protocol).
    const LISTING: &str = r#"{"reports":[{"report_id":"0191e3a4-7b2c-7d5e-8f90-123456789abc","length":4096,"ciphertext_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","seq":7}],"next":7}"#;

    #[test]
    fn a_listing_reads_and_writes_the_same_bytes() {
        let listing: Listing = serde_json::from_str(LISTING).unwrap();
        assert_eq!(listing.reports[0].seq, 7);
        assert_eq!(listing.reports[0].length, 4096);
        assert_eq!(serde_json::to_string(&listing).unwrap(), LISTING);
    }

    #[test]
    fn an_empty_page_keeps_the_cursor() {
        assert_eq!(Listing::after(41, vec![]).next, 41);
        let listing: Listing = serde_json::from_str(LISTING).unwrap();
        assert_eq!(Listing::after(3, listing.reports).next, 7);
    }
}
