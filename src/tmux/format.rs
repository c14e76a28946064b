//! The one `list-panes -a -F` call that answers "which sessions exist and what do they run"
//! for the whole server, and its parser.

use std::collections::HashMap;

/// Fields requested from tmux, tab-separated; the session name comes last so that it may
/// contain anything but a newline.
pub const LIST_FORMAT: &str = "#{window_active}\t#{pane_active}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_dead_signal}\t#{pane_pid}\t#{pane_current_command}\t#{session_name}";

/// What the current pane of one session is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaneInfo {
    /// The pane's process has exited (the session is kept by `remain-on-exit`).
    pub dead: bool,
    /// Exit status of a dead pane, when tmux knows it.
    pub dead_status: Option<i32>,
    /// The signal that killed a dead pane's process, when tmux knows it
    /// (`#{pane_dead_signal}`, tmux 3.3 and later; empty before).
    pub dead_signal: Option<i32>,
    /// Pid of the pane's process.
    pub pid: Option<u32>,
    /// `#{pane_current_command}`: the foreground process name (e.g. `claude`, `bash`).
    pub command: String,
}

/// Every session on the server, by name, with its current pane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sessions {
    /// False when no tmux server is running on the socket.
    pub server_running: bool,
    /// Each session's current pane, by session name.
    pub by_name: HashMap<String, PaneInfo>,
}

impl Sessions {
    /// The session's current pane, if the session exists.
    pub fn get(&self, name: &str) -> Option<&PaneInfo> {
        self.by_name.get(name)
    }

    /// True when the session exists and its pane process is alive.
    pub fn is_live(&self, name: &str) -> bool {
        self.get(name).is_some_and(|p| !p.dead)
    }
}

/// [`LIST_FORMAT`] after each pane's height in lines (`#{pane_height}`): the listing of a
/// `status` script ([`super::script`]), which splits the captures that follow it by their
/// panes' heights.
pub const SIZED_LIST_FORMAT: &str = "#{pane_height}\t#{window_active}\t#{pane_active}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_dead_signal}\t#{pane_pid}\t#{pane_current_command}\t#{session_name}";

/// Parses `list-panes -a -F LIST_FORMAT` output. Keeps, per session, the active pane of the
/// active window (what `=name:` targets); malformed lines are skipped.
pub fn parse(out: &str) -> Sessions {
    parse_lines(out, false).0
}

/// Parses `list-panes -a -F SIZED_LIST_FORMAT` output: the sessions as [`parse`] gives
/// them, and the height in lines of each one's current pane (the pane `=name:` targets),
/// by session name.
pub fn parse_sized(out: &str) -> (Sessions, HashMap<String, usize>) {
    parse_lines(out, true)
}

/// [`parse`], with each line's first field a height when `sized`.
fn parse_lines(out: &str, sized: bool) -> (Sessions, HashMap<String, usize>) {
    let mut by_name: HashMap<String, (bool, PaneInfo, Option<usize>)> = HashMap::new();
    for line in out.lines() {
        let (height, line) = if sized {
            match line.split_once('\t') {
                Some((h, rest)) => (h.parse().ok(), rest),
                None => continue,
            }
        } else {
            (None, line)
        };
        let f: Vec<&str> = line.splitn(8, '\t').collect();
        let [
            win_active,
            pane_active,
            dead,
            status,
            signal,
            pid,
            cmd,
            name,
        ] = f[..]
        else {
            continue;
        };
        let current = win_active == "1" && pane_active == "1";
        let info = PaneInfo {
            dead: dead == "1",
            dead_status: status.parse().ok(),
            dead_signal: signal.parse().ok(),
            pid: pid.parse().ok(),
            command: cmd.to_string(),
        };
        match by_name.get(name) {
            Some((true, _, _)) => {}
            _ => {
                by_name.insert(name.to_string(), (current, info, height));
            }
        }
    }
    let mut heights = HashMap::new();
    let by_name = by_name
        .into_iter()
        .map(|(k, (_, v, h))| {
            if let Some(h) = h {
                heights.insert(k.clone(), h);
            }
            (k, v)
        })
        .collect();
    (
        Sessions {
            server_running: true,
            by_name,
        },
        heights,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_current_pane_and_reads_dead_status() {
        let out = "0\t1\t0\t\t\t11\tbash\tp-a\n1\t1\t1\t127\t\t12\tclaude\tp-a\n1\t1\t0\t\t\t13\tsleep\tp b\tx\n1\t1\t1\t\t15\t14\tsleep\tp-c\n";
        let s = parse(out);
        let a = s.get("p-a").unwrap();
        assert!(a.dead);
        assert_eq!(a.dead_status, Some(127));
        assert_eq!(a.command, "claude");
        assert!(!s.is_live("p-a"));
        assert!(s.is_live("p b\tx"));
        assert_eq!(s.get("p b\tx").unwrap().pid, Some(13));
        let c = s.get("p-c").unwrap();
        assert_eq!(
            (c.dead, c.dead_status, c.dead_signal),
            (true, None, Some(15))
        );
    }

    #[test]
    fn the_sized_listing_is_the_listing_after_a_height() {
        assert_eq!(
            SIZED_LIST_FORMAT,
            format!("#{{pane_height}}\t{LIST_FORMAT}")
        );
        let out = "24\t0\t1\t0\t\t\t11\tbash\tp-a\n40\t1\t1\t0\t\t\t12\tclaude\tp-a\n7\t1\t0\t0\t\t\t13\tsleep\tp-a\nx\t1\t1\t0\t\t\t14\tsleep\tp-b\n";
        let (s, heights) = parse_sized(out);
        assert_eq!(s.get("p-a").map(|p| p.pid), Some(Some(12)));
        assert_eq!(heights.get("p-a"), Some(&40), "the current pane's height");
        assert!(s.is_live("p-b"));
        assert_eq!(heights.get("p-b"), None, "no height read");
        assert_eq!(parse_sized("1\t1\t0").0.by_name.len(), 0);
    }
}
