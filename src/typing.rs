//! The one way text is typed into an agent: kickoff pings, limit resumes, chooser answers,
//! stall nudges, handoff pings, wakes and `agents send` all come through [`deliver`].
//!
//! A delivery: takes the session's typing lock (`state/typing-<session>.lock`: one delivery
//! at a time per session, across processes); reads the pane and refuses while it shows a
//! dialog (a person must answer it) or its program has exited, or when the text has a
//! control character other than newline and tab ([`control_char`]); types the text
//! (`send-keys -l`, or one bracketed paste for text with a newline or a tab, or long text);
//! reads the pane with its cursor ([`crate::tmux::Screen`], one tmux call) every
//! `TYPING_POLL` until the typed text shows ([`shows_typed`]: a TUI that has not drawn it
//! yet would take the submit key as part of the text), at most `SHOWN_WAIT`; refuses if a
//! dialog came up meanwhile; presses the backend's submit key and verifies it from the line
//! under the cursor ([`verify`]): the text left the cursor's line, the cursor moved on to a
//! fresh line (a line-mode agent: a Python `input()` REPL, a shell `read` loop, aider), or the
//! agent turned active. It presses again only while the text is still on the cursor's line,
//! at most [`MAX_SUBMITS`] times in all. A pane whose cursor cannot tell (hidden, off-screen,
//! or not at the typed text, as TUIs that draw their own cursor) is verified by the older
//! input-area check ([`submitted`]), and the event says so. Verified also needs the agent
//! to show it lives on ([`Life`]): it turned active, or it answered and still runs
//! [`ANSWER_HOLD`] later, or failing both it still runs [`ALIVE_AFTER`] later: text that
//! "left the input line" because the program exited (a dialog answered "No, exit") is not a
//! delivery.
//!
//! Every delivery ends in one [`Outcome`] — `delivered` (verified), `unverified` (the submit
//! key was pressed, the delivery could not be verified: never typed again by anyone),
//! `refused` (nothing submitted: a dialog, a program that exited) or `failed` (an error) —
//! recorded once as an event `typed` with the text, and as the agent's last delivery in
//! `state/typed-<agent>.json` ([`last`], shown by `status`).
//!
//! Around it: [`wait_idle`] waits until a pane reads idle, [`deliver_when_idle`] waits for
//! it and reads it again under the lock (`agents send`; wakes and handoff pings with no wait,
//! so that one which saw the agent idle, then waited for the lock while another delivery
//! made it busy, is not typed into the busy agent), and
//! [`press_keys`] presses named keys (`agents send --keys`) under the same lock.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::Backend;
use crate::ctx::Ctx;
use crate::detect::{self, State};
use crate::state::StateDir;
use crate::state::lock::LockError;
use crate::tmux::{Screen, Sessions, TmuxError};

/// Submit presses at most, the first included.
pub const MAX_SUBMITS: usize = 3;
/// The longest a verified delivery's program is watched for signs that it lives on (see
/// [`Life`]): one that has shown none must still be running this long after the reading
/// that verified it. It guards against taking text that "left the input line" because the
/// program exited on it (a dialog answered "No, exit", a program that reads one line and
/// quits) for a delivery.
pub const ALIVE_AFTER: Duration = Duration::from_millis(500);
/// A program that answered a submitted text (its screen changed after the reading that
/// verified it) must still be running this long after the change was seen: a program that
/// prints a farewell and exits is gone by then (a Python script that prints a line and
/// exits: its pane read dead 3–29 ms after the line showed, on a loaded 2-core machine).
pub const ANSWER_HOLD: Duration = Duration::from_millis(100);
/// The input area: this many non-blank lines at the bottom of the pane.
const INPUT_LINES: usize = 6;
/// How much of the message identifies it on screen.
const PREFIX_CHARS: usize = 28;
/// How much of the end of the message's last line identifies it on the cursor's line.
const TAIL_CHARS: usize = 24;
/// Text longer than this, or with a newline, is pasted rather than typed.
const PASTE_OVER: usize = 400;
/// How long a delivery waits for another one to the same session to finish.
const LOCK_WAIT: Duration = Duration::from_secs(15);
/// How often [`wait_idle`] reads the pane.
const IDLE_POLL: Duration = Duration::from_millis(300);
/// How often the pane is read after typing (until the text shows) and after a submit press
/// (until it is verified).
const TYPING_POLL: Duration = Duration::from_millis(15);
/// How long a chooser's key (a dialog's `Down`) may take to show on the screen before the
/// answer is given up, unconfirmed.
const KEY_DRAWN_WAIT: Duration = Duration::from_secs(3);
/// How long typed text may take to show before the submit key is pressed anyway (a pane
/// that never shows it: a paste drawn as `[Pasted text …]`, a screen the text scrolled off).
const SHOWN_WAIT: Duration = Duration::from_secs(1);
/// How long each submit press is given to be verified before the next.
const PRESS_WAIT: Duration = Duration::from_secs(1);

/// What to type, and why (for the event).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// Agent name, for the event.
    pub name: &'a str,
    /// The agent's tmux session, typed into.
    pub session: &'a str,
    /// The text to type and submit (or, with `key_only`, the key names to press).
    pub text: &'a str,
    /// `kickoff`, `limit-resume`, `limit-choice`, `stall-nudge`, `handoff`, `wake`, `send`.
    pub purpose: &'a str,
    /// Press `text` as keys (tmux key names separated by spaces: `1`, `Down Down`), then the
    /// submit key; no verify (a chooser's or a dialog's answer).
    pub key_only: bool,
}

/// How a delivery ended (the `typed` event's `outcome`).
#[derive(Debug)]
pub enum Outcome {
    /// Submitted and verified: what showed it (e.g. "the text left the cursor's line").
    Delivered(String),
    /// The submit key was pressed but the delivery could not be verified: why (one of the
    /// kinds after the submit key: [`DeliveryError::SubmitKey`] …
    /// [`DeliveryError::StillTyped`], [`DeliveryError::Though`]). The text may have reached
    /// the agent; it is never typed again.
    Unverified(DeliveryError),
    /// Nothing was submitted: a dialog is up ([`DeliveryError::Dialog`]), the program exited
    /// ([`DeliveryError::Exited`]), or the text has a control character. `typed`: the text
    /// was typed (not submitted) before the refusal (a dialog that came up meanwhile).
    Refused {
        /// Why nothing was submitted.
        why: DeliveryError,
        /// Whether the text had been typed (left unsubmitted in the input) when it was refused.
        typed: bool,
    },
    /// An error kept it from being typed or submitted (the typing lock, tmux).
    Failed(DeliveryError),
}

