//! [`ReportOnce`]: the latch behind every "reported once, until it is fine again" in the
//! watchdog (a corrupt state file, a failing handoff check, an unwritable `wake.json`, a
//! `process_name` that never matches).

/// A latch that says "report now" once, then stays quiet until [`ReportOnce::reset`]: a
/// problem seen every tick is logged (and its event emitted) on the first tick only, and
/// again only after a tick without it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportOnce(bool);

impl ReportOnce {
    /// Whether to report now: `true` the first time after a reset (or ever), then `false`.
    pub fn first(&mut self) -> bool {
        !std::mem::replace(&mut self.0, true)
    }

    /// The problem is gone: the next [`Self::first`] reports again. Returns whether it had
    /// been reported (to say it recovered).
    pub fn reset(&mut self) -> bool {
        std::mem::take(&mut self.0)
    }

    /// Whether it was reported and not reset since.
    pub fn is_set(&self) -> bool {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::ReportOnce;

    #[test]
    fn reports_once_until_reset() {
        let mut r = ReportOnce::default();
        assert!(!r.is_set());
        assert!(!r.reset(), "nothing reported yet");
        assert!(r.first());
        assert!(!r.first());
        assert!(r.is_set());
        assert!(r.reset());
        assert!(!r.reset());
        assert!(r.first(), "reported again after a reset");
    }
}
