//! Calls whose commands tmux reads from its standard input (`tmux source-file -`, tmux 3.2
//! and later) instead of its arguments: the client starts (and connects to the server)
//! before the caller knows what to ask, and the commands follow when it does. `status`
//! starts one before its config is read and writes the listing and the captures it needs
//! once it is: one tmux client instead of a listing and a chain of captures, overlapped with
//! the config (50 panes, tmux 3.3a, min of 40: the two calls 5.8 ms from a shell, this one
//! 4.2 ms; started 0.8 ms ahead of its commands, 0.6 ms more saved).
//!
//! The listing comes first, with each pane's height, and a marker line after it (a 128-bit
//! nonce: no pane can show it by chance). Then the captures, each on a line of its own (a
//! line is a command group: a capture that fails skips only itself), with a marker line
//! after every [`GROUP`] of them, not after each: a command costs the server about the same
//! whatever it does (tmux 3.3a, 200 sessions: 20–30 µs, most of it finding the current
//! session and client again for each command), and a marker per pane made a fifth of the
//! call (200 panes: 5 ms of 21). A pane's capture is as many lines as the pane is high, but
//! for a wrapped line, which `-J` joins to the next: a group whose lines add up to its panes'
//! heights is cut by them, any other is read again by `status` in a call of its own (see
//! [`Splitter`]). The last line prints the end marker: its line in the output says every
//! command ran, and the call's output is complete without waiting for the client to exit.
//!
//! A tmux that cannot read a script from its standard input (before 3.2: `-: No such file
//! or directory`) fails the call; [`SessionsScript::finish`] then makes the same reads with
//! a chained call ([`Tmux::start_sessions`]).

use std::collections::HashMap;
use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;

use super::{Sessions, Tmux, TmuxError, format, target};

/// How many captures share a marker line (see the module doc): 20 markers for 200 panes,
/// and a group with a wrapped line costs a call of 10 captures.
pub const GROUP: usize = 10;

/// A `tmux source-file -` client waiting for its commands (see the module doc). Dropped
/// without [`Self::sessions`], it is killed having done nothing: an ordinary client, which
/// the server survives (tmux 3.3a, 500 kills at random within its first 5 ms, before,
/// while and after it got its commands; a control-mode client killed so early crashes it,
/// see [`super::control`]).
#[derive(Debug)]
pub struct ScriptCall {
    child: Result<tokio::process::Child, TmuxError>,
}

/// A [`ScriptCall`] given the listing and captures `status` needs; [`Self::finish`] reads
/// them.
#[derive(Debug)]
pub struct SessionsScript {
    /// The client, `None` when the script could not be written (its commands are then made
    /// by a chained call).
    child: Option<tokio::process::Child>,
    /// The script's lines (shown in an error).
    lines: Vec<String>,
    /// The sessions captured, in order, and the marker printed after each [`GROUP`] of
    /// them.
    names: Vec<String>,
    markers: Vec<String>,
    /// The marker printed after the listing, and the one printed last.
    listed: String,
    end: String,
}

impl Tmux {
    /// Starts `tmux [-L socket] source-file -`, which waits for its commands (see the
    /// module doc). A failure to start it is reported by [`SessionsScript::finish`].
    pub fn start_script(&self) -> ScriptCall {
        let child = super::check_tmpdir().and_then(|()| {
            self.command(&["source-file".to_string(), "-".to_string()])
                .stdin(Stdio::piped())
                .spawn()
                .map_err(super::spawn_error)
        });
        ScriptCall { child }
    }
}

