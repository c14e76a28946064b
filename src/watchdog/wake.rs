//! SPEC §6 Wake — wake schedules on wall-clock time (defect 13): every `interval`, when an
//! agent's session is live and idle, type its wake file's text (whitespace collapsed, as the
//! original) through [`typing::deliver`] (purpose `wake`).
//!
//! - The first time an agent with a `wake` table is seen without a record, its clock starts
//!   then: the first wake comes one interval later (as the original).
//! - Due but busy (or not running, or a dialog up): tried again on the next tick; a `wake`
//!   event with outcome `waiting` says so once per due wake.
//! - A missing or empty prompt file is reported once (log and event `prompt-missing`) and
//!   counted as a wake (no retry storm); reported again only after it was fine in between.
//! - Skipped entirely while the phase sequence is complete.
//! - The config is re-read every tick, so agents and wake tables added or removed are picked
//!   up: clocks are keyed by agent name, and those of agents without a wake table dropped.
//! - The last wake times live in `state/wake.json` (`{"<agent>": <unix seconds>}`, written
//!   atomically), so a watchdog restart does not reset the clocks. A corrupt file is
//!   reported once and treated as empty.
//!
//! - A wake is typed at most once per due time: one that was typed but not verified
//!   (`unverified`), refused after typing, or failed counts as done; one refused before
//!   anything was typed (a dialog came up, the program exited) stays due.
//!
//! Events: `wake` with `{name, session, outcome}` (`delivered`, `unverified`, `refused`,
//! `failed`, `waiting`, `prompt-missing`) and `why` / `error` where there is one.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::config::Agent;
use crate::ctx::Ctx;
use crate::tmux::Sessions;
use crate::typing::{self, Message};

/// What a wake schedule calls for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No (usable) record: start the clock now.
    Start,
    /// Not yet.
    Wait,
    /// An interval or more since the last wake.
    Due,
}

/// The pure decision: `last` wake time and `now` in unix seconds. A record in the future (the
/// clock was set back) starts the clock again rather than silencing the schedule.
pub fn decide(last: Option<f64>, interval: Duration, now: f64) -> Decision {
    match last {
        None => Decision::Start,
        Some(l) if !l.is_finite() || l > now + 1.0 => Decision::Start,
        Some(l) if now - l >= interval.as_secs_f64() => Decision::Due,
        Some(_) => Decision::Wait,
    }
}

/// Why a wake prompt file has no text to type ([`prompt`]); `Display` names the file (the
/// `wake` event `prompt-missing`'s `error`).
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// The file is missing or unreadable.
    #[error("cannot read the wake prompt file {}: {source}", path.display())]
    Read {
        /// The agent's `wake.prompt_file`, resolved against the project directory.
        path: PathBuf,
        /// Why reading it failed.
        source: std::io::Error,
    },
    /// The file holds only whitespace.
    #[error("the wake prompt file {} is empty", path.display())]
    Empty {
        /// The agent's `wake.prompt_file`, resolved against the project directory.
        path: PathBuf,
    },
    /// The text (whitespace collapsed) has a control character other than newline and tab.
    #[error(
        "the wake prompt file {} has a {ch} (of its text with whitespace collapsed), which would reach the agent as a key press; remove it",
        path.display()
    )]
    ControlChar {
        /// The agent's `wake.prompt_file`, resolved against the project directory.
        path: PathBuf,
        /// The first control character of the collapsed text (one line), and its column.
        ch: crate::typing::ControlChar,
    },
}

/// The wake file's text with runs of whitespace collapsed to one space.
///
/// # Errors
///
/// [`PromptError`]: the file is missing or unreadable, empty, or has a control character
/// such as ESC in it.
pub fn prompt(path: &std::path::Path) -> Result<String, PromptError> {
    let text = std::fs::read_to_string(path).map_err(|source| PromptError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(PromptError::Empty {
            path: path.to_path_buf(),
        });
    }
    // Reported once like a missing file, rather than refused by the typing path every tick.
    if let Some(ch) = crate::typing::control_char(&text) {
        return Err(PromptError::ControlChar {
            path: path.to_path_buf(),
            ch,
        });
    }
    Ok(text)
}

/// Wake clocks and what was reported, across ticks.
#[derive(Debug, Default)]
pub struct Waker {
    /// Last wake (or clock start) per agent, unix seconds; `None` until read from disk.
    last: Option<BTreeMap<String, f64>>,
    /// Agents whose prompt file problem was reported.
    missing: HashSet<String>,
    /// Agents reported as waiting for idle in their current due wake.
    waiting: HashSet<String>,
    /// A corrupt or unwritable `wake.json` was reported.
    file_reported: crate::state::ReportOnce,
    /// The time schedules are read at.
    clock: crate::state::Clock,
}

fn path(ctx: &Ctx) -> PathBuf {
    ctx.state.wake_path()
}

