//! SPEC §8 — `log_dir/events.jsonl`: one JSON object per line for every start, restart (with
//! why), stop and watchdog decision. Lines are appended with one `write` each, so concurrent
//! writers (a verb and the watchdog) do not interleave within a line.

use std::io::Write;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

/// Appends events to one fleet's `events.jsonl`.
#[derive(Debug, Clone)]
pub struct Events {
    path: PathBuf,
    /// Who writes: `up`, `down`, `watchdog`, …
    source: &'static str,
}

impl Events {
    pub fn new(log_dir: &std::path::Path, source: &'static str) -> Self {
        Self {
            path: log_dir.join("events.jsonl"),
            source,
        }
    }

    /// Appends `{"ts", "source", "event", ...fields}`. `ts` is local time with offset
    /// (RFC 3339). A failure to write is logged, never fatal.
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
        let mut line = Value::Object(obj).to_string();
        line.push('\n');
        // log_dir itself may be created, never its parents: a watchdog stopping after its
        // project was deleted must not bring the directory back.
        let dir = self.path.parent().unwrap_or(&self.path);
        let res = match std::fs::create_dir(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .and_then(|mut f| f.write_all(line.as_bytes())),
        };
        if let Err(e) = res {
            tracing::warn!("cannot append to {}: {e}", self.path.display());
        }
    }
}
