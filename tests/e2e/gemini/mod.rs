//! The real Gemini CLI (npm `@google/gemini-cli`, pinned by `setup.sh`) under `agents` with
//! `backend = "gemini"` (the built-in preset), against `mock_gemini.py`.
//!
//! Everything that points the CLI at the mock is in the environment of `agents up` and in the
//! scratch HOME, nothing in `agents.toml` (from the shared harness, shared/e2e/gemini/lib.sh:
//! `e2e_gemini_home`, `e2e_gemini_env`): `GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:PORT`, a
//! dummy `GEMINI_API_KEY`, `GEMINI_CLI_NO_RELAUNCH=1`, `NO_BROWSER=1`, `COLORTERM=truecolor`
//! (else every start prints a true-color warning), `TZ=UTC`, the CLI's directory first on
//! `PATH`, and `HOME` the scratch dir, whose `.gemini/settings.json` chooses API-key auth and a
//! theme (no start-up dialogs), turns telemetry and update checks off and folder trust on, and
//! whose `.gemini/trustedFolders.json` trusts the agent's dir or not. `agents up` starts the
//! fleet's tmux server, so the watchdog and every agent session inherit that environment.
//!
//! Gemini CLI 0.61.0 sends no session header: the mock's `session` stays null, and CLI
//! processes are told apart by the order of their requests (and `cwd`).

mod scenarios;

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::{
    AgentsToml, Fleet, FleetSpec, Installed, Mock, Suite, e2e_dir, install, path_with,
};
use crate::util::TestEnv;

/// The suite: the Gemini CLI's scenarios.
pub fn suite() -> Suite {
    Suite {
        label: "Gemini CLI",
        prepare,
        scenarios: scenarios::all(),
    }
}

/// Installs (once, cached in `~/.cache/agents-e2e`, locked) and finds the pinned CLI.
fn prepare() -> Result<Installed, String> {
    install(&e2e_dir().join("gemini/setup.sh"), "--version")
}

/// Writes a scratch HOME in which the Gemini CLI starts straight into its TUI in `work`
/// (when `trusted`; else it opens "Do you trust the files in this folder?").
fn write_home(dir: &Path, work: &Path, trusted: bool) {
    std::fs::create_dir_all(dir.join(".gemini")).unwrap();
    let settings = json!({
        "security": {"auth": {"selectedType": "gemini-api-key"},
                     "folderTrust": {"enabled": true}},
        "ui": {"theme": "Default"},
        "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false},
        "privacy": {"usageStatisticsEnabled": false},
        "telemetry": {"enabled": false},
        "ide": {"enabled": false},
    });
    std::fs::write(
        dir.join(".gemini/settings.json"),
        serde_json::to_string_pretty(&settings).unwrap(),
    )
    .unwrap();
    let mut trusted_dirs = serde_json::Map::new();
    if trusted {
        trusted_dirs.insert(work.display().to_string(), json!("TRUST_FOLDER"));
    }
    std::fs::write(
        dir.join(".gemini/trustedFolders.json"),
        serde_json::to_string_pretty(&trusted_dirs).unwrap(),
    )
    .unwrap();
}

/// The fleet of one scenario.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    pub scenario: &'a str,
    /// `watch` of the agent: `heal` or `heal+stall`.
    pub watch: &'a str,
    /// Extra `[watchdog]` lines (`signal_interval = 1` is always there).
    pub watchdog: &'a str,
    /// A `[backend.gemini]` table's lines, when the scenario must override one preset key
    /// (`stall_idle`, a backend key); empty: no table, the preset as built in.
    pub backend: &'a str,
    /// The agent's kickoff prompt.
    pub kickoff: &'a str,
    /// The agent's dir is in `trustedFolders.json` (else the trust dialog).
    pub trusted: bool,
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
    write_home(&home, &work, s.trusted);
    let mock = Mock::start(
        &e2e_dir().join("gemini/mock_gemini.py"),
        &root.join("mock"),
        "generate",
    );
    let config = AgentsToml {
        backend: "gemini",
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
        (
            "GOOGLE_GEMINI_BASE_URL",
            format!("http://127.0.0.1:{}", mock.port),
        ),
        ("GEMINI_API_KEY", "e2e-dummy-api-key".into()),
        ("GEMINI_CLI_NO_RELAUNCH", "1".into()),
        ("NO_BROWSER", "1".into()),
        ("COLORTERM", "truecolor".into()),
        ("TZ", "UTC".into()),
        ("PATH", path),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Fleet::new(
        t,
        mock,
        FleetSpec {
            scenario: format!("gemini::{}", s.scenario),
            config,
            env,
            env_remove: vec![
                "GOOGLE_API_KEY",
                "GOOGLE_GENAI_USE_VERTEXAI",
                "GOOGLE_GENAI_USE_GCA",
                "GOOGLE_CLOUD_PROJECT",
                "GOOGLE_APPLICATION_CREDENTIALS",
                "GEMINI_CLI_HOME",
                "GEMINI_MODEL",
                "CLOUD_SHELL",
                "XDG_CONFIG_HOME",
            ],
            home,
        },
    )
}

/// The CLI's install root (`.../gemini-cli-<version>`): a process whose command line names it
/// is a Gemini CLI process (it runs under `node`).
pub fn install_root(cli: &Installed) -> PathBuf {
    cli.bin
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "node_modules"))
        .and_then(Path::parent)
        .unwrap_or(cli.bin.parent().unwrap())
        .to_path_buf()
}
