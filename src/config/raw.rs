//! The serde mirror of `agents.toml`: every key optional, spans kept on the values that are
//! validated later, so an error can name the line and column. Nothing here checks meaning;
//! `validate.rs` turns a [`RawFile`] into the typed [`crate::config::Config`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use toml::Spanned;

/// A string value with its byte span in the config file.
pub type SStr = Spanned<String>;

/// The whole file. Table names are those of the original `agents.py`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RawFile {
    /// Settings of the whole fleet, and any `[[agent]]` key as a default for every agent and
    /// service.
    #[serde(default)]
    pub defaults: RawEntry,
    /// The watchdog's intervals and restart policy (seconds; fractions allowed).
    #[serde(default)]
    pub watchdog: RawWatchdog,
    /// Backends by name: a table overrides the built-in preset of that name (claude, codex, gemini,
    /// opencode, aider, demo) key by key.
    #[serde(default)]
    pub backend: BTreeMap<String, RawBackend>,
    /// The agents: AI coding CLIs run in tmux sessions and supervised by the watchdog.
    #[serde(default)]
    #[schemars(with = "Vec<RawEntry>")]
    pub agent: Vec<Spanned<RawEntry>>,
    /// Plain sessions (a shell line): `up` starts them, `down` stops them, the watchdog leaves them
    /// alone.
    #[serde(default)]
    #[schemars(with = "Vec<RawEntry>")]
    pub service: Vec<Spanned<RawEntry>>,
    /// The builder/reviewer phase machine.
    #[serde(default, rename = "loop")]
    pub loop_: RawLoop,
    /// `[notify]`: the command run for the events a person must hear about.
    #[serde(default)]
    pub notify: RawNotify,
}

/// One `[defaults]`, `[[agent]]` or `[[service]]` table. They share one shape because
/// `[defaults]` may hold any agent or service key (SPEC §1); which keys are allowed where is
/// checked in `validate.rs`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(
    description = "An `[[agent]]`, `[[service]]` or `[defaults]` table (one shape: `[defaults]` may hold any agent or service key, as the default for all)."
)]
pub struct RawEntry {
    // [defaults] only
    /// `[defaults]` only, required: the tmux session name prefix, e.g. "myproj-".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub session_prefix: Option<SStr>,
    /// `[defaults]` only, required: where session logs, events.jsonl and state/ go.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub log_dir: Option<SStr>,
    /// `[defaults]` only: the base of every relative path. Default: the directory of the config
    /// file.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub project_dir: Option<SStr>,
    /// `[defaults]` only: run the fleet on a private tmux server (`tmux -L NAME`). Default:
    /// `$AGENTS_TMUX_SOCKET`, else the default server.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub tmux_socket: Option<SStr>,
    /// `[defaults]` only: a session log is rotated before it grows past this many bytes (at least
    /// 4096). Default 10485760.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<i64>")]
    pub log_max_bytes: Option<Spanned<i64>>,
    /// `[defaults]` only: rotated logs kept per session (0 to 1000). Default 3.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<i64>")]
    pub log_files: Option<Spanned<i64>>,
    // agents and services
    /// Required for an agent or service: unique; letters, digits, `-`, `_`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub name: Option<SStr>,
    /// The tmux session. Default: `session_prefix` + name.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub session: Option<SStr>,
    /// Working directory, created if missing. Default ".".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub dir: Option<SStr>,
    /// `up` skips a disabled agent or service unless it is named. Default true.
    #[serde(default, deserialize_with = "lenient")]
    pub enabled: Option<bool>,
    // services
    /// Services: the shell line the session runs.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub command: Option<SStr>,
    // agents
    /// Agents: `persistent` (default), `loop` (a phase-driven pair member), `orchestrator` or
    /// `task` (one-shot).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(schema_with = "kind_schema")]
    pub kind: Option<SStr>,
    /// Agents: a built-in preset or a `[backend.NAME]` table.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub backend: Option<SStr>,
    /// Agents: the model, passed with the backend's `model_flag`; per-phase overrides in
    /// `[loop].phases`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub model: Option<SStr>,
    /// Agents: the key of per-phase model overrides; for loop agents also the prompt
    /// `<roles_dir>/<role>.md`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub role: Option<SStr>,
    /// Agents: the kickoff text (non-loop agents).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub prompt: Option<SStr>,
    /// Agents: a file holding the kickoff text (non-loop agents).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub prompt_file: Option<SStr>,
    /// Agents: what the watchdog does: `none` (default), `heal` (restart a dead session),
    /// `heal+stall` (also nudge a stalled one).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(schema_with = "watch_schema")]
    pub watch: Option<SStr>,
    /// Agents: resume the conversation whose id is in `state/<agent>.id`, with the backend's
    /// `resume_flag`. Default false.
    #[serde(default, deserialize_with = "lenient")]
    pub resume: Option<bool>,
    /// Agents: type a prompt into the agent every `interval` seconds.
    #[schemars(with = "Option<RawWake>")]
    pub wake: Option<Spanned<RawWake>>,
}

