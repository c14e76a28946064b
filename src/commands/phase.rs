//! `agents phase [show|next|set N]` — inspect or move the loop phase. `set` is range-checked
//! (SPEC defect 2) and accepts an index (0-based, as in agents.py) or a phase id.
//!
//! Moving to another phase restarts the running loop agents on it, as the watchdog's
//! auto-advance does (stop them, write the index, clear a leftover `SEQUENCE-COMPLETE`, start
//! them with the new phase's kickoff and model), under the fleet's start/stop lock.
//! `--no-restart` only writes the index (and clears the marker). The phase begins with the
//! index written: a DONE its status file holds from before is not advanced on
//! ([`crate::phase::verdict`]).

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::PhaseAction;
use crate::config::Agent;
use crate::ctx::Ctx;
use crate::launch;

/// Runs `agents phase`.
///
/// # Errors
///
/// An index out of range or an unknown id (the phases are listed), `next` from a corrupt
/// index, an index file that cannot be written, the fleet lock held by another command for
/// too long.
pub(crate) async fn run(ctx: &Ctx, action: Option<PhaseAction>) -> anyhow::Result<ExitCode> {
    let phases = &ctx.cfg.loop_.phases;
    if phases.is_empty() {
        writeln!(
            std::io::stdout(),
            "no [loop].phases configured in {}",
            ctx.cfg.path.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<&str> = phases.iter().map(|p| p.id.as_str()).collect();
    // A corrupt index: `show` prints the fallback in the original's format (a warning on
    // stderr says it is corrupt and how to fix it); `next` refuses to move from a fallback.
    let read = ctx.state.phase_index(phases.len());
    crate::phase::warn_once(read.warning.as_deref());
    let cur = read.index;
    let restart;
    // The stop reason in the log and the `stop` events.
    let verb;
    let target = match action.unwrap_or(PhaseAction::Show) {
        PhaseAction::Next { .. } if read.warning.is_some() => anyhow::bail!(
            "{}\n  help: `agents phase next` needs a valid index; set one with `agents phase set N`",
            read.warning.as_deref().unwrap_or_default()
        ),
        PhaseAction::Show => {
            writeln!(std::io::stdout(), "{}", show_line(&ids, cur))?;
            return Ok(ExitCode::SUCCESS);
        }
        PhaseAction::Next { no_restart } => {
            restart = !no_restart;
            verb = "phase next";
            if cur + 1 >= phases.len() {
                tracing::info!("already at the last phase ({})", phases[cur].id);
            }
            (cur + 1).min(phases.len() - 1)
        }
        PhaseAction::Set { phase, no_restart } => {
            restart = !no_restart;
            verb = "phase set";
            if let Some(i) = ids.iter().position(|id| *id == phase) {
                i
            } else {
                let listing: Vec<String> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| format!("{i} = {id}"))
                    .collect();
                match phase.parse::<i64>() {
                    Ok(i) if usize::try_from(i).is_ok_and(|u| u < phases.len()) => {
                        usize::try_from(i).unwrap_or_default()
                    }
                    Ok(i) => anyhow::bail!(
                        "phase index {i} is out of range: {} phase{} configured ({})",
                        phases.len(),
                        if phases.len() == 1 { " is" } else { "s are" },
                        listing.join(", ")
                    ),
                    Err(_) => anyhow::bail!(
                        "no phase {phase:?}: use an index or an id ({})",
                        listing.join(", ")
                    ),
                }
            }
        }
    };
    let changed = read.warning.is_some() || target != cur;
    let loops: Vec<&Agent> = ctx.cfg.loop_agents().collect();
    // Only a move with loop agents configured asks tmux (and takes the fleet lock).
    let fleet = if restart && changed && !loops.is_empty() {
        Some(crate::state::lock::fleet_lock(&ctx.state).await?)
    } else {
        None
    };
    let running: Vec<&Agent> = if fleet.is_some() {
        match ctx.mux.sessions().await {
            Ok(s) => loops
                .into_iter()
                .filter(|a| s.is_live(&a.session))
                .collect(),
            Err(e) => {
                tracing::warn!("cannot ask tmux which loop agents run ({e}); none is restarted");
                Vec::new()
            }
        }
    } else {
        Vec::new()
    };
    let started =
        launch::loops::move_to(ctx, target, launch::loops::Reason::Set { verb }, &running).await?;
    // What `phase show` prints now (the original printed `phase idx now N (id)`).
    writeln!(std::io::stdout(), "{}", show_line(&ids, target))?;
    if !running.is_empty() {
        let mut failed = Vec::new();
        for (name, r) in started {
            match r {
                Ok(()) => tracing::info!("{name} restarted on phase {}", phases[target].id),
                Err(e) => failed.push(e.to_string()),
            }
        }
        if !failed.is_empty() {
            anyhow::bail!("{}", failed.join("\n"));
        }
    } else if !restart {
        tracing::info!(
            "--no-restart: running loop agents keep their phase until they are restarted"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `phase <id> [i/n] seq: <ids>` for phase index `i` (0-based) of `ids`: the line of `phase
/// show`, also printed by `next` and `set` after moving.
fn show_line(ids: &[&str], i: usize) -> String {
    format!(
        "phase {} [{}/{}] seq: {}",
        ids[i],
        i + 1,
        ids.len(),
        ids.join(" ")
    )
}
