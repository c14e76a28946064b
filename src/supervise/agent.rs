//! The per-agent supervision rule, pure: what the watchdog remembers about one agent
//! ([`Memory`]) and what it observed this tick ([`Observation`]) in, a [`Decision`] out (the
//! memory to keep, the log lines, the events with their evidence, the state files to write,
//! the text to type, the restart to make). The watchdog tick (`crate::watchdog::tick`) only
//! gathers the observations and carries the decision out.
//!
//! Order of decisions per agent (each row is a table test below):
//! 1. operator intent: `down`, a finished task, a complete phase sequence for a loop agent:
//!    nothing is read, typed or restarted; an agent given up on (`fatal`) stays so until
//!    `agents up` or `agents restart` clears its marker;
//! 2. heal ([`heal::decide`]): a session gone or a program exited is restarted (a task that
//!    exited 0 is done); on a heavy tick, a pane running another backend's process;
//! 3. the usage-limit hold ([`limit::step`]): a held agent is never restarted, nudged for a
//!    stall, or typed into but for its resume (or the chooser's wait option);
//! 4. what the screen says: a fatal screen, a process gone, or a bare shell where the
//!    backend's `process_name` ran (two readings in a row, [`Confirm`]), a dialog (reported
//!    once, never touched), idleness under `heal+stall` (stall nudge, then restart; nothing
//!    typed while a restart waits out its backoff);
//! 5. the restart verdict ([`History::verdict`]): now, back off, or give up (`fatal`); a
//!    restart of a held agent is paced but spends no restart budget.

use serde_json::json;

use crate::config::{Agent, Backend, Kind, Watch};
use crate::detect::{self, Reading, State};
use crate::state::{AgentView, LastEvent, ReportOnce};
use crate::supervise::heal::{self, Action, Seen};
use crate::supervise::limit::{self, Action as LimitAction, Hold};
use crate::supervise::restart::{History, Policy, RestartCause, Verdict};
use crate::supervise::stall::{FirstTurn, Stall, StallStep};
use crate::supervise::{CONFIRM_READS, Confirm};
use crate::tmux::PaneInfo;

/// A blank pane ([`detect::Reading::blank`]) is taken for a CLI still starting for this many
/// `stall_idle` periods: the stall clock does not run on it meanwhile (Gemini CLI 0.61.0
/// drew nothing for over 20 s on a busy machine, and the stall nudge typed then was echoed on
/// the blank pane and read by the CLI when it came up). After that the blank stretch counts
/// as idle like any other screen: a program that never draws (a silent line reader) is idle.
pub const STARTING_BLANK: f64 = 1.0;

/// What the watchdog remembers about one agent between ticks (the policy's part).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    /// The agent's recent restarts and backoff ([`History`]).
    pub history: History,
    /// The agent's idle clock, for the stall nudge ([`Stall`]).
    pub stall: Stall,
    /// Whether the agent's first turn since its start was seen: till then its idle prompt
    /// is a CLI still starting ([`FirstTurn`]).
    pub first_turn: FirstTurn,
    /// When the pane was first read blank in the current blank stretch (epoch seconds): a
    /// CLI still starting, see [`STARTING_BLANK`].
    pub blank_since: Option<f64>,
    /// The last readings, so that a destructive action waits for two identical ones in a row.
    pub confirm: Confirm,
    /// What the last hold lifted because the agent worked again left on screen: old news.
    pub old_news: Option<limit::OldNews>,
    /// The dialog line last reported (a dialog is reported once).
    pub dialog: Option<String>,
    /// The rule that read the dialog last reported: a screen read by the other dialog rule
    /// (Gemini CLI 0.61.0's boxed trust dialog reads `option_list` or `dialog_re` from one
    /// capture to the next) is the same dialog, not a new one to report.
    pub dialog_rule: Option<&'static str>,
    /// Readings in a row without a dialog since `dialog` was reported: the dialog is gone
    /// (and one that comes back is reported again) after [`CONFIRM_READS`]. One capture
    /// without it is a TUI redrawing its screen (Gemini CLI 0.61.0 under load: its trust
    /// dialog reported twice, 6 s apart, with nothing between), not a new dialog.
    pub dialog_away: u32,
    /// The answer last typed into the dialog on screen (`when` and label), see `answers`.
    pub answered: Option<(String, String)>,
    /// A corrupt limit file was reported.
    pub corrupt_reported: ReportOnce,
    /// A corrupt `self_resume` field in the limit file was reported.
    pub promise_corrupt_reported: ReportOnce,
    /// The backoff wait last logged (epoch seconds).
    pub waiting_until: Option<f64>,
    /// A stall restart that waits out its backoff (its reason): while it waits, nothing is
    /// typed for the stall and `status` shows `backoff until`; activity calls it off.
    pub stall_restart: Option<String>,
    /// The last exit whose status tmux reported (see [`detect::exited::reason_after`]).
    pub exit: Option<detect::exited::Known>,
    /// What `status` shows for the agent (published in `state/supervision.json`).
    pub view: AgentView,
}

/// What the watchdog observed about one agent this tick.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    /// The session's pane (`None`: no such session), its `dead_status` completed from the
    /// line tmux drew under a dead pane when tmux lost it.
    pub pane: Option<&'a PaneInfo>,
    /// For a dead pane: what its screen says about the exit (status, signal, last lines).
    pub exited: Option<&'a detect::exited::Exited>,
    /// The reading of a live or dead pane whose screen was captured (`detect::observe`).
    pub reading: Option<Reading>,
    /// The epoch second of a `WAITING-UNTIL:` marker on screen.
    pub waiting_until: Option<f64>,
    /// When the pane's process was started (the manifest's stamp, epoch seconds), if known.
    pub started: Option<f64>,
    /// The operator stopped it (`state/down-<agent>`).
    pub down: bool,
    /// A task that already finished (`state/done-<agent>`).
    pub done: bool,
    /// The `fatal` marker exists (given up; `agents up` removes it).
    pub fatal_marker: bool,
    /// `agents restart` asked for its restart count to start over.
    pub reset: bool,
    /// `SEQUENCE-COMPLETE` exists: loop agents are no longer healed.
    pub sequence_complete: bool,
    /// The agent was added to the config since the last tick (a reload).
    pub added: bool,
    /// A heavy tick (adds the backend-mismatch check).
    pub heavy: bool,
    /// The limit hold (the one kept in memory when it could not be written, else the
    /// file's); `Err`: the file is corrupt.
    pub hold: Result<Option<Hold>, String>,
}

