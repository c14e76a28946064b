//! The Claude Code scenarios (issue 12, item 8). Each asserts what a user sees: `agents
//! status --json`, `events.jsonl`, the screen, and the mock's request log (`main` turns, their
//! `text`, the CLI process's `session`).

use std::time::Duration;

use serde_json::Value;

use super::{AGENT, Home, Setup, fleet, install_root};
use crate::harness::{
    Fleet, Installed, Scenario, minute_after, now, signal_names as names, urlencode,
};

/// The scenarios, longest first (a capped run starts those first).
pub fn all() -> Vec<Scenario> {
    vec![
        (
            "claude::limit_with_auto_continue_nothing_is_typed",
            limit_with_auto_continue_nothing_is_typed,
        ),
        (
            "claude::limit_chooser_is_answered_and_resumed_exactly_once",
            limit_chooser_is_answered_and_resumed_exactly_once,
        ),
        (
            "claude::trust_dialog_is_reported_and_never_typed_into",
            trust_dialog_is_reported_and_never_typed_into,
        ),
        (
            "claude::bypass_dialog_is_reported_and_never_typed_into",
            bypass_dialog_is_reported_and_never_typed_into,
        ),
        (
            "claude::trust_dialog_with_an_answer_is_answered_once_by_its_label",
            trust_dialog_with_an_answer_is_answered_once_by_its_label,
        ),
        (
            "claude::stall_nudge_is_typed_exactly_once",
            stall_nudge_is_typed_exactly_once,
        ),
        (
            "claude::status_is_active_through_a_slow_reply_then_idle",
            status_is_active_through_a_slow_reply_then_idle,
        ),
        (
            "claude::kickoff_exactly_once_at_start_and_after_restart",
            kickoff_exactly_once_at_start_and_after_restart,
        ),
        (
            "claude::send_is_delivered_exactly_once",
            send_is_delivered_exactly_once,
        ),
        (
            "claude::hooks_record_each_turn_and_a_limit_and_leave_the_users_settings",
            hooks_record_each_turn_and_a_limit_and_leave_the_users_settings,
        ),
        (
            "claude::a_reply_quoting_banners_is_no_evidence",
            a_reply_quoting_banners_is_no_evidence,
        ),
        (
            "claude::down_leaves_no_claude_process",
            down_leaves_no_claude_process,
        ),
        (
            "claude::latency_hook_vs_screen_figures",
            latency_hook_vs_screen_figures,
        ),
    ]
}

