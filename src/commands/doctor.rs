//! `agents doctor` — checks what the fleet needs and says how to fix what is wrong, one line
//! per check: `ok|warn|fail  what — fix`. Exit 1 when any check fails (warnings allowed).
//! Works without a config: that check fails, the others that need none still run.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, Agent, Config, EnvOverrides};
use crate::ctx::Ctx;
use crate::detect::fixtures;
use crate::launch::command;
use crate::tmux::Tmux;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// Nothing to do.
    Ok,
    /// Works, but worth a look (does not change the exit status).
    Warn,
    /// Broken: `doctor` exits 1.
    Fail,
}

/// One line of the report: the level, what was checked (and found), and the fix (empty
/// when there is nothing to do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// How bad it is: [`Level::Fail`] makes `doctor` exit 1.
    pub level: Level,
    /// What was checked, and what was found.
    pub what: String,
    /// How to fix it; empty when there is nothing to do.
    pub fix: String,
}

impl Line {
    fn ok(what: impl Into<String>) -> Self {
        Self {
            level: Level::Ok,
            what: what.into(),
            fix: String::new(),
        }
    }
    fn warn(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            level: Level::Warn,
            what: what.into(),
            fix: fix.into(),
        }
    }
    fn fail(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            level: Level::Fail,
            what: what.into(),
            fix: fix.into(),
        }
    }

    /// `ok    what`, `warn  what — fix`, `fail  what — fix`; continuation lines of a long
    /// message are indented under `what`.
    pub(crate) fn render(&self) -> String {
        let tag = match self.level {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        };
        let mut s = format!("{tag:<4}  {}", self.what);
        if !self.fix.is_empty() {
            s.push_str(" — ");
            s.push_str(&self.fix);
        }
        s.replace('\n', "\n      ")
    }
}

