//! `agents init [dir] [--backend NAME]` — write a starter `agents.toml` that uses a built-in
//! preset (`backend = "NAME"`, no `[backend.NAME]` table; default `claude`) and `prompts/`
//! (builder, adversary, kickoff). Refuses to overwrite: if any target exists, nothing is
//! written. An unknown preset is an error that lists the presets.

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

/// The `model` line of the starter config for preset `backend`.
fn model_line(backend: &str) -> &'static str {
    match backend {
        "claude" => "model = \"claude-sonnet-4-6\"",
        "demo" => "model = \"demo-small\"",
        _ => "# model = \"...\"                # unset: the CLI's own default model",
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
            .replace("{backend}", backend)
            .replace("{project}", if clean.is_empty() { "proj" } else { &clean }),
    )
}

/// Writes the starter files into `dir` (relative to here; default here) for preset `backend`.
pub fn run(dir: Option<&Path>, backend: &str) -> anyhow::Result<ExitCode> {
    if crate::config::presets::text(backend).is_none() {
        return Err(super::unknown_preset(backend));
    }
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
    files[0].1 = starter_config(&name, backend).ok_or_else(|| super::unknown_preset(backend))?;
    for (path, text) in &files {
        crate::state::atomic::write(path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    tracing::info!(
        "wrote {} (backend {backend}: `agents presets {backend}` shows its rules) and {}/ — edit them, then run `agents up`",
        cfg.display(),
        prompts.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
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
