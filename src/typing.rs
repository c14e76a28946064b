//! The one way text is typed into an agent: kickoff pings, limit resumes, chooser answers and
//! stall nudges (and later handoff pings, wakes and `agents send`) all come through
//! [`deliver`].
//!
//! A delivery: takes the session's typing lock (`state/typing-<session>.lock`: one delivery
//! at a time per session, across processes); reads the pane and refuses while it shows a
//! dialog (a person must answer it); types the text (`send-keys -l`, or one bracketed paste
//! for multi-line or long text); presses the backend's submit key and verifies — the text
//! left the input line, or the agent turned active — pressing again at most
//! [`MAX_SUBMITS`] times in all; records an event `typed` with the outcome.

use std::fs::File;
use std::time::Duration;

use serde_json::json;

use crate::config::Backend;
use crate::ctx::Ctx;
use crate::detect::{self, State};

/// Submit presses at most, the first included.
pub const MAX_SUBMITS: usize = 3;
/// The input area: this many non-blank lines at the bottom of the pane.
const INPUT_LINES: usize = 6;
/// How much of the message identifies it on screen.
const PREFIX_CHARS: usize = 28;
/// Text longer than this, or with a newline, is pasted rather than typed.
const PASTE_OVER: usize = 400;
/// How long a delivery waits for another one to the same session to finish.
const LOCK_WAIT: Duration = Duration::from_secs(15);

/// What to type, and why (for the event).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// Agent name, for the event.
    pub name: &'a str,
    pub session: &'a str,
    pub text: &'a str,
    /// `kickoff`, `limit-resume`, `limit-choice`, `stall-nudge`, …
    pub purpose: &'a str,
    /// Press `text` as one key (a tmux key name such as `1`), then the submit key; no
    /// verify (a chooser answer).
    pub key_only: bool,
}

/// Types and submits `msg` into its session (see the module doc). `Err` says why it was not
/// delivered or not verified; the event records it either way.
pub async fn deliver(ctx: &Ctx, backend: &Backend, msg: Message<'_>) -> Result<(), String> {
    let res = deliver_locked(ctx, backend, msg).await;
    let (outcome, error) = match &res {
        Ok(()) => ("delivered", None),
        Err(e) => ("failed", Some(e.clone())),
    };
    let shown: String = msg.text.chars().take(120).collect();
    ctx.events.emit(
        "typed",
        json!({"name": msg.name, "session": msg.session, "purpose": msg.purpose,
               "text": shown, "outcome": outcome, "error": error}),
    );
    res
}

async fn deliver_locked(ctx: &Ctx, backend: &Backend, msg: Message<'_>) -> Result<(), String> {
    let _lock = lock(ctx, msg.session).await?;
    let tmux = &ctx.tmux;
    let pane = tmux
        .capture(msg.session)
        .await
        .map_err(|e| format!("cannot read the pane: {e}"))?;
    let before = detect::read(backend, &pane);
    if before.state == State::Dialog && !msg.key_only {
        return Err(format!(
            "a dialog waits for a person: {}",
            before.line.unwrap_or_default()
        ));
    }
    if msg.key_only {
        tmux.send_key(msg.session, msg.text)
            .await
            .map_err(|e| e.to_string())?;
        tokio::time::sleep(Duration::from_millis(200)).await;
        return tmux
            .send_key(msg.session, &backend.submit_key)
            .await
            .map_err(|e| e.to_string());
    }
    let typed = if msg.text.contains('\n') || msg.text.len() > PASTE_OVER {
        tmux.paste(msg.session, msg.text).await
    } else {
        tmux.send_text(msg.session, msg.text).await
    };
    typed.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..MAX_SUBMITS {
        tmux.send_key(msg.session, &backend.submit_key)
            .await
            .map_err(|e| e.to_string())?;
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let pane = tmux.capture(msg.session).await.map_err(|e| e.to_string())?;
            if submitted(backend, &pane, msg.text) {
                return Ok(());
            }
        }
    }
    Err(format!(
        "not verified: the typed text was still in the input line after {MAX_SUBMITS} presses of {}",
        backend.submit_key
    ))
}

/// Takes `state/typing-<session>.lock`, waiting up to [`LOCK_WAIT`] for another delivery.
async fn lock(ctx: &Ctx, session: &str) -> Result<File, String> {
    let path = ctx.state.dir().join(format!("typing-{session}.lock"));
    crate::state::lock::wait_for(&path, LOCK_WAIT)
        .await
        .map_err(|e| format!("another delivery to {session} is under way: {e}"))
}

/// Whether the pane shows `msg` as submitted: the agent is active, or the message's start is
/// not among the bottom non-blank lines (where TUIs draw their input box). A TUI that echoes
/// the prompt into its transcript is not pressed again (SPEC defect 7).
pub fn submitted(backend: &Backend, pane: &str, msg: &str) -> bool {
    if detect::read(backend, pane).state == State::Active {
        return true;
    }
    let first_line = msg.lines().next().unwrap_or("");
    let prefix: String = first_line.chars().take(PREFIX_CHARS).collect();
    let lines = detect::normalize::lines(pane);
    !lines
        .iter()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(INPUT_LINES)
        .any(|l| l.contains(prefix.trim()))
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
