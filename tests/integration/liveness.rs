//! Liveness from the process, not its name (issue 12): agents whose pane shows `bash` (a
//! wrapper script, a wrapper that runs its program as a child) are never restarted for it,
//! and are restarted when what they run dies; a backend that declares `process_name` and
//! falls back to a bare shell is restarted; a `process_name` that never matches is warned
//! about once. Also: `status` right after `restart`/`down`/`up`, the evidence on restart
//! events, an exited program's last line quoted, and no stall nudge during a backoff.

use std::time::Duration;

use crate::util::*;

/// A line reader in bash: prints a prompt, answers every line.
const READ_LOOP: &str = r#"#!/usr/bin/env bash
echo "wrapper ready"
while IFS= read -r line; do
  echo "got: $line"
done
"#;

/// A wrapper that sets things up, then runs its program as a child (no `exec`).
const RUNS_A_CHILD: &str = r#"#!/usr/bin/env bash
export WRAPPED=1
echo "starting the program"
cat
echo "the program ended"
"#;

fn head(prefix: &str, watchdog: &str) -> String {
    format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"

[backend.reader]
bin = "./run-agent.sh"
prompt_delivery = "exec"

[backend.wrapper]
bin = "bash ./wrap.sh"
prompt_delivery = "exec"

[backend.named]
bin = "./run-agent.sh"
prompt_delivery = "exec"
process_name = "myagent"

[watchdog]
signal_interval = 1
heavy_interval = 1
{watchdog}
"#
    )
}

#[test]
fn wrapper_script_agents_run_untouched_and_are_restarted_when_what_they_run_dies() {
    let t = TestEnv::new();
    t.write_script("run-agent.sh", READ_LOOP);
    t.write_script("wrap.sh", RUNS_A_CHILD);
    t.config(
        &(head("wr-", "backoff_initial = 0.5")
            + r#"
[[agent]]
name = "r1"
backend = "reader"
watch = "heal"

[[agent]]
name = "r2"
backend = "reader"
watch = "heal+stall"

[[agent]]
name = "w1"
backend = "wrapper"
watch = "heal+stall"

[[agent]]
name = "n1"
backend = "named"
watch = "heal+stall"
"#),
    );
    up_with(&t, &[]);
    wait_watchdog(&t);
    for s in ["wr-r1", "wr-r2", "wr-w1", "wr-n1"] {
        assert!(
            wait_until(10.0, || t
                .tmux(&[
                    "display-message",
                    "-p",
                    "-t",
                    &format!("={s}:"),
                    "#{pane_current_command}"
                ])
                .trim()
                == "bash"),
            "{s} runs bash: {}",
            t.pane(s)
        );
    }
    // Twelve 1 s ticks (past the 10 s process_name grace): nobody is restarted.
    std::thread::sleep(Duration::from_secs(12));
    let any = t.events_named("restart");
    assert!(any.is_empty(), "restarted for its name: {any:?}");
    for (name, st) in [
        ("r1", "idle"),
        ("r2", "idle"),
        ("w1", "idle"),
        ("n1", "idle"),
    ] {
        let r = t.agent_row(name);
        assert_eq!(r["state"], st, "{r}");
    }
    // The declared process_name never matched: one warning naming what the pane runs.
    let warned = t.events_named("process-name");
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0]["name"], "n1");
    let why = warned[0]["why"].as_str().unwrap();
    assert!(
        why.contains("declares process_name \"myagent\"") && why.contains("runs \"bash\""),
        "{why}"
    );
    // What they run dies: the wrapped program, and the pane process of a reader.
    let snap = std::fs::read_dir("/proc").unwrap();
    let w1_pid = t.pane_pid("wr-w1").unwrap();
    let child = snap
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                let rest = &s[s.rfind(')').unwrap() + 1..];
                rest.split_whitespace().nth(1) == Some(&w1_pid.to_string())
            })
        })
        .expect("the wrapper's child program");
    let r1_pid = t.pane_pid("wr-r1").unwrap();
    for pid in [child, r1_pid] {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid.cast_signed()),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    for (name, session, old) in [("w1", "wr-w1", w1_pid), ("r1", "wr-r1", r1_pid)] {
        assert!(
            wait_until(10.0, || !restarts(&t, name).is_empty()),
            "{name} was not restarted when what it runs died"
        );
        assert!(
            wait_until(5.0, || t.pane_pid(session).is_some_and(|p| p != old)),
            "{name} runs again"
        );
        let ev = &restarts(&t, name)[0];
        assert_eq!(ev["evidence"]["rule"], "pane_dead", "{ev}");
    }
    // The wrapper printed a line after its program died: it is quoted.
    let ev = &restarts(&t, "w1")[0];
    assert!(
        ev["reason"].as_str().unwrap().contains("the program ended"),
        "{ev}"
    );
    assert!(restarts(&t, "r2").is_empty() && restarts(&t, "n1").is_empty());
}

