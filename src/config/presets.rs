//! Built-in backend presets: one TOML file per agent CLI in `src/presets/`, with the keys of a
//! `[backend.NAME]` table, built into the binary. `backend = "claude"` works with no table; a
//! `[backend.claude]` table in `agents.toml` overrides the preset key by key.

use super::raw::{RawBackend, take_type_problems};
use super::{Backend, EnvOverrides};

/// `(name, TOML text)` of every preset, in the order `agents presets` lists them.
pub const PRESETS: &[(&str, &str)] = &[
    ("claude", include_str!("../presets/claude.toml")),
    ("codex", include_str!("../presets/codex.toml")),
    ("gemini", include_str!("../presets/gemini.toml")),
    ("opencode", include_str!("../presets/opencode.toml")),
    ("aider", include_str!("../presets/aider.toml")),
    ("demo", include_str!("../presets/demo.toml")),
];

/// The names of the built-in presets.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// The TOML text of preset `name`, as shipped.
pub fn text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Preset `name` as a raw backend table. `None` for an unknown name. The shipped files are
/// checked by the tests (they parse, with no unknown key and no wrong type).
pub fn raw(name: &str) -> Option<RawBackend> {
    let text = text(name)?;
    let parsed = toml::from_str::<RawBackend>(text).ok();
    // A wrong type in a preset would be recorded for the user's file: drop it here.
    take_type_problems();
    parsed
}

/// Preset `name` as the typed backend that `backend = "NAME"` with no table gives (every
/// default filled in). `None` for an unknown name.
pub fn backend(name: &str) -> Option<Backend> {
    text(name)?;
    let toml = format!(
        "[defaults]\nsession_prefix = \"preset-\"\nlog_dir = \"/tmp/agents-presets\"\nbackend = {name:?}\n"
    );
    super::parse(
        std::path::Path::new("/presets/agents.toml"),
        &toml,
        EnvOverrides::Ignore,
    )
    .ok()?
    .backends
    .remove(name)
}

/// The one-line description of preset `name`: its first comment line, without the `# `.
pub fn description(name: &str) -> Option<&'static str> {
    let text = text(name)?;
    Some(
        text.lines()
            .find_map(|l| l.strip_prefix('#'))
            .map_or("", str::trim),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_with_known_keys_and_right_types() {
        for (name, text) in PRESETS {
            take_type_problems();
            let mut unknown = Vec::new();
            let de = toml::Deserializer::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let raw: RawBackend = serde_ignored::deserialize(de, |p| unknown.push(p.to_string()))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                unknown.is_empty(),
                "preset {name}: unknown keys {unknown:?}"
            );
            assert!(
                take_type_problems().is_empty(),
                "preset {name}: a value has the wrong type"
            );
            assert!(raw.bin.is_some(), "preset {name} has no bin");
        }
    }

    #[test]
    fn every_preset_builds_a_backend_and_has_a_description() {
        for name in names() {
            let b = backend(name).unwrap_or_else(|| panic!("preset {name} does not load"));
            assert_eq!(b.name, name);
            assert!(!description(name).unwrap().is_empty(), "{name}");
        }
        assert!(backend("nope").is_none());
        assert!(description("nope").is_none());
    }
}
