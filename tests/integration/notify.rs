//! `[notify]` under real tmux (issue 8): a notify command receives one `fatal` event with the
//! agent's name on stdin and in its environment, and is not called again within
//! `notify_repeat`; a stall restart is sent as `stall`; kinds not chosen in `events` are not
//! sent; a hanging command is killed at its timeout without delaying a restart; a command
//! that does not exist or exits non-zero is reported once in `events.jsonl`; a bad kind, a
//! bad key and a broken command line are config errors and warnings that point at the line.

use std::time::{Duration, Instant};

use crate::util::*;

/// Agents `a1` (a crash loop: exits 0.3 s after its start) and, with `demo`, `a2` (the demo
/// agent), restart policy quick enough to turn `a1` fatal in about two seconds; `notify` is
/// the `[notify]` table's body.
fn config(prefix: &str, notify: &str, demo: bool) -> String {
    let mut s = format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"
watch = "heal"

[backend.crash]
bin = "sh -c 'sleep 0.3; exit 7'"

[backend.demo]
bin = "bash {fake} '{{kickoff}}' '{{session}}' '{{model}}'"

[watchdog]
signal_interval = 0.3
heavy_interval = 0.6
backoff_initial = 0.2
backoff_max = 0.4
max_restarts = 3
restart_window = 60

[notify]
{notify}

[[agent]]
name = "a1"
backend = "crash"
prompt = "You crash."
"#,
        fake = fake_agent().display()
    );
    if demo {
        s.push_str(
            "\n[[agent]]\nname = \"a2\"\nbackend = \"demo\"\nprompt = \"You are agent 2.\"\n",
        );
    }
    s
}

/// A notify script that appends its stdin line, then its environment as one line, to
/// `notified.txt`; returns the `command = ...` line that runs it.
fn recorder(t: &TestEnv) -> String {
    let out = t.path().join("notified.txt");
    let script = t.write_script(
        "notify.sh",
        &format!(
            "#!/bin/sh\n{{ cat; printf 'ENV event=%s name=%s session=%s reason=%s\\n' \
             \"$AGENTS_EVENT\" \"$AGENTS_NAME\" \"$AGENTS_SESSION\" \"$AGENTS_REASON\"; }} >> '{}'\n",
            out.display()
        ),
    );
    format!("command = \"{}\"", script.display())
}

/// The notifications `recorder` wrote: (the stdin JSON, the environment line).
fn notified(t: &TestEnv) -> Vec<(serde_json::Value, String)> {
    let text = std::fs::read_to_string(t.path().join("notified.txt")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| {
            let v = serde_json::from_str(c[0])
                .unwrap_or_else(|e| panic!("stdin is not one JSON line ({e}): {text}"));
            (v, c[1].to_string())
        })
        .collect()
}

/// Waits until `n` `fatal` events are in the log.
fn wait_fatal(t: &TestEnv, n: usize) {
    assert!(
        wait_until(20.0, || t.events_named("fatal").len() >= n),
        "no {n} fatal event(s): {:?}",
        t.events(".agents")
    );
}

#[test]
fn a_fatal_agent_is_notified_once_with_its_name_and_not_again_within_notify_repeat() {
    let t = TestEnv::new();
    t.config(&config("nf-", &recorder(&t), false));
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    wait_fatal(&t, 1);
    assert!(
        wait_until(5.0, || !notified(&t).is_empty()),
        "the notify command was not called"
    );
    let (doc, env) = &notified(&t)[0];
    assert_eq!(doc["kind"], "fatal", "{doc}");
    assert_eq!(doc["name"], "a1", "{doc}");
    assert_eq!(doc["session"], "nf-a1", "{doc}");
    assert_eq!(
        doc["event"]["event"], "fatal",
        "the events.jsonl line: {doc}"
    );
    assert!(
        doc["reason"].as_str().unwrap().contains("3 restarts"),
        "{doc}"
    );
    assert!(
        env.starts_with("ENV event=fatal name=a1 session=nf-a1 reason=a1 gave up restarting"),
        "{env}"
    );
    // Revived, it crash-loops into `fatal` again: a second fatal event, no second call.
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    wait_fatal(&t, 2);
    std::thread::sleep(Duration::from_secs(1));
    let got = notified(&t);
    assert_eq!(got.len(), 1, "called again within notify_repeat: {got:?}");
    assert!(t.events_named("notify-error").is_empty());
}

