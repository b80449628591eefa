//! The case register: the missing children the organisation searches for. Only case managers
//! (and admins) change it; every change is versioned like a sighting's and audited.
//!
//! A case is `draft` until a case manager publishes it, which needs the police report's
//! reference, the family's consent recorded, and a photo: only vetted cases reach phones.
//! Closing a case takes it off every phone at the next feed, with no "found" notice.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use sighting_core::millis;
use sighting_core::wire::bulletin::Sex;

use super::audit_log::AuditLine;
use super::contact::Contact;
use super::gate::{gate, words, GateItem, PUBLISHED_FIELDS};
use super::versioned::Versioned;
use super::{DeskState, Reviewer};

/// Case photos kept at most; each is re-encoded small (long edge ≤ 480 px) before it is kept.
pub const MAX_CASE_PHOTOS: usize = 3;
/// Characters of a text field at most (names, district, marks, references, notes).
pub const MAX_CASE_TEXT: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Publication {
    Draft,
    Published,
    Closed,
}

impl Publication {
    fn as_str(self) -> &'static str {
        match self {
            Publication::Draft => "draft",
            Publication::Published => "published",
            Publication::Closed => "closed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Closed]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// What a case manager writes about a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetails {
    /// For publication: the first name only.
    pub first_name: String,
    pub sex: Sex,
    /// `YYYY-MM-DD`, when known.
    pub date_of_birth: Option<String>,
    pub age_when_missing: u8,
    /// `YYYY-MM-DD`.
    pub missing_since: String,
    pub last_seen_district: String,
    pub last_seen_lat: f64,
    pub last_seen_lon: f64,
    /// Distinguishing marks, visible injury or disability.
    pub marks: String,
    pub police_reference: Option<String>,
    /// Never published.
    pub private_notes: Option<String>,
}

/// A case as the desk keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRow {
    pub number: String,
    #[serde(flatten)]
    pub details: CaseDetails,
    /// When the family's consent to publish was recorded, and by whom.
    pub consent_at_ms: Option<i64>,
    pub consent_by: Option<String>,
    pub publication: Publication,
    pub photos: usize,
    pub version: i64,
    /// The fields phones hold now (none unless published), so the page can say so.
    pub published_fields: &'static [&'static str],
}

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("no case {0}")]
    NotFound(String),
    #[error("case {0} exists already")]
    Exists(String),
    #[error("only a case manager or an admin may change cases")]
    Forbidden,
    #[error("someone else changed this case first (it is now at version {current})")]
    Conflict { current: i64 },
    #[error("the case cannot be published without {}", words(.0))]
    NotVetted(Vec<GateItem>),
    #[error(
        "the case is published and cannot stay so without {}: the edit is refused (close the \
         case to take it off phones)",
        words(.0)
    )]
    WouldUnvet(Vec<GateItem>),
    #[error(
        "{field} is published to every phone and seems to hold {}: the change is refused \
         (contact details and addresses belong in the private notes)",
        contact.words()
    )]
    Published {
        field: &'static str,
        contact: Contact,
    },
    #[error("a closed case cannot be changed or published again")]
    Closed,
    #[error("invalid case: {0}")]
    Invalid(String),
    #[error("the desk database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

fn may_manage(by: &Reviewer) -> Result<(), CaseError> {
    if by.role.manages_cases() {
        Ok(())
    } else {
        Err(CaseError::Forbidden)
    }
}

fn check_number(number: &str) -> Result<(), CaseError> {
    if sighting_core::report::is_case_number(number) {
        Ok(())
    } else {
        Err(CaseError::Invalid(
            "a case number is 1 to 40 letters, digits, '-' or '_'".into(),
        ))
    }
}

const SELECT_CASE: &str = "SELECT c.number, c.first_name, c.sex, c.date_of_birth,
        c.age_when_missing, c.missing_since, c.last_seen_district, c.last_seen_lat,
        c.last_seen_lon, c.marks, c.police_reference, c.private_notes, c.consent_at_ms, r.name,
        c.publication, (SELECT COUNT(*) FROM case_photos p WHERE p.case_number = c.number),
        c.version
     FROM cases c LEFT JOIN reviewers r ON r.id = c.consent_by";

fn read_case(r: &rusqlite::Row<'_>) -> rusqlite::Result<CaseRow> {
    let sex: String = r.get(2)?;
    let publication: String = r.get(14)?;
    let corrupt = |i, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    let sex =
        serde_json::from_value(serde_json::Value::String(sex)).map_err(|_| corrupt(2, "sex"))?;
    Ok(CaseRow {
        number: r.get(0)?,
        details: CaseDetails {
            first_name: r.get(1)?,
            sex,
            date_of_birth: r.get(3)?,
            age_when_missing: r.get(4)?,
            missing_since: r.get(5)?,
            last_seen_district: r.get(6)?,
            last_seen_lat: r.get(7)?,
            last_seen_lon: r.get(8)?,
            marks: r.get(9)?,
            police_reference: r.get(10)?,
            private_notes: r.get(11)?,
        },
        consent_at_ms: r.get(12)?,
        consent_by: r.get(13)?,
        publication: Publication::parse(&publication).ok_or_else(|| corrupt(14, "publication"))?,
        photos: r.get::<_, i64>(15)? as usize,
        version: r.get(16)?,
        published_fields: if publication == "published" {
            PUBLISHED_FIELDS
        } else {
            &[]
        },
    })
}

