//! Git handoff pings (issue 7, SPEC §6) with real git and the demo agent: a bare `origin`,
//! the handoff repo cloned from it, and a second clone (`dev`) that pushes as the agents
//! would. A `claim` commit reaches the adversary and not the builder, a `review` commit the
//! builder; an inbox file reaches its target once per content change; a fetch error is
//! survived and reported once; a watchdog restarted while a ping waits for a busy target
//! neither repeats nor loses it.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::*;

/// Runs git in `dir` with a fixed identity; panics with its stderr on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Creates `origin.git` (bare, branch main, one commit), the handoff repo `handoff` and the
/// pushing clone `dev`, both cloned from it.
fn repos(t: &TestEnv) {
    let p = t.path();
    git(p, &["init", "-q", "--bare", "-b", "main", "origin.git"]);
    git(p, &["clone", "-q", "origin.git", "dev"]);
    git(&p.join("dev"), &["symbolic-ref", "HEAD", "refs/heads/main"]);
    std::fs::write(p.join("dev/README.md"), "shared\n").unwrap();
    git(&p.join("dev"), &["add", "-A"]);
    git(&p.join("dev"), &["commit", "-q", "-m", "initial"]);
    git(&p.join("dev"), &["push", "-q", "origin", "main"]);
    git(p, &["clone", "-q", "origin.git", "handoff"]);
}

/// Commits in `dev` (writing `files` first, an empty commit when none) and pushes to main.
fn push(t: &TestEnv, subject: &str, files: &[(&str, &str)]) {
    let dev = t.path().join("dev");
    for (rel, text) in files {
        let f = dev.join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }
    git(&dev, &["add", "-A"]);
    git(&dev, &["commit", "-q", "--allow-empty", "-m", subject]);
    git(&dev, &["push", "-q", "origin", "main"]);
}

/// builder + adversary, loop agents on the demo agent, handoff on `handoff/`, 1 s ticks.
fn config(prefix: &str) -> String {
    demo_fleet(prefix, "signal_interval = 1\nheavy_interval = 2")
        + LOOP_PAIR
        + r#"
[loop]
phases = [{ id = "p1", status = "STATUS-p1.md" }]

[loop.handoff]
repo = "handoff"
inboxes = ["adversary_inbox.md", "builder_inbox.md"]
"#
}

/// A fleet on [`config`] with its repos, started with `up` (extra environment for the
/// agents), the watchdog having taken origin/main as its baseline.
fn fleet(prefix: &str, env: &[(&str, &str)]) -> TestEnv {
    let t = TestEnv::new();
    repos(&t);
    t.write("prompts/builder.md", "ROLE builder\n");
    t.write("prompts/adversary.md", "ROLE adversary\n");
    t.config(&config(prefix));
    up_with(&t, env);
    wait_watchdog(&t);
    assert!(
        wait_until(10.0, || handoff_state(&t)["head"].is_string()),
        "the watchdog never read origin/main: {:?}",
        t.events(".agents")
    );
    t
}

