//! `agents completions SHELL` — print the shell's completion script for `agents`, generated
//! by `clap_complete` from the command line's definition (so it knows every verb and flag).

use std::io::Write as _;
use std::process::ExitCode;

use clap::CommandFactory as _;

/// Writes the completion script for `shell` to stdout.
///
/// # Errors
///
/// Writing to stdout fails.
pub(crate) fn run(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut crate::cli::Cli::command(), "agents", &mut buf);
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
