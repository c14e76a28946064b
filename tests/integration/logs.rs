//! Issue 6 item 2: bounded session logs, a tail read from the end, separator lines.

use std::time::{Duration, Instant};

use crate::util::*;

fn config(prefix: &str, bin: &str) -> String {
    format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"
log_max_bytes = 65536
log_files = 2
watch = "heal"

[backend.x]
bin = "{bin}"
prompt_delivery = "exec"

[watchdog]
signal_interval = 0.3
heavy_interval = 0.6

[[agent]]
name = "a"
backend = "x"
"#
    )
}

/// Sizes of `<session>.log*` under `.agents`, by file name.
fn log_files(t: &TestEnv, session: &str) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = std::fs::read_dir(t.path().join(".agents"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("{session}.log"))
                .then(|| (name, e.metadata().map_or(0, |m| m.len())))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn yes_as_an_agent_keeps_its_logs_bounded_and_logs_tails_fast() {
    let t = started(&config("ly-", "yes"));
    std::thread::sleep(Duration::from_secs(4));
    let files = log_files(&t, "ly-a");
    let total: u64 = files.iter().map(|(_, s)| s).sum();
    assert!(total <= 3 * 65536, "{total} bytes: {files:?}");
    assert!(files.iter().all(|(_, s)| *s <= 65536), "{files:?}");
    // Rotated (a listing may catch one mid-rotation), and never more than 2 old files.
    assert!(files.len() >= 2, "{files:?}");
    for (name, _) in &files {
        assert!(
            ["ly-a.log", "ly-a.log.1", "ly-a.log.2"].contains(&name.as_str()),
            "{files:?}"
        );
    }

    let t0 = Instant::now();
    let (code, out, err) = t.run(&["logs", "a", "-n", "5", "--no-follow"]);
    assert_eq!(code, 0, "{err}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(out.lines().count(), 5, "{out:?}");
    assert!(out.lines().all(|l| l == "y"), "{out:?}");
    assert!(writers(&t) > 0, "no pipe-log writer runs");
    assert_eq!(t.run(&["down"]).0, 0);
    // The writers exit when their pane closes.
    assert!(wait_until(5.0, || writers(&t) == 0), "{} left", writers(&t));
}

/// How many `agents pipe-log` processes write into this test's directory.
fn writers(t: &TestEnv) -> usize {
    let dir = t.path().to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(" pipe-log ") && c.contains(&dir))
        .count()
}

#[test]
fn each_start_and_restart_writes_one_separator_line_with_its_reason() {
    let t = started(&config(
        "ls-",
        r#"sh -c 'printf \"\\033[1mhello\\033[0m\\n\"; exec sleep 1000'"#,
    ));
    let log = || t.run(&["logs", "a", "-n", "100", "--no-follow"]).1;
    assert!(wait_until(5.0, || log().contains("hello")), "{}", log());
    let first = t.pane_pid("ls-a").unwrap();
    t.tmux(&["kill-session", "-t", "=ls-a"]);
    // Healed at the next tick (0.3 s); the bound is for a loaded CI machine.
    assert!(
        wait_until(20.0, || t.pane_pid("ls-a").is_some_and(|p| p != first)),
        "not restarted; events: {:?}",
        t.events(".agents")
    );
    // The restart event is written just after the new session starts.
    assert!(
        wait_until(5.0, || !restarts(&t, "a").is_empty()),
        "no restart event: {:?}",
        t.events(".agents")
    );
    let reason = restarts(&t, "a")[0]["reason"].as_str().unwrap().to_string();
    assert!(wait_until(5.0, || log().matches("hello").count() == 2));
    let out = log();
    let seps: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("----- agents "))
        .collect();
    assert_eq!(seps.len(), 2, "{out}");
    assert!(seps[0].ends_with(" start: up -----"), "{out}");
    assert!(
        seps[1].ends_with(&format!(" restart: {reason} -----")),
        "{out}"
    );
    // Rendered: no escape sequences; --raw keeps them.
    assert!(!out.contains('\u{1b}'), "{out:?}");
    let raw = t.run(&["logs", "a", "-n", "100", "--no-follow", "--raw"]).1;
    assert!(raw.contains("\u{1b}[1mhello"), "{raw:?}");
}