/// The details as SQL parameters `?1`…`?11`, in the column order both the insert and the
/// update name them (the case number is `?12`).
fn details_params(d: &CaseDetails) -> [&dyn rusqlite::ToSql; 11] {
    let sex: &'static &'static str = match d.sex {
        Sex::Boy => &"boy",
        Sex::Girl => &"girl",
        Sex::Unknown => &"unknown",
    };
    [
        &d.first_name as &dyn rusqlite::ToSql,
        sex,
        &d.date_of_birth,
        &d.age_when_missing,
        &d.missing_since,
        &d.last_seen_district,
        &d.last_seen_lat,
        &d.last_seen_lon,
        &d.marks,
        &d.police_reference,
        &d.private_notes,
    ]
}

impl DeskState {
    /// Opens a case as a draft.
    pub fn create_case(
        &self,
        by: &Reviewer,
        number: &str,
        details: &CaseDetails,
    ) -> Result<CaseRow, CaseError> {
        may_manage(by)?;
        check_number(number)?;
        details.check()?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = millis::now();
        let mut values = details_params(details).to_vec();
        values.extend([&number as &dyn rusqlite::ToSql, &now]);
        let added = tx.execute(
            "INSERT OR IGNORE INTO cases (first_name, sex, date_of_birth, age_when_missing,
                missing_since, last_seen_district, last_seen_lat, last_seen_lon, marks,
                police_reference, private_notes, number, created_at_ms, publication)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'draft')",
            values.as_slice(),
        )?;
        if added == 0 {
            return Err(CaseError::Exists(number.to_string()));
        }
        AuditLine::reviewer(by.id, "case_created")
            .case(number)
            .change(None, Some("draft"))
            .write(&tx)?;
        let row = case_row(&tx, number)?;
        tx.commit()?;
        Ok(row)
    }

    pub fn case(&self, number: &str) -> Result<CaseRow, CaseError> {
        case_row(&self.conn(), number)
    }

    /// Every case, drafts and closed ones too, by number.
    pub fn cases(&self) -> Result<Vec<CaseRow>, CaseError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{SELECT_CASE} ORDER BY c.number"))?;
        let rows = stmt.query_map([], read_case)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Replaces what the case says; the audit line names the fields that changed. A published
    /// case is held to the publication gate again: an edit that would fail it is refused, and
    /// the case stays as it was (and published).
    pub fn edit_case(
        &self,
        by: &Reviewer,
        number: &str,
        seen_version: i64,
        details: &CaseDetails,
    ) -> Result<CaseRow, CaseError> {
        details.check()?;
        self.change_case(by, number, seen_version, |tx, current| {
            match current.publication {
                Publication::Closed => return Err(CaseError::Closed),
                Publication::Published => gate(details, current.consent_at_ms, current.photos)
                    .map_err(|e| match e {
                        CaseError::NotVetted(missing) => CaseError::WouldUnvet(missing),
                        e => e,
                    })?,
                Publication::Draft => {}
            }
            let changed = changed_fields(&current.details, details);
            tx.execute(
                "UPDATE cases SET first_name = ?1, sex = ?2, date_of_birth = ?3,
                    age_when_missing = ?4, missing_since = ?5, last_seen_district = ?6,
                    last_seen_lat = ?7, last_seen_lon = ?8, marks = ?9, police_reference = ?10,
                    private_notes = ?11
                 WHERE number = ?12",
                [&details_params(details)[..], &[&number]]
                    .concat()
                    .as_slice(),
            )?;
            AuditLine::reviewer(by.id, "case_edited")
                .case(number)
                .change(None, Some(&changed.join(",")))
                .write(tx)?;
            Ok(())
        })
    }

    /// Adds a photo (already re-encoded small by the caller).
    pub fn add_case_photo(
        &self,
        by: &Reviewer,
        number: &str,
        seen_version: i64,
        jpeg: &[u8],
    ) -> Result<CaseRow, CaseError> {
        self.change_case(by, number, seen_version, |tx, current| {
            if current.publication == Publication::Closed {
                return Err(CaseError::Closed);
            }
            if current.photos >= MAX_CASE_PHOTOS {
                return Err(CaseError::Invalid(format!(
                    "a case has at most {MAX_CASE_PHOTOS} photos"
                )));
            }
            tx.execute(
                "INSERT INTO case_photos (case_number, position, jpeg) VALUES (?1, ?2, ?3)",
                params![number, current.photos as i64, jpeg],
            )?;
            AuditLine::reviewer(by.id, "case_photo_added")
                .case(number)
                .write(tx)?;
            Ok(())
        })
    }

    /// The case's photos, in order.
    pub fn case_photos(&self, number: &str) -> Result<Vec<Vec<u8>>, CaseError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT jpeg FROM case_photos WHERE case_number = ?1 ORDER BY position",
        )?;
        let photos = stmt
            .query_map([number], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(photos)
    }

    /// Records that the family consented to publication (the reviewer who heard it, and when).
    pub fn record_family_consent(
        &self,
        by: &Reviewer,
        number: &str,
        seen_version: i64,
    ) -> Result<CaseRow, CaseError> {
        self.change_case(by, number, seen_version, |tx, _| {
            tx.execute(
                "UPDATE cases SET consent_at_ms = ?2, consent_by = ?3 WHERE number = ?1",
                params![number, millis::now(), by.id],
            )?;
            AuditLine::reviewer(by.id, "case_consent")
                .case(number)
                .write(tx)?;
            Ok(())
        })
    }

    /// Publishes a vetted draft: police reference, family consent and a photo, and no contact
    /// details in what is published; or a refusal naming everything missing.
    pub fn publish_case(
        &self,
        by: &Reviewer,
        number: &str,
        seen_version: i64,
    ) -> Result<CaseRow, CaseError> {
        self.change_case(by, number, seen_version, |tx, current| {
            match current.publication {
                Publication::Closed => return Err(CaseError::Closed),
                Publication::Published => return Ok(()),
                Publication::Draft => {}
            }
            gate(&current.details, current.consent_at_ms, current.photos)?;
            set_publication(tx, by, number, current.publication, Publication::Published)
        })
    }

    /// Closes a case (found, withdrawn, or consent taken back): off every phone at the next
    /// feed; the desk keeps it, audited.
    pub fn close_case(
        &self,
        by: &Reviewer,
        number: &str,
        seen_version: i64,
    ) -> Result<CaseRow, CaseError> {
        self.change_case(by, number, seen_version, |tx, current| {
            if current.publication == Publication::Closed {
                return Ok(());
            }
            set_publication(tx, by, number, current.publication, Publication::Closed)
        })
    }

    /// One change to a case, in one transaction: a case manager's, from the version they saw.
    fn change_case(
        &self,
        by: &Reviewer,
        number: &str,
        seen_version: i64,
        apply: impl FnOnce(&rusqlite::Transaction<'_>, &CaseRow) -> Result<(), CaseError>,
    ) -> Result<CaseRow, CaseError> {
        may_manage(by)?;
        self.change_versioned(number, seen_version, apply)
    }
}

