//! The watchdog's event source: one tmux control-mode client (`tmux -C attach-session -f
//! no-output,ignore-size,read-only`) on a session of the fleet. It reports
//! `%sessions-changed` (a session was created or killed) and, through a `wait-for` command
//! it keeps pending, the fleet's [`super::wake_channel`] that every agent session signals
//! from its `pane-died` hook. Each report wakes the watchdog at once, so a session that dies
//! or is killed is restarted within a second whatever the light tick. Control mode has been
//! seen to wedge (tmux 3.6), so this only adds to the polling tick, never replaces it.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::{Tmux, TmuxError, target};

/// A running control-mode client; dropping it ends the client.
#[derive(Debug)]
pub struct Watcher {
    /// The session it is attached to.
    pub session: String,
    rx: mpsc::Receiver<()>,
    task: tokio::task::JoinHandle<()>,
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
        self.task.abort();
    }
}

impl Tmux {
    /// Attaches a control-mode client to `session` and reports fleet events (see the module
    /// doc). Errors when tmux cannot be started.
    pub fn watch(&self, session: &str, channel: &str) -> Result<Watcher, TmuxError> {
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
        .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TmuxError::NotInstalled,
            _ => TmuxError::Io(e),
        })?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(TmuxError::Io(std::io::Error::other("no pipes to tmux -C")));
        };
        let (tx, rx) = mpsc::channel(16);
        let wait = format!("wait-for {channel}\n");
        let task = tokio::spawn(async move {
            let _child = child;
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut words = line.split(' ');
                let wake = match words.next() {
                    Some("%sessions-changed") => true,
                    // The attach itself (flags 0) is done: only now send the wait-for (sent
                    // earlier, tmux 3.3a sometimes ran it before attaching and the client
                    // then never attached).
                    Some("%end") if words.clone().nth(2) == Some("0") => {
                        if stdin.write_all(wait.as_bytes()).await.is_err() {
                            return;
                        }
                        false
                    }
                    Some("%error") if words.clone().nth(2) == Some("0") => {
                        let _ = tx.try_send(());
                        return;
                    }
                    // The end of a command we sent (flags 1): our wait-for returned.
                    Some("%end" | "%error") if words.nth(2) == Some("1") => {
                        if stdin.write_all(wait.as_bytes()).await.is_err() {
                            return;
                        }
                        true
                    }
                    // The session it was attached to is gone: that too is news.
                    Some("%exit") => {
                        let _ = tx.try_send(());
                        return;
                    }
                    _ => false,
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
        })
    }
}
