//! Captured pane text → plain lines the rules can match: terminal control sequences (CSI,
//! OSC, …) removed by `strip-ansi-escapes`, the spaces CLIs draw with (U+00A0 after Claude
//! Code's `❯` and `⎿`, U+2007, U+202F, …) made plain spaces, the curly apostrophe of Codex
//! 0.169's `You’ve` made `'`, runs of one box-drawing character (U+2500–U+259F: a TUI's
//! rules and borders) cut to three, and trailing blanks trimmed.

/// The bottom of a pane as plain lines: the last `count` rows up to and including the last
/// non-blank one (trailing blank rows dropped), in order. Only those rows are normalised, so
/// reading a tall capture costs what its bottom costs.
pub fn bottom(pane: &str, count: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(count.min(256));
    let mut seen_text = false;
    for raw in pane.rsplit('\n') {
        let l = line(raw);
        if !seen_text {
            if l.trim().is_empty() {
                continue;
            }
            seen_text = true;
        }
        out.push(l);
        if out.len() >= count {
            break;
        }
    }
    out.reverse();
    out
}

/// One pane row as plain text (see the module doc).
pub fn line(raw: &str) -> String {
    if raw.contains('\x1b') {
        let plain =
            String::from_utf8_lossy(&strip_ansi_escapes::strip(raw.as_bytes())).into_owned();
        return clean(&plain);
    }
    clean(raw)
}

fn clean(l: &str) -> String {
    let l = l.strip_suffix('\r').unwrap_or(l);
    // A carriage return inside a row redraws it: what is visible is after the last.
    let l = l.rsplit('\r').next().unwrap_or(l);
    if l.is_ascii() && !l.bytes().any(|b| b.is_ascii_control()) {
        return l.trim_end().to_string();
    }
    let mut out = String::with_capacity(l.len());
    let (mut last, mut run) = ('\0', 0usize);
    let mut rest = l;
    while let Some(c) = rest.chars().next() {
        // A span of printable ASCII is copied whole (a TUI's padding, most of its text). Only
        // runs of box-drawing characters are counted, and none of them is ASCII: the span's
        // last character restarts the count.
        let span = printable_prefix(rest.as_bytes());
        if span > 0 {
            out.push_str(&rest[..span]);
            last = char::from(rest.as_bytes()[span - 1]);
            run = 1;
            rest = &rest[span..];
            continue;
        }
        rest = &rest[c.len_utf8()..];
        let c = match c {
            '\t' | '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => ' ',
            '\u{2018}' | '\u{2019}' => '\'',
            c if c.is_control() => ' ',
            c => c,
        };
        run = if c == last { run + 1 } else { 1 };
        last = c;
        // A long run of one box-drawing or block character (a TUI's rules and borders) is
        // kept as three: the rules still see a border, at a tenth of the bytes to scan. The
        // rest of the run is skipped three bytes at a time (each is three bytes in UTF-8),
        // not decoded character by character.
        if matches!(c, '\u{2500}'..='\u{259f}') {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            let same = rest
                .as_bytes()
                .chunks_exact(bytes.len())
                .take_while(|ch| *ch == bytes)
                .count();
            rest = &rest[same * bytes.len()..];
            // This one and the `same` after it are the run's `run`th to `run + same`th.
            let kept = (BOX_RUN + 1).saturating_sub(run).min(same + 1);
            for _ in 0..kept {
                out.push(c);
            }
            run += same;
            continue;
        }
        out.push(c);
    }
    out.truncate(out.trim_end().len());
    out
}

/// The length of the leading run of printable ASCII bytes (0x20–0x7e) of `b`: eight bytes
/// a step while none of them is a control byte, DEL or beyond ASCII (a TUI's rows are mostly
/// padding), then byte by byte.
fn printable_prefix(b: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        // Any byte >= 0x80, any byte < 0x20, any byte == 0x7f (exact as a yes/no).
        let below = w.wrapping_sub(0x20 * ONES) & !w & HIGH;
        let del = w ^ (0x7f * ONES);
        let del = del.wrapping_sub(ONES) & !del & HIGH;
        if (w & HIGH) | below | del != 0 {
            break;
        }
        i += 8;
    }
    i + b[i..]
        .iter()
        .take_while(|c| (0x20..0x7f).contains(*c))
        .count()
}

