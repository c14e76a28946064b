//! `agents phase [show|next|set N]` — inspect or move the loop phase. `set` is range-checked
//! (SPEC defect 2) and accepts an index (0-based, as in agents.py) or a phase id.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::PhaseAction;
use crate::ctx::Ctx;

pub fn run(ctx: &Ctx, action: Option<PhaseAction>) -> anyhow::Result<ExitCode> {
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
    let target = match action.unwrap_or(PhaseAction::Show) {
        PhaseAction::Next if read.warning.is_some() => anyhow::bail!(
            "{}\n  help: `agents phase next` needs a valid index; set one with `agents phase set N`",
            read.warning.as_deref().unwrap_or_default()
        ),
        PhaseAction::Show => {
            writeln!(
                std::io::stdout(),
                "phase {} [{}/{}] seq: {}",
                phases[cur].id,
                cur + 1,
                phases.len(),
                ids.join(" ")
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        PhaseAction::Next => {
            if cur + 1 >= phases.len() {
                tracing::info!("already at the last phase ({})", phases[cur].id);
            }
            (cur + 1).min(phases.len() - 1)
        }
        PhaseAction::Set { phase } => match ids.iter().position(|id| *id == phase) {
            Some(i) => i,
            None => {
                let listing: Vec<String> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| format!("{i} = {id}"))
                    .collect();
                match phase.parse::<i64>() {
                    Ok(i) if i >= 0 && (i as usize) < phases.len() => i as usize,
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
        },
    };
    ctx.state.write_phase_index(target)?;
    ctx.events.emit(
        "phase-set",
        serde_json::json!({"index": target, "id": phases[target].id}),
    );
    writeln!(
        std::io::stdout(),
        "phase idx now {target} ({})",
        phases[target].id
    )?;
    Ok(ExitCode::SUCCESS)
}
