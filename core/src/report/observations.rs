//! What the reporter saw besides the photo: "this may be case N", and a few answers chosen from
//! lists (no free text, so nothing here identifies the reporter or needs translating).
//!
//! Format (manifest `sighting.report/1`, added without a schema change): `details` may carry
//! `"observations": {"case_number": "C-7", "sex": "boy" | "girl" | "unknown", "age_band":
//! "under_5" | "5_to_9" | "10_to_13" | "14_to_17", "injury_or_disability": true | false,
//! "with_adults": "none" | "one" | "several", "activity": "begging" | "selling" | "performing" |
//! "other"}`, every field optional. A reader that does not know `observations` meets it as one
//! more free tag (an object), so nothing breaks and nothing is lost. A reader that knows it
//! refuses a value outside these lists, so a new value ships in the desk before the apps.

use serde::{Deserialize, Serialize};

pub use crate::wire::bulletin::Sex;

/// Characters of a case number at most.
pub const MAX_CASE_NUMBER: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgeBand {
    #[serde(rename = "under_5")]
    Under5,
    #[serde(rename = "5_to_9")]
    From5To9,
    #[serde(rename = "10_to_13")]
    From10To13,
    #[serde(rename = "14_to_17")]
    From14To17,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithAdults {
    None,
    One,
    Several,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    Begging,
    Selling,
    Performing,
    Other,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observations {
    /// The published case the reporter thinks this child may be. Only a hint for the desk: the
    /// phone never says "a match".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_band: Option<AgeBand>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub injury_or_disability: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_adults: Option<WithAdults>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
}

/// A case number as the desk's register writes them: 1 to 40 letters, digits, `-` or `_`.
pub fn is_case_number(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_CASE_NUMBER
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Observations {
    pub fn case_number_is_valid(&self) -> bool {
        self.case_number.as_deref().is_none_or(is_case_number)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::super::Details;
    use super::*;

    fn seen() -> Observations {
        Observations {
            case_number: Some("C-2026-007".into()),
            sex: Some(Sex::Girl),
            age_band: Some(AgeBand::From5To9),
            injury_or_disability: Some(true),
            with_adults: Some(WithAdults::One),
            activity: Some(Activity::Begging),
        }
    }

    #[test]
    fn the_written_form_is_the_documented_one_and_reads_back() {
        let details = Details {
            note: Some("near the bridge".into()),
            tags: BTreeMap::new(),
            observations: Some(seen()),
        };
        let json = serde_json::to_string(&details).unwrap();
        assert_eq!(
            json,
            r#"{"note":"near the bridge","observations":{"case_number":"C-2026-007","sex":"girl","age_band":"5_to_9","injury_or_disability":true,"with_adults":"one","activity":"begging"}}"#
        );
        assert_eq!(serde_json::from_str::<Details>(&json).unwrap(), details);
        let empty = Details::default();
        assert_eq!(serde_json::to_string(&empty).unwrap(), "{}");
    }

    /// The reader before observations existed (its `Details`, verbatim): a new manifest's
    /// observations reach it whole, as one more tag.
    #[test]
    fn a_reader_from_before_observations_reads_them_as_a_tag() {
        #[derive(Deserialize)]
        struct DetailsBefore {
            note: Option<String>,
            #[serde(flatten)]
            tags: BTreeMap<String, serde_json::Value>,
        }
        let details = Details {
            note: Some("n".into()),
            tags: BTreeMap::from([("shoes".to_string(), "red".into())]),
            observations: Some(seen()),
        };
        let old: DetailsBefore =
            serde_json::from_str(&serde_json::to_string(&details).unwrap()).unwrap();
        assert_eq!(old.note.as_deref(), Some("n"));
        assert_eq!(old.tags["shoes"], "red");
        assert_eq!(old.tags["observations"]["activity"], "begging");
    }

    #[test]
    fn an_unknown_answer_or_a_bad_case_number_is_refused() {
        let json = r#"{"observations":{"activity":"juggling"}}"#;
        assert!(serde_json::from_str::<Details>(json).is_err());
        for bad in ["", "C 7", "../C", &"C".repeat(41)] {
            let o = Observations {
                case_number: Some(bad.to_string()),
                ..Default::default()
            };
            assert!(!o.case_number_is_valid(), "{bad:?}");
        }
        assert!(seen().case_number_is_valid());
    }
}
