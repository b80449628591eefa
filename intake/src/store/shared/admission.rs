//! Admission for nodes sharing a store: the rate limit's buckets and the quota's sum in
//! PostgreSQL, so every node counts the same.

use std::time::Duration;

use super::SharedStore;
use crate::store::{Admission, RateLimit, StoreError};

#[async_trait::async_trait]
impl Admission for SharedStore {
    async fn take_upload_token(
        &self,
        device_key: &str,
        limit: RateLimit,
    ) -> Result<Result<(), Duration>, StoreError> {
        let burst = f64::from(limit.burst);
        let refill = limit.refill.as_secs_f64().max(1e-3);
        // One statement, atomic for every node: the bucket refilled for the time since it was
        // last used, and a token taken only if there is one. (`SET` reads the old row.)
        let bucket = self.query_one(
                "INSERT INTO rate_buckets AS b (device_key, tokens, at, granted)
                 VALUES ($1, $2::float8 - 1, now(), $2::float8 >= 1)
                 ON CONFLICT (device_key) DO UPDATE SET
                     granted = LEAST($2::float8, b.tokens + EXTRACT(EPOCH FROM now() - b.at)::float8 / $3::float8) >= 1,
                     tokens = LEAST($2::float8, b.tokens + EXTRACT(EPOCH FROM now() - b.at)::float8 / $3::float8)
                         - CASE WHEN LEAST($2::float8, b.tokens + EXTRACT(EPOCH FROM now() - b.at)::float8 / $3::float8) >= 1
                                THEN 1 ELSE 0 END,
                     at = now()
                 RETURNING granted, tokens",
                &[&device_key, &burst, &refill],
            )
            .await?;
        if bucket.try_get(0)? {
            return Ok(Ok(()));
        }
        let tokens: f64 = bucket.try_get(1)?;
        Ok(Err(Duration::from_secs_f64(
            (1.0 - tokens).max(0.0) * refill,
        )))
    }

    async fn reserved_bytes(&self) -> Result<u64, StoreError> {
        let row = self
            .query_one(
                "SELECT COALESCE(SUM(length), 0)::bigint FROM uploads WHERE pruned_at IS NULL",
                &[],
            )
            .await?;
        Ok(row.try_get::<_, i64>(0)?.max(0) as u64)
    }

    /// A bucket has no free space to speak of: the quota (`--max-storage`) is the bound.
    fn free_bytes(&self) -> Option<u64> {
        None
    }
}
