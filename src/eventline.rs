//! One event of `events.jsonl` as a readable line (`agents events`): the local time, the
//! agent it concerns, what happened and why.
//!
//! ```text
//! 14:03:07  builder       restart           fatal screen: FATAL: session state corrupted
//! 14:05:40  adversary     handoff           claim → adversary (delivered): "claim: gate 2"
//! 2026-11-20 09:12:00  -  start-failed      worker: cannot start session fleet-worker: …
//! ```
//!
//! The events of this program get a curated "why" (the fields a person needs); an event
//! this module does not know (a newer version's, a hand-written one) shows its fields as
//! `key=value`. Every value is shown on one line (runs of whitespace, newlines included,
//! become one space).

use chrono::{DateTime, FixedOffset, Local, NaiveDate};
use serde_json::Value;

/// Fields shown in the time / agent / event columns, never again as `key=value`.
const FRAME: [&str; 5] = ["ts", "source", "event", "name", "session"];

/// The time of an event: its `ts` (RFC 3339). `None` when missing or unreadable.
pub(crate) fn time(e: &Value) -> Option<DateTime<FixedOffset>> {
    e["ts"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
}

/// The agent, service or `watchdog` an event concerns: its `name`, else a handoff's
/// target (`to`), else `watchdog` for the watchdog's own events. `None` for events of the
/// fleet as a whole (e.g. a `start-failed` of `up` before any session).
pub(crate) fn subject(e: &Value) -> Option<&str> {
    e["name"]
        .as_str()
        .or_else(|| e["to"].as_str())
        .or_else(|| (e["source"] == "watchdog").then_some("watchdog"))
}

/// The whole line: `TIME  AGENT  EVENT  WHY` (no newline). `TIME` is local `HH:MM:SS`,
/// preceded by the date when that is not `today`.
pub(crate) fn line(e: &Value, today: NaiveDate) -> String {
    let when = match time(e) {
        Some(t) => {
            let t = t.with_timezone(&Local);
            if t.date_naive() == today {
                t.format("%H:%M:%S").to_string()
            } else {
                t.format("%Y-%m-%d %H:%M:%S").to_string()
            }
        }
        None => "--:--:--".to_string(),
    };
    let what = e["event"].as_str().unwrap_or("?");
    let why = why(e, today);
    let s = format!(
        "{when}  {:<12}  {what:<16}  {why}",
        subject(e).unwrap_or("-")
    );
    s.trim_end().to_string()
}

/// What a line that is not a JSON object shows (`raw` cut to 200 characters).
pub(crate) fn corrupt(raw: &str) -> String {
    let cut: String = raw.trim_end().chars().take(200).collect();
    format!("--:--:--  (not an event: {})", one_line(&cut))
}

/// The "why" column: the fields of this kind of event a person needs.
pub(crate) fn why(e: &Value, today: NaiveDate) -> String {
    let f = |k: &str| text(&e[k]);
    let until = |k: &str| e[k].as_str().map(|t| local(t, today));
    let line = text(&e["evidence"]["line"]);
    let kind = e["event"].as_str().unwrap_or("");
    let parts: Vec<Option<String>> = match kind {
        "start" | "restart" | "stop" | "watchdog-stop" => vec![f("reason")],
        "start-failed" | "restart-failed" | "config-invalid" | "tmux-error" | "ping-failed"
        | "handoff-error" | "wake-state-error" => vec![f("why"), f("error")],
        "wake" => vec![f("outcome"), f("why"), f("error")],
        "notify-error" => vec![
            f("kind").map(|k| format!("the {k} notification")),
            f("error"),
        ],
        "backoff" => vec![f("why"), until("until").map(|u| format!("next try at {u}"))],
        "fatal"
        | "state-corrupt"
        | "orphan-stopped"
        | "phase-index-corrupt"
        | "stall-nudge"
        | "process-name" => {
            vec![f("why")]
        }
        "task-done" => vec![
            f("why"),
            f("exit_status").map(|s| format!("exit status {s}")),
        ],
        k if k.starts_with("limit-") => vec![
            f("why"),
            until("until").map(|u| format!("until {u}")),
            f("key").map(|k| format!("key {k}")),
            line.map(|l| format!("{l:?}")),
        ],
        "dialog" => vec![f("why"), line.map(|l| format!("{l:?}"))],
        "typed" => vec![
            Some(format!(
                "{} {}",
                f("purpose").unwrap_or_else(|| "message".into()),
                f("outcome").unwrap_or_default()
            )),
            f("error"),
            f("text").map(|t| format!("{t:?}")),
        ],
        "handoff" => vec![
            Some(format!(
                "{} → {}{}",
                f("what").unwrap_or_else(|| "?".into()),
                f("to").unwrap_or_else(|| "?".into()),
                f("outcome").map(|o| format!(" ({o})")).unwrap_or_default()
            )),
            f("detail").map(|d| format!("{d:?}")),
            f("error"),
        ],
        "watchdog-moved" => vec![
            Some(format!(
                "session {} → {}",
                f("from").unwrap_or_else(|| "?".into()),
                f("session").unwrap_or_else(|| "?".into())
            )),
            f("why"),
        ],
        "handoff-recovered" => vec![f("repo").map(|r| format!("{r} answers again"))],
        "phase-advance" => vec![Some(format!(
            "{} → {}",
            f("from").unwrap_or_else(|| "?".into()),
            f("to").unwrap_or_else(|| "?".into())
        ))],
        "phase-set" => vec![Some(format!(
            "phase {} (index {})",
            f("id").unwrap_or_else(|| "?".into()),
            f("index").unwrap_or_else(|| "?".into())
        ))],
        "sequence-complete" => vec![f("last").map(|l| format!("last phase {l} done"))],
        "watchdog-start" => vec![Some(format!(
            "pid {}, config {}",
            f("pid").unwrap_or_else(|| "?".into()),
            f("config").unwrap_or_else(|| "?".into())
        ))],
        "config-applied" => vec![Some("the changed config is in force".into())],
        _ => return fields(e),
    };
    parts.into_iter().flatten().collect::<Vec<_>>().join(": ")
}

/// Every field but the framing ones, as `key=value` (strings with spaces quoted, objects
/// and arrays as compact JSON).
fn fields(e: &Value) -> String {
    let Value::Object(m) = e else {
        return String::new();
    };
    m.iter()
        .filter(|(k, v)| !FRAME.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) if s.is_empty() || s.contains(char::is_whitespace) => {
                    format!("{:?}", one_line(s))
                }
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{k}={s}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A field as one line of text: strings and numbers; `None` for null, missing or empty.
fn text(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => one_line(s),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => return None,
        other => other.to_string(),
    };
    (!s.is_empty()).then_some(s)
}

/// Runs of whitespace (newlines included) as one space, trimmed.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An RFC 3339 time as local `HH:MM:SS` (with the date when not `today`); other text as is.
fn local(t: &str, today: NaiveDate) -> String {
    match DateTime::parse_from_rfc3339(t) {
        Ok(t) => {
            let t = t.with_timezone(&Local);
            if t.date_naive() == today {
                t.format("%H:%M:%S").to_string()
            } else {
                t.format("%Y-%m-%d %H:%M:%S").to_string()
            }
        }
        Err(_) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today_of(ts: &str) -> NaiveDate {
        DateTime::parse_from_rfc3339(ts)
            .unwrap()
            .with_timezone(&Local)
            .date_naive()
    }

    #[test]
    fn known_events_show_time_agent_what_and_why() {
        let ts = "2026-01-02T14:03:07.123+00:00";
        let today = today_of(ts);
        let hhmmss = DateTime::parse_from_rfc3339(ts)
            .unwrap()
            .with_timezone(&Local)
            .format("%H:%M:%S")
            .to_string();
        let e = json!({"ts": ts, "source": "watchdog", "event": "restart", "name": "builder",
                       "session": "f-builder", "reason": "fatal screen: FATAL: x",
                       "evidence": {"line": "FATAL: x"}});
        let l = line(&e, today);
        assert!(l.starts_with(&format!("{hhmmss}  builder ")), "{l}");
        assert!(
            l.ends_with("  restart           fatal screen: FATAL: x"),
            "{l}"
        );

        let e = json!({"ts": ts, "event": "handoff", "what": "claim", "to": "adversary",
                       "detail": "claim: gate 2", "outcome": "delivered"});
        assert_eq!(subject(&e), Some("adversary"));
        assert!(
            line(&e, today).ends_with("claim → adversary (delivered): \"claim: gate 2\""),
            "{}",
            line(&e, today)
        );
        let e = json!({"ts": ts, "event": "typed", "name": "a", "purpose": "stall-nudge",
                       "outcome": "failed", "error": "a dialog waits", "text": "continue"});
        assert!(line(&e, today).ends_with("stall-nudge failed: a dialog waits: \"continue\""));
        let e = json!({"ts": ts, "source": "watchdog", "event": "wake", "name": "a",
                       "outcome": "waiting", "why": "busy"});
        assert!(line(&e, today).ends_with("wake              waiting: busy"));
        let e = json!({"ts": ts, "source": "watchdog", "event": "notify-error", "name": "a",
                       "kind": "fatal", "error": "exit status 1", "why": "x"});
        assert!(line(&e, today).ends_with("the fatal notification: exit status 1"));
        let e = json!({"ts": ts, "source": "watchdog", "event": "phase-advance",
                       "from": "p1", "to": "p2", "index": 1});
        assert!(line(&e, today).ends_with("phase-advance     p1 → p2"));
        let e = json!({"ts": ts, "source": "watchdog", "event": "watchdog-moved",
                       "name": "watchdog", "from": "old-watchdog", "session": "new-watchdog",
                       "why": "session_prefix changed"});
        assert!(
            line(&e, today)
                .ends_with("session old-watchdog → new-watchdog: session_prefix changed"),
            "{}",
            line(&e, today)
        );
        let e = json!({"ts": ts, "source": "watchdog", "event": "config-invalid",
                       "error": "agents.toml:3: bad\n  help: fix it"});
        assert_eq!(subject(&e), Some("watchdog"));
        assert!(line(&e, today).ends_with("agents.toml:3: bad help: fix it"));
        let e = json!({"ts": ts, "event": "limit-hit", "name": "a", "why": "banner",
                       "until": ts, "evidence": {"line": "usage limit"}});
        assert!(
            line(&e, today).ends_with(&format!("banner: until {hhmmss}: \"usage limit\"")),
            "{}",
            line(&e, today)
        );
    }

    #[test]
    fn another_day_shows_the_date_and_unknown_events_their_fields() {
        let ts = "2026-01-02T14:03:07+00:00";
        let other = today_of(ts).succ_opt().unwrap();
        let e = json!({"ts": ts, "source": "up", "event": "new-thing", "name": "w",
                       "count": 3, "note": "two words", "empty": null, "obj": {"k": 1}});
        let l = line(&e, other);
        assert!(l.starts_with("2026-01-0"), "{l}");
        assert!(
            l.ends_with("new-thing         count=3 note=\"two words\" obj={\"k\":1}"),
            "{l}"
        );
        // No time, no name: placeholders, never a panic.
        let l = line(&json!({"event": "start-failed", "error": "boom"}), other);
        assert_eq!(l, "--:--:--  -             start-failed      boom");
        assert_eq!(line(&json!([1, 2]), other), "--:--:--  -             ?");
        assert_eq!(
            corrupt("{\"ts\": tru\n"),
            "--:--:--  (not an event: {\"ts\": tru)"
        );
    }
}
