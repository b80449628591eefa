//! Why an upload attempt failed, as a type: the outbox switches on it (the shells never parse
//! words), and the queue stores it in its own columns (`last_error_kind`, `last_error_status`)
//! beside the words for logs and support (`last_error`).

use std::fmt;

use super::QueueError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptError {
    /// The intake server could not be reached, or the connection broke or timed out.
    Network,
    /// The server's TLS certificate is not trusted: a wrong pinned CA, or someone in between.
    TlsNotTrusted,
    /// The connection moved no byte for the stall timeout.
    Stalled,
    /// The server answered a status worth retrying (5xx, 408, 409, 429); 0 when unknown
    /// (attempts recorded before the status was kept).
    ServerStatus(u16),
    /// The server is out of storage for new reports (507) and asked to come back later.
    ServerFull,
    /// The server broke the protocol: an offset past the end, an upload URL on another host, a
    /// HEAD without an offset, an upload it lost mid-way, a receipt that is not one.
    ServerProtocol,
    /// The server's receipt did not verify against the configured receipt key.
    ReceiptRefused,
}

/// A failed attempt: the kind, and words for logs and support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptFailure {
    pub error: AttemptError,
    pub detail: String,
}

impl AttemptFailure {
    pub fn new(error: AttemptError, detail: impl Into<String>) -> Self {
        Self {
            error,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

/// The stable name of the kind (as stored and as the CLI prints it), with the status.
impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_columns() {
            (kind, Some(status)) => write!(f, "{kind} {status}"),
            (kind, None) => f.write_str(kind),
        }
    }
}

impl AttemptError {
    /// The `last_error_kind` column's value, and the status for `last_error_status`.
    pub(crate) fn to_columns(self) -> (&'static str, Option<u16>) {
        match self {
            AttemptError::Network => ("network", None),
            AttemptError::TlsNotTrusted => ("tls_not_trusted", None),
            AttemptError::Stalled => ("stalled", None),
            AttemptError::ServerStatus(status) => ("server_status", Some(status)),
            AttemptError::ServerFull => ("server_full", None),
            AttemptError::ServerProtocol => ("server_protocol", None),
            AttemptError::ReceiptRefused => ("receipt_refused", None),
        }
    }

    pub(crate) fn from_columns(kind: &str, status: Option<i64>) -> Result<Self, QueueError> {
        Ok(match kind {
            "network" => AttemptError::Network,
            "tls_not_trusted" => AttemptError::TlsNotTrusted,
            "stalled" => AttemptError::Stalled,
            "server_status" => AttemptError::ServerStatus(
                status
                    .unwrap_or(0)
                    .try_into()
                    .map_err(|_| QueueError::Corrupt(format!("HTTP status {status:?}")))?,
            ),
            "server_full" => AttemptError::ServerFull,
            "server_protocol" => AttemptError::ServerProtocol,
            "receipt_refused" => AttemptError::ReceiptRefused,
            other => return Err(QueueError::Corrupt(format!("unknown error kind {other:?}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_its_columns() {
        for error in [
            AttemptError::Network,
            AttemptError::TlsNotTrusted,
            AttemptError::Stalled,
            AttemptError::ServerStatus(503),
            AttemptError::ServerFull,
            AttemptError::ServerProtocol,
            AttemptError::ReceiptRefused,
        ] {
            let (kind, status) = error.to_columns();
            let back = AttemptError::from_columns(kind, status.map(i64::from)).unwrap();
            assert_eq!(back, error);
        }
        assert!(matches!(
            AttemptError::from_columns("gremlins", None),
            Err(QueueError::Corrupt(_))
        ));
        assert!(matches!(
            AttemptError::from_columns("server_status", Some(70_000)),
            Err(QueueError::Corrupt(_))
        ));
    }
}