/// The configuration the rule reads for one agent.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// The agent as configured.
    pub agent: &'a Agent,
    /// The agent's backend (its rules and timings).
    pub backend: &'a Backend,
    /// The restart policy (`[watchdog]` backoff and restart budget), seconds.
    pub policy: Policy,
    /// The usage-limit machine's timings (`[watchdog]` limit settings), seconds.
    pub limits: limit::Settings,
    /// `stall_grace`, seconds.
    pub stall_grace: f64,
    /// Every backend's `process_name`.
    pub known_processes: &'a [String],
    /// The agent's limit file (named in the reports of a corrupt one).
    pub limit_file: &'a std::path::Path,
}

/// How loud a [`Log`] line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Detail for debugging.
    Debug,
    /// An ordinary step: a restart, a nudge, a hold.
    Info,
    /// Something a person may want to look at (a task whose exit status tmux lost, a corrupt
    /// limit file).
    Warn,
    /// The agent is given up on (`fatal`: too many restarts).
    Error,
}

/// A line for the watchdog's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Log {
    /// How loud the line is.
    pub level: Level,
    /// The line as logged (it names the agent itself).
    pub text: String,
}

/// A line for `events.jsonl` (the agent's name, session and `why` are added when written).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's name in `events.jsonl` (e.g. `restart`, `stall-nudge`, `limit-hit`).
    pub event: &'static str,
    /// Why, in a few words, for a person reading the event.
    pub why: String,
    /// The event's other fields (its evidence).
    pub fields: serde_json::Value,
}

/// Text to type into the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Type {
    /// The text; for a `key_only` one, the keys pressed (tmux key names, space-separated)
    /// before the submit key.
    pub text: String,
    /// `limit-choice`, `limit-resume`, `stall-nudge` or `dialog-answer`.
    pub purpose: &'static str,
    /// A key press (a chooser's option), not a line.
    pub key_only: bool,
    /// Typed only if the agent is still idle when read again under the typing lock (a
    /// stall nudge decided this tick is not typed into work an `agents send`, or a ping,
    /// started while it waited for the lock).
    pub when_idle: bool,
}

/// A restart the policy allows now. The caller prepares it and reports the outcome with
/// [`Memory::started`] or [`Memory::start_failed`].
#[derive(Debug, Clone, PartialEq)]
pub struct Restart {
    /// Why the session is restarted, in words (e.g. `session gone`), for the log and the event.
    pub reason: String,
    /// Why, as a kind (the `restart` event's `cause`).
    pub cause: RestartCause,
    /// What it rests on (`state`, `rule`, `line`, …), for the `restart` event.
    pub evidence: serde_json::Value,
    /// The agent is held by a usage limit: the restart is paced but spends no budget.
    pub held: bool,
    /// A first start (an agent added by a reload whose session does not exist), not a
    /// restart.
    pub first: bool,
}

/// The limit hold after this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldUpdate {
    /// `None`: no hold (remove the file).
    pub hold: Option<Hold>,
    /// It differs from the observed one (write it).
    pub changed: bool,
}

/// What to do about one agent this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The memory to keep.
    pub memory: Memory,
    /// Lines for the watchdog's log, in order.
    pub logs: Vec<Log>,
    /// Events to append to `events.jsonl`, in order.
    pub events: Vec<Event>,
    /// Text to type into the agent, in order, under the typing lock.
    pub typing: Vec<Type>,
    /// Set when the limit machine ran.
    pub hold: Option<HoldUpdate>,
    /// Record that the task is done (`state/done-<agent>`).
    pub mark_done: bool,
    /// Record that the agent is given up on, with this reason (`state/fatal-<agent>`).
    pub give_up: Option<String>,
    /// A restart the policy allows now, if any.
    pub restart: Option<Restart>,
}

/// The resume nudge after a usage limit (the original's wording).
pub fn resume_nudge(agent: &Agent) -> &'static str {
    match agent.kind {
        Kind::Loop => "pull latest, re-read your phase STATUS/REVIEW files, continue",
        _ => "resume now — re-check status and continue",
    }
}

/// A reading as the evidence of an event.
pub fn evidence(r: &Reading) -> serde_json::Value {
    json!({
        "state": r.state.as_str(),
        "source": r.source(),
        "rule": r.rule,
        "line": r.line,
        "reset": r.reset.as_ref().map(|x| x.at.to_rfc3339()),
    })
}

/// `epoch` as a local RFC 3339 time, seconds.
// Whole epoch seconds: `as` saturates far outside chrono's range, which then gives "".
#[allow(clippy::cast_possible_truncation)]
pub fn rfc3339(epoch: f64) -> String {
    chrono::DateTime::from_timestamp(epoch as i64, 0)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
        .unwrap_or_default()
}

impl Memory {
    /// Sets the state shown in `status`; `since` moves only when the state changes.
    pub fn show(&mut self, state: &str, now: f64, until: Option<f64>, why: Option<String>) {
        if self.view.state != state {
            self.view.state = state.to_string();
            self.view.since = rfc3339(now);
        }
        self.view.until = until.map(rfc3339);
        self.view.why = why;
    }

    /// Shows `event` as the agent's last event.
    pub fn note(&mut self, event: &str, why: &str, now: f64) {
        self.view.event = Some(LastEvent {
            ts: rfc3339(now),
            event: event.to_string(),
            why: why.to_string(),
        });
    }

    fn record(&mut self, r: &Restart, p: &Policy, now: f64) {
        if r.held {
            self.history.record_held(p, now);
        } else {
            self.history.record(p, now);
        }
    }

    /// The restart `r` was prepared and goes ahead: it is counted, and what was followed of
    /// the old session is forgotten.
    pub fn started(&mut self, r: &Restart, p: &Policy, now: f64) {
        self.record(r, p, now);
        self.view.restarts = self.history.recent(p, now);
        self.confirm.reset();
        self.stall = Stall::default();
        self.first_turn = FirstTurn::default();
        self.stall_restart = None;
        self.waiting_until = None;
        // A new process: a dialog on it is a new one, to report (and answer) again.
        self.dialog = None;
        self.dialog_rule = None;
        self.dialog_away = 0;
        self.answered = None;
        self.show("starting", now, None, Some(r.reason.clone()));
        self.note("restart", &r.reason, now);
    }

    /// The restart `r` could not be prepared: it is counted (the next one backs off).
    pub fn start_failed(&mut self, r: &Restart, p: &Policy, now: f64) {
        self.record(r, p, now);
        self.show("backoff", now, None, Some(r.reason.clone()));
    }
}

impl Decision {
    fn log(&mut self, level: Level, text: String) {
        self.logs.push(Log { level, text });
    }

