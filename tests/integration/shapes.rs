//! Agents of other shapes than the demo agent (issue 12, item 9), each a script written here
//! and run under real tmux with `watch = "heal+stall"` and 1 s ticks for about 10 s: a bash
//! wrapper script that runs the reader as a child, a Python `input()` REPL, a silent line
//! reader, a TUI with an input box, a TUI that draws typed text late (a submit key before it
//! shows would be a newline in the text), and a program that redraws its prompt every second.
//! Each records every line it receives. For each: `agents send` is verified on the first
//! press, every text arrives exactly once, no empty line arrives, and nothing is restarted.
//! Then the bad inputs: a TUI whose cursor is hidden (verified the old way, and the event
//! says so) and a program that exits on the line it reads, silently or after an answer
//! (submitted, never "verified").

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

/// A Python line reader: prints `prompt` (may be empty), records each line to argv[1],
/// answers with `reply` (none when empty). Writes argv[1] + ".ready" once it reads.
const LINE_READER: &str = r#"import sys
out = open(sys.argv[1], "a", buffering=1)
prompt, reply = sys.argv[2], sys.argv[3]
open(sys.argv[1] + ".ready", "w").close()
while True:
    try:
        line = input(prompt)
    except EOFError:
        break
    out.write(line + "\n")
    if reply:
        print(reply + line)
"#;

/// A silent line reader: no prompt, no output at all.
const SILENT: &str = r#"import sys
out = open(sys.argv[1], "a", buffering=1)
open(sys.argv[1] + ".ready", "w").close()
while True:
    line = sys.stdin.readline()
    if not line:
        break
    out.write(line.rstrip("\n") + "\n")
"#;

/// A program that redraws its prompt (`\r> `) every second while it waits for a line.
const REDRAW: &str = r#"import sys, select
out = open(sys.argv[1], "a", buffering=1)
open(sys.argv[1] + ".ready", "w").close()
while True:
    sys.stdout.write("\r> ")
    sys.stdout.flush()
    r, _, _ = select.select([sys.stdin], [], [], 1.0)
    if r:
        line = sys.stdin.readline()
        if not line:
            break
        out.write(line.rstrip("\n") + "\n")
        print("noted")
"#;

/// A small TUI: raw mode, a transcript above, an input box at the bottom (`│ > text │`)
/// redrawn on every key, the cursor after the text, each line sent echoed into the transcript.
/// argv[2] == "hidden": it hides the terminal's cursor, draws its own (`█`), and does not echo
/// (the input-area check it falls back to would take an echo for the text still typed).
const TUI: &str = r#"import os, sys, tty, termios
out = open(sys.argv[1], "a", buffering=1)
hidden = len(sys.argv) > 2 and sys.argv[2] == "hidden"
fd = 0
old = termios.tcgetattr(fd)
tty.setraw(fd)
transcript, text = [], ""
def draw():
    w, h = os.get_terminal_size()
    w = min(w, 60)
    s = "\x1b[2J\x1b[H"
    for i, l in enumerate(transcript[-(h - 4):]):
        s += "\x1b[%d;1H%s" % (i + 1, l)
    s += "\x1b[%d;1H╭%s╮" % (h - 2, "─" * (w - 2))
    shown = "> " + text + ("█" if hidden else "")
    s += "\x1b[%d;1H│ %s%s│" % (h - 1, shown, " " * max(0, w - 3 - len(shown)))
    s += "\x1b[%d;1H╰%s╯" % (h, "─" * (w - 2))
    s += "\x1b[?25l" if hidden else "\x1b[?25h\x1b[%d;%dH" % (h - 1, 5 + len(text))
    os.write(1, s.encode())
open(sys.argv[1] + ".ready", "w").close()
try:
    draw()
    while True:
        data = os.read(fd, 1024).decode(errors="replace")
        if not data:
            break
        for c in data:
            if c in "\r\n":
                out.write(text + "\n")
                if not hidden:
                    transcript.append("> " + text)
                transcript.append("  noted.")
                text = ""
            elif c in "\x7f\x08":
                text = text[:-1]
            elif c == "\x03":
                raise SystemExit
            elif c >= " ":
                text += c
        draw()
finally:
    termios.tcsetattr(fd, termios.TCSADRAIN, old)
"#;

