//! One watchdog tick: gather what every watched agent shows (one `list-panes` and one capture
//! call for the whole fleet, the manifest and the state files), let the per-agent rule
//! ([`crate::supervise::agent::step`], where the order of decisions lives) decide, and carry
//! the decisions out (`watchdog::apply`): restarts, state files, events, chooser answers,
//! resume and stall nudges; then publish what it saw in `state/supervision.json` for
//! `status`. A dead pane is captured with the live ones: a program that exited is restarted
//! with the last lines it printed.

use std::collections::{BTreeMap, HashMap};

use chrono::Local;

use super::apply::{self, Typing};
use crate::config::{Agent, Watch};
use crate::ctx::Ctx;
use crate::detect;
use crate::launch::{self, Prepared};
use crate::state::{AgentView, Clock};
use crate::supervise::agent::{self, Observation};
use crate::supervise::limit;
use crate::supervise::liveness::Follow;
use crate::supervise::restart::Policy;

/// What the watchdog remembers about one agent between ticks: the rule's memory, and what
/// gathering and carrying out need.
#[derive(Debug, Default)]
pub struct Mem {
    /// The per-agent rule's memory (with the view `status` shows).
    pub agent: agent::Memory,
    /// What tells whether the pane still runs its program.
    follow: Follow,
    /// The kind of the last start error: a failure of the same kind is logged once.
    pub(super) start_error: Option<launch::StartErrorKind>,
    /// The pid of the dead pane whose exit status was waited for ([`super::exits`]).
    pub(super) exit_waited: Option<u32>,
    /// The limit hold as it is when writing it failed (a full or read-only disk): `Some(h)`
    /// wins over the file (which is stale) until a write succeeds, so a hold is neither lost
    /// nor re-detected every tick with a moving end.
    pub(super) unsaved_hold: Option<Option<crate::state::LimitState>>,
    /// Why the hold last could not be written (logged once per distinct error).
    pub(super) hold_error: Option<String>,
    /// Bad lines in the agent's signals file were reported (once, until a read finds none).
    bad_signals: crate::state::ReportOnce,
}

/// The per-fleet memory and the tick itself.
#[derive(Debug, Default)]
pub struct Ticker {
    /// Each watched agent's [`Mem`], by agent name, kept from one tick to the next.
    pub mem: HashMap<String, Mem>,
    /// The time each tick's decisions are taken at.
    clock: Clock,
    pub(super) published: Option<BTreeMap<String, AgentView>>,
    /// A corrupt manifest was reported.
    pub(super) manifest_reported: crate::state::ReportOnce,
    /// That loop agents are not healed while the sequence is complete was logged.
    complete_reported: bool,
    /// A tick has run: an agent first seen later was added by a config reload.
    ticked: bool,
    /// Why `supervision.json` cannot be written (logged once, until it can again).
    pub(super) publish_error: Option<String>,
    /// Ticks run so far (`ticks` in `supervision.json`).
    pub(super) ticks: u64,
    /// How long the last tick took to read the panes and decide (`tick_ms`).
    pub(super) read_time: Option<std::time::Duration>,
}

impl Ticker {
    /// A ticker that reads the time from `clock`.
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    /// Supervises every watched agent once. `sessions` is this tick's `list-panes`; `heavy`
    /// adds the backend-mismatch check. `fleet_lock` is the fleet's start/stop lock, taken by
    /// the caller (the operator's `down` markers are read under it, so a restart never undoes
    /// a `down`); it is released before anything is typed. `None` when the lock file cannot
    /// be created at all (an unwritable state dir): supervision goes on without it.
    pub async fn tick(
        &mut self,
        ctx: &Ctx,
        sessions: &crate::tmux::Sessions,
        heavy: bool,
        fleet_lock: Option<crate::state::lock::Lock>,
    ) {
        let now = self.clock.now();
        self.tick_at(ctx, sessions, heavy, fleet_lock, now).await;
    }

