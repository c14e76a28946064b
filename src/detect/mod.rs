//! Pure pane reading: is the agent working, showing a usage-limit banner, or showing a fatal
//! error? No I/O. The newest line wins (SPEC defect 9): a stale `esc to interrupt` higher up
//! does not hide a fatal error or a limit banner printed below it, and a banner that scrolled
//! up above fresh activity no longer counts.

pub mod reset;

use regex::Regex;

use crate::config::Backend;

/// Lines of the pane bottom that are read (the original read the last 25 to 40).
pub const WINDOW_LINES: usize = 40;
/// A `footer_ui` backend's activity marker counts only in the bottom this many lines.
pub const FOOTER_LINES: usize = 10;

/// What the bottom of a pane says, by the lowest matching line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneState {
    /// Nothing matched: idle, or a screen we do not recognise.
    Idle,
    /// `active_re` matched at or below every other signal.
    Active,
    /// `limit_re` is the newest signal.
    Limit,
    /// `fatal_re` is the newest signal.
    Fatal,
}

/// Full reading of one pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub state: PaneState,
    /// The line that decided `state` (for logs and events), trimmed.
    pub line: Option<String>,
}

/// Reads a captured pane for `backend`. Trailing blank rows are ignored; the bottom
/// [`WINDOW_LINES`] lines are searched.
pub fn read(backend: &Backend, pane: &str) -> Reading {
    let lines: Vec<&str> = pane.lines().collect();
    let end = lines
        .iter()
        .rposition(|l| !l.trim().is_empty())
        .map_or(0, |i| i + 1);
    let lines = &lines[end.saturating_sub(WINDOW_LINES)..end];
    let text = lines.join("\n");
    let footer_from = lines.len().saturating_sub(FOOTER_LINES);

    let active = backend.active_re.as_ref().and_then(|re| {
        lowest_line(re.regex(), &text).filter(|&l| !backend.footer_ui || l >= footer_from)
    });
    let limit = backend
        .limit_re
        .as_ref()
        .and_then(|re| lowest_line(re.regex(), &text));
    let fatal = backend
        .fatal_re
        .as_ref()
        .and_then(|re| lowest_line(re.regex(), &text));

    // Ties go to Active, then Limit: never restart or hold an agent that is working.
    let mut best: Option<(usize, u8, PaneState)> = None;
    for (line, rank, state) in [
        (active, 2, PaneState::Active),
        (limit, 1, PaneState::Limit),
        (fatal, 0, PaneState::Fatal),
    ] {
        if let Some(l) = line
            && best.is_none_or(|(bl, br, _)| (l, rank) > (bl, br))
        {
            best = Some((l, rank, state));
        }
    }
    match best {
        Some((l, _, state)) => Reading {
            state,
            line: Some(lines[l].trim().to_string()),
        },
        None => Reading {
            state: PaneState::Idle,
            line: None,
        },
    }
}

/// Index of the last line on which `re` matches (a match spanning lines counts where it starts).
fn lowest_line(re: &Regex, text: &str) -> Option<usize> {
    re.find_iter(text)
        .last()
        .map(|m| text[..m.start()].matches('\n').count())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Pattern;

    pub(crate) fn backend(active: &str, limit: &str, fatal: &str, footer_ui: bool) -> Backend {
        let re = |s: &str| (!s.is_empty()).then(|| Pattern::new(s).unwrap());
        let cfg = crate::config::parse(
            std::path::Path::new("/tmp/agents.toml"),
            "[defaults]\nsession_prefix='t-'\nlog_dir='l'\n[backend.b]\nbin='x'\n",
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap();
        let mut b = cfg.backends["b"].clone();
        b.active_re = re(active);
        b.limit_re = re(limit);
        b.fatal_re = re(fatal);
        b.footer_ui = footer_ui;
        b
    }

    #[test]
    fn defect_09_fatal_below_stale_activity_wins() {
        let b = backend("esc to interrupt", "usage limit", "^FATAL", false);
        let pane =
            "* Working (esc to interrupt)\nsome output\nFATAL: session state corrupted\n> \n\n\n";
        let r = read(&b, pane);
        assert_eq!(r.state, PaneState::Fatal);
        assert_eq!(r.line.as_deref(), Some("FATAL: session state corrupted"));
        let pane = "FATAL: old\n* Working (esc to interrupt)\n";
        assert_eq!(read(&b, pane).state, PaneState::Active);
    }

    #[test]
    fn defect_10_anchored_regex_matches_below_first_row() {
        let b = backend("", "", "^fatal: session", false);
        assert_eq!(
            read(&b, "line one\nFATAL: session state\n").state,
            PaneState::Fatal
        );
    }

    #[test]
    fn limit_banner_below_idle_prompt_is_limit() {
        let b = backend("esc to interrupt", "usage limit|limit reached", "", false);
        let pane = "old: esc to interrupt\nYou've hit your usage limit · resets 11pm\n> \n";
        assert_eq!(read(&b, pane).state, PaneState::Limit);
    }

    #[test]
    fn footer_ui_counts_only_bottom_lines() {
        let b = backend("esc interrupt", "", "", true);
        let mut pane = String::from("⬝⬝■ esc interrupt\n");
        for i in 0..12 {
            pane.push_str(&format!("line {i}\n"));
        }
        assert_eq!(read(&b, &pane).state, PaneState::Idle);
        pane.push_str("■■ esc interrupt 137K\n\n\n");
        assert_eq!(read(&b, &pane).state, PaneState::Active);
    }
}
