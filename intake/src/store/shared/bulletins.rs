//! The bulletin feed on the shared store.

use super::SharedStore;
use crate::store::{Bulletins, StoreError};

#[async_trait::async_trait]
impl Bulletins for SharedStore {
    async fn bulletin_version(&self) -> Result<Option<u64>, StoreError> {
        let row = self
            .query_opt("SELECT version FROM bulletin_feed", &[])
            .await?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64))
    }

    /// In PostgreSQL, not the bucket: one transaction replaces the whole feed, which no object
    /// store can do for several objects.
    async fn put_bulletins(
        &self,
        version: u64,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.batch_execute("LOCK TABLE bulletin_feed IN EXCLUSIVE MODE")
            .await?;
        let held: Option<i64> = tx
            .query_opt("SELECT version FROM bulletin_feed", &[])
            .await?
            .map(|r| r.get(0));
        if let Some(held) = held.filter(|held| *held as u64 >= version) {
            return Err(StoreError::StaleBulletins { held: held as u64 });
        }
        tx.execute("DELETE FROM bulletin_files", &[]).await?;
        for (name, bytes) in &files {
            tx.execute(
                "INSERT INTO bulletin_files (name, bytes) VALUES ($1, $2)",
                &[name, bytes],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO bulletin_feed (one, version) VALUES (1, $1)
             ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            &[&(version as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn bulletin_file(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self
            .query_opt("SELECT bytes FROM bulletin_files WHERE name = $1", &[&name])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}
