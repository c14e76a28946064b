//! The watchdog against real tmux (SPEC §6): healing on light ticks, operator intent, config
//! reloads, the single-instance lock, signals, tasks, crash-loop pacing, fatal screens and
//! phase advance.

use std::time::Duration;

use crate::util::*;

#[test]
fn restarts_a_killed_session_within_two_light_ticks() {
    // 1 s light ticks: two ticks plus 1 s of slack for a loaded machine.
    let t = started(
        &fleet_config("rk-", 2, "").replace("signal_interval = 0.3", "signal_interval = 1"),
    );
    let old = t.pane_pid("rk-a2").unwrap();
    t.tmux(&["kill-session", "-t", "=rk-a2"]);
    let killed = std::time::Instant::now();
    assert!(
        wait_until(3.0, || t.pane_pid("rk-a2").is_some()),
        "a2 not restarted within 3 s"
    );
    assert!(killed.elapsed() < Duration::from_secs(3));
    assert_ne!(t.pane_pid("rk-a2"), Some(old));
    // The session appears a moment before its event and log line are written.
    wait_until(5.0, || !restarts(&t, "a2").is_empty());
    let r = restarts(&t, "a2");
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["reason"], "session gone");
    assert_eq!(r[0]["source"], "watchdog");
    let log = || t.run(&["logs", "watchdog", "--no-follow"]).1;
    wait_until(5.0, || {
        log().contains("a2 (rk-a2) session gone — restarting")
    });
    let log = log();
    assert!(
        log.contains("a2 (rk-a2) session gone — restarting"),
        "{log}"
    );
}

#[test]
fn defect_22_an_agent_stopped_with_down_stays_down_until_up() {
    let t = TestEnv::new();
    t.config(&fleet_config("dn-", 2, ""));
    assert_eq!(t.run(&["up"]).0, 0);
    assert_eq!(t.run(&["down", "a1"]).0, 0);
    t.pass_ticks(5); // a restart comes on the next tick
    assert_eq!(t.sessions(), ["dn-a2", "dn-watchdog"]);
    assert!(restarts(&t, "a1").is_empty());
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    let pid = t.pane_pid("dn-a1").unwrap();
    t.pass_ticks(3);
    assert_eq!(
        t.pane_pid("dn-a1"),
        Some(pid),
        "the watchdog touched a started agent"
    );
}

#[test]
fn defect_01_bad_config_edit_keeps_last_good_and_a_fixed_one_applies() {
    let t = TestEnv::new();
    let good = fleet_config("bc-", 2, "");
    t.config(&good);
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    t.config("[defaults\nsession_prefix = \"half-saved");
    t.tmux(&["kill-session", "-t", "=bc-a1"]);
    assert!(
        wait_until(5.0, || t.pane_pid("bc-a1").is_some()),
        "no restart under the last good config"
    );
    // The config is read again before every tick: it is said once, not every tick.
    t.pass_ticks(3);
    assert!(watchdog_running(&t), "the watchdog died of a bad config");
    let wd_log = std::fs::read_to_string(t.path().join(".agents/bc-watchdog.log")).unwrap();
    assert_eq!(
        wd_log.matches("keeping the last good config").count(),
        1,
        "{wd_log}"
    );
    assert!(wd_log.contains("agents.toml:1:"), "{wd_log}");
    let invalid: Vec<_> = t
        .events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "config-invalid")
        .collect();
    assert_eq!(invalid.len(), 1);

    // The fixed file, with one more agent: applied, and the new agent is started.
    t.config(&fleet_config("bc-", 3, ""));
    assert!(
        wait_until(5.0, || t.pane_pid("bc-a3").is_some()),
        "the fixed config was not applied"
    );
    // The event and the log line are written once the session is up: wait for them.
    assert!(wait_until(5.0, || !restarts(&t, "a3").is_empty()));
    let r = restarts(&t, "a3");
    assert_eq!(r[0]["reason"], "new in the config", "{r:?}");
    let wd_log = || std::fs::read_to_string(t.path().join(".agents/bc-watchdog.log")).unwrap();
    assert!(
        wait_until(5.0, || wd_log()
            .contains("a3 (bc-a3) new in the config — starting")),
        "{}",
        wd_log()
    );
    assert!(
        t.events(".agents")
            .iter()
            .any(|e| e["event"] == "config-applied")
    );
}

