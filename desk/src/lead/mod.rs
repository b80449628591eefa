//! Lead packages: what the police officer who holds a case takes away about one sighting or a
//! few, as a ZIP anyone can open without Sighting: a PDF in the officer's language, the photos,
//! per sighting the signed manifest, the intake record and the chain of custody, and
//! `SHA256SUMS`; beside it the organisation's minisign signature. The app and
//! `sighting-server lead` make it one way, [`issue`].
//!
//! Only verified reports are ever packaged: a report that failed a check is never a lead.

mod assessment;
mod config;
mod contents;
mod fonts;
mod issue;
mod layout;
mod package;
mod pdf;
pub mod sign;
mod words;

use super::sightings::Sighting;
use super::state::{AuditEntry, TriageRow};

pub use assessment::{Assessment, Override};
pub use config::{LeadConfig, SETTINGS_FILE};
pub use contents::Lang;
pub use fonts::{FontError, Fonts};
pub use issue::{is_kept_name, issue, Export, ExportError, LEADS_DIR};
pub use package::{
    export, languages, LeadCase, LeadRequest, LeadSettings, Package, PackageError, MAX_SIGHTINGS,
};
pub use sign::{LeadKey, SignError};

/// One sighting's part of a package.
pub struct LeadItem {
    pub sighting: Sighting,
    pub triage: TriageRow,
    pub custody: Vec<AuditEntry>,
    pub photo: Vec<u8>,
    pub manifest_json: Vec<u8>,
    /// `<id>.intake.json` as the intake wrote it, when the desk has it.
    pub intake_record: Option<Vec<u8>>,
    /// What the reviewers said about its link to the package's case.
    pub assessment: Assessment,
}