    /// [`Self::tick`] at `now` (epoch seconds), the instant the rules decide at: tests move
    /// it on (a stall's `stall_idle`) without waiting.
    pub(crate) async fn tick_at(
        &mut self,
        ctx: &Ctx,
        sessions: &crate::tmux::Sessions,
        heavy: bool,
        fleet_lock: Option<crate::state::lock::Lock>,
        now: f64,
    ) {
        self.ticks += 1;
        let began = std::time::Instant::now();
        let cfg = &ctx.cfg;
        let w = &cfg.watchdog;
        let policy = Policy::of(w);
        let limits = limit::Settings::of(w);
        let watched: Vec<&Agent> = cfg
            .agents
            .iter()
            .filter(|a| a.enabled && a.watch != Watch::None)
            .collect();
        let settled = super::exits::settle(ctx, sessions, &watched, &mut self.mem).await;
        let sessions = settled.as_ref().unwrap_or(sessions);
        let existing: Vec<String> = watched
            .iter()
            .filter(|a| sessions.get(&a.session).is_some())
            .map(|a| a.session.clone())
            .collect();
        let dead: Vec<String> = existing
            .iter()
            .filter(|s| !sessions.is_live(s))
            .cloned()
            .collect();
        let panes = ctx.mux.capture_many_with(&existing, &dead).await;
        // The process each session was started with (read under the fleet lock, so it
        // matches `sessions`); a corrupt manifest is reported by `stop_orphans`.
        let manifest = ctx.state.manifest().load().unwrap_or_default();
        let captured = Local::now().fixed_offset();
        let zone = detect::reset::local_zone();
        let known: Vec<String> = cfg
            .backends
            .values()
            .filter_map(|b| b.process_name.clone())
            .collect();
        let sequence_complete = ctx.state.sequence_complete();
        self.report_complete(ctx, sequence_complete);
        let mut restarts: Vec<(Prepared, String)> = Vec::new();
        let mut typing: Vec<Typing> = Vec::new();
        self.mem
            .retain(|name, _| watched.iter().any(|a| &a.name == name));

        for a in watched {
            let backend = cfg.backend_of(a);
            let added = self.ticked && !self.mem.contains_key(&a.name);
            let mem = self.mem.entry(a.name.clone()).or_default();
            let text = panes.get(&a.session);
            // A dead pane's status, when tmux lost it, from the line tmux drew under it.
            let exited = sessions
                .get(&a.session)
                .filter(|p| p.dead)
                .map(|_| detect::exited::read(text.map_or("", |t| t)));
            let fixed = sessions.get(&a.session).map(|p| crate::tmux::PaneInfo {
                dead_status: p.dead_status.or(exited.as_ref().and_then(|e| e.status)),
                ..p.clone()
            });
            let pane = fixed.as_ref();
            let entry = (manifest.sessions.get(&a.session)).filter(|e| e.name == a.name);
            let process = pane
                .filter(|p| !p.dead)
                .map(|p| launch::proctree::follow(entry.and_then(|e| e.process), p));
            let stamp = entry.map(|e| e.started.as_str());
            let (live, warning) = mem.follow.step(a, backend, pane, stamp, process, now);
            if let Some(e) = warning {
                tracing::warn!("{}", e.why);
                mem.event(ctx, a, e, now);
            }
            let beside = ctx.beside(backend, &a.session, stamp);
            report_bad_signals(ctx, a, &beside, &mut mem.bad_signals);
            let reading = pane.zip(text).map(|(p, text)| {
                let facts = detect::Facts {
                    pane: p,
                    live: &live,
                    text,
                    log_age: beside.log_age,
                    captured,
                    zone,
                    hook: beside.hook(),
                };
                let r = detect::observe(backend, &facts);
                // A limit's reset as the CLI reported it (hooks = "claude": its status line;
                // "codex": its rollout file), when this process reported one (already read
                // beside a rate-limit hook).
                let reported = beside.blocked_until.or_else(|| {
                    let usage = (r.state == detect::State::Limited && beside.signal.is_some())
                        .then(|| ctx.usage(backend, &a.session))
                        .flatten();
                    let started = stamp.and_then(crate::state::signals::started_epoch);
                    limit::reported_reset(usage.as_ref(), started)
                });
                detect::with_reported_reset(r, reported, captured)
            });
            let obs = Observation {
                pane,
                exited: exited.as_ref(),
                reading,
                // Only a stall clock reads the marker (not searched for otherwise).
                waiting_until: text
                    .filter(|_| a.watch == Watch::HealStall)
                    .and_then(|t| detect::waiting_until(backend, t, zone))
                    .map(|t| t.timestamp() as f64),
                started: stamp.and_then(crate::state::signals::started_epoch),
                down: ctx.state.is_down(&a.name),
                done: ctx.state.is_done(&a.name),
                fatal_marker: ctx.state.is_fatal(&a.name),
                reset: ctx.state.take_reset(&a.name),
                sequence_complete,
                added,
                heavy,
                hold: match &mem.unsaved_hold {
                    Some(h) => Ok(h.clone()),
                    None => ctx.state.limit(&a.session),
                },
            };
            let limit_file = ctx.state.limit_path(&a.session);
            let settings = agent::Settings {
                agent: a,
                backend,
                policy,
                limits,
                stall_grace: w.stall_grace.as_secs_f64(),
                known_processes: &known,
                limit_file: &limit_file,
            };
            let d = agent::step(&mem.agent, &obs, now, &settings);
            if let Some(r) = apply::apply(ctx, a, mem, d, &mut typing) {
                let exists = pane.is_some();
                apply::prepare(ctx, a, mem, r, exists, &policy, now, &mut restarts);
            }
        }
        self.ticked = true;

        // The server may have gone while this tick decided (`kill-server`): ask again before
        // starting anything, so a dying watchdog never starts a server of its own.
        if !restarts.is_empty()
            && ctx
                .mux
                .sessions()
                .await
                .is_ok_and(|s| super::inside_gone_server(&s))
        {
            return;
        }
        self.read_time = Some(began.elapsed());
        self.stop_orphans(ctx, sessions).await;
        apply::start(ctx, sessions, restarts, &mut self.mem).await;
        drop(fleet_lock);
        apply::deliver(ctx, &typing).await;
        self.publish(ctx);
    }

