//! Test harness: every test gets a temp project directory and its own tmux server
//! (`tmux -L <unique>` with `TMUX_TMPDIR` inside the temp dir), killed when the test ends.
//! No test touches the user's default tmux server.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The JSON Schema of `agents schema` (derived from the loader's types), compiled once.
fn schema_validator() -> &'static jsonschema::Validator {
    static V: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        jsonschema::validator_for(&agents::config::raw::json_schema()).expect("a valid schema")
    })
}

/// Every config a test writes that the loader accepts (warnings allowed) must be valid
/// against the schema: editors must never flag a config that `agents` runs. Configs the
/// loader refuses (the bad-input tests) are not checked.
pub fn assert_schema_accepts(path: &Path, text: &str) {
    let loads = agents::config::parse(path, text, agents::config::EnvOverrides::Ignore).is_ok();
    let Ok(doc) = toml::from_str::<toml::Table>(text) else {
        return;
    };
    if !loads {
        return;
    }
    let json = serde_json::to_value(doc).unwrap();
    let problems: Vec<String> = schema_validator()
        .iter_errors(&json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "{} loads, but `agents schema` rejects it: {problems:?}\n{text}",
        path.display()
    );
}

/// The fake agent CLI shipped with the demo.
/// The path of the tmux on `PATH` (what a shim in front of it execs).
pub fn real_tmux() -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", "command -v tmux"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!real.is_empty(), "no tmux on PATH");
    real
}

pub fn fake_agent() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fake-agent.sh")
}

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub socket: String,
    pub tmux_tmpdir: PathBuf,
}

impl TestEnv {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("agents-test-")
            .tempdir()
            .expect("tempdir");
        let tmux_tmpdir = dir.path().join("tmux");
        std::fs::create_dir_all(&tmux_tmpdir).unwrap();
        let socket = format!(
            "agents-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        Self {
            dir,
            socket,
            tmux_tmpdir,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `rel` (creating parent directories). A `.toml` file that the config loader
    /// accepts must pass `agents schema` too (see [`assert_schema_accepts`]).
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        if Path::new(rel).extension().is_some_and(|e| e == "toml") {
            assert_schema_accepts(&p, text);
        }
        p
    }