#[test]
fn a_backend_whose_pane_falls_back_to_a_shell_is_restarted() {
    let t = TestEnv::new();
    // Job control gives the foreground to `sleep`, which the pane then shows; then the
    // program "exits" to an interactive shell, as an agent run from a shell would.
    t.write_script(
        "run-agent.sh",
        "#!/usr/bin/env bash\nset -m\nsleep 3\nexec bash --norc --noprofile -i\n",
    );
    t.config(
        &(head("sh-", "backoff_initial = 30")
            .replace("process_name = \"myagent\"", "process_name = \"sleep\"")
            + "\n[[agent]]\nname = \"a1\"\nbackend = \"named\"\nwatch = \"heal\"\n"),
    );
    up_with(&t, &[]);
    wait_watchdog(&t);
    let pid = t.pane_pid("sh-a1").unwrap();
    assert!(
        wait_until(15.0, || !restarts(&t, "a1").is_empty()),
        "a pane fallen back to a shell was not restarted:\n{}",
        t.pane("sh-a1")
    );
    let ev = &restarts(&t, "a1")[0];
    assert_eq!(ev["evidence"]["rule"], "shell", "{ev}");
    assert_eq!(ev["evidence"]["state"], "dead", "{ev}");
    assert!(
        ev["reason"].as_str().unwrap().contains("bare bash shell"),
        "{ev}"
    );
    assert!(wait_until(5.0, || t
        .pane_pid("sh-a1")
        .is_some_and(|p| p != pid)));
    assert!(t.events_named("process-name").is_empty());
}

#[test]
fn an_exited_program_is_restarted_with_its_last_line_quoted() {
    let t = TestEnv::new();
    t.write_script(
        "run-agent.sh",
        // One line, as Claude Code 2.1.330 prints run as root: tmux scrolls it off the screen
        // of the dead pane to draw its "Pane is dead" line under it.
        "#!/bin/sh\necho '--dangerously-skip-permissions cannot be used with root/sudo privileges' >&2\nsleep 0.5\nexit 1\n",
    );
    t.config(
        &(head(
            "ex-",
            "backoff_initial = 1\nbackoff_max = 2\nmax_restarts = 20",
        ) + "\n[[agent]]\nname = \"a1\"\nbackend = \"reader\"\nwatch = \"heal\"\n"),
    );
    up_with(&t, &[]);
    wait_watchdog(&t);
    // tmux 3.3a now and then reports a dead pane with neither status nor signal, for good:
    // wait for a restart that has the status and one after it.
    let with_status = |e: &serde_json::Value| e["reason"].as_str().unwrap().contains("status 1");
    assert!(
        wait_until(40.0, || {
            let r = restarts(&t, "a1");
            r.iter()
                .position(with_status)
                .is_some_and(|i| r.len() > i + 1)
        }),
        "no restart that says how the program exited, and one after it: {:?}",
        restarts(&t, "a1")
    );
    let quoted = "--dangerously-skip-permissions cannot be used with root/sudo privileges";
    let mut seen_status = false;
    for (i, ev) in restarts(&t, "a1").into_iter().enumerate() {
        let reason = ev["reason"].as_str().unwrap();
        assert!(reason.contains(quoted), "restart {i} quotes the line: {ev}");
        // Once the status was seen, no later restart drops it.
        assert!(
            !seen_status || with_status(&ev),
            "restart {i} dropped the status: {ev}"
        );
        seen_status |= with_status(&ev);
        if !ev["evidence"]["exit_status"].is_null() {
            assert!(
                reason.starts_with("its program exited with status 1: ")
                    && reason.ends_with(quoted),
                "{ev}"
            );
        }
        assert_eq!(ev["evidence"]["rule"], "pane_dead", "{ev}");
        assert!(
            ev["evidence"]["last_lines"]
                .as_str()
                .unwrap()
                .contains(quoted),
            "{ev}"
        );
    }
    // status quotes it too (the last event, or the backoff's why).
    assert!(
        wait_until(10.0, || {
            let r = t.agent_row("a1");
            r["why"].as_str().is_some_and(|w| w.contains(quoted))
                || r["event"]["why"]
                    .as_str()
                    .is_some_and(|w| w.contains(quoted))
        }),
        "{}",
        t.agent_row("a1")
    );
    let (_, out, _) = t.run(&["status"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with(" a1 ") && l.contains("--dangerously-skip-permissions")),
        "{out}"
    );
}

