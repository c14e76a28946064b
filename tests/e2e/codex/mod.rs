//! The real Codex CLI (npm `@openai/codex`, pinned by `setup.sh`: 0.169.0, its native musl
//! binary) under `agents` with `backend = "codex"` (the built-in preset), against
//! `mock_openai.py`, a loopback mock of the Responses API.
//!
//! Everything that points the CLI at the mock is in the environment of `agents up` and in the
//! scratch `CODEX_HOME`, nothing in `agents.toml` (from the shared harness,
//! shared/e2e/codex/lib.sh: `e2e_codex_home`, `e2e_codex_env`): `HOME` the scratch dir,
//! `CODEX_HOME=$HOME/.codex`, whose `config.toml` names a `mock` model provider at
//! `http://127.0.0.1:PORT/v1` (`wire_api = "responses"`, no retries) with its key in
//! `CODEX_E2E_API_KEY` (a dummy), approvals `never`, full access, no update check and
//! (unless a scenario wants it) `daemon_auto_start = false`; `OPENAI_API_KEY`,
//! `OPENAI_BASE_URL` and `CODEX_API_KEY` removed; the CLI's directory first on `PATH`.
//! `agents up` starts the fleet's tmux server, so the watchdog and every agent session
//! inherit that environment.

mod scenarios;

use std::path::Path;

use crate::harness::{
    AgentsToml, Fleet, FleetSpec, Installed, Mock, Suite, e2e_dir, install, path_with,
};
use crate::util::TestEnv;

/// The suite: the Codex CLI's scenarios.
pub fn suite() -> Suite {
    Suite {
        label: "Codex CLI",
        prepare,
        scenarios: scenarios::all(),
    }
}

/// Installs (once, cached in `~/.cache/agents-e2e`, locked) and finds the pinned CLI. Codex
/// prints `codex-cli 0.169.0`: the version is the second word.
fn prepare() -> Result<Installed, String> {
    let mut cli = install(&e2e_dir().join("codex/setup.sh"), "--version")?;
    let home = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(&cli.bin)
        .arg("--version")
        .env("HOME", home.path())
        .env("CODEX_HOME", home.path().join(".codex"))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cli.bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    cli.version = text.split_whitespace().last().unwrap_or("").to_string();
    Ok(cli)
}

/// How the scratch `CODEX_HOME` looks to the CLI.
#[derive(Clone, Copy)]
pub struct Home {
    /// A `mock` model provider pointed at the mock (else the default `OpenAI` provider with
    /// no credentials: 0.169.0 opens on its sign-in screen).
    pub provider: bool,
    /// The agent's dir listed under `[projects]` with `trust_level = "trusted"`.
    pub trusted: bool,
    /// `[features] daemon_auto_start` (the CLI's default is on: it then starts background
    /// `codex app-server` processes from a copy of itself under `CODEX_HOME/packages`).
    pub daemon: bool,
}

impl Default for Home {
    fn default() -> Self {
        Home {
            provider: true,
            trusted: true,
            daemon: false,
        }
    }
}

/// A TOML basic string (JSON's escaping is valid TOML for these inputs).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Writes the scratch `CODEX_HOME` (`home/.codex`): `config.toml` as in
/// shared/e2e/codex/lib.sh `e2e_codex_home`, shaped by `h`.
fn write_home(home: &Path, port: u16, work: &Path, h: Home) {
    let ch = home.join(".codex");
    std::fs::create_dir_all(&ch).unwrap();
    let mut cfg = String::from(
        "# scratch config written by tests/e2e/codex/mod.rs\n\
         approval_policy = \"never\"\n\
         sandbox_mode = \"danger-full-access\"\n\
         check_for_update_on_startup = false\n",
    );
    if h.provider {
        cfg.push_str(&format!(
            "model_provider = \"mock\"\n\n\
             [model_providers.mock]\n\
             name = \"mock\"\n\
             base_url = \"http://127.0.0.1:{port}/v1\"\n\
             env_key = \"CODEX_E2E_API_KEY\"\n\
             wire_api = \"responses\"\n\
             request_max_retries = 0\n\
             stream_max_retries = 0\n"
        ));
    }
    cfg.push_str(&format!("\n[features]\ndaemon_auto_start = {}\n", h.daemon));
    if h.trusted {
        cfg.push_str(&format!(
            "\n[projects.{}]\ntrust_level = \"trusted\"\n",
            q(&work.display().to_string())
        ));
    }
    std::fs::write(ch.join("config.toml"), cfg).unwrap();
}

/// The fleet of one scenario.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    pub scenario: &'a str,
    /// `watch` of the agent: `heal` or `heal+stall`.
    pub watch: &'a str,
    /// Extra `[watchdog]` lines (`signal_interval = 1` is always there).
    pub watchdog: &'a str,
    /// A `[backend.codex]` table's lines, when the scenario must override one preset key
    /// (`stall_idle`, a backend key); empty: no table, the preset as built in.
    pub backend: &'a str,
    /// The agent's kickoff prompt.
    pub kickoff: &'a str,
    pub home: Home,
}

/// The agent's name in every scenario.
pub const AGENT: &str = "a";

/// Starts the mock and writes the config, the scratch HOME and the environment; `up` is the
/// scenario's to run.
pub fn fleet(cli: &Installed, s: Setup) -> Fleet {
    let t = TestEnv::new();
    let root = t.path().canonicalize().unwrap();
    let home = root.join("home");
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mock = Mock::start(
        &e2e_dir().join("codex/mock_openai.py"),
        &root.join("mock"),
        "responses",
    );
    write_home(&home, mock.port, &work, s.home);
    let config = AgentsToml {
        backend: "codex",
        agent: AGENT,
        watch: s.watch,
        watchdog: s.watchdog,
        table: s.backend,
        kickoff: s.kickoff,
    }
    .render();
    let path = path_with(cli.bin.parent().unwrap());
    let env: Vec<(String, String)> = [
        ("HOME", home.display().to_string()),
        ("CODEX_HOME", home.join(".codex").display().to_string()),
        ("CODEX_E2E_API_KEY", "sk-e2e-dummy-not-a-real-key".into()),
        ("PATH", path),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Fleet::new(
        t,
        mock,
        FleetSpec {
            scenario: format!("codex::{}", s.scenario),
            config,
            env,
            env_remove: vec!["OPENAI_API_KEY", "OPENAI_BASE_URL", "CODEX_API_KEY"],
            home,
        },
    )
}
