//! SPEC §6 — the watchdog: one process per fleet, in its own tmux session, that keeps every
//! watched agent alive.
//!
//! Ticks are wall-clock deadlines (SPEC defect 13): a light tick every `signal_interval` reads
//! every watched agent's screen and supervises it ([`tick`]: restarts, limit holds, stalls,
//! dialogs); a heavy tick every `heavy_interval`, the first one at once, also advances the
//! phase and heals backend mismatches. Between ticks, a tmux control-mode client
//! ([`crate::tmux::control`]) wakes the watchdog as soon as a fleet session dies or is killed,
//! so it is restarted within a second whatever the light tick; the same client answers
//! `status`'s pane listing through a socket beside the server's ([`crate::tmux::relay`]), so a
//! `status` beside a running watchdog starts no tmux process. The config is re-read every
//! tick; an invalid one keeps the last good one (defect 1). One watchdog per fleet: an OS
//! lock in the state dir (defect 20). SIGTERM, SIGINT and SIGHUP (its tmux session closed)
//! stop it cleanly; so does the loss of the directory holding its config file (the project
//! deleted: nothing is left to supervise, and going on would create it again). A deleted
//! `log_dir` alone is made again: the project is still there. A changed `session_prefix`
//! moves its own session too ([`crate::launch::move_watchdog`]). Every decision is a line in
//! `events.jsonl`; the ones a person must hear about also run the `[notify]` command
//! ([`crate::notify`], in the background).

pub mod advance;
pub mod handoff;
pub mod reload;
pub mod tick;
pub mod wake;

mod apply;
mod exits;
#[cfg(test)]
pub(crate) mod fake_tests;
mod orphans;

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use crate::config::{self, EnvOverrides, Watch};
use crate::ctx::Ctx;
use reload::{Refresh, Reloader};
use tick::Ticker;

/// A tick skipped because `up` or `down` held the fleet is tried again after this long.
const SKIPPED_RETRY: Duration = Duration::from_millis(250);

/// A relay socket that could not be made is tried again after this long.
const RELAY_RETRY: Duration = Duration::from_secs(60);

/// Event-driven ticks come at most this often (a burst of kills is one tick).
const EVENT_GAP: Duration = Duration::from_millis(100);

/// Command-line options of `agents watchdog`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Run one light + heavy tick and exit.
    pub once: bool,
}

