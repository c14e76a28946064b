//! `agents attach NAME [-r]` — put this terminal on an agent's, service's or the watchdog's
//! session, on the fleet's tmux server (`switch-client` when already inside it). tmux replaces
//! this process: its exit status is `attach`'s.

use std::process::ExitCode;

use crate::ctx::Ctx;

/// Runs `agents attach`.
///
/// # Errors
///
/// An unknown name (the known ones listed), a session that is not running (with the
/// `agents up` that starts it), tmux missing.
pub(crate) async fn run(ctx: &Ctx, name: &str, read_only: bool) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    super::check_names(cfg, &[name.to_string()])?;
    let session = super::restart::session_of(cfg, name).unwrap_or_default();
    let sessions = ctx.mux.sessions().await?;
    match sessions.get(&session) {
        None => anyhow::bail!(
            "{name} is not running (no session {session} on the fleet's tmux server)\n  help: start it with `agents up {name}`"
        ),
        Some(p) if p.dead => tracing::warn!(
            "{name}'s program has exited; its session {session} shows what it left (`agents restart {name}` starts it again)"
        ),
        Some(_) => {}
    }
    let plan = ctx.tmux.attach_plan(&session, read_only);
    Err(ctx.tmux.exec_attach(&plan).into())
}
