//! Failed logins, counted per account name and in all: past a few failures the desk stops
//! checking passwords for a while (429 with Retry-After). Each check is a deliberately slow
//! argon2id hash, so this also keeps a guesser from tying up the desk's cores.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures one account name may have in a window.
const PER_NAME: u32 = 5;
/// Failures all names together may have in a window (a guesser spraying many names).
const IN_ALL: u32 = 50;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Names remembered at most; past it the oldest windows are forgotten first.
const MAX_NAMES: usize = 10_000;

#[derive(Default)]
pub(super) struct LoginThrottle {
    failures: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    by_name: HashMap<String, Window>,
    all: Option<Window>,
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

impl Window {
    fn live(&self, now: Instant) -> bool {
        now.duration_since(self.started) < WINDOW
    }

    /// Seconds until this window ends, if `limit` is reached in it.
    fn blocks(&self, now: Instant, limit: u32) -> Option<u64> {
        (self.live(now) && self.count >= limit)
            .then(|| (WINDOW - now.duration_since(self.started)).as_secs().max(1))
    }

    fn bump(window: &mut Option<Window>, now: Instant) {
        match window {
            Some(w) if w.live(now) => w.count += 1,
            _ => {
                *window = Some(Window {
                    started: now,
                    count: 1,
                })
            }
        }
    }
}

impl LoginThrottle {
    /// `Err(seconds to wait)` when no password may be checked for `name` now.
    pub(super) fn check(&self, name: &str, now: Instant) -> Result<(), u64> {
        let failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let by_name = failures
            .by_name
            .get(&key(name))
            .and_then(|w| w.blocks(now, PER_NAME));
        let in_all = failures.all.and_then(|w| w.blocks(now, IN_ALL));
        match by_name.max(in_all) {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    pub(super) fn failed(&self, name: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        Window::bump(&mut failures.all, now);
        if failures.by_name.len() >= MAX_NAMES {
            failures.by_name.retain(|_, w| w.live(now));
        }
        if failures.by_name.len() >= MAX_NAMES {
            let oldest = failures
                .by_name
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(name, _)| name.clone());
            if let Some(oldest) = oldest {
                failures.by_name.remove(&oldest);
            }
        }
        let mut window = failures.by_name.get(&key(name)).copied();
        Window::bump(&mut window, now);
        if let Some(window) = window {
            failures.by_name.insert(key(name), window);
        }
    }

    /// A right password ends the name's run of failures.
    pub(super) fn succeeded(&self, name: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        failures.by_name.remove(&key(name));
    }
}

/// Names differing only in case or surrounding space are one name here.
fn key(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_for_a_name_stop_checks_for_it_until_the_window_ends() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..PER_NAME {
            assert_eq!(throttle.check("ana", t0), Ok(()));
            throttle.failed("ana", t0);
        }
        assert_eq!(throttle.check("Ana ", t0), Err(WINDOW.as_secs()));
        assert_eq!(
            throttle.check("bo", t0),
            Ok(()),
            "another name is not blocked"
        );
        assert_eq!(
            throttle.check("ana", t0 + WINDOW),
            Ok(()),
            "the window ended"
        );
    }

    #[test]
    fn failures_across_many_names_stop_every_check() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..IN_ALL {
            throttle.failed(&format!("guess{i}"), t0);
        }
        assert!(throttle.check("ana", t0 + Duration::from_secs(60)).is_err());
    }

    #[test]
    fn a_right_password_clears_the_names_failures() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..PER_NAME - 1 {
            throttle.failed("ana", t0);
        }
        throttle.succeeded("ana");
        throttle.failed("ana", t0);
        assert_eq!(throttle.check("ana", t0), Ok(()));
    }

    #[test]
    fn the_names_remembered_are_bounded() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..MAX_NAMES + 10 {
            throttle.failed(&format!("n{i}"), t0 + Duration::from_millis(i as u64));
        }
        let failures = throttle.failures.lock().unwrap();
        assert_eq!(failures.by_name.len(), MAX_NAMES);
    }
}