/// `wake = { interval = 3600, prompt_file = "..." }`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RawWake {
    /// Seconds between wakes; the first one interval after the watchdog first sees the agent.
    /// At least `[watchdog] min_wake_interval` (default 10).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub interval: Option<Spanned<Seconds>>,
    /// The file whose text is typed.
    #[schemars(with = "Option<String>")]
    pub prompt_file: Option<SStr>,
}

/// `[watchdog]`: intervals in seconds.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RawWatchdog {
    /// Seconds between light ticks (dead sessions, limits). Default 30.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub signal_interval: Option<Spanned<Seconds>>,
    /// Seconds between heavy ticks (phases, fatal screens). Default 300.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub heavy_interval: Option<Spanned<Seconds>>,
    /// Probe period for a limit banner with no usable reset time. Default 300.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub limit_probe_fallback: Option<Spanned<Seconds>>,
    /// Wait this long past the reset a limit banner names. Default 45.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub limit_reset_slack: Option<Spanned<Seconds>>,
    /// After the time a limited CLI promised to continue by itself at (`continue_re`, e.g.
    /// Claude Code 2.1.330's "Continuing automatically at 7:48am · Esc to cancel"), type
    /// nothing for this long (at least `limit_reset_slack`); an agent still limited or idle
    /// then gets one resume nudge. Default 180.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub limit_self_resume_grace: Option<Spanned<Seconds>>,
    /// Grace past a `WAITING-UNTIL:` time. Default 180.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub stall_grace: Option<Spanned<Seconds>>,
    /// Wait before the second quick restart; each further one waits twice as long. Default 30.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub backoff_initial: Option<Spanned<Seconds>>,
    /// The longest wait between restarts. Default 600.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub backoff_max: Option<Spanned<Seconds>>,
    /// This many restarts within `restart_window` and the agent is `fatal` until `agents up <name>`.
    /// Default 5.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<i64>")]
    pub max_restarts: Option<Spanned<i64>>,
    /// The window `max_restarts` counts in, seconds. Default 900.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub restart_window: Option<Spanned<Seconds>>,
    /// Running this long resets the backoff. Default 1800.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub stable_after: Option<Spanned<Seconds>>,
    /// The shortest `wake.interval` accepted, so that a slip (`interval = 0`, `0.01`) cannot
    /// type the wake into the agent every time it goes idle. Default 10; at least 1.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub min_wake_interval: Option<Spanned<Seconds>>,
}

