//! The desk pulling new ciphertexts from the intake server over HTTPS with the desk token,
//! into `STATE/pulled/reports/` (the layout of the intake's own data directory, so `open`
//! reads it unchanged). Each ciphertext is checked against the length and SHA-256 the intake
//! lists before it is kept; the cursor (the last finished report fetched) is kept beside them.
//!
//! The TLS rules are the phone's: `https://` with the bundled roots or a pinned CA, plain
//! `http://` to loopback only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use sighting_core::wire::hex;

use crate::write_private;
use sighting_core::wire::desk_feed::Finished;

/// An intake record is a receipt and two clocks: a few hundred bytes.
const MAX_RECORD: usize = 64 << 10;
const PAGE: u32 = 200;

pub struct Puller {
    client: reqwest::Client,
    intake: reqwest::Url,
    token: String,
    /// `STATE/pulled`: the data directory `open` reads.
    dir: PathBuf,
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
        std::fs::create_dir_all(dir.join("reports"))?;
        Ok(Self {
            client,
            intake,
            token,
            dir,
        })
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
        let mut cursor = self.cursor()?;
        let mut fetched = 0;
        loop {
            let url = self.url(&format!("v1/desk/reports?after={cursor}&limit={PAGE}"))?;
            let listing: Listing = serde_json::from_slice(&self.get(url, MAX_RECORD * 64).await?)
                .context("the intake's listing is not JSON")?;
            if listing.reports.is_empty() {
                return Ok(fetched);
            }
            for report in &listing.reports {
                self.fetch(report).await?;
                fetched += 1;
            }
            cursor = listing.next;
            write_private(&self.dir.join("cursor"), cursor.to_string().as_bytes())?;
        }
    }

    async fn fetch(&self, report: &Finished) -> Result<()> {
        let id = report.report_id;
        let target = self.dir.join("reports").join(format!("{id}.age"));
        if target.exists() {
            return Ok(());
        }
        let limit = usize::try_from(report.length).unwrap_or(usize::MAX);
        let ciphertext = self
            .get(self.url(&format!("v1/desk/reports/{id}"))?, limit)
            .await?;
        let sha = ring::digest::digest(&ring::digest::SHA256, &ciphertext);
        if ciphertext.len() as u64 != report.length
            || hex::encode(sha.as_ref()) != report.ciphertext_sha256
        {
            bail!("the ciphertext of {id} does not match the intake's listing");
        }
        let record = self
            .get(
                self.url(&format!("v1/desk/reports/{id}/record"))?,
                MAX_RECORD,
            )
            .await?;
        // The record first: `open` looks for `.age` files, each with its record beside it.
        write_private(
            &self.dir.join("reports").join(format!("{id}.intake.json")),
            &record,
        )?;
        let temp = target.with_extension("age.tmp");
        write_private(&temp, &ciphertext)?;
        std::fs::rename(&temp, &target)?;
        Ok(())
    }

    /// A GET with the desk token; the body, refused past `limit` bytes.
    async fn get(&self, url: reqwest::Url, limit: usize) -> Result<Vec<u8>> {
        let mut response = self
            .client
            .get(url.clone())
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.intake))?;
        if !response.status().is_success() {
            bail!("{url}: the intake answered {}", response.status());
        }
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
