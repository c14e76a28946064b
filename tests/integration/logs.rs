//! Issue 6 item 2: bounded session logs, a tail read from the end, separator lines.

use std::time::{Duration, Instant};

use crate::util::*;

fn config(prefix: &str, bin: &str) -> String {
    format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"
log_max_bytes = 65536
log_files = 2
watch = "heal"

[backend.x]
bin = "{bin}"
prompt_delivery = "exec"

[watchdog]
signal_interval = 0.3
heavy_interval = 0.6

[[agent]]
name = "a"
backend = "x"
"#
    )
}

/// Sizes of `<session>.log*` under `.agents`, by file name.
fn log_files(t: &TestEnv, session: &str) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(t.path().join(".agents"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("{session}.log"))
                .then(|| (name, e.metadata().map_or(0, |m| m.len())))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn yes_as_an_agent_keeps_its_logs_bounded_and_logs_tails_fast() {
    let t = started(&config("ly-", "yes"));
    std::thread::sleep(Duration::from_secs(4));
    let files = log_files(&t, "ly-a");
    let total: u64 = files.iter().map(|(_, s)| s).sum();
    assert!(total <= 3 * 65536, "{total} bytes: {files:?}");
    assert!(files.iter().all(|(_, s)| *s <= 65536), "{files:?}");
    // Rotated (a listing may catch one mid-rotation), and never more than 2 old files.
    assert!(files.len() >= 2, "{files:?}");
    for (name, _) in &files {
        assert!(
            ["ly-a.log", "ly-a.log.1", "ly-a.log.2"].contains(&name.as_str()),
            "{files:?}"
        );
    }

    let t0 = Instant::now();
    let (code, out, err) = t.run(&["logs", "a", "-n", "5", "--no-follow"]);
    assert_eq!(code, 0, "{err}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(out.lines().count(), 5, "{out:?}");
    assert!(out.lines().all(|l| l == "y"), "{out:?}");
    assert!(writers(&t) > 0, "no pipe-log writer runs");
    assert_eq!(t.run(&["down"]).0, 0);
    // The writers exit when their pane closes.
    assert!(wait_until(5.0, || writers(&t) == 0), "{} left", writers(&t));
}

/// How many `agents pipe-log` processes write into this test's directory.
fn writers(t: &TestEnv) -> usize {
    let dir = t.path().to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(" pipe-log ") && c.contains(&dir))
        .count()
}

#[test]
fn each_start_and_restart_writes_one_separator_line_with_its_reason() {
    let t = started(&config(
        "ls-",
        r#"sh -c 'printf \"\\033[1mhello\\033[0m\\n\"; exec sleep 1000'"#,
    ));
    let log = || t.run(&["logs", "a", "-n", "100", "--no-follow"]).1;
    assert!(wait_until(5.0, || log().contains("hello")), "{}", log());
    let first = t.pane_pid("ls-a").unwrap();
    t.tmux(&["kill-session", "-t", "=ls-a"]);
    assert!(wait_until(10.0, || t
        .pane_pid("ls-a")
        .is_some_and(|p| p != first)));
    let reason = restarts(&t, "a")[0]["reason"].as_str().unwrap().to_string();
    assert!(wait_until(5.0, || log().matches("hello").count() == 2));
    let out = log();
    let seps: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("----- agents "))
        .collect();
    assert_eq!(seps.len(), 2, "{out}");
    assert!(seps[0].ends_with(" start: up -----"), "{out}");
    assert!(
        seps[1].ends_with(&format!(" restart: {reason} -----")),
        "{out}"
    );
    // Rendered: no escape sequences; --raw keeps them.
    assert!(!out.contains('\u{1b}'), "{out:?}");
    let raw = t.run(&["logs", "a", "-n", "100", "--no-follow", "--raw"]).1;
    assert!(raw.contains("\u{1b}[1mhello"), "{raw:?}");
}