/// `[notify]`: the command run for the events a person must hear about.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RawNotify {
    /// The command: one string split into words (no shell unless you write `sh -c '...'`),
    /// or an array of words. It gets the event as JSON on stdin and `AGENTS_EVENT`,
    /// `AGENTS_NAME`, `AGENTS_REASON` in its environment.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<CommandSchema>")]
    pub command: Option<Spanned<RawCommand>>,
    /// The kinds to notify: fatal, dialog, limit, stall, phase-done, sequence-complete,
    /// handoff-failed, wake-failed. Default: all of them.
    // Not lenient: each kind keeps its own span for the error that names it.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub events: Option<Spanned<Vec<SStr>>>,
    /// Seconds: the same kind for the same agent is not notified again within this. Default 600.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub notify_repeat: Option<Spanned<Seconds>>,
    /// Seconds: a command still running after this is killed. Default 10.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Seconds>")]
    pub timeout: Option<Spanned<Seconds>>,
}

/// The schema of [`RawCommand`]: a string or an array of strings.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum CommandSchema {
    Line(String),
    Argv(Vec<String>),
}

/// A command written as one string (split into words later) or as an array of words.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCommand {
    /// One string, split into words like a shell would (`notify = "notify-send agents"`).
    Line(String),
    /// The words themselves, no splitting (`notify = ["notify-send", "agents"]`).
    Argv(Vec<String>),
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command line string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCommand, E> {
                Ok(RawCommand::Line(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawCommand, A::Error> {
                let mut words = Vec::new();
                while let Some(w) = seq.next_element::<String>()? {
                    words.push(w);
                }
                Ok(RawCommand::Argv(words))
            }
        }
        d.deserialize_any(V)
    }
}

/// One entry of `answers`: `{ when = "<regex>", choose = "<regex>" }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawAnswer {
    /// Regex over the screen of a dialog: this answer applies.
    pub when: String,
    /// Regex over the options' labels (without marker and number): the option picked.
    pub choose: String,
}

