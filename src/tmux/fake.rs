//! An in-memory [`Mux`] for tests: sessions whose screens a test writes, that record every
//! session started, renamed and killed and every text and key sent, so the watchdog's tick
//! and typing run in-process (under `#[tokio::test(start_paused = true)]`) without tmux.
//!
//! A pane is rows of text and a cursor. By default typed or pasted text is appended at the
//! cursor, and `Enter` (or `C-m`) moves the cursor to a new empty row below, as a line
//! reader's terminal shows it; [`FakeMux::on_input`] replaces that with the test's own
//! reaction (a TUI that clears its input box, a program that exits on a key). Panes have no
//! process (`pid` is `None` unless a test sets one), so nothing outside the test is ever
//! signalled.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::mux::{Mux, MuxFuture};
use super::{Cursor, PaneInfo, Screen, SessionSpec, Sessions, TmuxError};

/// One fake session's current pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePane {
    /// The visible rows, top to bottom.
    pub rows: Vec<String>,
    /// The cursor (`x`, `y` in cells and rows; the pane is [`super::SESSION_SIZE`]).
    pub cursor: Cursor,
    /// The pane's program exited (the session is kept, as by `remain-on-exit`).
    pub dead: bool,
    /// The exit status of a dead pane, when "tmux" knows it.
    pub dead_status: Option<i32>,
    /// `None` by default: no real process stands behind a fake pane.
    pub pid: Option<u32>,
    /// `#{pane_current_command}`.
    pub command: String,
    /// `#{pane_tty}`; `None` by default (not a line-mode terminal).
    pub tty: Option<String>,
}

impl FakePane {
    /// A live pane running `command` and showing `text`, the cursor after its last row.
    pub fn new(command: &str, text: &str) -> Self {
        let (w, h) = super::SESSION_SIZE;
        let mut p = Self {
            rows: Vec::new(),
            cursor: Cursor {
                x: 0,
                y: 0,
                visible: true,
                history: 0,
                height: h,
                width: w,
            },
            dead: false,
            dead_status: None,
            pid: None,
            command: command.to_string(),
            tty: None,
        };
        p.show(text);
        p
    }

    /// Shows `text` (rows split at newlines), the cursor at the end of its last row.
    pub fn show(&mut self, text: &str) {
        self.rows = text.split('\n').map(str::to_string).collect();
        self.cursor.y = cells(self.rows.len() - 1);
        self.cursor.x = self.rows.last().map_or(0, |r| cells(r.chars().count()));
    }

    /// The rows joined with newlines: what `capture-pane -p -J` prints.
    pub fn text(&self) -> String {
        self.rows.join("\n")
    }

    /// The pane read as [`Mux::screen`] returns it.
    pub fn screen(&self) -> Screen {
        Screen {
            text: self.text(),
            rows: self.rows.clone(),
            cursor: self.cursor,
            dead: self.dead,
            pid: self.pid,
            tty: self.tty.clone(),
        }
    }

    /// The program exits with `status`, as tmux shows a dead pane.
    pub fn exit(&mut self, status: i32) {
        self.dead = true;
        self.dead_status = Some(status);
        self.rows.push(format!(
            "Pane is dead (status {status}, Sat Dec  5 08:00:00 2026)"
        ));
    }

    /// What a line reader's terminal shows for `op`: text at the cursor, a new row on Enter.
    fn default_input(&mut self, op: &Op) {
        match op {
            Op::Text { text, .. } | Op::Paste { text, .. } => {
                let y = self.cursor.y as usize;
                while self.rows.len() <= y {
                    self.rows.push(String::new());
                }
                self.rows[y].push_str(text);
                self.cursor.x = cells(self.rows[y].chars().count());
            }
            Op::Key { key, .. } if key == "Enter" || key == "C-m" => {
                self.rows.truncate(self.cursor.y as usize + 1);
                self.rows.push(String::new());
                self.cursor.y += 1;
                self.cursor.x = 0;
            }
            _ => {}
        }
    }
}

