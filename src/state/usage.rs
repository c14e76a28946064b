//! `state/usage-<session>.json`: a plan's usage as the CLI itself reports it, for `status`.
//! Written by `agents statusline` (the status line command of a `hooks = "claude"`
//! session), from the JSON Claude Code (2.1.80+, subscribers) gives its status line after
//! each reply: `rate_limits.five_hour` / `seven_day` `{used_percentage, resets_at}` (Unix
//! seconds) and `context_window.used_percentage`. Claude Code 2.1.330 against the loopback
//! mock gave `"rate_limits": {"five_hour": {"used_percentage": 2, "resets_at": 1796474605}}`.
//!
//! The file: `{"ts": RFC 3339 local, "epoch": Unix seconds, "windows": [{"name": "5h",
//! "used_percentage": 93.0, "resets_at": 1796474605}, …], "context_percentage": 12.0}`.
//! Written atomically, only when the CLI said something of it; a corrupt file reads as none.

use std::path::Path;

/// One usage window.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Window {
    /// `5h` (`five_hour`) or `7d` (`seven_day`), or the CLI's own key for another window.
    pub name: String,
    /// How much of the window is used, in percent.
    pub used_percentage: f64,
    /// When the window resets, Unix seconds (absent when the CLI did not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<i64>,
}

/// What the CLI last reported.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Usage {
    /// When it was recorded (RFC 3339, local time with offset).
    pub ts: String,
    /// The same, Unix seconds.
    pub epoch: f64,
    /// The plan's windows, shortest first.
    #[serde(default)]
    pub windows: Vec<Window>,
    /// How full the context window is, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_percentage: Option<f64>,
}

/// The usage in a status line input (`input`, Claude Code's JSON), at `epoch` / `ts`;
/// `None` when it reports neither rate limits nor context.
pub fn from_status_line(input: &serde_json::Value, epoch: f64, ts: &str) -> Option<Usage> {
    let mut windows: Vec<Window> = input["rate_limits"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(key, w)| {
            Some(Window {
                name: match key.as_str() {
                    "five_hour" => "5h".into(),
                    "seven_day" => "7d".into(),
                    other => other.replace('_', " "),
                },
                used_percentage: w["used_percentage"].as_f64()?,
                resets_at: w["resets_at"].as_i64(),
            })
        })
        .collect();
    windows.sort_by_key(|w| match w.name.as_str() {
        "5h" => 0,
        "7d" => 1,
        _ => 2,
    });
    let context_percentage = input["context_window"]["used_percentage"].as_f64();
    (!windows.is_empty() || context_percentage.is_some()).then(|| Usage {
        ts: ts.to_string(),
        epoch,
        windows,
        context_percentage,
    })
}

impl Usage {
    /// The reset of the window that is used up (100 % or more), the latest if several (a
    /// limit lasts until its last window resets), Unix seconds.
    pub fn blocked_until(&self) -> Option<i64> {
        self.windows
            .iter()
            .filter(|w| w.used_percentage >= 100.0)
            .filter_map(|w| w.resets_at)
            .max()
    }
}

/// Writes `usage` to `file` atomically (no fsync: the next reply rewrites it).
///
/// # Errors
///
/// As [`super::json::write`]: serialization, or the atomic write's own.
pub fn write(file: &Path, usage: &Usage) -> std::io::Result<()> {
    super::json::write(file, usage, super::json::Form::Fast)
}

/// The usage in `file`; `None` when there is none or it is corrupt (treated as absent).
pub fn read(file: &Path) -> Option<Usage> {
    super::json::read(file).ok().flatten()
}

/// `5h 93% · resets 15:59, 7d 40%` (local time; a reset not today also names the day).
pub fn summary(u: &Usage, now: chrono::DateTime<chrono::Local>) -> String {
    use chrono::TimeZone as _;
    u.windows
        .iter()
        .map(|w| {
            let mut s = format!("{} {:.0}%", w.name, w.used_percentage);
            if let Some(at) = w
                .resets_at
                .and_then(|t| chrono::Local.timestamp_opt(t, 0).single())
            {
                let fmt = if at.date_naive() == now.date_naive() {
                    "%H:%M"
                } else {
                    "%a %H:%M"
                };
                s.push_str(&format!(" · resets {}", at.format(fmt)));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_code_2_1_330_status_line_input_gives_its_windows_and_context() {
        let input = serde_json::json!({
            "model": {"display_name": "Sonnet 5.5"},
            "context_window": {"used_percentage": 12, "remaining_percentage": 88},
            "rate_limits": {
                "seven_day": {"used_percentage": 40.5},
                "five_hour": {"used_percentage": 93, "resets_at": 1_796_474_605}
            }
        });
        let u = from_status_line(&input, 1.0, "t").unwrap();
        assert_eq!(u.windows.len(), 2);
        assert_eq!(u.windows[0].name, "5h");
        assert_eq!(u.windows[0].used_percentage, 93.0);
        assert_eq!(u.windows[0].resets_at, Some(1_796_474_605));
        assert_eq!(u.windows[1].name, "7d");
        assert_eq!(u.windows[1].resets_at, None);
        assert_eq!(u.context_percentage, Some(12.0));
        assert_eq!(
            from_status_line(&serde_json::json!({"model": {}}), 1.0, "t"),
            None
        );
        // Not used up: no block; used up: until its reset, the latest of several.
        assert_eq!(u.blocked_until(), None);
        let full = serde_json::json!({"rate_limits": {
            "five_hour": {"used_percentage": 100, "resets_at": 1000},
            "seven_day": {"used_percentage": 100.0, "resets_at": 5000}}});
        assert_eq!(
            from_status_line(&full, 1.0, "t").unwrap().blocked_until(),
            Some(5000)
        );
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("state/usage-a.json");
        assert_eq!(read(&f), None);
        write(&f, &u).unwrap();
        assert_eq!(read(&f), Some(u));
        std::fs::write(&f, "{").unwrap();
        assert_eq!(read(&f), None);
    }

    #[test]
    fn the_summary_names_each_window_and_its_reset_in_local_time() {
        use chrono::TimeZone as _;
        let now = chrono::Local
            .with_ymd_and_hms(2026, 12, 5, 9, 0, 0)
            .unwrap();
        let later = chrono::Local
            .with_ymd_and_hms(2026, 12, 5, 15, 59, 0)
            .unwrap();
        let next_week = chrono::Local
            .with_ymd_and_hms(2026, 12, 8, 10, 0, 0)
            .unwrap();
        let u = Usage {
            ts: String::new(),
            epoch: 0.0,
            windows: vec![
                Window {
                    name: "5h".into(),
                    used_percentage: 93.4,
                    resets_at: Some(later.timestamp()),
                },
                Window {
                    name: "7d".into(),
                    used_percentage: 40.0,
                    resets_at: Some(next_week.timestamp()),
                },
            ],
            context_percentage: None,
        };
        assert_eq!(
            summary(&u, now),
            "5h 93% · resets 15:59, 7d 40% · resets Tue 10:00"
        );
    }
}
