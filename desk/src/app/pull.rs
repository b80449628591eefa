//! The desk pulling new ciphertexts from the intake server over HTTPS with the desk token,
//! into `STATE/pulled/reports/` (the layout of the intake's own data directory, so `open`
//! reads it unchanged). The cursor (the last finished report fetched) is kept beside them.
//!
//! The intake may be hostile (a compromised server, or a stranger's at the wrong address): a
//! listed report larger than the intake would ever take is refused before it is fetched; each
//! ciphertext is streamed to a temporary file (0600, in the desk's state) while it is hashed,
//! cut at the length listed, and kept only if its length and SHA-256 are the ones listed; each
//! report and each pull has a total time limit.
//!
//! The TLS rules are the phone's: `https://` with the bundled roots or a pinned CA, plain
//! `http://` to loopback only.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use sighting_core::wire::hex;

use crate::write_private;
use sighting_core::wire::desk_feed::{Finished, MAX_REPORT_BYTES};

/// An intake record is a receipt and two clocks: a few hundred bytes.
const MAX_RECORD: usize = 64 << 10;
const PAGE: u32 = 200;
/// Pages one pull takes at most: a listing without end is cut, and the next poll goes on
/// from the cursor.
const MAX_PAGES: usize = 50;

/// How long a pull may take in all, and one report (or one listing) within it.
#[derive(Debug, Clone, Copy)]
pub struct PullLimits {
    pub per_report: Duration,
    pub per_pull: Duration,
}

impl Default for PullLimits {
    /// A 64 MiB report over a link as slow as 110 KB/s; what a pull leaves undone, the next
    /// poll goes on with.
    fn default() -> Self {
        Self {
            per_report: Duration::from_secs(10 * 60),
            per_pull: Duration::from_secs(30 * 60),
        }
    }
}

pub struct Puller {
    client: reqwest::Client,
    intake: reqwest::Url,
    token: String,
    /// `STATE/pulled`: the data directory `open` reads.
    dir: PathBuf,
    limits: PullLimits,
}

#[derive(Deserialize)]
struct Listing {
    reports: Vec<Finished>,
    next: i64,
}

impl Puller {
    pub fn new(
        intake: &str,
        token: String,
        pinned_ca: Option<&[u8]>,
        dir: PathBuf,
    ) -> Result<Self> {
        let mut intake = sighting_core::sync::check_intake_url(intake)?;
        // Paths are joined below it, so it must end in a slash (`https://host/intake/`).
        if !intake.path().ends_with('/') {
            let path = format!("{}/", intake.path());
            intake.set_path(&path);
        }
        let client = Self::client(pinned_ca)?;
        crate::make_private_dir(&dir)?;
        crate::make_private_dir(&dir.join("reports"))?;
        Ok(Self {
            client,
            intake,
            token,
            dir,
            limits: PullLimits::default(),
        })
    }

    /// The same puller with other time limits.
    pub fn with_limits(self, limits: PullLimits) -> Self {
        Self { limits, ..self }
    }

    /// The desk's HTTP client for the intake: the phone's TLS setup (bundled roots, or only
    /// `pinned_ca`), bounded waits, no redirects.
    pub fn client(pinned_ca: Option<&[u8]>) -> Result<reqwest::Client> {
        Ok(reqwest::Client::builder()
            .tls_backend_preconfigured(sighting_core::sync::tls_config(pinned_ca)?)
            .connect_timeout(Duration::from_secs(15))
            .read_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()?)
    }

    /// The data directory the pulled reports are in.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Fetches every report finished since the last pull; returns how many.
    pub async fn pull(&self) -> Result<usize> {
        within(self.limits.per_pull, "the pull", self.pull_pages()).await
    }

