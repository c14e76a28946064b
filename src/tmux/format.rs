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

/// Parses `list-panes -a -F LIST_FORMAT` output. Keeps, per session, the active pane of the
/// active window (what `=name:` targets); malformed lines are skipped.
pub fn parse(out: &str) -> Sessions {
    let mut by_name: HashMap<String, (bool, PaneInfo)> = HashMap::new();
    for line in out.lines() {
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
            Some((true, _)) => {}
            _ => {
                by_name.insert(name.to_string(), (current, info));
            }
        }
    }
    Sessions {
        server_running: true,
        by_name: by_name.into_iter().map(|(k, (_, v))| (k, v)).collect(),
    }
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
}
