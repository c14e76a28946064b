//! `agents down [name...]` — stop the fleet, or the named agents, services or `watchdog`.
//! Each stopped agent is recorded as stopped by the operator, so the watchdog leaves it down
//! until `agents up <name>` (SPEC defect 22). The watchdog is stopped first. Stopping leaves
//! nothing running: stop keys, then the session, then every process that descended from its
//! pane ([`crate::launch::stop`]).
//!
//! Stopping never depends on writing a file: the down markers are tried before the kill (so a
//! watchdog mid-tick sees them) but a failure there (a full or read-only disk) does not stop
//! `down`; the sessions are killed, the failed markers are tried again, and a marker that
//! still cannot be written is reported and makes `down` exit 1, the sessions stopped.

use std::process::ExitCode;

use crate::ctx::Ctx;
use crate::launch::stop;

/// (name, session) pairs to stop.
type Targets<'a> = Vec<&'a (String, String)>;

/// Runs `agents down`: stops the fleet (and the sessions it started for agents since removed
/// from the config), or the named agents, services or `watchdog`.
///
/// # Errors
///
/// An unknown name, tmux failing, the fleet lock held too long, or a down marker that
/// could not be written (the sessions are stopped all the same).
pub(crate) async fn run(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    super::check_names(cfg, names)?;
    let full = names.is_empty();
    let wanted = |n: &str| full || names.iter().any(|x| x == n);

    let _fleet = crate::state::lock::fleet_lock(&ctx.state).await?;
    // tmux must answer before anything is recorded (a missing tmux changes nothing).
    let sessions = ctx.mux.sessions().await?;
    // Intent next, best effort: a watchdog mid-tick must not bring these back, but a marker
    // that cannot be written must not keep anything running.
    let unrecorded: Vec<&str> = cfg
        .agents
        .iter()
        .filter(|a| wanted(&a.name) && ctx.state.set_down(&a.name).is_err())
        .map(|a| a.name.as_str())
        .collect();
    let mut targets: Vec<(String, String)> = Vec::new();
    if wanted("watchdog") {
        targets.push(("watchdog".into(), cfg.watchdog_session()));
    }
    targets.extend(
        cfg.agents
            .iter()
            .filter(|a| wanted(&a.name))
            .map(|a| (a.name.clone(), a.session.clone())),
    );
    targets.extend(
        cfg.services
            .iter()
            .filter(|s| wanted(&s.name))
            .map(|s| (s.name.clone(), s.session.clone())),
    );

    // Full `down`: sessions this fleet started whose agent left the config go too.
    if full {
        let manifest = ctx.state.manifest().load().unwrap_or_else(|e| {
            tracing::warn!("{e}");
            crate::state::manifest::Manifest::default()
        });
        let current = cfg.session_names();
        for (session, entry) in crate::state::manifest::orphans(&manifest, &current) {
            // A watchdog left in the session of an older `session_prefix` is a watchdog: it
            // is stopped first, with the others.
            let name = if entry.name == "watchdog" {
                entry.name.clone()
            } else {
                format!("{} (orphan)", entry.name)
            };
            targets.push((name, session.clone()));
        }
    }
    let present: Vec<&(String, String)> = targets
        .iter()
        .filter(|(_, s)| sessions.get(s).is_some())
        .collect();
    if present.is_empty() {
        tracing::info!(
            "nothing to stop: no session of {} is running",
            if full { "this fleet" } else { "those names" }
        );
        return Ok(record_after(ctx, &unrecorded));
    }
    for (_, s) in &present {
        tracing::info!("killing {s}");
    }
    // The watchdog goes first, on its own, so it cannot act on a half-stopped fleet.
    let (wd, rest): (Targets, Targets) =
        present.iter().copied().partition(|(n, _)| n == "watchdog");
    // It must also have exited before the rest are stopped: a watchdog still finishing its
    // tick would start again an agent whose down marker could not be written.
    for (i, group) in [wd, rest].into_iter().enumerate() {
        let targets: Vec<stop::Target> = group
            .iter()
            .map(|(n, s)| match cfg.agent(n) {
                Some(a) if n != "watchdog" => stop::agent_target(ctx, a),
                _ => stop::plain_target(s),
            })
            .collect();
        if targets.is_empty() {
            continue;
        }
        let killed = stop::stop(ctx, &targets).await?;
        if killed > 0 {
            tracing::info!("{killed} process(es) outlived their session and were killed");
        }
        if i == 0 {
            wait_for_watchdog_exit(ctx).await;
        }
    }
    for (n, s) in &present {
        ctx.events.emit(
            "stop",
            serde_json::json!({"name": n, "session": s, "reason": "down"}),
        );
    }
    let stopped: Vec<String> = targets.iter().map(|(_, s)| s.clone()).collect();
    if let Err(e) = ctx.state.manifest().remove(&stopped) {
        tracing::warn!("cannot update the manifest: {e}");
    }
    Ok(record_after(ctx, &unrecorded))
}

/// Writes the down markers that failed before the kill. Returns exit status 1, after logging
/// which markers are missing and what that means, if any still fails.
fn record_after(ctx: &Ctx, unrecorded: &[&str]) -> ExitCode {
    let mut failed = false;
    for name in unrecorded {
        if let Err(e) = ctx.state.set_down(name) {
            failed = true;
            tracing::error!(
                "{name} is stopped, but `down` could not record it in {}: {e}\n  help: free space on that disk (or make it writable); until then a running watchdog may start {name} again",
                ctx.state.down_path(name).display()
            );
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Waits (up to 5 s) until the killed watchdog has released its lock, so that `down` returns
/// only once it is gone and a new watchdog can start at once.
pub(super) async fn wait_for_watchdog_exit(ctx: &Ctx) {
    let lock = ctx.state.lock_path();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while crate::state::lock::is_held(&lock) {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                "the watchdog has not exited 5 s after its session was killed (lock {})",
                lock.display()
            );
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
