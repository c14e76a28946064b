//! One file per verb. Each takes the parsed arguments and returns an exit code; errors are
//! printed by `lib::run`.

pub mod attach;
pub mod completions;
pub mod doctor;
pub mod down;
pub mod events;
pub mod init;
pub mod logs;
pub mod phase;
pub mod presets;
pub mod restart;
pub mod schema;
pub mod selftest;
pub mod send;
pub mod status;
pub mod up;
pub mod watchdog;

use std::process::ExitCode;

use anyhow::Context as _;

use crate::cli::{Cli, Command};
use crate::config::{self, EnvOverrides, diagnostic};
use crate::ctx::Ctx;

/// Runs a verb that needs no async runtime (it runs no tmux, waits on no timer): `pipe-log`,
/// `init`, `schema`, `presets`, `completions` and an offline `selftest` (without `--live`).
/// `lib::run` calls it before it builds the tokio runtime, so those verbs never build one
/// (`pipe-log` runs once per session for its whole life). Every other verb: `Err` with the
/// command line given back, for [`dispatch`].
#[allow(clippy::result_large_err)]
pub fn dispatch_offline(cli: Cli) -> Result<anyhow::Result<ExitCode>, Cli> {
    let config = cli.config.as_deref();
    Ok(match cli.command {
        Command::Selftest(args) if !args.live => selftest::run(&args, config),
        Command::Init { dir, backend } => init::run(dir.as_deref(), &backend),
        Command::Presets { name } => presets::run(name.as_deref()),
        Command::Completions { shell } => completions::run(shell),
        Command::Schema => schema::run(),
        Command::PipeLog {
            file,
            max_bytes,
            keep,
            mark,
        } => {
            crate::logfile::run_writer(crate::logfile::WriterOptions {
                file,
                max_bytes,
                keep,
                mark,
            });
            Ok(ExitCode::SUCCESS)
        }
        _ => return Err(cli),
    })
}

/// Runs the verb named on the command line; `cli.config` is the `--config` given before or
/// after the verb. The verbs of [`dispatch_offline`] run there (without awaiting anything).
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let cli = match dispatch_offline(cli) {
        Ok(done) => return done,
        Err(cli) => cli,
    };
    let config = cli.config.as_deref();
    match cli.command {
        Command::Selftest(args) => selftest::run_live(&load(config, "selftest")?, &args).await,
        Command::PipeLog { .. }
        | Command::Init { .. }
        | Command::Presets { .. }
        | Command::Completions { .. }
        | Command::Schema => unreachable!("run by dispatch_offline"),
        Command::Watchdog { once, .. } => watchdog::run(config_path(config)?, once).await,
        Command::Up { names, .. } => up::run(&load(config, "up")?, &names).await,
        Command::Down { names, .. } => down::run(&load(config, "down")?, &names).await,
        Command::Restart { names, .. } => restart::run(&load(config, "restart")?, &names).await,
        Command::Attach {
            name, read_only, ..
        } => attach::run(&load(config, "attach")?, &name, read_only).await,
        Command::Doctor { .. } => doctor::run(config).await,
        Command::Status { json, .. } => status::run(&load(config, "status")?, json).await,
        Command::Phase { action, .. } => phase::run(&load(config, "phase")?, action).await,
        Command::Send {
            name,
            text,
            file,
            keys,
            now,
            timeout,
            ..
        } => {
            let input = send::Input::of(text, file, keys);
            let wait = (!now).then_some(timeout);
            send::run(&load(config, "send")?, &name, input, wait).await
        }
        Command::Logs {
            name,
            lines,
            follow,
            no_follow,
            raw,
            ..
        } => {
            use std::io::IsTerminal as _;
            let follow = logs::follows(follow, no_follow, std::io::stdout().is_terminal());
            logs::run(&load(config, "logs")?, name.as_deref(), lines, follow, raw).await
        }
        Command::Events(args) => events::run(&load(config, "events")?, &args).await,
    }
}

/// The config file this invocation uses (SPEC §1 discovery).
pub fn config_path(explicit: Option<&std::path::Path>) -> anyhow::Result<std::path::PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let env = std::env::var_os("AGENTS_CONFIG").map(std::path::PathBuf::from);
    Ok(config::discover(explicit, env, &cwd)?)
}

