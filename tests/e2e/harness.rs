//! What every real-CLI scenario needs, whatever the CLI: installing the pinned CLI once,
//! a loopback mock of its API, a fleet on its own tmux server with the environment that points
//! the CLI at the mock, reading status / events / the mock's request log, and scanning `/proc`
//! for what a fleet left running.
//!
//! A CLI module (`claude/`, later `codex/`, `gemini/`) brings its setup script, its mock, a
//! scratch HOME writer and its environment, and builds a [`Suite`] of scenarios on these.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::{TestEnv, wait_until};

/// `tests/e2e` of this checkout: the setup scripts and mocks live under it.
pub fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e")
}

/// `AGENTS_REQUIRE_E2E=1` (set by `.ci/run`): a scenario that cannot run fails instead of
/// being skipped.
pub fn required() -> bool {
    std::env::var("AGENTS_REQUIRE_E2E").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Seconds since the epoch, as a float (the mock's `ts` has the same shape).
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The first whole minute at least `secs` from now, as epoch seconds: a CLI's limit banner
/// prints minutes only, so a whole-minute reset is exactly what its screen says.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // now(): epoch seconds, > 0
pub fn minute_after(secs: u64) -> u64 {
    (now() as u64 + secs).div_ceil(60) * 60
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A CLI installed by its setup script: the executable and the version it reports.
#[derive(Clone, Debug)]
pub struct Installed {
    pub bin: PathBuf,
    pub version: String,
}

/// A scenario: a name (`claude::send_exactly_once`) and its body, run on its own thread.
pub type Scenario = (&'static str, fn(&Installed));

/// One CLI's scenarios and how to get the CLI. `prepare` runs once per test run (in the
/// runner, before any scenario); its `Err` is the reason every scenario of the suite skips.
pub struct Suite {
    /// "Claude Code", for messages.
    pub label: &'static str,
    pub prepare: fn() -> Result<Installed, String>,
    pub scenarios: Vec<Scenario>,
}

/// Runs `setup` (a bash script printing the CLI's path as its last stdout line; it installs
/// the pinned version once, under a lock, into `~/.cache/agents-e2e`), checks what the tests
/// need besides (`python3` for the mock), and asks the CLI its version with a scratch HOME.
/// `Err`: why the CLI cannot run here (no npm, no registry, no python3), in one line plus the
/// tail of the script's output.
pub fn install(setup: &Path, version_flag: &str) -> Result<Installed, String> {
    if std::env::var("AGENTS_E2E").is_ok_and(|v| v == "0") {
        return Err("AGENTS_E2E=0 is set".into());
    }
    if !cfg!(target_os = "linux") {
        return Err("the end-to-end tests run on Linux only (flock, /proc)".into());
    }
    let py = Command::new("python3").arg("--version").output();
    if !py.is_ok_and(|o| o.status.success()) {
        return Err("python3 is not installed (the mock API runs on it)".into());
    }
    // The registry may be unreachable: npm's own fetch timeouts are short (setup.sh), and
    // `timeout` bounds the whole install.
    let out = Command::new("timeout")
        .arg("900")
        .arg("bash")
        .arg(setup)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", setup.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "{} failed ({}): {}",
            setup.display(),
            out.status,
            tail.join(" | ")
        ));
    }
    let bin = PathBuf::from(stdout.lines().last().unwrap_or("").trim());
    if !bin.is_file() {
        return Err(format!(
            "{} printed no executable path (got \"{}\")",
            setup.display(),
            bin.display()
        ));
    }
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let v = Command::new(&bin)
        .arg(version_flag)
        .env("HOME", home.path())
        .env("DISABLE_AUTOUPDATER", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let version = String::from_utf8_lossy(&v.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string();
    Ok(Installed { bin, version })
}

/// A loopback mock API (`<mock>.py serve --port 0 --port-file F --log F`, the shape the
/// Claude, Codex and Gemini mocks share), killed on drop. Control: `GET /control/<verb>?query`.
pub struct Mock {
    child: Child,
    pub port: u16,
    /// `requests.jsonl`: one JSON line per API request.
    pub log: PathBuf,
    /// The `kind` of the model calls in the log: `messages` (Claude), `responses` (Codex),
    /// `generate` (Gemini).
    api_kind: &'static str,
}

impl Mock {
    /// Starts `script` with its files in `dir`; `api_kind` as in [`Mock::requests`]. Panics
    /// when it does not come up in 20 s.
    pub fn start(script: &Path, dir: &Path, api_kind: &'static str) -> Mock {
        std::fs::create_dir_all(dir).unwrap();
        let port_file = dir.join("mock.port");
        let log = dir.join("requests.jsonl");
        let out = std::fs::File::create(dir.join("mock.out")).unwrap();
        let child = Command::new("python3")
            .arg(script)
            .args(["serve", "--port", "0", "--port-file"])
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the mock {}: {e}", script.display()));
        let mut port = None;
        wait_until(20.0, || {
            port = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|s| s.trim().parse().ok());
            port.is_some()
        });
        let Some(port) = port else {
            panic!(
                "the mock {} did not start: {}",
                script.display(),
                std::fs::read_to_string(dir.join("mock.out")).unwrap_or_default()
            )
        };
        Mock {
            child,
            port,
            log,
            api_kind,
        }
    }

    /// `GET /control/<verb>?<query>` (values already encoded, see [`urlencode`]); the
    /// mock's state as JSON. Panics when the mock does not answer 200.
    pub fn ctl(&self, verb: &str, query: &str) -> Value {
        let path = if query.is_empty() {
            format!("/control/{verb}")
        } else {
            format!("/control/{verb}?{query}")
        };
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the mock");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read the mock's answer");
        let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
        assert!(
            head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
            "mock control {path}: {head}"
        );
        serde_json::from_str(body).unwrap_or(Value::Null)
    }

    /// Every logged request to the model (`kind` is the mock's `api_kind`).
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|r| r["kind"] == self.api_kind)
            .collect()
    }

    /// The conversation turns (`main`), not side requests (titles, quota probes).
    pub fn turns(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["main"] == true)
            .collect()
    }

    /// The turns whose newest typed text is `text` (trimmed).
    pub fn turns_with(&self, text: &str) -> Vec<Value> {
        self.turns()
            .into_iter()
            .filter(|r| r["text"].as_str().map(str::trim) == Some(text.trim()))
            .collect()
    }

    /// The request log, one short line a request, for failure messages.
    pub fn summary(&self) -> String {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "  #{} {} main={} status={} session={} text={:?}",
                    r["n"],
                    r["iso"].as_str().unwrap_or(""),
                    r["main"],
                    r["status"],
                    r["session"]
                        .as_str()
                        .unwrap_or("-")
                        .chars()
                        .take(8)
                        .collect::<String>(),
                    r["text"]
                        .as_str()
                        .unwrap_or("")
                        .chars()
                        .take(90)
                        .collect::<String>()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process found in `/proc`.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    /// `/proc/PID/exe` (empty when unreadable).
    pub exe: String,
    pub cmdline: String,
}

