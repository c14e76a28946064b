//! The restart policy (`[watchdog]` keys, seconds), as supervisord and systemd pace a
//! crashing service: the first restart is immediate; each further restart before the agent
//! ran `stable_after` waits twice as long (`backoff_initial`, 2×, 4×, … up to
//! `backoff_max`); when `max_restarts` restarts fall within `restart_window`, the agent is
//! `fatal`: no more restarts until `agents up <name>`. Pure: times are epoch seconds passed
//! in.

use crate::config::WatchdogSettings;

/// The policy's numbers, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// The wait before the second quick restart (`backoff_initial`); doubled for each further one.
    pub backoff_initial: f64,
    /// The longest wait between restarts (`backoff_max`).
    pub backoff_max: f64,
    /// More restarts than this within `restart_window` and the agent is given up on.
    pub max_restarts: u32,
    /// The window `max_restarts` counts in.
    pub restart_window: f64,
    /// Running this long resets the backoff to an immediate restart.
    pub stable_after: f64,
}

impl Policy {
    /// The policy of a config's `[watchdog]` table.
    pub fn of(w: &WatchdogSettings) -> Self {
        Self {
            backoff_initial: w.backoff_initial.as_secs_f64(),
            backoff_max: w.backoff_max.as_secs_f64(),
            max_restarts: w.max_restarts,
            restart_window: w.restart_window.as_secs_f64(),
            stable_after: w.stable_after.as_secs_f64(),
        }
    }
}

/// One agent's restarts, as the watchdog remembers them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Epoch seconds of the restarts still inside the window (oldest first).
    pub restarts: Vec<f64>,
    /// Restarts since the agent last ran `stable_after` (0: the next one is immediate).
    pub streak: u32,
    /// Epoch seconds of the last (re)start by the watchdog.
    pub last_start: Option<f64>,
    /// Given up: no restart until the operator's `agents up`.
    pub fatal: bool,
}

/// Why the watchdog restarts an agent: the `restart` event's `cause` (notifications tell a
/// stall restart by it, see `crate::notify::kind`; the `reason` is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartCause {
    /// A first start: an agent added by a reload whose session does not exist.
    New,
    /// Healing ([`crate::supervise::heal`]): its session is gone, its program exited, or
    /// the pane runs another backend's program.
    Gone,
    /// A dead or fatal screen, confirmed over [`crate::supervise::CONFIRM_READS`] readings.
    Fatal,
    /// Still idle `stall_idle` after a stall nudge ([`crate::supervise::stall`]).
    Stall,
}

impl RestartCause {
    /// `new`, `gone`, `fatal` or `stall`: the event's `cause`.
    pub fn as_str(self) -> &'static str {
        match self {
            RestartCause::New => "new",
            RestartCause::Gone => "gone",
            RestartCause::Fatal => "fatal",
            RestartCause::Stall => "stall",
        }
    }
}

/// What the policy says about restarting now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// Restart now.
    Now,
    /// Back off: not before this epoch second.
    Wait {
        /// Epoch seconds.
        until: f64,
    },
    /// Too many restarts within the window: the agent is now `fatal` (record it once).
    GiveUp {
        /// The restarts within the window, this one included.
        restarts: usize,
    },
    /// Already fatal.
    Fatal,
}

impl History {
    /// Restarts within the window ending at `now`.
    pub fn recent(&self, p: &Policy, now: f64) -> usize {
        self.restarts
            .iter()
            .filter(|&&t| now - t < p.restart_window)
            .count()
    }

    /// Whether the agent ran long enough since its last start to count as stable.
    fn stable(&self, p: &Policy, now: f64) -> bool {
        self.last_start.is_none_or(|t| now - t >= p.stable_after)
    }

    /// The verdict for an agent that needs a restart at `now`.
    pub fn verdict(&self, p: &Policy, now: f64) -> Verdict {
        if self.fatal {
            return Verdict::Fatal;
        }
        let recent = self.recent(p, now);
        if recent >= p.max_restarts as usize {
            return Verdict::GiveUp { restarts: recent };
        }
        if self.stable(p, now) || self.streak == 0 {
            return Verdict::Now;
        }
        let delay = (p.backoff_initial * 2f64.powi(self.streak.min(30).cast_signed() - 1))
            .min(p.backoff_max);
        let at = self.last_start.unwrap_or(now) + delay;
        if at > now {
            Verdict::Wait { until: at }
        } else {
            Verdict::Now
        }
    }

