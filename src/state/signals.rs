//! `state/signals-<session>.jsonl`: what a CLI said through its hooks, one JSON object a
//! line, appended by `agents signal` (the command each hook runs) and read by `status`.
//!
//! A line: `{"ts": RFC 3339 local time, "epoch": Unix seconds (float), "event": the hook's
//! event name ("SessionStart", "UserPromptSubmit", "Stop", "StopFailure", "Notification",
//! "PreCompact"; Gemini CLI's "SessionStart", "BeforeAgent", "AfterAgent", "Notification",
//! "SessionEnd"), and what the hook's JSON input carried of: "session_id",
//! "transcript_path", "source", "error", "message", "notification_type",
//! "last_assistant_message" (at most [``MAX_TEXT``] characters)}`. The prompt a person or
//! the watchdog typed is not copied (it is in the transcript). Claude Code 2.1.330 fires a
//! subagent's Stop with the parent's session id and an `agent_id`: such an input is
//! dropped, as it says nothing about the agent's own turn.
//! A `hooks = "codex"` session records Codex 0.169.0's events the same way (`SessionStart`,
//! `UserPromptSubmit`, `Stop`, `Interrupt`, `PermissionRequest`, `PreCompact`; its
//! `transcript_path` is the rollout file, see [`super::rollout`]).
//!
//! The file is kept under [`MAX_BYTES`]: past it, it is renamed to `….jsonl.1` (one old
//! file) before the next line.
//!
//! **Bad lines.** The readers look at the last [`TAIL_BYTES`] of the file only, and skip a
//! line that is not a signal (not JSON, or not of the shape above), one longer than
//! [`MAX_LINE`] (never parsed), and a last line with no newline yet (being written, or torn
//! by a writer that died: [`append`] starts the next line on a line of its own). The skipped
//! complete lines newer than the answer are counted ([`Scan::bad`]) for the watchdog to
//! report once per file. A file deleted or made unreadable reads as no signal; one that
//! cannot be written is logged by `agents signal`, which still exits 0.

use std::io::{Read as _, Seek as _, Write as _};
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
/// its directory (and the file, when it was deleted) if needed. A file whose last line has
/// no newline (a writer died in the middle of it) gets one first, so that the torn line
/// does not swallow this one.
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
        .read(true)
        .append(true)
        .open(file)?;
    let len = f.metadata()?.len();
    let mut last = [b'\n'];
    if len > 0 {
        f.seek(std::io::SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
    }
    if last[0] == b'\n' {
        f.write_all(line.as_bytes())
    } else {
        f.write_all(format!("\n{line}").as_bytes())
    }
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
    newest(file, Some).found
}

/// How much of the end of a signals file is read for the newest signal (bytes): a few
/// dozen signals, at least two of the longest.
pub const TAIL_BYTES: u64 = 64 * 1024;

/// The longest line taken for a signal (bytes): [`line`] writes at most 7 fields of
/// [`MAX_TEXT`] characters, each at most 6 bytes escaped (`\u001b`), well under it. A
/// longer line was not written by `agents signal` and is skipped unparsed.
pub const MAX_LINE: usize = 32 * 1024;

/// What a read of the end of a signals file found.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan<T> {
    /// The answer: the newest signal (that answers the question asked).
    pub found: Option<T>,
    /// Complete lines newer than the answer (or in the whole tail read, when none answers)
    /// that are not signals: not JSON, another shape, or longer than [`MAX_LINE`].
    pub bad: usize,
    /// Why the file could not be read, when it exists (a directory in its place, no
    /// permission); a missing file is no error (no hook has fired yet).
    pub error: Option<String>,
}

/// The last [`TAIL_BYTES`] of `file`, and whether that is not the whole file; `Ok(None)`
/// when it does not exist.
fn tail_bytes(file: &Path) -> std::io::Result<Option<(Vec<u8>, bool)>> {
    let mut f = match std::fs::File::open(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        f => f?,
    };
    let len = f.metadata()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    f.seek(std::io::SeekFrom::Start(from))?;
    let mut buf = Vec::new();
    f.take(TAIL_BYTES).read_to_end(&mut buf)?;
    Ok(Some((buf, from > 0)))
}