/// How many of a run of one box-drawing or block character [`clean`] keeps.
const BOX_RUN: usize = 3;

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
                    '\t'
                    | '\u{a0}'
                    | '\u{2000}'..='\u{200a}'
                    | '\u{202f}'
                    | '\u{205f}'
                    | '\u{3000}' => ' ',
                    '\u{2018}' | '\u{2019}' => '\'',
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
    fn bottom_reads_only_the_last_rows_and_drops_trailing_blanks() {
        let pane = "a\nb\nc\u{a0}x\n\x1b[1md\x1b[0m\n\n  \n";
        assert_eq!(super::bottom(pane, 2), ["c x", "d"]);
        assert_eq!(super::bottom(pane, 10), ["a", "b", "c x", "d"]);
        assert!(super::bottom("\n\n", 5).is_empty());
        assert_eq!(super::bottom(pane, 10), super::lines(pane)[..4]);
    }

    /// The former `clean` (every character on its own): the oracle the faster one is
    /// checked against.
    fn clean_char_by_char(l: &str) -> String {
        let l = l.strip_suffix('\r').unwrap_or(l);
        // A carriage return inside a row redraws it: what is visible is after the last.
        let l = l.rsplit('\r').next().unwrap_or(l);
        if l.is_ascii() && !l.bytes().any(|b| b.is_ascii_control()) {
            return l.trim_end().to_string();
        }
        let mut out = String::with_capacity(l.len());
        let (mut last, mut run) = ('\0', 0usize);
        for c in l.chars() {
            let c = match c {
                '\t'
                | '\u{a0}'
                | '\u{2000}'..='\u{200a}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}' => ' ',
                '\u{2018}' | '\u{2019}' => '\'',
                c if c.is_control() => ' ',
                c => c,
            };
            run = if c == last { run + 1 } else { 1 };
            last = c;
            // A long run of one box-drawing or block character (a TUI's rules and borders) is
            // kept as three: the rules still see a border, at a tenth of the bytes to scan.
            if run > 3 && matches!(c, '\u{2500}'..='\u{259f}') {
                continue;
            }
            out.push(c);
        }
        out.truncate(out.trim_end().len());
        out
    }

    #[test]
    fn the_printable_prefix_stops_at_the_first_control_del_or_non_ascii_byte() {
        for stop in [0x00u8, 0x09, 0x1b, 0x1f, 0x7f, 0x80, 0xc3, 0xe2, 0xff] {
            for at in 0..20 {
                let mut b = vec![b'a'; 24];
                b[at] = stop;
                assert_eq!(super::printable_prefix(&b), at, "{stop:#x} at {at}");
            }
        }
        assert_eq!(super::printable_prefix(&[b' '; 19]), 19);
        assert_eq!(super::printable_prefix(b"~ !"), 3);
        assert_eq!(super::printable_prefix(b""), 0);
    }

    #[test]
    fn clean_copies_ascii_spans_as_the_char_by_char_cleaner_did() {
        let mut rows: Vec<String> = [
            "╭──────────╮",
            "│ > hi     │",
            "a\u{a0}──── b ────",
            "x─── ───── ─",
            "tab\there\x7f\x01 end  ",
            "You\u{2019}ve hit  ",
            "❯\u{a0}",
            " ─── ",
            "",
            "abc──────",
            "───abc",
            "\u{2500}\u{2500}\u{2500}\u{2500}a\u{2500}\u{2500}",
            "spin 1\rspin 2\rdone\r",
            "plain ascii",
            "   ",
            "é\u{3000}\u{2007}x",
            "──═══════──▀▀",
            "─",
            "──",
            "────",
            "x──\u{a0}──",
        ]
        .map(String::from)
        .to_vec();
        rows.push(format!("╭{}╮ {} ▄", "─".repeat(300), "━".repeat(5)));
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/panes");
        for e in std::fs::read_dir(dir).expect("fixtures").flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            rows.extend(text.split('\n').map(String::from));
        }
        assert!(rows.len() > 1000, "{} rows", rows.len());
        for r in &rows {
            assert_eq!(super::clean(r), clean_char_by_char(r), "{r:?}");
        }
    }

    #[test]
    fn long_box_rules_are_kept_short() {
        assert_eq!(super::line("╭──────────╮"), "╭───╮");
        assert_eq!(super::line("│ > hi     │"), "│ > hi     │");
    }

    #[test]
    fn strips_escapes_and_odd_spaces() {
        let pane =
            "\x1b[1mYou\u{2019}ve hit\x1b[0m\u{a0}your limit  \n❯\u{a0}\n\x1b]0;title\x07ok\r\n";
        assert_eq!(lines(pane), ["You've hit your limit", "❯", "ok", ""]);
        assert_eq!(lines("spin 1\rspin 2\rdone"), ["done"]);
    }
}
