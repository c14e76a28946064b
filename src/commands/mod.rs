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
pub mod statusline;
pub mod up;
pub mod watchdog;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::config::{self, EnvOverrides, diagnostic};
use crate::ctx::Ctx;

/// Runs the verb named on the command line; `cli.config` is the `--config` given before or
/// after the verb.
pub async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config.as_deref();
    match cli.command {
        Command::Selftest(args) if args.live => {
            selftest::run_live(&load(config, "selftest")?, &args).await
        }
        Command::Selftest(args) => selftest::run(&args, config),
        Command::Init { dir, backend } => init::run(dir.as_deref(), &backend),
        Command::Presets { name } => presets::run(name.as_deref()),
        Command::Completions { shell } => completions::run(shell),
        Command::Schema => schema::run(),
        Command::Watchdog { once, .. } => watchdog::run(config::find(config)?, once).await,
        Command::Up { names, .. } => up::run(&load_probing(config, "up")?, &names).await,
        Command::Down { names, .. } => down::run(&load(config, "down")?, &names).await,
        Command::Restart { names, .. } => restart::run(&load(config, "restart")?, &names).await,
        Command::Attach {
            name, read_only, ..
        } => attach::run(&load(config, "attach")?, &name, read_only).await,
        Command::Doctor { .. } => doctor::run(config).await,
        Command::Status { json, .. } => status::run(&load_probing(config, "status")?, json).await,
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
        Command::Statusline { file, then } => {
            statusline::run(&file, then.as_deref());
            Ok(ExitCode::SUCCESS)
        }
        Command::Signal { file, event } => {
            crate::state::signals::record_stdin(&file, &event);
            Ok(ExitCode::SUCCESS)
        }
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
    }
}

/// Finds and loads the config (one-off env overrides apply), logging its warnings.
pub fn load(explicit: Option<&std::path::Path>, source: &'static str) -> anyhow::Result<Ctx> {
    load_with(explicit, source, false)
}

/// [`load`], also warning about a `[loop.handoff]` repository that cannot be used
/// ([`config::check_handoff_repo`]): for `up` (which starts the watchdog that watches it)
/// and `status` (the fleet's health). The other verbs do not open the repository.
pub fn load_probing(
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
        config::check_handoff_repo(&mut cfg, crate::git::probe);
    }
    config::log_warnings(&cfg);
    Ok(Ctx::new(cfg, source))
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
