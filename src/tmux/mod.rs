//! SPEC §3 — the tmux driver, the only code that runs `tmux`.
//!
//! Every call goes to one server: the default one, or `tmux -L <socket>` when the config or
//! `$AGENTS_TMUX_SOCKET` names a private one. Every call has a timeout. Sessions are started
//! from an argv (tmux execs it without a shell, SPEC defect 12), targets are exact
//! (`=name`, `=name:`), and many sessions are queried, started, captured or killed with one
//! tmux invocation by chaining commands with `;`.

pub mod attach;
pub mod control;
pub mod fake;
pub mod format;
pub mod mux;
pub mod relay;
pub mod screen;
pub mod script;
pub mod target;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use format::{PaneInfo, Sessions};
pub use mux::{Mux, MuxFuture};
pub use screen::{Cursor, Screen};

/// tmux keeps one client message under 16 KiB; chains are cut well below that.
const MAX_CHAIN_BYTES: usize = 12 * 1024;

/// New sessions are this wide and tall (a detached session is 80x24 by default): banners and
/// fatal lines rarely wrap, and what wraps is joined again by `capture-pane -J`.
pub const SESSION_SIZE: (u32, u32) = (200, 50);

/// The `wait-for` channel a fleet's sessions signal when their program exits (a `pane-died`
/// hook set on each of the fleet's own sessions, never globally), for scripts that want to
/// wait for it (`tmux wait-for agents-wake-<prefix>`; tmux 3.3a skips the hook when it loses
/// an exit status, so the watchdog polls instead): `agents-wake-<prefix>`, with anything but
/// letters, digits, `-` and `_` replaced by `_`.
pub fn wake_channel(session_prefix: &str) -> String {
    let clean: String = session_prefix
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("agents-wake-{clean}")
}

/// How long one tmux call may take before it is abandoned: `$AGENTS_TMUX_TIMEOUT` seconds
/// (fractions allowed, more than 0), else 10 s. A value that is not a positive number is
/// ignored with a warning naming the variable.
pub fn timeout_from_env() -> Duration {
    const DEFAULT: Duration = Duration::from_secs(10);
    match std::env::var("AGENTS_TMUX_TIMEOUT") {
        Err(_) => DEFAULT,
        Ok(v) => match v.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 && s < 1e9 => Duration::from_secs_f64(s),
            _ => {
                tracing::warn!(
                    "AGENTS_TMUX_TIMEOUT={v:?} is not a positive number of seconds; using 10 s"
                );
                DEFAULT
            }
        },
    }
}

/// Why a tmux call failed.
#[derive(Debug, thiserror::Error)]
pub enum TmuxError {
    /// No `tmux` program on `PATH` (spawning it said `NotFound`).
    #[error(
        "tmux is not installed (no `tmux` program on PATH)\n  help: install tmux 3.0 or newer, e.g. `apt-get install -y tmux`"
    )]
    NotInstalled,
    /// `tmux -V` printed a major version below 3.
    #[error(
        "tmux {found} is too old: agents needs tmux 3.0 or newer\n  help: upgrade tmux (`tmux -V` shows the version)"
    )]
    TooOld {
        /// The version as `tmux -V` printed it, without `tmux ` (e.g. `2.9a`).
        found: String,
    },
    /// The call did not finish within the call timeout (`$AGENTS_TMUX_TIMEOUT`).
    #[error(
        "`tmux {args}` did not answer within {secs} s: the tmux server hangs\n  help: check it with `tmux ls` (add `-L SOCKET` for a private server); `tmux kill-server` ends a hung one (and every session on it); $AGENTS_TMUX_TIMEOUT sets the timeout in seconds"
    )]
    Timeout {
        /// The arguments, space-joined, cut at 200 characters.
        args: String,
        /// The timeout that ran out, seconds.
        secs: f64,
    },
    /// tmux exited with a non-zero status.
    #[error("`tmux {args}` failed: {stderr}")]
    Failed {
        /// The arguments, space-joined, cut at 200 characters.
        args: String,
        /// What tmux printed on stderr, trimmed (e.g. `can't find session: x`).
        stderr: String,
    },
    /// tmux could not be started or waited for (other than not installed).
    #[error("cannot run tmux: {0}")]
    Io(std::io::Error),
    /// `$TMUX_TMPDIR` names a directory that does not exist. tmux would then quietly use its
    /// socket under `/tmp` instead: another server (it would even start one there).
    #[error(
        "TMUX_TMPDIR={} does not exist, so tmux would use another server (under /tmp)\n  help: create that directory, or unset TMUX_TMPDIR",
        .0.display()
    )]
    TmpdirMissing(PathBuf),
}

/// `Err` when `$TMUX_TMPDIR` is set (non-empty) to a path that is not a directory: no tmux
/// is run then (see [`TmuxError::TmpdirMissing`]). tmux 3.3a falls back to `/tmp` silently;
/// a process outliving its fleet's temp directory would start a stray server there.
pub(crate) fn check_tmpdir() -> Result<(), TmuxError> {
    match std::env::var_os("TMUX_TMPDIR") {
        Some(d) if !d.is_empty() && !std::path::Path::new(&d).is_dir() => {
            Err(TmuxError::TmpdirMissing(PathBuf::from(d)))
        }
        _ => Ok(()),
    }
}

impl TmuxError {
    /// No server is listening on the socket.
    pub fn is_no_server(&self) -> bool {
        matches!(self, Self::Failed { stderr, .. }
            if stderr.contains("no server running") || stderr.contains("error connecting to"))
    }

    /// The server runs with no session: `list-panes -a` finds no current target (tmux 3.3a,
    /// a server kept running by `exit-empty off` after its last session ended).
    pub fn is_no_sessions(&self) -> bool {
        matches!(self, Self::Failed { stderr, .. } if stderr.contains("no current target"))
    }

    /// The target session (or the server) no longer exists.
    pub fn is_gone(&self) -> bool {
        self.is_no_server()
            || matches!(self, Self::Failed { stderr, .. }
                if stderr.contains("can't find session") || stderr.contains("can't find pane") || stderr.contains("can't find window"))
    }
}

/// What to start in one new session.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// Session name (validated by the config loader).
    pub name: String,
    /// Working directory; created if missing.
    pub cwd: PathBuf,
    /// Program and arguments, exec'd by tmux without a shell.
    pub argv: Vec<String>,
    /// Variables (`NAME`, value) the program starts with beside tmux's own environment:
    /// `new-session -e NAME=VALUE` on tmux 3.2 and later (no process more), an `env
    /// NAME=VALUE...` prefix on older ones ([`env_prefix`]).
    pub env: Vec<(String, String)>,
    /// Pane output is appended here (`pipe-pane` into `agents pipe-log`).
    pub log: PathBuf,
    /// The log is rotated before it grows past this many bytes (`[defaults].log_max_bytes`).
    pub log_max_bytes: u64,
    /// Rotated logs kept (`[defaults].log_files`).
    pub log_files: u32,
    /// The separator line's text (`start: <reason>`), written to the log when the session
    /// starts; `None` writes none.
    pub mark: Option<String>,
    /// Kill an existing session of that name first (a dead pane being replaced).
    pub replace: bool,
    /// A [`wake_channel`] the session signals (`pane-died` hook) when its program exits.
    pub wake: Option<String>,
}

