//! The builder/adversary loop as a user drives it (issue 7 item 4, SPEC §6): verdicts that
//! advance and those that do not, a leftover `SEQUENCE-COMPLETE`, `phase set` restarting the
//! running pair (and `--no-restart`), the model a session was started with, the kickoff's
//! status path and the `status` phase lines.

use std::path::Path;

use crate::util::*;

const NOT_DONE: &str = "# S\n## DONE\nnot yet — written here only when all gates pass\n";
const VERDICT: &str = "# S\n## DONE\nAll gates verified by the adversary.\n";

/// A builder/adversary pair (`model = "small"`) through phases p1 and p2 (p2 runs the
/// builder on `big`), the repository's own kickoff template, status files not done yet.
fn pair(t: &TestEnv, prefix: &str, extra: &str) {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts/kickoff.md");
    t.write(
        "prompts/kickoff.md",
        &std::fs::read_to_string(template).unwrap(),
    );
    t.write("prompts/builder.md", "ROLE builder\n");
    t.write("prompts/adversary.md", "ROLE adversary\n");
    t.write("machine-docs/S1.md", NOT_DONE);
    t.write("machine-docs/S2.md", NOT_DONE);
    t.config(
        &(fleet_config(prefix, 0, "")
            .replace("watch = \"heal\"", "watch = \"heal\"\nmodel = \"small\"")
            + LOOP_PAIR
            + r#"
[[agent]]
name = "reporter"
kind = "task"
enabled = false
prompt = "report"
[loop]
kickoff_template = "prompts/kickoff.md"
phases = [
  { id = "p1", plan = "plans/p1.md", status = "S1.md" },
  { id = "p2", plan = "plans/p2.md", status = "S2.md", models = { builder = "big" } },
]
[loop.on_complete]
run = "reporter"
"# + extra),
    );
}

fn phase_idx(t: &TestEnv) -> String {
    std::fs::read_to_string(t.path().join(".agents/state/phase-idx"))
        .unwrap_or_else(|_| "0".into())
        .trim()
        .to_string()
}

fn pane(t: &TestEnv, session: &str) -> String {
    t.tmux(&["capture-pane", "-p", "-t", &format!("={session}:")])
}

fn agent<'a>(st: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    st["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no agent {name} in {st}"))
}

fn count(t: &TestEnv, event: &str) -> usize {
    t.events(".agents")
        .iter()
        .filter(|e| e["event"] == event)
        .count()
}

