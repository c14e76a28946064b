//! The lines a dialog is drawn with, recognised by hand-written scanners: its confirm hint,
//! its highlighted option's lead, a numbered option's number, a box's bottom border.
//!
//! Every screen of every agent is read for a dialog, in every process that reads one
//! (`status`, `selftest`, the watchdog). These shapes are fixed, so they are scanned here
//! instead of compiled as regexes at run time (compiling the five cost about a millisecond of
//! CPU in each process). Each scanner gives what its regex, quoted in its doc, gives on one
//! line of a screen (no newline in it); the tests check so against the regex on every
//! fixture line and on generated lines.

/// ASCII whitespace as a regex's ASCII `\s` reads it: `[\t\n\v\f\r ]`.
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ')
}

/// An ASCII word byte as a regex's ASCII `\b` reads it: `[0-9A-Za-z_]`.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Where `[ \t]*` ends from `at`.
fn blanks(s: &[u8], at: usize) -> usize {
    at + s[at..]
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count()
}

/// Where `\s+` (ASCII) ends from `at`, if there is at least one.
fn spaces(s: &[u8], at: usize) -> Option<usize> {
    let n = s.get(at..)?.iter().take_while(|&&b| is_space(b)).count();
    (n > 0).then_some(at + n)
}

/// Where `word` (ASCII, any case) ends if it starts at `at`.
fn word(s: &[u8], at: usize, word: &str) -> Option<usize> {
    let end = at + word.len();
    s.get(at..end)
        .filter(|w| w.eq_ignore_ascii_case(word.as_bytes()))
        .map(|_| end)
}

/// Where one of `words` ends if it starts at `at` and a word boundary follows it.
fn one_of(s: &[u8], at: usize, words: &[&str]) -> Option<usize> {
    words
        .iter()
        .filter_map(|w| word(s, at, w))
        .find(|&end| s.get(end).is_none_or(|&b| !is_word(b)))
}

/// Whether `line` shows a confirm hint: "Enter to confirm", "Esc to cancel" (Claude Code
/// 2.1.x), "Press enter to continue" (Codex 0.169), "(y/n)", "[y/N]". As the regex
/// `(?i-u)\b(?:enter|return)\s+to\s+(?:confirm|select|continue|submit)\b|\besc\s+to\s+(?:cancel|go\s+back)\b|[(\[]y/n[)\]]`:
/// ASCII case folding, whitespace and word boundaries (the CLIs print these words in ASCII).
pub(super) fn is_hint(line: &str) -> bool {
    let s = line.as_bytes();
    (0..s.len()).any(|i| hint_at(s, i))
}

fn hint_at(s: &[u8], i: usize) -> bool {
    if matches!(s[i], b'(' | b'[') {
        return word(s, i + 1, "y/n").is_some_and(|e| matches!(s.get(e), Some(b')' | b']')));
    }
    if i > 0 && is_word(s[i - 1]) {
        return false;
    }
    let to = |at: usize| {
        spaces(s, at)
            .and_then(|at| word(s, at, "to"))
            .and_then(|at| spaces(s, at))
    };
    let confirm = ["confirm", "select", "continue", "submit"];
    let enter = word(s, i, "enter").or_else(|| word(s, i, "return"));
    if enter
        .and_then(to)
        .and_then(|at| one_of(s, at, &confirm))
        .is_some()
    {
        return true;
    }
    word(s, i, "esc").and_then(to).is_some_and(|at| {
        one_of(s, at, &["cancel"]).is_some()
            || word(s, at, "go")
                .and_then(|at| spaces(s, at))
                .and_then(|at| one_of(s, at, &["back"]))
                .is_some()
    })
}

/// The markers a CLI draws before its highlighted option: `❯` (Claude Code), `>`, `›`
/// (Codex), `▸`, `▶`.
const MARKERS: [char; 5] = ['❯', '>', '›', '▸', '▶'];

/// Where a marker's lead ends on `line`: `[ \t]*`, one character `marker` accepts, then
/// `[ \t]+` (at least one).
fn lead(line: &str, marker: impl Fn(char) -> bool) -> Option<usize> {
    let s = line.as_bytes();
    let at = blanks(s, 0);
    let c = line[at..].chars().next().filter(|&c| marker(c))?;
    let after = at + c.len_utf8();
    let end = blanks(s, after);
    (end > after).then_some(end)
}

/// Where an option's number ends from `at`: one or two digits and `.` or `)`, as the regex
/// `[0-9]{1,2}[.)]`.
fn number(s: &[u8], at: usize) -> Option<usize> {
    let digits = s[at..]
        .iter()
        .take(3)
        .take_while(|b| b.is_ascii_digit())
        .count();
    ((1..=2).contains(&digits) && matches!(s.get(at + digits), Some(b'.' | b')')))
        .then_some(at + digits + 1)
}

/// The end (in bytes) of a highlighted option's lead on `line`: a marker and the spaces or
/// tabs around it, as the regex `^[ \t]*[❯>›▸▶][ \t]+`.
pub(super) fn highlighted_lead(line: &str) -> Option<usize> {
    lead(line, |c| MARKERS.contains(&c))
}

/// The end (in bytes) of an option's number at the start of `text`: one or two digits, `.`
/// or `)`, and one ASCII whitespace byte (`1. Stop`, `2) Wait`), as the regex
/// `^[0-9]{1,2}[.)](?-u:\s)`.
pub(super) fn number_end(text: &str) -> Option<usize> {
    let s = text.as_bytes();
    let end = number(s, 0)?;
    s.get(end).is_some_and(|&b| is_space(b)).then_some(end + 1)
}

