//! `agents init [dir] [--backend NAME]` — write a starter `agents.toml` that uses a built-in
//! preset (`backend = "NAME"`, no `[backend.NAME]` table; default `claude`) and `prompts/`
//! (builder, adversary, kickoff), and `agents.schema.json` (the JSON Schema of `agents
//! schema`) beside the config, which its first line `#:schema ./agents.schema.json` names for
//! taplo / Even Better TOML (there is no hosted schema URL). Refuses to overwrite: if any of
//! these exists, nothing is written. Then adds `log_dir` to `.gitignore` in the same
//! directory (created if missing; a line that already ignores it is left alone). An unknown
//! preset is an error that lists the presets.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

/// The starter config; `{project}` becomes the directory name.
pub const AGENTS_TOML: &str = include_str!("../templates/agents.toml");

/// The starter config's `log_dir`, added to `.gitignore`.
pub const LOG_DIR: &str = ".agents";

/// The schema file beside `agents.toml`, named by its `#:schema` line.
pub const SCHEMA_FILE: &str = "agents.schema.json";

/// `prompts/*` written next to it.
pub const PROMPTS: &[(&str, &str)] = &[
    ("kickoff.md", include_str!("../../prompts/kickoff.md")),
    ("builder.md", include_str!("../../prompts/builder.md")),
    ("adversary.md", include_str!("../../prompts/adversary.md")),
];

/// The `model` line of the starter config for preset `backend`.
fn model_line(backend: &str) -> &'static str {
    match backend {
        "claude" => "model = \"claude-sonnet-4-6\"",
        "demo" => "model = \"demo-small\"",
        _ => "# model = \"...\"                # unset: the CLI's own default model",
    }
}

/// What the preset's permission flag does, as comment lines for the starter config (empty
/// for a preset that has none).
fn permissions_comment(backend: &str) -> &'static str {
    match backend {
        "claude" => concat!(
            "# The claude preset starts `claude --dangerously-skip-permissions`: Claude Code runs\n",
            "# shell commands and edits files without asking first. That is why an agent works\n",
            "# unattended (no permission prompt waits for a person: the watchdog could only report\n",
            "# it as a `dialog`), and why it should run where it may change anything: a checkout you\n",
            "# can reset, a container or a VM. To be asked instead, set `flags = \"\"` in the\n",
            "# `[backend.claude]` table below.\n",
        ),
        "codex" => concat!(
            "# The codex preset starts `codex --dangerously-bypass-approvals-and-sandbox`: Codex runs\n",
            "# commands without approval and outside its sandbox. That is why an agent works\n",
            "# unattended, and why it should run where it may change anything (a checkout you can\n",
            "# reset, a container or a VM). To be asked instead, override `flags` (below).\n",
        ),
        "gemini" => concat!(
            "# The gemini preset starts `gemini --approval-mode yolo`: every tool call is approved\n",
            "# without asking. That is why an agent works unattended, and why it should run where it\n",
            "# may change anything (a checkout you can reset, a container or a VM).\n",
        ),
        "aider" => concat!(
            "# The aider preset starts `aider --yes-always`: aider's own yes/no questions (add a file,\n",
            "# run a command) are answered yes, which is why an agent works unattended.\n",
        ),
        _ => "",
    }
}

/// The starter config for a project directory named `project`, using preset `backend`
/// (`None` for an unknown preset).
pub fn starter_config(project: &str, backend: &str) -> Option<String> {
    let description = crate::config::presets::description(backend)?;
    let clean: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Some(
        AGENTS_TOML
            .replace("{model}", model_line(backend))
            .replace("{description}", description)
            .replace("{permissions}\n", permissions_comment(backend))
            .replace("{backend}", backend)
            .replace("{project}", if clean.is_empty() { "proj" } else { &clean }),
    )
}

