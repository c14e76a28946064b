//! Issue 14 item 1: a `hooks = "claude"` backend is started with a per-launch settings file
//! (`--settings log_dir/state/hooks-<session>.json`) whose hooks run `agents signal`, which
//! appends one line per event to `log_dir/state/signals-<session>.jsonl`. The CLI here is a
//! stand-in that reads the settings file and runs its hook commands through `sh -c` with
//! the JSON input on stdin, as Claude Code 2.1.330 does (the real CLI: tests/e2e/claude).

use serde_json::Value;

use crate::util::*;

/// A stand-in for Claude Code's hooks: `python3 fake.py --settings FILE [flags] PROMPT`.
/// Fires `SessionStart`, then `UserPromptSubmit` and Stop for the prompt and for each line
/// typed; `/subagent` fires a subagent's Stop (with `agent_id`) before its own; `/limit`
/// ends the turn with `StopFailure` `rate_limit`. Writes its argv to argv.json first.
const FAKE_CLAUDE: &str = r#"import json, os, subprocess, sys, time
args = sys.argv[1:]
json.dump(args, open("argv.json", "w"))
settings = json.load(open(args[args.index("--settings") + 1]))
hooks = settings["hooks"]
# Its transcript, as Claude Code 2.1.330 writes one (a record per message, other records between).
transcript = os.path.abspath("sess-1.jsonl")
def record(kind, content):
    with open(transcript, "a") as t:
        t.write(json.dumps({"type": "mode", "mode": "normal"}) + "\n")
        t.write(json.dumps({"type": kind, "timestamp": "2026-12-05T07:00:00.000Z",
                            "message": {"role": kind, "content": content}}) + "\n")
def fire(event, **payload):
    payload.update(session_id="sess-1", transcript_path=transcript, hook_event_name=event)
    for h in hooks[event][0]["hooks"]:
        r = subprocess.run(h["command"], shell=True, input=json.dumps(payload).encode(),
                           capture_output=True)
        print("hook %s exit %d out %r" % (event, r.returncode, r.stdout + r.stderr), flush=True)
fire("SessionStart", source="startup")
def turn(prompt):
    fire("UserPromptSubmit", prompt=prompt)
    record("user", prompt)
    record("assistant", [{"type": "text", "text": "Reply to: " + prompt + "\nSecond line."}])
    if prompt == "/subagent":
        fire("Stop", agent_id="sub-7")
    if prompt == "/slow":
        # A turn whose screen shows nothing of it (no spinner): only the hooks tell.
        time.sleep(4)
    if prompt == "/limit":
        fire("StopFailure", error="rate_limit",
             last_assistant_message="You've hit your 5-hour limit · resets 2:06pm (UTC)")
    elif prompt == "/limit-2h":
        # The same, with a reset two hours on (a whole minute, as the CLI prints it), written
        # to reset.txt; nothing of it drawn on the screen.
        reset = (int(time.time()) // 60 + 120) * 60
        open("reset.txt", "w").write(str(reset))
        clock = time.strftime("%I:%M%p", time.gmtime(reset)).lstrip("0").lower()
        fire("StopFailure", error="rate_limit",
             last_assistant_message="You've hit your 5-hour limit · resets %s (UTC)" % clock)
    else:
        fire("Stop")
    # The status line after each reply, as 2.1.330 runs it (its JSON on stdin).
    line = {"model": {"display_name": "Sonnet 5.5"}, "context_window": {"used_percentage": 7},
            "rate_limits": {"five_hour": {"used_percentage": 93, "resets_at": 1796474605}}}
    r = subprocess.run(settings["statusLine"]["command"], shell=True,
                       input=json.dumps(line).encode(), capture_output=True)
    print("status line: %r" % r.stdout, flush=True)
turn(args[-1])
while True:
    try:
        line = input("> ")
    except EOFError:
        break
    turn(line)
"#;

/// A fleet of one agent `a1` on the stand-in with `hooks = "claude"` (watched with 0.3 s
/// ticks), after `prepare` wrote what it needs in the project: started, its `SessionStart`,
/// `UserPromptSubmit` and Stop of the kickoff recorded.
fn started(prepare: impl FnOnce(&TestEnv)) -> TestEnv {
    started_as(prepare, |c| c)
}

/// [`started`], with its `agents.toml` changed by `edit` first.
fn started_as(prepare: impl FnOnce(&TestEnv), edit: impl FnOnce(String) -> String) -> TestEnv {
    let t = TestEnv::new();
    let fake = t.write("fake-claude.py", FAKE_CLAUDE);
    prepare(&t);
    t.config(&edit(stand_in_config(
        &fake,
        "hk-",
        "claude",
        "--dangerously-skip-permissions",
    )));
    up_with(&t, &[]);
    assert!(
        wait_until(10.0, || events(&t).len() >= 3),
        "{:?}\n{}",
        signals(&t),
        t.pane("hk-a1")
    );
    t
}

/// Writes the config of one agent `a1` (prompt "You are agent 1.") on the stand-in CLI
/// `python3 <fake>` with these `hooks` and `flags`, sessions prefixed `prefix`, watched with
/// 0.3 s ticks, and starts it.
pub fn up_on_stand_in(t: &TestEnv, fake: &std::path::Path, prefix: &str, hooks: &str, flags: &str) {
    t.config(&stand_in_config(fake, prefix, hooks, flags));
    up_with(t, &[]);
}

/// The config [`up_on_stand_in`] writes.
fn stand_in_config(fake: &std::path::Path, prefix: &str, hooks: &str, flags: &str) -> String {
    format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"
backend = "hooked"
watch = "heal"

[backend.hooked]
bin = "python3 {fake}"
hooks = "{hooks}"
flags = "{flags}"

[watchdog]
signal_interval = 0.3
heavy_interval = 1

[[agent]]
name = "a1"
prompt = "You are agent 1."
"#,
        fake = fake.display()
    )
}

