//! The typed configuration the rest of the program sees, built once by `validate.rs`.
//! Paths are absolute (resolved against `project_dir`); durations are [`Duration`]s;
//! regexes are compiled case-insensitive and multi-line (SPEC defect 10).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::pattern::Pattern;

/// The default `[defaults].log_max_bytes`: 10 MiB.
pub const DEFAULT_LOG_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// The default `[defaults].log_files`: three rotated logs are kept.
pub const DEFAULT_LOG_FILES: u32 = 3;

/// A loaded, valid `agents.toml`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Absolute path of the file this was loaded from.
    pub path: PathBuf,
    /// `[defaults].project_dir`, absolute; relative config paths are resolved against it.
    pub project_dir: PathBuf,
    /// `[defaults].log_dir`, absolute: session logs, `events.jsonl`, `SEQUENCE-COMPLETE`.
    pub log_dir: PathBuf,
    /// `log_dir/state`: phase index, kickoff files, limit and intent files.
    pub state_dir: PathBuf,
    /// Prefix of every tmux session name, e.g. `"myproj-"`.
    pub session_prefix: String,
    /// `[defaults].tmux_socket`: the private tmux server (`tmux -L NAME`), if set.
    pub tmux_socket: Option<String>,
    /// `[defaults].log_max_bytes`: a session log is rotated when it reaches this many bytes
    /// (default [`DEFAULT_LOG_MAX_BYTES`], 10 MiB).
    pub log_max_bytes: u64,
    /// `[defaults].log_files`: how many rotated logs (`<session>.log.1` … `.N`) are kept
    /// (default [`DEFAULT_LOG_FILES`], 3; 0 keeps none).
    pub log_files: u32,
    /// `[watchdog]`: tick periods, limit and stall timings, the restart policy.
    pub watchdog: WatchdogSettings,
    /// `[notify]`: the command the watchdog runs for the events a person must hear about.
    pub notify: NotifySettings,
    /// Backends by name.
    pub backends: BTreeMap<String, Backend>,
    /// Agents in file order.
    pub agents: Vec<Agent>,
    /// Services in file order.
    pub services: Vec<Service>,
    /// `[loop]`: the phase sequence, its kickoff files and the git handoff between loop agents.
    pub loop_: LoopSettings,
    /// Unknown keys and ignored values, to be shown to the user (never fatal).
    pub warnings: Vec<super::diagnostic::Problem>,
}

impl Config {
    /// The tmux session of the watchdog: `<session_prefix>watchdog`.
    pub fn watchdog_session(&self) -> String {
        format!("{}watchdog", self.session_prefix)
    }

    /// The agent called `name`, if any.
    pub fn agent(&self, name: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// The service called `name`, if any.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The backend an agent runs on. Validation guarantees it exists.
    pub fn backend_of(&self, agent: &Agent) -> &Backend {
        &self.backends[&agent.backend]
    }

    /// Every name `up`, `down` and `logs` accept: agents, services, then `watchdog`.
    pub fn known_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.agents.iter().map(|a| a.name.clone()).collect();
        v.extend(self.services.iter().map(|s| s.name.clone()));
        v.push("watchdog".into());
        v
    }

    /// Every tmux session the config names: agents, services, the watchdog.
    pub fn session_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.agents.iter().map(|a| a.session.clone()).collect();
        v.extend(self.services.iter().map(|s| s.session.clone()));
        v.push(self.watchdog_session());
        v
    }

    /// The session log of a tmux session: `log_dir/<session>.log`.
    pub fn session_log(&self, session: &str) -> PathBuf {
        self.log_dir.join(format!("{session}.log"))
    }

    /// Enabled loop agents (the phase-driven pair).
    pub fn loop_agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents
            .iter()
            .filter(|a| a.kind == Kind::Loop && a.enabled)
    }
}