/// Why a delivery was refused, failed or left unverified (the `why` of an [`Outcome`] that
/// is not `delivered`), or why [`press_keys`] pressed nothing. `Display` is the text the
/// `typed` event's `error`, `status` and `agents send` show.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Refused: the pane shows a dialog that waits for a person: its line (or the rule).
    #[error("a dialog waits for a person: {0}")]
    Dialog(String),
    /// Refused: the pane's program has exited.
    #[error("its program has exited")]
    Exited,
    /// Refused: the text has a control character ([`control_char`]).
    #[error("the text has a {0}, which would reach the agent as a key press")]
    ControlChar(ControlChar),
    /// Failed: the session's typing lock was held by another delivery for `LOCK_WAIT`, or
    /// could not be taken at all ([`LockError::Io`]).
    #[error("another delivery to {session} is under way: {source}")]
    Locked {
        /// The tmux session whose `state/typing-<session>.lock` was not taken.
        session: String,
        /// Why: held for the whole wait, or not lockable at all.
        source: LockError,
    },
    /// Failed: the pane could not be read before the submit key (`when`: "before typing").
    #[error("cannot read the pane {when}: {source}")]
    Unreadable {
        /// When the read was: `before typing`, `after a key` (a chooser's) or `before the submit key`.
        when: &'static str,
        /// tmux's error reading the screen.
        source: TmuxError,
    },
    /// Failed: tmux did not take the text or a key before the submit key.
    #[error("{0}")]
    Tmux(TmuxError),
    /// [`press_keys`]: a key name tmux would type as text ([`key_name_ok`]).
    #[error(
        "{0:?} is not a key name: use one character or a tmux key name such as Enter, Escape, Tab, BSpace, Up, F1, C-c or M-Enter"
    )]
    NotAKey(String),
    /// [`press_keys`]: no keys were given.
    #[error("no keys to press")]
    NoKeys,
    /// [`press_keys`]: tmux did not take a key.
    #[error("tmux did not take the key {key}: {source}")]
    KeyNotTaken {
        /// The tmux key name that `send-keys` refused.
        key: String,
        /// tmux's error.
        source: TmuxError,
    },
    /// Failed: a chooser's key (`Down`) did not show on the screen within
    /// [`KEY_DRAWN_WAIT`]; its submit key was not pressed.
    #[error("the screen did not change after the key {key}: the choice was not confirmed")]
    KeyNotDrawn {
        /// The tmux key name pressed.
        key: String,
    },
    /// Unverified: tmux failed on the submit key.
    #[error("tmux failed after the submit key: {0}")]
    SubmitKey(TmuxError),
    /// Unverified: the session was gone after the submit key ([`TmuxError::is_gone`]).
    #[error("its program exited after the submit key was pressed (the session is gone: {0})")]
    GoneAfter(TmuxError),
    /// Unverified: the pane could not be read after the submit key (not gone).
    #[error("the pane cannot be read after the submit key: {0}")]
    UnreadableAfter(TmuxError),
    /// Unverified: the pane read dead after the submit key.
    #[error("its program exited after the submit key was pressed")]
    ExitedAfter,
    /// Unverified: the pane ran another program after the submit key (the watchdog
    /// restarted it).
    #[error("its program exited after the submit key was pressed (the pane was restarted)")]
    RestartedAfter,
    /// Unverified: the typed text was still where it was typed after [`MAX_SUBMITS`]
    /// presses of `key`; `by_cursor`: judged by the cursor's line, else the input area.
    #[error(
        "the typed text was still {} after {MAX_SUBMITS} presses of {key}",
        if *by_cursor { "on the cursor's line" } else { "in the input area" }
    )]
    StillTyped {
        /// Whether the cursor's line judged it ([`cursor_check`] passed), else the input area.
        by_cursor: bool,
        /// The backend's `submit_key`, as a tmux key name.
        key: String,
    },
    /// Unverified: `cause` (the program exited, the pane could not be read) while
    /// `alive_after` watched a delivery that `evidence` had verified.
    #[error("{cause}, though {}", evidence.describe())]
    Though {
        /// What `alive_after` saw after the delivery was verified.
        cause: Box<DeliveryError>,
        /// What had verified the delivery.
        evidence: Evidence,
    },
}

impl DeliveryError {
    /// A dialog is up (a person must answer it, e.g. with `agents send --keys`).
    pub fn is_dialog(&self) -> bool {
        matches!(self, DeliveryError::Dialog(_))
    }

    /// The session is gone, or its program exited or was restarted (before or after the
    /// submit key).
    pub fn is_gone(&self) -> bool {
        match self {
            DeliveryError::Exited
            | DeliveryError::GoneAfter(_)
            | DeliveryError::ExitedAfter
            | DeliveryError::RestartedAfter => true,
            DeliveryError::Unreadable { source, .. }
            | DeliveryError::Tmux(source)
            | DeliveryError::KeyNotTaken { source, .. }
            | DeliveryError::SubmitKey(source) => source.is_gone(),
            DeliveryError::Though { cause, .. } => cause.is_gone(),
            _ => false,
        }
    }
}

/// A delivery that did not end verified, as one error ([`Outcome::into_result`]).
/// `Display`: the outcome and why, as one line (`unverified: …`); its `source` is the
/// [`DeliveryError`].
#[derive(Debug, thiserror::Error)]
#[error("{}: {}", .0.as_str(), .0.why().unwrap_or_default())]
pub struct NotDelivered(pub Outcome);

impl NotDelivered {
    /// Why it was not delivered (never `None`: a delivered outcome is no error).
    pub fn error(&self) -> Option<&DeliveryError> {
        self.0.error()
    }
}

impl Outcome {
    /// `delivered`, `unverified`, `refused` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Delivered(_) => "delivered",
            Outcome::Unverified(_) => "unverified",
            Outcome::Refused { .. } => "refused",
            Outcome::Failed(_) => "failed",
        }
    }

    /// Verified.
    pub fn is_delivered(&self) -> bool {
        matches!(self, Outcome::Delivered(_))
    }

    /// Why it was not verified, as the `typed` event and `status` show it (`None` when
    /// delivered); a refusal after typing says the typed text was not submitted.
    pub fn why(&self) -> Option<String> {
        match self {
            Outcome::Delivered(_) => None,
            Outcome::Refused { why, typed: true } => {
                Some(format!("{why}; the typed text was not submitted"))
            }
            Outcome::Unverified(w) | Outcome::Failed(w) | Outcome::Refused { why: w, .. } => {
                Some(w.to_string())
            }
        }
    }

    /// The kind of why it was not verified (`None` when delivered).
    pub fn error(&self) -> Option<&DeliveryError> {
        match self {
            Outcome::Delivered(_) => None,
            Outcome::Unverified(w) | Outcome::Failed(w) | Outcome::Refused { why: w, .. } => {
                Some(w)
            }
        }
    }

    /// `Ok` when delivered.
    ///
    /// # Errors
    ///
    /// [`NotDelivered`] (`unverified: …`, `refused: …`, `failed: …`) when the outcome is
    /// anything but delivered.
    pub fn into_result(self) -> Result<(), NotDelivered> {
        match self {
            Outcome::Delivered(_) => Ok(()),
            o => Err(NotDelivered(o)),
        }
    }
}

/// An agent's last delivery, as `state/typed-<agent>.json` keeps it (see [`last`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTyped {
    /// Local time, RFC 3339.
    pub ts: String,
    /// [`Message::purpose`]: `kickoff`, `wake`, `send`, …
    pub purpose: String,
    /// The text's first 120 characters.
    pub text: String,
    /// [`Outcome::as_str`].
    pub outcome: String,
    /// Why it was not verified; what verified it when delivered.
    pub why: Option<String>,
}

fn last_path(state: &StateDir, name: &str) -> std::path::PathBuf {
    state.typed_path(name)
}

/// The last delivery to agent `name` ([`deliver`] writes it); `None` when there was none or
/// the file cannot be read (it is informational: status shows it).
pub fn last(state: &StateDir, name: &str) -> Option<LastTyped> {
    crate::state::json::read(&last_path(state, name))
        .ok()
        .flatten()
}

/// What a delivery did, for its event (beside its outcome).
#[derive(Default)]
struct Done {
    /// Submit presses made.
    presses: usize,
    /// How it was checked: `cursor`, or the fallback and why.
    check: Option<String>,
}

/// Types and submits `msg` into its session (see the module doc) and records the outcome
/// (event `typed`, `state/typed-<agent>.json`).
pub async fn deliver(ctx: &Ctx, backend: &Backend, msg: Message<'_>) -> Outcome {
    let mut done = Done::default();
    let outcome = match deliver_inner(ctx, backend, msg, &mut done).await {
        Ok(o) | Err(o) => o,
    };
    record(ctx, msg, outcome, &done)
}

