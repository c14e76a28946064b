//! Wake schedules under a real watchdog and tmux (SPEC §6 Wake, issue 7): a wake lands on an
//! idle agent one interval after its clock starts and waits for a busy one; the clock
//! survives a watchdog restart; a missing prompt file is reported once; nothing is woken
//! while the sequence is complete; a wake table added while the watchdog runs is picked up.

use std::time::{Duration, Instant};

use crate::util::*;

const WAKE_TEXT: &str = "Scheduled pass: check CI and the inbox";

/// One demo agent `a1` with `agent` lines (e.g. its `wake` table), light ticks every
/// `signal` seconds; wakes as short as 1 s are accepted (`min_wake_interval`).
fn wake_config(prefix: &str, signal: f64, agent: &str) -> String {
    demo_fleet(
        prefix,
        &format!("signal_interval = {signal}\nheavy_interval = 5\nmin_wake_interval = 1"),
    ) + &format!("\n[[agent]]\nname = \"a1\"\nprompt = \"You are agent 1.\"\n{agent}\n")
}

fn wake_line(interval: f64) -> String {
    format!("wake = {{ interval = {interval}, prompt_file = \"prompts/wake.md\" }}")
}

/// Writes the wake prompt (with whitespace to collapse) and the config, then `up`.
fn start(cfg: &str, work_secs: u32) -> TestEnv {
    let t = TestEnv::new();
    t.write(
        "prompts/wake.md",
        "  Scheduled pass:\n  check CI   and the inbox\n",
    );
    t.config(cfg);
    up_with(&t, &[("FAKE_WORK_SECS", &work_secs.to_string())]);
    wait_watchdog(&t);
    t
}

fn wakes(t: &TestEnv, outcome: &str) -> Vec<serde_json::Value> {
    t.events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "wake" && e["outcome"] == outcome)
        .collect()
}

/// How many wakes the demo agent in `session` has received.
fn woken(t: &TestEnv, session: &str) -> usize {
    t.received(session)
        .iter()
        .filter(|l| l.as_str() == WAKE_TEXT)
        .count()
}

#[test]
fn a_wake_lands_on_an_idle_agent_one_interval_after_its_clock_starts() {
    let called = Instant::now();
    let t = start(&wake_config("wk-", 1.0, &wake_line(2.0)), 1);
    assert!(
        wait_until(8.0, || woken(&t, "wk-a1") >= 1),
        "no wake: {:?}",
        t.received("wk-a1")
    );
    assert!(
        called.elapsed() >= Duration::from_secs(2),
        "woken before one interval passed"
    );
    // The event follows the verified submit.
    assert!(wait_until(3.0, || !wakes(&t, "delivered").is_empty()));
    let ev = wakes(&t, "delivered");
    assert_eq!(ev[0]["name"], "a1");
    assert_eq!(ev[0]["session"], "wk-a1");
    let typed: Vec<_> = t
        .events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "typed" && e["purpose"] == "wake")
        .collect();
    assert_eq!(typed[0]["text"], WAKE_TEXT);
    // And again, an interval later.
    assert!(
        wait_until(6.0, || woken(&t, "wk-a1") >= 2),
        "no second wake"
    );
    let rec = std::fs::read_to_string(t.path().join(".agents/state/wake.json")).unwrap();
    assert!(rec.contains("\"a1\""), "{rec}");
}

#[test]
fn a_wake_waits_for_a_busy_agent() {
    let t = start(&wake_config("wb-", 1.0, &wake_line(2.0)), 8);
    assert!(
        wait_until(6.0, || !wakes(&t, "waiting").is_empty()),
        "no waiting event while busy"
    );
    assert!(t.pane("wb-a1").contains("esc to interrupt"));
    assert!(
        wait_until(10.0, || t
            .pane("wb-a1")
            .contains("idle — waiting for input")),
        "{}",
        t.pane("wb-a1")
    );
    // A wake typed while busy would have its `delivered` event (written after the submit
    // was verified) by now.
    assert!(wakes(&t, "delivered").is_empty(), "woken while it was busy");
    assert!(
        wait_until(5.0, || woken(&t, "wb-a1") >= 1),
        "no wake once idle"
    );
    assert_eq!(wakes(&t, "waiting").len(), 1, "waiting reported once");
}