/// `[watchdog]` intervals.
#[derive(Debug, Clone)]
pub struct WatchdogSettings {
    /// Light tick period (default 30 s): gone-session healing, limit, stall, wake checks.
    pub signal_interval: Duration,
    /// Heavy tick period (default 300 s): phase advance, backend-mismatch and fatal healing.
    pub heavy_interval: Duration,
    /// Probe period when a limit banner has no parsable reset (default 300 s).
    pub limit_probe_fallback: Duration,
    /// Wait this long past a parsed reset time (default 45 s).
    pub limit_reset_slack: Duration,
    /// After the time a limited CLI promised to continue by itself at, type nothing for this
    /// long (default 180 s; at least `limit_reset_slack` is waited in any case).
    pub limit_self_resume_grace: Duration,
    /// Grace past a `WAITING-UNTIL:` time (default 180 s).
    pub stall_grace: Duration,
    /// Restart policy: wait this long before the second quick restart (default 30 s); each
    /// further quick restart waits twice as long, up to `backoff_max` (default 600 s).
    pub backoff_initial: Duration,
    /// The longest wait between two quick restarts (`backoff_max`, default 600 s).
    pub backoff_max: Duration,
    /// More than this many restarts within `restart_window` (default 5 in 900 s) and the
    /// agent is `fatal`: no more restarts until `agents up <name>`.
    pub max_restarts: u32,
    /// The window `max_restarts` counts restarts in (`restart_window`, default 900 s).
    pub restart_window: Duration,
    /// Running this long (default 1800 s) resets the backoff to an immediate restart.
    pub stable_after: Duration,
    /// The shortest `wake.interval` a config may give ([`DEFAULT_MIN_WAKE_INTERVAL`] unless
    /// `[watchdog] min_wake_interval` lowers or raises it; never below 1 s).
    pub min_wake_interval: Duration,
}

/// The default floor under `wake.interval`: 10 s. A wake is typed whenever it is due and the
/// agent is idle, so an interval of `0` or `0.01` (a slip: minutes or hours meant) types it
/// on every light tick the agent is idle — it never rests, and its context fills with wake
/// prompts. 10 s is well above such slips and tick-sized values, and below the original
/// agents.py demo config's `interval = 20`, which must keep loading unchanged (drop-in
/// compatibility); the default interval is an hour. `[watchdog] min_wake_interval` moves it.
pub const DEFAULT_MIN_WAKE_INTERVAL: Duration = Duration::from_secs(10);

/// The default `[notify] notify_repeat`: the same kind for the same agent is sent at most
/// once in 600 s.
pub const DEFAULT_NOTIFY_REPEAT: Duration = Duration::from_secs(600);
/// The default `[notify] timeout`: a notify command still running after 10 s is killed.
pub const DEFAULT_NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);

/// `[notify]`: what the watchdog runs when something needs a person (see `crate::notify`).
#[derive(Debug, Clone, PartialEq)]
pub struct NotifySettings {
    /// `command`: the argv to run (a string is split like a shell would, but no shell runs);
    /// `None` when unset: no notifications.
    pub command: Option<Vec<String>>,
    /// `events`: the kinds sent (default: every one of [`NotifyKind::ALL`]).
    pub events: Vec<NotifyKind>,
    /// `notify_repeat`: the same kind for the same agent is not sent again within this long
    /// (default [`DEFAULT_NOTIFY_REPEAT`]).
    pub repeat: Duration,
    /// `timeout`: a command still running after this long is killed and reported (default
    /// [`DEFAULT_NOTIFY_TIMEOUT`]).
    pub timeout: Duration,
}

impl Default for NotifySettings {
    fn default() -> Self {
        Self {
            command: None,
            events: NotifyKind::ALL.to_vec(),
            repeat: DEFAULT_NOTIFY_REPEAT,
            timeout: DEFAULT_NOTIFY_TIMEOUT,
        }
    }
}

/// A kind of notification: what `AGENTS_EVENT` says and `[notify] events` chooses. Which
/// `events.jsonl` events make each kind is `crate::notify::kind::classify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NotifyKind {
    /// An agent crash-looped past `max_restarts` and is no longer restarted.
    Fatal,
    /// An agent's screen waits for a person (sign-in, trust, permission prompt).
    Dialog,
    /// An agent hit a usage limit; the reset time, when the banner gives one.
    Limit,
    /// An agent stayed idle after a stall nudge and was restarted.
    Stall,
    /// A phase was done and the loop advanced to the next one.
    PhaseDone,
    /// The last phase was done: the sequence is complete.
    SequenceComplete,
    /// A handoff ping could not be delivered, or was typed into a busy agent after waiting.
    HandoffFailed,
    /// A scheduled wake could not be typed.
    WakeFailed,
}

