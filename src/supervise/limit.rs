//! The usage-limit state machine (SPEC §6–§7), pure: the hold on disk, the pane reading and
//! the time come in; the new hold and what to do come out.
//!
//! A limited agent is held: never restarted, never stall-nudged, never typed into while the
//! CLI says it will continue by itself or shows a dialog. The hold lasts until the reset the
//! banner names plus `limit_reset_slack`; a banner with no reset is probed every
//! `limit_probe_fallback`; a reset in the past means "probe now"; one more than
//! [`ABSURD_SECS`] away is not believed (probe at the fallback, and say so). When the hold is
//! due, the agent gets one resume nudge; it gets another only if the screen still shows a
//! limit after the next reset that screen names. A limit chooser (Claude Code 2.1.330's
//! `What do you want to do?`) is answered by the number of its wait option. The hold is
//! lifted when the agent works again (not within [`ANSWER_TAIL`] of an answer to the chooser:
//! that is the turn ending), or when the banner is gone once the hold is due.
//!
//! **Promises.** When the limited screen says the CLI continues by itself (`continue_re`,
//! e.g. Claude Code 2.1.330's "Usage limit reached · set to continue automatically at
//! 7:48am" and its footer "Continuing automatically at 7:48am · Esc to cancel"), the hold
//! remembers it ([`Hold::self_resume`]): that CLI drops the footer at the reset but resumes
//! only 30–120 s later, so the screen read after the reset no longer shows the promise. The
//! hold lasts until the promised time, then `limit_self_resume_grace` more (at least
//! `limit_reset_slack`) with nothing typed, whatever the screen says. The agent turning
//! active lifts the hold ("the CLI continued by itself"), and so does a screen whose newest
//! limit line after the promised time is no longer the one that promised (2.1.330 drops its
//! footer's limit line when it resumes, though a short turn may end between two ticks); an
//! agent still limited (the same line) or idle after the grace gets the one resume nudge, and
//! then the rules above apply. A lifted hold leaves [`OldNews`]: the banner that stays in the
//! transcript is not a new limit.
//!
//! **A limit told by a hook alone.** A reading of rule `hook` (Claude Code's `StopFailure`
//! `rate_limit` with a known reset, before the screen shows a banner:
//! [`crate::detect::hook_limit`]) starts a hold like a banner, and the hold outlives the hook
//! (an idle screen keeps a hold that is not due). A hold that comes due while only a hook
//! says limited is lifted as if the banner were gone: nothing is typed on a hook alone.
//!
//! **The CLI's word that the limit is over.** A screen read by `resumed_re` (Claude Code
//! 2.1.330's "● Usage limit reset · Continuing automatically", below its banner) reads idle:
//! a hold ends at once with nothing typed, with or without a promise, and with no hold (a
//! watchdog started later) the banner above it is no new limit.

use serde::{Deserialize, Serialize};

use crate::detect::{Reading, State};

/// A reset further away than this (35 days) is taken as a misreading.
pub const ABSURD_SECS: f64 = 35.0 * 86_400.0;

/// Two promised times closer than this (seconds) are the same promise.
const SAME_PROMISE_SECS: f64 = 60.0;

/// How long (seconds) after the watchdog answered a limit chooser work on screen is the
/// limited turn ending, not the agent working again: the hold stays. The answer is the
/// chooser's wait or stop option, after which the CLI cannot work before the reset. Gemini
/// CLI 0.61.0, answered "2. Stop", draws its spinner while its `AfterAgent` hook runs: " ⠋
/// Executing Hook: agents-signal (esc to cancel, 0s)" before the quota error, then " ⠋
/// Executing Hooks: agents-signal, agents-signal (esc to cancel, 0s)" below it, 30–60 ms in
/// all when the machine is quiet (`gemini_0.61.0_active_hook_after_stop.txt` and
/// `gemini_0.61.0_active_hooks_under_quota_error.txt` in tests/fixtures/panes), longer under
/// load: a tick that read it lifted the hold and the next one hit the limit again (the e2e
/// scenario `daily_quota_chooser_is_answered_held_and_resumed_exactly_once` saw `active`).
pub const ANSWER_TAIL: f64 = 10.0;

/// `state/limited-<session>.json`: the original's fields (`until`, `nudges`) and ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    /// Epoch seconds until which the agent is held (the reset plus slack, or the next probe;
    /// with a promise, the promised time, then the end of its grace).
    pub until: f64,
    /// Resume nudges typed since the limit was hit.
    #[serde(default)]
    pub nudges: u32,
    /// Epoch seconds when the limit was first seen.
    #[serde(default)]
    pub since: f64,
    /// The reset the banner named (RFC 3339 with offset), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<String>,
    /// The banner line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
    /// Epoch seconds when a limit chooser was last answered (answered again only after
    /// `limit_probe_fallback`, should it still show).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<f64>,
    /// The CLI said it continues by itself: `{"at": <epoch seconds>, "line": "…"}`. Read
    /// leniently: a value of another shape is kept as [`Promise::Corrupt`] (reported once by
    /// the watchdog, treated as absent, dropped when the hold is next written) and the rest
    /// of the hold still loads.
    #[serde(default, skip_serializing_if = "Promise::is_unset")]
    pub self_resume: Promise,
}

/// What a limited CLI promised: it continues by itself at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelfResume {
    /// Epoch seconds of the promised time: the reset the promising screen names (Claude Code
    /// prints minutes only: `7:48am` is 7:48:00 in the banner's zone). With no believable
    /// reset on that screen, the next probe (`limit_probe_fallback` from when it was seen).
    pub at: f64,
    /// The line that made the promise (`continue_re`'s screen), trimmed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
}

/// [`Hold::self_resume`] as read from disk.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Promise {
    /// No promise.
    #[default]
    Unset,
    /// The CLI promised to continue by itself.
    Made(SelfResume),
    /// The file holds something that is not a promise: why, and the value as JSON.
    Corrupt(String),
}

impl Promise {
    /// No valid promise is kept (absent or corrupt), so nothing is written.
    pub fn is_unset(&self) -> bool {
        !matches!(self, Promise::Made(_))
    }

    /// The promise, if a valid one.
    pub fn made(&self) -> Option<&SelfResume> {
        match self {
            Promise::Made(p) => Some(p),
            _ => None,
        }
    }
}