/// `agents ARGS` spawned (for the verbs that follow), its stdout lines collected by a thread.
pub struct Spawned {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Spawned {
    pub fn new(t: &TestEnv, args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_agents"))
            .args(args)
            .current_dir(t.path())
            .env("AGENTS_TMUX_SOCKET", &t.socket)
            .env("TMUX_TMPDIR", &t.tmux_tmpdir)
            .env("NO_COLOR", "1")
            .env_remove("TMUX")
            .env_remove("AGENTS_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn agents");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (out, sink) = (child.stdout.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(l);
            }
        });
        Self { child, lines }
    }

    /// The lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two agents, each printing a numbered line with its session name every 0.2 s.
fn two_talkers(prefix: &str) -> String {
    let mut c = config(
        prefix,
        r#"sh -c 'i=0; while :; do i=$((i+1)); echo \"tick $i from {session}\"; sleep 0.2; done'"#,
    );
    c.push_str("\n[[agent]]\nname = \"bb\"\nbackend = \"x\"\n");
    c
}

#[test]
fn logs_f_follows_one_log_and_conflicts_with_no_follow() {
    let t = started(&two_talkers("lf-"));
    let mut s = Spawned::new(&t, &["logs", "-f", "a", "-n", "0"]);
    assert!(wait_until(10.0, || s.lines().len() >= 3), "{:?}", s.lines());
    assert!(s.running(), "logs -f exited");
    let lines = s.lines();
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("tick ") && l.ends_with(" from lf-a")),
        "{lines:?}"
    );
    let (code, _, err) = t.run(&["logs", "-f", "--no-follow", "a"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--no-follow"), "{err}");
}

#[test]
fn logs_without_a_name_interleaves_every_session_with_its_name() {
    let t = started(&two_talkers("li-"));
    let s = Spawned::new(&t, &["logs", "-f"]);
    let seen = |who: &str| {
        s.lines().iter().any(|l| {
            l.starts_with(&format!("{who} | tick "))
                && l.ends_with(&format!(" from li-{}", who.trim()))
        })
    };
    // Names are padded to the longest one ("watchdog").
    assert!(
        wait_until(10.0, || seen("a       ") && seen("bb      ")),
        "{:?}",
        s.lines()
    );
    // Following (-f: stdout is a pipe here): only new lines (no history by default), every
    // line prefixed.
    let lines = s.lines();
    assert!(
        lines
            .iter()
            .all(|l| ["a ", "bb ", "watchdog "].iter().any(|p| l.starts_with(p))),
        "{lines:?}"
    );
    // --no-follow prints each log's history, prefixed, and exits.
    let (code, out, err) = t.run(&["logs", "--no-follow", "-n", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("a        | tick"))
            .count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("bb       | tick"))
            .count(),
        2,
        "{out}"
    );
}

#[test]
fn a_tui_log_reads_as_its_last_frame_without_escape_bytes() {
    let t = TestEnv::new();
    // A spinner redrawn in place (as the demo agent and Claude Code do), a colour, an
    // Ink-style frame erased by moving up, and a spinner still running.
    t.write_script(
        "tui.sh",
        r"#!/bin/sh
for i in 1 2 3 4 5; do printf '\r\033[K✶ Working… (%ss · esc to interrupt)' $i; sleep 0.05; done
printf '\r\033[K\033[1;32mdone\033[0m after 5s\n'
printf '╭ frame 1\n╰ thinking'
printf '\033[2K\033[1A\033[2K\033[G╭ frame 2\n╰ answered\n'
for i in 1 2 3; do printf '\r\033[K✶ Working… (%ss · esc to interrupt)' $i; sleep 0.05; done
exec sleep 1000
",
    );
    t.config(&config("lt-", "sh ./tui.sh"));
    // Following from before the log exists: the spinners are never printed tick by tick (and
    // the lines a redraw may still change, the last frame's, are held).
    let follow = Spawned::new(&t, &["logs", "-f", "a"]);
    assert_eq!(t.run(&["up", "a"]).0, 0);
    let log = || t.run(&["logs", "a", "-n", "50", "--no-follow"]).1;
    assert!(
        wait_until(10.0, || {
            let l = log();
            l.contains("answered") && l.contains("(3s")
        }),
        "{}",
        log()
    );
    let raw = t.run(&["logs", "a", "-n", "50", "--no-follow", "--raw"]).1;
    assert!(
        raw.contains("\r\u{1b}[K✶ Working… (4s"),
        "the pane's bytes: {raw:?}"
    );
    let out = log();
    assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
    let body: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with("----- agents ") && !l.is_empty())
        .collect();
    assert_eq!(
        body,
        [
            "done after 5s",
            "╭ frame 2",
            "╰ answered",
            "✶ Working… (3s · esc to interrupt)"
        ],
        "{out:?}"
    );
    assert!(
        wait_until(5.0, || follow.lines().iter().any(|l| l == "╭ frame 2")),
        "{:?}",
        follow.lines()
    );
    let followed = follow.lines();
    assert!(
        followed.iter().any(|l| l.starts_with("----- agents ")),
        "{followed:?}"
    );
    assert!(
        followed.iter().any(|l| l == "done after 5s"),
        "{followed:?}"
    );
    assert!(
        !followed
            .iter()
            .any(|l| l.contains("Working") || l.contains('\u{1b}')),
        "{followed:?}"
    );
}

