//! The session-level heal decision for one watched agent (SPEC §6), pure: what tmux shows
//! in, an [`Action`] out. (What the pane *says* — fatal screens, limits, stalls, dialogs — is
//! read by `detect` and decided by `supervise`.)
//!
//! Every tick: a session that is gone, or whose program exited, is started again (SPEC
//! defect 19: not only on the heavy tick); a `task` agent that exited with status 0 is done,
//! not dead (defect 6). Heavy tick, live sessions: a pane running another known backend's
//! process is restarted. Agents the operator stopped (`down`) are left alone (defect 22).

use crate::config::{Agent, Backend, Kind, Watch};
use crate::tmux::PaneInfo;

/// What to do with one agent this tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Leave it alone: running as it should, disabled, not watched, stopped by the operator,
    /// a finished task, or a loop agent after the sequence completed.
    Nothing,
    /// Start it again; the reason is logged and recorded in `events.jsonl`.
    Restart(String),
    /// A task finished with status 0 (`None`: tmux lost the status, see `decide`): record
    /// it and never restart it.
    MarkDone(Option<i32>),
}

/// What the watchdog knows about one agent this tick.
#[derive(Debug, Clone)]
pub struct Seen<'a> {
    /// The session's current pane, `None` if the session does not exist.
    pub pane: Option<&'a PaneInfo>,
    /// The operator stopped it (`state/down-<agent>`).
    pub down: bool,
    /// A task that already finished (`state/done-<agent>`).
    pub done: bool,
    /// `SEQUENCE-COMPLETE` exists: loop agents are no longer healed.
    pub sequence_complete: bool,
    /// Every backend's `process_name`.
    pub known_processes: &'a [String],
}

/// Decides what to do with `agent` on this tick (`heavy` adds the backend-mismatch check).
pub fn decide(agent: &Agent, backend: &Backend, seen: &Seen, heavy: bool) -> Action {
    if !agent.enabled || agent.watch == Watch::None || seen.down || seen.done {
        return Action::Nothing;
    }
    if seen.sequence_complete && agent.kind == Kind::Loop {
        return Action::Nothing;
    }
    let Some(pane) = seen.pane else {
        return Action::Restart("session gone".into());
    };
    if pane.dead {
        return match pane.dead_status {
            // tmux 3.3a sometimes loses the exit status of a pane created by the call that
            // started its server; a one-shot task is then taken as done rather than rerun.
            Some(0) | None if agent.kind == Kind::Task => Action::MarkDone(pane.dead_status),
            Some(s) => Action::Restart(format!("its program exited with status {s}")),
            None => Action::Restart("its program exited".into()),
        };
    }
    if !heavy {
        return Action::Nothing;
    }
    if let Some(expected) = &backend.process_name
        && pane.command != *expected
        && seen.known_processes.contains(&pane.command)
    {
        return Action::Restart(format!(
            "pane runs {:?}, expected {expected:?} (backend {})",
            pane.command, backend.name
        ));
    }
    Action::Nothing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EnvOverrides, parse};

    fn cfg() -> crate::config::Config {
        parse(
            std::path::Path::new("/tmp/agents.toml"),
            r#"
[defaults]
session_prefix = "t-"
log_dir = "l"
watch = "heal"
[backend.claude]
bin = "claude"
process_name = "claude"
[backend.codex]
bin = "codex"
process_name = "codex"
[[agent]]
name = "a"
backend = "claude"
[[agent]]
name = "job"
kind = "task"
backend = "claude"
[[agent]]
name = "off"
backend = "claude"
watch = "none"
"#,
            EnvOverrides::Ignore,
        )
        .unwrap()
    }

    fn pane(dead: bool, status: Option<i32>, cmd: &str) -> PaneInfo {
        PaneInfo {
            dead,
            dead_status: status,
            dead_signal: None,
            pid: Some(1),
            command: cmd.into(),
        }
    }

    fn seen<'a>(p: Option<&'a PaneInfo>, known: &'a [String]) -> Seen<'a> {
        Seen {
            pane: p,
            down: false,
            done: false,
            sequence_complete: false,
            known_processes: known,
        }
    }

    #[test]
    fn gone_and_exited_sessions_restart_on_light_ticks() {
        let c = cfg();
        let a = c.agent("a").unwrap();
        let b = c.backend_of(a);
        let known = vec![];
        assert_eq!(
            decide(a, b, &seen(None, &known), false),
            Action::Restart("session gone".into())
        );
        let p = pane(true, Some(1), "claude");
        assert!(
            matches!(decide(a, b, &seen(Some(&p), &known), false), Action::Restart(r) if r.contains("status 1"))
        );
    }

    #[test]
    fn defect_22_down_agents_stay_down() {
        let c = cfg();
        let a = c.agent("a").unwrap();
        let known = vec![];
        let mut s = seen(None, &known);
        s.down = true;
        assert_eq!(decide(a, c.backend_of(a), &s, true), Action::Nothing);
        let off = c.agent("off").unwrap();
        assert_eq!(
            decide(off, c.backend_of(off), &seen(None, &known), true),
            Action::Nothing
        );
    }

    #[test]
    fn defect_06_finished_task_is_done_not_dead() {
        let c = cfg();
        let t = c.agent("job").unwrap();
        let known = vec![];
        let ok = pane(true, Some(0), "claude");
        assert_eq!(
            decide(t, c.backend_of(t), &seen(Some(&ok), &known), false),
            Action::MarkDone(Some(0))
        );
        let failed = pane(true, Some(2), "claude");
        assert!(matches!(
            decide(t, c.backend_of(t), &seen(Some(&failed), &known), false),
            Action::Restart(_)
        ));
        let mut s = seen(None, &known);
        s.done = true;
        assert_eq!(decide(t, c.backend_of(t), &s, false), Action::Nothing);
    }

    #[test]
    fn heavy_tick_heals_a_backend_mismatch() {
        let c = cfg();
        let a = c.agent("a").unwrap();
        let b = c.backend_of(a);
        let known = vec!["claude".to_string(), "codex".to_string()];
        let codex = pane(false, None, "codex");
        assert!(
            matches!(decide(a, b, &seen(Some(&codex), &known), true), Action::Restart(r) if r.contains("expected \"claude\""))
        );
        assert_eq!(
            decide(a, b, &seen(Some(&codex), &known), false),
            Action::Nothing
        );
        let shell = pane(false, None, "bash");
        assert_eq!(
            decide(a, b, &seen(Some(&shell), &known), true),
            Action::Nothing
        );
        let live = pane(false, None, "claude");
        assert_eq!(
            decide(a, b, &seen(Some(&live), &known), true),
            Action::Nothing
        );
    }
}