fn handoff_state(t: &TestEnv) -> serde_json::Value {
    std::fs::read_to_string(t.path().join(".agents/state/handoff.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn wait_idle(t: &TestEnv, session: &str, secs: f64) {
    assert!(
        wait_until(secs, || t
            .pane(session)
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| l.ends_with("idle — waiting for input"))),
        "{session} did not reach its prompt:\n{}",
        t.pane(session)
    );
}

/// Lines `session` received that contain `needle`.
fn got(t: &TestEnv, session: &str, needle: &str) -> usize {
    t.received(session)
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

fn handoff_events(t: &TestEnv, outcome: &str) -> Vec<serde_json::Value> {
    t.events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "handoff" && e["outcome"] == outcome)
        .collect()
}

#[test]
fn claims_reach_the_reviewer_reviews_the_builder_and_inboxes_once_per_content() {
    let t = fleet("ho-", &[]);
    wait_idle(&t, "ho-builder", 15.0);
    wait_idle(&t, "ho-adversary", 15.0);

    // claim → adversary, within two light ticks (plus the typing itself), not the builder.
    let at = Instant::now();
    push(&t, "claim: gate 1 passes", &[]);
    assert!(
        wait_until(6.0, || got(&t, "ho-adversary", "claim: gate 1 passes") == 1),
        "the claim never reached the adversary: {:?}",
        t.events(".agents")
    );
    let took = at.elapsed();
    assert!(
        took < Duration::from_millis(3500),
        "the claim took {took:?} (ticks are 1 s)"
    );
    let line = &t.received("ho-adversary")[0];
    assert!(
        line.starts_with("watchdog ping: the other loop pushed a gate CLAIM commit"),
        "{line}"
    );
    assert_eq!(got(&t, "ho-builder", "claim"), 0, "the builder was pinged");
    // The event follows the verified delivery.
    assert!(wait_until(3.0, || handoff_events(&t, "delivered").len() == 1));
    let delivered = handoff_events(&t, "delivered");
    let e = &delivered[0];
    assert_eq!(
        (&e["what"], &e["to"], &e["session"], &e["detail"]),
        (
            &"claim".into(),
            &"adversary".into(),
            &"ho-adversary".into(),
            &"claim: gate 1 passes".into()
        ),
        "{e}"
    );
    assert_eq!(handoff_events(&t, "queued").len(), 1);

    // review → builder (case-insensitive), not the adversary.
    push(&t, "Review: gate 1 verified", &[]);
    assert!(
        wait_until(6.0, || got(&t, "ho-builder", "Review: gate 1 verified")
            == 1),
        "the review never reached the builder"
    );
    assert!(t.received("ho-builder")[0].contains("verdict/finding commit"));
    assert_eq!(got(&t, "ho-adversary", "Review"), 0);

    // An inbox file under state_subdir → its target (inboxes[1] → the builder).
    wait_idle(&t, "ho-builder", 10.0);
    push(
        &t,
        "note for the builder",
        &[("machine-docs/builder_inbox.md", "please fix X\n")],
    );
    let inbox = "pushed machine-docs/builder_inbox.md — pull, read it, act, then delete";
    assert!(
        wait_until(6.0, || got(&t, "ho-builder", inbox) == 1),
        "the inbox ping never reached the builder: {:?}",
        t.received("ho-builder")
    );
    // Same content, another commit: no second ping.
    push(&t, "unrelated", &[("src/x.txt", "1\n")]);
    // A check per 1 s tick, its fetch in the background, the ping on a later tick.
    t.pass_ticks(5);
    assert_eq!(
        got(&t, "ho-builder", inbox),
        1,
        "pinged twice for one content"
    );
    // Changed content: a ping.
    wait_idle(&t, "ho-builder", 10.0);
    push(
        &t,
        "more for the builder",
        &[("machine-docs/builder_inbox.md", "and Y\n")],
    );
    assert!(
        wait_until(6.0, || got(&t, "ho-builder", inbox) == 2),
        "a changed inbox was not pinged again"
    );
    assert_eq!(got(&t, "ho-adversary", "inbox"), 0);
    assert!(
        t.events(".agents")
            .iter()
            .all(|e| e["event"] != "handoff-error"),
        "no error expected"
    );
}

#[test]
fn a_failing_fetch_is_reported_once_survived_and_pings_resume_when_fixed() {
    let t = fleet("hf-", &[]);
    wait_idle(&t, "hf-adversary", 15.0);
    let origin = t.path().join("origin.git");
    let moved = t.path().join("origin-moved.git");
    std::fs::rename(&origin, &moved).unwrap();
    let errors = || {
        t.events(".agents")
            .into_iter()
            .filter(|e| e["event"] == "handoff-error")
            .collect::<Vec<_>>()
    };
    assert!(
        wait_until(5.0, || !errors().is_empty()),
        "the fetch error was not reported"
    );
    t.pass_ticks(5); // a fetch retried on every 1 s tick
    let errs = errors();
    assert_eq!(errs.len(), 1, "reported more than once: {errs:?}");
    let msg = errs[0]["error"].as_str().unwrap();
    assert!(
        msg.contains("git fetch origin") && msg.contains("failed"),
        "{msg}"
    );
    assert!(watchdog_running(&t), "the watchdog died");
    assert_eq!(
        handoff_state(&t)["error"].as_str(),
        Some(msg),
        "kept for status"
    );

    // Fixed: the remote answers again; a claim pushed meanwhile is pinged.
    std::fs::rename(&moved, &origin).unwrap();
    push(&t, "claim: after the outage", &[]);
    assert!(
        wait_until(8.0, || got(&t, "hf-adversary", "claim: after the outage")
            == 1),
        "no ping after the remote came back: {:?}",
        t.events(".agents")
    );
    assert!(
        t.events(".agents")
            .iter()
            .any(|e| e["event"] == "handoff-recovered")
    );
    assert_eq!(errors().len(), 1);
    assert!(
        handoff_state(&t)["error"].is_null(),
        "{}",
        handoff_state(&t)
    );
}

/// Issue 15 item 8: a ping reads its target's pane again under the typing lock. The claim
/// is queued while the adversary is idle, but another delivery holds the lock (the test, as
/// a concurrent `agents send` would), types its message, and the adversary turns busy. The
/// ping, which saw it idle before it waited for the lock, is not typed into the busy agent:
/// it stays pending and is typed once the adversary is idle again.
#[test]
fn a_ping_that_waited_for_the_typing_lock_reads_the_pane_again_under_it() {
    let t = fleet("hl-", &[("FAKE_WORK_SECS", "1"), ("FAKE_REPLY_SECS", "6")]);
    wait_idle(&t, "hl-adversary", 15.0);
    let held = hold_typing_lock(&t, "hl-adversary");
    push(&t, "claim: one", &[]);
    assert!(
        wait_until(10.0, || handoff_events(&t, "queued").len() == 1),
        "the claim was not queued"
    );
    // The ping is due (the adversary is idle) and waits for the lock, inside a tick: no
    // tick ends meanwhile, so this waits by the clock.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        got(&t, "hl-adversary", "claim"),
        0,
        "typed without the lock"
    );
    t.type_line("hl-adversary", "the other message");
    assert!(
        wait_until(5.0, || t.pane("hl-adversary").contains("esc to interrupt")),
        "{}",
        t.pane("hl-adversary")
    );
    drop(held);
    assert!(
        wait_until(15.0, || got(&t, "hl-adversary", "claim") == 1),
        "the ping was not typed once idle: {:?}",
        t.received("hl-adversary")
    );
    let busy = typed_while_busy(&t, "hl-adversary");
    assert!(
        busy.is_empty(),
        "the ping was typed into the busy agent: {busy}"
    );
    assert_eq!(t.received("hl-adversary")[0], "the other message");
    // The event follows the verified submit.
    assert!(
        wait_until(5.0, || handoff_events(&t, "delivered").len() == 1),
        "{:?}",
        t.events(".agents")
    );
}

