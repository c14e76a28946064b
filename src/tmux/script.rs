//! Calls whose commands tmux reads from its standard input (`tmux source-file -`, tmux 3.2
//! and later) instead of its arguments: the client starts (and connects to the server)
//! before the caller knows what to ask, and the commands follow when it does. `status`
//! starts one before its config is read and writes the listing and the captures it needs
//! once it is: one tmux client instead of a listing and a chain of captures, overlapped with
//! the config (50 panes, tmux 3.3a, min of 40: the two calls 5.8 ms from a shell, this one
//! 4.2 ms; started 0.8 ms ahead of its commands, 0.6 ms more saved).
//!
//! Each line of the script is a command group: a command that fails (a pane that died)
//! skips the rest of its line, not the lines after it. So every pane's capture is followed,
//! on its line, by a marker line of its own (a 128-bit nonce: no pane can show it by
//! chance), printed only when the capture succeeded; text before a pane's marker is that
//! pane's. The last line prints the end marker: its line in the output says every command
//! ran, and the call's output is complete without waiting for the client to exit.
//!
//! A tmux that cannot read a script from its standard input (before 3.2: `-: No such file
//! or directory`) fails the call; [`SessionsScript::finish`] then makes the same reads with
//! a chained call ([`Tmux::start_sessions`]).

use std::collections::HashMap;
use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;

use super::{Sessions, Tmux, TmuxError, format, target};

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
    /// The sessions captured, in order, and the marker printed after each one's text.
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
    /// Writes the script of a `status` read: the listing of every pane on the server
    /// (`list-panes -a`), then a capture of the current pane of each session of `capture`
    /// (`capture-pane -p -J`), and closes the client's input. The script is written at once
    /// when the pipe takes it (64 KiB: about 500 panes), else by a task of its own.
    pub fn sessions(self, capture: &[String]) -> SessionsScript {
        let mut markers = super::capture_markers(capture.len() + 2);
        let end = markers.pop().unwrap_or_default();
        let listed = markers.pop().unwrap_or_default();
        let mut lines = Vec::with_capacity(capture.len() + 2);
        lines.push(format!(
            "{} ; {}",
            line(&["list-panes", "-a", "-F", format::LIST_FORMAT]),
            mark(&listed)
        ));
        for (name, marker) in capture.iter().zip(&markers) {
            let pane = target::pane(name);
            lines.push(format!(
                "{} ; {}",
                line(&["capture-pane", "-p", "-J", "-t", &pane]),
                mark(marker)
            ));
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
    /// captured (by session name; a session whose capture failed is absent). A server that
    /// is not running gives no session. A script tmux cannot run (before 3.2), or a listing
    /// that failed, is made again as a chained call ([`Tmux::start_sessions`]).
    ///
    /// # Errors
    ///
    /// As [`super::SessionsCall::finish`].
    pub async fn finish(
        self,
        tmux: &Tmux,
    ) -> Result<(Sessions, HashMap<String, String>), TmuxError> {
        let out = match self.child {
            Some(child) => {
                tmux.wait_for_line(child, &self.lines, Some(&self.end))
                    .await
            }
            None => Err(TmuxError::Io(std::io::Error::other("no script written"))),
        };
        match out {
            Ok(text) => {
                if let Some(parts) = split(&text, &self.listed, &self.names, &self.markers) {
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

/// Splits a script's output (without its end marker) into the listing, parsed, and each
/// pane's text: the text before a pane's marker line, back to the previous marker line (or
/// the listing's). `None` when the listing's marker is missing (the listing failed).
fn split(
    text: &str,
    listed: &str,
    names: &[String],
    markers: &[String],
) -> Option<(Sessions, HashMap<String, String>)> {
    let index: HashMap<&str, usize> = markers
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    // Every marker starts with the same nonce prefix; a line without it is text.
    let prefix = listed.rfind('-').map_or(listed, |cut| &listed[..cut]);
    let mut list: Option<&str> = None;
    let mut captured = HashMap::new();
    let mut start = 0;
    let mut pos = 0;
    for l in text.split_inclusive('\n') {
        let at = pos;
        pos += l.len();
        if !l.starts_with(prefix) {
            continue;
        }
        let bare = l.strip_suffix('\n').unwrap_or(l);
        if list.is_none() {
            if bare == listed {
                list = Some(&text[..at]);
                start = pos;
            }
            continue;
        }
        if let Some(&i) = index.get(bare) {
            captured.insert(names[i].clone(), text[start..at].to_string());
            start = pos;
        }
    }
    Some((format::parse(list?), captured))
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

    #[test]
    fn each_pane_gets_the_text_before_its_marker() {
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let markers = vec![
            "@@n-0".to_string(),
            "@@n-1".to_string(),
            "@@n-2".to_string(),
        ];
        let list = "1\t1\t0\t\t\t10\tsleep\ta\n1\t1\t0\t\t\t11\tsleep\tc\n";
        // b's capture failed: no text, no marker; c's text mentions a marker-like line.
        let text = format!("{list}@@n-9\nA1\n\nA3\n@@n-0\n@@n-1x\nC\n@@n-2\n");
        let (sessions, panes) = split(&text, "@@n-9", &names, &markers).expect("listed");
        assert!(sessions.is_live("a") && sessions.is_live("c"));
        assert_eq!(panes.get("a").map(String::as_str), Some("A1\n\nA3\n"));
        assert_eq!(panes.get("b"), None);
        assert_eq!(panes.get("c").map(String::as_str), Some("@@n-1x\nC\n"));
    }

    #[test]
    fn no_listing_marker_is_no_answer() {
        assert!(split("oops\n", "@@n-9", &[], &[]).is_none());
    }
}