#[test]
fn a_watchdog_restart_does_not_reset_the_wake_clock() {
    let t = start(&wake_config("wr-", 0.5, &wake_line(4.0)), 1);
    assert!(wait_until(9.0, || woken(&t, "wr-a1") >= 1), "no first wake");
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    // Longer than the interval while no watchdog runs: the next one is due at once.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(woken(&t, "wr-a1"), 1);
    assert_eq!(t.run(&["up", "watchdog"]).0, 0);
    let restarted = Instant::now();
    // A clock started over would wake 4 s after the restart.
    assert!(
        wait_until(3.0, || woken(&t, "wr-a1") >= 2),
        "the wake clock was reset by the restart"
    );
    assert!(restarted.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_missing_prompt_file_is_reported_once_until_it_was_fine_again() {
    let t = start(&wake_config("wm-", 0.3, &wake_line(1.0)), 1);
    std::fs::remove_file(t.path().join("prompts/wake.md")).unwrap();
    assert!(
        wait_until(4.0, || !wakes(&t, "prompt-missing").is_empty()),
        "not reported"
    );
    std::thread::sleep(Duration::from_secs(3)); // three more due wakes
    let missing = wakes(&t, "prompt-missing");
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0]["error"]
            .as_str()
            .unwrap()
            .contains("prompts/wake.md"),
        "{missing:?}"
    );
    assert_eq!(woken(&t, "wm-a1"), 0);
    t.write("prompts/wake.md", WAKE_TEXT);
    assert!(
        wait_until(5.0, || woken(&t, "wm-a1") >= 1),
        "no wake once fixed"
    );
    std::fs::remove_file(t.path().join("prompts/wake.md")).unwrap();
    assert!(
        wait_until(5.0, || wakes(&t, "prompt-missing").len() == 2),
        "not reported again after it was fine"
    );
    let (_, log, _) = t.run(&["logs", "watchdog", "--no-follow", "-n", "200"]);
    assert!(log.contains("a1: wake skipped"), "{log}");
}

#[test]
fn no_wake_while_the_sequence_is_complete_and_a_wake_table_added_later_is_picked_up() {
    let t = start(&wake_config("wc-", 0.3, ""), 1);
    t.write(".agents/SEQUENCE-COMPLETE", "done\n");
    t.config(&wake_config("wc-", 0.3, &wake_line(1.0)));
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        woken(&t, "wc-a1"),
        0,
        "woken while the sequence was complete"
    );
    assert!(t.events(".agents").iter().all(|e| e["event"] != "wake"));
    std::fs::remove_file(t.path().join(".agents/SEQUENCE-COMPLETE")).unwrap();
    assert!(
        wait_until(5.0, || woken(&t, "wc-a1") >= 1),
        "the added wake table was not picked up"
    );
}

#[test]
fn a_corrupt_wake_record_is_reported_once_and_the_clocks_start_over() {
    let t = TestEnv::new();
    t.write(".agents/state/wake.json", "{\"a1\": half-writ");
    t.write("prompts/wake.md", WAKE_TEXT);
    t.config(&wake_config("wx-", 0.3, &wake_line(1.5)));
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    assert!(wait_until(8.0, || woken(&t, "wx-a1") >= 1), "no wake");
    let errors: Vec<_> = t
        .events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "wake-state-error")
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]["error"].as_str().unwrap().contains("is corrupt"),
        "{errors:?}"
    );
    let rec = std::fs::read_to_string(t.path().join(".agents/state/wake.json")).unwrap();
    let rec: serde_json::Value = serde_json::from_str(&rec).expect("rewritten whole");
    assert!(rec["a1"].as_f64().is_some(), "{rec}");
}

/// Issue 15 item 8: a wake reads the pane again under the typing lock. It comes due while
/// the agent is idle but another delivery holds the lock (the test, as a concurrent `agents
/// send` would); that delivery types its message and the agent turns busy. The wake, which
/// saw the agent idle before it waited for the lock, is not typed into the busy agent: it
/// lands once the agent is idle again.
#[test]
fn a_wake_that_waited_for_the_typing_lock_reads_the_pane_again_under_it() {
    let t = TestEnv::new();
    t.write("prompts/wake.md", WAKE_TEXT);
    t.config(&wake_config("wl-", 0.3, &wake_line(4.0)));
    up_with(&t, &[("FAKE_WORK_SECS", "1"), ("FAKE_REPLY_SECS", "6")]);
    wait_watchdog(&t);
    let held = hold_typing_lock(&t, "wl-a1");
    let idle = |t: &TestEnv| {
        let p = t.pane("wl-a1");
        p.contains("idle — waiting for input") && !p.contains("esc to interrupt")
    };
    assert!(wait_until(10.0, || idle(&t)), "{}", t.pane("wl-a1"));
    // The wake comes due (4 s after the watchdog first saw the agent) and waits for the lock.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(woken(&t, "wl-a1"), 0, "typed without the lock");
    t.type_line("wl-a1", "the other message");
    assert!(
        wait_until(5.0, || t.pane("wl-a1").contains("esc to interrupt")),
        "{}",
        t.pane("wl-a1")
    );
    drop(held);
    assert!(
        wait_until(15.0, || woken(&t, "wl-a1") >= 1),
        "no wake once idle: {:?}",
        t.received("wl-a1")
    );
    let busy = typed_while_busy(&t, "wl-a1");
    assert!(
        busy.is_empty(),
        "the wake was typed into the busy agent: {busy}"
    );
    assert_eq!(
        t.received("wl-a1"),
        vec!["the other message".to_string(), WAKE_TEXT.to_string()]
    );
}
