//! SPEC §6 Handoff — git pings between the builder and the reviewer of a loop pair: the
//! watchdog's checker ([`Checker`]), which fetches and reads the repository and types the
//! pings. What makes a ping, to whom, and when it is typed is decided in
//! [`crate::supervise::handoff`]; `state/handoff.json` is read and written by
//! [`crate::state::handoff`].
//!
//! At most once per `signal_interval` (wall clock; a tick a little early, woken by a tmux
//! event, counts from 80 % of it), when `[loop.handoff]` is configured, an enabled loop
//! agent exists (as the original) and the phase sequence is not complete, the watchdog fetches `origin` in the handoff repo
//! ([`crate::git::fetch`], in the background: a tick waits for it at most [`FETCH_WAIT`],
//! a slow fetch is picked up by a later tick and killed after [`FETCH_TIMEOUT`]), then reads
//! the repository in-process ([`scan`], on a blocking thread):
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
//! [`crate::state::handoff::on_phase_change`] from another process) serialise on
//! `state/handoff.lock`.
//!
//! Failures: a fetch or read that fails (no network, no remote, not a repository, no
//! `origin/main`) is logged and recorded as a `handoff-error` event once, retried every
//! check, and reported again only after a success in between (`handoff-recovered`). It
//! never stops the watchdog. While it fails, `state/handoff.json` holds the error
//! ([`crate::state::handoff::last_error`], for `status`).
//!
//! Events: `handoff` with `{what: claim|review|inbox, to, session, detail, outcome:
//! queued|delivered|forced|unverified|refused|failed}` (`error` when not delivered, `waited`
//! seconds when forced).

use std::time::Duration;

use serde_json::json;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::config::{Agent, Handoff};
use crate::ctx::Ctx;
use crate::git;
use crate::state::handoff as stored;
use crate::state::{Clock, ReportOnce, StateDir};
use crate::supervise::handoff::{
    Due, FORCE_AFTER, Memory, Ping, Seen, Target, WALK_LIMIT, check_due, decide, due, text,
};
use crate::typing::{self, Message, Readiness};

/// A tick waits this long for the fetch; a slower one finishes in the background.
pub const FETCH_WAIT: Duration = Duration::from_secs(2);
/// A fetch still running after this long is killed (and reported as an error).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a handoff check failed: the `handoff-error` event's `error`, and what `status` shows
/// (`state/handoff.json`'s `error`). `Display` names the repository and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The fetch or a read of the repository failed.
    #[error(transparent)]
    Git(#[from] git::GitError),
    /// The repository has no remote-tracking head to read ([`git::Repo::remote_head`]).
    #[error(
        "{} has no {}/{} (nothing fetched, an empty remote, or another default branch); push a first commit to main, or run `git remote set-head {} -a` there",
        repo.display(),
        git::REMOTE,
        git::BRANCH,
        git::REMOTE
    )]
    NoHead {
        /// The `[loop.handoff]` repository, as configured.
        repo: std::path::PathBuf,
    },
    /// `state/handoff.lock` or `state/handoff.json` failed.
    #[error(transparent)]
    Store(#[from] stored::StoreError),
    /// The background task (`what`: `fetch`, `read`) panicked or was cancelled.
    #[error("the {what} task failed: {source}")]
    Task {
        /// Which task: `fetch` (`git fetch`) or `read` (reading the repository).
        what: &'static str,
        /// Why it did not finish: its panic, or its cancellation.
        source: tokio::task::JoinError,
    },
}

