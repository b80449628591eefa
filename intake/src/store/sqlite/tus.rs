//! The tus steps on SQLite and files.

use uuid::Uuid;

use super::files::SqliteFiles;
use super::SqliteStore;
use crate::store::{StoreError, TusUploads, Upload};

#[async_trait::async_trait]
impl TusUploads for SqliteStore {
    async fn create(&self, upload: &Upload) -> Result<Upload, StoreError> {
        let upload = upload.clone();
        self.quick(move |c| SqliteFiles::create_in(c, &upload))
            .await
    }
    async fn get(&self, id: Uuid) -> Result<Option<Upload>, StoreError> {
        self.quick(move |c| SqliteFiles::row(c, "id", id)).await
    }
    async fn by_report(&self, report_id: Uuid) -> Result<Option<Upload>, StoreError> {
        self.quick(move |c| SqliteFiles::row(c, "report_id", report_id))
            .await
    }
    async fn begin_append(&self, id: Uuid, offset: u64) -> Result<(), StoreError> {
        let current = self.quick(move |c| SqliteFiles::offset_in(c, id)).await?;
        self.files.append_at(id, offset, current)
    }
    async fn write(&self, id: Uuid, at: u64, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.run(move |f| f.write(id, at, &bytes)).await
    }
    async fn commit(&self, id: Uuid, from: u64, to: u64) -> Result<(), StoreError> {
        self.run(move |f| f.commit(id, from, to)).await
    }
    async fn write_and_commit(
        &self,
        id: Uuid,
        from: u64,
        at: u64,
        bytes: Vec<u8>,
    ) -> Result<(), StoreError> {
        let to = at + bytes.len() as u64;
        self.run(move |f| {
            f.write(id, at, &bytes)?;
            f.commit(id, from, to)
        })
        .await
    }
    async fn rollback(&self, id: Uuid) -> Result<(), StoreError> {
        self.run(move |f| f.rollback(id)).await
    }
    async fn assemble(&self, id: Uuid) -> Result<(u64, [u8; 32]), StoreError> {
        // In place when the hash was kept as the bytes came (a `stat`); else the file is read.
        if let Ok(Some(digest)) = self.files.hashed_digest(id) {
            return Ok(digest);
        }
        self.run(move |f| f.digest(id)).await
    }
    async fn complete(&self, id: Uuid, receipt: &str) -> Result<String, StoreError> {
        let receipt = receipt.to_string();
        self.run(move |f| f.complete(id, &receipt)).await
    }
    async fn delete(&self, id: Uuid) -> Result<bool, StoreError> {
        self.run(move |f| f.delete(id)).await
    }
    async fn expire(&self, now: i64) -> Result<Vec<Uuid>, StoreError> {
        self.run(move |f| f.expire(now)).await
    }
}
