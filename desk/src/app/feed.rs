//! The desk pushing the bulletin feed itself: after a case manager publishes or closes a case
//! in the app (and on demand), the feed of published cases is rebuilt, signed with the bulletin
//! key and pushed to the intake, so a closed case leaves the phones at their next refresh
//! without anyone running a command.

use std::sync::Arc;

use axum::http::StatusCode;
use ring::signature::Ed25519KeyPair;
use serde::Serialize;

use super::error::ApiError;
use super::Desk;
use crate::bulletins::{self, FeedError};

/// How long phones keep showing a feed the desk pushed (they hide it after).
const FEED_VALID_FOR: time::Duration = time::Duration::days(14);

/// The bulletin key and the intake the feed goes to.
pub struct FeedPusher {
    /// Shared with the blocking task that builds and signs the feed.
    key: Arc<Ed25519KeyPair>,
    intake: String,
    client: reqwest::Client,
    /// One push at a time: two at once would race for the newer version.
    running: tokio::sync::Mutex<()>,
}

/// How a push went, as the case page shows it: `{"version": n}` when pushed, `{"error": "…"}`
/// when not.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum FeedOutcome {
    Pushed { version: u64 },
    NotPushed { error: String },
}

impl FeedPusher {
    /// `intake`: `https://…` (plain `http://` only to loopback); `ca`: trust only this CA.
    pub fn new(key: Ed25519KeyPair, intake: &str, ca: Option<&[u8]>) -> anyhow::Result<Self> {
        let intake = sighting_core::sync::check_intake_url(intake)?;
        Ok(Self {
            key: Arc::new(key),
            intake: intake.as_str().trim_end_matches('/').to_string(),
            client: super::Puller::client(ca)?,
            running: tokio::sync::Mutex::new(()),
        })
    }

    /// Builds the feed of every published case and pushes it.
    pub(super) async fn push(&self, desk: &Arc<Desk>) -> FeedOutcome {
        let _one = self.running.lock().await;
        // Milliseconds since the epoch: newer than any feed this desk pushed before.
        let Ok(version) = u64::try_from(sighting_core::millis::now()) else {
            let error = "this machine's clock is before 1970".to_string();
            return FeedOutcome::NotPushed { error };
        };
        let now = time::OffsetDateTime::now_utc();
        let key = self.key.clone();
        let built = desk
            .blocking(move |d| bulletins::build(&d.state, &key, version, now, FEED_VALID_FOR))
            .await;
        let feed = match built {
            Ok(feed) => feed,
            // What the browser may see of it, and no more: an internal failure is logged.
            Err(e) => {
                let (_, body) = e.answer();
                let error = body["detail"].as_str().unwrap_or_default().to_string();
                return FeedOutcome::NotPushed { error };
            }
        };
        let pushed = feed
            .push_or_reason(&self.client, &self.intake, &self.key)
            .await;
        match pushed {
            Ok(()) => {
                tracing::info!(version, "bulletin feed pushed");
                FeedOutcome::Pushed { version }
            }
            Err(e) => FeedOutcome::NotPushed {
                error: format!("pushing to {}: {e:#}", self.intake),
            },
        }
    }
}

/// A feed not built: what a case manager can act on (a case's place or photo, the clock)
/// said; the database or a file failing stays in the log.
impl From<FeedError> for ApiError {
    fn from(e: FeedError) -> Self {
        match e {
            FeedError::Cases(e) => e.into(),
            FeedError::Io(e) => ApiError::Internal(format!("writing the feed: {e}")),
            other => ApiError::refused(StatusCode::UNPROCESSABLE_ENTITY, "feed", other.to_string()),
        }
    }
}
