//! `state/signals-<session>.jsonl`: what a CLI said through its hooks, one JSON object a
//! line, appended by `agents signal` (the command each hook runs) and read by `status`.
//!
//! A line: `{"ts": RFC 3339 local time, "epoch": Unix seconds (float), "event": the hook's
//! event name ("SessionStart", "UserPromptSubmit", "Stop", "StopFailure", "Notification",
//! "PreCompact"), and what the hook's JSON input carried of: "session_id",
//! "transcript_path", "source", "error", "message", "notification_type",
//! "last_assistant_message" (at most [``MAX_TEXT``] characters)}`. The prompt a person or
//! the watchdog typed is not copied (it is in the transcript). Claude Code 2.1.330 fires a
//! subagent's Stop with the parent's session id and an `agent_id`: such an input is
//! dropped, as it says nothing about the agent's own turn.
//!
//! The file is kept under [`MAX_BYTES`]: past it, it is renamed to `….jsonl.1` (one old
//! file) before the next line.

use std::io::Write as _;
use std::path::Path;

/// How long a text field may be (characters) before it is cut.
pub const MAX_TEXT: usize = 400;

/// The size (bytes) past which the file is rotated to `<file>.1`.
pub const MAX_BYTES: u64 = 1024 * 1024;

/// The most a hook's input may be (bytes); the rest is not read.
pub const MAX_INPUT: u64 = 4 * 1024 * 1024;

/// The fields copied from a hook's input, as strings.
const FIELDS: &[&str] = &[
    "session_id",
    "transcript_path",
    "source",
    "error",
    "message",
    "notification_type",
    "last_assistant_message",
];

/// One recorded signal.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Signal {
    /// When it was recorded (RFC 3339, local time with offset).
    pub ts: String,
    /// The same, Unix seconds.
    pub epoch: f64,
    /// The hook event's name.
    pub event: String,
    /// What the hook's input said (the fields of the module doc), when it said it.
    #[serde(flatten)]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// The line to record for a hook of `event` whose JSON input is `input`, at `now` (Unix
/// seconds, with its RFC 3339 form `ts`). `None` for a subagent's event (its input has an
/// `agent_id`). An input that is not a JSON object is recorded with the event alone.
pub fn line(event: &str, input: &[u8], now: f64, ts: &str) -> Option<String> {
    let input: serde_json::Value = serde_json::from_slice(input).unwrap_or_default();
    if input.get("agent_id").is_some_and(|a| !a.is_null()) {
        return None;
    }
    let mut fields = serde_json::Map::new();
    for key in FIELDS {
        if let Some(serde_json::Value::String(v)) = input.get(*key) {
            let v = match v.char_indices().nth(MAX_TEXT) {
                Some((cut, _)) => format!("{}…", &v[..cut]),
                None => v.clone(),
            };
            fields.insert((*key).to_string(), v.into());
        }
    }
    let s = Signal {
        ts: ts.to_string(),
        epoch: now,
        event: event.to_string(),
        fields,
    };
    serde_json::to_string(&s).ok().map(|mut l| {
        l.push('\n');
        l
    })
}

/// Appends `line` to `file` in one write (rotating the file past [`MAX_BYTES`]), creating
/// its directory if needed.
///
/// # Errors
///
/// The directory cannot be created, or the file cannot be opened or written.
pub fn append(file: &Path, line: &str) -> std::io::Result<()> {
    if std::fs::metadata(file).is_ok_and(|m| m.len() >= MAX_BYTES) {
        let mut old = file.as_os_str().to_owned();
        old.push(".1");
        let _ = std::fs::rename(file, old);
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    f.write_all(line.as_bytes())
}

/// `agents signal FILE EVENT`: reads the hook's input from stdin (at most [`MAX_INPUT`]
/// bytes) and appends its line to `file`. Errors are logged, never returned: a hook must not
/// fail the CLI's turn.
pub fn record_stdin(file: &Path, event: &str) {
    use std::io::Read as _;
    let mut input = Vec::new();
    let _ = std::io::stdin().take(MAX_INPUT).read_to_end(&mut input);
    let now = chrono::Local::now();
    let epoch = now.timestamp_micros() as f64 / 1e6;
    let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    if let Some(l) = line(event, &input, epoch, &ts)
        && let Err(e) = append(file, &l)
    {
        tracing::warn!(
            "cannot record the {event} signal in {}: {e}",
            file.display()
        );
    }
}

/// The last signal in `file` (reading only its tail), if any line parses.
pub fn last(file: &Path) -> Option<Signal> {
    newest(file, Some)
}

/// How many lines at the end of a signals file are looked at for the newest signal that
/// answers a question (a torn last line is skipped).
const TAIL_LINES: usize = 64;

/// The first answer `pick` gives for the signals at the end of `file`, newest first
/// ([`crate::logfile::tail`]: read backwards, never the whole file).
fn newest<T>(file: &Path, pick: impl FnMut(Signal) -> Option<T>) -> Option<T> {
    let tail = crate::logfile::tail(file, TAIL_LINES, 0).ok()?;
    let mut pick = pick;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find_map(&mut pick)
}

/// The newest signal in `file` recorded at or after `since` (Unix seconds: when the session's
/// process was started, so that a signal of the process before a restart does not count);
/// `None` when there is none.
pub fn current(file: &Path, since: Option<f64>) -> Option<Signal> {
    last(file).filter(|s| since.is_none_or(|t| s.epoch >= t))
}

impl Signal {
    /// The signal as detection reads it ([`crate::detect::Hook`]), with no status line
    /// report beside it (`blocked_until`: see [`crate::ctx::Beside`]).
    pub fn hook(&self) -> crate::detect::Hook<'_> {
        crate::detect::Hook {
            event: &self.event,
            epoch: self.epoch,
            notification_type: self.field("notification_type"),
            message: self.field("message"),
            error: self.field("error"),
            last_message: self.field("last_assistant_message"),
            blocked_until: None,
        }
    }

    /// A text field of the hook's input, when it carried it.
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key).and_then(|v| v.as_str())
    }

    /// Whether the CLI ended its turn on a 429 (Claude Code 2.1.330's `StopFailure` with
    /// `"error": "rate_limit"`): a plan limit, or a transient rate limit.
    pub fn is_rate_limit(&self) -> bool {
        self.event == "StopFailure" && self.field("error") == Some("rate_limit")
    }
}

