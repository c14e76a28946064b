//! Supervision policy: pure state machines over readings and an injected clock (epoch
//! seconds). [`agent`] holds the per-agent rule that combines them, in order (operator
//! intent, [`heal`], the limit hold, confirmation, dialogs, stalls, the restart verdict):
//! [`agent::step`] turns what the watchdog remembers and observed into a decision.
//! [`heal`] restarts a session that is gone or exited, [`limit`] holds an agent through a
//! usage limit, [`stall`] nudges and then restarts an idle one, [`restart`] paces restarts
//! and gives up on a crash loop, [`liveness`] follows whether a pane still runs its program.
//! [`Confirm`] keeps a destructive action (kill, restart) from resting on a single
//! observation. [`handoff`] decides the handoff pings between a loop pair and when each is
//! typed. The watchdog (`crate::watchdog`) gathers the observations and carries out what the
//! rules decide.

pub mod agent;
pub mod handoff;
pub mod heal;
pub mod limit;
pub mod liveness;
pub mod restart;
pub mod stall;

use crate::detect::State;

/// Consecutive identical readings of one agent: a destructive action needs two in a row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Confirm {
    last: Option<State>,
    count: u32,
}

/// Readings in a row needed before a kill or restart.
pub const CONFIRM_READS: u32 = 2;

impl Confirm {
    /// Records this tick's state; returns how many consecutive readings showed it.
    pub fn observe(&mut self, state: State) -> u32 {
        if self.last == Some(state) {
            self.count += 1;
        } else {
            self.last = Some(state);
            self.count = 1;
        }
        self.count
    }

    /// Whether `state` has now been seen [`CONFIRM_READS`] times in a row.
    pub fn confirmed(&mut self, state: State) -> bool {
        self.observe(state) >= CONFIRM_READS
    }

    /// Forgets (after a restart, or when the agent is not read).
    pub fn reset(&mut self) {
        *self = Confirm::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_reads_in_a_row_confirm() {
        let mut c = Confirm::default();
        assert!(!c.confirmed(State::Fatal));
        assert!(c.confirmed(State::Fatal));
        assert!(!c.confirmed(State::Idle));
        assert!(!c.confirmed(State::Fatal));
        c.reset();
        assert!(!c.confirmed(State::Fatal));
    }
}
