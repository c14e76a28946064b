//! SPEC §4 — turning agents, services and the watchdog into running tmux sessions.
//!
//! [`prepare_agent`] does everything that can fail per agent before tmux is touched (kickoff
//! file, argv, program on PATH); [`launch`] then starts all prepared sessions with as few
//! tmux calls as possible, and delivers `ping` kickoffs concurrently.

pub mod codex_hooks;
pub mod command;
pub mod gemini_hooks;
pub mod hooks;
pub mod kickoff;
pub mod loops;
pub mod ping;
pub mod proctree;
pub mod stop;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::task::AbortHandle;

use serde_json::json;

use crate::config::{Agent, Delivery, Kind, Service};
use crate::ctx::Ctx;
use crate::state::atomic;
use crate::tmux::SessionSpec;

/// A session ready to start.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Agent or service name (`watchdog` for the watchdog).
    pub name: String,
    /// The tmux session to start: its name, working directory, argv and log file.
    pub spec: SessionSpec,
    /// For `ping` backends: the kickoff file to point the TUI at once it is up.
    pub ping: Option<PathBuf>,
    /// Human description for the log line.
    pub describe: String,
    /// What the watchdog saw that made it restart (the rule, the line), for the event;
    /// `null` for other starts.
    pub evidence: serde_json::Value,
    /// Why the watchdog restarts it, as a kind (the event's `cause`); `None` for other
    /// starts.
    pub cause: Option<crate::supervise::restart::RestartCause>,
    /// The model an agent is started with (`None`: its backend's default, or not an agent);
    /// recorded in the manifest so that `status` can tell a pending model change.
    pub model: Option<String>,
}

/// What kind of failure kept an agent from starting. The watchdog logs a failed restart once
/// per kind: the message itself may differ between attempts (a random temp-file name in an
/// I/O error), the kind does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartErrorKind {
    /// The kickoff text could not be built (a prompt file, role prompt or template is
    /// unreadable).
    Prompt,
    /// `state/kickoff-<session>.txt` could not be written (a full or read-only disk).
    KickoffWrite,
    /// The agent's `dir` is not a directory or cannot be created, or its `arg` prompt is over
    /// the kernel's argument limit.
    Setup,
    /// The program is not on PATH or not executable.
    Program,
    /// tmux refused to start the session.
    Session,
}

/// Why an agent could not be started: its [`StartErrorKind`] and a message that names the
/// agent, the file and the fix.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StartError {
    /// Which step failed; the watchdog logs a failed restart once per kind.
    pub kind: StartErrorKind,
    /// The whole message shown: the agent's name, the file or program, and the fix.
    pub message: String,
}

impl StartError {
    fn new(kind: StartErrorKind, message: String) -> Self {
        Self { kind, message }
    }
}