#[test]
fn a_restarted_watchdog_neither_repeats_nor_loses_a_ping() {
    // The agents work on their kickoff for 12 s: pings wait for them.
    let t = fleet("hr-", &[("FAKE_WORK_SECS", "12")]);
    push(&t, "claim: one", &[]);
    assert!(
        wait_until(5.0, || handoff_events(&t, "queued").len() == 1),
        "the claim was not queued"
    );
    assert_eq!(handoff_state(&t)["pending"].as_array().unwrap().len(), 1);
    assert_eq!(t.run(&["down", "watchdog"]).0, 0);
    // Pushed while no watchdog runs: found by the next one.
    push(&t, "claim: two", &[]);
    let (code, _, err) = t.run(&["up", "watchdog"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || handoff_events(&t, "queued").len() == 2),
        "the claim pushed while the watchdog was down was not found"
    );
    assert_eq!(
        got(&t, "hr-adversary", "claim"),
        0,
        "typed into a busy agent"
    );
    wait_idle(&t, "hr-adversary", 20.0);
    assert!(
        wait_until(5.0, || got(&t, "hr-adversary", "claim") > 0),
        "the pending ping was lost"
    );
    t.pass_ticks(4);
    let lines = t.received("hr-adversary");
    assert_eq!(
        got(&t, "hr-adversary", "\"claim: one\""),
        1,
        "claim one: {lines:?}"
    );
    assert_eq!(
        got(&t, "hr-adversary", "\"claim: two\""),
        1,
        "claim two: {lines:?}"
    );
    assert_eq!(lines.len(), 1, "one ping naming both: {lines:?}");
    assert!(handoff_state(&t)["pending"].as_array().unwrap().is_empty());
    assert_eq!(got(&t, "hr-builder", "claim"), 0);
}

/// `<config path>:<line>:<col>: ` of the first `needle` in `text`, as the program names it.
fn loc(t: &TestEnv, text: &str, needle: &str) -> String {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the config"));
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    let path = t.path().canonicalize().unwrap().join("agents.toml");
    format!("{}:{line}:{col}: ", path.display())
}

/// The rendered problem at `head` (its message, snippet and help), up to the next one.
fn problem<'a>(stderr: &'a str, head: &str) -> &'a str {
    let start = stderr
        .find(head)
        .unwrap_or_else(|| panic!("no problem at {head:?} in stderr:\n{stderr}"));
    let rest = &stderr[start..];
    let end = rest[1..]
        .find("\n/")
        .or_else(|| rest[1..].find("\n[agents "))
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[test]
fn bad_handoff_settings_are_config_errors_with_file_line_column_and_the_fix() {
    let t = TestEnv::new();
    repos(&t);
    let text = config("hb-").replace(
        "inboxes = [\"adversary_inbox.md\", \"builder_inbox.md\"]",
        "inboxes = [\"../outside.md\", \"/etc/builder_inbox.md\"]\n\
         claim_pings = \"reviewer\"\nreview_pattern = \"^review(\"",
    );
    t.config(&text);
    let (code, _, err) = t.run(&["status"]);
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let p = problem(&err, &loc(&t, &text, "\"../outside.md\""));
    assert!(
        p.contains("[loop.handoff] inboxes") && p.contains("outside the handoff repo"),
        "{p}"
    );
    assert!(p.contains("help: name a file relative to the repo"), "{p}");
    let p = problem(&err, &loc(&t, &text, "\"/etc/builder_inbox.md\""));
    assert!(p.contains("outside the handoff repo"), "{p}");
    let p = problem(&err, &loc(&t, &text, "\"reviewer\""));
    assert!(
        p.contains("claim_pings = \"reviewer\" names no agent")
            && p.contains("agents: builder, adversary"),
        "{p}"
    );
    let p = problem(&err, &loc(&t, &text, "\"^review(\""));
    assert!(
        p.contains("[loop.handoff]: review_pattern is not a valid regex")
            && p.contains("unclosed group"),
        "{p}"
    );
    // Nothing was started.
    assert!(t.sessions().is_empty());
}

