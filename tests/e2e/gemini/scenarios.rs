//! The Gemini CLI scenarios (issue 17, Build 1). Each asserts what a user sees: `agents status
//! --json`, `events.jsonl`, the screen, and the mock's request log (`main` turns, their `text`
//! and time: Gemini CLI 0.61.0 sends no session header, so a CLI process is told apart by
//! when its requests came).

use std::time::Duration;

use serde_json::Value;

use super::{AGENT, Setup, fleet, install_root};
use crate::harness::{Fleet, Installed, Scenario, now, signal_names as names, urlencode};

/// The scenarios, longest first (a capped run starts those first).
pub fn all() -> Vec<Scenario> {
    vec![
        (
            "gemini::daily_quota_chooser_is_answered_held_and_resumed_exactly_once",
            daily_quota_chooser_is_answered_held_and_resumed_exactly_once,
        ),
        (
            "gemini::minute_quota_retry_stays_active_and_nothing_is_typed",
            minute_quota_retry_stays_active_and_nothing_is_typed,
        ),
        (
            "gemini::trust_dialog_is_reported_and_never_typed_into",
            trust_dialog_is_reported_and_never_typed_into,
        ),
        (
            "gemini::hooks_record_each_turn_and_leave_the_users_settings",
            hooks_record_each_turn_and_leave_the_users_settings,
        ),
        (
            "gemini::status_is_active_through_a_slow_reply_then_idle",
            status_is_active_through_a_slow_reply_then_idle,
        ),
        (
            "gemini::kickoff_exactly_once_at_start_and_after_restart",
            kickoff_exactly_once_at_start_and_after_restart,
        ),
        (
            "gemini::send_is_delivered_exactly_once",
            send_is_delivered_exactly_once,
        ),
        (
            "gemini::down_leaves_no_gemini_process",
            down_leaves_no_gemini_process,
        ),
    ]
}

/// `stall_idle` of the `heal+stall` scenarios: shorter than a per-minute quota retry (~33 s
/// for a 30 s retryDelay), longer than the CLI takes from its first drawn screen (its input
/// line, read `idle`) to submitting its `-i` kickoff under load. Its blank screen before that
/// (over 20 s measured with every e2e scenario running at once) is `blank`, on which the stall
/// clock waits one more `stall_idle` before it runs: before that fix the watchdog typed its
/// stall nudge into the starting CLI (the text echoed on the blank pane, read by the CLI when
/// it came up).
const STALL_IDLE: f64 = 20.0;

/// The agent's session (prefix `e2e-`).
fn session() -> String {
    format!("e2e-{AGENT}")
}

fn kickoff(scenario: &str) -> String {
    format!("E2E kickoff of scenario {scenario}: you are agent {AGENT}. Reply briefly.")
}

/// A heal-only fleet on the preset as built in, in a trusted dir.
fn plain<'a>(scenario: &'a str, kickoff: &'a str) -> Setup<'a> {
    Setup {
        scenario,
        watch: "heal",
        watchdog: "",
        backend: "",
        kickoff,
        trusted: true,
    }
}