    async fn pull_pages(&self) -> Result<usize> {
        let mut cursor = self.cursor()?;
        let mut fetched = 0;
        for _ in 0..MAX_PAGES {
            let url = self.url(&format!("v1/desk/reports?after={cursor}&limit={PAGE}"))?;
            let listing = within(
                self.limits.per_report,
                "the listing",
                self.get(url, MAX_RECORD * 64),
            )
            .await?;
            let listing: Listing =
                serde_json::from_slice(&listing).context("the intake's listing is not JSON")?;
            if listing.reports.is_empty() {
                return Ok(fetched);
            }
            // The cursor only moves forward, past every report on the page: a listing that
            // stands still (or goes back) would keep the desk pulling the same page forever.
            let on_page = |r: &Finished| cursor < r.seq && r.seq <= listing.next;
            if listing.next <= cursor || !listing.reports.iter().all(on_page) {
                bail!(
                    "the intake's listing does not move forward (after {cursor} it says next {})",
                    listing.next
                );
            }
            for report in &listing.reports {
                let what = format!("report {}", report.report_id);
                within(self.limits.per_report, &what, self.fetch(report)).await?;
                fetched += 1;
            }
            cursor = listing.next;
            write_private(&self.dir.join("cursor"), cursor.to_string().as_bytes())?;
        }
        Ok(fetched)
    }

    async fn fetch(&self, report: &Finished) -> Result<()> {
        let id = report.report_id;
        let reports = self.dir.join("reports");
        let target = reports.join(format!("{id}.age"));
        if target.exists() {
            return Ok(());
        }
        if report.length > MAX_REPORT_BYTES {
            bail!(
                "the intake lists report {id} at {} bytes, more than a report can be ({MAX_REPORT_BYTES})",
                report.length
            );
        }
        let listed_sha = hex::decode::<32>(&report.ciphertext_sha256)
            .with_context(|| format!("the intake lists report {id} with no SHA-256"))?;
        // Removed when dropped: a refused, failed or timed-out download leaves nothing behind.
        let mut part = tempfile::Builder::new()
            .prefix(".pulling-")
            .tempfile_in(&reports)?;
        let mut response = self
            .send(self.url(&format!("v1/desk/reports/{id}"))?)
            .await?;
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await? {
            written += chunk.len() as u64;
            if written > report.length {
                bail!(
                    "report {id} is longer than the intake listed ({} bytes); refused",
                    report.length
                );
            }
            hash.update(&chunk);
            // A chunk into the page cache: too short a wait to hand to another thread.
            part.write_all(&chunk)?;
        }
        if written != report.length || hash.finish().as_ref() != listed_sha {
            bail!("the ciphertext of {id} does not match the intake's listing (length or SHA-256)");
        }
        let record = self
            .get(
                self.url(&format!("v1/desk/reports/{id}/record"))?,
                MAX_RECORD,
            )
            .await?;
        // The record first: `open` looks for `.age` files, each with its record beside it. The
        // fsync waits on the disk: on a blocking thread, not the one serving reviewers.
        let keep = move || -> Result<()> {
            write_private(&reports.join(format!("{id}.intake.json")), &record)?;
            part.as_file().sync_all()?;
            part.persist(&target)?;
            Ok(())
        };
        tokio::task::spawn_blocking(keep).await?
    }

    /// A GET with the desk token, answered with success.
    async fn send(&self, url: reqwest::Url) -> Result<reqwest::Response> {
        let response = self
            .client
            .get(url.clone())
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.intake))?;
        if !response.status().is_success() {
            bail!("{url}: the intake answered {}", response.status());
        }
        Ok(response)
    }

    /// A GET with the desk token; the body, refused past `limit` bytes.
    async fn get(&self, url: reqwest::Url, limit: usize) -> Result<Vec<u8>> {
        let mut response = self.send(url.clone()).await?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > limit {
                bail!("{url}: the answer is larger than it can be");
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn url(&self, path: &str) -> Result<reqwest::Url> {
        Ok(self.intake.join(path)?)
    }

    fn cursor(&self) -> Result<i64> {
        match std::fs::read_to_string(self.dir.join("cursor")) {
            Ok(text) => text.trim().parse().context("the pull cursor is damaged"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// `work`, or an error once `limit` has passed.
async fn within<T>(
    limit: Duration,
    what: &str,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::time::timeout(limit, work)
        .await
        .map_err(|_| anyhow!("{what} took longer than {} s; stopped", limit.as_secs_f64()))?
}