#[test]
fn defect_20_a_second_watchdog_refuses_and_a_killed_one_leaves_no_lock() {
    let t = started(&fleet_config("lk-", 1, ""));
    let wd_pid = t.pane_pid("lk-watchdog").unwrap();
    let (code, _, err) = t.run(&["watchdog", "--once"]);
    assert_ne!(code, 0);
    assert!(
        err.contains(&format!("already running (pid {wd_pid})")),
        "{err}"
    );

    std::process::Command::new("kill")
        .args(["-9", &wd_pid.to_string()])
        .status()
        .unwrap();
    assert!(wait_until(5.0, || !watchdog_running(&t)));
    let (code, _, err) = t.run(&["watchdog", "--once"]);
    assert_eq!(
        code, 0,
        "a new watchdog could not start after kill -9: {err}"
    );
}

#[test]
fn sigterm_stops_the_watchdog_cleanly_and_agents_keep_running() {
    let t = TestEnv::new();
    t.config(&fleet_config("st-", 1, ""));
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    let pid = t.pane_pid("st-a1").unwrap();
    let mut child = Guarded::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_agents"))
            .arg("watchdog")
            .current_dir(t.path())
            .env("AGENTS_TMUX_SOCKET", &t.socket)
            .env("TMUX_TMPDIR", &t.tmux_tmpdir)
            .env_remove("TMUX")
            .stderr(std::process::Stdio::null()),
    );
    assert!(wait_until(10.0, || t
        .events(".agents")
        .iter()
        .any(|e| e["event"] == "watchdog-start")));
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let stop = t
        .events(".agents")
        .into_iter()
        .find(|e| e["event"] == "watchdog-stop")
        .expect("watchdog-stop event");
    assert_eq!(stop["reason"], "SIGTERM");
    assert_eq!(t.pane_pid("st-a1"), Some(pid));
    // The lock was released.
    assert_eq!(t.run(&["watchdog", "--once"]).0, 0);
}

fn task_config(prefix: &str, exit: i32) -> String {
    format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"
watch = "heal"

[backend.oneshot]
bin = "sh -c 'sleep 0.3; exit {exit}'"
prompt_delivery = "exec"

[watchdog]
signal_interval = 0.3
heavy_interval = 0.6

[[agent]]
name = "job"
kind = "task"
backend = "oneshot"
"#
    )
}

#[test]
fn defect_06_a_task_that_exited_0_is_done_not_rerun() {
    let t = TestEnv::new();
    t.config(&task_config("td-", 0));
    assert_eq!(t.run(&["up"]).0, 0);
    assert!(wait_until(5.0, || t
        .events(".agents")
        .iter()
        .any(|e| e["event"] == "task-done")));
    // Three more ticks, each of which would rerun it (a first restart is not delayed).
    assert!(t.wait_ticks(3, 10.0), "the watchdog stopped ticking");
    assert!(restarts(&t, "job").is_empty(), "a finished task was rerun");
    let st = t.status_json();
    assert_eq!(st["agents"][0]["done"], true);
    let (_, table, _) = t.run(&["status"]);
    assert!(
        table
            .lines()
            .any(|l| l.contains("job") && l.contains(" done ")),
        "{table}"
    );
}

#[test]
fn a_crash_looping_agent_is_restarted_with_growing_delays() {
    let t = TestEnv::new();
    t.config(
        &task_config("cl-", 1)
            .replace("kind = \"task\"", "kind = \"persistent\"")
            .replace(
                "heavy_interval = 0.6",
                "heavy_interval = 0.6\nbackoff_initial = 0.3\nbackoff_max = 5\nmax_restarts = 50",
            ),
    );
    assert_eq!(t.run(&["up"]).0, 0);
    // Dies 0.3 s after each start. A tight loop would restart ~8 times in 4 s; backing off
    // (0, 0.3, 0.6, 1.2, 2.4 s … from each start) allows at most 5.
    std::thread::sleep(Duration::from_secs(4));
    let r = restarts(&t, "job");
    assert!(
        (2..=5).contains(&r.len()),
        "{} restarts in 4 s: {r:?}",
        r.len()
    );
    assert!(r[0]["reason"].as_str().unwrap().contains("exited"), "{r:?}");
}