impl Waker {
    /// A waker that reads the time from `clock`.
    pub fn with_clock(clock: crate::state::Clock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    /// Reads `state/wake.json`: absent → empty; corrupt → reported once, empty.
    fn load(&mut self, ctx: &Ctx) -> BTreeMap<String, f64> {
        match crate::state::json::read(&path(ctx)) {
            Ok(last) => last.unwrap_or_default(),
            Err(c) => {
                self.report_file(ctx, &c.then("wake clocks start over"));
                BTreeMap::new()
            }
        }
    }

    fn report_file(&mut self, ctx: &Ctx, error: &str) {
        if self.file_reported.first() {
            tracing::warn!("{error}");
            ctx.events.emit("wake-state-error", json!({"error": error}));
        }
    }

    /// One pass over the wake schedules at the clock's time (see the module doc).
    pub async fn tick(&mut self, ctx: &Ctx, sessions: &Sessions) {
        let now = self.clock.now();
        let mut last = match self.last.take() {
            Some(l) => l,
            None => self.load(ctx),
        };
        let agents: Vec<&Agent> = ctx
            .cfg
            .agents
            .iter()
            .filter(|a| a.enabled && a.wake.is_some())
            .collect();
        let before = last.clone();
        last.retain(|name, _| agents.iter().any(|a| &a.name == name));
        self.missing
            .retain(|name| agents.iter().any(|a| &a.name == name));
        self.waiting
            .retain(|name| agents.iter().any(|a| &a.name == name));
        let mut due: Vec<(&Agent, String)> = Vec::new();
        if !ctx.state.sequence_complete() {
            for a in &agents {
                // Always there: `agents` holds only agents with a wake.
                let Some(wake) = a.wake.as_ref() else {
                    continue;
                };
                match decide(last.get(&a.name).copied(), wake.interval, now) {
                    Decision::Wait => {}
                    Decision::Start => {
                        last.insert(a.name.clone(), now);
                    }
                    Decision::Due => match self.ready(ctx, sessions, a, &wake.prompt_file).await {
                        Ready::Type(text) => due.push((a, text)),
                        Ready::Counted => {
                            last.insert(a.name.clone(), now);
                        }
                        Ready::Later => {}
                    },
                }
            }
        }
        // Read again under the typing lock: another delivery (`agents send`, a ping) may have
        // made the agent busy while this one waited for the lock.
        let deliveries = due.iter().map(|(a, text)| async move {
            let r = typing::deliver_when_idle(
                ctx,
                ctx.cfg.backend_of(a),
                Message {
                    name: &a.name,
                    session: &a.session,
                    text,
                    purpose: "wake",
                    key_only: false,
                },
                std::time::Duration::ZERO,
            )
            .await;
            (*a, r)
        });
        for (a, r) in futures_util::future::join_all(deliveries).await {
            let r = match r {
                Ok(r) => r,
                Err(why) => {
                    // Not idle under the lock: nothing typed, still due, as for a busy agent.
                    tracing::debug!("{}: wake due, not idle ({why}); next tick", a.name);
                    if self.waiting.insert(a.name.clone()) {
                        emit(ctx, a, "waiting", json!({"why": why.to_string()}));
                    }
                    continue;
                }
            };
            if let typing::Outcome::Refused { why, typed: false } = &r {
                // Nothing was typed (a dialog came up, the program exited): still due, and
                // tried again on a later tick, as a busy agent is.
                tracing::info!("{}: wake due, refused ({why}); next tick", a.name);
                continue;
            }
            // Typed, even if not verified, it counts: a text that may have reached the agent
            // is never typed again (at most one wake per due time).
            last.insert(a.name.clone(), now);
            self.waiting.remove(&a.name);
            match r.why() {
                None => {
                    tracing::info!("{}: woken ({}) for its scheduled pass", a.name, a.session);
                    emit(ctx, a, "delivered", json!({}));
                }
                Some(e) => {
                    tracing::warn!("{}: the wake was {}: {e}", a.name, r.as_str());
                    emit(ctx, a, r.as_str(), json!({"error": e}));
                }
            }
        }
        if last != before {
            let form = crate::state::json::Form::Pretty;
            if let Err(e) = crate::state::json::write(&path(ctx), &last, form) {
                self.report_file(ctx, &format!("cannot write {}: {e}", path(ctx).display()));
            }
        }
        self.last = Some(last);
    }

    /// Whether a due wake of `a` can be typed now.
    async fn ready(
        &mut self,
        ctx: &Ctx,
        sessions: &Sessions,
        a: &Agent,
        prompt_file: &std::path::Path,
    ) -> Ready {
        let text = match prompt(prompt_file) {
            Ok(t) => {
                self.missing.remove(&a.name);
                t
            }
            Err(e) => {
                if self.missing.insert(a.name.clone()) {
                    tracing::warn!("{}: wake skipped — {e}", a.name);
                    emit(ctx, a, "prompt-missing", json!({"error": e.to_string()}));
                }
                return Ready::Counted;
            }
        };
        let backend = ctx.cfg.backend_of(a);
        match typing::readiness(ctx, backend, sessions, &a.session)
            .await
            .idle()
        {
            Ok(()) => Ready::Type(text),
            Err(why) => {
                tracing::debug!("{}: wake due, not idle ({why}); next tick", a.name);
                if self.waiting.insert(a.name.clone()) {
                    emit(ctx, a, "waiting", json!({"why": why.to_string()}));
                }
                Ready::Later
            }
        }
    }
}

/// What a due wake does this tick.
enum Ready {
    /// Type this text.
    Type(String),
    /// Nothing to type (the prompt file is missing or empty), counted as a wake.
    Counted,
    /// Not idle: the next tick.
    Later,
}

fn emit(ctx: &Ctx, a: &Agent, outcome: &str, mut fields: serde_json::Value) {
    if let serde_json::Value::Object(m) = &mut fields {
        m.insert("name".into(), json!(a.name));
        m.insert("session".into(), json!(a.session));
        m.insert("outcome".into(), json!(outcome));
    }
    ctx.events.emit("wake", fields);
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Duration = Duration::from_secs(3600);

    /// The waker reads its injected clock: the first tick starts the agent's clock at the
    /// clock's time, a tick a second before the interval is over does nothing, and the tick
    /// at the interval counts the wake (its prompt file is missing: reported, no tmux asked).
    #[tokio::test]
    async fn the_waker_runs_on_its_injected_clock() {
        let t = tempfile::tempdir().unwrap();
        let cfg = crate::config::parse(
            &t.path().join("agents.toml"),
            "[defaults]\nsession_prefix = \"w-\"\nlog_dir = \"l\"\ntmux_socket = \"agents-unit-no-server\"\n\
             [watchdog]\nmin_wake_interval = 1\n\
             [[agent]]\nname = \"a\"\nbackend = \"demo\"\n\
             wake = { interval = 60, prompt_file = \"missing.md\" }\n",
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap();
        let ctx = Ctx::new(cfg, "watchdog");
        let sessions = crate::tmux::format::parse("");
        let clock = crate::state::Clock::fixed(1_000.0);
        let mut w = Waker::with_clock(clock.clone());
        let recorded = || {
            crate::state::json::read::<BTreeMap<String, f64>>(&ctx.state.wake_path())
                .unwrap()
                .unwrap_or_default()
        };
        w.tick(&ctx, &sessions).await;
        assert_eq!(recorded(), [("a".to_string(), 1_000.0)].into());
        clock.advance(59.0);
        w.tick(&ctx, &sessions).await;
        assert_eq!(recorded(), [("a".to_string(), 1_000.0)].into());
        clock.advance(1.0);
        w.tick(&ctx, &sessions).await;
        assert_eq!(recorded(), [("a".to_string(), 1_060.0)].into());
        let events = std::fs::read_to_string(ctx.cfg.log_dir.join("events.jsonl")).unwrap();
        assert_eq!(events.matches("prompt-missing").count(), 1, "{events}");
    }

    #[test]
    fn first_sight_starts_the_clock_and_the_wake_comes_one_interval_later() {
        assert_eq!(decide(None, H, 1000.0), Decision::Start);
        assert_eq!(decide(Some(1000.0), H, 1000.0), Decision::Wait);
        assert_eq!(decide(Some(1000.0), H, 4599.9), Decision::Wait);
        assert_eq!(decide(Some(1000.0), H, 4600.0), Decision::Due);
        assert_eq!(decide(Some(1000.0), H, 90_000.0), Decision::Due);
    }

    #[test]
    fn a_record_in_the_future_or_garbage_restarts_the_clock() {
        assert_eq!(decide(Some(5000.0), H, 1000.0), Decision::Start);
        assert_eq!(decide(Some(f64::NAN), H, 1000.0), Decision::Start);
        assert_eq!(decide(Some(1000.5), H, 1000.0), Decision::Wait);
    }

    #[test]
    fn wall_clock_not_ticks_defect_13() {
        // A 20 s wake with slow 11 s ticks fires at the first tick past 20 s (22 s), not
        // after two full tick counts (33 s).
        let i = Duration::from_secs(20);
        let fired = [11.0, 22.0, 33.0]
            .into_iter()
            .find(|&t| decide(Some(0.0), i, t) == Decision::Due);
        assert_eq!(fired, Some(22.0));
    }

    #[test]
    fn prompt_collapses_whitespace_and_names_a_bad_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("wake.md");
        std::fs::write(&p, "  wake\n\n up\t now \n").unwrap();
        assert_eq!(prompt(&p).unwrap(), "wake up now");
        std::fs::write(&p, " \n\t").unwrap();
        let e = prompt(&p).unwrap_err();
        assert!(matches!(e, PromptError::Empty { .. }), "{e:?}");
        assert!(e.to_string().contains("is empty"));
        let gone = d.path().join("gone.md");
        let e = prompt(&gone).unwrap_err();
        assert!(matches!(e, PromptError::Read { .. }), "{e:?}");
        assert!(e.to_string().contains("gone.md"), "{e}");
        std::fs::write(&p, "wake \u{1b}[201~ up\n").unwrap();
        let e = prompt(&p).unwrap_err().to_string();
        assert!(e.contains("ESC (U+001B) at line 1, column 6"), "{e}");
    }
}