/// A TUI that takes typed text in slowly (as Claude Code does with a burst of keys): what
/// arrives is drawn only once no key has come for 0.4 s, and a submit key that comes before
/// then is taken as part of the text (a newline in it), not as a submit. Otherwise the input
/// box of [`TUI`]; each line sent is recorded (a newline in it as `\n`).
const SLOW_TUI: &str = r#"import os, sys, tty, termios, select, time
out = open(sys.argv[1], "a", buffering=1)
fd = 0
old = termios.tcgetattr(fd)
tty.setraw(fd)
transcript, text, pending, last = [], "", "", 0.0
def draw():
    w, h = os.get_terminal_size()
    w = min(w, 60)
    s = "\x1b[2J\x1b[H"
    for i, l in enumerate(transcript[-(h - 4):]):
        s += "\x1b[%d;1H%s" % (i + 1, l)
    s += "\x1b[%d;1H╭%s╮" % (h - 2, "─" * (w - 2))
    shown = "> " + text.replace("\n", " ")
    s += "\x1b[%d;1H│ %s%s│" % (h - 1, shown, " " * max(0, w - 3 - len(shown)))
    s += "\x1b[%d;1H╰%s╯" % (h, "─" * (w - 2))
    s += "\x1b[?25h\x1b[%d;%dH" % (h - 1, 3 + len(shown))
    os.write(1, s.encode())
open(sys.argv[1] + ".ready", "w").close()
try:
    draw()
    while True:
        wait = max(0.0, last + 0.4 - time.time()) if pending else None
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            text, pending = text + pending, ""
            draw()
            continue
        data = os.read(fd, 1024).decode(errors="replace")
        if not data:
            break
        for c in data:
            if c in "\r\n" and pending:
                pending += "\n"
            elif c in "\r\n":
                out.write(text.replace("\n", "\\n") + "\n")
                transcript += ["> " + text, "  noted."]
                text = ""
                draw()
            elif c == "\x03":
                raise SystemExit
            elif c >= " ":
                pending += c
                last = time.time()
finally:
    termios.tcsetattr(fd, termios.TCSADRAIN, old)
"#;

/// A raw-mode program that records every key (`<ENTER>` for the submit key) and draws a
/// dialog as soon as text is typed into it: the dialog comes up between typing and submit.
const DIALOG_ON_TYPING: &str = r#"import os, sys, tty, termios
out = open(sys.argv[1], "a", buffering=1)
tty.setraw(0)
open(sys.argv[1] + ".ready", "w").close()
os.write(1, b"> ")
shown = False
while True:
    data = os.read(0, 1024).decode(errors="replace")
    if not data:
        break
    for c in data:
        out.write("<ENTER>\n" if c in "\r\n" else c)
        if c not in "\r\n":
            os.write(1, c.encode())
    out.flush()
    if not shown:
        shown = True
        os.write(1, "\r\n\r\nDo you want to proceed?\r\n\u276f 1. Yes\r\n  2. No\r\n".encode())
"#;

