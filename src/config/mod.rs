//! SPEC §1 — the only code that reads `agents.toml`.
//!
//! [`discover`] finds the file (`--config`, `$AGENTS_CONFIG`, else the nearest `agents.toml`
//! in the current directory or an ancestor); [`load`] parses and validates it, reporting every
//! problem at once with file, line and column.

pub mod diagnostic;
pub(crate) mod literals;
pub mod model;
pub mod pattern;
pub mod presets;
pub mod raw;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diagnostic::{ConfigError, Problem};
pub use model::*;
pub use pattern::Pattern;

/// How the config file was found; shown in "not found" errors.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// Neither `--config` nor `$AGENTS_CONFIG`, and no `agents.toml` upward.
    #[error(
        "no agents.toml found: --config was not given, $AGENTS_CONFIG is not set, and none of these exist:\n{}\n  help: run `agents init` to write a starter config here, or pass --config PATH",
        .looked.iter().map(|p| format!("    {}", p.display())).collect::<Vec<_>>().join("\n")
    )]
    NotFound {
        /// Every `agents.toml` looked for, from the current directory up to `/`.
        looked: Vec<PathBuf>,
    },
    /// The path given does not exist.
    #[error("config file {path} ({from}) does not exist\n  help: check the path, or run `agents init {dir}` to create one", dir = .path.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    Missing {
        /// The path given, made absolute against the current directory.
        path: PathBuf,
        /// Where it was given: `--config` or `$AGENTS_CONFIG`.
        from: &'static str,
    },
    /// The path given is a directory.
    #[error("config path {path} ({from}) is a directory\n  help: pass the file: {}", .path.join("agents.toml").display())]
    IsDir {
        /// The path given, made absolute against the current directory.
        path: PathBuf,
        /// Where it was given: `--config` or `$AGENTS_CONFIG`.
        from: &'static str,
    },
}

/// Finds the config file: `explicit` (from `--config`), else `$AGENTS_CONFIG`, else the
/// nearest `agents.toml` walking up from `cwd`. The result is absolute.
///
/// # Errors
///
/// [`DiscoverError::Missing`] or [`DiscoverError::IsDir`] for a path given that is not a
/// file; [`DiscoverError::NotFound`], listing where it looked, when none was given or found.
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
            } else if p.is_dir() {
                Err(DiscoverError::IsDir { path: p, from })
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

/// The config file this invocation uses (SPEC §1 discovery): [`discover`] with
/// `$AGENTS_CONFIG` and the current directory of this process.
///
/// # Errors
///
/// The current directory cannot be read, or [`discover`] fails.
pub fn find(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let env = std::env::var_os("AGENTS_CONFIG").map(PathBuf::from);
    Ok(discover(explicit, env, &cwd)?)
}

/// Logs a config's warnings (unknown keys, ignored values), one rendered block each.
pub fn log_warnings(cfg: &Config) {
    if cfg.warnings.is_empty() {
        return;
    }
    let text = std::fs::read_to_string(&cfg.path).unwrap_or_default();
    for w in &cfg.warnings {
        let mut s = String::new();
        let _ = diagnostic::render(&mut s, &cfg.path, &text, w);
        tracing::warn!("{}", s.trim_end());
    }
}

/// Adds to `cfg.warnings` the warning for a `[loop.handoff]` repository that `probe`
/// (`crate::git::probe`) finds unusable. Not part of [`load`], which never opens a
/// repository: `doctor`, `status`, `up` and the watchdog (at start and on a reload) call it.
pub fn check_handoff_repo(cfg: &mut Config, probe: impl FnOnce(&Path) -> Result<(), String>) {
    let Some(h) = &cfg.loop_.handoff else {
        return;
    };
    if let Err(e) = probe(&h.repo) {
        let problem = validate::handoff_repo_problem(h, &e);
        cfg.warnings.push(problem);
    }
}

/// What stopped a load: the file could not be read, or it has problems.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    // The I/O error is part of the message, not a `source`: a reporter that prints the
    // chain would say it twice.
    /// The file could not be read.
    #[error("cannot read config file {}: {error}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// Why it could not be read.
        error: std::io::Error,
    },
    /// The file was read and has errors (every problem found, with spans).
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
///
/// # Errors
///
/// [`LoadError::Read`] when the file cannot be read; as [`parse`] otherwise.
pub fn load(path: &Path, env: EnvOverrides) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|error| LoadError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    parse(path, &text, env)
}

