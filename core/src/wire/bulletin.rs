//! The bulletin feed: the missing-child cases an organisation publishes to phones, signed with
//! its bulletin key (Ed25519; the public half is in the app's configuration), served by the
//! intake server as static files.
//!
//! Format (bulletin feed v2; v1 carried each photo as base64 inside its tile, and signed under
//! `"sighting-bulletin/1\n"`, so a v1 reader refuses a v2 feed whole rather than misread it):
//!
//! > The feed is `index.json` and one `tiles/<tile>.json` per region tile holding cases (see
//! > [`super::region_tile`]). `index.json` is `{"body": B, "sig": S}`: `B` the base64 of the
//! > index body's JSON bytes, `S` the base64 Ed25519 signature by the bulletin key over
//! > `"sighting-bulletin/2\n" || bytes(B)`. The body is `{"version": n, "issued_at": t,
//! > "expires_at": t, "safety_line": {"en": …, "zh": …}, "tiles": [{"tile": name, "sha256":
//! > hex, "bytes": n, "cases": [number, …]}]}` with times in RFC 3339 UTC and `version`
//! > strictly increasing from feed to feed. A tile file is `{"tile": name, "cases": [case, …]}`
//! > and is valid only if its bytes hash to the `sha256` the index lists for it: the one
//! > signature covers every tile. A case is `{"number", "first_name", "sex": "boy" | "girl" |
//! > "unknown", "age_when_missing": years, "missing_since": "YYYY-MM-DD", "last_seen":
//! > {"district", "lat", "lon"}, "marks", "photos": [{"sha256", "bytes"}, …]}`, the photos'
//! > JPEG bytes served apart (see [`photo`]). Readers ignore fields they do not know.
//!
//! Pushing a feed (desk → intake, `PUT /v1/bulletins`):
//!
//! > The body is `index.json`, then each tile file in the order the index lists them, each
//! > preceded by its length as 4 bytes, big-endian. The request carries
//! > `Bulletin-Push: t=<unix seconds>, sha256=<hex of index.json>, sig=<base64>`, the signature
//! > by the bulletin key over `"sighting-bulletin-push/1\n" || t || "\n" || sha256`. The intake
//! > checks that header (signature, and `t` within 5 minutes of its clock) before it reads a
//! > byte of the body, then the index's digest against it, its signature and version before it
//! > reads a tile, each tile's length against the index before reading it, then each photo's
//! > length against its tile before reading it (see [`photo`]), and refuses trailing bytes.
//!
//! A reader refuses, whole: a bad signature, an older version than the one it has, an index past
//! its expiry, a tile that does not hash to the index's digest or that holds a case the index
//! does not list under it, a photo that is not the one its tile names, and anything over the
//! limits below.

use base64::{engine::general_purpose::STANDARD, Engine};
use ring::signature::{Ed25519KeyPair, UnparsedPublicKey, ED25519};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::region_tile::RegionTile;

pub mod photo;
pub use photo::PhotoRef;

const CONTEXT: &[u8] = b"sighting-bulletin/2\n";
const PUSH_CONTEXT: &[u8] = b"sighting-bulletin-push/1\n";
/// The header that authorises a push.
pub const PUSH_HEADER: &str = "bulletin-push";
/// How far a push's time may be from the intake's clock.
pub const PUSH_SKEW_SECONDS: i64 = 300;
/// Validity a feed must have left when it is signed, and when the intake takes it: phones drop
/// an expired feed (and keep their old list), so an expired one pushed by a desk whose clock is
/// wrong would leave new phones with no list at all.
pub const MIN_FEED_VALIDITY: time::Duration = time::Duration::hours(1);

