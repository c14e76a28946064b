//! Pure parts of notifications: which `events.jsonl` events a person must hear about
//! ([`classify`]) and the repeat suppression ([`Repeat`], time injected).
//!
//! The mapping, event → kind (`AGENTS_EVENT`):
//!
//! | event in `events.jsonl`                          | kind                |
//! |--------------------------------------------------|---------------------|
//! | `fatal` (gave up restarting)                     | `fatal`             |
//! | `dialog` (the screen waits for a person)         | `dialog`            |
//! | `limit-hit` (with `until`, the reset, if known)   | `limit`             |
//! | `restart` with `cause` `stall`                   | `stall`             |
//! | `phase-advance`                                  | `phase-done`        |
//! | `sequence-complete`                              | `sequence-complete` |
//! | `handoff` with outcome `failed`, `unverified`,   | `handoff-failed`    |
//! | `refused` or `forced`                            |                     |
//! | `wake` with outcome `failed`, `unverified` or    | `wake-failed`       |
//! | `refused`                                        |                     |
//!
//! Every other event (starts, typed text, backoffs, `notify-error` itself…) is not sent.

use std::collections::HashMap;

use serde_json::Value;

use crate::config::NotifyKind;
use crate::supervise::restart::RestartCause;

/// The longest `reason` given to a notify command, in characters.
pub const REASON_MAX: usize = 300;

/// One notification to send, made from one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Which kind of notification it is (`AGENTS_EVENT`), what `[notify] events` chooses from.
    pub kind: NotifyKind,
    /// The agent it is about (`AGENTS_NAME`); empty for a phase or the sequence.
    pub name: String,
    /// The agent's tmux session (`AGENTS_SESSION`); empty when there is none.
    pub session: String,
    /// What repeat suppression counts by: the agent's name, else `phase:<id>` for a phase,
    /// `sequence` for the sequence.
    pub subject: String,
    /// One readable line (`AGENTS_REASON`), at most [`REASON_MAX`] characters.
    pub reason: String,
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// How a typing outcome reads in a notification: `unverified` → "typed but not verified".
fn not_delivered(outcome: &str) -> &'static str {
    match outcome {
        "unverified" => "typed but not verified",
        "refused" => "refused",
        _ => "not delivered",
    }
}

/// `s` on one line (runs of whitespace, newlines included, become one space), cut to
/// [`REASON_MAX`] characters with `…`.
pub fn one_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if joined.chars().count() <= REASON_MAX {
        return joined;
    }
    let mut cut: String = joined.chars().take(REASON_MAX - 1).collect();
    cut.push('…');
    cut
}