/// The signals recorded (the lines a test wrote that are not JSON left out).
fn signals(t: &TestEnv) -> Vec<Value> {
    std::fs::read_to_string(t.path().join(".agents/state/signals-hk-a1.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn events(t: &TestEnv) -> Vec<String> {
    signals(t)
        .iter()
        .map(|s| s["event"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn a_claude_hooks_backend_records_each_turn_through_agents_signal() {
    // The user's own status line for the project: still shown, after ours recorded the usage.
    let t = started(|t| {
        t.write(
            ".claude/settings.json",
            r#"{"statusLine": {"type": "command", "command": "cat >/dev/null; echo my own line"}}"#,
        );
    });
    // The hooks file of this launch, on the command line before the flags and the prompt.
    let settings = t.path().join(".agents/state/hooks-hk-a1.json");
    let argv: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("argv.json")).unwrap())
            .unwrap();
    let at = argv
        .iter()
        .position(|a| a == "--settings")
        .expect("--settings");
    assert_eq!(
        std::path::Path::new(&argv[at + 1]).canonicalize().unwrap(),
        settings.canonicalize().unwrap()
    );
    assert_eq!(argv.last().unwrap(), "You are agent 1.");
    assert_eq!(events(&t), ["SessionStart", "UserPromptSubmit", "Stop"]);
    let s = signals(&t);
    assert_eq!(s[0]["session_id"], "sess-1");
    assert!(
        s[0]["transcript_path"]
            .as_str()
            .unwrap()
            .ends_with("/sess-1.jsonl"),
        "{}",
        s[0]
    );
    assert_eq!(s[0]["source"], "startup");
    // Every hook ran quietly and exited 0 (its output would join the conversation).
    let pane = t.pane("hk-a1");
    assert_eq!(pane.matches("exit 0 out b''").count(), 3, "{pane}");
    // The status line recorded the plan usage and printed the user's own line.
    assert!(
        wait_until(5.0, || t
            .pane("hk-a1")
            .contains("status line: b'my own line\\n'")),
        "{}",
        t.pane("hk-a1")
    );
    let usage: Value = serde_json::from_str(
        &std::fs::read_to_string(t.path().join(".agents/state/usage-hk-a1.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(usage["windows"][0]["name"], "5h");
    assert_eq!(usage["windows"][0]["used_percentage"], 93.0);
    assert_eq!(usage["windows"][0]["resets_at"], 1_796_474_605);
    assert_eq!(usage["context_percentage"], 7.0);
    // `status` shows it: a line under the agent, and `usage` in --json.
    let (_, out, _) = t.run(&["status"]);
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("usage: 5h 93%"))
        .unwrap_or_else(|| panic!("no usage line:\n{out}"));
    assert!(line.contains("· resets "), "{line}");
    assert_eq!(
        t.agent_row("a1")["usage"]["windows"][0]["used_percentage"],
        93.0
    );

    let (code, _, err) = t.run(&["send", "a1", "please read PLAN.md"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || events(&t).len() >= 5),
        "{:?}",
        events(&t)
    );
    assert_eq!(events(&t)[3..], ["UserPromptSubmit", "Stop"]);
    let text = std::fs::read_to_string(t.path().join(".agents/state/signals-hk-a1.jsonl")).unwrap();
    assert!(!text.contains("PLAN.md"), "the prompt was copied: {text}");

    // A subagent's Stop says nothing about the agent's own turn: not recorded.
    let (code, _, err) = t.run(&["send", "a1", "/subagent"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || events(&t).len() >= 7),
        "{:?}",
        events(&t)
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(events(&t)[5..], ["UserPromptSubmit", "Stop"]);
    assert!(t.pane("hk-a1").contains("hook Stop exit 0"));

    // A plan limit ends the turn with StopFailure and the CLI's own words.
    let (code, _, err) = t.run(&["send", "a1", "/limit"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || events(&t).len() >= 9),
        "{:?}",
        events(&t)
    );
    let last = signals(&t).pop().unwrap();
    assert_eq!(last["event"], "StopFailure");
    assert_eq!(last["error"], "rate_limit");
    assert_eq!(
        last["last_assistant_message"],
        "You've hit your 5-hour limit · resets 2:06pm (UTC)"
    );
}

/// Issue 14 item 5: `agents logs NAME` of an agent whose hooks named its transcript shows the
/// conversation (not the last frame of its screen), honours `-n` and follows it with `-f`;
/// `--screen` shows the pane output as for any other agent.
#[test]
fn logs_of_a_hooked_agent_show_its_conversation() {
    let t = started(|_| {});
    let (code, out, err) = t.run(&["logs", "a1", "--no-follow"]);
    assert_eq!(code, 0, "{err}");
    let want = [
        "user      You are agent 1.",
        "assistant Reply to: You are agent 1.",
        "          Second line.",
    ];
    let got: Vec<&str> = out.lines().map(|l| l.get(9..).unwrap_or(l)).collect();
    assert_eq!(got, want, "{out}");
    let (_, out, _) = t.run(&["logs", "a1", "--no-follow", "-n", "1"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.ends_with("Second line.\n"), "{out}");
    // The screen: the hooks' own lines the stand-in prints, which the conversation leaves out.
    let (code, out, err) = t.run(&["logs", "a1", "--no-follow", "--screen"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("hook SessionStart exit 0"), "{out}");

    let mut follow = Guarded::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_agents"))
            .current_dir(t.path())
            .env("AGENTS_TMUX_SOCKET", &t.socket)
            .env("TMUX_TMPDIR", &t.tmux_tmpdir)
            .env_remove("TMUX")
            .args(["logs", "a1", "-f", "-n", "0"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped()),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (code, _, err) = t.run(&["send", "a1", "what next?"]);
    assert_eq!(code, 0, "{err}");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(follow.try_wait().unwrap().is_none(), "logs -f exited");
    let out = follow.kill_output();
    let out = String::from_utf8_lossy(&out.stdout);
    let got: Vec<&str> = out.lines().map(|l| l.get(9..).unwrap_or(l)).collect();
    assert_eq!(
        got,
        [
            "user      what next?",
            "assistant Reply to: what next?",
            "          Second line."
        ],
        "{out}"
    );
}

/// Issue 14 item 2: right after the CLI took a prompt (`UserPromptSubmit`) its screen may not
/// show the turn yet; the hook marks it `active` (source `hook`) until it ends (Stop) or the
/// screen decides after `HOOK_HOLD`: `status` says so and `send` does not type into it.
#[test]
fn a_turn_the_screen_does_not_show_is_active_by_its_hook() {
    let t = started(|_| {});
    assert!(
        wait_until(5.0, || t.agent_row("a1")["state"] == "idle"),
        "{}",
        t.agent_row("a1")
    );
    let (code, _, err) = t.run(&["send", "a1", "/slow"]);
    assert_eq!(code, 0, "{err}");
    // The screen reads idle all along (the stand-in draws nothing of a turn).
    assert!(
        wait_until(3.0, || t.agent_row("a1")["state"] == "active"),
        "{}",
        t.agent_row("a1")
    );
    let row = t.agent_row("a1");
    assert_eq!(row["source"], "hook", "{row}");
    assert!(
        row["why"]
            .as_str()
            .unwrap_or("")
            .contains("UserPromptSubmit"),
        "{row}"
    );
    let (code, out, err) = t.run(&["selftest", "--live", "--json"]);
    assert_eq!(code, 0, "{err}");
    let live: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (live[0]["state"].as_str(), live[0]["source"].as_str()),
        (Some("active"), Some("hook")),
        "{out}"
    );
    let (code, _, err) = t.run(&["send", "a1", "--timeout", "0", "not now"]);
    assert_ne!(code, 0, "typed into a turn the hook announced: {err}");
    assert!(err.contains("UserPromptSubmit"), "{err}");
    // Its Stop ends it: idle again, by the screen.
    assert!(
        wait_until(8.0, || t.agent_row("a1")["state"] == "idle"),
        "{}",
        t.agent_row("a1")
    );
    assert_eq!(t.agent_row("a1")["source"], "screen");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(events(&t).len(), 5, "{:?}", events(&t));
    assert!(!t.pane("hk-a1").contains("not now"), "{}", t.pane("hk-a1"));
}

/// A stand-in for Gemini CLI 0.61.0's hooks: `python3 fake-gemini.py [flags] PROMPT`, run with
/// `GEMINI_CLI_HOME`. Reads `$GEMINI_CLI_HOME/.gemini/settings.json` and runs every command
/// hook of an event through `bash -c` with the JSON input on stdin, as 0.61.0 does: fires
/// `SessionStart`, then `BeforeAgent` and `AfterAgent` for the prompt and each line typed;
/// `/slow` draws nothing for 4 s between them; `/ask` fires a `ToolPermission` Notification
/// and waits 4 s. Writes what it found to found.json first.
const FAKE_GEMINI: &str = r#"import json, os, subprocess, sys, time
home = os.environ.get("GEMINI_CLI_HOME", "")
settings = json.load(open(os.path.join(home, ".gemini", "settings.json")))
json.dump({"home": home, "settings": settings,
           "creds": os.path.realpath(os.path.join(home, ".gemini", "oauth_creds.json"))},
          open("found.json", "w"))
def fire(event, **payload):
    payload.update(session_id="g-1", transcript_path=home + "/.gemini/tmp/w/chats/s.jsonl",
                   cwd=os.getcwd(), hook_event_name=event)
    for d in settings["hooks"].get(event, []):
        for h in d["hooks"]:
            r = subprocess.run(["bash", "-c", h["command"]], input=json.dumps(payload).encode(),
                               capture_output=True)
            print("hook %s %s exit %d out %r" % (event, h.get("name"), r.returncode,
                                                 r.stdout + r.stderr), flush=True)
fire("SessionStart", source="startup")
def turn(prompt):
    fire("BeforeAgent", prompt=prompt)
    if prompt == "/slow":
        time.sleep(4)
    if prompt == "/ask":
        fire("Notification", notification_type="ToolPermission",
             message="Tool Confirm Shell Command requires execution",
             details={"type": "exec", "command": "touch x"})
        time.sleep(4)
    fire("AfterAgent", prompt=prompt, prompt_response="Reply to: " + prompt)
turn(sys.argv[-1])
while True:
    try:
        line = input("> ")
    except EOFError:
        break
    turn(line)
"#;

/// Issue 14 item 6: a `hooks = "gemini"` backend is started with `GEMINI_CLI_HOME` set to
/// `log_dir/state/gemini-home-<session>`, whose settings are the user's plus hooks that run
/// `agents signal` quietly; every other entry of the user's `~/.gemini` is linked, and the
/// user's own settings file is untouched. `BeforeAgent` over a screen that shows nothing
/// reads `active` by the hook, a `ToolPermission` Notification `dialog`.
#[test]
fn a_gemini_hooks_backend_records_each_turn_and_leaves_the_users_settings() {
    let t = TestEnv::new();
    let fake = t.write("fake-gemini.py", FAKE_GEMINI);
    let user = r#"{"ui": {"theme": "Default"}, // mine
  "hooks": {"AfterAgent": [{"hooks": [{"type": "command", "command": "echo theirs >> their-hook.txt"}]}]}}"#;
    t.write("home/.gemini/settings.json", user);
    t.write("home/.gemini/oauth_creds.json", "{}");
    t.config(&stand_in_config(&fake, "gk-", "gemini", "-i"));
    let home = t.path().join("home");
    up_with(&t, &[("HOME", home.to_str().unwrap())]);
    let file = t.path().join(".agents/state/signals-gk-a1.jsonl");
    let events = || -> Vec<String> {
        std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
                v["event"].as_str().unwrap_or("").to_string()
            })
            .collect()
    };
    assert!(
        wait_until(10.0, || events().len() >= 3),
        "{:?}\n{}",
        events(),
        t.pane("gk-a1")
    );
    assert_eq!(events(), ["SessionStart", "BeforeAgent", "AfterAgent"]);
    let found: Value =
        serde_json::from_str(&std::fs::read_to_string(t.path().join("found.json")).unwrap())
            .unwrap();
    let launch_home = t.path().join(".agents/state/gemini-home-gk-a1");
    assert_eq!(
        std::path::Path::new(found["home"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        launch_home.canonicalize().unwrap()
    );
    assert_eq!(found["settings"]["ui"]["theme"], "Default");
    assert_eq!(
        std::path::Path::new(found["creds"].as_str().unwrap()),
        home.join(".gemini/oauth_creds.json")
            .canonicalize()
            .unwrap()
    );
    // Their hook ran too, and ours quietly with exit 0.
    let pane = t.pane("gk-a1");
    assert_eq!(
        pane.matches("agents-signal exit 0 out b''").count(),
        3,
        "{pane}"
    );
    assert!(pane.contains("hook AfterAgent None exit 0"), "{pane}");
    assert_eq!(
        std::fs::read_to_string(home.join(".gemini/settings.json")).unwrap(),
        user
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("You are agent 1"),
        "the prompt was copied: {text}"
    );

    // A turn the screen does not show: active by its BeforeAgent; a tool waiting for
    // approval: a dialog by its Notification.
    let by_hook = |text: &str, state: &str, why: &str| {
        assert!(wait_until(8.0, || t.agent_row("a1")["state"] == "idle"));
        let (code, _, err) = t.run(&["send", "a1", text]);
        assert_eq!(code, 0, "{err}");
        assert!(
            wait_until(3.0, || t.agent_row("a1")["state"] == state),
            "{}",
            t.agent_row("a1")
        );
        let row = t.agent_row("a1");
        assert_eq!(row["source"], "hook", "{row}");
        assert!(row["why"].as_str().unwrap_or("").contains(why), "{row}");
    };
    by_hook("/slow", "active", "BeforeAgent");
    by_hook(
        "/ask",
        "dialog",
        "Tool Confirm Shell Command requires execution",
    );
    assert!(wait_until(8.0, || events().len() >= 8), "{:?}", events());
    assert_eq!(
        events()[3..],
        [
            "BeforeAgent",
            "AfterAgent",
            "BeforeAgent",
            "Notification",
            "AfterAgent"
        ]
    );
}

/// Issue 14 items 2-3: a plan limit is detected from `StopFailure` before the screen shows it.
/// The stand-in's kickoff turn ends on a `rate_limit` `StopFailure` whose message names a reset
/// two hours on, and draws nothing of it: `status` says `limited` until that reset plus the
/// slack, the `limit-hit` event names the source `hook` and the reset, and nothing is typed
/// into the agent (no stall nudge though it is `heal+stall` with a short `stall_idle`, no
/// resume) after the hook's own say is over (`HOOK_HOLD`, 10 s): the hold lasts by itself.
#[test]
fn a_plan_limit_is_detected_from_stop_failure_before_the_screen() {
    let t = started_as(
        |_| {},
        |c| {
            c.replace("watch = \"heal\"", "watch = \"heal+stall\"")
                .replace(
                    "[backend.hooked]\n",
                    "[backend.hooked]\nstall_idle = 1.5\nstall_nudge = \"are you there?\"\n\
                     limit_re = \"You've hit your .*limit\"\n",
                )
                .replace("[watchdog]\n", "[watchdog]\nlimit_reset_slack = 5\n")
                .replace("You are agent 1.", "/limit-2h")
        },
    );
    assert_eq!(
        events(&t),
        ["SessionStart", "UserPromptSubmit", "StopFailure"]
    );
    let reset: i64 = std::fs::read_to_string(t.path().join("reset.txt"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_until(5.0, || t.agent_row("a1")["state"] == "limited"),
        "{}\n{}",
        t.agent_row("a1"),
        t.pane("hk-a1")
    );
    let row = t.agent_row("a1");
    let until = chrono::DateTime::parse_from_rfc3339(row["until"].as_str().unwrap()).unwrap();
    assert_eq!(until.timestamp(), reset + 5, "{row}");
    assert!(
        row["why"]
            .as_str()
            .unwrap()
            .contains("You've hit your 5-hour limit"),
        "{row}"
    );
    // No banner on the screen: the hook told it.
    let pane = t.pane("hk-a1");
    assert!(!pane.contains("hit your"), "{pane}");
    let hit: Vec<Value> = t
        .events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "limit-hit")
        .collect();
    assert_eq!(hit.len(), 1, "{hit:?}");
    let evidence = &hit[0]["evidence"];
    assert_eq!(
        (evidence["source"].as_str(), evidence["rule"].as_str()),
        (Some("hook"), Some("hook")),
        "{evidence}"
    );
    let named = chrono::DateTime::parse_from_rfc3339(evidence["reset"].as_str().unwrap()).unwrap();
    assert_eq!(named.timestamp(), reset);

    // The hook's say is over (the screen reads idle again); the hold goes on, and for two
    // stall_idle after it nothing is typed.
    assert!(
        wait_until(20.0, || t.agent_row("a1")["source"] == "screen"),
        "{}",
        t.agent_row("a1")
    );
    assert!(
        !wait_until(2.0 * 1.5 + 1.0, || t
            .pane("hk-a1")
            .contains("are you there?")),
        "{}",
        t.pane("hk-a1")
    );
    let row = t.agent_row("a1");
    assert_eq!(row["state"], "limited", "{row}");
    assert_eq!(events(&t).len(), 3, "typed into: {:?}", events(&t));
    let typed: Vec<Value> = t
        .events(".agents")
        .into_iter()
        .filter(|e| {
            ["stall-nudge", "limit-nudge", "restart"].contains(&e["event"].as_str().unwrap_or(""))
        })
        .collect();
    assert!(typed.is_empty(), "{typed:?}");
}

/// Issue 14 "Bad input": lines in a signals file that are not JSON, huge or torn are skipped
/// by the readers (`status` still reads the agent), counted and reported once in the
/// watchdog's log; a signals file deleted while running is started again by the next hook,
/// and one that cannot be written leaves `agents signal` exiting 0 with nothing on stdout
/// (the CLI would add it to the conversation), the problem on stderr; the watchdog goes on.
#[test]
fn bad_signal_lines_are_reported_once_and_a_lost_signals_file_breaks_nothing() {
    let t = started(|_| {});
    let file = t.path().join(".agents/state/signals-hk-a1.jsonl");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("not json\n");
    text.push_str(&format!("{{\"pad\": \"{}\"}}\n", "x".repeat(40_000)));
    text.push_str("{\"ts\": \"torn");
    std::fs::write(&file, &text).unwrap();
    let log = t.path().join(".agents/hk-watchdog.log");
    let said = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("are not hook signals")
            .count()
    };
    assert!(
        wait_until(10.0, || said() == 1),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let line = std::fs::read_to_string(&log).unwrap();
    let line = line
        .lines()
        .find(|l| l.contains("are not hook signals"))
        .unwrap();
    assert!(
        line.contains("a1: 2 line(s)") && line.contains("signals-hk-a1.jsonl"),
        "{line}"
    );
    t.pass_ticks(5);
    assert_eq!(said(), 1, "reported once");
    assert_eq!(t.agent_row("a1")["state"], "idle");

    // The next hook's line is intact (the torn line gets its newline first).
    let (code, _, err) = t.run(&["send", "a1", "hello"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || events(&t)
            .ends_with(&["UserPromptSubmit".into(), "Stop".into()])),
        "{:?}",
        std::fs::read_to_string(&file)
    );

    // Deleted while running: the next hook starts it again.
    std::fs::remove_file(&file).unwrap();
    let (code, _, err) = t.run(&["send", "a1", "again"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(5.0, || events(&t) == ["UserPromptSubmit", "Stop"]),
        "{:?}",
        events(&t)
    );

    // Not writable (a directory in its place: the tests may run as root).
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir(&file).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agents"))
        .args(["signal", file.to_str().unwrap(), "Stop"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot record the Stop signal in") && err.contains("signals-hk-a1.jsonl"),
        "{err}"
    );
    // The CLI's own hooks fail the same way; the watchdog goes on reading the screen.
    let (code, _, err) = t.run(&["send", "a1", "third"]);
    assert_eq!(code, 0, "{err}");
    // (the stand-in prints each hook's exit and output: 0, nothing), and the watchdog says
    // once that it reads the screen alone.
    assert!(
        wait_until(5.0, || t
            .pane("hk-a1")
            .contains("> third\nhook UserPromptSubmit exit 0 out b''")
            && std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("cannot read its hook signals")),
        "{}",
        t.pane("hk-a1")
    );
    t.pass_ticks(3);
    assert_eq!(t.agent_row("a1")["state"], "idle", "{}", t.agent_row("a1"));
}
