//! SPEC §6 — the watchdog: one process per fleet, in its own tmux session, that keeps every
//! watched agent alive.
//!
//! Ticks are wall-clock deadlines (SPEC defect 13): a light tick every `signal_interval`
//! (sessions that are gone or whose program exited are restarted, defect 19) and a heavy tick
//! every `heavy_interval`, the first one at once (phase advance; backend mismatch and fatal
//! screens). The config is re-read every tick; an invalid one keeps the last good one
//! (defect 1). One watchdog per fleet: an OS lock in the state dir (defect 20). SIGTERM,
//! SIGINT and SIGHUP (its tmux session closed) stop it cleanly. Every decision is a line in
//! `events.jsonl`. Usage limits, stalls, wake schedules and handoff pings come next; the heal
//! decision already holds still for an agent whose limit state file is current.

pub mod advance;
pub mod backoff;
pub mod heal;
pub mod reload;

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use crate::config::{self, EnvOverrides, Watch};
use crate::ctx::Ctx;
use crate::detect;
use crate::launch;
use backoff::Backoff;
use heal::{Action, Seen};
use reload::{Refresh, Reloader};

/// Restart pacing cap: never wait longer than this between restarts of a failing agent.
const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// Command-line options of `agents watchdog`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Run one light + heavy tick and exit.
    pub once: bool,
}

/// Runs the watchdog for the config at `path` until a signal stops it.
pub async fn run(path: &Path, opts: Options) -> anyhow::Result<ExitCode> {
    let cfg = config::load(path, EnvOverrides::Ignore)?;
    crate::commands::log_warnings(&cfg);
    let mut ctx = Ctx::new(cfg, "watchdog");
    ctx.tmux.check_version().await?;
    let mut lock = crate::state::lock::acquire(&ctx.state.lock_path())?;
    let mut reloader = Reloader::new(path);
    let mut wd = Watchdog::new(&ctx);

    let watching: Vec<&str> = ctx
        .cfg
        .agents
        .iter()
        .filter(|a| a.enabled && a.watch != Watch::None)
        .map(|a| a.name.as_str())
        .collect();
    let phase = crate::phase::current(&ctx.cfg, &ctx.state).map_or("-".to_string(), |(i, p)| {
        format!("{} [{}/{}]", p.id, i + 1, ctx.cfg.loop_.phases.len())
    });
    tracing::info!(
        "watchdog up (pid {}) — phase={phase} signal={:?} heavy={:?}, watching: {}",
        std::process::id(),
        ctx.cfg.watchdog.signal_interval,
        ctx.cfg.watchdog.heavy_interval,
        if watching.is_empty() {
            "nothing".to_string()
        } else {
            watching.join(", ")
        }
    );
    ctx.events.emit(
        "watchdog-start",
        json!({"pid": std::process::id(), "config": ctx.cfg.path}),
    );

    if opts.once {
        wd.tick(&ctx, true).await;
        ctx.events
            .emit("watchdog-stop", json!({"reason": "--once"}));
        return Ok(ExitCode::SUCCESS);
    }

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let start = Instant::now();
    let (mut next_light, mut next_heavy) = (start, start);
    let reason = loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next_light.min(next_heavy)) => {}
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            _ = hup.recv() => break "SIGHUP (its tmux session was closed)",
        }
        let now = Instant::now();
        let heavy = now >= next_heavy;
        let mut next_cfg = None;
        match reloader.refresh(&mut next_cfg) {
            Refresh::Unchanged => {}
            Refresh::Applied => {
                let cfg = next_cfg.expect("Applied sets the config");
                tracing::info!("config {} changed — applied", cfg.path.display());
                crate::commands::log_warnings(&cfg);
                ctx = Ctx::new(cfg, "watchdog");
                ctx.events.emit("config-applied", json!({}));
            }
            Refresh::Invalid { error, first } => {
                if first {
                    tracing::error!(
                        "{}\nkeeping the last good config until the file is fixed",
                        error.trim_end()
                    );
                    ctx.events.emit("config-invalid", json!({"error": error}));
                }
            }
        }
        // The lock file (or the state dir, or log_dir in a new config) may have gone:
        // take the lock again where it now belongs, or give way to a watchdog that has it.
        if !lock.still_at_path() || lock.path != ctx.state.lock_path() {
            match crate::state::lock::acquire(&ctx.state.lock_path()) {
                Ok(l) => {
                    tracing::warn!(
                        "the watchdog lock {} was removed or moved; taken again",
                        l.path.display()
                    );
                    lock = l;
                }
                Err(e) => {
                    tracing::error!("{e}; this watchdog stops");
                    ctx.events.emit(
                        "watchdog-stop",
                        json!({"reason": "another watchdog holds the lock"}),
                    );
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        wd.tick(&ctx, heavy).await;
        let w = &ctx.cfg.watchdog;
        let after = Instant::now();
        while next_light <= after {
            next_light += w.signal_interval;
        }
        if heavy {
            while next_heavy <= after {
                next_heavy += w.heavy_interval;
            }
        }
    };
    tracing::info!("watchdog stopping: {reason}");
    ctx.events.emit("watchdog-stop", json!({"reason": reason}));
    Ok(ExitCode::SUCCESS)
}

/// Whether a `footer_ui` backend's session log was written within its `log_grace`.
fn log_touched_within(log: &Path, backend: &crate::config::Backend) -> bool {
    backend.footer_ui
        && std::fs::metadata(log)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age <= backend.log_grace)
}