/// A count of rows or cells as tmux reports it (`u32`); a fake screen never holds more.
fn cells(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What was asked of a [`FakeMux`], in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A session started with this argv (a pane that was replaced too).
    Start {
        /// The session name.
        session: String,
        /// Program and arguments, as tmux would exec them.
        argv: Vec<String>,
    },
    /// A session renamed.
    Rename {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A session killed (one that did not exist is not recorded).
    Kill {
        /// The session name.
        session: String,
    },
    /// Text typed literally (control characters already replaced by spaces).
    Text {
        /// The session name.
        session: String,
        /// What was typed.
        text: String,
    },
    /// Text pasted.
    Paste {
        /// The session name.
        session: String,
        /// What was pasted, whole.
        text: String,
    },
    /// One key pressed (a tmux key name).
    Key {
        /// The session name.
        session: String,
        /// The tmux key name (e.g. `Enter`, `C-m`, `1`).
        key: String,
    },
}

/// How a test's panes react to input: `(session, what was sent, its pane)`.
type Reaction = Box<dyn FnMut(&str, &Op, &mut FakePane) + Send>;

#[derive(Default)]
struct Inner {
    panes: BTreeMap<String, FakePane>,
    ops: Vec<Op>,
    react: Option<Reaction>,
    /// Whether a server "runs" (`Sessions::server_running`); true unless a test says not.
    down: bool,
}

/// An in-memory terminal multiplexer (see the module doc).
#[derive(Default)]
pub struct FakeMux {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for FakeMux {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = self.lock();
        f.debug_struct("FakeMux")
            .field("panes", &i.panes)
            .field("ops", &i.ops)
            .finish()
    }
}

fn gone(what: &str, name: &str) -> TmuxError {
    TmuxError::Failed {
        args: format!("{what} -t ={name}:"),
        stderr: format!("can't find session: {name}"),
    }
}

impl FakeMux {
    /// No sessions, nothing recorded, the default reaction to input.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds (or replaces) session `name` with pane `pane`.
    pub fn add(&self, name: &str, pane: FakePane) {
        self.lock().panes.insert(name.to_string(), pane);
    }

    /// Runs `f` on session `name`'s pane (to script its screen); `None` when there is none.
    pub fn with_pane<R>(&self, name: &str, f: impl FnOnce(&mut FakePane) -> R) -> Option<R> {
        self.lock().panes.get_mut(name).map(f)
    }

    /// A copy of session `name`'s pane.
    pub fn pane(&self, name: &str) -> Option<FakePane> {
        self.lock().panes.get(name).cloned()
    }

    /// Everything asked so far, in order.
    pub fn ops(&self) -> Vec<Op> {
        self.lock().ops.clone()
    }

    /// The keys pressed in `session`, in order.
    pub fn keys(&self, session: &str) -> Vec<String> {
        self.ops()
            .into_iter()
            .filter_map(|o| match o {
                Op::Key { session: s, key } if s == session => Some(key),
                _ => None,
            })
            .collect()
    }

    /// The texts typed or pasted into `session`, in order.
    pub fn typed(&self, session: &str) -> Vec<String> {
        self.ops()
            .into_iter()
            .filter_map(|o| match o {
                Op::Text { session: s, text } | Op::Paste { session: s, text } if s == session => {
                    Some(text)
                }
                _ => None,
            })
            .collect()
    }

    /// The sessions started (`Start`) so far, in order.
    pub fn started(&self) -> Vec<String> {
        self.ops()
            .into_iter()
            .filter_map(|o| match o {
                Op::Start { session, .. } => Some(session),
                _ => None,
            })
            .collect()
    }

    /// The sessions killed so far, in order.
    pub fn killed(&self) -> Vec<String> {
        self.ops()
            .into_iter()
            .filter_map(|o| match o {
                Op::Kill { session } => Some(session),
                _ => None,
            })
            .collect()
    }

    /// Replaces the default reaction to text and keys (see the module doc) with `f`, called
    /// with the session, what was sent and its pane after each send.
    pub fn on_input(&self, f: impl FnMut(&str, &Op, &mut FakePane) + Send + 'static) {
        self.lock().react = Some(Box::new(f));
    }

    /// Records `op` into `session` and lets its pane react; `Err` when the session is gone.
    fn input(&self, session: &str, op: Op) -> Result<(), TmuxError> {
        let mut i = self.lock();
        let Inner {
            panes, ops, react, ..
        } = &mut *i;
        let Some(pane) = panes.get_mut(session) else {
            return Err(gone("send-keys", session));
        };
        match react {
            Some(f) => f(session, &op, pane),
            None => pane.default_input(&op),
        }
        ops.push(op);
        Ok(())
    }

    fn list(&self) -> Sessions {
        let i = self.lock();
        Sessions {
            server_running: !i.down,
            by_name: i
                .panes
                .iter()
                .map(|(k, p)| {
                    let info = PaneInfo {
                        dead: p.dead,
                        dead_status: p.dead_status,
                        dead_signal: None,
                        pid: p.pid,
                        command: p.command.clone(),
                    };
                    (k.clone(), info)
                })
                .collect(),
        }
    }

    fn start_now(&self, specs: &[SessionSpec]) -> Vec<Result<(), TmuxError>> {
        let mut i = self.lock();
        specs
            .iter()
            .map(|s| {
                if i.panes.contains_key(&s.name) && !s.replace {
                    return Err(TmuxError::Failed {
                        args: format!("new-session -s {}", s.name),
                        stderr: format!("duplicate session: {}", s.name),
                    });
                }
                let command = s
                    .argv
                    .first()
                    .map_or("", |a| a.rsplit('/').next().unwrap_or(a));
                i.panes.insert(s.name.clone(), FakePane::new(command, ""));
                i.ops.push(Op::Start {
                    session: s.name.clone(),
                    argv: s.argv.clone(),
                });
                Ok(())
            })
            .collect()
    }
}

impl Mux for FakeMux {
    fn sessions(&self) -> MuxFuture<'_, Result<Sessions, TmuxError>> {
        let s = self.list();
        Box::pin(async move { Ok(s) })
    }
    fn screen<'a>(&'a self, name: &'a str) -> MuxFuture<'a, Result<Screen, TmuxError>> {
        let s = self
            .pane(name)
            .map(|p| p.screen())
            .ok_or_else(|| gone("display-message", name));
        Box::pin(async move { s })
    }
    fn capture<'a>(&'a self, name: &'a str) -> MuxFuture<'a, Result<String, TmuxError>> {
        let s = self
            .pane(name)
            .map(|p| p.text())
            .ok_or_else(|| gone("capture-pane", name));
        Box::pin(async move { s })
    }
    fn capture_many_with<'a>(
        &'a self,
        names: &'a [String],
        _scrolled: &'a [String],
    ) -> MuxFuture<'a, HashMap<String, String>> {
        let i = self.lock();
        let out = names
            .iter()
            .filter_map(|n| Some((n.clone(), i.panes.get(n)?.text())))
            .collect();
        Box::pin(async move { out })
    }
    fn start<'a>(&'a self, specs: &'a [SessionSpec]) -> MuxFuture<'a, Vec<Result<(), TmuxError>>> {
        let r = self.start_now(specs);
        Box::pin(async move { r })
    }
    fn rename<'a>(
        &'a self,
        from: &'a str,
        to: &'a SessionSpec,
    ) -> MuxFuture<'a, Result<(), TmuxError>> {
        let mut i = self.lock();
        let r = if i.panes.contains_key(&to.name) {
            Err(TmuxError::Failed {
                args: format!("rename-session -t ={from} {}", to.name),
                stderr: format!("duplicate session: {}", to.name),
            })
        } else if let Some(p) = i.panes.remove(from) {
            i.panes.insert(to.name.clone(), p);
            i.ops.push(Op::Rename {
                from: from.to_string(),
                to: to.name.clone(),
            });
            Ok(())
        } else {
            Err(gone("rename-session", from))
        };
        Box::pin(async move { r })
    }
    fn kill<'a>(&'a self, names: &'a [String]) -> MuxFuture<'a, Result<(), TmuxError>> {
        let mut i = self.lock();
        for n in names {
            if i.panes.remove(n).is_some() {
                i.ops.push(Op::Kill { session: n.clone() });
            }
        }
        Box::pin(async move { Ok(()) })
    }
    fn send_text<'a>(
        &'a self,
        name: &'a str,
        text: &'a str,
    ) -> MuxFuture<'a, Result<(), TmuxError>> {
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let op = Op::Text {
            session: name.to_string(),
            text: clean,
        };
        let r = self.input(name, op);
        Box::pin(async move { r })
    }
    fn paste<'a>(&'a self, name: &'a str, text: &'a str) -> MuxFuture<'a, Result<(), TmuxError>> {
        let op = Op::Paste {
            session: name.to_string(),
            text: text.to_string(),
        };
        let r = self.input(name, op);
        Box::pin(async move { r })
    }
    fn send_key<'a>(&'a self, name: &'a str, key: &'a str) -> MuxFuture<'a, Result<(), TmuxError>> {
        let op = Op::Key {
            session: name.to_string(),
            key: key.to_string(),
        };
        let r = self.input(name, op);
        Box::pin(async move { r })
    }
    fn send_keys_many<'a>(&'a self, presses: &'a [(String, String)]) -> MuxFuture<'a, ()> {
        for (s, k) in presses {
            let _ = self.input(
                s,
                Op::Key {
                    session: s.clone(),
                    key: k.clone(),
                },
            );
        }
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fake_pane_takes_text_at_its_cursor_and_answers_as_tmux_does() {
        let m = FakeMux::new();
        m.add("s", FakePane::new("bash", "$ "));
        m.send_text("s", "echo\thi").await.unwrap();
        let s = m.screen("s").await.unwrap();
        assert_eq!(s.rows, ["$ echo hi"]);
        assert_eq!((s.cursor.x, s.cursor.y), (9, 0));
        m.send_key("s", "Enter").await.unwrap();
        assert_eq!(m.screen("s").await.unwrap().cursor.y, 1);
        assert_eq!(m.keys("s"), ["Enter"]);
        assert_eq!(m.typed("s"), ["echo hi"]);
        // A session that is not there is "gone", as tmux's error reads.
        assert!(m.send_key("t", "Enter").await.unwrap_err().is_gone());
        assert!(m.capture("t").await.unwrap_err().is_gone());
        // Starting over a session needs `replace`; killing records only what existed.
        let spec = |replace| SessionSpec {
            name: "s".into(),
            cwd: ".".into(),
            argv: vec!["/bin/prog".into()],
            env: vec![],
            log: "l".into(),
            log_max_bytes: 0,
            log_files: 0,
            mark: None,
            replace,
            wake: None,
        };
        assert!(m.start(&[spec(false)]).await[0].is_err());
        assert!(m.start(&[spec(true)]).await[0].is_ok());
        assert_eq!(
            m.sessions().await.unwrap().get("s").unwrap().command,
            "prog"
        );
        m.kill(&["s".into(), "t".into()]).await.unwrap();
        assert_eq!(m.started(), ["s"]);
        assert_eq!(m.killed(), ["s"]);
        assert!(m.sessions().await.unwrap().by_name.is_empty());
    }
}
