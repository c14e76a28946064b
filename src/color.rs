//! Color on the terminal: whether stdout and stderr get ANSI colors, decided once per run from
//! `--color`, `NO_COLOR` and whether each stream is a terminal, and the styles of the status
//! table's states. Nothing here writes; callers wrap their text with [`paint`].

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};

/// `--color WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum When {
    /// Color a stream that is a terminal, unless `NO_COLOR` is set (to anything but "")
    /// or `TERM` is `dumb`
    #[default]
    Auto,
    /// Always color, even into a pipe or a file
    Always,
    /// Never color
    Never,
}

static STDOUT: AtomicBool = AtomicBool::new(false);
static STDERR: AtomicBool = AtomicBool::new(false);

/// Decides color for both streams. `logs_to_file`: stderr is a log file even when it is a
/// terminal (the watchdog's pane, copied to its session log), so `auto` leaves it plain.
pub(crate) fn init(when: When, logs_to_file: bool) {
    let env_allows = || {
        std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    };
    let (out, err) = match when {
        When::Always => (true, true),
        When::Never => (false, false),
        When::Auto => (
            env_allows() && std::io::stdout().is_terminal(),
            env_allows() && !logs_to_file && std::io::stderr().is_terminal(),
        ),
    };
    STDOUT.store(out, Ordering::Relaxed);
    STDERR.store(err, Ordering::Relaxed);
}

/// Whether stdout gets color.
pub(crate) fn stdout() -> bool {
    STDOUT.load(Ordering::Relaxed)
}

/// Whether stderr (the log lines) gets color.
pub(crate) fn stderr() -> bool {
    STDERR.load(Ordering::Relaxed)
}

/// `text` in `style` when `on`, else `text` unchanged. Pad before painting: the escapes
/// have no width on screen but count in `{:<N}`.
pub(crate) fn paint(on: bool, style: Style, text: &str) -> String {
    if !on || style == Style::new() {
        return text.to_string();
    }
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// Errors (`error:`), a state that needs a person or is broken.
pub(crate) const RED: Style = AnsiColor::Red.on_default();
/// Warnings, a state that waits (a limit, a dialog, a backoff, a stall).
pub(crate) const YELLOW: Style = AnsiColor::Yellow.on_default();
/// A healthy, working state.
pub(crate) const GREEN: Style = AnsiColor::Green.on_default();
/// A state where nothing runs by choice (stopped, down, done, disabled).
pub(crate) const DIM: Style = Style::new().dimmed();
/// Table headers.
pub(crate) const BOLD: Style = Style::new().bold();

/// The style of a state word of `status` (an agent state, or a service's session word):
/// `active`/`running` green; `limited`, `dialog`, `backoff`, `stalled`, `starting` yellow;
/// `fatal`, `dead`, `exited` red; `stopped`, `down`, `done`, `disabled` dim; anything else plain.
pub(crate) fn state_style(state: &str) -> Style {
    match state.split_whitespace().next().unwrap_or("") {
        "active" | "running" => GREEN,
        "limited" | "dialog" | "backoff" | "stalled" | "starting" => YELLOW,
        "fatal" | "dead" | "exited" => RED,
        "stopped" | "down" | "done" | "disabled" => DIM,
        _ => Style::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_wraps_only_when_on() {
        assert_eq!(paint(false, RED, "fatal"), "fatal");
        let p = paint(true, RED, "fatal");
        assert!(p.starts_with("\x1b[31m") && p.ends_with("\x1b[0m"), "{p:?}");
        assert_eq!(paint(true, Style::new(), "idle"), "idle");
    }

    #[test]
    fn states_get_their_colors() {
        assert_eq!(state_style("active"), GREEN);
        assert_eq!(state_style("limited until 14:00"), YELLOW);
        assert_eq!(state_style("dead (status 1)"), RED);
        assert_eq!(state_style("fatal"), RED);
        assert_eq!(state_style("idle"), Style::new());
        assert_eq!(state_style("down"), DIM);
    }
}