    /// Writes an executable script `rel`.
    pub fn write_script(&self, rel: &str, text: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.write(rel, text);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// Writes `script` as `shim/tmux` in the test's directory (a stand-in for tmux, usually
    /// ending by exec'ing [`real_tmux`]); returns a `PATH` with it first.
    pub fn tmux_shim(&self, script: &str) -> String {
        self.write_script("shim/tmux", script);
        format!(
            "{}:{}",
            self.path().join("shim").display(),
            std::env::var("PATH").unwrap()
        )
    }

    /// Every line the demo agent in `session` has received so far (`FAKE_RECORD_DIR`).
    pub fn received(&self, session: &str) -> Vec<String> {
        std::fs::read_to_string(self.path().join("received").join(format!("{session}.txt")))
            .map(|t| t.lines().map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Writes `agents.toml`.
    pub fn config(&self, text: &str) -> PathBuf {
        self.write("agents.toml", text)
    }

    /// `agents ARGS` run in the project dir against this test's tmux server.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_agents"));
        c.current_dir(self.path())
            .env("AGENTS_TMUX_SOCKET", &self.socket)
            .env("TMUX_TMPDIR", &self.tmux_tmpdir)
            .env("FAKE_WORK_SECS", "1")
            .env("FAKE_REPLY_SECS", "1")
            .env("FAKE_RECORD_DIR", self.path().join("received"))
            .env_remove("TMUX")
            .env_remove("AGENTS_CONFIG")
            .timeout(Duration::from_secs(60));
        c
    }

    /// Runs `agents ARGS`; returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out: Output = self.cmd().args(args).output().expect("run agents");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// [`Self::tmux_shim`] logging one line per call to `count`: the call's first command
    /// (after `-u` and `-L SOCKET`). With `refuse` given and that file present, a
    /// `source-file` call fails as on tmux 3.1 (`-: No such file or directory`).
    pub fn first_command_shim(&self, count: &Path, refuse: Option<&Path>) -> String {
        let refuse = refuse.map_or(String::new(), |r| {
            format!(
                "if [ \"$a\" = source-file ] && [ -e '{}' ]; then echo '-: No such file or directory' >&2; exit 1; fi; ",
                r.display()
            )
        });
        self.tmux_shim(&format!(
            "#!/bin/sh
skip=
for a in \"$@\"; do case $a in -u) ;; -L) skip=1 ;; *) if [ -n \"$skip\" ]; then skip=; else echo \"$a\" >> '{}'; {refuse}break; fi ;; esac; done\nexec '{}' \"$@\"\n",
            count.display(),
            real_tmux()
        ))
    }

    /// `tmux -L <socket> ARGS`; returns stdout (empty on failure).
    pub fn tmux(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env("TMUX_TMPDIR", &self.tmux_tmpdir)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Names of the sessions on this test's server, sorted.
    pub fn sessions(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tmux(&["list-sessions", "-F", "#{session_name}"])
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    }

    /// Pid of a session's pane process.
    pub fn pane_pid(&self, session: &str) -> Option<u32> {
        self.tmux(&[
            "display-message",
            "-p",
            "-t",
            &format!("={session}:"),
            "#{pane_pid}",
        ])
        .trim()
        .parse()
        .ok()
    }

    /// `status --json`, parsed.
    pub fn status_json(&self) -> serde_json::Value {
        self.status_json_with(&[])
    }

    /// `status --json` with extra environment variables, parsed.
    pub fn status_json_with(&self, env: &[(&str, &str)]) -> serde_json::Value {
        let out = self
            .cmd()
            .envs(env.iter().copied())
            .args(["status", "--json"])
            .output()
            .expect("run agents");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        // 3: an agent is fatal or stopped without `down` (still a valid answer).
        assert!(
            matches!(out.status.code(), Some(0 | 3)),
            "status --json failed: {stderr}"
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"))
    }

    /// The contents of `log_dir/events.jsonl` (`log_dir` given relative to the project).
    pub fn events(&self, log_dir: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path().join(log_dir).join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("events.jsonl line is JSON"))
            .collect()
    }

    /// The events named `event` in `.agents/events.jsonl` (the test fleets' `log_dir`).
    pub fn events_named(&self, event: &str) -> Vec<serde_json::Value> {
        self.events(".agents")
            .into_iter()
            .filter(|e| e["event"] == event)
            .collect()
    }

    /// What `session`'s pane shows now (wrapped lines joined, as the watchdog reads it).
    pub fn pane(&self, session: &str) -> String {
        self.tmux(&["capture-pane", "-p", "-J", "-t", &format!("={session}:")])
    }

    /// Types `line` into `session` and presses Enter, as a person at the pane would.
    pub fn type_line(&self, session: &str, line: &str) {
        self.tmux(&["send-keys", "-t", &format!("={session}:"), "-l", line]);
        self.tmux(&["send-keys", "-t", &format!("={session}:"), "Enter"]);
    }

    /// `ticks` in `.agents/state/supervision.json`: how many ticks the fleet's watchdog has
    /// run (0 before its first, or without one).
    pub fn ticks(&self) -> u64 {
        self.ticks_of().1
    }

    /// The pid of the watchdog that wrote `.agents/state/supervision.json` and its `ticks`.
    fn ticks_of(&self) -> (Option<u64>, u64) {
        let v = std::fs::read_to_string(self.path().join(".agents/state/supervision.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .unwrap_or_default();
        (v["pid"].as_u64(), v["ticks"].as_u64().unwrap_or(0))
    }

    /// Waits (at most `secs`) until the watchdog has run `n` more ticks than it had: a test
    /// that asserts something did not happen waits for the ticks that would have done it,
    /// not for a guessed time. A watchdog started meanwhile (another pid) counts from its
    /// start. Returns whether it got them.
    pub fn wait_ticks(&self, n: u64, secs: f64) -> bool {
        let (pid, from) = self.ticks_of();
        wait_until(secs, || match self.ticks_of() {
            (now, ticks) if now == pid => ticks >= from + n,
            (_, ticks) => ticks >= n,
        })
    }

    /// Lets `n` more watchdog ticks pass (waiting at most 30 s, failing the test without
    /// them): before asserting that something did not happen, the ticks that would have done
    /// it. The first may be a tick already under way, so `n` counts one more than needed.
    pub fn pass_ticks(&self, n: u64) {
        assert!(
            self.wait_ticks(n, 30.0),
            "the watchdog ran fewer than {n} ticks in 30 s (at tick {})",
            self.ticks()
        );
    }

    /// The row of agent `name` in `agents status --json`.
    pub fn agent_row(&self, name: &str) -> serde_json::Value {
        self.status_json()["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
            .unwrap()
    }
}

impl TestEnv {
    /// Every process but this one that belongs to this test: started under its tmux server
    /// or by its commands (`TMUX_TMPDIR` or `AGENTS_TMUX_SOCKET` of this test in its
    /// environment: the server, the watchdog, agents, their children, a watchdog a test
    /// spawned itself), or running in or naming its directory (cwd, command line: the
    /// `pipe-log` writers). Read from `/proc`; processes of other users are not readable and
    /// not listed.
    pub fn processes(&self) -> Vec<u32> {
        let me = std::process::id();
        let dir = self.path().to_string_lossy().into_owned();
        let under = |p: &str| {
            p.strip_prefix(dir.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', ' ']))
        };
        let marks = [
            format!("TMUX_TMPDIR={}", self.tmux_tmpdir.display()),
            format!("AGENTS_TMUX_SOCKET={}", self.socket),
        ];
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let environ = std::fs::read(e.path().join("environ")).unwrap_or_default();
                let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                let cwd = std::fs::read_link(e.path().join("cwd")).unwrap_or_default();
                let ours = environ
                    .split(|b| *b == 0)
                    .any(|kv| marks.iter().any(|m| kv == m.as_bytes()))
                    || cmdline
                        .split(|b| *b == 0)
                        .any(|a| String::from_utf8_lossy(a).contains(dir.as_str()))
                    || under(&cwd.to_string_lossy());
                (pid != me && ours).then_some(pid)
            })
            .collect()
    }

    /// Stops every process of this test ([`TestEnv::processes`]): SIGTERM, then SIGKILL to
    /// what is left after 3 s; waits (up to 2 s more) until they are gone.
    fn stop_processes(&self) {
        use nix::sys::signal::{Signal, kill};
        use nix::unistd::Pid;
        let signal = |pids: &[u32], s: Signal| {
            for p in pids {
                let _ = kill(Pid::from_raw(p.cast_signed()), s);
            }
        };
        let left = self.processes();
        if left.is_empty() {
            return;
        }
        signal(&left, Signal::SIGTERM);
        if wait_until(3.0, || self.processes().is_empty()) {
            return;
        }
        signal(&self.processes(), Signal::SIGKILL);
        wait_until(2.0, || self.processes().is_empty());
    }
}

impl Drop for TestEnv {
    /// Runs when the test ends, passed or failed (a panic unwinds through it): kills the
    /// test's tmux server, then whatever of the test still runs (a watchdog it spawned
    /// itself, a child that left its session, a log writer), and only then removes the
    /// directory, so that nothing writes into it afterwards (a watchdog would create it
    /// again).
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
        self.stop_processes();
        for _ in 0..20 {
            if std::fs::remove_dir_all(self.path()).is_ok() || !self.path().exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A child process that is killed and reaped when dropped: a test that fails (panics)
/// before it stops a process it spawned itself leaves nothing running. Derefs to the
/// [`std::process::Child`].
pub struct Guarded(Option<std::process::Child>);

impl Guarded {
    /// Spawns `cmd`; panics (naming it) when it cannot be started.
    pub fn spawn(cmd: &mut std::process::Command) -> Self {
        Self(Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}")),
        ))
    }

    /// Kills the process and returns what it printed (the streams spawned piped).
    pub fn kill_output(mut self) -> Output {
        let mut c = self.0.take().expect("a guarded child");
        let _ = c.kill();
        c.wait_with_output().expect("wait for the child")
    }
}

impl std::ops::Deref for Guarded {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("a guarded child")
    }
}

impl std::ops::DerefMut for Guarded {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("a guarded child")
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Polls `cond` every 50 ms until it holds or `secs` pass; returns whether it held.
pub fn wait_until(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `state` of every agent of a `status --json` document, in the config's order.
pub fn agent_states(doc: &serde_json::Value) -> Vec<String> {
    doc["agents"]
        .as_array()
        .map(|agents| {
            agents
                .iter()
                .map(|a| a["state"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A fleet config: `n` persistent agents `a1..an` on the fake agent, watch = heal, fast ticks.
pub fn fleet_config(prefix: &str, n: usize, extra: &str) -> String {
    let mut s = format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"
backend = "fake"
watch = "heal"

[backend.fake]
bin = "bash {fake} '{{kickoff}}' '{{session}}' '{{model}}'"
prompt_delivery = "exec"
active_re = "esc to interrupt"
limit_re = "usage limit"
fatal_re = "^FATAL: session state"

[watchdog]
signal_interval = 0.3
heavy_interval = 0.6
{extra}
"#,
        fake = fake_agent().display()
    );
    for i in 1..=n {
        s.push_str(&format!(
            "\n[[agent]]\nname = \"a{i}\"\nprompt = \"You are agent {i}.\"\n"
        ));
    }
    s
}

/// Runs `agents up` with `env` added (e.g. `FAKE_WORK_SECS`); panics with its stderr unless
/// it exits 0.
pub fn up_with(t: &TestEnv, env: &[(&str, &str)]) {
    let out = t
        .cmd()
        .envs(env.iter().copied())
        .arg("up")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fleet's head on the `demo` preset (the demo agent, `examples/fake-agent.sh`):
/// `[defaults]` with `backend = "demo"` and `watch = "heal"`, `[backend.demo]`, and
/// `[watchdog]` holding `watchdog` (e.g. `signal_interval = 0.3`). Agents go after it.
pub fn demo_fleet(prefix: &str, watchdog: &str) -> String {
    format!(
        r#"[defaults]
session_prefix = "{prefix}"
log_dir = ".agents"
backend = "demo"
watch = "heal"

[backend.demo]
bin = "bash {fake} '{{kickoff}}' '{{session}}' '{{model}}'"

[watchdog]
{watchdog}
"#,
        fake = fake_agent().display()
    )
}

/// A builder/adversary loop pair (roles `builder` and `adversary`), to follow a fleet's head.
pub const LOOP_PAIR: &str = r#"
[[agent]]
name = "builder"
kind = "loop"
role = "builder"

[[agent]]
name = "adversary"
kind = "loop"
role = "adversary"
"#;

/// The original `agents.py` and its demo (`shared/baseline`): `$AGENTS_BASELINE_DIR` when
/// set, else `../shared/baseline` next to this checkout (where CI puts it), else
/// `/work/shared/baseline`. `None` (a user's clone without the original): the caller skips,
/// and the reason is printed past the test harness's capture. With
/// `AGENTS_REQUIRE_BASELINE=1` (set by `.ci/run`) a missing original fails the test instead.
pub fn baseline_dir(test: &str) -> Option<PathBuf> {
    use std::io::Write as _;
    let candidates = match std::env::var_os("AGENTS_BASELINE_DIR") {
        Some(d) => vec![PathBuf::from(d)],
        None => vec![
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/baseline"),
            PathBuf::from("/work/shared/baseline"),
        ],
    };
    if let Some(found) = candidates.iter().find(|p| p.join("agents.py").is_file()) {
        return Some(found.clone());
    }
    let why = format!(
        "the original agents.py was not found in {}",
        candidates
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    );
    assert!(
        !std::env::var("AGENTS_REQUIRE_BASELINE").is_ok_and(|v| !v.is_empty() && v != "0"),
        "{why}; AGENTS_REQUIRE_BASELINE is set, so it must be there (set AGENTS_BASELINE_DIR to shared/baseline)"
    );
    let _ = writeln!(
        std::io::stderr(),
        "skipping {test}: {why} (set AGENTS_BASELINE_DIR to shared/baseline to run it)"
    );
    None
}

/// A test fleet from `config`, started with `up`, its watchdog running.
pub fn started(config: &str) -> TestEnv {
    let t = TestEnv::new();
    t.config(config);
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    t
}

/// Waits until the watchdog started by `up` has loaded its config and taken its lock.
pub fn wait_watchdog(t: &TestEnv) {
    assert!(
        wait_until(10.0, || t
            .events(".agents")
            .iter()
            .any(|e| e["event"] == "watchdog-start")),
        "the watchdog did not start"
    );
}

/// Whether the watchdog's pane process is alive (asked of tmux, so it works while the config
/// is invalid; a dead pane stays as a session because of remain-on-exit).
pub fn watchdog_running(t: &TestEnv) -> bool {
    let prefix = t.events(".agents").iter().find_map(|e| {
        e["session"]
            .as_str()
            .filter(|s| s.ends_with("watchdog"))
            .map(String::from)
    });
    let session = prefix.expect("a start event for the watchdog");
    t.tmux(&[
        "display-message",
        "-p",
        "-t",
        &format!("={session}:"),
        "#{pane_dead}",
    ])
    .trim()
        == "0"
}

/// The `restart` events of agent `name`.
pub fn restarts(t: &TestEnv, name: &str) -> Vec<serde_json::Value> {
    t.events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "restart" && e["name"] == name)
        .collect()
}

/// Holds `session`'s typing lock (`state/typing-<session>.lock`, the lock every delivery
/// takes) until dropped, as another delivery under way would.
pub fn hold_typing_lock(t: &TestEnv, session: &str) -> std::fs::File {
    let path = t
        .path()
        .join(".agents/state")
        .join(format!("typing-{session}.lock"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    f.try_lock().expect("the typing lock is free");
    f
}

/// The lines the demo agent in `session` found already typed when it went idle (typed
/// while it was busy), from `received/<session>.typed-while-busy.txt`.
pub fn typed_while_busy(t: &TestEnv, session: &str) -> String {
    std::fs::read_to_string(
        t.path()
            .join("received")
            .join(format!("{session}.typed-while-busy.txt")),
    )
    .unwrap_or_default()
}