#[test]
fn following_from_the_middle_of_a_spinner_prints_its_end_as_one_line() {
    let t = TestEnv::new();
    t.write_script(
        "spin.sh",
        r"#!/bin/sh
i=0
while [ $i -lt 40 ]; do i=$((i+1)); printf '\r\033[K✶ Working… (%ss · esc to interrupt)' $i; sleep 0.1; done
printf '\r\033[Kready\n'
exec sleep 1000
",
    );
    t.config(&config("lm-", "sh ./spin.sh"));
    assert_eq!(t.run(&["up", "a"]).0, 0);
    let log = || t.run(&["logs", "a", "--no-follow"]).1;
    assert!(wait_until(10.0, || log().contains("(5s")), "{}", log());
    // Mid-spinner: the history shows its state so far, on a line of its own.
    let out = log();
    assert!(out.ends_with(" · esc to interrupt)\n"), "{out:?}");
    let one = Spawned::new(&t, &["logs", "-f", "a"]);
    let all = Spawned::new(&t, &["logs", "-f", "-n", "5"]);
    assert!(
        wait_until(10.0, || one.lines().iter().any(|l| l == "ready")
            && all.lines().iter().any(|l| l == "a        | ready")),
        "{:?} {:?}",
        one.lines(),
        all.lines()
    );
    for l in one.lines().iter().chain(all.lines().iter()) {
        assert!(!l.contains("Working") && !l.contains('\u{1b}'), "{l:?}");
    }
}

/// Runs `script` under `sh -c` in the project dir, with `agents` on PATH and this test's tmux
/// server; waits up to `secs` for it to exit. Returns its exit code and stdout, or `None`
/// (the shell killed) when it was still running.
fn shell_exits(t: &TestEnv, script: &str, secs: f64) -> Option<(i32, String)> {
    use std::io::Read;
    use std::os::unix::process::CommandExt as _;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_agents"));
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(t.path())
        .env("PATH", path)
        .env("AGENTS_TMUX_SOCKET", &t.socket)
        .env("TMUX_TMPDIR", &t.tmux_tmpdir)
        .env("NO_COLOR", "1")
        .env_remove("TMUX")
        .env_remove("AGENTS_CONFIG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        // Its own process group, so a shell still running is killed with its pipeline.
        .process_group(0)
        .spawn()
        .expect("spawn sh");
    let exited = wait_until(secs, || child.try_wait().unwrap().is_some());
    if !exited {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .status();
        let _ = child.wait();
        return None;
    }
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    Some((child.wait().unwrap().code().unwrap_or(-1), out))
}

/// An agent that prints one line, then nothing.
fn silent(prefix: &str) -> String {
    config(prefix, r"sh -c 'echo said once; exec sleep 1000'")
}

#[test]
fn logs_into_head_stops_when_head_exits_while_the_agent_prints_nothing() {
    let t = started(&silent("lh-"));
    let log = || t.run(&["logs", "a", "--no-follow"]).1;
    assert!(
        wait_until(10.0, || log().contains("said once")),
        "{}",
        log()
    );
    // Following (-f) into a pipe whose reader has gone: stops, as `tail -f | head` does.
    let r = shell_exits(&t, "agents logs -f a | head -n 1", 20.0);
    let (code, out) = r.expect("`agents logs -f a | head -n 1` still runs after head exited");
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out:?}");
    // Without -f into a pipe: the history, then the end.
    let (code, out) =
        shell_exits(&t, "agents logs a | head -n 5", 20.0).expect("`agents logs a | head` hangs");
    assert_eq!(code, 0);
    assert!(out.contains("said once"), "{out:?}");
    // Every log at once, the same.
    let (code, out) = shell_exits(&t, "agents logs -f -n 5 | head -n 1", 20.0)
        .expect("`agents logs -f -n 5 | head -n 1` still runs after head exited");
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out:?}");
}

