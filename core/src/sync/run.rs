//! One sync run's allowance (wall time, bytes, a cancel), shared by the reports in flight, and
//! the throttle on progress events.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::Syncer;

/// At most this many progress events per report per second (the outbox UI's refresh rate).
const EVENTS_PER_SECOND: u32 = 10;

pub(super) struct Run<'a> {
    pub(super) syncer: &'a Syncer,
    pub(super) deadline: Instant,
    pub(super) max_bytes: u64,
    pub(super) sent: AtomicU64,
}

impl Run<'_> {
    pub(super) fn spent(&self) -> bool {
        Instant::now() >= self.deadline
            || self.sent.load(Ordering::Relaxed) >= self.max_bytes
            || self.syncer.cancelled.load(Ordering::Relaxed)
    }

    /// Bytes this run may still send.
    pub(super) fn allowance(&self) -> u64 {
        self.max_bytes
            .saturating_sub(self.sent.load(Ordering::Relaxed))
    }

    /// Runs `f` unless the deadline or a cancel comes first (`None`: cut; whatever the server
    /// kept of it, HEAD will say).
    pub(super) async fn bounded<T>(&self, f: impl Future<Output = T>) -> Option<T> {
        let cancelled = async {
            loop {
                let notified = self.syncer.cancel.notified();
                if self.syncer.cancelled.load(Ordering::Relaxed) {
                    return;
                }
                notified.await;
            }
        };
        tokio::select! {
            out = f => Some(out),
            () = tokio::time::sleep_until(self.deadline) => None,
            () = cancelled => None,
        }
    }
}

/// Progress events for one report, at most [`EVENTS_PER_SECOND`] (the last one always).
pub(super) struct Progress<'a> {
    pub(super) syncer: &'a Syncer,
    pub(super) id: Uuid,
    pub(super) total: u64,
}

impl Progress<'_> {
    pub(super) fn report(&self, sent: u64) {
        let Some(listener) = self.syncer.listener() else {
            return;
        };
        let Ok(mut last) = self.syncer.last_progress.lock() else {
            return;
        };
        let now = Instant::now();
        let gap = Duration::from_secs(1) / EVENTS_PER_SECOND;
        let due = last.get(&self.id).is_none_or(|t| now - *t >= gap);
        if due || sent >= self.total {
            if sent >= self.total {
                last.remove(&self.id);
            } else {
                last.insert(self.id, now);
            }
            drop(last);
            listener.progress(self.id, sent.min(self.total), self.total);
        }
    }
}
