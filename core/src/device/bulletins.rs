//! The device's side of bulletins: keeping a verified feed and listing its cases. Both on the
//! I/O thread, like every other file the device owns.

use time::OffsetDateTime;

use super::{Device, DeviceError};
use crate::bulletins::{nearest_first, Bulletins, FeedStatus, HeldFeed};
use crate::wire::bulletin::{BulletinError, PhotoRef};

impl Device {
    /// The feed the phone holds, if any (what a refresh compares against).
    pub fn held_bulletins(&self) -> Result<Option<HeldFeed>, DeviceError> {
        Ok(self.bulletins.held(&self.keys.at_rest)?)
    }

    /// Whether the tile file with this digest is already on the phone (not downloaded again).
    pub fn has_bulletin_tile(&self, sha256: &str) -> bool {
        self.bulletins.has_tile(&self.keys.at_rest, sha256)
    }

    /// Keeps a feed the sync engine verified, with the tile files it fetched.
    pub fn keep_bulletins(
        &self,
        feed: &HeldFeed,
        new_tiles: &[(String, Vec<u8>)],
    ) -> Result<(), DeviceError> {
        self.bulletins
            .replace(&self.keys.at_rest, feed, new_tiles)
            .map_err(|e| DeviceError::from(e).full_disk_as_storage_full())
    }

    /// Photo `n` of a case the held feed shows at `now`, as its signed tile names it; `None`
    /// when no such case or photo is held (closed, expired, or never fetched).
    pub fn case_photo_ref(
        &self,
        now: OffsetDateTime,
        case_number: &str,
        n: usize,
    ) -> Result<Option<PhotoRef>, DeviceError> {
        let list = self.bulletins(now, None)?;
        Ok(list
            .cases
            .into_iter()
            .find(|c| c.case.number == case_number)
            .and_then(|c| c.case.photos.into_iter().nth(n)))
    }

    /// A case photo fetched before, read back from its encrypted copy.
    pub fn cached_case_photo(&self, photo: &PhotoRef) -> Result<Option<Vec<u8>>, DeviceError> {
        Ok(self.bulletins.photo(&self.keys.at_rest, photo)?)
    }

    /// Keeps a case photo the sync engine verified, encrypted like the tiles.
    pub fn keep_case_photo(&self, photo: &PhotoRef, jpeg: &[u8]) -> Result<(), DeviceError> {
        self.bulletins
            .keep_photo(&self.keys.at_rest, photo, jpeg)
            .map_err(|e| DeviceError::from(e).full_disk_as_storage_full())
    }

    /// The cases to show at `now`, nearest to `near` first. An expired feed shows nothing and
    /// its photos are deleted here.
    pub fn bulletins(
        &self,
        now: OffsetDateTime,
        near: Option<(f64, f64)>,
    ) -> Result<Bulletins, DeviceError> {
        let Some(held) = self.held_bulletins()? else {
            return Ok(Bulletins {
                status: FeedStatus::NotFetched,
                safety_line: None,
                cases: Vec::new(),
            });
        };
        let index = &held.index;
        let (issued_at, expires_at) = index.times().map_err(damaged)?;
        if expires_at <= now {
            self.bulletins.drop_tiles()?;
            return Ok(Bulletins {
                status: FeedStatus::Expired {
                    version: index.version,
                    expired_at: expires_at,
                },
                safety_line: Some(index.safety_line.clone()),
                cases: Vec::new(),
            });
        }
        let mut cases = Vec::new();
        for entry in held.held_tiles() {
            cases.extend(
                self.bulletins
                    .tile(&self.keys.at_rest, &entry.sha256)?
                    .cases,
            );
        }
        Ok(Bulletins {
            status: FeedStatus::Current {
                version: index.version,
                issued_at,
                expires_at,
            },
            safety_line: Some(index.safety_line.clone()),
            cases: nearest_first(cases, near),
        })
    }
}

fn damaged(_: BulletinError) -> DeviceError {
    crate::bulletins::BulletinStoreError::Damaged("index times").into()
}
