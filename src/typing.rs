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
//!
//! Around it: [`wait_idle`] waits until a pane reads idle (`agents send`, wakes), and
//! [`press_keys`] presses named keys (`agents send --keys`) under the same lock.

use std::fs::File;
use std::time::Duration;

use serde_json::json;

use crate::config::Backend;
use crate::ctx::Ctx;
use crate::detect::{self, State};
use crate::tmux::Sessions;

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
/// How often [`wait_idle`] reads the pane.
const IDLE_POLL: Duration = Duration::from_millis(300);

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
        // Up to 1 s per press, read every 100 ms: a quick agent is verified quickly.
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(100)).await;
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

/// Why [`wait_idle`] gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotIdle {
    /// The session does not exist, or its program exited (the text says which).
    NotRunning(String),
    /// The pane shows a dialog that waits for a person: its line.
    Dialog(String),
    /// Still busy when the wait ran out: the state and the line that says so.
    Busy(String),
}

impl std::fmt::Display for NotIdle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotIdle::NotRunning(why) => f.write_str(why),
            NotIdle::Dialog(line) => write!(f, "a dialog waits for a person: {line}"),
            NotIdle::Busy(why) => write!(f, "still busy: {why}"),
        }
    }
}

/// How a session reads, once, for typing into it (see [`readiness`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Waiting for input: text can be typed now.
    Idle,
    /// Working (active, or a `footer_ui` log written within `log_grace`): why.
    Busy(String),
    /// A usage limit holds it: the state and the line that says so.
    Limited(String),
    /// A fatal screen: the state and its line.
    Fatal(String),
    /// A dialog waits for a person: its line.
    Dialog(String),
    /// The session does not exist, its program exited, or its pane cannot be read: why.
    NotRunning(String),
}

impl Readiness {
    /// `Ok` when idle; else why not, as [`wait_idle`] reports it (limited and fatal screens
    /// are [`NotIdle::Busy`]: they are waited out).
    pub fn idle(self) -> Result<(), NotIdle> {
        match self {
            Readiness::Idle => Ok(()),
            Readiness::NotRunning(why) => Err(NotIdle::NotRunning(why)),
            Readiness::Dialog(line) => Err(NotIdle::Dialog(line)),
            Readiness::Busy(why) | Readiness::Limited(why) | Readiness::Fatal(why) => {
                Err(NotIdle::Busy(why))
            }
        }
    }
}

/// Reads `session` once: its row in `sessions` (this tick's `list-panes`) and one capture.
/// For a `footer_ui` backend a session log written within `log_grace` counts as busy, as
/// the watchdog reads it.
pub async fn readiness(
    ctx: &Ctx,
    backend: &Backend,
    sessions: &Sessions,
    session: &str,
) -> Readiness {
    let Some(info) = sessions.get(session) else {
        return Readiness::NotRunning(format!("session {session} is not running"));
    };
    if let Some(dead) = detect::dead(backend, info) {
        return Readiness::NotRunning(format!(
            "session {session} is not running: its program exited ({})",
            dead.line.unwrap_or_else(|| dead.rule.to_string())
        ));
    }
    let pane = match ctx.tmux.capture(session).await {
        Ok(p) => p,
        Err(e) => {
            return Readiness::NotRunning(format!("cannot read the pane of {session}: {e}"));
        }
    };
    let r = detect::read(backend, &pane);
    let why = || {
        format!(
            "{} ({})",
            r.state.as_str(),
            r.line.clone().unwrap_or_else(|| r.rule.to_string())
        )
    };
    match r.state {
        State::Dialog => Readiness::Dialog(r.line.clone().unwrap_or_default()),
        State::Idle if footer_log_active(ctx, backend, session) => Readiness::Busy(format!(
            "its log was written within log_grace ({:?})",
            backend.log_grace
        )),
        State::Idle => Readiness::Idle,
        State::Limited => Readiness::Limited(why()),
        State::Fatal => Readiness::Fatal(why()),
        State::Active | State::Dead => Readiness::Busy(why()),
    }
}

