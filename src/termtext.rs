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
//! [`render`] renders bytes read at once (a log's last lines); [`Stream`] renders output as
//! it arrives (`agents logs` following) and hands out a line only once no redraw seen so
//! far could still change it: a program that never moves the cursor up gets each line as it
//! ends, a TUI's lines are held while they are within the height of the frame it redraws,
//! so a spinner or a status box is not printed once per tick.
//!
//! A full-screen TUI on the alternate screen (`ESC[?1049h`) is drawn below the lines so far,
//! with absolute rows (`ESC[row;colH`) counted from its top; its last frame stays when it
//! leaves, and a [`Stream`] hands out none of its lines while it is on.
//!
//! Limits: the cursor never moves above the first line not yet handed out (a redraw that
//! reaches further up is clamped), absolute row positioning off the alternate screen keeps
//! the row,
//! and every character takes one column (wide characters are not measured). A line wraps
//! at [`MAX_COLS`] columns, and a [`Stream`] holds at most [`MAX_REACH`] lines, so its
//! memory is bounded; [`render`]'s is the size of the text rendered.

/// A line wraps after this many columns (a program that never ends its line is handed out
/// in pieces rather than held without bound).
pub(crate) const MAX_COLS: usize = 16 * 1024;

/// The most lines a [`Stream`] holds back for redraws (a taller frame is handed out as it
/// scrolls past this).
pub(crate) const MAX_REACH: usize = 200;

/// Renders output as it arrives; see the module doc.
pub(crate) struct Stream {
    parser: vte::Parser,
    t: Lines,
}

impl Default for Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Stream {
    /// A stream at the start of a line, holding nothing.
    pub(crate) fn new() -> Self {
        Self {
            parser: vte::Parser::new(),
            t: Lines::default(),
        }
    }

    /// Feeds `bytes`; returns the lines that no redraw can change any more, each ended by
    /// `\n` (empty when none), trailing spaces removed.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> String {
        self.parser.advance(&mut self.t, bytes);
        let t = &mut self.t;
        let done = t
            .row
            .saturating_sub(t.reach())
            .min(t.lines.len())
            .min(t.screen_top.unwrap_or(usize::MAX));
        let mut out = String::new();
        for line in t.lines.drain(..done) {
            let s: String = line.into_iter().collect();
            out.push_str(s.trim_end_matches(' '));
            out.push('\n');
        }
        t.row -= done;
        t.screen_top = t.screen_top.map(|top| top - done);
        t.saved = t.saved.map(|(r, c)| (r.saturating_sub(done), c));
        out
    }
}