/// Like [`deliver`], but only into an idle pane: waits (without the typing lock) until the
/// pane reads idle ([`wait_idle`]), takes the lock, and reads the pane again under it, so
/// that of several senders waiting for the same busy agent only one types per idle spell;
/// the others find it busy again under the lock, let go and wait on, for at most `timeout`
/// in all.
///
/// # Errors
///
/// A [`NotIdle`] when nothing was typed: the session is not running, shows a dialog, or is
/// still busy when the time ran out (no `typed` event then, as for [`wait_idle`]).
pub async fn deliver_when_idle(
    ctx: &Ctx,
    backend: &Backend,
    msg: Message<'_>,
    timeout: Duration,
) -> Result<Outcome, NotIdle> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        wait_idle(ctx, backend, msg.session, left).await?;
        let lock = match lock(ctx, msg.session).await {
            Ok(l) => l,
            Err(why) => return Ok(record(ctx, msg, Outcome::Failed(why), &Done::default())),
        };
        let sessions = ctx
            .mux
            .sessions()
            .await
            .map_err(|e| NotIdle::NotRunning(format!("cannot list tmux sessions: {e}")))?;
        match readiness(ctx, backend, &sessions, msg.session).await.idle() {
            Ok(()) => {
                let mut done = Done::default();
                let outcome = match deliver_held(ctx, backend, msg, &mut done).await {
                    Ok(o) | Err(o) => o,
                };
                drop(lock);
                return Ok(record(ctx, msg, outcome, &done));
            }
            Err(NotIdle::Busy(why)) => {
                // Another sender typed first: let the lock go and wait for the next idle.
                drop(lock);
                if tokio::time::Instant::now() + IDLE_POLL > deadline {
                    return Err(NotIdle::Busy(why));
                }
                tokio::time::sleep(IDLE_POLL).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Records how a delivery ended (event `typed`, `state/typed-<agent>.json`).
fn record(ctx: &Ctx, msg: Message<'_>, outcome: Outcome, done: &Done) -> Outcome {
    let shown: String = msg.text.chars().take(120).collect();
    let why = outcome.why();
    let verified_by = match &outcome {
        Outcome::Delivered(ev) => Some(ev.clone()),
        _ => None,
    };
    ctx.events.emit(
        "typed",
        json!({"name": msg.name, "session": msg.session, "purpose": msg.purpose,
               "text": shown, "outcome": outcome.as_str(), "error": why,
               "verified_by": verified_by, "presses": done.presses, "check": done.check}),
    );
    let rec = LastTyped {
        ts: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        purpose: msg.purpose.to_string(),
        text: shown,
        outcome: outcome.as_str().to_string(),
        why: why.or(verified_by),
    };
    if let Err(e) = crate::state::json::write(
        &last_path(&ctx.state, msg.name),
        &rec,
        crate::state::json::Form::Fast,
    ) {
        tracing::debug!("{}: cannot record the last delivery: {e}", msg.name);
    }
    outcome
}

/// The steps of a delivery; `Err` ends it early with that outcome.
async fn deliver_inner(
    ctx: &Ctx,
    backend: &Backend,
    msg: Message<'_>,
    done: &mut Done,
) -> Result<Outcome, Outcome> {
    let _lock = lock(ctx, msg.session).await.map_err(Outcome::Failed)?;
    deliver_held(ctx, backend, msg, done).await
}

/// The steps of a delivery under the session's typing lock (held by the caller).
async fn deliver_held(
    ctx: &Ctx,
    backend: &Backend,
    msg: Message<'_>,
    done: &mut Done,
) -> Result<Outcome, Outcome> {
    if !msg.key_only
        && let Some(c) = control_char(msg.text)
    {
        return Err(Outcome::Refused {
            why: DeliveryError::ControlChar(c),
            typed: false,
        });
    }
    let tmux = &ctx.mux;
    let read = |when: &'static str| async move {
        tmux.screen(msg.session)
            .await
            .map_err(|source| Outcome::Failed(DeliveryError::Unreadable { when, source }))
    };
    let before = read("before typing").await?;
    if let Some(why) = refusal(backend, &before, msg.key_only) {
        return Err(Outcome::Refused { why, typed: false });
    }
    let failed = |e: TmuxError| Outcome::Failed(DeliveryError::Tmux(e));
    if msg.key_only {
        // One key or several (`Down Down`: moving to a dialog's option), each drawn before
        // the next and before the submit key: keys that reach a busy TUI in one read are not
        // all taken as keys (Claude Code 2.1.330 under load confirmed its first option on
        // `Down` then `Enter` 200 ms apart). A key the screen never shows gets no submit key.
        // A program that reads lines (canonical mode) gets the keys and the submit key as one
        // line from the kernel, whatever it draws: nothing to wait for.
        let line_mode = before.tty.as_deref().is_some_and(canonical);
        let mut shown = before;
        for key in msg.text.split_whitespace() {
            tmux.send_key(msg.session, key).await.map_err(failed)?;
            if line_mode {
                continue;
            }
            let since = tokio::time::Instant::now();
            loop {
                let now = read("after a key").await?;
                if now.rows != shown.rows {
                    shown = now;
                    break;
                }
                if since.elapsed() >= KEY_DRAWN_WAIT {
                    return Err(Outcome::Failed(DeliveryError::KeyNotDrawn {
                        key: key.to_string(),
                    }));
                }
                tokio::time::sleep(TYPING_POLL).await;
            }
        }
        tmux.send_key(msg.session, &backend.submit_key)
            .await
            .map_err(failed)?;
        done.presses = 1;
        return Ok(Outcome::Delivered(
            "a chooser answer: pressed, not verified".into(),
        ));
    }
    // A tab goes in a paste too: typed as a key it would be the TUI's Tab (completion, a
    // mode toggle); in a bracketed paste it is text.
    let typed = if msg.text.contains(['\n', '\t']) || msg.text.len() > PASTE_OVER {
        tmux.paste(msg.session, msg.text).await
    } else {
        tmux.send_text(msg.session, msg.text).await
    };
    typed.map_err(failed)?;
    // The submit key only once the pane shows the text (or after SHOWN_WAIT): pressed while
    // a TUI still takes the text in, it would be part of it. A program that reads lines
    // (its terminal in canonical mode) gets the text and the key as one line from the
    // kernel, whatever it draws: nothing to wait for.
    let line_mode = before.tty.as_deref().is_some_and(canonical);
    let since = tokio::time::Instant::now();
    let pre = loop {
        let now = read("before the submit key").await?;
        if line_mode || shows_typed(&before, &now, msg.text) || since.elapsed() >= SHOWN_WAIT {
            break now;
        }
        tokio::time::sleep(TYPING_POLL).await;
    };
    // Right before the submit key: a dialog that came up while typing gets no Enter.
    if let Some(why) = refusal(backend, &pre, false) {
        return Err(Outcome::Refused { why, typed: true });
    }
    let by_cursor = cursor_check(&pre, msg.text);
    done.check = Some(match &by_cursor {
        Ok(()) => "cursor".into(),
        Err(why) => format!("input area: {why}"),
    });
    let unverified = Outcome::Unverified;
    for press in 1..=MAX_SUBMITS {
        tmux.send_key(msg.session, &backend.submit_key)
            .await
            .map_err(|e| unverified(DeliveryError::SubmitKey(e)))?;
        done.presses = press;
        // Up to PRESS_WAIT per press, read every TYPING_POLL: a quick agent is verified
        // quickly.
        let pressed = tokio::time::Instant::now();
        while pressed.elapsed() < PRESS_WAIT {
            tokio::time::sleep(TYPING_POLL).await;
            let post = tmux
                .screen(msg.session)
                .await
                .map_err(|e| unverified(unreadable_after(e)))?;
            if let Some(why) = exited(&pre, &post) {
                return Err(unverified(why));
            }
            if let Verify::Verified(ev) = verify(backend, &pre, &post, msg.text, by_cursor.is_ok())
            {
                return alive_after(ctx, backend, msg.session, &pre, &post, ev).await;
            }
        }
    }
    Err(unverified(DeliveryError::StillTyped {
        by_cursor: by_cursor.is_ok(),
        key: backend.submit_key.clone(),
    }))
}

/// Why nothing may be typed or submitted into a pane that reads like `screen`: its program
/// exited, or it shows a dialog (unless `key_only`: a chooser answer is meant for one).
fn refusal(backend: &Backend, screen: &Screen, key_only: bool) -> Option<DeliveryError> {
    if screen.dead {
        return Some(DeliveryError::Exited);
    }
    let r = detect::read(backend, &screen.text);
    (r.state == State::Dialog && !key_only)
        .then(|| DeliveryError::Dialog(r.line.unwrap_or_else(|| r.rule.to_string())))
}

/// Why `post` shows the program of `pre` gone: the pane is dead, or runs another program
/// (the watchdog restarted it meanwhile). `None` while the same program runs.
fn exited(pre: &Screen, post: &Screen) -> Option<DeliveryError> {
    if post.dead {
        return Some(DeliveryError::ExitedAfter);
    }
    (post.pid != pre.pid).then_some(DeliveryError::RestartedAfter)
}

/// Why a pane that cannot be read after the submit key leaves the delivery unverified.
fn unreadable_after(e: TmuxError) -> DeliveryError {
    if e.is_gone() {
        DeliveryError::GoneAfter(e)
    } else {
        DeliveryError::UnreadableAfter(e)
    }
}

/// A verified delivery stands only once the program that got it shows it lives on: read
/// every [`TYPING_POLL`] from the reading that verified it (`seen`), it turned active (it
/// works on the text: no program that exits on the line draws that), or it answered (the
/// screen changed after `seen`) and still runs [`ANSWER_HOLD`] later; failing both, it
/// still runs [`ALIVE_AFTER`] after `seen` (a silent line reader). A program that exited or
/// was restarted meanwhile ([`exited`]), or a pane that cannot be read, leaves it unverified.
async fn alive_after(
    ctx: &Ctx,
    backend: &Backend,
    session: &str,
    pre: &Screen,
    seen: &Screen,
    ev: Evidence,
) -> Result<Outcome, Outcome> {
    let pre_active = detect::read(backend, &pre.text).state == State::Active;
    let since = tokio::time::Instant::now();
    let mut life = Life::new(pre_active);
    if life.read(backend, seen, since.elapsed()) {
        return Ok(Outcome::Delivered(ev.describe().into()));
    }
    loop {
        tokio::time::sleep(TYPING_POLL).await;
        let now = match ctx.mux.screen(session).await {
            Ok(s) => s,
            Err(e) => {
                return Err(Outcome::Unverified(DeliveryError::Though {
                    cause: Box::new(unreadable_after(e)),
                    evidence: ev,
                }));
            }
        };
        if let Some(why) = exited(pre, &now) {
            return Err(Outcome::Unverified(DeliveryError::Though {
                cause: Box::new(why),
                evidence: ev,
            }));
        }
        if life.read(backend, &now, since.elapsed()) {
            return Ok(Outcome::Delivered(ev.describe().into()));
        }
    }
}

/// The readings of a pane after a verified submit, while `alive_after` waits for its
/// program to show it lives on (each reading's program alive: `exited` said `None`).
#[derive(Debug)]
pub struct Life {
    /// The pane read active before the submit key: active then proves nothing.
    pre_active: bool,
    /// The first reading's text (the one that verified the submit).
    first: Option<String>,
    /// When (since the first reading) the text was first seen changed from it.
    answered: Option<Duration>,
}

impl Life {
    /// Before the first reading; `pre_active`: the pane read active before the submit key.
    pub fn new(pre_active: bool) -> Self {
        Life {
            pre_active,
            first: None,
            answered: None,
        }
    }

    /// Takes one reading `now` of a live program, `at` after the first reading (which is
    /// `Duration::ZERO`); `true` once the program has shown it lives on: it reads active
    /// (and did not before the key), or it answered at least [`ANSWER_HOLD`] ago (its screen
    /// changed from the first reading and, for a backend with an `idle_re`, reads idle by
    /// it: back at its prompt), or the first reading is [`ALIVE_AFTER`] old.
    pub fn read(&mut self, backend: &Backend, now: &Screen, at: Duration) -> bool {
        let r = detect::read(backend, &now.text);
        if !self.pre_active && r.state == State::Active {
            return true;
        }
        // An answer: a changed screen, at the backend's idle prompt again when it has a rule
        // for that (a CLI exiting after a dialog's "No, exit" draws no prompt).
        let at_prompt = backend.idle_re.is_none() || r.rule == "idle_re";
        match &self.first {
            None => self.first = Some(now.text.clone()),
            Some(first) if self.answered.is_none() && at_prompt && *first != now.text => {
                self.answered = Some(at);
            }
            Some(_) => {}
        }
        self.answered.is_some_and(|a| at >= a + ANSWER_HOLD) || at >= ALIVE_AFTER
    }
}

/// What showed a submit taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// The pane reads active.
    Active,
    /// The cursor's line no longer holds the typed text (an input box cleared).
    LeftLine,
    /// The cursor moved on to another line (a line-mode agent, or output scrolled).
    FreshLine,
    /// The message's start is not among the bottom non-blank lines ([`submitted`]).
    InputArea,
}

