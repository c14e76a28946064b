//! Typing into a TUI (SPEC §4, ping delivery; also used for watchdog messages).
//!
//! The kickoff ping waits until the TUI is ready (`ready_re` matches the pane, else a flat
//! `connect_delay`), types one line that points at the kickoff file, and submits it. The
//! submit is confirmed by reading the pane: the agent shows activity, or the typed text is no
//! longer in the input area at the bottom. At most [`MAX_SUBMITS`] presses — the original
//! pressed up to 10 times (~10 s) whenever a TUI echoed the prompt into its transcript
//! (SPEC defect 7).

use std::path::Path;
use std::time::Duration;

use crate::config::Backend;
use crate::ctx::Ctx;
use crate::detect::{self, State};

/// Submit presses at most, the first included.
pub const MAX_SUBMITS: usize = 3;
/// The input area: this many non-blank lines at the bottom of the pane.
const INPUT_LINES: usize = 6;
/// How much of the message identifies it on screen.
const PREFIX_CHARS: usize = 28;

/// The line typed into a ping backend to start it on its kickoff.
pub fn kickoff_line(kickoff: &Path) -> String {
    let k = kickoff.display();
    format!(
        "Your full kickoff prompt is in {k} — read it now with: `cat '{k}'` — then follow it exactly."
    )
}

/// Waits for the TUI in `session` to be ready, then types and submits the kickoff line.
pub async fn deliver_kickoff(
    ctx: &Ctx,
    backend: &Backend,
    session: &str,
    kickoff: &Path,
) -> Result<(), String> {
    wait_ready(ctx, backend, session).await;
    type_and_submit(ctx, backend, session, &kickoff_line(kickoff)).await
}

async fn wait_ready(ctx: &Ctx, backend: &Backend, session: &str) {
    let Some(re) = &backend.ready_re else {
        tokio::time::sleep(backend.connect_delay).await;
        return;
    };
    let deadline = tokio::time::Instant::now() + backend.connect_delay;
    while tokio::time::Instant::now() < deadline {
        if let Ok(pane) = ctx.tmux.capture(session).await
            && re.regex().is_match(&pane)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Types `msg` (control characters become spaces) and presses the backend's submit key,
/// re-pressing while the text still sits in the input area, at most [`MAX_SUBMITS`] times.
pub async fn type_and_submit(
    ctx: &Ctx,
    backend: &Backend,
    session: &str,
    msg: &str,
) -> Result<(), String> {
    let tmux = &ctx.tmux;
    tmux.send_text(session, msg)
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..MAX_SUBMITS {
        tmux.send_key(session, &backend.submit_key)
            .await
            .map_err(|e| e.to_string())?;
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let pane = tmux.capture(session).await.map_err(|e| e.to_string())?;
            if submitted(backend, &pane, msg) {
                return Ok(());
            }
        }
    }
    Err(format!(
        "the typed text was still in the input line after {MAX_SUBMITS} presses of {}",
        backend.submit_key
    ))
}

/// Whether the pane shows `msg` as submitted: the agent is active, or the message's start is
/// not among the bottom non-blank lines (where TUIs draw their input box).
pub fn submitted(backend: &Backend, pane: &str, msg: &str) -> bool {
    if detect::read(backend, pane).state == State::Active {
        return true;
    }
    let prefix: String = msg.chars().take(PREFIX_CHARS).collect();
    !pane
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(INPUT_LINES)
        .any(|l| l.contains(prefix.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::backend;

    #[test]
    fn defect_07_echo_in_transcript_counts_as_submitted() {
        let b = backend("esc to interrupt", "", "", false);
        let msg = "Your full kickoff prompt is in /x — read it now";
        let transcript =
            format!("> {msg}\n\nreading the file...\nline\nline\nline\nline\nline\nline\n❯ \n");
        assert!(submitted(&b, &transcript, msg));
        let still_typed = format!("earlier output\n❯ {msg}\n──────\n? for shortcuts\n");
        assert!(!submitted(&b, &still_typed, msg));
        let busy = format!("❯ {msg}\n✶ Reading… (esc to interrupt)\n");
        assert!(submitted(&b, &busy, msg));
    }
}