/// A handle on one tmux server.
#[derive(Debug, Clone)]
pub struct Tmux {
    socket: Option<String>,
    timeout: Duration,
    /// `(major, minor)` of the server's tmux, once [`Tmux::check_version`] has read it
    /// (shared by every clone of this driver).
    version: Arc<OnceLock<(u32, u32)>>,
}

impl Tmux {
    /// A driver for `tmux -L socket` (or the default server), each call limited to
    /// [`timeout_from_env`] (10 s unless `$AGENTS_TMUX_TIMEOUT` says otherwise).
    pub fn new(socket: Option<String>) -> Self {
        Self {
            socket,
            timeout: timeout_from_env(),
            version: Arc::default(),
        }
    }

    /// A driver for a fleet's server: `configured` (`[defaults].tmux_socket`), else
    /// `$AGENTS_TMUX_SOCKET` (when not empty), else the default server.
    pub fn for_fleet(configured: Option<&str>) -> Self {
        let socket = configured.map(str::to_string).or_else(|| {
            std::env::var("AGENTS_TMUX_SOCKET")
                .ok()
                .filter(|s| !s.is_empty())
        });
        Self::new(socket)
    }

    /// The `-L` socket name, if a private server is used.
    pub fn socket(&self) -> Option<&str> {
        self.socket.as_deref()
    }

    /// The socket path of this driver's server (`$TMUX_TMPDIR`, default `/tmp`, then
    /// `tmux-<uid>/<socket or "default">`), as tmux puts it first in `$TMUX` of every pane.
    pub fn server_path(&self) -> PathBuf {
        let tmpdir = std::env::var_os("TMUX_TMPDIR").map(PathBuf::from);
        attach::socket_path(
            self.socket.as_deref(),
            tmpdir.as_deref(),
            nix::unistd::getuid().as_raw(),
        )
    }

    /// How to attach the operator's terminal to `session` on this server (see
    /// [`attach::plan`]); reads `$TMUX`, `$TMUX_TMPDIR` and the user id.
    pub fn attach_plan(&self, session: &str, read_only: bool) -> attach::Attach {
        let path = self.server_path();
        let env = std::env::var("TMUX").ok();
        attach::plan(
            self.socket.as_deref(),
            &path,
            session,
            read_only,
            env.as_deref(),
        )
    }

    /// Replaces this process with `tmux` running `plan` (the terminal stays with it). Returns
    /// only when tmux could not be run.
    pub fn exec_attach(&self, plan: &attach::Attach) -> TmuxError {
        use std::os::unix::process::CommandExt as _;
        if let Err(e) = check_tmpdir() {
            return e;
        }
        let mut cmd = std::process::Command::new("tmux");
        cmd.args(&plan.argv);
        if plan.unset_tmux {
            cmd.env_remove("TMUX");
        }
        let e = cmd.exec();
        match e.kind() {
            std::io::ErrorKind::NotFound => TmuxError::NotInstalled,
            _ => TmuxError::Io(e),
        }
    }

    /// Runs `tmux [-L socket] args...`; returns stdout.
    ///
    /// # Errors
    ///
    /// [`TmuxError::NotInstalled`] or [`TmuxError::Io`] when tmux cannot be started (or
    /// `$TMUX_TMPDIR` is missing), [`TmuxError::Timeout`] when it does not answer in time,
    /// [`TmuxError::Failed`] with its stderr when it exits non-zero.
    pub async fn run(&self, args: &[String]) -> Result<String, TmuxError> {
        let child = self.spawn(args)?;
        self.wait(child, args).await
    }

    /// Starts `tmux [-L socket] args...` (see [`Self::run`]) without waiting for it.
    fn spawn(&self, args: &[String]) -> Result<tokio::process::Child, TmuxError> {
        check_tmpdir()?;
        self.command(args)
            .stdin(Stdio::null())
            .spawn()
            .map_err(spawn_error)
    }