/// Runs every check; prints one line each. `explicit` is the global `--config`. A failed
/// check is not an error: it makes the exit code 1.
///
/// # Errors
///
/// Writing to stdout fails.
pub(crate) async fn run(explicit: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut lines = Vec::new();
    let loaded = match crate::config::find(explicit) {
        Ok(path) => match config::load(&path, EnvOverrides::Apply) {
            Ok(cfg) => {
                lines.push(Line::ok(format!("the config {} loads", path.display())));
                Some(cfg)
            }
            Err(e) => {
                let e = e.to_string();
                let (what, fix) = split_help(&e, "fix it as the message says");
                lines.push(Line::fail(
                    format!("the config {} does not load:\n{what}", path.display()),
                    fix,
                ));
                None
            }
        },
        Err(e) => {
            let e = format!("{e:#}");
            let (what, fix) = split_help(&e, "run `agents init`, or pass --config PATH");
            lines.push(Line::fail(format!("no config: {what}"), fix));
            None
        }
    };
    let ctx = loaded.map(|cfg| Ctx::new(cfg, "doctor"));
    let tmux = ctx
        .as_ref()
        .map_or_else(|| Tmux::for_fleet(None), |c| c.tmux.clone());
    let tmux_ok = check_tmux(&tmux, &mut lines).await;
    if let Some(ctx) = &ctx {
        check_programs(&ctx.cfg, &mut lines);
        if let Some(h) = &ctx.cfg.loop_.handoff {
            lines.push(check_handoff_repo(&h.repo));
        }
        lines.push(check_log_dir(&ctx.cfg.log_dir));
        if tmux_ok {
            check_server(ctx, &mut lines).await;
        }
    }
    lines.push(check_selftest());

    let mut out = std::io::stdout().lock();
    let on = crate::color::stdout();
    for l in &lines {
        // The tag colored on a terminal: ok green, warn yellow, fail red.
        let line = l.render();
        let (tag, rest) = line.split_at(4);
        let style = match l.level {
            Level::Ok => crate::color::GREEN,
            Level::Warn => crate::color::YELLOW,
            Level::Fail => crate::color::RED,
        };
        writeln!(out, "{}{rest}", crate::color::paint(on, style, tag))?;
    }
    let fails = lines.iter().filter(|l| l.level == Level::Fail).count();
    let warns = lines.iter().filter(|l| l.level == Level::Warn).count();
    writeln!(
        out,
        "{} check{}: {fails} failed, {warns} warning{}",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
        if warns == 1 { "" } else { "s" }
    )?;
    out.flush()?;
    Ok(if fails == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Splits an error message at its last `help:` line into (what, fix); `fallback` is the fix
/// of a message without one.
fn split_help<'a>(msg: &'a str, fallback: &'a str) -> (&'a str, &'a str) {
    match msg.rfind("\n  help: ") {
        Some(i) => (msg[..i].trim_end(), msg[i + 9..].trim()),
        None => (msg.trim_end(), fallback),
    }
}

/// tmux is installed and at least 3.0. Returns whether it can be used.
async fn check_tmux(tmux: &Tmux, lines: &mut Vec<Line>) -> bool {
    match tmux.check_version().await {
        Ok(v) => {
            lines.push(Line::ok(format!("tmux {v} found (3.0 or newer needed)")));
            true
        }
        Err(crate::tmux::TmuxError::TooOld { found }) => {
            lines.push(Line::fail(
                format!("tmux {found} is too old (3.0 or newer needed)"),
                "upgrade tmux",
            ));
            false
        }
        Err(e) => {
            let e = e.to_string();
            let (what, fix) = split_help(&e, "install tmux 3.0 or newer");
            lines.push(Line::fail(what, fix));
            false
        }
    }
}

/// Why `agent`'s program cannot be run, naming it and the fix; `None` when it can (or when
/// only its backend's shell `preamble` knows it).
pub(crate) fn program_problem(cfg: &Config, agent: &Agent) -> Option<String> {
    let backend = cfg.backend_of(agent);
    let cmd = command::build(
        backend,
        &command::LaunchInputs {
            session: &agent.session,
            dir: &agent.dir,
            kickoff_file: Path::new("kickoff.txt"),
            model: None,
            resume_id: None,
            settings: None,
            hook_args: &[],
        },
    );
    let program = cmd.program?;
    command::check_program(&program, &agent.dir).err().map(|e| {
        format!(
            "agent {} (backend {}): {e} — install it or fix `bin` in [backend.{}]",
            agent.name, backend.name, backend.name
        )
    })
}

/// What to tell someone who looks for the log of `name` that has none yet: start it, or (an
/// agent whose program is missing, which `up` cannot start) the missing program.
pub(crate) fn start_hint(cfg: &Config, name: &str) -> String {
    match cfg.agent(name).and_then(|a| program_problem(cfg, a)) {
        Some(p) => format!("it cannot start: {p}"),
        None => format!("start it with `agents up {name}`"),
    }
}

/// Every enabled agent's program is on PATH (or exists, for a path).
fn check_programs(cfg: &Config, lines: &mut Vec<Line>) {
    let enabled: Vec<&Agent> = cfg.agents.iter().filter(|a| a.enabled).collect();
    let mut missing = 0;
    for a in &enabled {
        if let Some(p) = program_problem(cfg, a) {
            missing += 1;
            let (what, fix) = p.split_once(" — ").unwrap_or((&p, ""));
            lines.push(Line::fail(what, fix));
        }
    }
    if missing == 0 && !enabled.is_empty() {
        lines.push(Line::ok(format!(
            "the program{} of {} enabled agent{} found",
            if enabled.len() == 1 { "" } else { "s" },
            enabled.len(),
            if enabled.len() == 1 { "" } else { "s" }
        )));
    }
}

/// Free space below this fails the check: logs and state cannot be written.
const FAIL_BYTES: u64 = 16 << 20;
/// Free space below this is a warning: session logs grow.
const WARN_BYTES: u64 = 512 << 20;

/// Whether the `[loop.handoff]` repository can be watched (exists, is a git repository,
/// has an `origin` remote: [`crate::git::probe`]). A warning, not a failure: the fleet
/// runs without handoff pings until it is fixed.
fn check_handoff_repo(repo: &Path) -> Line {
    match crate::git::probe(repo) {
        Ok(()) => Line::ok(format!(
            "the handoff repository {} has an `origin` remote",
            repo.display()
        )),
        Err(e) => Line::warn(
            format!("[loop.handoff] repo: {e}"),
            "until it is fixed there are no handoff pings (the watchdog retries every tick)",
        ),
    }
}

/// `log_dir` (or the directory it will be created in) is writable and has free space.
fn check_log_dir(log_dir: &Path) -> Line {
    let existing = log_dir
        .ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("/"));
    let probe = existing.join(format!(".agents-doctor-{}", std::process::id()));
    if let Err(e) = std::fs::write(&probe, b"") {
        return Line::fail(
            format!("log_dir {} is not writable ({e})", log_dir.display()),
            "fix its permissions, or set `log_dir` in [defaults] to a writable directory",
        );
    }
    let _ = std::fs::remove_file(&probe);
    let free = match nix::sys::statvfs::statvfs(existing) {
        // The field types differ between platforms (u32 on some 32-bit ones).
        #[allow(clippy::unnecessary_cast)]
        Ok(s) => (s.blocks_available() as u64).saturating_mul(s.fragment_size() as u64),
        Err(e) => {
            return Line::warn(
                format!(
                    "log_dir {} is writable; its free space is unknown ({e})",
                    log_dir.display()
                ),
                "check it with `df`",
            );
        }
    };
    let mib = free >> 20;
    let what = format!("log_dir {} is writable, {mib} MiB free", log_dir.display());
    if free < FAIL_BYTES {
        Line::fail(what, "free space on that disk, or move `log_dir`")
    } else if free < WARN_BYTES {
        Line::warn(
            what,
            "session logs grow; free space on that disk or move `log_dir`",
        )
    } else {
        Line::ok(what)
    }
}

