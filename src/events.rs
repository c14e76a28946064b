//! SPEC §8 — `log_dir/events.jsonl`: one JSON object per line for every start, restart (with
//! why), stop and watchdog decision. Lines are appended with one `write` each, so concurrent
//! writers (a verb and the watchdog) do not interleave within a line. A write cut short (a
//! full disk) leaves a partial line; the next event then starts on a fresh line, so only that
//! one line is unreadable (readers skip it). The watchdog's writer
//! carries its [`Notifier`]: every event it writes is offered to `[notify]`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::notify::Notifier;

/// Appends events to one fleet's `events.jsonl`.
#[derive(Debug, Clone)]
pub struct Events {
    path: PathBuf,
    /// Who writes: `up`, `down`, `watchdog`, …
    source: &'static str,
    /// Offered every event written (the watchdog's only).
    notifier: Option<Arc<Notifier>>,
}

impl Events {
    pub fn new(log_dir: &std::path::Path, source: &'static str) -> Self {
        Self {
            path: log_dir.join("events.jsonl"),
            source,
            notifier: None,
        }
    }

    /// This writer, offering every event it writes to `notifier` (after writing it).
    pub fn with_notifier(mut self, notifier: Arc<Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Appends `{"ts", "source", "event", ...fields}`. `ts` is local time with offset
    /// (RFC 3339). A failure to write is logged, never fatal. With a notifier, the event is
    /// then offered to it (which returns at once).
    pub fn emit(&self, event: &str, fields: Value) {
        let mut obj = Map::new();
        obj.insert(
            "ts".into(),
            json!(chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false)),
        );
        obj.insert("source".into(), json!(self.source));
        obj.insert("event".into(), json!(event));
        if let Value::Object(f) = fields {
            obj.extend(f);
        }
        let event = Value::Object(obj);
        let mut line = event.to_string();
        line.push('\n');
        // log_dir itself may be created, never its parents: a watchdog stopping after its
        // project was deleted must not bring the directory back.
        let dir = self.path.parent().unwrap_or(&self.path);
        let res = match std::fs::create_dir(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(&self.path)
                .and_then(|mut f| {
                    // A write cut short (a full disk) left a partial line: this event starts
                    // on a fresh line rather than being glued to it.
                    if !ends_with_newline(&f) {
                        line.insert(0, '\n');
                    }
                    f.write_all(line.as_bytes())
                }),
        };
        if let Err(e) = res {
            tracing::warn!("cannot append to {}: {e}", self.path.display());
        }
        if let Some(n) = &self.notifier {
            n.offer(&event);
        }
    }
}

/// Whether `f` is empty or its last byte is a newline (read at its end, without moving the
/// append position). An unreadable end counts as a newline.
fn ends_with_newline(f: &std::fs::File) -> bool {
    use std::os::unix::fs::FileExt;
    let len = f.metadata().map_or(0, |m| m.len());
    let mut last = [b'\n'];
    len == 0 || f.read_at(&mut last, len - 1).is_err() || last[0] == b'\n'
}

/// How far back from the end of `events.jsonl` [`last`] looks, in bytes.
pub const TAIL_BYTES: u64 = 256 * 1024;

/// The last event named `event` in `log_dir/events.jsonl`, looking only at the last
/// `window` bytes (the file grows for the fleet's lifetime: it is never read whole). `None`
/// when the file is missing or no such event is in the window; unparsable lines are skipped.
pub fn last(log_dir: &std::path::Path, event: &str, window: u64) -> Option<Value> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(log_dir.join("events.jsonl")).ok()?;
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(window);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = Vec::with_capacity((len - start) as usize);
    f.take(window).read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let mut lines = text.lines();
    if start > 0 {
        lines.next(); // most likely a partial line
    }
    let needle = format!("\"event\":\"{event}\"");
    lines
        .rev()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["event"] == event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_finds_the_newest_event_in_the_tail_only() {
        let d = tempfile::tempdir().unwrap();
        assert!(last(d.path(), "handoff", TAIL_BYTES).is_none());
        let ev = Events::new(d.path(), "test");
        ev.emit("handoff", json!({"n": 1}));
        ev.emit("start", json!({}));
        ev.emit("handoff", json!({"n": 2}));
        ev.emit("start", json!({}));
        assert_eq!(last(d.path(), "handoff", TAIL_BYTES).unwrap()["n"], 2);
        for _ in 0..50 {
            ev.emit("start", json!({"pad": "x".repeat(40)}));
        }
        assert!(last(d.path(), "handoff", 500).is_none());
        assert_eq!(last(d.path(), "handoff", 1 << 20).unwrap()["n"], 2);
    }
}
