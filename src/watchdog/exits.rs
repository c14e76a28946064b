//! Waiting for the exit status of a pane just seen dead, before the tick reads it. tmux marks
//! a pane dead when its output ends and learns the exit status when it reaps the process, a
//! moment later: a watchdog woken by the `pane-died` hook can see a dead pane without its
//! status. For a pane newly seen so (once per dead pane, not again on later ticks),
//! `list-panes` is asked again, every [`EXIT_STATUS_POLL`] up to [`EXIT_STATUS_POLLS`]
//! times, so the restart says how the program exited.

use std::collections::HashMap;

use super::tick::Mem;
use crate::config::Agent;
use crate::ctx::Ctx;
use crate::tmux::{PaneInfo, Sessions};

/// How often, and how many times, `list-panes` is asked again for the exit status of a pane
/// just seen dead without one ([`settle`]): one second at most.
const EXIT_STATUS_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// See [`EXIT_STATUS_POLL`].
const EXIT_STATUS_POLLS: u32 = 10;

/// Whether `pane` is worth asking again for its exit status: dead without one, and not the
/// pane (by pid) that was already waited for (`waited`), whose status never came. A pane
/// whose process was killed by a signal tmux names (`#{pane_dead_signal}`, tmux 3.3) has
/// no exit status to wait for: tmux 3.3a leaves `#{pane_dead_status}` empty then, and every
/// restart of a killed program waited the whole second for it (the restart-latency
/// benchmark: 1.7 s from `kill PID` to the new pane, against 0.13 s for a killed session).
fn awaits_status(pane: &PaneInfo, waited: Option<u32>) -> bool {
    pane.dead && pane.dead_status.is_none() && pane.dead_signal.is_none() && waited != pane.pid
}

/// The names of the `watched` agents whose pane in `s` [`awaits_status`].
fn unsettled(s: &Sessions, mem: &HashMap<String, Mem>, watched: &[&Agent]) -> Vec<String> {
    watched
        .iter()
        .filter(|a| {
            s.get(&a.session)
                .is_some_and(|p| awaits_status(p, mem.get(&a.name).and_then(|m| m.exit_waited)))
        })
        .map(|a| a.name.clone())
        .collect()
}

/// Asks `list-panes` again while a watched agent's pane in `sessions` [`awaits_status`]
/// (see the module doc), and remembers in `mem` which dead pane was waited for. Returns the
/// newer listing, if one was taken.
pub(super) async fn settle(
    ctx: &Ctx,
    sessions: &Sessions,
    watched: &[&Agent],
    mem: &mut HashMap<String, Mem>,
) -> Option<Sessions> {
    let first = unsettled(sessions, mem, watched);
    if first.is_empty() {
        return None;
    }
    let mut latest = None;
    for _ in 0..EXIT_STATUS_POLLS {
        tokio::time::sleep(EXIT_STATUS_POLL).await;
        let Ok(now) = ctx.mux.sessions().await else {
            break;
        };
        let done = unsettled(&now, mem, watched).is_empty();
        latest = Some(now);
        if done {
            break;
        }
    }
    let last = latest.as_ref().unwrap_or(sessions);
    for name in first {
        let session = &ctx.cfg.agent(&name).expect("a watched agent").session;
        mem.entry(name).or_default().exit_waited = last.get(session).and_then(|p| p.pid);
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::awaits_status;
    use crate::tmux::PaneInfo;

    #[test]
    fn only_a_dead_pane_without_status_not_yet_waited_for_is_asked_again() {
        let dead = PaneInfo {
            dead: true,
            dead_status: None,
            dead_signal: None,
            pid: Some(42),
            command: "claude".into(),
        };
        assert!(awaits_status(&dead, None));
        // Another pane (a restart's) died since the last wait.
        assert!(awaits_status(&dead, Some(41)));
        // This very pane was waited for: its status never came, do not wait every tick.
        assert!(!awaits_status(&dead, Some(42)));
        let with_status = PaneInfo {
            dead_status: Some(1),
            dead_signal: None,
            ..dead.clone()
        };
        assert!(!awaits_status(&with_status, None));
        let killed = PaneInfo {
            dead_signal: Some(15),
            ..dead.clone()
        };
        assert!(!awaits_status(&killed, None));
        let live = PaneInfo {
            dead: false,
            ..dead
        };
        assert!(!awaits_status(&live, None));
    }
}
