//! Issue 8 item 3: `agents events` — events.jsonl as readable lines, filtered and followed.

use std::io::Write;

use crate::logs::Spawned;
use crate::util::*;

const CONFIG: &str = r#"[defaults]
session_prefix = "ev-"
log_dir = ".agents"

[backend.x]
bin = "sleep 1000"
prompt_delivery = "exec"

[[agent]]
name = "a"
backend = "x"

[[agent]]
name = "b"
backend = "x"
"#;

/// A project whose events.jsonl holds, for `a` and `b`, one event 3 days old and one a
/// minute old, and a corrupt line. Returns it, the lines written and the recent time.
fn with_events() -> (TestEnv, Vec<String>, String) {
    let t = TestEnv::new();
    t.config(CONFIG);
    let old = (chrono::Local::now() - chrono::Duration::days(3)).to_rfc3339();
    let new = (chrono::Local::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let lines = vec![
        format!(
            r#"{{"ts":"{old}","source":"up","event":"start","name":"a","session":"ev-a","reason":"up"}}"#
        ),
        format!(
            r#"{{"ts":"{old}","source":"watchdog","event":"restart","name":"b","session":"ev-b","reason":"session gone"}}"#
        ),
        "{\"ts\": broken".to_string(),
        format!(
            r#"{{"ts":"{new}","source":"watchdog","event":"fatal","name":"a","session":"ev-a","why":"5 restarts within 300 s"}}"#
        ),
        format!(
            r#"{{"ts":"{new}","source":"watchdog","event":"limit-hit","name":"b","session":"ev-b","why":"banner","until":"{new}","evidence":{{"line":"usage limit"}}}}"#
        ),
    ];
    t.write(".agents/events.jsonl", &(lines.join("\n") + "\n"));
    (t, lines, new)
}

#[test]
fn events_prints_one_readable_line_per_event_and_shows_a_corrupt_line() {
    let (t, _, new) = with_events();
    let (code, out, err) = t.run(&["events"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    // 3 days ago: with its date; a minute ago: the time only.
    assert!(
        lines[0].starts_with("20") && lines[0].contains("  a "),
        "{out}"
    );
    assert!(lines[0].ends_with("start             up"), "{out}");
    assert!(
        lines[1].ends_with("restart           session gone"),
        "{out}"
    );
    assert!(lines[2].contains("not an event: {\"ts\": broken"), "{out}");
    // A minute ago is today but right after midnight.
    let new = chrono::DateTime::parse_from_rfc3339(&new).unwrap();
    let new = new.with_timezone(&chrono::Local);
    let shown = if new.date_naive() == chrono::Local::now().date_naive() {
        new.format("%H:%M:%S  a ").to_string()
    } else {
        new.format("%Y-%m-%d %H:%M:%S  a ").to_string()
    };
    assert!(lines[3].starts_with(&shown), "{shown:?}: {out}");
    assert!(
        lines[3].ends_with("fatal             5 restarts within 300 s"),
        "{out}"
    );
    assert!(
        lines[4].contains("banner: until ") && lines[4].ends_with(": \"usage limit\""),
        "{out}"
    );
    let (_, out, _) = t.run(&["events", "-n", "1"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("limit-hit"), "{out}");
}

#[test]
fn events_since_and_name_filter_and_json_passes_lines_through() {
    let (t, lines, _) = with_events();
    let (code, out, err) = t.run(&["events", "--since", "1h"]);
    assert_eq!(code, 0, "{err}");
    let shown: Vec<&str> = out
        .lines()
        .filter(|l| !l.contains("not an event"))
        .collect();
    assert_eq!(shown.len(), 2, "{out}");
    assert!(
        shown[0].contains(" fatal ") && shown[1].contains(" limit-hit "),
        "{out}"
    );
    let (_, out, _) = t.run(&["events", "--since", "4d"]);
    assert_eq!(out.lines().count(), 5, "{out}");

    let (_, out, _) = t.run(&["events", "--name", "a"]);
    let shown: Vec<&str> = out
        .lines()
        .filter(|l| !l.contains("not an event"))
        .collect();
    assert_eq!(shown.len(), 2, "{out}");
    assert!(shown.iter().all(|l| l.contains("  a  ")), "{out}");

    let (code, out, err) = t.run(&["events", "--json", "--name", "b", "--since", "2h"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}\n", lines[4]));
    // The corrupt line does not break the JSON output: it is reported on stderr.
    let (_, out, err) = t.run(&["events", "--json"]);
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(
        out.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
    );
    assert!(err.contains("not an event"), "{err}");
}

#[test]
fn a_malformed_since_is_a_usage_error_with_examples() {
    let (t, _, _) = with_events();
    for bad in ["yesterday", "10 parsecs", "2026-13-45"] {
        let (code, out, err) = t.run(&["events", "--since", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("--since") && err.contains(bad), "{err}");
        assert!(
            err.contains("10m") && err.contains("2h") && err.contains("2026-11-20T14:00:00"),
            "{err}"
        );
    }
}

#[test]
fn events_f_prints_what_is_appended_after_it_started() {
    let (t, _, _) = with_events();
    let mut s = Spawned::new(&t, &["events", "-f", "--name", "a"]);
    assert!(wait_until(10.0, || s.lines().len() >= 2), "{:?}", s.lines());
    let before = s.lines().len();
    let now = chrono::Local::now().to_rfc3339();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(t.path().join(".agents/events.jsonl"))
        .unwrap();
    writeln!(
        f,
        r#"{{"ts":"{now}","source":"watchdog","event":"stall-nudge","name":"b","why":"idle"}}"#
    )
    .unwrap();
    writeln!(f, r#"{{"ts":"{now}","source":"watchdog","event":"stall-nudge","name":"a","why":"idle 301 s"}}"#).unwrap();
    drop(f);
    assert!(
        wait_until(5.0, || s
            .lines()
            .iter()
            .any(|l| l.ends_with("stall-nudge       idle 301 s"))),
        "{:?}",
        s.lines()
    );
    assert!(s.running(), "events -f exited");
    // b's event is filtered out.
    assert_eq!(s.lines().len(), before + 1, "{:?}", s.lines());
    // Re-created (rotated away): read from its start.
    std::fs::remove_file(t.path().join(".agents/events.jsonl")).unwrap();
    t.write(
        ".agents/events.jsonl",
        &format!(r#"{{"ts":"{now}","source":"down","event":"stop","name":"a","reason":"down"}}"#),
    );
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(t.path().join(".agents/events.jsonl"))
        .unwrap();
    writeln!(f).unwrap();
    drop(f);
    assert!(
        wait_until(5.0, || s
            .lines()
            .iter()
            .any(|l| l.ends_with("stop              down"))),
        "{:?}",
        s.lines()
    );
}

#[test]
fn events_of_a_real_fleet_name_the_agent_and_why() {
    let t = started(&fleet_config("er-", 2, ""));
    let (code, out, err) = t.run(&["events", "--name", "a1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.contains("  a1  ") && l.ends_with("start             up")),
        "{out}"
    );
    assert!(!out.contains("a2"), "{out}");
    let (_, out, _) = t.run(&["events", "--name", "watchdog"]);
    assert!(out.lines().any(|l| l.contains(" watchdog-start ")), "{out}");
}

/// Issue 15 item 8: events.jsonl is rotated like the session logs (`log_max_bytes`,
/// `log_files`), and `agents events` reads the rotated files too, oldest first, so
/// `--since` still finds what was written before the rotation.
#[test]
fn events_jsonl_is_rotated_like_the_session_logs_and_events_reads_the_rotated_file() {
    let t = TestEnv::new();
    t.config(&CONFIG.replace(
        "log_dir = \".agents\"\n",
        "log_dir = \".agents\"\nlog_max_bytes = 4096\nlog_files = 2\n",
    ));
    let old = (chrono::Local::now() - chrono::Duration::days(3)).to_rfc3339();
    let first = format!(
        r#"{{"ts":"{old}","source":"watchdog","event":"restart","name":"b","session":"ev-b","reason":"the first one"}}"#
    );
    let mut text = first.clone() + "\n";
    while text.len() < 4000 {
        text += &format!(
            r#"{{"ts":"{old}","source":"watchdog","event":"restart","name":"b","session":"ev-b","reason":"{}"}}"#,
            "pad ".repeat(10)
        );
        text.push('\n');
    }
    t.write(".agents/events.jsonl", &text);
    let (code, _, err) = t.run(&["up", "a"]);
    assert_eq!(code, 0, "{err}");
    let dir = t.path().join(".agents");
    let rotated = std::fs::read_to_string(dir.join("events.jsonl.1"))
        .expect("events.jsonl was not rotated at log_max_bytes");
    assert!(rotated.starts_with(&first), "{rotated}");
    let current = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(current.len() <= 4096, "{} bytes", current.len());
    assert!(!current.contains("the first one"), "{current}");
    assert!(current.contains("\"event\":\"start\""), "{current}");
    // Every line of both files is a whole event.
    for line in rotated.lines().chain(current.lines()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "a line cut by the rotation: {line:?}"
        );
    }
    for args in [&["events", "--since", "4d"][..], &["events"][..]] {
        let (code, out, err) = t.run(args);
        assert_eq!(code, 0, "{err}");
        let lines: Vec<&str> = out.lines().collect();
        let first_at = lines.iter().position(|l| l.contains("the first one"));
        let start_at = lines
            .iter()
            .position(|l| l.contains("  a ") && l.contains("start"));
        assert!(
            matches!((first_at, start_at), (Some(f), Some(s)) if f < s),
            "{args:?}: the rotated events, then the new ones:\n{out}"
        );
    }
}
