//! Terminal output as readable text lines: the pane's bytes replayed on a small
//! line-oriented terminal, so that what `agents logs` prints is what the screen showed last
//! rather than every redraw.
//!
//! The bytes are parsed by `vte` (the escape-sequence parser of the Alacritty terminal), and
//! the sequences that move the cursor or erase are applied to a growing list of lines:
//! `\r` and `\b`, `ESC[K` (erase in line), `ESC[nA`/`B`/`C`/`D`/`E`/`F`/`G` (cursor moves),
//! `ESC[J` (erase below), `ESC M` (reverse index) and cursor save/restore. So a spinner
//! redrawn in place (`\r\033[K✶ Working… (3s)`) shows as one line in its last state, and a
//! TUI that erases its previous frame by moving up (as Ink-based CLIs do) shows its last
//! frame. Colours, titles and every other sequence are dropped. A `\n` also returns to
//! column 0 (a log may hold output written without a terminal).
//!
//! Limits: the cursor never moves above the first line of the bytes given (a redraw that
//! reaches further up is clamped), absolute row positioning (`ESC[row;colH`) keeps the row,
//! and every character takes one column (wide characters are not measured). Memory is the
//! size of the text rendered.

/// Renders `raw` (a pane's output) as text: one `\n`-separated line per terminal line,
/// trailing spaces removed. Invalid UTF-8 is shown as `�`. A final `\n` is kept.
pub fn render(raw: &[u8]) -> String {
    let mut t = Lines::default();
    let mut parser = vte::Parser::new();
    parser.advance(&mut t, raw);
    let mut out = String::with_capacity(raw.len());
    for (i, line) in t.lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let s: String = line.iter().collect();
        out.push_str(s.trim_end_matches(' '));
    }
    out
}

/// The line-oriented terminal: the lines drawn so far and the cursor.
#[derive(Debug, Default)]
struct Lines {
    lines: Vec<Vec<char>>,
    row: usize,
    col: usize,
    saved: Option<(usize, usize)>,
}

impl Lines {
    /// The line under the cursor (created, with the lines before it, when missing).
    fn line(&mut self) -> &mut Vec<char> {
        while self.lines.len() <= self.row {
            self.lines.push(Vec::new());
        }
        &mut self.lines[self.row]
    }

    fn down(&mut self, n: usize) {
        self.row += n;
        self.line();
    }

    fn up(&mut self, n: usize) {
        self.row = self.row.saturating_sub(n);
    }
}

impl vte::Perform for Lines {
    fn print(&mut self, c: char) {
        let col = self.col;
        let line = self.line();
        if line.len() < col {
            line.resize(col, ' ');
        }
        if col < line.len() {
            line[col] = c;
        } else {
            line.push(c);
        }
        self.col += 1;
    }

    fn execute(&mut self, byte: u8) {
        match byte {
            b'\n' | 0x0b | 0x0c => {
                self.col = 0;
                self.down(1);
            }
            b'\r' => self.col = 0,
            0x08 => self.col = self.col.saturating_sub(1),
            b'\t' => self.col = (self.col / 8 + 1) * 8,
            _ => {}
        }
    }