/// Why a session could not be prepared or started. `Display` names the file, the program
/// or the session, and the fix; an agent's failures reach the caller as a [`StartError`]
/// (which adds the agent's name and its [`StartErrorKind`]).
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// [`check_dir`]: the `dir` exists and is not a directory.
    #[error("its dir {} is not a directory; fix `dir` or move the file away", dir.display())]
    NotADir {
        /// The agent's or service's configured `dir`.
        dir: PathBuf,
    },
    /// [`check_dir`]: the `dir` cannot be created.
    #[error("cannot create its dir {}: {source}; fix `dir` or create it", dir.display())]
    CreateDir {
        /// The agent's or service's configured `dir`, which did not exist.
        dir: PathBuf,
        /// Why `create_dir_all` failed.
        source: std::io::Error,
    },
    /// [`command::check_arg_size`]: an `arg` kickoff prompt of `bytes` is over Linux's
    /// limit for one argument ([`command::MAX_ARG_BYTES`]).
    #[error(
        "its kickoff prompt is {bytes} bytes, and backend {backend:?} delivers it as one argument \
         (prompt_delivery = \"arg\"), which Linux limits to {} bytes; shorten the prompt, or \
         use a backend with prompt_delivery = \"exec\" (its bin gets the file path {{kickoff}}) \
         or \"ping\"",
        command::MAX_ARG_BYTES - 1
    )]
    ArgTooLong {
        /// The length in bytes of the kickoff text.
        bytes: usize,
        /// The name of the agent's backend (its `[backend.<name>]` table).
        backend: String,
    },
    /// [`command::check_program`]: a program given as a path (relative to `dir`) does not
    /// exist or is not executable.
    #[error(
        "program {program:?} does not exist or is not executable (relative to {})",
        dir.display()
    )]
    NoProgram {
        /// The program as the launch command names it (it contains a `/`).
        program: String,
        /// The agent's `dir`, which a relative program path is resolved against.
        dir: PathBuf,
    },
    /// [`command::check_program`]: a bare program name is not on `PATH`.
    #[error("program {program:?} is not on PATH")]
    NotOnPath {
        /// The program's bare name as the launch command names it.
        program: String,
    },
    /// [`kickoff::kickoff`]: a prompt file of the agent cannot be read (`what`:
    /// `prompt_file`, `kickoff_template`, `role prompt`).
    #[error("agent {agent:?}: cannot read its {what} {}: {source}", path.display())]
    Prompt {
        /// The agent's name.
        agent: String,
        /// Which of its settings names the file: `prompt_file`, `kickoff_template`, …
        what: &'static str,
        /// The file that cannot be read, as configured.
        path: PathBuf,
        /// Why reading it failed.
        source: std::io::Error,
    },
    /// [`prepare_service`]: the service's `dir` ([`LaunchError::NotADir`],
    /// [`LaunchError::CreateDir`]).
    #[error("service {name:?}: {source}")]
    Service {
        /// The service's name (its `[service.<name>]` table).
        name: String,
        /// What is wrong with its `dir`.
        source: Box<LaunchError>,
    },
    /// [`prepare_watchdog`]: the running executable's path is unknown.
    #[error("cannot find this executable: {0}")]
    NoExe(std::io::Error),
    /// [`move_watchdog`]: the watchdog could not be moved from session `from` to `to`
    /// (`why`: [`LaunchError::InTheWay`], [`LaunchError::Tmux`], [`LaunchError::NoExe`]).
    #[error("cannot move the watchdog from session {from} to {to}: {why}")]
    MoveWatchdog {
        /// The session the running watchdog is in (named with the old `session_prefix`).
        from: String,
        /// The watchdog's session name under the current `session_prefix`.
        to: String,
        /// What stopped the move.
        why: Box<LaunchError>,
    },
    /// A live session holds the name a session is to take; it runs `command`.
    #[error("a session of that name runs {command:?}; stop it (`agents down watchdog` stops both)")]
    InTheWay {
        /// The command of the live session's pane, as tmux reports it (e.g. `bash`).
        command: String,
    },
    /// tmux refused a call.
    #[error("{0}")]
    Tmux(crate::tmux::TmuxError),
    /// [`launch`]: tmux did not start the session of `name`.
    #[error("{name}: cannot start session {session}: {source}")]
    Session {
        /// The agent's or service's name.
        name: String,
        /// The tmux session name it was to start in.
        session: String,
        /// tmux's refusal.
        source: crate::tmux::TmuxError,
    },
}

/// Writes the kickoff file unless it already holds `text`: a restart with an unchanged prompt
/// writes nothing, so it works on a full disk.
fn write_kickoff(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(());
    }
    atomic::write_fast(path, text.as_bytes())
}

