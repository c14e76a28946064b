//! `agents watchdog [--once]` — run the supervisor loop in the foreground.

use std::path::PathBuf;
use std::process::ExitCode;

pub async fn run(config: PathBuf, once: bool) -> anyhow::Result<ExitCode> {
    crate::watchdog::run(&config, crate::watchdog::Options { once }).await
}
