//! Promises a limited CLI makes (issue 12, item 3), with the demo agent's `/limit-auto`
//! under real tmux: Claude Code 2.1.330's auto-continue says "set to continue automatically at
//! 7:48am", drops that footer at the reset and resumes by itself only later. The watchdog
//! remembers the promise: nothing is typed through the reset plus `limit_self_resume_grace`
//! while the agent resumes by itself; one that never does gets exactly one resume nudge after
//! the grace. A corrupt `self_resume` field in the hold file is reported once.
//!
//! The banner prints minutes only, so the reset is the next whole minute: each scenario takes
//! up to about 100 s (waits poll; nothing sleeps for minutes).

use std::time::Duration;

use crate::util::*;

const GRACE: f64 = 30.0;

fn config(prefix: &str) -> String {
    demo_fleet(
        prefix,
        &format!(
            "signal_interval = 0.3\nheavy_interval = 0.6\nlimit_reset_slack = 1\n\
             limit_probe_fallback = 30\nlimit_self_resume_grace = {GRACE}"
        ),
    ) + "\n[[agent]]\nname = \"a1\"\nprompt = \"You are agent 1.\"\n"
}

fn resumes_typed(t: &TestEnv) -> Vec<serde_json::Value> {
    t.events_named("typed")
        .into_iter()
        .filter(|e| e["purpose"] == "limit-resume")
        .collect()
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn epoch(rfc3339: &serde_json::Value) -> f64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().expect("a time"))
        .unwrap_or_else(|e| panic!("{rfc3339}: {e}"))
        .timestamp() as f64
}

/// Starts the fleet, waits for the demo agent's prompt and makes it hit a limit with
/// auto-continue (`/limit-auto 5 <resume>`). Returns the promised time (epoch seconds), read
/// from the `limit-hit` event, after checking the event, the hold on disk and `status`.
fn limited_with_a_promise(prefix: &str, resume: &str) -> (TestEnv, f64) {
    let t = TestEnv::new();
    t.config(&config(prefix));
    up_with(&t, &[("FAKE_REPLY_SECS", "4")]);
    wait_watchdog(&t);
    let session = format!("{prefix}a1");
    assert!(
        wait_until(15.0, || t
            .pane(&session)
            .contains("idle — waiting for input")),
        "the demo agent did not reach its prompt:\n{}",
        t.pane(&session)
    );
    t.type_line(&session, &format!("/limit-auto 5 {resume}"));
    assert!(
        wait_until(10.0, || !t.events_named("limit-hit").is_empty()),
        "no limit-hit event:\n{}",
        t.pane(&session)
    );
    let hit = t.events_named("limit-hit").remove(0);
    let at = epoch(&hit["self_resume"]);
    assert_eq!(
        at % 60.0,
        0.0,
        "the promise is the whole minute printed: {hit}"
    );
    let why = hit["why"].as_str().unwrap();
    assert!(
        why.starts_with("the CLI said it continues by itself at ") && why.contains("; nudging at "),
        "{hit}"
    );
    let hold: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            t.path()
                .join(format!(".agents/state/limited-{session}.json")),
        )
        .expect("the hold is on disk"),
    )
    .unwrap();
    assert_eq!(hold["self_resume"]["at"].as_f64(), Some(at), "{hold}");
    let r = t.agent_row("a1");
    assert_eq!(r["state"], "limited", "{r}");
    assert!(
        r["why"]
            .as_str()
            .is_some_and(|w| w.contains("continues by itself at")),
        "{r}"
    );
    (t, at)
}