    fn csi_dispatch(
        &mut self,
        params: &vte::Params,
        intermediates: &[u8],
        _ignore: bool,
        action: char,
    ) {
        if !intermediates.is_empty() {
            return; // private modes (`ESC[?25l`, …): nothing to draw
        }
        let first = params.iter().next().and_then(|p| p.first().copied());
        // A count: missing or 0 means 1.
        let n = usize::from(first.unwrap_or(1).max(1));
        let mode = first.unwrap_or(0);
        match action {
            'K' => {
                let col = self.col;
                let line = self.line();
                match mode {
                    0 => line.truncate(col),
                    1 => {
                        for c in line.iter_mut().take(col + 1) {
                            *c = ' ';
                        }
                    }
                    _ => line.clear(),
                }
            }
            'J' if mode == 0 => {
                let col = self.col;
                self.line().truncate(col);
                self.lines.truncate(self.row + 1);
            }
            'A' => self.up(n),
            'B' => self.down(n),
            'C' => self.col += n,
            'D' => self.col = self.col.saturating_sub(n),
            'E' => {
                self.down(n);
                self.col = 0;
            }
            'F' => {
                self.up(n);
                self.col = 0;
            }
            'G' | '`' => self.col = n - 1,
            'H' | 'f' => {
                let col = params.iter().nth(1).and_then(|p| p.first().copied());
                self.col = usize::from(col.unwrap_or(1).max(1)) - 1;
            }
            's' => self.saved = Some((self.row, self.col)),
            'u' => {
                if let Some((r, c)) = self.saved {
                    (self.row, self.col) = (r, c);
                }
            }
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        if !intermediates.is_empty() {
            return;
        }
        match byte {
            b'M' => self.up(1),
            b'D' => self.down(1),
            b'E' => {
                self.down(1);
                self.col = 0;
            }
            b'7' => self.saved = Some((self.row, self.col)),
            b'8' => {
                if let Some((r, c)) = self.saved {
                    (self.row, self.col) = (r, c);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn colours_are_dropped_and_carriage_returns_overwrite() {
        assert_eq!(
            render(b"\x1b[1;32mok\x1b[0m\r\n10%\r50%\r100%\ndone\n"),
            "ok\n100%\ndone\n"
        );
        assert_eq!(render(b"abcdef\rXY\n"), "XYcdef\n");
        assert_eq!(render(b"\xff\n"), "\u{fffd}\n");
        assert_eq!(render(b""), "");
        assert_eq!(render(b"a\nb"), "a\nb");
        assert_eq!(render(b"\x1b]0;title\x07x\x1b[?25l\n"), "x\n");
    }

    #[test]
    fn a_spinner_redrawn_in_place_shows_its_last_state() {
        let mut raw = Vec::new();
        for i in 1..=12 {
            raw.extend(
                format!("\r\x1b[K✶ Working on the kickoff… ({i}s · esc to interrupt)").bytes(),
            );
        }
        assert_eq!(
            render(&raw),
            "✶ Working on the kickoff… (12s · esc to interrupt)"
        );
        // The demo agent erases its spinner and writes a shorter line over it.
        raw.extend(b"\r\x1b[K[12:00:01] idle\n");
        assert_eq!(render(&raw), "[12:00:01] idle\n");
    }

    #[test]
    fn a_frame_erased_by_moving_up_shows_only_the_last_frame() {
        // Ink's eraseLines: ESC[2K, then ESC[1A ESC[2K per line above, then ESC[G.
        let erase3 = "\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K\x1b[G";
        let raw = format!(
            "before\n╭─ frame 1\n│ ⠋ thinking\n╰─{erase3}╭─ frame 2\n│ ⠙ thinking\n╰─ done\nafter\n"
        );
        assert_eq!(
            render(raw.as_bytes()),
            "before\n╭─ frame 2\n│ ⠙ thinking\n╰─ done\nafter\n"
        );
        // Clamped at the first line: never a panic.
        assert_eq!(render(b"x\x1b[99A\x1b[99Dy\n"), "y\n");
    }

    #[test]
    fn erase_modes_and_cursor_moves() {
        assert_eq!(render(b"abcdef\x1b[3D\x1b[K\n"), "abc\n");
        assert_eq!(render(b"abcdef\x1b[3D\x1b[1K\n"), "    ef\n");
        assert_eq!(render(b"abcdef\x1b[2KX\n"), "      X\n");
        assert_eq!(render(b"a\nb\nc\x1b[2A\x1b[J\n"), "a\n");
        assert_eq!(render(b"a\tb\x1b[5GZ\n"), "a   Z   b\n");
        assert_eq!(render(b"one\x1b7\ntwo\x1b8!\n"), "one!\ntwo");
    }
}
