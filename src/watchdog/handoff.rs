//! SPEC §6 Handoff — git pings between the builder and the reviewer of a loop pair.
//!
//! At most once per `signal_interval` (wall clock; a tick a little early, woken by a tmux
//! event, counts from 80 % of it), when `[loop.handoff]` is configured, an enabled loop
//! agent exists (as the original) and the phase sequence is not complete, the watchdog fetches `origin` in the handoff repo
//! ([`crate::git::fetch`], in the background: a tick waits for it at most [`FETCH_WAIT`],
//! a slow fetch is picked up by a later tick and killed after [`FETCH_TIMEOUT`]), then reads
//! the repository in-process ([`scan`]):
//!
//! - the subjects of the commits on `origin/main` (else the branch `origin/HEAD` names) since
//!   the last seen head: those matching `claim_pattern` → one ping to the `claim_pings`
//!   agent, those matching `review_pattern` → one to `review_pings` (patterns are
//!   case-insensitive and multi-line, SPEC defect 10);
//! - each inbox file (`inboxes[0]` for `claim_pings`, `inboxes[1]` for `review_pings`; at
//!   `<state_subdir>/<file>` in the tree, else `<file>` at the root) whose blob id (a hash of
//!   its content) differs from the one last pinged → a ping to pull, read, act and delete it.
//!   A file that disappears is forgotten, so the same content pushed again later is a new
//!   message.
//!
//! The first check (no state) takes the head as the baseline: no pings for old history;
//! inbox files present are pinged, as the original did. An old head the repository no
//! longer has (history rewritten and collected) is replaced by the new head without pings
//! (logged); more than [`WALK_LIMIT`] new commits are read newest first up to the limit.
//!
//! Pings wait in `state/handoff.json` until delivered: each tick, a pending ping is typed
//! into its target (the target's own backend and submit key, SPEC defect 11, through
//! [`crate::typing::deliver`], purpose `handoff`) once the target reads idle, or once it has
//! been busy for [`FORCE_AFTER`] (then typed anyway: outcome `forced`). A target that cannot
//! take text — not running, a dialog up, a usage limit — is never forced: the ping waits
//! until it can (a healed agent, an answered dialog, a lifted limit). A target the operator
//! stopped (`agents down`) drops its pings (outcome `failed`). At most one ping per target
//! per tick. A ping is typed at most once: a delivery that was typed but not verified
//! (outcome `unverified`), refused after typing, or failed is dropped with that outcome and
//! the reason (typing it again could duplicate it); one refused before anything was typed
//! (a dialog came up, the program exited) stays pending.
//!
//! Persistence: `state/handoff.json` holds the last seen head, the inbox hashes and the
//! pending pings; the new head is written together with the pings it produced in one atomic
//! write, and a ping is removed once typed. A watchdog restart neither repeats nor loses a
//! ping (but for one typed in the instant before the process died, which is typed again).
//! A corrupt file is reported once and treated as absent. Writers (this module, and
//! [`on_phase_change`] from another process) serialise on `state/handoff.lock`.
//!
//! Failures: a fetch or read that fails (no network, no remote, not a repository, no
//! `origin/main`) is logged and recorded as a `handoff-error` event once, retried every
//! check, and reported again only after a success in between (`handoff-recovered`). It
//! never stops the watchdog. While it fails, `state/handoff.json` holds the error
//! ([`last_error`], for `status`).
//!
//! Events: `handoff` with `{what: claim|review|inbox, to, session, detail, outcome:
//! queued|delivered|forced|unverified|refused|failed}` (`error` when not delivered, `waited`
//! seconds when forced).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{Agent, Handoff};
use crate::ctx::Ctx;
use crate::git;
use crate::state::StateDir;
use crate::typing::{self, Message, Readiness};

/// A pending ping is typed anyway after waiting this long for its target to be idle.
pub const FORCE_AFTER: Duration = Duration::from_secs(120);
/// A tick waits this long for the fetch; a slower one finishes in the background.
pub const FETCH_WAIT: Duration = Duration::from_secs(2);
/// A fetch still running after this long is killed (and reported as an error).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// New commits read per check at most (the newest).
pub const WALK_LIMIT: usize = 1000;
/// Subjects named in one ping at most (the newest), each cut to [`SUBJECT_CHARS`].
const SHOWN_SUBJECTS: usize = 3;
const SUBJECT_CHARS: usize = 72;