impl ScriptCall {
    /// Writes the script of a `status` read: the listing of every pane on the server with
    /// its height (`list-panes -a`), then a capture of the current pane of each session of
    /// `capture` (`capture-pane -p -J`), a group marker after every [`GROUP`] of them, and
    /// closes the client's input. The script is written at once when the pipe takes it (64
    /// KiB: about 500 panes), else by a task of its own.
    pub fn sessions(self, capture: &[String]) -> SessionsScript {
        let groups = capture.len().div_ceil(GROUP);
        let mut markers = super::capture_markers(groups + 2);
        let end = markers.pop().unwrap_or_default();
        let listed = markers.pop().unwrap_or_default();
        let mut lines = Vec::with_capacity(capture.len() + groups + 2);
        lines.push(format!(
            "{} ; {}",
            line(&["list-panes", "-a", "-F", format::SIZED_LIST_FORMAT]),
            mark(&listed)
        ));
        for (group, marker) in capture.chunks(GROUP).zip(&markers) {
            for name in group {
                let pane = target::pane(name);
                lines.push(line(&["capture-pane", "-p", "-J", "-t", &pane]));
            }
            lines.push(mark(marker));
        }
        lines.push(mark(&end));
        let script = lines.iter().fold(String::new(), |mut s, l| {
            s.push_str(l);
            s.push('\n');
            s
        });
        // A name tmux's parser cannot take on one line: the chained call reads it.
        let writable = !capture.iter().any(|n| n.contains(['\n', '\r', '\0']));
        let child = match self.child {
            Ok(mut child) if writable => child.stdin.take().map(|stdin| {
                write_script(stdin, script.into_bytes());
                child
            }),
            _ => None,
        };
        SessionsScript {
            child,
            lines,
            names: capture.to_vec(),
            markers,
            listed,
            end,
        }
    }
}

impl SessionsScript {
    /// Waits for the script: every session on the server and the text of each pane
    /// captured (by session name; a session whose capture failed, or whose group did not
    /// add up, is absent: see [`Splitter`]). A server that is not running gives no session.
    /// A script tmux cannot run (before 3.2), or a listing that failed, is made again as a
    /// chained call ([`Tmux::start_sessions`]).
    ///
    /// # Errors
    ///
    /// As [`super::SessionsCall::finish`].
    pub async fn finish(
        self,
        tmux: &Tmux,
    ) -> Result<(Sessions, HashMap<String, String>), TmuxError> {
        let mut splitter = Splitter::new(&self.listed, &self.end, &self.names, &self.markers);
        let out = match self.child {
            Some(child) => {
                let mut feed = |out: &[u8]| splitter.feed(out);
                tmux.read_until(child, &self.lines, Some(&mut feed))
                    .await
                    .map(drop)
            }
            None => Err(TmuxError::Io(std::io::Error::other("no script written"))),
        };
        match out {
            Ok(()) => {
                if let Some(parts) = splitter.done() {
                    return Ok(parts);
                }
            }
            Err(e) if e.is_no_server() => return Ok((Sessions::default(), HashMap::new())),
            Err(_) => {}
        }
        tmux.start_sessions(&self.names).finish(tmux).await
    }
}

/// Writes `script` to the client's input and closes it: at once when the pipe takes it
/// all, else the rest from a task (tmux reads its input only once its command runs).
fn write_script(mut stdin: tokio::process::ChildStdin, script: Vec<u8>) {
    use futures_util::FutureExt as _;
    let mut at = 0;
    while at < script.len() {
        match stdin.write(&script[at..]).now_or_never() {
            Some(Ok(n)) if n > 0 => at += n,
            // Closed (the client failed): `finish` reads its error.
            Some(_) => return,
            None => break,
        }
    }
    if at < script.len() {
        tokio::spawn(async move {
            let _ = stdin.write_all(&script[at..]).await;
        });
    }
}

/// One command of a script: every argument in single quotes (tmux's parser takes what is
/// inside literally: `;`, `#`, `$`, `~`, `\`, braces, tabs), a `'` inside written `'\''`.
pub(super) fn line(args: &[&str]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push('\'');
        out.push_str(&a.replace('\'', r"'\''"));
        out.push('\'');
    }
    out
}

/// The command that prints `marker` on a line of its own.
fn mark(marker: &str) -> String {
    line(&["display-message", "-p", &target::no_format(marker)])
}

/// Splits a script's output, fed as it comes (each line is looked at once), into the
/// listing, parsed, and each pane's text. The text of a group of panes runs from the
/// previous marker line to its own; a pane's capture is as many lines as the pane is high,
/// except that `-J` joins a wrapped line to the next one. So a group whose text has exactly
/// as many lines as its panes are high, together, had no wrapped line, and is cut pane by
/// pane (the listing and the captures ran in one go, without a turn of the server's event
/// loop between them: no pane changed size in between); any other group (a wrapped line, a
/// capture that failed, a session the listing does not show) gives none of its panes, which
/// `status` then captures in a call of their own.
struct Splitter<'a> {
    listed: &'a str,
    end: &'a str,
    names: &'a [String],
    /// Group markers by their text: the group's index.
    index: HashMap<&'a str, usize>,
    /// What every marker starts with (the nonce): a line without it is text.
    prefix: &'a str,
    /// The listing, once its marker is in, and the height of each session's current pane.
    listing: Option<(Sessions, HashMap<String, usize>)>,
    captured: HashMap<String, String>,
    /// Where the current group's text starts, and the first byte not yet looked at.
    start: usize,
    scanned: usize,
}