/// The first answer `pick` gives for the signals at the end of `file`, newest first (its
/// last [`TAIL_BYTES`] only), with the bad lines passed over on the way (see the module
/// doc).
fn newest<T>(file: &Path, mut pick: impl FnMut(Signal) -> Option<T>) -> Scan<T> {
    let mut scan = Scan {
        found: None,
        bad: 0,
        error: None,
    };
    let (buf, cut) = match tail_bytes(file) {
        Ok(Some(t)) => t,
        Ok(None) => return scan,
        Err(e) => {
            scan.error = Some(e.to_string());
            return scan;
        }
    };
    let mut lines: Vec<&[u8]> = buf.split(|&b| b == b'\n').collect();
    // After the last newline: nothing, or a line not finished (being written, or torn).
    lines.pop();
    for (i, l) in lines.iter().enumerate().rev() {
        if i == 0 && cut {
            // The end of a line that began before the tail: a huge line if it is the only
            // one, else an ordinary line cut by the window (not looked at).
            scan.bad += usize::from(lines.len() == 1);
            break;
        }
        if l.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let signal = (l.len() <= MAX_LINE)
            .then(|| serde_json::from_slice::<Signal>(l).ok())
            .flatten();
        match signal {
            Some(s) => {
                if let Some(t) = pick(s) {
                    scan.found = Some(t);
                    return scan;
                }
            }
            None => scan.bad += 1,
        }
    }
    scan
}

/// The newest signal in `file` recorded at or after `since` (Unix seconds: when the session's
/// process was started, so that a signal of the process before a restart does not count);
/// `None` when there is none.
pub fn current(file: &Path, since: Option<f64>) -> Option<Signal> {
    scan(file, since).found
}

/// [`current`], with the count of bad lines newer than it ([`Scan::bad`]).
pub fn scan(file: &Path, since: Option<f64>) -> Scan<Signal> {
    let mut s = newest(file, Some);
    s.found = s.found.filter(|x| since.is_none_or(|t| x.epoch >= t));
    s
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
        s.field("transcript_path")
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
    })
    .found
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

    /// Issue 14 "Bad input": lines that are not JSON, of another shape, huge or torn are
    /// skipped and counted (those newer than the answer); the next line after a torn one is
    /// intact; a deleted file is written again, one that cannot be written is an error (for
    /// `agents signal` to log) and reads as no signal.
    #[test]
    fn bad_lines_are_skipped_and_counted_and_a_torn_line_swallows_nothing() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("state/signals-a.jsonl");
        assert_eq!(
            scan(&f, None),
            Scan {
                found: None,
                bad: 0,
                error: None
            }
        );
        append(&f, &line("UserPromptSubmit", b"{}", 1.0, TS).unwrap()).unwrap();
        append(&f, "not json\n").unwrap();
        append(&f, "{\"event\": 7}\n").unwrap();
        append(&f, &format!("{{\"pad\":\"{}\"}}\n", "x".repeat(MAX_LINE))).unwrap();
        append(&f, "\n").unwrap();
        let s = scan(&f, None);
        assert_eq!(s.found.unwrap().event, "UserPromptSubmit");
        assert_eq!(s.bad, 3, "not JSON, another shape, huge");
        // A torn last line (no newline: being written, or its writer died) is not counted,
        // and the next line is written on a line of its own.
        append(&f, "{\"ts\":\"2026").unwrap();
        assert_eq!(scan(&f, None).bad, 3);
        append(&f, &line("Stop", b"{}", 2.0, TS).unwrap()).unwrap();
        let s = scan(&f, None);
        assert_eq!((s.found.unwrap().event.as_str(), s.bad), ("Stop", 0));
        assert_eq!(scan(&f, Some(3.0)).found, None, "older than the process");
        // One line longer than the tail read: skipped, counted, nothing found.
        let huge = format!("{}\n", "y".repeat(usize::try_from(TAIL_BYTES).unwrap() * 2));
        append(&f, &huge).unwrap();
        assert_eq!(
            scan(&f, None),
            Scan {
                found: None,
                bad: 1,
                error: None
            }
        );
        append(&f, &line("Stop", b"{}", 4.0, TS).unwrap()).unwrap();
        assert_eq!(scan(&f, None).found.unwrap().epoch, 4.0);
        // Deleted while running: the next signal starts it again.
        std::fs::remove_file(&f).unwrap();
        assert_eq!(last(&f), None);
        append(&f, &line("Stop", b"{}", 5.0, TS).unwrap()).unwrap();
        assert_eq!(last(&f).unwrap().epoch, 5.0);
        // Not writable (a directory in its place; the tests may run as root): an error to
        // log, and no signal to read.
        std::fs::remove_file(&f).unwrap();
        std::fs::create_dir(&f).unwrap();
        assert!(append(&f, &line("Stop", b"{}", 6.0, TS).unwrap()).is_err());
        let s = scan(&f, None);
        assert_eq!((s.found, s.bad), (None, 0));
        assert!(
            s.error.is_some_and(|e| e.contains("directory")),
            "{:?}",
            scan(&f, None)
        );
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
