//! Login attempts, counted per account name, and failed ones in all: past a few attempts for a
//! name the desk stops checking its passwords for a while (429 with Retry-After).
//!
//! An attempt is counted before its password is checked (and given back when it was right, or
//! never checked), so parallel guesses cannot all pass the count while the first hashes run.
//!
//! Failures in all used to stop every check: fifty guesses at made-up names locked every
//! reviewer out for the window, a cost the reviewers paid, not the guesser. Names that do not
//! exist cannot be treated apart either: a different answer or time for them would tell a
//! stranger which names do (an unknown name runs a dummy hash for the same reason). So past
//! [`IN_ALL`] failures every name's budget shrinks to [`PER_NAME_UNDER_ATTACK`]: a reviewer whose
//! name no one guessed still gets the right passphrase checked, and the guesser spraying real
//! names gets two tries per name where there were five. How much the guesser can make the desk
//! hash at once is bounded by the permits (`auth::PASSWORD_CHECKS`), not here.
//!
//! An admin unlocks a name (in the app or `desk-user unlock`) by counting an unlock in the
//! desk's database; a name's window remembers the count it began under and ends when the count
//! has moved on, so an unlock from the command line reaches the running desk.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Attempts one account name may have in a window.
const PER_NAME: u32 = 5;
/// Failures all names together may have in a window before the desk is taken to be under
/// attack (a guesser spraying many names).
const IN_ALL: u32 = 50;
/// Attempts one name may have in a window while under attack: one typo forgiven.
const PER_NAME_UNDER_ATTACK: u32 = 2;
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Names remembered at most; past it the oldest windows are forgotten first.
const MAX_NAMES: usize = 10_000;

/// A name as remembered: its digest, so a stranger's long names cost 32 bytes each.
type NameKey = [u8; 32];

#[derive(Default)]
pub(super) struct LoginThrottle {
    attempts: Mutex<Attempts>,
}

#[derive(Default)]
struct Attempts {
    by_name: HashMap<NameKey, Window>,
    failures: Option<Window>,
}

#[derive(Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
    /// The name's unlock count when the window began.
    unlocks: u64,
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

    fn bump(window: &mut Option<Window>, now: Instant, unlocks: u64) {
        match window {
            Some(w) if w.live(now) => w.count += 1,
            _ => {
                *window = Some(Window {
                    started: now,
                    count: 1,
                    unlocks,
                })
            }
        }
    }
}

impl Attempts {
    fn make_room(&mut self, now: Instant) {
        if self.by_name.len() >= MAX_NAMES {
            self.by_name.retain(|_, w| w.live(now));
        }
        if self.by_name.len() >= MAX_NAMES {
            let oldest = self
                .by_name
                .iter()
                .min_by_key(|(_, w)| w.started)
                .map(|(name, _)| *name);
            if let Some(oldest) = oldest {
                self.by_name.remove(&oldest);
            }
        }
    }
}

impl LoginThrottle {
    /// Counts an attempt for `name`, before its password is checked; `Err(seconds to wait)`
    /// when no password may be checked for it now. `unlocks`: how often an admin unlocked the
    /// name (`None`: no such account); a count past the window's ends the window.
    pub(super) fn begin(&self, name: &str, now: Instant, unlocks: Option<u64>) -> Result<(), u64> {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        let under_attack = attempts
            .failures
            .is_some_and(|w| w.blocks(now, IN_ALL).is_some());
        let limit = if under_attack {
            PER_NAME_UNDER_ATTACK
        } else {
            PER_NAME
        };
        let key = key(name);
        let mut window = attempts.by_name.get(&key).copied();
        if let (Some(w), Some(unlocks)) = (window, unlocks) {
            if unlocks > w.unlocks {
                window = None;
            }
        }
        if let Some(wait) = window.and_then(|w| w.blocks(now, limit)) {
            return Err(wait);
        }
        if window.is_none() {
            attempts.make_room(now);
        }
        Window::bump(&mut window, now, unlocks.unwrap_or(0));
        if let Some(window) = window {
            attempts.by_name.insert(key, window);
        }
        Ok(())
    }

