//! What every verb works with: the loaded config, the tmux driver for its server (and the
//! [`Mux`] seam over it that supervision and typing act through), the state directory and
//! the event log.

use std::sync::Arc;

use crate::config::{Backend, Config, Hooks};
use crate::events::Events;
use crate::state::StateDir;
use crate::tmux::{Mux, Tmux};

/// What is known of an agent's pane beside its screen ([`Ctx::beside`]), for
/// [`crate::detect::observe`] and [`crate::detect::correct`].
#[derive(Debug, Clone, Default)]
pub struct Beside {
    /// How long ago a `footer_ui` backend's session log was written (`None` for the others).
    pub log_age: Option<std::time::Duration>,
    /// The newest hook signal of the process the pane runs (a backend with `hooks`).
    pub signal: Option<crate::state::signals::Signal>,
    /// When that signal is a `rate_limit` `StopFailure`: the reset (Unix seconds) of a used-up
    /// window the same process reported ([`Ctx::usage`]).
    pub blocked_until: Option<i64>,
    /// Lines at the end of the signals file, newer than that signal, that are not signals
    /// (not JSON, huge, torn: [`crate::state::signals::Scan::bad`]), skipped.
    pub bad_signals: usize,
    /// Why the signals file could not be read, when it exists but cannot be.
    pub signals_error: Option<String>,
}

impl Beside {
    /// The signal as detection reads it, with the status line's reset beside it.
    pub fn hook(&self) -> Option<crate::detect::Hook<'_>> {
        self.signal.as_ref().map(|s| crate::detect::Hook {
            blocked_until: self.blocked_until,
            ..s.hook()
        })
    }
}

/// One fleet, ready to act on.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The loaded config.
    pub cfg: Config,
    /// The real driver, for what only tmux does: its socket, attaching a terminal, control
    /// mode, the version check, `status`'s one-call listing.
    pub tmux: Tmux,
    /// What sessions are listed, read, started, typed into and killed through: `tmux`
    /// itself, or a [`crate::tmux::fake::FakeMux`] in tests ([`Ctx::with_mux`]).
    pub mux: Arc<dyn Mux>,
    /// The fleet's files under `log_dir` (`state/`).
    pub state: StateDir,
    /// `log_dir/events.jsonl`, and whom events are offered to.
    pub events: Events,
}

impl Ctx {
    /// Builds the context for `cfg`. The tmux server is `[defaults].tmux_socket`, else
    /// `$AGENTS_TMUX_SOCKET`, else the default server. `source` names the writer in events.
    pub fn new(cfg: Config, source: &'static str) -> Self {
        let tmux = Tmux::for_fleet(cfg.tmux_socket.as_deref());
        Self {
            mux: Arc::new(tmux.clone()),
            tmux,
            state: StateDir::new(&cfg),
            events: Events::new(&cfg.log_dir, source).rotating(cfg.log_max_bytes, cfg.log_files),
            cfg,
        }
    }

    /// The same context acting through `mux` (a fake multiplexer in tests) instead of tmux.
    #[must_use]
    pub fn with_mux(self, mux: Arc<dyn Mux>) -> Self {
        Self { mux, ..self }
    }

    /// What is known of `session`'s pane beside its screen: its session log's age when its
    /// `backend` is a `footer_ui` TUI, and the newest hook signal recorded since `started`
    /// (the manifest's RFC 3339 stamp of the session's start: a signal of the process before
    /// a restart does not count) when its backend has hooks; when that signal is a
    /// `rate_limit` `StopFailure`, the reset of a used-up window its status line reported
    /// (read only then).
    pub fn beside(&self, backend: &Backend, session: &str, started: Option<&str>) -> Beside {
        let log_age = backend
            .footer_ui
            .then(|| crate::logfile::age(&self.cfg.session_log(session)))
            .flatten();
        let since = started.and_then(crate::state::signals::started_epoch);
        let scan = (backend.hooks != Hooks::None)
            .then(|| crate::state::signals::scan(&self.state.signals_path(session), since));
        let bad_signals = scan.as_ref().map_or(0, |s| s.bad);
        let signals_error = scan.as_ref().and_then(|s| s.error.clone());
        let signal = scan.and_then(|s| s.found);
        let blocked_until = signal.as_ref().filter(|s| s.is_rate_limit()).and_then(|_| {
            let usage = self.usage(backend, session);
            crate::supervise::limit::reported_reset(usage.as_ref(), since)
        });
        Beside {
            log_age,
            signal,
            blocked_until,
            bad_signals,
            signals_error,
        }
    }

    /// The plan usage `session`'s CLI last reported, where its `backend`'s hooks make it
    /// known: `hooks = "claude"`, `state/usage-<session>.json` (its status line's JSON);
    /// `hooks = "codex"`, the newest `token_count` rate limits of the rollout file its hooks
    /// named ([`crate::state::rollout`], read now). `None` otherwise.
    pub fn usage(&self, backend: &Backend, session: &str) -> Option<crate::state::usage::Usage> {
        match backend.hooks {
            Hooks::Claude => crate::state::usage::read(&self.state.usage_path(session)),
            Hooks::Codex => crate::state::signals::transcript(&self.state.signals_path(session))
                .and_then(|f| crate::state::rollout::usage(&f)),
            Hooks::Gemini | Hooks::None => None,
        }
    }

    /// What names this fleet in the environment of the processes it starts
    /// (`AGENTS_FLEET`, see [`crate::launch::proctree::FLEET_VAR`]): its state directory
    /// and its tmux socket name (`|` then the name; nothing after `|` for the default
    /// server). Two fleets with the same session names differ here, so stopping one never
    /// touches the other's processes.
    pub fn fleet_id(&self) -> String {
        format!(
            "{}|{}",
            self.state.dir().display(),
            self.tmux.socket().unwrap_or("")
        )
    }
}