/// Finds and loads the config (one-off env overrides apply), logging its warnings.
pub fn load(explicit: Option<&std::path::Path>, source: &'static str) -> anyhow::Result<Ctx> {
    let path = config_path(explicit)?;
    let cfg = config::load(&path, EnvOverrides::Apply)?;
    log_warnings(&cfg);
    Ok(Ctx::new(cfg, source))
}

/// Logs a config's warnings (unknown keys, ignored values), one rendered block each.
pub fn log_warnings(cfg: &config::Config) {
    if cfg.warnings.is_empty() {
        return;
    }
    let text = std::fs::read_to_string(&cfg.path).unwrap_or_default();
    for w in &cfg.warnings {
        let mut s = String::new();
        let _ = diagnostic::render(&mut s, &cfg.path, &text, w);
        tracing::warn!("{}", s.trim_end());
    }
}

/// An error for an unknown preset name that lists the presets (with a "did you mean").
pub fn unknown_preset(name: &str) -> anyhow::Error {
    let names = config::presets::names();
    let hint = diagnostic::did_you_mean(name, names.iter().copied())
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default();
    anyhow::anyhow!(
        "unknown preset {name:?}{hint}\n  help: the presets are {}; `agents presets` lists them",
        names.join(", ")
    )
}

/// Resolves verb arguments to agents, services and `watchdog`; an unknown name is an error
/// that lists the known ones (SPEC defect 15).
pub fn check_names(cfg: &config::Config, names: &[String]) -> anyhow::Result<()> {
    let known = cfg.known_names();
    let unknown: Vec<&String> = names.iter().filter(|n| !known.contains(n)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let hint = unknown
        .iter()
        .find_map(|u| diagnostic::did_you_mean(u, known.iter().map(String::as_str)))
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default();
    anyhow::bail!(
        "unknown name{} {}{hint}\n  help: names in {}: {}",
        if unknown.len() == 1 { "" } else { "s" },
        unknown
            .iter()
            .map(|u| format!("{u:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        cfg.path.display(),
        known.join(", ")
    )
}

/// How long `up` and `down` wait for another command that starts or stops this fleet.
pub const FLEET_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Takes the fleet's start/stop lock (`state/fleet.lock`) for a verb, waiting for an `up`,
/// `down` or watchdog restart that holds it. Held until the returned file is dropped. When
/// the lock file cannot be created or locked at all (not contention: a read-only or full
/// disk, the state dir replaced by a file) the verb goes on without it (`None`) after a
/// warning that says so: stopping never depends on the disk.
pub async fn fleet_lock(ctx: &Ctx) -> anyhow::Result<Option<std::fs::File>> {
    use crate::state::lock::WaitError;
    let path = ctx.state.fleet_lock_path();
    if crate::state::lock::is_held(&path) {
        tracing::info!("waiting for another command that starts or stops this fleet");
    }
    match crate::state::lock::wait_for(&path, FLEET_LOCK_WAIT).await {
        Ok(f) => Ok(Some(f)),
        Err(WaitError::Held(e)) => Err(anyhow::anyhow!(
            "another `agents` command is starting or stopping sessions of this fleet: {e}\n  help: wait for it to finish, then try again"
        )),
        // Nobody holds it; it cannot be taken at all. Starting and stopping must not depend
        // on the disk: go on, and say what is not guarded.
        Err(WaitError::Io(e)) => {
            tracing::warn!(
                "{e}: going on without the fleet lock (another `agents` command, or the watchdog, may start or stop sessions at the same time)\n  help: make {} writable (or free space on its disk)",
                ctx.state.dir().display()
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    /// Issue 13 item 7: the offline verbs run here, outside any tokio runtime (a verb that
    /// touched tokio's process, timer or I/O driver would panic: "there is no reactor
    /// running"); the verbs that need one are given back untouched.
    #[test]
    fn offline_verbs_run_without_a_runtime_and_the_others_are_given_back() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).expect("parses");
        let offline = dispatch_offline(parse(&["agents", "selftest", "--json"]));
        let err = offline.expect("selftest runs offline").unwrap_err();
        assert!(err.to_string().contains("--json only applies"), "{err}");
        for args in [
            &["agents", "status"][..],
            &["agents", "selftest", "--live"],
            &["agents", "watchdog", "--once"],
            &["agents", "send", "a1", "hi"],
        ] {
            let back = dispatch_offline(parse(args)).expect_err("needs the runtime");
            assert_eq!(
                format!("{:?}", back.command),
                format!("{:?}", parse(args).command),
                "{args:?}"
            );
        }
    }
}
