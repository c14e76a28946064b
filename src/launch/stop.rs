//! Stopping sessions so that nothing is left running (`down`, and every watchdog restart of
//! a live session), in the manner of supervisord's `stopsignal`/`stopwaitsecs`/`killasgroup`
//! and systemd's `KillMode=control-group`:
//!
//! 1. the processes of each session are recorded (`/proc`, see [`super::proctree`]): the
//!    tree under its pane, every process in the pane's session id (children that
//!    double-forked: `( nohup cmd & )`), and every process of this user whose environment
//!    names this fleet and that session (`AGENTS_FLEET`, `AGENTS_SESSION`: children that
//!    also called `setsid`) — never a process of another user or another fleet;
//! 2. a backend with `stop_keys` gets its CLI's own exit sequence, and up to `stop_timeout`
//!    to exit (all sessions at once: the wait is paid once, not per agent);
//! 3. the sessions are killed (tmux sends SIGHUP to each pane);
//! 4. every recorded process still alive gets SIGTERM, and after [`TERM_GRACE`] SIGKILL —
//!    children that called `setsid`, and programs that ignore SIGHUP, included.

use std::time::Duration;

use nix::sys::signal::Signal;

use super::proctree::{self, Proc};
use crate::ctx::Ctx;
use crate::tmux::TmuxError;

/// How long processes get between SIGTERM and SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(2);

/// One session to stop.
#[derive(Debug, Clone)]
pub struct Target {
    /// The tmux session name.
    pub session: String,
    /// tmux key names typed first (e.g. `["C-c", "C-c"]`); empty: none.
    pub stop_keys: Vec<String>,
    /// How long to wait for the program to exit after its stop keys.
    pub stop_timeout: Duration,
}

/// The stop target of an agent (its backend's `stop_keys` and `stop_timeout`).
pub fn agent_target(ctx: &Ctx, agent: &crate::config::Agent) -> Target {
    let b = ctx.cfg.backend_of(agent);
    Target {
        session: agent.session.clone(),
        stop_keys: b.stop_keys.clone(),
        stop_timeout: b.stop_timeout,
    }
}

/// A session with no stop keys (services, the watchdog).
pub fn plain_target(session: &str) -> Target {
    Target {
        session: session.to_string(),
        stop_keys: Vec::new(),
        stop_timeout: Duration::ZERO,
    }
}

/// Stops `targets` (see the module doc). Sessions that do not exist are skipped. Returns how
/// many recorded processes had to be killed after the session was (SIGTERM or SIGKILL), for
/// the log.
///
/// # Errors
///
/// The [`TmuxError`] when tmux cannot be asked at all: listing the sessions (before or while
/// waiting for them to exit) or killing them fails.
pub async fn stop(ctx: &Ctx, targets: &[Target]) -> Result<usize, TmuxError> {
    if targets.is_empty() {
        return Ok(0);
    }
    let sessions = ctx.mux.sessions().await?;
    let snap = proctree::snapshot();
    let mut procs: Vec<Proc> = Vec::new();
    let mut keyed: Vec<&Target> = Vec::new();
    let fleet = ctx.fleet_id();
    let mut marks = proctree::Marks {
        sids: Vec::new(),
        fleet: &fleet,
        sessions: targets.iter().map(|t| t.session.as_str()).collect(),
    };
    for t in targets {
        let Some(p) = sessions.get(&t.session) else {
            continue;
        };
        if let Some(pid) = p.pid.filter(|_| !p.dead) {
            procs.extend(proctree::tree(&snap, pid));
            marks.sids.push(pid);
            if !t.stop_keys.is_empty() {
                keyed.push(t);
            }
        }
    }
    for p in proctree::marked(&marks) {
        if !procs.contains(&p) {
            procs.push(p);
        }
    }
    // The CLIs' own exit sequences, then one shared wait.
    if !keyed.is_empty() {
        // Key by key, every session at once (one chained tmux call per round).
        let rounds = keyed.iter().map(|t| t.stop_keys.len()).max().unwrap_or(0);
        for i in 0..rounds {
            let presses: Vec<(String, String)> = keyed
                .iter()
                .filter_map(|t| Some((t.session.clone(), t.stop_keys.get(i)?.clone())))
                .collect();
            ctx.mux.send_keys_many(&presses).await;
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        let longest = keyed
            .iter()
            .map(|t| t.stop_timeout)
            .max()
            .unwrap_or_default();
        let deadline = tokio::time::Instant::now() + longest;
        while tokio::time::Instant::now() < deadline {
            let now = ctx.mux.sessions().await?;
            if keyed
                .iter()
                .all(|t| now.get(&t.session).is_none_or(|p| p.dead))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let names: Vec<String> = targets.iter().map(|t| t.session.clone()).collect();
    ctx.mux.kill(&names).await?;
    procs.sort_by_key(|p| p.pid);
    procs.dedup();
    Ok(reap(&procs).await)
}

/// SIGTERM to every process of `procs` still alive, SIGKILL to those alive after
/// [`TERM_GRACE`]. Returns how many had to be signalled.
pub async fn reap(procs: &[Proc]) -> usize {
    // SIGHUP from tmux may take a moment to land.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let left: Vec<&Proc> = procs.iter().filter(|p| proctree::alive(p)).collect();
    for p in &left {
        proctree::signal(p, Signal::SIGTERM);
    }
    let deadline = tokio::time::Instant::now() + TERM_GRACE;
    while tokio::time::Instant::now() < deadline && left.iter().any(|p| proctree::alive(p)) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for p in left.iter().filter(|p| proctree::alive(p)) {
        tracing::warn!("pid {} ignored SIGTERM for {TERM_GRACE:?}: SIGKILL", p.pid);
        proctree::signal(p, Signal::SIGKILL);
    }
    left.len()
}