impl NotifyKind {
    /// Every kind, in the order the README lists them.
    pub const ALL: &'static [NotifyKind] = &[
        Self::Fatal,
        Self::Dialog,
        Self::Limit,
        Self::Stall,
        Self::PhaseDone,
        Self::SequenceComplete,
        Self::HandoffFailed,
        Self::WakeFailed,
    ];

    /// The name written in `[notify] events` and given in `AGENTS_EVENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fatal => "fatal",
            Self::Dialog => "dialog",
            Self::Limit => "limit",
            Self::Stall => "stall",
            Self::PhaseDone => "phase-done",
            Self::SequenceComplete => "sequence-complete",
            Self::HandoffFailed => "handoff-failed",
            Self::WakeFailed => "wake-failed",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// How a backend receives its kickoff prompt (`prompt_delivery`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The prompt text is the last argument of `bin`.
    Arg,
    /// A TUI: start `attach`, wait until it is ready, type a line pointing at the kickoff file.
    Ping,
    /// Run the `bin` command template with `{kickoff}` `{session}` `{model}` filled in.
    Exec,
}

impl Delivery {
    /// The accepted spellings of `delivery`, in variant order.
    pub const VALID: &'static [&'static str] = &["arg", "ping", "exec"];
    /// The delivery spelled `s` in the config (`"arg"`, `"ping"`, `"exec"`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "arg" => Some(Self::Arg),
            "ping" => Some(Self::Ping),
            "exec" => Some(Self::Exec),
            _ => None,
        }
    }
}

/// Which hooks a backend's CLI is started with (`hooks`): structured signals beside the
/// screen, appended to `log_dir/state/signals-<session>.jsonl` by `agents signal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hooks {
    /// None: the screen is the only signal (the default, and any CLI without hooks).
    None,
    /// Claude Code (2.1.x): a per-launch settings file with command hooks, passed as
    /// `--settings <file>` (an `arg` backend); the user's own settings are never touched.
    Claude,
    /// Gemini CLI (0.26+, seen on 0.61.0): a per-launch home (`GEMINI_CLI_HOME` in the
    /// environment of the process) whose `.gemini/settings.json` is the user's own plus our
    /// command hooks ([`crate::launch::gemini_hooks`]); the user's files are never written.
    Gemini,
    /// Codex CLI (0.169.0): command hooks given per launch as `-c hooks.<Event>=…` overrides
    /// with `--dangerously-bypass-hook-trust` (an `arg` backend,
    /// [`crate::launch::codex_hooks`]); its `config.toml` and `hooks.json` are never touched.
    Codex,
}

impl Hooks {
    /// The accepted spellings of `hooks`, in variant order.
    pub const VALID: &'static [&'static str] = &["none", "claude", "gemini", "codex"];
    /// The hooks spelled `s` in the config (`"none"`, `"claude"`, `"gemini"`, `"codex"`);
    /// `None` for
    /// anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "claude" => Some(Self::Claude),
            "gemini" => Some(Self::Gemini),
            "codex" => Some(Self::Codex),
            _ => None,
        }
    }
}

/// One entry of a backend's `answers`: a dialog the watchdog answers by an option's label.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Matches the dialog's screen (the read region): this entry applies.
    pub when: Pattern,
    /// Matches the label of the option to pick (without its marker and number).
    pub choose: Pattern,
}

