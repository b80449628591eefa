//! Refreshing the bulletin feed (`GET /v1/bulletins/…`, format in [`crate::wire::bulletin`]).
//!
//! The phone asks for the index (with the ETag it holds), then only the tile files of the
//! regions it cares about that it does not already hold: its 5° cell and the eight around it,
//! chosen here, so the requests say nothing finer than a 15° block. Everything is verified
//! before anything is kept: a bad signature, an older version, an expired index, a tile that does
//! not match, or an answer over the feed's limits refuses the whole refresh, and the phone
//! keeps the feed it had.
//!
//! The feed server is not trusted for anything but bytes: no redirect is followed (the client's
//! policy), no body is read past the feed's limit for it, a read that moves nothing is cut by
//! the stall timeout, and the whole refresh by `bulletin_timeout`, however slowly the server
//! drips its head or body.

use reqwest::{header, StatusCode};
use time::OffsetDateTime;

use super::outcome::{bounded_body, network_failure};
use super::Syncer;
use crate::bulletins::{regions_near, HeldFeed};
use crate::handle::{DeviceHandle, HandleError};
use crate::queue::{AttemptError, AttemptFailure};
use crate::wire::bulletin::{BulletinError, IndexBody, TileFile, MAX_INDEX_BYTES};

/// What one refresh did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulletinRefresh {
    /// The version the phone holds now (`None`: none published yet, none held).
    pub version: Option<u64>,
    /// What the list shows changed: a new feed, or other regions.
    pub changed: bool,
    /// Cases in the regions held.
    pub cases: usize,
    pub tiles_downloaded: u32,
    pub bytes_downloaded: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("no bulletin key is configured in the app")]
    NotConfigured,
    #[error("no bulletin address can be made from the intake URL {0:?}")]
    Url(String),
    #[error("{}", .0.detail)]
    Network(AttemptFailure),
    #[error("the intake server answered HTTP {0} for the bulletins")]
    Status(u16),
    #[error("a bulletin file from the intake server is over the feed's size limit")]
    TooLarge,
    #[error(transparent)]
    Feed(#[from] BulletinError),
    #[error(transparent)]
    Device(#[from] HandleError),
}

enum IndexAnswer {
    NotModified,
    NonePublished,
    New {
        bytes: Vec<u8>,
        etag: Option<String>,
    },
}

impl Syncer {
    /// Fetches what changed in the feed for the regions around `near` (or the regions asked for
    /// last time), verifies it whole, and keeps it encrypted on the phone.
    pub async fn refresh_bulletins(
        &self,
        device: &DeviceHandle,
        near: Option<(f64, f64)>,
    ) -> Result<BulletinRefresh, RefreshError> {
        let key = self
            .config
            .bulletin_key
            .ok_or(RefreshError::NotConfigured)?;
        let _one = self.refreshing.lock().await;
        // One deadline over every request of the refresh; keeping what was verified is not cut.
        let deadline = tokio::time::Instant::now() + self.config.bulletin_timeout;
        let held = device.call(|d| d.held_bulletins()).await?;
        let regions = match near {
            Some((lat, lon)) => regions_near(lat, lon)
                .iter()
                .map(|t| t.to_string())
                .collect(),
            None => held.as_ref().map(|h| h.regions.clone()).unwrap_or_default(),
        };
        let mut refresh = BulletinRefresh::default();
        let answer = self.by(deadline, self.fetch_index(held.as_ref())).await?;
        let (index, etag) = match (answer, &held) {
            (IndexAnswer::New { bytes, etag }, _) => {
                refresh.bytes_downloaded += bytes.len() as u64;
                let have = held.as_ref().map(|h| h.index.version);
                let index = IndexBody::open(&bytes, &key, have, OffsetDateTime::now_utc())?;
                (index, etag)
            }
            (IndexAnswer::NotModified, Some(held)) => (held.index.clone(), held.etag.clone()),
            // Nothing published (or a 304 for a feed the phone does not hold): keep what is held.
            (_, held) => {
                refresh.version = held.as_ref().map(|h| h.index.version);
                return Ok(refresh);
            }
        };
        let feed = HeldFeed {
            index,
            etag,
            regions,
        };
        let new_tiles = self
            .by(
                deadline,
                self.fetch_missing_tiles(device, &feed, &mut refresh),
            )
            .await?;
        let version = feed.index.version;
        refresh.version = Some(version);
        refresh.cases = feed.held_tiles().map(|t| t.cases.len()).sum();
        refresh.changed = held
            .as_ref()
            .is_none_or(|h| h.index != feed.index || h.regions != feed.regions);
        if refresh.changed || !new_tiles.is_empty() {
            device
                .call(move |d| d.keep_bulletins(&feed, &new_tiles))
                .await?;
        }
        if refresh.changed {
            if let Some(l) = self.listener() {
                l.bulletins_changed(version, refresh.cases);
            }
        }
        Ok(refresh)
    }

    async fn fetch_index(&self, held: Option<&HeldFeed>) -> Result<IndexAnswer, RefreshError> {
        let mut request = self.client.get(self.bulletin_url("index.json")?);
        if let Some(etag) = held.and_then(|h| h.etag.as_deref()) {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        let response = send(request).await?;
        match response.status() {
            StatusCode::NOT_MODIFIED => return Ok(IndexAnswer::NotModified),
            StatusCode::NOT_FOUND => return Ok(IndexAnswer::NonePublished),
            s if !s.is_success() => return Err(RefreshError::Status(s.as_u16())),
            _ => {}
        }
        let etag = response
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= 100)
            .map(str::to_string);
        let bytes = read(response, MAX_INDEX_BYTES).await?;
        Ok(IndexAnswer::New { bytes, etag })
    }

    /// The tile files of the feed's regions not already on the phone, each verified.
    async fn fetch_missing_tiles(
        &self,
        device: &DeviceHandle,
        feed: &HeldFeed,
        refresh: &mut BulletinRefresh,
    ) -> Result<Vec<(String, Vec<u8>)>, RefreshError> {
        let digests: Vec<String> = feed.held_tiles().map(|t| t.sha256.clone()).collect();
        let missing: Vec<String> = device
            .call(move |d| {
                Ok(digests
                    .into_iter()
                    .filter(|s| !d.has_bulletin_tile(s))
                    .collect())
            })
            .await?;
        let mut fetched = Vec::new();
        for entry in feed.held_tiles().filter(|t| missing.contains(&t.sha256)) {
            let url = self.bulletin_url(&format!("tiles/{}.json", entry.tile))?;
            let response = send(self.client.get(url)).await?;
            if !response.status().is_success() {
                return Err(RefreshError::Status(response.status().as_u16()));
            }
            let bytes = read(response, entry.bytes as usize).await?;
            TileFile::open(&bytes, &feed.index, &entry.tile)?;
            refresh.tiles_downloaded += 1;
            refresh.bytes_downloaded += bytes.len() as u64;
            fetched.push((entry.sha256.clone(), bytes));
        }
        Ok(fetched)
    }

    /// `fetch`, cut at `deadline`.
    async fn by<T>(
        &self,
        deadline: tokio::time::Instant,
        fetch: impl std::future::Future<Output = Result<T, RefreshError>>,
    ) -> Result<T, RefreshError> {
        tokio::time::timeout_at(deadline, fetch)
            .await
            .unwrap_or_else(|_| {
                Err(RefreshError::Network(AttemptFailure::new(
                    AttemptError::Network,
                    format!(
                        "the bulletin refresh took over {} s",
                        self.config.bulletin_timeout.as_secs()
                    ),
                )))
            })
    }

    fn bulletin_url(&self, file: &str) -> Result<reqwest::Url, RefreshError> {
        self.intake
            .join(&format!("v1/bulletins/{file}"))
            .map_err(|_| RefreshError::Url(self.intake.to_string()))
    }
}

async fn send(request: reqwest::RequestBuilder) -> Result<reqwest::Response, RefreshError> {
    request.send().await.map_err(network)
}

async fn read(response: reqwest::Response, limit: usize) -> Result<Vec<u8>, RefreshError> {
    bounded_body(response, limit)
        .await
        .map_err(network)?
        .ok_or(RefreshError::TooLarge)
}

fn network(e: reqwest::Error) -> RefreshError {
    RefreshError::Network(network_failure(&e))
}