/// The notification an event makes, if any (the table in the module doc). `event` is one
/// `events.jsonl` object: `{"ts", "source", "event", ...fields}`.
pub fn classify(event: &Value) -> Option<Notice> {
    let name = text(event, "name");
    let what = text(event, "event");
    let (kind, reason) = match what {
        "fatal" => (
            NotifyKind::Fatal,
            format!("{name} gave up restarting: {}", text(event, "why")),
        ),
        "dialog" => {
            let line = event["evidence"]["line"].as_str().unwrap_or("");
            (
                NotifyKind::Dialog,
                format!("{name} waits for a person: {line}"),
            )
        }
        "limit-hit" => {
            let reset = match event["until"].as_str() {
                Some(u) => format!("it resets at {u}"),
                None => "no reset time on screen".into(),
            };
            let line = event["evidence"]["line"].as_str().unwrap_or("");
            (
                NotifyKind::Limit,
                format!("{name} hit a usage limit ({line}); {reset}"),
            )
        }
        "restart" if text(event, "cause") == RestartCause::Stall.as_str() => (
            NotifyKind::Stall,
            format!("{name} was restarted: {}", text(event, "reason")),
        ),
        "phase-advance" => (
            NotifyKind::PhaseDone,
            format!(
                "phase {} is done; advancing to {}",
                text(event, "from"),
                text(event, "to")
            ),
        ),
        "sequence-complete" => (
            NotifyKind::SequenceComplete,
            format!(
                "the phase sequence is complete (last phase {})",
                text(event, "last")
            ),
        ),
        "handoff"
            if matches!(
                text(event, "outcome"),
                "failed" | "unverified" | "refused" | "forced"
            ) =>
        {
            let (ping, to) = (text(event, "what"), text(event, "to"));
            let reason = if text(event, "outcome") == "forced" {
                format!(
                    "the {ping} ping was typed into {to} while it was busy, after waiting {} s",
                    event["waited"].as_f64().unwrap_or(0.0).round()
                )
            } else {
                format!(
                    "the {ping} ping to {to} was {}: {}",
                    not_delivered(text(event, "outcome")),
                    text(event, "error")
                )
            };
            (NotifyKind::HandoffFailed, reason)
        }
        "wake" if matches!(text(event, "outcome"), "failed" | "unverified" | "refused") => (
            NotifyKind::WakeFailed,
            format!(
                "the wake of {name} was {}: {}",
                not_delivered(text(event, "outcome")),
                text(event, "error")
            ),
        ),
        _ => return None,
    };
    // A handoff names its target in `to`.
    let name = match kind {
        NotifyKind::HandoffFailed => text(event, "to"),
        _ => name,
    };
    let subject = match kind {
        NotifyKind::PhaseDone => format!("phase:{}", text(event, "from")),
        NotifyKind::SequenceComplete => "sequence".into(),
        _ => name.to_string(),
    };
    Some(Notice {
        kind,
        name: name.to_string(),
        session: text(event, "session").to_string(),
        subject,
        reason: one_line(&reason),
    })
}

/// Repeat suppression: the same kind about the same subject is sent at most once per
/// window. Kept in the watchdog's memory only (a restarted watchdog may send it again).
#[derive(Debug, Default)]
pub struct Repeat {
    /// (kind, subject) → when it was last sent, in seconds of any monotonic clock.
    last: HashMap<(NotifyKind, String), f64>,
}