/// `[backend.NAME]`: how to run one agent CLI and how to read its screen.
#[derive(Debug, Clone)]
pub struct Backend {
    /// The table's name: `NAME` of `[backend.NAME]`, or the preset's name.
    pub name: String,
    /// Program (arg, ping) or command template (exec), split into words like a shell would.
    pub bin: String,
    /// How the kickoff prompt reaches the CLI (`delivery`).
    pub delivery: Delivery,
    /// The hooks the CLI is started with (`hooks`, default none).
    pub hooks: Hooks,
    /// Extra arguments after `bin` (`flags`, an `arg` backend), split into words like a shell would.
    pub flags: String,
    /// The argument template added when an agent sets a model, `{model}` filled in (default
    /// `--model '{model}'`).
    pub model_flag: String,
    /// Whether the CLI resumes a conversation by id (`supports_resume`, default false).
    pub supports_resume: bool,
    /// The argument template that resumes conversation `{id}` (default `--resume '{id}'`).
    pub resume_flag: String,
    /// Whether `remote_control_flag` is added to the command line (default false).
    pub remote_control: bool,
    /// The argument template added when `remote_control` is on, `{session}` filled in (default
    /// `--remote-control '{session}'`).
    pub remote_control_flag: String,
    /// The process a healthy pane runs, for backend-mismatch healing.
    pub process_name: Option<String>,
    /// tmux key name that submits typed text (`Enter`; `C-m` for ping backends).
    pub submit_key: String,
    /// Matches the pane while the agent is working (e.g. Claude Code's `esc to interrupt`).
    pub active_re: Option<Pattern>,
    /// Matches a usage-limit banner.
    pub limit_re: Option<Pattern>,
    /// Matches an unrecoverable session state: the watchdog restarts the session.
    pub fatal_re: Option<Pattern>,
    /// Ping delivery: matches the pane once the TUI accepts input; else wait `connect_delay`.
    pub ready_re: Option<Pattern>,
    /// Matches an idle screen (an empty prompt, a finished turn): evidence below a stale
    /// `active_re` line that the agent stopped working.
    pub idle_re: Option<Pattern>,
    /// Matches a screen that waits for a person (sign-in, trust folder, permission prompt).
    pub dialog_re: Option<Pattern>,
    /// Matches a CLI's own promise to continue after a limit (Claude Code 2.1.329+:
    /// `continuing automatically at 4am`): nothing is typed while it shows.
    pub continue_re: Option<Pattern>,
    /// Matches a CLI's own word that a limit is over and it continues by itself (Claude Code
    /// 2.1.330: `● Usage limit reset · Continuing automatically`): evidence that the screen
    /// moved on from the banner above it (read `idle`, rule `resumed_re`), and a hold ends
    /// with nothing typed.
    pub resumed_re: Option<Pattern>,
    /// Matches the wait option of a limit chooser (Claude Code 2.1.330: `1. Stop and wait
    /// for limit to reset`); the watchdog presses the option's number.
    pub choice_re: Option<Pattern>,
    /// Dialogs the watchdog answers by label (`answers`, opt-in; empty: none, every dialog
    /// is reported and left to a person).
    pub answers: Vec<Answer>,
    /// How many bottom lines of the pane are read (default 25; 10 for `footer_ui`).
    pub region: usize,
    /// Typed into an agent idle for `stall_idle` (`heal+stall`).
    pub stall_nudge: String,
    /// tmux key names that make the CLI exit by itself (e.g. `["C-c", "C-c"]`), pressed before
    /// its session is killed; empty: none.
    pub stop_keys: Vec<String>,
    /// How long the program gets to exit after its stop keys (default 10 s).
    pub stop_timeout: Duration,
    /// TUI with a lingering footer: only the bottom 10 lines count as activity.
    pub footer_ui: bool,
    /// A `footer_ui` session log written this recently counts as activity (default 180 s).
    pub log_grace: Duration,
    /// Idle this long (no activity read) and an agent with `heal+stall` counts as stalled (default
    /// 300 s).
    pub stall_idle: Duration,
    /// `ping`: the command template started in the session (`{bin}`, `{server}`, `{dir}` slots;
    /// default `{bin}`).
    pub attach: String,
    /// `ping`: what fills the `{server}` slot of `attach` (default empty).
    pub server: String,
    /// `ping`: a shell line run in the session before `attach` (default empty).
    pub preamble: String,
    /// `ping`: how long to wait before typing when there is no `ready_re` (default 12 s).
    pub connect_delay: Duration,
    /// `ping`: pass the model in `OPENCODE_CONFIG_CONTENT` rather than on the command line
    /// (default false).
    pub model_env: bool,
}

