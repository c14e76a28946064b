//! The watchdog's event source: one tmux control-mode client (`tmux -C attach-session -f
//! no-output,ignore-size,read-only`) on a session of the fleet. It reports
//! `%sessions-changed` (a session was created or killed) at once, and every 500 ms it asks,
//! on its own connection (no process started), which panes are dead: a pane newly dead is
//! reported too. (The `pane-died` hook on each session is not enough: tmux 3.3a loses the
//! exit status of a third to a half of quickly exiting panes, and then runs no hook.) Each
//! report wakes the watchdog at once, so a session that dies or is killed is restarted within
//! a second whatever the light tick. Control mode has been seen to wedge (tmux 3.6), so this
//! only adds to the polling tick, never replaces it.
//!
//! The client is never killed: it is ended with SIGTERM (the tmux client's own orderly exit:
//! it tells the server it is leaving) and its standard input closed. A control client
//! killed (SIGKILL) a millisecond or two into its attach crashes tmux 3.3a's *server* (a NULL
//! dereference: every session on it gone); seen with `watchdog --once`, which attached one
//! and exited at once, after 67 runs on a 200-session server, and with a bare `tmux -C
//! attach-session` killed after 1 ms, after 18 runs on a one-session server. Closing its
//! input alone is not enough: a client whose reader went away with a command's output
//! pending stays attached for good (73 of 150 watchdogs stopped within 130 ms of their
//! start left one). SIGTERM ended every one, in 600 tries inside the attach's first 2 ms,
//! and crashed nothing.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::{Tmux, TmuxError, target};

/// How often the client asks which panes are dead (a command on its own connection: no
/// process is started for it).
const POLL: Duration = Duration::from_millis(500);
/// Marks the lines of our pane poll in the client's output.
const DEAD_MARK: &str = "@agents-dead ";

/// A running control-mode client; dropping it ends the client (SIGTERM and its standard
/// input closed: see the module doc).
#[derive(Debug)]
pub struct Watcher {
    /// The session it is attached to.
    pub session: String,
    rx: mpsc::Receiver<()>,
    task: tokio::task::JoinHandle<()>,
    /// The client's pid; the task holds its [`tokio::process::Child`] unreaped while it runs,
    /// so the pid is not reused before the task ends.
    pid: Option<u32>,
}

impl Watcher {
    /// Waits for the next report; `None` once the client has ended (its session was killed,
    /// or the server stopped): start another.
    pub async fn next(&mut self) -> Option<()> {
        let got = self.rx.recv().await;
        // Collapse a burst (a kill of many sessions) into one wake.
        while self.rx.try_recv().is_ok() {}
        got
    }

    /// Whether the client is still running.
    pub fn alive(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if !self.task.is_finished()
            && let Some(pid) = self.pid.and_then(|p| i32::try_from(p).ok())
        {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        self.task.abort();
    }
}

impl Tmux {
    /// Attaches a control-mode client to `session` and reports fleet events (see the module
    /// doc).
    ///
    /// # Errors
    ///
    /// [`TmuxError::NotInstalled`] or [`TmuxError::Io`] when tmux cannot be started, or
    /// `$TMUX_TMPDIR` names a missing directory.
    pub fn watch(&self, session: &str) -> Result<Watcher, TmuxError> {
        super::check_tmpdir()?;
        let mut cmd = tokio::process::Command::new("tmux");
        cmd.arg("-u");
        if let Some(s) = self.socket() {
            cmd.arg("-L").arg(s);
        }
        cmd.args([
            "-C",
            "attach-session",
            "-f",
            "no-output,ignore-size,read-only",
            "-t",
            &target::session(session),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Never killed (see the module doc): `Watcher`'s drop ends it.
        .kill_on_drop(false);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TmuxError::NotInstalled,
            _ => TmuxError::Io(e),
        })?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(TmuxError::Io(std::io::Error::other("no pipes to tmux -C")));
        };
        let pid = child.id();
        let (tx, rx) = mpsc::channel(16);
        let poll = format!("list-panes -a -F '{DEAD_MARK}#{{pane_id}}:#{{pane_dead}}'\n");
        let task = tokio::spawn(async move {
            let _child = child;
            let mut lines = BufReader::new(stdout).lines();
            let mut attached = false;
            let mut dead: HashSet<String> = HashSet::new();
            let mut seen: HashSet<String> = HashSet::new();
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                let line = tokio::select! {
                    l = lines.next_line() => match l {
                        Ok(Some(l)) => l,
                        _ => return,
                    },
                    _ = tick.tick() => {
                        if attached && stdin.write_all(poll.as_bytes()).await.is_err() {
                            return;
                        }
                        continue;
                    }
                };
                let mut words = line.split(' ');
                let wake = match words.next() {
                    Some("%sessions-changed") => true,
                    // The attach (flags 0) is done: from now on, poll.
                    Some("%end") if words.nth(2) == Some("0") => {
                        attached = true;
                        false
                    }
                    Some("%error") if words.nth(2) == Some("0") => {
                        let _ = tx.try_send(());
                        return;
                    }
                    // The end of one poll: a pane that is newly dead is news.
                    Some("%end" | "%error") => {
                        let news = seen.iter().any(|p| !dead.contains(p));
                        dead = std::mem::take(&mut seen);
                        news
                    }
                    // The session it was attached to is gone: that too is news.
                    Some("%exit") => {
                        let _ = tx.try_send(());
                        return;
                    }
                    _ => {
                        if let Some(pane) = line
                            .strip_prefix(DEAD_MARK)
                            .and_then(|r| r.strip_suffix(":1"))
                        {
                            seen.insert(pane.to_string());
                        }
                        false
                    }
                };
                if wake {
                    let _ = tx.try_send(());
                }
            }
        });
        Ok(Watcher {
            session: session.to_string(),
            rx,
            task,
            pid,
        })
    }
}
