//! The bulletin feed the desk builds from its published cases (format: `core::wire::bulletin`),
//! signed with the organisation's bulletin key. Drafts and closed cases are never in it, nor
//! anything private (full name, police reference, family consent, private notes); the last-seen
//! place goes out rounded to 0.01° (about a kilometre), enough for a phone to sort by distance.
//! Case photos go beside the tiles (feed v2): a tile names each by digest and size, and a phone
//! fetches one only when the reporter opens that case.

use std::collections::BTreeMap;
use std::path::Path;

use ring::signature::Ed25519KeyPair;
use sighting_core::wire::bulletin::{self, IndexBody, LastSeen, PhotoRef, SafetyLine, TileFile};
use sighting_core::wire::region_tile::RegionTile;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::state::{CaseRow, DeskState, Publication};

/// On every bulletin: what a passer-by should and should not do.
pub fn safety_line() -> SafetyLine {
    SafetyLine {
        en: "If you think you see this child: do not approach, confront or follow. Take a photo \
             only if it is safe, and report it in the app."
            .into(),
        zh: "如果您认为看到了这个孩子：请勿接近、对峙或跟随。仅在安全时拍照，并在应用中报告。"
            .into(),
    }
}

pub use sighting_core::wire::bulletin::MIN_FEED_VALIDITY;

/// Long edge of a published case photo, in pixels.
pub const CASE_PHOTO_EDGE: u32 = 480;

/// A case photo as phones get it: re-encoded small (a few tens of KB), turned upright by its
/// Exif Orientation (no viewer is trusted to honour the tag), its metadata gone.
pub fn case_photo(jpeg: &[u8]) -> Result<Vec<u8>, FeedError> {
    let options = sighting_core::capture::CaptureOptions::default();
    let small = sighting_core::capture::small_copy(jpeg, CASE_PHOTO_EDGE, &options)
        .map_err(|e| FeedError::Photo(e.to_string()))?;
    if small.len() > bulletin::MAX_PHOTO_BYTES {
        return Err(FeedError::Photo(format!(
            "{} bytes after re-encoding",
            small.len()
        )));
    }
    Ok(small)
}

/// A built feed: `index.json`, the tiles by name, and the case photos the tiles name.
pub struct Feed {
    pub index: IndexBody,
    pub index_json: Vec<u8>,
    pub tiles: BTreeMap<String, Vec<u8>>,
    pub photos: BTreeMap<PhotoRef, Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Cases(#[from] super::state::CaseError),
    #[error(transparent)]
    Format(#[from] bulletin::BulletinError),
    #[error("the case photo cannot be used: {0}")]
    Photo(String),
    #[error("case {0}: its last-seen place is off the globe")]
    Place(String),
    #[error(
        "the feed would expire at {expires}, less than an hour after it is signed ({now} by this \
         machine's clock): phones would drop it. Check this machine's clock (and --days); \
         nothing was signed"
    )]
    TooShort { now: String, expires: String },
    #[error("writing the feed: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds the feed of every published case, valid from `now` for `valid_for`.
pub fn build(
    state: &DeskState,
    key: &Ed25519KeyPair,
    version: u64,
    now: OffsetDateTime,
    valid_for: time::Duration,
) -> Result<Feed, FeedError> {
    let time = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    if valid_for < MIN_FEED_VALIDITY {
        return Err(FeedError::TooShort {
            now: time(now),
            expires: now.checked_add(valid_for).map(time).unwrap_or_default(),
        });
    }
    let mut by_tile: BTreeMap<RegionTile, Vec<bulletin::Case>> = BTreeMap::new();
    let mut photos = BTreeMap::new();
    for case in state.cases()? {
        if case.publication != Publication::Published {
            continue;
        }
        let d = &case.details;
        let tile = RegionTile::at(d.last_seen_lat, d.last_seen_lon)
            .ok_or_else(|| FeedError::Place(case.number.clone()))?;
        let mut refs = Vec::new();
        for jpeg in state.case_photos(&case.number)? {
            let photo = PhotoRef::of(&jpeg);
            refs.push(photo.clone());
            photos.insert(photo, jpeg);
        }
        by_tile
            .entry(tile)
            .or_default()
            .push(published(&case, refs, tile));
    }
    let mut tiles = BTreeMap::new();
    let mut entries = Vec::new();
    for (tile, cases) in by_tile {
        let file = TileFile {
            tile: tile.to_string(),
            cases,
        };
        let (bytes, entry) = file.write()?;
        tiles.insert(entry.tile.clone(), bytes);
        entries.push(entry);
    }
    let index = IndexBody {
        version,
        issued_at: time(now),
        expires_at: time(now + valid_for),
        safety_line: safety_line(),
        tiles: entries,
    };
    let index_json = index.sign(key)?;
    Ok(Feed {
        index,
        index_json,
        tiles,
        photos,
    })
}

/// What a phone may know of a case. Rounding can carry a place just over a tile's edge; it is
/// kept in the tile its exact place is in.
fn published(case: &CaseRow, photos: Vec<PhotoRef>, tile: RegionTile) -> bulletin::Case {
    let d = &case.details;
    let round = |v: f64| (v * 100.0).round() / 100.0;
    let (lat, lon) = (round(d.last_seen_lat), round(d.last_seen_lon));
    let (lat, lon) = if RegionTile::at(lat, lon) == Some(tile) {
        (lat, lon)
    } else {
        (d.last_seen_lat, d.last_seen_lon)
    };
    bulletin::Case {
        number: case.number.clone(),
        first_name: d.first_name.clone(),
        sex: d.sex,
        age_when_missing: d.age_when_missing,
        missing_since: d.missing_since.clone(),
        last_seen: LastSeen {
            district: d.last_seen_district.clone(),
            lat,
            lon,
        },
        marks: d.marks.clone(),
        photos,
    }
}

impl Feed {
    /// The body that pushes this feed to the intake (`PUT /v1/bulletins`): the index, its tiles,
    /// then the photos in the order the tiles name them.
    pub fn push_body(&self) -> Vec<u8> {
        let tiles: Vec<&Vec<u8>> = self
            .index
            .tiles
            .iter()
            .filter_map(|t| self.tiles.get(&t.tile))
            .collect();
        let opened: Vec<TileFile> = tiles
            .iter()
            .filter_map(|bytes| serde_json::from_slice(bytes).ok())
            .collect();
        let photos = bulletin::photo::photos_in_push_order(&self.index, &opened);
        let photos = photos.iter().filter_map(|p| self.photos.get(p));
        bulletin::push_body(
            &self.index_json,
            tiles.into_iter().chain(photos).map(Vec::as_slice),
        )
    }