/// `kind` of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A long-lived agent started with `up` and kept alive by the watchdog (the default).
    Persistent,
    /// A member of the phase-driven pair: its kickoff comes from `[loop]` and its role's prompt.
    Loop,
    /// An agent that directs others; started, watched and reported like a persistent one.
    Orchestrator,
    /// A one-shot agent (e.g. `[loop.on_complete] run`): a clean exit is done, not restarted,
    /// and a stopped task does not make the fleet unhealthy.
    Task,
}

impl Kind {
    /// The accepted spellings of `kind`, in variant order ([`Kind::as_str`] indexes it).
    pub const VALID: &'static [&'static str] = &["persistent", "loop", "orchestrator", "task"];
    /// The kind spelled `s` in the config; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "persistent" => Some(Self::Persistent),
            "loop" => Some(Self::Loop),
            "orchestrator" => Some(Self::Orchestrator),
            "task" => Some(Self::Task),
            _ => None,
        }
    }
    /// The kind as the config spells it (`"persistent"`, `"loop"`, …).
    pub fn as_str(self) -> &'static str {
        Self::VALID[self as usize]
    }
}

/// `watch`: what the watchdog does for an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watch {
    /// The watchdog leaves the agent alone (the default).
    None,
    /// Restart the session when it is gone, has exited or reads fatal.
    Heal,
    /// `heal`, and type `stall_nudge` into an agent idle for `stall_idle`.
    HealStall,
}

impl Watch {
    /// The accepted spellings of `watch`, in variant order ([`Watch::as_str`] indexes it).
    pub const VALID: &'static [&'static str] = &["none", "heal", "heal+stall"];
    /// The watch mode spelled `s` in the config; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "heal" => Some(Self::Heal),
            "heal+stall" => Some(Self::HealStall),
            _ => None,
        }
    }
    /// The watch mode as the config spells it (`"none"`, `"heal"`, `"heal+stall"`).
    pub fn as_str(self) -> &'static str {
        Self::VALID[self as usize]
    }
}

/// Where a non-loop agent's kickoff text comes from.
#[derive(Debug, Clone)]
pub enum PromptSource {
    /// The kickoff text itself (`prompt`).
    Text(String),
    /// A file whose text is the kickoff (`prompt_file`), resolved against the project directory.
    File(PathBuf),
}

/// `wake = { interval, prompt_file }`.
#[derive(Debug, Clone)]
pub struct Wake {
    /// Time between two wakes; the first one interval after the watchdog first sees the agent
    /// (at least `min_wake_interval`).
    pub interval: Duration,
    /// The file whose text is typed, resolved against the project directory.
    pub prompt_file: PathBuf,
}

/// One `[[agent]]`, with `[defaults]` merged in.
#[derive(Debug, Clone)]
pub struct Agent {
    /// The agent's name (`name`), unique among agents and services; what the verbs accept.
    pub name: String,
    /// The agent's tmux session (`session`, default `session_prefix` + name).
    pub session: String,
    /// What the agent is (`kind`, default persistent).
    pub kind: Kind,
    /// The name of its backend: a key of [`Config::backends`] (validated).
    pub backend: String,
    /// The model passed with the backend's `model_flag`; `[loop].phases` may override it per role.
    pub model: Option<String>,
    /// The role: the key of per-phase model overrides; a loop agent's prompt is
    /// `<roles_dir>/<role>.md`.
    pub role: Option<String>,
    /// Working directory, absolute (resolved against the project directory; created if missing).
    pub dir: PathBuf,
    /// The kickoff of a non-loop agent; `None`: started without one.
    pub prompt: Option<PromptSource>,
    /// `up` without names skips a disabled agent (`enabled`, default true).
    pub enabled: bool,
    /// What the watchdog does for this agent (`watch`, default none).
    pub watch: Watch,
    /// Resume the conversation whose id is in `state/<agent>.id` with the backend's `resume_flag`.
    pub resume: bool,
    /// A prompt typed every interval (`wake`), if set.
    pub wake: Option<Wake>,
}

