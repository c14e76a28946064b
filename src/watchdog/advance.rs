//! Phase auto-advance on the heavy tick (SPEC §6): when the current phase's status file says
//! DONE — written since the phase began (`crate::phase::verdict`: a verdict left from an
//! earlier run, e.g. before `agents phase set 0` started the sequence over, is not advanced
//! on, so no phase is skipped unseen) — stop the loop agents, write the next index, clear a stale `SEQUENCE-COMPLETE`, and
//! start the loop agents on the new phase. When the last phase is DONE: stop the loops once,
//! write `SEQUENCE-COMPLETE`, and launch the `on_complete.run` task if its trigger file exists.
//! Idempotent afterwards; appending a phase resumes.
//!
//! A phase index that cannot be trusted (unreadable, not a number, out of range) stops
//! advancing: no agent is stopped or started for it. It is reported once (a
//! `phase-index-corrupt` event and an error line) and advancing resumes when the file holds a
//! valid index again (`agents phase set N`).

use std::sync::Mutex;

use serde_json::json;

use crate::ctx::Ctx;
use crate::launch;

/// Checks and advances; returns true when the fleet changed this tick.
pub async fn check(ctx: &Ctx) -> bool {
    let cfg = &ctx.cfg;
    if !cfg.loop_.auto_advance || cfg.loop_agents().next().is_none() {
        return false;
    }
    if cfg.loop_.phases.is_empty() {
        return false;
    }
    let read = ctx.state.phase_index(cfg.loop_.phases.len());
    if !report_corrupt(ctx, read.warning.as_deref()) {
        return false;
    }
    let (idx, phase) = (read.index, &cfg.loop_.phases[read.index]);
    match crate::phase::verdict(cfg, &ctx.state, phase) {
        crate::phase::Verdict::Done => report_stale(None),
        crate::phase::Verdict::NotDone => {
            report_stale(None);
            return false;
        }
        crate::phase::Verdict::Stale => {
            report_stale(Some((&phase.id, &crate::phase::status_path(cfg, phase))));
            return false;
        }
    }
    let next = idx + 1;
    if next < cfg.loop_.phases.len() {
        let next_id = &cfg.loop_.phases[next].id;
        tracing::info!("PHASE {} DONE — advancing to {next_id}", phase.id);
        let loops: Vec<&crate::config::Agent> = cfg.loop_agents().collect();
        let from = launch::loops::Reason::Advance { from: &phase.id };
        if let Err(e) = launch::loops::move_to(ctx, next, from, &loops).await {
            tracing::error!("cannot write the phase index: {e}");
        }
        return true;
    }
    if ctx.state.sequence_complete() {
        return false;
    }
    tracing::info!(
        "PHASE SEQUENCE COMPLETE (last phase {} DONE) — stopping loops",
        phase.id
    );
    let loops: Vec<&crate::config::Agent> = cfg.loop_agents().collect();
    launch::loops::stop_loops(ctx, &loops, "sequence complete").await;
    let stamp = crate::state::now_stamp();
    let _ = crate::state::atomic::write(
        &ctx.state.sequence_complete_path(),
        format!("phase sequence complete {stamp}. Loops stopped; build finished.\n").as_bytes(),
    );
    ctx.events
        .emit("sequence-complete", json!({"last": phase.id}));
    // The loop agents are stopped for good: pings waiting for them are moot.
    crate::state::handoff::on_phase_change(&ctx.state);
    if let Some(oc) = &cfg.loop_.on_complete {
        let trigger = cfg.log_dir.join(&oc.trigger_file);
        if let (true, Some(run)) = (trigger.exists(), &oc.run) {
            let _ = std::fs::remove_file(&trigger);
            if let Some(agent) = cfg.agent(run) {
                tracing::info!("on_complete: launching task agent {run:?}");
                ctx.state.clear_intent(run);
                match launch::prepare_agent(ctx, agent, true) {
                    Ok(p) => {
                        launch::launch(ctx, &[(p, "on_complete".into())], "start").await;
                    }
                    Err(e) => tracing::error!("{e}"),
                }
            }
        }
    }
    true
}

/// Logs once per phase that its status file says DONE from before the phase began (see
/// [`crate::phase::Verdict::Stale`]); `None` forgets it.
fn report_stale(stale: Option<(&str, &std::path::Path)>) {
    static REPORTED: Mutex<Option<String>> = Mutex::new(None);
    let mut reported = REPORTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match stale {
        None => *reported = None,
        Some((id, _)) if reported.as_deref() == Some(id) => {}
        Some((id, path)) => {
            tracing::info!(
                "phase {id}: {} says DONE but was written before the phase began; advancing once a verdict is written in this phase",
                path.display()
            );
            *reported = Some(id.to_string());
        }
    }
}

/// Reports an untrusted phase index once per distinct problem (an event and an error line);
/// returns whether the index can be acted on.
fn report_corrupt(ctx: &Ctx, warning: Option<&str>) -> bool {
    static REPORTED: Mutex<Option<String>> = Mutex::new(None);
    let mut reported = REPORTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(w) = warning else {
        if reported.take().is_some() {
            tracing::info!("the phase index is valid again: phase advance resumes");
        }
        return true;
    };
    if reported.as_deref() != Some(w) {
        tracing::error!("{w}; phase advance is stopped until then (no agent is restarted)");
        ctx.events.emit(
            "phase-index-corrupt",
            json!({"path": ctx.state.phase_path().display().to_string(), "why": w}),
        );
        *reported = Some(w.to_string());
    }
    false
}
