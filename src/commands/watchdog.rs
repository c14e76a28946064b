//! `agents watchdog [--once]` — run the supervisor loop in the foreground.

use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the watchdog on the config at `config` ([`crate::watchdog::run`]); `once`: one light
/// and one heavy tick, then exit.
///
/// # Errors
///
/// As [`crate::watchdog::run`].
pub(crate) async fn run(config: PathBuf, once: bool) -> anyhow::Result<ExitCode> {
    crate::watchdog::run(&config, crate::watchdog::Options { once }).await
}