/// The watchdog runs and holds its lock; the server has no sessions with the fleet's prefix
/// that the config does not name.
async fn check_server(ctx: &Ctx, lines: &mut Vec<Line>) {
    let cfg = &ctx.cfg;
    let sessions = match ctx.mux.sessions().await {
        Ok(s) => s,
        Err(e) => {
            lines.push(Line::fail(
                format!("the fleet's tmux server does not answer: {e}"),
                "see tmux's message",
            ));
            return;
        }
    };
    let wd = cfg.watchdog_session();
    let held = crate::state::lock::is_held(&ctx.state.lock_path());
    lines.push(match (sessions.is_live(&wd), held) {
        (true, true) => Line::ok(format!("the watchdog runs in {wd} and holds its lock")),
        (false, true) => Line::ok(format!(
            "a watchdog holds the lock {} (run in the foreground, not in {wd})",
            ctx.state.lock_path().display()
        )),
        (true, false) => Line::warn(
            format!(
                "{wd} runs, but no watchdog holds the lock {}",
                ctx.state.lock_path().display()
            ),
            "see `agents logs watchdog`; `agents restart watchdog` starts it again".to_string(),
        ),
        (false, false) => Line::warn(
            "the watchdog is not running: nothing restarts a failed agent",
            "`agents up watchdog` (or `agents up` for the whole fleet)",
        ),
    });
    let named = cfg.session_names();
    let mut unknown: Vec<&String> = sessions
        .by_name
        .keys()
        .filter(|s| s.starts_with(&cfg.session_prefix) && !named.contains(s))
        .collect();
    unknown.sort();
    if unknown.is_empty() {
        lines.push(Line::ok(format!(
            "no session with the prefix {:?} that the config does not name",
            cfg.session_prefix
        )));
    } else {
        let socket = ctx
            .tmux
            .socket()
            .map(|s| format!(" -L {s}"))
            .unwrap_or_default();
        for s in unknown {
            lines.push(Line::warn(
                format!("session {s} has the fleet's prefix but the config does not name it"),
                format!("`agents down` stops the ones this fleet started; else `tmux{socket} kill-session -t ={s}`"),
            ));
        }
    }
}

/// The built-in detection checks and captured screens (`agents selftest`) pass.
fn check_selftest() -> Line {
    let checks = super::selftest::checks();
    let outcomes = fixtures::run();
    let mut failed: Vec<String> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| n.to_string())
        .collect();
    failed.extend(
        outcomes
            .iter()
            .filter(|o| matches!(o.verdict, fixtures::Verdict::Fail(_)))
            .map(|o| format!("screen {}", o.file)),
    );
    let total = checks.len() + outcomes.len();
    if failed.is_empty() {
        Line::ok(format!(
            "selftest: {total} detection checks and screens pass"
        ))
    } else {
        Line::fail(
            format!(
                "selftest: {} of {total} fail: {}",
                failed.len(),
                failed.join(", ")
            ),
            "run `agents selftest` for the details",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_render_level_what_and_fix() {
        assert_eq!(Line::ok("tmux 3.4 found").render(), "ok    tmux 3.4 found");
        assert_eq!(
            Line::fail("no x", "install x").render(),
            "fail  no x — install x"
        );
        assert_eq!(Line::warn("a\nb", "c").render(), "warn  a\n      b — c");
    }

    #[test]
    fn a_writable_log_dir_is_not_a_failure() {
        let d = tempfile::tempdir().unwrap();
        let l = check_log_dir(&d.path().join("not/yet"));
        assert_ne!(l.level, Level::Fail, "{l:?}");
        assert!(l.what.contains("MiB free"), "{l:?}");
    }
}