/// Every process whose environment has `HOME=<home>`: what a fleet started with that scratch
/// HOME (its tmux server, the watchdog, the CLIs and their children; not the mock, which the
/// test starts with its own HOME).
pub fn processes_of(home: &Path) -> Vec<Proc> {
    let me = std::process::id();
    let want_env = format!("HOME={}", home.display());
    let mut out = vec![];
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let read = |f: &str| std::fs::read(e.path().join(f)).unwrap_or_default();
        let environ = read("environ");
        let cmdline = String::from_utf8_lossy(&read("cmdline")).replace('\0', " ");
        let ours = environ
            .split(|b| *b == 0)
            .any(|kv| kv == want_env.as_bytes());
        if !ours || cmdline.trim().is_empty() {
            continue;
        }
        let exe = std::fs::read_link(e.path().join("exe"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        out.push(Proc {
            pid,
            exe,
            cmdline: cmdline.trim().to_string(),
        });
    }
    out
}

/// The parts of a one-agent `agents.toml` a scenario chooses.
pub struct AgentsToml<'a> {
    /// The built-in preset (`claude`, `codex`, `gemini`).
    pub backend: &'a str,
    /// The agent's name; its session is `e2e-<name>`, its dir `work/`.
    pub agent: &'a str,
    /// `heal` or `heal+stall`.
    pub watch: &'a str,
    /// Extra `[watchdog]` lines (`signal_interval = 1` and `heavy_interval = 5` are there).
    pub watchdog: &'a str,
    /// Lines of a `[backend.<backend>]` table over the preset; empty: no table.
    pub table: &'a str,
    /// The kickoff prompt (a TOML basic string: no `"` or backslash).
    pub kickoff: &'a str,
}