/// Prepares `agent`: checks its `dir` (created if missing; it must be a directory), the
/// size of an `arg` prompt and the program, then writes `state/kickoff-<session>.txt` (only
/// when its content changed) and builds the argv (with `AGENTS_NAME`, `AGENTS_SESSION`,
/// `AGENTS_FLEET` ([`Ctx::fleet_id`]), `AGENTS_KICKOFF` and `AGENTS_MODEL` in its
/// environment: stopping finds the session's processes by them, see [`stop`]). `replace` kills a session of that
/// name first. Nothing is written for an agent that cannot start.
///
/// # Errors
///
/// A [`StartError`] that names the agent, with its [`StartErrorKind`]: a prompt file that
/// cannot be read, a bad `dir`, an `arg` prompt over the kernel's limit, a missing program, a
/// kickoff or hooks file that cannot be written.
pub fn prepare_agent(ctx: &Ctx, agent: &Agent, replace: bool) -> Result<Prepared, StartError> {
    let cfg = &ctx.cfg;
    let backend = cfg.backend_of(agent);
    let phase = crate::phase::current(cfg, &ctx.state).map(|(_, p)| p);
    let model = kickoff::model(agent, phase);
    let text = kickoff::kickoff(cfg, agent, phase)
        .map_err(|e| StartError::new(StartErrorKind::Prompt, e.to_string()))?;
    let setup = |e: LaunchError| {
        StartError::new(
            StartErrorKind::Setup,
            format!("agent {:?}: {e}", agent.name),
        )
    };
    check_dir(&agent.dir).map_err(setup)?;
    command::check_arg_size(&text, backend).map_err(setup)?;
    let kickoff_file = ctx.state.kickoff_path(&agent.session);
    let resume_id = if agent.resume {
        ctx.state.resume_id(&agent.name)
    } else {
        None
    };
    let settings = hook_settings(ctx, backend, &agent.session, &agent.dir);
    let hook_args = codex_hook_args(ctx, backend, &agent.session);
    let cmd = command::build(
        backend,
        &command::LaunchInputs {
            session: &agent.session,
            dir: &agent.dir,
            kickoff_file: &kickoff_file,
            model: model.as_deref(),
            resume_id: resume_id.as_deref(),
            settings: settings.as_ref().map(|(path, _)| path.as_path()),
            hook_args: &hook_args,
        },
    );
    if let Some(p) = &cmd.program {
        command::check_program(p, &agent.dir).map_err(|e| {
            StartError::new(
                StartErrorKind::Program,
                format!(
                    "agent {:?} (backend {:?}): {e}; install it or fix `bin` in [backend.{}]",
                    agent.name, backend.name, backend.name
                ),
            )
        })?;
    }
    write_kickoff(&kickoff_file, &text).map_err(|e| {
        StartError::new(
            StartErrorKind::KickoffWrite,
            format!(
                "agent {:?}: cannot write its kickoff file {}: {e}; free space on that disk or fix `log_dir`",
                agent.name,
                kickoff_file.display()
            ),
        )
    })?;
    if let Some((path, text)) = &settings {
        // Without its settings file the CLI would refuse to start: then start it without.
        write_kickoff(path, text).map_err(|e| {
            StartError::new(
                StartErrorKind::KickoffWrite,
                format!(
                    "agent {:?}: cannot write its hooks file {}: {e}; free space on that disk or fix `log_dir`",
                    agent.name,
                    path.display()
                ),
            )
        })?;
    }
    let gemini_home = gemini_home(ctx, backend, &agent.session, &agent.dir);
    let gemini_home = gemini_home.as_ref().map(|p| p.to_string_lossy());
    let kickoff_str = kickoff_file.to_string_lossy();
    let fleet = ctx.fleet_id();
    let mut vars = vec![
        ("AGENTS_NAME", agent.name.as_str()),
        ("AGENTS_SESSION", agent.session.as_str()),
        (proctree::FLEET_VAR, fleet.as_str()),
        ("AGENTS_KICKOFF", &kickoff_str),
        ("AGENTS_MODEL", model.as_deref().unwrap_or("")),
    ];
    if let Some(home) = &gemini_home {
        vars.push((gemini_hooks::HOME_VAR, home));
    }
    Ok(Prepared {
        name: agent.name.clone(),
        spec: SessionSpec {
            name: agent.session.clone(),
            cwd: agent.dir.clone(),
            argv: cmd.argv,
            env: vars
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            log: cfg.session_log(&agent.session),
            log_max_bytes: ctx.cfg.log_max_bytes,
            log_files: ctx.cfg.log_files,
            mark: None,
            replace,
            wake: Some(crate::tmux::wake_channel(&cfg.session_prefix)),
        },
        ping: (backend.delivery == Delivery::Ping).then_some(kickoff_file),
        evidence: serde_json::Value::Null,
        cause: None,
        model: model.clone(),
        describe: format!(
            "{} ({}, kind={}, phase={}, model={}{})",
            agent.session,
            backend.name,
            agent.kind.as_str(),
            phase
                .filter(|_| agent.kind == Kind::Loop)
                .map_or("-", |p| p.id.as_str()),
            model.as_deref().unwrap_or("default"),
            if resume_id.is_some() { ", resume" } else { "" }
        ),
    })
}

