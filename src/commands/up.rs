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

pub async fn run(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    super::check_names(cfg, names)?;
    ctx.tmux.check_version().await?;
    let _fleet = super::fleet_lock(ctx).await?;
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

    let sessions = ctx.tmux.sessions().await?;
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
                Err(e) => failed(&s.name, &s.session, e),
            }
        }
    }
    if wanted("watchdog")
        && let Some(replace) = to_start(&sessions, &cfg.watchdog_session())
    {
        match launch::prepare_watchdog(ctx, replace) {
            Ok(p) => items.push(p),
            Err(e) => failed("watchdog", &cfg.watchdog_session(), e),
        }
    }

    // launch() records its own (tmux) failures; they are logged here.
    let prepared = errors.len();
    let items: Vec<(Prepared, String)> = items.into_iter().map(|p| (p, "up".to_string())).collect();
    for (_, r) in launch::launch(ctx, &items, "start").await {
        if let Err(e) = r {
            errors.push(e);
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
