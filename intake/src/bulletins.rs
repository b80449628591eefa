//! The bulletin feed on the intake server: the desk pushes a new feed (`PUT /v1/bulletins`,
//! format in `core::wire::bulletin`), which is taken only if the bulletin key signed it and it
//! is newer than the one held, so no password guards it; phones fetch `index.json` and the tiles
//! of their regions as static files with ETags, without cookies, and a case photo
//! (`photos/<sha256>.jpg`) when the reporter opens that case.
//!
//! A push must carry a `Bulletin-Push` header signed by the bulletin key and made in the last
//! minutes, checked before a byte of the body is read: a stranger is refused at once and makes
//! the server hold nothing. Then the body is read frame by frame: the index (at most 1 MiB,
//! its digest the one the header signed) is checked before any tile is read, each tile's
//! length against the signed index before its bytes are, and each photo's against the size its
//! verified tile gives before its bytes are. Photos are kept as files of the feed, so the store
//! holds and replaces them with the tiles.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sighting_core::wire::bulletin::{self, BulletinError, IndexBody, TileFile};
use sighting_core::wire::region_tile::RegionTile;

use super::{Intake, Refusal};

/// Bytes of all tiles and photos of one feed at most.
const MAX_FEED_BYTES: u64 = 256 << 20;

fn refused(e: BulletinError) -> Refusal {
    let status = match e {
        BulletinError::BadSignature => StatusCode::FORBIDDEN,
        BulletinError::IndexTooLarge(_) | BulletinError::TileTooLarge(_) => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        _ => StatusCode::BAD_REQUEST,
    };
    Refusal::new(status, "bulletins", e.to_string())
}

fn no_feed() -> Refusal {
    Refusal::new(StatusCode::NOT_FOUND, "not_found", "no bulletin feed here")
}

/// A body read in length-prefixed frames, within the request's time limit.
struct Frames {
    stream: axum::body::BodyDataStream,
    buffer: Vec<u8>,
    deadline: tokio::time::Instant,
}

impl Frames {
    /// The next frame, refused unread if it is longer than `max`.
    async fn next(&mut self, max: usize) -> Result<Vec<u8>, Refusal> {
        let head = self.exact(4).await?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len > max {
            return Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "bulletins",
                format!("a part of {len} bytes where at most {max} may come"),
            ));
        }
        self.exact(len).await
    }

    async fn exact(&mut self, n: usize) -> Result<Vec<u8>, Refusal> {
        while self.buffer.len() < n {
            match tokio::time::timeout_at(self.deadline, self.stream.next()).await {
                Ok(Some(Ok(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Some(Err(_)) | None) => {
                    return Err(Refusal::new(
                        StatusCode::BAD_REQUEST,
                        "bulletins",
                        "the feed ended early",
                    ))
                }
                Err(_) => {
                    return Err(Refusal::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "timeout",
                        "the feed took too long",
                    ))
                }
            }
        }
        let rest = self.buffer.split_off(n);
        Ok(std::mem::replace(&mut self.buffer, rest))
    }

    async fn is_done(&mut self) -> bool {
        self.buffer.is_empty()
            && matches!(
                tokio::time::timeout_at(self.deadline, self.stream.next()).await,
                Ok(None)
            )
    }
}

