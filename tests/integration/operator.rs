//! The operator's verbs on real tmux (issue 8): `restart` revives a fatal agent, clears a
//! `down` and the backoff, and names the known agents for an unknown one; `attach` runs the
//! right tmux command (its argv recorded by a stub `tmux` first on PATH); `doctor` fails on a
//! missing program and passes on a running demo fleet; a start error is reported before the
//! rest starts, with the agent's name in its event and the missing program in `logs`.

use std::path::PathBuf;
use std::time::Duration;

use crate::util::*;

/// The state `status --json` shows for agent `name`.
fn state(t: &TestEnv, name: &str) -> String {
    t.status_json()["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"] == name))
        .map(|r| r["state"].as_str().unwrap_or("").to_string())
        .unwrap_or_default()
}

#[test]
fn restart_revives_a_fatal_agent_and_clears_down() {
    let t = TestEnv::new();
    let ok = t.path().join("ok");
    // a1 crashes 0.3 s after each start until the file `ok` exists; then it is the demo agent.
    let fake = fake_agent().display().to_string();
    let original = format!("bin = \"bash {fake} '{{kickoff}}' '{{session}}' '{{model}}'\"");
    let crashy = format!(
        "bin = \"sh -c 'if test -f {ok}; then exec bash {fake} \\\"$0\\\" \\\"$1\\\" \\\"$2\\\"; fi; sleep 0.3; exit 7' '{{kickoff}}' '{{session}}' '{{model}}'\"",
        ok = ok.display()
    );
    let config = fleet_config(
        "rsf-",
        1,
        "backoff_initial = 0.2\nbackoff_max = 0.4\nmax_restarts = 3\nrestart_window = 60",
    );
    assert!(config.contains(&original), "{config}");
    t.config(&config.replace(&original, &crashy));
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    assert!(
        wait_until(15.0, || !t.events_named("fatal").is_empty()),
        "the crash loop never became fatal: {:?}",
        restarts(&t, "a1")
    );
    assert!(t.path().join(".agents/state/fatal-a1").exists());
    assert_eq!(state(&t, "a1"), "fatal");

    // The operator fixes the cause and restarts it: running again, and supervised.
    std::fs::write(&ok, "").unwrap();
    let (code, out, err) = t.run(&["restart", "a1"]);
    assert_eq!(code, 0, "restart:\n{out}{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("a1: ") && l.contains("rsf-a1")),
        "{out}"
    );
    assert!(!t.path().join(".agents/state/fatal-a1").exists());
    assert!(
        wait_until(10.0, || state(&t, "a1") != "fatal"
            && t.tmux(&[
                "display-message",
                "-p",
                "-t",
                "=rsf-a1:",
                "#{pane_dead}"
            ])
            .trim()
                == "0"),
        "a1 is not running after restart: {}",
        state(&t, "a1")
    );
    let starts: Vec<_> = t
        .events_named("start")
        .into_iter()
        .filter(|e| e["name"] == "a1" && e["reason"] == "restart")
        .collect();
    assert_eq!(starts.len(), 1, "{starts:?}");
    assert_eq!(starts[0]["source"], "restart");

    // `down` then `restart`: the down marker is gone, so the watchdog heals it again.
    assert_eq!(t.run(&["down", "a1"]).0, 0);
    assert!(t.path().join(".agents/state/down-a1").exists());
    let (code, out, err) = t.run(&["restart", "a1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("a1: started (rsf-a1; it was not running)"),
        "{out}"
    );
    assert!(!t.path().join(".agents/state/down-a1").exists());
    let before = restarts(&t, "a1").len();
    t.tmux(&["kill-session", "-t", "=rsf-a1"]);
    assert!(
        wait_until(5.0, || restarts(&t, "a1").len() > before
            && t.pane_pid("rsf-a1").is_some()),
        "a restarted agent is not healed: the down marker stayed"
    );
}

#[test]
fn restart_makes_the_watchdog_forget_the_backoff() {
    // Dies 0.3 s after each start; the second restart by the watchdog waits 20 s.
    let t = started(
        &fleet_config(
            "rsb-",
            1,
            "backoff_initial = 20\nbackoff_max = 40\nmax_restarts = 50\nstable_after = 60",
        )
        .replace("bin = \"bash ", "bin = \"sh -c 'sleep 0.3; exit 7' "),
    );
    assert!(
        wait_until(10.0, || state(&t, "a1") == "backoff"),
        "no backoff: {}",
        state(&t, "a1")
    );
    let before = restarts(&t, "a1").len();
    let (code, out, err) = t.run(&["restart", "a1"]);
    assert_eq!(code, 0, "{out}{err}");
    // It dies again at once; with its history forgotten the next restart is immediate.
    assert!(
        wait_until(5.0, || restarts(&t, "a1").len() > before),
        "the watchdog still waits out the old backoff: {}",
        state(&t, "a1")
    );
    assert!(!t.path().join(".agents/state/reset-a1").exists());
}

#[test]
fn restart_without_names_restarts_every_agent_but_not_the_watchdog() {
    let t = started(&fleet_config("rsa-", 2, ""));
    let (a1, a2, wd) = (
        t.pane_pid("rsa-a1").unwrap(),
        t.pane_pid("rsa-a2").unwrap(),
        t.pane_pid("rsa-watchdog").unwrap(),
    );
    let (code, out, err) = t.run(&["restart"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("a1: restarted (rsa-a1)"), "{out}");
    assert!(out.contains("a2: restarted (rsa-a2)"), "{out}");
    assert!(!out.contains("watchdog"), "{out}");
    assert_ne!(t.pane_pid("rsa-a1"), Some(a1));
    assert_ne!(t.pane_pid("rsa-a2"), Some(a2));
    assert_eq!(t.pane_pid("rsa-watchdog"), Some(wd));
    let stops: Vec<_> = t
        .events_named("stop")
        .into_iter()
        .filter(|e| e["reason"] == "restart")
        .collect();
    assert_eq!(stops.len(), 2, "{stops:?}");
}

#[test]
fn restart_of_an_unknown_name_lists_the_known_ones_and_stops_nothing() {
    let t = started(&fleet_config("rsu-", 2, ""));
    let pid = t.pane_pid("rsu-a1");
    let (code, out, err) = t.run(&["restart", "a1", "a9"]);
    assert_ne!(code, 0, "{out}");
    assert!(err.contains("unknown name \"a9\""), "{err}");
    assert!(err.contains("a1, a2, watchdog"), "{err}");
    assert_eq!(t.pane_pid("rsu-a1"), pid, "a1 was restarted anyway");
    let (code, _, err) = t.run(&["attach", "a9"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("unknown name \"a9\"") && err.contains("a1, a2, watchdog"),
        "{err}"
    );
}

/// A `tmux` that records the argv of `attach-session` / `switch-client` (one per line, then
/// `TMUX=<$TMUX or unset>`) in `attach.txt` and exits 5; anything else goes to the real tmux.
fn stub_tmux(t: &TestEnv) -> PathBuf {
    let real = real_tmux();
    let record = t.path().join("attach.txt");
    t.write_script(
        "stub/tmux",
        &format!(
            "#!/bin/sh\nfor a in \"$@\"; do\n  case \"$a\" in attach-session|switch-client)\n    printf '%s\\n' \"$@\" > '{rec}'\n    echo \"TMUX=${{TMUX-unset}}\" >> '{rec}'\n    exit 5;;\n  esac\ndone\nexec '{real}' \"$@\"\n",
            rec = record.display()
        ),
    );
    record
}

fn attach(t: &TestEnv, args: &[&str], tmux_env: Option<&str>) -> (i32, String, String) {
    let path = format!(
        "{}:{}",
        t.path().join("stub").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = t.cmd();
    c.env("PATH", path).arg("attach").args(args);
    if let Some(v) = tmux_env {
        c.env("TMUX", v);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn attach_runs_an_exact_attach_or_switch_client_on_the_fleets_server() {
    let t = started(&fleet_config("att-", 2, ""));
    let record = stub_tmux(&t);
    let recorded = || std::fs::read_to_string(&record).unwrap_or_default();
    let s = t.socket.clone();

    // Outside tmux: attach-session, exact target, the fleet's server; tmux's status is ours.
    let (code, _, err) = attach(&t, &["a1"], None);
    assert_eq!(code, 5, "the stub's exit status is attach's: {err}");
    assert_eq!(
        recorded(),
        format!("-L\n{s}\nattach-session\n-t\n=att-a1\nTMUX=unset\n")
    );
    let (_, _, err) = attach(&t, &["a2", "-r"], None);
    assert_eq!(
        recorded(),
        format!("-L\n{s}\nattach-session\n-r\n-t\n=att-a2\nTMUX=unset\n"),
        "{err}"
    );

    // Inside a client of the fleet's server: switch-client.
    let uid = nix::unistd::getuid().as_raw();
    let inside = format!("{}/tmux-{uid}/{s},123,0", t.tmux_tmpdir.display());
    let (_, _, err) = attach(&t, &["a1", "-r"], Some(&inside));
    assert_eq!(
        recorded(),
        format!("-L\n{s}\nswitch-client\n-r\n-t\n=att-a1\nTMUX={inside}\n"),
        "{err}"
    );
    // Inside another tmux server: a nested client, with $TMUX removed (tmux refuses it).
    let (_, _, err) = attach(&t, &["watchdog"], Some("/tmp/tmux-1/default,1,0"));
    assert_eq!(
        recorded(),
        format!("-L\n{s}\nattach-session\n-t\n=att-watchdog\nTMUX=unset\n"),
        "{err}"
    );

    // Not running: said so, with the command that starts it; tmux is not attached.
    std::fs::remove_file(&record).unwrap();
    assert_eq!(t.run(&["down", "a2"]).0, 0);
    let (code, _, err) = attach(&t, &["a2"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("a2 is not running") && err.contains("`agents up a2`"),
        "{err}"
    );
    assert!(!record.exists());
}

#[test]
fn doctor_fails_on_a_missing_program_and_passes_on_a_running_fleet() {
    let t = started(&fleet_config("doc-", 2, ""));
    let (code, out, err) = t.run(&["doctor"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.lines()
            .all(|l| l.starts_with("ok    ") || l.starts_with("7 checks")),
        "{out}"
    );
    assert!(out.contains("the watchdog runs in doc-watchdog"), "{out}");
    assert!(out.contains("selftest:"), "{out}");

    // A stray session with the fleet's prefix is a warning, not a failure.
    t.tmux(&["new-session", "-d", "-s", "doc-stray", "sleep 60"]);
    let (code, out, _) = t.run(&["doctor"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("warn  session doc-stray ")),
        "{out}"
    );

    // a2's program is missing: one failing line that names it, exit 1.
    t.config(&fleet_config("doc-", 2, "").replace(
        "[[agent]]\nname = \"a2\"",
        "[backend.gone]\nbin = \"no-such-agent-cli\"\n\n[[agent]]\nname = \"a2\"\nbackend = \"gone\"",
    ));
    let (code, out, err) = t.run(&["doctor"]);
    assert_eq!(code, 1, "{out}{err}");
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("fail  ")).collect();
    assert_eq!(fails.len(), 1, "{out}");
    assert!(
        fails[0].contains("agent a2") && fails[0].contains("\"no-such-agent-cli\" is not on PATH"),
        "{out}"
    );
}

#[test]
fn doctor_without_a_config_fails_that_check_and_runs_the_others() {
    let t = TestEnv::new();
    let (code, out, _) = t.run(&["doctor"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("fail  no config")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("ok    tmux ")), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("ok    selftest")),
        "{out}"
    );
}

#[test]
fn a_start_error_is_reported_first_with_the_agents_name_and_logs_names_the_program() {
    let t = TestEnv::new();
    t.config(&fleet_config("sf-", 2, "").replace(
        "[[agent]]\nname = \"a2\"",
        "[backend.gone]\nbin = \"no-such-agent-cli\"\n\n[[agent]]\nname = \"a2\"\nbackend = \"gone\"",
    ));
    let (code, _, err) = t.run(&["up"]);
    assert_eq!(code, 1, "{err}");
    let error = err
        .find("\"no-such-agent-cli\" is not on PATH")
        .expect(&err);
    let starting = err.find("starting sf-watchdog").expect(&err);
    assert!(error < starting, "the error comes after the starts:\n{err}");
    let failed = t.events_named("start-failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["name"], "a2");
    assert_eq!(failed[0]["session"], "sf-a2");
    assert_eq!(failed[0]["source"], "up");

    let (code, _, err) = t.run(&["logs", "a2", "--no-follow"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("\"no-such-agent-cli\" is not on PATH") && !err.contains("agents up a2"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(t.run(&["down"]).0, 0);
}