/// Reads the handoff repo (no fetch): the remote head, the subjects since `last` (none when
/// `last` is `None` or equals the head), and the inbox files.
///
/// # Errors
///
/// [`CheckError::Git`] when the repository cannot be opened or read, [`CheckError::NoHead`]
/// when it has no remote-tracking head; each names the repository and what to fix.
pub fn scan(h: &Handoff, last: Option<&str>) -> Result<Seen, CheckError> {
    let repo = git::Repo::open(&h.repo)?;
    let Some(head) = repo.remote_head()? else {
        return Err(CheckError::NoHead {
            repo: h.repo.clone(),
        });
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

// ── the watchdog side ───────────────────────────────────────────────────────────────────

/// What [`read_locked`] returns: a corrupt `handoff.json` (treated as absent), and the
/// memory before the read, what was seen, and the pings queued.
type Read = (
    Option<String>,
    Result<(Memory, Seen, Vec<Ping>), CheckError>,
);

/// Under `state/handoff.lock`: loads the memory, reads the repository ([`scan`]), decides
/// ([`decide`]) and saves the new memory. Blocking (libgit2, the lock): called on a
/// blocking thread.
fn read_locked(state: &StateDir, h: &Handoff, clock: &Clock) -> Read {
    let mut corrupt = None;
    let found = stored::locked(state, || {
        let (mem, c) = stored::load(state);
        corrupt = c;
        let seen = scan(h, mem.head.as_deref())?;
        let (next, queued) = decide(h, &mem, &seen, clock.now());
        if next != mem {
            stored::save(state, &next)?;
        }
        Ok((mem, seen, queued))
    });
    (corrupt, found)
}

/// The handoff check's memory within one watchdog process (the rest is on disk).
#[derive(Debug, Default)]
pub struct Checker {
    last_check: Option<Instant>,
    fetch: Option<JoinHandle<Result<(), git::GitError>>>,
    /// A fetch or read error was reported; not again until a success.
    failing: ReportOnce,
    /// A corrupt `handoff.json` was reported.
    corrupt_reported: ReportOnce,
    /// When pings are queued and how long they waited.
    clock: Clock,
}

impl Checker {
    /// A checker that reads the time from `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

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
            let res = match joined {
                Ok(Ok(())) => self.read(ctx, h).await,
                Ok(Err(e)) => Err(e.into()),
                Err(source) => Err(CheckError::Task {
                    what: "fetch",
                    source,
                }),
            };
            self.report(ctx, h, res);
        }
        self.deliver(ctx, sessions).await;
    }

    /// Reads the repository and records what it found, under the state lock, on a blocking
    /// thread ([`read_locked`]: libgit2's revwalk and tree reads do file I/O).
    ///
    /// # Errors
    ///
    /// [`CheckError`]: the repository cannot be read ([`scan`]), the state cannot be locked
    /// or written, or the blocking task failed.
    async fn read(&mut self, ctx: &Ctx, h: &Handoff) -> Result<(), CheckError> {
        let (state, handoff, clock) = (ctx.state.clone(), h.clone(), self.clock.clone());
        let (corrupt, found) =
            tokio::task::spawn_blocking(move || read_locked(&state, &handoff, &clock))
                .await
                .map_err(|source| CheckError::Task {
                    what: "read",
                    source,
                })?;
        match corrupt {
            Some(e) => {
                if self.corrupt_reported.first() {
                    tracing::warn!("handoff: {e}");
                    ctx.events.emit("state-corrupt", json!({"why": e}));
                }
            }
            None => {
                self.corrupt_reported.reset();
            }
        }
        let (mem, seen, queued) = found?;
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
    fn report(&mut self, ctx: &Ctx, h: &Handoff, res: Result<(), CheckError>) {
        let error = res.as_ref().err().map(ToString::to_string);
        if let Err(e) = stored::set_error(&ctx.state, error) {
            tracing::warn!("handoff: {e}");
        }
        match res {
            Ok(()) => {
                if self.failing.reset() {
                    tracing::info!("handoff: {} answers again", h.repo.display());
                    ctx.events
                        .emit("handoff-recovered", json!({"repo": h.repo}));
                }
            }
            Err(e) => {
                if self.failing.first() {
                    tracing::error!(
                        "handoff: {e}; retrying every {:?}",
                        ctx.cfg.watchdog.signal_interval
                    );
                    ctx.events.emit(
                        "handoff-error",
                        json!({"repo": h.repo, "error": e.to_string()}),
                    );
                }
            }
        }
    }

    /// Types the pending pings that are due, at most one per target, all targets at once.
    async fn deliver(&mut self, ctx: &Ctx, sessions: &crate::tmux::Sessions) {
        let (mem, _) = stored::load(&ctx.state);
        if mem.pending.is_empty() {
            return;
        }
        let now = self.clock.now();
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
                    Some(&format!("no agent is named {:?}", p.to)),
                );
                continue;
            };
            if ctx.state.is_down(&agent.name) {
                self.finish(
                    ctx,
                    p,
                    Some(agent),
                    "failed",
                    Some(&format!(
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
                (o, _) => (o.as_str(), o.why()),
            };
            self.finish(ctx, p, Some(agent), outcome, error.as_deref());
        }
    }

    /// Removes a typed (or undeliverable) ping from the state and records the outcome.
    fn finish(
        &mut self,
        ctx: &Ctx,
        p: &Ping,
        agent: Option<&Agent>,
        outcome: &str,
        error: Option<&str>,
    ) {
        if let Err(e) = stored::remove_pending(&ctx.state, p.id) {
            tracing::error!("handoff: {e}; the ping may be typed again");
        }
        let detail = p.details.join("; ");
        let waited = (self.clock.now() - p.queued).max(0.0);
        match error {
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
