//! Issue 14 item 6: a `hooks = "codex"` backend is started with `-c hooks.<Event>=…`
//! overrides (and `--dangerously-bypass-hook-trust`) whose commands run `agents signal`; the
//! plan usage `status` shows comes from the rollout file the hooks named. The CLI here is a
//! stand-in that reads the overrides as Codex 0.169.0 does (each value is TOML), runs each
//! hook's command through `sh -c` with its JSON input on stdin, and writes a rollout line
//! of the real CLI's shape (tests/fixtures/codex/rollout-0.169.0.jsonl; the real CLI:
//! tests/e2e/codex).

use serde_json::Value;

use crate::util::*;

/// A stand-in for Codex's hooks: `python3 fake.py [flags] PROMPT`. Fires `SessionStart`
/// (with the rollout as `transcript_path`), then `UserPromptSubmit` and Stop for the prompt
/// and each line typed, appending a `token_count` line (5 h at 42 %, 7 d at 17 %) to the
/// rollout before the Stop. Writes its argv to argv.json first.
const FAKE_CODEX: &str = r#"import json, os, subprocess, sys, time, tomllib
args = sys.argv[1:]
json.dump(args, open("argv.json", "w"))
hooks = {}
for i, a in enumerate(args):
    if a == "-c" and args[i + 1].startswith("hooks."):
        key, value = args[i + 1].split("=", 1)
        hooks[key[len("hooks."):]] = tomllib.loads("v = " + value)["v"]
rollout = os.path.abspath("rollout-2026-12-05T14-08-39-sess-1.jsonl")
def fire(event, **payload):
    payload.update(session_id="sess-1", transcript_path=rollout, hook_event_name=event)
    for h in hooks[event][0]["hooks"]:
        r = subprocess.run(h["command"], shell=True, input=json.dumps(payload).encode(),
                           capture_output=True)
        print("hook %s exit %d out %r" % (event, r.returncode, r.stdout + r.stderr), flush=True)
fire("SessionStart", source="startup")
def turn(prompt):
    fire("UserPromptSubmit", prompt=prompt, turn_id="t")
    now = time.time()
    limits = {"limit_id": "codex", "primary": {"used_percent": 42.0, "window_minutes": 300,
              "resets_at": int(now) + 7200}, "secondary": {"used_percent": 17.0,
              "window_minutes": 10080, "resets_at": int(now) + 400000}}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))
    with open(rollout, "a") as f:
        f.write(json.dumps({"timestamp": stamp, "type": "event_msg", "payload": {
            "type": "token_count", "info": None, "rate_limits": limits}}) + "\n")
    fire("Stop", last_assistant_message="Reply to: " + prompt)
turn(args[-1])
while True:
    try:
        line = input("> ")
    except EOFError:
        break
    turn(line)
"#;

fn signals(t: &TestEnv) -> Vec<String> {
    std::fs::read_to_string(t.path().join(".agents/state/signals-cx-a1.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            v["event"].as_str().unwrap_or("").to_string()
        })
        .collect()
}

#[test]
fn a_codex_hooks_backend_records_turns_and_status_shows_the_rollouts_usage() {
    let t = TestEnv::new();
    let fake = t.write("fake-codex.py", FAKE_CODEX);
    crate::hooks::up_on_stand_in(
        &t,
        &fake,
        "cx-",
        "codex",
        "--dangerously-bypass-approvals-and-sandbox",
    );
    assert!(
        wait_until(10.0, || signals(&t).len() >= 3),
        "{:?}\n{}",
        signals(&t),
        t.pane("cx-a1")
    );
    assert_eq!(signals(&t), ["SessionStart", "UserPromptSubmit", "Stop"]);
    // The overrides come before the preset's flags and the prompt, one argv word each.
    let argv: Vec<String> =
        serde_json::from_slice(&std::fs::read(t.path().join("argv.json")).unwrap()).unwrap();
    assert_eq!(
        argv[..3],
        [
            "--dangerously-bypass-hook-trust",
            "-c",
            "features.hooks=true"
        ]
    );
    assert_eq!(
        argv[argv.len() - 2..],
        [
            "--dangerously-bypass-approvals-and-sandbox",
            "You are agent 1."
        ]
    );
    // Each hook printed nothing and exited 0.
    let pane = t.pane("cx-a1");
    assert!(pane.contains("hook Stop exit 0 out b''"), "{pane}");
    let (code, out, err) = t.run(&["status"]);
    assert!(code == 0 || code == 3, "{out}{err}");
    let usage = out
        .lines()
        .find(|l| l.trim_start().starts_with("usage: "))
        .unwrap_or_else(|| panic!("no usage line: {out}"));
    assert!(
        usage.contains("5h 42% · resets ") && usage.contains(", 7d 17% · resets "),
        "{usage}"
    );
}
