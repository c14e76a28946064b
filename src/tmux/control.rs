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

use std::collections::{HashSet, VecDeque};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use super::{Tmux, TmuxError, format, target};

/// How often the client asks which panes are dead (a command on its own connection: no
/// process is started for it).
const POLL: Duration = Duration::from_millis(500);
/// Marks the lines of our pane poll in the client's output.
const DEAD_MARK: &str = "@agents-dead ";
/// At most this many commands sent and not yet answered: a client that stops answering
/// (control mode wedged) is sent no more, and [`Lister::list`] gets `None` at once.
const MAX_PENDING: usize = 8;

/// A running control-mode client; dropping it ends the client (SIGTERM and its standard
/// input closed: see the module doc).
#[derive(Debug)]
pub struct Watcher {
    /// The session it is attached to.
    pub session: String,
    rx: mpsc::Receiver<()>,
    lister: Lister,
    task: tokio::task::JoinHandle<()>,
    /// The client's pid; the task holds its [`tokio::process::Child`] unreaped while it runs,
    /// so the pid is not reused before the task ends.
    pid: Option<u32>,
}

/// Asks a [`Watcher`]'s client for the server's pane listing (`list-panes -a` in
/// [`format::LIST_FORMAT`]) on its own connection: no process is started. Cloned freely; a
/// lister of a client that has ended answers `None`.
#[derive(Debug, Clone)]
pub struct Lister(mpsc::Sender<oneshot::Sender<String>>);

impl Lister {
    /// The listing's text, as `tmux list-panes -a -F LIST_FORMAT` prints it; `None` when the
    /// client has ended, is not attached yet, has too many commands unanswered, or does not
    /// answer within `timeout`.
    pub async fn list(&self, timeout: Duration) -> Option<String> {
        let (tx, rx) = oneshot::channel();
        self.0.try_send(tx).ok()?;
        tokio::time::timeout(timeout, rx).await.ok()?.ok()
    }
}

#[cfg(test)]
impl Lister {
    /// A lister answering `text` to every ask (a test's stand-in for a control client).
    pub(crate) fn answering(text: &str) -> Self {
        let (tx, mut rx) = mpsc::channel::<oneshot::Sender<String>>(MAX_PENDING);
        let text = text.to_string();
        tokio::spawn(async move {
            while let Some(asker) = rx.recv().await {
                let _ = asker.send(text.clone());
            }
        });
        Self(tx)
    }
}

/// What a command sent to the client was, so its answer (the next `%begin` … `%end` block)
/// goes where it belongs.
#[derive(Debug)]
enum Pending {
    /// The dead-pane poll.
    Poll,
    /// A [`Lister::list`].
    List(oneshot::Sender<String>),
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

    /// A handle that asks this client for the pane listing (see [`Lister`]).
    pub fn lister(&self) -> Lister {
        self.lister.clone()
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
        let (list_tx, mut list_rx) = mpsc::channel::<oneshot::Sender<String>>(MAX_PENDING);
        let poll = format!("list-panes -a -F '{DEAD_MARK}#{{pane_id}}:#{{pane_dead}}'\n");
        let list = format!(
            "{}\n",
            super::script::line(&["list-panes", "-a", "-F", format::LIST_FORMAT])
        );
        let task = tokio::spawn(async move {
            let _child = child;
            let mut lines = BufReader::new(stdout).lines();
            let mut attached = false;
            let mut dead: HashSet<String> = HashSet::new();
            let mut seen: HashSet<String> = HashSet::new();
            // The commands sent and not answered yet, oldest first, and the block being read.
            let mut pending: VecDeque<Pending> = VecDeque::new();
            let mut block: Option<String> = None;
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                let line = tokio::select! {
                    l = lines.next_line() => match l {
                        Ok(Some(l)) => l,
                        _ => return,
                    },
                    _ = tick.tick() => {
                        if attached && pending.len() < MAX_PENDING {
                            if stdin.write_all(poll.as_bytes()).await.is_err() {
                                return;
                            }
                            pending.push_back(Pending::Poll);
                        }
                        continue;
                    }
                    Some(asker) = list_rx.recv() => {
                        // Not attached yet, or wedged: the asker gets `None` (dropped).
                        if attached && pending.len() < MAX_PENDING {
                            if stdin.write_all(list.as_bytes()).await.is_err() {
                                return;
                            }
                            pending.push_back(Pending::List(asker));
                        }
                        continue;
                    }
                };
                let mut words = line.split(' ');
                let first = words.next();
                // Our commands' blocks (flags 1); the attach's (flags 0) holds nothing.
                let ours = words.nth(2) == Some("1");
                let wake = match first {
                    Some("%begin") => {
                        if ours {
                            block = Some(String::new());
                        }
                        false
                    }
                    Some("%end") if !ours => {
                        // The attach is done: from now on, poll.
                        attached = true;
                        false
                    }
                    Some("%error") if !ours => {
                        let _ = tx.try_send(());
                        return;
                    }
                    Some(end @ ("%end" | "%error")) => {
                        let text = block.take().unwrap_or_default();
                        match pending.pop_front() {
                            // The end of one poll: a pane that is newly dead is news.
                            Some(Pending::Poll) => {
                                for l in text.lines() {
                                    if let Some(pane) =
                                        l.strip_prefix(DEAD_MARK).and_then(|r| r.strip_suffix(":1"))
                                    {
                                        seen.insert(pane.to_string());
                                    }
                                }
                                let news = seen.iter().any(|p| !dead.contains(p));
                                dead = std::mem::take(&mut seen);
                                news
                            }
                            Some(Pending::List(asker)) => {
                                if end == "%end" {
                                    let _ = asker.send(text);
                                }
                                false
                            }
                            None => false,
                        }
                    }
                    // The session it was attached to is gone: that too is news.
                    Some("%exit") if block.is_none() => {
                        let _ = tx.try_send(());
                        return;
                    }
                    Some("%sessions-changed") if block.is_none() => true,
                    _ => {
                        if let Some(b) = block.as_mut() {
                            b.push_str(&line);
                            b.push('\n');
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
            lister: Lister(list_tx),
            task,
            pid,
        })
    }
}
