//! Dialogs recognised by their shape, whatever their words: an option list with a highlighted
//! choice above a confirm hint at the bottom of the screen. A new CLI version rewords its
//! dialogs (Claude Code 2.1.330's trust dialog no longer says "Do you trust the files in this
//! folder?"), but it still draws them as a menu: typing into one picks its highlighted option
//! ("No, exit"), so a screen of this shape is a `dialog` in every preset, `dialog_re` or not.
//!
//! Shapes seen, by the CLI and version that drew them:
//!
//! ```text
//!  ❯ No, exit                              Claude Code 2.1.330 trust dialog and bypass warning:
//!    Yes, I trust this folder              `❯` before one option, the others at the same column
//!
//!  Enter to confirm · Esc to cancel
//!
//!   ❯ 1. Stop and wait for limit to reset  Claude Code 2.1.330 limit chooser (a limit with a
//!     2. Wait here, then continue …        `choice`, decided in `classify`, not here)
//!   Enter to confirm · Esc to cancel
//!
//! > 1. Sign in with ChatGPT                Codex 0.169.0 first start: numbered options with
//!      Usage included with Plus, …         their descriptions indented deeper
//!   2. Sign in with Device Code
//!   Press enter to continue
//! ```
//!
//! Gemini CLI 0.61.0 draws its dialogs in a box with no confirm hint; the box is the bottom of
//! the screen (it replaces the input line) and its options are numbered, `●` before the
//! highlighted one ([`boxed_option_list`]):
//!
//! ```text
//!  │ Do you trust the files in this folder?   │   Gemini CLI 0.61.0 trust dialog; its limit
//!  │ ● 1. Trust folder (work)                 │   chooser ("● 1. Keep trying / 2. Stop") and
//!  │   2. Trust parent folder (agents-test)   │   auth dialog are drawn the same way
//!  │   3. Don't trust                         │
//!  ╰──────────────────────────────────────────╯
//! ```
//!
//! Not a dialog: Claude Code's input box (`❯ ` between two `───` rules, with or without typed
//! text: nothing sits at its text's column), a submitted prompt in the transcript (`❯ fix it`
//! above `  ⎿  …`: an option starts with a letter or digit), a footer that says
//! `Esc to cancel` with no option list above it (2.1.330's "Continuing automatically at
//! 3:59pm · Esc to cancel").

use super::dialog_lines::{boxed_lead, highlighted_lead, is_box_bottom, is_hint, number_end};

/// The confirm hint must be among this many non-blank lines at the bottom of the screen.
pub const HINT_FROM_BOTTOM: usize = 3;
/// The highlighted option must be at most this many lines above the hint.
pub const OPTIONS_ABOVE: usize = 12;

/// A highlighted option on one line: the column (in characters) where its text starts, and
/// the text (from its number, if any, to the end of the line).
struct Highlight<'a> {
    col: usize,
    text: &'a str,
}

/// The highlighted option on `line`, if it shows one whose text starts with a letter or digit.
fn highlighted(line: &str) -> Option<Highlight<'_>> {
    let lead = highlighted_lead(line)?;
    let text = &line[lead..];
    text.starts_with(char::is_alphanumeric).then(|| Highlight {
        col: line[..lead].chars().count(),
        text,
    })
}

/// The line of the confirm hint below an option list with a highlighted choice, if the bottom
/// of `lines` (plain lines, see [`super::normalize`]) shows one; `None` otherwise.
///
/// The hint is among the bottom [`HINT_FROM_BOTTOM`] non-blank lines; within
/// [`OPTIONS_ABOVE`] lines above it one option is highlighted and at least one more option
/// starts at the same column as its text (numbered options may have deeper-indented
/// descriptions between them; unnumbered ones are adjacent); between the options and the hint
/// only blank or deeper-indented lines.
///
/// Or, when there is no hint, the line of the highlighted option of a boxed list at the bottom
/// ([`boxed_option_list`]).
pub fn option_list(lines: &[String]) -> Option<usize> {
    let bottom: Vec<usize> = (0..lines.len())
        .rev()
        .filter(|&i| !lines[i].trim().is_empty())
        .take(HINT_FROM_BOTTOM)
        .collect();
    bottom
        .into_iter()
        .find(|&h| is_hint(&lines[h]) && options_above(lines, h))
        .or_else(|| boxed_option_list(lines))
}

