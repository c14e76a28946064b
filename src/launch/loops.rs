//! Moving the loop pair to another phase (SPEC §6): [`move_to`], the one move of the
//! watchdog's auto-advance and `agents phase set|next` — stop the loop agents, write the new
//! phase index, clear a stale `SEQUENCE-COMPLETE`, record the move, reset the handoff
//! memory, and start the loop agents on it (their kickoff and model are the new phase's).
//! The caller holds the fleet's start/stop lock.

use serde_json::json;

use super::{Prepared, stop};
use crate::config::Agent;
use crate::ctx::Ctx;

/// Stops the sessions of `agents` (their backends' stop keys, then kill and reap), and
/// records a `stop` event for each with `reason` (e.g. `phase change`). A tmux failure is
/// logged, not returned: the phase moves on regardless.
pub async fn stop_loops(ctx: &Ctx, agents: &[&Agent], reason: &str) {
    if agents.is_empty() {
        return;
    }
    for a in agents {
        tracing::info!("stopping {} ({reason})", a.session);
    }
    let targets: Vec<stop::Target> = agents.iter().map(|a| stop::agent_target(ctx, a)).collect();
    if let Err(e) = stop::stop(ctx, &targets).await {
        tracing::error!("cannot stop the loop agents: {e}");
    }
    for a in agents {
        ctx.events.emit(
            "stop",
            json!({"name": a.name, "session": a.session, "reason": reason}),
        );
    }
}

/// Why the phase moves, which names the events of a [`move_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason<'a> {
    /// The watchdog's auto-advance from the phase `from` (its id), whose status file says
    /// DONE: `stop` events with reason `phase change`, then `phase-advance`
    /// `{from, to, index}`.
    Advance {
        /// The id of the phase that is done.
        from: &'a str,
    },
    /// `agents phase set|next` (`verb`): `stop` events with reason `verb`, then `phase-set`
    /// `{index, id}`.
    Set {
        /// The verb as the `stop` events' reason: `phase set` or `phase next`.
        verb: &'a str,
    },
}

/// Moves the loop pair to phase `index` (< the number of phases): stops `agents` (the loop
/// agents to restart on it), writes the index and clears `SEQUENCE-COMPLETE`
/// ([`set_phase`]), records the move (see [`Reason`]), forgets the handoff memory when the
/// phase changed (`crate::state::handoff::on_phase_change`: pings about the old phase are
/// moot), and starts `agents` on the new phase (`start` events with reason `phase <id>`).
/// Returns one `(name, result)` per agent started.
///
/// # Errors
///
/// The I/O error when the index cannot be written: the agents were stopped and are not
/// started again.
pub async fn move_to(
    ctx: &Ctx,
    index: usize,
    reason: Reason<'_>,
    agents: &[&Agent],
) -> std::io::Result<Vec<(String, Result<(), super::LaunchError>)>> {
    let phases = &ctx.cfg.loop_.phases;
    let before = ctx.state.phase_index(phases.len());
    let changed = before.warning.is_some() || before.index != index;
    let stop_reason = match reason {
        Reason::Advance { .. } => "phase change",
        Reason::Set { verb } => verb,
    };
    stop_loops(ctx, agents, stop_reason).await;
    set_phase(ctx, index)?;
    let id = &phases[index].id;
    match reason {
        Reason::Advance { from } => ctx.events.emit(
            "phase-advance",
            json!({"from": from, "to": id, "index": index}),
        ),
        Reason::Set { .. } => ctx
            .events
            .emit("phase-set", json!({"index": index, "id": id})),
    }
    if changed {
        crate::state::handoff::on_phase_change(&ctx.state);
    }
    Ok(start_loops(ctx, agents, &format!("phase {id}")).await)
}

/// Writes phase `index` (the phase begins: a DONE in its status file written before now is
/// not advanced on, see `crate::phase::verdict`) and removes `SEQUENCE-COMPLETE` (the
/// sequence is running again; a leftover marker would keep the watchdog from healing the loop
/// agents). Returns whether a marker was removed.
///
/// # Errors
///
/// The I/O error when the phase index cannot be written, or the marker exists and cannot be
/// removed.
pub fn set_phase(ctx: &Ctx, index: usize) -> std::io::Result<bool> {
    ctx.state.write_phase_index(index)?;
    let phase = &ctx.cfg.loop_.phases[index];
    let marker = ctx.state.sequence_complete_path();
    if !marker.exists() {
        return Ok(false);
    }
    match std::fs::remove_file(&marker) {
        Ok(()) => {
            tracing::info!(
                "phase {} begins: removed {} (loop agents are healed again)",
                phase.id,
                marker.display()
            );
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => {
            tracing::error!(
                "cannot remove {}: {e}; loop agents stay unhealed until it is gone",
                marker.display()
            );
            Ok(false)
        }
    }
}

/// Starts `agents` (those not marked `down`) on the current phase through [`super::launch`],
/// recording `start` events with `reason`. Agents that cannot be prepared are logged.
/// Returns one `(name, result)` per agent launched.
pub async fn start_loops(
    ctx: &Ctx,
    agents: &[&Agent],
    reason: &str,
) -> Vec<(String, Result<(), super::LaunchError>)> {
    let items: Vec<(Prepared, String)> = agents
        .iter()
        .filter(|a| !ctx.state.is_down(&a.name))
        .filter_map(|a| match super::prepare_agent(ctx, a, true) {
            Ok(p) => Some((p, reason.to_string())),
            Err(e) => {
                tracing::error!("{e}");
                None
            }
        })
        .collect();
    super::launch(ctx, &items, "start").await
}