/// Waits until the reset has passed and the watchdog says it waits out the grace; the screen
/// no longer shows the promise then.
fn waits_at_the_reset(t: &TestEnv, session: &str, at: f64) {
    assert!(
        wait_until(at - now() + 20.0, || !t
            .events_named("limit-wait")
            .is_empty()),
        "no limit-wait event after the reset"
    );
    let wait = t.events_named("limit-wait").remove(0);
    assert!(
        wait["why"]
            .as_str()
            .unwrap()
            .starts_with("the CLI promised to continue by itself at "),
        "{wait}"
    );
    // The demo agent redraws its footer within a second of the reset.
    assert!(
        wait_until(5.0, || {
            let screen = t.pane(session);
            screen.contains("Continuing shortly") && !screen.contains("Continuing automatically at")
        }),
        "the promise is gone from the screen after the reset:\n{}",
        t.pane(session)
    );
    assert!(
        resumes_typed(t).is_empty(),
        "nothing typed at the reset: {:?}",
        resumes_typed(t)
    );
}

#[test]
fn a_cli_that_continues_by_itself_after_the_reset_is_never_typed_into() {
    let (t, at) = limited_with_a_promise("pra-", "20");
    waits_at_the_reset(&t, "pra-a1", at);
    // It resumes by itself 20 s after the reset: the hold is lifted, and says why.
    assert!(
        wait_until(at + 20.0 + 15.0 - now(), || !t
            .events_named("limit-lifted")
            .is_empty()),
        "the hold was not lifted when the agent resumed by itself:\n{}",
        t.pane("pra-a1")
    );
    // Seen working (or, between two ticks, its limit footer gone): it continued by itself.
    let lifted = t.events_named("limit-lifted").remove(0);
    assert!(
        lifted["why"]
            .as_str()
            .unwrap()
            .contains("the CLI continued by itself"),
        "{lifted}"
    );
    assert!(
        wait_until(10.0, || t.pane("pra-a1").contains("resumed by itself")),
        "{}",
        t.pane("pra-a1")
    );
    // Through the reset + grace and a little more: nothing typed, nothing received.
    let quiet_until = at + GRACE + 3.0;
    std::thread::sleep(Duration::from_secs_f64((quiet_until - now()).max(0.0)));
    assert!(
        t.events_named("limit-nudge").is_empty(),
        "{:?}",
        t.events_named("limit-nudge")
    );
    assert!(resumes_typed(&t).is_empty(), "{:?}", resumes_typed(&t));
    assert_eq!(
        t.received("pra-a1"),
        vec!["/limit-auto 5 20".to_string()],
        "the agent received no resume nudge"
    );
    assert!(!t.path().join(".agents/state/limited-pra-a1.json").exists());
    assert!(restarts(&t, "a1").is_empty());
}

#[test]
fn a_cli_that_promised_but_never_continues_gets_one_nudge_after_the_grace() {
    let (t, at) = limited_with_a_promise("prn-", "never");
    waits_at_the_reset(&t, "prn-a1", at);
    assert!(
        wait_until(at + GRACE + 20.0 - now(), || !resumes_typed(&t).is_empty()),
        "no resume nudge after the grace:\n{}",
        t.pane("prn-a1")
    );
    let nudge = t.events_named("limit-nudge").remove(0);
    assert!(
        epoch(&nudge["ts"]) >= at + GRACE - 1.0,
        "nudged before the reset + grace ({}): {nudge}",
        at + GRACE
    );
    let why = nudge["why"].as_str().unwrap();
    assert!(
        why.starts_with("the CLI promised to continue by itself at ")
            && why.ends_with(": resume nudge")
            && why.contains("but had not by"),
        "{nudge}"
    );
    // The agent takes the nudge, works, and the hold is lifted.
    assert!(
        wait_until(15.0, || !t.events_named("limit-lifted").is_empty()),
        "the hold was not lifted after the nudge:\n{}",
        t.pane("prn-a1")
    );
    assert_eq!(
        t.events_named("limit-lifted")[0]["why"],
        "the agent works again"
    );
    t.pass_ticks(8);
    let typed = resumes_typed(&t);
    assert_eq!(typed.len(), 1, "exactly one resume nudge: {typed:?}");
    assert_eq!(typed[0]["outcome"], "delivered", "{typed:?}");
    assert_eq!(
        t.received("prn-a1"),
        vec![
            "/limit-auto 5 never".to_string(),
            "resume now — re-check status and continue".to_string()
        ]
    );
    assert!(restarts(&t, "a1").is_empty());
}

