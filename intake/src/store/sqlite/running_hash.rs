//! The SHA-256 of each upload's file, kept as its bytes are written, so finishing an upload
//! does not read the whole file back and hash it again. Only in memory: after a restart, or
//! when a write did not follow on from the bytes hashed so far, finishing reads the file.

use std::collections::HashMap;
use std::sync::Mutex;

use ring::digest::{Context, SHA256};
use uuid::Uuid;

#[derive(Default)]
pub(super) struct RunningHashes(Mutex<HashMap<Uuid, Running>>);

/// The hash of an upload file's first `len` bytes.
struct Running {
    len: u64,
    hash: Context,
}

impl RunningHashes {
    /// `bytes` were written to the upload's file at `at`.
    pub(super) fn wrote(&self, id: Uuid, at: u64, bytes: &[u8]) {
        // Taken out while hashing, so other uploads' writes do not wait on this one.
        let running = match self.take_entry(id) {
            Some(r) if r.len == at => Some(r),
            _ if at == 0 => Some(Running {
                len: 0,
                hash: Context::new(&SHA256),
            }),
            _ => None,
        };
        if let Some(mut r) = running {
            r.hash.update(bytes);
            r.len += bytes.len() as u64;
            if let Ok(mut map) = self.0.lock() {
                map.insert(id, r);
            }
        }
    }

    /// The upload's file was cut back to `len` bytes: a hash past that is of no use.
    pub(super) fn truncated(&self, id: Uuid, len: u64) {
        if let Ok(mut map) = self.0.lock() {
            if map.get(&id).is_some_and(|r| r.len != len) {
                map.remove(&id);
            }
        }
    }

    /// The SHA-256 of the file's `len` bytes, if every one of them was hashed as written.
    pub(super) fn finish(&self, id: Uuid, len: u64) -> Option<[u8; 32]> {
        let r = self.take_entry(id).filter(|r| r.len == len)?;
        let mut out = [0u8; 32];
        out.copy_from_slice(r.hash.finish().as_ref());
        Some(out)
    }

    pub(super) fn forget(&self, id: Uuid) {
        self.take_entry(id);
    }

    fn take_entry(&self, id: Uuid) -> Option<Running> {
        self.0.lock().ok()?.remove(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&SHA256, bytes).as_ref());
        out
    }

    #[test]
    fn pieces_written_in_order_hash_like_the_whole() {
        let hashes = RunningHashes::default();
        let id = Uuid::new_v4();
        let body: Vec<u8> = (0..10_000u32).map(|i| (i * 7) as u8).collect();
        for (i, piece) in body.chunks(999).enumerate() {
            hashes.wrote(id, (i * 999) as u64, piece);
        }
        assert_eq!(hashes.finish(id, body.len() as u64), Some(sha(&body)));
        assert_eq!(hashes.finish(id, body.len() as u64), None, "taken once");
    }

    #[test]
    fn a_cut_back_or_a_gap_falls_back_to_reading_the_file() {
        let hashes = RunningHashes::default();
        let (cut, gap, short) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        hashes.wrote(cut, 0, b"acknowledged");
        hashes.wrote(cut, 12, b" and refused");
        hashes.truncated(cut, 12);
        assert_eq!(hashes.finish(cut, 12), None);

        hashes.wrote(gap, 0, b"first");
        hashes.wrote(gap, 9, b"after a gap");
        assert_eq!(hashes.finish(gap, 20), None);

        // Restarted: the file has bytes this process never saw.
        hashes.wrote(short, 40, b"the rest");
        assert_eq!(hashes.finish(short, 48), None);

        let kept = Uuid::new_v4();
        hashes.wrote(kept, 0, b"same length");
        hashes.truncated(kept, 11);
        assert_eq!(hashes.finish(kept, 11), Some(sha(b"same length")));
    }
}