#[test]
fn a_real_verdict_advances_and_restarts_the_pair_with_the_phase_model() {
    let t = TestEnv::new();
    pair(&t, "lv-", "");
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    let before = (t.pane_pid("lv-builder"), t.pane_pid("lv-adversary"));
    assert!(before.0.is_some() && before.1.is_some());
    let (_, status, _) = t.run(&["status"]);
    assert!(
        status.contains(" phase: p1 [1/2] plan=plans/p1.md (in progress)"),
        "{status}"
    );

    // The kickoff names the status file the watchdog reads, and it exists.
    let kickoff =
        std::fs::read_to_string(t.path().join(".agents/state/kickoff-lv-builder.txt")).unwrap();
    let path = kickoff
        .split("Status file: `")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .unwrap_or_else(|| panic!("no status file in the kickoff:\n{kickoff}"));
    assert_eq!(path, "machine-docs/S1.md", "{kickoff}");
    assert!(t.path().join(path).is_file(), "{path} does not exist");

    t.write("machine-docs/S1.md", VERDICT);
    assert!(wait_until(10.0, || phase_idx(&t) == "1"), "no advance");
    assert!(
        wait_until(10.0, || {
            let now = (t.pane_pid("lv-builder"), t.pane_pid("lv-adversary"));
            now.0.is_some_and(|p| Some(p) != before.0) && now.1.is_some_and(|p| Some(p) != before.1)
        }),
        "the pair was not restarted"
    );
    assert!(
        wait_until(15.0, || pane(&t, "lv-builder").contains("model=big")),
        "{}",
        pane(&t, "lv-builder")
    );
    assert!(pane(&t, "lv-adversary").contains("model=small"));
    let kickoff =
        std::fs::read_to_string(t.path().join(".agents/state/kickoff-lv-adversary.txt")).unwrap();
    assert!(
        kickoff.contains("phase p2") && kickoff.contains("`machine-docs/S2.md`"),
        "{kickoff}"
    );
    // The restart records the new session in the manifest once tmux has started it, a
    // moment after its pane may already show the model: wait for the record.
    wait_until(5.0, || agent(&t.status_json(), "builder")["model"] == "big");
    let st = t.status_json();
    assert_eq!(agent(&st, "builder")["model"], "big");
    assert_eq!(
        agent(&st, "builder")["model_pending"],
        serde_json::Value::Null
    );
    assert_eq!(st["phase"]["state"], "in progress");
    assert_eq!(count(&t, "phase-advance"), 1);
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn done_criteria_and_an_empty_done_section_do_not_advance() {
    let t = TestEnv::new();
    pair(&t, "ln-", "");
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    let pids = (t.pane_pid("ln-builder"), t.pane_pid("ln-adversary"));
    for text in [
        "# S\n## DONE CRITERIA\n- all tests pass\n- the adversary signs off\n",
        "# S\n## DONE\n\n\n## Notes\nwork in progress\n",
        "# S\n## DONE\n",
    ] {
        t.write("machine-docs/S1.md", text);
        // Three heavy ticks (every other 0.3 s tick).
        t.pass_ticks(7);
        assert_eq!(phase_idx(&t), "0", "advanced on {text:?}");
    }
    assert_eq!(count(&t, "phase-advance"), 0);
    assert_eq!(
        (t.pane_pid("ln-builder"), t.pane_pid("ln-adversary")),
        pids,
        "the pair was restarted"
    );
    let (_, status, _) = t.run(&["status"]);
    assert!(status.contains("(in progress)"), "{status}");
    // The control: a verdict under `## DONE` does advance.
    t.write("machine-docs/S1.md", VERDICT);
    assert!(wait_until(10.0, || phase_idx(&t) == "1"));
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn a_leftover_sequence_complete_is_explained_and_cleared_by_phase_set() {
    let t = TestEnv::new();
    pair(&t, "lc-", "");
    // The watchdog may heal the pair in the instant between `phase set 0` and `up` below; the
    // builder killed after that is then its second restart, paced by the backoff: keep that
    // short, so the heal is what this test waits for.
    let cfg = std::fs::read_to_string(t.path().join("agents.toml")).unwrap();
    t.config(&cfg.replace("[watchdog]\n", "[watchdog]\nbackoff_initial = 1\n"));
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    // The last phase is done: the sequence completes, not armed: no on_complete task.
    assert_eq!(t.run(&["phase", "set", "1"]).0, 0);
    t.write("machine-docs/S2.md", VERDICT);
    let marker = t.path().join(".agents/SEQUENCE-COMPLETE");
    assert!(wait_until(10.0, || marker.exists()), "no SEQUENCE-COMPLETE");
    t.pass_ticks(7); // three heavy ticks
    assert_eq!(count(&t, "sequence-complete"), 1);
    assert!(
        t.pane_pid("lc-reporter").is_none(),
        "on_complete ran without its trigger file"
    );
    assert!(t.pane_pid("lc-builder").is_none());

    // What the operator sees: the state, why the loop agents are not healed (status and the
    // watchdog's log, once), and status still healthy (they are meant to be stopped).
    let (code, status, _) = t.run(&["status"]);
    assert_eq!(code, 0, "{status}");
    assert!(
        status.contains(" phase: p2 [2/2] plan=plans/p2.md (sequence complete)"),
        "{status}"
    );
    assert!(
        status.contains("loop agents are not healed") && status.contains("phase set"),
        "{status}"
    );
    let st = t.status_json();
    assert_eq!(st["phase"]["state"], "sequence complete");
    assert_eq!(st["phase"]["loops_healed"], false);
    assert!(
        st["phase"]["loops_not_healed_why"]
            .as_str()
            .is_some_and(|w| w.contains("SEQUENCE-COMPLETE"))
    );
    let log = std::fs::read_to_string(t.path().join(".agents/lc-watchdog.log")).unwrap();
    assert_eq!(
        log.lines()
            .filter(|l| l.contains("loop agents are not healed"))
            .count(),
        1,
        "{log}"
    );

    // `phase set 0` + `up builder adversary`, as a user starting over would: the marker is
    // gone, and a killed builder is healed.
    t.write("machine-docs/S2.md", NOT_DONE);
    assert_eq!(t.run(&["phase", "set", "0"]).0, 0);
    assert!(!marker.exists(), "phase set 0 left SEQUENCE-COMPLETE");
    assert_eq!(t.run(&["up", "builder", "adversary"]).0, 0);
    let pid = t.pane_pid("lc-builder").unwrap();
    t.tmux(&["kill-session", "-t", "=lc-builder"]);
    assert!(
        wait_until(15.0, || t.pane_pid("lc-builder").is_some_and(|p| p != pid)),
        "the killed builder was not healed"
    );
    let st = t.status_json();
    assert_eq!(st["phase"]["loops_healed"], true);
    assert_eq!(t.run(&["down"]).0, 0);
}

/// Issue 15 item 8: after the sequence completed with every status file DONE, `phase set 0`
/// starts phase p1 again: it removes `SEQUENCE-COMPLETE`, the pair is healed on p1, and the
/// watchdog does not advance past p1 (nor restart the pair) on the verdict left from the
/// previous run; a verdict written after the phase began does advance.
#[test]
fn phase_set_after_the_sequence_completed_starts_that_phase_and_old_verdicts_do_not_advance() {
    let t = TestEnv::new();
    pair(&t, "lr-", "");
    let cfg = std::fs::read_to_string(t.path().join("agents.toml")).unwrap();
    t.config(&cfg.replace("[watchdog]\n", "[watchdog]\nbackoff_initial = 1\n"));
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    t.write("machine-docs/S1.md", VERDICT);
    assert!(wait_until(10.0, || phase_idx(&t) == "1"), "no advance");
    t.write("machine-docs/S2.md", VERDICT);
    let marker = t.path().join(".agents/SEQUENCE-COMPLETE");
    assert!(wait_until(10.0, || marker.exists()), "no SEQUENCE-COMPLETE");
    assert!(wait_until(10.0, || t.pane_pid("lr-builder").is_none()));
    assert_eq!(count(&t, "phase-advance"), 1);

    let (code, _, err) = t.run(&["phase", "set", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !marker.exists(),
        "phase set 0 left SEQUENCE-COMPLETE: {err}"
    );
    // The pair is healed on p1 and stays there: several heavy ticks (0.6 s each).
    assert!(
        wait_until(15.0, || t.pane_pid("lr-builder").is_some()),
        "the pair was not started on p1"
    );
    let pid = t.pane_pid("lr-builder");
    t.pass_ticks(9); // four heavy ticks
    assert_eq!(phase_idx(&t), "0", "advanced on the old verdict");
    assert_eq!(count(&t, "phase-advance"), 1);
    assert_eq!(count(&t, "sequence-complete"), 1);
    assert!(!marker.exists());
    assert_eq!(t.pane_pid("lr-builder"), pid, "the pair was restarted");
    let kickoff =
        std::fs::read_to_string(t.path().join(".agents/state/kickoff-lr-builder.txt")).unwrap();
    assert!(kickoff.contains("phase p1"), "{kickoff}");
    let (_, status, _) = t.run(&["status"]);
    assert!(
        status.contains(" phase: p1 [1/2] plan=plans/p1.md (DONE before the phase began"),
        "{status}"
    );
    // A verdict written in this run advances.
    t.write("machine-docs/S1.md", VERDICT);
    assert!(wait_until(10.0, || phase_idx(&t) == "1"), "no advance");
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn the_last_phase_launches_the_on_complete_task_when_armed() {
    // The armed case is also in watchdog.rs; here with the pair, and the marker written once
    // however many heavy ticks follow.
    let t = TestEnv::new();
    pair(&t, "lo-", "");
    t.write(".agents/.run-on-complete", "");
    t.write(".agents/state/phase-idx", "1");
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    t.write("machine-docs/S2.md", VERDICT);
    assert!(
        wait_until(10.0, || t.pane_pid("lo-reporter").is_some()),
        "on_complete task not launched"
    );
    t.pass_ticks(7); // three heavy ticks
    assert_eq!(count(&t, "sequence-complete"), 1);
    assert!(!t.path().join(".agents/.run-on-complete").exists());
    assert!(t.pane_pid("lo-builder").is_none() && t.pane_pid("lo-adversary").is_none());
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn phase_set_restarts_the_running_pair_with_the_new_model_and_no_restart_does_not() {
    let t = TestEnv::new();
    pair(&t, "ls-", "");
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    let pids = (t.pane_pid("ls-builder"), t.pane_pid("ls-adversary"));

    // --no-restart: only the index; status shows the pending model change.
    let (code, _, err) = t.run(&["phase", "set", "p2", "--no-restart"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(phase_idx(&t), "1");
    t.pass_ticks(4); // a heavy tick
    assert_eq!((t.pane_pid("ls-builder"), t.pane_pid("ls-adversary")), pids);
    // Nothing was typed into the running agents either.
    assert!(t.received("ls-builder").is_empty() && t.received("ls-adversary").is_empty());
    let st = t.status_json();
    assert_eq!(agent(&st, "builder")["model"], "small");
    assert_eq!(agent(&st, "builder")["model_pending"], "big");
    assert_eq!(
        agent(&st, "adversary")["model_pending"],
        serde_json::Value::Null
    );
    let (_, status, _) = t.run(&["status"]);
    assert!(
        status.contains("small (config: big after restart)"),
        "{status}"
    );
    // The same for an AGENT_MODEL_<name> override.
    let st = t.status_json_with(&[("AGENT_MODEL_adversary", "huge")]);
    assert_eq!(agent(&st, "adversary")["model"], "small");
    assert_eq!(agent(&st, "adversary")["model_pending"], "huge");

    // Back to p1 with --no-restart: nothing is pending any more.
    assert_eq!(t.run(&["phase", "set", "0", "--no-restart"]).0, 0);
    let st = t.status_json();
    assert_eq!(
        agent(&st, "builder")["model_pending"],
        serde_json::Value::Null
    );

    // `phase next` restarts the running pair on p2.
    let (code, _, err) = t.run(&["phase", "next"]);
    assert_eq!(code, 0, "{err}");
    let now = (t.pane_pid("ls-builder"), t.pane_pid("ls-adversary"));
    assert!(
        now.0.is_some() && now.0 != pids.0 && now.1.is_some() && now.1 != pids.1,
        "{pids:?} -> {now:?}"
    );
    assert!(
        wait_until(15.0, || pane(&t, "ls-builder").contains("model=big")),
        "{}",
        pane(&t, "ls-builder")
    );
    let st = t.status_json();
    assert_eq!(agent(&st, "builder")["model"], "big");
    assert_eq!(
        agent(&st, "builder")["model_pending"],
        serde_json::Value::Null
    );
    let stops: Vec<_> = t
        .events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "stop" && e["reason"] == "phase next")
        .collect();
    assert_eq!(stops.len(), 2, "{stops:?}");
    // The watchdog does not restart them again.
    let pid = now.0;
    t.pass_ticks(5);
    assert_eq!(t.pane_pid("ls-builder"), pid);
    assert!(restarts(&t, "builder").is_empty());

    // A stopped pair stays stopped: `phase set` restarts only running loop agents.
    assert_eq!(t.run(&["down", "builder", "adversary"]).0, 0);
    assert_eq!(t.run(&["phase", "set", "0"]).0, 0);
    t.pass_ticks(4);
    assert!(t.pane_pid("ls-builder").is_none());
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn status_shows_the_last_handoff_event() {
    let t = TestEnv::new();
    pair(&t, "lh-", "[loop.handoff]\n");
    let git = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(t.path())
        .status()
        .unwrap();
    assert!(git.success());
    let (_, status, _) = t.run(&["status"]);
    assert!(!status.contains("last handoff"), "{status}");
    let ev = |what: &str, to: &str, detail: &str, outcome: &str| {
        serde_json::json!({
            "ts": chrono::Local::now().to_rfc3339(), "source": "watchdog", "event": "handoff", "what": what,
            "to": to, "session": format!("lh-{to}"), "detail": detail, "outcome": outcome,
        })
        .to_string()
    };
    let mut lines = vec![
        ev("review", "builder", "review: gate 1", "delivered"),
        ev("claim", "adversary", "claim: gate 2", "delivered"),
    ];
    let filler = serde_json::json!({"ts": chrono::Local::now().to_rfc3339(), "event": "restart", "name": "x"}).to_string();
    lines.extend(std::iter::repeat_n(filler, 2000));
    t.write(".agents/events.jsonl", &(lines.join("\n") + "\n"));
    let (_, status, _) = t.run(&["status"]);
    let line = status
        .lines()
        .find(|l| l.contains("last handoff:"))
        .unwrap_or_else(|| panic!("{status}"));
    assert!(
        line.contains("claim → adversary (delivered): \"claim: gate 2\""),
        "{line}"
    );
    let st = t.status_json();
    assert_eq!(st["phase"]["last_handoff"]["to"], "adversary");
}

#[test]
fn a_running_on_complete_task_shows_its_state_not_disabled() {
    let t = TestEnv::new();
    pair(&t, "ld-", "");
    t.write(".agents/.run-on-complete", "");
    t.write(".agents/state/phase-idx", "1");
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    // Before it runs, the task is disabled (`up` does not start it).
    assert_eq!(agent(&t.status_json(), "reporter")["state"], "disabled");
    t.write("machine-docs/S2.md", VERDICT);
    assert!(
        wait_until(10.0, || t.pane_pid("ld-reporter").is_some()),
        "on_complete task not launched"
    );
    // The demo agent works on its kickoff, then waits for input.
    let state = || {
        agent(&t.status_json(), "reporter")["state"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(wait_until(10.0, || state() == "idle"), "{}", state());
    let (_, table, _) = t.run(&["status"]);
    let row = table
        .lines()
        .find(|l| l.trim_start().starts_with("reporter "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(row.contains(" idle "), "{table}");
    assert!(!row.contains("disabled"), "{table}");
    assert_eq!(t.run(&["down"]).0, 0);
}