/// The agent shapes: the scripts `name` needs, written into `t`; returns the backend's `bin`.
fn shape(t: &TestEnv, name: &str) -> String {
    let dir = t.path().display().to_string();
    let got = format!("{dir}/got/{name}.txt");
    std::fs::create_dir_all(t.path().join("got")).unwrap();
    t.write("line.py", LINE_READER);
    match name {
        "wrapper" => {
            // Sets up the environment, then runs the reader as a child (no exec): the pane's
            // command reads `bash`.
            t.write_script(
                "run-agent.sh",
                &format!(
                    "#!/usr/bin/env bash\nexport AGENT_HOME={dir}\ncd \"$AGENT_HOME\"\npython3 {dir}/line.py {got} 'agent> ' 'ok: '\necho reader exited\n"
                ),
            );
            format!("{dir}/run-agent.sh")
        }
        "repl" => format!("python3 {dir}/line.py {got} 'py> ' 'you said: '"),
        "quitter" => {
            t.write("quit.py", "import sys\nout = open(sys.argv[1], 'a', buffering=1)\nopen(sys.argv[1] + '.ready', 'w').close()\nline = input('bye> ')\nout.write(line + '\\n')\nsys.exit(3)\n");
            format!("python3 {dir}/quit.py {got}")
        }
        "farewell" => {
            // It thinks before it answers (the answer comes after the reading that verifies
            // the submit) and takes a moment to shut down after it.
            t.write("farewell.py", "import sys, time\nout = open(sys.argv[1], 'a', buffering=1)\nopen(sys.argv[1] + '.ready', 'w').close()\nline = input('bye> ')\nout.write(line + '\\n')\ntime.sleep(0.2)\nprint('goodbye: ' + line, flush=True)\ntime.sleep(0.03)\nsys.exit(3)\n");
            format!("python3 {dir}/farewell.py {got}")
        }
        "silent" => {
            t.write("silent.py", SILENT);
            format!("python3 {dir}/silent.py {got}")
        }
        "redraw" => {
            t.write("redraw.py", REDRAW);
            format!("python3 {dir}/redraw.py {got}")
        }
        "tui" | "hidden" => {
            t.write("tui.py", TUI);
            let arg = if name == "hidden" { " hidden" } else { "" };
            format!("python3 {dir}/tui.py {got}{arg}")
        }
        "slow" => {
            t.write("slow.py", SLOW_TUI);
            format!("python3 {dir}/slow.py {got}")
        }
        "dialog" => {
            t.write("dialog.py", DIALOG_ON_TYPING);
            format!("python3 {dir}/dialog.py {got}")
        }
        other => panic!("no shape {other}"),
    }
}

/// One agent `name` of its shape under `heal+stall` with 1 s ticks, started and reading.
fn start(prefix: &str, name: &str) -> TestEnv {
    let t = TestEnv::new();
    let bin = shape(&t, name);
    t.config(&format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"
watch = "heal+stall"
prompt = "x"

[backend.shape]
bin = "{bin}"
prompt_delivery = "exec"
dialog_re = 'Do you want to proceed\?'

[watchdog]
signal_interval = 1
heavy_interval = 2

[[agent]]
name = "{name}"
backend = "shape"
"#
    ));
    up_with(&t, &[]);
    let ready = t.path().join(format!("got/{name}.txt.ready"));
    assert!(
        wait_until(15.0, || ready.exists()),
        "{name} did not start: {}",
        t.pane(&format!("{prefix}{name}"))
    );
    // A moment for the prompt (or the first redraw) to be drawn.
    std::thread::sleep(Duration::from_millis(500));
    t
}

fn got(t: &TestEnv, name: &str) -> Vec<String> {
    std::fs::read_to_string(t.path().join(format!("got/{name}.txt")))
        .map(|s| s.lines().map(String::from).collect())
        .unwrap_or_default()
}

fn typed(t: &TestEnv, name: &str) -> Vec<Value> {
    t.events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "typed" && e["name"] == name)
        .collect()
}

/// Sends `text` to `name`; asserts it was verified on the first press.
fn send_verified(t: &TestEnv, name: &str, session: &str, text: &str) {
    let (code, _, err) = t.run(&["send", name, "--timeout", "20", text]);
    assert_eq!(
        code,
        0,
        "{name}: send {text:?} was not verified: {err}\npane:\n{}",
        t.pane(session)
    );
    assert!(err.contains("delivered and verified"), "{name}: {err}");
    let ev = typed(t, name);
    let last = ev.last().expect("a typed event");
    assert_eq!(last["text"], text, "{ev:?}");
    assert_eq!(last["outcome"], "delivered", "{name}: {last}");
    assert_eq!(last["presses"], 1, "{name}: pressed again: {last}");
}

/// The scenario every shape must pass (see the module doc).
fn healthy_shape(prefix: &str, name: &str) {
    let t = start(prefix, name);
    let session = format!("{prefix}{name}");
    let began = Instant::now();
    let first = format!("first message for {name}");
    let second = format!("pull, then read REVIEW.md and act on it ({name})");
    send_verified(&t, name, &session, &first);
    std::thread::sleep(Duration::from_secs(3));
    send_verified(&t, name, &session, &second);
    // The rest of ~10 s under the watchdog's 1 s ticks.
    if let Some(rest) = Duration::from_secs(10).checked_sub(began.elapsed()) {
        std::thread::sleep(rest);
    }
    let lines = got(&t, name);
    assert_eq!(
        lines,
        [first, second],
        "{name}: each text exactly once, no empty line\npane:\n{}",
        t.pane(&session)
    );
    let r = restarts(&t, name);
    assert!(r.is_empty(), "{name} was restarted: {r:?}");
    let ev = typed(&t, name);
    assert_eq!(ev.len(), 2, "{name}: typed only by `send`: {ev:?}");
    for e in &ev {
        assert_eq!(e["check"], "cursor", "{name}: verified by the cursor: {e}");
    }
}