/// `up`, then waits for the kickoff turn at the mock and for `status` to say idle.
fn started(cli: &Installed, s: Setup) -> Fleet {
    let k = s.kickoff.to_string();
    let f = fleet(cli, s);
    f.up();
    f.log("up; waiting for the kickoff turn");
    f.wait_for(120.0, "the kickoff turn at the mock", || {
        f.mock.turns_with(&k).iter().any(|r| r["status"] == 200)
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

/// `agents send` that must exit 0.
fn send(f: &Fleet, text: &str) {
    let (code, out, err) = f.agents(&["send", AGENT, text]);
    if code != 0 {
        f.fail(&format!("agents send exited {code}: {out}{err}"));
    }
}

/// The samples as `+1.5s active, …` relative to `start`.
fn shown(samples: &[(f64, String)], start: f64) -> String {
    samples
        .iter()
        .map(|(t, s)| format!("{:+.1}s {s}", t - start))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The distinct states in order, from `from` on.
fn sequence(samples: &[(f64, String)], from: f64) -> Vec<String> {
    let mut seq: Vec<String> = vec![];
    for (_, s) in samples.iter().filter(|(t, _)| *t >= from) {
        if seq.last() != Some(s) {
            seq.push(s.clone());
        }
    }
    seq
}

/// Scenario 1: a slow reply keeps the agent `active` in `status` from start to end, then it
/// is `idle`, once: sampled every 0.5 s, the states after the turn began read active, then
/// idle, with no flapping between. Gemini CLI 0.61.0 shows "⠧ Thinking... (esc to cancel,
/// 4s)" under the partial reply.
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
    send(&f, text);
    f.log("sent; sampling status every 0.5 s");
    let samples = f.sample_until_idle(AGENT, stream_secs + 90.0);
    let turn: Vec<Value> = f
        .mock
        .turns_with(text)
        .into_iter()
        .filter(|r| r["status"] == 200)
        .collect();
    if turn.len() != 1 {
        f.fail(&format!(
            "the mock got {} turns with the sent text, not 1",
            turn.len()
        ));
    }
    let start = ts(&turn[0]);
    let end = start + stream_secs;
    let shown = shown(&samples, start);
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
    let seq = sequence(&samples, start + 2.0);
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

/// Scenario 3: the kickoff reaches the CLI exactly once at start, and exactly once again in
/// the new CLI process after `agents restart a` (no session header: the new process's turn is
/// the one after the restart, and it opens a new conversation).
fn kickoff_exactly_once_at_start_and_after_restart(cli: &Installed) {
    let k = kickoff("kickoff");
    let f = started(
        cli,
        plain("kickoff_exactly_once_at_start_and_after_restart", &k),
    );
    sleep(5.0);
    let first = f.mock.turns_with(&k);
    if first.len() != 1 {
        f.fail(&format!(
            "the kickoff reached the mock {} times at start",
            first.len()
        ));
    }
    let pid1 = f.pane(&session()).map(|p| p.1);
    let restarted_at = now();
    let (code, out, err) = f.agents(&["restart", AGENT]);
    if code != 0 {
        f.fail(&format!("agents restart exited {code}: {out}{err}"));
    }
    f.log("restarted; waiting for the kickoff in a new CLI process");
    f.wait_for(120.0, "the kickoff from a new CLI process", || {
        f.mock.turns_with(&k).iter().any(|r| ts(r) > restarted_at)
    });
    f.wait_for(90.0, "status idle after the new kickoff's reply", || {
        f.state(AGENT) == "idle"
    });
    sleep(5.0);
    let all = f.mock.turns_with(&k);
    let old = all.iter().filter(|r| ts(r) < restarted_at).count();
    let new: Vec<&Value> = all.iter().filter(|r| ts(r) > restarted_at).collect();
    if old != 1 || new.len() != 1 {
        f.fail(&format!(
            "the kickoff reached the first process {old} times and the new one {} times (want 1 and 1)",
            new.len()
        ));
    }
    if new[0]["n_contents"] != first[0]["n_contents"] {
        f.fail(&format!(
            "the kickoff after the restart came in a conversation of {} contents, the first in {}: not a new process",
            new[0]["n_contents"], first[0]["n_contents"]
        ));
    }
    if f.pane(&session()).map(|p| p.1) == pid1 {
        f.fail("the pane still runs the first process after `agents restart`");
    }
    if f.mock.turns().len() != 2 {
        f.fail(&format!(
            "the mock got {} turns (want the two kickoffs)",
            f.mock.turns().len()
        ));
    }
}

/// Scenario 4: a daily quota. Gemini CLI 0.61.0 opens "Usage limit reached for all Pro
/// models." … "● 1. Keep trying / 2. Stop" at once and never resumes by itself; "Keep trying"
/// retries once and reopens it. The watchdog answers by the label "Stop" (`limit-choice`, key
/// `2`): the turn ends with "You have exhausted your daily quota on this model." and no reset
/// on screen, so the agent is held (`limited`) and probed after `limit_probe_fallback` with
/// exactly one resume nudge, after the quota came back; never restarted, the chooser
/// answered once, one user turn after the limited one.
fn daily_quota_chooser_is_answered_held_and_resumed_exactly_once(cli: &Installed) {
    let k = kickoff("daily");
    let fallback = 50.0;
    let reset_in = 35.0;
    let watchdog = format!("limit_reset_slack = 5\nlimit_probe_fallback = {fallback}");
    let f = started(
        cli,
        Setup {
            watchdog: &watchdog,
            ..plain(
                "daily_quota_chooser_is_answered_held_and_resumed_exactly_once",
                &k,
            )
        },
    );
    let reset = now() + reset_in;
    f.mock
        .ctl("limit", &format!("reset={reset:.0}&kind=day&model=pro"));
    let text = "E2E daily: this turn hits the daily quota.";
    send(&f, text);
    f.wait_for(30.0, "the limited turn (429) at the mock", || {
        f.mock.turns_with(text).iter().any(|r| r["status"] == 429)
    });
    f.wait_for(30.0, "a limit-choice event", || {
        !f.events_named("limit-choice", AGENT).is_empty()
    });
    let choice = f.events_named("limit-choice", AGENT);
    if choice.len() != 1 || choice[0]["key"] != "2" {
        f.fail(&format!(
            "want the chooser answered once with `2` (Stop): {choice:?}"
        ));
    }
    f.wait_for(15.0, "the chooser gone after the answer", || {
        let s = f.screen(&session());
        !s.contains("Keep trying") && s.contains("exhausted your daily quota")
    });
    f.wait_for(15.0, "status limited", || f.state(AGENT) == "limited");
    let hit = f.events_named("limit-hit", AGENT);
    f.log(&format!(
        "answered and held ({}); waiting for the probe after the fallback",
        hit.first()
            .map(|e| e["why"].to_string())
            .unwrap_or_default()
    ));
    // Held, not idle, not restarted, while the quota is out.
    let mut held: Vec<String> = vec![];
    while now() < reset - 2.0 {
        held.push(f.state(AGENT));
        sleep(1.0);
    }
    let first_limited = f
        .mock
        .turns_with(text)
        .iter()
        .map(ts)
        .fold(f64::MAX, f64::min);
    let later = |f: &Fleet| -> Vec<Value> {
        f.mock
            .turns()
            .into_iter()
            .filter(|r| ts(r) > first_limited && r["text"] != text)
            .collect()
    };
    f.wait_for(
        first_limited + fallback + 60.0 - now(),
        "a user turn at the mock after the reset",
        || !later(&f).is_empty(),
    );
    f.wait_for(60.0, "status idle after the resume", || {
        f.state(AGENT) == "idle"
    });
    sleep(8.0); // ticks: a second resume would be typed by now
    let resumes = f.typed(AGENT, "limit-resume");
    let turns = later(&f);
    let mut problems = vec![];
    if let Some(s) = held.iter().find(|s| s.as_str() != "limited") {
        problems.push(format!(
            "status said {s} while the daily quota was out: {held:?}"
        ));
    }
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
        if ts(r) < reset {
            problems.push("the resume came before the quota came back".into());
        }
        if r["status"] != 200 {
            problems.push(format!("the resume turn got HTTP {}", r["status"]));
        }
    }
    if f.events_named("limit-choice", AGENT).len() != 1 {
        problems.push("the chooser was answered more than once".into());
    }
    if !f.events_named("restart", AGENT).is_empty() {
        problems.push("the agent was restarted during the limit".into());
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

/// Scenario 5: a per-minute quota. Gemini CLI 0.61.0 retries it by itself, silently: the
/// screen shows only its spinner ("Thinking... (esc to cancel, 9s)") until the reply, so
/// the screen cannot tell a quota retry from a slow reply (the preset says so). What a
/// supervisor must get right: `status` stays `active` through the retry (not idle, so no
/// stall nudge under `heal+stall` with a `stall_idle` shorter than the retry), nothing is
/// typed, no restart, the turn is answered once the quota is back, then `idle`.
fn minute_quota_retry_stays_active_and_nothing_is_typed(cli: &Installed) {
    let k = kickoff("minute");
    let stall_idle = STALL_IDLE;
    let backend = format!("stall_idle = {stall_idle}");
    let f = started(
        cli,
        Setup {
            watch: "heal+stall",
            backend: &backend,
            ..plain("minute_quota_retry_stays_active_and_nothing_is_typed", &k)
        },
    );
    f.mock.ctl("limit", "reset_in=30&model=pro");
    let text = "E2E minute: this turn hits a per-minute quota.";
    send(&f, text);
    f.log("sent into a per-minute quota; sampling status every 0.5 s");
    let samples = f.sample_until_idle(AGENT, 120.0);
    let turns = f.mock.turns_with(text);
    let limited: Vec<&Value> = turns.iter().filter(|r| r["status"] == 429).collect();
    let ok: Vec<&Value> = turns.iter().filter(|r| r["status"] == 200).collect();
    let start = turns.first().map_or(0.0, ts);
    let shown = shown(&samples, start);
    f.log(&format!("samples: {shown}"));
    let mut problems = vec![];
    if limited.is_empty() || ok.len() != 1 {
        problems.push(format!(
            "want the turn limited (429) then answered once: {} limited, {} answered",
            limited.len(),
            ok.len()
        ));
    }
    if let Some(r) = ok.first() {
        let during: Vec<&(f64, String)> = samples
            .iter()
            .filter(|(t, _)| *t >= start + 2.0 && *t <= ts(r) - 1.0)
            .collect();
        if during.len() < 10 {
            problems.push(format!(
                "too few samples during the retry ({})",
                during.len()
            ));
        }
        if let Some((t, s)) = during.iter().find(|(_, s)| s != "active") {
            problems.push(format!(
                "status said {s} {:.1} s into the quota retry (the CLI was retrying)",
                t - start
            ));
        }
    }
    let seq = sequence(&samples, start + 2.0);
    if seq != ["active", "idle"] {
        problems.push(format!(
            "status went {} (want active then idle, once)",
            seq.join(" → ")
        ));
    }
    let typed: Vec<Value> = f
        .events_named("typed", AGENT)
        .into_iter()
        .filter(|e| e["purpose"] != "send" && e["purpose"] != "kickoff")
        .collect();
    if !typed.is_empty() {
        problems.push(format!("the watchdog typed during the retry: {typed:?}"));
    }
    if !f.events_named("restart", AGENT).is_empty() {
        problems.push("the agent was restarted during the retry".into());
    }
    let others: Vec<String> = f
        .mock
        .turns()
        .into_iter()
        .filter_map(|r| r["text"].as_str().map(str::to_string))
        .filter(|t| t != text && t != &k)
        .collect();
    if !others.is_empty() {
        problems.push(format!("the mock got other user turns: {others:?}"));
    }
    if !problems.is_empty() {
        f.fail(&format!("{}\nsamples: {shown}", problems.join("\n")));
    }
}

/// Scenario 6: the folder-trust dialog (the agent's dir not in `trustedFolders.json`):
/// Gemini CLI 0.61.0 draws "Do you trust the files in this folder?" / "● 1. Trust folder
/// (…)" / "2. Trust parent folder (…)" / "3. Don't trust" in a box. It is `dialog` in
/// `status`, one `dialog` event, and nothing is typed into it: not by the watchdog (a stall
/// nudge would be due every `stall_idle`), not by `agents send` (refused, non-zero): after
/// many ticks the CLI still shows the dialog, in the same process, and nothing but its own
/// `-i` kickoff (which 0.61.0 may run before it draws the dialog) reached the API.
fn trust_dialog_is_reported_and_never_typed_into(cli: &Installed) {
    let stall_idle = STALL_IDLE;
    let marker = "Do you trust the files in this folder?";
    let name = "trust_dialog_is_reported_and_never_typed_into";
    let k = kickoff(name);
    let backend = format!("stall_idle = {stall_idle}");
    let f = fleet(
        cli,
        Setup {
            watch: "heal+stall",
            backend: &backend,
            trusted: false,
            ..plain(name, &k)
        },
    );
    f.up();
    let mut problems = f.dialog_problems(AGENT, &session(), marker, 2.0 * stall_idle);
    // 0.61.0 may run its `-i` kickoff before it draws the dialog (seen in some runs, not
    // others): that turn is the CLI's own. Nothing typed by `agents` may reach the API.
    let typed_turns: Vec<String> = f
        .mock
        .requests()
        .into_iter()
        .filter_map(|r| r["text"].as_str().map(str::to_string))
        .filter(|t| t.trim() != k.trim())
        .collect();
    if !typed_turns.is_empty() {
        problems.push(format!(
            "text typed into the dialog reached the API: {typed_turns:?}"
        ));
    }
    if f.mock.turns_with(&k).len() > 1 {
        problems.push(format!(
            "the kickoff reached the API {} times",
            f.mock.turns_with(&k).len()
        ));
    }
    if !problems.is_empty() {
        f.fail(&problems.join("\n"));
    }
}

/// Scenario 7: `agents down` leaves no Gemini CLI (node) process of the fleet and no tmux
/// session.
fn down_leaves_no_gemini_process(cli: &Installed) {
    let k = kickoff("down");
    let f = started(cli, plain("down_leaves_no_gemini_process", &k));
    let root = install_root(cli).display().to_string();
    let is_cli = |p: &crate::harness::Proc| {
        p.exe.starts_with(&root)
            || p.exe.ends_with("/node")
            || p.cmdline.contains(&root)
            || p.cmdline.contains("gemini")
    };
    let before: Vec<_> = f.processes().into_iter().filter(is_cli).collect();
    if before.is_empty() {
        f.fail(&format!(
            "no Gemini CLI process found with the fleet's HOME before `down` (the scan would prove nothing): {:?}",
            f.processes()
        ));
    }
    f.log(&format!(
        "{} Gemini CLI processes before down",
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

/// The signals the CLI's hooks recorded (`log_dir/state/signals-e2e-a.jsonl`).
fn signal_events(f: &Fleet) -> Vec<Value> {
    f.signals(&session())
}

/// Issue 14 item 6: the preset starts Gemini CLI 0.61.0 with
/// `GEMINI_CLI_HOME=log_dir/state/gemini-home-e2e-a`; its hooks record `SessionStart` (with
/// the chat file), `BeforeAgent` and `AfterAgent` for the kickoff and for a sent turn through
/// `agents signal`; while the mock delays the reply `status` reads `active` (the newest hook a
/// `BeforeAgent`, the screen its spinner); the user's `~/.gemini/settings.json` is byte for byte what it was.
fn hooks_record_each_turn_and_leave_the_users_settings(cli: &Installed) {
    let k = kickoff("hooks");
    let users = |f: &Fleet| std::fs::read(f.home.join(".gemini/settings.json")).unwrap_or_default();
    let f = super::fleet(
        cli,
        plain("hooks_record_each_turn_and_leave_the_users_settings", &k),
    );
    let before = users(&f);
    f.up();
    f.wait_for(
        120.0,
        "AfterAgent of the kickoff turn in the signals",
        || names(&signal_events(&f)).contains(&"AfterAgent"),
    );
    let s = signal_events(&f);
    f.log(&format!("after the kickoff: {:?}", names(&s)));
    if names(&s) != ["SessionStart", "BeforeAgent", "AfterAgent"] {
        f.fail(&format!(
            "want SessionStart, BeforeAgent, AfterAgent: {s:?}"
        ));
    }
    if s[0]["source"] != "startup"
        || !s[0]["transcript_path"]
            .as_str()
            .is_some_and(|p| p.contains("/.gemini/tmp/"))
    {
        f.fail(&format!(
            "SessionStart without its source or chat file: {}",
            s[0]
        ));
    }
    if serde_json::to_string(&s)
        .unwrap_or_default()
        .contains("E2E kickoff")
    {
        f.fail(&format!("the prompt was copied into the signals: {s:?}"));
    }
    f.wait_for(60.0, "status idle after the kickoff", || {
        f.state(AGENT) == "idle"
    });
    // A slow reply: the hook's BeforeAgent is the newest signal while the CLI works.
    let reply = "A slow reply, one word at a time, while the hooks watch.";
    f.mock.ctl("reply", &format!("text={}", urlencode(reply)));
    f.mock.ctl("delay", "s=1.0");
    let text = "E2E hooks: a turn the hooks record.";
    send(&f, text);
    f.wait_for(30.0, "BeforeAgent of the sent turn", || {
        names(&signal_events(&f)).len() >= 4
    });
    // The watchdog publishes a reading each tick (1 s); 0.61.0 draws its spinner within
    // half a second of BeforeAgent, so the screen says `active` as soon as the hook could.
    f.wait_for(5.0, "status active after BeforeAgent", || {
        f.state(AGENT) == "active"
    });
    let mut seen = vec![];
    for _ in 0..5 {
        let row = f.status(AGENT);
        seen.push(format!("{} ({})", row["state"], row["source"]));
        sleep(0.5);
    }
    f.log(&format!("status during the slow reply: {seen:?}"));
    if seen.iter().any(|s| !s.starts_with("\"active\"")) {
        f.fail(&format!(
            "status was not active while the reply streamed: {seen:?}"
        ));
    }
    f.wait_for(60.0, "AfterAgent of the sent turn", || {
        names(&signal_events(&f)).len() >= 5
    });
    let s = signal_events(&f);
    if names(&s)[3..] != ["BeforeAgent", "AfterAgent"] {
        f.fail(&format!(
            "the sent turn: want BeforeAgent, AfterAgent: {:?}",
            names(&s)
        ));
    }
    f.wait_for(60.0, "status idle after the sent turn", || {
        f.state(AGENT) == "idle"
    });
    if users(&f) != before {
        f.fail("the user's ~/.gemini/settings.json changed");
    }
    let ours = f.t.path().join(format!(
        ".agents/state/gemini-home-{}/.gemini/settings.json",
        session()
    ));
    let ours = std::fs::read_to_string(&ours).unwrap_or_default();
    if !ours.contains("agents-signal") || !ours.contains("gemini-api-key") {
        f.fail(&format!(
            "the per-launch settings lack the hooks or the user's own: {ours}"
        ));
    }
}
