//! The command line (clap derive only; behaviour lives in `commands/`).

// These doc comments are clap's `--help` text, shown as is in a terminal: no Markdown.
#![allow(clippy::doc_markdown)]

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Run and supervise a fleet of AI coding agents in tmux, from one agents.toml.
#[derive(Debug, Parser)]
#[command(name = "agents", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    /// Config file, for the verbs that read one (also accepted after the verb) [default:
    /// $AGENTS_CONFIG, else the nearest agents.toml upward]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Color the status table and the log lines: `auto` on a terminal unless NO_COLOR is set
    #[arg(long, global = true, value_name = "WHEN", default_value = "auto")]
    pub color: crate::color::When,
    /// Show debug log lines
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Show only warnings and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

/// `agents signal FILE EVENT` (internal, run by a CLI's hooks).
#[derive(Debug, clap::Args)]
pub(crate) struct SignalArgs {
    /// The session's signals file
    pub file: PathBuf,
    /// The hook event (SessionStart, UserPromptSubmit, Stop, StopFailure, Notification, ...)
    pub event: String,
}

/// `agents statusline FILE [--then COMMAND]` (internal, Claude Code's status line command).
#[derive(Debug, clap::Args)]
pub(crate) struct StatuslineArgs {
    /// The session's usage file
    pub file: PathBuf,
    /// The user's own status line command (run with `sh -c`, the same stdin)
    #[arg(long, value_name = "COMMAND")]
    pub then: Option<String>,
}

/// `agents pipe-log --file PATH --max-bytes N --keep K [--mark TEXT]` (internal, run by
/// tmux's `pipe-pane` for every session).
#[derive(Debug, clap::Args)]
pub(crate) struct PipeLogArgs {
    /// The session log
    #[arg(long, value_name = "PATH")]
    pub file: PathBuf,
    /// Rotate before the log would grow past this many bytes
    #[arg(long, value_name = "N")]
    pub max_bytes: u64,
    /// Rotated files to keep (FILE.1 … FILE.KEEP)
    #[arg(long, value_name = "K")]
    pub keep: u32,
    /// Separator text written first (after the time)
    #[arg(long, value_name = "TEXT")]
    pub mark: Option<String>,
}

/// The internal verbs, which tmux and the agent CLIs run many times a session (a session log
/// writer per start, a hook per turn, a status line per redraw): they are parsed by a
/// command of their own, without building every verb's arguments (half the instructions
/// of such a process). Their command lines are written by `agents`, with the verb first.
///
/// `None` when `verb` is not one of them.
pub(crate) fn internal(
    verb: &std::ffi::OsStr,
    rest: impl Iterator<Item = std::ffi::OsString>,
) -> Option<Command> {
    fn parse<T: clap::Args + clap::FromArgMatches>(
        verb: &'static str,
        rest: impl Iterator<Item = std::ffi::OsString>,
    ) -> T {
        let mut cmd = T::augment_args(clap::Command::new(verb).bin_name(format!("agents {verb}")));
        let m = cmd
            .try_get_matches_from_mut(std::iter::once(verb.into()).chain(rest))
            .unwrap_or_else(|e| e.exit());
        T::from_arg_matches(&m).unwrap_or_else(|e| e.exit())
    }
    Some(match verb.to_str()? {
        "signal" => Command::Signal(parse("signal", rest)),
        "statusline" => Command::Statusline(parse("statusline", rest)),
        "pipe-log" => Command::PipeLog(parse("pipe-log", rest)),
        _ => return None,
    })
}

/// `--config PATH` of a verb that reads the config: accepted after the verb (and after a
/// `phase` action) as well as before it. Verbs that read no config do not offer it.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct ConfigArg {
    /// Config file [default: $AGENTS_CONFIG, else the nearest agents.toml upward]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

impl Command {
    /// The verb's own `--config`, or `None` for a verb that reads no config (`init`,
    /// `presets`, `completions`, `schema`).
    pub(crate) fn config_arg(&self) -> Option<&ConfigArg> {
        match self {
            Command::Up { config, .. }
            | Command::Down { config, .. }
            | Command::Restart { config, .. }
            | Command::Attach { config, .. }
            | Command::Doctor { config }
            | Command::Status { config, .. }
            | Command::Watchdog { config, .. }
            | Command::Phase { config, .. }
            | Command::Send { config, .. }
            | Command::Logs { config, .. } => Some(config),
            Command::Selftest(args) => Some(&args.config),
            Command::Events(args) => Some(&args.config),
            Command::PipeLog(_)
            | Command::Signal(_)
            | Command::Statusline(_)
            | Command::Init { .. }
            | Command::Presets { .. }
            | Command::Completions { .. }
            | Command::Schema => None,
        }
    }
}

