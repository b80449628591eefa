//! The desk pushing the bulletin feed itself: after a case manager publishes or closes a case
//! in the app (and on demand), the feed of published cases is rebuilt, signed with the bulletin
//! key and pushed to the intake, so a closed case leaves the phones at their next refresh
//! without anyone running a command.

use std::sync::Arc;

use anyhow::Context;
use ring::signature::Ed25519KeyPair;

use super::Desk;
use crate::bulletins;

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

    /// Builds the feed of every published case and pushes it; returns its version.
    pub async fn push(&self, desk: &Arc<Desk>) -> anyhow::Result<u64> {
        let _one = self.running.lock().await;
        // Milliseconds since the epoch: newer than any feed this desk pushed before.
        let version = u64::try_from(sighting_core::millis::now())?;
        let now = time::OffsetDateTime::now_utc();
        let (building, key) = (desk.clone(), self.key.clone());
        let feed = tokio::task::spawn_blocking(move || {
            bulletins::build(&building.state, &key, version, now, FEED_VALID_FOR)
        })
        .await??;
        feed.push_or_reason(&self.client, &self.intake, &self.key)
            .await
            .with_context(|| format!("pushing to {}", self.intake))?;
        tracing::info!(version, "bulletin feed pushed");
        Ok(version)
    }
}
