//! The phone's copy of the feed, encrypted at rest like drafts (AES-256-GCM under the at-rest
//! key, the file's name bound in as associated data): `bulletins/feed.sealed` holds the verified
//! index, its ETag and the regions asked for; `bulletins/tiles/<name>.sealed` holds each tile
//! file. A tile's name is a keyed hash of the digest the index lists for it
//! ([`AtRestKey::file_name`]), not the digest itself: the index is public, so a public name
//! would tell anyone who can list the folder which 5° cells, and so where, the phone is.
//! Files are 0600 and folders 0700. A case photo, fetched when the reporter opens the case, is
//! kept the same way in `bulletins/photos/<name>.sealed`, named by a keyed hash of its digest.
//!
//! A new feed is written tiles first, then the index (each file atomically), then tiles the new
//! index no longer points at are deleted: after a kill at any point the index on disk points only
//! at tiles that are there, and a closed case's photos are gone once the next feed is kept: photos
//! no held tile names are deleted with the tiles.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::draft::write_atomic;
use crate::keys::{AtRestKey, KeyError};
use crate::wire::bulletin::{IndexBody, PhotoRef, TileFile};

const INDEX_CONTEXT: &[u8] = b"sighting-bulletin-index/1";
const TILE_CONTEXT: &[u8] = b"sighting-bulletin-tile/1";
const TILE_NAME_CONTEXT: &[u8] = b"sighting-bulletin-tile-name/1";
const PHOTO_CONTEXT: &[u8] = b"sighting-bulletin-photo/1";
const PHOTO_NAME_CONTEXT: &[u8] = b"sighting-bulletin-photo-name/1";

#[derive(Debug, thiserror::Error)]
pub enum BulletinStoreError {
    #[error("the stored bulletins are damaged ({0})")]
    Damaged(&'static str),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot store the bulletins: {0}")]
    Io(#[from] std::io::Error),
}

/// The feed the phone holds: its verified index, and what it asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldFeed {
    pub index: IndexBody,
    /// The intake's ETag for the index, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The tiles the phone asked for (its cell and the ones around it).
    pub regions: Vec<String>,
}

impl HeldFeed {
    /// The index's entries for the regions held, with the digests of their tile files.
    pub fn held_tiles(&self) -> impl Iterator<Item = &crate::wire::bulletin::TileEntry> {
        self.index
            .tiles
            .iter()
            .filter(|t| self.regions.contains(&t.tile))
    }
}

pub struct BulletinStore {
    dir: PathBuf,
}

impl BulletinStore {
    pub fn open(data_dir: &Path) -> Result<Self, BulletinStoreError> {
        let dir = data_dir.join("bulletins");
        crate::private_fs::create_dir(&dir)?;
        crate::private_fs::create_dir(&dir.join("tiles"))?;
        crate::private_fs::create_dir(&dir.join("photos"))?;
        Ok(Self { dir })
    }

    pub fn held(&self, key: &AtRestKey) -> Result<Option<HeldFeed>, BulletinStoreError> {
        let sealed = match fs::read(self.index_path()) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        let plain = key
            .open(INDEX_CONTEXT, &sealed)
            .map_err(|_| BulletinStoreError::Damaged("index"))?;
        let feed: HeldFeed =
            serde_json::from_slice(&plain).map_err(|_| BulletinStoreError::Damaged("index"))?;
        self.rename_public_names(key, &feed)?;
        Ok(Some(feed))
    }