#[test]
fn a_missing_program_is_reported_once_not_restarted_in_a_tight_loop() {
    let t = started(&fleet_config("mp-", 1, ""));
    // The program disappears from the config: the next restart cannot happen.
    t.config(&fleet_config("mp-", 1, "").replace("bin = \"bash ", "bin = \"no-such-agent-cli "));
    std::thread::sleep(Duration::from_millis(700));
    t.tmux(&["kill-session", "-t", "=mp-a1"]);
    std::thread::sleep(Duration::from_secs(3));
    let failed: Vec<_> = t
        .events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "restart-failed")
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("\"no-such-agent-cli\" is not on PATH"),
        "{failed:?}"
    );
    assert!(watchdog_running(&t));
}

#[test]
fn a_fatal_screen_is_restarted_on_the_heavy_tick() {
    let t = TestEnv::new();
    t.config(&fleet_config("fa-", 1, ""));
    assert_eq!(t.run(&["up"]).0, 0);
    let pid = t.pane_pid("fa-a1").unwrap();
    t.tmux(&["send-keys", "-t", "=fa-a1:", "/fatal", "Enter"]);
    assert!(
        wait_until(10.0, || !restarts(&t, "a1").is_empty()),
        "no restart after a fatal screen"
    );
    let r = restarts(&t, "a1");
    assert_eq!(
        r[0]["reason"],
        "fatal screen: FATAL: session state corrupted (demo)"
    );
    assert!(wait_until(5.0, || t
        .pane_pid("fa-a1")
        .is_some_and(|p| p != pid)));
}

#[test]
fn a_done_phase_advances_and_the_last_one_completes_the_sequence() {
    let t = TestEnv::new();
    t.write("prompts/builder.md", "ROLE builder\n");
    t.write("prompts/kickoff.md", "KICKOFF {phase_id} for {role}\n");
    let not_done = "# S\n## DONE\nnot yet — written here only when all gates pass\n";
    t.write("machine-docs/S1.md", not_done);
    t.write("machine-docs/S2.md", not_done);
    t.config(&(fleet_config("ph-", 0, "")
        + r#"
[[agent]]
name = "builder"
kind = "loop"
role = "builder"
[[agent]]
name = "reporter"
kind = "task"
enabled = false
prompt = "report"
[loop]
kickoff_template = "prompts/kickoff.md"
phases = [{ id = "p1", status = "S1.md" }, { id = "p2", status = "S2.md", models = { builder = "big" } }]
[loop.on_complete]
run = "reporter"
"#));
    assert_eq!(t.run(&["up"]).0, 0);
    let kickoff = t.path().join(".agents/state/kickoff-ph-builder.txt");
    assert_eq!(
        std::fs::read_to_string(&kickoff).unwrap(),
        "KICKOFF p1 for builder\nROLE builder\n"
    );
    t.write(".agents/.run-on-complete", "");

    t.write("machine-docs/S1.md", "# S\n## DONE\nAll gates verified.\n");
    assert!(wait_until(10.0, || std::fs::read_to_string(
        t.path().join(".agents/state/phase-idx")
    )
    .is_ok_and(|s| s == "1")));
    assert!(wait_until(5.0, || std::fs::read_to_string(&kickoff)
        .is_ok_and(|s| s.starts_with("KICKOFF p2"))));
    assert!(wait_until(5.0, || t.status_json()["agents"][0]["running"] == true));
    assert_eq!(t.status_json()["agents"][0]["model"], "big");
    let (_, show, _) = t.run(&["phase", "show"]);
    assert_eq!(show.trim(), "phase p2 [2/2] seq: p1 p2");

    t.write("machine-docs/S2.md", "# S\n## DONE\nAll gates verified.\n");
    assert!(wait_until(10.0, || t
        .path()
        .join(".agents/SEQUENCE-COMPLETE")
        .exists()));
    assert!(
        wait_until(5.0, || t.pane_pid("ph-reporter").is_some()),
        "on_complete task not launched"
    );
    // The loop agents are stopped on the tick that completes the sequence, and not healed.
    t.pass_ticks(3);
    assert!(
        t.pane_pid("ph-builder").is_none(),
        "loop agent still running after the sequence completed"
    );
    let events = t.events(".agents");
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "sequence-complete")
            .count(),
        1
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "phase-advance")
            .count(),
        1
    );
}