#[test]
fn a_handoff_repo_that_is_missing_not_git_or_without_origin_is_said_at_load_and_by_the_watchdog() {
    let t = TestEnv::new();
    t.write("prompts/builder.md", "ROLE builder\n");
    t.write("prompts/adversary.md", "ROLE adversary\n");
    let text = config("hn-");
    t.config(&text);
    let at = loc(&t, &text, "\"handoff\"");
    let warning = |needle: &str| {
        let (code, _, err) = t.run(&["status"]);
        assert!(matches!(code, 0 | 3), "status still works: {err}");
        let p = problem(&err, &at).to_string();
        assert!(
            p.contains("[loop.handoff] repo") && p.contains(needle),
            "wanted {needle:?}:\n{p}"
        );
        p
    };
    let p = warning("does not exist");
    assert!(p.contains("git clone <url>"), "{p}");
    // `doctor` says it too, as a warning.
    let (_, out, _) = t.run(&["doctor"]);
    assert!(
        out.lines().any(|l| l.starts_with("warn")
            && l.contains("[loop.handoff] repo")
            && l.contains("does not exist")),
        "{out}"
    );
    std::fs::create_dir_all(t.path().join("handoff")).unwrap();
    warning("is not a git repository");
    git(&t.path().join("handoff"), &["init", "-q"]);
    let p = warning("has no `origin` remote");
    assert!(p.contains("remote add origin"), "{p}");

    // The watchdog runs anyway, says it once, and keeps running.
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    let errors = || {
        t.events(".agents")
            .into_iter()
            .filter(|e| e["event"] == "handoff-error")
            .collect::<Vec<_>>()
    };
    assert!(wait_until(5.0, || !errors().is_empty()), "no handoff-error");
    t.pass_ticks(4);
    assert_eq!(errors().len(), 1, "{:?}", errors());
    assert!(
        errors()[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("origin")),
        "{:?}",
        errors()
    );
    assert!(watchdog_running(&t));
}

#[test]
fn each_ping_is_submitted_with_its_targets_own_key() {
    // SPEC defect 11: the original pressed the builder's submit key for every target. Here
    // the builder's backend submits with Tab (the demo agent does not take it as a line), the
    // adversary's with Enter: the claim must still reach the adversary.
    let t = TestEnv::new();
    repos(&t);
    t.write("prompts/builder.md", "ROLE builder\n");
    t.write("prompts/adversary.md", "ROLE adversary\n");
    let text = config("hk-").replace(
        "name = \"builder\"\nkind = \"loop\"",
        "name = \"builder\"\nbackend = \"tabby\"\nkind = \"loop\"",
    ) + &format!(
        "\n[backend.tabby]\nbin = \"bash {} '{{kickoff}}' '{{session}}' '{{model}}'\"\nactive_re = \"esc to interrupt\"\nsubmit_key = \"Tab\"\n",
        fake_agent().display()
    );
    t.config(&text);
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    assert!(wait_until(10.0, || handoff_state(&t)["head"].is_string()));
    wait_idle(&t, "hk-adversary", 15.0);
    push(&t, "claim: keyed", &[]);
    assert!(
        wait_until(6.0, || got(&t, "hk-adversary", "claim: keyed") == 1),
        "the claim was not submitted with the adversary's Enter: {:?}",
        t.events(".agents")
    );
    // The builder's own key is used for the builder: its ping is typed, and Tab does not
    // submit it (the demo agent does not echo, so the typing path cannot tell).
    push(&t, "review: keyed", &[]);
    assert!(
        wait_until(8.0, || t
            .events(".agents")
            .iter()
            .any(|e| e["event"] == "handoff"
                && e["to"] == "builder"
                && e["outcome"] != "queued")),
        "the builder's ping was never typed: {:?}",
        t.events(".agents")
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(t.received("hk-builder").is_empty());
}