/// What a ping is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum What {
    Claim,
    Review,
    Inbox,
}

impl What {
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
    #[serde(default)]
    pub pending: Vec<Ping>,
    #[serde(default)]
    pub next_id: u64,
    /// The check's current failure (fetch or read), for `status`; `None` once it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What one read of the repository saw ([`scan`]).
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

/// Reads the handoff repo (no fetch): the remote head, the subjects since `last` (none when
/// `last` is `None` or equals the head), and the inbox files. Errors name the repository and
/// what to fix.
pub fn scan(h: &Handoff, last: Option<&str>) -> Result<Seen, String> {
    let repo = git::Repo::open(&h.repo)?;
    let Some(head) = repo.remote_head()? else {
        return Err(format!(
            "{} has no {}/{} (nothing fetched, an empty remote, or another default branch); push a first commit to main, or run `git remote set-head {} -a` there",
            h.repo.display(),
            git::REMOTE,
            git::BRANCH,
            git::REMOTE
        ));
    };
    let mut seen = Seen {
        head: head.id.clone(),
        ..Seen::default()
    };
    if let Some(old) = last.filter(|o| *o != head.id) {
        let s = repo.subjects(old, &head.id, WALK_LIMIT)?;
        seen.subjects = s.subjects;
        seen.unknown_old = s.unknown_old;
        seen.truncated = s.truncated;
    }
    for name in h.inboxes.iter().take(2) {
        let paths = [format!("{}/{name}", h.state_subdir), name.clone()];
        seen.inboxes
            .push((name.clone(), repo.file(&head.id, &paths)?));
    }
    Ok(seen)
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

// ── persistence ─────────────────────────────────────────────────────────────────────────

fn path(state: &StateDir) -> PathBuf {
    state.dir().join("handoff.json")
}

/// Takes `state/handoff.lock` (blocking: holders keep it for a read-modify-write only).
fn lock(state: &StateDir) -> Result<File, String> {
    let p = state.dir().join("handoff.lock");
    std::fs::create_dir_all(state.dir())
        .map_err(|e| format!("cannot create {}: {e}", state.dir().display()))?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&p)
        .map_err(|e| format!("cannot open {}: {e}", p.display()))?;
    f.lock()
        .map_err(|e| format!("cannot lock {}: {e}", p.display()))?;
    Ok(f)
}

/// The handoff check's current failure as the watchdog last recorded it (for `status`):
/// `None` when it works, or no watchdog checked yet.
pub fn last_error(state: &StateDir) -> Option<String> {
    load(state).0.error
}

/// Reads `state/handoff.json`: absent → the default; corrupt → the default and the error.
pub fn load(state: &StateDir) -> (Memory, Option<String>) {
    let p = path(state);
    match std::fs::read_to_string(&p) {
        Ok(t) => match serde_json::from_str(&t) {
            Ok(m) => (m, None),
            Err(e) => (
                Memory::default(),
                Some(format!(
                    "{} is corrupt ({e}); treated as absent: the next check starts from the current head",
                    p.display()
                )),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Memory::default(), None),
        Err(e) => (
            Memory::default(),
            Some(format!(
                "cannot read {} ({e}); treated as absent",
                p.display()
            )),
        ),
    }
}

fn save(state: &StateDir, mem: &Memory) -> Result<(), String> {
    let text = serde_json::to_string_pretty(mem).map_err(|e| e.to_string())?;
    crate::state::atomic::write(&path(state), text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path(state).display()))
}

/// Forgets the handoff memory after a phase change (SPEC §6: phase advance resets it):
/// pending pings are dropped (the restarted agents get fresh kickoffs), the next check takes
/// the head as the baseline, and inbox files still on `origin/main` are pinged again to
/// the new agents. Errors are logged, never fatal.
pub fn on_phase_change(state: &StateDir) {
    let res = lock(state).and_then(|_lock| {
        let (mem, _) = load(state);
        if mem == Memory::default() || !path(state).exists() {
            return Ok(0);
        }
        save(
            state,
            &Memory {
                next_id: mem.next_id,
                ..Memory::default()
            },
        )?;
        Ok(mem.pending.len())
    });
    match res {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            "handoff: phase changed — {n} pending ping(s) dropped; the next check starts from the current head"
        ),
        Err(e) => tracing::warn!("handoff: cannot reset after the phase change: {e}"),
    }
}

