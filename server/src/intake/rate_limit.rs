//! New uploads per device key: a token bucket each. Keys are free, so the buckets are bounded:
//! past [`MAX_BUCKETS`] the idle ones (refilled to full, so nothing is lost by forgetting them)
//! are dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle (full) ones are dropped.
const MAX_BUCKETS: usize = 10_000;

pub(crate) struct RateLimiter {
    burst: f64,
    /// Seconds to earn one token.
    refill: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    pub(crate) fn new(burst: u32, refill: Duration) -> Self {
        Self {
            burst: f64::from(burst),
            refill: refill.as_secs_f64().max(1e-3),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from the key's bucket, or says how long until there is one.
    pub(crate) fn take(&self, key: &str) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            self.forget_idle(&mut buckets);
        }
        let (tokens, at) = buckets
            .entry(key.to_string())
            .or_insert((self.burst, Instant::now()));
        *tokens = (*tokens + at.elapsed().as_secs_f64() / self.refill).min(self.burst);
        *at = Instant::now();
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) * self.refill))
        }
    }

    /// Drops the buckets that have refilled: a key seen again starts full, as it would be.
    fn forget_idle(&self, buckets: &mut HashMap<String, (f64, Instant)>) {
        buckets.retain(|_, (tokens, at)| {
            *tokens + at.elapsed().as_secs_f64() / self.refill < self.burst
        });
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
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.take("a").is_ok());
        assert!(limiter.take("a").is_ok());
        let wait = limiter.take("a").unwrap_err();
        assert!(wait > Duration::from_secs(59) && wait <= Duration::from_secs(60));
        assert!(limiter.take("b").is_ok(), "keys have their own buckets");

        // A flood of fresh keys: each spends one token, so none is idle and all are kept…
        let busy = RateLimiter::new(2, Duration::from_secs(3600));
        for i in 0..MAX_BUCKETS + 10 {
            busy.take(&i.to_string()).unwrap();
        }
        assert_eq!(busy.len(), MAX_BUCKETS + 10);
        // …while keys whose buckets refill at once are dropped past the bound.
        let quick = RateLimiter::new(1, Duration::from_nanos(1));
        for i in 0..MAX_BUCKETS + 10 {
            quick.take(&i.to_string()).unwrap();
        }
        assert!(quick.len() < MAX_BUCKETS, "{}", quick.len());
    }
}