impl AgentsToml<'_> {
    /// The config text: one agent on the preset, fast watchdog ticks, `log_dir` `.agents`.
    pub fn render(&self) -> String {
        let table = if self.table.is_empty() {
            String::new()
        } else {
            format!("[backend.{}]\n{}\n", self.backend, self.table)
        };
        format!(
            r#"[defaults]
session_prefix = "e2e-"
log_dir = ".agents"
backend = "{backend}"
watch = "{watch}"

[watchdog]
signal_interval = 1
heavy_interval = 5
{watchdog}

{table}
[[agent]]
name = "{agent}"
dir = "work"
prompt = "{kickoff}"
"#,
            backend = self.backend,
            watch = self.watch,
            watchdog = self.watchdog,
            agent = self.agent,
            kickoff = self.kickoff,
        )
    }
}

/// `$PATH` with `dir` (the CLI's) first.
pub fn path_with(dir: &Path) -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path)))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// How a fleet is laid out: its config and the environment of every `agents` call.
pub struct FleetSpec {
    /// The scenario's name, for progress lines.
    pub scenario: String,
    /// `agents.toml`.
    pub config: String,
    /// Variables set for every `agents` call (`up` starts the tmux server, whose environment
    /// every session — the watchdog, the agents — inherits).
    pub env: Vec<(String, String)>,
    /// Variables removed from it (a real API key in the developer's environment).
    pub env_remove: Vec<&'static str>,
    /// The scratch HOME (inside the test dir).
    pub home: PathBuf,
}

/// A fleet of real CLIs: a [`TestEnv`] (its own tmux server and temp dir), the mock, the
/// environment. Dropping it kills the tmux server, then whatever is left with its HOME, then
/// the mock, then removes the dir.
pub struct Fleet {
    pub scenario: String,
    pub env: Vec<(String, String)>,
    pub env_remove: Vec<&'static str>,
    pub home: PathBuf,
    started: Instant,
    pub mock: Mock,
    pub t: TestEnv,
}

impl Fleet {
    /// A fleet whose mock was started in `t` by the CLI module.
    pub fn new(t: TestEnv, mock: Mock, spec: FleetSpec) -> Fleet {
        t.config(&spec.config);
        Fleet {
            scenario: spec.scenario,
            env: spec.env,
            env_remove: spec.env_remove,
            home: spec.home,
            started: Instant::now(),
            mock,
            t,
        }
    }

    /// A progress line on stderr: `[e2e claude::x +12.3s] msg`.
    pub fn log(&self, msg: &str) {
        eprintln!(
            "[e2e {} +{:.1}s] {msg}",
            self.scenario,
            self.started.elapsed().as_secs_f64()
        );
    }