// ── the watchdog side ───────────────────────────────────────────────────────────────────

fn now_epoch() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// The handoff check's memory within one watchdog process (the rest is on disk).
#[derive(Debug, Default)]
pub struct Checker {
    last_check: Option<Instant>,
    fetch: Option<JoinHandle<Result<(), String>>>,
    /// A fetch or read error was reported; not again until a success.
    failing: bool,
    /// A corrupt `handoff.json` was reported.
    corrupt_reported: bool,
}

impl Checker {
    /// One tick: fetch and read when due, then deliver the pending pings whose target is
    /// idle (or that waited long enough). `sessions` is this tick's `list-panes`.
    pub async fn tick(&mut self, ctx: &Ctx, sessions: &crate::tmux::Sessions) {
        let Some(h) = ctx.cfg.loop_.handoff.as_ref() else {
            self.fetch = None;
            return;
        };
        // No loop agent, or the sequence is complete (the loop agents are stopped for good):
        // nobody to ping. The check resumes when a phase is set (`agents phase set N`).
        if ctx.cfg.loop_agents().next().is_none() || ctx.state.sequence_complete() {
            return;
        }
        let now = Instant::now();
        if self.fetch.is_none() && check_due(self.last_check, now, ctx.cfg.watchdog.signal_interval)
        {
            self.last_check = Some(now);
            let repo = h.repo.clone();
            self.fetch = Some(tokio::spawn(async move {
                git::fetch(&repo, FETCH_TIMEOUT).await
            }));
        }
        if let Some(handle) = self.fetch.as_mut()
            && let Ok(joined) = tokio::time::timeout(FETCH_WAIT, handle).await
        {
            self.fetch = None;
            let fetched = joined.unwrap_or_else(|e| Err(format!("the fetch task failed: {e}")));
            let res = fetched.and_then(|()| self.read(ctx, h));
            self.report(ctx, h, res);
        }
        self.deliver(ctx, sessions).await;
    }

    /// Reads the repository and records what it found, under the state lock.
    fn read(&mut self, ctx: &Ctx, h: &Handoff) -> Result<(), String> {
        let state = &ctx.state;
        let (seen, queued, mem) = {
            let _lock = lock(state)?;
            let (mem, corrupt) = load(state);
            match corrupt {
                Some(e) if !self.corrupt_reported => {
                    tracing::warn!("handoff: {e}");
                    ctx.events.emit("state-corrupt", json!({"why": e}));
                    self.corrupt_reported = true;
                }
                Some(_) => {}
                None => self.corrupt_reported = false,
            }
            let seen = scan(h, mem.head.as_deref())?;
            let (next, queued) = decide(h, &mem, &seen, now_epoch());
            if next != mem {
                save(state, &next)?;
            }
            (seen, queued, mem)
        };
        let short = |id: &str| id.chars().take(10).collect::<String>();
        match mem.head.as_deref() {
            None => tracing::info!(
                "handoff: watching {} of {} from {}",
                git::BRANCH,
                h.repo.display(),
                short(&seen.head)
            ),
            Some(old) if seen.unknown_old => tracing::warn!(
                "handoff: the last seen head {} is not in {} (history rewritten?); starting again from {} without pings",
                short(old),
                h.repo.display(),
                short(&seen.head)
            ),
            _ => {}
        }
        if seen.truncated {
            tracing::warn!(
                "handoff: more than {WALK_LIMIT} new commits; only the newest {WALK_LIMIT} were read"
            );
        }
        for p in &queued {
            let session = ctx.cfg.agent(&p.to).map(|a| a.session.clone());
            let detail = p.details.join("; ");
            tracing::info!(
                "handoff: {} ({detail}) → ping {} queued",
                p.what.as_str(),
                p.to
            );
            ctx.events.emit(
                "handoff",
                json!({"what": p.what.as_str(), "to": p.to, "session": session,
                       "detail": detail, "outcome": "queued"}),
            );
        }
        Ok(())
    }

