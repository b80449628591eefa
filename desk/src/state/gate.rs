//! What a case must be: well formed to be kept at all, and vetted to reach phones. The
//! publication gate is what a case needs before phones show it, and keeps needing while they
//! do (an edit of a published case meets it again): the police report's reference, the
//! family's consent and a photo, and no contact details in a field that goes to every phone.

use serde::Serialize;

use super::cases::{CaseDetails, CaseError, MAX_CASE_TEXT};
use super::contact::find_contact;

impl CaseDetails {
    /// Well formed: texts within bounds, a name and a district, real dates, a place on the globe.
    pub(super) fn check(&self) -> Result<(), CaseError> {
        let invalid = |what: &str| Err(CaseError::Invalid(what.to_string()));
        let texts = [
            Some(&self.first_name),
            Some(&self.last_seen_district),
            Some(&self.marks),
            self.police_reference.as_ref(),
            self.private_notes.as_ref(),
        ];
        if texts
            .iter()
            .flatten()
            .any(|t| t.chars().count() > MAX_CASE_TEXT)
        {
            return invalid("a text field is too long");
        }
        if self.first_name.trim().is_empty() || self.last_seen_district.trim().is_empty() {
            return invalid("a first name and a district are needed");
        }
        if self.age_when_missing > 17 {
            return invalid("the age when missing is over 17");
        }
        let date = time::macros::format_description!("[year]-[month]-[day]");
        let dates = [Some(&self.missing_since), self.date_of_birth.as_ref()];
        if dates
            .iter()
            .flatten()
            .any(|d| time::Date::parse(d, &date).is_err())
        {
            return invalid("a date is not YYYY-MM-DD");
        }
        if sighting_core::wire::region_tile::RegionTile::at(self.last_seen_lat, self.last_seen_lon)
            .is_none()
        {
            return invalid("the last-seen coordinates are off the globe");
        }
        Ok(())
    }
}

/// What a case's bulletin carries (`desk::bulletins`): never the police reference, the date of
/// birth, the consent or the private notes.
pub const PUBLISHED_FIELDS: &[&str] = &[
    "number",
    "first_name",
    "sex",
    "age_when_missing",
    "missing_since",
    "last_seen_district",
    "last_seen_lat",
    "last_seen_lon",
    "marks",
    "photos",
];

/// One thing the publication gate needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateItem {
    PoliceReference,
    Consent,
    Photo,
}

impl GateItem {
    pub fn words(self) -> &'static str {
        match self {
            GateItem::PoliceReference => "the police report's reference",
            GateItem::Consent => "the family's consent recorded",
            GateItem::Photo => "a photo",
        }
    }
}

pub(super) fn words(items: &[GateItem]) -> String {
    let words: Vec<_> = items.iter().map(|i| i.words()).collect();
    words.join(", ")
}

/// The publication gate over what a case would say: everything missing, then any contact
/// detail in a published free-text field.
pub(super) fn gate(
    details: &CaseDetails,
    consent_at_ms: Option<i64>,
    photos: usize,
) -> Result<(), CaseError> {
    let reference = details.police_reference.as_deref();
    let missing: Vec<GateItem> = [
        (
            reference.is_none_or(|r| r.trim().is_empty()),
            GateItem::PoliceReference,
        ),
        (consent_at_ms.is_none(), GateItem::Consent),
        (photos == 0, GateItem::Photo),
    ]
    .into_iter()
    .filter_map(|(missing, item)| missing.then_some(item))
    .collect();
    if !missing.is_empty() {
        return Err(CaseError::NotVetted(missing));
    }
    let published_text = [
        ("first_name", &details.first_name),
        ("last_seen_district", &details.last_seen_district),
        ("marks", &details.marks),
    ];
    for (field, text) in published_text {
        if let Some(contact) = find_contact(text) {
            return Err(CaseError::Published { field, contact });
        }
    }
    Ok(())
}
