//! The kickoff prompt of an agent (SPEC §4): a loop agent gets the rendered kickoff template
//! (slots `{phase_id}` `{plan}` `{status}` `{status_path}` `{role}`) followed by
//! `<roles_dir>/<role>.md`; any other agent gets its `prompt_file` or `prompt`.
//!
//! `{status}` is the phase's `status` value as written in the config; `{status_path}` is the
//! file the watchdog itself reads for the DONE verdict (`crate::phase::status_path`),
//! relative to the agent's `dir` when it lies below it, else absolute.

use std::path::{Component, Path, PathBuf};

use super::LaunchError;
use crate::config::{Agent, Config, Kind, Phase, PromptSource};

/// Replaces each `{key}` in `text` with its value; other braces are left alone.
pub fn render(text: &str, fields: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (k, v) in fields {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// The text of `path`, `what` of `agent` (`prompt_file`, …).
///
/// # Errors
///
/// [`LaunchError::Prompt`] (naming the agent and the file) when it cannot be read.
fn read(path: &Path, what: &'static str, agent: &Agent) -> Result<String, LaunchError> {
    std::fs::read_to_string(path).map_err(|source| LaunchError::Prompt {
        agent: agent.name.clone(),
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// The kickoff text for `agent` in `phase` (the current phase, for loop agents).
///
/// # Errors
///
/// [`LaunchError::Prompt`] (naming the agent and the file) when its `prompt_file`, the
/// `kickoff_template` or its role prompt cannot be read.
pub fn kickoff(cfg: &Config, agent: &Agent, phase: Option<&Phase>) -> Result<String, LaunchError> {
    if agent.kind == Kind::Loop {
        let role = agent.role.as_deref().unwrap_or_default();
        let status_path = phase.map_or(String::new(), |p| {
            shown_path(&crate::phase::status_path(cfg, p), &agent.dir)
        });
        let fields = [
            ("status_path", status_path.as_str()),
            ("phase_id", phase.map_or("", |p| p.id.as_str())),
            ("plan", phase.map_or("", |p| p.plan.as_str())),
            ("status", phase.map_or("", |p| p.status.as_str())),
            ("role", role),
        ];
        let preamble = match &cfg.loop_.kickoff_template {
            Some(t) => render(&read(t, "kickoff_template", agent)?, &fields),
            None => String::new(),
        };
        let role_prompt = read(
            &cfg.loop_.roles_dir.join(format!("{role}.md")),
            "role prompt",
            agent,
        )?;
        return Ok(preamble + &role_prompt);
    }
    match &agent.prompt {
        Some(PromptSource::File(p)) => read(p, "prompt_file", agent),
        Some(PromptSource::Text(t)) => Ok(t.clone()),
        None => Ok(String::new()),
    }
}

/// `path` for an agent working in `dir`: relative to `dir` when it lies below it (after
/// resolving `.` and `..` lexically), else absolute.
pub fn shown_path(path: &Path, dir: &Path) -> String {
    let path = lexical(path);
    match path.strip_prefix(lexical(dir)) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// `p` with `.` dropped and `dir/..` folded, without asking the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// The model an agent runs in `phase` (the current one): the phase's `models[role]`
/// override for any agent with a role, as agents.py's `role_model`, else its own.
pub fn model(agent: &Agent, phase: Option<&Phase>) -> Option<String> {
    agent
        .role
        .as_ref()
        .and_then(|r| phase.and_then(|p| p.models.get(r)))
        .cloned()
        .or_else(|| agent.model.clone())
}

#[cfg(test)]
mod tests {
    #[test]
    fn render_fills_known_slots_only() {
        assert_eq!(
            super::render(
                "p {phase_id} {x} {role}",
                &[("phase_id", "p1"), ("role", "builder")]
            ),
            "p p1 {x} builder"
        );
    }

    #[test]
    fn shown_path_is_relative_below_the_dir_else_absolute() {
        use std::path::Path;
        let d = Path::new("/w/proj");
        assert_eq!(
            super::shown_path(Path::new("/w/proj/docs/S.md"), d),
            "docs/S.md"
        );
        assert_eq!(
            super::shown_path(Path::new("/w/proj/./a/../S.md"), d),
            "S.md"
        );
        assert_eq!(
            super::shown_path(Path::new("/w/other/S.md"), d),
            "/w/other/S.md"
        );
        assert_eq!(
            super::shown_path(Path::new("/w/proj/../x/S.md"), d),
            "/w/x/S.md"
        );
    }
}