    /// Reports a failed check once (until a success in between).
    fn report(&mut self, ctx: &Ctx, h: &Handoff, res: Result<(), String>) {
        let error = res.as_ref().err().cloned();
        if load(&ctx.state).0.error != error {
            let stored = lock(&ctx.state).and_then(|_lock| {
                let (mut mem, _) = load(&ctx.state);
                mem.error = error;
                save(&ctx.state, &mem)
            });
            if let Err(e) = stored {
                tracing::warn!("handoff: {e}");
            }
        }
        match res {
            Ok(()) => {
                if std::mem::take(&mut self.failing) {
                    tracing::info!("handoff: {} answers again", h.repo.display());
                    ctx.events
                        .emit("handoff-recovered", json!({"repo": h.repo}));
                }
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(
                        "handoff: {e}; retrying every {:?}",
                        ctx.cfg.watchdog.signal_interval
                    );
                    ctx.events
                        .emit("handoff-error", json!({"repo": h.repo, "error": e}));
                    self.failing = true;
                }
            }
        }
    }

    /// Types the pending pings that are due, at most one per target, all targets at once.
    async fn deliver(&mut self, ctx: &Ctx, sessions: &crate::tmux::Sessions) {
        let (mem, _) = load(&ctx.state);
        if mem.pending.is_empty() {
            return;
        }
        let now = now_epoch();
        let mut decided: Vec<&str> = Vec::new();
        let mut chosen: Vec<(&Ping, &Agent, Due)> = Vec::new();
        for p in &mem.pending {
            if decided.contains(&p.to.as_str()) {
                continue;
            }
            decided.push(&p.to);
            let Some(agent) = ctx.cfg.agent(&p.to) else {
                self.finish(
                    ctx,
                    p,
                    None,
                    "failed",
                    Some(format!("no agent is named {:?}", p.to)),
                );
                continue;
            };
            if ctx.state.is_down(&agent.name) {
                self.finish(
                    ctx,
                    p,
                    Some(agent),
                    "failed",
                    Some(format!(
                        "{} was stopped by the operator (`agents down`)",
                        agent.name
                    )),
                );
                continue;
            }
            let target = target(ctx, agent, sessions).await;
            match due(p.queued, target, now, FORCE_AFTER) {
                Due::Wait => {}
                d => chosen.push((p, agent, d)),
            }
        }
        let deliveries = chosen.iter().map(|&(p, agent, d)| async move {
            let text = text(p);
            let msg = Message {
                name: &agent.name,
                session: &agent.session,
                text: &text,
                purpose: "handoff",
                key_only: false,
            };
            let backend = ctx.cfg.backend_of(agent);
            let r = match d {
                // Forced: typed into a busy target by design (it has waited FORCE_AFTER).
                Due::Force => Ok(typing::deliver(ctx, backend, msg).await),
                // Read again under the typing lock: another delivery may have made the target
                // busy while this one waited for the lock.
                _ => typing::deliver_when_idle(ctx, backend, msg, Duration::ZERO).await,
            };
            (p, agent, d, r)
        });
        for (p, agent, d, r) in futures_util::future::join_all(deliveries).await {
            let r = match r {
                Ok(r) => r,
                Err(why) => {
                    // Not idle under the lock: nothing typed; the ping stays pending (and is
                    // forced once it has waited FORCE_AFTER).
                    tracing::info!("handoff: the ping to {} waits: {why}", agent.name);
                    continue;
                }
            };
            if let typing::Outcome::Refused { why, typed: false } = &r {
                // Nothing was typed (a dialog came up, the program exited): the ping stays
                // pending, as for a target that cannot take text.
                tracing::info!("handoff: the ping to {} waits: {why}", agent.name);
                continue;
            }
            let (outcome, error) = match (&r, d) {
                (typing::Outcome::Delivered(_), Due::Force) => ("forced", None),
                (typing::Outcome::Delivered(_), _) => ("delivered", None),
                (o, _) => (o.as_str(), o.why().map(String::from)),
            };
            self.finish(ctx, p, Some(agent), outcome, error);
        }
    }

    /// Removes a typed (or undeliverable) ping from the state and records the outcome.
    fn finish(
        &mut self,
        ctx: &Ctx,
        p: &Ping,
        agent: Option<&Agent>,
        outcome: &str,
        error: Option<String>,
    ) {
        let removed = lock(&ctx.state).and_then(|_lock| {
            let (mut mem, _) = load(&ctx.state);
            let before = mem.pending.len();
            mem.pending.retain(|x| x.id != p.id);
            if mem.pending.len() != before {
                save(&ctx.state, &mem)?;
            }
            Ok(())
        });
        if let Err(e) = removed {
            tracing::error!("handoff: {e}; the ping may be typed again");
        }
        let detail = p.details.join("; ");
        let waited = (now_epoch() - p.queued).max(0.0);
        match &error {
            None => tracing::info!(
                "handoff: pinged {} about {} ({detail}){}",
                p.to,
                p.what.as_str(),
                if outcome == "forced" {
                    format!(" although it was busy, after waiting {waited:.0} s")
                } else {
                    String::new()
                }
            ),
            Some(e) => tracing::warn!(
                "handoff: the {} ping to {} ({detail}) was not delivered: {e}",
                p.what.as_str(),
                p.to
            ),
        }
        ctx.events.emit(
            "handoff",
            json!({"what": p.what.as_str(), "to": p.to, "session": agent.map(|a| &a.session),
                   "detail": detail, "outcome": outcome, "error": error,
                   "waited": (waited * 10.0).round() / 10.0}),
        );
    }
}

