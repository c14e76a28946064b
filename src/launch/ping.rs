//! The kickoff ping of a TUI (SPEC §4, ping delivery): wait until the TUI is ready
//! (`ready_re` matches the pane, else a flat `connect_delay`), then type one line that points
//! at the kickoff file through the one typing path, [`crate::typing::deliver`] (verified,
//! at most [`crate::typing::MAX_SUBMITS`] presses — the original pressed up to 10 times
//! whenever a TUI echoed the prompt into its transcript, SPEC defect 7).

use std::path::Path;
use std::time::Duration;

use crate::config::Backend;
use crate::ctx::Ctx;

/// The line typed into a ping backend to start it on its kickoff.
pub fn kickoff_line(kickoff: &Path) -> String {
    let k = kickoff.display();
    format!(
        "Your full kickoff prompt is in {k} — read it now with: `cat '{k}'` — then follow it exactly."
    )
}

/// Waits for the TUI in `session` to be ready, then types and submits the kickoff line
/// through the one typing path ([`crate::typing::deliver`]).
///
/// # Errors
///
/// [`crate::typing::NotDelivered`] when the delivery was not verified: refused (a dialog,
/// the program exited), failed (the typing lock, tmux) or unverified.
pub async fn deliver_kickoff(
    ctx: &Ctx,
    backend: &Backend,
    name: &str,
    session: &str,
    kickoff: &Path,
) -> Result<(), crate::typing::NotDelivered> {
    wait_ready(ctx, backend, session).await;
    let line = kickoff_line(kickoff);
    crate::typing::deliver(
        ctx,
        backend,
        crate::typing::Message {
            name,
            session,
            text: &line,
            purpose: "kickoff",
            key_only: false,
        },
    )
    .await
    .into_result()
}

async fn wait_ready(ctx: &Ctx, backend: &Backend, session: &str) {
    let Some(re) = &backend.ready_re else {
        tokio::time::sleep(backend.connect_delay).await;
        return;
    };
    let deadline = tokio::time::Instant::now() + backend.connect_delay;
    while tokio::time::Instant::now() < deadline {
        if let Ok(pane) = ctx.mux.capture(session).await
            && re.regex().is_match(&pane)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub use crate::typing::submitted;
