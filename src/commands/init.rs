//! `agents init [dir]` — write a starter `agents.toml` and `prompts/` (builder, adversary,
//! kickoff). Refuses to overwrite: if any target exists, nothing is written.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

/// The starter config; `{project}` becomes the directory name.
pub const AGENTS_TOML: &str = include_str!("../templates/agents.toml");

/// `prompts/*` written next to it.
pub const PROMPTS: &[(&str, &str)] = &[
    ("kickoff.md", include_str!("../../prompts/kickoff.md")),
    ("builder.md", include_str!("../../prompts/builder.md")),
    ("adversary.md", include_str!("../../prompts/adversary.md")),
];

/// The starter config for a project directory named `project`.
pub fn starter_config(project: &str) -> String {
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
    AGENTS_TOML.replace("{project}", if clean.is_empty() { "proj" } else { &clean })
}

pub fn run(dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let target = dir.map_or(cwd.clone(), |d| cwd.join(d));
    let cfg = target.join("agents.toml");
    let prompts = target.join("prompts");
    let mut files = vec![(cfg.clone(), String::new())];
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
    files[0].1 = starter_config(&name);
    for (path, text) in &files {
        crate::state::atomic::write(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    tracing::info!(
        "wrote {} and {}/ — edit them, then run `agents up`",
        cfg.display(),
        prompts.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn starter_config_loads_cleanly() {
        let text = super::starter_config("my proj");
        let cfg = crate::config::parse(
            std::path::Path::new("/tmp/x/agents.toml"),
            &text,
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.session_prefix, "my-proj-");
        assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
        assert_eq!(cfg.agents.len(), 1);
    }
}
