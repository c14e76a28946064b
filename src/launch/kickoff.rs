//! The kickoff prompt of an agent (SPEC §4): a loop agent gets the rendered kickoff template
//! (slots `{phase_id}` `{plan}` `{status}` `{role}`) followed by `<roles_dir>/<role>.md`;
//! any other agent gets its `prompt_file` or `prompt`.

use std::path::Path;

use crate::config::{Agent, Config, Kind, Phase, PromptSource};

/// Replaces each `{key}` in `text` with its value; other braces are left alone.
pub fn render(text: &str, fields: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (k, v) in fields {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

fn read(path: &Path, what: &str, agent: &Agent) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| {
        format!(
            "agent {:?}: cannot read its {what} {}: {e}",
            agent.name,
            path.display()
        )
    })
}

/// The kickoff text for `agent` in `phase` (the current phase, for loop agents).
/// Errors name the agent and the missing file.
pub fn kickoff(cfg: &Config, agent: &Agent, phase: Option<&Phase>) -> Result<String, String> {
    if agent.kind == Kind::Loop {
        let role = agent.role.as_deref().unwrap_or_default();
        let fields = [
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
}