/// `[backend.NAME]`, or a built-in preset (`src/presets/NAME.toml`, the same keys).
#[derive(Debug, Default, Clone, Deserialize, JsonSchema)]
pub struct RawBackend {
    /// The program (`arg`, `ping`), or for `exec` a command template with {kickoff} {session}
    /// {model}.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub bin: Option<SStr>,
    /// `arg` (default): the kickoff is the last argument; `ping`: start `attach`, wait until ready,
    /// type a line pointing at the kickoff file; `exec`: run the `bin` template.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(schema_with = "delivery_schema")]
    pub prompt_delivery: Option<SStr>,
    /// `claude`: start the CLI with a per-launch settings file (`--settings`) whose hooks
    /// record its turns, limits and questions in `log_dir/state/signals-<session>.jsonl`;
    /// `gemini`: start Gemini CLI with a per-launch `GEMINI_CLI_HOME` whose settings add
    /// such hooks to the user's (not with `ping`); `codex`: the same for the Codex CLI,
    /// through `-c hooks.<Event>=…` overrides and `--dangerously-bypass-hook-trust`; `none`
    /// (default): the screen only. An `arg` backend only for `claude` and `codex`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(schema_with = "hooks_schema")]
    pub hooks: Option<SStr>,
    /// Extra arguments (`arg`).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub flags: Option<SStr>,
    /// Added when a model is set. Default "--model '{model}'".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub model_flag: Option<SStr>,
    /// The CLI can resume a conversation by id. Default false.
    #[serde(default, deserialize_with = "lenient")]
    pub supports_resume: Option<bool>,
    /// Default "--resume '{id}'".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub resume_flag: Option<SStr>,
    /// Default false.
    #[serde(default, deserialize_with = "lenient")]
    pub remote_control: Option<bool>,
    /// Default "--remote-control '{session}'".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub remote_control_flag: Option<SStr>,
    /// The process a healthy pane runs (for backend-mismatch healing).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub process_name: Option<SStr>,
    /// The tmux key that submits typed text. Default Enter (C-m for `ping`).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub submit_key: Option<SStr>,
    /// Regex (case-insensitive, multi-line) over the pane: the agent is working.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub active_re: Option<SStr>,
    /// Regex over the pane: a usage-limit banner.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub limit_re: Option<SStr>,
    /// Regex over the pane: an unrecoverable screen (the session is restarted).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub fatal_re: Option<SStr>,
    /// `ping`: the TUI is ready when this matches; else wait `connect_delay`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub ready_re: Option<SStr>,
    /// Regex over the pane: an idle screen (a finished turn).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub idle_re: Option<SStr>,
    /// Regex over the pane: a screen that waits for a person (sign-in, trust, permission);
    /// reported, never touched.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub dialog_re: Option<SStr>,
    /// Regex over the pane: the CLI's promise to continue by itself after a limit.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub continue_re: Option<SStr>,
    /// Regex over the pane: the CLI's word that a limit is over and it continues by itself
    /// (below the banner, the screen reads idle and a hold ends with nothing typed).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub resumed_re: Option<SStr>,
    /// Regex over the pane: the wait option of a limit chooser; its number is pressed.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub choice_re: Option<SStr>,
    /// How many bottom lines of the pane are read. Default 25 (10 with `footer_ui`).
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<i64>")]
    pub region: Option<Spanned<i64>>,
    /// Typed into an agent idle for `stall_idle`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub stall_nudge: Option<SStr>,
    /// tmux key names that make the CLI exit by itself, typed before the session is killed. Default
    /// `[]`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Vec<String>>")]
    pub stop_keys: Option<Spanned<Vec<String>>>,
    /// Dialogs the watchdog answers (opt-in): when a dialog on screen matches `when`, it
    /// presses the number of (or moves to) the option whose label matches `choose`, once per
    /// appearance. Default none: a dialog is reported and left alone.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<Vec<RawAnswer>>")]
    pub answers: Option<Spanned<Vec<RawAnswer>>>,
    /// Seconds the CLI gets to exit after `stop_keys`. Default 10.
    #[serde(default, deserialize_with = "lenient")]
    pub stop_timeout: Option<Seconds>,
    /// A TUI whose footer lingers: only the bottom 10 lines count as activity, and a recent log
    /// counts as active. Default false.
    #[serde(default, deserialize_with = "lenient")]
    pub footer_ui: Option<bool>,
    /// Seconds: a `footer_ui` session log written this recently counts as active. Default 180.
    #[serde(default, deserialize_with = "lenient")]
    pub log_grace: Option<Seconds>,
    /// Seconds idle before an agent counts as stalled. Default 300.
    #[serde(default, deserialize_with = "lenient")]
    pub stall_idle: Option<Seconds>,
    /// `ping`: the command template ({bin} {server} {dir}). Default "{bin}".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub attach: Option<SStr>,
    /// `ping`: the {server} slot of `attach`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub server: Option<SStr>,
    /// `ping`: a shell line run first.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub preamble: Option<SStr>,
    /// `ping`: seconds to wait before typing when there is no `ready_re`. Default 12.
    #[serde(default, deserialize_with = "lenient")]
    pub connect_delay: Option<Seconds>,
    /// `ping`: pass the model in `OPENCODE_CONFIG_CONTENT`. Default false.
    #[serde(default, deserialize_with = "lenient")]
    pub model_env: Option<bool>,
}

impl RawBackend {
    /// This table laid over `base` key by key: a key set here wins, an unset one comes from
    /// `base` (a `[backend.claude]` table over the `claude` preset).
    #[must_use]
    pub fn over(self, base: &RawBackend) -> RawBackend {
        macro_rules! merge {
            ($($f:ident),* $(,)?) => {
                RawBackend { $($f: self.$f.or_else(|| base.$f.clone()),)* }
            };
        }
        merge!(
            bin,
            prompt_delivery,
            hooks,
            flags,
            model_flag,
            supports_resume,
            resume_flag,
            remote_control,
            remote_control_flag,
            process_name,
            submit_key,
            active_re,
            limit_re,
            fatal_re,
            ready_re,
            idle_re,
            dialog_re,
            continue_re,
            resumed_re,
            choice_re,
            region,
            stall_nudge,
            stop_keys,
            answers,
            stop_timeout,
            footer_ui,
            log_grace,
            stall_idle,
            attach,
            server,
            preamble,
            connect_delay,
            model_env,
        )
    }
}