#[test]
fn status_tells_the_truth_right_after_restart_down_and_up() {
    let t = TestEnv::new();
    // Crashes until the file `ok` exists, then runs.
    t.write_script(
        "run-agent.sh",
        "#!/bin/sh\ntest -f ok && exec sleep 1000\nsleep 0.3\nexit 7\n",
    );
    t.config(
        &(head(
            "st-",
            "backoff_initial = 0.2\nbackoff_max = 0.4\nmax_restarts = 2\nrestart_window = 60",
        ) + "\n[[agent]]\nname = \"a1\"\nbackend = \"reader\"\nwatch = \"heal\"\n"),
    );
    up_with(&t, &[]);
    wait_watchdog(&t);
    assert!(
        wait_until(20.0, || t.agent_row("a1")["state"] == "fatal"),
        "never fatal: {}",
        t.agent_row("a1")
    );
    t.write("ok", "");
    assert_eq!(t.run(&["restart", "a1"]).0, 0);
    let st = t.agent_row("a1");
    assert!(
        st["state"] == "starting" || st["state"] == "idle",
        "right after `restart`: {st}"
    );
    assert_eq!(t.run(&["down", "a1"]).0, 0);
    assert_eq!(t.agent_row("a1")["state"], "down");
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    let st = t.agent_row("a1");
    assert!(
        st["state"] == "starting" || st["state"] == "idle",
        "right after `up`: {st}"
    );
    // The watchdog takes over: idle, and no restart of the running agent.
    assert!(wait_until(10.0, || t.agent_row("a1")["state"] == "idle"));
    assert_eq!(restarts(&t, "a1").len(), 2, "{:?}", restarts(&t, "a1"));
}

#[test]
fn no_stall_nudge_while_a_stall_restart_waits_out_its_backoff() {
    let t = TestEnv::new();
    // Reads what it is told and never answers: idle for good.
    t.write_script(
        "run-agent.sh",
        "#!/usr/bin/env bash\nwhile IFS= read -r line; do :; done\n",
    );
    t.config(
        &(head("sb-", "backoff_initial = 60\nbackoff_max = 60")
            .replace("[backend.reader]\n", "[backend.reader]\nstall_idle = 1\n")
            + "\n[[agent]]\nname = \"a1\"\nbackend = \"reader\"\nwatch = \"heal+stall\"\n"),
    );
    up_with(&t, &[]);
    wait_watchdog(&t);
    // Nudge, restart (the first is immediate), nudge, then a stall restart that backs off.
    assert!(
        wait_until(30.0, || !t.events_named("backoff").is_empty()),
        "no backoff: {:?}",
        t.events(".agents")
    );
    let backoff = &t.events_named("backoff")[0];
    assert!(
        backoff["why"].as_str().unwrap().starts_with("stalled:"),
        "{backoff}"
    );
    let before = t.events_named("stall-nudge").len();
    assert_eq!(before, 2, "one nudge per conversation before the backoff");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        t.events_named("stall-nudge").len(),
        before,
        "a stall nudge was typed while the restart waits out its backoff"
    );
    assert_eq!(restarts(&t, "a1").len(), 1, "{:?}", restarts(&t, "a1"));
    let r = t.agent_row("a1");
    assert_eq!(r["state"], "backoff", "{r}");
    assert!(r["until"].is_string(), "{r}");
    let (_, out, _) = t.run(&["status"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with(" a1 ") && l.contains("backoff until")),
        "{out}"
    );
}

