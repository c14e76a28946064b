//! Pure pane reading: what state is an agent in, judging by the bottom of its screen? No I/O:
//! the captured text, the capture time and the local zone come in, a [`Reading`] goes out.
//!
//! The rules are data: a backend's `active_re`, `idle_re`, `limit_re`, `fatal_re`,
//! `dialog_re`, `continue_re` and `choice_re` (built-in presets in `src/presets/`, or a
//! `[backend.NAME]` table). Only the bottom `region` lines count (default 25; 10 for
//! `footer_ui`). The newest evidence wins (SPEC defect 9): the rule whose last match is
//! lowest on the screen decides, so a banner, dialog or prompt below a stale spinner beats
//! it, and a banner that scrolled up above fresh activity no longer counts. On the same line,
//! `active` wins, then `limited`, `dialog`, `fatal`, `idle`: never restart or hold an agent
//! that is working. Beside the rules, a dialog is known by its shape in every preset (an
//! option list with a highlighted choice above a confirm hint, or boxed at the bottom of the
//! screen, [`dialog::option_list`]); its evidence is the hint's line (a boxed list's: its
//! highlighted option), where it beats even `active_re`. Liveness comes from tmux and
//! the process, not from the text: see [`liveness`].

pub mod dialog;
mod dialog_lines;
pub mod exited;
pub mod fixtures;
pub mod normalize;
pub mod reset;

use chrono::{DateTime, FixedOffset};
use regex::Regex;

use crate::config::Backend;
use crate::tmux::PaneInfo;
pub use reset::{Reset, Tz};

/// A `footer_ui` backend's activity marker counts only in the bottom this many lines.
pub const FOOTER_LINES: usize = 10;
/// A limit banner's reset time is looked for in the banner line and this many lines after it
/// (banners wrap, and Gemini 0.61 prints `Access resets at …` on the next line).
pub const RESET_LINES: usize = 5;
/// A quota error's words may sit at most this many lines below the first line of its banner's
/// match (Gemini CLI 0.61.0's "✕ [API Error: …" block); the reset is read below them.
pub const QUOTA_BELOW_BANNER: usize = 12;

/// What an agent is doing, as far as its pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Working: `active_re` is the newest evidence.
    Active,
    /// Waiting for input, or a screen no rule recognises.
    Idle,
    /// A usage-limit banner is the newest evidence (see [`Reading::reset`]).
    Limited,
    /// An unrecoverable screen (`fatal_re`): the session is restarted.
    Fatal,
    /// The screen waits for a person (`dialog_re`: sign-in, trust, permission; or any option
    /// list with a highlighted choice above a confirm hint or in a box, see [`dialog`]): reported, never
    /// killed, never typed into.
    Dialog,
    /// The program exited, its process is gone, or the pane fell back to a bare
    /// shell (see [`liveness`]).
    Dead,
}

impl State {
    /// The lower-case name used in `status`, events and `selftest --json`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Idle => "idle",
            State::Limited => "limited",
            State::Fatal => "fatal",
            State::Dialog => "dialog",
            State::Dead => "dead",
        }
    }
}

/// The reading of one pane: the state, and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// What the pane shows, as decided by `rule`.
    pub state: State,
    /// The rule that decided: `active_re`, `idle_re`, `limit_re`, `fatal_re`, `dialog_re`,
    /// `option_list` (a dialog by its shape, [`dialog::option_list`]), `choice_re`,
    /// `resumed_re` (idle: the CLI said its limit is over and it continues by itself); `none`
    /// when nothing matched (idle); `pane_dead`, `process` or `shell` for [`liveness`].
    pub rule: &'static str,
    /// The line that decided, trimmed (`None` when nothing matched).
    pub line: Option<String>,
    /// For `limited`: the reset time the banner names, if it names one (no slack added).
    pub reset: Option<Reset>,
    /// For `limited`: the CLI says it will continue by itself (`continue_re` at or below the
    /// banner): nothing is typed.
    pub continues: bool,
    /// For `limited`: a limit chooser is open; press this key (the number of its wait
    /// option, found by its label through `choice_re`) to answer it.
    pub choice: Option<String>,
    /// For `dialog`: the backend's `answers` entry that applies and what it picks.
    pub answer: Option<DialogAnswer>,
}

/// How the watchdog answers a dialog by label (a backend's `answers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogAnswer {
    /// The option picked, as the screen labels it.
    pub label: String,
    /// The tmux keys that pick it ([`dialog::Menu::keys_for`]).
    pub keys: Vec<String>,
    /// The entry's `when`, as written.
    pub when: String,
}

impl Reading {
    /// Where the reading comes from: `hook` (a CLI's hook, [`with_hook`]), `process` (tmux
    /// and the process table: a dead pane, a process gone or replaced, a bare shell), or
    /// `screen`.
    pub fn source(&self) -> &'static str {
        match self.rule {
            "hook" => "hook",
            "pane_dead" | "process" | "shell" => "process",
            _ => "screen",
        }
    }

    /// Nothing matched: idle, no evidence.
    pub fn nothing() -> Self {
        Self {
            state: State::Idle,
            rule: "none",
            line: None,
            reset: None,
            continues: false,
            choice: None,
            answer: None,
        }
    }

    /// An empty screen: the program has drawn nothing yet (a CLI still starting: Gemini CLI
    /// 0.61.0 showed a blank pane for over 20 s when the machine was busy). `idle` by state
    /// (nothing to hold or restart), rule `blank`: no evidence yet that the agent waits for
    /// work, so the watchdog's stall clock waits one more `stall_idle` before it runs on it
    /// (text typed now is echoed by the terminal and read by the CLI, whatever it draws
    /// next: a trust dialog, say).
    pub fn blank() -> Self {
        Self {
            rule: "blank",
            ..Self::nothing()
        }
    }

    /// Whether this is [`Reading::blank`]: nothing on screen.
    pub fn is_blank(&self) -> bool {
        self.rule == "blank"
    }
}

/// What the watchdog knows about the process a pane was started with (recorded in the
/// manifest at launch, compared with `/proc` and `#{pane_pid}` now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Process {
    /// No record (none written, a corrupt manifest, no `/proc`): liveness rests on
    /// `pane_dead` alone.
    #[default]
    Unknown,
    /// The pane still runs the process it was started with.
    Running,
    /// The process the pane was started with is gone (or a zombie), though tmux has not
    /// marked the pane dead yet.
    Gone {
        /// The recorded pid.
        pid: u32,
    },
    /// The pane runs another process than the one recorded: the record is older than the
    /// pane (a start whose manifest write failed, e.g. on a full disk, or a `respawn-pane`).
    /// Not evidence of a death: liveness then rests on `pane_dead` and the shell rule, as
    /// for `Unknown`.
    Replaced {
        /// The pid recorded at start.
        started: u32,
        /// The pid tmux reports for the pane now.
        now: u32,
    },
}

/// The evidence of liveness beyond tmux's `pane_dead`, for [`liveness`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    /// The process the pane was started with.
    pub process: Process,
    /// The pane has shown the backend's `process_name` as its command since it was started.
    /// Only then does a bare shell in the pane mean the program fell back to it: a
    /// `process_name` that never matches what runs (a wrapper script, a launcher) is no
    /// evidence of anything.
    pub showed_program: bool,
}

impl Liveness {
    /// Nothing known but what tmux shows, read cautiously: a pane of a backend that declares
    /// a `process_name` and runs a bare shell is taken for dead (never typed into).
    pub const CAUTIOUS: Liveness = Liveness {
        process: Process::Unknown,
        showed_program: true,
    };
}

/// Whether a pane is dead, from tmux alone (see [`Liveness::CAUTIOUS`]): its program exited
/// (`pane_dead`, kept by `remain-on-exit`), or the backend declares a `process_name` (not a
/// shell) and the pane runs a bare shell. `None` when it is alive. For deciding whether text
/// may be typed; the watchdog decides restarts with [`liveness`].
pub fn dead(backend: &Backend, pane: &PaneInfo) -> Option<Reading> {
    liveness(backend, pane, &Liveness::CAUTIOUS)
}

/// Whether a pane is dead, judged by its process rather than its name: its program exited
/// (`pane_dead`); the process the pane was started with is gone (`process`; a pane that
/// runs another pid than recorded is not dead, the record is stale: see
/// [`Process::Replaced`]); or, for a backend that declares `process_name` only (SPEC `_expected_proc`: a generic
/// exec backend, such as a bash wrapper script, is never mistaken for a mismatch), the pane
/// showed that program since its start and now runs a bare shell (`shell`). `None` when it
/// is alive.
pub fn liveness(backend: &Backend, pane: &PaneInfo, live: &Liveness) -> Option<Reading> {
    let (rule, line) = if pane.dead {
        let line = match pane.dead_status {
            Some(s) => format!("its program exited with status {s}"),
            None => "its program exited".to_string(),
        };
        ("pane_dead", line)
    } else if let Process::Gone { pid } = live.process {
        (
            "process",
            format!("the process it was started with (pid {pid}) is gone"),
        )
    } else if let Some(expected) = &backend.process_name
        && live.showed_program
        && is_shell(&pane.command)
        && !is_shell(expected)
    {
        (
            "shell",
            format!(
                "the pane fell back to a bare {} shell (backend {} runs {expected:?})",
                pane.command, backend.name
            ),
        )
    } else {
        return None;
    };
    Some(Reading {
        state: State::Dead,
        rule,
        line: Some(line),
        ..Reading::nothing()
    })
}