impl Evidence {
    /// For the event's `verified_by`.
    pub fn describe(self) -> &'static str {
        match self {
            Evidence::Active => "the agent turned active",
            Evidence::LeftLine => "the text left the cursor's line",
            Evidence::FreshLine => "the cursor moved on to a fresh line",
            Evidence::InputArea => "the text left the input area",
        }
    }
}

/// One reading after a submit press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// The submit was taken: what showed it.
    Verified(Evidence),
    /// The text is still where it was typed: press again.
    NotYet,
}

/// Why the cursor cannot verify a delivery ([`cursor_check`]); `Display` follows "input
/// area: " in the `typed` event's `check`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoCursor {
    /// The cursor is hidden (a TUI that draws its own).
    #[error("the cursor is hidden")]
    Hidden,
    /// The cursor's row `y` is not on the screen of `height` rows.
    #[error("the cursor is off-screen (row {y} of {height})")]
    OffScreen {
        /// The cursor's row, counting from 0 at the top of the visible screen.
        y: u32,
        /// The pane's height in rows.
        height: u32,
    },
    /// The cursor's line does not hold the typed text.
    #[error("the typed text is not on the cursor's line")]
    NotAtText,
}

/// Whether the cursor of `pre` (the pane right before the submit key) can verify `msg`;
/// when it cannot, [`submitted`] decides instead.
///
/// # Errors
///
/// [`NoCursor`]: the cursor is hidden (a TUI drawing its own), off-screen, or not on the
/// line that holds the typed text.
pub fn cursor_check(pre: &Screen, msg: &str) -> Result<(), NoCursor> {
    let c = &pre.cursor;
    if !c.visible {
        return Err(NoCursor::Hidden);
    }
    if c.y >= c.height || c.y as usize >= pre.rows.len() {
        return Err(NoCursor::OffScreen {
            y: c.y,
            height: c.height,
        });
    }
    if !at_cursor(pre, msg) {
        return Err(NoCursor::NotAtText);
    }
    Ok(())
}