    /// Pushes the feed to the intake at `intake` (its base URL), authorised by the bulletin key.
    pub async fn push(
        &self,
        client: &reqwest::Client,
        intake: &str,
        key: &Ed25519KeyPair,
    ) -> Result<reqwest::StatusCode, reqwest::Error> {
        Ok(self.send(client, intake, key).await?.status())
    }

    /// Pushes the feed; an error if the intake refused it, with the reason it gave.
    pub async fn push_or_reason(
        &self,
        client: &reqwest::Client,
        intake: &str,
        key: &Ed25519KeyPair,
    ) -> anyhow::Result<()> {
        let mut response = self.send(client, intake, key).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        // The intake's refusal is a small `{"error": …, "detail": …}`: read 64 KiB at most, and
        // show its detail only (never whatever else a server sends).
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() > 64 << 10 {
                break;
            }
        }
        let detail: String = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["detail"].as_str().map(|d| d.chars().take(500).collect()))
            .unwrap_or_default();
        anyhow::bail!("the intake refused the feed: {status} {detail}")
    }

    async fn send(
        &self,
        client: &reqwest::Client,
        intake: &str,
        key: &Ed25519KeyPair,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let url = format!("{}/v1/bulletins", intake.trim_end_matches('/'));
        client
            .put(url)
            .header(
                bulletin::PUSH_HEADER,
                bulletin::push_authorization(key, &self.index_json, now),
            )
            .body(self.push_body())
            .send()
            .await
    }

    /// Writes `index.json`, `tiles/<tile>.json` and `photos/<sha256>.jpg` under `dir` (what
    /// the intake serves).
    pub fn write(&self, dir: &Path) -> Result<(), FeedError> {
        std::fs::create_dir_all(dir.join("tiles"))?;
        std::fs::create_dir_all(dir.join("photos"))?;
        for (name, bytes) in &self.tiles {
            std::fs::write(dir.join("tiles").join(format!("{name}.json")), bytes)?;
        }
        for (photo, jpeg) in &self.photos {
            std::fs::write(dir.join(photo.file_name()), jpeg)?;
        }
        std::fs::write(dir.join("index.json"), &self.index_json)?;
        Ok(())
    }
}