/// Whether `cmd` (a `#{pane_current_command}`) is a shell.
pub fn is_shell(cmd: &str) -> bool {
    matches!(
        cmd.trim_start_matches('-'),
        "sh" | "bash" | "zsh" | "fish" | "dash" | "ksh" | "tcsh" | "csh" | "ash"
    )
}

/// Prepares what [`classify`] reads `backend`'s screens with, so that a caller can pay for it
/// ahead, on another thread, while it waits for tmux (`status`): every rule's literal
/// prefilter (see [`crate::config::Pattern::may_match`]), and the rules a screen most often
/// needs compiled (idle and active: a CLI's screen shows one or the other); the others are
/// compiled where a screen shows their text. Compiled rules are shared by every clone of the
/// config, once per process; a reader that needs one being compiled waits for it. The dialog
/// shapes every screen is read for need nothing prepared ([`dialog`]).
pub fn compile_rules(backend: &Backend) {
    for p in [
        &backend.idle_re,
        &backend.active_re,
        &backend.dialog_re,
        &backend.limit_re,
        &backend.fatal_re,
        &backend.resumed_re,
    ]
    .into_iter()
    .flatten()
    {
        p.may_match(b"");
    }
    for p in [&backend.idle_re, &backend.active_re].into_iter().flatten() {
        p.regex();
    }
}