    /// Tiles kept by versions that named them by their public digest get their keyed name.
    fn rename_public_names(&self, key: &AtRestKey, feed: &HeldFeed) -> std::io::Result<()> {
        for entry in feed.held_tiles() {
            let Ok(keyed) = self.tile_path(key, &entry.sha256) else {
                continue;
            };
            let public = self
                .dir
                .join("tiles")
                .join(format!("{}.sealed", entry.sha256));
            match fs::rename(&public, &keyed) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// A tile file the held index lists, by its digest (it was verified when it was fetched).
    pub fn tile(&self, key: &AtRestKey, sha256: &str) -> Result<TileFile, BulletinStoreError> {
        let sealed = fs::read(self.tile_path(key, sha256)?)
            .map_err(|_| BulletinStoreError::Damaged("a tile is missing"))?;
        let plain = key
            .open(&tile_context(sha256), &sealed)
            .map_err(|_| BulletinStoreError::Damaged("tile"))?;
        serde_json::from_slice(&plain).map_err(|_| BulletinStoreError::Damaged("tile"))
    }

    pub fn has_tile(&self, key: &AtRestKey, sha256: &str) -> bool {
        self.tile_path(key, sha256).is_ok_and(|p| p.exists())
    }

    /// Keeps a verified feed: `new_tiles` are `(sha256, bytes)` of tile files fetched now;
    /// tiles of `feed` already on disk are kept; every other tile file is deleted.
    pub fn replace(
        &self,
        key: &AtRestKey,
        feed: &HeldFeed,
        new_tiles: &[(String, Vec<u8>)],
    ) -> Result<(), BulletinStoreError> {
        for (sha256, bytes) in new_tiles {
            write_atomic(
                &self.tile_path(key, sha256)?,
                &key.seal(&tile_context(sha256), bytes)?,
            )?;
        }
        let index = serde_json::to_vec(feed).map_err(|_| BulletinStoreError::Damaged("index"))?;
        write_atomic(&self.index_path(), &key.seal(INDEX_CONTEXT, &index)?)?;
        let keep: BTreeSet<String> = feed
            .held_tiles()
            .map(|t| key.file_name(TILE_NAME_CONTEXT, t.sha256.as_bytes()))
            .collect();
        self.delete_except("tiles", &keep)?;
        let mut photos = BTreeSet::new();
        for entry in feed.held_tiles() {
            for case in self.tile(key, &entry.sha256)?.cases {
                photos.extend(case.photos.iter().map(|p| self.photo_name(key, p)));
            }
        }
        self.delete_except("photos", &photos)
    }

    /// Deletes every case and case photo on the phone (the feed expired); the index stays so the
    /// phone can say since when, and still refuses an older feed.
    pub fn drop_tiles(&self) -> Result<(), BulletinStoreError> {
        self.delete_except("tiles", &BTreeSet::new())?;
        self.delete_except("photos", &BTreeSet::new())
    }

    /// A case photo kept on the phone, if it was fetched before; checked again against `photo`
    /// (its name binds only the digest).
    pub fn photo(
        &self,
        key: &AtRestKey,
        photo: &PhotoRef,
    ) -> Result<Option<Vec<u8>>, BulletinStoreError> {
        let sealed = match fs::read(self.photo_path(key, photo)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            other => other?,
        };
        let jpeg = key
            .open(&photo_context(photo), &sealed)
            .map_err(|_| BulletinStoreError::Damaged("case photo"))?;
        photo
            .open(&jpeg)
            .map_err(|_| BulletinStoreError::Damaged("case photo"))?;
        Ok(Some(jpeg.to_vec()))
    }

    /// Keeps a case photo that was verified against `photo`.
    pub fn keep_photo(
        &self,
        key: &AtRestKey,
        photo: &PhotoRef,
        jpeg: &[u8],
    ) -> Result<(), BulletinStoreError> {
        let sealed = key.seal(&photo_context(photo), jpeg)?;
        Ok(write_atomic(&self.photo_path(key, photo), &sealed)?)
    }

    fn delete_except(
        &self,
        folder: &str,
        keep: &BTreeSet<String>,
    ) -> Result<(), BulletinStoreError> {
        for entry in fs::read_dir(self.dir.join(folder))? {
            let entry = entry?;
            let name = entry.file_name();
            let keyed = name.to_str().and_then(|n| n.strip_suffix(".sealed"));
            if keyed.is_none_or(|n| !keep.contains(n)) {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    fn index_path(&self) -> PathBuf {
        self.dir.join("feed.sealed")
    }

    fn tile_path(&self, key: &AtRestKey, sha256: &str) -> Result<PathBuf, BulletinStoreError> {
        // Only the 64 hex digits the index check let through.
        crate::wire::hex::decode::<32>(sha256).ok_or(BulletinStoreError::Damaged("tile name"))?;
        let name = key.file_name(TILE_NAME_CONTEXT, sha256.as_bytes());
        Ok(self.dir.join("tiles").join(format!("{name}.sealed")))
    }

    fn photo_name(&self, key: &AtRestKey, photo: &PhotoRef) -> String {
        key.file_name(PHOTO_NAME_CONTEXT, photo.sha256.as_bytes())
    }

    fn photo_path(&self, key: &AtRestKey, photo: &PhotoRef) -> PathBuf {
        let name = self.photo_name(key, photo);
        self.dir.join("photos").join(format!("{name}.sealed"))
    }
}

/// The digest and the size are bound into the ciphertext.
fn photo_context(photo: &PhotoRef) -> Vec<u8> {
    [
        PHOTO_CONTEXT,
        photo.sha256.as_bytes(),
        &photo.bytes.to_be_bytes(),
    ]
    .concat()
}

fn tile_context(sha256: &str) -> Vec<u8> {
    [TILE_CONTEXT, sha256.as_bytes()].concat()
}
