//! `agents status [--json]` — the phase line and one row per agent, service and the watchdog,
//! from one tmux call whatever the fleet size. Always exits 0.

use std::io::Write;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::launch::kickoff;
use crate::tmux::{PaneInfo, Sessions};

/// A session's state as shown in the STATE column.
fn state_word(pane: Option<&PaneInfo>) -> String {
    match pane {
        Some(p) if !p.dead => format!("RUNNING [{}]", p.command),
        Some(p) => match p.dead_status {
            Some(s) => format!("EXITED (status {s})"),
            None => "EXITED".into(),
        },
        None => "stopped".into(),
    }
}

pub async fn run(ctx: &Ctx, as_json: bool) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    let sessions: Sessions = ctx.tmux.sessions().await?;
    let phase = crate::phase::current(cfg, &ctx.state);
    let phase_model = phase.map(|(_, p)| p);
    let done = phase.map(|(_, p)| crate::phase::phase_done(cfg, p));
    let mut out = std::io::stdout().lock();

    if as_json {
        let agents: Vec<Value> = cfg
            .agents
            .iter()
            .map(|a| {
                let pane = sessions.get(&a.session);
                let model = kickoff::model(a, phase_model);
                json!({
                    "name": a.name, "kind": a.kind.as_str(), "backend": a.backend, "model": model,
                    "watch": a.watch.as_str(), "session": a.session, "running": pane.is_some_and(|p| !p.dead),
                    "command": pane.filter(|p| !p.dead).map(|p| p.command.clone()), "enabled": a.enabled,
                    "exit_status": pane.filter(|p| p.dead).and_then(|p| p.dead_status),
                    "down": ctx.state.is_down(&a.name), "done": ctx.state.is_done(&a.name),
                })
            })
            .collect();
        let services: Vec<Value> = cfg
            .services
            .iter()
            .map(|s| {
                let pane = sessions.get(&s.session);
                json!({
                    "name": s.name, "session": s.session, "running": pane.is_some_and(|p| !p.dead),
                    "command": s.command, "enabled": s.enabled,
                })
            })
            .collect();
        let wd = cfg.watchdog_session();
        let doc = json!({
            "phase": phase.map(|(i, p)| json!({"id": p.id, "index": i, "count": cfg.loop_.phases.len(), "done": done})),
            "agents": agents,
            "services": services,
            "watchdog": {"session": wd, "running": sessions.is_live(&wd)},
            "tmux": {"socket": ctx.tmux.socket(), "server_running": sessions.server_running},
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }

    if let Some((i, p)) = phase {
        let d = if done == Some(true) {
            cfg.loop_.done_marker.as_str()
        } else {
            "in progress"
        };
        let plan = if p.plan.is_empty() {
            "-"
        } else {
            p.plan.as_str()
        };
        writeln!(
            out,
            " phase: {} [{}/{}] plan={plan} ({d})",
            p.id,
            i + 1,
            cfg.loop_.phases.len()
        )?;
    }
    if !sessions.server_running {
        let socket = ctx
            .tmux
            .socket()
            .map_or("the default socket".to_string(), |s| {
                format!("socket {s:?}")
            });
        writeln!(
            out,
            " (no tmux server is running on {socket}: nothing of this fleet is running)"
        )?;
    }
    writeln!(
        out,
        " {:<14} {:<12} {:<9} {:<20} {:<10} STATE",
        "AGENT", "KIND", "BACKEND", "MODEL", "WATCH"
    )?;
    for a in &cfg.agents {
        let pane = sessions.get(&a.session);
        let model = kickoff::model(a, phase_model);
        let mut st = state_word(pane);
        if pane.is_none_or(|p| p.dead) {
            if !a.enabled {
                st.push_str(" (disabled)");
            } else if ctx.state.is_done(&a.name) {
                st.push_str(" (task done)");
            } else if ctx.state.is_down(&a.name) {
                st.push_str(" (down)");
            }
        }
        writeln!(
            out,
            " {:<14} {:<12} {:<9} {:<20} {:<10} {st}",
            a.name,
            a.kind.as_str(),
            a.backend,
            model.as_deref().unwrap_or("default"),
            a.watch.as_str()
        )?;
    }
    for s in &cfg.services {
        let st = state_word(sessions.get(&s.session));
        let dis = if s.enabled { "" } else { " (disabled)" };
        writeln!(
            out,
            " {:<14} {:<12} {:<9} {:<20} {:<10} {st}{dis}",
            s.name, "service", "-", "-", "-"
        )?;
    }
    let wd = state_word(sessions.get(&cfg.watchdog_session()));
    writeln!(
        out,
        " {:<14} {:<12} {:<9} {:<20} {:<10} {wd}",
        "watchdog", "service", "-", "-", "-"
    )?;
    Ok(ExitCode::SUCCESS)
}