/// The verbs, each with its own arguments.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the fleet (enabled agents, services and the watchdog), or only the named
    /// agents / services / `watchdog`. A running session is left alone.
    Up {
        /// Agent, service or `watchdog` names
        names: Vec<String>,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Stop the fleet, or only the named agents / services / `watchdog`. A stopped agent
    /// stays stopped (the watchdog leaves it) until `agents up <name>`.
    Down {
        /// Agent, service or `watchdog` names
        names: Vec<String>,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Stop and start again the named agents / services / `watchdog`, or every enabled agent
    /// and service. Clears a `down`, a `fatal` and the restart backoff; a loop agent gets a
    /// fresh kickoff.
    Restart {
        /// Agent, service or `watchdog` names
        names: Vec<String>,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Put this terminal on an agent's, service's or the watchdog's session (switch-client
    /// when already inside the fleet's tmux server). Detach with C-b d.
    Attach {
        /// Agent, service or `watchdog`
        name: String,
        /// Read-only: keys typed are not sent to the session
        #[arg(short = 'r', long)]
        read_only: bool,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Check tmux, the config, every agent's program, log_dir, the watchdog, stray sessions
    /// and the detection fixtures; one line each with the fix. Exit 1 on a failure.
    Doctor {
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show the phase and one row per agent, service and the watchdog. Exit 0 when every
    /// enabled agent is healthy; 3 when one is fatal, or stopped or dead without `agents
    /// down`, or the watchdog is not running while an agent needs it (watch = heal or
    /// heal+stall), or state is not being saved; 1 on an error.
    Status {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Run the supervisor loop in the foreground (`up` runs it in its own tmux session).
    Watchdog {
        /// Run one light and one heavy tick, then exit
        #[arg(long)]
        once: bool,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show or move the loop phase.
    Phase {
        /// `show` when absent.
        #[command(subcommand)]
        action: Option<PhaseAction>,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Type a message into an agent once it is idle, and submit it. Exit 0 when the delivery
    /// was verified; 4 when the submit key was pressed but the delivery could not be verified
    /// (the text may have reached the agent: look before sending it again); 1 with the
    /// reason when nothing was submitted (refused: not running, a dialog is up, still busy at
    /// the timeout) or on an error.
    #[command(
        after_help = "Examples:\n  agents send builder \"pull and re-read REVIEW.md\"\n  agents send builder --file notes.md\n  echo hello | agents send builder -\n  agents send builder --keys Escape"
    )]
    Send {
        /// Agent name
        name: String,
        /// The message (`-`: read it from stdin). Newlines and tabs are typed as they are (in
        /// one bracketed paste); CRLF line endings count as newlines; any other control
        /// character (ESC, a lone CR, Ctrl-C, ...) is refused, naming it and its line and
        /// column, and nothing is typed (use --keys to press a key)
        #[arg(conflicts_with_all = ["file", "keys"])]
        text: Option<String>,
        /// Read the message from a file
        #[arg(long, value_name = "PATH", conflicts_with = "keys")]
        file: Option<PathBuf>,
        /// Press these tmux keys instead (`Escape`, `C-c`, `1 Enter`): at once, even into a
        /// dialog, nothing submitted after them
        #[arg(long, value_name = "KEY", num_args = 1..)]
        keys: Vec<String>,
        /// Type at once, without waiting for the agent to be idle
        #[arg(long)]
        now: bool,
        /// Give up when the agent is still busy after this many seconds (fractions allowed:
        /// 0.5). 0 does not wait: the message is typed only if the agent is idle now, else
        /// nothing is typed and the exit status is 1. A busy agent is never typed into
        /// whatever the timeout; only --now does that
        #[arg(long, value_name = "SECS", default_value = "300", value_parser = parse_timeout, allow_negative_numbers = true)]
        timeout: std::time::Duration,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show an agent's, service's or the watchdog's session log, and follow it on a
    /// terminal; without a name, every session's log at once, each line prefixed with its
    /// name. Into a pipe or a file it prints the history and exits unless -f is given; a
    /// followed pipe whose reader has gone (`| head`) ends it.
    Logs {
        /// Agent, service or `watchdog` [default: every session of the config]
        name: Option<String>,
        /// Lines of history to show first (of each log without a name) [default: 20; 0
        /// without a name while following]
        #[arg(short = 'n', long)]
        lines: Option<usize>,
        /// Follow the log as it grows (the default on a terminal; into a pipe or a file,
        /// only with -f)
        #[arg(short = 'f', long, conflicts_with = "no_follow")]
        follow: bool,
        /// Print the history and exit instead of following (the default into a pipe or a
        /// file)
        #[arg(long)]
        no_follow: bool,
        /// Print the pane output as it was written (escape sequences, `\r` redraws)
        #[arg(long)]
        raw: bool,
        /// For an agent whose hooks name its transcript (`hooks = "claude"`): show the pane
        /// output, not the conversation
        #[arg(long)]
        screen: bool,
        /// The verb's own `--config` (wins over the global one).
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Show the fleet's events (starts, restarts and why, limits, typed messages, handoffs,
    /// phase moves), one readable line each, from log_dir/events.jsonl.
    Events(EventsArgs),
    /// Internal: the command a CLI's hook runs (`hooks = "claude"` or `"gemini"`). Appends one
    /// line for EVENT, from the hook's JSON input on stdin, to FILE (log_dir/state/signals-<session>.jsonl).
    /// Prints nothing; always exits 0.
    #[command(hide = true)]
    Signal(SignalArgs),
    /// Internal: the status line command of a `hooks = "claude"` session. Records the plan
    /// usage in the CLI's JSON on stdin to FILE (log_dir/state/usage-<session>.json), then
    /// prints what COMMAND (the user's own status line) prints for the same input. Always
    /// exits 0.
    #[command(hide = true)]
    Statusline(StatuslineArgs),
    /// Internal: the session-log writer that tmux's pipe-pane runs. Copies stdin into FILE,
    /// rotating it at MAX_BYTES and keeping KEEP old files, until stdin closes.
    #[command(hide = true)]
    PipeLog(PipeLogArgs),
    /// Run the built-in detection checks and every captured screen (needs no config); exit 1
    /// on a failure. With --pane, say how one captured screen reads instead.
    Selftest(SelftestArgs),
    /// Write a starter agents.toml, its JSON Schema and prompts/ into DIR (default: here),
    /// and add log_dir to DIR/.gitignore; never overwrites.
    Init {
        /// The project directory to write into, created if missing [default: the current
        /// directory]
        dir: Option<PathBuf>,
        /// The built-in preset the starter config uses (see `agents presets`)
        #[arg(long, value_name = "NAME", default_value = "claude")]
        backend: String,
    },
    /// List the built-in backend presets, or print one (TOML to paste under [backend.NAME]).
    Presets {
        /// A preset name: print its rules as shipped
        name: Option<String>,
    },
    /// Print a shell completion script. bash: `agents completions bash >
    /// ~/.local/share/bash-completion/completions/agents`; zsh: into a directory of
    /// `$fpath` as `_agents`; fish: `> ~/.config/fish/completions/agents.fish`.
    Completions {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the JSON Schema of agents.toml (for taplo / Even Better TOML: `init` writes it
    /// as agents.schema.json, named by the `#:schema` line at the top of agents.toml).
    Schema,
}

/// `agents selftest [--pane FILE [--backend NAME] [--json] [--now RFC3339]]`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SelftestArgs {
    /// Classify one captured screen (a text file, e.g. from `tmux capture-pane -p -J`)
    #[arg(long, value_name = "FILE", conflicts_with = "live")]
    pub pane: Option<PathBuf>,
    /// Classify the screen of every running agent of the config
    #[arg(long)]
    pub live: bool,
    /// The backend whose rules read the screen: a preset (claude, codex, gemini, opencode,
    /// aider, demo), or a backend of the config
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// Print {"state","rule","line","reset","continues","choice"} as JSON
    #[arg(long)]
    pub json: bool,
    /// The capture time that clock-only and relative resets are read against, RFC 3339 with an
    /// offset (e.g. 2026-11-20T19:46:00-05:00) [default: now]
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// The verb's own `--config` (wins over the global one).
    #[command(flatten)]
    pub config: ConfigArg,
}

/// `agents events [-f] [--name N] [--since WHEN] [-n N] [--json]`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct EventsArgs {
    /// The verb's own `--config` (wins over the global one).
    #[command(flatten)]
    pub config: ConfigArg,
    /// Keep printing events as they are recorded
    #[arg(short, long)]
    pub follow: bool,
    /// Only the events of this agent, service or `watchdog`
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Only events since WHEN: a duration back from now (90s, 10m, 2h, 1d) or a time
    /// (2026-11-20T14:00:00+01:00, 2026-11-20 14:00)
    #[arg(long, value_name = "WHEN", value_parser = parse_since)]
    pub since: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Only the last N matching events (then follow, with -f)
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<usize>,
    /// Print the matching lines of events.jsonl as they are (JSON, one per line)
    #[arg(long)]
    pub json: bool,
}

/// `agents phase <action>`.
#[derive(Debug, Subcommand)]
pub(crate) enum PhaseAction {
    /// Print `phase <id> [i/n] seq: <ids>`
    Show,
    /// Move to the next phase (stays at the last one) and restart the running loop agents
    /// on it
    Next {
        /// Only write the phase index; running loop agents keep their phase until restarted
        #[arg(long)]
        no_restart: bool,
    },
    /// Move to phase N (0-based index, as in agents.py) or to the phase with that id, and
    /// restart the running loop agents on it. Removes SEQUENCE-COMPLETE; a DONE verdict left
    /// in the phase's status file from before is not advanced on until it is written again
    Set {
        /// Index or phase id
        phase: String,
        /// Only write the phase index; running loop agents keep their phase until restarted
        #[arg(long)]
        no_restart: bool,
    },
}

/// `--timeout SECS` of `send`: a number of seconds from 0 to 1e9, fractions allowed.
fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=1e9).contains(&v) => {
            Ok(std::time::Duration::from_secs_f64(v))
        }
        _ => Err(format!(
            "{s:?} is not a number of seconds from 0 to 1e9 (such as 300, 0.5, or 0 to not wait)"
        )),
    }
}

/// The `--since` help and error text: what the option takes.
const SINCE_FORMS: &str = "a duration back from now (90s, 10m, 2h, 1d, 1h30m) or a time \
(2026-11-20T14:00:00+01:00, 2026-11-20 14:00, 2026-11-20)";

/// Parses `--since`: a duration back from now (humantime: `90s`, `10m`, `2h`, `1d`,
/// `1h 30m`), an RFC 3339 time, or a local `YYYY-MM-DD[ HH:MM[:SS]]`. Errors (a usage error,
/// exit 2) name the forms accepted.
///
/// # Errors
///
/// `s` is none of those forms (or a local time that does not exist): the message lists them.
pub(crate) fn parse_since(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    use chrono::{DateTime, Local, NaiveDate};
    let t = s.trim();
    if let Ok(d) = humantime::parse_duration(t) {
        let back = chrono::Duration::from_std(d).map_err(|_| format!("{t:?} is too long ago"))?;
        return Local::now()
            .checked_sub_signed(back)
            .map(|x| x.fixed_offset())
            .ok_or_else(|| format!("{t:?} is too long ago"));
    }
    if let Ok(x) = DateTime::parse_from_rfc3339(t) {
        return Ok(x);
    }
    let naive = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        });
    if let Some(n) = naive
        && let Some(x) = n.and_local_timezone(Local).earliest()
    {
        return Ok(x.fixed_offset());
    }
    Err(format!(
        "{t:?} is not a duration or a time; give {SINCE_FORMS}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Local;

    #[test]
    fn since_takes_durations_and_times_and_explains_a_mistake() {
        let now = Local::now();
        for (s, secs) in [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400)] {
            let t = parse_since(s).unwrap();
            let back = (now.fixed_offset() - t).num_seconds();
            assert!((secs - 1..secs + 5).contains(&back), "{s}: {back}");
        }
        assert_eq!(
            parse_since("2026-11-20T14:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-11-20T14:00:00+01:00"
        );
        assert!(parse_since("2026-11-20 14:00").is_ok());
        assert!(parse_since("2026-11-20").is_ok());
        let e = parse_since("yesterday").unwrap_err();
        assert!(
            e.contains("10m") && e.contains("2026-11-20T14:00:00+01:00"),
            "{e}"
        );
    }
}