#[test]
fn kinds_not_chosen_in_events_are_not_sent() {
    let t = TestEnv::new();
    t.config(&config(
        "nk-",
        &format!("{}\nevents = [\"dialog\"]", recorder(&t)),
        true,
    ));
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    wait_fatal(&t, 1);
    assert!(
        wait_until(15.0, || t
            .pane("nk-a2")
            .contains("idle — waiting for input")),
        "the demo agent did not reach its prompt"
    );
    t.type_line("nk-a2", "/dialog");
    assert!(
        wait_until(10.0, || !notified(&t).is_empty()),
        "the dialog was not notified: {:?}",
        t.events_named("dialog")
    );
    std::thread::sleep(Duration::from_millis(500));
    let got = notified(&t);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0["kind"], "dialog");
    assert_eq!(got[0].0["name"], "a2");
    assert!(
        got[0].0["reason"]
            .as_str()
            .unwrap()
            .contains("Do you trust the files"),
        "{:?}",
        got[0]
    );
}

#[test]
fn a_stall_restart_is_notified_as_stall() {
    let t = TestEnv::new();
    let text = config(
        "ns-",
        &format!("{}\nevents = [\"stall\"]", recorder(&t)),
        true,
    )
    .replace("[backend.demo]\n", "[backend.demo]\nstall_idle = 1.5\n")
    .replace(
        "prompt = \"You are agent 2.\"\n",
        "prompt = \"You are agent 2.\"\nwatch = \"heal+stall\"\n",
    );
    t.config(&text);
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    assert!(
        wait_until(15.0, || t
            .pane("ns-a2")
            .contains("idle — waiting for input")),
        "the demo agent did not reach its prompt"
    );
    t.type_line("ns-a2", "/hang");
    assert!(
        wait_until(15.0, || !restarts(&t, "a2").is_empty()),
        "no stall restart"
    );
    assert!(
        wait_until(5.0, || !notified(&t).is_empty()),
        "the stall restart was not notified"
    );
    let got = notified(&t);
    assert_eq!(got[0].0["kind"], "stall", "{got:?}");
    assert_eq!(got[0].0["name"], "a2", "{got:?}");
    assert!(
        got[0].1.contains("reason=a2 was restarted: stalled: idle"),
        "{got:?}"
    );
    // a1's fatal is not a chosen kind.
    wait_fatal(&t, 1);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        notified(&t).iter().all(|(doc, _)| doc["kind"] == "stall"),
        "{:?}",
        notified(&t)
    );
}

/// Whether process `pid` runs (a zombie does not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit(')').next().map(|r| r.trim_start().to_string()))
        .is_some_and(|r| !r.starts_with('Z'))
}

#[test]
fn a_hanging_notify_command_is_killed_at_its_timeout_without_delaying_a_restart() {
    let t = TestEnv::new();
    let pidfile = t.path().join("sleep.pid");
    let setsid_pidfile = t.path().join("setsid.pid");
    // One child in the command's process group, one in a session of its own (issue 15).
    let notify = format!(
        "command = [\"sh\", \"-c\", \"sleep 100 & echo $! > '{}'; setsid sleep 101 & echo $! > '{}'; wait\"]\ntimeout = 4",
        pidfile.display(),
        setsid_pidfile.display()
    );
    t.config(&config("nh-", &notify, true));
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    // a1 turns fatal: its notification hangs.
    wait_fatal(&t, 1);
    assert!(
        wait_until(5.0, || pidfile.exists()),
        "the notify command did not run"
    );
    let hung_at = Instant::now();
    // Meanwhile a2's session is killed: the watchdog restarts it at once.
    assert!(
        wait_until(15.0, || t.pane_pid("nh-a2").is_some()),
        "a2 did not start"
    );
    let before = restarts(&t, "a2").len();
    let killed = Instant::now();
    t.tmux(&["kill-session", "-t", "=nh-a2"]);
    assert!(
        wait_until(10.0, || restarts(&t, "a2").len() > before),
        "a2 was not restarted"
    );
    let took = killed.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "the restart took {took:?} while a notify command hung"
    );
    assert!(
        hung_at.elapsed() < Duration::from_secs(4),
        "the restart came after the hanging command was killed: not a fair measure"
    );
    // At its timeout the command is killed, with the sleep it started, and reported once.
    assert!(
        wait_until(8.0, || !t.events_named("notify-error").is_empty()),
        "the hanging command was not reported"
    );
    let errors = t.events_named("notify-error");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "fatal");
    assert_eq!(errors[0]["name"], "a1");
    assert!(
        errors[0]["error"]
            .as_str()
            .unwrap()
            .contains("still ran after 4 s and was killed"),
        "{}",
        errors[0]
    );
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(
        wait_until(2.0, || !alive(pid.trim())),
        "the sleep the notify command started still runs"
    );
    let pid = std::fs::read_to_string(&setsid_pidfile).unwrap();
    assert!(
        wait_until(2.0, || !alive(pid.trim())),
        "the `setsid sleep` the notify command started still runs"
    );
    assert!(watchdog_running(&t), "the watchdog is still up");
}

