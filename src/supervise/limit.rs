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
//! lifted when the agent works again, or when the banner is gone once the hold is due.

use serde::{Deserialize, Serialize};

use crate::detect::{Reading, State};

/// A reset further away than this (35 days) is taken as a misreading.
pub const ABSURD_SECS: f64 = 35.0 * 86_400.0;

/// `state/limited-<session>.json`: the original's fields (`until`, `nudges`) and ours.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    /// Epoch seconds until which the agent is held (the reset plus slack, or the next probe).
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
}

/// The numbers the machine needs, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// `limit_reset_slack`: wait this long past a parsed reset.
    pub slack: f64,
    /// `limit_probe_fallback`: probe period when no usable reset is known.
    pub fallback: f64,
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
    pub action: Action,
    /// An event to record: (`limit-hit` | `limit-probe` | `limit-extended` | `limit-nudge` |
    /// `limit-lifted`, why).
    pub event: Option<(&'static str, String)>,
}

impl Step {
    fn keep(hold: Option<Hold>) -> Self {
        Self {
            hold,
            action: Action::Wait,
            event: None,
        }
    }
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

/// One step of the machine. `hold` is what is on disk; `reading` the pane now (a dead pane
/// changes nothing); `stale` the banner line of the last hold lifted because the agent
/// worked again (that line is old news, not a new limit).
pub fn step(
    hold: Option<&Hold>,
    reading: &Reading,
    now: f64,
    s: &Settings,
    stale: Option<&str>,
) -> Step {
    let limited = reading.state == State::Limited
        && !(stale.is_some() && stale == reading.line.as_deref() && hold.is_none());
    let reset = reading.reset.as_ref().map(|r| r.at.timestamp() as f64);
    let answer = reading.choice.clone().map(Action::Answer);
    match (hold, limited) {
        (None, false) => Step::keep(None),
        (None, true) => {
            let (until, why) = hold_until(reset, now, s);
            let h = Hold {
                until,
                nudges: 0,
                since: now,
                reset: reading.reset.as_ref().map(|r| r.at.to_rfc3339()),
                line: reading.line.clone(),
                answered: answer.is_some().then_some(now),
            };
            Step {
                hold: Some(h),
                action: answer.unwrap_or(Action::Wait),
                event: Some(("limit-hit", why)),
            }
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
                    event: None,
                };
            }
            if now < h.until {
                return Step::keep(Some(h.clone()));
            }
            let mut next = h.clone();
            next.line = reading.line.clone();
            if reading.continues {
                next.until = now + s.fallback;
                return Step {
                    hold: Some(next),
                    action: Action::Wait,
                    event: Some((
                        "limit-probe",
                        "the CLI says it continues by itself: nothing typed".into(),
                    )),
                };
            }
            if h.nudges > 0
                && let Some(t) = reset.filter(|&t| t > now && t - now <= ABSURD_SECS)
            {
                next.until = t + s.slack;
                next.reset = reading.reset.as_ref().map(|r| r.at.to_rfc3339());
                return Step {
                    hold: Some(next),
                    action: Action::Wait,
                    event: Some((
                        "limit-extended",
                        "still limited after the nudge: held until the next reset it names".into(),
                    )),
                };
            }
            next.nudges += 1;
            next.until = now + s.fallback;
            Step {
                hold: Some(next),
                action: Action::Nudge,
                event: Some((
                    "limit-nudge",
                    format!("resume nudge #{} after the reset", h.nudges + 1),
                )),
            }
        }
        (Some(h), false) => match reading.state {
            State::Active => Step {
                hold: None,
                action: Action::Wait,
                event: Some(("limit-lifted", "the agent works again".into())),
            },
            State::Dead | State::Dialog => Step::keep(Some(h.clone())),
            _ if now >= h.until || h.nudges > 0 => Step {
                hold: None,
                action: Action::Wait,
                event: Some(("limit-lifted", "the banner is gone".into())),
            },
            _ => Step::keep(Some(h.clone())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Reset;

    const S: Settings = Settings {
        slack: 45.0,
        fallback: 300.0,
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
            step(None, &limited(None), now, &S, Some("You've hit your limit")).hold,
            None
        );
    }
}