    /// A wrong password: its attempt stays counted, and it counts among the failures in all.
    pub(super) fn failed(&self, now: Instant) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        Window::bump(&mut attempts.failures, now, 0);
    }

    /// A right password ends the name's run of attempts.
    pub(super) fn succeeded(&self, name: &str) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        attempts.by_name.remove(&key(name));
    }

    /// The password was never checked (the desk failed): the attempt is given back.
    pub(super) fn unchecked(&self, name: &str) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(window) = attempts.by_name.get_mut(&key(name)) {
            window.count = window.count.saturating_sub(1);
        }
    }
}

/// Names differing only in case or surrounding space are one name here.
fn key(name: &str) -> NameKey {
    let digest = ring::digest::digest(&ring::digest::SHA256, name.trim().to_lowercase().as_bytes());
    let mut key = [0; 32];
    key.copy_from_slice(digest.as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_attempts_for_a_name_stop_checks_for_it_until_the_window_ends() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..PER_NAME {
            assert_eq!(throttle.begin("ana", t0, None), Ok(()));
            throttle.failed(t0);
        }
        assert_eq!(throttle.begin("Ana ", t0, None), Err(WINDOW.as_secs()));
        assert_eq!(
            throttle.begin("bo", t0, None),
            Ok(()),
            "another name is not blocked"
        );
        assert_eq!(
            throttle.begin("ana", t0 + WINDOW, None),
            Ok(()),
            "the window ended"
        );
    }

    #[test]
    fn attempts_still_being_checked_count() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..PER_NAME {
            assert_eq!(throttle.begin("ana", t0, None), Ok(()));
        }
        assert!(throttle.begin("ana", t0, None).is_err());
        throttle.unchecked("ana");
        assert_eq!(
            throttle.begin("ana", t0, None),
            Ok(()),
            "an unchecked attempt is given back"
        );
    }

    #[test]
    fn failures_across_many_names_shrink_every_names_budget_but_stop_none() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..IN_ALL {
            throttle.begin(&format!("guess{i}"), t0, None).unwrap();
            throttle.failed(t0);
        }
        let later = t0 + Duration::from_secs(60);
        for _ in 0..PER_NAME_UNDER_ATTACK {
            assert_eq!(
                throttle.begin("ana", later, None),
                Ok(()),
                "a fresh name is still checked"
            );
        }
        assert!(throttle.begin("ana", later, None).is_err());
        assert_eq!(throttle.begin("bo", t0 + WINDOW, None), Ok(()));
        for _ in 1..PER_NAME {
            assert_eq!(
                throttle.begin("bo", t0 + WINDOW, None),
                Ok(()),
                "the attack is over"
            );
        }
    }

    #[test]
    fn a_right_password_clears_the_names_attempts() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..PER_NAME {
            throttle.begin("ana", t0, None).unwrap();
        }
        throttle.succeeded("ana");
        assert_eq!(throttle.begin("ana", t0, None), Ok(()));
    }

    #[test]
    fn an_unlock_ends_the_names_window_once() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..PER_NAME {
            throttle.begin("ana", t0, Some(0)).unwrap();
            throttle.failed(t0);
        }
        assert!(throttle.begin("ana", t0, Some(0)).is_err());
        assert!(
            throttle.begin("ana", t0, None).is_err(),
            "no account: nothing unlocked"
        );
        assert_eq!(throttle.begin("ana", t0, Some(1)), Ok(()), "unlocked");
        for _ in 1..PER_NAME {
            throttle.begin("ana", t0, Some(1)).unwrap();
        }
        assert!(
            throttle.begin("ana", t0, Some(1)).is_err(),
            "the same unlock frees a name once"
        );
    }

    #[test]
    fn the_names_remembered_are_bounded() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for i in 0..MAX_NAMES + 10 {
            let at = t0 + Duration::from_millis(i as u64);
            throttle.begin(&format!("n{i}"), at, None).unwrap();
        }
        let attempts = throttle.attempts.lock().unwrap();
        assert_eq!(attempts.by_name.len(), MAX_NAMES);
    }
}
