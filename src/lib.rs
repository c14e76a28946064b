//! # agents — run and supervise a fleet of AI coding-agent sessions in tmux
//!
//! Architecture, one module per subsystem. Arrows point at what a module imports; nothing
//! imports upwards (no module imports `commands`, no verb but `watchdog` imports the
//! watchdog) and there is no import circle:
//!
//! ```text
//! cli (the arguments, `--since`) ◄── commands/<verb> (thin verbs)
//!                                     ├─► config (the only reader of agents.toml: find, load,
//!                                     │           log_warnings; opens no repository)
//!                                     ├─► launch (kickoff, argv, loops::move_to) ──► typing
//!                                     ├─► tmux (the only caller of tmux; relay: the watchdog's
//!                                     │         listing served to `status` over a socket)
//!                                     ├─► state (files under log_dir: every path from StateDir,
//!                                     │          atomic; json: the one JSON reader/writer;
//!                                     │          lock; handoff.json; the hooks' signals and
//!                                     │          usage; Clock, ReportOnce) ──► supervise
//!                                     ├─► events (events.jsonl; offers each event to a Sink)
//!                                     ├─► transcript (Claude Code's conversation, for logs)
//!                                     ├─► git::probe (doctor, up, status: the handoff repo)
//!                                     └─► watchdog (`agents watchdog` only: light/heavy ticks)
//!                                          ├─► detect (pure readings) · supervise (pure policy:
//!                                          │   limit, stall, restart, handoff) · phase
//!                                          ├─► launch · typing · state · tmux
//!                                          ├─► notify (implements events::Sink)
//!                                          └─► handoff (the checker) ──► git (the only caller of
//!                                                                       git; on spawn_blocking)
//! ```
//!
//! Exit codes: 0 success; 1 an error (config, tmux, a session that did not start, a failed
//! selftest, a tmux server that does not answer); 2 a usage error (from clap); 3 from
//! `status`, an unhealthy fleet. Writing to a closed stdout exits 0; any other write error on
//! stdout exits 1; errors writing to stderr are ignored. Nothing is printed with `println!`
//! or `eprintln!`, which panic on a failed write.

pub(crate) mod cli;
pub(crate) mod color;
pub mod commands;
pub mod config;
pub mod ctx;
pub mod detect;
pub(crate) mod eventline;
pub(crate) mod events;
pub mod git;
pub mod launch;
pub(crate) mod logfile;
pub(crate) mod logging;
pub mod notify;
pub(crate) mod phase;
pub mod state;
pub mod supervise;
pub(crate) mod termtext;
pub mod tmux;
pub(crate) mod transcript;
pub mod typing;
pub mod watchdog;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

/// What `agents --version` prints: clap's own version line (`agents 0.1.0`).
pub const VERSION_LINE: &str = concat!("agents ", env!("CARGO_PKG_VERSION"), "\n");

/// Parses the command line, runs the verb, prints any error, returns the exit code.
pub fn run() -> ExitCode {
    // `agents --version` (or `-V`) alone is answered before the command line's parser is
    // built (about a quarter of that start's instructions); clap prints the same line.
    let mut args = std::env::args_os().skip(1);
    let first = args.next();
    if let Some(a) = &first
        && (a == "--version" || a == "-V")
        && args.len() == 0
    {
        use std::io::Write as _;
        return match std::io::stdout().write_all(VERSION_LINE.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => ExitCode::FAILURE,
            _ => ExitCode::SUCCESS,
        };
    }
    // The internal verbs (session log writer, hooks, status line) with a parser of their own.
    if let Some(command) = first.as_deref().and_then(|v| cli::internal(v, args)) {
        color::init(color::When::default(), false);
        logging::init(false, false);
        // `cli::internal` gives only internal verbs: nothing is handed back.
        return commands::run_internal(command).unwrap_or(ExitCode::FAILURE);
    }
    let matches = cli::Cli::command().get_matches();
    let mut cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // `--config` before the verb or after it (the verb's own wins); refused for a verb that
    // reads no config, as clap refuses it after such a verb.
    match cli.command.config_arg() {
        Some(own) => cli.config = own.config.clone().or(cli.config),
        None if cli.config.is_some() => cli::Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "`agents {}` reads no config: --config is not one of its options",
                    matches.subcommand_name().unwrap_or_default()
                ),
            )
            .exit(),
        None => {}
    }
    let logs_to_file = matches!(cli.command, cli::Command::Watchdog { .. });
    color::init(cli.color, logs_to_file);
    logging::init(cli.verbose, cli.quiet);
    // The verbs that run no tmux and wait on no timer run without a runtime.
    let cli = match commands::dispatch_offline(cli) {
        Ok(done) => return exit_code(done),
        Err(cli) => cli,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            print_error(format_args!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    exit_code(rt.block_on(commands::dispatch(cli)))
}

/// A verb's result as the process's exit code, its error printed (a closed stdout: 0).
fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    match result {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            print_error(format_args!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Prints `agents: error: ...` on stderr (`error:` red when stderr gets color); a closed or full stderr is ignored (never a panic,
/// which `eprintln!` would be).
fn print_error(msg: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let error = color::paint(color::stderr(), color::RED, "error:");
    let _ = writeln!(std::io::stderr(), "agents: {error} {msg}");
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::cli;
    use clap::CommandFactory as _;

    #[test]
    fn the_early_version_line_is_the_one_clap_prints() {
        assert_eq!(cli::Cli::command().render_version(), super::VERSION_LINE);
    }
}