#[test]
fn down_watchdog_returns_once_it_has_exited_and_records_why() {
    let t = started(&fleet_config("dw-", 1, ""));
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    // No wait: the lock is already free, and the stop was recorded despite the dead pane.
    let (code, _, err) = t.run(&["watchdog", "--once"]);
    assert_eq!(code, 0, "{err}");
    let stops: Vec<_> = t
        .events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "watchdog-stop")
        .collect();
    assert!(
        stops
            .iter()
            .any(|e| e["reason"].as_str().unwrap().starts_with("SIGHUP")),
        "{stops:?}"
    );
}

#[test]
fn deleting_the_state_dir_does_not_let_a_second_watchdog_in() {
    let t = started(&fleet_config("rm-", 1, ""));
    // The watchdog recreates files in state/ every tick: removal can race with one of them
    // (`DirectoryNotEmpty`), so it is tried again until the directory is gone.
    let state = t.path().join(".agents/state");
    assert!(
        wait_until(5.0, || std::fs::remove_dir_all(&state).is_ok()),
        "could not remove {}",
        state.display()
    );
    // The running watchdog takes its lock again on its next tick (0.3 s).
    assert!(wait_until(5.0, || t
        .path()
        .join(".agents/state/watchdog.lock")
        .exists()));
    std::thread::sleep(Duration::from_millis(300));
    let (code, _, err) = t.run(&["watchdog", "--once"]);
    assert_ne!(code, 0, "a second watchdog ran: {err}");
    assert!(err.contains("already running"), "{err}");
    assert!(watchdog_running(&t));
}

/// Issue 15 item 7: a watchdog that `up` starts and that exits at once (here on the lock of
/// another watchdog of this fleet, run outside tmux) is reported: `up` says so and exits
/// non-zero instead of reporting success. (A watchdog left in the session of an older
/// `session_prefix` is moved instead, see `orphans::up_after_a_prefix_change_…`.)
#[test]
fn up_reports_a_watchdog_that_failed_to_start() {
    let t = TestEnv::new();
    t.config(&fleet_config("wp1-", 1, ""));
    let _other = Guarded::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_agents"))
            .arg("watchdog")
            .current_dir(t.path())
            .env("AGENTS_TMUX_SOCKET", &t.socket)
            .env("TMUX_TMPDIR", &t.tmux_tmpdir)
            .env_remove("TMUX")
            .env_remove("AGENTS_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    wait_watchdog(&t);
    let (code, _, err) = t.run(&["up"]);
    assert_ne!(code, 0, "up reported success:\n{err}");
    assert!(
        err.contains("the watchdog did not start")
            && err.contains("another watchdog is already running"),
        "{err}"
    );
    assert!(
        t.events_named("start-failed")
            .iter()
            .any(|e| e["name"] == "watchdog"),
        "{:?}",
        t.events_named("start-failed")
    );
}

#[test]
fn status_exits_3_and_says_so_while_the_watchdog_is_dead() {
    let t = started(&fleet_config("sd-", 1, ""));
    let status = || t.run(&["status"]);
    assert!(
        wait_until(15.0, || status().0 == 0),
        "a healthy fleet: {:?}",
        status()
    );
    assert_eq!(t.status_json()["healthy"], true);
    // Its program killed: the pane stays, dead (remain-on-exit).
    let pid = t.pane_pid("sd-watchdog").unwrap();
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(wait_until(5.0, || !watchdog_running(&t)));
    let (code, out, err) = status();
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("the watchdog is not running: a1 is not healed"),
        "{out}"
    );
    assert!(out.contains("`agents up watchdog`"), "{out}");
    let st = t.status_json();
    assert_eq!(st["healthy"], false, "{st}");
    assert_eq!(st["watchdog"]["running"], false, "{st}");
    assert_eq!(st["watchdog"]["needed"], true, "{st}");
    // Its session gone: the same.
    t.tmux(&["kill-session", "-t", "=sd-watchdog"]);
    let (code, out, _) = status();
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("the watchdog is not running"), "{out}");
    // Back up: healthy again.
    assert_eq!(t.run(&["up", "watchdog"]).0, 0);
    let (code, out, _) = status();
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("the watchdog is not running"), "{out}");
    // A fleet stopped with `down` needs no watchdog.
    assert_eq!(t.run(&["down"]).0, 0);
    let (code, out, _) = status();
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("the watchdog is not running"), "{out}");
}