/// Validates config `text` as if read from `path` (relative paths resolve against its dir).
///
/// # Errors
///
/// [`LoadError::Invalid`] with every problem found (TOML syntax, types, unknown backends,
/// bad rules, …), each with its span in `text`.
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
    raw::take_type_problems();
    let parsed: Result<raw::RawFile, _> =
        serde_ignored::deserialize(de, |p| unknown.push(p.to_string()));
    let type_problems: Vec<Problem> = raw::take_type_problems()
        .into_iter()
        .map(|(span, msg)| {
            let key = key_at(text, span.start);
            let msg = msg
                .strip_prefix("invalid type: ")
                .unwrap_or(&msg)
                .to_string();
            Problem::new(format!("`{key}` has the wrong type: {msg}"))
                .at(Some(span))
                .help("see the config reference in the README for each key's type")
        })
        .collect();
    let raw = match parsed {
        Ok(raw) => raw,
        Err(e) => {
            let mut all = type_problems;
            all.push(toml_problem(e));
            return Err(invalid(all));
        }
    };
    let lookup = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let env_fn: Option<validate::EnvLookup> = match env {
        EnvOverrides::Apply => Some(&lookup),
        EnvOverrides::Ignore => None,
    };
    let validated = validate::validate(path, &raw, env_fn);
    let mut cfg = match (validated, type_problems.is_empty()) {
        (Ok(cfg), true) => cfg,
        (Ok(_), false) => return Err(invalid(type_problems)),
        (Err(mut problems), _) => {
            // A key of the wrong type reads as absent: do not also call it missing.
            problems.retain(|p| {
                !type_problems.iter().any(|t| {
                    t.span.as_ref().is_some_and(|s| {
                        p.message
                            .contains(&format!("{} is required", key_at(text, s.start)))
                    })
                })
            });
            let mut all = type_problems;
            all.extend(problems);
            all.sort_by_key(|p| p.span.as_ref().map_or(usize::MAX, |s| s.start));
            return Err(invalid(all));
        }
    };
    cfg.warnings
        .extend(unknown.iter().map(|k| unknown_key(text, k)));
    Ok(cfg)
}

/// The key of the `key = value` line holding byte `offset` (best effort, for messages).
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = text[start..offset]
        .trim_end()
        .trim_end_matches('=')
        .trim_end();
    let key = before
        .rsplit(['{', ',', ' ', '\t'])
        .next()
        .unwrap_or(before);
    if key.is_empty() {
        "value".into()
    } else {
        key.trim_matches('"').to_string()
    }
}

/// Keys each table accepts, for "did you mean" on unknown keys.
const ENTRY_KEYS: &[&str] = &[
    "session_prefix",
    "log_dir",
    "project_dir",
    "tmux_socket",
    "log_max_bytes",
    "log_files",
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
    "hooks",
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
    "idle_re",
    "dialog_re",
    "continue_re",
    "resumed_re",
    "choice_re",
    "region",
    "stall_nudge",
    "stop_keys",
    "answers",
    "stop_timeout",
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
    "limit_self_resume_grace",
    "stall_grace",
    "backoff_initial",
    "backoff_max",
    "max_restarts",
    "restart_window",
    "stable_after",
    "min_wake_interval",
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
const NOTIFY_KEYS: &[&str] = &["command", "events", "notify_repeat", "timeout"];
const TOP_KEYS: &[&str] = &[
    "defaults", "watchdog", "backend", "agent", "service", "loop", "notify",
];

/// The segments of a `serde_ignored` path, without the private field that `Spanned` adds.
fn path_parts(path: &str) -> Vec<&str> {
    path.split('.')
        .filter(|p| !p.starts_with("$__serde_spanned"))
        .collect()
}

/// Where the key at `serde_ignored` path `path` (`agent.1.modle`) sits in `text`, and the
/// `name` of the `[[agent]]` / `[[service]]` it belongs to.
fn locate(text: &str, path: &str) -> (Option<std::ops::Range<usize>>, Option<String>) {
    use toml::de::{DeTable, DeValue};
    let Ok(root) = DeTable::parse(text) else {
        return (None, None);
    };
    let name_of = |t: &DeTable| {
        t.iter()
            .find(|(k, _)| k.get_ref() == "name")
            .and_then(|(_, v)| match v.get_ref() {
                DeValue::String(s) => Some(s.to_string()),
                _ => None,
            })
    };
    let parts = path_parts(path);
    let mut table: &DeTable = root.get_ref();
    let mut name = None;
    let mut i = 0;
    while i < parts.len() {
        let Some((key, value)) = table.iter().find(|(k, _)| k.get_ref() == parts[i]) else {
            return (None, name);
        };
        if i + 1 == parts.len() {
            return (Some(key.span()), name);
        }
        match value.get_ref() {
            DeValue::Table(t) => {
                table = t;
                i += 1;
            }
            DeValue::Array(items) => {
                let item = parts[i + 1]
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| items.get(n));
                let Some(DeValue::Table(t)) = item.map(toml::Spanned::get_ref) else {
                    return (None, name);
                };
                name = name_of(t);
                table = t;
                i += 2;
            }
            _ => return (None, name),
        }
    }
    (None, name)
}