/// For a `hooks = "claude"` backend: the session's hooks file (`state/hooks-<session>.json`)
/// and its text ([`hooks::claude_settings`], chaining the status line the user has for the
/// agent's `dir`, from `$HOME`); `None` for other backends, or when the running
/// binary cannot be found (logged; the session then runs on its screen alone).
fn hook_settings(
    ctx: &Ctx,
    backend: &crate::config::Backend,
    session: &str,
    dir: &std::path::Path,
) -> Option<(std::path::PathBuf, String)> {
    if backend.hooks != crate::config::Hooks::Claude {
        return None;
    }
    let Some(exe) = hooks::current_exe() else {
        tracing::warn!("{session}: the agents binary cannot be found; starting without hooks");
        return None;
    };
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let user = hooks::user_status_line(dir, home.as_deref());
    let text = hooks::claude_settings(
        &exe,
        &ctx.state.signals_path(session),
        &ctx.state.usage_path(session),
        user.as_ref(),
    );
    Some((ctx.state.hook_settings_path(session), text))
}

/// For a `hooks = "gemini"` backend: the session's per-launch home
/// (`state/gemini-home-<session>/`, [`gemini_hooks::prepare`]), written now, for
/// `GEMINI_CLI_HOME`; `None` for other backends, or when it cannot be written or the running
/// binary cannot be found (logged; the session then runs on its screen alone, with the
/// user's own home).
fn gemini_home(
    ctx: &Ctx,
    backend: &crate::config::Backend,
    session: &str,
    dir: &std::path::Path,
) -> Option<PathBuf> {
    if backend.hooks != crate::config::Hooks::Gemini {
        return None;
    }
    let var = |k: &str| std::env::var(k).ok();
    let (Some(exe), Some(user)) = (
        hooks::current_exe(),
        gemini_hooks::user_home(
            var(gemini_hooks::HOME_VAR).as_deref(),
            var("HOME").as_deref(),
        ),
    ) else {
        tracing::warn!(
            "{session}: the agents binary or HOME cannot be found; starting without hooks"
        );
        return None;
    };
    let home = ctx.state.gemini_home_path(session);
    match gemini_hooks::prepare(&user, &home, dir, &exe, &ctx.state.signals_path(session)) {
        Ok(()) => Some(home),
        Err(e) => {
            tracing::warn!("{session}: starting Gemini CLI without hooks: {e}");
            None
        }
    }
}

/// For a `hooks = "codex"` backend: the `-c` overrides that give the session its hooks
/// ([`codex_hooks::args`]); empty for other backends, or when the running binary cannot be
/// found (logged; the session then runs on its screen alone).
fn codex_hook_args(ctx: &Ctx, backend: &crate::config::Backend, session: &str) -> Vec<String> {
    if backend.hooks != crate::config::Hooks::Codex {
        return Vec::new();
    }
    let Some(exe) = hooks::current_exe() else {
        tracing::warn!("{session}: the agents binary cannot be found; starting without hooks");
        return Vec::new();
    };
    codex_hooks::args(&exe, &ctx.state.signals_path(session))
}