    /// Logs once (not every tick) that loop agents are not healed while `SEQUENCE-COMPLETE`
    /// exists, and once that they are healed again when it is gone.
    fn report_complete(&mut self, ctx: &Ctx, complete: bool) {
        if complete == self.complete_reported || ctx.cfg.loop_agents().next().is_none() {
            return;
        }
        self.complete_reported = complete;
        if complete {
            tracing::warn!(
                "{}",
                crate::phase::sequence_complete_why(&ctx.state.sequence_complete_path())
            );
        } else {
            tracing::info!(
                "the phase sequence is no longer complete: loop agents are healed again"
            );
        }
    }
}

/// Logs, once per file until a read finds it clean again, that `a`'s signals file could not
/// be read (then the screen alone is read) or ends in lines that are not hook signals.
fn report_bad_signals(
    ctx: &Ctx,
    a: &Agent,
    beside: &crate::ctx::Beside,
    reported: &mut crate::state::ReportOnce,
) {
    if beside.bad_signals == 0 && beside.signals_error.is_none() {
        reported.reset();
        return;
    }
    if !reported.first() {
        return;
    }
    let file = ctx.state.signals_path(&a.session);
    if let Some(e) = &beside.signals_error {
        tracing::warn!(
            "{}: cannot read its hook signals in {} ({e}); reading the screen alone \
             (reported once for this file)",
            a.name,
            file.display()
        );
    } else {
        tracing::warn!(
            "{}: {} line(s) at the end of {} are not hook signals (not JSON, longer than {} \
             bytes, or torn); skipped (reported once for this file)",
            a.name,
            beside.bad_signals,
            file.display(),
            crate::state::signals::MAX_LINE
        );
    }
}