impl<'a> Splitter<'a> {
    fn new(listed: &'a str, end: &'a str, names: &'a [String], markers: &'a [String]) -> Self {
        Self {
            listed,
            end,
            names,
            index: markers
                .iter()
                .enumerate()
                .map(|(i, m)| (m.as_str(), i))
                .collect(),
            prefix: listed.rfind('-').map_or(listed, |cut| &listed[..cut]),
            listing: None,
            captured: HashMap::new(),
            start: 0,
            scanned: 0,
        }
    }

    /// Reads the lines of `out` (all the output so far) that came since the last call.
    /// True once the end marker's line is in.
    fn feed(&mut self, out: &[u8]) -> bool {
        while let Some(nl) = memchr::memchr(b'\n', &out[self.scanned..]) {
            let at = self.scanned;
            self.scanned += nl + 1;
            let line = &out[at..at + nl];
            if !line.starts_with(self.prefix.as_bytes()) {
                continue;
            }
            let Ok(line) = std::str::from_utf8(line) else {
                continue;
            };
            if line == self.end {
                return true;
            }
            let Some((_, heights)) = &self.listing else {
                if line == self.listed {
                    self.listing = Some(format::parse_sized(&super::utf8(&out[..at])));
                    self.start = self.scanned;
                }
                continue;
            };
            if let Some(&g) = self.index.get(line) {
                let group = self.names.chunks(GROUP).nth(g).unwrap_or_default();
                let text = super::utf8(&out[self.start..at]);
                for (name, pane) in cut_group(&text, group, heights) {
                    self.captured.insert(name.to_string(), pane.to_string());
                }
                self.start = self.scanned;
            }
        }
        false
    }

    /// The listing and the panes' texts; `None` when the listing's marker never came (the
    /// listing failed).
    fn done(self) -> Option<(Sessions, HashMap<String, String>)> {
        self.listing.map(|(sessions, _)| (sessions, self.captured))
    }
}

