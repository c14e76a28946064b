//! `agents presets [NAME]` — the built-in backend presets (`src/presets/*.toml`). Without a
//! name: one line per preset (name and description). With a name: its TOML text as shipped,
//! ready to paste under `[backend.NAME]` and change. An unknown name is an error that lists
//! the presets.

use std::io::Write as _;
use std::process::ExitCode;

use crate::config::presets;

/// Runs the verb: the list of presets, or preset `name`'s TOML.
///
/// # Errors
///
/// An unknown name (exit 1, the presets listed); writing to stdout fails.
pub(crate) fn run(name: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match name {
        None => out.write_all(listing().as_bytes())?,
        Some(n) => {
            let text = presets::text(n).ok_or_else(|| super::unknown_preset(n))?;
            out.write_all(text.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The listing: `NAME  description` per preset, then how to see one.
pub(crate) fn listing() -> String {
    let names = presets::names();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut s = String::new();
    for n in &names {
        let d = presets::description(n).unwrap_or("");
        s.push_str(&format!("{n:width$}  {d}\n"));
    }
    s.push_str(
        "\n`agents presets NAME` prints one; `backend = \"NAME\"` uses it as is, and a \
         [backend.NAME] table in agents.toml overrides it key by key.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn listing_names_every_preset_with_its_description() {
        let l = super::listing();
        for n in crate::config::presets::names() {
            let line = l.lines().find(|x| x.starts_with(n)).expect(n);
            assert!(line.len() > n.len() + 10, "no description: {line}");
        }
    }

    #[test]
    fn an_unknown_name_lists_the_presets() {
        let e = super::run(Some("claud")).unwrap_err().to_string();
        assert!(e.contains("unknown preset \"claud\""), "{e}");
        assert!(e.contains("did you mean \"claude\""), "{e}");
        assert!(e.contains("codex") && e.contains("aider"), "{e}");
    }
}