/// The pure decision after a submit press: `pre` is the pane right before the key, `post`
/// after it; `by_cursor` is [`cursor_check`]`(pre, msg).is_ok()`. Verified when the agent
/// reads active; by the cursor: when the cursor moved to another line (counting scrolled
/// history), or its line no longer holds the text; else by [`submitted`]. A `post` whose
/// cursor is hidden or off-screen is judged by [`submitted`] too.
pub fn verify(
    backend: &Backend,
    pre: &Screen,
    post: &Screen,
    msg: &str,
    by_cursor: bool,
) -> Verify {
    if detect::read(backend, &post.text).state == State::Active {
        return Verify::Verified(Evidence::Active);
    }
    let c = &post.cursor;
    let post_ok = c.visible && c.y < c.height && (c.y as usize) < post.rows.len();
    if by_cursor && post_ok {
        if c.line() != pre.cursor.line() {
            return Verify::Verified(Evidence::FreshLine);
        }
        if !at_cursor(post, msg) {
            return Verify::Verified(Evidence::LeftLine);
        }
        return Verify::NotYet;
    }
    if submitted(backend, &post.text, msg) {
        Verify::Verified(Evidence::InputArea)
    } else {
        Verify::NotYet
    }
}

/// Whether `now` (the pane after typing) shows `msg`, typed into a pane that read `before`:
/// the end of its last line is on the cursor's line (`at_cursor`), or, for a TUI that draws
/// its own cursor, shows more often in the bottom non-blank lines (its input area) than it
/// did before typing. Only the end counts: a TUI draws what it has taken in, so once the
/// end shows, all of the text was taken.
pub fn shows_typed(before: &Screen, now: &Screen, msg: &str) -> bool {
    if now.dead || at_cursor(now, msg) {
        return true;
    }
    let t = tail(msg);
    if t.is_empty() {
        return true;
    }
    let count = |s: &Screen| {
        let lines = detect::normalize::lines(&s.text);
        let mut bottom: Vec<&str> = lines
            .iter()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(INPUT_LINES)
            .map(String::as_str)
            .collect();
        bottom.reverse();
        let spaced = squash(&bottom.join(" ")).matches(t.as_str()).count();
        let joined = squash(&bottom.join("")).matches(t.as_str()).count();
        spaced.max(joined)
    };
    count(now) > count(before)
}

/// Whether the terminal `tty` (a pane's `/dev/pts/N`) is in canonical mode: its program
/// reads whole lines (a shell `read`, Python's `input()` without readline), so typed text
/// and the submit key reach it together. `false` when it cannot be told (raw-mode TUIs,
/// readline, a tty that cannot be opened).
fn canonical(tty: &str) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOCTTY.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(tty)
    else {
        return false;
    };
    nix::sys::termios::tcgetattr(&f).is_ok_and(|t| {
        t.local_flags
            .contains(nix::sys::termios::LocalFlags::ICANON)
    })
}

/// Whitespace runs as one space, trimmed.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The end of `msg`'s last non-blank line (whitespace squashed), at most [`TAIL_CHARS`].
fn tail(msg: &str) -> String {
    let last = msg
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let t: Vec<char> = squash(last).chars().collect();
    t[t.len().saturating_sub(TAIL_CHARS)..].iter().collect()
}

/// Cells a character takes on a terminal: 2 for East Asian wide and emoji ranges, else 1
/// (enough to tell a full, wrapped row).
fn cells(c: char) -> usize {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// Whether the cursor's row of `screen` holds the end of `msg` — with the row above when
/// that one is full (the text wrapped onto the cursor's row).
fn at_cursor(screen: &Screen, msg: &str) -> bool {
    let t = tail(msg);
    let y = screen.cursor.y as usize;
    let Some(row) = screen.rows.get(y) else {
        return false;
    };
    if t.is_empty() {
        return false;
    }
    if squash(row).contains(&t) {
        return true;
    }
    let width = screen.cursor.width as usize;
    match y.checked_sub(1).and_then(|i| screen.rows.get(i)) {
        Some(above) if above.chars().map(cells).sum::<usize>() + 1 >= width => {
            squash(&format!("{above}{row}")).contains(&t)
                || squash(&format!("{above} {row}")).contains(&t)
        }
        _ => false,
    }
}

/// Takes `state/typing-<session>.lock`, waiting up to [`LOCK_WAIT`] for another delivery.
///
/// # Errors
///
/// [`DeliveryError::Locked`]: another delivery held it for [`LOCK_WAIT`], or the lock file
/// cannot be opened or locked.
async fn lock(ctx: &Ctx, session: &str) -> Result<crate::state::lock::Lock, DeliveryError> {
    let path = ctx.state.typing_lock_path(session);
    crate::state::lock::wait_for(&path, LOCK_WAIT)
        .await
        .map_err(|source| DeliveryError::Locked {
            session: session.to_string(),
            source,
        })
}

/// Whether the pane shows `msg` as submitted: the agent is active, or the message's start is
/// not among the bottom non-blank lines (where TUIs draw their input box). A TUI that echoes
/// the prompt into its transcript is not pressed again (SPEC defect 7).
pub fn submitted(backend: &Backend, pane: &str, msg: &str) -> bool {
    if detect::read(backend, pane).state == State::Active {
        return true;
    }
    let first_line = msg.lines().next().unwrap_or("");
    // Whitespace squashed on both sides: a typed tab shows as spaces on the screen.
    let prefix: String = squash(first_line).chars().take(PREFIX_CHARS).collect();
    let lines = detect::normalize::lines(pane);
    !lines
        .iter()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(INPUT_LINES)
        .any(|l| squash(l).contains(prefix.trim()))
}

/// A control character in a text to type, where [`control_char`] found it. `Display`:
/// `control character ESC (U+001B) at line 2, column 5` (1-based, columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlChar {
    /// The character (`Cc`, neither newline nor tab).
    pub ch: char,
    /// Its line in the text, counting from 1 (lines split at `\n`).
    pub line: usize,
    /// Its column in that line, in characters, counting from 1.
    pub column: usize,
}

impl std::fmt::Display for ControlChar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const C0: [&str; 32] = [
            "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "TAB", "LF", "VT", "FF",
            "CR", "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM",
            "SUB", "ESC", "FS", "GS", "RS", "US",
        ];
        let u = self.ch as u32;
        let name = match u {
            0..=31 => C0[u as usize],
            0x7f => "DEL",
            _ => "C1",
        };
        write!(
            f,
            "control character {name} (U+{u:04X}) at line {}, column {}",
            self.line, self.column
        )
    }
}

/// The first character of `text` that [`deliver`] will not type: a control character
/// (Unicode `Cc`: C0, DEL, C1) other than newline and tab. Such a character reaches the
/// program as a key press, not as text: CR submits, ESC starts a sequence (and can end a
/// bracketed paste early), Ctrl-C interrupts. Newlines and tabs are typed as they are (in a
/// bracketed paste). `None` when there is none.
pub fn control_char(text: &str) -> Option<ControlChar> {
    text.split('\n').enumerate().find_map(|(i, line)| {
        line.chars()
            .enumerate()
            .find(|&(_, c)| c.is_control() && c != '\t')
            .map(|(j, ch)| ControlChar {
                ch,
                line: i + 1,
                column: j + 1,
            })
    })
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
    /// `Ok` when idle.
    ///
    /// # Errors
    ///
    /// Why not, as [`wait_idle`] reports it: [`NotIdle::NotRunning`], [`NotIdle::Dialog`],
    /// or [`NotIdle::Busy`] for a busy, limited or fatal screen (they are waited out).
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

/// Reads `session` once: its row in `sessions` (this tick's `list-panes`) and one capture,
/// read as the watchdog reads a pane ([`detect::observe`], with the cautious
/// [`detect::Liveness::CAUTIOUS`]): for a `footer_ui` backend a session log written within
/// `log_grace` counts as busy (over an idle or a fatal screen alike); for a backend with hooks,
/// an idle screen right after the CLI took a prompt or asked a person is busy or a dialog
/// ([`detect::with_hook`]).
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
    let pane = match ctx.mux.capture(session).await {
        Ok(p) => p,
        Err(e) => {
            return Readiness::NotRunning(format!("cannot read the pane of {session}: {e}"));
        }
    };
    // Read as the watchdog reads it (detect::observe): the screen, a `footer_ui` backend's
    // log written within `log_grace` as work, and the newest hook of the pane's process.
    let started = (backend.hooks != crate::config::Hooks::None)
        .then(|| ctx.state.manifest().load().ok())
        .flatten()
        .and_then(|m| m.sessions.get(session).map(|e| e.started.clone()));
    let beside = ctx.beside(backend, session, started.as_deref());
    let facts = detect::Facts {
        pane: info,
        live: &detect::Liveness::CAUTIOUS,
        text: &pane,
        log_age: beside.log_age,
        captured: chrono::Local::now().fixed_offset(),
        zone: detect::reset::local_zone(),
        hook: beside.hook(),
    };
    let r = detect::observe(backend, &facts);
    let why = || {
        format!(
            "{} ({})",
            r.state.as_str(),
            r.line.clone().unwrap_or_else(|| r.rule.to_string())
        )
    };
    match r.state {
        State::Dialog => Readiness::Dialog(r.line.clone().unwrap_or_default()),
        State::Idle => Readiness::Idle,
        State::Active if r.rule == "log_grace" => Readiness::Busy(format!(
            "its log was written within log_grace ({:?})",
            backend.log_grace
        )),
        State::Limited => Readiness::Limited(why()),
        State::Fatal => Readiness::Fatal(why()),
        State::Active | State::Dead => Readiness::Busy(why()),
    }
}

