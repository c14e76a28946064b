//! SPEC §6 Handoff — the pure part: which new commits and inbox files make a ping and to
//! whom ([`decide`], one ping per kind and target, later news joining a pending one), when a
//! pending ping is typed ([`due`]: an idle target now, a busy one after [`FORCE_AFTER`],
//! never one that cannot take text), when the repository is checked ([`check_due`]), and
//! the text typed ([`text`]). No I/O: the watchdog's checker
//! (`crate::watchdog::handoff`) reads the repository and delivers; the memory is persisted
//! in `state/handoff.json` by [`crate::state::handoff`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::config::Handoff;
use crate::git;

/// A pending ping is typed anyway after waiting this long for its target to be idle.
pub const FORCE_AFTER: Duration = Duration::from_secs(120);
/// New commits read per check at most (the newest).
pub const WALK_LIMIT: usize = 1000;
/// Subjects named in one ping at most (the newest), each cut to [`SUBJECT_CHARS`].
const SHOWN_SUBJECTS: usize = 3;
const SUBJECT_CHARS: usize = 72;

/// What a ping is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    /// New commits whose subject matches `claim_pattern` (builder to reviewer).
    Claim,
    /// New commits whose subject matches `review_pattern` (reviewer to builder).
    Review,
    /// An inbox file changed on `origin/main`.
    Inbox,
}

impl What {
    /// The name as in `state/handoff.json` and the ping's text (`claim`, `review`, `inbox`).
    pub fn as_str(self) -> &'static str {
        match self {
            What::Claim => "claim",
            What::Review => "review",
            What::Inbox => "inbox",
        }
    }
}

/// A ping waiting for its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    /// Unique within `state/handoff.json`.
    pub id: u64,
    /// What it is about.
    pub what: What,
    /// Target agent name.
    pub to: String,
    /// Commit subjects (claim, review; oldest first) or the inbox file's path in the tree.
    pub details: Vec<String>,
    /// When it was queued, epoch seconds.
    pub queued: f64,
}

/// `state/handoff.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// The `origin/main` commit id last read; `None`: the next check takes the head as the
    /// baseline.
    #[serde(default)]
    pub head: Option<String>,
    /// Inbox file (as configured) → blob id of the content last pinged.
    #[serde(default)]
    pub inboxes: BTreeMap<String, String>,
    /// Pings waiting for their target, oldest first.
    #[serde(default)]
    pub pending: Vec<Ping>,
    /// The id the next ping gets.
    #[serde(default)]
    pub next_id: u64,
    /// The check's current failure (fetch or read), for `status`; `None` once it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Memory {
    /// The memory after a phase change (SPEC §6: phase advance resets it): no pending pings
    /// (the restarted agents get fresh kickoffs), no head (the next check takes the head as
    /// the baseline), no inbox hashes (inbox files still on `origin/main` are pinged again to
    /// the new agents); ping ids keep counting.
    #[must_use]
    pub fn after_phase_change(&self) -> Memory {
        Memory {
            next_id: self.next_id,
            ..Memory::default()
        }
    }
}

/// What one read of the repository saw (`crate::watchdog::handoff::scan`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// The remote head's commit id.
    pub head: String,
    /// Subjects of the commits since the last seen head, oldest first (empty on a baseline).
    pub subjects: Vec<String>,
    /// The last seen head is unknown to the repository: the head is a new baseline.
    pub unknown_old: bool,
    /// More than [`WALK_LIMIT`] commits were new.
    pub truncated: bool,
    /// Per configured inbox (the first two): its name and, when present in the tree, where
    /// and with what blob id.
    pub inboxes: Vec<(String, Option<git::File>)>,
}

