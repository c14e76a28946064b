//! Restart pacing, so an agent that dies at once (a missing program, a crash at start) is not
//! restarted in a tight loop. The first restart is immediate; each further restart within
//! `stable` of the previous one waits twice as long (base, 2×base, 4×base, … up to `cap`).
//! An agent that stayed up for `stable` starts again from an immediate restart.
//! Time is passed in, so the policy is tested without sleeping.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Entry {
    /// Quick failures in a row; 0 after a stable run.
    failures: u32,
    last_attempt: Instant,
    /// The last start error, to log a repeated one only once.
    last_error: Option<String>,
}

/// Per-agent restart pacing.
#[derive(Debug, Clone)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    pub stable: Duration,
    entries: HashMap<String, Entry>,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration, stable: Duration) -> Self {
        Self {
            base,
            cap,
            stable,
            entries: HashMap::new(),
        }
    }

    fn failures_at(&self, e: &Entry, now: Instant) -> u32 {
        if now.saturating_duration_since(e.last_attempt) < self.stable {
            e.failures + 1
        } else {
            0
        }
    }

    /// The delay owed after `failures` quick failures in a row.
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        self.base
            .saturating_mul(1u32 << (failures - 1).min(16))
            .min(self.cap)
    }

    /// When `name` may be restarted next (`None`: now).
    pub fn wait_until(&self, name: &str, now: Instant) -> Option<Instant> {
        let e = self.entries.get(name)?;
        let at = e.last_attempt + self.delay(self.failures_at(e, now));
        (at > now).then_some(at)
    }

    /// Records a restart attempt at `now`.
    pub fn attempt(&mut self, name: &str, now: Instant) {
        let failures = self
            .entries
            .get(name)
            .map_or(0, |e| self.failures_at(e, now));
        let last_error = self.entries.get(name).and_then(|e| e.last_error.clone());
        self.entries.insert(
            name.to_string(),
            Entry {
                failures,
                last_attempt: now,
                last_error,
            },
        );
    }

    /// Records a start error; returns true when it differs from the last one (log it).
    pub fn error(&mut self, name: &str, msg: &str) -> bool {
        match self.entries.get_mut(name) {
            Some(e) if e.last_error.as_deref() == Some(msg) => false,
            Some(e) => {
                e.last_error = Some(msg.to_string());
                true
            }
            None => true,
        }
    }

    /// Forgets an agent (it was stopped on purpose, or the operator started it).
    pub fn forget(&mut self, name: &str) {
        self.entries.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_failures_back_off_and_stable_runs_reset() {
        let s = Duration::from_secs;
        let mut b = Backoff::new(s(2), s(10), s(60));
        let t0 = Instant::now();
        assert_eq!(b.wait_until("a", t0), None);
        b.attempt("a", t0);
        // dies at once: next restart owes 2 s, then 4, 8, 10 (cap)
        assert_eq!(b.wait_until("a", t0 + s(1)), Some(t0 + s(2)));
        b.attempt("a", t0 + s(2));
        assert_eq!(b.wait_until("a", t0 + s(3)), Some(t0 + s(6)));
        b.attempt("a", t0 + s(6));
        assert_eq!(b.wait_until("a", t0 + s(7)), Some(t0 + s(14)));
        b.attempt("a", t0 + s(14));
        assert_eq!(b.wait_until("a", t0 + s(15)), Some(t0 + s(24)));
        // ran for longer than `stable`: immediate again
        assert_eq!(b.wait_until("a", t0 + s(14 + 61)), None);
        b.attempt("a", t0 + s(75));
        assert_eq!(b.wait_until("a", t0 + s(76)), Some(t0 + s(77)));
    }

    #[test]
    fn repeated_errors_are_reported_once() {
        let mut b = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(4),
            Duration::from_secs(9),
        );
        b.attempt("a", Instant::now());
        assert!(b.error("a", "not on PATH"));
        assert!(!b.error("a", "not on PATH"));
        assert!(b.error("a", "other"));
    }
}
