//! Putting the operator's terminal on a session (`agents attach`): `attach-session`, or
//! `switch-client` when the terminal is already a client of the fleet's tmux server. The
//! target is exact (`=session`), the server the fleet's (`-L socket`).

use std::path::{Path, PathBuf};

/// How to attach: the tmux argv (without the program) and whether `$TMUX` must be removed
/// from its environment (a client of another tmux server nests one inside its pane; tmux
/// refuses that while `$TMUX` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attach {
    /// `tmux` and its arguments (`-L SOCKET`, `attach-session` or `switch-client`, `-t`, `-r`).
    pub argv: Vec<String>,
    /// Run it without `$TMUX` in its environment (attaching from inside another server).
    pub unset_tmux: bool,
}

/// The path of the socket that `tmux [-L socket]` uses: `$TMUX_TMPDIR` (else `/tmp`),
/// `tmux-<uid>`, then the socket name (else `default`).
pub fn socket_path(socket: Option<&str>, tmux_tmpdir: Option<&Path>, uid: u32) -> PathBuf {
    tmux_tmpdir
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("/tmp"))
        .join(format!("tmux-{uid}"))
        .join(socket.unwrap_or("default"))
}

/// The attach command for `session` on the server at `server` (`-L socket`, its socket path
/// `server_path`). `tmux_env` is `$TMUX` (`<socket path>,<pid>,<index>` inside tmux): when it
/// names the same server, the current client switches to the session (`switch-client`);
/// otherwise a client attaches (`attach-session`), nested when inside another server.
/// `read_only` adds `-r` (for `switch-client` tmux toggles the client's read-only flag).
pub fn plan(
    socket: Option<&str>,
    server_path: &Path,
    session: &str,
    read_only: bool,
    tmux_env: Option<&str>,
) -> Attach {
    let inside = tmux_env.filter(|v| !v.is_empty());
    let same_server = inside
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| Path::new(p) == server_path);
    let mut argv = Vec::new();
    if let Some(s) = socket {
        argv.extend(["-L".to_string(), s.to_string()]);
    }
    argv.push(
        if same_server {
            "switch-client"
        } else {
            "attach-session"
        }
        .to_string(),
    );
    if read_only {
        argv.push("-r".into());
    }
    argv.extend(["-t".to_string(), super::target::session(session)]);
    Attach {
        argv,
        unset_tmux: inside.is_some() && !same_server,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_path_follows_tmux() {
        assert_eq!(
            socket_path(Some("s"), Some(Path::new("/x")), 7),
            Path::new("/x/tmux-7/s")
        );
        assert_eq!(socket_path(None, None, 0), Path::new("/tmp/tmux-0/default"));
    }

    #[test]
    fn attach_switch_and_nested() {
        let p = Path::new("/x/tmux-7/s");
        let a = plan(Some("s"), p, "p-a", false, None);
        assert_eq!(a.argv, ["-L", "s", "attach-session", "-t", "=p-a"]);
        assert!(!a.unset_tmux);
        let a = plan(Some("s"), p, "p-a", true, Some("/x/tmux-7/s,123,0"));
        assert_eq!(a.argv, ["-L", "s", "switch-client", "-r", "-t", "=p-a"]);
        assert!(!a.unset_tmux);
        let a = plan(None, p, "p-a", true, Some("/tmp/tmux-7/default,1,0"));
        assert_eq!(a.argv, ["attach-session", "-r", "-t", "=p-a"]);
        assert!(a.unset_tmux);
    }
}
