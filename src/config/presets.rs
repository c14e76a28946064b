//! Built-in backend presets: one TOML file per agent CLI in `src/presets/`, with the keys of a
//! `[backend.NAME]` table, built into the binary. `backend = "claude"` works with no table; a
//! `[backend.claude]` table in `agents.toml` overrides the preset key by key.

use super::diagnostic::{ConfigError, Problem};
use super::raw::{RawBackend, take_type_problems};
use super::{Backend, validate};

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

/// A built-in preset that does not load: a defect of this build (a shipped file in
/// `src/presets/` with a broken rule or a wrong value). `Display` names the preset, and for each
/// problem the file `src/presets/NAME.toml`, line, column, key and error (a regex's own
/// message), with the source line.
#[derive(Debug, Clone)]
pub struct BrokenPreset {
    /// The preset's name (`gemini`).
    pub name: String,
    /// The problems, rendered against the preset's own text.
    pub error: ConfigError,
}

impl std::fmt::Display for BrokenPreset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the built-in preset {:?} does not load (a defect of this build of agents; please report it): {}",
            self.name,
            self.error.to_string().trim_end()
        )
    }
}

impl std::error::Error for BrokenPreset {}

/// Preset `name` as the typed backend that `backend = "NAME"` with no table gives (every
/// default filled in): `Ok(None)` for an unknown name, [`BrokenPreset`] when the shipped text
/// does not load.
///
/// # Errors
///
/// [`BrokenPreset`] when the shipped text of preset `name` does not load (a defect of this build).
pub fn load(name: &str) -> Result<Option<Backend>, BrokenPreset> {
    text(name).map(|t| load_text(name, t)).transpose()
}

/// Builds preset `name` from its TOML `text` (the keys of a `[backend.NAME]` table) the way a
/// config builds a `[backend.NAME]` table; every problem is reported against `text` as the
/// file `src/presets/NAME.toml`.
///
/// # Errors
///
/// [`BrokenPreset`] with every problem when `text` does not parse or build.
pub fn load_text(name: &str, text: &str) -> Result<Backend, BrokenPreset> {
    let broken = |problems: Vec<Problem>| BrokenPreset {
        name: name.to_string(),
        error: ConfigError {
            path: format!("src/presets/{name}.toml").into(),
            source_text: text.to_string(),
            problems,
        },
    };
    take_type_problems();
    let parsed = toml::from_str::<RawBackend>(text);
    let mut problems: Vec<Problem> = take_type_problems()
        .into_iter()
        .map(|(span, msg)| {
            Problem::new(format!("a value has the wrong type: {msg}")).at(Some(span))
        })
        .collect();
    let raw = match parsed {
        Ok(raw) => raw,
        Err(e) => {
            problems.push(Problem::new(format!("TOML: {}", e.message().trim_end())).at(e.span()));
            return Err(broken(problems));
        }
    };
    match validate::backend_alone(name, &raw) {
        Ok(b) if problems.is_empty() => Ok(b),
        Ok(_) => Err(broken(problems)),
        Err(mut more) => {
            problems.append(&mut more);
            Err(broken(problems))
        }
    }
}