#[test]
fn logs_into_a_file_writes_the_history_and_exits_unless_f_is_given() {
    let t = started(&silent("lr-"));
    let log = || t.run(&["logs", "a", "--no-follow"]).1;
    assert!(
        wait_until(10.0, || log().contains("said once")),
        "{}",
        log()
    );
    let (code, _) = shell_exits(&t, "agents logs a > one.txt", 20.0)
        .expect("`agents logs a > file` still runs");
    assert_eq!(code, 0);
    let one = std::fs::read_to_string(t.path().join("one.txt")).unwrap();
    assert!(one.contains("said once"), "{one:?}");
    let (code, _) =
        shell_exits(&t, "agents logs > all.txt", 20.0).expect("`agents logs > file` still runs");
    assert_eq!(code, 0);
    let all = std::fs::read_to_string(t.path().join("all.txt")).unwrap();
    assert!(all.lines().any(|l| l == "a        | said once"), "{all:?}");
    // -f into a file follows, as `tail -f > file` does.
    assert!(
        shell_exits(&t, "agents logs -f a > f.txt", 2.0).is_none(),
        "`agents logs -f a > file` did not follow"
    );
}

#[test]
fn logs_follows_by_default_on_a_terminal() {
    let t = started(&two_talkers("lt2-"));
    // A tmux pane is a terminal: `agents logs a` there follows without -f.
    let cmd = format!("exec {} logs a -n 0", env!("CARGO_BIN_EXE_agents"));
    let env = |k: &str, v: &str| format!("{k}={v}");
    t.tmux(&[
        "new-session",
        "-d",
        "-s",
        "viewer",
        "-c",
        t.path().to_str().unwrap(),
        "-e",
        &env("AGENTS_TMUX_SOCKET", &t.socket),
        "-e",
        &env("TMUX_TMPDIR", t.tmux_tmpdir.to_str().unwrap()),
        "-e",
        "NO_COLOR=1",
        &cmd,
    ]);
    // With -n 0 nothing is printed but what the agent writes after it started.
    assert!(
        wait_until(10.0, || t.pane("viewer").contains(" from lt2-a")),
        "{}",
        t.pane("viewer")
    );
    let dead = t.tmux(&["display-message", "-p", "-t", "=viewer:", "#{pane_dead}"]);
    assert_eq!(dead.trim(), "0", "{}", t.pane("viewer"));
}

/// The internal verbs (`pipe-log`, `signal`, `statusline`) have a parser of their own (they
/// run once per session start, hook and status line redraw): their help and their errors
/// still come from clap, naming the verb and what is missing, and `agents --help` does not
/// list them.
#[test]
fn internal_verbs_parse_their_own_arguments_with_clear_errors() {
    let t = TestEnv::new();
    let (code, out, _) = t.run(&["pipe-log", "--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Usage: agents pipe-log") && out.contains("--max-bytes <N>"),
        "{out}"
    );
    let (code, _, err) = t.run(&["pipe-log", "--file", "x.log"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--max-bytes <N>") && err.contains("--keep <K>"),
        "{err}"
    );
    let (code, _, err) = t.run(&["signal", "only-a-file"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("<EVENT>") && err.contains("agents signal"),
        "{err}"
    );
    let (code, _, err) = t.run(&["statusline", "--bogus"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--bogus"), "{err}");
    let (code, out, _) = t.run(&["--help"]);
    assert_eq!(code, 0);
    for verb in ["pipe-log", "signal", "statusline"] {
        assert!(
            !out.lines().any(|l| l.trim_start().starts_with(verb)),
            "{verb} listed: {out}"
        );
    }
    // A hook's signal still lands where its command line says.
    let file = t.path().join("signals.jsonl");
    let out = t
        .cmd()
        .args(["signal", file.to_str().unwrap(), "Stop"])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line = std::fs::read_to_string(&file).unwrap();
    assert!(line.contains("\"event\":\"Stop\""), "{line}");
}
