//! Case photos outside the tiles (bulletin feed v2): a tile names each photo by its digest and
//! size, and the phone fetches a photo's JPEG bytes only when the reporter opens that case.
//!
//! Format (bulletin feed v2):
//!
//! > A case's `"photos"` is `[{"sha256": hex, "bytes": n}, …]`: the lowercase hex SHA-256 of
//! > the photo's JPEG bytes and their length (1 to [`MAX_PHOTO_BYTES`]). The intake serves the
//! > bytes as `GET /v1/bulletins/photos/<sha256>.jpg`. A photo is valid only if it is exactly
//! > `bytes` long, hashes to `sha256` and starts with a JPEG's SOI: the tile's digest in the
//! > signed index covers it. A reader stops reading at `bytes`.
//! >
//! > Pushing: after the tiles, the body carries each distinct photo the tiles list, in the
//! > order they are first listed (tiles in the index's order, cases in the tile's, photos in
//! > the case's), each preceded by its length as 4 bytes, big-endian.

use serde::{Deserialize, Serialize};

use super::{malformed, sha256_hex, BulletinError, IndexBody, TileFile, MAX_PHOTO_BYTES};

/// A case photo as a tile names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PhotoRef {
    /// Lowercase hex SHA-256 of the JPEG bytes.
    pub sha256: String,
    pub bytes: u64,
}

impl PhotoRef {
    /// The reference a tile carries for these JPEG bytes.
    pub fn of(jpeg: &[u8]) -> PhotoRef {
        PhotoRef {
            sha256: sha256_hex(jpeg),
            bytes: jpeg.len() as u64,
        }
    }

    /// Where the intake keeps and serves it, under `/v1/bulletins/`.
    pub fn file_name(&self) -> String {
        format!("photos/{}.jpg", self.sha256)
    }

    /// Checks bytes fetched for this photo: the signed length, then the digest, then SOI.
    pub fn open(&self, jpeg: &[u8]) -> Result<(), BulletinError> {
        if jpeg.len() as u64 > self.bytes {
            return Err(BulletinError::PhotoTooLarge {
                signed: self.bytes,
                got: jpeg.len() as u64,
            });
        }
        if jpeg.len() as u64 != self.bytes || sha256_hex(jpeg) != self.sha256 {
            return Err(BulletinError::PhotoMismatch(self.sha256.clone()));
        }
        if !jpeg.starts_with(&[0xFF, 0xD8]) {
            return Err(malformed(format!("photo {}: not a JPEG", self.sha256)));
        }
        Ok(())
    }

    pub(super) fn check(&self) -> Result<(), BulletinError> {
        let canonical = super::super::hex::decode::<32>(&self.sha256)
            .is_some_and(|d| super::super::hex::encode(&d) == self.sha256);
        if !canonical || self.bytes == 0 || self.bytes > MAX_PHOTO_BYTES as u64 {
            return Err(malformed(format!(
                "a photo reference {:.64} of {} bytes",
                self.sha256, self.bytes
            )));
        }
        Ok(())
    }
}

/// The name `photos/<sha256>.jpg` of a photo file, checked; `None` for anything else.
pub fn photo_file_name(file: &str) -> Option<String> {
    let digest = file.strip_suffix(".jpg")?;
    let canonical = super::super::hex::decode::<32>(digest)
        .is_some_and(|d| super::super::hex::encode(&d) == digest);
    canonical.then(|| format!("photos/{digest}.jpg"))
}

/// The distinct photos of `tiles`, in the order a push carries them.
pub fn photos_in_push_order<'a>(
    index: &IndexBody,
    tiles: impl IntoIterator<Item = &'a TileFile>,
) -> Vec<PhotoRef> {
    let mut tiles: Vec<&TileFile> = tiles.into_iter().collect();
    let position = |t: &TileFile| index.tiles.iter().position(|e| e.tile == t.tile);
    tiles.sort_by_key(|t| position(t));
    let mut seen = std::collections::BTreeSet::new();
    let mut photos = Vec::new();
    for photo in tiles.iter().flat_map(|t| &t.cases).flat_map(|c| &c.photos) {
        // The same digest with two sizes goes twice: one of them cannot verify.
        if seen.insert(photo) {
            photos.push(photo.clone());
        }
    }
    photos
}