impl Serialize for Promise {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Promise::Made(p) => p.serialize(s),
            // Never reached: `is_unset` skips the field.
            _ => s.serialize_none(),
        }
    }
}

impl<'de> Deserialize<'de> for Promise {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        if v.is_null() {
            return Ok(Promise::Unset);
        }
        Ok(match serde_json::from_value::<SelfResume>(v.clone()) {
            Ok(p) if p.at.is_finite() && p.at > 0.0 => Promise::Made(p),
            Ok(p) => Promise::Corrupt(format!("\"at\" = {} is not a time ({v})", p.at)),
            Err(e) => Promise::Corrupt(format!("{e} ({v})")),
        })
    }
}

/// The numbers the machine needs, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// `limit_reset_slack`: wait this long past a parsed reset.
    pub slack: f64,
    /// `limit_probe_fallback`: probe period when no usable reset is known.
    pub fallback: f64,
    /// `limit_self_resume_grace`: after the time a CLI promised to continue by itself, type
    /// nothing for this long (at least `slack`).
    pub grace: f64,
}

impl Settings {
    /// The settings of a config's `[watchdog]` table.
    pub fn of(w: &crate::config::WatchdogSettings) -> Self {
        Self {
            slack: w.limit_reset_slack.as_secs_f64(),
            fallback: w.limit_probe_fallback.as_secs_f64(),
            grace: w.limit_self_resume_grace.as_secs_f64(),
        }
    }
}

/// The reset (Unix seconds) of the used-up window a CLI's own status line reported in
/// `usage` (`state/usage-<session>.json`), believed only when this process reported it: not
/// before the session's start `started` (epoch seconds; `None`: unknown, believed). An
/// earlier process's report is about a limit that may be over.
pub fn reported_reset(
    usage: Option<&crate::state::usage::Usage>,
    started: Option<f64>,
) -> Option<i64> {
    usage
        .filter(|u| started.is_none_or(|t| u.epoch >= t))
        .and_then(crate::state::usage::Usage::blocked_until)
}

/// What to do this tick.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing to type.
    Wait,
    /// Press this key to pick the wait option of an open limit chooser.
    Answer(String),
    /// Type the resume nudge.
    Nudge,
}

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The hold to keep on disk; `None`: no hold (remove the file).
    pub hold: Option<Hold>,
    /// Whether to type the resume nudge, press a chooser's option, or type nothing.
    pub action: Action,
    /// An event to record: (`limit-hit` | `limit-promise` | `limit-wait` | `limit-probe` |
    /// `limit-extended` | `limit-nudge` | `limit-lifted`, why).
    pub event: Option<(&'static str, String)>,
    /// When the hold is lifted because the agent works again: what it leaves on screen, old
    /// news from now on (pass it to later steps).
    pub old_news: Option<OldNews>,
}

impl Step {
    fn keep(hold: Option<Hold>) -> Self {
        Self {
            hold,
            action: Action::Wait,
            event: None,
            old_news: None,
        }
    }

    fn with(hold: Option<Hold>, action: Action, event: &'static str, why: String) -> Self {
        Self {
            hold,
            action,
            event: Some((event, why)),
            old_news: None,
        }
    }

    /// The hold `h` lifted because the agent works again; `reading` is the screen now (a
    /// limit line on it is old news too, unless it names a later reset: a new limit).
    fn lifted(h: &Hold, reading: &Reading, why: &str) -> Self {
        let mut old = OldNews {
            lines: h.line.iter().cloned().collect(),
            reset: h.self_resume.made().map(|p| p.at).or_else(|| {
                h.reset
                    .as_deref()
                    .and_then(|r| chrono::DateTime::parse_from_rfc3339(r).ok())
                    .map(|t| t.timestamp() as f64)
            }),
        };
        old.lines
            .extend(h.self_resume.made().and_then(|p| p.line.clone()));
        let reset = reading.reset.as_ref().map(|r| r.at.timestamp() as f64);
        if reading.state == State::Limited && (reset.is_none() || old.covers(None, reset)) {
            old.lines.extend(reading.line.clone());
        }
        Self {
            old_news: Some(old),
            ..Self::with(None, Action::Wait, "limit-lifted", why.into())
        }
    }
}

/// What a hold lifted because the agent worked again leaves on screen: its banner lines and
/// the reset (or promised time) they name. A limit reading with no hold that shows one of
/// these lines, or names that reset again, is old news, not a new limit (Claude Code 2.1.330
/// keeps "● Usage limit reached · set to continue automatically at 7:48am" in its transcript
/// after it continued by itself).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OldNews {
    /// The banner lines, trimmed.
    pub lines: Vec<String>,
    /// Epoch seconds of the reset or promised time.
    pub reset: Option<f64>,
}

impl OldNews {
    /// Whether a limit reading (its banner `line`, the reset `reset` it names) is old news.
    fn covers(&self, line: Option<&str>, reset: Option<f64>) -> bool {
        line.is_some_and(|l| self.lines.iter().any(|x| x == l))
            || matches!((self.reset, reset), (Some(old), Some(r))
                if r <= old + SAME_PROMISE_SECS || same_clock_later_day(old, r))
    }
}

/// Whether `later` is the clock of `earlier` a whole number of days on: a clock with no date
/// more than 5 minutes past is read as the same clock tomorrow (`detect::reset::parse`).
fn same_clock_later_day(earlier: f64, later: f64) -> bool {
    let days = (later - earlier) / 86_400.0;
    days >= 0.5 && (days - days.round()).abs() * 86_400.0 < SAME_PROMISE_SECS
}

/// `epoch` as a local wall clock, `HH:MM` (the form the events use).
// Whole epoch seconds: `as` saturates far outside chrono's range, which then gives `None`.
#[allow(clippy::cast_possible_truncation)]
pub fn clock(epoch: f64) -> String {
    chrono::DateTime::from_timestamp(epoch.floor() as i64, 0).map_or_else(
        || format!("{epoch:.0}"),
        |t| t.with_timezone(&chrono::Local).format("%H:%M").to_string(),
    )
}

/// When the one resume nudge may be typed for a promise made for `at`.
fn deadline(at: f64, s: &Settings) -> f64 {
    at + s.grace.max(s.slack)
}