    fn event(&mut self, event: &'static str, why: &str, fields: serde_json::Value, now: f64) {
        self.memory.note(event, why, now);
        self.events.push(Event {
            event,
            why: why.to_string(),
            fields,
        });
    }
}

/// Decides what to do about one agent this tick (the order is in the module's doc).
pub fn step(mem: &Memory, obs: &Observation, now: f64, s: &Settings) -> Decision {
    let a = s.agent;
    let mut d = Decision {
        memory: mem.clone(),
        logs: Vec::new(),
        events: Vec::new(),
        typing: Vec::new(),
        hold: None,
        mark_done: false,
        give_up: None,
        restart: None,
    };
    let m = &mut d.memory;
    m.view.source = obs.reading.as_ref().map(|r| r.source().to_string());
    // `up` removes the fatal marker, `restart` asks for a reset: the count starts over.
    if (m.history.fatal && !obs.fatal_marker) || obs.reset {
        m.history = History::default();
    }
    m.history.fatal = obs.fatal_marker;
    m.view.restarts = m.history.recent(&s.policy, now);
    if obs.down {
        m.history = History::default();
        m.stall = Stall::default();
        m.confirm.reset();
    }
    let complete = obs.sequence_complete && a.kind == Kind::Loop;
    if obs.down || obs.done || complete {
        let st = if obs.down {
            "down"
        } else if obs.done {
            "done"
        } else if obs.pane.is_some_and(|p| !p.dead) {
            "idle"
        } else {
            "stopped"
        };
        let why = (complete && !obs.down && !obs.done)
            .then(|| "the phase sequence is complete: loop agents are not healed".into());
        m.show(st, now, None, why);
        return d;
    }
    // Given up on (`fatal`): nothing is read, typed or restarted until `agents up` or
    // `agents restart` clears the marker. The view keeps the reason it gave up with.
    if m.history.fatal {
        if m.view.state != "fatal" {
            let why = format!("gave up restarting; `agents up {}` revives it", a.name);
            m.show("fatal", now, None, Some(why));
        }
        return d;
    }

    let seen = Seen {
        pane: obs.pane,
        down: obs.down,
        done: obs.done,
        sequence_complete: obs.sequence_complete,
        known_processes: s.known_processes,
    };
    let mut need: Option<(String, serde_json::Value, RestartCause)> = None;
    match heal::decide(a, s.backend, &seen, obs.heavy) {
        Action::MarkDone(status) => {
            let text = match status {
                Some(s) => format!(
                    "task {} finished with status {s} — done; it will not be restarted",
                    a.name
                ),
                None => format!(
                    "task {} finished (tmux lost its exit status) — taken as done; `agents up {}` runs it again",
                    a.name, a.name
                ),
            };
            let level = if status.is_some() {
                Level::Info
            } else {
                Level::Warn
            };
            d.log(level, text);
            d.mark_done = true;
            d.event(
                "task-done",
                "its program exited",
                json!({"exit_status": status}),
                now,
            );
            d.memory.show("done", now, None, None);
            return d;
        }
        Action::Restart(reason) => {
            need = Some(match (obs.pane, obs.exited) {
                (None, _) if obs.added => {
                    let r = "new in the config".to_string();
                    (
                        r.clone(),
                        json!({"state": "dead", "rule": "tmux", "line": r}),
                        RestartCause::New,
                    )
                }
                (Some(p), Some(e)) => {
                    let r = detect::exited::reason_after(e, p.dead_status, m.exit.as_ref());
                    let ev = json!({"state": "dead", "rule": "pane_dead", "line": r,
                                    "exit_status": p.dead_status, "signal": e.signal,
                                    "last_lines": e.last});
                    if let Some(status) = p.dead_status {
                        m.exit = Some(detect::exited::Known { status });
                    }
                    (r, ev, RestartCause::Gone)
                }
                _ => (
                    reason.clone(),
                    json!({"state": "dead", "rule": "tmux", "line": reason}),
                    RestartCause::Gone,
                ),
            });
        }
        Action::Nothing => {}
    }
    if need.is_none()
        && let Some(reading) = &obs.reading
    {
        need = live(&mut d, reading, obs, now, s);
    }
    let Some((reason, evidence, cause)) = need else {
        return d;
    };
    // A usage limit never spends restart budget (a gone session of a held agent).
    let hold = match &d.hold {
        Some(u) => u.hold.as_ref(),
        None => obs.hold.as_ref().ok().and_then(|h| h.as_ref()),
    };
    let held = hold.is_some_and(|h| h.until > now);
    let m = &mut d.memory;
    let verdict = match m.history.verdict(&s.policy, now) {
        Verdict::GiveUp { .. } if held => Verdict::Now,
        v => v,
    };
    match verdict {
        Verdict::Now => {
            d.restart = Some(Restart {
                reason,
                cause,
                evidence,
                held,
                first: obs.added && obs.pane.is_none(),
            });
        }
        Verdict::Wait { until } => {
            if m.waiting_until != Some(until) {
                m.waiting_until = Some(until);
                d.log(
                    Level::Info,
                    format!(
                        "{} needs a restart ({reason}); backing off for {:.0} s",
                        a.name,
                        until - now
                    ),
                );
                d.event(
                    "backoff",
                    &reason,
                    json!({"until": rfc3339(until), "evidence": evidence}),
                    now,
                );
            }
            d.memory.show("backoff", now, Some(until), Some(reason));
        }
        Verdict::GiveUp { restarts: n } => {
            let why = format!(
                "{n} restarts within {:.0} s (max_restarts = {}); last: {reason}",
                s.policy.restart_window, s.policy.max_restarts
            );
            m.history.fatal = true;
            m.stall_restart = None;
            d.log(
                Level::Error,
                format!(
                    "{} is fatal: {why} — no more restarts until `agents up {}`",
                    a.name, a.name
                ),
            );
            d.give_up = Some(why.clone());
            d.event(
                "fatal",
                &why,
                json!({"restarts": n, "evidence": evidence}),
                now,
            );
            d.memory.show("fatal", now, None, Some(why));
        }
        Verdict::Fatal => {
            let why = format!("gave up restarting; `agents up {}` revives it", a.name);
            m.show("fatal", now, None, Some(why));
        }
    }
    d
}