/// `[loop]`: the builder/reviewer phase machine.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RawLoop {
    /// The phases, in order.
    #[serde(default)]
    #[schemars(with = "Vec<RawPhase>")]
    pub phases: Vec<Spanned<RawPhase>>,
    /// The phase index file, in state/. Default "phase-idx".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub state_file: Option<SStr>,
    /// The heading that marks a status file done. Default "## DONE".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub done_marker: Option<SStr>,
    /// A file put before the role prompt; slots `{phase_id}`, `{plan}`, `{status}`, `{status_path}`, `{role}`.
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub kickoff_template: Option<SStr>,
    /// Where `<role>.md` prompts are. Default "prompts".
    #[serde(default, deserialize_with = "lenient_spanned")]
    #[schemars(with = "Option<String>")]
    pub roles_dir: Option<SStr>,
    /// Move to the next phase when the current one is done. Default true.
    #[serde(default, deserialize_with = "lenient")]
    pub auto_advance: Option<bool>,
    /// `false`: a full `up` starts the sequence at phase 0.
    #[serde(default, deserialize_with = "lenient")]
    pub resume_phase: Option<bool>,
    /// Git handoff pings between the loop agents.
    #[schemars(with = "Option<RawHandoff>")]
    pub handoff: Option<Spanned<RawHandoff>>,
    /// A task agent to run when the sequence is complete.
    pub on_complete: Option<RawOnComplete>,
}

/// One entry of `[loop].phases`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RawPhase {
    /// The phase id.
    #[schemars(with = "String")]
    pub id: SStr,
    /// The plan file ({plan} in the kickoff).
    pub plan: Option<String>,
    /// The status file whose `done_marker` finishes the phase.
    pub status: Option<String>,
    /// Per-role model overrides: { role = model }.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
}

/// `[loop.handoff]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RawHandoff {
    /// The git repository the loop agents commit to.
    #[schemars(with = "Option<String>")]
    pub repo: Option<SStr>,
    /// Status files are looked up in `<repo>/<state_subdir>/`, then `<repo>/`. Default "machine-docs".
    pub state_subdir: Option<String>,
    /// Regex over commit subjects: a claim (builder to reviewer).
    #[schemars(with = "Option<String>")]
    pub claim_pattern: Option<SStr>,
    /// Regex over commit subjects: a review (reviewer to builder).
    #[schemars(with = "Option<String>")]
    pub review_pattern: Option<SStr>,
    /// The agent pinged on a claim.
    #[schemars(with = "Option<String>")]
    pub claim_pings: Option<SStr>,
    /// The agent pinged on a review.
    #[schemars(with = "Option<String>")]
    pub review_pings: Option<SStr>,
    /// Inbox files inside the repo whose changes ping.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub inboxes: Vec<SStr>,
}

/// `[loop.on_complete]`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct RawOnComplete {
    /// The task agent to start.
    #[schemars(with = "Option<String>")]
    pub run: Option<SStr>,
    /// Default ".run-on-complete".
    pub trigger_file: Option<String>,
}

/// A duration in seconds, written as an integer (`30`) or a float (`0.5`); never negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub f64);

impl Seconds {
    /// As a [`std::time::Duration`].
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds, such as 30 or 0.5")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                if v < 0 {
                    return Err(E::custom(format!(
                        "{v} is negative; expected a number of seconds >= 0"
                    )));
                }
                Ok(Seconds(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                if !v.is_finite() || !(0.0..=1e9).contains(&v) {
                    return Err(E::custom(format!(
                        "{v} is not a usable number of seconds (expected 0 to 1e9)"
                    )));
                }
                Ok(Seconds(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Seconds {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Seconds".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A number of seconds, such as 30 or 0.5.",
            "type": "number",
            "minimum": 0,
            "maximum": 1e9
        })
    }
}

/// A string key whose values `validate.rs` checks against `valid` (the model's own list).
fn one_of(valid: &[&str]) -> schemars::Schema {
    schemars::json_schema!({ "type": "string", "enum": valid })
}

fn kind_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(super::model::Kind::VALID)
}

