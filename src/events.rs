//! SPEC §8 — `log_dir/events.jsonl`: one JSON object per line for every start, restart (with
//! why), stop and watchdog decision. Lines are appended with one `write` each, so concurrent
//! writers (a verb and the watchdog) do not interleave within a line. A write cut short (a
//! full disk) leaves a partial line; the next event then starts on a fresh line, so only that
//! one line is unreadable (readers skip it). A writer may carry a [`Sink`] that is offered
//! every event it writes: the watchdog's carries its notifier (`crate::notify`, which
//! implements [`Sink`]), so every event it writes is offered to `[notify]`.
//!
//! The file is rotated like the session logs, with the same `[defaults]` thresholds
//! ([`crate::logfile::rotate`]): when the next line would take it past `log_max_bytes`,
//! `events.jsonl.{K-1}` becomes `.K` (the oldest is dropped), …, `events.jsonl` becomes
//! `.1`, and a new `events.jsonl` is started; `log_files` rotated files are kept (0: the file
//! is emptied). A rotation moves whole files, so no line is cut. The writer that rotates
//! holds an exclusive lock on the file it rotates, and checks under it that no other writer
//! rotated it first, so two writers at the threshold rotate once. Readers
//! ([`files`]) read the rotated files, oldest first, then the current one.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value, json};

/// Offered every event a writer writes, after it is written ([`Events::with_sink`]): the
/// watchdog's notifier. Defined here, implemented by `crate::notify`, so the event log
/// does not depend on what is done with its events.
pub trait Sink: std::fmt::Debug + Send + Sync {
    /// Takes one event just written (the `events.jsonl` object). Returns at once: a slow
    /// consumer must not hold up the writer.
    fn offer(self: Arc<Self>, event: &Value);
}

/// Appends events to one fleet's `events.jsonl`.
#[derive(Debug, Clone)]
pub struct Events {
    path: PathBuf,
    /// Who writes: `up`, `down`, `watchdog`, …
    source: &'static str,
    /// Offered every event written (the watchdog's only).
    sink: Option<Arc<dyn Sink>>,
    /// Rotate before a line would take the file past this many bytes.
    max_bytes: u64,
    /// Rotated files kept (`events.jsonl.1` … `.keep`).
    keep: u32,
}

impl Events {
    /// The writer of `log_dir/events.jsonl`, rotating at the default session log thresholds
    /// (see [`Events::rotating`]).
    pub fn new(log_dir: &std::path::Path, source: &'static str) -> Self {
        Self {
            path: log_dir.join("events.jsonl"),
            source,
            sink: None,
            max_bytes: crate::config::DEFAULT_LOG_MAX_BYTES,
            keep: crate::config::DEFAULT_LOG_FILES,
        }
    }

    /// This writer, rotating the file before a line would take it past `max_bytes` (at
    /// least 1) and keeping `keep` rotated files: `[defaults] log_max_bytes` and `log_files`.
    #[must_use]
    pub fn rotating(mut self, max_bytes: u64, keep: u32) -> Self {
        self.max_bytes = max_bytes.max(1);
        self.keep = keep;
        self
    }