/// Runs the watchdog for the config at `path` until a signal stops it.
///
/// # Errors
///
/// The config cannot be loaded, tmux is missing or too old, another watchdog holds the
/// fleet's lock (or it cannot be taken), the signal handlers cannot be installed.
///
/// # Panics
///
/// Never: the one `expect` restates that a reload reported `Applied` has set the config.
pub async fn run(path: &Path, opts: Options) -> anyhow::Result<ExitCode> {
    let mut cfg = config::load(path, EnvOverrides::Ignore)?;
    config::check_handoff_repo(&mut cfg, |p| {
        crate::git::probe(p).map_err(|e| e.to_string())
    });
    crate::config::log_warnings(&cfg);
    let mut ctx = Ctx::new(cfg, "watchdog");
    // Only the watchdog notifies (crate::notify): its events are offered to `[notify]`.
    let notifier = crate::notify::Notifier::new(&ctx.cfg);
    ctx.events = ctx.events.with_sink(notifier.clone());
    ctx.tmux.check_version().await?;
    let mut lock = crate::state::lock::acquire(&ctx.state.lock_path())
        .map_err(|e| anyhow::anyhow!(e.as_watchdog()))?;
    // The lock made log_dir if it was missing: it is followed from now on.
    let mut fleet_dir = FleetDirWatch::default();
    fleet_dir.gone(config_dir(&ctx.cfg));
    let mut reloader = Reloader::new(path);
    let mut wd = Watchdog::new(&ctx);
    if opts.once {
        wd = wd.without_events();
    }

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
        crate::launch::settle(Duration::from_secs(120)).await;
        settle_notifications(&notifier, ctx.cfg.notify.timeout).await;
        ctx.events
            .emit("watchdog-stop", json!({"reason": "--once"}));
        return Ok(ExitCode::SUCCESS);
    }

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let start = Instant::now();
    let (mut next_light, mut next_heavy) = (start, start);
    let mut lock_problem: Option<String> = None;
    let reason = loop {
        let mut event = false;
        // Biased: a signal wins over a due tick, and when a closed session's SIGHUP and a
        // stop's SIGTERM both arrived during a tick, the cause (SIGHUP) is the one recorded.
        tokio::select! {
            biased;
            _ = hup.recv() => break "SIGHUP (its tmux session was closed)",
            _ = term.recv() => break "SIGTERM",
            _ = int.recv() => break "SIGINT",
            Some(()) = wd.next_event() => event = true,
            () = tokio::time::sleep_until(next_light.min(next_heavy)) => {}
        }
        if event {
            tracing::debug!("a fleet session died or was killed: ticking now");
            tokio::time::sleep(EVENT_GAP).await;
        }
        // The fleet's directory was deleted (its project removed): nothing is left to
        // supervise, and going on would create it again (the lock, the state files).
        if let Some(why) = fleet_dir.gone(config_dir(&ctx.cfg)) {
            tracing::warn!("{why}; this watchdog stops");
            settle_notifications(&notifier, STOP_GRACE).await;
            return Ok(ExitCode::SUCCESS);
        }
        let now = Instant::now();
        let heavy = now >= next_heavy;
        let mut next_cfg = None;
        match reloader.refresh(&mut next_cfg) {
            Refresh::Unchanged => {}
            Refresh::Applied => {
                let mut cfg = next_cfg.expect("Applied sets the config");
                tracing::info!("config {} changed — applied", cfg.path.display());
                config::check_handoff_repo(&mut cfg, |p| {
                    crate::git::probe(p).map_err(|e| e.to_string())
                });
                crate::config::log_warnings(&cfg);
                notifier.configure(&cfg);
                ctx = Ctx::new(cfg, "watchdog");
                ctx.events = ctx.events.with_sink(notifier.clone());
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
                    lock_problem = None;
                }
                // The lock file cannot be made where it belongs (the state dir unwritable,
                // replaced by a file): no other watchdog can take it there either. Keep the
                // one held and keep supervising; say so once.
                Err(crate::state::lock::LockError::Io { path, error, .. }) => {
                    let e = format!(
                        "cannot take the watchdog lock {} again: {error}",
                        path.display()
                    );
                    if lock_problem.as_deref() != Some(e.as_str()) {
                        tracing::error!(
                            "{e}; this watchdog goes on (state is not being saved until {} is writable)",
                            ctx.state.dir().display()
                        );
                    }
                    lock_problem = Some(e);
                }
                Err(e) => {
                    tracing::error!("{}; this watchdog stops", e.as_watchdog());
                    ctx.events.emit(
                        "watchdog-stop",
                        json!({"reason": "another watchdog holds the lock"}),
                    );
                    settle_notifications(&notifier, STOP_GRACE).await;
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        if !wd.tick(&ctx, heavy).await {
            // `up` or `down` holds the fleet: try again soon, not a whole tick later.
            next_light = Instant::now() + SKIPPED_RETRY;
            continue;
        }
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
    settle_notifications(&notifier, STOP_GRACE).await;
    Ok(ExitCode::SUCCESS)
}

/// The directory holding the fleet's config file (absolute; the project).
fn config_dir(cfg: &crate::config::Config) -> &Path {
    cfg.path.parent().unwrap_or(Path::new("/"))
}

/// The fleet's directory (the one holding its config file) as the watchdog first saw it
/// (device and inode), to tell that it was deleted: the project removed, leaving the watchdog
/// nothing to supervise. Its `log_dir` alone deleted is not that: the watchdog makes it again
/// and goes on supervising.
#[derive(Debug, Default)]
pub struct FleetDirWatch {
    path: std::path::PathBuf,
    id: Option<(u64, u64)>,
}

impl FleetDirWatch {
    /// Why the watchdog of the fleet in `dir` has nothing left to supervise: the directory it
    /// saw is gone (not found), or was deleted and another made in its place. `None` while it
    /// is the one first seen, and when it cannot be read for another reason (an unreadable
    /// directory is not gone). A new `dir` (the config moved) is followed from when it is
    /// first seen.
    pub fn gone(&mut self, dir: &Path) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        if self.path != dir {
            self.path = dir.to_path_buf();
            self.id = None;
        }
        let now = match std::fs::symlink_metadata(dir) {
            Ok(m) => (m.dev(), m.ino()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.id.is_some() => {
                return Some(format!(
                    "the fleet's directory {} is gone (deleted): nothing to supervise",
                    dir.display()
                ));
            }
            Err(_) => return None,
        };
        match self.id {
            None => {
                self.id = Some(now);
                None
            }
            Some(id) if id == now => None,
            Some(_) => Some(format!(
                "the fleet's directory {} was deleted (and made again since): nothing to supervise",
                dir.display()
            )),
        }
    }
}

/// How long a stopping watchdog waits for notify commands still running before it kills them.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Waits up to `grace` for the running notify commands, then kills what is left.
async fn settle_notifications(notifier: &std::sync::Arc<crate::notify::Notifier>, grace: Duration) {
    if notifier.running() == 0 {
        return;
    }
    let n = notifier.clone();
    let _ = tokio::task::spawn_blocking(move || n.settle(grace)).await;
}

/// Whether this watchdog runs inside tmux (`$TMUX`) and the fleet's server is gone: its own
/// session went with it (SIGHUP is on its way), and starting sessions now would start a new
/// tmux server — left behind, under a `TMUX_TMPDIR` that may be deleted — that nobody stops.
pub fn inside_gone_server(sessions: &crate::tmux::Sessions) -> bool {
    std::env::var_os("TMUX").is_some() && !sessions.server_running
}

/// State kept across ticks.
#[derive(Debug)]
pub struct Watchdog {
    ticker: Ticker,
    handoff: handoff::Checker,
    tmux_error: Option<String>,
    /// Why the fleet lock cannot be created (an unwritable state dir), logged once.
    lock_error: Option<String>,
    watcher: Option<crate::tmux::control::Watcher>,
    /// The event source's listing handle, for the relay (`None` without a source).
    lister: tokio::sync::watch::Sender<Option<crate::tmux::control::Lister>>,
    /// The relay serving the listing to `status` (see [`crate::tmux::relay`]), and the
    /// path and time of the last failure to make it (tried again a minute later; logged once
    /// per path).
    relay: Option<crate::tmux::relay::Relay>,
    relay_failed: Option<(std::path::PathBuf, Instant)>,
    /// Whether to attach the event source at all (not for `--once`: it exits at once).
    events: bool,
    waker: wake::Waker,
    /// Why this watchdog could not move to its session's new name (logged once).
    move_error: Option<String>,
}

impl Watchdog {
    /// A watchdog for `ctx`'s fleet on the system clock.
    pub fn new(ctx: &Ctx) -> Self {
        Self::with_clock(ctx, crate::state::Clock::system())
    }

    /// A watchdog whose supervision, handoff pings and wake schedules read the time from
    /// `clock` (one clock for all three).
    pub fn with_clock(_ctx: &Ctx, clock: crate::state::Clock) -> Self {
        Self {
            ticker: Ticker::with_clock(clock.clone()),
            handoff: handoff::Checker::with_clock(clock.clone()),
            tmux_error: None,
            lock_error: None,
            watcher: None,
            lister: tokio::sync::watch::Sender::new(None),
            relay: None,
            relay_failed: None,
            events: true,
            waker: wake::Waker::with_clock(clock),
            move_error: None,
        }
    }

    /// This watchdog without the event source (`--once`: one tick, then exit). A control
    /// client attached and gone within milliseconds is also what once crashed tmux 3.3a's
    /// server (see [`crate::tmux::control`]).
    #[must_use]
    pub fn without_events(mut self) -> Self {
        self.events = false;
        self
    }

    /// The next report of the event source; pending forever when there is none.
    async fn next_event(&mut self) -> Option<()> {
        match self.watcher.as_mut() {
            Some(w) => {
                let got = w.next().await;
                if got.is_none() {
                    self.watcher = None;
                    self.lister.send_replace(None);
                    std::future::pending::<()>().await;
                }
                got
            }
            None => std::future::pending().await,
        }
    }

    /// Attaches the event source to the watchdog's own session, else to a live agent's, and
    /// serves its listing to `status` ([`Self::ensure_relay`]).
    fn ensure_watcher(&mut self, ctx: &Ctx, sessions: &crate::tmux::Sessions) {
        if !self.events {
            return;
        }
        self.ensure_relay(ctx);
        if self
            .watcher
            .as_ref()
            .is_some_and(super::tmux::control::Watcher::alive)
        {
            return;
        }
        let wd = ctx.cfg.watchdog_session();
        let target = std::iter::once(wd.as_str())
            .chain(ctx.cfg.agents.iter().map(|a| a.session.as_str()))
            .find(|s| sessions.get(s).is_some());
        self.watcher = target.and_then(|target| match ctx.tmux.watch(target) {
            Ok(w) => {
                tracing::debug!("event source attached to {target}");
                Some(w)
            }
            Err(e) => {
                tracing::debug!("no event source ({e}); polling only");
                None
            }
        });
        self.lister.send_replace(
            self.watcher
                .as_ref()
                .map(crate::tmux::control::Watcher::lister),
        );
    }

    /// Serves the event source's listing at the fleet's relay socket
    /// ([`crate::tmux::relay::path`]; moved when the config file or the server does); a
    /// socket that cannot be made is logged once per path, and `status` then makes its own
    /// tmux call.
    fn ensure_relay(&mut self, ctx: &Ctx) {
        let path = crate::tmux::relay::path(&ctx.tmux, &ctx.cfg.path);
        if self.relay.as_ref().is_some_and(|r| r.path() == path) {
            return;
        }
        let logged = match &self.relay_failed {
            Some((p, at)) if *p == path => {
                if at.elapsed() < RELAY_RETRY {
                    return;
                }
                true
            }
            _ => false,
        };
        self.relay = None;
        match crate::tmux::relay::Relay::serve(
            &path,
            &ctx.tmux.server_path(),
            self.lister.subscribe(),
        ) {
            Ok(r) => {
                self.relay = Some(r);
                self.relay_failed = None;
            }
            Err(e) => {
                if !logged {
                    tracing::info!(
                        "cannot serve the pane listing at {}: {e}; `status` makes its own tmux call",
                        path.display()
                    );
                }
                self.relay_failed = Some((path, Instant::now()));
            }
        }
    }

    /// A changed `session_prefix` moves this watchdog's own session too, as the agents'
    /// ([`crate::launch::move_watchdog`]); a failure is logged once per distinct error and
    /// tried again every tick.
    async fn move_self(&mut self, ctx: &Ctx, sessions: &crate::tmux::Sessions) {
        match crate::launch::move_watchdog(ctx, sessions, std::process::id()).await {
            Ok(Some(from)) => {
                tracing::info!(
                    "session_prefix changed: this watchdog moved from session {from} to {}",
                    ctx.cfg.watchdog_session()
                );
                self.move_error = None;
            }
            Ok(None) => self.move_error = None,
            Err(e) => {
                let e = e.to_string();
                if self.move_error.as_deref() != Some(e.as_str()) {
                    tracing::warn!("{e}; retrying every tick");
                }
                self.move_error = Some(e);
            }
        }
    }

    /// One tick: on a heavy tick advance the phase first; then supervise every watched agent;
    /// then the wake schedules ([`wake`], after the fleet lock is released).
    /// Both start and stop sessions, so both run under the fleet's start/stop lock; while
    /// `up` or `down` holds it the tick is skipped and `false` returned (the caller tries
    /// again shortly).
    pub async fn tick(&mut self, ctx: &Ctx, heavy: bool) -> bool {
        let fleet_lock = match crate::state::lock::wait_for(
            &ctx.state.fleet_lock_path(),
            Duration::ZERO,
        )
        .await
        {
            Ok(f) => {
                if self.lock_error.take().is_some() {
                    tracing::info!("the fleet lock can be taken again");
                }
                Some(f)
            }
            Err(e @ crate::state::lock::LockError::Held { .. }) => {
                tracing::debug!("the fleet is being started or stopped ({e}); tick skipped");
                return false;
            }
            // Nobody holds it and nobody can: supervising must not depend on the disk.
            Err(e @ crate::state::lock::LockError::Io { .. }) => {
                let e = e.to_string();
                if self.lock_error.as_deref() != Some(e.as_str()) {
                    tracing::error!(
                        "{e}: supervising without the fleet lock, and state is not being saved; make {} writable (or free space on its disk)",
                        ctx.state.dir().display()
                    );
                }
                self.lock_error = Some(e);
                None
            }
        };
        if heavy && advance::check(ctx).await {
            return true;
        }
        let sessions = match ctx.mux.sessions().await {
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
                return true;
            }
        };
        if inside_gone_server(&sessions) {
            tracing::debug!("the tmux server this watchdog runs in is gone: nothing to heal");
            return true;
        }
        self.move_self(ctx, &sessions).await;
        self.ticker.tick(ctx, &sessions, heavy, fleet_lock).await;
        self.handoff.tick(ctx, &sessions).await;
        self.waker.tick(ctx, &sessions).await;
        self.ensure_watcher(ctx, &sessions);
        true
    }
}
