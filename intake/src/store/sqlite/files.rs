//! The SQLite store's blocking half: the database and the upload files.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection};
use uuid::Uuid;

use crate::rate_limit::RateLimiter;
use crate::store::schema::{adopt_unversioned, MIGRATIONS};
use crate::store::{IntakeRecord, StoreError, Upload};

use super::running_hash::RunningHashes;

/// The blocking half of [`SqliteStore`].
pub(in crate::store) struct SqliteFiles {
    conn: Mutex<Connection>,
    pub(super) dir: PathBuf,
    /// One machine, so the rate limit's buckets live in memory (a restart refills them).
    pub(super) buckets: RateLimiter,
    hashes: RunningHashes,
}

impl SqliteFiles {
    pub(in crate::store) fn open(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir.join("uploads"))?;
        fs::create_dir_all(dir.join("reports"))?;
        let mut conn = Connection::open(dir.join("intake.sqlite3"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL is enough here: the data is fsynced before its offset is recorded, and a
        // power cut can at worst roll the recorded offset back (never forward), which a tus
        // client handles by asking HEAD and re-sending. A process crash loses nothing.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        adopt_unversioned(&conn)?;
        sighting_core::sqlite::migrate(&mut conn, MIGRATIONS)?;
        let store = Self {
            conn: Mutex::new(conn),
            dir: dir.to_path_buf(),
            buckets: RateLimiter::default(),
            hashes: RunningHashes::default(),
        };
        store.remove_orphans()?;
        Ok(store)
    }

    /// Upload files without a row (left by a crash, or by a failed create in older versions):
    /// nothing refers to them.
    fn remove_orphans(&self) -> Result<(), StoreError> {
        let live: std::collections::HashSet<String> = {
            let conn = self.conn()?;
            let mut stmt = conn.prepare("SELECT id FROM uploads WHERE receipt IS NULL")?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
            ids.collect::<Result<_, _>>()?
        };
        for entry in fs::read_dir(self.dir.join("uploads"))? {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if !live.contains(name.as_ref()) {
                fs::remove_file(&path)?;
            }
        }
        Ok(())
    }

    pub(in crate::store) fn conn(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::failed("storage is poisoned by an earlier panic"))
    }

    /// The connection if no statement is running on it now.
    pub(super) fn try_conn(&self) -> Option<std::sync::MutexGuard<'_, Connection>> {
        self.conn.try_lock().ok()
    }

    fn data_file(&self, id: Uuid) -> Result<fs::File, StoreError> {
        Ok(OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.partial_path(id))?)
    }

    fn recorded_offset(&self, id: Uuid) -> Result<u64, StoreError> {
        Self::offset_in(&*self.conn()?, id)
    }

    pub(super) fn offset_in(conn: &Connection, id: Uuid) -> Result<u64, StoreError> {
        let offset: i64 = conn.query_row(
            "SELECT upload_offset FROM uploads WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?;
        Ok(offset as u64)
    }

    fn partial_path(&self, id: Uuid) -> PathBuf {
        self.dir.join("uploads").join(id.to_string())
    }

    pub(super) fn finished_path(&self, report_id: Uuid) -> PathBuf {
        self.dir.join("reports").join(format!("{report_id}.age"))
    }

    pub(super) fn record_path(&self, report_id: Uuid) -> PathBuf {
        self.dir
            .join("reports")
            .join(format!("{report_id}.intake.json"))
    }

    pub(super) fn row(
        conn: &Connection,
        clause: &str,
        key: Uuid,
    ) -> Result<Option<Upload>, StoreError> {
        let sql = format!(
            "SELECT id, report_id, device_key, ciphertext_sha256, envelope_sig, length, upload_offset, expires_at, receipt,
                    device_clock, created_at_ms
             FROM uploads WHERE {clause} = ?1"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([key.to_string()])?;
        let Some(r) = rows.next()? else {
            return Ok(None);
        };
        let corrupt = |what: &str| StoreError::Corrupt(format!("{what} of upload {key}"));
        Ok(Some(Upload {
            id: parse_id(&r.get::<_, String>(0)?)?,
            report_id: parse_id(&r.get::<_, String>(1)?)?,
            device_key: r.get(2)?,
            ciphertext_sha256: r.get(3)?,
            envelope_sig: r.get(4)?,
            length: u64::try_from(r.get::<_, i64>(5)?).map_err(|_| corrupt("length"))?,
            offset: u64::try_from(r.get::<_, i64>(6)?).map_err(|_| corrupt("offset"))?,
            expires_at: r.get(7)?,
            receipt: r.get(8)?,
            device_clock: r
                .get::<_, Option<String>>(9)?
                .map(|c| c.parse().map_err(|_| corrupt("device_clock")))
                .transpose()?,
            created_at_ms: r.get(10)?,
        }))
    }
}

/// An id the database holds: anything but a UUID means the file was damaged or edited.
pub(super) fn parse_id(text: &str) -> Result<Uuid, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("the id {text:?} is not a UUID")))
}