/// Figures for issue 14 (not a check; runs only with `E2E_LATENCY=1`): with `hooks =
/// "claude"` and with `hooks = "none"`, 10 turns each of a reply streamed over 2 s; for each,
/// the time from the mock receiving the request (its log's `ts`) to `agents status --json`
/// saying `active`, and from the reply's end (request + 4 words × 0.5 s) to `idle`, polled
/// as fast as `status` answers. Logs the medians. The watchdog ticks every 1 s
/// (`signal_interval = 1`, the harness's).
fn latency_hook_vs_screen_figures(cli: &Installed) {
    if std::env::var("E2E_LATENCY").is_err() {
        return;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    for hooks in ["claude", "none"] {
        let k = kickoff(&format!("latency-{hooks}"));
        let table = format!("hooks = \"{hooks}\"");
        let f = started(
            cli,
            Setup {
                backend: &table,
                ..plain("latency_hook_vs_screen_figures", &k)
            },
        );
        let reply = "Four words, slowly streamed.";
        f.mock.ctl("reply", &format!("text={}", urlencode(reply)));
        f.mock.ctl("delay", "s=0.5");
        let (mut to_active, mut to_idle) = (vec![], vec![]);
        for i in 0..10 {
            let text = format!("E2E latency {hooks} turn {i}: reply.");
            let (code, out, err) = f.agents(&["send", AGENT, &text]);
            if code != 0 {
                f.fail(&format!("agents send exited {code}: {out}{err}"));
            }
            let mut active_at = None;
            let deadline = now() + 60.0;
            let idle_at = loop {
                let st = f.state(AGENT);
                let t = now();
                if st == "active" && active_at.is_none() {
                    active_at = Some(t);
                }
                if st == "idle" && active_at.is_some() {
                    break t;
                }
                if t > deadline {
                    f.fail(&format!("turn {i}: no active then idle in 60 s"));
                }
            };
            let turn = f.mock.turns_with(&text);
            let Some(start) = turn.first().map(ts) else {
                f.fail(&format!("turn {i}: not at the mock"));
            };
            let end = start + 4.0 * 0.5;
            to_active.push(active_at.unwrap_or(start) - start);
            to_idle.push(idle_at - end);
        }
        f.log(&format!(
            "LATENCY hooks={hooks}: request->active median {:.2} s {to_active:.2?}; reply end->idle median {:.2} s {to_idle:.2?}",
            median(&mut to_active.clone()),
            median(&mut to_idle.clone())
        ));
        f.agents(&["down"]);
    }
}

/// `[watchdog] limit_self_resume_grace` for the auto-continue scenario (default 180 s): 150 s
/// covers the 30–120 s Claude Code 2.1.330 takes to resume after the reset.
const LIMIT_SELF_RESUME_GRACE: u32 = 150;

/// What Claude Code 2.1.330 sends when it continues by itself after a plan limit.
const SELF_RESUME_PREFIX: &str = "Your claude.ai usage limit has reset";

/// The agent's session (prefix `e2e-`).
fn session() -> String {
    format!("e2e-{AGENT}")
}

fn kickoff(scenario: &str) -> String {
    format!("E2E kickoff of scenario {scenario}: you are agent {AGENT}. Reply briefly.")
}

/// A heal-only fleet on the preset as built in.
fn plain<'a>(scenario: &'a str, kickoff: &'a str) -> Setup<'a> {
    Setup {
        scenario,
        watch: "heal",
        watchdog: "",
        backend: "",
        kickoff,
        home: Home::default(),
    }
}

/// `up`, then waits for the kickoff turn at the mock and for `status` to say idle.
fn started(cli: &Installed, s: Setup) -> Fleet {
    let k = s.kickoff.to_string();
    let f = fleet(cli, s);
    f.up();
    f.log("up; waiting for the kickoff turn");
    f.wait_for(120.0, "the kickoff turn at the mock", || {
        !f.mock.turns_with(&k).is_empty()
    });
    f.wait_for(90.0, "status idle after the kickoff reply", || {
        f.state(AGENT) == "idle"
    });
    f.log("kickoff answered, idle");
    f
}

fn sleep(secs: f64) {
    std::thread::sleep(Duration::from_secs_f64(secs));
}

fn ts(r: &Value) -> f64 {
    r["ts"].as_f64().unwrap_or(0.0)
}

/// Scenario 1: a slow reply keeps the agent `active` in `status` from start to end, then it
/// is `idle`, once: sampled every 0.5 s, the states after the turn began read active, then
/// idle, with no flapping between.
fn status_is_active_through_a_slow_reply_then_idle(cli: &Installed) {
    let k = kickoff("status");
    let f = started(
        cli,
        plain("status_is_active_through_a_slow_reply_then_idle", &k),
    );
    let reply = "This slow reply streams one word at a time, so the agent is busy for a while.";
    let delay = 1.5;
    f.mock.ctl("reply", &format!("text={}", urlencode(reply)));
    f.mock.ctl("delay", &format!("s={delay}"));
    let stream_secs = reply.split(' ').count() as f64 * delay;
    let text = "E2E status: take your time with this one.";
    let (code, out, err) = f.agents(&["send", AGENT, text]);
    if code != 0 {
        f.fail(&format!("agents send exited {code}: {out}{err}"));
    }
    f.log("sent; sampling status every 0.5 s");
    let samples = f.sample_until_idle(AGENT, stream_secs + 90.0);
    let turn = f.mock.turns_with(text);
    if turn.len() != 1 {
        f.fail(&format!(
            "the mock got {} turns with the sent text, not 1",
            turn.len()
        ));
    }
    let start = ts(&turn[0]);
    let end = start + stream_secs;
    let shown = samples
        .iter()
        .map(|(t, s)| format!("{:+.1}s {s}", t - start))
        .collect::<Vec<_>>()
        .join(", ");
    f.log(&format!(
        "samples (relative to the turn's request): {shown}"
    ));
    let others: Vec<&(f64, String)> = samples
        .iter()
        .filter(|(_, s)| s != "active" && s != "idle")
        .collect();
    if !others.is_empty() {
        f.fail(&format!(
            "status showed states other than active/idle: {others:?}\nsamples: {shown}"
        ));
    }
    let during: Vec<&(f64, String)> = samples
        .iter()
        .filter(|(t, _)| *t >= start + 2.0 && *t <= end - 2.0)
        .collect();
    if during.len() < 5 {
        f.fail(&format!(
            "too few samples during the {stream_secs:.0} s reply ({}): {shown}",
            during.len()
        ));
    }
    if let Some((t, s)) = during.iter().find(|(_, s)| s != "active") {
        f.fail(&format!(
            "status said {s} {:.1} s into a {stream_secs:.0} s reply (the CLI was still streaming)\nsamples: {shown}",
            t - start
        ));
    }
    // After the watchdog's first tick into the turn: active, then idle, once.
    let mut seq: Vec<&str> = vec![];
    for (_, s) in samples.iter().filter(|(t, _)| *t >= start + 2.0) {
        if seq.last() != Some(&s.as_str()) {
            seq.push(s);
        }
    }
    if seq != ["active", "idle"] {
        f.fail(&format!(
            "status went {} (want active then idle, once)\nsamples: {shown}",
            seq.join(" → ")
        ));
    }
    if !f.screen(&session()).contains("busy for a while.") {
        f.fail("the reply's last words are not on the screen");
    }
}

/// Scenario 2: `agents send` exits 0 and the mock gets the text exactly once.
fn send_is_delivered_exactly_once(cli: &Installed) {
    let k = kickoff("send");
    let f = started(cli, plain("send_is_delivered_exactly_once", &k));
    let text = "E2E send: this message must arrive exactly once.";
    f.check_send_exactly_once(AGENT, text);
}

/// The signals the CLI's hooks recorded (`log_dir/state/signals-e2e-a.jsonl`).
fn signal_events(f: &Fleet) -> Vec<Value> {
    f.signals(&session())
}

/// Issue 14 item 1: the built-in preset starts Claude Code 2.1.330 with `--settings
/// log_dir/state/hooks-e2e-a.json`; its hooks record `SessionStart` (with the transcript),
/// `UserPromptSubmit` and Stop for the kickoff and for a sent message, and `StopFailure`
/// `rate_limit` for a turn that hits the plan limit, through `agents signal`; the user's
/// `~/.claude/settings.json` is byte for byte what it was.
fn hooks_record_each_turn_and_a_limit_and_leave_the_users_settings(cli: &Installed) {
    let k = kickoff("hooks");
    let f = started(
        cli,
        plain(
            "hooks_record_each_turn_and_a_limit_and_leave_the_users_settings",
            &k,
        ),
    );
    let users = f.home.join(".claude/settings.json");
    let before = std::fs::read(&users).unwrap_or_default();
    f.wait_for(10.0, "Stop of the kickoff turn in the signals", || {
        names(&signal_events(&f)).contains(&"Stop")
    });
    let s = signal_events(&f);
    f.log(&format!("after the kickoff: {:?}", names(&s)));
    if names(&s) != ["SessionStart", "UserPromptSubmit", "Stop"] {
        f.fail(&format!("want SessionStart, UserPromptSubmit, Stop: {s:?}"));
    }
    if !s[0]["transcript_path"].as_str().is_some_and(|p| {
        std::path::Path::new(p)
            .extension()
            .is_some_and(|e| e == "jsonl")
    }) || s[0]["source"] != "startup"
    {
        f.fail(&format!(
            "SessionStart without its transcript or source: {}",
            s[0]
        ));
    }
    let text = "E2E hooks: a turn the hooks record.";
    let (code, out, err) = f.agents(&["send", AGENT, text]);
    if code != 0 {
        f.fail(&format!("agents send exited {code}: {out}{err}"));
    }
    f.wait_for(60.0, "UserPromptSubmit and Stop of the sent turn", || {
        names(&signal_events(&f)).len() >= 5
    });
    let s = signal_events(&f);
    if names(&s)[3..] != ["UserPromptSubmit", "Stop"] {
        f.fail(&format!(
            "the sent turn: want UserPromptSubmit, Stop: {:?}",
            names(&s)
        ));
    }
    // `agents logs` shows the conversation from the transcript the hooks named. Claude Code
    // 2.1.330 writes its transcript on its own schedule: under load the Stop hook of a turn
    // ran before the turn's lines were in the file, so the logs get a few seconds to show it.
    let shows_turn = |out: &str| {
        out.lines()
            .any(|l| l.ends_with(&format!("user      {text}")))
    };
    let mut last = (0, String::new(), String::new());
    f.wait_maybe(15.0, || {
        last = f.agents(&["logs", AGENT, "--no-follow", "-n", "50"]);
        last.0 == 0 && shows_turn(&last.1)
    });
    let (code, out, err) = last;
    if code != 0 || !shows_turn(&out) {
        f.fail(&format!(
            "agents logs does not show the sent turn ({code}): {out}{err}"
        ));
    }
    if !out.lines().any(|l| l.contains(" assistant ")) {
        f.fail(&format!("agents logs shows no reply: {out}"));
    }
    let (_, reset) = hit_the_limit(&f);
    f.wait_for(30.0, "StopFailure of the limited turn", || {
        names(&signal_events(&f)).contains(&"StopFailure")
    });
    let s = signal_events(&f);
    f.log(&format!("after the limit: {:?}", names(&s)));
    let fail = s.iter().find(|x| x["event"] == "StopFailure").unwrap();
    if fail["error"] != "rate_limit"
        || !fail["last_assistant_message"]
            .as_str()
            .is_some_and(|m| m.contains("limit"))
    {
        f.fail(&format!(
            "StopFailure is not a rate_limit with the banner: {fail}"
        ));
    }
    f.log(&format!(
        "the limit resets at {reset}; its words: {}",
        fail["last_assistant_message"]
    ));
    // The watchdog's hold names where it learnt of the limit: the hook (StopFailure before
    // the banner was drawn) or the screen, whichever its tick saw first.
    f.wait_for(30.0, "the watchdog's limit-hit", || {
        !f.events_named("limit-hit", AGENT).is_empty()
    });
    let hit = f.events_named("limit-hit", AGENT).remove(0);
    let source = hit["evidence"]["source"].as_str().unwrap_or("");
    if !["hook", "screen"].contains(&source) {
        f.fail(&format!("limit-hit names no source hook or screen: {hit}"));
    }
    f.log(&format!("limit-hit from the {source}: {}", hit["evidence"]));
    // The plan usage the CLI gave its status line (ours), for `status`.
    let usage =
        f.t.path()
            .join(format!(".agents/state/usage-{}.json", session()));
    let read = || -> Value {
        serde_json::from_slice(&std::fs::read(&usage).unwrap_or_default()).unwrap_or_default()
    };
    f.wait_for(
        15.0,
        "the 5-hour window full until the reset in the usage",
        || {
            let w = &read()["windows"][0];
            w["name"] == "5h" && w["used_percentage"] == 100.0 && w["resets_at"] == reset
        },
    );
    f.log(&format!("usage after the limit: {}", read()));
    // The limit in the conversation: the CLI's error message, as an `error` line.
    let (_, out, _) = f.agents(&["logs", AGENT, "--no-follow", "-n", "3"]);
    f.log(&format!("agents logs -n 3 after the limit:\n{out}"));
    if !out
        .lines()
        .any(|l| l.contains(" error     ") && l.contains("limit"))
    {
        f.fail(&format!(
            "agents logs does not show the limit as an error: {out}"
        ));
    }
    if std::fs::read(&users).unwrap_or_default() != before {
        f.fail("the user's ~/.claude/settings.json changed");
    }
    let hooks =
        f.t.path()
            .join(format!(".agents/state/hooks-{}.json", session()));
    if !hooks.exists() {
        f.fail("no hooks file in the state dir");
    }
}

/// Issue 15 item 1: a reply that quotes the limit banner, the permission question and the
/// offline error (on lines of their own, as the real CLI renders prose) leaves the agent
/// `idle`: not held, not a dialog, not restarted; a message sent after it is delivered.
fn a_reply_quoting_banners_is_no_evidence(cli: &Installed) {
    let k = kickoff("quotes");
    let f = started(cli, plain("a_reply_quoting_banners_is_no_evidence", &k));
    let reply = "When the quota runs out, Claude Code prints:\n\nYou've hit your session limit · resets 6:50pm (America/Los_Angeles)\n\nBefore a command it asks:\n\nDo you want to proceed?\n\nOffline it prints:\n\nUnable to connect to Anthropic services\n\nThat is all.";
    f.mock.ctl("reply", &format!("text={}", urlencode(reply)));
    let text = "E2E quotes: what do the CLI's banners say?";
    let (code, out, err) = f.agents(&["send", AGENT, text]);
    if code != 0 {
        f.fail(&format!("agents send exited {code}: {out}{err}"));
    }
    f.wait_for(30.0, "the question at the mock", || {
        !f.mock.turns_with(text).is_empty()
    });
    f.wait_for(60.0, "the quoting reply on the screen", || {
        f.screen(&session())
            .contains("Unable to connect to Anthropic services")
    });
    // A few watchdog ticks: a hold, a dialog or a restart would show by now.
    for _ in 0..10 {
        let state = f.state(AGENT);
        if state != "idle" && state != "active" {
            f.fail(&format!(
                "status reads {state:?} for a reply that only quotes banners"
            ));
        }
        sleep(0.5);
    }
    if f.state(AGENT) != "idle" {
        f.fail("not idle after the quoting reply");
    }
    f.mock
        .ctl("reply", &format!("text={}", urlencode("Noted.")));
    let next = "E2E quotes: and now carry on.";
    let (code, out, err) = f.agents(&["send", AGENT, "--timeout", "30", next]);
    if code != 0 {
        f.fail(&format!(
            "the send after the quoting reply exited {code}: {out}{err}"
        ));
    }
    f.wait_for(30.0, "the next message at the mock", || {
        !f.mock.turns_with(next).is_empty()
    });
    let sessions: std::collections::BTreeSet<String> = f
        .mock
        .turns()
        .iter()
        .filter_map(|r| r["session"].as_str().map(String::from))
        .collect();
    if sessions.len() != 1 {
        f.fail(&format!("the CLI was restarted: sessions {sessions:?}"));
    }
}

/// Scenario 3: the kickoff reaches the CLI exactly once at start, and exactly once again in
/// the new CLI process after `agents restart a`.
fn kickoff_exactly_once_at_start_and_after_restart(cli: &Installed) {
    let k = kickoff("kickoff");
    let f = started(
        cli,
        plain("kickoff_exactly_once_at_start_and_after_restart", &k),
    );
    f.check_kickoff_once_across_restart(AGENT, &session(), &k);
}

/// Scenario 4: an idle agent under `heal+stall` gets the stall nudge exactly once: the mock
/// sees the nudge's text once in the running conversation, and nothing else is typed before
/// another full `stall_idle` could have passed.
fn stall_nudge_is_typed_exactly_once(cli: &Installed) {
    let stall_idle = 20.0;
    let k = kickoff("stall");
    let backend = format!("stall_idle = {stall_idle}");
    let f = started(
        cli,
        Setup {
            watch: "heal+stall",
            backend: &backend,
            ..plain("stall_nudge_is_typed_exactly_once", &k)
        },
    );
    let nudge = agents::config::validate::DEFAULT_STALL_NUDGE;
    let s1 = f.mock.turns_with(&k)[0]["session"].clone();
    f.wait_for(stall_idle + 90.0, "the stall nudge at the mock", || {
        !f.mock.turns_with(nudge).is_empty()
    });
    let t0 = ts(&f.mock.turns_with(nudge)[0]);
    f.log("nudged; watching for a second one");
    // No second nudge can be due before another stall_idle has passed.
    let until = t0 + stall_idle - 2.0;
    while now() < until {
        sleep(0.5);
    }
    let nudges = f.mock.turns_with(nudge);
    if nudges.len() != 1 {
        f.fail(&format!(
            "the mock got the stall nudge {} times within {stall_idle:.0} s",
            nudges.len()
        ));
    }
    if nudges[0]["session"] != s1 {
        f.fail("the nudge went to a new CLI process, not the idle conversation");
    }
    let ev = f.events_named("stall-nudge", AGENT);
    let typed = f.typed(AGENT, "stall-nudge");
    if ev.len() != 1 || typed.len() != 1 || typed[0]["outcome"] != "delivered" {
        f.fail(&format!(
            "want one stall-nudge event and one delivered `typed` event: {ev:?} {typed:?}"
        ));
    }
    if !f.events_named("restart", AGENT).is_empty() {
        f.fail("the agent was restarted before a second stall_idle passed");
    }
}

/// Which start-up dialog a scenario provokes.
#[derive(Clone, Copy)]
enum Dialog {
    /// The project dir is not trusted: "Quick safety check: Is this a project you created or
    /// one you trust?" (2.1.330).
    Trust,
    /// Bypass-permissions mode not accepted yet: "WARNING: Claude Code running in Bypass
    /// Permissions mode" (2.1.330).
    Bypass,
}

fn trust_dialog_is_reported_and_never_typed_into(cli: &Installed) {
    dialog_scenario(cli, Dialog::Trust);
}

fn bypass_dialog_is_reported_and_never_typed_into(cli: &Installed) {
    dialog_scenario(cli, Dialog::Bypass);
}

/// Scenario 5: a start-up dialog is `dialog` in `status`, one `dialog` event, and nothing is
/// typed into it: not by the watchdog (a stall nudge would be due every `stall_idle`), not by
/// `agents send` (refused, non-zero): after many ticks the CLI still shows the dialog, in the
/// same process, and has sent nothing to the API.
fn dialog_scenario(cli: &Installed, which: Dialog) {
    let stall_idle = 8.0;
    let (name, marker, home) = match which {
        Dialog::Trust => (
            "trust_dialog_is_reported_and_never_typed_into",
            "Quick safety check",
            Home {
                trusted: false,
                ..Home::default()
            },
        ),
        Dialog::Bypass => (
            "bypass_dialog_is_reported_and_never_typed_into",
            "Bypass Permissions mode",
            Home {
                bypass_accepted: false,
                ..Home::default()
            },
        ),
    };
    let k = kickoff(name);
    let backend = format!("stall_idle = {stall_idle}");
    let f = fleet(
        cli,
        Setup {
            watch: "heal+stall",
            backend: &backend,
            home,
            ..plain(name, &k)
        },
    );
    f.up();
    let mut problems = f.dialog_problems(AGENT, &session(), marker, 3.0 * stall_idle);
    if !f.mock.turns().is_empty() {
        problems.push(format!(
            "the CLI got past the dialog: the mock got {} turns",
            f.mock.turns().len()
        ));
    }
    if !problems.is_empty() {
        f.fail(&problems.join("\n"));
    }
}

/// Issue 14 item 4: with `answers = [{ when = "Quick safety check", choose = "^Yes, I trust" }]`
/// over the preset, the watchdog answers the real 2.1.330 trust dialog once, by the label (its
/// highlighted option is "No, exit": Down, then Enter); the CLI goes on to the kickoff, which
/// reaches the mock exactly once; one `dialog-answer` event, no restart, nothing else typed.
fn trust_dialog_with_an_answer_is_answered_once_by_its_label(cli: &Installed) {
    let name = "trust_dialog_with_an_answer_is_answered_once_by_its_label";
    let k = kickoff(name);
    let f = fleet(
        cli,
        Setup {
            backend: r#"answers = [{ when = "Quick safety check", choose = "^Yes, I trust" }]"#,
            home: Home {
                trusted: false,
                ..Home::default()
            },
            ..plain(name, &k)
        },
    );
    f.up();
    f.wait_for(
        90.0,
        "the kickoff turn at the mock, past the dialog",
        || !f.mock.turns_with(&k).is_empty(),
    );
    f.wait_for(60.0, "status idle after the kickoff reply", || {
        f.state(AGENT) == "idle"
    });
    sleep(5.0);
    let answers = f.events_named("dialog-answer", AGENT);
    f.log(&format!("dialog-answer events: {answers:?}"));
    if answers.len() != 1 || answers[0]["label"] != "Yes, I trust this folder" {
        f.fail(&format!(
            "want one dialog-answer picking the trust option: {answers:?}"
        ));
    }
    if f.mock.turns_with(&k).len() != 1 {
        f.fail(&format!(
            "the kickoff reached the mock {} times",
            f.mock.turns_with(&k).len()
        ));
    }
    let restarts = f.events_named("restart", AGENT);
    if !restarts.is_empty() {
        f.fail(&format!("the agent was restarted: {restarts:?}"));
    }
}

/// Sends the turn that hits the plan limit (the mock limited until a whole minute at least
/// 40 s ahead); returns (the text, the reset epoch).
fn hit_the_limit(f: &Fleet) -> (String, u64) {
    let reset = minute_after(40);
    f.mock.ctl("limit", &format!("reset={reset}"));
    let text = "E2E limit: this turn hits the plan limit.".to_string();
    let (code, out, err) = f.agents(&["send", AGENT, &text]);
    if code != 0 {
        f.fail(&format!("agents send exited {code}: {out}{err}"));
    }
    f.wait_for(30.0, "the limited turn (429) at the mock", || {
        f.mock.turns_with(&text).iter().any(|r| r["status"] == 429)
    });
    f.log(&format!(
        "limited until {reset} ({:.0} s from now)",
        reset as f64 - now()
    ));
    (text, reset)
}

/// Scenario 6a: a plan limit with Claude Code's default auto-continue. The CLI promises to
/// continue by itself ("Continuing automatically at …") and does, 30–120 s after the reset:
/// the watchdog holds (`limited`) and types nothing: no `limit-resume`, and the mock sees no
/// user turn after the limited one but the CLI's own "Your claude.ai usage limit has reset".
fn limit_with_auto_continue_nothing_is_typed(cli: &Installed) {
    let k = kickoff("auto-continue");
    let watchdog =
        format!("limit_reset_slack = 5\nlimit_self_resume_grace = {LIMIT_SELF_RESUME_GRACE}");
    let f = started(
        cli,
        Setup {
            watchdog: &watchdog,
            ..plain("limit_with_auto_continue_nothing_is_typed", &k)
        },
    );
    let (text, reset) = hit_the_limit(&f);
    f.wait_for(30.0, "the CLI's promise on screen", || {
        f.screen(&session()).contains("Continuing automatically at")
    });
    f.wait_for(30.0, "status limited", || f.state(AGENT) == "limited");
    if f.events_named("limit-hit", AGENT).is_empty() {
        f.fail("status says limited but there is no limit-hit event");
    }
    f.log("held; waiting for the CLI to continue by itself after the reset");
    let self_resumed = |f: &Fleet| {
        f.mock.turns().into_iter().any(|r| {
            r["status"] == 200
                && r["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with(SELF_RESUME_PREFIX))
        })
    };
    // Up to 150 s past the reset (the CLI took 65–101 s in the measurements); stop early
    // when the watchdog types its resume.
    let deadline = reset as f64 + 150.0;
    while now() < deadline && !self_resumed(&f) && f.typed(AGENT, "limit-resume").is_empty() {
        sleep(1.0);
    }
    if self_resumed(&f) {
        f.log("the CLI continued by itself; a few more ticks");
        sleep(8.0);
    }
    let typed: Vec<Value> = f
        .events_named("typed", AGENT)
        .into_iter()
        .filter(|e| e["purpose"] != "send")
        .collect();
    let nudges = f.events_named("limit-nudge", AGENT);
    let first_limited = f
        .mock
        .turns_with(&text)
        .iter()
        .map(ts)
        .fold(f64::MAX, f64::min);
    let extra: Vec<String> = f
        .mock
        .turns()
        .into_iter()
        .filter(|r| ts(r) > first_limited)
        .filter_map(|r| r["text"].as_str().map(str::to_string))
        .filter(|t| t != &text && !t.starts_with(SELF_RESUME_PREFIX))
        .collect();
    let mut problems = vec![];
    if !typed.is_empty() || !nudges.is_empty() {
        problems.push(format!(
            "the watchdog typed into a CLI that said it continues by itself: {typed:?} {nudges:?}"
        ));
    }
    if !extra.is_empty() {
        problems.push(format!(
            "the mock got extra user turns after the limit: {extra:?}"
        ));
    }
    if !self_resumed(&f) && typed.is_empty() {
        problems.push("the CLI never continued by itself (within 150 s of the reset)".into());
    }
    let st = f.state(AGENT);
    if self_resumed(&f) && st != "idle" && st != "active" {
        problems.push(format!("status says {st} after the CLI continued"));
    }
    if !problems.is_empty() {
        f.fail(&problems.join("\n"));
    }
}

/// Scenario 6b: a plan limit with auto-continue off (`autoContinueAtUsageLimit: false` in the
/// project's `.claude/settings.json`). The CLI asks "What do you want to do?"; the watchdog
/// answers with the number of "Stop and wait for limit to reset" (`limit-choice`), holds, and
/// after the reset + slack types exactly one resume: one `limit-resume`, one user turn at the
/// mock, and the CLI never continued by itself.
fn limit_chooser_is_answered_and_resumed_exactly_once(cli: &Installed) {
    let k = kickoff("chooser");
    let slack = 5.0;
    let watchdog = format!("limit_reset_slack = {slack}");
    let f = started(
        cli,
        Setup {
            watchdog: &watchdog,
            home: Home {
                auto_continue: false,
                ..Home::default()
            },
            ..plain("limit_chooser_is_answered_and_resumed_exactly_once", &k)
        },
    );
    let (text, reset) = hit_the_limit(&f);
    f.wait_for(30.0, "a limit-choice event", || {
        !f.events_named("limit-choice", AGENT).is_empty()
    });
    let choice = f.events_named("limit-choice", AGENT);
    if choice.len() != 1 || choice[0]["key"] != "1" {
        f.fail(&format!(
            "want the chooser answered once with `1` (Stop and wait for limit to reset): {choice:?}"
        ));
    }
    f.wait_for(15.0, "the chooser gone after the answer", || {
        !f.screen(&session()).contains("What do you want to do?")
    });
    f.wait_for(15.0, "status limited", || f.state(AGENT) == "limited");
    f.log("answered and held; waiting for the resume after the reset");
    let first_limited = f
        .mock
        .turns_with(&text)
        .iter()
        .map(ts)
        .fold(f64::MAX, f64::min);
    let later = |f: &Fleet| -> Vec<Value> {
        f.mock
            .turns()
            .into_iter()
            .filter(|r| ts(r) > first_limited && r["text"] != text.as_str())
            .collect()
    };
    f.wait_for(
        reset as f64 + slack + 90.0 - now(),
        "a user turn at the mock after the reset",
        || !later(&f).is_empty(),
    );
    f.wait_for(60.0, "status idle after the resume", || {
        f.state(AGENT) == "idle"
    });
    sleep(10.0); // ticks: a second resume would be typed by now
    let resumes = f.typed(AGENT, "limit-resume");
    let turns = later(&f);
    let mut problems = vec![];
    if resumes.len() != 1 {
        problems.push(format!("want one limit-resume `typed` event: {resumes:?}"));
    }
    if turns.len() != 1 {
        problems.push(format!(
            "want one user turn after the limit, got {}: {:?}",
            turns.len(),
            turns.iter().map(|r| &r["text"]).collect::<Vec<_>>()
        ));
    }
    if let (Some(r), Some(e)) = (turns.first(), resumes.first()) {
        if r["text"].as_str().map(str::trim) != e["text"].as_str().map(str::trim) {
            problems.push(format!(
                "the turn after the limit is not the resume the watchdog typed: {} vs {}",
                r["text"], e["text"]
            ));
        }
        if ts(r) < reset as f64 {
            problems.push("the resume came before the reset".into());
        }
    }
    if f.events_named("limit-choice", AGENT).len() != 1 {
        problems.push("the chooser was answered more than once".into());
    }
    if f.t
        .path()
        .join(format!(".agents/state/limited-{}.json", session()))
        .exists()
    {
        problems.push("the hold is still on disk after the resume".into());
    }
    if !problems.is_empty() {
        f.fail(&problems.join("\n"));
    }
}

/// Scenario 7: `agents down` leaves no Claude Code (or node) process of the fleet and no
/// tmux session.
fn down_leaves_no_claude_process(cli: &Installed) {
    let k = kickoff("down");
    let f = started(cli, plain("down_leaves_no_claude_process", &k));
    let root = install_root(cli).display().to_string();
    let is_cli = |p: &crate::harness::Proc| {
        p.exe.starts_with(&root)
            || p.exe.ends_with("/node")
            || p.exe.ends_with("/claude")
            || p.exe.ends_with("/claude.exe")
            || p.cmdline.contains(&root)
    };
    let before: Vec<_> = f.processes().into_iter().filter(is_cli).collect();
    if before.is_empty() {
        f.fail(&format!(
            "no Claude Code process found with the fleet's HOME before `down` (the scan would prove nothing): {:?}",
            f.processes()
        ));
    }
    f.log(&format!(
        "{} Claude Code processes before down",
        before.len()
    ));
    let (code, out, err) = f.agents(&["down"]);
    if code != 0 {
        f.fail(&format!("agents down exited {code}: {out}{err}"));
    }
    let clean = f.wait_maybe(30.0, || {
        f.processes().into_iter().all(|p| !is_cli(&p)) && f.t.sessions().is_empty()
    });
    if !clean {
        let left: Vec<_> = f.processes();
        f.fail(&format!(
            "after `agents down`: sessions {:?}, processes with the fleet's HOME {left:#?}",
            f.t.sessions()
        ));
    }
}
