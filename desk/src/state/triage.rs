//! A sighting's triage status and the one table of the changes allowed between them.
//!
//! `new → in review → forwarded to police / not relevant / duplicate`, and back to `in review`
//! from any decision (a reviewer reopens it). On a case's page a reviewer proposes a possible
//! match (`new / in review → possible match`), and a second reviewer confirms it (`→ linked to
//! a case`) or rejects it (`→ in review`); those two states need a case, so they are never
//! chosen on a sighting alone. Exporting a lead package moves what it holds to `forwarded to
//! police`. Deciding that a sighting is a lead is a human decision, audited; a report that
//! failed verification can never be one.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Triage {
    New,
    InReview,
    /// Proposed as a possible match for a case: awaits a second reviewer.
    PossibleMatch,
    ForwardedToPolice,
    LinkedToCase,
    NotRelevant,
    Duplicate,
}

impl Triage {
    pub const ALL: [Triage; 7] = [
        Triage::New,
        Triage::InReview,
        Triage::PossibleMatch,
        Triage::ForwardedToPolice,
        Triage::LinkedToCase,
        Triage::NotRelevant,
        Triage::Duplicate,
    ];

    /// The allowed changes, all of them.
    pub fn can_become(self, next: Triage) -> bool {
        use Triage::*;
        matches!(
            (self, next),
            (New, InReview | NotRelevant | Duplicate | PossibleMatch)
                | (InReview, PossibleMatch)
                | (PossibleMatch, LinkedToCase | InReview)
                | (LinkedToCase, ForwardedToPolice)
                | (InReview, ForwardedToPolice | NotRelevant | Duplicate | New)
                | (
                    ForwardedToPolice | LinkedToCase | NotRelevant | Duplicate,
                    InReview
                )
        )
    }

    /// A decision that passes the sighting on as a lead (to the police, or to a case).
    pub fn is_lead(self) -> bool {
        matches!(
            self,
            Triage::ForwardedToPolice | Triage::LinkedToCase | Triage::PossibleMatch
        )
    }

    /// Reached or left only through a case's link (proposed, confirmed or rejected there),
    /// never by choosing a status for a sighting alone.
    pub fn needs_case(self) -> bool {
        matches!(self, Triage::PossibleMatch | Triage::LinkedToCase)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Triage::New => "new",
            Triage::InReview => "in_review",
            Triage::PossibleMatch => "possible_match",
            Triage::ForwardedToPolice => "forwarded_to_police",
            Triage::LinkedToCase => "linked_to_case",
            Triage::NotRelevant => "not_relevant",
            Triage::Duplicate => "duplicate",
        }
    }
}

impl fmt::Display for Triage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a triage status")]
pub struct UnknownTriage(pub String);

impl FromStr for Triage {
    type Err = UnknownTriage;

    fn from_str(s: &str) -> Result<Self, UnknownTriage> {
        Triage::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTriage(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_change_is_decided_in_one_place() {
        let allowed: Vec<_> = Triage::ALL
            .iter()
            .flat_map(|a| Triage::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(allowed.len(), 16);
        assert!(
            !Triage::New.can_become(Triage::ForwardedToPolice),
            "reviewed first"
        );
        assert!(
            !Triage::Duplicate.can_become(Triage::LinkedToCase),
            "reopened first"
        );
        assert!(
            !Triage::PossibleMatch.can_become(Triage::ForwardedToPolice),
            "confirmed first"
        );
        for t in Triage::ALL {
            assert_eq!(t.as_str().parse::<Triage>().unwrap(), t);
            assert!(!t.can_become(t), "{t} → {t} is not a change");
        }
    }
}
