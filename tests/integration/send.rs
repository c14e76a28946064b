//! `agents send` against the demo agent under real tmux (issue 7): it waits for an idle pane
//! (or types at once with `--now`), refuses a dialog, presses named keys, reads stdin, and
//! rejects bad input with errors that say what to do.

use std::time::{Duration, Instant};

use crate::util::*;

/// One demo agent `a1` on the `demo` preset, watched for healing only, and a service `web`.
fn send_config(prefix: &str) -> String {
    demo_fleet(prefix, "signal_interval = 0.5\nheavy_interval = 1")
        + r#"
[[agent]]
name = "a1"
prompt = "You are agent 1."

[[agent]]
name = "b2"
prompt = "You are agent 2."
enabled = false

[[service]]
name = "web"
command = "sleep 600"
enabled = false
"#
}

/// Starts the fleet with the demo agent working `work_secs` on its kickoff.
fn start(prefix: &str, work_secs: u32) -> TestEnv {
    let t = TestEnv::new();
    t.config(&send_config(prefix));
    up_with(&t, &[("FAKE_WORK_SECS", &work_secs.to_string())]);
    t
}

fn busy(t: &TestEnv, session: &str) -> bool {
    t.pane(session).contains("esc to interrupt")
}

fn idle(t: &TestEnv, session: &str) -> bool {
    let p = t.pane(session);
    p.contains("idle — waiting for input") && !p.contains("esc to interrupt")
}

fn typed(t: &TestEnv, purpose: &str) -> Vec<serde_json::Value> {
    t.events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "typed" && e["purpose"] == purpose)
        .collect()
}

#[test]
fn send_waits_until_the_agent_is_idle_then_delivers() {
    let t = start("sw-", 4);
    assert!(wait_until(5.0, || busy(&t, "sw-a1")), "{}", t.pane("sw-a1"));
    // `send` starts while the agent works on its kickoff. The agent itself notes a line that
    // was already waiting in its input when it went idle (typed while it was busy): that is
    // the evidence, not the order in which this test happens to see the screen and the event
    // log (on a loaded machine a poll can miss the short idle spell before the message).
    let (code, _, err) = t.run(&["send", "a1", "please re-read REVIEW.md"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || t
            .received("sw-a1")
            .contains(&"please re-read REVIEW.md".to_string())),
        "{:?}",
        t.received("sw-a1")
    );
    let early = typed_while_busy(&t, "sw-a1");
    assert!(early.is_empty(), "typed before the agent was idle: {early}");
    let p = t.pane("sw-a1");
    let idle_at = p
        .find("idle — waiting for input")
        .expect("the agent went idle");
    let message_at = p
        .find("message #1: please re-read REVIEW.md")
        .unwrap_or_else(|| panic!("{p}"));
    assert!(idle_at < message_at, "{p}");
    let ev = typed(&t, "send");
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["outcome"], "delivered");
    assert_eq!(ev[0]["name"], "a1");
}

#[test]
fn send_gives_up_on_a_busy_agent_at_the_timeout_and_now_types_at_once() {
    let t = start("sn-", 12);
    assert!(wait_until(5.0, || busy(&t, "sn-a1")), "{}", t.pane("sn-a1"));
    let (code, _, err) = t.run(&["send", "a1", "--timeout", "1", "hello"]);
    assert_eq!(code, 1);
    assert!(err.contains("a1 is still busy after 1 s"), "{err}");
    assert!(err.contains("esc to interrupt"), "{err}");
    assert!(err.contains("--now"), "{err}");
    assert!(typed(&t, "send").is_empty());

    let called = Instant::now();
    let (code, _, err) = t.run(&["send", "a1", "--now", "right away"]);
    assert_eq!(code, 0, "{err}");
    assert!(called.elapsed() < Duration::from_secs(4));
    assert!(busy(&t, "sn-a1"), "the agent was meant to be busy still");
    assert_eq!(typed(&t, "send").len(), 1);
    // The demo agent reads its input once it is done with the kickoff.
    assert!(
        wait_until(15.0, || t
            .received("sn-a1")
            .contains(&"right away".to_string())),
        "{:?}",
        t.received("sn-a1")
    );
}

