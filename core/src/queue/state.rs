//! A report's states and the one table of the transitions allowed between them.

use std::fmt;
use std::str::FromStr;

use super::QueueError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Draft,
    Sealed,
    Uploading,
    Delivered,
    Purged,
    Rejected,
    UploadedUnconfirmed,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Draft,
        State::Sealed,
        State::Uploading,
        State::Delivered,
        State::Purged,
        State::Rejected,
        State::UploadedUnconfirmed,
    ];

    /// The allowed transitions, all of them.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Draft, Sealed)
                | (Sealed, Uploading)
                | (Sealed, Rejected)
                // A failed attempt goes back to `sealed` to wait for its next try.
                | (Uploading, Sealed)
                | (Uploading, Delivered)
                | (Uploading, Rejected)
                | (Uploading, UploadedUnconfirmed)
                | (Delivered, Purged)
                | (UploadedUnconfirmed, Purged)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Sealed => "sealed",
            State::Uploading => "uploading",
            State::Delivered => "delivered",
            State::Purged => "purged",
            State::Rejected => "rejected",
            State::UploadedUnconfirmed => "uploaded_unconfirmed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for State {
    type Err = QueueError;

    fn from_str(s: &str) -> Result<Self, QueueError> {
        State::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| QueueError::Corrupt(format!("unknown state {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pair_of_states_is_decided_in_one_place() {
        let allowed: Vec<(State, State)> = State::ALL
            .iter()
            .flat_map(|a| State::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(allowed.len(), 9);
        assert!(
            !State::Delivered.can_become(State::Uploading),
            "delivered is never re-sent"
        );
        assert!(
            !State::Rejected.can_become(State::Sealed),
            "rejected is not retried"
        );
        for state in State::ALL {
            assert_eq!(state.as_str().parse::<State>().unwrap(), state);
        }
    }
}
