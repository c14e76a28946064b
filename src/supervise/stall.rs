//! The stall state machine (`watch = "heal+stall"`, SPEC §6), pure. Idle time counts from
//! the first idle reading. An agent idle for `stall_idle` is nudged (`stall_nudge`); still
//! idle another `stall_idle` after the nudge, it is restarted. A `WAITING-UNTIL: <time>`
//! marker means the agent sleeps on purpose: it is stalled only past that time plus
//! `stall_grace`. Only `idle` counts: activity starts over, and a limit, a dialog (it waits
//! for a person: reported, never killed), a fatal screen or a dead pane is never a stall.

use crate::detect::State;

/// One agent's idle clock (epoch seconds), kept in the watchdog's memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stall {
    /// First idle reading of the current idle stretch.
    pub idle_since: Option<f64>,
    /// When the stall nudge was typed in this stretch.
    pub nudged_at: Option<f64>,
}

/// How the reason of a stall restart begins (`restart` events carry it, for people;
/// notifications of kind `stall` are recognised by the event's `cause`,
/// [`crate::supervise::restart::RestartCause::Stall`]).
pub const RESTART_REASON: &str = "stalled:";

/// What to do this tick.
#[derive(Debug, Clone, PartialEq)]
pub enum StallStep {
    /// Not idle, sleeping on purpose (`WAITING-UNTIL:` plus grace), or not idle long enough
    /// yet for a nudge (or, after one, for a restart).
    Nothing,
    /// Type the stall nudge.
    Nudge {
        /// How long the agent has been idle, seconds.
        idle: f64,
    },
    /// Still idle after the nudge: restart, for this reason.
    Restart(String),
}

impl Stall {
    /// Advances the clock with this tick's `state`. `waiting_until` is the epoch second of a
    /// `WAITING-UNTIL:` marker on screen; `stall_idle` and `grace` are seconds.
    pub fn step(
        &mut self,
        state: State,
        waiting_until: Option<f64>,
        now: f64,
        stall_idle: f64,
        grace: f64,
    ) -> StallStep {
        if state != State::Idle {
            *self = Stall::default();
            return StallStep::Nothing;
        }
        let since = *self.idle_since.get_or_insert(now);
        // Sleeping on purpose: the clock starts when the marker's time + grace has passed.
        let start = match waiting_until {
            Some(w) if now < w + grace => return StallStep::Nothing,
            Some(w) => since.max(w + grace - stall_idle),
            None => since,
        };
        match self.nudged_at {
            None if now - start >= stall_idle => {
                self.nudged_at = Some(now);
                StallStep::Nudge { idle: now - since }
            }
            Some(t) if now - t >= stall_idle => {
                *self = Stall::default();
                StallStep::Restart(format!(
                    "{RESTART_REASON} idle {:.0} s, and still idle {:.0} s after a nudge",
                    now - since,
                    now - t
                ))
            }
            _ => StallStep::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_then_nudge_then_restart_and_activity_starts_over() {
        let mut s = Stall::default();
        assert_eq!(
            s.step(State::Idle, None, 0.0, 100.0, 30.0),
            StallStep::Nothing
        );
        assert_eq!(
            s.step(State::Idle, None, 99.0, 100.0, 30.0),
            StallStep::Nothing
        );
        assert_eq!(
            s.step(State::Idle, None, 100.0, 100.0, 30.0),
            StallStep::Nudge { idle: 100.0 }
        );
        assert_eq!(
            s.step(State::Idle, None, 150.0, 100.0, 30.0),
            StallStep::Nothing
        );
        assert!(matches!(
            s.step(State::Idle, None, 200.0, 100.0, 30.0),
            StallStep::Restart(r) if r.contains("after a nudge")
        ));
        // Work in between starts the clock over.
        let mut s = Stall::default();
        s.step(State::Idle, None, 0.0, 100.0, 30.0);
        s.step(State::Active, None, 90.0, 100.0, 30.0);
        assert_eq!(
            s.step(State::Idle, None, 150.0, 100.0, 30.0),
            StallStep::Nothing
        );
    }

    #[test]
    fn dialogs_limits_and_waiting_markers_are_not_stalls() {
        let mut s = Stall::default();
        for st in [State::Dialog, State::Limited, State::Fatal, State::Dead] {
            assert_eq!(s.step(st, None, 10_000.0, 1.0, 1.0), StallStep::Nothing);
        }
        let mut s = Stall::default();
        // Sleeping until t=1000 with 30 s grace: nothing until 1030, then idle counts.
        assert_eq!(
            s.step(State::Idle, Some(1000.0), 0.0, 100.0, 30.0),
            StallStep::Nothing
        );
        assert_eq!(
            s.step(State::Idle, Some(1000.0), 1029.0, 100.0, 30.0),
            StallStep::Nothing
        );
        assert!(matches!(
            s.step(State::Idle, Some(1000.0), 1030.0, 100.0, 30.0),
            StallStep::Nudge { .. }
        ));
    }
}