    /// `tmux -u [-L socket] args...` with its output piped, killed when dropped (see
    /// [`Self::spawn`]); its input is the caller's to set.
    fn command(&self, args: &[String]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("tmux");
        // -u: UTF-8 output whatever the locale; under LC_ALL=C tmux would print the tabs of
        // our list format and every non-ASCII pane character as `_`.
        cmd.arg("-u");
        if let Some(s) = &self.socket {
            cmd.arg("-L").arg(s);
        }
        // A server this call starts must not carry the marks of the agent that ran us (an
        // agent starting another fleet): every pane would inherit them, and stopping that
        // agent's session would stop this server's panes too (see `launch::stop`).
        cmd.args(args)
            .env_remove("AGENTS_FLEET")
            .env_remove("AGENTS_SESSION")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Waits (at most the call timeout) for a call [`Self::spawn`] started with `args`;
    /// returns its stdout.
    async fn wait(
        &self,
        child: tokio::process::Child,
        args: &[String],
    ) -> Result<String, TmuxError> {
        self.wait_for_line(child, args, None).await
    }

    /// As [`Self::wait`], but with `end` the output is complete as soon as it ends with the
    /// line `end` (printed by the call's last command, after all the others succeeded): that
    /// output without the line is returned at once, and the client is left to exit on its own
    /// (reaped in the background). Output that ends without the line (a command failed) is
    /// judged by the client's exit status, as without `end`.
    async fn wait_for_line(
        &self,
        child: tokio::process::Child,
        args: &[String],
        end: Option<&str>,
    ) -> Result<String, TmuxError> {
        let Some(end) = end else {
            return self
                .read_until(child, args, None)
                .await
                .map(|(out, _)| utf8(&out));
        };
        let line = format!("{end}\n");
        let mut complete = |out: &[u8]| ends_with_line(out, &line);
        let (mut out, complete) = self.read_until(child, args, Some(&mut complete)).await?;
        if complete {
            out.truncate(out.len() - line.len());
        }
        Ok(utf8(&out))
    }

    /// Reads the output of a call [`Self::spawn`] started with `args` (at most the call
    /// timeout), each time more comes asking `complete` (given all of it so far) whether it
    /// is all in: then it is returned at once with `true`, the client left to exit on its
    /// own (reaped in the background). Output that ends before (or without a `complete`) is
    /// returned with `false` when the client exits 0.
    ///
    /// # Errors
    ///
    /// The client exits non-zero ([`TmuxError::Failed`], with its stderr), the timeout
    /// passes, or reading fails.
    pub(super) async fn read_until(
        &self,
        mut child: tokio::process::Child,
        args: &[String],
        complete: Option<&mut Complete<'_>>,
    ) -> Result<(Vec<u8>, bool), TmuxError> {
        use tokio::io::AsyncReadExt as _;
        let deadline = tokio::time::Instant::now() + self.timeout;
        let timeout = || TmuxError::Timeout {
            args: shown(args),
            secs: self.timeout.as_secs_f64(),
        };
        let mut early: Option<Vec<u8>> = None;
        if let Some(complete) = complete
            && let Some(mut stdout) = child.stdout.take()
        {
            let read = async {
                let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
                loop {
                    if stdout.read_buf(&mut buf).await? == 0 {
                        return Ok::<_, std::io::Error>((buf, false));
                    }
                    if complete(&buf) {
                        return Ok((buf, true));
                    }
                }
            };
            let (buf, done) = tokio::time::timeout_at(deadline, read)
                .await
                .map_err(|_| timeout())?
                .map_err(TmuxError::Io)?;
            if done {
                drop(stdout);
                tokio::spawn(async move {
                    let _ = child.wait().await;
                });
                return Ok((buf, true));
            }
            early = Some(buf);
        }
        let out = tokio::time::timeout_at(deadline, child.wait_with_output())
            .await
            .map_err(|_| timeout())?
            .map_err(TmuxError::Io)?;
        if out.status.success() {
            Ok((early.unwrap_or(out.stdout), false))
        } else {
            Err(TmuxError::Failed {
                args: shown(args),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            })
        }
    }

    /// Checks that tmux is installed and at least 3.0; returns the version string.
    ///
    /// # Errors
    ///
    /// [`TmuxError::TooOld`] below 3.0; else as [`Self::run`].
    pub async fn check_version(&self) -> Result<String, TmuxError> {
        let out = self.run(&["-V".to_string()]).await?;
        let found = out.trim().trim_start_matches("tmux ").to_string();
        match parse_version(&found) {
            Some((m, _)) if m < 3 => Err(TmuxError::TooOld { found }),
            Some(v) => {
                let _ = self.version.set(v);
                Ok(found)
            }
            None => Ok(found),
        }
    }

    /// Whether `new-session -e` can set a session's variables (tmux 3.2 and later, as
    /// [`Self::check_version`] read it); `false` while the version is not known.
    fn new_session_env(&self) -> bool {
        self.version.get().is_some_and(|&v| v >= (3, 2))
    }

    /// Every session on the server with its current pane, in one tmux call. A server that is
    /// not running is not an error: it has no sessions; nor is a running server without a
    /// session ([`TmuxError::is_no_sessions`]).
    ///
    /// # Errors
    ///
    /// As [`Self::run`], but for a server that is not running.
    pub async fn sessions(&self) -> Result<Sessions, TmuxError> {
        let args = ["list-panes", "-a", "-F", format::LIST_FORMAT].map(String::from);
        match self.run(&args).await {
            Ok(out) => Ok(format::parse(&out)),
            Err(e) if e.is_no_server() => Ok(Sessions::default()),
            Err(e) if e.is_no_sessions() => Ok(Sessions {
                server_running: true,
                ..Sessions::default()
            }),
            Err(e) => Err(e),
        }
    }

    /// Starts one tmux call that lists every session (as [`Self::sessions`]) and captures the
    /// panes of the sessions in `capture` (as [`Self::capture_many`], as many as fit in one
    /// call: `list-panes ; display-message MARKER ; capture-pane ...`), and returns at once:
    /// the caller works while tmux answers, then [`SessionsCall::finish`] waits for it. One
    /// call where `sessions` then `capture_many` make two. A session in `capture` that does
    /// not exist fails the call (tmux stops a chain at its first error): `finish` then lists
    /// the sessions alone and captures nothing. The captures that do not fit (a fleet of
    /// more than about 50) go in more calls started beside the first, as `capture_many`
    /// makes them; one of them that fails captures nothing (its sessions are left to the
    /// caller to capture).
    ///
    /// The chain ends with one more marker line (`display-message`), printed once every
    /// capture before it succeeded: `finish` takes the output as complete when it reads that
    /// line, without waiting for the tmux client to close its output and exit (a few tenths
    /// of a millisecond after its last line).
    ///
    /// A call that captures nothing ends with a `display-message` without a target (tmux
    /// picks a session): on a server without sessions that fails, and `finish` lists the
    /// sessions again alone.
    pub fn start_sessions(&self, capture: &[String]) -> SessionsCall {
        let mut markers = capture_markers(capture.len() + 1);
        let end = markers.pop().unwrap_or_default();
        let cmds = capture_commands(capture, &markers, &[]);
        // As many captures as fit in one call with the list; the rest in calls of their own.
        let mut all = batches(&cmds).into_iter();
        let fit = all.next().unwrap_or_default();
        let mut args: Vec<String> = ["list-panes", "-a", "-F", format::LIST_FORMAT]
            .map(String::from)
            .to_vec();
        for &i in &fit {
            args.push(";".into());
            args.extend(cmds[i].iter().cloned());
        }
        push_end(&mut args, fit.last().map(|&i| capture[i].as_str()), &end);
        let child = self.spawn(&args);
        let rest = self.spawn_batches(capture, &markers, &cmds, all);
        SessionsCall {
            child,
            args,
            first: fit.len(),
            names: capture.to_vec(),
            markers,
            end,
            rest,
        }
    }

    /// Starts one chained call per batch of `cmds` (the [`capture_commands`] of `names`
    /// with `markers`; a batch holds indexes into them), each ending with a line of its own
    /// (its last pane's marker and `-end`).
    fn spawn_batches(
        &self,
        names: &[String],
        markers: &[String],
        cmds: &[Vec<String>],
        batches: impl Iterator<Item = Vec<usize>>,
    ) -> Vec<RestCall> {
        batches
            .filter_map(|batch| {
                let &last = batch.last()?;
                let end = format!("{}-end", markers[last]);
                let mut args = chain(batch.iter().map(|&i| &cmds[i]));
                push_end(&mut args, Some(&names[last]), &end);
                Some(RestCall {
                    child: self.spawn(&args),
                    args,
                    end,
                })
            })
            .collect()
    }

    /// Starts sessions, chaining as many as fit into one tmux call. Each session gets
    /// `remain-on-exit` (so its exit status can be read) and a `pipe-pane` to its log.
    /// Returns one result per spec, in order.
    pub async fn start(&self, specs: &[SessionSpec]) -> Vec<Result<(), TmuxError>> {
        for s in specs {
            let _ = std::fs::create_dir_all(&s.cwd);
            if let Some(parent) = s.log.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
        }
        let dash_e = self.new_session_env();
        let cmds: Vec<Vec<String>> = specs.iter().map(|s| start_commands(s, dash_e)).collect();
        let mut results: Vec<Option<Result<(), TmuxError>>> = specs.iter().map(|_| None).collect();
        for batch in batches(&cmds) {
            if batch.len() > 1 {
                let chained = chain(batch.iter().map(|&i| &cmds[i]));
                if self.run(&chained).await.is_ok() {
                    for &i in &batch {
                        results[i] = Some(Ok(()));
                    }
                    continue;
                }
                // Part of the chain may have run: keep what is live now, retry the rest alone.
                if let Ok(now) = self.sessions().await {
                    for &i in &batch {
                        if now.is_live(&specs[i].name) {
                            results[i] = Some(Ok(()));
                        }
                    }
                }
            }
            for &i in &batch {
                if results[i].is_none() {
                    let mut one = cmds[i].clone();
                    if specs[i].replace {
                        // The earlier attempt may have killed it already.
                        let _ = self.kill(&[specs[i].name.clone()]).await;
                        one.drain(..4);
                    }
                    results[i] = Some(self.run(&one).await.map(drop));
                }
            }
        }
        results.into_iter().map(|r| r.unwrap_or(Ok(()))).collect()
    }

    /// Renames session `from` to `to.name` (its pane and process stay as they are) and sends
    /// its output to `to.log` from then on (the old log is closed; `to.mark` is written first,
    /// as at a start). One tmux call. Fails when `from` is gone or a session named `to.name`
    /// exists (tmux: `duplicate session`).
    ///
    /// # Errors
    ///
    /// [`TmuxError::Failed`] when `from` is gone or `to.name` is taken; else as [`Self::run`].
    pub async fn rename(&self, from: &str, to: &SessionSpec) -> Result<(), TmuxError> {
        if let Some(parent) = to.log.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        self.run(&rename_commands(from, to)).await.map(drop)
    }

    /// Kills sessions (one chained call; a session that is already gone is not an error).
    ///
    /// # Errors
    ///
    /// As [`Self::run`], but for sessions (or a server) already gone.
    pub async fn kill(&self, names: &[String]) -> Result<(), TmuxError> {
        let cmds: Vec<Vec<String>> = names
            .iter()
            .map(|n| vec!["kill-session".into(), "-t".into(), target::session(n)])
            .collect();
        for batch in batches(&cmds) {
            let chained = chain(batch.iter().map(|&i| &cmds[i]));
            if let Err(e) = self.run(&chained).await {
                if e.is_no_server() {
                    return Ok(());
                }
                for &i in &batch {
                    match self.run(&cmds[i]).await {
                        Err(e) if !e.is_gone() => return Err(e),
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// The visible text of a session's current pane, wrapped lines joined (`-J`).
    ///
    /// # Errors
    ///
    /// As [`Self::run`]; [`TmuxError::is_gone`] when the session is gone.
    pub async fn capture(&self, name: &str) -> Result<String, TmuxError> {
        self.run(&[
            "capture-pane".into(),
            "-p".into(),
            "-J".into(),
            "-t".into(),
            target::pane(name),
        ])
        .await
    }

    /// A session's current pane read with its cursor in one tmux call (see [`screen`]): the
    /// joined text, the rows as drawn, the cursor and whether the pane's program exited.
    ///
    /// # Errors
    ///
    /// As [`Self::run`]; [`TmuxError::is_gone`] when the session is gone.
    pub async fn screen(&self, name: &str) -> Result<Screen, TmuxError> {
        let m = capture_markers(2);
        let t = target::pane(name);
        let args: Vec<String> = [
            "display-message",
            "-p",
            "-t",
            &t,
            &screen::format(&m[0]),
            ";",
            "capture-pane",
            "-p",
            "-t",
            &t,
            ";",
            "display-message",
            "-p",
            "-t",
            &t,
            &m[1],
            ";",
            "capture-pane",
            "-p",
            "-J",
            "-t",
            &t,
        ]
        .map(String::from)
        .to_vec();
        let out = self.run(&args).await?;
        screen::parse(&out, &m[0], &m[1]).ok_or_else(|| TmuxError::Failed {
            args: format!("display-message ; capture-pane -t {t}"),
            stderr: "tmux printed the pane in a shape this version of agents cannot read".into(),
        })
    }

    /// Captures many panes, as many per tmux call as fit under tmux's command limit (falling
    /// back to one call each in a batch that failed, e.g. because a session vanished
    /// meanwhile). Sessions that cannot be captured are left out.
    ///
    /// The panes are told apart by a marker line printed before each one. The marker holds
    /// 128 random bits drawn for this call, so no pane can print it: a pane that prints
    /// another one's marker only adds a line to its own text.
    pub async fn capture_many(&self, names: &[String]) -> HashMap<String, String> {
        self.capture_many_with(names, &[]).await
    }

    /// As [`Self::capture_many`]; the panes named in `scrolled` are captured with
    /// [`DEAD_PANE_HISTORY`] lines of scrollback above the screen (in the same call). For dead
    /// panes: tmux 3.3a scrolls a dead pane up one line to draw `Pane is dead (status N, …)`
    /// at its bottom, so the first line the program printed is no longer on the screen.
    pub async fn capture_many_with(
        &self,
        names: &[String],
        scrolled: &[String],
    ) -> HashMap<String, String> {
        let mut out = HashMap::new();
        if names.is_empty() {
            return out;
        }
        let markers = capture_markers(names.len());
        let cmds = capture_commands(names, &markers, scrolled);
        // The calls of a large fleet run side by side: each tmux client starts while the
        // server answers another (200 panes: four calls).
        let calls = batches(&cmds).into_iter().map(|batch| {
            let (cmds, markers) = (&cmds, &markers);
            async move {
                let mut got = HashMap::new();
                if let Ok(text) = self.run(&chain(batch.iter().map(|&i| &cmds[i]))).await {
                    got.extend(split_captures(&text, names, markers));
                    return got;
                }
                for &i in &batch {
                    // The capture alone, without its marker.
                    if let Ok(t) = self.run(&cmds[i][6..]).await {
                        got.insert(names[i].clone(), t);
                    }
                }
                got
            }
        });
        for got in futures_util::future::join_all(calls).await {
            out.extend(got);
        }
        out
    }

    /// Types `text` literally into a session's current pane (`send-keys -l`). Control
    /// characters are replaced by spaces, so the text cannot submit or signal by itself.
    ///
    /// # Errors
    ///
    /// As [`Self::run`]; [`TmuxError::is_gone`] when the session is gone.
    pub async fn send_text(&self, name: &str, text: &str) -> Result<(), TmuxError> {
        let clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.run(&[
            "send-keys".into(),
            "-t".into(),
            target::pane(name),
            "-l".into(),
            "--".into(),
            target::arg(&clean),
        ])
        .await
        .map(drop)
    }

    /// Pastes `text` into a session's current pane as one bracketed paste (`set-buffer`, then
    /// `paste-buffer -p -d`): multi-line or long text arrives whole, and a TUI that knows
    /// bracketed paste does not take its newlines for submits.
    ///
    /// # Errors
    ///
    /// As [`Self::run`]; [`TmuxError::is_gone`] when the session is gone.
    pub async fn paste(&self, name: &str, text: &str) -> Result<(), TmuxError> {
        let buf = format!("agents-type-{}", std::process::id());
        let mut rest = text;
        let mut first = true;
        while !rest.is_empty() || first {
            let mut cut = rest.len().min(8000);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (chunk, tail) = rest.split_at(cut);
            let mut args: Vec<String> = vec!["set-buffer".into()];
            if !first {
                args.push("-a".into());
            }
            args.extend(["-b".into(), buf.clone(), "--".into(), target::arg(chunk)]);
            self.run(&args).await?;
            rest = tail;
            first = false;
        }
        self.run(&[
            "paste-buffer".into(),
            "-p".into(),
            "-d".into(),
            "-b".into(),
            buf,
            "-t".into(),
            target::pane(name),
        ])
        .await
        .map(drop)
    }

    /// Presses one key in each of many sessions, `(session, key)`, chaining as many as fit
    /// into one tmux call. A session that is gone is skipped.
    pub async fn send_keys_many(&self, presses: &[(String, String)]) {
        let cmds: Vec<Vec<String>> = presses
            .iter()
            .map(|(s, k)| vec!["send-keys".into(), "-t".into(), target::pane(s), k.clone()])
            .collect();
        for batch in batches(&cmds) {
            if self
                .run(&chain(batch.iter().map(|&i| &cmds[i])))
                .await
                .is_err()
            {
                for &i in &batch {
                    let _ = self.run(&cmds[i]).await;
                }
            }
        }
    }

    /// Presses one key (a tmux key name such as `Enter` or `C-m`) in a session's current pane.
    ///
    /// # Errors
    ///
    /// As [`Self::run`]; [`TmuxError::is_gone`] when the session is gone.
    pub async fn send_key(&self, name: &str, key: &str) -> Result<(), TmuxError> {
        self.run(&[
            "send-keys".into(),
            "-t".into(),
            target::pane(name),
            key.into(),
        ])
        .await
        .map(drop)
    }
}

/// A `list-panes` call with captures chained after it, running: see
/// [`Tmux::start_sessions`].
#[derive(Debug)]
pub struct SessionsCall {
    child: Result<tokio::process::Child, TmuxError>,
    args: Vec<String>,
    /// The sessions whose panes are captured, in order, and their markers; the first call
    /// captures the first `first` of them, the calls in `rest` the others.
    names: Vec<String>,
    markers: Vec<String>,
    first: usize,
    /// The line the first call prints last when everything before it succeeded.
    end: String,
    /// The calls that capture what did not fit in the first, running beside it.
    rest: Vec<RestCall>,
}

/// One call of captures started beside a [`SessionsCall`]'s first.
#[derive(Debug)]
struct RestCall {
    child: Result<tokio::process::Child, TmuxError>,
    args: Vec<String>,
    /// The line it prints last when every capture succeeded.
    end: String,
}

impl SessionsCall {
    /// Waits for the call: every session on the server, and the text of the panes captured
    /// (by session name; a session that was not captured is absent). A server that is not
    /// running has no sessions. When the call failed otherwise (a session to capture was
    /// gone), the sessions are listed again alone and nothing is captured.
    ///
    /// # Errors
    ///
    /// As [`Tmux::run`], but for a server that is not running or a captured session that is gone.
    pub async fn finish(
        self,
        tmux: &Tmux,
    ) -> Result<(Sessions, HashMap<String, String>), TmuxError> {
        let out = match self.child {
            Ok(child) => tmux.wait_for_line(child, &self.args, Some(&self.end)).await,
            Err(e) => Err(e),
        };
        // The other calls ran meanwhile; each is waited for, whatever became of the first.
        let rest = futures_util::future::join_all(self.rest.into_iter().map(|r| async move {
            match r.child {
                Ok(child) => tmux.wait_for_line(child, &r.args, Some(&r.end)).await.ok(),
                Err(_) => None,
            }
        }))
        .await;
        let mut more = HashMap::new();
        for text in rest.into_iter().flatten() {
            more.extend(split_captures(&text, &self.names, &self.markers));
        }
        match out {
            Ok(text) => {
                // The list comes first, then each pane after its marker.
                let first = self.markers.first().map(String::as_str);
                let (list, panes) = match first.and_then(|m| marker_at(&text, m)) {
                    Some(at) => text.split_at(at),
                    None => (text.as_str(), ""),
                };
                let mut captured = split_captures(
                    panes,
                    &self.names[..self.first],
                    &self.markers[..self.first],
                );
                captured.extend(more);
                Ok((format::parse(list), captured))
            }
            Err(e) if e.is_no_server() => Ok((Sessions::default(), HashMap::new())),
            // A listing alone that failed (not timed out): its closing line found no session.
            Err(e) if self.names.is_empty() && !matches!(e, TmuxError::Failed { .. }) => Err(e),
            Err(_) => Ok((tmux.sessions().await?, more)),
        }
    }
}

/// Appends `; display-message -p [-t PANE] END` to a chained call: its last line, printed
/// once every command before it succeeded. Without `session`, tmux picks the session.
fn push_end(args: &mut Vec<String>, session: Option<&str>, end: &str) {
    args.extend([";", "display-message", "-p"].map(String::from));
    if let Some(s) = session {
        args.extend(["-t".to_string(), target::pane(s)]);
    }
    args.push(target::no_format(end));
}

/// A call's output as text (tmux -u prints UTF-8; anything else is replaced lossily). The
/// check is `simdutf8`'s, several times faster than the standard library's on a large
/// capture (megabytes for 200 panes), and a copy costs less than the check it saves.
fn utf8(bytes: &[u8]) -> String {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Whether a call's output (all of it so far) is all in: see [`Tmux::read_until`].
type Complete<'a> = dyn FnMut(&[u8]) -> bool + Send + 'a;

/// A tmux call's arguments as an error quotes them: joined by spaces, cut at 200 characters.
fn shown(args: &[String]) -> String {
    let s = args.join(" ");
    if s.chars().count() > 200 {
        format!("{}…", s.chars().take(200).collect::<String>())
    } else {
        s
    }
}

/// Whether `buf` ends with the whole line `line` (which ends with `\n`): at its start or
/// after a newline.
fn ends_with_line(buf: &[u8], line: &str) -> bool {
    buf.ends_with(line.as_bytes())
        && (buf.len() == line.len() || buf[buf.len() - line.len() - 1] == b'\n')
}

/// Where the line `marker` starts in `text` (at its start or after a newline).
fn marker_at(text: &str, marker: &str) -> Option<usize> {
    if text.starts_with(marker) {
        return Some(0);
    }
    text.find(&format!("\n{marker}")).map(|i| i + 1)
}

/// `(major, minor)` of a `tmux -V` version without its `tmux ` (`3.3a` → `(3, 3)`,
/// `next-3.4` → `(3, 4)`); `None` when it names no number.
fn parse_version(found: &str) -> Option<(u32, u32)> {
    let digits = found.trim_start_matches(|c: char| !c.is_ascii_digit());
    let mut parts = digits.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()
        .map(|m| m.trim_end_matches(|c: char| !c.is_ascii_digit()))
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    Some((major, minor))
}

/// Why tmux could not be started: not installed, or another I/O error.
fn spawn_error(e: std::io::Error) -> TmuxError {
    match e.kind() {
        std::io::ErrorKind::NotFound => TmuxError::NotInstalled,
        _ => TmuxError::Io(e),
    }
}

/// Prefixes `argv` with `env NAME=VALUE...`, so the program (and any script it runs) sees
/// `vars` in its environment on a tmux without `new-session -e`. A program whose name holds
/// '=' (which `env` would read as a variable) is started through `sh -c 'exec "$@"'`.
fn env_prefix(vars: &[(String, String)], argv: &[String]) -> Vec<String> {
    let mut out = vec!["env".to_string()];
    out.extend(vars.iter().map(|(k, v)| format!("{k}={v}")));
    if argv.first().is_none_or(|p| p.contains('=')) {
        out.extend(["sh", "-c", "exec \"$@\"", "sh"].map(String::from));
    }
    out.extend(argv.iter().cloned());
    out
}

/// The tmux commands that start one session: `[kill-session ;] new-session ; set-option ;
/// pipe-pane`, as one flat argv with `;` separators. `dash_e`: the session's variables go
/// in `new-session -e` (tmux 3.2+), else in an `env` prefix of its program.
fn start_commands(s: &SessionSpec, dash_e: bool) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if s.replace {
        v.extend(["kill-session", "-t", &target::session(&s.name), ";"].map(String::from));
    }
    let (x, y) = SESSION_SIZE;
    v.extend(
        [
            "new-session",
            "-d",
            "-s",
            &s.name,
            "-x",
            &x.to_string(),
            "-y",
            &y.to_string(),
            "-c",
        ]
        .map(String::from),
    );
    v.push(target::no_format(&s.cwd.to_string_lossy()));
    // tmux 3.3a takes an -e value as it is (no format expanded in it).
    let argv = if dash_e || s.env.is_empty() {
        for (k, val) in &s.env {
            v.push("-e".into());
            v.push(target::arg(&format!("{k}={val}")));
        }
        s.argv.clone()
    } else {
        env_prefix(&s.env, &s.argv)
    };
    v.push("--".into());
    if argv.len() == 1 {
        // tmux runs a one-word command through `sh -c`: a program path with a space or a
        // quote would be split or mangled. `exec "$@"` runs the word as it is.
        v.extend(["sh", "-c", "exec \"$@\"", "sh"].map(String::from));
    }
    v.extend(argv.iter().map(|a| target::arg(a)));
    v.push(";".into());
    v.extend(
        [
            "set-option",
            "-w",
            "-t",
            &target::pane(&s.name),
            "remain-on-exit",
            "on",
            ";",
        ]
        .map(String::from),
    );
    if let Some(chan) = &s.wake {
        v.extend(["set-hook", "-t", &target::pane(&s.name), "pane-died"].map(String::from));
        v.push(target::arg(&format!("wait-for -S {chan}")));
        v.push(";".into());
    }
    v.extend(pipe_commands(s));
    v
}

/// `pipe-pane -o -t =name: <command>`: the session's output into its log ([`pipe_command`]).
fn pipe_commands(s: &SessionSpec) -> Vec<String> {
    let mut v: Vec<String> = ["pipe-pane", "-o", "-t", &target::pane(&s.name)]
        .map(String::from)
        .into();
    let exe = std::env::current_exe().ok().map(|p| {
        // A binary replaced while it runs (a rebuild) reads as "PATH (deleted)": the new
        // binary at PATH is the one to run.
        let p = p.to_string_lossy().into_owned();
        p.strip_suffix(" (deleted)").map(String::from).unwrap_or(p)
    });
    v.push(target::arg(&target::no_format(&pipe_command(
        s,
        exe.as_deref(),
    ))));
    v
}

/// The tmux commands that rename session `from` to `s.name` and pipe its output into
/// `s.log` from then on: `rename-session ; pipe-pane (closes the old pipe) ; pipe-pane -o`.
fn rename_commands(from: &str, s: &SessionSpec) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "rename-session".into(),
        "-t".into(),
        target::session(from),
        s.name.clone(),
        ";".into(),
        "pipe-pane".into(),
        "-t".into(),
        target::pane(&s.name),
        ";".into(),
    ];
    v.extend(pipe_commands(s));
    v
}

/// The shell line `pipe-pane` runs (under `sh -c`): this executable's `pipe-log` verb with
/// every value quoted, or `cat >>` when the executable cannot be found (no rotation then).
/// A value that cannot be quoted (a NUL byte) sends the output to `/dev/null`.
fn pipe_command(s: &SessionSpec, exe: Option<&str>) -> String {
    let q = |v: &str| shlex::try_quote(v).map(std::borrow::Cow::into_owned).ok();
    let Some(log) = q(&s.log.to_string_lossy()) else {
        return "exec cat > /dev/null".into();
    };
    let Some(exe) = exe.and_then(q) else {
        return format!("exec cat >> {log}");
    };
    let mut line = format!(
        "exec {exe} pipe-log --file {log} --max-bytes {} --keep {}",
        s.log_max_bytes, s.log_files
    );
    if let Some(mark) = s.mark.as_deref().and_then(|m| {
        let one_line: String = m
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        q(&one_line)
    }) {
        line.push_str(" --mark ");
        line.push_str(&mark);
    }
    line
}

/// `n` marker lines for one [`Tmux::capture_many`] call: `@@agents-capture-<32 hex>-<i>@@`,
/// the hex part random per call.
fn capture_markers(n: usize) -> Vec<String> {
    let nonce = random_hex128();
    (0..n)
        .map(|i| format!("@@agents-capture-{nonce}-{i}@@"))
        .collect()
}

/// 128 random bits as hex: from `/dev/urandom`, else from std's randomly keyed `SipHash`
/// (`RandomState`) over the time, the pid and a counter.
fn random_hex128() -> String {
    use std::fmt::Write as _;
    use std::hash::{BuildHasher, Hasher};
    use std::io::Read;
    use std::sync::atomic::{AtomicU64, Ordering};
    let mut bytes = [0u8; 16];
    let from_os = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !from_os {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for half in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(nanos);
            h.write_u32(std::process::id());
            h.write_u64(COUNT.fetch_add(1, Ordering::Relaxed));
            half.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Lines of scrollback captured above the screen of a dead pane (see
/// [`Tmux::capture_many_with`]).
pub const DEAD_PANE_HISTORY: u32 = 10;

/// One command per pane: print its marker, then capture it (`display-message ; capture-pane`);
/// with [`DEAD_PANE_HISTORY`] lines of scrollback for the panes in `scrolled`.
fn capture_commands(names: &[String], markers: &[String], scrolled: &[String]) -> Vec<Vec<String>> {
    names
        .iter()
        .zip(markers)
        .map(|(n, m)| {
            let mut c: Vec<String> = [
                "display-message",
                "-p",
                "-t",
                &target::pane(n),
                &target::no_format(m),
                ";",
                "capture-pane",
                "-p",
                "-J",
                "-t",
                &target::pane(n),
            ]
            .map(String::from)
            .to_vec();
            if scrolled.contains(n) {
                c.extend(["-S".to_string(), format!("-{DEAD_PANE_HISTORY}")]);
            }
            c
        })
        .collect()
}

/// Splits the output of chained [`capture_commands`] at the marker lines: the text after
/// marker `i` (up to the next marker) is pane `names[i]`'s, its lines as [`str::lines`] gives
/// them joined by `\n`. Only a line that starts as the markers do is looked up, and each
/// pane's text is one slice of `text`: no line is hashed or copied on its own.
fn split_captures(text: &str, names: &[String], markers: &[String]) -> HashMap<String, String> {
    let index: HashMap<&str, usize> = markers
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let prefix = markers
        .first()
        .and_then(|m| m.rfind('-').map(|cut| &m[..cut]))
        .unwrap_or("@@agents-capture-");
    let mut out = HashMap::new();
    // The pane being read, and where its text starts.
    let mut current: Option<(usize, usize)> = None;
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let at = pos;
        pos += line.len();
        if !line.starts_with(prefix) {
            continue;
        }
        let bare = line.strip_suffix('\n').unwrap_or(line);
        let bare = match line.strip_suffix("\r\n") {
            Some(b) => b,
            None => bare,
        };
        let Some(&i) = index.get(bare) else {
            continue;
        };
        if let Some((c, from)) = current {
            out.insert(names[c].clone(), pane_text(&text[from..at]));
        }
        current = Some((i, pos));
    }
    if let Some((c, from)) = current {
        out.insert(names[c].clone(), pane_text(&text[from..]));
    }
    out
}

/// The lines of `segment` (as [`str::lines`] gives them) joined by `\n`.
fn pane_text(segment: &str) -> String {
    if segment.contains('\r') {
        return segment.lines().collect::<Vec<_>>().join("\n");
    }
    segment.strip_suffix('\n').unwrap_or(segment).to_string()
}

/// Joins command argvs with `;` into one tmux invocation.
fn chain<'a>(cmds: impl Iterator<Item = &'a Vec<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for c in cmds {
        if !out.is_empty() {
            out.push(";".to_string());
        }
        out.extend(c.iter().cloned());
    }
    out
}

/// Groups command indexes so that each group's argv stays under [`MAX_CHAIN_BYTES`].
fn batches(cmds: &[Vec<String>]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut size = 0;
    for (i, c) in cmds.iter().enumerate() {
        let len: usize = c.iter().map(|a| a.len() + 8).sum();
        if out.is_empty() || size + len > MAX_CHAIN_BYTES {
            out.push(Vec::new());
            size = 0;
        }
        out.last_mut().expect("pushed above").push(i);
        size += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The former splitter (every line looked up, every pane joined from its lines): the
    /// oracle the faster one is checked against.
    fn split_captures_by_lines(
        text: &str,
        names: &[String],
        markers: &[String],
    ) -> HashMap<String, String> {
        let index: HashMap<&str, usize> = markers
            .iter()
            .enumerate()
            .map(|(i, m)| (m.as_str(), i))
            .collect();
        let mut out = HashMap::new();
        let mut current: Option<usize> = None;
        let mut buf: Vec<&str> = Vec::new();
        let mut flush = |cur: Option<usize>, buf: &mut Vec<&str>| {
            if let Some(i) = cur {
                out.insert(names[i].clone(), buf.join("\n"));
            }
            buf.clear();
        };
        for line in text.lines() {
            match index.get(line).copied() {
                Some(i) => {
                    flush(current, &mut buf);
                    current = Some(i);
                }
                None => buf.push(line),
            }
        }
        flush(current, &mut buf);
        out
    }

    #[test]
    fn captures_split_as_the_line_by_line_splitter_did() {
        let m = capture_markers(3);
        let names: Vec<String> = ["p-a", "p-b", "p-c"].map(String::from).to_vec();
        let cases = [
            format!("{}\nx\ny\n{}\n{}\nz\n", m[0], m[1], m[2]),
            format!("{}\n\n\n{}\nb {}\n{}\nlast", m[0], m[1], m[2], m[2]),
            format!("{}\r\na\r\nb\r\n{}\n\r\n{}", m[0], m[1], m[2]),
            format!("noise\n{}\n{}-9@@\n{}\nc\r\n", m[0], m[1], m[1]),
            format!("{}\na\rb\n\n", m[2]),
            String::new(),
        ];
        for text in &cases {
            assert_eq!(
                split_captures(text, &names, &m),
                split_captures_by_lines(text, &names, &m),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_list_with_captures_splits_at_the_first_marker_line() {
        let m = capture_markers(2);
        let names = vec!["p-a1".to_string(), "p-a2".to_string()];
        // A pane may print another pane's marker inside a line: only a whole line counts.
        let text = format!(
            "1\t1\t0\t\t\t42\tsleep\tp-a1\n1\t1\t0\t\t\t43\tsleep\tp-a2\n{}\nscreen one {}\n{}\nscreen two\n",
            m[0], m[1], m[1]
        );
        let at = marker_at(&text, &m[0]).expect("found");
        let (list, panes) = text.split_at(at);
        let sessions = format::parse(list);
        assert!(sessions.is_live("p-a1") && sessions.is_live("p-a2"));
        let got = split_captures(panes, &names, &m);
        assert_eq!(got["p-a1"], format!("screen one {}", m[1]));
        assert_eq!(got["p-a2"], "screen two");
        assert_eq!(marker_at(&format!("{}\nx", m[0]), &m[0]), Some(0));
        assert_eq!(marker_at("no marker here", &m[0]), None);
    }

    #[test]
    fn start_commands_quote_log_and_escape_formats() {
        let s = SessionSpec {
            name: "p-a".into(),
            cwd: "/tmp/x#y".into(),
            argv: vec!["echo".into(), "a;".into()],
            env: vec![],
            log: "/tmp/it's #1.log".into(),
            log_max_bytes: 4096,
            log_files: 2,
            mark: Some("restart: $(touch x) 'q'\n#2".into()),
            replace: true,
            wake: Some("agents-wake-p-".into()),
        };
        let c = start_commands(&s, true);
        assert_eq!(&c[..4], &["kill-session", "-t", "=p-a", ";"]);
        assert!(c.contains(&"/tmp/x##y".to_string()));
        assert!(c.contains(&"a\\;".to_string()));
        let line = pipe_command(&s, Some("/opt/my agents"));
        assert_eq!(
            line,
            "exec '/opt/my agents' pipe-log --file \"/tmp/it's #1.log\" --max-bytes 4096 --keep 2 --mark 'restart: $(touch x) '\"'q' #2\""
        );
        // sh reads it back as the same words.
        let words = shlex::split(line.strip_prefix("exec ").unwrap()).unwrap();
        assert_eq!(words[0], "/opt/my agents");
        assert_eq!(words[3], "/tmp/it's #1.log");
        assert_eq!(words.last().unwrap(), "restart: $(touch x) 'q' #2");
        assert_eq!(pipe_command(&s, None), "exec cat >> \"/tmp/it's #1.log\"");
        assert!(c.last().unwrap().contains("##1.log"));
    }

    /// Session `p-a` running the one word `/my dir/cli` with `env`.
    fn one_word_spec(env: Vec<(String, String)>) -> SessionSpec {
        SessionSpec {
            name: "p-a".into(),
            cwd: "/tmp".into(),
            argv: vec!["/my dir/cli".into()],
            env,
            log: "/tmp/p-a.log".into(),
            log_max_bytes: 4096,
            log_files: 1,
            mark: None,
            replace: false,
            wake: None,
        }
    }

    #[test]
    fn a_one_word_command_is_not_left_to_tmux_sh_c() {
        let c = start_commands(&one_word_spec(vec![]), true);
        let at = c.iter().position(|a| a == "--").unwrap();
        assert_eq!(
            &c[at + 1..at + 6],
            ["sh", "-c", "exec \"$@\"", "sh", "/my dir/cli"]
        );
    }

    #[test]
    fn variables_go_in_new_session_e_or_an_env_prefix_before_tmux_3_2() {
        let s = one_word_spec(vec![
            ("AGENTS_NAME".into(), "a;".into()),
            ("E".into(), String::new()),
        ]);
        let c = start_commands(&s, true);
        let at = c.iter().position(|a| a == "--").unwrap();
        assert_eq!(&c[at - 4..at], ["-e", "AGENTS_NAME=a\\;", "-e", "E="]);
        assert_eq!(
            &c[at + 1..at + 6],
            ["sh", "-c", "exec \"$@\"", "sh", "/my dir/cli"]
        );
        let c = start_commands(&s, false);
        assert!(!c.contains(&"-e".to_string()));
        let at = c.iter().position(|a| a == "--").unwrap();
        assert_eq!(
            &c[at + 1..at + 5],
            ["env", "AGENTS_NAME=a\\;", "E=", "/my dir/cli"]
        );
        // A program whose name holds '=' is not taken by env for a variable.
        let argv = env_prefix(&s.env[1..], &["./a=b".to_string(), "z".to_string()]);
        assert_eq!(
            argv,
            ["env", "E=", "sh", "-c", "exec \"$@\"", "sh", "./a=b", "z"]
        );
    }

    #[test]
    fn versions_read_major_and_minor() {
        assert_eq!(parse_version("3.3a"), Some((3, 3)));
        assert_eq!(parse_version("3.2"), Some((3, 2)));
        assert_eq!(parse_version("next-3.6"), Some((3, 6)));
        assert_eq!(parse_version("3.1c"), Some((3, 1)));
        assert_eq!(parse_version("master"), None);
    }

    #[test]
    fn a_rename_closes_the_old_log_pipe_and_opens_the_new_one() {
        let s = SessionSpec {
            name: "new-watchdog".into(),
            cwd: "/tmp".into(),
            argv: vec![],
            env: vec![],
            log: "/tmp/new-watchdog.log".into(),
            log_max_bytes: 4096,
            log_files: 1,
            mark: Some("moved".into()),
            replace: false,
            wake: None,
        };
        let c = rename_commands("old-watchdog", &s);
        assert_eq!(
            &c[..9],
            [
                "rename-session",
                "-t",
                "=old-watchdog",
                "new-watchdog",
                ";",
                "pipe-pane",
                "-t",
                "=new-watchdog:",
                ";"
            ]
        );
        assert_eq!(&c[9..13], ["pipe-pane", "-o", "-t", "=new-watchdog:"]);
        assert!(c[13].contains("/tmp/new-watchdog.log") && c[13].contains("--mark moved"));
    }

    #[test]
    fn dead_panes_are_captured_with_scrollback_in_the_same_call() {
        let names: Vec<String> = vec!["p-a".into(), "p-b".into()];
        let m = capture_markers(2);
        let cmds = capture_commands(&names, &m, &["p-b".to_string()]);
        assert_eq!(&cmds[0][6..], ["capture-pane", "-p", "-J", "-t", "=p-a:"]);
        assert_eq!(
            &cmds[1][6..],
            ["capture-pane", "-p", "-J", "-t", "=p-b:", "-S", "-10"]
        );
    }

    #[test]
    fn capture_markers_are_random_per_call() {
        let (a, b) = (capture_markers(2), capture_markers(2));
        assert_ne!(a, b);
        assert!(a[1].starts_with("@@agents-capture-") && a[1].ends_with("-1@@"));
        assert_eq!(a[0].len(), "@@agents-capture--0@@".len() + 32);
    }

    #[test]
    fn a_pane_printing_a_marker_of_the_old_kind_cannot_take_another_panes_place() {
        let names: Vec<String> = vec!["p-a".into(), "p-h".into()];
        let m = capture_markers(2);
        let pid = std::process::id();
        let text = format!(
            "{}\nall fine\n{}\n@@agents-capture-{pid}-0@@\nFATAL: session state\n",
            m[0], m[1]
        );
        let got = split_captures(&text, &names, &m);
        assert_eq!(got["p-a"], "all fine");
        assert!(got["p-h"].contains("FATAL"));
    }

    #[test]
    fn captures_of_200_panes_are_batched_under_the_command_limit() {
        let names: Vec<String> = (0..200)
            .map(|i| format!("myproject-agent-{i:03}"))
            .collect();
        let m = capture_markers(names.len());
        let cmds = capture_commands(&names, &m, &[]);
        let b = batches(&cmds);
        assert!((2..=10).contains(&b.len()), "{} batches", b.len());
        assert_eq!(b.concat(), (0..200).collect::<Vec<_>>());
        for batch in &b {
            let argv = chain(batch.iter().map(|&i| &cmds[i]));
            let bytes: usize = argv.iter().map(|a| a.len() + 1).sum();
            assert!(bytes < 16 * 1024, "{bytes} bytes in one call");
        }
    }

    #[test]
    fn the_end_line_counts_only_as_a_whole_last_line() {
        let end = "@@agents-capture-ab-2@@\n";
        assert!(ends_with_line(end.as_bytes(), end));
        assert!(ends_with_line(format!("pane\n{end}").as_bytes(), end));
        assert!(!ends_with_line(format!("pane{end}").as_bytes(), end));
        assert!(!ends_with_line(format!("{end}more\n").as_bytes(), end));
        assert!(!ends_with_line(b"@@agents-capture-ab-2@@", end));
    }

    #[test]
    fn batches_respect_size() {
        let big = vec!["x".repeat(5000)];
        let cmds = vec![big.clone(), big.clone(), big.clone(), vec!["y".into()]];
        assert_eq!(batches(&cmds), vec![vec![0, 1], vec![2, 3]]);
    }
}