/// The pure decision: the memory after `seen`, and the pings it queued (each as queued now,
/// with only its new details; the memory's pending list holds the merged ones). A ping of
/// the same kind to the same target already pending takes the new details instead of a
/// second ping.
pub fn decide(h: &Handoff, mem: &Memory, seen: &Seen, now: f64) -> (Memory, Vec<Ping>) {
    let mut next = mem.clone();
    let mut queued = Vec::new();
    let mut queue = |next: &mut Memory, what: What, to: &str, details: Vec<String>| {
        queued.push(Ping {
            id: 0,
            what,
            to: to.to_string(),
            details: details.clone(),
            queued: now,
        });
        if let Some(p) = next
            .pending
            .iter_mut()
            .find(|p| p.what == what && p.to == to)
        {
            for d in details {
                if !p.details.contains(&d) {
                    p.details.push(d);
                }
            }
            return;
        }
        next.pending.push(Ping {
            id: next.next_id,
            what,
            to: to.to_string(),
            details,
            queued: now,
        });
        next.next_id += 1;
    };
    if mem.head.is_some() && !seen.unknown_old {
        for (what, pattern, to) in [
            (What::Claim, &h.claim_pattern, &h.claim_pings),
            (What::Review, &h.review_pattern, &h.review_pings),
        ] {
            let matched: Vec<String> = seen
                .subjects
                .iter()
                .filter(|s| pattern.regex().is_match(s))
                .cloned()
                .collect();
            if !matched.is_empty() {
                queue(&mut next, what, to, matched);
            }
        }
    }
    next.head = Some(seen.head.clone());
    for (i, (name, file)) in seen.inboxes.iter().enumerate() {
        let to = if i == 0 {
            &h.claim_pings
        } else {
            &h.review_pings
        };
        match file {
            Some(f) if next.inboxes.get(name) != Some(&f.id) => {
                next.inboxes.insert(name.clone(), f.id.clone());
                queue(&mut next, What::Inbox, to, vec![f.path.clone()]);
            }
            Some(_) => {}
            None => {
                next.inboxes.remove(name);
            }
        }
    }
    (next, queued)
}

/// How a ping's target reads this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Waiting for input: a ping is typed now.
    Idle,
    /// Working: a ping waits, at most [`FORCE_AFTER`].
    Busy,
    /// Cannot take a ping, however long it waits: not running, a dialog waits for a person,
    /// or a usage limit holds it (the ping stays pending until that ends).
    Held(&'static str),
}

/// Whether a pending ping is typed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// The target is busy and the ping has not waited [`FORCE_AFTER`] yet, or the target
    /// cannot take it at all ([`Target::Held`]).
    Wait,
    /// The target is idle.
    Now,
    /// The target is still busy, but the ping has waited long enough.
    Force,
}

/// When a pending ping queued at `queued` is typed, `now` (epoch seconds). Only a busy
/// target is typed into anyway: text typed into a dialog, a limit chooser or a dead pane
/// would be lost.
pub fn due(queued: f64, target: Target, now: f64, force_after: Duration) -> Due {
    match target {
        Target::Idle => Due::Now,
        Target::Busy if now - queued >= force_after.as_secs_f64() => Due::Force,
        Target::Busy | Target::Held(_) => Due::Wait,
    }
}

/// Whether a check is due: none yet, or 80 % of `interval` since the last one (ticks are
/// scheduled every `interval`; a little jitter must not skip one).
pub fn check_due(last: Option<Instant>, now: Instant, interval: Duration) -> bool {
    last.is_none_or(|l| now.saturating_duration_since(l) >= interval.mul_f64(0.8))
}