/// Preset `name` as [`load`] gives it; `None` for an unknown name and for a broken preset
/// (callers that report the failure use [`load`]).
pub fn backend(name: &str) -> Option<Backend> {
    load(name).ok().flatten()
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
    use crate::config::EnvOverrides;

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
            let b = load(name)
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("preset {name} is unknown"));
            assert_eq!(b.name, name);
            let d = description(name).unwrap();
            assert!(
                d.ends_with('.') && d.len() <= 90,
                "{name}: the first comment line must be a whole one-line description: {d:?}"
            );
        }
        assert!(backend("nope").is_none());
        assert!(description("nope").is_none());
    }

    /// Every rule of a preset, by key.
    fn rules(b: &Backend) -> Vec<(&'static str, &crate::config::Pattern)> {
        [
            ("active_re", &b.active_re),
            ("idle_re", &b.idle_re),
            ("limit_re", &b.limit_re),
            ("fatal_re", &b.fatal_re),
            ("dialog_re", &b.dialog_re),
            ("continue_re", &b.continue_re),
            ("resumed_re", &b.resumed_re),
            ("choice_re", &b.choice_re),
            ("ready_re", &b.ready_re),
        ]
        .into_iter()
        .filter_map(|(k, p)| Some((k, p.as_ref()?)))
        .collect()
    }

    #[test]
    fn every_shipped_rule_passes_the_syntax_check_and_compiles() {
        // A config takes a preset's own rules unchecked (`Pattern::shipped`): this is their check.
        let mut checked = 0;
        for name in names() {
            let b = backend(name).unwrap();
            for (key, p) in rules(&b) {
                if let Err(e) = crate::config::Pattern::new(p.source()) {
                    panic!("preset {name}: {key} is not a valid regex: {e}");
                }
                if let Err(e) = crate::config::pattern::compile(p.source()) {
                    panic!("preset {name}: {key} does not compile: {e}");
                }
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} rules checked");
    }

    #[test]
    fn an_override_of_a_shipped_rule_is_checked_and_wins() {
        let parse = |table: &str| {
            let text = format!(
                "[defaults]\nsession_prefix = \"p-\"\nlog_dir = \"l\"\n\n{table}\n[[agent]]\nname = \"a\"\nbackend = \"demo\"\nprompt = \"hi\"\n"
            );
            crate::config::parse(
                std::path::Path::new("/x/agents.toml"),
                &text,
                EnvOverrides::Ignore,
            )
        };
        let cfg = parse("[backend.demo]\nfatal_re = 'BOOM: [0-9]+'\n").unwrap();
        let b = &cfg.backends["demo"];
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00-05:00").unwrap();
        let tz = detect::Tz::UTC;
        assert_eq!(
            detect::classify(b, "BOOM: 42\n", at, tz).state,
            State::Fatal
        );
        assert_ne!(
            detect::classify(b, "FATAL: session state corrupted\n", at, tz).state,
            State::Fatal,
            "the shipped fatal_re was replaced"
        );
        // The same text as the shipped rule is the shipped rule; another text is checked.
        let shipped = backend("demo").unwrap().limit_re.unwrap();
        let same = format!("[backend.demo]\nlimit_re = {:?}\n", shipped.source());
        assert!(parse(&same).is_ok());
        let err = parse("[backend.demo]\nlimit_re = 'hit (your'\n").unwrap_err();
        assert!(
            err.to_string().contains("limit_re is not a valid regex"),
            "{err}"
        );
    }

    #[test]
    fn a_broken_preset_reports_the_preset_the_key_and_the_regex_error() {
        let shipped = text("gemini").unwrap();
        let line = shipped
            .lines()
            .position(|l| l.starts_with("idle_re = "))
            .expect("gemini has an idle_re")
            + 1;
        let broken: String = shipped
            .lines()
            .map(|l| {
                if l.starts_with("idle_re = ") {
                    "idle_re = '(unclosed'".to_string()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let e = load_text("gemini", &broken).unwrap_err().to_string();
        assert!(
            e.contains("built-in preset \"gemini\" does not load"),
            "{e}"
        );
        assert!(
            e.contains(&format!(
                "src/presets/gemini.toml:{line}:11: [backend.gemini]: idle_re is not a valid regex"
            )),
            "{e}"
        );
        assert!(e.contains("unclosed group"), "{e}");
        assert!(e.contains("idle_re = '(unclosed'"), "the source line: {e}");
        assert!(!e.contains("unknown preset"), "{e}");
        // A wrong type and a TOML error are reported the same way.
        let typed = format!("{shipped}\nfooter_ui = \"yes\"\n");
        let e = load_text("gemini", &typed).unwrap_err().to_string();
        assert!(
            e.contains("src/presets/gemini.toml:") && e.contains("wrong type"),
            "{e}"
        );
        let e = load_text("gemini", "bin = 'gemini\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("src/presets/gemini.toml:1:") && e.contains("TOML"),
            "{e}"
        );
        // The shipped text loads, and an unknown name is no error.
        assert!(load_text("gemini", shipped).is_ok());
        assert!(load("nope").unwrap().is_none());
    }

    use crate::detect::{self, State, fixtures};

    fn read(preset: &str, pane: &str) -> crate::detect::Reading {
        let b = backend(preset).unwrap();
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00-05:00").unwrap();
        detect::classify(
            &b,
            pane,
            at,
            "America/New_York".parse::<detect::Tz>().unwrap(),
        )
    }

    /// Wraps every line longer than `width` at word boundaries, the way Claude Code's and
    /// Codex's own renderers do, with the continuation indented.
    fn word_wrap(text: &str, width: usize) -> String {
        let mut out = Vec::new();
        for line in text.lines() {
            if line.chars().count() <= width {
                out.push(line.to_string());
                continue;
            }
            let mut cur = String::new();
            for w in line.split(' ') {
                if !cur.trim().is_empty() && cur.chars().count() + 1 + w.chars().count() > width {
                    out.push(std::mem::take(&mut cur));
                    cur.push_str("  ");
                }
                if !cur.is_empty() && !cur.ends_with("  ") {
                    cur.push(' ');
                }
                cur.push_str(w);
            }
            out.push(cur);
        }
        out.join("\n")
    }

    #[test]
    fn banners_and_fatal_lines_wrapped_at_80_columns_read_the_same() {
        let expects = fixtures::expectations().unwrap();
        let mut checked = 0;
        for e in expects.iter().filter(|e| e.skip.is_none()) {
            if !["limited", "fatal", "dialog"].contains(&e.state.as_str()) {
                continue;
            }
            let b = backend(&e.backend).unwrap();
            if b.footer_ui {
                continue;
            }
            let text = fixtures::pane(&e.file).unwrap();
            let at = chrono::DateTime::parse_from_rfc3339(&e.captured).unwrap();
            let tz: detect::Tz = e.tz.parse().unwrap();
            let whole = detect::classify(&b, text, at, tz);
            let wrapped = detect::classify(&b, &word_wrap(text, 80), at, tz);
            assert_eq!(wrapped.state, whole.state, "{} wrapped at 80", e.file);
            assert_eq!(
                wrapped.reset.map(|r| r.at),
                whole.reset.map(|r| r.at),
                "{} wrapped at 80",
                e.file
            );
            checked += 1;
        }
        assert!(checked > 25, "only {checked} screens checked");
        // A fatal line wrapped mid-sentence by Claude Code's renderer.
        let pane = "● API Error: 400 duplicate tool_use ID in conversation history. Run /rewind to\n  recover the conversation.\n\n✻ Brewed for 0s\n";
        assert_eq!(read("claude", pane).state, State::Fatal);
    }

    #[test]
    fn claude_lookalikes_are_not_limits_and_typed_text_does_not_hide_one() {
        let rule = "─".repeat(40);
        let warning = format!(
            "❯ go on\n\n● Done.\n\n{rule}\n❯ \n{rule}\n  You've used 93% of your session limit · resets 10pm (America/New_York)\n"
        );
        assert_ne!(read("claude", &warning).state, State::Limited);
        let fallback = "Claude Opus 4 limit reached, now using Sonnet 4\n\n● Reading the file\n";
        assert_ne!(read("claude", fallback).state, State::Limited);
        // A resume message typed into the input box (not yet sent) under a live banner.
        let typed = format!(
            "❯ hello\n  ⎿  You've hit your session limit · resets 10pm (America/New_York)\n\n{rule}\n❯ continue where you left off\n{rule}\n  ? for shortcuts\n"
        );
        assert_eq!(read("claude", &typed).state, State::Limited);
        // The same message sent: the banner above is stale.
        let sent = format!(
            "❯ hello\n  ⎿  You've hit your session limit · resets 10pm (America/New_York)\n\n❯ continue where you left off\n\n● Continuing.\n\n{rule}\n❯ \n{rule}\n  ? for shortcuts\n"
        );
        assert_eq!(read("claude", &sent).state, State::Idle);
    }

    #[test]
    fn codex_stale_banners_and_the_composer() {
        let banner = "■ You've hit your usage limit. Try again at 11:15 PM.";
        let typed = format!(
            "› continue\n\n{banner}\n\n\n› continue now please\n\n  gpt-5-codex default · ~/work\n"
        );
        assert_eq!(read("codex", &typed).state, State::Limited, "composer text");
        let done = format!(
            "› continue\n\n{banner}\n\n› continue\n\n• Done.\n\n─ Worked for 12s • 23:20 ─\n\n› Ask Codex to do anything\n"
        );
        assert_eq!(
            read("codex", &done).state,
            State::Idle,
            "a later finished turn"
        );
    }

    #[test]
    fn claude_says_its_limit_reset_only_on_its_own_line() {
        let banner = "❯ go on\n  ⎿  You've hit your 5-hour limit · resets 3:13pm (UTC)\n\n● Usage limit reached · set to continue automatically at 3:13pm\n\n";
        let own = format!("{banner}● Usage limit reset · Continuing automatically\n\n● Done.\n");
        let r = read("claude", &own);
        assert_eq!((r.state, r.rule), (State::Idle, "resumed_re"), "{r:?}");
        // A reply quoting the line (its lines indented by two, or the words mid-line) is prose.
        for quote in [
            "● The CLI then prints:\n  ● Usage limit reset · Continuing automatically\n",
            "● It says \"● Usage limit reset · Continuing automatically\" when it resumes.\n",
        ] {
            let r = read("claude", &format!("{banner}{quote}"));
            assert_eq!(r.state, State::Limited, "{quote}");
        }
    }

    #[test]
    fn codex_refusals_drawn_while_a_turn_runs_are_work() {
        // Codex 0.169.0 draws these "■" lines mid-turn (codex_0.169.0_active_streaming_clear_refused).
        for refusal in [
            "■ '/clear' is disabled while a task is in progress.",
            "■ '/model' is disabled while a task is in progress.",
            "■ Ctrl+L is disabled while a task is in progress.",
            "■ Cannot switch collaboration mode while a turn is running.",
            "■ Steer messages aren't supported during /review. Press Ctrl+C now to cancel the review.",
        ] {
            let streaming = format!(
                "› go\n\n• First paragraph.\n  Second paragraph.\n{refusal}\n  Third paragraph still\n\n› Ask Codex to do anything\n"
            );
            assert_eq!(read("codex", &streaming).state, State::Active, "{refusal}");
            let ended =
                format!("{streaming}\n  Worked for 9s • 18:40\n\n› Ask Codex to do anything\n");
            assert_eq!(
                read("codex", &ended).state,
                State::Idle,
                "{refusal} then the turn ended"
            );
            let error =
                format!("{streaming}\n■ stream disconnected before completion: idle timeout\n");
            assert_eq!(
                read("codex", &error).state,
                State::Idle,
                "{refusal} then an error ended the turn"
            );
        }
    }

    #[test]
    fn aider_typed_text_is_not_work_and_streaming_is() {
        let head = "Aider v0.86.2\nMain model: openai/gpt-4o with diff edit format\n";
        let typed = format!("{head}> Your full kickoff prompt is in /k.txt — read it now.\n");
        assert_ne!(
            read("aider", &typed).state,
            State::Active,
            "typed, not sent"
        );
        let mode = format!("{head}architect> fix the tests.\n");
        assert_ne!(
            read("aider", &mode).state,
            State::Active,
            "typed after a mode prompt"
        );
        let streaming = format!("{head}> fix the tests\n\nI will change util.py so that the\n");
        assert_eq!(read("aider", &streaming).state, State::Active);
        let done =
            format!("{head}> fix the tests\n\nDone.\nTokens: 2.6k sent, 121 received.\n> \n");
        assert_eq!(read("aider", &done).state, State::Idle);
        let question = format!("{head}util.py\nCreate new file? (Y)es/(N)o [Yes]:\n");
        assert_eq!(read("aider", &question).state, State::Dialog);
    }

    #[test]
    fn demo_agent_screens() {
        let kickoff = "== fake-agent session=s model=m pid=1 ==\n== kickoff (/k) ==\ngo\n== end of kickoff ==\n";
        let working = format!("{kickoff}✶ Working on the kickoff… (2s · esc to interrupt)");
        assert_eq!(read("demo", &working).state, State::Active);
        let idle = format!("{kickoff}[12:00:05] idle — waiting for input\n");
        assert_eq!(read("demo", &idle).state, State::Idle);
        let limit = format!(
            "{idle}[12:00:09] message #1: /limit\nYou've hit your usage limit · resets 11pm\n"
        );
        let r = read("demo", &limit);
        assert_eq!(r.state, State::Limited);
        assert_eq!(
            r.reset.map(|x| x.at.to_rfc3339()).as_deref(),
            Some("2026-11-20T23:00:00-05:00")
        );
        let after =
            format!("{limit}[12:01:00] message #2: go on\n[12:01:02] idle — waiting for input\n");
        assert_eq!(read("demo", &after).state, State::Idle, "a stale banner");
        let fatal =
            format!("{idle}[12:00:09] message #1: /fatal\nFATAL: session state corrupted (demo)\n");
        assert_eq!(read("demo", &fatal).state, State::Fatal);
    }

    /// Issue 14 item 4: `answers` over a preset pick the option by its label on the real
    /// 2.1.330 and Gemini CLI 0.61.0 dialogs (the keys that pick it); a dialog no entry's
    /// `when` matches, or whose options have no such label, gets no answer.
    #[test]
    fn answers_pick_dialog_options_by_label_on_real_screens() {
        let with = |preset: &str, answers: &str| {
            let text = format!(
                "[defaults]\nsession_prefix='t-'\nlog_dir='l'\n[backend.{preset}]\nanswers = {answers}\n"
            );
            crate::config::parse(
                std::path::Path::new("/tmp/agents.toml"),
                &text,
                crate::config::EnvOverrides::Ignore,
            )
            .unwrap()
            .backends[preset]
                .clone()
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T12:00:00-05:00").unwrap();
        let read = |b: &Backend, fixture: &str| {
            let pane = fixtures::pane(&format!("{fixture}.txt")).unwrap();
            detect::classify(
                b,
                pane,
                at,
                "America/New_York".parse::<detect::Tz>().unwrap(),
            )
        };
        let claude = with(
            "claude",
            r#"[{ when = "Quick safety check", choose = "^Yes, I trust" }, { when = "Bypass Permissions mode", choose = "^Yes, I accept$" }]"#,
        );
        let r = read(&claude, "claude_2.1.330_dialog_trust_folder");
        assert_eq!(r.state, State::Dialog);
        let a = r.answer.unwrap();
        assert_eq!(a.label, "Yes, I trust this folder");
        assert_eq!(a.keys, ["Down", "Enter"]);
        assert_eq!(a.when, "Quick safety check");
        let a = read(&claude, "claude_2.1.330_dialog_bypass_permissions")
            .answer
            .unwrap();
        assert_eq!((a.label.as_str(), a.keys.len()), ("Yes, I accept", 2));
        // No entry for this dialog, or no option with that label: left alone.
        let only_trust = with(
            "claude",
            r#"[{ when = "Quick safety check", choose = "Yes" }]"#,
        );
        assert_eq!(
            read(&only_trust, "claude_2.1.330_dialog_bypass_permissions").answer,
            None
        );
        let no_label = with(
            "claude",
            r#"[{ when = "Quick safety check", choose = "Always" }]"#,
        );
        assert_eq!(
            read(&no_label, "claude_2.1.330_dialog_trust_folder").answer,
            None
        );
        // Without answers (the presets' default) nothing is answered.
        let plain = backend("claude").unwrap();
        assert_eq!(
            read(&plain, "claude_2.1.330_dialog_trust_folder").answer,
            None
        );
        let gemini = with(
            "gemini",
            r#"[{ when = "Do you trust the files", choose = "^Trust folder" }]"#,
        );
        let a = read(&gemini, "gemini_0.61.0_dialog_trust_folder_boxed")
            .answer
            .unwrap();
        assert_eq!(
            (a.label.as_str(), a.keys.clone()),
            ("Trust folder (other)", vec!["1".to_string()])
        );
    }

    /// The claude preset's `hooks = "claude"` needs an `arg` backend: a `[backend.claude]`
    /// table that runs the CLI another way (an `exec` wrapper) loads with hooks off, while a
    /// table that asks for them with `exec` is refused.
    #[test]
    fn the_presets_hooks_are_off_under_a_table_that_changes_the_delivery() {
        let load = |table: &str| {
            let text = format!(
                "[defaults]\nsession_prefix='t-'\nlog_dir='l'\n[backend.claude]\n{table}\n"
            );
            crate::config::parse(
                std::path::Path::new("/tmp/agents.toml"),
                &text,
                crate::config::EnvOverrides::Ignore,
            )
        };
        let preset = load("").unwrap();
        assert_eq!(
            preset.backends["claude"].hooks,
            crate::config::Hooks::Claude
        );
        let wrapped = load("bin = 'bash ./wrap.sh {kickoff}'\nprompt_delivery = 'exec'").unwrap();
        assert_eq!(wrapped.backends["claude"].hooks, crate::config::Hooks::None);
        let asked =
            load("bin = 'bash ./wrap.sh {kickoff}'\nprompt_delivery = 'exec'\nhooks = 'claude'");
        assert!(
            asked.is_err(),
            "an explicit hooks = claude with exec delivery loaded"
        );
    }

    /// The codex preset starts Codex with its hooks (`hooks = "codex"`); `hooks = "none"`
    /// (an older CLI) turns them off; asking for them with `exec` delivery is refused, naming
    /// the key and the fix.
    #[test]
    fn the_codex_presets_hooks_and_where_they_cannot_work() {
        let load = |table: &str| {
            let text =
                format!("[defaults]\nsession_prefix='t-'\nlog_dir='l'\n[backend.codex]\n{table}\n");
            crate::config::parse(
                std::path::Path::new("/tmp/agents.toml"),
                &text,
                crate::config::EnvOverrides::Ignore,
            )
        };
        assert_eq!(
            load("").unwrap().backends["codex"].hooks,
            crate::config::Hooks::Codex
        );
        assert_eq!(
            load("hooks = 'none'").unwrap().backends["codex"].hooks,
            crate::config::Hooks::None
        );
        let err =
            load("bin = 'bash ./wrap.sh {kickoff}'\nprompt_delivery = 'exec'\nhooks = 'codex'")
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("hooks = \"codex\" needs prompt_delivery = \"arg\"")
                && err.contains("set hooks = \"none\""),
            "{err}"
        );
    }

    /// Issue 14 item 6: the gemini preset starts Gemini CLI with its hooks; a table that
    /// switches to `ping` (the CLI started elsewhere) is refused naming the key and the fix,
    /// one that switches to an `exec` wrapper runs without them.
    #[test]
    fn the_gemini_presets_hooks_and_where_they_cannot_work() {
        let load = |table: &str| {
            let text = format!(
                "[defaults]\nsession_prefix='t-'\nlog_dir='l'\n[backend.gemini]\n{table}\n"
            );
            crate::config::parse(
                std::path::Path::new("/tmp/agents.toml"),
                &text,
                crate::config::EnvOverrides::Ignore,
            )
        };
        assert_eq!(
            load("").unwrap().backends["gemini"].hooks,
            crate::config::Hooks::Gemini
        );
        let wrapped = load("bin = 'bash ./wrap.sh {kickoff}'\nprompt_delivery = 'exec'").unwrap();
        assert_eq!(wrapped.backends["gemini"].hooks, crate::config::Hooks::None);
        let err = load("prompt_delivery = 'ping'\nattach = 'x'\nhooks = 'gemini'")
            .map(|_| ())
            .expect_err("hooks = gemini with ping delivery loaded")
            .to_string();
        assert!(
            err.contains("hooks = \"gemini\"") && err.contains("hooks = \"none\""),
            "{err}"
        );
        let off = load("hooks = 'none'").unwrap();
        assert_eq!(off.backends["gemini"].hooks, crate::config::Hooks::None);
    }
}