impl Repeat {
    /// Whether a notice of `kind` about `subject` may be sent at `now` (seconds) with repeats
    /// suppressed for `window` seconds; records it when it may. Entries older than the
    /// window are forgotten.
    pub fn admit(&mut self, kind: NotifyKind, subject: &str, now: f64, window: f64) -> bool {
        self.last.retain(|_, t| now - *t < window);
        let key = (kind, subject.to_string());
        if self.last.contains_key(&key) {
            return false;
        }
        self.last.insert(key, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kind(v: &Value) -> Option<NotifyKind> {
        classify(v).map(|n| n.kind)
    }

    #[test]
    fn each_event_a_person_must_hear_about_has_its_kind() {
        let fatal = classify(
            &json!({"event": "fatal", "name": "scribe", "session": "p-scribe",
            "why": "3 restarts within 60 s (max_restarts = 3); last: exited"}),
        )
        .unwrap();
        assert_eq!(fatal.kind, NotifyKind::Fatal);
        assert_eq!(
            (fatal.name.as_str(), fatal.session.as_str()),
            ("scribe", "p-scribe")
        );
        assert!(fatal.reason.contains("3 restarts"), "{}", fatal.reason);
        assert_eq!(
            kind(&json!({"event": "dialog", "name": "a", "evidence": {"line": "Sign in"}})),
            Some(NotifyKind::Dialog)
        );
        let limit = classify(&json!({"event": "limit-hit", "name": "a",
            "until": "2026-01-01T10:00:00+00:00", "evidence": {"line": "usage limit"}}))
        .unwrap();
        assert_eq!(limit.kind, NotifyKind::Limit);
        assert!(
            limit.reason.contains("resets at 2026-01-01T10:00:00"),
            "{}",
            limit.reason
        );
        assert_eq!(
            kind(&json!({"event": "restart", "name": "a", "cause": "stall",
                "reason": "stalled: idle 9 s, and still idle 5 s after a nudge"})),
            Some(NotifyKind::Stall)
        );
        // The kind, not the text: a reason that merely reads like a stall is not one.
        assert_eq!(
            kind(&json!({"event": "restart", "name": "a", "cause": "fatal",
                "reason": "stalled: a fatal screen that happens to say so"})),
            None
        );
        let phase = classify(&json!({"event": "phase-advance", "from": "p1", "to": "p2"})).unwrap();
        assert_eq!(
            (phase.kind, phase.name.as_str()),
            (NotifyKind::PhaseDone, "")
        );
        assert_eq!(phase.subject, "phase:p1");
        assert_eq!(
            kind(&json!({"event": "sequence-complete", "last": "p2"})),
            Some(NotifyKind::SequenceComplete)
        );
        for outcome in ["failed", "forced"] {
            let h = classify(&json!({"event": "handoff", "what": "review", "to": "rev",
                "outcome": outcome, "error": "gone", "waited": 600.0}))
            .unwrap();
            assert_eq!(
                (h.kind, h.name.as_str()),
                (NotifyKind::HandoffFailed, "rev")
            );
        }
        assert_eq!(
            kind(&json!({"event": "wake", "name": "a", "outcome": "failed", "error": "x"})),
            Some(NotifyKind::WakeFailed)
        );
        for outcome in ["unverified", "refused"] {
            assert_eq!(
                kind(&json!({"event": "wake", "name": "a", "outcome": outcome, "error": "x"})),
                Some(NotifyKind::WakeFailed)
            );
            assert_eq!(
                kind(
                    &json!({"event": "handoff", "to": "a", "what": "claim", "outcome": outcome, "error": "x"})
                ),
                Some(NotifyKind::HandoffFailed)
            );
        }
    }

    #[test]
    fn routine_events_are_not_sent() {
        for v in [
            json!({"event": "restart", "name": "a", "reason": "session gone"}),
            json!({"event": "start", "name": "a"}),
            json!({"event": "handoff", "to": "a", "outcome": "delivered"}),
            json!({"event": "handoff", "to": "a", "outcome": "queued"}),
            json!({"event": "wake", "name": "a", "outcome": "delivered"}),
            json!({"event": "stall-nudge", "name": "a"}),
            json!({"event": "notify-error", "name": "a"}),
            json!({"event": "backoff", "name": "a"}),
        ] {
            assert_eq!(kind(&v), None, "{v}");
        }
    }

    #[test]
    fn the_reason_is_one_bounded_line() {
        let n = classify(&json!({"event": "fatal", "name": "a",
            "why": format!("line one\nline two {}", "x".repeat(1000))}))
        .unwrap();
        assert!(!n.reason.contains('\n'), "{}", n.reason);
        assert!(n.reason.contains("line one line two"), "{}", n.reason);
        assert_eq!(n.reason.chars().count(), REASON_MAX);
        assert!(n.reason.ends_with('…'));
    }

    #[test]
    fn the_same_kind_for_the_same_agent_is_not_repeated_within_the_window() {
        let mut r = Repeat::default();
        assert!(r.admit(NotifyKind::Fatal, "a", 1000.0, 600.0));
        assert!(!r.admit(NotifyKind::Fatal, "a", 1001.0, 600.0), "repeat");
        assert!(
            !r.admit(NotifyKind::Fatal, "a", 1599.0, 600.0),
            "still within"
        );
        // Another agent, another kind: sent.
        assert!(r.admit(NotifyKind::Fatal, "b", 1002.0, 600.0));
        assert!(r.admit(NotifyKind::Dialog, "a", 1003.0, 600.0));
        // The window passed: sent again, and the clock starts over from then.
        assert!(r.admit(NotifyKind::Fatal, "a", 1600.0, 600.0));
        assert!(!r.admit(NotifyKind::Fatal, "a", 2100.0, 600.0));
        // A window of 0 suppresses nothing.
        let mut r = Repeat::default();
        assert!(r.admit(NotifyKind::Stall, "a", 5.0, 0.0));
        assert!(r.admit(NotifyKind::Stall, "a", 5.0, 0.0));
    }
}