    /// Samples `agent`'s state in `status` every 0.5 s until it has said `idle` for 6 s after
    /// saying `active` (or `secs` pass): (epoch seconds, state) pairs.
    pub fn sample_until_idle(&self, agent: &str, secs: f64) -> Vec<(f64, String)> {
        let mut samples: Vec<(f64, String)> = vec![];
        let deadline = now() + secs;
        let mut idle_since: Option<f64> = None;
        let mut seen_active = false;
        while now() < deadline {
            let st = self.state(agent);
            let t = now();
            seen_active |= st == "active";
            if seen_active && st == "idle" {
                idle_since.get_or_insert(t);
            } else {
                idle_since = None;
            }
            samples.push((t, st));
            if idle_since.is_some_and(|s| t - s >= 6.0) {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        samples
    }

    /// `agents send AGENT TEXT` into an idle agent whose kickoff was its only turn: fails
    /// unless send exits 0, the mock gets `text` exactly once (a few ticks later too), one
    /// `typed` event says `delivered`, and the mock has two turns in all (kickoff, message).
    pub fn check_send_exactly_once(&self, agent: &str, text: &str) {
        let f = self;
        let (code, out, err) = f.agents(&["send", agent, text]);
        if code != 0 {
            f.fail(&format!("agents send exited {code}: {out}{err}"));
        }
        f.wait_for(30.0, "the sent text at the mock", || {
            !f.mock.turns_with(text).is_empty()
        });
        f.wait_for(60.0, "status idle after the reply", || {
            f.state(agent) == "idle"
        });
        // A few more ticks: a second press or a retyped text would show by now.
        std::thread::sleep(Duration::from_secs(5));
        let turns = f.mock.turns_with(text);
        if turns.len() != 1 {
            f.fail(&format!("the mock got the sent text {} times", turns.len()));
        }
        let typed: Vec<Value> = f
            .typed(agent, "send")
            .into_iter()
            .filter(|e| e["text"] == text)
            .collect();
        if typed.len() != 1 || typed[0]["outcome"] != "delivered" {
            f.fail(&format!(
                "want one `typed` event (purpose send, outcome delivered): {typed:?}"
            ));
        }
        // Nothing else reached the CLI: the kickoff and the message, one turn each.
        let turns = f.mock.turns();
        if turns.len() != 2 {
            f.fail(&format!(
                "the mock got {} turns (want the kickoff and the message)",
                turns.len()
            ));
        }
    }

    /// The kickoff `k` reached the CLI of `agent` (in `session`) exactly once at start
    /// (already answered: `status` idle), and exactly once again in the new CLI process
    /// after `agents restart`; processes are told apart by the mock's `session` field.
    pub fn check_kickoff_once_across_restart(&self, agent: &str, session: &str, k: &str) {
        let f = self;
        std::thread::sleep(Duration::from_secs(5));
        let first = f.mock.turns_with(k);
        if first.len() != 1 {
            f.fail(&format!(
                "the kickoff reached the mock {} times at start",
                first.len()
            ));
        }
        let s1 = first[0]["session"].clone();
        let pid1 = f.pane(session).map(|p| p.1);
        let (code, out, err) = f.agents(&["restart", agent]);
        if code != 0 {
            f.fail(&format!("agents restart exited {code}: {out}{err}"));
        }
        f.log("restarted; waiting for the kickoff in a new CLI process");
        f.wait_for(120.0, "the kickoff from a new CLI process", || {
            f.mock.turns_with(k).iter().any(|r| r["session"] != s1)
        });
        f.wait_for(90.0, "status idle after the new kickoff's reply", || {
            f.state(agent) == "idle"
        });
        std::thread::sleep(Duration::from_secs(5));
        let all = f.mock.turns_with(k);
        let old = all.iter().filter(|r| r["session"] == s1).count();
        let new: Vec<&Value> = all.iter().filter(|r| r["session"] != s1).collect();
        if old != 1 || new.len() != 1 {
            f.fail(&format!(
                "the kickoff reached the first process {old} times and later ones {} times (want 1 and 1)",
                new.len()
            ));
        }
        if f.pane(session).map(|p| p.1) == pid1 {
            f.fail("the pane still runs the first process after `agents restart`");
        }
        let sessions: std::collections::BTreeSet<String> = f
            .mock
            .turns()
            .iter()
            .map(|r| r["session"].to_string())
            .collect();
        if sessions.len() != 2 {
            f.fail(&format!(
                "turns came from {} CLI processes (want 2: before and after the restart)",
                sessions.len()
            ));
        }
    }

    /// Watches a CLI that shows a dialog (its text contains `marker`) in `session` of `agent`
    /// for `watch_secs` (a few `stall_idle` periods: a dialog misread as idle would be nudged
    /// by then), then runs `agents send` into it. Returns what went wrong, if anything: status
    /// never `dialog`; not exactly one `dialog` event; anything typed or a stall nudge; a
    /// restart; the dialog gone or its process replaced; `send` exiting 0 or not naming the
    /// dialog.
    pub fn dialog_problems(
        &self,
        agent: &str,
        session: &str,
        marker: &str,
        watch_secs: f64,
    ) -> Vec<String> {
        let f = self;
        f.wait_for(60.0, &format!("the CLI's dialog ({marker:?})"), || {
            f.screen(session).contains(marker)
        });
        let pid = f.pane(session).map(|p| p.1);
        f.log(&format!(
            "the dialog is up; watching the watchdog for {watch_secs:.0} s"
        ));
        let mut problems: Vec<String> = vec![];
        if !f.wait_maybe(30.0, || f.state(agent) == "dialog") {
            problems.push(format!(
                "status never said `dialog` (last: {} {:?})",
                f.state(agent),
                f.status(agent)["why"]
            ));
        }
        std::thread::sleep(Duration::from_secs_f64(watch_secs));
        let dialogs = f.events_named("dialog", agent);
        if dialogs.len() != 1 {
            problems.push(format!("want one `dialog` event, got {}", dialogs.len()));
        }
        let typed: Vec<Value> = f
            .events_named("typed", agent)
            .into_iter()
            .chain(f.events_named("stall-nudge", agent))
            .collect();
        if !typed.is_empty() {
            problems.push(format!("the watchdog typed into the dialog: {typed:?}"));
        }
        let restarts = f.events_named("restart", agent);
        if !restarts.is_empty() {
            problems.push(format!(
                "the agent was restarted {} times (first: {})",
                restarts.len(),
                restarts[0]["reason"]
            ));
        }
        let screen_ok = || {
            f.screen(session).contains(marker)
                && f.pane(session)
                    .is_some_and(|(alive, p)| alive && Some(p) == pid)
        };
        if !screen_ok() {
            problems.push("the CLI no longer shows the dialog in its first process".into());
        }
        // `agents send` is refused and types nothing.
        let (code, out, err) = f.agents(&[
            "send",
            agent,
            "E2E: do not type me into a dialog",
            "--timeout",
            "20",
        ]);
        f.log(&format!(
            "send into the dialog: exit {code}: {}{}",
            out.trim(),
            err.trim()
        ));
        if code == 0 {
            problems.push(format!("agents send into the dialog exited 0: {out}{err}"));
        }
        if !err.to_lowercase().contains("dialog") {
            problems.push(format!("agents send did not name the dialog: {err}"));
        }
        std::thread::sleep(Duration::from_secs(3));
        if !screen_ok() {
            problems.push(
                "after `agents send` the CLI no longer shows the dialog in its first process"
                    .into(),
            );
        }
        problems
    }

    /// `agents ARGS` with the fleet's environment; (exit code, stdout, stderr).
    pub fn agents(&self, args: &[&str]) -> (i32, String, String) {
        let mut c = self.t.cmd();
        // A fleet runs where a user works, not in CI: with `CI` set (as `.ci/run` has it),
        // Gemini CLI 0.61.0 takes itself for a headless run and exits with status 55 in an
        // untrusted folder instead of asking whether to trust it.
        c.env_remove("CI");
        for k in &self.env_remove {
            c.env_remove(k);
        }
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(args)
            .timeout(Duration::from_secs(180));
        let out = c.output().expect("run agents");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `agents up`; fails unless it exits 0, then waits for the watchdog to start.
    pub fn up(&self) {
        let (code, out, err) = self.agents(&["up"]);
        if code != 0 {
            self.fail(&format!("agents up exited {code}: {out}{err}"));
        }
        self.wait_for(30.0, "the watchdog's start event", || {
            self.events().iter().any(|e| e["event"] == "watchdog-start")
        });
    }

    /// Agent `name`'s row of `status --json` (Null when absent or unreadable).
    pub fn status(&self, name: &str) -> Value {
        let (_, out, _) = self.agents(&["status", "--json"]);
        serde_json::from_str::<Value>(&out)
            .ok()
            .and_then(|d| {
                d["agents"]
                    .as_array()?
                    .iter()
                    .find(|a| a["name"] == name)
                    .cloned()
            })
            .unwrap_or(Value::Null)
    }

    /// Agent `name`'s `state` in `status --json`.
    pub fn state(&self, name: &str) -> String {
        self.status(name)["state"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    }

    /// `<log_dir>/events.jsonl` (`log_dir` `.agents`).
    pub fn events(&self) -> Vec<Value> {
        self.t.events(".agents")
    }

    /// The signals the CLI's hooks recorded for `session`
    /// (`<log_dir>/state/signals-<session>.jsonl`), one JSON object each.
    pub fn signals(&self, session: &str) -> Vec<Value> {
        std::fs::read_to_string(
            self.t
                .path()
                .join(format!(".agents/state/signals-{session}.jsonl")),
        )
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
    }

    /// The events named `event` about agent `name`.
    pub fn events_named(&self, event: &str, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == event && e["name"] == name)
            .collect()
    }

    /// The `typed` events about agent `name` with this `purpose`.
    pub fn typed(&self, name: &str, purpose: &str) -> Vec<Value> {
        self.events_named("typed", name)
            .into_iter()
            .filter(|e| e["purpose"] == purpose)
            .collect()
    }

    /// The visible screen of `session` (wrapped lines joined).
    pub fn screen(&self, session: &str) -> String {
        self.t
            .tmux(&["capture-pane", "-p", "-J", "-t", &format!("={session}:")])
    }

    /// Whether `session`'s pane process is alive, and its pid.
    pub fn pane(&self, session: &str) -> Option<(bool, u32)> {
        let s = self.t.tmux(&[
            "display-message",
            "-p",
            "-t",
            &format!("={session}:"),
            "#{pane_dead} #{pane_pid}",
        ]);
        let mut w = s.split_whitespace();
        let dead = w.next()? == "1";
        let pid = w.next()?.parse().ok()?;
        Some((!dead, pid))
    }

    /// What a person would look at when a scenario fails: the agents' rows, the events, the
    /// screens of every session, the mock's request log.
    pub fn evidence(&self) -> String {
        let (_, status, _) = self.agents(&["status"]);
        let events: Vec<String> = self.events().iter().map(|e| format!("  {e}")).collect();
        let events = if events.len() > 40 {
            events[events.len() - 40..].join("\n")
        } else {
            events.join("\n")
        };
        let mut screens = String::new();
        for s in self.t.sessions() {
            if s.ends_with("watchdog") {
                continue;
            }
            let screen = self.screen(&s);
            let text: Vec<&str> = screen
                .lines()
                .map(str::trim_end)
                .filter(|l| !l.is_empty())
                .collect();
            screens.push_str(&format!("--- screen of {s}:\n{}\n", text.join("\n")));
        }
        format!(
            "--- status:\n{status}--- events (last 40):\n{events}\n{screens}--- mock requests:\n{}",
            self.mock.summary()
        )
    }

    /// Panics with `msg` and the [`Fleet::evidence`].
    pub fn fail(&self, msg: &str) -> ! {
        panic!(
            "[{}] {msg}\n======== evidence ========\n{}",
            self.scenario,
            self.evidence()
        )
    }

    /// Polls `cond` every 250 ms for up to `secs`; fails naming `what` when it never holds.
    pub fn wait_for(&self, secs: f64, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if cond() {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {secs:.0} s waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Like [`Fleet::wait_for`] but returns whether `cond` held instead of failing.
    #[allow(clippy::unused_self)] // a method, so that scenarios read `f.wait_maybe(..)`
    pub fn wait_maybe(&self, secs: f64, mut cond: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs_f64(secs);
        loop {
            if cond() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Every process running with this fleet's scratch HOME.
    pub fn processes(&self) -> Vec<Proc> {
        processes_of(&self.home)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.t.tmux(&["kill-server"]);
        // The CLI gets SIGHUP with its pane; give it a moment, then end what is left of ours
        // (by pid: only processes started with this fleet's scratch HOME).
        let gone = wait_until(5.0, || self.processes().is_empty());
        if !gone {
            for p in self.processes() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p.pid.cast_signed()),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// Results of a run, one per scenario.
pub enum Outcome {
    Passed,
    Failed,
    Skipped(String),
}

/// Runs the selected scenarios of `suites`, all at once on their own threads (the scenarios
/// mostly wait on a CLI and a clock), and prints one libtest-like line each. `filters`:
/// substrings of `suite::scenario` names (none: all); `skip`: substrings to leave out.
pub fn run(suites: Vec<Suite>, filters: &[String], skip: &[String], max_threads: usize) -> bool {
    /// A scenario ready to run: its name, its body and the CLI it drives.
    type Job = (String, fn(&Installed), Installed);
    let selected = |name: &str| {
        (filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
            && !skip.iter().any(|s| name.contains(s.as_str()))
    };
    let results: Mutex<Vec<(String, Outcome, f64)>> = Mutex::new(vec![]);
    let mut jobs: Vec<Job> = vec![];
    for suite in suites {
        let chosen: Vec<&Scenario> = suite
            .scenarios
            .iter()
            .filter(|(n, _)| selected(n))
            .collect();
        if chosen.is_empty() {
            continue;
        }
        match (suite.prepare)() {
            Ok(cli) => {
                eprintln!(
                    "e2e: {} {} at {}: running {} scenarios in parallel",
                    suite.label,
                    cli.version,
                    cli.bin.display(),
                    chosen.len()
                );
                for (n, f) in chosen {
                    jobs.push((n.to_string(), *f, cli.clone()));
                }
            }
            Err(why) => {
                for (n, _) in chosen {
                    let outcome = if required() {
                        eprintln!(
                            "e2e: {n}: {} cannot run: {why}; AGENTS_REQUIRE_E2E is set, so that is a failure",
                            suite.label
                        );
                        Outcome::Failed
                    } else {
                        eprintln!("skipping {n}: {} cannot run here: {why}", suite.label);
                        Outcome::Skipped(why.clone())
                    };
                    results.lock().unwrap().push((n.to_string(), outcome, 0.0));
                }
            }
        }
    }
    let threads = max_threads.clamp(1, jobs.len().max(1));
    jobs.reverse(); // taken from the end: the first listed (the longest) start first
    let queue = Mutex::new(jobs);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let job = queue.lock().unwrap().pop();
                    let Some((name, f, cli)) = job else { break };
                    let t0 = Instant::now();
                    let h = std::thread::Builder::new()
                        .name(name.clone())
                        .spawn(move || f(&cli))
                        .expect("spawn a scenario thread");
                    let ok = h.join().is_ok();
                    let secs = t0.elapsed().as_secs_f64();
                    println!(
                        "test {name} ... {} ({secs:.0} s)",
                        if ok { "ok" } else { "FAILED" }
                    );
                    let outcome = if ok { Outcome::Passed } else { Outcome::Failed };
                    results.lock().unwrap().push((name, outcome, secs));
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let count = |f: fn(&Outcome) -> bool| results.iter().filter(|r| f(&r.1)).count();
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.1, Outcome::Failed))
        .map(|r| r.0.as_str())
        .collect();
    let mut skipped_why: HashMap<&str, usize> = HashMap::new();
    for r in &results {
        if let Outcome::Skipped(w) = &r.1 {
            *skipped_why.entry(w.as_str()).or_default() += 1;
        }
    }
    if !failed.is_empty() {
        println!("\nfailures:\n    {}", failed.join("\n    "));
    }
    println!(
        "\ntest result: {}. {} passed; {} failed; {} skipped",
        if failed.is_empty() { "ok" } else { "FAILED" },
        count(|o| matches!(o, Outcome::Passed)),
        failed.len(),
        count(|o| matches!(o, Outcome::Skipped(_))),
    );
    for (why, n) in skipped_why {
        println!("  {n} skipped: {why}");
    }
    failed.is_empty()
}
