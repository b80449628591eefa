//! Admission on one machine: the rate limit's buckets in memory, the quota from the database,
//! the free space of the data's file system.

use std::time::Duration;

use super::files::SqliteFiles;
use super::SqliteStore;
use crate::store::{Admission, RateLimit, StoreError};

#[async_trait::async_trait]
impl Admission for SqliteStore {
    async fn take_upload_token(
        &self,
        device_key: &str,
        limit: RateLimit,
    ) -> Result<Result<(), Duration>, StoreError> {
        Ok(self.files.buckets.take(device_key, limit))
    }
    async fn reserved_bytes(&self) -> Result<u64, StoreError> {
        self.quick(SqliteFiles::reserved_in).await
    }
    fn free_bytes(&self) -> Option<u64> {
        let stat = rustix::fs::statvfs(&self.files.dir).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
}