fn watch_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(super::model::Watch::VALID)
}

fn delivery_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(super::model::Delivery::VALID)
}

fn hooks_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    one_of(super::model::Hooks::VALID)
}

/// The JSON Schema of `agents.toml`, derived from these types: every table and key the loader
/// reads, with its doc comment as the description. Unknown keys are allowed, as the loader
/// allows them (it warns). Draft 7, the draft that editors' TOML language servers (taplo, Even
/// Better TOML) and `SchemaStore` read most widely.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<RawFile>();
    schema.insert("title".into(), "agents.toml".into());
    schema.insert(
        "description".into(),
        "The config of `agents`, a supervisor for a fleet of AI coding agents in tmux. Generated by `agents schema`.".into(),
    );
    let mut value = schema.to_value();
    tidy(&mut value);
    value
}

/// TOML has no null (an unset key is absent): drops the `null` that schemars allows for an
/// `Option` (`"type": [T, "null"]`, `"anyOf": [S, {"type": "null"}]`) and the `"default":
/// null` of unset keys. Joins the lines of a wrapped doc comment, so an editor shows each
/// description as one paragraph.
fn tidy(v: &mut serde_json::Value) {
    use serde_json::{Value, json};
    match v {
        Value::Object(map) => {
            if map.get("default").is_some_and(Value::is_null) {
                map.remove("default");
            }
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(any)) = map.get("anyOf") {
                let rest: Vec<&Value> = any
                    .iter()
                    .filter(|s| **s != json!({"type": "null"}))
                    .collect();
                if rest.len() == 1 && any.len() == 2 {
                    // `allOf` around the `$ref`: in draft 7 a `$ref`'s sibling keys (the
                    // description) would be ignored.
                    let only = rest[0].clone();
                    map.remove("anyOf");
                    map.insert("allOf".into(), json!([only]));
                }
            }
            if let Some(Value::String(d)) = map.get_mut("description") {
                *d = d
                    .replace("\n\n", "\u{0}")
                    .replace('\n', " ")
                    .replace('\u{0}', "\n\n");
            }
            map.values_mut().for_each(tidy);
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

thread_local! {
    /// Values of the wrong type met while deserializing, as (span, message): collected so that
    /// a type error is reported together with every other problem in the file.
    static TYPE_PROBLEMS: RefCell<Vec<(Range<usize>, String)>> = const { RefCell::new(Vec::new()) };
}

/// Takes the type problems recorded on this thread since the last call.
pub fn take_type_problems() -> Vec<(Range<usize>, String)> {
    TYPE_PROBLEMS.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

fn record(span: Range<usize>, msg: String) {
    TYPE_PROBLEMS.with(|p| p.borrow_mut().push((span, msg)));
}

/// Deserializes a scalar; a value of the wrong type is recorded (see [`take_type_problems`])
/// and read as absent instead of aborting the whole file.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = Spanned::<toml::Value>::deserialize(d)?;
    let span = v.span();
    match T::deserialize(v.into_inner()) {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            record(span, e.message().to_string());
            Ok(None)
        }
    }
}

/// [`lenient`], keeping the value's span.
fn lenient_spanned<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<Spanned<T>>, D::Error> {
    let v = Spanned::<toml::Value>::deserialize(d)?;
    let span = v.span();
    match T::deserialize(v.into_inner()) {
        Ok(t) => Ok(Some(Spanned::new(span, t))),
        Err(e) => {
            record(span, e.message().to_string());
            Ok(None)
        }
    }
}