/// Reads `session` every `IDLE_POLL` until its pane reads idle, for at most `timeout`
/// (`Duration::ZERO`: read once). Active, limited and fatal screens are waited out; for a
/// `footer_ui` backend a session log written within `log_grace` counts as active, as the
/// watchdog reads it.
///
/// # Errors
///
/// At once [`NotIdle::NotRunning`] when the session is not running (gone, or its program
/// exited) or [`NotIdle::Dialog`] when it shows a dialog; [`NotIdle::Busy`] when the time ran
/// out.
pub async fn wait_idle(
    ctx: &Ctx,
    backend: &Backend,
    session: &str,
    timeout: Duration,
) -> Result<(), NotIdle> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let sessions = ctx
            .mux
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
/// a person answers one from outside the pane. Verified means tmux took every key.
///
/// # Errors
///
/// [`DeliveryError::NotAKey`] for an unknown key name ([`key_name_ok`]),
/// [`DeliveryError::NoKeys`], [`DeliveryError::Locked`] when the typing lock cannot be
/// taken, [`DeliveryError::KeyNotTaken`] when tmux refuses a key.
pub async fn press_keys(
    ctx: &Ctx,
    name: &str,
    session: &str,
    keys: &[String],
    purpose: &str,
) -> Result<(), DeliveryError> {
    let res = press_locked(ctx, session, keys).await;
    let (outcome, error) = match &res {
        Ok(()) => ("delivered", None),
        Err(e) => ("failed", Some(e.to_string())),
    };
    ctx.events.emit(
        "typed",
        json!({"name": name, "session": session, "purpose": purpose, "keys": true,
               "text": keys.join(" "), "outcome": outcome, "error": error}),
    );
    res
}