/// Reads a captured pane for `backend`. `captured` is when it was captured: clock-only and
/// relative resets are read against it, in `local` when the banner names no zone.
pub fn classify(
    backend: &Backend,
    pane: &str,
    captured: DateTime<FixedOffset>,
    local: Tz,
) -> Reading {
    let bottom = normalize::bottom(pane, backend.region.max(1));
    let lines = &bottom[..];
    if lines.is_empty() {
        return Reading::blank();
    }
    let text = lines.join("\n");
    // Rules are compiled only where their literal text is on the screen (Pattern::may_match).
    let lower = text.as_bytes().to_ascii_lowercase();
    let footer_from = lines.len().saturating_sub(FOOTER_LINES);
    let rules = [
        backend.active_re.as_ref(),
        backend.limit_re.as_ref(),
        backend.dialog_re.as_ref(),
        backend.fatal_re.as_ref(),
        backend.idle_re.as_ref(),
    ];
    let re = |i: usize| rules[i].and_then(|p| p.for_text(&lower));
    let low = |i: usize| re(i).and_then(|r| lowest_line(r, &text));
    // A quota exhaustion is a limit even while the CLI retries it: its own countdown below
    // the error is no sign of work (retrying does not cure it).
    let quota = re(1).and_then(|r| quota_line(r, &text));
    let active = match quota {
        None => low(0),
        Some(q) => re(0).and_then(|r| {
            let mut starts: Vec<usize> = line_starts(r, &text);
            starts.dedup();
            starts.into_iter().rev().find(|&l| !retrying(lines, q, l))
        }),
    }
    .filter(|&l| !backend.footer_ui || l >= footer_from);
    let limit = low(1);
    let mut best: Option<(usize, u8, State, &'static str)> = None;
    for (line, rank, state, rule) in [
        (active, 5, State::Active, "active_re"),
        (limit, 4, State::Limited, "limit_re"),
        (low(2), 3, State::Dialog, "dialog_re"),
        // A confirm hint is no sign of work, even where `active_re` takes any last line
        // without a prompt for streamed text (aider): on its own line the shape wins.
        (dialog::option_list(lines), 6, State::Dialog, "option_list"),
        (low(3), 2, State::Fatal, "fatal_re"),
        (low(4), 1, State::Idle, "idle_re"),
        // The CLI says the limit is over and it continues by itself: the banner above is old.
        (
            backend
                .resumed_re
                .as_ref()
                .and_then(|p| lowest_line(p.for_text(&lower)?, &text)),
            1,
            State::Idle,
            "resumed_re",
        ),
    ] {
        if let Some(l) = line
            && best.is_none_or(|(bl, br, _, _)| (l, rank) > (bl, br))
        {
            best = Some((l, rank, state, rule));
        }
    }
    // A limit chooser below the banner is a dialog we know how to answer: still a limit.
    let choice = limit.and_then(|l| {
        let c = lowest_line(backend.choice_re.as_ref()?.for_text(&lower)?, &text)?;
        (c >= l).then_some((l, c))
    });
    if let Some((l, c)) = choice
        && best.is_some_and(|(_, _, s, _)| matches!(s, State::Dialog | State::Limited))
    {
        let key = option_number(&lines[c]);
        return Reading {
            choice: key,
            ..limited(backend, lines, l, quota, captured, local)
        };
    }
    match best {
        Some((l, _, State::Limited, _)) => limited(backend, lines, l, quota, captured, local),
        Some((l, _, State::Dialog, rule)) => Reading {
            state: State::Dialog,
            rule,
            line: Some(lines[l].trim().to_string()),
            answer: answer(backend, lines),
            ..Reading::nothing()
        },
        Some((l, _, state, rule)) => Reading {
            state,
            rule,
            line: Some(lines[l].trim().to_string()),
            ..Reading::nothing()
        },
        None => Reading::nothing(),
    }
}

/// The reading of a limit banner on line `l` of `lines`; `quota` is the line of the lowest
/// quota error, whose reset ("Please retry in 9000s") counts when it is within
/// [`RESET_LINES`] above the banner (the same error), or below the banner's first line in the
/// same match (Gemini CLI 0.61.0's "✕ [API Error: …" block, whose "* Quota exceeded for
/// metric" and "Please retry in 9000s." lines sit further down when the error wraps): then the
/// reset is read up to [`RESET_LINES`] below the quota words.
fn limited(
    backend: &Backend,
    lines: &[String],
    l: usize,
    quota: Option<usize>,
    captured: DateTime<FixedOffset>,
    local: Tz,
) -> Reading {
    let from = quota
        .filter(|&q| q <= l && l - q <= RESET_LINES)
        .unwrap_or(l);
    let to = quota
        .filter(|&q| q > l && q - l <= QUOTA_BELOW_BANNER)
        .unwrap_or(l);
    let window = lines[from..(to + 1 + RESET_LINES).min(lines.len())].join("\n");
    let below = lines[l..].join("\n");
    Reading {
        state: State::Limited,
        rule: "limit_re",
        line: Some(lines[l].trim().to_string()),
        // A footer clock without its zone is read in the zone the screen names for it.
        reset: reset::parse_on_screen(&window, &lines.join("\n"), captured, local),
        continues: backend
            .continue_re
            .as_ref()
            .is_some_and(|p| p.regex().is_match(&below)),
        choice: None,
        answer: None,
    }
}

/// A backend's `answers` entry for the dialog at the bottom of `lines` (its screen `text`):
/// the first entry whose `when` matches the screen and whose `choose` matches one option's
/// label, with the keys that pick that option. `None` when no entry applies or the dialog's
/// options cannot be read (a dialog told by `dialog_re` alone, with no option list).
pub fn answer(backend: &Backend, lines: &[String]) -> Option<DialogAnswer> {
    if backend.answers.is_empty() {
        return None;
    }
    let menu = dialog::menu(lines)?;
    let text = lines.join("\n");
    backend.answers.iter().find_map(|a| {
        if !a.when.regex().is_match(&text) {
            return None;
        }
        let i = menu
            .options
            .iter()
            .position(|o| a.choose.regex().is_match(&o.label))?;
        Some(DialogAnswer {
            label: menu.options[i].label.clone(),
            keys: menu.keys_for(i),
            when: a.when.source().to_string(),
        })
    })
}

/// The number of a menu option on `line`: `❯ 1. Stop and wait` → `1`.
fn option_number(line: &str) -> Option<String> {
    let t = line.trim_start_matches(|c: char| !c.is_ascii_digit());
    let n: String = t.chars().take_while(char::is_ascii_digit).collect();
    (!n.is_empty() && t[n.len()..].starts_with(['.', ')'])).then_some(n)
}

/// The time in a `WAITING-UNTIL: <time>` marker, the agent's word that it sleeps on purpose
/// until then (SPEC §6): the lowest marker in the region, or for `footer_ui` backends only on
/// the last non-empty line. The time is RFC 3339 (`2026-11-21T14:00:00+01:00`) or local
/// (`2026-11-21T14:00`, `2026-11-21 14:00:00`, read in `local`). `None` when there is no
/// marker or it does not parse.
pub fn waiting_until(backend: &Backend, pane: &str, local: Tz) -> Option<DateTime<FixedOffset>> {
    static RE: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"WAITING-UNTIL:\s*(\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?)")
            .expect("the marker regex compiles")
    });
    let all = normalize::lines(pane);
    let lines: Vec<&String> = all.iter().filter(|l| !l.trim().is_empty()).collect();
    let from = if backend.footer_ui {
        lines.len().saturating_sub(1)
    } else {
        lines.len().saturating_sub(backend.region.max(1))
    };
    let m = lines[from..]
        .iter()
        .rev()
        .find_map(|l| RE.captures(l).map(|c| c[1].to_string()))?;
    if let Ok(t) = DateTime::parse_from_rfc3339(&m.replacen(' ', "T", 1)) {
        return Some(t);
    }
    let naive = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(&m, f).ok())
    .or_else(|| {
        chrono::NaiveDate::parse_from_str(&m, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    naive
        .and_local_timezone(local)
        .earliest()
        .map(|t| t.fixed_offset())
}

/// Reads a pane captured now, in the local zone.
pub fn read(backend: &Backend, pane: &str) -> Reading {
    classify(
        backend,
        pane,
        chrono::Local::now().fixed_offset(),
        reset::local_zone(),
    )
}

/// The newest signal a CLI's hook gave for the process the pane runs (`hooks = "claude"` or
/// `"gemini"`: `state/signals-<session>.jsonl`, written by `agents signal`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Hook<'a> {
    /// The hook event: `UserPromptSubmit`, `Stop`, `Notification`, ….
    pub event: &'a str,
    /// When it was recorded, Unix seconds.
    pub epoch: f64,
    /// A Notification's `notification_type` (`permission_prompt`, `idle_prompt`, …).
    pub notification_type: Option<&'a str>,
    /// A Notification's `message`.
    pub message: Option<&'a str>,
    /// A `StopFailure`'s `error` (Claude Code 2.1.330: `rate_limit` on a plan-limit 429, and
    /// on any other 429).
    pub error: Option<&'a str>,
    /// The CLI's last words of the turn (`last_assistant_message`; a `StopFailure`'s is the
    /// error's text: "You've hit your 5-hour limit · resets 2:06pm (UTC)").
    pub last_message: Option<&'a str>,
    /// The reset (Unix seconds) of a used-up window that the same process reported to its
    /// status line (`state/usage-<session>.json`, `rate_limits.*.resets_at`); read by the
    /// caller only for a `rate_limit` `StopFailure`.
    pub blocked_until: Option<i64>,
}

/// How long a state that only a hook told (the screen does not show it) is believed, in
/// seconds; after that the screen decides, so a hook state cannot go stale.
pub const HOOK_HOLD: f64 = 10.0;

/// A reading corrected by the newest hook signal (asymmetric, as agent-terminal and Prowl
/// combine them): a screen that shows anything (work, a limit, a dialog, an error, a dead
/// process) decides; a screen that reads idle is overruled for [`HOOK_HOLD`] seconds after a
/// hook that says the CLI took a prompt (`UserPromptSubmit`, or `PreCompact`: `active`, its
/// spinner not drawn yet; Gemini CLI's `BeforeAgent`), asks a person (Claude Code's
/// `Notification` of a permission prompt or an elicitation dialog, Gemini CLI's
/// `ToolPermission`, Codex's `PermissionRequest`: `dialog`; Codex's `Interrupt`, like `Stop`,
/// changes nothing: the screen tells the turn ended), or ended its turn on a plan limit whose reset is known
/// ([`hook_limit`]: `limited`, with that reset). The reading's rule is then `hook` and its
/// line names the event. Only the newest signal counts: a later `UserPromptSubmit` or `Stop`
/// (the CLI moved on) ends what an earlier one said.
///
/// Never towards an action: a hook never makes an agent idle or dead, and a limit told by a
/// hook alone only holds the agent (nothing typed: [`crate::supervise::limit::step`] lifts a
/// hold that comes due while only a hook says limited, and the hold outlives the hook's
/// [`HOOK_HOLD`] through an idle screen). An idle screen that says the limit is over
/// (`resumed_re`) is not overruled by a limit hook. `captured`: when the screen was read;
/// `local`: the zone a reset clock with no zone is read in.
pub fn with_hook(
    backend: &Backend,
    r: Reading,
    hook: Option<&Hook>,
    captured: DateTime<FixedOffset>,
    local: Tz,
) -> Reading {
    let Some(h) = hook else {
        return r;
    };
    let now = captured.timestamp_millis() as f64 / 1000.0;
    let age = (now - h.epoch).max(0.0);
    if r.state != State::Idle || age > HOOK_HOLD {
        return r;
    }
    if let Some(reset) = hook_limit(backend, h, captured, local) {
        if r.rule == "resumed_re" {
            return r;
        }
        return Reading {
            state: State::Limited,
            rule: "hook",
            line: Some(format!(
                "{} {}: {} (hook)",
                h.event,
                h.error.unwrap_or(""),
                h.last_message.unwrap_or("")
            )),
            reset: Some(reset),
            ..Reading::nothing()
        };
    }
    // Gemini CLI 0.61.0's names (src/launch/gemini_hooks.rs): `BeforeAgent` is a prompt
    // taken, a `Notification` of type `ToolPermission` a tool waiting for approval.
    // Codex (0.169.0) runs `PermissionRequest` when it asks for an approval.
    let asks = h.event == "PermissionRequest"
        || h.event == "Notification"
            && (matches!(
                h.notification_type,
                Some("permission_prompt" | "elicitation_dialog" | "ToolPermission")
            ) || (h.notification_type.is_none()
                && h.message
                    .is_some_and(|m| m.to_lowercase().contains("permission"))));
    let state = match h.event {
        "UserPromptSubmit" | "PreCompact" | "BeforeAgent" => State::Active,
        _ if asks => State::Dialog,
        _ => return r,
    };
    let what = match (state, h.message) {
        (State::Dialog, Some(m)) => format!("{}: {m}", h.event),
        _ => h.event.to_string(),
    };
    Reading {
        state,
        rule: "hook",
        // No age in the line: the same signal read again is the same evidence (a dialog is
        // reported once per line).
        line: Some(format!("{what} (hook)")),
        ..Reading::nothing()
    }
}

/// How Claude Code 2.1.330 draws the text of an error that ended a turn (a `StopFailure`'s
/// `last_assistant_message`) below the prompt: on a `⎿` line in column 3, the form its
/// preset's `limit_re` reads.
const CLAUDE_ERROR_LINE: &str = "  ⎿  ";

/// The reset of a plan limit that a hook reports before the screen shows it: `h` is a
/// `StopFailure` with `error: "rate_limit"` (Claude Code 2.1.330 fires it on the plan-limit
/// 429 instead of `Stop`), and its reset is known and later than `captured`: first the
/// structured one ([`Hook::blocked_until`], the status line's `resets_at` of a used-up
/// window), else the one its `last_assistant_message` names, when `backend`'s `limit_re`
/// reads that message as a limit (as written, or drawn as the CLI draws an error line) and
/// [`reset::parse`] finds a reset in it (the zone in parentheses; else `local`).
///
/// `None` otherwise, and so no hold on the hook alone: `rate_limit` also ends a turn on a
/// transient 429 (the server's per-minute rate limit, "Please try again later"), which no
/// hold should wait out; a plan limit with no reset in the hook is held once its banner is on
/// the screen (probed every `limit_probe_fallback` when that names none either).
pub fn hook_limit(
    backend: &Backend,
    h: &Hook,
    captured: DateTime<FixedOffset>,
    local: Tz,
) -> Option<Reset> {
    if h.event != "StopFailure" || h.error != Some("rate_limit") {
        return None;
    }
    if let Some(at) = reported_at(h.blocked_until, captured) {
        return Some(Reset {
            text: format!("the CLI's status line: resets_at {}", at.to_rfc3339()),
            at,
        });
    }
    let m = h.last_message?;
    let re = backend.limit_re.as_ref()?.regex();
    if !(re.is_match(m) || re.is_match(&format!("{CLAUDE_ERROR_LINE}{m}"))) {
        return None;
    }
    reset::parse(m, captured, local).filter(|r| r.at > captured)
}

/// A reset the CLI reported in structured data (`reported`, Unix seconds) as a time in
/// `captured`'s offset, when it is later than `captured`.
fn reported_at(
    reported: Option<i64>,
    captured: DateTime<FixedOffset>,
) -> Option<DateTime<FixedOffset>> {
    reported
        .filter(|&t| t > captured.timestamp())
        .and_then(|t| DateTime::from_timestamp(t, 0))
        .map(|at| at.with_timezone(captured.offset()))
}

/// A limit reading whose reset comes from the CLI's own structured data (Claude Code's status
/// line JSON, `rate_limits.*.resets_at`, Unix seconds: `reported`) rather than its banner,
/// which prints minutes only and may differ (the research found the banner ~9 min off
/// `/usage`). Only a reset after `captured` counts; the banner's stays otherwise. Other
/// readings are returned as they are.
pub fn with_reported_reset(
    mut r: Reading,
    reported: Option<i64>,
    captured: DateTime<FixedOffset>,
) -> Reading {
    if r.state != State::Limited {
        return r;
    }
    let Some(at) = reported_at(reported, captured) else {
        return r;
    };
    if r.reset.as_ref().is_some_and(|b| b.at == at) {
        return r;
    }
    let banner = r
        .reset
        .as_ref()
        .map_or("none".to_string(), |b| format!("{:?}", b.text));
    r.reset = Some(reset::Reset {
        at,
        text: format!(
            "the CLI's reported usage: resets_at {} (banner: {banner})",
            at.to_rfc3339()
        ),
    });
    r
}

/// What is known of one pane when it is read: tmux's facts, the process it was started with,
/// its captured text, its session log's age, and when and where it was captured.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// tmux's facts about the pane: `pane_dead`, its exit status, its pid and command.
    pub pane: &'a PaneInfo,
    /// The evidence of liveness beyond `pane_dead` (the process recorded at start).
    pub live: &'a Liveness,
    /// The pane's captured text.
    pub text: &'a str,
    /// How long ago the session log was last written (`None`: unknown, or not read).
    pub log_age: Option<std::time::Duration>,
    /// When the text was captured.
    pub captured: DateTime<FixedOffset>,
    /// The local zone (a reset clock with no zone is read in it).
    pub zone: Tz,
    /// The newest hook signal of the process the pane runs, if its backend has hooks.
    pub hook: Option<Hook<'a>>,
}