/// The CLI said its limit is over and continued by itself while no watchdog ran ("● Usage
/// limit reset · Continuing automatically" below the banner, no prompt after its turn, as
/// Claude Code 2.1.330 draws it): a watchdog started then holds nothing and types nothing.
/// Before `resumed_re`, it read the banner above as a limit whose promised time had passed and
/// typed a resume nudge into the agent after the grace.
#[test]
fn a_watchdog_started_after_the_cli_said_its_limit_reset_holds_and_types_nothing() {
    let t = TestEnv::new();
    t.config(&config("prs-"));
    up_with(&t, &[("FAKE_REPLY_SECS", "1")]);
    wait_watchdog(&t);
    assert!(
        wait_until(15.0, || t
            .pane("prs-a1")
            .contains("idle — waiting for input")),
        "{}",
        t.pane("prs-a1")
    );
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    assert!(
        wait_until(15.0, || !watchdog_running(&t)),
        "the watchdog still runs"
    );
    t.type_line("prs-a1", "/limit-auto 5 2 quiet");
    assert!(
        wait_until(90.0, || t.pane("prs-a1").contains("resumed by itself")),
        "the demo agent did not resume by itself:\n{}",
        t.pane("prs-a1")
    );
    assert!(
        t.pane("prs-a1")
            .contains("● Usage limit reset · Continuing automatically")
    );
    let (code, out, err) = t.run(&["up", "watchdog"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        wait_until(15.0, || watchdog_running(&t)),
        "the watchdog did not start again"
    );
    // Through the grace after the (passed) reset, and a little more.
    std::thread::sleep(Duration::from_secs_f64(GRACE + 8.0));
    assert!(
        t.events_named("limit-hit").is_empty(),
        "{:?}",
        t.events_named("limit-hit")
    );
    assert!(resumes_typed(&t).is_empty(), "{:?}", resumes_typed(&t));
    assert_eq!(
        t.received("prs-a1"),
        vec!["/limit-auto 5 2 quiet".to_string()],
        "the agent received no resume nudge"
    );
    let r = t.agent_row("a1");
    assert_eq!(r["state"], "idle", "{r}");
    assert!(!t.path().join(".agents/state/limited-prs-a1.json").exists());
}

#[test]
fn a_corrupt_self_resume_field_is_reported_once_and_the_hold_stays() {
    let t = TestEnv::new();
    t.config(&config("prc-"));
    up_with(&t, &[]);
    wait_watchdog(&t);
    assert!(
        wait_until(15.0, || t
            .pane("prc-a1")
            .contains("idle — waiting for input")),
        "{}",
        t.pane("prc-a1")
    );
    t.type_line("prc-a1", "/limit 3000");
    let file = t.path().join(".agents/state/limited-prc-a1.json");
    assert!(
        wait_until(10.0, || file.is_file()),
        "no hold:\n{}",
        t.pane("prc-a1")
    );
    let mut hold: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let until = hold["until"].as_f64().unwrap();
    hold["self_resume"] = serde_json::json!({"at": "7:48am"});
    std::fs::write(&file, hold.to_string()).unwrap();
    assert!(
        wait_until(5.0, || !t.events_named("state-corrupt").is_empty()),
        "the corrupt field was not reported"
    );
    t.pass_ticks(5);
    let reports = t.events_named("state-corrupt");
    assert_eq!(reports.len(), 1, "reported once: {reports:?}");
    let why = reports[0]["why"].as_str().unwrap();
    assert!(
        why.contains("limited-prc-a1.json")
            && why.contains("self_resume")
            && why.contains("7:48am")
            && why.ends_with("treated as absent"),
        "{why}"
    );
    // The rest of the hold still holds.
    let r = t.agent_row("a1");
    assert_eq!(r["state"], "limited", "{r}");
    assert_eq!(epoch(&r["until"]), until.floor(), "{r}");
    assert!(resumes_typed(&t).is_empty());
}
