//! One reading of a pane for typing: its text, its rows and where its cursor is, taken in
//! one tmux invocation (`display-message ; capture-pane ; display-message ; capture-pane
//! -J`), so the cursor and the text belong to the same instant (tmux runs one client's
//! command list without reading pane output in between).

/// Where a pane's cursor is, as tmux reports it (`#{cursor_x}` … `#{alternate_on}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cursor {
    /// Column, 0-based, in cells.
    pub x: u32,
    /// Row, 0-based from the top of the visible pane.
    pub y: u32,
    /// `#{cursor_flag}`: the program shows the cursor (a TUI that draws its own hides it).
    pub visible: bool,
    /// `#{history_size}`: lines scrolled off the top so far; `history + y` is the cursor's
    /// line counted from the start of the pane's output (while on the main screen).
    pub history: u64,
    /// `#{pane_height}`: the visible pane's height, in rows.
    pub height: u32,
    /// `#{pane_width}`: the visible pane's width, in cells.
    pub width: u32,
}

impl Cursor {
    /// The cursor's line counted from the start of the pane's output (`history + y`).
    pub fn line(&self) -> u64 {
        self.history + u64::from(self.y)
    }
}

/// A pane read with its cursor (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Screen {
    /// The visible text with wrapped lines joined (`capture-pane -J`), as
    /// [`super::Tmux::capture`] returns it: what detection reads.
    pub text: String,
    /// The visible rows, top to bottom, as drawn (not joined; trailing blanks trimmed by
    /// tmux): row `cursor.y` is the cursor's.
    pub rows: Vec<String>,
    /// Where the cursor is and whether it shows, with the pane's size and scrollback.
    pub cursor: Cursor,
    /// `#{pane_dead}`: the pane's program has exited.
    pub dead: bool,
    /// `#{pane_pid}`: the pane's program; another one means the pane was restarted.
    pub pid: Option<u32>,
    /// `#{pane_tty}`: the pane's terminal device (`/dev/pts/N`); `None` when tmux gives none.
    pub tty: Option<String>,
}

/// The format of the first `display-message`: the marker, then the cursor fields.
pub(crate) fn format(marker: &str) -> String {
    format!(
        "{marker} #{{cursor_x}} #{{cursor_y}} #{{cursor_flag}} #{{history_size}} #{{pane_height}} #{{pane_width}} #{{pane_dead}} #{{pane_pid}} #{{pane_tty}}"
    )
}

/// Parses the output of the chained commands: `m0 fields`, the rows, `m1`, the joined text.
/// `None` when the output does not have that shape.
pub(crate) fn parse(out: &str, m0: &str, m1: &str) -> Option<Screen> {
    let mut lines = out.split('\n');
    let head = lines.next()?.strip_prefix(m0)?;
    let f: Vec<&str> = head.split_whitespace().collect();
    let (x, y, flag, hist, h, w, dead, pid, tty) = match f[..] {
        [x, y, flag, hist, h, w, dead, pid] => (x, y, flag, hist, h, w, dead, pid, None),
        [x, y, flag, hist, h, w, dead, pid, tty] => (x, y, flag, hist, h, w, dead, pid, Some(tty)),
        _ => return None,
    };
    let cursor = Cursor {
        x: x.parse().ok()?,
        y: y.parse().ok()?,
        visible: flag == "1",
        history: hist.parse().ok()?,
        height: h.parse().ok()?,
        width: w.parse().ok()?,
    };
    let mut rows = Vec::new();
    let mut found = false;
    for l in lines.by_ref() {
        if l == m1 {
            found = true;
            break;
        }
        rows.push(l.to_string());
    }
    if !found {
        return None;
    }
    let text = lines.collect::<Vec<_>>().join("\n");
    Some(Screen {
        text,
        rows,
        cursor,
        dead: dead == "1",
        pid: pid.parse().ok(),
        tty: tty.map(String::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_chained_output() {
        let out = "@@m0@@ 4 2 1 10 8 40 0 77\npy> hello\ngot hello\npy>\n\n@@m1@@\npy> hello\ngot hello\npy>\n";
        let s = parse(out, "@@m0@@", "@@m1@@").unwrap();
        assert_eq!(s.rows, ["py> hello", "got hello", "py>", ""]);
        assert_eq!(s.cursor.line(), 12);
        assert!(s.cursor.visible && !s.dead);
        assert_eq!(s.pid, Some(77));
        assert_eq!(s.tty, None);
        assert_eq!((s.cursor.x, s.cursor.width, s.cursor.height), (4, 40, 8));
        assert_eq!(s.text, "py> hello\ngot hello\npy>\n");
        let with_tty = "@@m0@@ 4 2 1 10 8 40 0 77 /dev/pts/3\npy>\n@@m1@@\npy>\n";
        let t = parse(with_tty, "@@m0@@", "@@m1@@").unwrap();
        assert_eq!((t.pid, t.tty.as_deref()), (Some(77), Some("/dev/pts/3")));
        assert!(parse("x 1 2", "@@m0@@", "@@m1@@").is_none());
        assert!(
            parse(
                "@@m0@@ 4 2 1 10 8 40 0 77\nno end marker\n",
                "@@m0@@",
                "@@m1@@"
            )
            .is_none()
        );
    }
}