pub(super) async fn put(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match take_feed(&intake, &headers, body).await {
        Ok(version) => {
            tracing::info!(version, "new bulletin feed");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(refusal) => refusal.into_response(),
    }
}

async fn take_feed(intake: &Arc<Intake>, headers: &HeaderMap, body: Body) -> Result<u64, Refusal> {
    let key = intake.config.bulletin_key.ok_or_else(no_feed)?;
    let authorization = headers
        .get(bulletin::PUSH_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let index_sha256 = bulletin::check_push_authorization(authorization, &key, now)
        .map_err(|e| Refusal::new(StatusCode::FORBIDDEN, "bulletins", e.to_string()))?;
    let deadline = Instant::now() + intake.config.request_timeout;
    let mut frames = Frames {
        stream: body.into_data_stream(),
        buffer: Vec::new(),
        deadline: deadline.into(),
    };
    let index_json = frames.next(bulletin::MAX_INDEX_BYTES).await?;
    if ring::digest::digest(&ring::digest::SHA256, &index_json).as_ref() != index_sha256 {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bulletins",
            "the index is not the one the push header names",
        ));
    }
    let index = IndexBody::verified_body(&index_json, &key).map_err(refused)?;
    check_validity_left(&index)?;
    if let Some(held) = intake
        .store
        .bulletin_version()
        .await?
        .filter(|held| *held >= index.version)
    {
        return Err(Refusal::from(super::store::StoreError::StaleBulletins {
            held,
        }));
    }
    let total: u64 = index.tiles.iter().map(|t| t.bytes).sum();
    if total > MAX_FEED_BYTES {
        return Err(refused(BulletinError::TileTooLarge(total as usize)));
    }
    let mut files = vec![("index.json".to_string(), index_json)];
    let mut tiles = Vec::new();
    for entry in &index.tiles {
        let bytes = frames.next(entry.bytes as usize).await?;
        tiles.push(TileFile::open(&bytes, &index, &entry.tile).map_err(refused)?);
        files.push((format!("tiles/{}.json", entry.tile), bytes));
    }
    let photos = bulletin::photo::photos_in_push_order(&index, &tiles);
    let photo_bytes: u64 = photos.iter().map(|p| p.bytes).sum();
    if total + photo_bytes > MAX_FEED_BYTES {
        return Err(Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "bulletins",
            format!(
                "the feed's tiles and photos are {} bytes; the limit is {MAX_FEED_BYTES}",
                total + photo_bytes
            ),
        ));
    }
    for photo in photos {
        let jpeg = frames.next(photo.bytes as usize).await?;
        photo.open(&jpeg).map_err(refused)?;
        files.push((photo.file_name(), jpeg));
    }
    if !frames.is_done().await {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "bulletins",
            "bytes after the last tile",
        ));
    }
    intake.store.put_bulletins(index.version, files).await?;
    Ok(index.version)
}

/// A feed that is expired, or nearly, is refused: phones would drop it and keep their old list,
/// and a new phone would have none. (The desk's clock is the likely cause: the feed's times
/// are the desk's.)
fn check_validity_left(index: &IndexBody) -> Result<(), Refusal> {
    let (_, expires) = index.times().map_err(refused)?;
    let now = time::OffsetDateTime::now_utc();
    if expires - now >= sighting_core::wire::bulletin::MIN_FEED_VALIDITY {
        return Ok(());
    }
    let now = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Err(Refusal::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "bulletins",
        format!(
            "the feed expires at {}, less than an hour from now ({now} by the intake's clock): \
             phones would drop it. The desk's clock may be wrong",
            index.expires_at
        ),
    ))
}

pub(super) async fn index(State(intake): State<Arc<Intake>>, headers: HeaderMap) -> Response {
    file(&intake, "index.json".into(), &headers).await
}

pub(super) async fn tile(
    State(intake): State<Arc<Intake>>,
    Path(file_name): Path<String>,
    headers: HeaderMap,
) -> Response {
    // Only names of real tiles reach the store.
    let tile = file_name
        .strip_suffix(".json")
        .and_then(|name| name.parse::<RegionTile>().ok());
    match tile {
        Some(tile) => file(&intake, format!("tiles/{tile}.json"), &headers).await,
        None => no_feed().into_response(),
    }
}

pub(super) async fn photo(
    State(intake): State<Arc<Intake>>,
    Path(file_name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match bulletin::photo::photo_file_name(&file_name) {
        Some(name) => file(&intake, name, &headers).await,
        None => no_feed().into_response(),
    }
}

/// A file of the held feed, with its digest as the ETag (304 when the phone has it).
async fn file(intake: &Arc<Intake>, name: String, headers: &HeaderMap) -> Response {
    if intake.config.bulletin_key.is_none() {
        return no_feed().into_response();
    }
    let bytes = match intake
        .store
        .bulletin_file(&name)
        .await
        .map_err(Refusal::from)
    {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return no_feed().into_response(),
        Err(refusal) => return refusal.into_response(),
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    let etag = format!("\"{}\"", sighting_core::wire::hex::encode(digest.as_ref()));
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let kind = if name.ends_with(".jpg") {
        "image/jpeg"
    } else {
        "application/json"
    };
    let kind = (header::CONTENT_TYPE, HeaderValue::from_static(kind));
    (common, [kind], bytes).into_response()
}
