//! What the pane of a program that exited still shows (tmux keeps it with `remain-on-exit`):
//! the last lines the program printed, quoted in the restart event and in `status` ("its
//! program exited with status 1: --dangerously-skip-permissions cannot be used with
//! root/sudo privileges", Claude Code 2.1.330 run as root), and the exit status from the line
//! tmux 3.3 draws under it (`Pane is dead (status 1, Fri Dec  4 15:11:04 2026)`), for when
//! `#{pane_dead_status}` lost it. Pure.

use std::sync::LazyLock;

use regex::Regex;

use super::normalize;

/// At most this many of the last non-empty lines are quoted.
pub const LAST_LINES: usize = 3;
/// A quote is cut to this many characters (an ellipsis marks the cut).
pub const MAX_CHARS: usize = 300;

/// tmux's own line under a dead pane (`remain-on-exit-format`, tmux 3.3a: "Pane is dead
/// (status 1, <date>)", or "(signal 9, …)").
static TMUX_DEAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Pane is dead(?: \((?:status (\d+)|signal (\d+))?[^)]*\))?").expect("compiles")
});

/// What a dead pane shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exited {
    /// The exit status in tmux's "Pane is dead (status N, …)" line, if it drew one.
    pub status: Option<i32>,
    /// The signal in tmux's "Pane is dead (signal N, …)" line: the program was killed.
    pub signal: Option<i32>,
    /// The last lines the program printed (up to [`LAST_LINES`] non-empty ones, joined with
    /// ` / `, cut to [`MAX_CHARS`]); `None` when it printed nothing.
    pub last: Option<String>,
}

/// Reads the captured text of a dead pane.
pub fn read(pane: &str) -> Exited {
    let mut status = None;
    let mut signal = None;
    let mut last: Vec<String> = Vec::new();
    for l in normalize::lines(pane).into_iter().rev() {
        let t = l.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(c) = TMUX_DEAD.captures(t) {
            if status.is_none() && signal.is_none() {
                status = c.get(1).and_then(|m| m.as_str().parse().ok());
                signal = c.get(2).and_then(|m| m.as_str().parse().ok());
            }
            continue;
        }
        last.push(t.to_string());
        if last.len() >= LAST_LINES {
            break;
        }
    }
    last.reverse();
    let text = last.join(" / ");
    let last = (!text.is_empty()).then(|| {
        if text.chars().count() > MAX_CHARS {
            let cut: String = text.chars().take(MAX_CHARS - 1).collect();
            format!("{cut}…")
        } else {
            text
        }
    });
    Exited {
        status,
        signal,
        last,
    }
}

/// The reason of a restart of a program that exited: `its program exited with status 1: <its
/// last lines>` (or `its program was killed by signal 9: …`).
pub fn reason(e: &Exited, status: Option<i32>) -> String {
    let mut r = match (status.or(e.status), e.signal) {
        (Some(s), _) => format!("its program exited with status {s}"),
        (None, Some(n)) => format!("its program was killed by signal {n}"),
        (None, None) => "its program exited".to_string(),
    };
    let last = e.last.as_deref();
    if let Some(l) = last {
        r.push_str(": ");
        r.push_str(l);
    }
    r
}

/// An exit whose status tmux reported, remembered per agent for [`reason_after`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The exit status tmux reported (`#{pane_dead_status}`).
    pub status: i32,
}

/// As [`reason`], for an agent whose previous exit is `before`. tmux 3.3a sometimes reports
/// a dead pane with neither status nor signal (the pane's output ended before tmux reaped
/// the process, and the status never arrived): the status of the exit before is then named,
/// as that — a crash loop's later restarts keep saying how the program exits. (The last
/// lines are not compared: tmux 3.3a may also drop the first line a pane prints.)
pub fn reason_after(e: &Exited, status: Option<i32>, before: Option<&Known>) -> String {
    match before {
        Some(k) if status.or(e.status).is_none() && e.signal.is_none() => {
            let mut r = format!("its program exited (status {} the time before)", k.status);
            if let Some(l) = &e.last {
                r.push_str(": ");
                r.push_str(l);
            }
            r
        }
        _ => reason(e, status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_lines_are_quoted_and_tmux_own_line_is_not() {
        let pane = "some banner\n\n--dangerously-skip-permissions cannot be used with root/sudo privileges\n\nPane is dead (status 1, Fri Dec  4 15:11:04 2026)\n\n\n";
        let e = read(pane);
        assert_eq!(e.status, Some(1));
        assert_eq!(
            e.last.as_deref(),
            Some(
                "some banner / --dangerously-skip-permissions cannot be used with root/sudo privileges"
            )
        );
        assert_eq!(
            reason(&e, None),
            "its program exited with status 1: some banner / --dangerously-skip-permissions cannot be used with root/sudo privileges"
        );
        assert_eq!(reason(&Exited::default(), None), "its program exited");
        assert_eq!(
            reason(&Exited::default(), Some(2)),
            "its program exited with status 2"
        );
    }

    #[test]
    fn a_lost_status_is_told_from_the_exit_before_with_the_same_lines() {
        let e = read("boom\n");
        let k = Known { status: 1 };
        assert_eq!(
            reason_after(&e, None, Some(&k)),
            "its program exited (status 1 the time before): boom"
        );
        assert_eq!(
            reason_after(&e, Some(2), Some(&k)),
            "its program exited with status 2: boom"
        );
        let killed = read("Pane is dead (signal 9, Fri Dec  4 15:11:04 2026)\n");
        assert_eq!(
            reason_after(&killed, None, Some(&k)),
            "its program was killed by signal 9"
        );
        assert_eq!(reason_after(&e, None, None), "its program exited: boom");
    }

    #[test]
    fn empty_signalled_and_long_panes() {
        assert_eq!(read(""), Exited::default());
        let e = read("Pane is dead (signal 9, Fri Dec  4 15:11:04 2026)\n");
        assert_eq!(
            (e.status, e.signal, e.last.as_deref()),
            (None, Some(9), None)
        );
        assert_eq!(reason(&e, None), "its program was killed by signal 9");
        let e = read("1\n2\n3\n4\n\x1b[31mred\x1b[0m\n");
        assert_eq!(e.last.as_deref(), Some("3 / 4 / red"));
        let long = "x".repeat(1000);
        let e = read(&long);
        assert_eq!(e.last.unwrap().chars().count(), MAX_CHARS);
    }
}
