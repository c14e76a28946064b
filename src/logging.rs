//! SPEC §8 — human log lines, `[agents HH:MM:SS] message` (local time) on stderr, through
//! `tracing`. In the watchdog's tmux session stderr is the pane, which `pipe-pane` copies to
//! `log_dir/<prefix>watchdog.log`. Colored (the level word, a dim time) only when
//! [`crate::color::stderr`] says so: never in the watchdog's log unless `--color always`.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

struct AgentsFormat;

impl<S, N> FormatEvent<S, N> for AgentsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let on = crate::color::stderr();
        let time = format!("[agents {}]", chrono::Local::now().format("%H:%M:%S"));
        write!(w, "{} ", crate::color::paint(on, crate::color::DIM, &time))?;
        match *event.metadata().level() {
            Level::ERROR => write!(
                w,
                "{} ",
                crate::color::paint(on, crate::color::RED, "error:")
            )?,
            Level::WARN => write!(
                w,
                "{} ",
                crate::color::paint(on, crate::color::YELLOW, "warning:")
            )?,
            _ => {}
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// stderr that never fails: once the watchdog's pane is gone (its tmux session was killed)
/// stderr is a dead pty, and tracing-subscriber would report the failed write with
/// `eprintln!`, which panics on that same dead stderr.
struct Stderr;

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the stderr logger: `verbose` shows debug lines, `quiet` only warnings and errors.
pub(crate) fn init(verbose: bool, quiet: bool) {
    let level = if verbose {
        Level::DEBUG
    } else if quiet {
        Level::WARN
    } else {
        Level::INFO
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(|| Stderr)
        .with_ansi(false)
        .event_format(AgentsFormat)
        .try_init();
}
