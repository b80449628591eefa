//! The bulletin feed in the SQLite database, replaced whole in one transaction.

use rusqlite::{params, OptionalExtension};

use super::files::SqliteFiles;
use super::SqliteStore;
use crate::store::{Bulletins, StoreError};

#[async_trait::async_trait]
impl Bulletins for SqliteStore {
    async fn bulletin_version(&self) -> Result<Option<u64>, StoreError> {
        self.run(|f| f.bulletin_version()).await
    }
    async fn put_bulletins(
        &self,
        version: u64,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        self.run(move |f| f.put_bulletins(version, &files)).await
    }
    async fn bulletin_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = name.to_string();
        self.run(move |f| f.bulletin_file(&name)).await
    }
}

impl SqliteFiles {
    pub(in crate::store) fn bulletin_version(&self) -> Result<Option<u64>, StoreError> {
        let version: Option<i64> = self
            .conn()?
            .query_row("SELECT version FROM bulletin_feed", [], |r| r.get(0))
            .optional()?;
        Ok(version.map(|v| v as u64))
    }

    pub(in crate::store) fn put_bulletins(
        &self,
        version: u64,
        files: &[(String, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let held: Option<i64> = tx
            .query_row("SELECT version FROM bulletin_feed", [], |r| r.get(0))
            .optional()?;
        if let Some(held) = held.filter(|held| *held as u64 >= version) {
            return Err(StoreError::StaleBulletins { held: held as u64 });
        }
        tx.execute("DELETE FROM bulletin_files", [])?;
        for (name, bytes) in files {
            tx.execute(
                "INSERT INTO bulletin_files (name, bytes) VALUES (?1, ?2)",
                params![name, bytes],
            )?;
        }
        tx.execute(
            "INSERT INTO bulletin_feed (one, version) VALUES (1, ?1)
             ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            [version as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(in crate::store) fn bulletin_file(
        &self,
        name: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT bytes FROM bulletin_files WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?)
    }
}