/// A warning for an unknown key at `serde_ignored` path `key` (e.g. `agent.0.modle`), with its
/// line and column, naming the agent or service it sits in.
fn unknown_key(text: &str, key: &str) -> Problem {
    let parts = path_parts(key);
    let last = parts.last().copied().unwrap_or(key);
    let (span, name) = locate(text, key);
    let entry = |kind: &str, i: &str| match &name {
        Some(n) => format!("[[{kind}]] {n:?}"),
        None => format!("[[{kind}]] #{}", i.parse::<usize>().map_or(0, |i| i + 1)),
    };
    let (table, keys): (String, &[&str]) = match parts.as_slice() {
        [_] => ("top level".into(), TOP_KEYS),
        ["defaults", ..] => ("[defaults]".into(), ENTRY_KEYS),
        ["agent", i, ..] => (entry("agent", i), ENTRY_KEYS),
        ["service", i, ..] => (entry("service", i), ENTRY_KEYS),
        ["backend", name, ..] => (format!("[backend.{name}]"), BACKEND_KEYS),
        ["watchdog", ..] => ("[watchdog]".into(), WATCHDOG_KEYS),
        ["loop", ..] => ("[loop]".into(), LOOP_KEYS),
        ["notify", ..] => ("[notify]".into(), NOTIFY_KEYS),
        _ => (key.to_string(), &[]),
    };
    let p = Problem::new(format!("{table}: unknown key `{last}` is ignored")).at(span);
    match diagnostic::did_you_mean(last, keys.iter().copied()) {
        Some(s) => p.help(format!("did you mean `{s}`?")),
        None => p,
    }
}

#[cfg(test)]
mod tests {
    /// Pieces a config is made of, to splice into random text.
    const PIECES: &[&str] = &[
        "[defaults]\n",
        "session_prefix = \"p-\"\n",
        "log_dir = \"l\"\n",
        "[[agent]]\n",
        "name = \"a\"\n",
        "backend = \"claude\"\n",
        "[backend.x]\n",
        "bin = \"x\"\n",
        "active_re = \"(\"\n",
        "region = 0\n",
        "[watchdog]\n",
        "max_restarts = -1\n",
        "signal_interval = 1e309\n",
        "stop_keys = [\"\"]\n",
        "[loop]\n",
        "phases = [{ id = \"p\" }]\n",
        "wake = { interval = 5 }\n",
        "kind = 3\n",
        "= \n",
        "[[service]]\n",
        "command = \"true\"\n",
        "\u{0}",
        "\"\"\"",
        "[loop.handoff]\n",
        "[notify]\n",
        "command = [\"x\", \"y\"]\n",
        "events = [\"fatl\"]\n",
        "notify_repeat = -3\n",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// No input makes the loader panic: it returns a config or errors (issue 6).
        #[test]
        fn no_input_makes_the_config_loader_panic(
            picks in proptest::collection::vec(0..PIECES.len(), 0..24),
            noise in "(?s).{0,60}",
        ) {
            let mut text: String = picks.iter().map(|&i| PIECES[i]).collect();
            text.insert_str(text.len() / 2, &noise);
            if let Err(e) = super::parse(
                std::path::Path::new("/tmp/fuzz/agents.toml"),
                &text,
                super::EnvOverrides::Ignore,
            ) {
                let _ = e.to_string();
            }
        }
    }

