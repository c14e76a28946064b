//! The command line (clap derive only; behaviour lives in `commands/`).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Run and supervise a fleet of AI coding agents in tmux, from one agents.toml.
#[derive(Debug, Parser)]
#[command(name = "agents", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Config file [default: $AGENTS_CONFIG, else the nearest agents.toml upward]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Show debug log lines
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Show only warnings and errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the fleet (enabled agents, services and the watchdog), or only the named
    /// agents / services / `watchdog`. A running session is left alone.
    Up {
        /// Agent, service or `watchdog` names
        names: Vec<String>,
    },
    /// Stop the fleet, or only the named agents / services / `watchdog`. A stopped agent
    /// stays stopped (the watchdog leaves it) until `agents up <name>`.
    Down {
        /// Agent, service or `watchdog` names
        names: Vec<String>,
    },
    /// Show the phase and one row per agent, service and the watchdog.
    Status {
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Run the supervisor loop in the foreground (`up` runs it in its own tmux session).
    Watchdog {
        /// Run one light and one heavy tick, then exit
        #[arg(long)]
        once: bool,
    },
    /// Show or move the loop phase.
    Phase {
        #[command(subcommand)]
        action: Option<PhaseAction>,
    },
    /// Show an agent's, service's or the watchdog's session log, and follow it.
    Logs {
        /// Agent, service or `watchdog`
        name: String,
        /// Lines of history to show first
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Print the history and exit instead of following
        #[arg(long)]
        no_follow: bool,
    },
    /// Run the built-in detection checks (needs no config); exit 1 on a failure.
    Selftest,
    /// Write a starter agents.toml and prompts/ into DIR (default: here); never overwrites.
    Init { dir: Option<PathBuf> },
}

#[derive(Debug, Subcommand)]
pub enum PhaseAction {
    /// Print `phase <id> [i/n] seq: <ids>`
    Show,
    /// Move to the next phase (stays at the last one)
    Next,
    /// Move to phase N (0-based index, as in agents.py) or to the phase with that id
    Set {
        /// Index or phase id
        phase: String,
    },
}