/// The promise a limited reading makes, if it says the CLI continues by itself: at the reset
/// it names, else (none, or one not believed) at the next probe.
fn promised(reading: &Reading, reset: Option<f64>, now: f64, s: &Settings) -> Option<SelfResume> {
    reading.continues.then(|| SelfResume {
        at: reset
            .filter(|&t| t - now <= ABSURD_SECS)
            .unwrap_or(now + s.fallback),
        line: reading.line.clone(),
    })
}

/// Whether `p` (read now) is a promise the hold does not know yet: there is none, or `p` names
/// another time still to come. A clock with no date more than 5 minutes past is read as the
/// same clock tomorrow (`detect::reset::parse`): the old promise read again that way, a whole
/// number of days later, is not a new one.
fn new_promise(old: Option<&SelfResume>, p: &SelfResume, reset_named: bool, now: f64) -> bool {
    let Some(o) = old else { return true };
    reset_named
        && p.at > now
        && (p.at - o.at).abs() >= SAME_PROMISE_SECS
        && !same_clock_later_day(o.at, p.at)
}

/// The hold and event for a promise: held until the promised time, then through the grace.
fn promise_why(p: &SelfResume, now: f64, s: &Settings) -> (f64, String) {
    let d = deadline(p.at, s);
    let until = if p.at > now { p.at } else { d };
    let passed = if p.at > now { "" } else { " (passed)" };
    (
        until,
        format!(
            "the CLI said it continues by itself at {}{passed}; nudging at {} only if it has not",
            clock(p.at),
            clock(d)
        ),
    )
}

/// Until when to hold for a banner whose reset is `reset` (epoch seconds), and why.
fn hold_until(reset: Option<f64>, now: f64, s: &Settings) -> (f64, String) {
    match reset {
        Some(t) if t <= now => (now, "the reset it names has passed: probe now".into()),
        Some(t) if t - now > ABSURD_SECS => (
            now + s.fallback,
            format!(
                "the reset it names is {:.0} days away, not believed: probing every {:.0} s",
                (t - now) / 86_400.0,
                s.fallback
            ),
        ),
        Some(t) => (
            t + s.slack,
            format!("held until the reset + {:.0} s", s.slack),
        ),
        None => (
            now + s.fallback,
            format!("no reset named: probing every {:.0} s", s.fallback),
        ),
    }
}

/// A hold that is due and keeps a promise with no nudge typed yet: waits out the grace after
/// the promised time (saying so once, at the reset), then types the one resume nudge.
/// `None` when the hold is not in that case.
fn promise_due(h: &Hold, reading: &Reading, now: f64, s: &Settings) -> Option<Step> {
    let p = h.self_resume.made()?;
    let d = deadline(p.at, s);
    let mut next = h.clone();
    if reading.state == State::Limited {
        next.line.clone_from(&reading.line);
    }
    if now < d {
        next.until = d;
        let why = format!(
            "the CLI promised to continue by itself at {}: waiting until {}",
            clock(p.at),
            clock(d)
        );
        return Some(Step::with(Some(next), Action::Wait, "limit-wait", why));
    }
    if h.nudges > 0 {
        return None;
    }
    next.nudges = 1;
    next.until = now + s.fallback;
    let why = format!(
        "the CLI promised to continue by itself at {} but had not by {}: resume nudge",
        clock(p.at),
        clock(d)
    );
    Some(Step::with(Some(next), Action::Nudge, "limit-nudge", why))
}