/// Writes the starter files into `dir` (relative to here; default here) for preset `backend`.
///
/// # Errors
///
/// An unknown preset, the current directory or `dir` cannot be read or created, a file
/// cannot be written.
pub fn run(dir: Option<&Path>, backend: &str) -> anyhow::Result<ExitCode> {
    if crate::config::presets::text(backend).is_none() {
        return Err(super::unknown_preset(backend));
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    // `components()` drops the `.` of `agents init .`: messages name `/p/agents.toml`.
    let target: std::path::PathBuf = dir
        .map_or(cwd.clone(), |d| cwd.join(d))
        .components()
        .collect();
    let cfg = target.join("agents.toml");
    let prompts = target.join("prompts");
    let mut files = vec![
        (cfg.clone(), String::new()),
        (target.join(SCHEMA_FILE), super::schema::text()),
    ];
    files.extend(
        PROMPTS
            .iter()
            .map(|(n, t)| (prompts.join(n), t.to_string())),
    );
    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        anyhow::bail!(
            "refusing to overwrite {}\n  help: move {} away, or run `agents init` in another directory",
            existing.join(", "),
            if existing.len() == 1 { "it" } else { "them" }
        );
    }
    std::fs::create_dir_all(&prompts)
        .with_context(|| format!("cannot create {}", prompts.display()))?;
    let name = target
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    files[0].1 = starter_config(&name, backend).ok_or_else(|| super::unknown_preset(backend))?;
    for (path, text) in &files {
        create_new(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let ignore = target.join(".gitignore");
    if add_to_gitignore(&ignore)? {
        tracing::info!("added /{LOG_DIR}/ (log_dir) to {}", ignore.display());
    }
    tracing::info!(
        "wrote {} (backend {backend}: `agents presets {backend}` shows its rules) and {}/ — edit them, then run `agents up`",
        cfg.display(),
        prompts.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Whether a `.gitignore` line already ignores the top-level `LOG_DIR`.
fn ignores_log_dir(line: &str) -> bool {
    let l = line.trim();
    let l = l.strip_prefix('/').unwrap_or(l);
    let l = l.strip_suffix('/').unwrap_or(l);
    l == LOG_DIR
}

/// Writes a new file at `path` as editors and `touch` do: mode 0666 less the umask (0644
/// under umask 022), never replacing an existing file (`AlreadyExists`).
fn create_new(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

/// Appends `/LOG_DIR/` to the `.gitignore` at `path` (created if missing, as
/// [`create_new`] creates) unless a line already ignores it. The file is appended to in
/// place: an existing one keeps its mode and owner, and a symbolic link keeps pointing at
/// its target, which gets the line. Returns whether it wrote. Errors: the file cannot be
/// read or written.
fn add_to_gitignore(path: &Path) -> anyhow::Result<bool> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if old.lines().any(ignores_log_dir) {
        return Ok(false);
    }
    let mut add = String::new();
    if !old.is_empty() && !old.ends_with('\n') {
        add.push('\n');
    }
    add.push_str(&format!(
        "# agents: session logs, events.jsonl and state (log_dir of agents.toml)\n/{LOG_DIR}/\n"
    ));
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(add.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_template_uses_the_log_dir_that_init_ignores() {
        let text = super::starter_config("p", "claude").unwrap();
        assert!(
            text.contains(&format!("log_dir = \"{}\"", super::LOG_DIR)),
            "{text}"
        );
        assert!(text.starts_with(&format!("#:schema ./{}\n", super::SCHEMA_FILE)));
        assert!(text.contains("--dangerously-skip-permissions"), "{text}");
        assert!(!text.contains("{permissions}"));
        let demo = super::starter_config("p", "demo").unwrap();
        assert!(!demo.contains("{permissions}") && !demo.contains("dangerously"));
    }

    #[test]
    fn gitignore_lines_that_already_ignore_the_log_dir() {
        for l in [".agents", ".agents/", "/.agents/", "  /.agents  "] {
            assert!(super::ignores_log_dir(l), "{l}");
        }
        for l in [".agents-old", "# .agents", "x/.agents"] {
            assert!(!super::ignores_log_dir(l), "{l}");
        }
    }

    #[test]
    fn starter_config_loads_cleanly_for_every_preset() {
        for backend in crate::config::presets::names() {
            let text = super::starter_config("my proj", backend).unwrap();
            let cfg = crate::config::parse(
                std::path::Path::new("/tmp/x/agents.toml"),
                &text,
                crate::config::EnvOverrides::Ignore,
            )
            .unwrap_or_else(|e| panic!("{backend}: {e}"));
            assert_eq!(cfg.session_prefix, "my-proj-");
            assert!(cfg.warnings.is_empty(), "{backend}: {:?}", cfg.warnings);
            assert_eq!(cfg.agents.len(), 1);
            assert_eq!(cfg.agents[0].backend, backend);
            // The preset itself, with no [backend.NAME] table in the file.
            assert!(
                !text.contains(&format!("\n[backend.{backend}]")),
                "{backend}"
            );
            assert!(
                text.contains(&format!("agents presets {backend}")),
                "{backend}"
            );
            let b = &cfg.backends[backend];
            let preset = crate::config::presets::backend(backend).unwrap();
            assert_eq!(b.bin, preset.bin, "{backend}");
            assert_eq!(
                b.limit_re.as_ref().map(|p| p.regex().as_str().to_string()),
                preset
                    .limit_re
                    .as_ref()
                    .map(|p| p.regex().as_str().to_string())
            );
        }
    }

    #[test]
    fn an_unknown_preset_is_refused_before_anything_is_written() {
        assert!(super::starter_config("p", "nope").is_none());
        let dir = tempfile::tempdir().unwrap();
        let e = super::run(Some(dir.path()), "claud")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown preset") && e.contains("claude, codex"),
            "{e}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