/// Renders `raw` (a pane's output) as text: one `\n`-separated line per terminal line,
/// trailing spaces removed. Invalid UTF-8 is shown as `�`. A final `\n` is kept.
pub(crate) fn render(raw: &[u8]) -> String {
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
#[allow(clippy::struct_field_names)] // `Lines::lines`: the terminal's lines, as drawn
struct Lines {
    lines: Vec<Vec<char>>,
    row: usize,
    col: usize,
    saved: Option<(usize, usize)>,
    /// How far up the current redraw reached (lines above the last one), while the cursor
    /// moves up; recorded in `recent` at the next character or line feed.
    reach_now: usize,
    /// How far up the last [`RECENT`] redraws reached: a frame redrawn once in a while (a
    /// full-screen repaint) does not hold lines back for ever.
    recent: std::collections::VecDeque<usize>,
    /// The first line of the alternate screen while a full-screen TUI is on it.
    screen_top: Option<usize>,
    /// How far the cursor was moved up past the first line held (clamped there), since the
    /// last character or line feed: lines already handed out that a redraw meant to reach.
    overshoot: usize,
}

/// The rows of an alternate screen: a session's pane height.
const SCREEN_ROWS: usize = crate::tmux::SESSION_SIZE.1 as usize;

/// How many recent redraws decide how many lines a [`Stream`] holds back.
const RECENT: usize = 32;

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
        // The alternate screen scrolls at its bottom: its first line is lost.
        if let Some(top) = self.screen_top {
            let bottom = top + SCREEN_ROWS - 1;
            if self.row > bottom {
                let k = self.row - bottom;
                let end = (top + k).min(self.lines.len());
                self.lines.drain(top.min(end)..end);
                self.row = bottom;
            }
        }
        self.line();
    }

    fn up(&mut self, n: usize) {
        self.overshoot += n.saturating_sub(self.row);
        self.row = self.row.saturating_sub(n);
        self.note_reach();
    }

    fn note_reach(&mut self) {
        let below = self.lines.len().saturating_sub(self.row + 1);
        self.reach_now = self.reach_now.max(below + self.overshoot).min(MAX_REACH);
    }

    /// The end of a cursor-up run (a character or a line feed): its reach is recorded.
    fn drawn(&mut self) {
        self.overshoot = 0;
        if self.reach_now > 0 {
            if self.recent.len() == RECENT {
                self.recent.pop_front();
            }
            self.recent.push_back(std::mem::take(&mut self.reach_now));
        }
    }

    /// Enters (`on`) or leaves the alternate screen. Its frames are drawn below the lines so
    /// far (absolute rows count from there), and its last frame stays when it is left, as a
    /// TUI's last state.
    fn alt_screen(&mut self, on: bool) {
        if on {
            if self.screen_top.is_none() {
                // Below the cursor's line, or on it when it is empty.
                let used = self.lines.get(self.row).is_some_and(|l| !l.is_empty());
                let top = self.row + usize::from(used);
                self.screen_top = Some(top);
                (self.row, self.col) = (top, 0);
            }
        } else if self.screen_top.take().is_some() {
            (self.row, self.col) = (self.lines.len(), 0);
        }
    }

    /// Absolute row `n` (1-based): on the alternate screen, counted from its top; elsewhere
    /// the row is kept (where the screen starts is not known).
    fn go_row(&mut self, n: usize) {
        if let Some(top) = self.screen_top {
            self.row = top + n.min(SCREEN_ROWS) - 1;
        }
    }

    /// How many lines above the cursor a redraw may still change.
    fn reach(&self) -> usize {
        self.recent
            .iter()
            .copied()
            .chain([self.reach_now])
            .max()
            .unwrap_or(0)
    }

    fn restore(&mut self) {
        if let Some((r, c)) = self.saved {
            (self.row, self.col) = (r, c);
            self.note_reach();
        }
    }
}