/// The text typed for `p` (the original's wording, naming what was pushed).
pub fn text(p: &Ping) -> String {
    let subjects = || {
        let n = p.details.len();
        let shown: Vec<String> = p.details[n.saturating_sub(SHOWN_SUBJECTS)..]
            .iter()
            .map(|s| {
                // A control character typed into a pane is a key press: never type one.
                let s: String = s
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect();
                let cut: String = s.chars().take(SUBJECT_CHARS).collect();
                if cut.len() < s.len() {
                    format!("\"{cut}…\"")
                } else {
                    format!("\"{cut}\"")
                }
            })
            .collect();
        let more = if n > SHOWN_SUBJECTS {
            format!(" and {} more", n - SHOWN_SUBJECTS)
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(", "))
    };
    match p.what {
        What::Claim => format!(
            "watchdog ping: the other loop pushed a gate CLAIM commit ({}). Pull and verify the claimed gate now.",
            subjects()
        ),
        What::Review => format!(
            "watchdog ping: the other loop pushed a verdict/finding commit ({}). Pull the review file and act.",
            subjects()
        ),
        What::Inbox => format!(
            "watchdog ping: the other loop pushed {} — pull, read it, act, then delete the file (commit + push) to mark it consumed.",
            p.details.join(", ").replace(char::is_control, " ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Pattern;
    use std::path::PathBuf;

    fn handoff() -> Handoff {
        Handoff {
            repo: PathBuf::from("/nonexistent"),
            repo_at: crate::config::RepoAt::default(),
            state_subdir: "machine-docs".into(),
            claim_pattern: Pattern::new("^claim").unwrap(),
            review_pattern: Pattern::new("^review").unwrap(),
            claim_pings: "adversary".into(),
            review_pings: "builder".into(),
            inboxes: vec!["adv.md".into(), "bld.md".into()],
        }
    }

    #[allow(clippy::unnecessary_wraps)] // the shape `seen` takes an inbox in
    fn file(path: &str, id: &str) -> Option<git::File> {
        Some(git::File {
            path: path.into(),
            id: id.into(),
        })
    }

    fn seen(head: &str, subjects: &[&str], inboxes: [Option<git::File>; 2]) -> Seen {
        let [a, b] = inboxes;
        Seen {
            head: head.into(),
            subjects: subjects
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            inboxes: vec![("adv.md".into(), a), ("bld.md".into(), b)],
            ..Seen::default()
        }
    }

    fn summary(pings: &[Ping]) -> Vec<(What, &str, Vec<&str>)> {
        pings
            .iter()
            .map(|p| {
                (
                    p.what,
                    p.to.as_str(),
                    p.details.iter().map(String::as_str).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn the_first_check_is_a_baseline_but_pings_inbox_files_present() {
        let h = handoff();
        let s = seen(
            "h1",
            &["claim: old history"],
            [file("machine-docs/adv.md", "b1"), None],
        );
        let (mem, queued) = decide(&h, &Memory::default(), &s, 10.0);
        assert_eq!(mem.head.as_deref(), Some("h1"));
        assert_eq!(
            summary(&queued),
            [(What::Inbox, "adversary", vec!["machine-docs/adv.md"])]
        );
        assert_eq!(summary(&mem.pending), summary(&queued));
        assert_eq!(mem.inboxes["adv.md"], "b1");
    }

    #[test]
    fn claims_go_to_the_reviewer_reviews_to_the_builder_case_insensitive_multi_line() {
        let h = Handoff {
            claim_pattern: Pattern::new("^claim|^gate:").unwrap(),
            ..handoff()
        };
        let mem = Memory {
            head: Some("h1".into()),
            ..Memory::default()
        };
        let s = seen(
            "h2",
            &["CLAIM: gate 1", "wip", "Review: gate 1 FAIL", "gate: 2"],
            [None, None],
        );
        let (next, queued) = decide(&h, &mem, &s, 10.0);
        assert_eq!(
            summary(&queued),
            [
                (What::Claim, "adversary", vec!["CLAIM: gate 1", "gate: 2"]),
                (What::Review, "builder", vec!["Review: gate 1 FAIL"]),
            ]
        );
        assert_eq!(next.head.as_deref(), Some("h2"));
        assert_eq!(
            next.pending.iter().map(|p| p.id).collect::<Vec<_>>(),
            [0, 1]
        );
        assert_eq!(next.next_id, 2);
        // Nothing new: nothing queued, nothing changed.
        let (again, q) = decide(&h, &next, &seen("h2", &[], [None, None]), 11.0);
        assert!(q.is_empty());
        assert_eq!(again, next);
        // No match: only the head moves.
        let (n3, q) = decide(&h, &next, &seen("h3", &["docs: typo"], [None, None]), 12.0);
        assert!(q.is_empty());
        assert_eq!(n3.pending, next.pending);
        assert_eq!(n3.head.as_deref(), Some("h3"));
    }

    #[test]
    fn a_second_claim_while_one_is_pending_joins_it() {
        let h = handoff();
        let mem = Memory {
            head: Some("h1".into()),
            ..Memory::default()
        };
        let (m2, _) = decide(&h, &mem, &seen("h2", &["claim: a"], [None, None]), 10.0);
        let (m3, q) = decide(&h, &m2, &seen("h3", &["claim: b"], [None, None]), 20.0);
        assert_eq!(summary(&q), [(What::Claim, "adversary", vec!["claim: b"])]);
        assert_eq!(
            summary(&m3.pending),
            [(What::Claim, "adversary", vec!["claim: a", "claim: b"])]
        );
        assert_eq!(
            m3.pending[0].queued, 10.0,
            "it keeps its place in the queue"
        );
    }

    #[test]
    fn an_inbox_pings_once_per_content_and_again_after_it_was_deleted() {
        let h = handoff();
        let base = Memory {
            head: Some("h0".into()),
            ..Memory::default()
        };
        let at =
            |head, id: Option<&str>| seen(head, &[], [None, id.and_then(|i| file("bld.md", i))]);
        let (m1, q) = decide(&h, &base, &at("h1", Some("b1")), 1.0);
        assert_eq!(summary(&q), [(What::Inbox, "builder", vec!["bld.md"])]);
        let m1 = Memory {
            pending: vec![],
            ..m1
        };
        let (m2, q) = decide(&h, &m1, &at("h2", Some("b1")), 2.0);
        assert!(q.is_empty(), "same content: no second ping");
        let (m3, q) = decide(&h, &m2, &at("h3", Some("b2")), 3.0);
        assert_eq!(q.len(), 1, "changed content: a ping");
        let (m4, q) = decide(&h, &m3, &at("h4", None), 4.0);
        assert!(q.is_empty() && !m4.inboxes.contains_key("bld.md"));
        let (_, q) = decide(&h, &m4, &at("h5", Some("b2")), 5.0);
        assert_eq!(
            q.len(),
            1,
            "pushed again after it was consumed: a new message"
        );
    }

    #[test]
    fn an_unknown_old_head_is_a_new_baseline() {
        let h = handoff();
        let mem = Memory {
            head: Some("gone".into()),
            ..Memory::default()
        };
        let s = Seen {
            unknown_old: true,
            ..seen("h9", &[], [None, None])
        };
        let (next, q) = decide(&h, &mem, &s, 1.0);
        assert!(q.is_empty());
        assert_eq!(next.head.as_deref(), Some("h9"));
    }

    #[test]
    fn a_ping_waits_for_an_idle_target_then_is_forced() {
        let f = Duration::from_secs(120);
        assert_eq!(due(100.0, Target::Idle, 100.0, f), Due::Now);
        assert_eq!(due(100.0, Target::Busy, 219.0, f), Due::Wait);
        assert_eq!(due(100.0, Target::Busy, 220.0, f), Due::Force);
        assert_eq!(due(100.0, Target::Idle, 500.0, f), Due::Now);
    }

    #[test]
    fn a_ping_is_never_forced_into_a_dialog_a_limit_or_a_stopped_pane() {
        let f = Duration::from_secs(120);
        for why in [
            "a dialog waits for a person",
            "a usage limit holds it",
            "not running",
        ] {
            assert_eq!(due(100.0, Target::Held(why), 100_000.0, f), Due::Wait);
        }
    }

    #[test]
    fn checks_come_at_most_once_per_interval_with_some_jitter() {
        let t0 = Instant::now();
        let i = Duration::from_secs(10);
        assert!(check_due(None, t0, i));
        assert!(!check_due(Some(t0), t0 + Duration::from_secs(5), i));
        assert!(check_due(Some(t0), t0 + Duration::from_millis(9_500), i));
    }

    #[test]
    fn ping_texts_name_what_was_pushed() {
        let p = |what, details: &[&str]| Ping {
            id: 0,
            what,
            to: "x".into(),
            details: details
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            queued: 0.0,
        };
        let t = text(&p(What::Claim, &["claim: gate 3"]));
        assert!(
            t.starts_with(
                "watchdog ping: the other loop pushed a gate CLAIM commit (\"claim: gate 3\")."
            ),
            "{t}"
        );
        let t = text(&p(What::Review, &["r1", "r2", "r3", "r4", "r5"]));
        assert!(t.contains("(\"r3\", \"r4\", \"r5\" and 2 more)"), "{t}");
        let long = "claim: ".to_string() + &"x".repeat(200);
        let t = text(&p(What::Claim, &[&long]));
        assert!(
            t.len() < 400 && t.contains("x…\""),
            "typed, not pasted: {t}"
        );
        let t = text(&p(What::Claim, &["claim: a\u{1b}[2Jb\rc"]));
        assert!(
            t.contains("\"claim: a [2Jb c\""),
            "no control characters: {t:?}"
        );
        let t = text(&p(What::Inbox, &["machine-docs/bld.md"]));
        assert!(
            t.contains("pushed machine-docs/bld.md — pull, read it, act, then delete the file"),
            "{t}"
        );
    }

    #[test]
    fn a_phase_change_forgets_head_inboxes_and_pending_but_keeps_counting_ids() {
        let mem = Memory {
            head: Some("h1".into()),
            inboxes: [("bld.md".to_string(), "b1".to_string())].into(),
            pending: vec![Ping {
                id: 6,
                what: What::Claim,
                to: "adversary".into(),
                details: vec!["claim: gate 1".into()],
                queued: 1.0,
            }],
            next_id: 7,
            error: Some("no network".into()),
        };
        let after = mem.after_phase_change();
        assert_eq!(
            after,
            Memory {
                next_id: 7,
                ..Memory::default()
            }
        );
        // The next check is a baseline again: no pings for old commits, but the inbox file
        // still there is pinged to the new agents, with a fresh id.
        let (next, queued) = decide(
            &handoff(),
            &after,
            &seen(
                "h2",
                &["claim: gate 1"],
                [None, file("machine-docs/bld.md", "b1")],
            ),
            2.0,
        );
        assert_eq!(
            summary(&queued),
            [(What::Inbox, "builder", vec!["machine-docs/bld.md"])]
        );
        assert_eq!(next.pending[0].id, 7);
    }
}
