//! `agents restart [name...]` — stop the named agents, services or `watchdog` (through the
//! same stop path as `down`) and start them again (the same path as `up`). Without names:
//! every enabled agent and service; the watchdog only when named.
//!
//! A restart is the operator's word: it clears an operator `down`, a finished task's `done`,
//! a `fatal` agent's marker, and asks the watchdog to forget the agent's restart history and
//! backoff (`state/reset-<agent>`). A loop agent gets a fresh kickoff for the current phase.
//! Prints one line per name: what was stopped and started, or why it could not start.

use std::process::ExitCode;

use serde_json::json;

use crate::config::Config;
use crate::ctx::Ctx;
use crate::launch::{self, Prepared, stop};

/// The tmux session of an agent, service or `watchdog` called `name`.
pub(crate) fn session_of(cfg: &Config, name: &str) -> Option<String> {
    if let Some(a) = cfg.agent(name) {
        return Some(a.session.clone());
    }
    if let Some(s) = cfg.service(name) {
        return Some(s.session.clone());
    }
    (name == "watchdog").then(|| cfg.watchdog_session())
}

/// The names a restart acts on: `names`, or every enabled agent and service.
fn targets(cfg: &Config, names: &[String]) -> Vec<String> {
    if !names.is_empty() {
        let mut v: Vec<String> = Vec::new();
        for n in names {
            if !v.contains(n) {
                v.push(n.clone());
            }
        }
        return v;
    }
    let agents = cfg.agents.iter().filter(|a| a.enabled).map(|a| &a.name);
    let services = cfg.services.iter().filter(|s| s.enabled).map(|s| &s.name);
    agents.chain(services).cloned().collect()
}

/// Runs `agents restart`. Exit 0 when every name is running again; an error (exit 1) naming
/// the ones that did not start. An unknown name stops nothing.
///
/// # Errors
///
/// An unknown name (nothing stopped), tmux failing or missing, the fleet lock held too
/// long, or a session that did not start again (named).
pub(crate) async fn run(ctx: &Ctx, names: &[String]) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    super::check_names(cfg, names)?;
    ctx.tmux.check_version().await?;
    let _fleet = crate::state::lock::fleet_lock(&ctx.state).await?;
    let wanted = targets(cfg, names);
    if wanted.is_empty() {
        println!(
            "nothing to restart: no agent or service is enabled in {}",
            cfg.path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }

    // The operator's intent first: a watchdog reading the markers sees a live agent again.
    for name in wanted.iter().filter(|n| cfg.agent(n).is_some()) {
        ctx.state.clear_intent(name);
        if let Err(e) = ctx.state.request_reset(name) {
            tracing::warn!("cannot ask the watchdog to forget {name}'s restarts: {e}");
        }
    }

    // Stop what runs, the watchdog first and on its own (as `down` does).
    let sessions = ctx.mux.sessions().await?;
    let running: Vec<&String> = wanted
        .iter()
        .filter(|n| session_of(cfg, n).is_some_and(|s| sessions.get(&s).is_some()))
        .collect();
    let (wd, rest): (Vec<&String>, Vec<&String>) =
        running.iter().copied().partition(|n| *n == "watchdog");
    for group in [wd, rest] {
        let targets: Vec<stop::Target> = group
            .iter()
            .filter_map(|n| match cfg.agent(n) {
                Some(a) => Some(stop::agent_target(ctx, a)),
                None => session_of(cfg, n).map(|s| stop::plain_target(&s)),
            })
            .collect();
        if targets.is_empty() {
            continue;
        }
        for t in &targets {
            tracing::info!("stopping {}", t.session);
        }
        let killed = stop::stop(ctx, &targets).await?;
        if killed > 0 {
            tracing::info!("{killed} process(es) outlived their session and were killed");
        }
        if group.iter().any(|n| *n == "watchdog") {
            super::down::wait_for_watchdog_exit(ctx).await;
        }
        for n in &group {
            ctx.events.emit(
                "stop",
                json!({"name": n, "session": session_of(cfg, n), "reason": "restart"}),
            );
        }
    }

    // Start again, as `up` does (a session still in the way is replaced).
    let sessions = ctx.mux.sessions().await?;
    let mut items: Vec<(Prepared, String)> = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for name in &wanted {
        let session = session_of(cfg, name).unwrap_or_default();
        let replace = sessions.get(&session).is_some();
        let prepared = if let Some(a) = cfg.agent(name) {
            launch::prepare_agent(ctx, a, replace).map_err(|e| e.to_string())
        } else if let Some(s) = cfg.service(name) {
            launch::prepare_service(ctx, s, replace).map_err(|e| e.to_string())
        } else {
            launch::prepare_watchdog(ctx, replace).map_err(|e| e.to_string())
        };
        match prepared {
            Ok(p) => items.push((p, "restart".to_string())),
            Err(e) => {
                tracing::error!("{e}");
                ctx.events.emit(
                    "start-failed",
                    json!({"name": name, "session": session, "error": e}),
                );
                failed.push((name.clone(), e));
            }
        }
    }
    let results = launch::launch(ctx, &items, "start").await;
    let was_running = |n: &str| running.iter().any(|r| *r == n);
    for name in &wanted {
        let session = session_of(cfg, name).unwrap_or_default();
        if let Some((_, e)) = failed.iter().find(|(n, _)| n == name) {
            println!("{name}: not started ({session}): {e}");
            continue;
        }
        match results.iter().find(|(n, _)| n == name) {
            Some((_, Ok(()))) if was_running(name) => println!("{name}: restarted ({session})"),
            Some((_, Ok(()))) => println!("{name}: started ({session}; it was not running)"),
            Some((_, Err(e))) => {
                tracing::error!("{e}");
                failed.push((name.clone(), e.to_string()));
                println!("{name}: not started ({session}): {e}");
            }
            None => {}
        }
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!(
            "{} did not start again: {}",
            if failed.len() == 1 {
                "one name"
            } else {
                "some names"
            },
            failed
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