/// Supervises an agent whose screen was read: the limit hold, then fatal screens, bare
/// shells, dialogs and stalls. Returns a restart it needs (reason, evidence, cause), if any.
fn live(
    d: &mut Decision,
    reading: &Reading,
    obs: &Observation,
    now: f64,
    s: &Settings,
) -> Option<(String, serde_json::Value, RestartCause)> {
    let a = s.agent;
    let backend = s.backend;
    d.memory.first_turn.observe(obs.started, reading.state, now);
    // The usage-limit hold.
    let hold = match &obs.hold {
        Ok(h) => {
            d.memory.corrupt_reported.reset();
            h.clone()
        }
        Err(e) => {
            if d.memory.corrupt_reported.first() {
                d.log(Level::Warn, format!("{}: {e}", a.name));
                d.event("state-corrupt", e, json!({}), now);
            }
            None
        }
    };
    // A corrupt promise is reported once and treated as absent (the rest of the hold holds).
    match hold.as_ref().map(|h| &h.self_resume) {
        Some(limit::Promise::Corrupt(what)) => {
            if d.memory.promise_corrupt_reported.first() {
                let why = format!(
                    "{}: its self_resume field is not a promise ({what}); treated as absent",
                    s.limit_file.display()
                );
                d.log(Level::Warn, format!("{}: {why}", a.name));
                d.event("state-corrupt", &why, json!({}), now);
            }
        }
        _ => {
            d.memory.promise_corrupt_reported.reset();
        }
    }
    let step = limit::step(
        hold.as_ref(),
        reading,
        now,
        &s.limits,
        d.memory.old_news.as_ref(),
    );
    d.hold = Some(HoldUpdate {
        hold: step.hold.clone(),
        changed: step.hold != hold,
    });
    if let Some((event, why)) = &step.event {
        let until = step.hold.as_ref().map(|h| rfc3339(h.until));
        let text = match *event {
            "limit-hit" => format!(
                "{} hit a usage limit: {} — {why}{}",
                a.name,
                reading.line.as_deref().unwrap_or(""),
                until
                    .as_deref()
                    .map(|u| format!(" (until {u})"))
                    .unwrap_or_default()
            ),
            _ => format!("{}: {event}: {why}", a.name),
        };
        let level = if *event == "limit-hit" {
            Level::Warn
        } else {
            Level::Info
        };
        d.log(level, text);
        if let Some(old) = &step.old_news {
            d.memory.old_news = Some(old.clone());
        }
        d.event(
            event,
            why,
            json!({
                "until": until,
                "nudges": step.hold.as_ref().map(|h| h.nudges),
                "self_resume": step.hold.as_ref().and_then(|h| h.self_resume.made()).map(|p| rfc3339(p.at)),
                "evidence": evidence(reading),
            }),
            now,
        );
    }
    match &step.action {
        LimitAction::Answer(key) => {
            d.event(
                "limit-choice",
                "a limit chooser is open: picking its wait option",
                json!({"key": key, "evidence": evidence(reading)}),
                now,
            );
            d.typing.push(Type {
                text: key.clone(),
                purpose: "limit-choice",
                key_only: true,
                when_idle: false,
            });
        }
        LimitAction::Nudge => d.typing.push(Type {
            text: resume_nudge(a).to_string(),
            purpose: "limit-resume",
            key_only: false,
            when_idle: false,
        }),
        LimitAction::Wait => {}
    }
    let m = &mut d.memory;
    if let Some(h) = &step.hold {
        m.stall = Stall::default();
        m.confirm.reset();
        let why = match (h.self_resume.made(), &h.line) {
            (Some(p), Some(l)) => Some(format!(
                "{l} — continues by itself at {}",
                limit::clock(p.at)
            )),
            (Some(p), None) => Some(format!("continues by itself at {}", limit::clock(p.at))),
            (None, l) => l.clone(),
        };
        m.show("limited", now, Some(h.until), why);
        return None;
    }

    let line = reading.line.clone();
    // A banner that is old news (see `old_news`) is an idle screen.
    let state = match reading.state {
        State::Limited => State::Idle,
        s => s,
    };
    let confirmed = m.confirm.confirmed(state);
    match state {
        State::Dead | State::Fatal => {
            let why = match state {
                State::Fatal => format!("fatal screen: {}", line.as_deref().unwrap_or("")),
                _ => line.clone().unwrap_or_else(|| "dead".into()),
            };
            if confirmed {
                return Some((why, evidence(reading), RestartCause::Fatal));
            }
            // One reading is not enough for a restart: the state shown stays as it was.
            m.view.why = Some(format!("{why} (seen once)"));
            d.log(
                Level::Debug,
                format!(
                    "{}: {why} (1 reading; restart after {CONFIRM_READS})",
                    a.name
                ),
            );
            return None;
        }
        State::Dialog => {
            m.stall = Stall::default();
            m.dialog_away = 0;
            // A dialog the backend's `answers` cover is answered once per appearance.
            if let Some(ans) = &reading.answer
                && m.answered.as_ref() != Some(&(ans.when.clone(), ans.label.clone()))
            {
                m.answered = Some((ans.when.clone(), ans.label.clone()));
                m.dialog.clone_from(&line);
                m.dialog_rule = Some(reading.rule);
                let keys: Vec<&str> = ans.keys.iter().map(String::as_str).collect();
                // The typing path presses the keys, then the submit key (`Enter`).
                let presses = match keys.split_last() {
                    Some((&"Enter", rest)) => rest.join(" "),
                    _ => keys.join(" "),
                };
                d.log(
                    Level::Info,
                    format!(
                        "{} shows a dialog its `answers` cover ({:?}): picking {:?}",
                        a.name, ans.when, ans.label
                    ),
                );
                d.event(
                    "dialog-answer",
                    &format!("answering the dialog: {}", ans.label),
                    json!({"label": ans.label, "keys": ans.keys, "when": ans.when,
                           "evidence": evidence(reading)}),
                    now,
                );
                d.typing.push(Type {
                    text: presses,
                    purpose: "dialog-answer",
                    key_only: true,
                    when_idle: false,
                });
                d.memory.show(
                    "dialog",
                    now,
                    None,
                    Some(format!("answered: {}", ans.label)),
                );
                return None;
            }
            // A new dialog: none was on screen, or the same rule reads another line.
            let new = match (&m.dialog, m.dialog_rule) {
                (Some(l), Some(rule)) => rule == reading.rule && Some(l) != line.as_ref(),
                _ => true,
            };
            if new {
                m.dialog.clone_from(&line);
                m.dialog_rule = Some(reading.rule);
                d.log(
                    Level::Warn,
                    format!(
                        "{} shows a dialog that waits for a person: {} — not touched",
                        a.name,
                        line.as_deref().unwrap_or("")
                    ),
                );
                d.event(
                    "dialog",
                    "the screen waits for a person",
                    json!({"evidence": evidence(reading)}),
                    now,
                );
            }
            d.memory.show("dialog", now, None, line);
            return None;
        }
        _ => {
            // An answer is typed once per appearance: gone for one reading, a dialog that
            // comes back is answered again (an answer that did not take is not held back).
            m.answered = None;
            if m.dialog.is_some() {
                m.dialog_away += 1;
                if m.dialog_away >= CONFIRM_READS {
                    m.dialog = None;
                    m.dialog_rule = None;
                    m.dialog_away = 0;
                }
            }
        }
    }
    if a.watch == Watch::HealStall {
        // A stall restart waiting out its backoff: still idle, it stays due (nothing typed);
        // activity calls it off.
        if let Some(why) = m.stall_restart.clone() {
            if state == State::Idle {
                return Some((why, evidence(reading), RestartCause::Stall));
            }
            m.stall_restart = None;
            d.log(
                Level::Info,
                format!("{} works again: its stall restart is called off", a.name),
            );
        }
        let m = &mut d.memory;
        let stall_idle = backend.stall_idle.as_secs_f64();
        // A CLI still starting is not idle for the stall clock: a blank screen for one more
        // stall_idle (the clock starts with the first screen drawn, or when that has
        // passed), and an agent not seen working since its start, whose idle prompt may be
        // a CLI that has yet to run its kickoff (see `FIRST_TURN`).
        let blank_starting = if reading.is_blank() {
            let since = *m.blank_since.get_or_insert(now);
            now - since < STARTING_BLANK * stall_idle
        } else {
            m.blank_since = None;
            false
        };
        let stall_state = if blank_starting || m.first_turn.starting(now, stall_idle) {
            State::Active
        } else {
            state
        };
        match m.stall.step(
            stall_state,
            obs.waiting_until,
            now,
            stall_idle,
            s.stall_grace,
        ) {
            // No nudge while a restart waits out its backoff: the conversation gets nothing
            // typed that the restart is about to end.
            StallStep::Nudge { .. } if m.waiting_until.is_some_and(|u| u > now) => {
                m.stall.nudged_at = None;
            }
            StallStep::Nudge { idle } => {
                let why = format!("idle {idle:.0} s (stall_idle = {stall_idle:.0} s)");
                d.log(
                    Level::Info,
                    format!("{} is stalled: {why} — nudging", a.name),
                );
                d.event(
                    "stall-nudge",
                    &why,
                    json!({"evidence": evidence(reading)}),
                    now,
                );
                d.typing.push(Type {
                    text: backend.stall_nudge.clone(),
                    purpose: "stall-nudge",
                    key_only: false,
                    when_idle: true,
                });
                d.memory.show("stalled", now, None, Some(why));
                return None;
            }
            StallStep::Restart(why) => {
                m.stall_restart = Some(why.clone());
                return Some((why, evidence(reading), RestartCause::Stall));
            }
            StallStep::Nothing => {
                if m.stall.nudged_at.is_some() {
                    let why = m.view.why.clone();
                    m.show("stalled", now, None, why);
                    return None;
                }
            }
        }
    }
    d.memory.show(state.as_str(), now, None, line);
    None
}