fn case_row(conn: &Connection, number: &str) -> Result<CaseRow, CaseError> {
    conn.prepare_cached(&format!("{SELECT_CASE} WHERE c.number = ?1"))?
        .query_row([number], read_case)
        .optional()?
        .ok_or_else(|| CaseError::NotFound(number.chars().take(40).collect()))
}

impl Versioned for CaseRow {
    type Error = CaseError;
    const BUMP_VERSION: &'static str = "UPDATE cases SET version = version + 1 WHERE number = ?1";

    fn read(conn: &Connection, number: &str) -> Result<Self, CaseError> {
        case_row(conn, number)
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn conflict(current: i64) -> CaseError {
        CaseError::Conflict { current }
    }
}

fn set_publication(
    tx: &rusqlite::Transaction<'_>,
    by: &Reviewer,
    number: &str,
    from: Publication,
    to: Publication,
) -> Result<(), CaseError> {
    tx.execute(
        "UPDATE cases SET publication = ?2 WHERE number = ?1",
        params![number, to.as_str()],
    )?;
    AuditLine::reviewer(by.id, "case_publication")
        .case(number)
        .change(Some(from.as_str()), Some(to.as_str()))
        .write(tx)?;
    Ok(())
}

/// The names of the fields that differ (never their values: private notes stay out of the log).
fn changed_fields(old: &CaseDetails, new: &CaseDetails) -> Vec<&'static str> {
    let (old, new) = (
        serde_json::to_value(old).unwrap_or_default(),
        serde_json::to_value(new).unwrap_or_default(),
    );
    const FIELDS: [&str; 11] = [
        "first_name",
        "sex",
        "date_of_birth",
        "age_when_missing",
        "missing_since",
        "last_seen_district",
        "last_seen_lat",
        "last_seen_lon",
        "marks",
        "police_reference",
        "private_notes",
    ];
    FIELDS
        .into_iter()
        .filter(|f| old.get(f) != new.get(f))
        .collect()
}