/// Cuts the text of one group of captures into its panes' texts (see [`Splitter`]): none
/// unless its lines are exactly as many as the panes `heights` knows are high.
fn cut_group<'t, 'n>(
    text: &'t str,
    group: &'n [String],
    heights: &HashMap<String, usize>,
) -> Vec<(&'n str, &'t str)> {
    let expected: usize = group.iter().filter_map(|n| heights.get(n)).sum();
    let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    if lines != expected || !(text.is_empty() || text.ends_with('\n')) {
        return Vec::new();
    }
    let mut rest = text;
    let mut panes = Vec::with_capacity(group.len());
    for name in group {
        let Some(&h) = heights.get(name) else {
            continue;
        };
        let cut = match h.checked_sub(1) {
            Some(last) => memchr::memchr_iter(b'\n', rest.as_bytes())
                .nth(last)
                .map_or(rest.len(), |i| i + 1),
            None => 0,
        };
        panes.push((name.as_str(), &rest[..cut]));
        rest = &rest[cut..];
    }
    panes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_closed_escaped_and_reopened() {
        assert_eq!(
            line(&["display-message", "-t", "=we'ird;#{x}:"]),
            r"'display-message' '-t' '=we'\''ird;#{x}:'"
        );
    }

    /// The script's output split as [`SessionsScript::finish`] splits it, fed a byte at a
    /// time (as a pipe may hand it over), then whole: the same panes.
    fn split(
        text: &str,
        listed: &str,
        names: &[String],
        markers: &[String],
    ) -> Option<(Sessions, HashMap<String, String>)> {
        let text = format!("{text}@@n-end\nafter the end\n");
        let mut whole = Splitter::new(listed, "@@n-end", names, markers);
        assert!(whole.feed(text.as_bytes()));
        let whole = whole.done();
        let mut splitter = Splitter::new(listed, "@@n-end", names, markers);
        let ended = (1..=text.len()).find(|&i| splitter.feed(&text.as_bytes()[..i]));
        assert_eq!(
            ended.map(|i| &text[..i]),
            text.find("@@n-end\n")
                .map(|at| &text[..at + "@@n-end\n".len()]),
        );
        let parts = splitter.done();
        assert_eq!(parts, whole);
        parts
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i}")).collect()
    }

    /// A sized listing line of a live current pane `height` lines high.
    fn listed(name: &str, height: usize) -> String {
        format!("{height}\t1\t1\t0\t\t\t10\tsleep\t{name}\n")
    }

    #[test]
    fn each_group_is_cut_by_its_panes_heights() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let markers = vec!["@@n-0".to_string()];
        let list = format!("{}{}", listed("a", 3), listed("c", 2));
        // b is not listed and printed nothing (its capture failed); c's text holds a line
        // that looks like a marker and is not one.
        let text = format!("{list}@@n-9\nA1\n\nA3\n@@n-1x\nC\n@@n-0\n");
        let (sessions, panes) = split(&text, "@@n-9", &names, &markers).expect("listed");
        assert!(sessions.is_live("a") && sessions.is_live("c"));
        assert_eq!(panes.get("a").map(String::as_str), Some("A1\n\nA3\n"));
        assert_eq!(panes.get("b"), None);
        assert_eq!(panes.get("c").map(String::as_str), Some("@@n-1x\nC\n"));
    }

    #[test]
    fn a_group_that_does_not_add_up_gives_none_of_its_panes() {
        // Two groups of panes one line high: the first shows a wrapped line (joined by -J:
        // one line short), the second is whole.
        let names = names(GROUP + 2);
        let markers = vec!["@@n-0".to_string(), "@@n-1".to_string()];
        let list: String = names.iter().map(|n| listed(n, 1)).collect();
        let first = (1..GROUP).fold(String::new(), |s, i| s + &format!("line {i}\n"));
        let text = format!("{list}@@n-9\n{first}@@n-0\nX\nY\n@@n-1\n");
        let (_, panes) = split(&text, "@@n-9", &names, &markers).expect("listed");
        assert_eq!(panes.len(), 2, "{panes:?}");
        assert_eq!(panes[&names[GROUP]], "X\n");
        assert_eq!(panes[&names[GROUP + 1]], "Y\n");
        // One line too many (a session the listing does not show printed one) is no better.
        let names = names[GROUP..].to_vec();
        let list = listed(&names[0], 1);
        let text = format!("{list}@@n-9\nX\nY\n@@n-0\n");
        let (_, panes) = split(&text, "@@n-9", &names, &markers).expect("listed");
        assert!(panes.is_empty(), "{panes:?}");
        // Nor is a last line without its newline (a wrapped bottom line).
        let list = format!("{}{}", listed(&names[0], 1), listed(&names[1], 1));
        let text = format!("{list}@@n-9\nX\nY@@n-0\n@@n-1\n");
        let (_, panes) = split(&text, "@@n-9", &names, &markers).expect("listed");
        assert!(panes.is_empty(), "{panes:?}");
    }

    #[test]
    fn the_script_captures_each_pane_on_its_own_line_and_marks_each_group() {
        let call = ScriptCall {
            child: Err(TmuxError::Io(std::io::Error::other("not started"))),
        };
        let script = call.sessions(&names(GROUP + 1));
        assert!(script.child.is_none());
        assert_eq!(script.markers.len(), 2);
        let captures = script
            .lines
            .iter()
            .filter(|l| l.starts_with("'capture-pane'"));
        assert!(
            captures.clone().all(|l| !l.contains(';')),
            "{:?}",
            script.lines
        );
        assert_eq!(captures.count(), GROUP + 1);
        assert_eq!(script.lines[GROUP + 1], mark(&script.markers[0]));
        assert_eq!(script.lines[GROUP + 3], mark(&script.markers[1]));
        assert_eq!(script.lines.last(), Some(&mark(&script.end)));
        assert!(
            script.lines[0].contains("pane_height"),
            "{}",
            script.lines[0]
        );
    }

    #[test]
    fn no_listing_marker_is_no_answer() {
        assert!(split("oops\n", "@@n-9", &[], &[]).is_none());
    }
}