    /// This writer, offering every event it writes to `sink` (after writing it).
    #[must_use]
    pub fn with_sink(mut self, sink: Arc<dyn Sink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Appends `{"ts", "source", "event", ...fields}`. `ts` is local time with offset
    /// (RFC 3339). A failure to write is logged, never fatal. With a [`Sink`], the event is
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
            _ => self.open_for(line.len() as u64).and_then(|mut f| {
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
        if let Some(sink) = &self.sink {
            Sink::offer(Arc::clone(sink), &event);
        }
    }
}

impl Events {
    /// The file to append a line of `adding` bytes to: `events.jsonl`, rotated first when
    /// the line would take it past `max_bytes` (a failed rotation is logged, and the line
    /// is appended anyway).
    fn open_for(&self, adding: u64) -> std::io::Result<std::fs::File> {
        use std::os::unix::fs::MetadataExt;
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(&self.path)
        };
        let f = open()?;
        let over = |f: &std::fs::File| {
            f.metadata()
                .is_ok_and(|m| m.len() > 0 && m.len() + adding > self.max_bytes)
        };
        if !over(&f) {
            return Ok(f);
        }
        // Under the file's lock, and only if it is still the file at the path (another
        // writer may have rotated it while this one waited for the lock).
        if f.lock().is_ok() {
            let same = std::fs::metadata(&self.path).is_ok_and(|m| {
                f.metadata()
                    .is_ok_and(|h| h.ino() == m.ino() && h.dev() == m.dev())
            });
            if same
                && over(&f)
                && let Err(e) = crate::logfile::rotate(&self.path, self.keep)
            {
                tracing::warn!("cannot rotate {}: {e}", self.path.display());
            }
            let _ = f.unlock();
        }
        open()
    }
}

/// The event files of `log_dir`, oldest first: the rotated `events.jsonl.K` … `.1` that
/// exist, then `events.jsonl` (listed whether it exists or not).
pub(crate) fn files(log_dir: &std::path::Path) -> Vec<PathBuf> {
    let path = log_dir.join("events.jsonl");
    let mut out: Vec<PathBuf> = (1..=MAX_ROTATED)
        .map(|i| crate::logfile::rotated(&path, i))
        .take_while(|p| p.exists())
        .collect();
    out.reverse();
    out.push(path);
    out
}

/// The most rotated event files [`files`] looks for (the largest `log_files`).
const MAX_ROTATED: u32 = 1000;

/// Whether `f` is empty or its last byte is a newline (read at its end, without moving the
/// append position). An unreadable end counts as a newline.
fn ends_with_newline(f: &std::fs::File) -> bool {
    use std::os::unix::fs::FileExt;
    let len = f.metadata().map_or(0, |m| m.len());
    let mut last = [b'\n'];
    len == 0 || f.read_at(&mut last, len - 1).is_err() || last[0] == b'\n'
}

/// How far back from the end of `events.jsonl` [`last`] looks, in bytes.
pub(crate) const TAIL_BYTES: u64 = 256 * 1024;

/// The last event named `event` in `log_dir/events.jsonl`, looking only at the last
/// `window` bytes (never the whole file); when the file is shorter than that (it was just
/// rotated), the rest of the window is taken from the end of `events.jsonl.1`. `None`
/// when there is no file or no such event is in the window; unparsable lines are skipped.
pub(crate) fn last(log_dir: &std::path::Path, event: &str, window: u64) -> Option<Value> {
    let path = log_dir.join("events.jsonl");
    let (found, len) = last_in(&path, event, window);
    match found {
        // Just rotated: the rest of the window is the end of the newest rotated file.
        None if len < window => last_in(&crate::logfile::rotated(&path, 1), event, window - len).0,
        found => found,
    }
}

/// [`last`] in one file; also the file's length (0 when it cannot be read).
fn last_in(path: &std::path::Path, event: &str, window: u64) -> (Option<Value>, u64) {
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    (last_in_file(path, event, window), len)
}

fn last_in_file(path: &std::path::Path, event: &str, window: u64) -> Option<Value> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let start = len.saturating_sub(window);
    f.seek(SeekFrom::Start(start)).ok()?;
    // A capacity hint only: at most `window` bytes.
    let mut buf = Vec::with_capacity(usize::try_from(len - start).unwrap_or(0));
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

    #[test]
    fn events_are_rotated_at_max_bytes_keeping_n_files_of_whole_lines() {
        let d = tempfile::tempdir().unwrap();
        let ev = Events::new(d.path(), "test").rotating(4096, 2);
        for n in 0..300 {
            ev.emit("start", json!({"n": n, "pad": "x".repeat(40)}));
        }
        let path = d.path().join("events.jsonl");
        let mut seen = Vec::new();
        for p in [
            crate::logfile::rotated(&path, 2),
            crate::logfile::rotated(&path, 1),
            path.clone(),
        ] {
            let text = std::fs::read_to_string(&p).unwrap();
            assert!(text.len() <= 4096, "{}: {} bytes", p.display(), text.len());
            for l in text.lines() {
                let v: Value = serde_json::from_str(l).unwrap();
                seen.push(v["n"].as_u64().unwrap());
            }
        }
        assert!(!crate::logfile::rotated(&path, 3).exists());
        // The newest events, in order, none lost between the files kept.
        assert_eq!(seen.last(), Some(&299));
        assert!(seen.windows(2).all(|w| w[1] == w[0] + 1), "{seen:?}");
        // The newest handoff is found in the rotated file once the current one has none.
        ev.emit("handoff", json!({"n": 1}));
        for _ in 0..40 {
            ev.emit("start", json!({"pad": "x".repeat(40)}));
        }
        assert!(!std::fs::read_to_string(&path).unwrap().contains("handoff"));
        assert_eq!(last(d.path(), "handoff", TAIL_BYTES).unwrap()["n"], 1);
    }
}