#[test]
fn a_notify_command_that_does_not_exist_is_reported_once() {
    let t = TestEnv::new();
    // Two agents turn fatal: two notifications, one report.
    let text = config("nm-", "command = \"no-such-notifier-xyz --flag\"", false)
        + "\n[[agent]]\nname = \"a3\"\nbackend = \"crash\"\nprompt = \"You crash too.\"\n";
    t.config(&text);
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    wait_fatal(&t, 2);
    assert!(
        wait_until(5.0, || !t.events_named("notify-error").is_empty()),
        "no notify-error"
    );
    std::thread::sleep(Duration::from_secs(1));
    let errors = t.events_named("notify-error");
    assert_eq!(errors.len(), 1, "reported once: {errors:?}");
    let error = errors[0]["error"].as_str().unwrap();
    assert!(
        error.contains("\"no-such-notifier-xyz\"") && error.contains("not found"),
        "{error}"
    );
    assert!(watchdog_running(&t));
}

#[test]
fn a_notify_command_that_exits_non_zero_is_reported_once() {
    let t = TestEnv::new();
    let calls = t.path().join("calls.txt");
    let script = t.write_script(
        "fail.sh",
        &format!(
            "#!/bin/sh\necho \"$AGENTS_NAME\" >> '{}'\necho 'webhook said 403' >&2\nexit 3\n",
            calls.display()
        ),
    );
    let text = config(
        "ne-",
        &format!("command = [\"{}\"]", script.display()),
        false,
    ) + "\n[[agent]]\nname = \"a3\"\nbackend = \"crash\"\nprompt = \"You crash too.\"\n";
    t.config(&text);
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    wait_fatal(&t, 2);
    let called = || {
        std::fs::read_to_string(&calls)
            .unwrap_or_default()
            .lines()
            .count()
    };
    assert!(
        wait_until(5.0, || called() == 2),
        "not called for both agents"
    );
    std::thread::sleep(Duration::from_millis(500));
    let errors = t.events_named("notify-error");
    assert_eq!(errors.len(), 1, "reported once: {errors:?}");
    let error = errors[0]["error"].as_str().unwrap();
    assert!(
        error.contains("exit status: 3") && error.contains("webhook said 403"),
        "{error}"
    );
}

/// Runs `status` on `text`; returns (exit code, stderr).
fn status_on(text: &str) -> (i32, String, std::path::PathBuf) {
    let t = TestEnv::new();
    t.config(text);
    let path = t.path().canonicalize().unwrap().join("agents.toml");
    let (code, _, err) = t.run(&["status"]);
    assert!(!err.contains("panicked"), "{err}");
    (code, err, path)
}

/// 1-based `line:col` of `needle` in `text`.
fn line_col(text: &str, needle: &str) -> String {
    let at = text.find(needle).unwrap();
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("{line}:{col}")
}

#[test]
fn a_bad_kind_a_bad_command_line_and_a_bad_key_point_at_the_line() {
    let text = config(
        "nc-",
        "command = \"notify-send 'agents\"\nevents = [\"fatal\", \"fatl\"]",
        false,
    );
    let (code, err, path) = status_on(&text);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("has 2 errors"), "{err}");
    let at = format!("{}:{}", path.display(), line_col(&text, "\"fatl\""));
    assert!(err.contains(&at), "not at {at}:\n{err}");
    assert!(
        err.contains("\"fatl\" is not a notification kind")
            && err.contains("did you mean \"fatal\"")
            && err.contains(
                "fatal, dialog, limit, stall, phase-done, sequence-complete, handoff-failed, wake-failed"
            ),
        "{err}"
    );
    let at = format!("{}:{}", path.display(), line_col(&text, "\"notify-send"));
    assert!(err.contains(&at), "not at {at}:\n{err}");
    assert!(err.contains("is not a valid command line"), "{err}");

    // An unknown key is a warning with a suggestion; the config still loads.
    let text = config("nc-", "command = \"true\"\nnotify_repaet = 60", false);
    let (code, err, path) = status_on(&text);
    assert_eq!(code, 3, "an unknown key does not stop the program:\n{err}");
    let at = format!("{}:{}", path.display(), line_col(&text, "notify_repaet"));
    assert!(err.contains(&at), "not at {at}:\n{err}");
    assert!(
        err.contains("[notify]: unknown key `notify_repaet`")
            && err.contains("did you mean `notify_repeat`"),
        "{err}"
    );
    // An empty command and a timeout of 0 are errors.
    let text = config("nc-", "command = []\ntimeout = 0", false);
    let (code, err, _) = status_on(&text);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("[notify] command is empty") && err.contains("[notify] timeout = 0"),
        "{err}"
    );
}