/// Reads a pane from its [`Facts`]: what tells the program is gone ([`liveness`]) first,
/// then its screen ([`classify`]), then what else is known of it ([`correct`]). The watchdog's
/// tick, `send`'s readiness and `status` read a pane so.
pub fn observe(backend: &Backend, f: &Facts) -> Reading {
    let r = liveness(backend, f.pane, f.live)
        .unwrap_or_else(|| classify(backend, f.text, f.captured, f.zone));
    correct(backend, r, f.log_age, f.hook.as_ref(), f.captured, f.zone)
}

/// A reading corrected by what is known beside the screen: an idle or fatal screen of a
/// `footer_ui` backend whose log was written within its `log_grace` (`log_age`) is `active`
/// (rule `log_grace`): such a TUI keeps its footer on screen while it works, so its log is the
/// evidence of activity; then the newest hook ([`with_hook`], read at `captured` in `local`).
pub fn correct(
    backend: &Backend,
    mut r: Reading,
    log_age: Option<std::time::Duration>,
    hook: Option<&Hook>,
    captured: DateTime<FixedOffset>,
    local: Tz,
) -> Reading {
    if matches!(r.state, State::Idle | State::Fatal)
        && backend.footer_ui
        && log_age.is_some_and(|age| age <= backend.log_grace)
    {
        r.state = State::Active;
        r.rule = "log_grace";
    }
    with_hook(backend, r, hook, captured, local)
}

/// A retry countdown a CLI prints while it retries by itself: "Retrying in 8.0 seconds..."
/// (aider 0.86), "Retry in 0.7 seconds." (aider 0.43), "[retrying in 9s attempt #3]"
/// (opencode 1.18), "Retrying in 24s · attempt 7/10" (Claude Code 2.1.197), "Attempt 2
/// failed with status 429. Retrying with backoff..." (Gemini CLI).
static COUNTDOWN: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
    Regex::new(r"(?i)\bretry(?:ing)?\s+in\s+[0-9]+(?:\.[0-9]+)?\s*(?:ms|s|secs?|seconds?|m|mins?|minutes?)\b|\battempt\s+#?[0-9]+")
        .expect("static regex")
});

/// The line of the lowest `limit_re` match in which the named group `quota` took part: a
/// quota or billing exhaustion ("You exceeded your current quota", "Quota exceeded for
/// metric", `RESOURCE_EXHAUSTED`, `insufficient_quota`), which waiting out a retry does not
/// cure. A preset marks those alternatives `(?P<quota>…)`.
fn quota_line(re: &Regex, text: &str) -> Option<usize> {
    re.captures_iter(text)
        .filter_map(|c| c.name("quota"))
        .last()
        .map(|m| text[..m.start()].matches('\n').count())
}

/// Whether the `active_re` match on line `l` is only the CLI retrying the quota error on
/// line `q`: a retry countdown at or below the error, and `l` on it, on the line after it
/// (aider's spinner "Waiting for openai/gpt-4o"), or below it only by lines of one character
/// (opencode 1.18 draws the rest of a full status row down the right edge, one letter a
/// line). A reply that streams in after a successful retry counts as work from its second
/// line on (its first takes the spinner's place).
fn retrying(lines: &[String], q: usize, l: usize) -> bool {
    l >= q
        && (q..=l).rev().any(|r| {
            COUNTDOWN.is_match(&lines[r])
                && (l - r <= 1
                    || lines[r + 1..=l]
                        .iter()
                        .all(|x| x.trim().chars().count() <= 1))
        })
}

/// The lines on which `re` matches, in order (a match spanning lines counts where it starts).
fn line_starts(re: &Regex, text: &str) -> Vec<usize> {
    let mut line = 0;
    let mut at = 0;
    re.find_iter(text)
        .map(|m| {
            line += text[at..m.start()].matches('\n').count();
            at = m.start();
            line
        })
        .collect()
}

