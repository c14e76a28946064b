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

    let mut wd = limited(&t, 2, &["watchdog"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let first = t.pane_pid("fw-a1").expect("a1 runs");
    t.tmux(&["kill-session", "-t", "=fw-a1"]);
    let back = wait_until(10.0, || t.pane_pid("fw-a1").is_some_and(|p| p != first));

    // A changed prompt must be written, which fails: every retry fails the same way.
    t.config(&config(&"y".repeat(5000)));
    std::thread::sleep(std::time::Duration::from_millis(1000));
    t.tmux(&["kill-session", "-t", "=fw-a1"]);
    std::thread::sleep(std::time::Duration::from_millis(3000));
    wd.kill().unwrap();
    let out = wd.wait_with_output().unwrap();
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