/// Whether `agent`'s session is live and reads idle (for a `footer_ui` backend, its log not
/// written within `log_grace`), as the supervision tick reads it.
/// How `agent` reads now, for a pending ping (see [`Target`]).
async fn target(ctx: &Ctx, agent: &Agent, sessions: &crate::tmux::Sessions) -> Target {
    let backend = ctx.cfg.backend_of(agent);
    match typing::readiness(ctx, backend, sessions, &agent.session).await {
        Readiness::Idle => Target::Idle,
        Readiness::Busy(_) => Target::Busy,
        Readiness::Dialog(_) => Target::Held("a dialog waits for a person"),
        Readiness::Limited(_) => Target::Held("a usage limit holds it"),
        Readiness::Fatal(_) | Readiness::NotRunning(_) => Target::Held("not running"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Pattern;

    fn handoff() -> Handoff {
        Handoff {
            repo: PathBuf::from("/nonexistent"),
            repo_at: Default::default(),
            state_subdir: "machine-docs".into(),
            claim_pattern: Pattern::new("^claim").unwrap(),
            review_pattern: Pattern::new("^review").unwrap(),
            claim_pings: "adversary".into(),
            review_pings: "builder".into(),
            inboxes: vec!["adv.md".into(), "bld.md".into()],
        }
    }

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
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
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
            details: details.iter().map(|s| s.to_string()).collect(),
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
    fn state_round_trips_corrupt_is_reported_and_phase_change_drops_pending() {
        let t = tempfile::tempdir().unwrap();
        let cfg = crate::config::parse(
            &t.path().join("agents.toml"),
            "[defaults]\nsession_prefix = \"h-\"\nlog_dir = \"l\"\n",
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap();
        let state = StateDir::new(&cfg);
        assert!(state.dir().starts_with(t.path()));
        assert_eq!(load(&state), (Memory::default(), None));
        let mem = Memory {
            head: Some("h1".into()),
            inboxes: [("a".to_string(), "b".to_string())].into(),
            pending: vec![Ping {
                id: 4,
                what: What::Review,
                to: "builder".into(),
                details: vec!["review: x".into()],
                queued: 1.5,
            }],
            next_id: 5,
            error: Some("no network".into()),
        };
        save(&state, &mem).unwrap();
        assert_eq!(last_error(&state).as_deref(), Some("no network"));
        assert_eq!(load(&state), (mem.clone(), None));
        on_phase_change(&state);
        assert_eq!(
            load(&state).0,
            Memory {
                next_id: 5,
                ..Memory::default()
            }
        );
        std::fs::write(path(&state), "{\"head\": ").unwrap();
        let (m, e) = load(&state);
        assert_eq!(m, Memory::default());
        assert!(e.unwrap().contains("is corrupt"));
    }
}
