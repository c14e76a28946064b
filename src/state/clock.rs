//! [`Clock`]: the wall-clock time the watchdog's decisions are taken at, in epoch seconds,
//! injectable so that a test sets the time instead of waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Now, in epoch seconds (milliseconds kept, as in every state file and event): the system
/// clock, or a time a test sets ([`Clock::fixed`]). Clones share the time: a test holding one
/// moves the clock of the watchdog parts it gave clones to.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock; `Some`: the set time, as `f64` bits.
    set: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `epoch` (seconds) until [`Self::advance`]d.
    pub fn fixed(epoch: f64) -> Self {
        Self {
            set: Some(Arc::new(AtomicU64::new(epoch.to_bits()))),
        }
    }

    /// Now, in epoch seconds.
    pub fn now(&self) -> f64 {
        match &self.set {
            Some(t) => f64::from_bits(t.load(Ordering::Relaxed)),
            None => chrono::Utc::now().timestamp_millis() as f64 / 1000.0,
        }
    }

    /// Moves a [`Self::fixed`] clock (and its clones) on by `secs`. Returns `false`, moving
    /// nothing, on the system clock.
    pub fn advance(&self, secs: f64) -> bool {
        let Some(t) = &self.set else {
            return false;
        };
        let _ = t.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
            Some((f64::from_bits(b) + secs).to_bits())
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;

    #[test]
    fn a_fixed_clock_moves_only_when_advanced_and_its_clones_with_it() {
        let c = Clock::fixed(1_000.5);
        let shared = c.clone();
        assert_eq!(c.now(), 1_000.5);
        assert!(shared.advance(59.5));
        assert_eq!(c.now(), 1_060.0);
        let sys = Clock::system();
        assert!(!sys.advance(3600.0));
        let before = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
        let now = sys.now();
        assert!(
            now >= before && now - before < 5.0,
            "{now} is not about {before}"
        );
    }
}