/// Reads `session` every [`IDLE_POLL`] until its pane reads idle, for at most `timeout`
/// (`Duration::ZERO`: read once). Active, limited and fatal screens are waited out; for a
/// `footer_ui` backend a session log written within `log_grace` counts as active, as the
/// watchdog reads it. Errors at once when the session is not running (gone, or its program
/// exited) or shows a dialog; [`NotIdle::Busy`] when the time ran out.
pub async fn wait_idle(
    ctx: &Ctx,
    backend: &Backend,
    session: &str,
    timeout: Duration,
) -> Result<(), NotIdle> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let sessions = ctx
            .tmux
            .sessions()
            .await
            .map_err(|e| NotIdle::NotRunning(format!("cannot list tmux sessions: {e}")))?;
        match readiness(ctx, backend, &sessions, session).await.idle() {
            Err(NotIdle::Busy(_)) if tokio::time::Instant::now() + IDLE_POLL <= deadline => {}
            done => return done,
        }
        tokio::time::sleep(IDLE_POLL).await;
    }
}

/// Whether a `footer_ui` backend's session log was written within its `log_grace`: such a
/// TUI keeps its footer on screen while it works, so its log is the evidence of activity.
pub fn footer_log_active(ctx: &Ctx, backend: &Backend, session: &str) -> bool {
    backend.footer_ui
        && std::fs::metadata(ctx.cfg.session_log(session))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age <= backend.log_grace)
}

/// Whether `key` is a key name [`press_keys`] accepts: one character, or a tmux key name
/// (`Enter`, `Escape`, `Tab`, `BSpace`, `Up`, `F1`, …) with optional `C-`, `M-`, `S-`
/// modifiers (`C-c`, `M-Enter`). tmux types an unknown name as text; this catches typos.
pub fn key_name_ok(key: &str) -> bool {
    const NAMED: &[&str] = &[
        "Enter", "Escape", "Tab", "BTab", "BSpace", "Space", "Up", "Down", "Left", "Right", "Home",
        "End", "PageUp", "PageDown", "PgUp", "PgDn", "PPage", "NPage", "IC", "DC", "Insert",
        "Delete",
    ];
    let mut k = key;
    while let Some(rest) = ["C-", "M-", "S-"].iter().find_map(|m| k.strip_prefix(m)) {
        if rest.is_empty() {
            break;
        }
        k = rest;
    }
    let f_key = k
        .strip_prefix('F')
        .and_then(|n| n.parse::<u8>().ok())
        .is_some_and(|n| (1..=12).contains(&n));
    k.chars().count() == 1 || f_key || NAMED.iter().any(|n| n.eq_ignore_ascii_case(k))
}

/// Presses the tmux keys `keys` in order (e.g. `["Escape"]`, `["C-c"]`, `["1", "Enter"]`)
/// into `session`, under the session's typing lock, and records a `typed` event (`text`:
/// the keys joined by spaces). Unlike [`deliver`] it presses into a dialog too: keys are how
/// a person answers one from outside the pane. Verified means tmux took every key. Errors:
/// an unknown key name ([`key_name_ok`]), the lock, or tmux.
pub async fn press_keys(
    ctx: &Ctx,
    name: &str,
    session: &str,
    keys: &[String],
    purpose: &str,
) -> Result<(), String> {
    let res = press_locked(ctx, session, keys).await;
    let (outcome, error) = match &res {
        Ok(()) => ("delivered", None),
        Err(e) => ("failed", Some(e.clone())),
    };
    ctx.events.emit(
        "typed",
        json!({"name": name, "session": session, "purpose": purpose, "keys": true,
               "text": keys.join(" "), "outcome": outcome, "error": error}),
    );
    res
}

async fn press_locked(ctx: &Ctx, session: &str, keys: &[String]) -> Result<(), String> {
    if let Some(bad) = keys.iter().find(|k| !key_name_ok(k)) {
        return Err(format!(
            "{bad:?} is not a key name: use one character or a tmux key name such as Enter, Escape, Tab, BSpace, Up, F1, C-c or M-Enter"
        ));
    }
    if keys.is_empty() {
        return Err("no keys to press".into());
    }
    let _lock = lock(ctx, session).await?;
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ctx.tmux
            .send_key(session, k)
            .await
            .map_err(|e| format!("tmux did not take the key {k}: {e}"))?;
    }
    Ok(())
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

    #[test]
    fn key_names() {
        for ok in [
            "Escape", "C-c", "1", "y", "Enter", "M-Enter", "C-M-x", "F12", "BSpace", "S-Tab",
            "enter",
        ] {
            assert!(key_name_ok(ok), "{ok}");
        }
        for bad in ["Escpae", "", "C-", "F13", "hello", "Esc ape"] {
            assert!(!key_name_ok(bad), "{bad}");
        }
    }
}
