//! SPEC §1 — the only code that reads `agents.toml`.
//!
//! [`discover`] finds the file (`--config`, `$AGENTS_CONFIG`, else the nearest `agents.toml`
//! in the current directory or an ancestor); [`load`] parses and validates it, reporting every
//! problem at once with file, line and column.

pub mod diagnostic;
pub mod model;
pub mod raw;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{ConfigError, Problem};
pub use model::*;

/// How the config file was found; shown in "not found" errors.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(
        "no agents.toml found: --config was not given, $AGENTS_CONFIG is not set, and none of these exist:\n{}\n  help: run `agents init` to write a starter config here, or pass --config PATH",
        .looked.iter().map(|p| format!("    {}", p.display())).collect::<Vec<_>>().join("\n")
    )]
    NotFound { looked: Vec<PathBuf> },
    #[error("config file {path} ({from}) does not exist\n  help: check the path, or run `agents init {dir}` to create one", dir = .path.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    Missing { path: PathBuf, from: &'static str },
}

/// Finds the config file: `explicit` (from `--config`), else `$AGENTS_CONFIG`, else the
/// nearest `agents.toml` walking up from `cwd`. The result is absolute.
pub fn discover(
    explicit: Option<&Path>,
    env_config: Option<PathBuf>,
    cwd: &Path,
) -> Result<PathBuf, DiscoverError> {
    let absolute = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        }
    };
    for (given, from) in [
        (explicit.map(Path::to_path_buf), "--config"),
        (env_config, "$AGENTS_CONFIG"),
    ] {
        if let Some(p) = given.filter(|p| !p.as_os_str().is_empty()) {
            let p = absolute(&p);
            return if p.is_file() {
                Ok(p)
            } else {
                Err(DiscoverError::Missing { path: p, from })
            };
        }
    }
    let mut looked = Vec::new();
    for dir in cwd.ancestors() {
        let candidate = dir.join("agents.toml");
        if candidate.is_file() {
            return Ok(candidate);
        }
        looked.push(candidate);
    }
    Err(DiscoverError::NotFound { looked })
}

/// What stopped a load: the file could not be read, or it has problems.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Box<ConfigError>),
}

/// Whether `AGENT_MODEL_<name>` / `AGENT_BACKEND_<name>` apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvOverrides {
    /// One-off overrides from the environment apply (every verb but the watchdog).
    Apply,
    /// Ignore them: the persistent watchdog follows the file only.
    Ignore,
}

/// Reads and validates the config at `path`.
pub fn load(path: &Path, env: EnvOverrides) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, env)
}

/// Validates config `text` as if read from `path` (relative paths resolve against its dir).
pub fn parse(path: &Path, text: &str, env: EnvOverrides) -> Result<Config, LoadError> {
    let invalid = |problems: Vec<Problem>| {
        LoadError::Invalid(Box::new(ConfigError {
            path: path.to_path_buf(),
            source_text: text.to_string(),
            problems,
        }))
    };
    let toml_problem =
        |e: toml::de::Error| Problem::new(format!("TOML: {}", e.message().trim_end())).at(e.span());
    let de = toml::Deserializer::parse(text).map_err(|e| invalid(vec![toml_problem(e)]))?;
    let mut unknown = Vec::new();
    let raw: raw::RawFile = serde_ignored::deserialize(de, |p| unknown.push(p.to_string()))
        .map_err(|e| invalid(vec![toml_problem(e)]))?;
    let lookup = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let env_fn: Option<validate::EnvLookup> = match env {
        EnvOverrides::Apply => Some(&lookup),
        EnvOverrides::Ignore => None,
    };
    let mut cfg = validate::validate(path, raw, env_fn).map_err(invalid)?;
    cfg.warnings.extend(unknown.iter().map(|k| unknown_key(k)));
    Ok(cfg)
}

/// Keys each table accepts, for "did you mean" on unknown keys.
const ENTRY_KEYS: &[&str] = &[
    "session_prefix",
    "log_dir",
    "project_dir",
    "tmux_socket",
    "name",
    "session",
    "dir",
    "enabled",
    "command",
    "kind",
    "backend",
    "model",
    "role",
    "prompt",
    "prompt_file",
    "watch",
    "resume",
    "wake",
];
const BACKEND_KEYS: &[&str] = &[
    "bin",
    "prompt_delivery",
    "flags",
    "model_flag",
    "supports_resume",
    "resume_flag",
    "remote_control",
    "remote_control_flag",
    "process_name",
    "submit_key",
    "active_re",
    "limit_re",
    "fatal_re",
    "ready_re",
    "footer_ui",
    "log_grace",
    "stall_idle",
    "attach",
    "server",
    "preamble",
    "connect_delay",
    "model_env",
];
const WATCHDOG_KEYS: &[&str] = &[
    "signal_interval",
    "heavy_interval",
    "limit_probe_fallback",
    "limit_reset_slack",
    "stall_grace",
];
const LOOP_KEYS: &[&str] = &[
    "phases",
    "state_file",
    "done_marker",
    "kickoff_template",
    "roles_dir",
    "auto_advance",
    "resume_phase",
    "handoff",
    "on_complete",
];
const TOP_KEYS: &[&str] = &[
    "defaults", "watchdog", "backend", "agent", "service", "loop",
];

/// A warning for an unknown key at serde_ignored path `key` (e.g. `agent.0.modle`).
fn unknown_key(key: &str) -> Problem {
    let parts: Vec<&str> = key.split('.').collect();
    let last = parts.last().copied().unwrap_or(key);
    let (table, keys): (String, &[&str]) = match parts.as_slice() {
        [_] => ("top level".into(), TOP_KEYS),
        ["defaults", ..] => ("[defaults]".into(), ENTRY_KEYS),
        ["agent", i, ..] => (
            format!("[[agent]] #{}", i.parse::<usize>().map_or(0, |i| i + 1)),
            ENTRY_KEYS,
        ),
        ["service", i, ..] => (
            format!("[[service]] #{}", i.parse::<usize>().map_or(0, |i| i + 1)),
            ENTRY_KEYS,
        ),
        ["backend", name, ..] => (format!("[backend.{name}]"), BACKEND_KEYS),
        ["watchdog", ..] => ("[watchdog]".into(), WATCHDOG_KEYS),
        ["loop", ..] => ("[loop]".into(), LOOP_KEYS),
        _ => (key.to_string(), &[]),
    };
    let p = Problem::new(format!("{table}: unknown key `{last}` is ignored"));
    match diagnostic::did_you_mean(last, keys.iter().copied()) {
        Some(s) => p.help(format!("did you mean `{s}`?")),
        None => p,
    }
}