/// One `[[service]]`: a plain command in its own session.
#[derive(Debug, Clone)]
pub struct Service {
    /// The service's name, unique among agents and services.
    pub name: String,
    /// The service's tmux session (default `session_prefix` + name).
    pub session: String,
    /// The command line; run by `sh -c`, as the original did.
    pub command: String,
    /// Working directory, absolute (resolved against the project directory).
    pub dir: PathBuf,
    /// `up` without names skips a disabled service (default true).
    pub enabled: bool,
}

/// `[loop]`.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    /// The phases in sequence order; the phase index file counts into this list.
    pub phases: Vec<Phase>,
    /// Phase index file name, in `state/`.
    pub state_file: String,
    /// The heading that marks a status file done (default `## DONE`).
    pub done_marker: String,
    /// A file put before the role prompt in a loop agent's kickoff, absolute; `None`: the prompt
    /// alone.
    pub kickoff_template: Option<PathBuf>,
    /// Where the loop agents' `<role>.md` prompts are, absolute (default `prompts`).
    pub roles_dir: PathBuf,
    /// Move to the next phase when the current one is done (default true).
    pub auto_advance: bool,
    /// `Some(false)`: a full `up` starts the sequence from phase 0.
    pub resume_phase: Option<bool>,
    /// `[loop.handoff]`: ping the loop agents when the other one commits or writes its inbox.
    pub handoff: Option<Handoff>,
    /// `[loop.on_complete]`: a task agent run when the sequence is complete.
    pub on_complete: Option<OnComplete>,
}

impl LoopSettings {
    /// The directory holding status and inbox files: the handoff repo, else the project.
    pub fn state_subdir(&self) -> &str {
        self.handoff
            .as_ref()
            .map_or("machine-docs", |h| h.state_subdir.as_str())
    }
}

/// One phase of the loop sequence.
#[derive(Debug, Clone)]
pub struct Phase {
    /// The phase's id (`{phase_id}` in the kickoff).
    pub id: String,
    /// The plan file (`{plan}` in the kickoff), as written in the config.
    pub plan: String,
    /// The status file whose `done_marker` finishes the phase, as written in the config.
    pub status: String,
    /// Per-role model overrides for this phase.
    pub models: BTreeMap<String, String>,
}

/// `[loop.handoff]`.
#[derive(Debug, Clone)]
pub struct Handoff {
    /// Absolute path of the git repository to watch.
    pub repo: PathBuf,
    /// Where `repo` is written, for the warning when it cannot be used
    /// ([`super::validate::handoff_repo_problem`]).
    pub repo_at: RepoAt,
    /// Status and inbox files are looked up in `<repo>/<state_subdir>/`, then at the repo's root
    /// (default `machine-docs`).
    pub state_subdir: String,
    /// Matches the subject of a claim commit (builder to reviewer) on `origin/main`.
    pub claim_pattern: Pattern,
    /// Matches the subject of a review commit (reviewer to builder) on `origin/main`.
    pub review_pattern: Pattern,
    /// The agent pinged on a claim (default `adversary`).
    pub claim_pings: String,
    /// The agent pinged on a review (default `builder`).
    pub review_pings: String,
    /// Inbox files, relative to the repo: the first pings `claim_pings`' agent, the second
    /// `review_pings`' agent when it changes on `origin/main`; further ones are ignored.
    pub inboxes: Vec<String>,
}

/// Where `[loop.handoff] repo` is written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoAt {
    /// Byte range of the `repo` value, else of the `[loop.handoff]` table.
    pub span: std::ops::Range<usize>,
    /// Whether `repo` is set (else the project directory is the repo).
    pub set: bool,
}

/// `[loop.on_complete]`.
#[derive(Debug, Clone)]
pub struct OnComplete {
    /// The task agent started when the sequence is complete and the trigger file exists.
    pub run: Option<String>,
    /// The trigger file, relative to `log_dir` (default `.run-on-complete`); removed when `run`
    /// starts.
    pub trigger_file: String,
}