/// Whether `line` is a box's bottom border, `╰───╯` (Gemini CLI 0.61.0), as the regex
/// `^[ \t]*╰─+╯[ \t]*$`.
pub(super) fn is_box_bottom(line: &str) -> bool {
    let rest = line.trim_matches([' ', '\t']);
    rest.strip_prefix('╰')
        .and_then(|r| r.strip_suffix('╯'))
        .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c == '─'))
}

/// A highlighted numbered option inside a box, `● 1. Trust folder` (Gemini CLI 0.61.0): the
/// end (in bytes) of its lead (the marker `●` with the spaces or tabs around it) and of its
/// number with the spaces after it, as the regex
/// `^(?P<lead>[ \t]*●[ \t]+)[0-9]{1,2}[.)][ \t]+` (the lead and the whole match).
pub(super) fn boxed_lead(text: &str) -> Option<(usize, usize)> {
    let s = text.as_bytes();
    let lead = lead(text, |c| c == '●')?;
    let number = number(s, lead)?;
    let end = blanks(s, number);
    (end > number).then_some((lead, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    /// The regexes these scanners replace, as they were.
    struct Regexes {
        hint: Regex,
        highlighted: Regex,
        numbered: Regex,
        box_bottom: Regex,
        boxed: Regex,
    }

    fn regexes() -> Regexes {
        Regexes {
            hint: Regex::new(r"(?i-u)\b(?:enter|return)\s+to\s+(?:confirm|select|continue|submit)\b|\besc\s+to\s+(?:cancel|go\s+back)\b|[(\[]y/n[)\]]").unwrap(),
            highlighted: Regex::new(r"^[ \t]*[❯>›▸▶][ \t]+").unwrap(),
            numbered: Regex::new(r"^[0-9]{1,2}[.)](?-u:\s)").unwrap(),
            box_bottom: Regex::new(r"^[ \t]*╰─+╯[ \t]*$").unwrap(),
            boxed: Regex::new(r"^(?P<lead>[ \t]*●[ \t]+)[0-9]{1,2}[.)][ \t]+").unwrap(),
        }
    }

    /// Panics, naming the line and the scanner, where a scanner and its regex disagree.
    fn agree(r: &Regexes, line: &str) {
        assert_eq!(is_hint(line), r.hint.is_match(line), "hint: {line:?}");
        assert_eq!(
            highlighted_lead(line),
            r.highlighted.find(line).map(|m| m.end()),
            "highlighted: {line:?}"
        );
        assert_eq!(
            number_end(line),
            r.numbered.find(line).map(|m| m.end()),
            "numbered: {line:?}"
        );
        assert_eq!(
            is_box_bottom(line),
            r.box_bottom.is_match(line),
            "box bottom: {line:?}"
        );
        let boxed = r.boxed.captures(line).map(|c| {
            let lead = c.name("lead").unwrap().end();
            (lead, c.get(0).unwrap().end())
        });
        assert_eq!(boxed_lead(line), boxed, "boxed: {line:?}");
    }

    #[test]
    fn the_scanners_read_every_fixture_line_as_the_regexes_did() {
        let r = regexes();
        let mut hints = 0;
        for (_, pane) in crate::detect::fixtures::PANES {
            for line in pane.lines() {
                agree(&r, line);
                // The same line as a dialog's lines are read: trimmed, and inside a box.
                agree(&r, line.trim());
                agree(&r, line.trim().trim_start_matches('│'));
                hints += usize::from(is_hint(line));
            }
        }
        // The fixtures hold dialogs: the hint scanner is not idle.
        assert!(hints >= 5, "only {hints} hint lines in the fixtures");
    }

    #[test]
    fn the_scanners_read_made_up_lines_as_the_regexes_did() {
        let r = regexes();
        let cases = [
            "Enter to confirm · Esc to cancel",
            "  Press ENTER   to\tcontinue",
            "return to submit",
            "enter to confirmed",
            "center to confirm",
            "_enter to confirm",
            "éenter to confirm",
            "enter to",
            "enter  to  select!",
            "esc to go  back",
            "esc to go backwards",
            "esc\x0bto\x0ccancel",
            "Esc to Cancel)",
            "(y/n)",
            "[Y/n]",
            "(y/N]",
            "y/n",
            "(y/n",
            "❯ 1. Yes",
            "  >\tNo",
            ">No",
            " ›  Sign in",
            "▸ a",
            "▶",
            "1. Stop",
            "12) Wait",
            "123. x",
            "1.x",
            "1.\x0bx",
            "1.",
            "╰─╯",
            "  ╰────╯ \t",
            "╰╯",
            "╰─x─╯",
            " ● 1. Trust folder",
            "●\t12)\t\tgo",
            "● 1.x",
            "●1. x",
            " ● 123. x",
            "",
        ];
        for c in cases {
            agree(&r, c);
        }
        // Generated lines: pieces of dialogs, joined at random (a fixed seed).
        let pieces = [
            "enter", "Return", "ESC", "to", "confirm", "select", "continue", "submit", "cancel",
            "go", "back", " ", "  ", "\t", "\x0b", "(", "[", "y/n", "Y/N", ")", "]", "x", "_", "é",
            "❯", ">", "›", "▸", "▶", "●", "╰", "─", "╯", "1", "12", "123", ".", "·",
        ];
        let n = u64::try_from(pieces.len()).unwrap();
        let pick = |x: u64| pieces[usize::try_from(x % n).unwrap()];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let line: String = (0..seed % 9).map(|k| pick(seed >> (6 * k))).collect();
            agree(&r, &line);
        }
    }
}