/// The highlighted numbered option inside a box on `text` (see [`boxed_lead`]): `● 1. Trust
/// folder` whose text starts with a letter or digit; its `text` is the option from its number
/// on.
fn boxed_highlighted(text: &str) -> Option<Highlight<'_>> {
    let (lead, all) = boxed_lead(text)?;
    text[all..]
        .starts_with(char::is_alphanumeric)
        .then(|| Highlight {
            col: text[..lead].chars().count(),
            text: &text[lead..],
        })
}

/// The line of the highlighted option of a numbered option list drawn in a box at the bottom
/// of the screen, if any: the box's bottom border (`╰───╯`) is among the bottom
/// [`HINT_FROM_BOTTOM`] non-blank lines; inside the box (`│ … │` lines up to its top `╭`), one
/// numbered option is marked `●` and at least one more numbered option starts at the same
/// column. Gemini CLI 0.61.0 draws every dialog so, with no confirm hint.
pub fn boxed_option_list(lines: &[String]) -> Option<usize> {
    let bottom = (0..lines.len())
        .rev()
        .filter(|&i| !lines[i].trim().is_empty())
        .take(HINT_FROM_BOTTOM)
        .find(|&i| is_box_bottom(&lines[i]))?;
    // The inside of the box, bottom up: the text between the side borders.
    let mut inside: Vec<(usize, &str)> = vec![];
    for i in (0..bottom).rev() {
        let t = lines[i].trim();
        if t.starts_with('╭') {
            break;
        }
        let inner = t.strip_prefix('│')?;
        inside.push((i, inner.strip_suffix('│').unwrap_or(inner)));
    }
    inside.reverse();
    inside.iter().enumerate().find_map(|(k, (line, text))| {
        let col = boxed_highlighted(text)?.col;
        let others = inside
            .iter()
            .enumerate()
            .filter(|(j, (_, t))| *j != k && plain_option(t.trim_end(), col, true))
            .count();
        (others >= 1).then_some(*line)
    })
}

/// The column (in characters) where a line's text starts; `None` for a blank line.
fn indent(line: &str) -> Option<usize> {
    let n = line.chars().take_while(|c| *c == ' ' || *c == '\t').count();
    (n < line.chars().count()).then_some(n)
}

/// Whether `line` is an unhighlighted option whose text starts at column `col`.
fn plain_option(line: &str, col: usize, numbered: bool) -> bool {
    if indent(line) != Some(col) {
        return false;
    }
    let text = line.trim_start();
    text.starts_with(|c: char| c.is_alphanumeric()) && (!numbered || number_end(text).is_some())
}

fn options_above(lines: &[String], hint: usize) -> bool {
    let from = hint.saturating_sub(OPTIONS_ABOVE);
    (from..hint).rev().any(|m| {
        let Some(Highlight { col, text }) = highlighted(&lines[m]) else {
            return false;
        };
        let numbered = number_end(text).is_some();
        // Between the options and the hint: options, blank or deeper-indented lines only.
        let mut count = 1;
        let mut adjacent = true;
        for l in &lines[m + 1..hint] {
            if plain_option(l, col, numbered) {
                if adjacent || numbered {
                    count += 1;
                }
            } else if indent(l).is_none_or(|i| i > col) {
                adjacent = false;
            } else {
                return false;
            }
        }
        // Above the highlighted one: more options, up to the first line that is none.
        for l in lines[from..m].iter().rev() {
            if plain_option(l, col, numbered) {
                count += 1;
            } else if !(numbered && indent(l).is_some_and(|i| i > col)) {
                // (A line indented deeper continues a numbered option above: skipped.)
                break;
            }
        }
        count >= 2
    })
}

