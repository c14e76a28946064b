//! One file per verb. Each takes the parsed arguments and returns an exit code; errors are
//! printed by `lib::run`.

pub(crate) mod attach;
pub(crate) mod completions;
pub(crate) mod doctor;
pub(crate) mod down;
pub(crate) mod events;
pub mod init;
pub(crate) mod logs;
pub(crate) mod phase;
pub(crate) mod presets;
pub(crate) mod restart;
pub(crate) mod schema;
pub(crate) mod selftest;
pub(crate) mod send;
pub(crate) mod status;
pub(crate) mod statusline;
pub(crate) mod up;
pub(crate) mod watchdog;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::{self, EnvOverrides, diagnostic};
use crate::ctx::Ctx;

/// Runs a verb that needs no async runtime (it runs no tmux, waits on no timer): `pipe-log`,
/// `signal` and `statusline` (a CLI's hooks run them), `init`, `schema`, `presets`,
/// `completions` and an offline `selftest` (without `--live`).
/// `lib::run` calls it before it builds the tokio runtime, so those verbs never build one
/// (`pipe-log` runs once per session for its whole life). Every other verb: `Err` with the
/// command line given back, for [`dispatch`].
///
/// # Errors
///
/// The command line given back (`Err(cli)`) for a verb that needs the runtime; the verb's
/// own error inside `Ok`.
#[allow(clippy::result_large_err)]
pub(crate) fn dispatch_offline(cli: Cli) -> Result<anyhow::Result<ExitCode>, Cli> {
    let config = cli.config.as_deref();
    Ok(match cli.command {
        Command::Selftest(args) if !args.live => selftest::run(&args, config),
        Command::Init { dir, backend } => init::run(dir.as_deref(), &backend),
        Command::Presets { name } => presets::run(name.as_deref()),
        Command::Completions { shell } => completions::run(shell),
        Command::Schema => schema::run(),
        command => {
            return match run_internal(command) {
                Ok(code) => Ok(Ok(code)),
                Err(command) => Err(Cli { command, ..cli }),
            };
        }
    })
}

/// Runs an internal verb (`statusline`, `signal`, `pipe-log`: each always exits 0); any
/// other verb is handed back (as `dispatch_offline` hands back its `Cli`).
#[allow(clippy::result_large_err)]
pub(crate) fn run_internal(command: Command) -> Result<ExitCode, Command> {
    match command {
        Command::Statusline(a) => statusline::run(&a.file, a.then.as_deref()),
        Command::Signal(a) => crate::state::signals::record_stdin(&a.file, &a.event),
        Command::PipeLog(a) => crate::logfile::run_writer(crate::logfile::WriterOptions {
            file: a.file,
            max_bytes: a.max_bytes,
            keep: a.keep,
            mark: a.mark,
        }),
        other => return Err(other),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs the verb named on the command line; `cli.config` is the `--config` given before or
/// after the verb. The verbs of [`dispatch_offline`] run there (without awaiting anything).
///
/// # Errors
///
/// The verb's: the config cannot be found or loaded, tmux fails, … (printed by `lib::run`).
pub(crate) async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let cli = match dispatch_offline(cli) {
        Ok(done) => return done,
        Err(cli) => cli,
    };
    let config = cli.config.as_deref();
    match cli.command {
        Command::Selftest(args) => selftest::run_live(&load(config, "selftest")?, &args).await,
        Command::PipeLog(_)
        | Command::Signal(_)
        | Command::Statusline(_)
        | Command::Init { .. }
        | Command::Presets { .. }
        | Command::Completions { .. }
        | Command::Schema => unreachable!("run by dispatch_offline"),
        Command::Watchdog { once, .. } => watchdog::run(config::find(config)?, once).await,
        Command::Up { names, .. } => up::run(&load_probing(config, "up")?, &names).await,
        Command::Down { names, .. } => down::run(&load(config, "down")?, &names).await,
        Command::Restart { names, .. } => restart::run(&load(config, "restart")?, &names).await,
        Command::Attach {
            name, read_only, ..
        } => attach::run(&load(config, "attach")?, &name, read_only).await,
        Command::Doctor { .. } => doctor::run(config).await,
        Command::Status { json, .. } => {
            // Its listing is asked for before the config is read, and comes while it is.
            let early = status::Early::start(config).await;
            let found = early.config.clone();
            let ctx = load_probing(found.as_deref().or(config), "status")?;
            status::run(&ctx, json, early).await
        }
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
            screen,
            ..
        } => {
            use std::io::IsTerminal as _;
            let follow = logs::follows(follow, no_follow, std::io::stdout().is_terminal());
            let view = logs::View::of(raw, screen);
            logs::run(&load(config, "logs")?, name.as_deref(), lines, follow, view).await
        }
        Command::Events(args) => events::run(&load(config, "events")?, &args).await,
    }
}

/// Finds and loads the config (one-off env overrides apply), logging its warnings.
///
/// # Errors
///
/// The config cannot be found ([`config::find`]) or loaded ([`config::load`]).
pub(crate) fn load(
    explicit: Option<&std::path::Path>,
    source: &'static str,
) -> anyhow::Result<Ctx> {
    load_with(explicit, source, false)
}

/// [`load`], also warning about a `[loop.handoff]` repository that cannot be used
/// ([`config::check_handoff_repo`]): for `up` (which starts the watchdog that watches it)
/// and `status` (the fleet's health). The other verbs do not open the repository.
///
/// # Errors
///
/// As [`load`].
pub(crate) fn load_probing(
    explicit: Option<&std::path::Path>,
    source: &'static str,
) -> anyhow::Result<Ctx> {
    load_with(explicit, source, true)
}

fn load_with(
    explicit: Option<&std::path::Path>,
    source: &'static str,
    probe_handoff: bool,
) -> anyhow::Result<Ctx> {
    let path = config::find(explicit)?;
    let mut cfg = config::load(&path, EnvOverrides::Apply)?;
    if probe_handoff {
        config::check_handoff_repo(&mut cfg, |p| {
            crate::git::probe(p).map_err(|e| e.to_string())
        });
    }
    config::log_warnings(&cfg);
    Ok(Ctx::new(cfg, source))
}

/// An error for an unknown preset name that lists the presets (with a "did you mean").
pub(crate) fn unknown_preset(name: &str) -> anyhow::Error {
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
///
/// # Errors
///
/// Names that are none of them, listed, with a "did you mean" and the known names.
pub(crate) fn check_names(cfg: &config::Config, names: &[String]) -> anyhow::Result<()> {
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
