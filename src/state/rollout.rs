//! Codex CLI's rollout file (`CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<session>.jsonl`,
//! named by its hooks' `transcript_path`): the plan usage it last recorded, read on demand
//! for `status` and a limit's reset (no copy of it is kept under `log_dir`).
//!
//! Codex 0.169.0 appends an `event_msg` line of `type: "token_count"` after each model reply,
//! and after a refused one (the HTTP 429 of a usage limit), with the rate limits the service
//! sent in its `x-codex-primary-*` / `x-codex-secondary-*` headers (`used-percent`,
//! `window-minutes`, `reset-at`):
//! `{"timestamp":"2026-12-05T14:09:24.038Z","type":"event_msg","payload":{"type":"token_count",
//! "info":{…},"rate_limits":{"limit_id":"codex","primary":{"used_percent":100.0,
//! "window_minutes":300,"resets_at":1796480363},"secondary":{…},…}}}` (`primary: null`
//! when the reply carried no such headers). Captured in
//! `tests/fixtures/codex/rollout-0.169.0.jsonl`.

use std::path::Path;

use super::usage::{Usage, Window};

/// How many lines at the end of the rollout file are looked at (a turn writes about ten; a
/// line a few KiB, a tool's output more).
const TAIL_LINES: usize = 128;

/// A window's name from its length in minutes: `5h` (300), `7d` (10080), else whole days,
/// hours or minutes (`1d`, `2h`, `90m`).
fn window_name(minutes: i64) -> String {
    match minutes {
        m if m > 0 && m % 1440 == 0 => format!("{}d", m / 1440),
        m if m > 0 && m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    }
}

/// The usage in one rollout line: a `token_count` event with at least one rate-limit window;
/// `None` for any other line.
pub fn usage_of_line(line: &str) -> Option<Usage> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let p = &v["payload"];
    if v["type"] != "event_msg" || p["type"] != "token_count" {
        return None;
    }
    let windows: Vec<Window> = ["primary", "secondary"]
        .iter()
        .filter_map(|k| {
            let w = &p["rate_limits"][k];
            Some(Window {
                name: window_name(w["window_minutes"].as_i64()?),
                used_percentage: w["used_percent"].as_f64()?,
                resets_at: w["resets_at"].as_i64(),
            })
        })
        .collect();
    if windows.is_empty() {
        return None;
    }
    let at = chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str()?).ok()?;
    Some(Usage {
        ts: at
            .with_timezone(&chrono::Local)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
        epoch: at.timestamp_millis() as f64 / 1000.0,
        windows,
        context_percentage: None,
    })
}

/// The newest usage the rollout file at `file` records (reading its last 128
/// lines only); `None` when there is none, or the file cannot be read.
pub fn usage(file: &Path) -> Option<Usage> {
    let tail = crate::logfile::tail(file, TAIL_LINES, 0).ok()?;
    String::from_utf8_lossy(&tail)
        .lines()
        .rev()
        .find_map(usage_of_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/codex/rollout-0.169.0.jsonl")
    }

    /// The rollout Codex 0.169.0 wrote against the mock: a first turn with no rate-limit
    /// headers, two at 93 % / 50 % of 5 h, then the usage limit (5 h at 100 %).
    #[test]
    fn codex_0_169_0_rollout_gives_its_newest_rate_limits() {
        let u = usage(&fixture()).unwrap();
        assert_eq!(
            u.windows,
            vec![
                Window {
                    name: "5h".into(),
                    used_percentage: 100.0,
                    resets_at: Some(1_796_480_363),
                },
                Window {
                    name: "7d".into(),
                    used_percentage: 40.0,
                    resets_at: Some(1_796_879_763),
                },
            ]
        );
        // "2026-12-05T14:09:24.038Z", the line's own time.
        assert!((u.epoch - 1_796_479_764.038).abs() < 1e-6, "{}", u.epoch);
        assert_eq!(u.blocked_until(), Some(1_796_480_363));
        assert_eq!(u.context_percentage, None);
    }

    #[test]
    fn lines_without_rate_limits_and_other_files_give_none() {
        let text = std::fs::read_to_string(fixture()).unwrap();
        let first = text
            .lines()
            .find(|l| l.contains("\"token_count\""))
            .unwrap();
        assert!(first.contains("\"primary\":null"));
        assert_eq!(usage_of_line(first), None);
        assert_eq!(usage_of_line("not json"), None);
        assert_eq!(usage_of_line(r#"{"type":"event_msg","payload":{}}"#), None);
        let d = tempfile::tempdir().unwrap();
        assert_eq!(usage(&d.path().join("missing.jsonl")), None);
        let f = d.path().join("r.jsonl");
        std::fs::write(&f, format!("{first}\n{{torn")).unwrap();
        assert_eq!(usage(&f), None);
    }

    #[test]
    fn window_names_follow_their_length() {
        assert_eq!(window_name(300), "5h");
        assert_eq!(window_name(10080), "7d");
        assert_eq!(window_name(1440), "1d");
        assert_eq!(window_name(90), "90m");
    }
}