/// One option of a [`Menu`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuOption {
    /// Its text without the marker and the number (`Yes, I trust this folder`).
    pub label: String,
    /// Its number when the options are numbered (`2` of `2. Wait here`).
    pub number: Option<String>,
}

/// The options of the dialog at the bottom of a screen, top to bottom, and which one is
/// highlighted (an index into `options`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    /// The options, top to bottom.
    pub options: Vec<MenuOption>,
    /// The index in `options` of the one the CLI highlights (drawn with a marker: `❯`, `>`, `›`, `▸`, `▶`).
    pub highlighted: usize,
}

impl Menu {
    /// The keys (tmux key names) that pick option `i`: its number when the options are
    /// numbered (Claude Code, Codex and Gemini CLI pick a numbered option on its digit);
    /// else `Down` or `Up` as many times as it is away from the highlighted one, then `Enter`.
    pub fn keys_for(&self, i: usize) -> Vec<String> {
        if let Some(n) = &self.options[i].number {
            return vec![n.clone()];
        }
        let (key, steps) = if i >= self.highlighted {
            ("Down", i - self.highlighted)
        } else {
            ("Up", self.highlighted - i)
        };
        let mut keys = vec![key.to_string(); steps];
        keys.push("Enter".into());
        keys
    }
}

/// An option's text split into its number (`2. Wait` → `2`) and its label.
fn option_of(text: &str) -> MenuOption {
    let text = text.trim();
    match number_end(text) {
        Some(end) => MenuOption {
            label: text[end..].trim().to_string(),
            number: Some(
                text[..end]
                    .trim_end()
                    .trim_end_matches(['.', ')'])
                    .to_string(),
            ),
        },
        None => MenuOption {
            label: text.to_string(),
            number: None,
        },
    }
}

