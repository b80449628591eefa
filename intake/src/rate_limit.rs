//! New uploads per device key: a token bucket each. Keys are free, so the buckets are bounded:
//! past [`MAX_BUCKETS`] the idle ones (refilled to full, so nothing is lost by forgetting them)
//! are dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::store::RateLimit;

/// Buckets kept before idle (full) ones are dropped.
const MAX_BUCKETS: usize = 10_000;

/// The buckets of one process (the SQLite store's; the shared store keeps its own in
/// PostgreSQL).
#[derive(Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes a token from the key's bucket, or says how long until there is one.
    pub(crate) fn take(&self, key: &str, limit: RateLimit) -> Result<(), Duration> {
        let burst = f64::from(limit.burst);
        // Seconds to earn one token.
        let refill = limit.refill.as_secs_f64().max(1e-3);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            // Drops the buckets that have refilled: a key seen again starts full, as it would be.
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() / refill < burst);
        }
        let (tokens, at) = buckets
            .entry(key.to_string())
            .or_insert((burst, Instant::now()));
        *tokens = (*tokens + at.elapsed().as_secs_f64() / refill).min(burst);
        *at = Instant::now();
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) * refill))
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_a_wait_and_idle_keys_are_forgotten() {
        let limit = |burst, refill| RateLimit { burst, refill };
        let minute = limit(2, Duration::from_secs(60));
        let limiter = RateLimiter::default();
        assert!(limiter.take("a", minute).is_ok());
        assert!(limiter.take("a", minute).is_ok());
        let wait = limiter.take("a", minute).unwrap_err();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60));
        assert!(
            limiter.take("b", minute).is_ok(),
            "keys have their own buckets"
        );

        // A flood of fresh keys: each spends one token, so none is idle and all are kept…
        let busy = RateLimiter::default();
        for i in 0..MAX_BUCKETS + 10 {
            busy.take(&i.to_string(), limit(2, Duration::from_secs(3600)))
                .unwrap();
        }
        assert_eq!(busy.len(), MAX_BUCKETS + 10);
        // …while keys whose buckets refill at once are dropped past the bound.
        let quick = RateLimiter::default();
        for i in 0..MAX_BUCKETS + 10 {
            quick
                .take(&i.to_string(), limit(1, Duration::from_nanos(1)))
                .unwrap();
        }
        assert!(quick.len() < MAX_BUCKETS, "{}", quick.len());
    }
}