/// Bytes of `index.json` at most.
pub const MAX_INDEX_BYTES: usize = 1 << 20;
/// Bytes of one tile file at most.
pub const MAX_TILE_BYTES: usize = 8 << 20;
/// Bytes of one case photo at most (JPEG).
pub const MAX_PHOTO_BYTES: usize = 64 << 10;
pub const MAX_PHOTOS: usize = 3;
pub const MAX_CASES: usize = 10_000;
/// Characters of a text field (name, district, marks) at most.
pub const MAX_TEXT_CHARS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafetyLine {
    pub en: String,
    pub zh: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TileEntry {
    pub tile: String,
    /// Hex SHA-256 of the tile file's bytes.
    pub sha256: String,
    pub bytes: u64,
    pub cases: Vec<String>,
}

/// What the signature covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexBody {
    pub version: u64,
    pub issued_at: String,
    pub expires_at: String,
    pub safety_line: SafetyLine,
    pub tiles: Vec<TileEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Boy,
    Girl,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastSeen {
    pub district: String,
    pub lat: f64,
    pub lon: f64,
}

/// A published case, as phones see it: first name only, nothing private.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub number: String,
    pub first_name: String,
    pub sex: Sex,
    pub age_when_missing: u8,
    /// `YYYY-MM-DD`.
    pub missing_since: String,
    pub last_seen: LastSeen,
    pub marks: String,
    /// The photos, fetched apart when the case is opened.
    pub photos: Vec<PhotoRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TileFile {
    pub tile: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SignedIndex {
    body: String,
    sig: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BulletinError {
    #[error("the bulletin index is {0} bytes; the limit is {MAX_INDEX_BYTES}")]
    IndexTooLarge(usize),
    #[error("the bulletin tile is {0} bytes; the limit is {MAX_TILE_BYTES}")]
    TileTooLarge(usize),
    #[error("the bulletin feed is malformed: {0}")]
    Malformed(String),
    #[error("the bulletin index's signature does not verify with the configured bulletin key")]
    BadSignature,
    #[error("the bulletin feed is version {got}, older than the version {have} already held")]
    Rollback { got: u64, have: u64 },
    #[error("the bulletin feed expired at {0}")]
    Expired(String),
    #[error("bulletin tile {0} does not match the index")]
    TileMismatch(String),
    #[error("case photo {0:.12}… does not match the digest its signed bulletin gives")]
    PhotoMismatch(String),
    #[error("a case photo of {got} bytes or more came where its signed bulletin gives {signed}")]
    PhotoTooLarge { signed: u64, got: u64 },
    #[error("the push is not authorised by the bulletin key: {0}")]
    PushNotAuthorised(&'static str),
}

fn malformed(what: impl Into<String>) -> BulletinError {
    BulletinError::Malformed(what.into())
}

fn parse_time(t: &str) -> Result<OffsetDateTime, BulletinError> {
    OffsetDateTime::parse(t, &Rfc3339).map_err(|_| malformed(format!("time {t:?}")))
}

impl IndexBody {
    /// Signs the body with the bulletin key: the bytes of `index.json`.
    pub fn sign(&self, key: &Ed25519KeyPair) -> Result<Vec<u8>, BulletinError> {
        self.check()?;
        let body = serde_json::to_vec(self).map_err(|e| malformed(e.to_string()))?;
        let sig = key.sign(&[CONTEXT, &body].concat());
        let signed = SignedIndex {
            body: STANDARD.encode(&body),
            sig: STANDARD.encode(sig.as_ref()),
        };
        serde_json::to_vec(&signed).map_err(|e| malformed(e.to_string()))
    }

    /// Reads `index.json`: checks its size, the signature by `bulletin_key`, that it is not
    /// older than `have_version` and not expired at `now`.
    pub fn open(
        index_json: &[u8],
        bulletin_key: &[u8; 32],
        have_version: Option<u64>,
        now: OffsetDateTime,
    ) -> Result<IndexBody, BulletinError> {
        let body = Self::verified_body(index_json, bulletin_key)?;
        if let Some(have) = have_version.filter(|have| body.version < *have) {
            return Err(BulletinError::Rollback {
                got: body.version,
                have,
            });
        }
        if body.expired(now)? {
            return Err(BulletinError::Expired(body.expires_at));
        }
        Ok(body)
    }

    /// The signature and shape only (the intake, which compares versions itself).
    pub fn verified_body(
        index_json: &[u8],
        bulletin_key: &[u8; 32],
    ) -> Result<IndexBody, BulletinError> {
        if index_json.len() > MAX_INDEX_BYTES {
            return Err(BulletinError::IndexTooLarge(index_json.len()));
        }
        let signed: SignedIndex =
            serde_json::from_slice(index_json).map_err(|e| malformed(e.to_string()))?;
        let body = STANDARD
            .decode(&signed.body)
            .map_err(|_| malformed("body is not base64"))?;
        let sig = STANDARD
            .decode(&signed.sig)
            .map_err(|_| malformed("sig is not base64"))?;
        UnparsedPublicKey::new(&ED25519, bulletin_key)
            .verify(&[CONTEXT, &body].concat(), &sig)
            .map_err(|_| BulletinError::BadSignature)?;
        let body: IndexBody =
            serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
        body.check()?;
        Ok(body)
    }

    /// When the feed was issued and when it expires.
    pub fn times(&self) -> Result<(OffsetDateTime, OffsetDateTime), BulletinError> {
        Ok((parse_time(&self.issued_at)?, parse_time(&self.expires_at)?))
    }

    pub fn expired(&self, now: OffsetDateTime) -> Result<bool, BulletinError> {
        Ok(parse_time(&self.expires_at)? <= now)
    }

    fn check(&self) -> Result<(), BulletinError> {
        let issued = parse_time(&self.issued_at)?;
        if parse_time(&self.expires_at)? <= issued {
            return Err(malformed("expires before it is issued"));
        }
        let cases: usize = self.tiles.iter().map(|t| t.cases.len()).sum();
        if cases > MAX_CASES {
            return Err(malformed(format!("{cases} cases")));
        }
        let mut names = std::collections::BTreeSet::new();
        for t in &self.tiles {
            t.tile
                .parse::<RegionTile>()
                .map_err(|e| malformed(e.to_string()))?;
            if !names.insert(&t.tile) || t.bytes > MAX_TILE_BYTES as u64 {
                return Err(malformed(format!("tile {}", t.tile)));
            }
            if super::hex::decode::<32>(&t.sha256).is_none() {
                return Err(malformed(format!("tile {} digest", t.tile)));
            }
        }
        Ok(())
    }

    pub fn tile(&self, name: &str) -> Option<&TileEntry> {
        self.tiles.iter().find(|t| t.tile == name)
    }
}

impl TileFile {
    /// The bytes of `tiles/<tile>.json`, and the index's entry for them.
    pub fn write(&self) -> Result<(Vec<u8>, TileEntry), BulletinError> {
        self.check()?;
        let bytes = serde_json::to_vec(self).map_err(|e| malformed(e.to_string()))?;
        if bytes.len() > MAX_TILE_BYTES {
            return Err(BulletinError::TileTooLarge(bytes.len()));
        }
        let entry = TileEntry {
            tile: self.tile.clone(),
            sha256: sha256_hex(&bytes),
            bytes: bytes.len() as u64,
            cases: self.cases.iter().map(|c| c.number.clone()).collect(),
        };
        Ok((bytes, entry))
    }

    /// Reads a tile file the (verified) index lists: its digest, then its content.
    pub fn open(bytes: &[u8], index: &IndexBody, name: &str) -> Result<TileFile, BulletinError> {
        let mismatch = || BulletinError::TileMismatch(name.chars().take(40).collect());
        let entry = index.tile(name).ok_or_else(mismatch)?;
        if bytes.len() > MAX_TILE_BYTES {
            return Err(BulletinError::TileTooLarge(bytes.len()));
        }
        if sha256_hex(bytes) != entry.sha256 {
            return Err(mismatch());
        }
        let tile: TileFile = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        let numbers: Vec<&String> = tile.cases.iter().map(|c| &c.number).collect();
        if tile.tile != name || numbers != entry.cases.iter().collect::<Vec<_>>() {
            return Err(mismatch());
        }
        tile.check()?;
        Ok(tile)
    }

    fn check(&self) -> Result<(), BulletinError> {
        let tile: RegionTile = self
            .tile
            .parse()
            .map_err(|e: super::region_tile::TileNameError| malformed(e.to_string()))?;
        for case in &self.cases {
            case.check()?;
            if RegionTile::at(case.last_seen.lat, case.last_seen.lon) != Some(tile) {
                return Err(malformed(format!(
                    "case {} is not in tile {tile}",
                    case.number
                )));
            }
        }
        Ok(())
    }
}

impl Case {
    fn check(&self) -> Result<(), BulletinError> {
        let texts = [
            &self.number,
            &self.first_name,
            &self.last_seen.district,
            &self.marks,
        ];
        if self.number.is_empty() || texts.iter().any(|t| t.chars().count() > MAX_TEXT_CHARS) {
            return Err(malformed(format!("case {:.40}: a text field", self.number)));
        }
        let date = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(&self.missing_since, &date)
            .map_err(|_| malformed(format!("case {}: missing_since", self.number)))?;
        if self.photos.len() > MAX_PHOTOS {
            return Err(malformed(format!(
                "case {}: {} photos",
                self.number,
                self.photos.len()
            )));
        }
        self.photos.iter().try_for_each(PhotoRef::check)
    }
}

/// The `Bulletin-Push` header for pushing `index_json` at `now_unix`.
pub fn push_authorization(key: &Ed25519KeyPair, index_json: &[u8], now_unix: i64) -> String {
    let digest = sha256_hex(index_json);
    let sig = key.sign(&push_message(now_unix, &digest));
    format!(
        "t={now_unix}, sha256={digest}, sig={}",
        STANDARD.encode(sig.as_ref())
    )
}

/// Checks a `Bulletin-Push` header: signed by the bulletin key, made within
/// [`PUSH_SKEW_SECONDS`] of `now_unix`. Returns the SHA-256 the index must have.
pub fn check_push_authorization(
    header: &str,
    bulletin_key: &[u8; 32],
    now_unix: i64,
) -> Result<[u8; 32], BulletinError> {
    let refused = BulletinError::PushNotAuthorised;
    let mut fields = std::collections::BTreeMap::new();
    for part in header.split(',') {
        let (name, value) = part.trim().split_once('=').ok_or(refused("malformed"))?;
        fields.insert(name, value);
    }
    let field = |name| fields.get(name).copied().ok_or(refused("malformed"));
    let t: i64 = field("t")?.parse().map_err(|_| refused("malformed"))?;
    let digest = field("sha256")?;
    let sig = STANDARD
        .decode(field("sig")?)
        .map_err(|_| refused("malformed"))?;
    if (now_unix - t).abs() > PUSH_SKEW_SECONDS {
        return Err(refused("made too long ago, or in the future"));
    }
    let expected = super::hex::decode::<32>(digest).ok_or(refused("malformed"))?;
    UnparsedPublicKey::new(&ED25519, bulletin_key)
        .verify(&push_message(t, digest), &sig)
        .map_err(|_| refused("bad signature"))?;
    Ok(expected)
}

/// How the feed names a file's bytes: hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    super::hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn push_message(t: i64, digest: &str) -> Vec<u8> {
    [PUSH_CONTEXT, format!("{t}\n{digest}").as_bytes()].concat()
}

/// The body of `PUT /v1/bulletins`: the index, then its tiles in its order, each length-prefixed.
pub fn push_body<'a>(
    index_json: &'a [u8],
    tiles_in_index_order: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<u8> {
    let mut body = Vec::new();
    for part in std::iter::once(index_json).chain(tiles_in_index_order) {
        body.extend_from_slice(&(part.len() as u32).to_be_bytes());
        body.extend_from_slice(part);
    }
    body
}

#[cfg(test)]
mod tests;