#[cfg(test)]
mod tests {
    //! The policy table: one test per row of the order in the module's doc.

    use super::*;
    use crate::config::{Config, EnvOverrides, parse};
    use crate::detect::reset::Reset;

    const NOW: f64 = 1_800_000_000.0;

    fn cfg() -> Config {
        parse(
            std::path::Path::new("/tmp/agents.toml"),
            r#"
[defaults]
session_prefix = "t-"
log_dir = "l"
watch = "heal"
[watchdog]
backoff_initial = 10
backoff_max = 60
max_restarts = 3
restart_window = 600
stable_after = 300
limit_reset_slack = 30
limit_probe_fallback = 300
limit_self_resume_grace = 120
stall_grace = 60
[backend.b]
bin = "sh"
stall_idle = 100
stall_nudge = "keep going"
[[agent]]
name = "a"
backend = "b"
[[agent]]
name = "s"
backend = "b"
watch = "heal+stall"
[[agent]]
name = "job"
kind = "task"
backend = "b"
[[agent]]
name = "bld"
kind = "loop"
role = "builder"
backend = "b"
[loop]
phases = [{ id = "p1", plan = "p1.md", status = "STATUS-p1.md" }]
"#,
            EnvOverrides::Ignore,
        )
        .unwrap()
    }

    /// Steps agent `name` of `c` once; `obs` is changed from a live, quiet agent by `f`.
    fn run<'a>(
        c: &Config,
        name: &str,
        mem: &Memory,
        now: f64,
        f: impl FnOnce(&mut Observation<'a>),
    ) -> Decision {
        static LIVE: std::sync::LazyLock<PaneInfo> = std::sync::LazyLock::new(live_pane);
        let a = c.agent(name).unwrap();
        let mut obs = Observation {
            pane: Some(&*LIVE),
            exited: None,
            reading: Some(Reading {
                state: State::Active,
                rule: "active_re",
                line: Some("esc to interrupt".into()),
                ..Reading::nothing()
            }),
            waiting_until: None,
            started: None,
            down: false,
            done: false,
            fatal_marker: false,
            reset: false,
            sequence_complete: false,
            added: false,
            heavy: false,
            hold: Ok(None),
        };
        f(&mut obs);
        let s = Settings {
            agent: a,
            backend: c.backend_of(a),
            policy: Policy::of(&c.watchdog),
            limits: limit::Settings {
                slack: 30.0,
                fallback: 300.0,
                grace: 120.0,
            },
            stall_grace: 60.0,
            known_processes: &[],
            limit_file: std::path::Path::new("/tmp/l/state/limited-t-a.json"),
        };
        step(mem, &obs, now, &s)
    }

    fn live_pane() -> PaneInfo {
        PaneInfo {
            dead: false,
            dead_status: None,
            dead_signal: None,
            pid: Some(1),
            command: "sh".into(),
        }
    }

    fn reading(state: State, rule: &'static str, line: &str) -> Reading {
        Reading {
            state,
            rule,
            line: Some(line.into()),
            ..Reading::nothing()
        }
    }

    fn banner(reset_in: f64, continues: bool) -> Reading {
        #[allow(clippy::cast_possible_truncation)] // whole epoch seconds
        let at = chrono::DateTime::from_timestamp((NOW + reset_in) as i64, 0)
            .unwrap()
            .fixed_offset();
        Reading {
            reset: Some(Reset {
                at,
                text: "resets soon".into(),
            }),
            continues,
            ..reading(State::Limited, "limit_re", "usage limit reached")
        }
    }

