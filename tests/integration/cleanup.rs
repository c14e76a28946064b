//! Issue 15 item 8: the test suite leaves nothing behind — no `/tmp/agents-test-*`
//! directory, no watchdog writing into a deleted one — even when a test fails before its
//! own cleanup; and a watchdog whose fleet directory is gone stops by itself.

use std::time::Duration;

use crate::util::*;

/// Whether process `pid` is gone (or a zombie: exited, not yet reaped).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// A test that panics while a watchdog it spawned itself (outside tmux) runs: the test's
/// tmux server and that watchdog are stopped and its directory stays removed.
#[test]
fn a_failing_test_leaves_no_directory_and_no_watchdog() {
    let seen: std::sync::Mutex<Option<(std::path::PathBuf, std::process::Child)>> =
        std::sync::Mutex::new(None);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let t = TestEnv::new();
        t.config(&fleet_config("lf-", 1, ""));
        assert_eq!(t.run(&["up", "a1"]).0, 0);
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_agents"))
            .arg("watchdog")
            .current_dir(t.path())
            .env("AGENTS_TMUX_SOCKET", &t.socket)
            .env("TMUX_TMPDIR", &t.tmux_tmpdir)
            .env_remove("TMUX")
            .env_remove("AGENTS_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        *seen.lock().unwrap() = Some((t.path().to_path_buf(), child));
        wait_watchdog(&t);
        panic!("this test fails before it stops its watchdog");
    }));
    assert!(r.is_err());
    let (dir, mut child) = seen.into_inner().unwrap().expect("the test ran");
    let pid = child.id();
    let stopped = wait_until(10.0, || gone(pid));
    // Some ticks later, the directory is still gone.
    std::thread::sleep(Duration::from_secs(1));
    let back = dir.exists();
    let _ = child.kill();
    let _ = child.wait();
    assert!(stopped, "the watchdog (pid {pid}) outlived its test");
    assert!(!back, "{} was written again after the test", dir.display());
}

/// Whether the pane of `session` is dead (its program exited; kept by remain-on-exit).
fn pane_dead(t: &TestEnv, session: &str) -> bool {
    t.tmux(&[
        "display-message",
        "-p",
        "-t",
        &format!("={session}:"),
        "#{pane_dead}",
    ])
    .trim()
        == "1"
}

/// A watchdog whose fleet's directory (the one holding its config file) was deleted has
/// nothing to supervise: it says so in one line and exits, instead of creating the directory
/// again.
#[test]
fn the_watchdog_exits_when_its_project_directory_is_deleted() {
    let t = TestEnv::new();
    // The project in a subdirectory: the test's tmux socket lives in the test's own dir.
    let proj = t.path().join("proj");
    std::fs::create_dir_all(&proj).unwrap();
    std::fs::write(
        proj.join("agents.toml"),
        fleet_config("ld-", 0, "")
            + "\n[backend.s]\nbin = \"sleep 100000\"\nprompt_delivery = \"exec\"\n\n[[agent]]\nname = \"a1\"\nbackend = \"s\"\n",
    )
    .unwrap();
    let (code, _, err) = t.run(&["up", "--config", "proj/agents.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(10.0, || proj.join(".agents/events.jsonl").exists()),
        "the fleet did not start"
    );
    assert!(
        wait_until(5.0, || std::fs::remove_dir_all(&proj).is_ok()
            && !proj.exists()),
        "could not remove {}",
        proj.display()
    );
    let exited = wait_until(10.0, || pane_dead(&t, "ld-watchdog"));
    let screen = t.pane("ld-watchdog");
    assert!(exited, "the watchdog still runs:\n{screen}");
    assert!(
        screen.contains("nothing to supervise; this watchdog stops"),
        "{screen}"
    );
    // Nothing of the fleet writes there any more.
    let _ = std::fs::remove_dir_all(&proj);
    std::thread::sleep(Duration::from_secs(1));
    assert!(!proj.exists(), "something made {} again", proj.display());
}

/// Deleting only `log_dir` (to clear the logs) while the project stays does not stop the
/// watchdog: it goes on supervising (a killed agent is restarted) and makes the directory
/// again.
#[test]
fn the_watchdog_survives_a_deleted_log_dir_and_still_heals() {
    let t = started(
        &(fleet_config("lk-", 0, "")
            + "\n[backend.s]\nbin = \"sleep 100000\"\nprompt_delivery = \"exec\"\n\n[[agent]]\nname = \"a1\"\nbackend = \"s\"\n"),
    );
    let logs = t.path().join(".agents");
    assert!(
        wait_until(5.0, || std::fs::remove_dir_all(&logs).is_ok()
            && !logs.exists()),
        "could not remove {}",
        logs.display()
    );
    // Ticks go on (publishing in the log_dir it makes again), and the watchdog runs.
    t.pass_ticks(5);
    assert!(
        !pane_dead(&t, "lk-watchdog"),
        "the watchdog stopped:\n{}",
        t.pane("lk-watchdog")
    );
    t.tmux(&["kill-session", "-t", "=lk-a1"]);
    assert!(
        wait_until(10.0, || t.sessions().iter().any(|s| s == "lk-a1")),
        "a1 was not restarted after log_dir was deleted:\n{}",
        t.pane("lk-watchdog")
    );
    assert!(logs.exists(), "log_dir was not made again");
}
