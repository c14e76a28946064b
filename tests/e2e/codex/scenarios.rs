//! The Codex CLI scenarios (issue 17, item 1). Each asserts what a user sees: `agents status
//! --json`, `events.jsonl`, the screen, and the mock's request log (`main` turns, their
//! `text`, the CLI process's `session`).
//!
//! What Codex 0.169.0 draws (shared/e2e/codex/README.md): "• Working (4s • esc to
//! interrupt)" only until the first words of an answer arrive, then nothing but the growing
//! answer until "Worked for 14s • 14:30"; at a plan limit "■ You’ve hit your usage limit. …
//! try again at 2:32 PM." and it never resumes by itself; no trust dialog for a dir missing
//! from `[projects]`; with no credentials and the default provider, its sign-in screen.

use std::time::Duration;

use serde_json::Value;

use super::{AGENT, Home, Setup, fleet};
use crate::harness::{Fleet, Installed, Proc, Scenario, minute_after, now, urlencode};

/// The scenarios, longest first (a capped run starts those first).
pub fn all() -> Vec<Scenario> {
    vec![
        (
            "codex::hooks_record_turns_and_status_shows_the_rollouts_usage",
            hooks_record_turns_and_status_shows_the_rollouts_usage,
        ),
        (
            "codex::limit_is_held_and_resumed_exactly_once",
            limit_is_held_and_resumed_exactly_once,
        ),
        (
            "codex::streamed_answer_is_not_taken_for_a_stall",
            streamed_answer_is_not_taken_for_a_stall,
        ),
        (
            "codex::status_is_active_through_a_slow_turn_then_idle",
            status_is_active_through_a_slow_turn_then_idle,
        ),
        (
            "codex::kickoff_exactly_once_at_start_and_after_restart",
            kickoff_exactly_once_at_start_and_after_restart,
        ),
        (
            "codex::sign_in_dialog_is_reported_and_never_typed_into",
            sign_in_dialog_is_reported_and_never_typed_into,
        ),
        (
            "codex::send_is_delivered_exactly_once",
            send_is_delivered_exactly_once,
        ),
        (
            "codex::down_leaves_no_codex_process_app_server_included",
            down_leaves_no_codex_process_app_server_included,
        ),
    ]
}

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
    f.wait_for(90.0, "the kickoff turn at the mock", || {
        !f.mock.turns_with(&k).is_empty()
    });
    f.wait_for(60.0, "status idle after the kickoff reply", || {
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

/// Scenario 1: a slow turn — 14 s of "• Working (…esc to interrupt)" before the first word,
/// then an answer streamed a word every 0.7 s with no Working line on screen — keeps the
/// agent `active` in `status` from start to end, then it is `idle`, once (sampled every
/// 0.5 s, no flapping).
fn status_is_active_through_a_slow_turn_then_idle(cli: &Installed) {
    let k = kickoff("status");
    let f = started(
        cli,
        plain("status_is_active_through_a_slow_turn_then_idle", &k),
    );
    let reply = "This slow answer streams one word at a time after a long think, so the agent \
                 is busy for a while and the screen shows no Working line meanwhile.";
    // 14 s of thinking: at least three samples fall in it even when the e2e scenarios running
    // side by side load the machine so that a sample takes 2-3 s (CI, twice with 8 s).
    let (first, delay) = (14.0, 0.7);
    f.mock.ctl("reply", &format!("text={}", urlencode(reply)));
    f.mock.ctl("delay", &format!("s={delay}&first={first}"));
    let busy_secs = first + reply.split(' ').count() as f64 * delay;
    let text = "E2E status: take your time with this one.";
    send(&f, text);
    f.log("sent; sampling status every 0.5 s");
    let samples = f.sample_until_idle(AGENT, busy_secs + 60.0);
    let turn = f.mock.turns_with(text);
    if turn.len() != 1 {
        f.fail(&format!(
            "the mock got {} turns with the sent text, not 1",
            turn.len()
        ));
    }
    let start = ts(&turn[0]);
    let end = start + busy_secs;
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
    let thinking: Vec<&(f64, String)> = samples
        .iter()
        .filter(|(t, _)| *t >= start + 2.0 && *t <= start + first - 1.0)
        .collect();
    let streaming: Vec<&(f64, String)> = samples
        .iter()
        .filter(|(t, _)| *t >= start + first + 2.0 && *t <= end - 2.0)
        .collect();
    if thinking.len() < 3 || streaming.len() < 5 {
        f.fail(&format!(
            "too few samples in the {first:.0} s before the first word ({}) or the {:.0} s of streaming ({}): {shown}",
            thinking.len(),
            busy_secs - first,
            streaming.len()
        ));
    }
    if let Some((t, s)) = thinking.iter().find(|(_, s)| s != "active") {
        f.fail(&format!(
            "status said {s} {:.1} s into the turn, while Codex showed \"Working\"\nsamples: {shown}",
            t - start
        ));
    }
    if let Some((t, s)) = streaming.iter().find(|(_, s)| s != "active") {
        f.fail(&format!(
            "status said {s} {:.1} s into the turn, while Codex streamed its answer\nsamples: {shown}",
            t - start
        ));
    }
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
    if !f.screen(&session()).contains("no Working line meanwhile.") {
        f.fail("the answer's last words are not on the screen");
    }
}

/// Scenario 2: under `heal+stall` with `stall_idle` (10 s) shorter than a streamed answer
/// (about 30 s, no Working line on screen), the watchdog types no stall nudge while the
/// answer streams; once the turn is over and the agent idles, it nudges, exactly once (so
/// the stall watch is on and this scenario can fail).
fn streamed_answer_is_not_taken_for_a_stall(cli: &Installed) {
    let stall_idle = 10.0;
    let k = kickoff("stream-stall");
    let backend = format!("stall_idle = {stall_idle}");
    let f = started(
        cli,
        Setup {
            watch: "heal+stall",
            backend: &backend,
            ..plain("streamed_answer_is_not_taken_for_a_stall", &k)
        },
    );
    let words: Vec<String> = (1..=40).map(|i| format!("w{i}")).collect();
    let reply = format!("Streaming {} done.", words.join(" "));
    let delay = 0.75;
    f.mock.ctl("reply", &format!("text={}", urlencode(&reply)));
    f.mock.ctl("delay", &format!("s={delay}&first=0.5"));
    let text = "E2E stream: answer at length, slowly.";
    send(&f, text);
    // `send` returns once the screen shows the turn began (Codex draws its Working line
    // before its request reaches the mock), so the request may arrive a moment later.
    f.wait_for(15.0, "the sent turn at the mock", || {
        !f.mock.turns_with(text).is_empty()
    });
    let start = ts(&f.mock.turns_with(text)[0]);
    let end = start + 0.5 + reply.split(' ').count() as f64 * delay;
    f.log(&format!(
        "sent; the answer streams for {:.0} s with stall_idle {stall_idle:.0} s",
        end - start
    ));
    f.wait_for(end - now() + 30.0, "the whole answer on screen", || {
        f.screen(&session()).contains("done.")
    });
    let nudge = agents::config::validate::DEFAULT_STALL_NUDGE;
    let during: Vec<Value> = f
        .events_named("stall-nudge", AGENT)
        .into_iter()
        .chain(f.typed(AGENT, "stall-nudge"))
        .collect();
    let at_mock: Vec<Value> = f
        .mock
        .turns_with(nudge)
        .into_iter()
        .filter(|r| ts(r) < end)
        .collect();
    if !during.is_empty() || !at_mock.is_empty() {
        f.fail(&format!(
            "a stall nudge was typed while Codex streamed its answer ({:.0} s from the request to the last word): events {during:?}, at the mock {}",
            end - start,
            at_mock.len()
        ));
    }
    f.log("no nudge while streaming; now idle: waiting for the one nudge");
    f.wait_for(stall_idle + 60.0, "the stall nudge at the mock", || {
        !f.mock.turns_with(nudge).is_empty()
    });
    let t0 = ts(&f.mock.turns_with(nudge)[0]);
    let until = t0 + stall_idle - 2.0;
    while now() < until {
        sleep(0.5);
    }
    let nudges = f.mock.turns_with(nudge);
    let typed = f.typed(AGENT, "stall-nudge");
    if nudges.len() != 1 || typed.len() != 1 {
        f.fail(&format!(
            "want the stall nudge once after the answer: {} at the mock, typed events {typed:?}",
            nudges.len()
        ));
    }
    if !f.events_named("restart", AGENT).is_empty() {
        f.fail("the agent was restarted");
    }
}

/// Scenario 3: `agents send` exits 0 and the mock gets the text exactly once.
fn send_is_delivered_exactly_once(cli: &Installed) {
    let k = kickoff("send");
    let f = started(cli, plain("send_is_delivered_exactly_once", &k));
    let text = "E2E send: this message must arrive exactly once.";
    f.check_send_exactly_once(AGENT, text);
}

/// Scenario 4: the kickoff reaches the CLI exactly once at start, and exactly once again in
/// the new CLI process after `agents restart a`. The agent's dir is not listed under
/// `[projects]`: Codex 0.169.0 shows no trust dialog for it (nothing to answer), and
/// `status` never says `dialog`.
fn kickoff_exactly_once_at_start_and_after_restart(cli: &Installed) {
    let k = kickoff("kickoff");
    let f = started(
        cli,
        Setup {
            home: Home {
                trusted: false,
                ..Home::default()
            },
            ..plain("kickoff_exactly_once_at_start_and_after_restart", &k)
        },
    );
    f.check_kickoff_once_across_restart(AGENT, &session(), &k);
    let dialogs = f.events_named("dialog", AGENT);
    if !dialogs.is_empty() {
        f.fail(&format!(
            "an untrusted dir gave a `dialog` (0.169.0 shows none): {dialogs:?}"
        ));
    }
}

/// Scenario 5: Codex 0.169.0 without credentials (the default `OpenAI` provider, no
/// `auth.json`) opens on its sign-in screen ("> 1. Sign in with `ChatGPT` / 2. Sign in with
/// Device Code / …"), where Enter would start a sign-in. (0.169.0 shows no trust dialog:
/// this is the start-up dialog it has.) `status` says `dialog` once, the watchdog types
/// nothing into it through three `stall_idle` periods, never restarts the agent, and
/// `agents send` is refused naming the dialog; the screen is still the sign-in screen of the
/// first process and the mock got no turn.
fn sign_in_dialog_is_reported_and_never_typed_into(cli: &Installed) {
    let stall_idle = 8.0;
    let name = "sign_in_dialog_is_reported_and_never_typed_into";
    let marker = "Sign in with ChatGPT";
    let k = kickoff(name);
    let backend = format!("stall_idle = {stall_idle}");
    let f = fleet(
        cli,
        Setup {
            watch: "heal+stall",
            backend: &backend,
            home: Home {
                provider: false,
                ..Home::default()
            },
            ..plain(name, &k)
        },
    );
    f.up();
    let mut problems = f.dialog_problems(AGENT, &session(), marker, 3.0 * stall_idle);
    if !f.mock.requests().is_empty() {
        problems.push(format!(
            "the mock got {} requests from a CLI with no provider pointed at it",
            f.mock.requests().len()
        ));
    }
    if !problems.is_empty() {
        f.fail(&problems.join("\n"));
    }
}

/// Scenario 6: a plan limit. Codex 0.169.0 prints "■ You’ve hit your usage limit. … try again
/// at 2:32 PM." (local time, no zone) and never resumes by itself. The watchdog holds
/// (`limited`, one `limit-hit`), and after the reset + slack types exactly one resume: one
/// `limit-resume`, one user turn at the mock after the limited one (the resume's text, after
/// the reset), and the hold is gone.
fn limit_is_held_and_resumed_exactly_once(cli: &Installed) {
    let k = kickoff("limit");
    let slack = 5.0;
    let watchdog = format!("limit_reset_slack = {slack}");
    let f = started(
        cli,
        Setup {
            watchdog: &watchdog,
            ..plain("limit_is_held_and_resumed_exactly_once", &k)
        },
    );
    let reset = minute_after(40);
    f.mock
        .ctl("limit", &format!("reset={reset}&plan_type=plus"));
    let text = "E2E limit: this turn hits the plan limit.";
    send(&f, text);
    f.wait_for(30.0, "the limited turn (429) at the mock", || {
        f.mock.turns_with(text).iter().any(|r| r["status"] == 429)
    });
    f.wait_for(30.0, "the usage-limit banner on screen", || {
        f.screen(&session()).contains("hit your usage limit")
    });
    f.wait_for(30.0, "status limited", || f.state(AGENT) == "limited");
    let row = f.status(AGENT);
    f.log(&format!(
        "held until {reset} ({:.0} s from now); status row: {row}",
        reset as f64 - now()
    ));
    if f.events_named("limit-hit", AGENT).len() != 1 {
        f.fail("want one limit-hit event");
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
    // Nothing may reach the CLI before the reset.
    while now() < reset as f64 - 1.0 {
        if !later(&f).is_empty() {
            f.fail("a turn reached the mock before the reset");
        }
        if f.state(AGENT) != "limited" {
            f.fail(&format!(
                "status left `limited` before the reset: {}",
                f.state(AGENT)
            ));
        }
        sleep(2.0);
    }
    f.wait_for(
        reset as f64 + slack + 60.0 - now(),
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
        if r["status"] != 200 {
            problems.push(format!("the resume turn got status {}", r["status"]));
        }
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

/// The parent pid of `pid` (`/proc/PID/stat` field 4).
fn parent_of(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 1..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Scenario 7: with the CLI's default `daemon_auto_start` (on), Codex 0.169.0 starts
/// background `codex app-server` processes (from a copy of itself under
/// `CODEX_HOME/packages`, each in its own session via setsid) that outlive the TUI and its
/// tmux server. The TUI crashes (SIGKILL) and the watchdog restarts it: its app-server
/// processes are re-parented to init, out of the pane's process tree: the restart stops them
/// (none of the crashed run survives it). Then `agents down` must leave no Codex process of
/// the fleet — TUI, app-server, pid-update loop — and no tmux session.
fn down_leaves_no_codex_process_app_server_included(cli: &Installed) {
    let name = "down_leaves_no_codex_process_app_server_included";
    let k = kickoff("down");
    let f = fleet(
        cli,
        Setup {
            home: Home {
                daemon: true,
                ..Home::default()
            },
            // With the preset's hooks (`-c` overrides) Codex 0.169.0 runs without its
            // shared background server ("command-line configuration overrides (-c, …)
            // requires embedded mode", a start-up warning): the daemon this scenario stops
            // starts only on the screen alone.
            backend: "hooks = \"none\"",
            ..plain(name, &k)
        },
    );
    let root = cli
        .bin
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "node_modules"))
        .and_then(std::path::Path::parent)
        .unwrap_or(cli.bin.parent().unwrap())
        .display()
        .to_string();
    let packages = f.home.join(".codex").display().to_string();
    let is_cli = |p: &Proc| {
        p.exe.starts_with(&root)
            || p.exe.starts_with(&packages)
            || p.exe.ends_with("/codex")
            || p.cmdline.contains(&root)
            || p.cmdline.contains("app-server")
    };
    f.up();
    f.log("up; waiting for Codex's app-server daemon");
    f.wait_for(120.0, "a `codex app-server` process of the fleet", || {
        f.processes()
            .iter()
            .any(|p| p.cmdline.contains("app-server"))
    });
    sleep(3.0); // its pid-update loop starts after it
    // The TUI crashes (SIGKILL): its app-server processes, in sessions of their own, are
    // re-parented to init and keep running; the watchdog restarts the agent.
    let Some((true, pid1)) = f.pane(&session()) else {
        f.fail("the agent's pane is not alive")
    };
    let tui = f
        .processes()
        .into_iter()
        .find(|p| {
            p.exe.starts_with(&root)
                && !p.cmdline.contains("app-server")
                && (p.pid == pid1 || parent_of(p.pid) == Some(pid1))
        })
        .map_or(pid1, |p| p.pid);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(tui.cast_signed()),
        nix::sys::signal::Signal::SIGKILL,
    );
    f.log(&format!(
        "killed the TUI (pid {tui}); waiting for the restart"
    ));
    f.wait_for(60.0, "the watchdog's restart of the crashed agent", || {
        !f.events_named("restart", AGENT).is_empty()
            && f.pane(&session())
                .is_some_and(|(alive, p)| alive && p != pid1)
    });
    sleep(5.0);
    let orphans: Vec<Proc> = f
        .processes()
        .into_iter()
        .filter(|p| p.cmdline.contains("app-server") && parent_of(p.pid) == Some(1))
        .collect();
    // The restart stops what is left of the crashed run first: its daemon too, found by the
    // environment the session gave it (it left the pane's process tree).
    if !orphans.is_empty() {
        f.fail(&format!(
            "the crashed TUI's app-server processes outlived the agent's restart (re-parented to init): {orphans:#?}"
        ));
    }
    let before: Vec<Proc> = f.processes().into_iter().filter(is_cli).collect();
    f.log(&format!(
        "{} Codex processes before down: {:?}",
        before.len(),
        before.iter().map(|p| &p.cmdline).collect::<Vec<_>>()
    ));
    let (code, out, err) = f.agents(&["down"]);
    if code != 0 {
        f.fail(&format!("agents down exited {code}: {out}{err}"));
    }
    let clean = f.wait_maybe(30.0, || {
        f.processes().into_iter().all(|p| !is_cli(&p)) && f.t.sessions().is_empty()
    });
    if !clean {
        let left: Vec<Proc> = f.processes();
        f.fail(&format!(
            "after `agents down`: sessions {:?}, processes with the fleet's HOME {left:#?}",
            f.t.sessions()
        ));
    }
}

/// The events the CLI's hooks recorded (`log_dir/state/signals-e2e-a.jsonl`), in order.
fn event_names(f: &Fleet) -> Vec<String> {
    f.signals(&session())
        .iter()
        .map(|s| s["event"].as_str().unwrap_or("?").to_string())
        .collect()
}

/// Issue 14 item 6: the preset (`hooks = "codex"`) starts Codex 0.169.0 with `-c
/// hooks.<Event>=…` overrides; its hooks record `SessionStart` (naming the rollout file),
/// `UserPromptSubmit` and `Stop` for the kickoff and a sent turn (the thread-title side
/// request records nothing), and only `UserPromptSubmit` for a turn that hits the usage
/// limit. `status` shows the plan usage from the rollout's `token_count` rate limits (the
/// mock's `x-codex-*` headers), and the limit hold takes the used-up window's reset from
/// it. The scratch `CODEX_HOME` gets no hooks (no `hooks.json`, none in `config.toml`).
fn hooks_record_turns_and_status_shows_the_rollouts_usage(cli: &Installed) {
    let k = kickoff("hooks");
    let f = fleet(
        cli,
        plain("hooks_record_turns_and_status_shows_the_rollouts_usage", &k),
    );
    f.mock.ctl(
        "usage",
        "primary=42&primary_reset_in=7200&secondary=17&secondary_reset_in=400000",
    );
    f.up();
    f.wait_for(90.0, "Stop of the kickoff turn in the signals", || {
        event_names(&f).iter().any(|e| e == "Stop")
    });
    let s = f.signals(&session());
    f.log(&format!("after the kickoff: {:?}", event_names(&f)));
    if event_names(&f) != ["SessionStart", "UserPromptSubmit", "Stop"] {
        f.fail(&format!("want SessionStart, UserPromptSubmit, Stop: {s:?}"));
    }
    let rollout = s[0]["transcript_path"].as_str().unwrap_or("").to_string();
    if !rollout.starts_with(&f.home.join(".codex/sessions").display().to_string())
        || s[0]["source"] != "startup"
    {
        f.fail(&format!("SessionStart without its rollout file: {}", s[0]));
    }
    // The title side request ended too (the mock saw it), and recorded nothing more.
    f.wait_for(30.0, "idle after the kickoff", || f.state(AGENT) == "idle");
    f.log(&format!("mock: {}", f.mock.summary()));
    let text = "E2E hooks: a turn the hooks record.";
    send(&f, text);
    f.wait_for(60.0, "UserPromptSubmit and Stop of the sent turn", || {
        event_names(&f).len() >= 5
    });
    sleep(1.0);
    if event_names(&f)[3..] != ["UserPromptSubmit", "Stop"] {
        f.fail(&format!("the sent turn: {:?}", event_names(&f)));
    }
    let (_, out, _) = f.agents(&["status"]);
    f.log(&format!("status:\n{out}"));
    let usage = out.lines().find(|l| l.trim_start().starts_with("usage: "));
    if !usage.is_some_and(|l| l.contains("5h 42% · resets ") && l.contains(", 7d 17% · resets "))
    {
        f.fail(&format!("status shows no usage from the rollout: {out}"));
    }
    // The limit: the 429 carries the used-up window, whose reset (13 s past the banner's
    // minute) the hold takes.
    let reset = minute_after(40);
    f.mock.ctl(
        "usage",
        &format!(
            "primary=100&primary_reset={}&secondary=17&secondary_reset_in=400000",
            reset + 13
        ),
    );
    f.mock
        .ctl("limit", &format!("reset={reset}&plan_type=plus"));
    let text = "E2E hooks: this turn hits the plan limit.";
    send(&f, text);
    f.wait_for(30.0, "status limited", || f.state(AGENT) == "limited");
    f.wait_for(15.0, "the limit-hit event", || {
        !f.events_named("limit-hit", AGENT).is_empty()
    });
    let hit = f.events_named("limit-hit", AGENT);
    f.log(&format!(
        "limit-hit: {hit:?}; signals {:?}",
        event_names(&f)
    ));
    let hold =
        f.t.path()
            .join(format!(".agents/state/limited-{}.json", session()));
    let held: Value =
        serde_json::from_slice(&std::fs::read(&hold).unwrap_or_default()).unwrap_or_default();
    let at = held["reset"]
        .as_str()
        .and_then(|r| chrono::DateTime::parse_from_rfc3339(r).ok())
        .map(|t| t.timestamp());
    if at != Some(reset.cast_signed() + 13) {
        f.fail(&format!(
            "the hold did not take the rollout's reset {} (banner {reset}): {held}",
            reset + 13
        ));
    }
    if event_names(&f)[5..] != ["UserPromptSubmit"] {
        f.fail(&format!(
            "the limited turn: want UserPromptSubmit alone: {:?}",
            event_names(&f)
        ));
    }
    let (_, out, _) = f.agents(&["status"]);
    if !out.lines().any(|l| l.contains("usage: 5h 100% · resets ")) {
        f.fail(&format!("status does not show the used-up window: {out}"));
    }
    // Nothing of ours in the CLI's own config.
    let ch = f.home.join(".codex");
    let cfg = std::fs::read_to_string(ch.join("config.toml")).unwrap_or_default();
    if ch.join("hooks.json").exists() || cfg.contains("hooks") || cfg.contains("signal") {
        f.fail(&format!("the CLI's config got hooks: {cfg}"));
    }
}