/// Creates `dir` if it is missing, so that a session never silently runs elsewhere.
///
/// # Errors
///
/// [`LaunchError::NotADir`] when it is not a directory, [`LaunchError::CreateDir`] when it
/// cannot be created (each names the path and the fix).
pub fn check_dir(dir: &std::path::Path) -> Result<(), LaunchError> {
    if dir.exists() && !dir.is_dir() {
        return Err(LaunchError::NotADir {
            dir: dir.to_path_buf(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| LaunchError::CreateDir {
        dir: dir.to_path_buf(),
        source,
    })
}

/// Prepares a service: its `command` line runs under `sh -c` in its `dir`, which is checked
/// as an agent's is, with `AGENTS_SESSION` and `AGENTS_FLEET` in its environment (as an
/// agent's, for [`stop`]).
///
/// # Errors
///
/// [`LaunchError::Service`] (naming the service) when its `dir` is unusable
/// ([`check_dir`]).
pub fn prepare_service(ctx: &Ctx, svc: &Service, replace: bool) -> Result<Prepared, LaunchError> {
    check_dir(&svc.dir).map_err(|e| LaunchError::Service {
        name: svc.name.clone(),
        source: Box::new(e),
    })?;
    Ok(Prepared {
        name: svc.name.clone(),
        spec: SessionSpec {
            name: svc.session.clone(),
            cwd: svc.dir.clone(),
            argv: vec!["sh".into(), "-c".into(), svc.command.clone()],
            env: vec![
                ("AGENTS_SESSION".into(), svc.session.clone()),
                (proctree::FLEET_VAR.into(), ctx.fleet_id()),
            ],
            log: ctx.cfg.session_log(&svc.session),
            log_max_bytes: ctx.cfg.log_max_bytes,
            log_files: ctx.cfg.log_files,
            mark: None,
            replace,
            wake: None,
        },
        ping: None,
        describe: format!("{} (service)", svc.session),
        evidence: serde_json::Value::Null,
        cause: None,
        model: None,
    })
}

/// Prepares the watchdog session: this same executable (absolute path) with the absolute
/// config path (SPEC defect 17). The caller's `TMUX_TMPDIR` and `AGENTS_TMUX_SOCKET` are
/// passed on explicitly, so the watchdog talks to the same tmux server as the caller.
///
/// # Errors
///
/// [`LaunchError::NoExe`] when the running executable's path cannot be found.
pub fn prepare_watchdog(ctx: &Ctx, replace: bool) -> Result<Prepared, LaunchError> {
    let exe = std::env::current_exe().map_err(LaunchError::NoExe)?;
    // `env` reads options only before the first NAME=VALUE: all `-u` go first.
    // Not the marks of an agent that ran `up` (see `launch::stop`): the watchdog is not
    // one of that agent's processes.
    let mut unset: Vec<String> = ["AGENTS_FLEET", "AGENTS_SESSION"]
        .iter()
        .flat_map(|v| ["-u".to_string(), v.to_string()])
        .collect();
    let mut set = Vec::new();
    for var in ["TMUX_TMPDIR", "AGENTS_TMUX_SOCKET"] {
        match std::env::var(var) {
            Ok(v) => set.push(format!("{var}={v}")),
            Err(_) => unset.extend(["-u".to_string(), var.to_string()]),
        }
    }
    let mut argv = vec!["env".to_string()];
    argv.extend(unset);
    argv.extend(set);
    argv.extend([
        exe.to_string_lossy().into_owned(),
        "--config".into(),
        ctx.cfg.path.to_string_lossy().into_owned(),
        "watchdog".into(),
    ]);
    let session = ctx.cfg.watchdog_session();
    Ok(Prepared {
        name: "watchdog".into(),
        spec: SessionSpec {
            log: ctx.cfg.session_log(&session),
            log_max_bytes: ctx.cfg.log_max_bytes,
            log_files: ctx.cfg.log_files,
            mark: None,
            name: session.clone(),
            cwd: ctx.cfg.project_dir.clone(),
            argv,
            env: Vec::new(),
            replace,
            wake: None,
        },
        ping: None,
        describe: format!("{session} (watchdog)"),
        evidence: serde_json::Value::Null,
        cause: None,
        model: None,
    })
}

/// Moves the fleet's running watchdog (process `pid`) into the session the config names for
/// it (`<session_prefix>watchdog`) when it runs in a watchdog session of an older
/// `session_prefix`: the session is renamed (the process, and the lock it holds, stay as they
/// are, so there is never a second watchdog nor a moment without one), its output goes to
/// the new session's log from then on, and the manifest records the new name. Only a
/// session recorded in the manifest as the watchdog's (or, without a record, named
/// `…watchdog`) is moved: never a session of the operator's in which `agents watchdog` runs.
/// A dead pane in the way (a watchdog that failed to start there) is killed first.
///
/// Returns the old session's name when it moved, `None` when there was nothing to move (the
/// watchdog already runs in its session, or in none: started outside tmux). Run it under the
/// fleet lock.
///
/// # Errors
///
/// [`LaunchError::MoveWatchdog`] (naming both sessions) when a live session holds the new
/// name, tmux refuses, or this executable's path is unknown.
pub async fn move_watchdog(
    ctx: &Ctx,
    sessions: &crate::tmux::Sessions,
    pid: u32,
) -> Result<Option<String>, LaunchError> {
    let to = ctx.cfg.watchdog_session();
    let Some(from) = sessions
        .by_name
        .iter()
        .find(|(_, p)| !p.dead && p.pid == Some(pid))
        .map(|(s, _)| s.clone())
    else {
        return Ok(None);
    };
    if from == to {
        return Ok(None);
    }
    let manifest = ctx.state.manifest();
    let recorded = manifest
        .load()
        .ok()
        .and_then(|m| m.sessions.get(&from).map(|e| e.name == "watchdog"));
    if !recorded.unwrap_or_else(|| from.ends_with("watchdog")) {
        return Ok(None);
    }
    let cannot = |why: LaunchError| LaunchError::MoveWatchdog {
        from: from.clone(),
        to: to.clone(),
        why: Box::new(why),
    };
    match sessions.get(&to) {
        Some(p) if !p.dead => {
            return Err(cannot(LaunchError::InTheWay {
                command: p.command.clone(),
            }));
        }
        Some(_) => ctx
            .mux
            .kill(std::slice::from_ref(&to))
            .await
            .map_err(|e| cannot(LaunchError::Tmux(e)))?,
        None => {}
    }
    let mut p = prepare_watchdog(ctx, false).map_err(cannot)?;
    p.spec.mark = Some(format!(
        "moved: from session {from} (session_prefix changed)"
    ));
    ctx.mux
        .rename(&from, &p.spec)
        .await
        .map_err(|e| cannot(LaunchError::Tmux(e)))?;
    if let Err(e) = manifest.rename(&from, &to) {
        tracing::warn!("cannot record the watchdog's new session {to} in the manifest: {e}");
    }
    ctx.events.emit(
        "watchdog-moved",
        json!({"name": "watchdog", "pid": pid, "from": from, "session": to,
               "why": "session_prefix changed"}),
    );
    Ok(Some(from))
}

/// Starts prepared sessions (one chained tmux call per batch), logs each and records it as
/// an `event` (`start`, `restart`) with its reason, then delivers ping kickoffs concurrently.
/// Returns one `(name, result)` per item, in order; a result's error is
/// [`LaunchError::Session`] (tmux did not start it).
pub async fn launch(
    ctx: &Ctx,
    items: &[(Prepared, String)],
    event: &str,
) -> Vec<(String, Result<(), LaunchError>)> {
    let (results, pings) = start(ctx, items, event).await;
    let deliveries = pings
        .iter()
        .map(|(name, session, kickoff)| deliver(ctx, name, session, kickoff));
    futures_util::future::join_all(deliveries).await;
    results
}

/// As [`launch`], but the ping kickoffs are delivered by background tasks that the caller
/// does not wait for: the watchdog's tick goes on while a restarted TUI comes up (up to its
/// `connect_delay`). One delivery per session: a newer one for the same session cancels the
/// older (it was meant for a pane that has since been replaced); deliveries to a session take
/// its typing lock ([`crate::typing`]). [`settle`] waits for them.
pub async fn launch_detached(
    ctx: &Ctx,
    items: &[(Prepared, String)],
    event: &str,
) -> Vec<(String, Result<(), LaunchError>)> {
    let (results, pings) = start(ctx, items, event).await;
    if pings.is_empty() {
        return results;
    }
    let shared = std::sync::Arc::new(ctx.clone());
    for (name, session, kickoff) in pings {
        let id = NEXT_DELIVERY.fetch_add(1, Ordering::Relaxed);
        let ctx = shared.clone();
        let key = session.clone();
        let task = tokio::spawn(async move {
            deliver(&ctx, &name, &session, &kickoff).await;
            let mut pending = PENDING
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if pending.get(&session).is_some_and(|(i, _)| *i == id) {
                pending.remove(&session);
            }
        });
        let mut pending = PENDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, older)) = pending.insert(key, (id, task.abort_handle())) {
            older.abort();
        }
    }
    results
}

/// Background ping deliveries by session: (id, handle).
static PENDING: Mutex<BTreeMap<String, (u64, AbortHandle)>> = Mutex::new(BTreeMap::new());
static NEXT_DELIVERY: AtomicU64 = AtomicU64::new(0);

/// Waits (up to `limit`) until no background ping delivery of [`launch_detached`] is left,
/// e.g. before `agents watchdog --once` exits.
pub async fn settle(limit: std::time::Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        let busy = {
            let mut pending = PENDING
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            pending.retain(|_, (_, h)| !h.is_finished());
            !pending.is_empty()
        };
        if !busy {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Delivers one ping kickoff; a failure is logged and recorded (`ping-failed`).
async fn deliver(ctx: &Ctx, name: &str, session: &str, kickoff: &std::path::Path) {
    let Some(agent) = ctx.cfg.agent(name) else {
        return;
    };
    if let Err(e) =
        ping::deliver_kickoff(ctx, ctx.cfg.backend_of(agent), name, session, kickoff).await
    {
        tracing::warn!("{name}: kickoff ping: {e}");
        ctx.events
            .emit("ping-failed", json!({"name": name, "error": e.to_string()}));
    }
}

/// The ping kickoffs still to deliver after [`start`]: (agent, session, kickoff file).
type Pings = Vec<(String, String, PathBuf)>;

/// Starts the sessions and records them; returns the results and the pings to deliver.
async fn start(
    ctx: &Ctx,
    items: &[(Prepared, String)],
    event: &str,
) -> (Vec<(String, Result<(), LaunchError>)>, Pings) {
    if items.is_empty() {
        return (Vec::new(), Vec::new());
    }
    for (p, _) in items {
        tracing::info!("starting {}", p.describe);
    }
    let specs: Vec<SessionSpec> = items
        .iter()
        .map(|(p, reason)| SessionSpec {
            mark: Some(format!("{event}: {reason}")),
            ..p.spec.clone()
        })
        .collect();
    let started = ctx.mux.start(&specs).await;
    let mut results: Vec<(String, Result<(), LaunchError>)> = Vec::new();
    let mut pings = Vec::new();
    for ((p, reason), r) in items.iter().zip(started) {
        match r {
            Ok(()) => {
                let mut fields = json!({"name": p.name, "session": p.spec.name, "reason": reason});
                if !p.evidence.is_null() {
                    fields["evidence"] = p.evidence.clone();
                }
                if let Some(cause) = p.cause {
                    fields["cause"] = json!(cause.as_str());
                }
                ctx.events.emit(event, fields);
                if let Some(k) = &p.ping {
                    pings.push((p.name.clone(), p.spec.name.clone(), k.clone()));
                }
                results.push((p.name.clone(), Ok(())));
            }
            Err(source) => {
                let e = LaunchError::Session {
                    name: p.name.clone(),
                    session: p.spec.name.clone(),
                    source,
                };
                ctx.events.emit(
                    "start-failed",
                    json!({"name": p.name, "session": p.spec.name, "error": e.to_string()}),
                );
                results.push((p.name.clone(), Err(e)));
            }
        }
    }
    // The process each pane was started with (one `list-panes` for all of them): the
    // watchdog reads an agent as dead when it is gone.
    let now = if results.iter().any(|(_, r)| r.is_ok()) {
        ctx.mux.sessions().await.ok()
    } else {
        None
    };
    let process = |session: &str| {
        let pane = now.as_ref()?.get(session).filter(|p| !p.dead)?;
        proctree::read(pane.pid?)
    };
    let started: Vec<crate::state::manifest::Started> = items
        .iter()
        .zip(&results)
        .filter(|(_, (_, r))| r.is_ok())
        .map(|((p, _), _)| crate::state::manifest::Started {
            session: p.spec.name.clone(),
            name: p.name.clone(),
            model: p.model.clone(),
            process: process(&p.spec.name),
        })
        .collect();
    if let Err(e) = ctx.state.manifest().add(&started) {
        tracing::warn!("cannot record the started sessions in the manifest: {e}");
    }
    (results, pings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_dir_is_named_with_its_fix_and_a_service_says_which_it_is() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("f");
        std::fs::write(&file, "").unwrap();
        let e = check_dir(&file).unwrap_err();
        assert!(matches!(e, LaunchError::NotADir { .. }), "{e:?}");
        let e = LaunchError::Service {
            name: "db".into(),
            source: Box::new(e),
        };
        assert_eq!(
            e.to_string(),
            format!(
                "service \"db\": its dir {} is not a directory; fix `dir` or move the file away",
                file.display()
            )
        );
        let e = check_dir(&file.join("sub")).unwrap_err();
        assert!(matches!(e, LaunchError::CreateDir { .. }), "{e:?}");
        assert!(e.to_string().ends_with("; fix `dir` or create it"), "{e}");
        assert!(check_dir(&t.path().join("new/dir")).is_ok());
        let e = command::check_program("no-such-program-here", t.path()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "program \"no-such-program-here\" is not on PATH"
        );
        let e = command::check_program("./nope", t.path()).unwrap_err();
        assert!(matches!(e, LaunchError::NoProgram { .. }), "{e:?}");
    }

    #[test]
    fn a_watchdog_that_cannot_move_names_both_sessions_and_what_is_in_the_way() {
        let e = LaunchError::MoveWatchdog {
            from: "old-watchdog".into(),
            to: "new-watchdog".into(),
            why: Box::new(LaunchError::InTheWay {
                command: "bash".into(),
            }),
        };
        assert_eq!(
            e.to_string(),
            "cannot move the watchdog from session old-watchdog to new-watchdog: a session of \
             that name runs \"bash\"; stop it (`agents down watchdog` stops both)"
        );
    }
}