/// State kept across ticks.
#[derive(Debug)]
pub struct Watchdog {
    backoff: Backoff,
    tmux_error: Option<String>,
}

impl Watchdog {
    pub fn new(ctx: &Ctx) -> Self {
        let w = &ctx.cfg.watchdog;
        let stable = (w.signal_interval * 3).max(Duration::from_secs(60));
        Self {
            backoff: Backoff::new(w.signal_interval, BACKOFF_CAP, stable),
            tmux_error: None,
        }
    }

    /// One tick: heal every watched agent; on a heavy tick also advance the phase and read
    /// the panes of live agents (one tmux call for all captures).
    pub async fn tick(&mut self, ctx: &Ctx, heavy: bool) {
        let cfg = &ctx.cfg;
        let w = &cfg.watchdog;
        self.backoff.base = w.signal_interval;
        if heavy && advance::check(ctx).await {
            return;
        }
        let sessions = match ctx.tmux.sessions().await {
            Ok(s) => {
                if self.tmux_error.take().is_some() {
                    tracing::info!("tmux answers again");
                }
                s
            }
            Err(e) => {
                let msg = e.to_string();
                if self.tmux_error.as_deref() != Some(msg.as_str()) {
                    tracing::error!("cannot list tmux sessions: {msg}; retrying every tick");
                    ctx.events.emit("tmux-error", json!({"error": msg}));
                }
                self.tmux_error = Some(msg);
                return;
            }
        };
        let watched: Vec<_> = cfg
            .agents
            .iter()
            .filter(|a| a.enabled && a.watch != Watch::None)
            .collect();
        let readings: HashMap<String, detect::Reading> = if heavy {
            let live: Vec<String> = watched
                .iter()
                .filter(|a| sessions.is_live(&a.session))
                .map(|a| a.session.clone())
                .collect();
            let panes = ctx.tmux.capture_many(&live).await;
            watched
                .iter()
                .filter_map(|a| {
                    let pane = panes.get(&a.session)?;
                    Some((a.session.clone(), detect::read(cfg.backend_of(a), pane)))
                })
                .collect()
        } else {
            HashMap::new()
        };
        let known: Vec<String> = cfg
            .backends
            .values()
            .filter_map(|b| b.process_name.clone())
            .collect();
        let sequence_complete = ctx.state.sequence_complete();
        let now = std::time::Instant::now();
        let epoch = chrono::Utc::now().timestamp() as f64;
        let mut restarts = Vec::new();
        for a in watched {
            let down = ctx.state.is_down(&a.name);
            if down {
                self.backoff.forget(&a.name);
            }
            let seen = Seen {
                pane: sessions.get(&a.session),
                reading: readings.get(&a.session),
                down,
                done: ctx.state.is_done(&a.name),
                limited: matches!(ctx.state.limit(&a.session), Ok(Some(l)) if l.until > epoch),
                recent_log: heavy
                    && log_touched_within(&cfg.session_log(&a.session), cfg.backend_of(a)),
                sequence_complete,
                known_processes: &known,
            };
            match heal::decide(a, cfg.backend_of(a), &seen, heavy) {
                Action::Nothing => {}
                Action::MarkDone(status) => {
                    match status {
                        Some(s) => tracing::info!(
                            "task {} finished with status {s} — done; it will not be restarted",
                            a.name
                        ),
                        None => tracing::warn!(
                            "task {} finished (tmux lost its exit status) — taken as done; `agents up {}` runs it again",
                            a.name,
                            a.name
                        ),
                    }
                    if let Err(e) = ctx.state.set_done(&a.name) {
                        tracing::error!("cannot record that {} is done: {e}", a.name);
                    }
                    ctx.events.emit(
                        "task-done",
                        json!({"name": a.name, "session": a.session, "exit_status": status}),
                    );
                }
                Action::Restart(reason) => {
                    if let Some(at) = self.backoff.wait_until(&a.name, now) {
                        tracing::debug!(
                            "{} needs a restart ({reason}); backing off for {:?}",
                            a.name,
                            at - now
                        );
                        continue;
                    }
                    self.backoff.attempt(&a.name, now);
                    match launch::prepare_agent(ctx, a, seen.pane.is_some()) {
                        Ok(p) => {
                            tracing::info!("{} ({}) {reason} — restarting", a.name, a.session);
                            restarts.push((p, reason));
                        }
                        Err(e) => {
                            if self.backoff.error(&a.name, &e) {
                                tracing::error!(
                                    "cannot restart {} ({reason}): {e}; retrying with backoff",
                                    a.name
                                );
                                ctx.events.emit("restart-failed", json!({"name": a.name, "session": a.session, "reason": reason, "error": e}));
                            }
                        }
                    }
                }
            }
        }
        for (name, r) in launch::launch(ctx, &restarts, "restart").await {
            if let Err(e) = r
                && self.backoff.error(&name, &e)
            {
                tracing::error!("{e}; retrying with backoff");
            }
        }
    }
}
