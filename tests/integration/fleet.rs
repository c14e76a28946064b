//! `up`, `status`, `down`, `logs` on real fleets (SPEC §4, §5).

use crate::util::*;

fn running(status: &serde_json::Value, name: &str) -> bool {
    status["agents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == name && a["running"] == true)
}

#[test]
fn up_status_down_five_agent_fleet() {
    let t = TestEnv::new();
    t.config(&fleet_config("f5-", 5, ""));
    let (code, _, err) = t.run(&["up"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        t.sessions(),
        ["f5-a1", "f5-a2", "f5-a3", "f5-a4", "f5-a5", "f5-watchdog"]
    );

    let st = t.status_json();
    for i in 1..=5 {
        assert!(running(&st, &format!("a{i}")), "a{i} not running: {st}");
    }
    assert_eq!(st["watchdog"]["running"], true);
    assert_eq!(st["watchdog"]["session"], "f5-watchdog");
    assert_eq!(st["agents"][0]["kind"], "persistent");
    assert_eq!(st["agents"][0]["backend"], "fake");
    assert_eq!(st["agents"][0]["watch"], "heal");
    assert_eq!(st["phase"], serde_json::Value::Null);

    let (code, table, _) = t.run(&["status"]);
    assert_eq!(code, 0, "{table}");
    assert!(table.contains("AGENT"), "{table}");
    let agent_rows = table
        .lines()
        .filter(|l| l.trim_start().starts_with('a'))
        .filter(|l| {
            [" active ", " idle ", " starting "]
                .iter()
                .any(|s| l.contains(s))
        })
        .count();
    assert_eq!(agent_rows, 5, "{table}");
    assert!(
        table.contains("running [agents]"),
        "the watchdog row:\n{table}"
    );

    let (code, _, err) = t.run(&["down"]);
    assert_eq!(code, 0, "{err}");
    assert!(t.sessions().is_empty(), "sessions left: {:?}", t.sessions());
    let (_, table, _) = t.run(&["status"]);
    assert!(table.contains("no tmux server is running"), "{table}");
    let events = t.events(".agents");
    assert_eq!(events.iter().filter(|e| e["event"] == "start").count(), 6);
    assert_eq!(events.iter().filter(|e| e["event"] == "stop").count(), 6);
}

#[test]
fn up_leaves_a_live_session_alone_and_replaces_an_exited_one() {
    let t = TestEnv::new();
    t.config(&fleet_config("uc-", 2, ""));
    assert_eq!(t.run(&["up", "a1", "a2"]).0, 0);
    let pid1 = t.pane_pid("uc-a1").expect("a1 runs");
    let (code, _, err) = t.run(&["up", "a1"]);
    assert_eq!(code, 0);
    assert!(err.contains("uc-a1 already running — leaving it"), "{err}");
    assert_eq!(
        t.pane_pid("uc-a1"),
        Some(pid1),
        "a live session was restarted"
    );

    // The agent program exits: the session stays (remain-on-exit) and shows the status.
    t.tmux(&["send-keys", "-t", "=uc-a2:", "/exit 3", "Enter"]);
    assert!(wait_until(10.0, || {
        let st = t.status_json();
        st["agents"][1]["running"] == false
    }));
    let (code, table, _) = t.run(&["status"]);
    // tmux 3.3a sometimes loses an exit status: then the row says only `dead`.
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("a2"))
        .unwrap();
    assert!(
        row.contains("dead (status 3)") || (row.contains(" dead ") && !row.contains("status")),
        "{table}"
    );
    assert_eq!(code, 3, "an agent died without `down`:\n{table}");
    let (code, _, err) = t.run(&["up", "a2"]);
    assert_eq!(code, 0, "{err}");
    assert!(running(&t.status_json(), "a2"));
}

#[test]
fn named_up_and_down_touch_only_those_names() {
    let t = TestEnv::new();
    t.config(&fleet_config(
        "nm-",
        3,
        "[[service]]\nname = \"svc\"\ncommand = \"sleep 1000\"\n",
    ));
    assert_eq!(t.run(&["up", "a1", "svc"]).0, 0);
    assert_eq!(t.sessions(), ["nm-a1", "nm-svc"]);
    assert_eq!(t.run(&["up", "a2"]).0, 0);
    assert_eq!(t.sessions(), ["nm-a1", "nm-a2", "nm-svc"]);
    assert_eq!(t.run(&["down", "a1", "svc"]).0, 0);
    assert_eq!(t.sessions(), ["nm-a2"]);
    let st = t.status_json();
    assert_eq!(st["agents"][0]["down"], true);
    assert_eq!(st["services"][0]["running"], false);
}

#[test]
fn defect_15_unknown_name_is_an_error_listing_known_names() {
    let t = TestEnv::new();
    t.config(&fleet_config("un-", 2, ""));
    for verb in ["up", "down", "logs"] {
        let (code, _, err) = t.run(&[verb, "a3"]);
        assert_ne!(code, 0, "{verb} accepted an unknown name");
        assert!(err.contains("unknown name \"a3\""), "{verb}: {err}");
        assert!(err.contains("a1, a2, watchdog"), "{verb}: {err}");
    }
    let (_, _, err) = t.run(&["up", "a11"]);
    assert!(err.contains("did you mean \"a1\""), "{err}");
    assert!(
        t.sessions().is_empty(),
        "a typo started something: {:?}",
        t.sessions()
    );
}

#[test]
fn logs_show_the_session_output_and_the_kickoff_file_is_written() {
    let t = TestEnv::new();
    t.config(&fleet_config("lg-", 1, ""));
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    let kickoff = t.path().join(".agents/state/kickoff-lg-a1.txt");
    assert_eq!(
        std::fs::read_to_string(kickoff).unwrap(),
        "You are agent 1."
    );
    assert!(wait_until(10.0, || t
        .run(&["logs", "a1", "--no-follow", "-n", "50"])
        .1
        .contains("You are agent 1.")));
    let (code, out, _) = t.run(&["logs", "a1", "--no-follow", "-n", "1"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn status_uses_one_tmux_call_whatever_the_fleet_size() {
    // A tmux shim on PATH counts the calls `status` makes.
    let t = TestEnv::new();
    let count = t.path().join("tmux-calls");
    let path = t.tmux_shim(&format!(
        "#!/bin/sh\necho call >> '{}'\nexec '{}' \"$@\"\n",
        count.display(),
        real_tmux()
    ));
    for n in [2, 12] {
        t.config(&fleet_config(&format!("c{n}-"), n, ""));
        assert_eq!(t.run(&["up"]).0, 0);
        let _ = std::fs::remove_file(&count);
        let out = t
            .cmd()
            .env("PATH", &path)
            .args(["status", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let calls = std::fs::read_to_string(&count)
            .unwrap_or_default()
            .lines()
            .count();
        // One list-panes, and one capture of the panes the watchdog has not read yet.
        assert!(
            (1..=2).contains(&calls),
            "status with {n} agents made {calls} tmux calls"
        );
        assert_eq!(t.run(&["down"]).0, 0);
    }
}

/// Issue 16 item 2: with no watchdog running, `status` lists the sessions and captures the
/// panes it reads in one tmux call: a `tmux source-file -` client started before it reads
/// its config, given its commands (`list-panes`, then a `capture-pane` per pane) once the
/// manifest says which panes. A session it expected (recorded in the manifest) that was
/// killed behind its back fails only its own capture: the rows are as true as ever, in the
/// same one call. A tmux that cannot read commands from its input (before 3.2; here a shim
/// refusing `source-file`) gets the chained call instead.
#[test]
fn status_without_a_watchdog_lists_and_reads_the_fleet_in_one_tmux_call() {
    let t = TestEnv::new();
    let count = t.path().join("tmux-calls");
    let refuse = t.path().join("refuse-scripts");
    let path = t.first_command_shim(&count, Some(&refuse));
    t.config(&fleet_config("oc-", 3, ""));
    assert_eq!(t.run(&["up"]).0, 0);
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    let status = || {
        let _ = std::fs::remove_file(&count);
        let out = t
            .cmd()
            .env("PATH", &path)
            .args(["status", "--json"])
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let states = agent_states(&doc);
        let calls: Vec<String> = std::fs::read_to_string(&count)
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect();
        (out.status.code(), states, calls)
    };
    let read = |s: &str| s == "active" || s == "idle";
    let (code, states, calls) = status();
    // Exit 3: the watchdog the agents need is not running.
    assert_eq!(code, Some(3), "{states:?}");
    assert!(states.iter().all(|s| read(s)), "{states:?}");
    assert_eq!(calls, ["source-file"], "one call lists and captures");

    std::fs::write(&refuse, "").unwrap();
    let (code, states, calls) = status();
    assert_eq!(code, Some(3), "{states:?}");
    assert!(states.iter().all(|s| read(s)), "{states:?}");
    assert_eq!(
        calls,
        ["source-file", "list-panes"],
        "the script refused, then the chained call"
    );
    std::fs::remove_file(&refuse).unwrap();

    t.tmux(&["kill-session", "-t", "=oc-a2"]);
    let (code, states, calls) = status();
    assert_eq!(code, Some(3), "{states:?}");
    assert!(read(&states[0]) && read(&states[2]), "{states:?}");
    assert_eq!(states[1], "stopped", "{states:?}");
    assert_eq!(calls, ["source-file"], "a failed capture fails only itself");
    assert_eq!(t.run(&["down"]).0, 0);
}

/// `status`'s one call cuts the captures of a group of panes by the panes' heights; a group
/// with a wrapped line (which `capture-pane -J` joins to the next, one line short) cannot
/// be cut so, and its panes are read by a call of their own, wrapped line joined. Twelve
/// agents (two groups) of a program of our own shape (a shell script, not the demo agent):
/// one prints a line 215 columns long in a pane 200 wide, whose "usage limit" is whole only
/// joined; every agent is read from its own pane (the one after it shows work).
#[test]
fn status_reads_a_group_holding_a_wrapped_line_in_a_call_of_its_own() {
    let t = TestEnv::new();
    let count = t.path().join("tmux-calls");
    let path = t.first_command_shim(&count, None);
    let program = t.write_script(
        "shape.sh",
        "#!/bin/sh\ncase $1 in\n\
         *-a3) printf '%0195d usage limit reached\\n' 0 ;;\n\
         *-a4|*-a12) echo 'working (esc to interrupt)' ;;\n\
         *) echo \"ready: $1\" ;;\n\
         esac\nexec sleep 100000\n",
    );
    let mut config = format!(
        r#"[defaults]
session_prefix = "ow-"
log_dir = ".agents"
backend = "shape"
watch = "heal"

[backend.shape]
bin = "sh {} '{{session}}'"
prompt_delivery = "exec"
process_name = "sleep"
active_re = "esc to interrupt"
limit_re = "usage limit"
"#,
        program.display()
    );
    for i in 1..=12 {
        config.push_str(&format!("\n[[agent]]\nname = \"a{i}\"\nprompt = \"hi\"\n"));
    }
    t.config(&config);
    assert_eq!(t.run(&["up"]).0, 0);
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    let wrapped = wait_until(10.0, || {
        t.tmux(&["capture-pane", "-p", "-J", "-t", "=ow-a3:"])
            .contains("0 usage limit reached")
    });
    assert!(
        wrapped,
        "{}",
        t.tmux(&["capture-pane", "-p", "-t", "=ow-a3:"])
    );
    let status = || {
        let _ = std::fs::remove_file(&count);
        let doc = t.status_json_with(&[("PATH", &path)]);
        let states = agent_states(&doc);
        let calls = std::fs::read_to_string(&count).unwrap_or_default();
        (states, calls.lines().map(String::from).collect::<Vec<_>>())
    };
    let (states, calls) = status();
    // a3's text cut by heights alone would take a4's first line (a4 active, a3 read so).
    let want = |i: usize| match i {
        3 => "limited",
        4 | 12 => "active",
        _ => "idle",
    };
    for (i, s) in states.iter().enumerate() {
        assert_eq!(s, want(i + 1), "a{}: {states:?}", i + 1);
    }
    assert_eq!(
        calls.len(),
        2,
        "one more call reads that group again: {calls:?}"
    );
    assert_eq!(calls[0], "source-file", "{calls:?}");

    // Without the wrapped line (a3 stopped: its capture fails), both groups add up.
    t.tmux(&["kill-session", "-t", "=ow-a3"]);
    let (states, calls) = status();
    assert_eq!(states[2], "stopped", "{states:?}");
    for i in [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12] {
        assert_eq!(states[i - 1], want(i), "a{i}: {states:?}");
    }
    assert_eq!(calls, ["source-file"], "one call reads them all");
    assert_eq!(t.run(&["down"]).0, 0);
}

/// `status`'s one call writes its commands in tmux's own syntax (`source-file -`): session
/// names holding what that syntax treats specially (a quote, a double quote, `$`, `~`, `{`,
/// `;`) reach tmux intact: one call reads every agent from its own pane.
#[test]
fn status_reads_sessions_whose_names_hold_quotes_and_tmux_syntax() {
    let t = TestEnv::new();
    t.config(&fleet_config(r#"o'q\"$~{;-"#, 2, ""));
    assert_eq!(t.run(&["up"]).0, 0);
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    let sessions = t.sessions();
    assert!(sessions.iter().any(|s| s == "o'q\"$~{;-a1"), "{sessions:?}");
    let count = t.path().join("tmux-calls");
    let path = t.tmux_shim(&format!(
        "#!/bin/sh\necho call >> '{}'\nexec '{}' \"$@\"\n",
        count.display(),
        real_tmux()
    ));
    let doc = t.status_json_with(&[("PATH", &path)]);
    // One call: the script was taken as written (a line tmux could not parse would fail it,
    // and the chained call would follow).
    let calls = std::fs::read_to_string(&count).unwrap_or_default();
    assert_eq!(calls.lines().count(), 1, "{calls}");
    let agents = doc["agents"].as_array().unwrap();
    assert_eq!(agents.len(), 2, "{doc}");
    for a in agents {
        assert_eq!(a["running"], true, "{a}");
        let state = a["state"].as_str().unwrap();
        assert!(state == "active" || state == "idle", "{a}");
    }
    assert_eq!(t.run(&["down"]).0, 0);
}

/// Issue 16 item 2: `status` takes each of its tmux calls as answered when the call's last
/// line (a marker printed after every command before it succeeded) is in, not when the tmux
/// client closes its output and exits. A client that lingers after its output (here a shim that keeps it open
/// for 3 s, with calls limited to 1 s) cannot hold `status` up: the rows are read all the same.
#[test]
fn status_takes_its_call_as_answered_at_the_last_line_not_at_the_clients_exit() {
    let t = TestEnv::new();
    let path = t.tmux_shim(&format!(
        "#!/bin/sh\n'{}' \"$@\"\nrc=$?\nsleep 3\nexit $rc\n",
        real_tmux()
    ));
    t.config(&fleet_config("ol-", 2, ""));
    assert_eq!(t.run(&["up"]).0, 0);
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    let out = t
        .cmd()
        .env("PATH", &path)
        .env("AGENTS_TMUX_TIMEOUT", "1")
        .args(["status", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    let states: Vec<&str> = doc["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    // Exit 3: the watchdog the agents need is not running.
    assert_eq!(out.status.code(), Some(3), "{states:?} {err}");
    assert!(
        states.iter().all(|s| *s == "active" || *s == "idle"),
        "{states:?} {err}"
    );
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn ping_delivery_waits_for_ready_and_submits_the_kickoff_line_once() {
    let t = TestEnv::new();
    t.config(&format!(
        r#"[defaults]
session_prefix = "pg-"
log_dir = ".agents"
[backend.tui]
bin = "bash"
prompt_delivery = "ping"
attach = "{{bin}} {fake} /dev/null tui-session m"
ready_re = "idle — waiting for input"
connect_delay = 20
active_re = "esc to interrupt"
[[agent]]
name = "t1"
backend = "tui"
prompt = "PING KICKOFF"
"#,
        fake = fake_agent().display()
    ));
    let started = std::time::Instant::now();
    let (code, _, err) = t.run(&["up", "t1"]);
    assert_eq!(code, 0, "{err}");
    // ready_re matched once the fake TUI idled (~1 s), well before connect_delay (20 s).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "up waited {:?}",
        started.elapsed()
    );
    let kickoff = t.path().join(".agents/state/kickoff-pg-t1.txt");
    assert_eq!(std::fs::read_to_string(&kickoff).unwrap(), "PING KICKOFF");
    let log = t.path().join(".agents/pg-t1.log");
    let line = format!(
        "message #1: Your full kickoff prompt is in {}",
        kickoff.display()
    );
    assert!(
        wait_until(10.0, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains(&line[..60.min(line.len())]))),
        "the kickoff line was not typed: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("message #2"),
        "submitted more than once:\n{text}"
    );
}

#[test]
fn tmux_older_than_3_0_is_one_clear_error() {
    let t = TestEnv::new();
    t.config(&fleet_config("old-", 1, ""));
    t.write_script(
        "shim/tmux",
        "#!/bin/sh
for a; do [ \"$a\" = -V ] && { echo 'tmux 2.9a'; exit 0; }; done\nexit 1\n",
    );
    let path = format!(
        "{}:{}",
        t.path().join("shim").display(),
        std::env::var("PATH").unwrap()
    );
    let out = t.cmd().env("PATH", &path).arg("up").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("tmux 2.9a is too old: agents needs tmux 3.0 or newer"),
        "{err}"
    );
    assert_eq!(err.matches("error").count(), 1, "{err}");
}

#[test]
fn a_non_utf8_locale_still_sees_and_stops_the_fleet() {
    // Under LC_ALL=C tmux prints tabs and non-ASCII as `_` unless the client says UTF-8.
    let t = TestEnv::new();
    t.config(&fleet_config("lc-", 2, ""));
    assert_eq!(t.run(&["up", "a1", "a2"]).0, 0);
    let st = t.status_json_with(&[("LC_ALL", "C"), ("LANG", "")]);
    assert!(running(&st, "a1") && running(&st, "a2"), "{st}");
    let out = t.cmd().env("LC_ALL", "C").arg("down").output().unwrap();
    assert!(out.status.success());
    assert!(t.sessions().is_empty(), "{:?}", t.sessions());
}

#[test]
fn env_overrides_apply_to_one_invocation() {
    let t = TestEnv::new();
    let cfg = fleet_config("ev-", 2, "").replace(
        "[watchdog]",
        "[backend.other]\nbin = \"true\"\nprompt_delivery = \"exec\"\n\n[watchdog]",
    );
    t.config(&cfg);
    let st = t.status_json_with(&[
        ("AGENT_MODEL_a1", "big-model"),
        ("AGENT_BACKEND_a2", "other"),
    ]);
    assert_eq!(st["agents"][0]["model"], "big-model");
    assert_eq!(st["agents"][1]["backend"], "other");
    let st = t.status_json();
    assert_eq!(st["agents"][0]["model"], serde_json::Value::Null);
    assert_eq!(st["agents"][1]["backend"], "fake");
    let out = t
        .cmd()
        .env("AGENT_BACKEND_a2", "nope")
        .arg("status")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("AGENT_BACKEND_a2=\"nope\" (environment) names no backend")
    );
}

#[test]
fn defect_04_resume_phase_false_starts_the_sequence_at_phase_0() {
    let t = TestEnv::new();
    t.write("prompts/builder.md", "B\n");
    let cfg = fleet_config("rp-", 0, "")
        + "\n[[agent]]\nname = \"builder\"\nkind = \"loop\"\nrole = \"builder\"\n\n[loop]\nresume_phase = false\nphases = [{ id = \"p1\", status = \"S1.md\" }, { id = \"p2\", status = \"S2.md\" }]\n";
    t.config(&cfg);
    t.write(".agents/state/phase-idx", "1");
    t.write(".agents/SEQUENCE-COMPLETE", "old");
    assert_eq!(t.run(&["up", "builder"]).0, 0, "a named up keeps the phase");
    assert_eq!(
        std::fs::read_to_string(t.path().join(".agents/state/phase-idx")).unwrap(),
        "1"
    );
    assert_eq!(t.run(&["up"]).0, 0);
    assert_eq!(
        std::fs::read_to_string(t.path().join(".agents/state/phase-idx")).unwrap(),
        "0"
    );
    assert!(!t.path().join(".agents/SEQUENCE-COMPLETE").exists());
}

#[test]
fn defect_16_services_take_defaults_dir_and_their_own_session() {
    let t = TestEnv::new();
    std::fs::create_dir_all(t.path().join("work")).unwrap();
    let cfg = fleet_config("sv-", 0, "")
        .replace("watch = \"heal\"", "watch = \"heal\"\ndir = \"work\"")
        + "\n[[service]]\nname = \"web\"\nsession = \"custom-web\"\ncommand = \"pwd > where.txt; sleep 1000\"\n";
    t.config(&cfg);
    assert_eq!(t.run(&["up", "web"]).0, 0);
    assert_eq!(t.sessions(), ["custom-web"]);
    assert!(
        wait_until(5.0, || t.path().join("work/where.txt").exists()),
        "the service did not run in [defaults].dir"
    );
}

#[test]
fn the_phase_model_override_applies_to_any_agent_with_that_role() {
    // As agents.py's role_model: `role` keys the override whatever the agent's kind.
    let t = TestEnv::new();
    let cfg = fleet_config("mo-", 0, "")
        + "\n[[agent]]\nname = \"helper\"\nrole = \"builder\"\nmodel = \"small\"\n\n[loop]\nphases = [{ id = \"p1\", status = \"S1.md\", models = { builder = \"big\" } }]\n";
    t.config(&cfg);
    let st = t.status_json();
    assert_eq!(st["agents"][0]["kind"], "persistent");
    assert_eq!(st["agents"][0]["model"], "big");
}

/// A tmux server that runs without a session (`exit-empty off`, its last session gone) is
/// an empty server, not an error: `list-panes -a` says `no current target` there. `up`
/// starts the fleet on it and `status` reads it, before and after.
#[test]
fn up_and_status_work_on_a_running_server_without_sessions() {
    let t = TestEnv::new();
    t.tmux(&["start-server", ";", "set-option", "-g", "exit-empty", "off"]);
    assert!(t.sessions().is_empty());
    assert_eq!(
        t.tmux(&["show-options", "-gv", "exit-empty"]).trim(),
        "off",
        "the server is not running"
    );
    t.config(&fleet_config("ne-", 2, ""));
    let (code, out, err) = t.run(&["status"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(out.contains("stopped"), "{out}");
    let (code, _, err) = t.run(&["up"]);
    assert_eq!(code, 0, "{err}");
    assert!(wait_until(10.0, || t.status_json()["agents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["running"] == true)));
    assert_eq!(t.run(&["down"]).0, 0);
    let (code, out, err) = t.run(&["status"]);
    assert_eq!(code, 0, "{out}{err}");
}

/// Issue 16 item 2: with the watchdog running, `status` gets the pane listing from the
/// watchdog's relay (a socket beside the tmux server's, answered by the watchdog's tmux
/// control client) and starts no tmux call of its own: here every tmux `status` could run
/// fails, and its rows are right all the same. Once the watchdog is gone (killed: its socket
/// left behind), `status` lists the sessions itself again.
#[test]
fn status_with_a_watchdog_lists_through_its_relay_not_a_tmux_call() {
    let t = started(&fleet_config("rl-", 2, ""));
    let uid = nix::unistd::getuid();
    let relays = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(t.tmux_tmpdir.join(format!("tmux-{uid}")))
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        let name = p.file_name().unwrap().to_string_lossy().into_owned();
                        name.starts_with("agents-") && p.extension().is_some_and(|e| e == "sock")
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let refused = t.tmux_shim("#!/bin/sh\necho 'tmux refused by the test' >&2\nexit 1\n");
    let status = |path: Option<&str>| {
        let mut cmd = t.cmd();
        if let Some(p) = path {
            cmd.env("PATH", p);
        }
        let out = cmd.args(["status", "--json"]).output().unwrap();
        let doc: Option<serde_json::Value> = serde_json::from_slice(&out.stdout).ok();
        (
            out.status.code(),
            doc,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // The relay is served once the watchdog's control client is attached.
    let mut last = String::new();
    assert!(
        wait_until(10.0, || {
            let (code, doc, err) = status(Some(&refused));
            last = format!("exit {code:?}: {err}");
            code == Some(0) && doc.is_some()
        }),
        "status never answered without tmux (relay sockets: {:?}); last: {last}",
        relays()
    );
    assert_eq!(relays().len(), 1, "one relay, beside the server's socket");
    let (_, doc, _) = status(Some(&refused));
    let doc = doc.unwrap();
    assert_eq!(doc["watchdog"]["running"], true, "{doc}");
    for a in doc["agents"].as_array().unwrap() {
        assert_eq!(a["running"], true, "{a}");
    }
    // A session killed behind the fleet's back is seen at once: the listing is fresh.
    t.tmux(&["kill-session", "-t", "=rl-a2"]);
    let (_, doc, err) = status(Some(&refused));
    let doc = doc.unwrap_or_else(|| panic!("{err}"));
    let agents = doc["agents"].as_array().unwrap();
    // The watchdog may have restarted it already; either way tmux's word is shown.
    let a2 = t.sessions().contains(&"rl-a2".to_string());
    assert_eq!(agents[1]["running"], a2, "{doc}");

    let pid: i32 = std::fs::read_to_string(t.path().join(".agents/state/watchdog.lock"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(wait_until(5.0, || !watchdog_running(&t)));
    assert_eq!(relays().len(), 1, "a killed watchdog leaves its socket");
    let (code, doc, err) = status(None);
    let doc = doc.unwrap_or_else(|| panic!("{err}"));
    assert_eq!(code, Some(3), "{doc}");
    assert_eq!(doc["watchdog"]["running"], false, "{doc}");
    assert_eq!(doc["agents"][0]["running"], true, "{doc}");
    let (code, _, err) = status(Some(&refused));
    assert_eq!(
        code,
        Some(1),
        "without a watchdog, status calls tmux: {err}"
    );
    assert!(err.contains("tmux refused by the test"), "{err}");
    // The next watchdog replaces the stale socket, and stopping it removes it.
    assert_eq!(t.run(&["up", "watchdog"]).0, 0);
    assert!(wait_until(10.0, || status(Some(&refused)).0 == Some(0)));
    assert_eq!(t.run(&["down"]).0, 0);
    assert!(relays().is_empty(), "{:?}", relays());
}