    /// Records a restart of an agent held by a usage limit (its session was gone or its
    /// program exited): paced like any restart, but it spends no restart budget — a limit
    /// never makes an agent `fatal`.
    pub fn record_held(&mut self, p: &Policy, now: f64) {
        let budget = std::mem::take(&mut self.restarts);
        self.record(p, now);
        self.restarts = budget;
        self.restarts.retain(|&t| now - t < p.restart_window);
    }

    /// Records a restart at `now`.
    pub fn record(&mut self, p: &Policy, now: f64) {
        self.streak = if self.stable(p, now) {
            1
        } else {
            self.streak + 1
        };
        self.last_start = Some(now);
        self.restarts.retain(|&t| now - t < p.restart_window);
        self.restarts.push(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            backoff_initial: 30.0,
            backoff_max: 600.0,
            max_restarts: 5,
            restart_window: 900.0,
            stable_after: 1800.0,
        }
    }

    #[test]
    fn crash_loop_backs_off_exponentially_then_gives_up() {
        let p = policy();
        let mut h = History::default();
        // Each start dies a second later.
        let mut now = 100.0;
        let mut waits = Vec::new();
        loop {
            match h.verdict(&p, now) {
                Verdict::Now => {
                    h.record(&p, now);
                    now += 1.0;
                }
                Verdict::Wait { until } => {
                    waits.push(until - h.last_start.unwrap());
                    now = until;
                }
                Verdict::GiveUp { restarts } => {
                    assert_eq!(restarts, 5);
                    break;
                }
                Verdict::Fatal => unreachable!(),
            }
        }
        assert_eq!(waits, [30.0, 60.0, 120.0, 240.0]);
        assert_eq!(h.restarts.len(), 5);
        h.fatal = true;
        assert_eq!(h.verdict(&p, now + 10_000.0), Verdict::Fatal);
    }

    #[test]
    fn backoff_is_capped_and_a_stable_run_resets_it() {
        let mut p = policy();
        p.max_restarts = 100;
        p.backoff_max = 100.0;
        let mut h = History::default();
        h.record(&p, 0.0);
        assert_eq!(h.verdict(&p, 1.0), Verdict::Wait { until: 30.0 });
        for t in [30.0, 90.0, 210.0] {
            h.record(&p, t);
        }
        assert_eq!(h.verdict(&p, 211.0), Verdict::Wait { until: 310.0 });
        // Ran 1800 s: immediate again, and the streak starts over.
        assert_eq!(h.verdict(&p, 210.0 + 1800.0), Verdict::Now);
        h.record(&p, 2010.0);
        assert_eq!(h.streak, 1);
        assert_eq!(h.verdict(&p, 2011.0), Verdict::Wait { until: 2040.0 });
    }

    #[test]
    fn restarts_of_a_held_agent_are_paced_but_spend_no_budget() {
        let p = policy();
        let mut h = History::default();
        h.record_held(&p, 0.0);
        assert_eq!(h.recent(&p, 1.0), 0);
        assert_eq!(h.verdict(&p, 1.0), Verdict::Wait { until: 30.0 });
        for t in [30.0, 90.0, 210.0, 450.0, 900.0] {
            h.record_held(&p, t);
        }
        assert_eq!(h.recent(&p, 901.0), 0);
        assert!(matches!(h.verdict(&p, 901.0), Verdict::Wait { .. }));
    }

    #[test]
    fn restarts_spread_beyond_the_window_never_give_up() {
        let p = policy();
        let mut h = History::default();
        for i in 0..20 {
            let now = f64::from(i) * 1000.0;
            assert_eq!(h.verdict(&p, now), Verdict::Now);
            h.record(&p, now);
        }
        assert_eq!(h.recent(&p, 19_000.0), 1);
    }
}
