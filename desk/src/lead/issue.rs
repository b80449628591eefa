//! One export, the same for the app and for `sighting-server lead`: the sightings named (each
//! once) checked before any work (verified, and each link to the case confirmed by a second
//! reviewer unless a case manager overrides that with a reason), the package made, signed and
//! kept under the desk's `leads/`, and only then the audit lines and each sighting `forwarded
//! to police`, so the log never holds a package that was not made.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::MAX_SIGHTINGS;
use super::{
    export, Assessment, Lang, LeadCase, LeadItem, LeadRequest, LeadSettings, Override, Package,
    PackageError,
};
use crate::sightings::Sighting;
use crate::state::{CaseError, DeskState, LeadGate, Reviewer, StateError};

/// What to export, from which desk.
pub struct Export<'a> {
    pub desk: &'a DeskState,
    /// The desk's state directory: the opened reports, and `leads/` where packages are kept.
    pub state: &'a Path,
    /// The intake's data directory, for each report's intake record.
    pub data: &'a Path,
    pub by: &'a Reviewer,
    pub case: &'a str,
    pub ids: &'a [String],
    pub langs: &'a [Lang],
    pub now_ms: i64,
    /// Who it goes to, and a case manager's reason to send unconfirmed links.
    pub gate: LeadGate<'a>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("a lead package holds 1 to {MAX_SIGHTINGS} sightings")]
    Count,
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the desk has opened no report {0}")]
    NotOpened(String),
    #[error("reading what the desk holds of {id}: {source:#}")]
    Read { id: String, source: anyhow::Error },
    #[error(transparent)]
    Package(#[from] PackageError),
}

/// Makes the package; `opened` finds a report the desk opened by id. Returns the package and
/// where its ZIP is kept.
pub fn issue(
    what: &Export<'_>,
    settings: &LeadSettings,
    opened: impl Fn(&str) -> Option<Sighting>,
) -> Result<(Package, PathBuf), ExportError> {
    let mut named = HashSet::new();
    let ids: Vec<String> = what
        .ids
        .iter()
        .filter(|id| named.insert(id.as_str()))
        .cloned()
        .collect();
    if ids.is_empty() || ids.len() > MAX_SIGHTINGS {
        return Err(ExportError::Count);
    }
    let desk = what.desk;
    // Everything that can refuse does so before any file is read or written.
    let case = LeadCase::load(desk, what.case)?;
    let overridden = desk.check_lead_package(what.by, what.case, &ids, &what.gate)?;
    let mut decisions = desk.candidate_decisions(what.case)?;
    let found = ids
        .iter()
        .map(|id| opened(id).ok_or_else(|| ExportError::NotOpened(id.clone())))
        .collect::<Result<Vec<_>, _>>()?;
    let items = found
        .into_iter()
        .map(|s| {
            let id = s.id.clone();
            let assessment = Assessment {
                decision: decisions
                    .iter()
                    .position(|d| d.sighting_id == id)
                    .map(|at| decisions.swap_remove(at)),
                overridden: overridden.contains(&id).then(|| Override {
                    by: what.by.name.clone(),
                    reason: what.gate.override_reason.unwrap_or_default().to_string(),
                }),
            };
            LeadItem::load(desk, what.state, what.data, s, assessment)
                .map_err(|source| ExportError::Read { id, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let request = LeadRequest {
        case: &case,
        items: &items,
        langs: what.langs,
        by: &what.by.name,
        now_ms: what.now_ms,
    };
    let (package, kept) = export(&what.state.join(LEADS_DIR), settings, &request)?;
    if let Err(e) = desk.record_lead_package(what.by, what.case, &ids, &package.name, &what.gate) {
        // Not audited, so not handed out either.
        let _ = std::fs::remove_file(kept.with_extension("zip.minisig"));
        let _ = std::fs::remove_file(&kept);
        return Err(e.into());
    }
    Ok((package, kept))
}

/// Where the desk keeps the packages it made, with their signatures.
pub const LEADS_DIR: &str = "leads";

/// Whether `name` is one the desk gives a kept package (`lead-<case>-<date>-<n>.zip`) or its
/// signature (`….zip.minisig`): letters, digits, `-`, `_` and single dots only, so never a path.
pub fn is_kept_name(name: &str) -> bool {
    name.len() <= 200
        && name.starts_with("lead-")
        && (name.ends_with(".zip") || name.ends_with(".zip.minisig"))
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::is_kept_name;

    #[test]
    fn only_the_names_the_desk_gives_are_kept_names() {
        for ours in [
            "lead-C-1-2026-12-03-1.zip",
            "lead-C_7-2026-12-03-12.zip.minisig",
        ] {
            assert!(is_kept_name(ours), "{ours}");
        }
        for other in [
            "lead-../desk.sqlite3.zip",
            "lead-..zip",
            "lead-C-1/../../org/lead.key.zip",
            "lead-C-1-2026-12-03-1.pdf",
            "desk.sqlite3",
            "lead-C-1\\x.zip",
            "lead-%2e%2e.zip",
            "",
        ] {
            assert!(!is_kept_name(other), "{other}");
        }
    }
}
