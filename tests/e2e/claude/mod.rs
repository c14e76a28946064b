//! The real Claude Code (npm `@anthropic-ai/claude-code`, pinned by `setup.sh`) under
//! `agents` with `backend = "claude"` (the built-in preset), against `mock_anthropic.py`.
//!
//! Everything that points the CLI at the mock is in the environment of `agents up` and in the
//! scratch HOME, nothing in `agents.toml` (from the shared harness, shared/e2e/lib.sh:
//! `e2e_home`, `e2e_env`): `ANTHROPIC_BASE_URL=http://127.0.0.1:PORT`, a dummy
//! `CLAUDE_CODE_OAUTH_TOKEN` (only the subscriber path draws plan-limit banners),
//! `DISABLE_AUTOUPDATER=1`, `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`, `IS_SANDBOX=1` (root
//! may pass `--dangerously-skip-permissions`), the CLI's directory first on `PATH`, and
//! `HOME` the scratch dir, whose `.claude.json` says onboarding is done (without it the first
//! run tries the real service), which project dirs are trusted, and whether bypass-permissions
//! mode was accepted. `agents up` starts the fleet's tmux server, so the watchdog and every
//! agent session inherit that environment.

mod scenarios;

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::harness::{
    AgentsToml, Fleet, FleetSpec, Installed, Mock, Suite, e2e_dir, install, path_with,
};
use crate::util::TestEnv;

/// The suite: Claude Code's scenarios.
pub fn suite() -> Suite {
    Suite {
        label: "Claude Code",
        prepare,
        scenarios: scenarios::all(),
    }
}

/// Installs (once, cached in `~/.cache/agents-e2e`, locked) and finds the pinned CLI.
fn prepare() -> Result<Installed, String> {
    install(&e2e_dir().join("claude/setup.sh"), "--version")
}

/// How the scratch HOME and the project look to the CLI.
#[derive(Clone, Copy)]
pub struct Home {
    /// The agent's dir is trusted (else the trust-folder dialog).
    pub trusted: bool,
    /// Bypass-permissions mode already accepted (else its warning dialog).
    pub bypass_accepted: bool,
    /// `{"autoContinueAtUsageLimit": false}` in the project's `.claude/settings.json`: a plan
    /// limit shows a chooser instead of continuing by itself.
    pub auto_continue: bool,
}

impl Default for Home {
    fn default() -> Self {
        Home {
            trusted: true,
            bypass_accepted: true,
            auto_continue: true,
        }
    }
}

/// Writes a scratch HOME in which Claude Code starts straight into its TUI in `work` (when
/// `home` says so): onboarding done, `work` trusted, bypass-permissions mode accepted.
fn write_home(dir: &Path, version: &str, work: &Path, home: Home) {
    std::fs::create_dir_all(dir.join(".claude")).unwrap();
    let mut projects = serde_json::Map::new();
    if home.trusted {
        projects.insert(
            work.display().to_string(),
            json!({"hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true,
                   "allowedTools": []}),
        );
    }
    let mut cfg = json!({"hasCompletedOnboarding": true, "lastOnboardingVersion": version,
                         "theme": "dark", "numStartups": 3, "projects": projects});
    if home.bypass_accepted {
        cfg["bypassPermissionsModeAccepted"] = json!(true);
        std::fs::write(
            dir.join(".claude/settings.json"),
            json!({"skipDangerousModePermissionPrompt": true}).to_string(),
        )
        .unwrap();
    }
    std::fs::write(
        dir.join(".claude.json"),
        serde_json::to_string_pretty(&cfg).unwrap(),
    )
    .unwrap();
    if !home.auto_continue {
        std::fs::create_dir_all(work.join(".claude")).unwrap();
        std::fs::write(
            work.join(".claude/settings.json"),
            json!({"autoContinueAtUsageLimit": false}).to_string(),
        )
        .unwrap();
    }
}

/// The fleet of one scenario.
#[derive(Clone, Copy)]
pub struct Setup<'a> {
    pub scenario: &'a str,
    /// `watch` of the agent: `heal` or `heal+stall`.
    pub watch: &'a str,
    /// Extra `[watchdog]` lines (`signal_interval = 1` is always there).
    pub watchdog: &'a str,
    /// A `[backend.claude]` table's lines, when the scenario must override one preset key
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
    write_home(&home, &cli.version, &work, s.home);
    let mock = Mock::start(
        &e2e_dir().join("claude/mock_anthropic.py"),
        &root.join("mock"),
        "messages",
    );
    let config = AgentsToml {
        backend: "claude",
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
            "ANTHROPIC_BASE_URL",
            format!("http://127.0.0.1:{}", mock.port),
        ),
        ("CLAUDE_CODE_OAUTH_TOKEN", "e2e-dummy-oauth-token".into()),
        ("DISABLE_AUTOUPDATER", "1".into()),
        ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
        ("IS_SANDBOX", "1".into()),
        ("PATH", path),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Fleet::new(
        t,
        mock,
        FleetSpec {
            scenario: format!("claude::{}", s.scenario),
            config,
            env,
            env_remove: vec![
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_AUTH_TOKEN",
                "CLAUDE_CONFIG_DIR",
                "XDG_CONFIG_HOME",
            ],
            home,
        },
    )
}

/// The CLI's install root (`.../claude-code-<version>`): a process whose executable lies
/// under it is a Claude Code process.
pub fn install_root(cli: &Installed) -> PathBuf {
    cli.bin
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "node_modules"))
        .and_then(Path::parent)
        .unwrap_or(cli.bin.parent().unwrap())
        .to_path_buf()
}