    fn events(d: &Decision) -> Vec<&'static str> {
        d.events.iter().map(|e| e.event).collect()
    }

    /// Nothing happens to the agent: no restart, nothing typed, no file written.
    fn untouched(d: &Decision) {
        assert_eq!(d.restart, None);
        assert!(d.typing.is_empty(), "{:?}", d.typing);
        assert!(!d.mark_done && d.give_up.is_none());
    }

    #[test]
    fn intent_down_done_and_given_up_leave_the_agent_alone() {
        let c = cfg();
        let fatal = Memory::default();
        for (f, shown) in [
            (
                (|o: &mut Observation| {
                    o.down = true;
                    o.pane = None;
                }) as fn(&mut Observation),
                "down",
            ),
            (|o| o.done = true, "done"),
            (|o| o.fatal_marker = true, "fatal"),
        ] {
            let d = run(&c, "a", &fatal, NOW, |o| {
                o.reading = Some(reading(State::Fatal, "fatal_re", "panic"));
                f(o);
            });
            untouched(&d);
            assert!(d.events.is_empty() && d.hold.is_none());
            assert_eq!(d.memory.view.state, shown);
        }
        // A complete phase sequence: loop agents are not healed (a gone session stays gone),
        // the others are.
        let complete = |o: &mut Observation| {
            o.sequence_complete = true;
            o.pane = None;
            o.reading = None;
        };
        let d = run(&c, "bld", &Memory::default(), NOW, complete);
        untouched(&d);
        assert_eq!(d.memory.view.state, "stopped");
        assert!(
            d.memory
                .view
                .why
                .unwrap()
                .contains("phase sequence is complete")
        );
        assert!(
            run(&c, "a", &Memory::default(), NOW, complete)
                .restart
                .is_some()
        );
        // `down` forgets the restarts; `agents up` (the marker gone) starts the count over.
        let mut m = Memory::default();
        m.history.restarts = vec![NOW - 1.0];
        m.history.fatal = true;
        let d = run(&c, "a", &m, NOW, |_| {});
        assert!(!d.memory.history.fatal && d.memory.history.restarts.is_empty());
    }

    #[test]
    fn heal_a_gone_session_restarts_now_and_a_finished_task_is_done() {
        let c = cfg();
        let d = run(&c, "a", &Memory::default(), NOW, |o| {
            o.pane = None;
            o.reading = None;
        });
        let r = d.restart.expect("a restart");
        assert_eq!(
            (r.reason.as_str(), r.held, r.first, r.cause),
            ("session gone", false, false, RestartCause::Gone)
        );
        // Added by a reload: a first start.
        let d = run(&c, "a", &Memory::default(), NOW, |o| {
            o.pane = None;
            o.added = true;
        });
        assert!(d.restart.is_some_and(|r| r.first
            && r.reason == "new in the config"
            && r.cause == RestartCause::New));
        // A task whose program exited 0 is done, not restarted.
        let dead = PaneInfo {
            dead: true,
            dead_status: Some(0),
            dead_signal: None,
            ..live_pane()
        };
        let d = run(&c, "job", &Memory::default(), NOW, |o| o.pane = Some(&dead));
        assert!(d.mark_done && d.restart.is_none());
        assert_eq!(events(&d), ["task-done"]);
        assert_eq!(d.memory.view.state, "done");
    }

    #[test]
    fn limit_without_a_promise_holds_then_nudges_once_after_the_reset() {
        let c = cfg();
        let d = run(&c, "a", &Memory::default(), NOW, |o| {
            o.reading = Some(banner(600.0, false));
        });
        untouched(&d);
        assert_eq!(events(&d), ["limit-hit"]);
        let u = d.hold.clone().expect("the limit machine ran");
        let h = u.hold.expect("a hold");
        assert!(u.changed && h.until == NOW + 630.0);
        assert_eq!(d.memory.view.state, "limited");
        // Held, a fatal screen is not restarted and an idle one not nudged.
        let held = Ok(Some(h.clone()));
        let d2 = run(&c, "s", &d.memory, NOW + 300.0, |o| {
            o.hold = held.clone();
            o.reading = Some(reading(State::Fatal, "fatal_re", "panic"));
        });
        untouched(&d2);
        assert!(!d2.hold.unwrap().changed);
        // After the reset and its slack, still limited: one resume nudge.
        let d3 = run(&c, "a", &d.memory, NOW + 631.0, |o| {
            o.hold = held.clone();
            o.reading = Some(banner(-31.0, false));
        });
        assert_eq!(events(&d3), ["limit-nudge"]);
        assert_eq!(d3.typing.len(), 1);
        assert_eq!(d3.typing[0].purpose, "limit-resume");
        assert_eq!(d3.typing[0].text, resume_nudge(c.agent("a").unwrap()));
        // A held agent whose session is gone is restarted at once, spending no budget.
        let mut spent = Memory::default();
        spent.history.restarts = vec![NOW - 3.0, NOW - 2.0, NOW - 1.0];
        let d4 = run(&c, "a", &spent, NOW, |o| {
            o.hold = held.clone();
            o.pane = None;
            o.reading = None;
        });
        assert!(d4.restart.is_some_and(|r| r.held) && d4.give_up.is_none());
    }

    #[test]
    fn limit_with_a_promise_types_nothing_until_its_grace_has_passed() {
        let c = cfg();
        let d = run(&c, "a", &Memory::default(), NOW, |o| {
            o.reading = Some(banner(600.0, true));
        });
        untouched(&d);
        let h = d.hold.clone().unwrap().hold.unwrap();
        assert!(h.self_resume.made().is_some_and(|p| p.at == NOW + 600.0));
        assert!(
            d.memory
                .view
                .why
                .as_deref()
                .unwrap()
                .contains("continues by itself")
        );
        // At the promised time, still limited: wait out the grace, typing nothing.
        let held = Ok(Some(h));
        let d2 = run(&c, "a", &d.memory, NOW + 601.0, |o| {
            o.hold = held.clone();
            o.reading = Some(banner(600.0, true));
        });
        untouched(&d2);
        assert_eq!(events(&d2), ["limit-wait"]);
        let h2 = d2.hold.unwrap().hold.unwrap();
        assert_eq!(h2.until, NOW + 720.0);
        // After the grace, one nudge.
        let d3 = run(&c, "a", &d2.memory, NOW + 721.0, |o| {
            o.hold = Ok(Some(h2));
            o.reading = Some(banner(600.0, true));
        });
        assert_eq!(events(&d3), ["limit-nudge"]);
        assert_eq!(d3.typing.len(), 1);
    }

    #[test]
    fn a_limit_chooser_is_answered_with_its_wait_option() {
        let c = cfg();
        let d = run(&c, "a", &Memory::default(), NOW, |o| {
            o.reading = Some(Reading {
                choice: Some("1".into()),
                ..banner(600.0, false)
            });
        });
        assert_eq!(events(&d), ["limit-hit", "limit-choice"]);
        assert_eq!(
            d.typing,
            [Type {
                text: "1".into(),
                purpose: "limit-choice",
                key_only: true,
                when_idle: false,
            }]
        );
    }

    /// `m` as after a restart (`reason`, `cause`) at `now` under `c`'s policy.
    fn restarted(m: &mut Memory, c: &Config, reason: &str, cause: RestartCause, now: f64) {
        let r = Restart {
            reason: reason.into(),
            evidence: json!({}),
            cause,
            held: false,
            first: false,
        };
        m.started(&r, &Policy::of(&c.watchdog), now);
    }

    #[test]
    fn dialog_is_reported_once_and_never_touched() {
        let c = cfg();
        let q = || {
            Some(reading(
                State::Dialog,
                "dialog_re",
                "Do you trust this folder?",
            ))
        };
        let d = run(&c, "s", &Memory::default(), NOW, |o| o.reading = q());
        untouched(&d);
        assert_eq!(events(&d), ["dialog"]);
        assert_eq!(d.memory.view.state, "dialog");
        // Still there long after stall_idle: not reported again, not nudged.
        let d2 = run(&c, "s", &d.memory, NOW + 1000.0, |o| o.reading = q());
        untouched(&d2);
        assert!(d2.events.is_empty());
        // The same dialog read by the other rule from one capture to the next (Gemini CLI
        // 0.61.0's boxed trust dialog: `option_list` on its option, `dialog_re` on its
        // question): still one report.
        let shape = || {
            Some(reading(
                State::Dialog,
                "option_list",
                "● 1. Trust folder (work)",
            ))
        };
        let d3 = run(&c, "s", &d2.memory, NOW + 1001.0, |o| o.reading = shape());
        let d4 = run(&c, "s", &d3.memory, NOW + 1002.0, |o| o.reading = q());
        assert!(
            d3.events.is_empty() && d4.events.is_empty(),
            "{:?}",
            d3.events
        );
        // Another dialog read by the same rule is reported.
        let other = || Some(reading(State::Dialog, "dialog_re", "Allow this command?"));
        let d5 = run(&c, "s", &d4.memory, NOW + 1003.0, |o| o.reading = other());
        assert_eq!(events(&d5), ["dialog"]);
        // Gone for one reading (a TUI redrawing its screen) and back: the same dialog.
        let gone = |m: &Memory, t: f64| {
            run(&c, "s", m, t, |o| o.reading = Some(Reading::nothing())).memory
        };
        let d6 = gone(&d5.memory, NOW + 1004.0);
        let d7 = run(&c, "s", &d6, NOW + 1005.0, |o| o.reading = other());
        assert!(d7.events.is_empty(), "{:?}", d7.events);
        // Gone for two readings in a row and back: reported again.
        let d8 = gone(&gone(&d7.memory, NOW + 1006.0), NOW + 1007.0);
        let d9 = run(&c, "s", &d8, NOW + 1008.0, |o| o.reading = other());
        assert_eq!(events(&d9), ["dialog"]);
        // After a restart, the same dialog on the new process is reported at once.
        let mut m = d9.memory.clone();
        restarted(&mut m, &c, "fatal", RestartCause::Gone, NOW + 1009.0);
        let d10 = run(&c, "s", &m, NOW + 1010.0, |o| o.reading = other());
        assert_eq!(events(&d10), ["dialog"]);
    }

    /// Issue 14 item 4: a dialog a backend's `answers` cover is answered once per appearance
    /// by the keys that pick its option (the submit key is the typing path's); gone and back,
    /// it is answered again. Never a restart, never a stall nudge.
    #[test]
    fn a_dialog_the_answers_cover_is_answered_once_per_appearance() {
        let c = cfg();
        let answered = |keys: &[&str]| {
            let mut r = reading(
                State::Dialog,
                "option_list",
                "Enter to confirm · Esc to cancel",
            );
            r.answer = Some(detect::DialogAnswer {
                label: "Yes, I trust this folder".into(),
                keys: keys.iter().map(std::string::ToString::to_string).collect(),
                when: "Quick safety check".into(),
            });
            Some(r)
        };
        let d = run(&c, "s", &Memory::default(), NOW, |o| {
            o.reading = answered(&["Down", "Enter"]);
        });
        assert_eq!(events(&d), ["dialog-answer"]);
        assert_eq!(d.typing.len(), 1);
        assert_eq!(d.typing[0].text, "Down");
        assert_eq!(d.typing[0].purpose, "dialog-answer");
        assert!(d.typing[0].key_only && !d.typing[0].when_idle);
        assert!(d.restart.is_none());
        assert_eq!(d.memory.view.state, "dialog");
        assert_eq!(d.events[0].fields["label"], "Yes, I trust this folder");
        // Still on screen a tick later: not answered again.
        let d2 = run(&c, "s", &d.memory, NOW + 1.0, |o| {
            o.reading = answered(&["Down", "Enter"]);
        });
        assert!(d2.typing.is_empty() && d2.events.is_empty());
        // Gone, then back: answered again; a numbered option is its digit.
        let d3 = run(&c, "s", &d2.memory, NOW + 2.0, |o| {
            o.reading = Some(Reading::nothing());
        });
        let d4 = run(&c, "s", &d3.memory, NOW + 3.0, |o| {
            o.reading = answered(&["2"]);
        });
        assert_eq!(events(&d4), ["dialog-answer"]);
        assert_eq!(d4.typing[0].text, "2");
    }

    #[test]
    fn stall_nudges_then_restarts_and_activity_calls_it_off() {
        let c = cfg();
        let idle = || Some(Reading::nothing());
        // Seen working since its start (the default reading is active), then idle.
        let worked = run(&c, "s", &Memory::default(), NOW - 1.0, |_| {}).memory;
        let d = run(&c, "s", &worked, NOW, |o| o.reading = idle());
        untouched(&d);
        assert_eq!(d.memory.view.state, "idle");
        let d = run(&c, "s", &d.memory, NOW + 100.0, |o| o.reading = idle());
        assert_eq!(events(&d), ["stall-nudge"]);
        assert_eq!(d.typing[0].text, "keep going");
        assert!(d.typing[0].when_idle);
        assert_eq!(d.memory.view.state, "stalled");
        let d = run(&c, "s", &d.memory, NOW + 200.0, |o| o.reading = idle());
        let r = d.restart.clone().expect("a stall restart");
        assert_eq!(r.cause, RestartCause::Stall);
        assert!(
            r.reason
                .starts_with(crate::supervise::stall::RESTART_REASON)
        );
        // Never seen working since its start (at NOW): its kickoff may not have run yet, so
        // no nudge sooner than FIRST_TURN stall_idle after the start.
        let first = |m: &Memory, t: f64| {
            run(&c, "s", m, t, |o| {
                o.reading = idle();
                o.started = Some(NOW);
            })
        };
        let mut d = first(&Memory::default(), NOW + 1.0);
        for t in [100.0, 200.0, 299.0] {
            d = first(&d.memory, NOW + t);
            untouched(&d);
            assert_eq!(d.memory.view.state, "idle");
        }
        let d = first(&d.memory, NOW + 300.0);
        assert_eq!(events(&d), ["stall-nudge"]);
        // A restart starts the first turn over: the new process is not nudged at once.
        let mut m = d.memory;
        restarted(
            &mut m,
            &c,
            "stalled: idle",
            RestartCause::Stall,
            NOW + 400.0,
        );
        let d = run(&c, "s", &m, NOW + 401.0, |o| {
            o.reading = idle();
            o.started = Some(NOW + 400.0);
        });
        let d = run(&c, "s", &d.memory, NOW + 600.0, |o| {
            o.reading = idle();
            o.started = Some(NOW + 400.0);
        });
        untouched(&d);
        // `heal` alone never nudges an idle agent.
        let d = run(&c, "a", &Memory::default(), NOW, |o| o.reading = idle());
        let d = run(&c, "a", &d.memory, NOW + 1000.0, |o| o.reading = idle());
        untouched(&d);
        // A blank screen is a CLI still starting for one stall_idle more.
        let blank = || Some(Reading::blank());
        let d = run(&c, "s", &worked, NOW, |o| o.reading = blank());
        let d = run(&c, "s", &d.memory, NOW + 99.0, |o| o.reading = blank());
        let d = run(&c, "s", &d.memory, NOW + 198.0, |o| o.reading = blank());
        untouched(&d);
        // A `WAITING-UNTIL:` marker: no nudge before its time + stall_grace.
        let d = run(&c, "s", &worked, NOW, |o| o.reading = idle());
        let d = run(&c, "s", &d.memory, NOW + 150.0, |o| {
            o.reading = idle();
            o.waiting_until = Some(NOW + 100.0);
        });
        untouched(&d);
    }

    #[test]
    fn confirm_a_fatal_screen_restarts_on_the_second_reading_only() {
        let c = cfg();
        let fatal = || Some(reading(State::Fatal, "fatal_re", "panic: out of memory"));
        let d = run(&c, "a", &Memory::default(), NOW, |o| o.reading = fatal());
        untouched(&d);
        assert_eq!(
            d.memory.view.why.as_deref(),
            Some("fatal screen: panic: out of memory (seen once)")
        );
        // Not twice in a row: not confirmed.
        let d2 = run(&c, "a", &d.memory, NOW + 1.0, |o| {
            o.reading = Some(Reading::nothing());
        });
        let d2 = run(&c, "a", &d2.memory, NOW + 2.0, |o| o.reading = fatal());
        untouched(&d2);
        let d3 = run(&c, "a", &d2.memory, NOW + 3.0, |o| o.reading = fatal());
        let r = d3.restart.expect("confirmed");
        assert_eq!(r.reason, "fatal screen: panic: out of memory");
        assert_eq!(r.cause, RestartCause::Fatal);
        assert_eq!(r.evidence["rule"], "fatal_re");
        // Carried out: counted, and the confirmation starts over.
        let mut m = d3.memory;
        m.started(&r, &Policy::of(&c.watchdog), NOW + 3.0);
        assert_eq!(m.view.state, "starting");
        assert_eq!(m.history.restarts, [NOW + 3.0]);
        assert_eq!(m.confirm, Confirm::default());
    }

    #[test]
    fn backoff_waits_and_says_so_once_and_a_stall_restart_types_nothing_meanwhile() {
        let c = cfg();
        let p = Policy::of(&c.watchdog);
        let mut m = Memory::default();
        m.history.record(&p, NOW - 50.0);
        m.history.record(&p, NOW - 1.0);
        let gone = |o: &mut Observation| {
            o.pane = None;
            o.reading = None;
        };
        let d = run(&c, "a", &m, NOW, gone);
        untouched(&d);
        assert_eq!(events(&d), ["backoff"]);
        assert_eq!(d.memory.view.state, "backoff");
        assert!(d.memory.view.until.is_some());
        let d = run(&c, "a", &d.memory, NOW + 1.0, gone);
        assert!(d.events.is_empty() && d.restart.is_none());
        // A stall restart waiting out its backoff stays due while idle, typing nothing.
        let mut s = m.clone();
        s.stall_restart = Some("stalled: idle".into());
        s.waiting_until = Some(NOW + 30.0);
        let d = run(&c, "s", &s, NOW, |o| o.reading = Some(Reading::nothing()));
        untouched(&d);
        assert_eq!(d.memory.view.state, "backoff");
        // Activity calls it off.
        let d = run(&c, "s", &d.memory, NOW + 1.0, |_| {});
        assert_eq!(d.memory.stall_restart, None);
        assert_eq!(d.memory.view.state, "active");
    }

    #[test]
    fn fatal_after_max_restarts_within_the_window() {
        let c = cfg();
        let mut m = Memory::default();
        m.history.restarts = vec![NOW - 300.0, NOW - 200.0, NOW - 100.0];
        let d = run(&c, "a", &m, NOW, |o| {
            o.pane = None;
            o.reading = None;
        });
        assert_eq!(d.restart, None);
        assert!(
            d.give_up
                .as_deref()
                .unwrap()
                .starts_with("3 restarts within 600 s")
        );
        assert!(d.memory.history.fatal);
        assert_eq!(events(&d), ["fatal"]);
        assert_eq!(d.memory.view.state, "fatal");
        // Next tick (the marker written): nothing more.
        let d = run(&c, "a", &d.memory, NOW + 1.0, |o| {
            o.fatal_marker = true;
            o.pane = None;
        });
        untouched(&d);
        assert!(d.events.is_empty());
    }
}