/// Index of the last line on which `re` matches (a match spanning lines counts where it starts).
fn lowest_line(re: &Regex, text: &str) -> Option<usize> {
    re.find_iter(text)
        .last()
        .map(|m| text[..m.start()].matches('\n').count())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::Pattern;

    pub(crate) fn backend(active: &str, limit: &str, fatal: &str, footer_ui: bool) -> Backend {
        let re = |s: &str| (!s.is_empty()).then(|| Pattern::new(s).unwrap());
        let cfg = crate::config::parse(
            std::path::Path::new("/tmp/agents.toml"),
            "[defaults]\nsession_prefix='t-'\nlog_dir='l'\n[backend.b]\nbin='x'\n",
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap();
        let mut b = cfg.backends["b"].clone();
        b.active_re = re(active);
        b.limit_re = re(limit);
        b.fatal_re = re(fatal);
        b.footer_ui = footer_ui;
        b.region = if footer_ui { 10 } else { 25 };
        b
    }

    fn state(b: &Backend, pane: &str) -> State {
        read(b, pane).state
    }

    #[test]
    fn defect_09_fatal_below_stale_activity_wins() {
        let b = backend("esc to interrupt", "usage limit", "^FATAL", false);
        let pane =
            "* Working (esc to interrupt)\nsome output\nFATAL: session state corrupted\n> \n\n\n";
        let r = read(&b, pane);
        assert_eq!(r.state, State::Fatal);
        assert_eq!(r.rule, "fatal_re");
        assert_eq!(r.line.as_deref(), Some("FATAL: session state corrupted"));
        let pane = "FATAL: old\n* Working (esc to interrupt)\n";
        assert_eq!(state(&b, pane), State::Active);
    }

    #[test]
    fn defect_10_anchored_regex_matches_below_first_row() {
        let b = backend("", "", "^fatal: session", false);
        assert_eq!(state(&b, "line one\nFATAL: session state\n"), State::Fatal);
    }

    #[test]
    fn limit_banner_below_idle_prompt_is_limited() {
        let b = backend("esc to interrupt", "usage limit|limit reached", "", false);
        let pane = "old: esc to interrupt\nYou've hit your usage limit · resets 11pm\n> \n";
        assert_eq!(state(&b, pane), State::Limited);
    }

    #[test]
    fn footer_ui_counts_only_bottom_lines() {
        let mut b = backend("esc interrupt", "", "", true);
        b.region = 40;
        let mut pane = String::from("⬝⬝■ esc interrupt\n");
        for i in 0..12 {
            pane.push_str(&format!("line {i}\n"));
        }
        assert_eq!(state(&b, &pane), State::Idle);
        pane.push_str("■■ esc interrupt 137K\n\n\n");
        assert_eq!(state(&b, &pane), State::Active);
    }

    #[test]
    fn region_limits_what_counts_and_ties_go_to_active() {
        let mut b = backend("working", "usage limit", "", false);
        b.region = 3;
        assert_eq!(state(&b, "usage limit\n1\n2\n3\n"), State::Idle);
        assert_eq!(state(&b, "usage limit\n1\n2\n"), State::Limited);
        assert_eq!(state(&b, "usage limit — still working\n"), State::Active);
        b.idle_re = Some(Pattern::new("^>\\s*$").unwrap());
        assert_eq!(state(&b, "working\n> \n"), State::Idle, "prompt below");
    }

    #[test]
    fn dialog_is_reported_and_a_limit_chooser_is_answered_by_label() {
        let mut b = backend("esc to interrupt", "hit your .*limit", "", false);
        b.dialog_re = Some(Pattern::new("What do you want to do\\?|Do you trust").unwrap());
        b.choice_re = Some(Pattern::new("\\d\\.\\s+Stop and wait").unwrap());
        let r = read(&b, "Do you trust the files in this folder?\n❯ 1. Yes\n");
        assert_eq!((r.state, r.rule), (State::Dialog, "dialog_re"));
        let chooser = "You've hit your limit · resets 3pm\nWhat do you want to do?\n  1. Upgrade\n❯ 2. Stop and wait for limit to reset\n";
        let r = read(&b, chooser);
        assert_eq!(r.state, State::Limited);
        assert_eq!(r.choice.as_deref(), Some("2"));
        assert_eq!(option_number("  ❯ 12) Stop"), Some("12".into()));
        assert_eq!(option_number("no number here"), None);
    }

    /// Codex 0.169 draws its errors after "■"; a reply quoting one is no broken session.
    #[test]
    fn codex_fatal_only_as_the_cli_draws_it() {
        let codex = presets().into_iter().find(|b| b.name == "codex").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap();
        let drawn = "■ Codex ran out of room in the model's context window. Start a new thread.\n\n› Ask Codex to do anything\n";
        assert_eq!(classify(&codex, drawn, at, Tz::UTC).state, State::Fatal);
        let quoted = "• When the context fills up, Codex ran out of room in the model's context window\n  is what it prints.\n\n› Ask Codex to do anything\n";
        assert_ne!(classify(&codex, quoted, at, Tz::UTC).state, State::Fatal);
    }

    /// A pane with nothing drawn yet (a CLI still starting) is `blank`, not evidence of an
    /// idle agent; a screen with text no rule knows is plain idle (`none`).
    #[test]
    fn an_empty_screen_is_blank() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap();
        for b in presets() {
            for pane in ["", "\n\n   \n", "\x1b[0m\n\n"] {
                let r = classify(&b, pane, at, Tz::UTC);
                assert_eq!(
                    (r.state, r.rule),
                    (State::Idle, "blank"),
                    "{} {pane:?}",
                    b.name
                );
                assert!(r.is_blank());
            }
            let r = classify(&b, "words no rule knows\n", at, Tz::UTC);
            assert!(!r.is_blank(), "{}", b.name);
        }
    }

    /// A boxed menu with words no rule knows (Gemini CLI 0.61.0 draws its dialogs so) is a
    /// dialog in every preset but aider's (its `active_re` takes any last line without its
    /// prompt, here the box's border, for streamed text; aider draws no boxes); Gemini's limit
    /// chooser stays a limit with the key of "Stop".
    #[test]
    fn a_boxed_option_list_is_a_dialog_in_every_preset() {
        let menu = "✦ Done.\n╭───╮\n│ Allow execution of: 'rm -rf build'? │\n│ ● 1. Allow once │\n│   2. Allow for this session │\n│   3. No, suggest changes (esc) │\n╰───╯\n";
        let at = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap();
        for b in presets().into_iter().filter(|b| b.name != "aider") {
            let r = classify(&b, menu, at, Tz::UTC);
            assert_eq!(
                (r.state, r.rule),
                (State::Dialog, "option_list"),
                "{}",
                b.name
            );
            assert_eq!(r.line.as_deref(), Some("│ ● 1. Allow once │"));
        }
        let gemini = presets().into_iter().find(|b| b.name == "gemini").unwrap();
        let chooser = " > go on\n╭───╮\n│ Usage limit reached for all Pro models. │\n│ ● 1. Keep trying │\n│   2. Stop │\n╰───╯\n";
        let r = classify(&gemini, chooser, at, Tz::UTC);
        assert_eq!((r.state, r.choice.as_deref()), (State::Limited, Some("2")));
    }

    /// A menu with words no rule knows is a dialog in every preset; the limit chooser that
    /// `choice_re` answers stays a limit with its key; the input box stays what it was.
    #[test]
    fn an_option_list_is_a_dialog_in_every_preset() {
        let menu = "Some output\n\n  Pick a colour for the new theme\n  ❯ Midnight blue\n    Solar orange\n\n  Enter to confirm · Esc to cancel\n";
        let at = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap();
        for b in presets() {
            let r = classify(&b, menu, at, Tz::UTC);
            assert_eq!(
                (r.state, r.rule),
                (State::Dialog, "option_list"),
                "{}",
                b.name
            );
            assert_eq!(r.line.as_deref(), Some("Enter to confirm · Esc to cancel"));
        }
        let claude = presets().into_iter().find(|b| b.name == "claude").unwrap();
        let chooser = "❯ go on\n  ⎿  You've hit your 5-hour limit · resets 3:59pm (America/New_York)\n  What do you want to do?\n  ❯ 1. Stop and wait for limit to reset\n    2. Wait here\n  Enter to confirm · Esc to cancel\n";
        let r = classify(&claude, chooser, at, Tz::UTC);
        assert_eq!((r.state, r.choice.as_deref()), (State::Limited, Some("1")));
        let input_box = "● Done.\n───\n❯ typed but not sent\n───\n  ? for shortcuts\n";
        assert_eq!(classify(&claude, input_box, at, Tz::UTC).state, State::Idle);
    }

    /// Claude Code's fatal errors count as the CLI draws them (`● API Error: …`, `⎿  …`, the
    /// hint wrapped onto the next line in a narrow pane), not where a reply quotes them.
    #[test]
    fn claude_fatal_only_as_the_cli_draws_it() {
        let claude = presets().into_iter().find(|b| b.name == "claude").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap();
        let read = |s: &str| classify(&claude, s, at, Tz::UTC);
        let tail = "───\n❯ \n───\n  ? for shortcuts\n";
        let wrapped = format!(
            "❯ go\n● API Error: 400 duplicate tool_use ID in conversation history. Run /rewind to\n  recover the conversation.\n{tail}"
        );
        assert_eq!(read(&wrapped).state, State::Fatal);
        // A long server message (a JSON body, over 400 characters) before the hint: the error
        // runs up to the next "●", "❯" or "⎿" however long it is.
        let body = "{\"type\":\"invalid_request_error\",\"message\":\"messages.41.content.3: `tool_use` ids must be unique\"} ".repeat(6);
        let long = format!(
            "❯ go\n● API Error: 400 {body}\n  Run /rewind to recover the conversation.\n{tail}"
        );
        assert!(body.chars().count() > 400);
        assert_eq!(read(&long).state, State::Fatal);
        let context =
            format!("❯ go\n  ⎿  Context limit reached · /compact or /clear to continue\n{tail}");
        assert_eq!(read(&context).state, State::Fatal);
        for quoted in [
            "● It prints \"API Error: 400 … Run /rewind to recover the conversation.\"\n",
            "● Sure.\n  Run /rewind to recover the conversation if that happens.\n",
            "● If you see Context limit reached · /compact, compact.\n",
            "● Offline it says Unable to connect to Anthropic services and exits.\n",
            "● API Error: 400 messages.3: duplicate tool_use ID\n❯ next\n● Run /rewind to recover the conversation, it said.\n",
        ] {
            let r = read(&format!("{quoted}{tail}"));
            assert_ne!(r.state, State::Fatal, "{quoted}: {:?}", r.line);
        }
    }

    /// Issue 15 item 1: rule text quoted in a reply is no evidence; drawn where the CLI draws
    /// it, it still is (the permission prompt above its options, a limit error line, the
    /// opencode status row).
    #[test]
    fn quoted_rule_text_is_not_evidence() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap();
        let preset = |n: &str| presets().into_iter().find(|b| b.name == n).unwrap();
        let claude = preset("claude");
        let read = |b: &Backend, s: &str| classify(b, s, at, Tz::UTC);
        let tail = "───\n❯ \n───\n  ? for shortcuts\n";
        for quoted in [
            "● It asks:\n  Do you want to proceed?\n  and waits.\n",
            "● It asks:\n  Do you want to proceed?\n  ❯ 1. Yes\n",
            "● The banner:\n  You've hit your session limit · resets 6:50pm (America/Los_Angeles)\n",
            "● Verbatim:\n    ⎿  You've hit your weekly limit · resets Nov 23, 10am\n",
            "● Footer:\n  Usage limit reached · limit resets 3:59pm\n",
            "● Offline:\n  Unable to connect to Anthropic services\n",
            "● If it says Not logged in · Please run /login, log in.\n",
        ] {
            let r = read(&claude, &format!("❯ explain\n{quoted}{tail}"));
            assert_eq!(r.state, State::Idle, "{quoted}: {:?}", r.line);
        }
        let permission = "❯ delete it\n● Bash(rm -rf build)\n Bash command\n   rm -rf build\n Do you want to proceed?\n ❯ 1. Yes\n   2. No\n";
        assert_eq!(read(&claude, permission).state, State::Dialog);
        let limit = format!(
            "❯ go\n  ⎿  You've hit your session limit · resets 6:50pm (America/Los_Angeles)\n{tail}"
        );
        assert_eq!(read(&claude, &limit).state, State::Limited);
        let opencode = preset("opencode");
        let quoted = "     It said: rate limit, usage limit, quota exceeded.\n     △ Permission required is a dialog.\n  ╹▀▀▀▀▀▀▀▀\n           tab agents  ctrl+p commands\n";
        assert_eq!(read(&opencode, quoted).state, State::Idle);
        let asking = "  ┃  △ Permission required\n  ┃  allow once\n  ╹▀▀▀▀▀▀▀▀\n           tab agents  ctrl+p commands\n";
        assert_eq!(read(&opencode, asking).state, State::Dialog);
        let limited = "  ╹▀▀▀▀▀▀▀▀\n   ⬝⬝⬝⬝⬝⬝⬝⬝ You exceeded your current quota, please check your plan. [retrying in 9s attempt #3]\n";
        assert_eq!(read(&opencode, limited).state, State::Limited);
    }

    /// Issue 15 item 1 for Codex 0.169.0 and Gemini CLI 0.61.0: rule text on an answer's lines
    /// ("• " or two spaces in Codex, "✦ " or two spaces in Gemini) is no evidence; drawn where
    /// the CLI draws it (Codex's "■" line in column 1 and its dialogs' highlighted option,
    /// Gemini's "✕" error block, its "│" dialog box and its spinner line), it still is.
    #[test]
    fn codex_and_gemini_rules_match_only_where_the_cli_draws_them() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap();
        let preset = |n: &str| presets().into_iter().find(|b| b.name == n).unwrap();
        let read = |b: &Backend, s: &str| classify(b, s, at, Tz::UTC);
        let codex = preset("codex");
        let composer = "› Ask Codex to do anything\n  gpt-5-codex default · ~/work\n";
        let done = "  Worked for 2s • 11:58\n";
        // Quoted on an answer's lines while it streams: still work.
        for quoted in [
            "  You've hit your usage limit. Try again at 11:15 PM.\n",
            "  ■ Quota exceeded. Check your plan and billing details.\n",
            "  ■ Codex ran out of room in the model's context window.\n",
            "  > 1. Sign in with ChatGPT\n  2. Sign in with Device Code\n",
            "  Do you trust the contents of this directory?\n  1. Yes, allow Codex to work in this folder\n",
            "  Would you like to run the following command?\n  $ rm -rf build\n",
            "  Worked for 30s • 19:41 is the line it draws at the end.\n",
        ] {
            let r = read(
                &codex,
                &format!("› explain\n• It says:\n{quoted}{composer}"),
            );
            assert_eq!(r.state, State::Active, "{quoted}: {:?}", r.line);
            let r = read(
                &codex,
                &format!("› explain\n• It says:\n{quoted}{done}{composer}"),
            );
            assert_eq!(r.state, State::Idle, "{quoted}: {:?}", r.line);
        }
        // Drawn by the CLI: evidence.
        let limit =
            format!("› go\n■ You've hit your usage limit. Try again at 11:15 PM.\n{composer}");
        assert_eq!(read(&codex, &limit).state, State::Limited);
        let json = "{\"type\":\"error\",\"message\":\"You've hit your usage limit. Try again at 12:16 PM.\"}\n";
        assert_eq!(read(&codex, json).state, State::Limited);
        for dialog in [
            "  Welcome to Codex\n  1. Sign in with ChatGPT\n     Usage included with Plus\n› 2. Sign in with Device Code\n",
            "  Welcome to Codex\n  1. Sign in with ChatGPT\n  2. Sign in with Device Code\n› 3. Sign in another way\n",
            "> You are running Codex in /w\n  Do you trust the contents of this directory?\n› 1. Yes, allow Codex to work in this folder\n  2. No, quit\n",
            "  1. Allow Codex to work in this folder without asking for approval\n› 2. Require approval of edits and commands\n",
            "• Running rm -rf build\n  Would you like to run the following command?\n  Reason: clean\n  $ rm -rf build\n› 1. Yes, proceed (y)\n  2. No, and tell Codex what to do differently (esc)\n",
        ] {
            let r = read(&codex, dialog);
            assert_eq!((r.state, r.rule), (State::Dialog, "dialog_re"), "{dialog}");
        }
        let rule = format!("› go\n• Done.\n─ Worked for 1m 02s • 9:05 ──────\n{composer}");
        assert_eq!(read(&codex, &rule).state, State::Idle);

        let gemini = preset("gemini");
        let input = " ? for shortcuts\n───\n *   Type your message or @path/to/file\n";
        for quoted in [
            "✦ The box says:\n  Usage limit reached for all Pro models.\n",
            "✦ │ Usage limit reached for all Pro models. │\n",
            "✦ It printed:\n  ✕ [API Error: You exceeded your current quota, please check your plan.\n   * Quota exceeded for metric: x, limit: 5\n",
            "✦ Old versions said ⚡ You have reached your daily quota limit.\n  RESOURCE_EXHAUSTED\n",
            "✦ It asks:\n  Do you trust the files in this folder?\n  ● 1. Trust folder (work)\n     2. Don't trust\n",
            "✦ It asks How would you like to authenticate for this project?\n",
            "✦ While busy:\n  ⠧ Thinking... (esc to cancel, 4s)\n",
        ] {
            let r = read(&gemini, &format!(" > explain\n{quoted}{input}"));
            assert_eq!(r.state, State::Idle, "{quoted}: {:?}", r.line);
        }
        let wrapped = format!(
            " > go\n✕ [API Error: got status: 429 Too Many Requests. {{\"error\":{{\"code\":429,\n  \"message\":\"Resource has been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}}}]\n  Please retry in 40s.\n{input}"
        );
        let r = read(&gemini, &wrapped);
        assert_eq!(r.state, State::Limited, "{r:?}");
        assert_eq!(
            r.reset.map(|x| x.at.to_rfc3339()).as_deref(),
            Some("2026-12-04T12:00:40+00:00")
        );
        // 0.61.0 in a narrow pane: the error wraps, its reset six lines below the ✕ line.
        let narrow = format!(
            " > go\n✕ [API Error: You exceeded your current quota, please check your plan and\n  billing details. For more information on this error, head to:\n  https://ai.google.dev/gemini-api/docs/rate-limits.\n  * Quota exceeded for metric:\n  generativelanguage.googleapis.com/generate_content_free_tier_requests,\n  limit: 5, model: gemini-3.1-pro-preview\n  Please retry in 400s.\n  Suggested retry after 400s.]\n{input}"
        );
        let r = read(&gemini, &narrow);
        assert_eq!(
            r.line.as_deref(),
            Some("✕ [API Error: You exceeded your current quota, please check your plan and")
        );
        assert_eq!(
            r.reset.map(|x| x.at.to_rfc3339()).as_deref(),
            Some("2026-12-04T12:06:40+00:00"),
            "the reset below the quota words of a wrapped error"
        );
        let old = "> summarize\n⚡ You have reached your daily gemini-2.5-pro quota limit.\n  ⚡ You can switch authentication methods by typing /auth\n";
        assert_eq!(read(&gemini, old).state, State::Limited);
        let boxed = " > go\n╭───╮\n│ Do you trust the files in this folder? │\n│ Trusting a folder allows … │\n╰───╯\n";
        let r = read(&gemini, boxed);
        assert_eq!((r.state, r.rule), (State::Dialog, "dialog_re"));
        let busy = format!(
            " > go\n✦ Mock \n ⠧ Thinking... (esc to cancel, 2s)     ? for shortcuts\n{input}"
        );
        assert_eq!(read(&gemini, &busy).state, State::Active);
    }

    /// A quota exhaustion is a limit even under the CLI's own retry countdown; a rate limit
    /// under it stays active; a quota error above fresh work or a newer prompt does not count.
    #[test]
    fn a_quota_error_beats_the_retry_countdown_below_it() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z").unwrap();
        let preset = |n: &str| presets().into_iter().find(|b| b.name == n).unwrap();
        let read = |b: &Backend, s: &str| classify(b, s, at, Tz::UTC);
        // opencode 1.18 at 200 columns: the error, the countdown and the busy hint on one row.
        let opencode = preset("opencode");
        let row = "  ┃  continue\n\n   ⬝⬝⬝⬝⬝⬝⬝⬝ You exceeded your current quota, please check your plan and billing details. [retrying in 9s attempt #3]        esc interrupt\n";
        let r = read(&opencode, row);
        assert_eq!((r.state, r.rule), (State::Limited, "limit_re"));
        let rate = row.replace(
            "You exceeded your current quota, please check your plan and billing details.",
            "This request would exceed your account's rate limit. Please try again later.",
        );
        assert_eq!(read(&opencode, &rate).state, State::Active);
        // aider 0.86: a Gemini quota error retried by litellm, with the server's retry hint.
        let aider = preset("aider");
        let err = "> go on\nlitellm.RateLimitError: VertexAIException - {\"code\": 429, \"status\": \"RESOURCE_EXHAUSTED\"}\nPlease retry in 40s.\nThe API provider has rate limited you. Try again later or check your quotas.\nRetrying in 8.0 seconds...\n   ░█      Waiting for gemini/gemini-2.5-pro\n";
        let r = read(&aider, err);
        assert_eq!(r.state, State::Limited, "{r:?}");
        assert_eq!(
            r.reset.map(|x| x.at.to_rfc3339()).as_deref(),
            Some("2026-12-04T12:00:40+00:00"),
            "the retry hint inside the quota error is its reset"
        );
        // The retry succeeded: the reply streams below the countdown.
        let worked = format!("{err}Here is the change you asked for,\napplied to parser.py and");
        assert_eq!(read(&aider, &worked).state, State::Active);
        // Gemini: a quota error above a newer prompt is stale.
        let gemini = preset("gemini");
        let newer = "✕ [API Error: You exceeded your current quota]\nAttempt 2 failed with status 429. Retrying with backoff...\n > /model flash\n ⠧ Thinking... (esc to cancel, 4s)\n";
        assert_eq!(read(&gemini, newer).state, State::Active);
        let retrying = "✕ [API Error: You exceeded your current quota]\nAttempt 2 failed with status 429. Retrying with backoff...\n ⠧ Thinking... (esc to cancel, 4s)\n";
        assert_eq!(read(&gemini, retrying).state, State::Limited);
    }

    /// Every built-in preset as a backend.
    pub(crate) fn presets() -> Vec<Backend> {
        crate::config::presets::names()
            .into_iter()
            .map(|name| {
                let text = format!(
                    "[defaults]\nsession_prefix='t-'\nlog_dir='l'\n[[agent]]\nname='a'\nbackend='{name}'\n"
                );
                let cfg = crate::config::parse(
                    std::path::Path::new("/tmp/agents.toml"),
                    &text,
                    crate::config::EnvOverrides::Ignore,
                )
                .unwrap_or_else(|e| panic!("preset {name}: {e}"));
                cfg.backends[name].clone()
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        #[test]
        fn no_pane_text_makes_the_classifier_panic(
            pane in "(?s).{0,400}",
            banner in proptest::sample::select(vec![
                "You've hit your limit · resets ", "try again at ", "FATAL: session state ",
                "Usage limit reached for all Pro models.\nAccess resets at ", "WAITING-UNTIL: ",
                "❯ 1. Stop and wait for limit to reset", "esc to interrupt", "\u{1b}[31m",
            ]),
            tail in "(?s).{0,40}",
            secs in 0i64..4_000_000_000,
        ) {
            static ALL: std::sync::LazyLock<Vec<Backend>> = std::sync::LazyLock::new(presets);
            let captured = chrono::DateTime::from_timestamp(secs, 0).unwrap().fixed_offset();
            let text = format!("{pane}{banner}{tail}");
            for b in ALL.iter() {
                let r = classify(b, &text, captured, "America/New_York".parse::<Tz>().unwrap());
                let _ = waiting_until(b, &text, "Asia/Kolkata".parse::<Tz>().unwrap());
                proptest::prop_assert!(!r.rule.is_empty());
            }
        }
    }

    #[test]
    fn waiting_until_markers() {
        let b = backend("", "", "", false);
        let ny: Tz = "America/New_York".parse().unwrap();
        let t = waiting_until(&b, "x\nWAITING-UNTIL: 2026-11-21T14:00:00Z\n> \n", ny).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T14:00:00+00:00");
        let t = waiting_until(&b, "WAITING-UNTIL: 2026-11-21 09:30\n", ny).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T09:30:00-05:00");
        assert_eq!(waiting_until(&b, "WAITING-UNTIL: soon\n", ny), None);
        let mut f = b.clone();
        f.footer_ui = true;
        assert_eq!(
            waiting_until(&f, "WAITING-UNTIL: 2026-11-21\nfooter\n", ny),
            None
        );
        assert!(waiting_until(&f, "x\nWAITING-UNTIL: 2026-11-21\n", ny).is_some());
    }

    #[test]
    fn dead_panes_and_bare_shells() {
        let b = backend("", "", "", false);
        let p = |dead, cmd: &str| PaneInfo {
            dead,
            dead_status: Some(3),
            dead_signal: None,
            pid: None,
            command: cmd.into(),
        };
        let r = dead(&b, &p(true, "x")).unwrap();
        assert_eq!(r.rule, "pane_dead");
        assert_eq!(r.line.as_deref(), Some("its program exited with status 3"));
        // No process_name: a shell in the pane is the program (a wrapper script), never dead.
        assert!(dead(&b, &p(false, "bash")).is_none());
        assert!(dead(&b, &p(false, "x")).is_none());
        let mut named = b.clone();
        named.process_name = Some("claude".into());
        assert_eq!(dead(&named, &p(false, "bash")).unwrap().rule, "shell");
        assert!(dead(&named, &p(false, "claude")).is_none());
        let mut sh = named.clone();
        sh.process_name = Some("bash".into());
        assert!(
            dead(&sh, &p(false, "bash")).is_none(),
            "the program is a shell"
        );
    }

    #[test]
    fn liveness_comes_from_the_process_not_its_name() {
        let mut b = backend("", "", "", false);
        b.process_name = Some("claude".into());
        let bash = PaneInfo {
            dead: false,
            dead_status: None,
            dead_signal: None,
            pid: Some(7),
            command: "bash".into(),
        };
        let live = |process, showed_program| Liveness {
            process,
            showed_program,
        };
        // A process_name never seen: a bash pane is not read as a fallback shell.
        assert!(liveness(&b, &bash, &live(Process::Running, false)).is_none());
        assert!(liveness(&b, &bash, &live(Process::Unknown, false)).is_none());
        let r = liveness(&b, &bash, &live(Process::Running, true)).unwrap();
        assert_eq!((r.state, r.rule), (State::Dead, "shell"));
        assert!(r.line.unwrap().contains("bare bash shell"));
        let r = liveness(&b, &bash, &live(Process::Gone { pid: 7 }, false)).unwrap();
        assert_eq!(r.rule, "process");
        assert!(r.line.unwrap().contains("(pid 7) is gone"));
        // A record older than the pane (its start could not be saved) is no death.
        assert!(
            liveness(
                &b,
                &bash,
                &live(Process::Replaced { started: 5, now: 7 }, false),
            )
            .is_none()
        );
        // Without process_name only the process counts.
        b.process_name = None;
        assert!(liveness(&b, &bash, &live(Process::Running, true)).is_none());
    }

    /// One reading for the tick, `typing` and `status`: a footer TUI whose log was written
    /// within `log_grace` is working whatever its footer says (idle or fatal), a dead pane is
    /// dead whatever its log says, and a log too old, or of a backend without a footer, is no
    /// evidence.
    #[test]
    fn observe_takes_a_recent_log_of_a_footer_tui_for_activity() {
        let footer = backend("esc to interrupt", "usage limit", "^FATAL", true);
        let plain = backend("esc to interrupt", "usage limit", "^FATAL", false);
        let pane = PaneInfo {
            dead: false,
            dead_status: None,
            dead_signal: None,
            pid: Some(1),
            command: "x".into(),
        };
        let live = Liveness {
            process: Process::Running,
            showed_program: false,
        };
        let recent = Some(std::time::Duration::from_millis(10));
        let old = Some(footer.log_grace + std::time::Duration::from_secs(1));
        let at = |b: &Backend, p: &PaneInfo, text: &str, log_age| {
            let f = Facts {
                pane: p,
                live: &live,
                text,
                log_age,
                captured: chrono::Local::now().fixed_offset(),
                zone: reset::local_zone(),
                hook: None,
            };
            let r = observe(b, &f);
            (r.state, r.rule)
        };
        for text in ["> \n", "FATAL: boom\n"] {
            assert_eq!(
                at(&footer, &pane, text, recent),
                (State::Active, "log_grace")
            );
            assert_ne!(at(&footer, &pane, text, old).1, "log_grace");
            assert_ne!(at(&footer, &pane, text, None).1, "log_grace");
            assert_ne!(at(&plain, &pane, text, recent).1, "log_grace");
        }
        assert_eq!(
            at(&footer, &pane, "FATAL: boom\n", old),
            (State::Fatal, "fatal_re")
        );
        // A limit banner is not overridden: the hold follows the screen.
        assert_eq!(
            at(&footer, &pane, "usage limit\n", recent).0,
            State::Limited
        );
        let dead = PaneInfo {
            dead: true,
            dead_status: Some(1),
            dead_signal: None,
            ..pane.clone()
        };
        assert_eq!(
            at(&footer, &dead, "> \n", recent),
            (State::Dead, "pane_dead")
        );
    }

    /// [`super::with_hook`] for a backend with no rules of its own, the screen read at `now`
    /// (Unix seconds) in UTC.
    fn with_hook_at(r: Reading, h: Option<&Hook>, now: f64) -> Reading {
        let ms = format!("{:.0}", now * 1000.0)
            .parse::<i64>()
            .expect("a test time");
        let at = DateTime::from_timestamp_millis(ms)
            .expect("a test time")
            .fixed_offset();
        super::with_hook(&backend("", "", "", false), r, h, at, Tz::UTC)
    }

    /// Issue 14 item 6: Codex 0.169.0's hook events, as `hooks = "codex"` records them: a
    /// prompt taken marks the agent active, an approval asked a dialog, an interrupt (like a
    /// Stop) leaves the screen to decide.
    #[test]
    fn codex_hook_events_map_onto_active_dialog_or_the_screen() {
        let now = 1000.0;
        let hook = |event| Hook {
            event,
            epoch: now - 1.0,
            ..Hook::default()
        };
        let idle = Reading::nothing();
        let r = with_hook_at(idle.clone(), Some(&hook("UserPromptSubmit")), now);
        assert_eq!((r.state, r.rule), (State::Active, "hook"));
        let r = with_hook_at(idle.clone(), Some(&hook("PermissionRequest")), now);
        assert_eq!((r.state, r.rule), (State::Dialog, "hook"));
        assert_eq!(r.line.as_deref(), Some("PermissionRequest (hook)"));
        for ev in ["Interrupt", "Stop", "SessionStart"] {
            assert_eq!(
                with_hook_at(idle.clone(), Some(&hook(ev)), now),
                idle,
                "{ev}"
            );
        }
    }

    /// Issue 14 item 6: Gemini CLI 0.61.0's hook names mean the same as Claude Code's:
    /// `BeforeAgent` a prompt taken, `Notification` `ToolPermission` a tool waiting for a
    /// person; `AfterAgent`, `SessionStart`, `SessionEnd` leave the screen to decide.
    #[test]
    fn gemini_hooks_mean_a_turn_or_a_question_too() {
        let now = 1000.0;
        let idle = Reading::nothing();
        let h = |event, kind, message| Hook {
            event,
            epoch: now - 1.0,
            notification_type: kind,
            message,
            ..Hook::default()
        };
        let r = with_hook_at(idle.clone(), Some(&h("BeforeAgent", None, None)), now);
        assert_eq!((r.state, r.source()), (State::Active, "hook"));
        assert_eq!(r.line.as_deref(), Some("BeforeAgent (hook)"));
        let ask = h(
            "Notification",
            Some("ToolPermission"),
            Some("Tool Confirm Shell Command requires execution"),
        );
        let r = with_hook_at(idle.clone(), Some(&ask), now);
        assert_eq!(r.state, State::Dialog);
        assert_eq!(
            r.line.as_deref(),
            Some("Notification: Tool Confirm Shell Command requires execution (hook)")
        );
        for ev in ["AfterAgent", "SessionStart", "SessionEnd"] {
            assert_eq!(
                with_hook_at(idle.clone(), Some(&h(ev, None, None)), now),
                idle
            );
        }
    }

    /// Issue 14 item 2: a hook corrects an idle screen for `HOOK_HOLD` seconds, only towards
    /// leaving the agent alone; a screen that shows anything decides; a stale hook is ignored.
    #[test]
    fn a_hook_marks_a_turn_or_a_question_before_the_screen_shows_it() {
        let now = 1000.0;
        let hook = |event, epoch, kind: Option<&'static str>, message: Option<&'static str>| Hook {
            event,
            epoch,
            notification_type: kind,
            message,
            ..Hook::default()
        };
        let with_hook = with_hook_at;
        let idle = Reading::nothing();
        let r = with_hook(
            idle.clone(),
            Some(&hook("UserPromptSubmit", now - 2.0, None, None)),
            now,
        );
        assert_eq!(
            (r.state, r.rule, r.source()),
            (State::Active, "hook", "hook")
        );
        assert_eq!(r.line.as_deref(), Some("UserPromptSubmit (hook)"));
        let ask = hook(
            "Notification",
            now - 1.0,
            Some("permission_prompt"),
            Some("Claude needs your permission to use Bash"),
        );
        let r = with_hook(idle.clone(), Some(&ask), now);
        assert_eq!(r.state, State::Dialog);
        assert!(r.line.unwrap().contains("needs your permission"));
        // Waiting for input after a turn is no question for a person.
        let waiting = hook(
            "Notification",
            now - 1.0,
            Some("idle_prompt"),
            Some("Claude is waiting for your input"),
        );
        assert_eq!(with_hook(idle.clone(), Some(&waiting), now), idle);
        // Stale, a Stop, or no hook: the screen decides.
        let stale = hook("UserPromptSubmit", now - HOOK_HOLD - 1.0, None, None);
        assert_eq!(with_hook(idle.clone(), Some(&stale), now), idle);
        assert_eq!(
            with_hook(idle.clone(), Some(&hook("Stop", now, None, None)), now),
            idle
        );
        assert_eq!(with_hook(idle.clone(), None, now), idle);
        // A screen that shows something wins over any hook.
        let limited = Reading {
            state: State::Limited,
            rule: "limit_re",
            ..Reading::nothing()
        };
        let turn = hook("UserPromptSubmit", now, None, None);
        assert_eq!(with_hook(limited.clone(), Some(&turn), now), limited);
        let dialog = Reading {
            state: State::Dialog,
            rule: "option_list",
            ..Reading::nothing()
        };
        assert_eq!(
            with_hook(dialog.clone(), Some(&turn), now).rule,
            "option_list"
        );
        assert_eq!(Reading::nothing().source(), "screen");
        assert_eq!(
            Reading {
                rule: "pane_dead",
                ..Reading::nothing()
            }
            .source(),
            "process"
        );
    }

    /// Issue 14 items 2-3: Claude Code 2.1.330's `StopFailure` `rate_limit` on a plan-limit
    /// 429 makes an idle screen `limited` (rule and source `hook`) before the banner is drawn,
    /// with the reset from the status line's `resets_at` first, else from the message by the
    /// backend's own rules; no reset known, another error, a stale hook, a later hook, or a
    /// screen that shows anything else: the screen decides.
    #[test]
    fn a_plan_limit_is_detected_from_stop_failure_before_the_screen() {
        let claude = presets().into_iter().find(|b| b.name == "claude").unwrap();
        // 14:00:30 UTC; the hook fired 2 s before.
        let at = DateTime::parse_from_rfc3339("2026-12-05T14:00:30Z").unwrap();
        let now = at.timestamp() as f64;
        let msg = "You've hit your 5-hour limit · resets 4:06pm (UTC)";
        let stop = Hook {
            event: "StopFailure",
            epoch: now - 2.0,
            error: Some("rate_limit"),
            last_message: Some(msg),
            ..Hook::default()
        };
        let read = |r: Reading, h: &Hook| with_hook(&claude, r, Some(h), at, Tz::UTC);
        let idle = classify(&claude, "● Done.\n\n❯ \n", at, Tz::UTC);
        assert_eq!(idle.state, State::Idle);
        let r = read(idle.clone(), &stop);
        assert_eq!(
            (r.state, r.rule, r.source()),
            (State::Limited, "hook", "hook")
        );
        let reset = r.reset.clone().unwrap();
        assert_eq!(reset.at.to_rfc3339(), "2026-12-05T16:06:00+00:00");
        assert!(r.line.as_deref().unwrap().contains(msg), "{r:?}");
        // The status line's reset of a used-up window first (the banner prints minutes only).
        let reported = DateTime::parse_from_rfc3339("2026-12-05T16:05:31Z").unwrap();
        let structured = Hook {
            blocked_until: Some(reported.timestamp()),
            ..stop
        };
        let r = read(idle.clone(), &structured);
        assert_eq!(r.reset.unwrap().at, reported);
        // ... even when the message names no reset, or reads as no limit.
        let bare = Hook {
            last_message: Some("API Error: Rate limit reached"),
            ..structured
        };
        assert_eq!(read(idle.clone(), &bare).state, State::Limited);
        // No reset known: a transient 429 as far as anyone can tell; the screen decides.
        let transient = Hook {
            last_message: Some(
                "API Error: 429 This request would exceed your account's rate limit. Please try again later.",
            ),
            ..stop
        };
        assert_eq!(read(idle.clone(), &transient), idle);
        let no_reset = Hook {
            last_message: Some("You've hit your 5-hour limit"),
            ..stop
        };
        assert_eq!(read(idle.clone(), &no_reset), idle);
        // A reset already passed (the status line's, or the message's) is none.
        let past = Hook {
            blocked_until: Some(at.timestamp() - 1),
            last_message: Some("You've hit your 5-hour limit · resets 1:58pm (UTC)"),
            ..stop
        };
        assert_eq!(read(idle.clone(), &past), idle);
        // Another error, or the CLI moved on (the newest hook is a prompt or a Stop).
        for other in [
            Hook {
                error: Some("server_error"),
                ..stop
            },
            Hook {
                event: "Stop",
                error: None,
                ..stop
            },
        ] {
            assert_eq!(read(idle.clone(), &other), idle, "{other:?}");
        }
        let turn = Hook {
            event: "UserPromptSubmit",
            error: None,
            last_message: None,
            ..stop
        };
        assert_eq!(read(idle.clone(), &turn).state, State::Active);
        // Stale: past HOOK_HOLD the screen decides (the hold, once made, lasts by itself).
        let stale = Hook {
            epoch: now - HOOK_HOLD - 1.0,
            ..stop
        };
        assert_eq!(read(idle.clone(), &stale), idle);
        // A screen that shows work, a banner, or says the limit is over decides.
        let working = classify(&claude, "✻ Thinking… (esc to interrupt)\n", at, Tz::UTC);
        assert_eq!(read(working.clone(), &stop), working);
        let banner = classify(
            &claude,
            "❯ go on\n  ⎿  You've hit your 5-hour limit · resets 4am (UTC)\n",
            at,
            Tz::UTC,
        );
        assert_eq!((banner.state, banner.rule), (State::Limited, "limit_re"));
        assert_eq!(read(banner.clone(), &stop), banner);
        let resumed = classify(
            &claude,
            "● Usage limit reset · Continuing automatically\n",
            at,
            Tz::UTC,
        );
        assert_eq!(resumed.rule, "resumed_re");
        assert_eq!(read(resumed.clone(), &stop), resumed);
        // A backend whose limit_re does not read the message: only a structured reset counts.
        let plain = backend("", "", "", false);
        assert_eq!(
            with_hook(&plain, idle.clone(), Some(&stop), at, Tz::UTC),
            idle
        );
        assert_eq!(
            with_hook(&plain, idle.clone(), Some(&structured), at, Tz::UTC).state,
            State::Limited
        );
    }

    /// Issue 14 item 3: a limit's reset from the CLI's status line wins over the banner's
    /// when it is later than the capture; other readings and past resets are left alone.
    #[test]
    fn a_reported_reset_replaces_the_banners_minute() {
        let captured = DateTime::parse_from_rfc3339("2026-12-05T15:00:00-05:00").unwrap();
        let banner = DateTime::parse_from_rfc3339("2026-12-05T16:00:00-05:00").unwrap();
        let limited = Reading {
            state: State::Limited,
            rule: "limit_re",
            reset: Some(reset::Reset {
                at: banner,
                text: "resets 4pm".into(),
            }),
            ..Reading::nothing()
        };
        let reported = banner.timestamp() + 450;
        let r = with_reported_reset(limited.clone(), Some(reported), captured);
        let got = r.reset.unwrap();
        assert_eq!(got.at.timestamp(), reported);
        assert_eq!(got.at.offset(), captured.offset());
        assert!(
            got.text.contains("reported usage") && got.text.contains("resets 4pm"),
            "{}",
            got.text
        );
        assert_eq!(
            with_reported_reset(limited.clone(), Some(banner.timestamp()), captured),
            limited
        );
        assert_eq!(
            with_reported_reset(limited.clone(), Some(captured.timestamp() - 1), captured),
            limited
        );
        assert_eq!(
            with_reported_reset(limited.clone(), None, captured),
            limited
        );
        let idle = Reading::nothing();
        assert_eq!(
            with_reported_reset(idle.clone(), Some(reported), captured),
            idle
        );
        // A banner with no reset gets the reported one.
        let bare = Reading {
            reset: None,
            ..limited
        };
        assert!(
            with_reported_reset(bare, Some(reported), captured)
                .reset
                .is_some()
        );
    }
}
