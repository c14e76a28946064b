//! What tells whether an agent's pane still runs its program, followed across ticks, pure:
//! the process its session was started with (recorded at launch, followed in `/proc` by the
//! caller) and whether the pane has shown the backend's `process_name` since that start. A
//! `process_name` never shown within [`PROCESS_NAME_GRACE`] is warned about once per agent:
//! liveness is then read from the process only (a bare shell in the pane is not taken for a
//! crash, since the name is no evidence).

use serde_json::json;

use crate::config::{Agent, Backend};
use crate::detect::{Liveness, Process};
use crate::supervise::agent::Event;
use crate::tmux::PaneInfo;

/// How long the pane of a backend that declares `process_name` may run something else (a
/// wrapper, a launcher) before the watchdog warns that the name never matches, in seconds.
pub const PROCESS_NAME_GRACE: f64 = 10.0;

/// What is remembered of one agent's current start.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Follow {
    /// The `started` stamp (manifest) of the session being followed.
    launch: Option<String>,
    /// The pane showed the backend's `process_name` since that start (see
    /// [`Liveness::showed_program`]).
    showed_program: bool,
    /// When this start was first seen live (epoch seconds): the `process_name` warning waits
    /// [`PROCESS_NAME_GRACE`] from it (a wrapper may set things up before it execs).
    live_since: Option<f64>,
    /// The warning that `process_name` never matches what the pane runs was given.
    name_warned: crate::state::ReportOnce,
}

impl Follow {
    /// Follows agent `a`'s pane one tick: `stamp` is the `started` stamp of its session's
    /// manifest entry, `process` what became of the process it was started with (`None`
    /// for a dead or missing pane). Returns the liveness to read the pane with, and the
    /// `process-name` warning when it is due (once per agent).
    pub fn step(
        &mut self,
        a: &Agent,
        backend: &Backend,
        pane: Option<&PaneInfo>,
        stamp: Option<&str>,
        process: Option<Process>,
        now: f64,
    ) -> (Liveness, Option<Event>) {
        if self.launch.as_deref() != stamp {
            self.launch = stamp.map(str::to_string);
            self.showed_program = false;
            self.live_since = None;
        }
        let (Some(p), Some(process)) = (pane.filter(|p| !p.dead), process) else {
            let live = Liveness {
                process: Process::Unknown,
                showed_program: self.showed_program,
            };
            return (live, None);
        };
        let since = *self.live_since.get_or_insert(now);
        let mut warning = None;
        if let Some(expected) = &backend.process_name {
            if p.command == *expected {
                self.showed_program = true;
            } else if !self.showed_program
                && now - since >= PROCESS_NAME_GRACE
                && self.name_warned.first()
            {
                warning = Some(Event {
                    event: "process-name",
                    why: format!(
                        "backend {} declares process_name {expected:?} but the pane of {} runs {:?}; liveness is read from the process instead (a bare shell there is not taken for a crash)",
                        backend.name, a.name, p.command
                    ),
                    fields: json!({"process_name": expected, "command": p.command}),
                });
            }
        }
        let live = Liveness {
            process,
            showed_program: self.showed_program,
        };
        (live, warning)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EnvOverrides, parse};

    #[test]
    fn a_process_name_never_shown_is_warned_about_once_after_the_grace() {
        let c = parse(
            std::path::Path::new("/tmp/agents.toml"),
            "[defaults]\nsession_prefix = \"t-\"\nlog_dir = \"l\"\n[backend.b]\nbin = \"b\"\nprocess_name = \"node\"\n[[agent]]\nname = \"a\"\nbackend = \"b\"\n",
            EnvOverrides::Ignore,
        )
        .unwrap();
        let a = c.agent("a").unwrap();
        let b = c.backend_of(a);
        let wrapper = PaneInfo {
            dead: false,
            dead_status: None,
            dead_signal: None,
            pid: Some(7),
            command: "bash".into(),
        };
        let mut f = Follow::default();
        let t = 1000.0;
        let step = |f: &mut Follow, p: &PaneInfo, stamp, now| {
            f.step(a, b, Some(p), Some(stamp), Some(Process::Unknown), now)
        };
        assert!(step(&mut f, &wrapper, "s1", t).1.is_none());
        let (live, w) = step(&mut f, &wrapper, "s1", t + PROCESS_NAME_GRACE);
        assert!(!live.showed_program);
        assert_eq!(w.expect("warned").event, "process-name");
        assert!(step(&mut f, &wrapper, "s1", t + 100.0).1.is_none(), "once");
        // The program shows: a bare shell after it is evidence from now on, until a new start.
        let node = PaneInfo {
            command: "node".into(),
            ..wrapper.clone()
        };
        assert!(step(&mut f, &node, "s1", t + 101.0).0.showed_program);
        assert!(step(&mut f, &wrapper, "s1", t + 102.0).0.showed_program);
        assert!(!step(&mut f, &wrapper, "s2", t + 103.0).0.showed_program);
    }
}