#[test]
fn restarts_of_an_agent_held_by_a_usage_limit_spend_no_restart_budget() {
    let t = TestEnv::new();
    t.write_script(
        "run-agent.sh",
        "#!/usr/bin/env bash\necho \"You've hit your usage limit\"\nwhile IFS= read -r line; do :; done\n",
    );
    t.config(
        &(head(
            "hb-",
            "backoff_initial = 0.2\nbackoff_max = 0.4\nmax_restarts = 2\nrestart_window = 600\nlimit_probe_fallback = 600",
        )
        .replace("[backend.reader]\n", "[backend.reader]\nlimit_re = \"usage limit\"\n")
            + "\n[[agent]]\nname = \"a1\"\nbackend = \"reader\"\nwatch = \"heal\"\n"),
    );
    up_with(&t, &[]);
    wait_watchdog(&t);
    assert!(
        wait_until(10.0, || !t.events_named("limit-hit").is_empty()),
        "not held"
    );
    for n in 1..=3 {
        let pid = t.pane_pid("hb-a1").unwrap();
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid.cast_signed()),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
        assert!(
            wait_until(10.0, || restarts(&t, "a1").len() == n
                && t.pane_pid("hb-a1").is_some_and(|p| p != pid)),
            "restart {n} of the held agent"
        );
    }
    let r = t.agent_row("a1");
    assert_eq!(r["restarts"], 0, "a limit spent restart budget: {r}");
    assert_ne!(r["state"], "fatal", "{r}");
    assert!(t.events_named("fatal").is_empty());
}

/// `status` starts listing the server `$AGENTS_TMUX_SOCKET` names before it has read the
/// config (issue 16); a config that names another server (`tmux_socket`) is listed there,
/// with a watchdog and without one. Here the environment names a server that is not running:
/// had its listing been used, every agent would read `stopped`.
#[test]
fn status_lists_the_server_the_config_names_not_the_one_the_environment_names() {
    let t = TestEnv::new();
    let named = format!("watch = \"heal\"\ntmux_socket = \"{}\"\n", t.socket);
    t.config(&fleet_config("sk-", 2, "").replacen("watch = \"heal\"\n", &named, 1));
    up_with(&t, &[]);
    wait_watchdog(&t);
    let decoy = format!("{}-decoy", t.socket);
    let rows = |why: &str| {
        let st = t.status_json_with(&[("AGENTS_TMUX_SOCKET", &decoy)]);
        for a in st["agents"].as_array().unwrap() {
            assert_eq!(a["running"], true, "{why}: {a}");
            assert_ne!(a["state"], "stopped", "{why}: {a}");
        }
        assert_eq!(
            st["watchdog"]["running"],
            why == "with a watchdog",
            "{why}: {st}"
        );
    };
    rows("with a watchdog");
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    assert!(wait_until(10.0, || t.status_json()["watchdog"]["running"] == false));
    rows("without one");
    // The decoy server was never started by any of it.
    let decoy_env = std::process::Command::new("tmux")
        .args(["-L", &decoy, "list-sessions"])
        .env("TMUX_TMPDIR", &t.tmux_tmpdir)
        .output()
        .unwrap();
    assert!(!decoy_env.status.success(), "a server runs on {decoy}");
}