/// The steps of [`press_keys`].
///
/// # Errors
///
/// As [`press_keys`].
async fn press_locked(ctx: &Ctx, session: &str, keys: &[String]) -> Result<(), DeliveryError> {
    if let Some(bad) = keys.iter().find(|k| !key_name_ok(k)) {
        return Err(DeliveryError::NotAKey(bad.clone()));
    }
    if keys.is_empty() {
        return Err(DeliveryError::NoKeys);
    }
    let _lock = lock(ctx, session).await?;
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        ctx.mux
            .send_key(session, k)
            .await
            .map_err(|source| DeliveryError::KeyNotTaken {
                key: k.clone(),
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::tests::backend;

    #[test]
    fn control_characters_are_found_by_name_and_position_tabs_and_newlines_are_text() {
        assert_eq!(control_char("a\tb\nc\td"), None);
        assert_eq!(control_char("plain"), None);
        let c = control_char("first\nsay \u{1b}[201~").unwrap();
        assert_eq!((c.ch, c.line, c.column), ('\u{1b}', 2, 5));
        assert_eq!(
            c.to_string(),
            "control character ESC (U+001B) at line 2, column 5"
        );
        assert_eq!(
            control_char("é\r").unwrap().to_string(),
            "control character CR (U+000D) at line 1, column 2"
        );
        assert!(
            control_char("x\u{7f}")
                .unwrap()
                .to_string()
                .contains("DEL (U+007F)")
        );
        assert!(
            control_char("\u{85}")
                .unwrap()
                .to_string()
                .contains("C1 (U+0085)")
        );
    }

    #[test]
    fn a_typed_tab_shown_as_spaces_is_still_the_typed_text() {
        let b = backend("esc to interrupt", "", "", false);
        let msg = "name\tvalue";
        assert!(!submitted(&b, "output\n❯ name    value\n", msg));
    }

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

    /// A screen of `rows`, the cursor at (`x`, `y`) after `history` scrolled lines.
    fn screen(rows: &[&str], x: u32, y: u32, history: u64) -> Screen {
        Screen {
            text: rows.join("\n"),
            rows: rows.iter().map(std::string::ToString::to_string).collect(),
            cursor: crate::tmux::Cursor {
                x,
                y,
                visible: true,
                history,
                height: 8,
                width: 40,
            },
            dead: false,
            pid: Some(1),
            tty: None,
        }
    }

    #[test]
    fn a_terminal_that_cannot_be_read_is_not_taken_for_line_mode() {
        assert!(!canonical("/dev/null"), "not a terminal");
        assert!(!canonical("/nonexistent/pts/9"));
    }

    #[test]
    fn typed_text_shows_once_its_end_is_drawn() {
        let msg = "please re-read REVIEW.md and go on";
        let before = screen(&["● Done.", "──────", "❯ ", "──────"], 2, 2, 0);
        // Typing under way: the TUI has drawn part of the text only.
        let part = screen(
            &["● Done.", "──────", "❯ please re-read", "──────"],
            16,
            2,
            0,
        );
        assert!(!shows_typed(&before, &part, msg));
        // All of it, the cursor after it.
        let all = screen(
            &[
                "● Done.",
                "──────",
                "❯ please re-read REVIEW.md and go on",
                "──────",
            ],
            36,
            2,
            0,
        );
        assert!(shows_typed(&before, &all, msg));
        // A TUI that hides the terminal cursor (it draws its own): the text's end in the
        // input area, once more than before typing.
        let hidden = |mut s: Screen| {
            s.cursor.visible = false;
            s
        };
        assert!(!shows_typed(&hidden(before.clone()), &hidden(part), msg));
        assert!(shows_typed(&hidden(before.clone()), &hidden(all), msg));
        // The same message sent before, still in the transcript: not yet typed again.
        let sent = [
            "❯ please re-read REVIEW.md and go on",
            "● Done.",
            "──────",
            "❯ ",
            "──────",
        ];
        let sent = hidden(screen(&sent, 2, 3, 0));
        assert!(!shows_typed(&sent, &sent, msg));
        let again = [
            "❯ please re-read REVIEW.md and go on",
            "● Done.",
            "──────",
            "❯ please re-read REVIEW.md and go on",
            "──────",
        ];
        assert!(shows_typed(&sent, &hidden(screen(&again, 2, 3, 0)), msg));
        // Wrapped onto the cursor's row.
        let before = screen(&["> "], 2, 0, 0);
        let wrapped = screen(&["> please re-read REVIEW.md and go on aa", "bbb"], 3, 1, 0);
        assert!(shows_typed(
            &before,
            &wrapped,
            "please re-read REVIEW.md and go on aabbb"
        ));
    }

    fn decide(pre: &Screen, post: &Screen, msg: &str) -> Verify {
        let b = backend("esc to interrupt", "", "", false);
        verify(&b, pre, post, msg, cursor_check(pre, msg).is_ok())
    }

    #[test]
    fn a_line_mode_agent_is_verified_on_the_first_press() {
        let msg = "please re-read REVIEW.md";
        let pre = screen(&["py> please re-read REVIEW.md"], 28, 0, 0);
        assert_eq!(cursor_check(&pre, msg), Ok(()));
        // Enter: the REPL leaves the text on screen and prompts on the next line.
        let post = screen(&["py> please re-read REVIEW.md", "py>"], 4, 1, 0);
        assert_eq!(
            decide(&pre, &post, msg),
            Verify::Verified(Evidence::FreshLine)
        );
        // The old check took that for "still in the input line" (issue 12, item 2).
        let b = backend("esc to interrupt", "", "", false);
        assert!(!submitted(&b, &post.text, msg));
        // At the bottom of a full pane the cursor stays on row 7, the history grows.
        let rows = [
            "x",
            "x",
            "x",
            "x",
            "x",
            "x",
            "x",
            "please re-read REVIEW.md",
        ];
        let pre = screen(&rows, 24, 7, 3);
        let scrolled = ["x", "x", "x", "x", "x", "x", "please re-read REVIEW.md", ""];
        let post = screen(&scrolled, 0, 7, 4);
        assert_eq!(
            decide(&pre, &post, msg),
            Verify::Verified(Evidence::FreshLine)
        );
        // Enter not taken yet: same line, text still there.
        assert_eq!(decide(&pre, &pre.clone(), msg), Verify::NotYet);
    }

    #[test]
    fn an_input_box_is_verified_when_the_text_leaves_the_cursors_line() {
        let msg = "summarise your work";
        let top = "╭──────────────────────────────╮";
        let bottom = "╰──────────────────────────────╯";
        let pre = screen(
            &["history", top, "│ > summarise your work      │", bottom],
            23,
            2,
            0,
        );
        assert_eq!(cursor_check(&pre, msg), Ok(()));
        let cleared = screen(
            &[
                "> summarise your work",
                top,
                "│ >                         │",
                bottom,
            ],
            4,
            2,
            0,
        );
        assert_eq!(
            decide(&pre, &cleared, msg),
            Verify::Verified(Evidence::LeftLine)
        );
        // Still in the box: pressed again.
        assert_eq!(decide(&pre, &pre.clone(), msg), Verify::NotYet);
        // A box redrawn with its text but the agent working: active wins.
        let mut busy = pre.clone();
        busy.text.push_str("\n* Thinking (esc to interrupt)");
        assert_eq!(decide(&pre, &busy, msg), Verify::Verified(Evidence::Active));
    }

    #[test]
    fn text_wrapped_onto_the_cursors_row_is_found_with_the_full_row_above() {
        let msg = "pull, then read the whole review file and act on it";
        let mut pre = screen(
            &["> pull, then read the whole review file a", "nd act on it"],
            12,
            1,
            0,
        );
        pre.cursor.width = 41;
        assert_eq!(cursor_check(&pre, msg), Ok(()));
        // A row above that is not full is another line: the text is not at the cursor.
        let mut other = screen(&["> pull, then read", "nd act on it"], 12, 1, 0);
        other.cursor.width = 41;
        assert!(cursor_check(&other, msg).is_err());
    }

    #[test]
    fn a_cursor_that_cannot_tell_falls_back_to_the_input_area() {
        let msg = "hello there, agent";
        let mut hidden = screen(&["❯ hello there, agent", "? for shortcuts"], 20, 0, 0);
        hidden.cursor.visible = false;
        assert_eq!(cursor_check(&hidden, msg), Err(NoCursor::Hidden));
        assert_eq!(NoCursor::Hidden.to_string(), "the cursor is hidden");
        let mut off = screen(&["❯ hello there, agent"], 0, 9, 0);
        off.cursor.height = 8;
        assert!(
            cursor_check(&off, msg)
                .unwrap_err()
                .to_string()
                .contains("off-screen (row 9 of 8)")
        );
        // A TUI that leaves the real cursor at the bottom-left and draws its own.
        let elsewhere = screen(&["❯ hello there, agent", ""], 0, 1, 0);
        assert_eq!(cursor_check(&elsewhere, msg), Err(NoCursor::NotAtText));
        assert_eq!(
            NoCursor::NotAtText.to_string(),
            "the typed text is not on the cursor's line"
        );
        // Judged by the input area then: the text still at the bottom is not submitted…
        assert_eq!(decide(&elsewhere, &elsewhere.clone(), msg), Verify::NotYet);
        // …and gone from it is.
        let gone = screen(&["⏺ on it", "❯", ""], 0, 2, 0);
        assert_eq!(
            decide(&elsewhere, &gone, msg),
            Verify::Verified(Evidence::InputArea)
        );
        // A cursor hidden after the press (a TUI that hides it while it works) is judged so too.
        let pre = screen(&["> hello there, agent"], 20, 0, 0);
        let mut post = pre.clone();
        post.cursor.visible = false;
        assert_eq!(decide(&pre, &post, msg), Verify::NotYet);
    }

    #[test]
    fn a_program_that_exited_or_was_restarted_after_the_key_did_not_take_it() {
        let pre = screen(&["bye> goodbye"], 12, 0, 0);
        assert!(exited(&pre, &pre.clone()).is_none());
        let mut dead = screen(&["bye> goodbye", ""], 0, 1, 0);
        dead.dead = true;
        assert!(matches!(
            exited(&pre, &dead),
            Some(DeliveryError::ExitedAfter)
        ));
        // Restarted by the watchdog meanwhile: a new program, its prompt fresh.
        let mut again = screen(&["bye>"], 5, 0, 0);
        again.pid = Some(2);
        let restarted = exited(&pre, &again).unwrap();
        assert!(matches!(restarted, DeliveryError::RestartedAfter));
        assert!(restarted.to_string().contains("restarted"));
    }

    #[test]
    fn a_program_lives_on_when_it_works_or_answers_and_stays_or_stays_long_enough() {
        let b = backend("esc to interrupt", "", "", false);
        let ms = Duration::from_millis;
        let seen = screen(&["> hello", ""], 0, 1, 0);
        // Turned active: at once, on the reading that verified the submit.
        let mut busy = seen.clone();
        busy.text.push_str("\n* Thinking (esc to interrupt)");
        assert!(Life::new(false).read(&b, &busy, ms(0)));
        // Active before the key too: that proves nothing.
        let mut life = Life::new(true);
        assert!(!life.read(&b, &busy, ms(0)));
        assert!(!life.read(&b, &busy, ms(100)));
        assert!(life.read(&b, &busy, ALIVE_AFTER));
        // Answered (the screen changed): once it still runs ANSWER_HOLD after the change.
        let mut answer = seen.clone();
        answer.text.push_str("\nok: hello");
        let mut life = Life::new(false);
        assert!(!life.read(&b, &seen, ms(0)));
        assert!(!life.read(&b, &seen, ms(15)));
        assert!(!life.read(&b, &answer, ms(30)));
        assert!(!life.read(
            &b,
            &answer,
            (ms(30) + ANSWER_HOLD).checked_sub(ms(1)).unwrap()
        ));
        assert!(life.read(&b, &answer, ms(30) + ANSWER_HOLD));
        // A backend with an idle rule: a changed screen is an answer once it is at the prompt.
        let mut with_idle = b.clone();
        with_idle.idle_re = Some(crate::config::Pattern::new("^> *$").unwrap());
        let mut bye = seen.clone();
        bye.text = "> hello\nGoodbye!".into();
        let mut prompt = seen.clone();
        prompt.text = "> hello\nok: hello\n> ".into();
        let mut life = Life::new(false);
        assert!(!life.read(&with_idle, &seen, ms(0)));
        assert!(!life.read(&with_idle, &bye, ms(15)));
        assert!(!life.read(&with_idle, &bye, ms(15) + ANSWER_HOLD));
        assert!(!life.read(&with_idle, &prompt, ms(90)));
        assert!(life.read(&with_idle, &prompt, ms(90) + ANSWER_HOLD));
        // Silent (a line reader that prints nothing, or one about to exit): only at the bound.
        let mut life = Life::new(false);
        assert!(!life.read(&b, &seen, ms(0)));
        assert!(!life.read(&b, &seen, ALIVE_AFTER.checked_sub(ms(1)).unwrap()));
        assert!(life.read(&b, &seen, ALIVE_AFTER));
    }

    #[test]
    fn outcomes_name_themselves() {
        assert!(Outcome::Delivered("x".into()).into_result().is_ok());
        let u = Outcome::Unverified(DeliveryError::ExitedAfter);
        assert_eq!(u.as_str(), "unverified");
        let e = u.into_result().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unverified: its program exited after the submit key was pressed"
        );
        assert!(e.error().is_some_and(DeliveryError::is_gone));
        let r = Outcome::Refused {
            why: DeliveryError::Dialog("Yes, I trust this folder".into()),
            typed: false,
        };
        assert_eq!(r.as_str(), "refused");
        assert!(!r.is_delivered());
        assert!(r.error().is_some_and(DeliveryError::is_dialog));
        assert_eq!(
            r.why().unwrap(),
            "a dialog waits for a person: Yes, I trust this folder"
        );
        let typed = Outcome::Refused {
            why: DeliveryError::Exited,
            typed: true,
        };
        assert_eq!(
            typed.why().unwrap(),
            "its program has exited; the typed text was not submitted"
        );
        let though = DeliveryError::Though {
            cause: Box::new(DeliveryError::RestartedAfter),
            evidence: Evidence::LeftLine,
        };
        assert_eq!(
            though.to_string(),
            "its program exited after the submit key was pressed (the pane was restarted), \
             though the text left the cursor's line"
        );
        assert!(though.is_gone());
        let still = DeliveryError::StillTyped {
            by_cursor: false,
            key: "Enter".into(),
        };
        assert_eq!(
            still.to_string(),
            "the typed text was still in the input area after 3 presses of Enter"
        );
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

/// Typing on a [`crate::tmux::fake::FakeMux`], in-process under a paused tokio clock.
#[cfg(test)]
mod fake_tests {
    use super::*;
    use crate::tmux::fake::{FakePane, Op};
    use crate::watchdog::fake_tests::{IDLE, fleet};

    const DIALOG: &str = "Do you trust the files in this folder?\n 1. Yes\n 2. No\n";

    fn msg(text: &str) -> Message<'_> {
        Message {
            name: "a1",
            session: "f-a1",
            text,
            purpose: "send",
            key_only: false,
        }
    }

    /// A terminal in canonical mode (a fresh pty's): a pane whose program reads lines.
    fn line_mode_tty() -> (nix::pty::OpenptyResult, String) {
        let pty = nix::pty::openpty(None, None).unwrap();
        let name = std::fs::read_link(format!(
            "/proc/self/fd/{}",
            std::os::fd::AsRawFd::as_raw_fd(&pty.slave)
        ))
        .unwrap();
        let name = name.to_string_lossy().into_owned();
        assert!(canonical(&name), "a fresh pty is canonical: {name}");
        (pty, name)
    }

    #[tokio::test(start_paused = true)]
    async fn deliver_into_an_idle_line_mode_agent_presses_the_submit_key_once() {
        let d = tempfile::tempdir().unwrap();
        let (ctx, fake) = fleet(d.path(), "");
        let (_pty, tty) = line_mode_tty();
        let mut pane = FakePane::new("bash", IDLE);
        pane.tty = Some(tty);
        fake.add("f-a1", pane);
        let backend = ctx.cfg.backend_of(ctx.cfg.agent("a1").unwrap());
        let out = deliver(&ctx, backend, msg("hello there")).await;
        assert!(matches!(out, Outcome::Delivered(_)), "{out:?}");
        assert_eq!(fake.typed("f-a1"), ["hello there"]);
        assert_eq!(fake.keys("f-a1"), ["Enter"]);
        assert_eq!(last(&ctx.state, "a1").unwrap().outcome, "delivered");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dialog_is_never_typed_into() {
        let d = tempfile::tempdir().unwrap();
        let (ctx, fake) = fleet(d.path(), "");
        fake.add("f-a1", FakePane::new("bash", DIALOG));
        let backend = ctx.cfg.backend_of(ctx.cfg.agent("a1").unwrap());
        let out = deliver(&ctx, backend, msg("hello")).await;
        assert!(
            matches!(out, Outcome::Refused { typed: false, .. }),
            "{out:?}"
        );
        assert!(fake.ops().is_empty(), "{:?}", fake.ops());
        let waited = deliver_when_idle(&ctx, backend, msg("hello"), Duration::from_secs(5)).await;
        assert!(matches!(waited, Err(NotIdle::Dialog(_))), "{waited:?}");
        assert!(fake.ops().is_empty(), "{:?}", fake.ops());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dialog_that_comes_up_while_typing_gets_no_submit_key() {
        let d = tempfile::tempdir().unwrap();
        let (ctx, fake) = fleet(d.path(), "");
        fake.add("f-a1", FakePane::new("bash", IDLE));
        fake.on_input(|_, op, pane| {
            if matches!(op, Op::Text { .. }) {
                pane.show(DIALOG);
            }
        });
        let backend = ctx.cfg.backend_of(ctx.cfg.agent("a1").unwrap());
        let out = deliver(&ctx, backend, msg("hello")).await;
        assert!(
            matches!(out, Outcome::Refused { typed: true, .. }),
            "{out:?}"
        );
        assert_eq!(fake.typed("f-a1"), ["hello"]);
        assert!(fake.keys("f-a1").is_empty(), "{:?}", fake.ops());
    }

    #[tokio::test(start_paused = true)]
    async fn deliver_when_idle_waits_out_a_busy_agent_then_types_once() {
        let d = tempfile::tempdir().unwrap();
        let (ctx, fake) = fleet(d.path(), "");
        fake.add(
            "f-a1",
            FakePane::new("bash", "✶ Working… (3s · esc to interrupt)\n"),
        );
        let f = fake.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(20)).await;
            f.with_pane("f-a1", |p| p.show(IDLE));
        });
        let backend = ctx.cfg.backend_of(ctx.cfg.agent("a1").unwrap());
        let t0 = tokio::time::Instant::now();
        let out = deliver_when_idle(&ctx, backend, msg("next"), Duration::from_secs(60))
            .await
            .unwrap();
        let waited = t0.elapsed();
        assert!(matches!(out, Outcome::Delivered(_)), "{out:?}");
        assert!(
            waited >= Duration::from_secs(20),
            "typed while busy: {waited:?}"
        );
        assert_eq!(fake.typed("f-a1"), ["next"]);
        assert_eq!(fake.keys("f-a1"), ["Enter"]);
        // Busy past the timeout: nothing typed.
        fake.with_pane("f-a1", |p| p.show("✶ Working… (3s · esc to interrupt)\n"));
        let busy = deliver_when_idle(&ctx, backend, msg("again"), Duration::from_secs(5)).await;
        assert!(matches!(busy, Err(NotIdle::Busy(_))), "{busy:?}");
        assert_eq!(fake.typed("f-a1").len(), 1);
    }
}
