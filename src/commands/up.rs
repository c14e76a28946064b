//! `agents up [name...]` — start the fleet, or the named agents, services or `watchdog`.
//! Use-or-create: a live session is left alone; a session whose program exited is replaced.
//! Starting an agent by name clears a `down` made by the operator (SPEC defect 22).

use std::process::ExitCode;

use crate::ctx::Ctx;
use crate::launch::{self, Prepared};
use crate::tmux::Sessions;

/// Whether `session` must be started: `None` when it is live (logged, left alone),
/// `Some(replace)` otherwise, `replace` when a session whose program exited is in the way.
fn to_start(sessions: &Sessions, session: &str) -> Option<bool> {
    match sessions.get(session) {
        Some(p) if !p.dead => {
            tracing::info!("{session} already running — leaving it");
            None
        }
        found => Some(found.is_some()),
    }
}

/// How long `up` waits for a watchdog it started to report that it runs (its
/// `watchdog-start` event, or its pid in the lock file) before it takes a live pane for one.
pub(crate) const WATCHDOG_START_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits until the watchdog just started runs: its pane's process wrote `watchdog-start`
/// (or holds the lock with its pid in it). `Err` when its pane died first (say, on the lock
/// of another watchdog of this fleet run outside tmux), quoting
/// the last lines it printed. A pane still live after [`WATCHDOG_START_WAIT`] is taken
/// for a running watchdog.
async fn watchdog_came_up(ctx: &Ctx) -> Result<(), String> {
    let session = ctx.cfg.watchdog_session();
    let deadline = tokio::time::Instant::now() + WATCHDOG_START_WAIT;
    loop {
        let Ok(sessions) = ctx.mux.sessions().await else {
            return Ok(());
        };
        let Some(pane) = sessions.get(&session) else {
            return Err(format!(
                "the watchdog did not start: its session {session} is gone"
            ));
        };
        if pane.dead {
            // What it printed, from its dead pane (kept on screen); else from its session log,
            // which the log writer may not have caught up with yet.
            let shown = ctx
                .tmux
                .capture(&session)
                .await
                .ok()
                .and_then(|text| crate::detect::exited::read(&text).last);
            let said = shown.unwrap_or_else(|| {
                let log =
                    std::fs::read_to_string(ctx.cfg.session_log(&session)).unwrap_or_default();
                let said: Vec<&str> = log
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with("-----"))
                    .collect();
                said[said.len().saturating_sub(2)..].join(" / ")
            });
            return Err(format!(
                "the watchdog did not start: its program exited{}{}",
                pane.dead_status
                    .map(|s| format!(" (status {s})"))
                    .unwrap_or_default(),
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            ));
        }
        let pid = pane.pid;
        let reported = crate::events::last(
            &ctx.cfg.log_dir,
            "watchdog-start",
            crate::events::TAIL_BYTES,
        )
        .is_some_and(|e| pid.is_some_and(|p| e["pid"] == p));
        let locked = pid.is_some_and(|p| {
            crate::state::lock::is_held(&ctx.state.lock_path())
                && std::fs::read_to_string(ctx.state.lock_path())
                    .is_ok_and(|t| t.trim() == p.to_string())
        });
        if reported || locked || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Runs `agents up`: starts what is not running (every enabled agent, service and the
/// watchdog, or the named ones), leaving live sessions alone, and waits for the watchdog.
///
/// # Errors
///
/// An unknown name, tmux missing or too old, the fleet lock held too long, the phase index
/// that cannot be reset, or a session that did not start (the others keep running).
pub(crate) async fn run(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    super::check_names(cfg, names)?;
    ctx.tmux.check_version().await?;
    let _fleet = crate::state::lock::fleet_lock(&ctx.state).await?;
    let full = names.is_empty();
    let wanted = |n: &str| full || names.iter().any(|x| x == n);

    if full && cfg.loop_.resume_phase == Some(false) && !cfg.loop_.phases.is_empty() {
        tracing::info!(
            "resume_phase = false: starting the phase sequence at {}",
            cfg.loop_.phases[0].id
        );
        ctx.state.write_phase_index(0)?;
        let _ = std::fs::remove_file(ctx.state.sequence_complete_path());
    }

    let mut sessions = ctx.mux.sessions().await?;
    // The fleet's watchdog may run in the session of an older `session_prefix`: it is moved,
    // not joined by a second one that would exit on its lock.
    if wanted("watchdog")
        && let Some(pid) = crate::state::lock::holder(&ctx.state.lock_path())
    {
        match launch::move_watchdog(ctx, &sessions, pid).await {
            Ok(Some(from)) => {
                tracing::info!(
                    "the watchdog (pid {pid}) ran in session {from} of an older session_prefix: moved it to {}",
                    cfg.watchdog_session()
                );
                sessions = ctx.mux.sessions().await?;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{e}"),
        }
    }
    let mut items: Vec<Prepared> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    // A session that cannot be prepared is reported at once (before anything starts), with
    // its name and session in the `start-failed` event.
    let mut failed = |name: &str, session: &str, e: String| {
        tracing::error!("{e}");
        ctx.events.emit(
            "start-failed",
            serde_json::json!({"name": name, "session": session, "error": e}),
        );
        errors.push(e);
    };
    for a in cfg.agents.iter().filter(|a| wanted(&a.name)) {
        if full && !a.enabled {
            continue;
        }
        if !a.enabled {
            tracing::info!(
                "{} is disabled in the config; starting it because it was named",
                a.name
            );
        }
        ctx.state.clear_intent(&a.name);
        if let Some(replace) = to_start(&sessions, &a.session) {
            match launch::prepare_agent(ctx, a, replace) {
                Ok(p) => items.push(p),
                Err(e) => failed(&a.name, &a.session, e.to_string()),
            }
        }
    }
    for s in cfg
        .services
        .iter()
        .filter(|s| wanted(&s.name) && (s.enabled || !full))
    {
        if let Some(replace) = to_start(&sessions, &s.session) {
            match launch::prepare_service(ctx, s, replace) {
                Ok(p) => items.push(p),
                Err(e) => failed(&s.name, &s.session, e.to_string()),
            }
        }
    }
    if wanted("watchdog")
        && let Some(replace) = to_start(&sessions, &cfg.watchdog_session())
    {
        match launch::prepare_watchdog(ctx, replace) {
            Ok(p) => items.push(p),
            Err(e) => failed("watchdog", &cfg.watchdog_session(), e.to_string()),
        }
    }

    // launch() records its own (tmux) failures; they are logged here.
    let prepared = errors.len();
    let items: Vec<(Prepared, String)> = items.into_iter().map(|p| (p, "up".to_string())).collect();
    for (name, r) in launch::launch(ctx, &items, "start").await {
        match r {
            Err(e) => errors.push(e.to_string()),
            Ok(()) if name == "watchdog" && items.iter().any(|(p, _)| p.name == "watchdog") => {
                if let Err(e) = watchdog_came_up(ctx).await {
                    ctx.events.emit(
                        "start-failed",
                        serde_json::json!({"name": "watchdog", "session": cfg.watchdog_session(), "error": e}),
                    );
                    errors.push(e);
                }
            }
            Ok(()) => {}
        }
    }
    for e in &errors[prepared..] {
        tracing::error!("{e}");
    }
    if errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!(
            "{} session{} did not start (see above); the others are running",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        )
    }
}
