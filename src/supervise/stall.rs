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

/// How many `stall_idle` periods after its start an agent that has not been seen working
/// yet is nudged, at the soonest: its kickoff is its first turn, and a CLI may show its idle
/// prompt long before it runs it (Gemini CLI 0.61.0 drew " >   Type your message" 0.8 s
/// before it submitted its `-i` prompt on an idle machine, and started its kickoff turn about
/// 50 s after launch when 29 CLIs started at once on 2 cores: the stall nudge typed into that
/// prompt went to the API as a turn of its own). An agent seen working once is timed by its
/// idle stretches alone.
pub const FIRST_TURN: f64 = 3.0;

/// Whether a started agent's first turn (its kickoff) has been seen, kept in the watchdog's
/// memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirstTurn {
    /// The start this is about: the manifest's start (epoch seconds), or `None` when unknown.
    start: Option<f64>,
    /// The first reading of this start (epoch seconds): the start when it is unknown.
    first_read: Option<f64>,
    /// The agent was read working (`active`, or limited mid-turn) since this start.
    seen: bool,
}

impl FirstTurn {
    /// Takes this tick's reading: `start` is the epoch second the agent's process was
    /// started (the manifest's stamp; a new one starts over), `state` what its screen or
    /// hooks say, `now` epoch seconds.
    pub fn observe(&mut self, start: Option<f64>, state: State, now: f64) {
        if start != self.start {
            *self = FirstTurn {
                start,
                ..FirstTurn::default()
            };
        }
        self.first_read.get_or_insert(now);
        if matches!(state, State::Active | State::Limited) {
            self.seen = true;
        }
    }

    /// Whether the agent is still starting at `now`: not seen working since its start, and
    /// less than `(FIRST_TURN - 1) × stall_idle` seconds after it, so that with the idle
    /// stretch the stall clock times after that, no nudge comes sooner than
    /// [`FIRST_TURN`] `× stall_idle` after the start.
    pub fn starting(&self, now: f64, stall_idle: f64) -> bool {
        let Some(from) = self.start.or(self.first_read) else {
            return true;
        };
        !self.seen && now - from < (FIRST_TURN - 1.0) * stall_idle
    }
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
    fn the_first_turn_waits_until_it_is_seen_or_its_time_has_passed() {
        let mut f = FirstTurn::default();
        // Started at 1000, stall_idle 20: starting until 1040 unless seen working.
        f.observe(Some(1000.0), State::Idle, 1010.0);
        assert!(f.starting(1010.0, 20.0));
        assert!(f.starting(1039.0, 20.0));
        assert!(!f.starting(1040.0, 20.0));
        // Seen working: starting no more.
        let mut f = FirstTurn::default();
        f.observe(Some(1000.0), State::Idle, 1001.0);
        f.observe(Some(1000.0), State::Active, 1002.0);
        f.observe(Some(1000.0), State::Idle, 1003.0);
        assert!(!f.starting(1003.0, 20.0));
        // A new start starts over.
        f.observe(Some(2000.0), State::Idle, 2001.0);
        assert!(f.starting(2001.0, 20.0));
        // No known start: timed from the first reading.
        let mut f = FirstTurn::default();
        f.observe(None, State::Idle, 500.0);
        f.observe(None, State::Idle, 539.0);
        assert!(f.starting(539.0, 20.0));
        assert!(!f.starting(540.0, 20.0));
        // A limited turn is a turn.
        let mut f = FirstTurn::default();
        f.observe(None, State::Limited, 500.0);
        assert!(!f.starting(501.0, 20.0));
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
