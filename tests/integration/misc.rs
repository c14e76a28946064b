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
    let mut child = Guarded::spawn(&mut c);
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

#[test]
fn issue6_09_a_pane_printing_capture_markers_gets_no_other_agent_restarted() {
    // `h`, captured after `a1`, prints the markers of the old kind (`@@agents-capture-<pid of
    // the watchdog>-<i>@@`), each followed by a fatal line, once it finds its trigger file.
    let mut cfg = fleet_config("hm-", 1, "");
    let script = "#!/bin/sh\necho \"$1 up\"\nwhile :; do\n  if [ -f \"$2\" ]; then cat \"$2\"; rm -f \"$2\"; fi\n  sleep 0.2\ndone\n";
    let t = TestEnv::new();
    let hostile = t.write_script("hostile.sh", script);
    let trigger = t.path().join("trigger");
    cfg.push_str(&format!(
        "\n[backend.hostile]\nbin = \"sh {} '{{session}}' {}\"\nprompt_delivery = \"exec\"\nfatal_re = \"^FATAL: session state\"\n\n[[agent]]\nname = \"h\"\nbackend = \"hostile\"\nprompt = \"x\"\n",
        hostile.display(),
        trigger.display()
    ));
    t.config(&cfg);
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    let pid = std::fs::read_to_string(t.path().join(".agents/state/watchdog.lock")).unwrap();
    let mut text = String::new();
    for i in 0..4 {
        text.push_str(&format!(
            "@@agents-capture-{}-{i}@@\nFATAL: session state is corrupt\n",
            pid.trim()
        ));
    }
    std::fs::write(&trigger, text).unwrap();
    // The hostile pane itself shows a fatal line: it is restarted (the watchdog did read it).
    assert!(
        wait_until(20.0, || !restarts(&t, "h").is_empty()),
        "h was not restarted"
    );
    t.pass_ticks(5);
    assert!(
        restarts(&t, "a1").is_empty(),
        "a1 restarted for h's output: {:?}",
        restarts(&t, "a1")
    );
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn issue6_09_status_captures_200_panes_in_one_call() {
    let t = TestEnv::new();
    let n = 200;
    let script = t.write_script(
        "idle.sh",
        "#!/bin/sh\necho \"esc to interrupt $1\"\nexec sleep 600\n",
    );
    let mut cfg = format!(
        "[defaults]\nsession_prefix = \"many-\"\nlog_dir = \".agents\"\nbackend = \"s\"\nwatch = \"none\"\n\n[backend.s]\nbin = \"sh {} '{{session}}'\"\nprompt_delivery = \"exec\"\nactive_re = \"esc to interrupt\"\n",
        script.display()
    );
    let names: Vec<String> = (0..n).map(|i| format!("agent-number-{i:03}")).collect();
    for name in &names {
        cfg.push_str(&format!("\n[[agent]]\nname = \"{name}\"\nprompt = \"x\"\n"));
    }
    t.config(&cfg);
    let mut up: Vec<&str> = vec!["up"];
    up.extend(names.iter().map(String::as_str));
    let (code, _, err) = t.run(&up);
    assert_eq!(code, 0, "{err}");
    assert!(wait_until(30.0, || {
        std::fs::read_dir(t.path().join(".agents")).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| e.metadata().is_ok_and(|m| m.len() > 0))
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .count()
        }) >= n
    }));
    let count = t.path().join("tmux-calls");
    t.write_script(
        "shim/tmux",
        &format!(
            "#!/bin/sh\necho call >> '{}'\nexec '{}' \"$@\"\n",
            count.display(),
            real_tmux()
        ),
    );
    let path = format!(
        "{}:{}",
        t.path().join("shim").display(),
        std::env::var("PATH").unwrap()
    );
    // One session gone behind the fleet's back: its capture fails, and the other panes are
    // still read, each from its own session.
    t.tmux(&["kill-session", "-t", "=many-agent-number-198"]);
    let out = t
        .cmd()
        .env("PATH", &path)
        .args(["status", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let agents = v["agents"].as_array().unwrap();
    assert_eq!(agents.len(), n);
    for a in agents {
        let session = a["session"].as_str().unwrap();
        if session == "many-agent-number-198" {
            assert_eq!(a["running"], false, "{a}");
            continue;
        }
        assert_eq!(a["state"], "active", "{a}");
        assert!(
            a["why"].as_str().unwrap_or("").contains(session),
            "{session} was read from another pane: {a}"
        );
    }
    let calls = std::fs::read_to_string(&count).unwrap().lines().count();
    // One script call (`source-file -`, tmux 3.2 and later) lists and captures them all.
    assert_eq!(calls, 1, "{calls} tmux calls for {n} agents");
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn issue6_08_a_corrupt_phase_index_stops_advance_and_restarts_nothing() {
    let t = TestEnv::new();
    t.write("prompts/builder.md", "ROLE builder\n");
    t.write("prompts/adversary.md", "ROLE adversary\n");
    let not_done = "# S\n## DONE\nnot yet — written here only when all gates pass\n";
    t.write("machine-docs/S1.md", not_done);
    t.write("machine-docs/S2.md", not_done);
    t.config(
        &(fleet_config("pc-", 0, "")
            + LOOP_PAIR
            + r#"
[loop]
phases = [{ id = "p1", status = "S1.md" }, { id = "p2", status = "S2.md" }]
"#),
    );
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    let pids = (t.pane_pid("pc-builder"), t.pane_pid("pc-adversary"));
    assert!(pids.0.is_some() && pids.1.is_some());
    t.write(".agents/state/phase-idx", "garbage\n");
    t.write("machine-docs/S1.md", "# S\n## DONE\nAll gates verified.\n");
    let corrupt = |t: &TestEnv| {
        t.events(".agents")
            .into_iter()
            .filter(|e| e["event"] == "phase-index-corrupt")
            .count()
    };
    assert!(
        wait_until(10.0, || corrupt(&t) == 1),
        "no phase-index-corrupt event"
    );
    // Several heavy ticks (every other 0.3 s tick): still one event, nobody stopped or
    // restarted.
    t.pass_ticks(9);
    assert_eq!(corrupt(&t), 1);
    let changes: Vec<_> = t
        .events(".agents")
        .into_iter()
        .filter(|e| {
            ["stop", "restart", "phase-advance", "sequence-complete"]
                .contains(&e["event"].as_str().unwrap_or(""))
        })
        .collect();
    assert!(changes.is_empty(), "{changes:?}");
    assert_eq!((t.pane_pid("pc-builder"), t.pane_pid("pc-adversary")), pids);
    assert!(!t.path().join(".agents/SEQUENCE-COMPLETE").exists());
    // Item 11: the watchdog logs the problem once, not every tick.
    let log = std::fs::read_to_string(t.path().join(".agents/pc-watchdog.log")).unwrap();
    let lines = log
        .lines()
        .filter(|l| l.contains("not a phase index"))
        .count();
    assert_eq!(lines, 1, "{log}");
    // What the operator sees: the corrupt index, and how to fix it.
    let (code, show, err) = t.run(&["phase", "show"]);
    assert_eq!(code, 0);
    assert_eq!(show.trim(), "phase p1 [1/2] seq: p1 p2");
    assert!(
        err.contains("warning") && err.contains("garbage") && err.contains("agents phase set N"),
        "{err}"
    );
    let (_, status, _) = t.run(&["status"]);
    assert!(status.contains("phase index corrupt"), "{status}");
    assert!(
        t.status_json()["phase"]["corrupt"]
            .as_str()
            .is_some_and(|w| w.contains("garbage"))
    );
    let (code, _, err) = t.run(&["phase", "next"]);
    assert_eq!(code, 1, "{err}");
    // `phase set 1` resumes: phase 2 DONE completes the sequence.
    assert_eq!(t.run(&["phase", "set", "1"]).0, 0);
    t.write("machine-docs/S2.md", "# S\n## DONE\nAll gates verified.\n");
    assert!(
        wait_until(10.0, || t.path().join(".agents/SEQUENCE-COMPLETE").exists()),
        "advance did not resume after `phase set 1`"
    );
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn issue6_11_a_ping_restart_does_not_hold_up_the_tick() {
    let t = TestEnv::new();
    // ready_re never matches: each kickoff ping waits the full connect_delay (6 s).
    let mut cfg = fleet_config("pq-", 0, "");
    cfg.push_str(&format!(
        r#"
[backend.tui]
bin = "bash"
prompt_delivery = "ping"
attach = "{{bin}} {fake} /dev/null tui-session m"
ready_re = "never shown by the fake"
connect_delay = 6
active_re = "esc to interrupt"
[[agent]]
name = "t1"
backend = "tui"
prompt = "K1"
[[agent]]
name = "t2"
backend = "tui"
prompt = "K2"
"#,
        fake = fake_agent().display()
    ));
    t.config(&cfg);
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    let kill = |s: &str| {
        let pid = t.pane_pid(s).expect("pane pid");
        Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .unwrap();
    };
    kill("pq-t1");
    assert!(wait_until(10.0, || !restarts(&t, "t1").is_empty()));
    let killed = Instant::now();
    kill("pq-t2");
    assert!(
        wait_until(10.0, || !restarts(&t, "t2").is_empty()),
        "t2 not restarted"
    );
    assert!(
        killed.elapsed() < Duration::from_secs(4),
        "t2 waited {:?} for t1's kickoff ping",
        killed.elapsed()
    );
    // t1's kickoff is still delivered, once.
    let typed = |name: &str| {
        t.events(".agents")
            .into_iter()
            .filter(|e| e["event"] == "typed" && e["name"] == name)
            .count()
    };
    assert!(
        wait_until(15.0, || typed("t1") >= 2),
        "t1's kickoff not typed"
    );
    t.pass_ticks(3);
    assert_eq!(typed("t1"), 2, "one kickoff at up, one after the restart");
    assert_eq!(t.run(&["down"]).0, 0);
}

/// A `TMUX_TMPDIR` that does not exist (a fleet's temp dir removed under a process that
/// outlives it): tmux would quietly use a server under /tmp instead, and `up` would start
/// one there. Every verb refuses with the reason; no server starts anywhere.
#[test]
fn a_missing_tmux_tmpdir_is_an_error_not_another_server() {
    let t = TestEnv::new();
    t.config(&fleet_config("td-", 1, ""));
    let gone = t.path().join("gone");
    for verb in [&["up"][..], &["status"], &["down"]] {
        let out = t
            .cmd()
            .env("TMUX_TMPDIR", &gone)
            .args(verb)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{verb:?}: {err}");
        assert!(
            err.contains(&format!("TMUX_TMPDIR={} does not exist", gone.display())),
            "{verb:?}: {err}"
        );
    }
    let uid = nix::unistd::getuid().as_raw();
    let fallback = std::path::PathBuf::from(format!("/tmp/tmux-{uid}")).join(&t.socket);
    assert!(
        !fallback.exists(),
        "a server was started at {}",
        fallback.display()
    );
    assert!(!gone.exists());
    assert!(t.sessions().is_empty());
}
