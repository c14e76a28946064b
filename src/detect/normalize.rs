//! Captured pane text → plain lines the rules can match: terminal control sequences (CSI,
//! OSC, …) removed by `strip-ansi-escapes`, the spaces CLIs draw with (U+00A0 after Claude
//! Code's `❯` and `⎿`, U+2007, U+202F, …) made plain spaces, the curly apostrophe of Codex
//! 0.169's `You’ve` made `'`, and trailing blanks trimmed.

/// One plain line per pane row, in order.
pub fn lines(pane: &str) -> Vec<String> {
    let plain: std::borrow::Cow<str> = if pane.contains('\x1b') {
        String::from_utf8_lossy(&strip_ansi_escapes::strip(pane.as_bytes()))
            .into_owned()
            .into()
    } else {
        pane.into()
    };
    plain
        .split('\n')
        .map(|l| {
            let l = l.strip_suffix('\r').unwrap_or(l);
            // A carriage return inside a row redraws it: what is visible is after the last.
            let l = l.rsplit('\r').next().unwrap_or(l);
            l.chars()
                .map(|c| match c {
                    '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => {
                        ' '
                    }
                    '\u{2018}' | '\u{2019}' => '\'',
                    '\t' => ' ',
                    c if c.is_control() => ' ',
                    c => c,
                })
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::lines;

    #[test]
    fn strips_escapes_and_odd_spaces() {
        let pane =
            "\x1b[1mYou\u{2019}ve hit\x1b[0m\u{a0}your limit  \n❯\u{a0}\n\x1b]0;title\x07ok\r\n";
        assert_eq!(lines(pane), ["You've hit your limit", "❯", "ok", ""]);
        assert_eq!(lines("spin 1\rspin 2\rdone"), ["done"]);
    }
}