/// A tmux shim that runs every call through the real tmux and logs each control-mode client
/// (`tmux -C`): `control start` when it starts, `control end` when the client has exited (a
/// SIGTERM to the shim is passed on to the client; a SIGKILL takes the shim with it: no
/// `end` line). The client's input is a fifo the shim holds open: it does not end when
/// ours closes, as with tmux 3.3a a client whose reader went away with output pending does
/// not end at the end of its input; only SIGTERM ends it. Returns `PATH`.
fn control_shim(t: &TestEnv, log: &std::path::Path) -> String {
    t.tmux_shim(&format!(
        r#"#!/bin/sh
case " $* " in *' -C '*)
  fifo="$(mktemp -u '{log}.XXXXXX')"
  mkfifo "$fifo"
  exec 3<>"$fifo"
  '{tmux}' "$@" <&3 3<&- &
  pid=$!
  trap 'kill -TERM $pid' TERM
  echo 'control start' >> '{log}'
  while kill -0 $pid 2>/dev/null; do wait $pid; done
  echo 'control end' >> '{log}'
  exit 0 ;;
esac
exec '{tmux}' "$@"
"#,
        log = log.display(),
        tmux = real_tmux()
    ))
}

/// The watchdog's event source (a tmux control-mode client) is never killed: a control client
/// killed a millisecond or two into its attach crashes tmux 3.3a's server, and every agent
/// with it (seen with `watchdog --once`, which attached one and exited at once). It is ended
/// with SIGTERM and its input closed, none is left attached, and `watchdog --once` starts
/// none.
#[test]
fn the_event_source_is_ended_with_sigterm_never_killed_and_once_starts_none() {
    let t = TestEnv::new();
    let log = t.path().join("control.log");
    let path = control_shim(&t, &log);
    t.config(&fleet_config("cc-", 1, ""));
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    let lines = || std::fs::read_to_string(&log).unwrap_or_default();

    for _ in 0..3 {
        let out = t
            .cmd()
            .env("PATH", &path)
            .args(["watchdog", "--once"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(lines(), "", "watchdog --once started a control client");

    let mut child = Guarded::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_agents"))
            .arg("watchdog")
            .current_dir(t.path())
            .env("PATH", &path)
            .env("AGENTS_TMUX_SOCKET", &t.socket)
            .env("TMUX_TMPDIR", &t.tmux_tmpdir)
            .env_remove("TMUX")
            .stderr(std::process::Stdio::null()),
    );
    assert!(
        wait_until(10.0, || lines().contains("control start")),
        "no control client: {}",
        lines()
    );
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert!(
        wait_until(5.0, || lines().contains("control end")),
        "the control client did not end by itself: {}",
        lines()
    );
    assert!(!t.sessions().is_empty(), "the tmux server is gone");
    assert_eq!(t.tmux(&["list-clients"]), "", "a client is left attached");
    assert_eq!(t.run(&["down"]).0, 0);
}