    fn notify_of(table: &str) -> super::NotifySettings {
        let text =
            format!("[defaults]\nsession_prefix = \"p-\"\nlog_dir = \"l\"\n\n[notify]\n{table}\n");
        super::parse(
            std::path::Path::new("/tmp/n/agents.toml"),
            &text,
            super::EnvOverrides::Ignore,
        )
        .unwrap_or_else(|e| panic!("{e}"))
        .notify
    }

    #[test]
    fn a_notify_command_string_is_split_like_a_shell_and_an_array_is_taken_as_is() {
        use super::NotifyKind;
        let n = notify_of("command = \"notify-send 'agents alert' \\\"$AGENTS_REASON\\\"\"");
        assert_eq!(
            n.command.unwrap(),
            ["notify-send", "agents alert", "$AGENTS_REASON"],
            "no shell: $VAR stays a word"
        );
        assert_eq!(n.events, NotifyKind::ALL, "every kind by default");
        assert_eq!(n.repeat, std::time::Duration::from_secs(600));
        assert_eq!(n.timeout, std::time::Duration::from_secs(10));
        let n = notify_of(
            "command = [\"sh\", \"-c\", \"a | b\"]\nevents = [\"limit\", \"fatal\", \"limit\"]\nnotify_repeat = 0\ntimeout = 2.5",
        );
        assert_eq!(n.command.unwrap(), ["sh", "-c", "a | b"]);
        assert_eq!(n.events, [NotifyKind::Limit, NotifyKind::Fatal]);
        assert_eq!(n.repeat, std::time::Duration::ZERO);
        assert_eq!(n.timeout, std::time::Duration::from_millis(2500));
        assert_eq!(notify_of("").command, None, "no command: nothing is sent");
    }

    #[test]
    fn a_read_error_says_its_reason_once() {
        let e = super::load(
            std::path::Path::new("/nonexistent-dir-xyz/agents.toml"),
            super::EnvOverrides::Ignore,
        )
        .unwrap_err();
        let shown = format!("{:#}", anyhow::Error::from(e));
        assert_eq!(shown.matches("(os error 2)").count(), 1, "{shown}");
    }

    #[test]
    fn the_handoff_repo_is_probed_only_when_asked_and_warned_about_at_its_key() {
        let text = "[defaults]\nsession_prefix = \"p-\"\nlog_dir = \"l\"\n\n\
            [[agent]]\nname = \"builder\"\nbackend = \"claude\"\nloop = true\n\n\
            [[agent]]\nname = \"adversary\"\nbackend = \"claude\"\nloop = true\n\n\
            [loop]\nphases = [{ id = \"p1\", status = \"S.md\" }]\n\n\
            [loop.handoff]\nrepo = \"handoff\"\n";
        let path = std::path::Path::new("/tmp/h/agents.toml");
        let mut cfg =
            super::parse(path, text, super::EnvOverrides::Ignore).unwrap_or_else(|e| panic!("{e}"));
        let before = cfg.warnings.len();
        assert!(
            !cfg.warnings
                .iter()
                .any(|w| w.message.contains("[loop.handoff] repo")),
            "the loader opens no repository: {:?}",
            cfg.warnings
        );
        super::check_handoff_repo(&mut cfg, |_| Ok(()));
        assert_eq!(cfg.warnings.len(), before, "a usable repo: no warning");
        let mut probed = None;
        super::check_handoff_repo(&mut cfg, |p| {
            probed = Some(p.to_path_buf());
            Err("it is not a git repository".into())
        });
        assert_eq!(
            probed.as_deref(),
            Some(std::path::Path::new("/tmp/h/handoff"))
        );
        let w = cfg.warnings.last().unwrap();
        assert_eq!(w.message, "[loop.handoff] repo: it is not a git repository");
        let at = text.find("\"handoff\"").unwrap();
        assert_eq!(w.span, Some(at..at + "\"handoff\"".len()));
        assert!(w.help.as_deref().unwrap().contains("no handoff pings"));
    }
}
