//! Issue 6, items 8–11: a corrupt phase index, hostile or chatty panes, closed or full
//! output streams, a hung tmux server.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

/// Runs `agents ARGS` for `t` with stdout (and, if `close_stderr`, stderr too) a pipe whose
/// reading end is closed before the program writes; returns the exit status.
fn with_closed_pipes(
    t: &TestEnv,
    args: &[&str],
    close_stderr: bool,
    env: &[(&str, &str)],
) -> std::process::ExitStatus {
    let mut c = Command::new(env!("CARGO_BIN_EXE_agents"));
    c.current_dir(t.path())
        .env("AGENTS_TMUX_SOCKET", &t.socket)
        .env("TMUX_TMPDIR", &t.tmux_tmpdir)
        .env_remove("TMUX")
        .env_remove("AGENTS_CONFIG")
        .envs(env.iter().copied())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(if close_stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = c.spawn().expect("spawn agents");
    drop(child.stdout.take());
    drop(child.stderr.take());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "agents {args:?} did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn issue6_10_closed_stdout_or_stderr_never_panics() {
    let t = TestEnv::new();
    t.config(&format!(
        "{}\n[loop]\nphases = [{{ id = \"p1\", plan = \"plan.md\", status = \"s1.md\" }}]\n",
        fleet_config("cl-", 1, "")
    ));
    // A config error with both streams closed: exit 1, no abort.
    let st = with_closed_pipes(&t, &["status", "--config", "/nope"], true, &[]);
    assert_eq!(st.signal(), None, "killed by a signal: {st:?}");
    assert_eq!(st.code(), Some(1), "{st:?}");
    // Every verb that prints, stdout closed: exit 0, quietly.
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["phase", "show"],
        &["presets"],
        &["presets", "claude"],
        &["selftest"],
        &["--help"],
    ] {
        for close_stderr in [false, true] {
            let st = with_closed_pipes(&t, args, close_stderr, &[]);
            assert_eq!(st.signal(), None, "{args:?}: killed by a signal");
            assert_eq!(
                st.code(),
                Some(0),
                "{args:?} (stderr closed: {close_stderr})"
            );
        }
    }
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    assert!(wait_until(10.0, || t
        .path()
        .join(".agents/cl-a1.log")
        .metadata()
        .is_ok_and(|m| m.len() > 0)));
    let st = with_closed_pipes(&t, &["logs", "a1", "--no-follow"], true, &[]);
    assert_eq!((st.signal(), st.code()), (None, Some(0)));
    // A full disk on stdout is an error (exit 1), not a panic.
    if std::path::Path::new("/dev/full").exists() {
        let out = Command::new(env!("CARGO_BIN_EXE_agents"))
            .arg("presets")
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("agents: error:"));
    }
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn issue6_10_a_hung_tmux_server_is_a_clear_error_after_the_timeout() {
    let t = TestEnv::new();
    t.config(&fleet_config("hung-", 1, ""));
    t.write_script("shim/tmux", "#!/bin/sh\nexec sleep 600\n");
    let path = format!(
        "{}:{}",
        t.path().join("shim").display(),
        std::env::var("PATH").unwrap()
    );
    for args in [&["status"][..], &["status", "--json"], &["down"]] {
        let start = Instant::now();
        let out = t
            .cmd()
            .env("PATH", &path)
            .env("AGENTS_TMUX_TIMEOUT", "1")
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("did not answer within 1 s") && err.contains("AGENTS_TMUX_TIMEOUT"),
            "{args:?}: {err}"
        );
        assert!(start.elapsed() < Duration::from_secs(8), "{args:?}");
    }
}
