//! Issue 6 item 3: a full disk under `down` and under the watchdog.
//!
//! Tests run as root, where a read-only directory (`chmod 0555`) does not stop writes and a
//! tmpfs cannot always be mounted. A file-size limit does fail writes for root too: the
//! process under test runs with `ulimit -f N` (and SIGXFSZ ignored), so every write past N
//! blocks of 512 or 1024 bytes fails with EFBIG, as a full disk fails with ENOSPC.

use std::process::{Command, Stdio};

use crate::util::*;

/// `agents ARGS` under a file-size limit of `blocks` (0: no file can grow at all).
fn limited(t: &TestEnv, blocks: u32, args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!(
            r#"trap "" XFSZ; ulimit -f {blocks} && exec "$0" "$@""#
        ))
        .arg(env!("CARGO_BIN_EXE_agents"))
        .args(args)
        .current_dir(t.path())
        .env("AGENTS_TMUX_SOCKET", &t.socket)
        .env("TMUX_TMPDIR", &t.tmux_tmpdir)
        .env_remove("TMUX")
        .env_remove("AGENTS_CONFIG");
    c
}

#[test]
fn full_disk_down_stops_first_then_reports_the_failed_record() {
    let t = started(&fleet_config("fd-", 2, ""));
    assert_eq!(t.sessions().len(), 3, "{:?}", t.sessions());
    let out = limited(&t, 0, &["down"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        t.sessions().is_empty(),
        "left running: {:?}\n{err}",
        t.sessions()
    );
    assert!(
        err.contains("a1 is stopped, but `down` could not record it"),
        "{err}"
    );
    assert!(err.contains("down-a1"), "{err}");
}

#[test]
fn full_disk_watchdog_reuses_an_unchanged_kickoff_and_logs_a_failure_once() {
    let t = TestEnv::new();
    let config = |prompt: &str| {
        fleet_config(
            "fw-",
            0,
            "backoff_initial = 0.1\nbackoff_max = 0.2\nmax_restarts = 1000",
        ) + &format!("\n[[agent]]\nname = \"a1\"\nprompt = \"{prompt}\"\n")
    };
    // Larger than the file-size limit below, so that rewriting it fails.
    t.config(&config(&"x".repeat(5000)));
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);

    let wd = Guarded::spawn(
        limited(&t, 2, &["watchdog"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let first = t.pane_pid("fw-a1").expect("a1 runs");
    t.tmux(&["kill-session", "-t", "=fw-a1"]);
    let back = wait_until(10.0, || t.pane_pid("fw-a1").is_some_and(|p| p != first));

    // A changed prompt must be written, which fails: every retry fails the same way.
    t.config(&config(&"y".repeat(5000)));
    std::thread::sleep(std::time::Duration::from_secs(1));
    t.tmux(&["kill-session", "-t", "=fw-a1"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let out = wd.kill_output();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        back,
        "the watchdog did not restart a1 on a full disk:\n{err}"
    );
    let failures = err.matches("cannot restart a1").count();
    assert_eq!(failures, 1, "logged {failures} times:\n{err}");
    assert!(err.contains("cannot write its kickoff file"), "{err}");
}

/// Issue 15 item 5: the state dir replaced by a file while the fleet runs (as a read-only
/// mount would make it, which root cannot be given in a test).
#[test]
fn an_unwritable_state_dir_keeps_the_watchdog_and_does_not_keep_down_from_stopping() {
    let t = started(&fleet_config("us-", 2, ""));
    assert_eq!(t.sessions().len(), 3, "{:?}", t.sessions());
    let state = t.path().join(".agents/state");
    std::fs::rename(&state, t.path().join(".agents/state.moved")).unwrap();
    std::fs::write(&state, "not a directory\n").unwrap();
    // Several ticks later the watchdog still runs.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(watchdog_running(&t), "the watchdog exited");
    let (code, out, err) = t.run(&["status"]);
    assert!(
        out.contains("state is not being saved") && out.contains("is not a directory"),
        "{out}\n{err}"
    );
    assert_ne!(code, 0, "status said all is well:\n{out}");
    let (code, _, err) = t.run(&["down"]);
    assert!(
        t.sessions().is_empty(),
        "left running: {:?}\n{err}",
        t.sessions()
    );
    assert!(
        !err.contains("another `agents` command is starting or stopping"),
        "{err}"
    );
    assert!(err.contains("going on without the fleet lock"), "{err}");
    assert!(
        err.contains("a1 is stopped, but `down` could not record it"),
        "{err}"
    );
    assert_eq!(code, 1, "{err}");
    // The watchdog said so once, not every tick.
    let log = std::fs::read_to_string(t.path().join(".agents/us-watchdog.log")).unwrap();
    for said in ["cannot write", "supervising without the fleet lock"] {
        let n = log
            .lines()
            .filter(|l| {
                l.contains(said) && l.contains("supervision.json") == (said == "cannot write")
            })
            .count();
        assert_eq!(n, 1, "{said:?} logged {n} times:\n{log}");
    }
}

/// Issue 15 item 6: a usage limit seen while the disk is full is held once (in memory), not
/// re-detected every tick with a moving end; `status` on that disk says state is not being
/// saved.
#[test]
fn full_disk_a_limit_is_held_once_in_memory_and_status_says_state_is_not_saved() {
    let t = TestEnv::new();
    let go = t.path().join("go");
    t.write_script(
        "run-agent.sh",
        &format!(
            "#!/usr/bin/env bash\nwhile [ ! -e '{}' ]; do sleep 0.1; done\necho \"You've hit your usage limit\"\nwhile IFS= read -r line; do :; done\n",
            go.display()
        ),
    );
    t.config(
        "[defaults]\nsession_prefix = \"fl-\"\nlog_dir = \".agents\"\nwatch = \"heal\"\n\n\
         [backend.reader]\nbin = \"./run-agent.sh\"\nprompt_delivery = \"exec\"\nlimit_re = \"usage limit\"\n\n\
         [watchdog]\nsignal_interval = 0.3\nheavy_interval = 0.6\nlimit_probe_fallback = 600\n\n\
         [[agent]]\nname = \"a1\"\nbackend = \"reader\"\n",
    );
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);

    // The watchdog on a full disk; then the agent hits its limit.
    let wd = Guarded::spawn(
        limited(&t, 0, &["watchdog"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    std::fs::write(&go, "").unwrap();
    assert!(
        wait_until(5.0, || t.pane("fl-a1").contains("usage limit")),
        "the agent did not show its limit"
    );
    std::thread::sleep(std::time::Duration::from_secs(3));
    let status = limited(&t, 0, &["status"]).output().unwrap();
    let out = wd.kill_output();
    let err = String::from_utf8_lossy(&out.stderr);
    let hits = err.matches("hit a usage limit").count();
    assert_eq!(hits, 1, "the limit was detected {hits} times:\n{err}");
    let failures = err.matches("cannot record the limit hold").count();
    assert_eq!(failures, 1, "logged {failures} times:\n{err}");
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(
        shown.contains("state is not being saved"),
        "{shown}\n{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// Issue 15 item 6: an event cut short by a full disk leaves a partial line; the next event,
/// once there is room again, starts on a fresh line instead of being glued to it.
#[test]
fn full_disk_a_partial_event_line_is_not_glued_to_the_next_event() {
    let t = TestEnv::new();
    t.config(&fleet_config("fe-", 1, ""));
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    // What one block of `ulimit -f` is under this `sh` (512 or 1024 bytes).
    let probe = t.path().join("probe");
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 1 && head -c 5000 /dev/zero > '{}'",
            probe.display()
        ))
        .status()
        .unwrap();
    let block = std::fs::metadata(&probe).unwrap().len();
    assert!(block == 512 || block == 1024, "block {block}");
    // events.jsonl, whole lines, 30 bytes short of a 4-block limit: the next event is cut.
    let events = t.path().join(".agents/events.jsonl");
    let mut text = std::fs::read_to_string(&events).unwrap();
    let limit = 4 * usize::try_from(block).unwrap();
    while text.len() < limit - 30 {
        let pad = (limit - 30 - text.len()).min(200);
        let filler = format!(
            "{{\"event\":\"pad\",\"x\":\"{}\"}}\n",
            "x".repeat(pad.saturating_sub(24))
        );
        if text.len() + filler.len() > limit - 30 {
            break;
        }
        text.push_str(&filler);
    }
    std::fs::write(&events, &text).unwrap();
    let out = limited(&t, 4, &["down", "a1"]).output().unwrap();
    assert!(
        t.sessions().is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cut = std::fs::read_to_string(&events).unwrap();
    assert!(
        !cut.ends_with('\n'),
        "the stop event was not cut short: not a fair test"
    );
    // Room again: the next event is a line of its own.
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    let after = std::fs::read_to_string(&events).unwrap();
    let last = after.lines().last().unwrap();
    let e: serde_json::Value = serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the last line is not JSON ({e}): {last}"));
    assert_eq!(e["event"], "start", "{last}");
    assert_eq!(e["name"], "a1", "{last}");
    assert!(
        after
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_err())
            .count()
            == 1,
        "only the cut line is unreadable:\n{after}"
    );
}

/// Issue 15 item 6: a restart on a full disk cannot record the new pane's process in the
/// manifest; the stale record (another pid) is not evidence of a death, so the restarted
/// agent runs on instead of being restarted every backoff.
#[test]
fn full_disk_a_restarted_agent_is_not_restarted_again_for_its_unsaved_record() {
    let t = TestEnv::new();
    let ran = t.path().join("ran-once");
    t.write_script(
        "run-agent.sh",
        &format!(
            "#!/usr/bin/env bash\nwhile [ ! -e '{go}' ]; do sleep 0.1; done\nif [ ! -e '{ran}' ]; then touch '{ran}'; exit 3; fi\nwhile IFS= read -r line; do :; done\n",
            go = t.path().join("go").display(),
            ran = ran.display()
        ),
    );
    t.config(
        "[defaults]\nsession_prefix = \"fr-\"\nlog_dir = \".agents\"\nwatch = \"heal\"\n\n\
         [backend.reader]\nbin = \"./run-agent.sh\"\nprompt_delivery = \"exec\"\n\n\
         [watchdog]\nsignal_interval = 0.3\nheavy_interval = 0.6\nbackoff_initial = 1\nbackoff_max = 1\n\n\
         [[agent]]\nname = \"a1\"\nbackend = \"reader\"\n",
    );
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);

    let wd = Guarded::spawn(
        limited(&t, 0, &["watchdog"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    std::fs::write(t.path().join("go"), "").unwrap();
    // The first run exits; the one restart runs on for 5 s of 0.3 s ticks and 1 s backoffs.
    std::thread::sleep(std::time::Duration::from_secs(6));
    let out = wd.kill_output();
    let err = String::from_utf8_lossy(&out.stderr);
    let starts = err.matches("starting fr-a1").count();
    assert_eq!(starts, 1, "a1 was started {starts} times:\n{err}");
    assert!(ran.exists(), "the first run never exited");
}