#[test]
fn a_bash_wrapper_script_running_its_reader_as_a_child() {
    healthy_shape("shw-", "wrapper");
}

#[test]
fn a_python_input_repl_with_a_prompt() {
    healthy_shape("shr-", "repl");
}

#[test]
fn a_silent_line_reader() {
    healthy_shape("shs-", "silent");
}

#[test]
fn a_tui_with_an_input_box() {
    healthy_shape("sht-", "tui");
}

/// Issue 16 item 3: the submit key waits until the typed text shows, so a TUI that takes a
/// burst of keys in slowly gets the text, then the submit, not a newline in the text.
#[test]
fn a_tui_that_draws_typed_text_late_gets_the_submit_key_after_it() {
    healthy_shape("shl-", "slow");
}

#[test]
fn a_program_that_redraws_its_prompt_every_second() {
    healthy_shape("shp-", "redraw");
}

#[test]
fn a_tui_with_a_hidden_cursor_is_verified_the_old_way_and_says_so() {
    let t = start("shh-", "hidden");
    send_verified(&t, "hidden", "shh-hidden", "summarise your work");
    let ev = typed(&t, "hidden");
    let check = ev[0]["check"].as_str().unwrap_or_default();
    assert_eq!(check, "input area: the cursor is hidden", "{ev:?}");
    assert_eq!(got(&t, "hidden"), ["summarise your work"]);
}

#[test]
fn a_program_that_exits_on_the_line_is_submitted_but_not_verified() {
    let t = start("shq-", "quitter");
    let (code, _, err) = t.run(&["send", "quitter", "--now", "goodbye now"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("submitted but not verified"), "{err}");
    assert!(err.contains("exited"), "{err}");
    assert!(!err.contains("delivered and verified"), "{err}");
    assert_eq!(got(&t, "quitter"), ["goodbye now"]);
    let ev = typed(&t, "quitter");
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["outcome"], "unverified");
    // `status` shows it under the agent's row.
    let (_, out, _) = t.run(&["status"]);
    assert!(
        out.contains("last typed") && out.contains("send unverified: \"goodbye now\""),
        "{out}"
    );
    let s = t.status_json();
    assert_eq!(s["agents"][0]["last_typed"]["outcome"], "unverified", "{s}");
}

/// The same, for a program that answers the line before it exits: the answer (a changed
/// screen) is no sign of life until the program still runs `ANSWER_HOLD` later.
#[test]
fn a_program_that_answers_and_exits_on_the_line_is_submitted_but_not_verified() {
    let t = start("shf-", "farewell");
    let (code, _, err) = t.run(&["send", "farewell", "--now", "goodbye now"]);
    assert_eq!(code, 4, "{err}\npane:\n{}", t.pane("shf-farewell"));
    assert!(err.contains("submitted but not verified"), "{err}");
    assert!(err.contains("exited"), "{err}");
    assert_eq!(got(&t, "farewell"), ["goodbye now"]);
    let ev = typed(&t, "farewell");
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["outcome"], "unverified", "{ev:?}");
    assert_eq!(ev[0]["presses"], 1, "{ev:?}");
}

#[test]
fn a_dialog_that_comes_up_while_typing_gets_no_submit_key() {
    let t = start("shd-", "dialog");
    let (code, _, err) = t.run(&["send", "dialog", "--now", "yes please"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("refused: a dialog waits for a person") && err.contains("not submitted"),
        "{err}"
    );
    assert!(err.contains("--keys"), "{err}");
    let ev = typed(&t, "dialog");
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["outcome"], "refused", "{ev:?}");
    assert_eq!(ev[0]["presses"], 0, "{ev:?}");
    std::thread::sleep(Duration::from_millis(500));
    let keys = std::fs::read_to_string(t.path().join("got/dialog.txt")).unwrap_or_default();
    assert_eq!(keys, "yes please", "the text typed, no submit key");
}