/// The epoch seconds of a manifest `started` stamp (RFC 3339), if it parses.
pub fn started_epoch(stamp: &str) -> Option<f64> {
    chrono::DateTime::parse_from_rfc3339(stamp)
        .ok()
        .map(|t| t.timestamp_millis() as f64 / 1000.0)
}

/// The transcript the newest signal in `file` that names one names (Claude Code's
/// `SessionStart` and every later hook carry `transcript_path`), read from the file's tail.
pub fn transcript(file: &Path) -> Option<std::path::PathBuf> {
    newest(file, |s| {
        s.fields
            .get("transcript_path")
            .and_then(|p| p.as_str())
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = "2026-12-05T08:00:00+00:00";

    #[test]
    fn a_hook_input_is_recorded_with_its_event_and_known_fields_only() {
        let input = br#"{"session_id":"s1","transcript_path":"/h/t.jsonl","hook_event_name":"StopFailure",
            "error":"rate_limit","prompt":"secret","last_assistant_message":"You've hit your 5-hour limit \u00b7 resets 2:06pm (UTC)"}"#;
        let l = line("StopFailure", input, 1.5, TS).unwrap();
        assert!(l.ends_with('\n') && l.matches('\n').count() == 1, "{l:?}");
        let s: Signal = serde_json::from_str(&l).unwrap();
        assert_eq!(s.event, "StopFailure");
        assert_eq!(s.epoch, 1.5);
        assert_eq!(s.fields["error"], "rate_limit");
        assert_eq!(s.fields["session_id"], "s1");
        assert_eq!(
            s.fields["last_assistant_message"],
            "You've hit your 5-hour limit · resets 2:06pm (UTC)"
        );
        assert!(!l.contains("secret"), "the prompt is not copied: {l}");
    }

    #[test]
    fn a_subagents_event_is_dropped_and_bad_input_keeps_the_event() {
        assert_eq!(
            line("Stop", br#"{"session_id":"s","agent_id":"a7"}"#, 0.0, TS),
            None
        );
        let l = line("Stop", b"not json", 0.0, TS).unwrap();
        let s: Signal = serde_json::from_str(&l).unwrap();
        assert_eq!(s.event, "Stop");
        assert!(s.fields.is_empty());
        let long = format!(r#"{{"message":"{}"}}"#, "é".repeat(MAX_TEXT + 10));
        let s: Signal =
            serde_json::from_str(&line("Notification", long.as_bytes(), 0.0, TS).unwrap()).unwrap();
        assert_eq!(
            s.fields["message"].as_str().unwrap().chars().count(),
            MAX_TEXT + 1
        );
    }

    #[test]
    fn lines_are_appended_rotated_past_the_limit_and_the_last_is_read() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("state/signals-a.jsonl");
        assert_eq!(last(&f), None);
        append(&f, &line("SessionStart", b"{}", 1.0, TS).unwrap()).unwrap();
        append(&f, "torn li").unwrap();
        append(&f, "\n").unwrap();
        append(&f, &line("Stop", b"{}", 2.0, TS).unwrap()).unwrap();
        assert_eq!(last(&f).unwrap().event, "Stop");
        std::fs::write(&f, vec![b'x'; usize::try_from(MAX_BYTES).unwrap()]).unwrap();
        append(&f, &line("UserPromptSubmit", b"{}", 3.0, TS).unwrap()).unwrap();
        assert_eq!(last(&f).unwrap().event, "UserPromptSubmit");
        assert!(std::fs::metadata(&f).unwrap().len() < 1000);
        assert!(d.path().join("state/signals-a.jsonl.1").exists());
    }

    #[test]
    fn the_newest_transcript_named_is_the_one() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("s.jsonl");
        assert_eq!(transcript(&f), None);
        append(
            &f,
            &line(
                "SessionStart",
                br#"{"transcript_path":"/t/1.jsonl"}"#,
                1.0,
                TS,
            )
            .unwrap(),
        )
        .unwrap();
        append(&f, &line("Stop", b"{}", 2.0, TS).unwrap()).unwrap();
        assert_eq!(transcript(&f).unwrap(), Path::new("/t/1.jsonl"));
        append(
            &f,
            &line(
                "SessionStart",
                br#"{"transcript_path":"/t/2.jsonl"}"#,
                3.0,
                TS,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(transcript(&f).unwrap(), Path::new("/t/2.jsonl"));
    }
}