impl vte::Perform for Lines {
    fn print(&mut self, c: char) {
        self.drawn();
        if self.col >= MAX_COLS {
            self.col = 0;
            self.down(1);
        }
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
                self.drawn();
                self.col = 0;
                self.down(1);
            }
            b'\r' => self.col = 0,
            0x08 => self.col = self.col.saturating_sub(1),
            b'\t' => self.col = ((self.col / 8 + 1) * 8).min(MAX_COLS),
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
        if intermediates == b"?" && matches!(action, 'h' | 'l') {
            let alt = params
                .iter()
                .any(|p| matches!(p.first(), Some(47 | 1047 | 1049)));
            if alt {
                self.alt_screen(action == 'h');
            }
            return;
        }
        if !intermediates.is_empty() {
            return; // other private modes (`ESC[?25l`, …): nothing to draw
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
            // On the alternate screen, a clear starts the frame again.
            'J' if mode == 2 || mode == 3 => {
                if let Some(top) = self.screen_top {
                    self.lines.truncate(top);
                    self.row = self.row.max(top);
                }
            }
            'A' => self.up(n),
            'B' => self.down(n),
            'C' => self.col = (self.col + n).min(MAX_COLS),
            'D' => self.col = self.col.saturating_sub(n),
            'E' => {
                self.down(n);
                self.col = 0;
            }
            'F' => {
                self.up(n);
                self.col = 0;
            }
            'G' | '`' => self.col = (n - 1).min(MAX_COLS),
            'H' | 'f' => {
                let col = params.iter().nth(1).and_then(|p| p.first().copied());
                self.col = (usize::from(col.unwrap_or(1).max(1)) - 1).min(MAX_COLS);
                self.go_row(n);
            }
            'd' => self.go_row(n),
            's' => self.saved = Some((self.row, self.col)),
            'u' => self.restore(),
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
            b'8' => self.restore(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_COLS, MAX_REACH, Stream, render};

    #[test]
    fn a_stream_hands_out_plain_lines_as_they_end() {
        let mut s = Stream::new();
        assert_eq!(s.feed(b"one\ntw"), "one\n");
        assert_eq!(s.feed(b"o\n"), "two\n");
        // A spinner: nothing until its line ends, then its last state.
        assert_eq!(s.feed(b"\r\x1b[K(1s)"), "");
        assert_eq!(s.feed(b"\r\x1b[K(2s)"), "");
        assert_eq!(s.feed(b"\r\x1b[Kidle\n"), "idle\n");
        // A line that never ends is handed out in pieces.
        let long = vec![b'y'; MAX_COLS + 10];
        assert_eq!(s.feed(&long).len(), MAX_COLS + 1);
    }

    #[test]
    fn a_stream_holds_a_redrawn_frame_until_it_scrolls_away() {
        let erase3 = "\x1b[2K\x1b[1A\x1b[2K\x1b[1A\x1b[2K\x1b[G";
        let mut s = Stream::new();
        let mut out = s.feed("static 1\n╭ box\n│ ⠋ 1s\n╰".as_bytes());
        // Before any redraw, nothing says the box will be redrawn.
        assert_eq!(out, "static 1\n╭ box\n│ ⠋ 1s\n");
        for i in 2..=9 {
            out += &s.feed(format!("{erase3}╭ box\n│ ⠋ {i}s\n╰").as_bytes());
        }
        // The redraws reach 2 lines up: the frame is held from now on.
        assert_eq!(out, "static 1\n╭ box\n│ ⠋ 1s\n", "{out}");
        // Static output printed above the frame (Ink's <Static>), then the frame again.
        out += &s.feed(format!("{erase3}static 2\nstatic 3\n╭ box\n│ done\n╰").as_bytes());
        assert_eq!(
            out, "static 1\n╭ box\n│ ⠋ 1s\nstatic 2\nstatic 3\n",
            "{out}"
        );
        out += &s.feed(format!("{erase3}static 4\n\n\n\n").as_bytes());
        assert!(out.contains("static 3\nstatic 4\n"), "{out}");
        assert!(!out.contains("done") && !out.contains("2s"), "{out}");
        // One full repaint holds lines back only until RECENT smaller redraws followed it.
        let mut s = Stream::new();
        s.feed(&b"x\n".repeat(50));
        s.feed(b"\x1b[50Ax\n");
        assert_eq!(s.feed(&b"y\n".repeat(60)).matches('\n').count(), 11);
        for i in 0..super::RECENT {
            s.feed(format!("\x1b[1A\x1b[2Kspin {i}\n").as_bytes());
        }
        assert!(s.t.lines.len() <= 3, "{}", s.t.lines.len());
        // Bounded: a reach past MAX_REACH is clamped, so are the lines held.
        let mut s = Stream::new();
        s.feed(format!("x\x1b[{}A", MAX_REACH * 2).as_bytes());
        let out = s.feed(&b"y\n".repeat(MAX_REACH * 3));
        assert_eq!(out.matches('y').count(), MAX_REACH * 2, "{}", out.len());
        assert!(s.t.lines.len() <= MAX_REACH + 1);
    }

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
    fn a_full_screen_tui_shows_its_last_frame() {
        let frame = |n: u32| format!("\x1b[2J\x1b[H┌ app\x1b[3;1H│ frame {n}\x1b[50;1Hstatus {n}");
        let mut raw = b"$ run app\n\x1b[?1049h".to_vec();
        for n in 1..=3 {
            raw.extend(frame(n).bytes());
        }
        let on = render(&raw);
        assert!(on.starts_with("$ run app\n┌ app\n\n│ frame 3\n"), "{on:?}");
        assert!(
            on.ends_with("\nstatus 3") && !on.contains("frame 2"),
            "{on:?}"
        );
        raw.extend(b"\x1b[?1049lbye\n");
        assert!(
            render(&raw).ends_with("status 3\nbye\n"),
            "{:?}",
            render(&raw)
        );
        // Followed: nothing of the screen while it is on, the last frame when it is left.
        let mut s = Stream::new();
        let mut out = s.feed(b"$ run app\n\x1b[?1049h");
        for n in 1..=3 {
            out += &s.feed(frame(n).as_bytes());
        }
        assert_eq!(out, "$ run app\n");
        out += &s.feed(b"\x1b[?1049lbye\n");
        assert!(
            out.contains("│ frame 3\n") && !out.contains("frame 1"),
            "{out:?}"
        );
        // The alternate screen scrolls at its bottom: bounded.
        let mut s = Stream::new();
        s.feed(b"\x1b[?1049h");
        s.feed(&b"line\n".repeat(1000));
        assert!(s.t.lines.len() <= super::SCREEN_ROWS, "{}", s.t.lines.len());
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