impl SqliteFiles {
    /// Only the row: its file is made by the first write, and its name in `uploads/` made
    /// durable by the first commit (nothing is acknowledged before that).
    pub(super) fn create_in(conn: &Connection, u: &Upload) -> Result<Upload, StoreError> {
        let inserted = conn.execute(
            "INSERT INTO uploads (id, report_id, device_key, ciphertext_sha256, envelope_sig, length, upload_offset, expires_at,
                                  device_clock, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9)
             ON CONFLICT (report_id) DO NOTHING",
            params![
                u.id.to_string(),
                u.report_id.to_string(),
                u.device_key,
                u.ciphertext_sha256,
                u.envelope_sig,
                u.length as i64,
                u.expires_at,
                u.device_clock.map(|c| c.to_string()),
                u.created_at_ms
            ],
        )?;
        if inserted == 0 {
            return Self::row(conn, "report_id", u.report_id)?.ok_or(StoreError::NotFound(u.id));
        }
        Ok(u.clone())
    }

    pub(in crate::store) fn by_report(
        &self,
        report_id: Uuid,
    ) -> Result<Option<Upload>, StoreError> {
        Self::row(&*self.conn()?, "report_id", report_id)
    }

    /// `begin_append` once the recorded offset, `current`, is known.
    pub(super) fn append_at(&self, id: Uuid, offset: u64, current: u64) -> Result<(), StoreError> {
        if current != offset {
            return Err(StoreError::OffsetMismatch {
                expected: offset,
                actual: current,
            });
        }
        self.data_file(id)?.set_len(offset)?;
        self.hashes.truncated(id, offset);
        Ok(())
    }

    pub(in crate::store) fn write(
        &self,
        id: Uuid,
        at: u64,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let mut file = self.data_file(id)?;
        file.seek(SeekFrom::Start(at))?;
        if let Err(e) = file.write_all(bytes) {
            self.hashes.forget(id);
            return Err(e.into());
        }
        self.hashes.wrote(id, at, bytes);
        Ok(())
    }

    pub(in crate::store) fn commit(&self, id: Uuid, from: u64, to: u64) -> Result<(), StoreError> {
        self.data_file(id)?.sync_data()?;
        if from == 0 {
            // The file's first acknowledged bytes: its name must survive a power cut too.
            fs::File::open(self.dir.join("uploads"))?.sync_all()?;
        }
        let moved = self.conn()?.execute(
            "UPDATE uploads SET upload_offset = ?3
             WHERE id = ?1 AND upload_offset = ?2 AND receipt IS NULL",
            params![id.to_string(), from as i64, to as i64],
        )?;
        if moved == 0 {
            return Err(StoreError::OffsetMismatch {
                expected: from,
                actual: self.recorded_offset(id)?,
            });
        }
        Ok(())
    }

    pub(in crate::store) fn rollback(&self, id: Uuid) -> Result<(), StoreError> {
        let offset = self.recorded_offset(id)?;
        self.data_file(id)?.set_len(offset)?;
        self.hashes.truncated(id, offset);
        Ok(())
    }

    /// The length and SHA-256 of the upload's file, from the running hash when it covers the
    /// file (a `stat`), else `None`.
    pub(super) fn hashed_digest(&self, id: Uuid) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        let len = fs::metadata(self.partial_path(id))?.len();
        Ok(self.hashes.finish(id, len).map(|sha| (len, sha)))
    }

    /// The length and SHA-256 of the upload's file, read back (`hashed_digest` was tried first).
    pub(in crate::store) fn digest(&self, id: Uuid) -> Result<(u64, [u8; 32]), StoreError> {
        let mut file = fs::File::open(self.partial_path(id))?;
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = vec![0u8; 256 << 10];
        let mut len = 0u64;
        loop {
            let n = std::io::Read::read(&mut file, &mut buf)?;
            if n == 0 {
                let mut out = [0u8; 32];
                out.copy_from_slice(hash.finish().as_ref());
                return Ok((len, out));
            }
            hash.update(&buf[..n]);
            len += n as u64;
        }
    }

    pub(in crate::store) fn complete(&self, id: Uuid, receipt: &str) -> Result<String, StoreError> {
        let upload = Self::row(&*self.conn()?, "id", id)?.ok_or(StoreError::NotFound(id))?;
        if let Some(kept) = upload.receipt {
            return Ok(kept);
        }
        // The record is written first and the ciphertext moved to reports/ (durably) before the
        // row says so: the desk only looks at `.age` files, each with its record beside it.
        let record = IntakeRecord {
            receipt: serde_json::from_str(receipt).map_err(std::io::Error::other)?,
            created_at_ms: upload.created_at_ms,
            device_clock: upload.device_clock,
        };
        let record_path = self.record_path(upload.report_id);
        let temp = record_path.with_extension("tmp");
        let mut file = fs::File::create(&temp)?;
        file.write_all(&serde_json::to_vec_pretty(&record).map_err(std::io::Error::other)?)?;
        file.sync_all()?;
        fs::rename(&temp, &record_path)?;
        fs::rename(self.partial_path(id), self.finished_path(upload.report_id))?;
        fs::File::open(self.dir.join("reports"))?.sync_all()?;
        self.conn()?.execute(
            "UPDATE uploads SET receipt = ?2, received_at = strftime('%s','now'),
                    finished_seq = (SELECT COALESCE(MAX(finished_seq), 0) + 1 FROM uploads)
             WHERE id = ?1 AND receipt IS NULL",
            params![id.to_string(), receipt],
        )?;
        Ok(receipt.to_string())
    }

    pub(in crate::store) fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        let deleted = self.conn()?.execute(
            "DELETE FROM uploads WHERE id = ?1 AND receipt IS NULL",
            [id.to_string()],
        )?;
        remove_if_there(&self.partial_path(id))?;
        self.hashes.forget(id);
        Ok(deleted > 0)
    }

    pub(in crate::store) fn expire(&self, now: i64) -> Result<Vec<Uuid>, StoreError> {
        let expired: Vec<Uuid> = {
            let conn = self.conn()?;
            let mut stmt =
                conn.prepare("SELECT id FROM uploads WHERE receipt IS NULL AND expires_at < ?1")?;
            let ids = stmt.query_map([now], |r| r.get::<_, String>(0))?;
            ids.map(|id| parse_id(&id?)).collect::<Result<_, _>>()?
        };
        let mut removed = Vec::new();
        for id in expired {
            if self.delete(id)? {
                removed.push(id);
            }
        }
        Ok(removed)
    }

    pub(super) fn reserved_in(conn: &Connection) -> Result<u64, StoreError> {
        let sum: i64 = conn.query_row(super::RESERVED_BYTES, [], |r| r.get(0))?;
        Ok(sum.max(0) as u64)
    }
}

pub(super) fn remove_if_there(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}