/// The dialog of [`option_list`] as a [`Menu`]: its options and the highlighted one.
pub fn menu(lines: &[String]) -> Option<Menu> {
    let at = option_list(lines)?;
    // A boxed list: the options inside the box.
    if let Some(Highlight { col, .. }) = lines[at]
        .trim()
        .strip_prefix('│')
        .and_then(boxed_highlighted)
    {
        let mut options = vec![];
        let mut highlighted = 0;
        let mut top = at;
        while top > 0 && lines[top - 1].trim().starts_with('│') {
            top -= 1;
        }
        for (i, l) in lines.iter().enumerate().skip(top) {
            let Some(inner) = l.trim().strip_prefix('│') else {
                break;
            };
            let inner = inner.strip_suffix('│').unwrap_or(inner).trim_end();
            if i == at {
                highlighted = options.len();
                options.push(option_of(&inner.chars().skip(col).collect::<String>()));
            } else if plain_option(inner, col, true) {
                options.push(option_of(inner));
            }
        }
        return Some(Menu {
            options,
            highlighted,
        });
    }
    // A list above a confirm hint (`at`).
    let from = at.saturating_sub(OPTIONS_ABOVE);
    (from..at).rev().find_map(|m| {
        let Highlight { col, text } = highlighted(&lines[m])?;
        let numbered = number_end(text).is_some();
        let mut above = vec![];
        for l in lines[from..m].iter().rev() {
            if plain_option(l, col, numbered) {
                above.push(option_of(l));
            } else if !(numbered && indent(l).is_some_and(|i| i > col)) {
                // (A line indented deeper continues a numbered option above: skipped.)
                break;
            }
        }
        above.reverse();
        let highlighted = above.len();
        let mut options = above;
        options.push(option_of(text));
        let mut adjacent = true;
        for l in &lines[m + 1..at] {
            if plain_option(l, col, numbered) {
                if adjacent || numbered {
                    options.push(option_of(l));
                }
            } else if indent(l).is_none_or(|i| i > col) {
                adjacent = false;
            } else {
                return None;
            }
        }
        (options.len() >= 2).then_some(Menu {
            options,
            highlighted,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{fixtures, normalize};

    fn lines(s: &str) -> Vec<String> {
        normalize::bottom(s, 50)
    }

    #[test]
    fn claude_2_1_330_dialogs_and_codex_sign_in_are_option_lists() {
        let trust = " Security guide\n\n ❯ No, exit\n   Yes, I trust this folder\n\n Enter to confirm · Esc to cancel\n\n\n";
        assert_eq!(option_list(&lines(trust)), Some(5));
        let chooser = "  What do you want to do?\n  ❯ 1. Stop and wait for limit to reset\n    2. Wait here\n    3. Upgrade your plan\n  Enter to confirm · Esc to cancel\n";
        assert_eq!(option_list(&lines(chooser)), Some(4));
        let codex = "> 1. Sign in with ChatGPT\n     Usage included\n  2. Sign in with Device Code\n     From another device\n\n  Press enter to continue\n";
        assert_eq!(option_list(&lines(codex)), Some(5));
        let yn = "Apply the patch?\n> yes\n  no\n(y/n)\n";
        assert_eq!(option_list(&lines(yn)), Some(3));
        let arrow = "  › Allow once\n    Allow always\n    Reject\n  enter to select · esc to go back\n  status row\n";
        assert_eq!(option_list(&lines(arrow)), Some(3));
    }

    /// Gemini CLI 0.61.0's boxed dialogs have no confirm hint: the box at the bottom, a `●`
    /// before one numbered option and another numbered option at its column.
    #[test]
    fn gemini_0_61_0_boxed_dialogs_are_option_lists() {
        let trust = "ℹ Skipping project agents\n ╭────╮\n │              │\n │ Do you trust the files in this folder? │\n │ ● 1. Trust folder (work)   │\n │   2. Trust parent folder (x) │\n │   3. Don't trust   │\n │    │\n ╰────╯\n";
        assert_eq!(option_list(&lines(trust)), Some(4));
        let chooser = "╭──╮\n│ Usage limit reached for all Pro models. │\n│ ● 1. Keep trying │\n│   2. Stop │\n╰──╯\n";
        assert_eq!(option_list(&lines(chooser)), Some(2));
    }

    #[test]
    fn boxes_without_a_highlighted_numbered_list_are_not_option_lists() {
        for screen in [
            // An info box: no options.
            "╭──╮\n│ Gemini CLI update available │\n╰──╯\n",
            // One option only.
            "╭──╮\n│ ● 1. Keep trying │\n╰──╯\n",
            // No highlight.
            "╭──╮\n│   1. Keep trying │\n│   2. Stop │\n╰──╯\n",
            // Options at other columns.
            "╭──╮\n│ ● 1. Keep trying │\n│       2. Stop │\n╰──╯\n",
            // The box is not at the bottom.
            "╭──╮\n│ ● 1. Keep trying │\n│   2. Stop │\n╰──╯\n > continue\n✦ Done.\n more\n lines\n",
            // Not inside a box: a line between the options and the border.
            "│ ● 1. Keep trying │\n│   2. Stop │\nprose\n╰──╯\n",
        ] {
            assert_eq!(option_list(&lines(screen)), None, "{screen}");
        }
    }

    #[test]
    fn input_boxes_prompts_and_lone_hints_are_not_option_lists() {
        for screen in [
            // Claude Code 2.1.x input box, empty and with typed text, under a limit footer.
            "───\n❯ \n───\n  ⚠ Usage limit reached · limit resets 3:59pm\n    Continuing automatically at 3:59pm · Esc to cancel\n  ⏵⏵ auto mode on\n",
            "───\n❯ continue please\n───\n    Continuing automatically at 3:59pm · Esc to cancel\n",
            // A submitted prompt above the CLI's own output.
            "❯ fix the tests\n  ⎿  Interrupted\n  Esc to cancel\n",
            // One option only.
            " ❯ No, exit\n\n Enter to confirm · Esc to cancel\n",
            // Options, but the hint is not at the bottom.
            " ❯ No, exit\n   Yes\n Enter to confirm\n a\n b\n c\n",
            // Options, but prose between them and the hint.
            " ❯ No, exit\n   Yes\n\nSome prose at the margin.\n Enter to confirm\n",
            // No highlight.
            "   No, exit\n   Yes, I trust this folder\n Enter to confirm · Esc to cancel\n",
            // Numbered options must all be numbered.
            "  ❯ 1. Stop\n    and more words\n  Enter to confirm\n",
        ] {
            assert_eq!(option_list(&lines(screen)), None, "{screen}");
        }
    }

    /// Every shared screen: the shape is found exactly on the dialogs and the limit choosers.
    #[test]
    fn option_lists_among_the_fixtures() {
        let want = [
            "claude_2.1.330_dialog_bypass_permissions.txt",
            "claude_2.1.330_dialog_trust_folder.txt",
            "claude_2.1.330_limit_chooser_wait_option.txt",
            "codex_0.169.0_login_start.txt",
            "gemini_0.61.0_auth_dialog.txt",
            "gemini_0.61.0_dialog_trust_folder_boxed.txt",
            "gemini_0.61.0_limit_daily_quota_dialog.txt",
            "gemini_0.61.0_limit_dialog_access_resets_utc.txt",
            "gemini_0.61.0_limit_dialog_reset_est.txt",
            "gemini_0.61.0_limit_free_tier_zero.txt",
            "gemini_0.61.0_trust_dialog_start.txt",
        ];
        let got: Vec<&str> = fixtures::PANES
            .iter()
            .filter(|(_, text)| option_list(&lines(text)).is_some())
            .map(|(f, _)| *f)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn menus_give_their_options_the_highlighted_one_and_the_keys_that_pick_one() {
        let trust = " Security guide\n\n ❯ No, exit\n   Yes, I trust this folder\n\n Enter to confirm · Esc to cancel\n\n\n";
        let m = menu(&lines(trust)).unwrap();
        let labels: Vec<&str> = m.options.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(labels, ["No, exit", "Yes, I trust this folder"]);
        assert_eq!(m.highlighted, 0);
        assert_eq!(m.keys_for(1), ["Down", "Enter"]);
        assert_eq!(m.keys_for(0), ["Enter"]);
        let chooser = "  What do you want to do?\n    1. Stop and wait for limit to reset\n  ❯ 2. Wait here\n    3. Upgrade your plan\n  Enter to confirm · Esc to cancel\n";
        let m = menu(&lines(chooser)).unwrap();
        assert_eq!(m.highlighted, 1);
        assert_eq!(m.options[0].label, "Stop and wait for limit to reset");
        assert_eq!(m.options[2].number.as_deref(), Some("3"));
        assert_eq!(m.keys_for(0), ["1"]);
        let codex = "> 1. Sign in with ChatGPT\n     Usage included\n  2. Sign in with Device Code\n     From another device\n\n  Press enter to continue\n";
        let m = menu(&lines(codex)).unwrap();
        assert_eq!(m.options.len(), 2);
        assert_eq!(m.options[1].label, "Sign in with Device Code");
        let arrow = "  › Allow once\n    Allow always\n    Reject\n  enter to select · esc to go back\n  status row\n";
        let m = menu(&lines(arrow)).unwrap();
        assert_eq!(m.keys_for(2), ["Down", "Down", "Enter"]);
        let gemini = "ℹ Skipping project agents\n ╭────╮\n │              │\n │ Do you trust the files in this folder? │\n │ ● 1. Trust folder (work)   │\n │   2. Trust parent folder (x) │\n │   3. Don't trust   │\n │    │\n ╰────╯\n";
        let m = menu(&lines(gemini)).unwrap();
        let labels: Vec<&str> = m.options.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Trust folder (work)",
                "Trust parent folder (x)",
                "Don't trust"
            ]
        );
        assert_eq!((m.highlighted, m.keys_for(2)), (0, vec!["3".to_string()]));
        assert_eq!(
            menu(&lines(
                "❯ fix the tests\n  ⎿  Interrupted\n  Esc to cancel\n"
            )),
            None
        );
    }
}