/// One step of the machine. `hold` is what is on disk; `reading` the pane now (a dead pane
/// changes nothing); `old` what the last hold lifted because the agent worked again left on
/// screen (old news, not a new limit).
pub fn step(
    hold: Option<&Hold>,
    reading: &Reading,
    now: f64,
    s: &Settings,
    old: Option<&OldNews>,
) -> Step {
    let reset = reading.reset.as_ref().map(|r| r.at.timestamp() as f64);
    // A limit only a hook tells (rule `hook`: no banner on the screen) starts or keeps a hold
    // but never makes one due act: once due, it reads as the banner gone (nothing typed).
    let hook_only_due = reading.rule == "hook" && hold.is_some_and(|h| now >= h.until);
    let limited = reading.state == State::Limited
        && !hook_only_due
        && !(hold.is_none() && old.is_some_and(|o| o.covers(reading.line.as_deref(), reset)));
    let answer = reading.choice.clone().map(Action::Answer);
    match (hold, limited) {
        (None, false) => Step::keep(None),
        (None, true) => {
            let promise = promised(reading, reset, now, s);
            let (until, why) = match &promise {
                Some(p) => promise_why(p, now, s),
                None => hold_until(reset, now, s),
            };
            let h = Hold {
                until,
                nudges: 0,
                since: now,
                reset: reading.reset.as_ref().map(|r| r.at.to_rfc3339()),
                line: reading.line.clone(),
                answered: answer.is_some().then_some(now),
                self_resume: promise.map_or(Promise::Unset, Promise::Made),
            };
            Step::with(Some(h), answer.unwrap_or(Action::Wait), "limit-hit", why)
        }
        (Some(h), true) => {
            if let Some(a) = answer
                && h.answered.is_none_or(|t| now - t >= s.fallback)
            {
                let mut next = h.clone();
                next.answered = Some(now);
                return Step {
                    hold: Some(next),
                    action: a,
                    ..Step::keep(None)
                };
            }
            // A promise first seen while held (or one to replace a corrupt field), or a new
            // time: remembered from now on.
            if let Some(p) = promised(reading, reset, now, s)
                && new_promise(h.self_resume.made(), &p, reset.is_some(), now)
            {
                let (until, why) = promise_why(&p, now, s);
                let mut next = h.clone();
                next.until = until;
                next.line.clone_from(&reading.line);
                next.reset = reading.reset.as_ref().map(|r| r.at.to_rfc3339());
                next.self_resume = Promise::Made(p);
                return Step::with(Some(next), Action::Wait, "limit-promise", why);
            }
            if let Some(p) = h.self_resume.made() {
                // Up to the promised time, the promise's line follows the newest limit line
                // (a footer drawn a moment after the banner).
                if now < p.at && reading.line.is_some() && reading.line != p.line {
                    let mut next = h.clone();
                    next.self_resume = Promise::Made(SelfResume {
                        line: reading.line.clone(),
                        ..p.clone()
                    });
                    return Step::keep(Some(next));
                }
                // After it, a screen whose newest limit line is no longer the one that
                // promised has moved on: the CLI continued by itself, though no tick saw it
                // work (Claude Code 2.1.330 drops its footer's "Usage limit reached" line when
                // it resumes; only the transcript keeps the banner).
                if now >= p.at && p.line.is_some() && reading.line != p.line {
                    let why = if h.nudges == 0 {
                        "the CLI continued by itself (the limit line that promised it is gone)"
                    } else {
                        "the limit line that promised to continue is gone"
                    };
                    return Step::lifted(h, reading, why);
                }
            }
            if now < h.until {
                return Step::keep(Some(h.clone()));
            }
            if let Some(st) = promise_due(h, reading, now, s) {
                return st;
            }
            let mut next = h.clone();
            next.line.clone_from(&reading.line);
            if reading.continues {
                next.until = now + s.fallback;
                return Step::with(
                    Some(next),
                    Action::Wait,
                    "limit-probe",
                    "the CLI says it continues by itself: nothing typed".into(),
                );
            }
            if h.nudges > 0
                && let Some(t) = reset.filter(|&t| t > now && t - now <= ABSURD_SECS)
            {
                next.until = t + s.slack;
                next.reset = reading.reset.as_ref().map(|r| r.at.to_rfc3339());
                return Step::with(
                    Some(next),
                    Action::Wait,
                    "limit-extended",
                    "still limited after the nudge: held until the next reset it names".into(),
                );
            }
            next.nudges += 1;
            next.until = now + s.fallback;
            let why = format!("resume nudge #{} after the reset", h.nudges + 1);
            Step::with(Some(next), Action::Nudge, "limit-nudge", why)
        }
        (Some(h), false) => match reading.state {
            State::Active
                if h.answered
                    .is_some_and(|t| (0.0..ANSWER_TAIL).contains(&(now - t))) =>
            {
                Step::keep(Some(h.clone()))
            }
            State::Active => Step::lifted(
                h,
                reading,
                if h.self_resume.made().is_some() && h.nudges == 0 {
                    "the agent works again (the CLI continued by itself)"
                } else {
                    "the agent works again"
                },
            ),
            State::Dead | State::Dialog => Step::keep(Some(h.clone())),
            // The CLI said the limit is over and it continues by itself (`resumed_re`, Claude
            // Code 2.1.330's "● Usage limit reset · Continuing automatically"), whether it
            // promised to or not: the hold ends, nothing typed.
            _ if reading.rule == "resumed_re" => Step::lifted(
                h,
                reading,
                "the CLI continued by itself (it said the limit is over)",
            ),
            // The banner is gone, but the CLI promised to continue: nothing before its grace
            // is over; then the one nudge.
            _ if h.self_resume.made().is_some() && h.nudges == 0 => {
                if now < h.until {
                    return Step::keep(Some(h.clone()));
                }
                promise_due(h, reading, now, s).unwrap_or_else(|| Step::keep(Some(h.clone())))
            }
            _ if now >= h.until || h.nudges > 0 => Step::with(
                None,
                Action::Wait,
                "limit-lifted",
                "the banner is gone".into(),
            ),
            _ => Step::keep(Some(h.clone())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Reset;

    #[test]
    fn a_reported_reset_counts_only_from_the_process_that_reported_it() {
        let usage = crate::state::usage::Usage {
            ts: String::new(),
            epoch: 1_000.0,
            windows: vec![crate::state::usage::Window {
                name: "5h".into(),
                used_percentage: 100.0,
                resets_at: Some(5_000),
            }],
            context_percentage: None,
        };
        assert_eq!(reported_reset(Some(&usage), Some(999.5)), Some(5_000));
        assert_eq!(reported_reset(Some(&usage), Some(1_000.0)), Some(5_000));
        assert_eq!(reported_reset(Some(&usage), None), Some(5_000));
        // Reported by the process before the restart.
        assert_eq!(reported_reset(Some(&usage), Some(1_000.5)), None);
        assert_eq!(reported_reset(None, Some(0.0)), None);
        let mut not_full = usage;
        not_full.windows[0].used_percentage = 99.0;
        assert_eq!(reported_reset(Some(&not_full), None), None);
    }

    #[test]
    fn settings_come_from_the_watchdog_table() {
        let cfg = crate::config::parse(
            std::path::Path::new("/tmp/agents.toml"),
            "[defaults]\nsession_prefix = \"t-\"\nlog_dir = \"l\"\n[watchdog]\nlimit_reset_slack = 45\n\
             limit_probe_fallback = 300\nlimit_self_resume_grace = 180\n",
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap();
        assert_eq!(Settings::of(&cfg.watchdog), S);
    }

    const S: Settings = Settings {
        slack: 45.0,
        fallback: 300.0,
        grace: 180.0,
    };

    fn limited(reset: Option<i64>) -> Reading {
        Reading {
            state: State::Limited,
            rule: "limit_re",
            line: Some("You've hit your limit".into()),
            reset: reset.map(|t| Reset {
                at: chrono::DateTime::from_timestamp(t, 0)
                    .unwrap()
                    .fixed_offset(),
                text: "resets".into(),
            }),
            ..Reading::nothing()
        }
    }

    fn with(state: State) -> Reading {
        Reading {
            state,
            ..Reading::nothing()
        }
    }

    #[test]
    fn hold_until_reset_then_exactly_one_nudge_then_lift_when_working() {
        let now = 1_000_000.0;
        let r = limited(Some(1_000_600));
        let s1 = step(None, &r, now, &S, None);
        let h = s1.hold.clone().unwrap();
        assert_eq!(h.until, 1_000_645.0);
        assert_eq!(s1.event.unwrap().0, "limit-hit");
        // Before the reset: nothing, however often.
        for t in [now + 10.0, now + 600.0, now + 644.0] {
            assert_eq!(step(Some(&h), &r, t, &S, None), Step::keep(Some(h.clone())));
            assert_eq!(
                step(Some(&h), &with(State::Idle), t, &S, None).hold,
                Some(h.clone())
            );
        }
        // Due: one nudge.
        let s2 = step(Some(&h), &r, now + 645.0, &S, None);
        assert_eq!(s2.action, Action::Nudge);
        let h2 = s2.hold.unwrap();
        assert_eq!((h2.nudges, h2.until), (1, now + 645.0 + 300.0));
        // Until the next probe: nothing more.
        assert_eq!(
            step(Some(&h2), &r, now + 700.0, &S, None).action,
            Action::Wait
        );
        // It works again: lifted.
        let s3 = step(Some(&h2), &with(State::Active), now + 701.0, &S, None);
        assert_eq!((s3.hold, s3.event.unwrap().0), (None, "limit-lifted"));
    }

    /// Gemini CLI 0.61.0's real screens after the watchdog answered its daily-quota chooser
    /// "2. Stop": its spinner while the `AfterAgent` hook runs (above and below the quota
    /// error) is the limited turn ending, not a resume: the hold stays (status `limited`) and
    /// nothing more is answered; work seen [`ANSWER_TAIL`] after the answer lifts it.
    #[test]
    fn the_turn_ending_after_an_answered_chooser_is_no_resume() {
        let read =
            |file: &str, t: f64| read_at("gemini", crate::detect::fixtures::pane(file).unwrap(), t);
        let now = 1_796_588_510.0;
        let chooser = read("gemini_0.61.0_limit_daily_quota_dialog.txt", now);
        let s1 = step(None, &chooser, now, &S, None);
        assert_eq!(s1.action, Action::Answer("2".into()));
        let h = s1.hold.unwrap();
        assert_eq!(h.answered, Some(now));
        for (i, file) in [
            "gemini_0.61.0_active_hook_after_stop.txt",
            "gemini_0.61.0_active_hooks_under_quota_error.txt",
        ]
        .into_iter()
        .enumerate()
        {
            let t = now + 1.0 + i as f64 * 4.0;
            let r = read(file, t);
            assert_eq!(r.state, State::Active, "{file}");
            assert_eq!(step(Some(&h), &r, t, &S, None), Step::keep(Some(h.clone())));
        }
        let stop = read("gemini_0.61.0_limit_daily_quota_stop.txt", now + 6.0);
        assert_eq!(
            step(Some(&h), &stop, now + 6.0, &S, None),
            Step::keep(Some(h.clone()))
        );
        let later = read(
            "gemini_0.61.0_active_hook_after_stop.txt",
            now + ANSWER_TAIL,
        );
        let s = step(Some(&h), &later, now + ANSWER_TAIL, &S, None);
        assert_eq!((s.hold, s.event.unwrap().0), (None, "limit-lifted"));
    }

    /// Issue 14 item 2: a limit told by a hook alone (rule `hook`, no banner) holds like a
    /// banner, but a hold that comes due while only the hook says limited, or the screen
    /// reads idle, is lifted with nothing typed; a banner on the screen by then still gets
    /// its nudge.
    #[test]
    fn a_hold_a_hook_alone_started_lifts_with_nothing_typed_when_due() {
        let now = 6_000_000.0;
        let hook = Reading {
            rule: "hook",
            line: Some("StopFailure rate_limit: You've hit your 5-hour limit (hook)".into()),
            ..limited(Some(6_000_600))
        };
        let s1 = step(None, &hook, now, &S, None);
        assert_eq!(
            (s1.action.clone(), s1.event.unwrap().0),
            (Action::Wait, "limit-hit")
        );
        let h = s1.hold.unwrap();
        assert_eq!(h.until, 6_000_645.0);
        // Not due: kept, whether the hook still says so or the screen reads idle.
        for r in [&hook, &with(State::Idle)] {
            assert_eq!(
                step(Some(&h), r, now + 20.0, &S, None),
                Step::keep(Some(h.clone()))
            );
        }
        // Due: lifted, nothing typed, whether the hook still says so or the screen is idle.
        for r in [&hook, &with(State::Idle)] {
            let due = step(Some(&h), r, now + 645.0, &S, None);
            assert_eq!(due.action, Action::Wait, "{r:?}");
            assert_eq!(due.hold, None);
            assert_eq!(
                due.event.unwrap(),
                ("limit-lifted", "the banner is gone".into())
            );
        }
        // The screen shows the banner by then: the one resume nudge, as for any banner.
        assert_eq!(
            step(Some(&h), &limited(Some(6_000_600)), now + 645.0, &S, None).action,
            Action::Nudge
        );
    }

    #[test]
    fn still_limited_after_the_nudge_waits_for_the_next_reset_it_names() {
        let now = 2_000_000.0;
        let h = Hold {
            until: now,
            nudges: 1,
            since: now - 5000.0,
            reset: None,
            line: None,
            answered: None,
            self_resume: Promise::Unset,
        };
        let s = step(Some(&h), &limited(Some(2_086_400)), now, &S, None);
        assert_eq!(s.action, Action::Wait);
        assert_eq!(s.hold.unwrap().until, 2_086_445.0);
        // Unparsable or past: probe again at the fallback.
        let s = step(Some(&h), &limited(None), now, &S, None);
        assert_eq!(s.action, Action::Nudge);
        assert_eq!(s.hold.unwrap().until, now + 300.0);
    }

    #[test]
    fn nothing_typed_while_the_cli_continues_by_itself_and_choosers_are_answered() {
        let now = 3_000_000.0;
        let mut r = limited(Some(3_000_100));
        r.continues = true;
        let h = step(None, &r, now, &S, None).hold.unwrap();
        let s = step(Some(&h), &r, now + 200.0, &S, None);
        assert_eq!(s.action, Action::Wait);
        assert_eq!(s.event.unwrap().0, "limit-wait");
        // After a nudge, a screen that still says so is probed, not nudged again.
        let mut nudged = h.clone();
        nudged.nudges = 1;
        nudged.until = now + 500.0;
        let s = step(Some(&nudged), &r, now + 500.0, &S, None);
        assert_eq!(s.action, Action::Wait);
        assert_eq!(s.event.unwrap().0, "limit-probe");
        let mut c = limited(Some(3_000_100));
        c.choice = Some("1".into());
        assert_eq!(
            step(None, &c, now, &S, None).action,
            Action::Answer("1".into())
        );
        assert_eq!(
            step(Some(&h), &c, now + 1.0, &S, None).action,
            Action::Answer("1".into())
        );
    }

    #[test]
    fn past_absurd_and_missing_resets() {
        let now = 4_000_000.0;
        let (u, why) = hold_until(Some(now - 60.0), now, &S);
        assert_eq!(u, now);
        assert!(why.contains("probe now"));
        let (u, why) = hold_until(Some(now + 3.0 * 365.0 * 86_400.0), now, &S);
        assert_eq!(u, now + 300.0);
        assert!(why.contains("not believed"), "{why}");
        // A weekly limit days away is honoured.
        let (u, _) = hold_until(Some(now + 6.0 * 86_400.0), now, &S);
        assert_eq!(u, now + 6.0 * 86_400.0 + 45.0);
        assert_eq!(hold_until(None, now, &S).0, now + 300.0);
    }

    #[test]
    fn dialogs_and_dead_panes_keep_the_hold_and_a_stale_banner_is_not_a_new_limit() {
        let now = 5_000_000.0;
        let h = step(None, &limited(None), now, &S, None).hold.unwrap();
        for st in [State::Dialog, State::Dead] {
            assert_eq!(
                step(Some(&h), &with(st), now + 10_000.0, &S, None).hold,
                Some(h.clone())
            );
        }
        assert_eq!(
            step(
                None,
                &limited(None),
                now,
                &S,
                Some(&OldNews {
                    lines: vec!["You've hit your limit".into()],
                    reset: None
                })
            )
            .hold,
            None
        );
    }

    /// Claude Code 2.1.330 with auto-continue: the banner promises 7:48-style reset `at`.
    fn promising(at: i64) -> Reading {
        let mut r = limited(Some(at));
        r.line = Some("⚠ Usage limit reached · limit resets 7:48am".into());
        r.continues = true;
        r
    }

    /// After the reset: the footer says "Continuing shortly", the promise is gone from screen.
    fn promise_gone(at: i64) -> Reading {
        let mut r = promising(at);
        r.continues = false;
        r
    }

    const G: Settings = Settings {
        slack: 45.0,
        fallback: 300.0,
        grace: 180.0,
    };

    #[test]
    fn a_promise_is_recorded_with_its_time_and_said_in_the_event() {
        let now = 6_000_000.0;
        let s = step(None, &promising(6_000_600), now, &G, None);
        let h = s.hold.unwrap();
        assert_eq!(
            h.self_resume.made().map(|p| p.at),
            Some(6_000_600.0),
            "{h:?}"
        );
        assert_eq!(h.until, 6_000_600.0, "held until the promised time");
        let (event, why) = s.event.unwrap();
        assert_eq!(event, "limit-hit");
        assert_eq!(
            why,
            format!(
                "the CLI said it continues by itself at {}; nudging at {} only if it has not",
                clock(6_000_600.0),
                clock(6_000_780.0)
            )
        );
        // On disk as {"at": epoch seconds, "line": …}, and read back.
        let json = serde_json::to_string(&h).unwrap();
        assert!(json.contains("\"self_resume\":{\"at\":6000600.0"), "{json}");
        assert_eq!(serde_json::from_str::<Hold>(&json).unwrap(), h);
        // No promise: no field written.
        let plain = step(None, &limited(Some(6_000_600)), now, &G, None).hold;
        let json = serde_json::to_string(&plain.unwrap()).unwrap();
        assert!(!json.contains("self_resume"), "{json}");
    }

    #[test]
    fn nothing_typed_before_the_reset_plus_grace_though_the_promise_left_the_screen() {
        let now = 7_000_000.0;
        let at = 7_000_600;
        let mut h = step(None, &promising(at), now, &G, None).hold.unwrap();
        let mut events = Vec::new();
        // Every 10 s from the limit to just before reset + grace, the screen after the reset
        // no longer promising (limited, or idle once the footer went away): never a nudge.
        let mut t = now;
        while t < 7_000_780.0 {
            let screens = if t < at as f64 {
                vec![promising(at)]
            } else {
                vec![promise_gone(at), with(State::Idle)]
            };
            for r in &screens {
                let s = step(Some(&h), r, t, &G, None);
                assert_eq!(s.action, Action::Wait, "typed at {t}: {s:?}");
                assert!(s.hold.is_some(), "lifted at {t} by {r:?}");
                if let Some(e) = s.event {
                    events.push(e);
                }
                h = s.hold.unwrap();
            }
            t += 10.0;
        }
        assert_eq!(
            events,
            vec![(
                "limit-wait",
                format!(
                    "the CLI promised to continue by itself at {}: waiting until {}",
                    clock(at as f64),
                    clock(7_000_780.0)
                )
            )],
            "one event at the reset"
        );
        assert_eq!(h.until, 7_000_780.0);
    }

    #[test]
    fn the_agent_turning_active_lifts_the_hold_it_continued_by_itself() {
        let now = 8_000_000.0;
        let h = step(None, &promising(8_000_600), now, &G, None)
            .hold
            .unwrap();
        let h = step(Some(&h), &promise_gone(8_000_600), 8_000_610.0, &G, None)
            .hold
            .unwrap();
        let s = step(Some(&h), &with(State::Active), 8_000_670.0, &G, None);
        assert_eq!(s.hold, None);
        assert_eq!(s.action, Action::Wait);
        assert_eq!(
            s.event,
            Some((
                "limit-lifted",
                "the agent works again (the CLI continued by itself)".into()
            ))
        );
    }

    #[test]
    fn still_limited_or_idle_after_the_grace_gets_exactly_one_nudge() {
        let at = 9_000_600;
        for after in [promise_gone(at), with(State::Idle)] {
            let mut h = step(None, &promising(at), 9_000_000.0, &G, None)
                .hold
                .unwrap();
            let mut nudges = Vec::new();
            // Ticks every 5 s until the probe after the nudge (then the rules without a
            // promise apply: another nudge at each probe while the screen shows a limit with
            // no reset to come).
            let mut t = 9_000_000.0;
            while t < 9_000_780.0 + G.fallback {
                let r = if t < at as f64 {
                    promising(at)
                } else {
                    after.clone()
                };
                let s = step(Some(&h), &r, t, &G, None);
                if s.action == Action::Nudge {
                    nudges.push((t, s.event.clone().unwrap()));
                }
                match s.hold {
                    Some(n) => h = n,
                    None => break,
                }
                t += 5.0;
            }
            assert_eq!(nudges.len(), 1, "{after:?}: {nudges:?}");
            let (t, (event, why)) = &nudges[0];
            assert_eq!(*t, 9_000_780.0, "the nudge comes at the reset + grace");
            assert_eq!(*event, "limit-nudge");
            assert_eq!(
                *why,
                format!(
                    "the CLI promised to continue by itself at {} but had not by {}: resume nudge",
                    clock(at as f64),
                    clock(9_000_780.0)
                )
            );
        }
    }

    #[test]
    fn the_grace_is_at_least_the_slack_and_a_passed_promise_waits_from_its_time() {
        let s = Settings {
            slack: 45.0,
            fallback: 300.0,
            grace: 0.0,
        };
        let h = step(None, &promising(10_000_600), 10_000_000.0, &s, None)
            .hold
            .unwrap();
        let w = step(Some(&h), &promise_gone(10_000_600), 10_000_600.0, &s, None);
        assert_eq!(w.hold.unwrap().until, 10_000_645.0);
        // Seen only after its time (a watchdog started late): held until time + grace.
        let h = step(None, &promising(10_000_600), 10_000_700.0, &G, None)
            .hold
            .unwrap();
        assert_eq!(h.until, 10_000_780.0);
        assert_eq!(
            step(Some(&h), &promise_gone(10_000_600), 10_000_779.0, &G, None).action,
            Action::Wait
        );
        assert_eq!(
            step(Some(&h), &promise_gone(10_000_600), 10_000_780.0, &G, None).action,
            Action::Nudge
        );
    }

    #[test]
    fn a_new_promise_is_remembered_but_the_old_clock_read_as_tomorrow_is_not() {
        let now = 11_000_000.0;
        let h = step(None, &promising(11_000_600), now, &G, None)
            .hold
            .unwrap();
        // The same promise read again: nothing changes.
        assert_eq!(
            step(Some(&h), &promising(11_000_600), now + 10.0, &G, None),
            Step::keep(Some(h.clone()))
        );
        // The old "at 7:48am" read 6 minutes past as tomorrow's 7:48: not a new promise.
        let tomorrow = promising(11_000_600 + 86_400);
        let s = step(Some(&h), &tomorrow, 11_000_700.0, &G, None);
        assert_eq!(s.hold.unwrap().self_resume, h.self_resume);
        // A later time: remembered, held until it.
        let s = step(Some(&h), &promising(11_004_200), now + 20.0, &G, None);
        assert_eq!(s.event.as_ref().unwrap().0, "limit-promise");
        let n = s.hold.unwrap();
        assert_eq!(n.self_resume.made().unwrap().at, 11_004_200.0);
        assert_eq!(n.until, 11_004_200.0);
        // A promise seen first while held (a hold without one) is remembered too.
        let mut plain = h.clone();
        plain.self_resume = Promise::Unset;
        let s = step(Some(&plain), &promising(11_000_600), now + 30.0, &G, None);
        assert_eq!(s.event.as_ref().unwrap().0, "limit-promise");
        assert_eq!(s.hold.unwrap().self_resume, h.self_resume);
    }

    #[test]
    fn a_corrupt_self_resume_is_kept_aside_and_the_rest_of_the_hold_loads() {
        for bad in [
            r#""soon""#,
            r#"{"at": "7:48am"}"#,
            r#"{"line": "x"}"#,
            r#"{"at": -5}"#,
            "42",
        ] {
            let json = format!(r#"{{"until": 12.5, "nudges": 0, "self_resume": {bad}}}"#);
            let h: Hold = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{bad}: {e}"));
            assert_eq!((h.until, h.nudges), (12.5, 0));
            let shown = serde_json::from_str::<serde_json::Value>(bad)
                .unwrap()
                .to_string();
            assert!(
                matches!(&h.self_resume, Promise::Corrupt(why) if why.contains(&shown)),
                "{bad}: {:?}",
                h.self_resume
            );
            // Treated as absent: past the hold, a screen no longer limited lifts it…
            let s = step(Some(&h), &with(State::Idle), 100.0, &G, None);
            assert_eq!(
                s.event.unwrap(),
                ("limit-lifted", "the banner is gone".into())
            );
            // …and one still limited is nudged at once, as without a promise.
            let s = step(Some(&h), &limited(None), 100.0, &G, None);
            assert_eq!(s.action, Action::Nudge);
            // Written back without it.
            let out = serde_json::to_string(&s.hold.unwrap()).unwrap();
            assert!(!out.contains("self_resume"), "{out}");
        }
        let h: Hold = serde_json::from_str(r#"{"until": 1, "self_resume": null}"#).unwrap();
        assert_eq!(h.self_resume, Promise::Unset);
    }

    /// Claude Code 2.1.330's own screens of one auto-continue, captured from the real CLI
    /// (`tests/fixtures/panes/claude_2.1.330_limit_auto_continue*.txt`, reset 15:13:00 UTC),
    /// read by the claude preset at time `t`.
    fn claude_screen(which: &str, t: f64) -> Reading {
        let shortly =
            crate::detect::fixtures::pane("claude_2.1.330_limit_auto_continue_shortly.txt")
                .unwrap();
        let text = match which {
            "promising" => shortly.replace(
                "Continuing shortly · Esc to cancel",
                "Continuing automatically at 3:13pm · Esc to cancel",
            ),
            "shortly" => shortly.to_string(),
            _ => crate::detect::fixtures::pane("claude_2.1.330_limit_auto_continued.txt")
                .unwrap()
                .to_string(),
        };
        read_at("claude", &text, t)
    }

    /// `text` read by the built-in `preset` at time `t` (epoch seconds), in UTC.
    fn read_at(preset: &str, text: &str, t: f64) -> Reading {
        let backend = crate::config::presets::backend(preset).unwrap();
        #[allow(clippy::cast_possible_truncation)] // whole epoch seconds
        let captured = chrono::DateTime::from_timestamp(t as i64, 0)
            .unwrap()
            .fixed_offset();
        crate::detect::classify(&backend, text, captured, crate::detect::Tz::UTC)
    }

    /// Ticks every 5 s (every 60 s past 10 minutes after the reset) from `from` to `to` over
    /// the screen `which`; returns the nudges typed and the events.
    fn replay(
        hold: &mut Option<Hold>,
        old: &mut Option<OldNews>,
        which: &str,
        from: f64,
        to: f64,
    ) -> (usize, Vec<(&'static str, String)>) {
        let (mut nudges, mut events) = (0, Vec::new());
        // A reading changes with the time only where a clock 5 minutes past reads as
        // tomorrow's: two readings per screen (classifying is slow in a debug build).
        let mut readings: std::collections::HashMap<bool, Reading> =
            std::collections::HashMap::new();
        let mut t = from;
        while t < to {
            let reading = readings
                .entry(t > RESET_1513 + 300.0)
                .or_insert_with(|| claude_screen(which, t));
            let s = step(hold.as_ref(), reading, t, &G, old.as_ref());
            nudges += usize::from(s.action == Action::Nudge);
            events.extend(s.event);
            if s.old_news.is_some() {
                *old = s.old_news;
            }
            *hold = s.hold;
            t += if t > RESET_1513 + 600.0 { 60.0 } else { 5.0 };
        }
        (nudges, events)
    }

    const RESET_1513: f64 = 1_796_397_180.0;

    #[test]
    fn claude_2_1_330_continuing_by_itself_unseen_is_never_typed_into() {
        let r = RESET_1513;
        let (mut hold, mut old) = (None, None);
        let (n, events) = replay(&mut hold, &mut old, "promising", r - 60.0, r);
        assert_eq!(n, 0);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(hold.as_ref().unwrap().self_resume.made().unwrap().at, r);
        let (n, _) = replay(&mut hold, &mut old, "shortly", r, r + 61.0);
        assert_eq!(n, 0);
        // It resumed and finished between two ticks: no tick saw it active. The footer's
        // limit line is gone; the transcript keeps the banner, and below it the CLI's
        // "● Usage limit reset · Continuing automatically" (read as idle, by resumed_re).
        let continued = claude_screen("continued", r + 65.0);
        assert_eq!(
            (continued.state, continued.rule),
            (State::Idle, "resumed_re")
        );
        let (n, events) = replay(&mut hold, &mut old, "continued", r + 65.0, r + 3600.0);
        assert_eq!(n, 0, "{events:?}");
        assert_eq!(hold, None);
        assert_eq!(
            events,
            vec![(
                "limit-lifted",
                "the CLI continued by itself (it said the limit is over)".into()
            )],
            "lifted once, and the banner left in the transcript is old news, even once its \
             clock reads as tomorrow's"
        );
    }

    #[test]
    fn claude_2_1_330_saying_the_limit_reset_is_no_limit_to_a_fresh_watchdog() {
        // A watchdog started after the CLI continued by itself (no hold, no old news in
        // memory): "● Usage limit reset · Continuing automatically" below the banner says the
        // limit is over. Before, the banner read as a limit that promised to continue, its
        // clock as tomorrow's: the idle agent was held for a day.
        let r = RESET_1513;
        let reading = claude_screen("continued", r + 400.0);
        assert_eq!(reading.state, State::Idle, "{reading:?}");
        assert_eq!(reading.rule, "resumed_re");
        let (mut hold, mut old) = (None, None);
        let (n, events) = replay(&mut hold, &mut old, "continued", r + 65.0, r + 3600.0);
        assert_eq!((n, events, hold), (0, vec![], None));
    }

    #[test]
    fn a_hold_ends_with_nothing_typed_when_the_cli_says_the_limit_reset() {
        // A hold with no promise (one never seen, or a corrupt field dropped): the CLI's own
        // word that the limit reset and it continues ends it at once, nothing typed. Before,
        // the banner above read as a limit that says it continues: probed for ever.
        let r = RESET_1513;
        let h = Hold {
            until: r + 45.0,
            nudges: 0,
            since: r - 600.0,
            reset: None,
            line: Some("⎿  You've hit your 5-hour limit · resets 3:13pm (UTC)".into()),
            answered: None,
            self_resume: Promise::Unset,
        };
        let (mut hold, mut old) = (Some(h), None);
        let (n, events) = replay(&mut hold, &mut old, "continued", r + 65.0, r + 3600.0);
        assert_eq!(n, 0, "{events:?}");
        assert_eq!(hold, None, "{events:?}");
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0].0, "limit-lifted");
        assert!(
            events[0].1.starts_with("the CLI continued by itself"),
            "{events:?}"
        );
        assert!(old.is_some(), "the banner it leaves is old news");
    }

    #[test]
    fn claude_2_1_330_seen_working_again_leaves_its_banner_as_old_news() {
        let r = RESET_1513;
        let (mut hold, mut old) = (None, None);
        replay(&mut hold, &mut old, "promising", r - 60.0, r);
        replay(&mut hold, &mut old, "shortly", r, r + 61.0);
        let s = step(hold.as_ref(), &with(State::Active), r + 62.0, &G, None);
        assert_eq!(
            s.event.unwrap().1,
            "the agent works again (the CLI continued by itself)"
        );
        let (mut hold, mut old) = (s.hold, s.old_news);
        let (n, events) = replay(&mut hold, &mut old, "continued", r + 65.0, r + 3600.0);
        assert_eq!((n, events, hold), (0, vec![], None));
    }

    #[test]
    fn claude_2_1_330_that_never_continues_gets_one_nudge_after_the_grace() {
        let r = RESET_1513;
        let (mut hold, mut old) = (None, None);
        replay(&mut hold, &mut old, "promising", r - 60.0, r);
        let (n, events) = replay(&mut hold, &mut old, "shortly", r, r + G.grace + G.fallback);
        assert_eq!(n, 1, "{events:?}");
        assert_eq!(hold.as_ref().unwrap().nudges, 1);
        assert!(
            events.iter().any(|(e, why)| *e == "limit-nudge"
                && why.starts_with("the CLI promised to continue by itself at ")),
            "{events:?}"
        );
    }

    #[test]
    fn a_new_limit_after_the_promised_time_is_not_taken_for_old_news() {
        let at = 12_000_600;
        let h = step(None, &promising(at), 12_000_000.0, &G, None)
            .hold
            .unwrap();
        // It resumed and hit another limit, one that names a later reset and no promise.
        let mut weekly = limited(Some(12_500_000));
        weekly.line = Some("You've hit your weekly limit · resets Dec 10".into());
        let s = step(Some(&h), &weekly, 12_000_700.0, &G, None);
        assert_eq!(s.hold, None);
        let old = s.old_news.unwrap();
        assert!(
            !old.lines.contains(&weekly.line.clone().unwrap()),
            "{old:?}"
        );
        let s = step(None, &weekly, 12_000_705.0, &G, Some(&old));
        assert_eq!(s.event.unwrap().0, "limit-hit");
        assert_eq!(s.hold.unwrap().until, 12_500_045.0);
    }
}