/// Issue 15 item 8: `--timeout 0` means "do not wait": it refuses a busy agent at once (and
/// types nothing), and delivers into an idle one; fractions of a second are accepted.
#[test]
fn send_timeout_zero_never_types_into_a_busy_agent_and_fractions_are_accepted() {
    let t = start("sz-", 8);
    assert!(wait_until(5.0, || busy(&t, "sz-a1")), "{}", t.pane("sz-a1"));
    let (code, _, err) = t.run(&["send", "a1", "--timeout", "0", "not now"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a1 is busy"), "{err}");
    assert!(err.contains("--timeout 0"), "{err}");
    assert!(err.contains("nothing was typed"), "{err}");
    let (code, _, err) = t.run(&["send", "a1", "--timeout", "0.5", "not yet"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a1 is still busy after 0.5 s"), "{err}");
    assert!(typed(&t, "send").is_empty(), "{:?}", typed(&t, "send"));
    assert!(busy(&t, "sz-a1"), "the agent was meant to be busy still");
    // Idle: `--timeout 0` delivers at once.
    assert!(
        wait_until(15.0, || idle(&t, "sz-a1")),
        "{}",
        t.pane("sz-a1")
    );
    let (code, _, err) = t.run(&["send", "a1", "--timeout", "0", "now then"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || t
            .received("sz-a1")
            .contains(&"now then".to_string())),
        "{:?}",
        t.received("sz-a1")
    );
    let received = t.received("sz-a1");
    assert!(
        !received.iter().any(|l| l == "not now" || l == "not yet"),
        "{received:?}"
    );
    // Bad values say what is valid.
    for bad in ["-1", "abc", "nan", "1e20"] {
        let (code, _, err) = t.run(&["send", "a1", "--timeout", bad, "x"]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("seconds"), "{bad}: {err}");
    }
}

/// Issue 15 item 8: a tab reaches the agent as typed; another control character (ESC, which
/// could end a bracketed paste early, or a lone CR, which would submit) is refused with its
/// name and position, and nothing is typed. CRLF line endings are newlines.
#[test]
fn send_keeps_tabs_and_refuses_other_control_characters_by_name_and_position() {
    let t = start("st-", 1);
    assert!(
        wait_until(10.0, || idle(&t, "st-a1")),
        "{}",
        t.pane("st-a1")
    );
    let (code, _, err) = t.run(&["send", "a1", "name\tvalue\tnote"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || t
            .received("st-a1")
            .contains(&"name\tvalue\tnote".to_string())),
        "the tabs did not arrive as typed: {:?}",
        t.received("st-a1")
    );
    assert!(
        wait_until(10.0, || idle(&t, "st-a1")),
        "{}",
        t.pane("st-a1")
    );
    let before = typed(&t, "send").len();
    let (code, _, err) = t.run(&["send", "a1", "first line\nsay \u{1b}[201~hi"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("ESC (U+001B)"),
        "does not name the character: {err}"
    );
    assert!(
        err.contains("line 2, column 5"),
        "does not say where: {err}"
    );
    assert!(err.contains("nothing was typed"), "{err}");
    t.write("msg.txt", "carriage\rreturn\n");
    let (code, _, err) = t.run(&["send", "a1", "--file", "msg.txt"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("CR (U+000D)"),
        "does not name the character: {err}"
    );
    assert!(
        err.contains("line 1, column 9"),
        "does not say where: {err}"
    );
    assert_eq!(typed(&t, "send").len(), before, "{:?}", typed(&t, "send"));
    // CRLF line endings (a file saved on Windows) are newlines, not refused.
    t.write("crlf.txt", "one\r\ntwo\r\n");
    let (code, _, err) = t.run(&["send", "a1", "--file", "crlf.txt"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn send_refuses_a_dialog_and_keys_answer_it() {
    let t = start("sd-", 1);
    assert!(wait_until(10.0, || idle(&t, "sd-a1")));
    // Typed by hand: the demo agent's dialog neither works nor clears the input line, so
    // `send` would rightly press Enter again (and answer the dialog).
    t.tmux(&["send-keys", "-t", "=sd-a1:", "-l", "/dialog"]);
    t.tmux(&["send-keys", "-t", "=sd-a1:", "Enter"]);
    assert!(wait_until(5.0, || t.pane("sd-a1").contains("Do you trust")));
    let (code, _, err) = t.run(&["send", "a1", "hello there"]);
    assert_eq!(code, 1);
    assert!(err.contains("a1 shows a dialog"), "{err}");
    assert!(
        err.contains("Do you trust the files in this folder?"),
        "{err}"
    );
    let (code, _, err) = t.run(&["send", "a1", "--now", "hello there"]);
    assert_eq!(code, 1, "--now does not type into a dialog either");
    assert!(err.contains("Do you trust"), "{err}");
    assert!(!t.pane("sd-a1").contains("answer:"));

    let (code, _, err) = t.run(&["send", "a1", "--keys", "Esc-ape"]);
    assert_eq!(code, 1);
    assert!(err.contains("\"Esc-ape\" is not a key name"), "{err}");
    let (code, _, err) = t.run(&["send", "a1", "--keys", "2", "Enter"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || t.pane("sd-a1").contains("answer: 2")),
        "{}",
        t.pane("sd-a1")
    );
    let keys = typed(&t, "send");
    assert!(
        keys.iter()
            .any(|e| e["text"] == "2 Enter" && e["outcome"] == "delivered"),
        "{keys:?}"
    );
    assert!(!t.received("sd-a1").contains(&"hello there".to_string()));
}

#[test]
fn send_reads_stdin_and_a_file_and_pastes_multi_line_text() {
    let t = start("si-", 1);
    assert!(wait_until(10.0, || idle(&t, "si-a1")));
    let out = t
        .cmd()
        .args(["send", "a1", "-"])
        .write_stdin("  from stdin  \n")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wait_until(5.0, || t
        .received("si-a1")
        .contains(&"from stdin".to_string())));
    t.write("msg.txt", "first line\nsecond line\n");
    let (code, _, err) = t.run(&["send", "a1", "--file", "msg.txt"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(10.0, || {
            let r = t.received("si-a1");
            r.contains(&"first line".to_string()) && r.contains(&"second line".to_string())
        }),
        "{:?}",
        t.received("si-a1")
    );
}

#[test]
fn send_rejects_bad_input_with_a_clear_error() {
    let t = TestEnv::new();
    t.config(&send_config("sb-"));
    let (code, _, err) = t.run(&["send", "a2", "hi"]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown agent \"a2\""), "{err}");
    assert!(err.contains("agents in "), "{err}");
    assert!(err.contains("a1, b2"), "{err}");
    for (name, what) in [("web", "a service"), ("watchdog", "the watchdog")] {
        let (code, _, err) = t.run(&["send", name, "hi"]);
        assert_eq!(code, 1);
        assert!(err.contains(&format!("is {what}, not an agent")), "{err}");
    }
    let (code, _, err) = t.run(&["send", "a1", "  \n "]);
    assert_eq!(code, 1);
    assert!(err.contains("the message is empty"), "{err}");
    let (code, _, err) = t.run(&["send", "a1", "--file", "nope.md"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot read the message file nope.md"),
        "{err}"
    );
    let (code, _, err) = t.run(&["send", "a1"]);
    assert_eq!(code, 1);
    assert!(err.contains("nothing to send"), "{err}");
    t.write("m.txt", "x");
    let (code, _, err) = t.run(&["send", "a1", "hi", "--file", "m.txt"]);
    assert_eq!(code, 2, "a usage error");
    assert!(err.contains("cannot be used with"), "{err}");
    // Not started (no tmux server at all), then stopped with `down`.
    let (code, _, err) = t.run(&["send", "b2", "hi"]);
    assert_eq!(code, 1);
    assert!(err.contains("b2 is not running"), "{err}");
    assert!(err.contains("start it with `agents up b2`"), "{err}");
    assert_eq!(t.run(&["up", "a1"]).0, 0);
    assert_eq!(t.run(&["down", "a1"]).0, 0);
    let (code, _, err) = t.run(&["send", "a1", "hi"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("a1 is not running (stopped with `agents down`)"),
        "{err}"
    );
    assert!(typed(&t, "send").is_empty());
}

/// Issue 15 item 3: five `agents send` at once into a busy agent are typed one per idle
/// spell: each sender reads the pane again under the typing lock, so none types while the
/// agent works on another's message (the demo agent notes a line that was already waiting
/// in its input when it went idle).
#[test]
fn concurrent_sends_into_a_busy_agent_are_typed_one_per_idle_spell() {
    let t = TestEnv::new();
    t.config(&send_config("sc-"));
    up_with(&t, &[("FAKE_WORK_SECS", "3"), ("FAKE_REPLY_SECS", "2")]);
    assert!(wait_until(5.0, || busy(&t, "sc-a1")), "{}", t.pane("sc-a1"));
    let texts: Vec<String> = (1..=5).map(|i| format!("parallel message {i}")).collect();
    let results: Vec<(i32, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = texts
            .iter()
            .map(|text| s.spawn(|| t.run(&["send", "a1", "--timeout", "50", text])))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (code, _, err) in &results {
        assert_eq!(*code, 0, "{err}");
    }
    assert!(
        wait_until(15.0, || t.received("sc-a1").len() >= 5 && idle(&t, "sc-a1")),
        "{:?}\n{}",
        t.received("sc-a1"),
        t.pane("sc-a1")
    );
    let mut got = t.received("sc-a1");
    got.sort();
    assert_eq!(got, texts, "each text received once, one line each");
    let busy_lines =
        std::fs::read_to_string(t.path().join("received").join("sc-a1.typed-while-busy.txt"))
            .unwrap_or_default();
    assert!(
        busy_lines.is_empty(),
        "text typed while the agent was busy: {busy_lines}\n{}",
        t.pane("sc-a1")
    );
    let ev = typed(&t, "send");
    assert_eq!(ev.len(), 5, "{ev:?}");
    assert!(ev.iter().all(|e| e["outcome"] == "delivered"), "{ev:?}");
}

#[test]
fn a_dialog_refusal_suggests_agents_attach_which_finds_the_fleets_tmux_server() {
    // The fleet runs on its own tmux server (this test's socket): a bare `tmux attach -t`
    // would look on the default server.
    let t = start("sa-", 1);
    assert!(wait_until(10.0, || idle(&t, "sa-a1")));
    t.tmux(&["send-keys", "-t", "=sa-a1:", "-l", "/dialog"]);
    t.tmux(&["send-keys", "-t", "=sa-a1:", "Enter"]);
    assert!(wait_until(5.0, || t.pane("sa-a1").contains("Do you trust")));
    for args in [
        &["send", "a1", "hello"][..],
        &["send", "a1", "--now", "hello"],
    ] {
        let (code, _, err) = t.run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("Do you trust"), "{args:?}: {err}");
        assert!(err.contains("`agents attach a1`"), "{args:?}: {err}");
        assert!(!err.contains("tmux attach"), "{args:?}: {err}");
    }
}
