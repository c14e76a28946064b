//! One watchdog tick: read every watched agent (one `list-panes` and one capture call for the
//! whole fleet), feed the readings to the supervision machines, and carry out what they
//! decide — restarts (paced by the restart policy), limit holds, chooser answers, resume and
//! stall nudges — then publish what it saw in `state/supervision.json` for `status`.
//!
//! Order of decisions per agent: operator intent (`down`, a finished task) first; then a
//! session that is gone or exited is restarted; then a usage-limit hold (a held agent is never
//! restarted, nudged for a stall, or typed into but for its resume); then what the screen
//! says: a fatal screen, a process gone, or a bare shell where the backend's
//! `process_name` ran (two readings in a row before a restart, see
//! [`detect::liveness`]), a dialog (reported, never touched), idleness (stall nudge, then
//! restart; nothing typed while a restart waits out its backoff). A program that exited is
//! restarted with the last lines it printed (its dead pane is captured with the live ones).
//! Every decision is a line in `events.jsonl` with its evidence, `restart` included.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Local};
use serde_json::json;

use crate::config::{Agent, Kind, Watch};
use crate::ctx::Ctx;
use crate::detect::{self, Reading, State};
use crate::launch::{self, Prepared, stop};
use crate::state::{AgentView, LastEvent, Supervision};
use crate::supervise::limit::{self, Action as LimitAction};
use crate::supervise::restart::{History, Policy, Verdict};
use crate::supervise::stall::{Stall, StallStep};
use crate::supervise::{self, Confirm};
use crate::typing::{self, Message};

use super::heal::{self, Action, Seen};

/// What the watchdog remembers about one agent between ticks.
#[derive(Debug, Default)]
pub struct Mem {
    pub history: History,
    stall: Stall,
    /// When the pane was first read blank in the current blank stretch (epoch seconds): a
    /// CLI still starting, see [`STARTING_BLANK`].
    blank_since: Option<f64>,
    confirm: Confirm,
    /// What the last hold lifted because the agent worked again left on screen: old news.
    old_news: Option<limit::OldNews>,
    /// The dialog line last reported (a dialog is reported once).
    dialog: Option<String>,
    /// The kind of the last start error: a failure of the same kind is logged once.
    start_error: Option<launch::StartErrorKind>,
    /// A corrupt limit file was reported.
    corrupt_reported: bool,
    /// A corrupt `self_resume` field in the limit file was reported.
    promise_corrupt_reported: bool,
    /// The backoff wait last logged.
    waiting_until: Option<f64>,
    /// A stall restart that waits out its backoff (its reason): while it waits, nothing is
    /// typed for the stall and `status` shows `backoff until`; activity calls it off.
    stall_restart: Option<String>,
    /// The `started` stamp (manifest) of the session whose liveness is being followed.
    launch: Option<String>,
    /// The pane showed the backend's `process_name` since that start (see
    /// [`detect::Liveness::showed_program`]).
    showed_program: bool,
    /// When this start was first seen live (epoch seconds): the `process_name` warning waits
    /// [`PROCESS_NAME_GRACE`] from it (a wrapper may set things up before it execs).
    live_since: Option<f64>,
    /// The warning that `process_name` never matches what the pane runs was logged.
    name_warned: bool,
    /// The pid of the dead pane whose exit status was waited for (see
    /// [`Ticker::settle_exits`]).
    exit_waited: Option<u32>,
    /// The last exit whose status tmux reported (see [`detect::exited::reason_after`]).
    exit: Option<detect::exited::Known>,
    view: AgentView,
    /// The limit hold as it is when writing it failed (a full or read-only disk): `Some(h)`
    /// wins over the file (which is stale) until a write succeeds, so a hold is neither lost
    /// nor re-detected every tick with a moving end.
    unsaved_hold: Option<Option<crate::state::LimitState>>,
    /// Why the hold last could not be written (logged once per distinct error).
    hold_error: Option<String>,
}

impl Mem {
    /// The agent's limit hold: the one kept in memory when it could not be written, else the
    /// file's. `Err`: the file is corrupt.
    fn hold(&self, ctx: &Ctx, session: &str) -> Result<Option<crate::state::LimitState>, String> {
        match &self.unsaved_hold {
            Some(h) => Ok(h.clone()),
            None => ctx.state.limit(session),
        }
    }
}

/// A blank pane ([`detect::Reading::blank`]) is taken for a CLI still starting for this many
/// `stall_idle` periods: the stall clock does not run on it meanwhile (Gemini CLI 0.61.0
/// drew nothing for over 20 s on a busy machine, and the stall nudge typed then was echoed on
/// the blank pane and read by the CLI when it came up). After that the blank stretch counts
/// as idle like any other screen: a program that never draws (a silent line reader) is idle.
pub const STARTING_BLANK: f64 = 1.0;

/// How long the pane of a backend that declares `process_name` may run something else (a
/// wrapper, a launcher) before the watchdog warns that the name never matches, in seconds.
pub const PROCESS_NAME_GRACE: f64 = 10.0;

/// How often, and how many times, `list-panes` is asked again for the exit status of a pane
/// just seen dead without one (see [`Ticker::settle_exits`]): one second at most.
pub const EXIT_STATUS_POLL: std::time::Duration = std::time::Duration::from_millis(100);
/// See [`EXIT_STATUS_POLL`].
pub const EXIT_STATUS_POLLS: u32 = 10;

/// Text typed into an agent.
struct Typing {
    name: String,
    session: String,
    text: String,
    purpose: &'static str,
    key_only: bool,
}

/// The resume nudge after a usage limit (the original's wording).
pub fn resume_nudge(agent: &Agent) -> &'static str {
    match agent.kind {
        Kind::Loop => "pull latest, re-read your phase STATUS/REVIEW files, continue",
        _ => "resume now — re-check status and continue",
    }
}

fn rfc3339(epoch: f64) -> String {
    DateTime::from_timestamp(epoch as i64, 0)
        .map(|t| {
            t.with_timezone(&Local)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
        .unwrap_or_default()
}

fn now_epoch() -> f64 {
    let n = chrono::Utc::now();
    n.timestamp() as f64 + f64::from(n.timestamp_subsec_millis()) / 1000.0
}

impl Mem {
    /// Sets the state shown in `status`; `since` moves only when the state changes.
    fn show(&mut self, state: &str, now: f64, until: Option<f64>, why: Option<String>) {
        if self.view.state != state {
            self.view.state = state.to_string();
            self.view.since = rfc3339(now);
        }
        self.view.until = until.map(rfc3339);
        self.view.why = why;
    }

    fn event(
        &mut self,
        ctx: &Ctx,
        agent: &Agent,
        event: &str,
        why: &str,
        mut fields: serde_json::Value,
    ) {
        if let serde_json::Value::Object(m) = &mut fields {
            m.insert("name".into(), json!(agent.name));
            m.insert("session".into(), json!(agent.session));
            m.insert("why".into(), json!(why));
        }
        ctx.events.emit(event, fields);
        self.view.event = Some(LastEvent {
            ts: Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            event: event.to_string(),
            why: why.to_string(),
        });
    }
}

/// The per-fleet memory and the tick itself.
#[derive(Debug, Default)]
pub struct Ticker {
    pub mem: HashMap<String, Mem>,
    published: Option<BTreeMap<String, AgentView>>,
    /// A corrupt manifest was reported.
    manifest_reported: bool,
    /// That loop agents are not healed while the sequence is complete was logged.
    complete_reported: bool,
    /// A tick has run: an agent first seen later was added by a config reload.
    ticked: bool,
    /// Why `supervision.json` cannot be written (logged once, until it can again).
    publish_error: Option<String>,
}

fn evidence(r: &Reading) -> serde_json::Value {
    json!({
        "state": r.state.as_str(),
        "rule": r.rule,
        "line": r.line,
        "reset": r.reset.as_ref().map(|x| x.at.to_rfc3339()),
    })
}

impl Ticker {
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
        fleet_lock: Option<std::fs::File>,
    ) {
        let cfg = &ctx.cfg;
        let w = &cfg.watchdog;
        let policy = Policy::of(w);
        let limits = limit::Settings {
            slack: w.limit_reset_slack.as_secs_f64(),
            fallback: w.limit_probe_fallback.as_secs_f64(),
            grace: w.limit_self_resume_grace.as_secs_f64(),
        };
        let watched: Vec<&Agent> = cfg
            .agents
            .iter()
            .filter(|a| a.enabled && a.watch != Watch::None)
            .collect();
        let settled = self.settle_exits(ctx, sessions, &watched).await;
        let sessions = settled.as_ref().unwrap_or(sessions);
        // Dead panes too: a program that exited is restarted with its last lines quoted.
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
        let panes = ctx.tmux.capture_many_with(&existing, &dead).await;
        // The process each session was started with (read under the fleet lock, so it
        // matches `sessions`); a corrupt manifest is reported by `stop_orphans`.
        let manifest = ctx.state.manifest().load().unwrap_or_default();
        let captured = Local::now().fixed_offset();
        let local = detect::reset::local_zone();
        let now = now_epoch();
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
            // `up` removes the fatal marker, `restart` asks for a reset: the count starts over.
            let fatal_marker = ctx.state.is_fatal(&a.name);
            if (mem.history.fatal && !fatal_marker) || ctx.state.take_reset(&a.name) {
                mem.history = History::default();
            }
            mem.history.fatal = fatal_marker;
            mem.view.restarts = mem.history.recent(&policy, now);
            let down = ctx.state.is_down(&a.name);
            if down {
                mem.history = History::default();
                mem.stall = Stall::default();
                mem.confirm.reset();
            }
            // A dead pane's status, when tmux lost it, from the line tmux drew under it.
            let exited = sessions
                .get(&a.session)
                .filter(|p| p.dead)
                .map(|_| detect::exited::read(panes.get(&a.session).map_or("", |t| t)));
            let fixed = sessions.get(&a.session).map(|p| crate::tmux::PaneInfo {
                dead_status: p.dead_status.or(exited.as_ref().and_then(|e| e.status)),
                ..p.clone()
            });
            let pane = fixed.as_ref();
            let entry = manifest
                .sessions
                .get(&a.session)
                .filter(|e| e.name == a.name);
            let live = follow_liveness(ctx, a, backend, mem, pane, entry, now);
            let seen = Seen {
                pane,
                down,
                done: ctx.state.is_done(&a.name),
                sequence_complete,
                known_processes: &known,
            };
            if seen.down || seen.done || (sequence_complete && a.kind == Kind::Loop) {
                let st = if seen.down {
                    "down"
                } else if seen.done {
                    "done"
                } else if pane.is_some_and(|p| !p.dead) {
                    "idle"
                } else {
                    "stopped"
                };
                let why = (sequence_complete && !seen.down && !seen.done)
                    .then(|| "the phase sequence is complete: loop agents are not healed".into());
                mem.show(st, now, None, why);
                continue;
            }

            // Given up on (`fatal`): nothing is read, typed or restarted until `agents up` or
            // `agents restart` clears the marker. The view keeps the reason it gave up with.
            if mem.history.fatal {
                if mem.view.state != "fatal" {
                    let why = format!("gave up restarting; `agents up {}` revives it", a.name);
                    mem.show("fatal", now, None, Some(why));
                }
                continue;
            }

            let mut need: Option<(String, serde_json::Value)> = None;
            match heal::decide(a, backend, &seen, heavy) {
                Action::MarkDone(status) => {
                    match status {
                        Some(s) => tracing::info!(
                            "task {} finished with status {s} — done; it will not be restarted",
                            a.name
                        ),
                        None => tracing::warn!(
                            "task {} finished (tmux lost its exit status) — taken as done; `agents up {}` runs it again",
                            a.name,
                            a.name
                        ),
                    }
                    if let Err(e) = ctx.state.set_done(&a.name) {
                        tracing::error!("cannot record that {} is done: {e}", a.name);
                    }
                    mem.event(
                        ctx,
                        a,
                        "task-done",
                        "its program exited",
                        json!({"exit_status": status}),
                    );
                    mem.show("done", now, None, None);
                    continue;
                }
                Action::Restart(reason) => {
                    let (reason, ev) = match (pane, &exited) {
                        (None, _) if added => {
                            let r = "new in the config".to_string();
                            (
                                r.clone(),
                                json!({"state": "dead", "rule": "tmux", "line": r}),
                            )
                        }
                        (Some(p), Some(e)) => {
                            let r =
                                detect::exited::reason_after(e, p.dead_status, mem.exit.as_ref());
                            let ev = json!({"state": "dead", "rule": "pane_dead", "line": r,
                                            "exit_status": p.dead_status, "signal": e.signal,
                                            "last_lines": e.last});
                            if let Some(status) = p.dead_status {
                                mem.exit = Some(detect::exited::Known { status });
                            }
                            (r, ev)
                        }
                        _ => (
                            reason.clone(),
                            json!({"state": "dead", "rule": "tmux", "line": reason}),
                        ),
                    };
                    need = Some((reason, ev));
                }
                Action::Nothing => {}
            }

            if need.is_none()
                && let Some(p) = pane
                && let Some(text) = panes.get(&a.session)
            {
                let mut reading = detect::liveness(backend, p, &live)
                    .unwrap_or_else(|| detect::classify(backend, text, captured, local));
                if matches!(reading.state, State::Idle | State::Fatal)
                    && crate::typing::footer_log_active(ctx, backend, &a.session)
                {
                    reading.state = State::Active;
                    reading.rule = "log_grace";
                }
                need = self_supervise(
                    ctx,
                    a,
                    mem,
                    &reading,
                    text,
                    now,
                    &limits,
                    local,
                    &mut typing,
                );
            }

            let Some((reason, ev)) = need else {
                continue;
            };
            // A usage limit never spends restart budget (a gone session of a held agent).
            let held = matches!(mem.hold(ctx, &a.session), Ok(Some(h)) if h.until > now);
            let verdict = match mem.history.verdict(&policy, now) {
                Verdict::GiveUp { .. } if held => Verdict::Now,
                v => v,
            };
            // A restart of a held agent is paced but spends no restart budget.
            let record = |h: &mut History| {
                if held {
                    h.record_held(&policy, now)
                } else {
                    h.record(&policy, now)
                }
            };
            match verdict {
                Verdict::Now => match launch::prepare_agent(ctx, a, pane.is_some()) {
                    Ok(mut p) => {
                        let verb = if added && pane.is_none() {
                            "starting"
                        } else {
                            "restarting"
                        };
                        tracing::info!("{} ({}) {reason} — {verb}", a.name, a.session);
                        record(&mut mem.history);
                        mem.view.restarts = mem.history.recent(&policy, now);
                        mem.confirm.reset();
                        mem.stall = Stall::default();
                        mem.stall_restart = None;
                        mem.start_error = None;
                        mem.waiting_until = None;
                        mem.show("starting", now, None, Some(reason.clone()));
                        mem.view.event = Some(LastEvent {
                            ts: Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                            event: "restart".into(),
                            why: reason.clone(),
                        });
                        p.evidence = ev;
                        restarts.push((p, reason));
                    }
                    Err(e) => {
                        if mem.start_error != Some(e.kind) {
                            tracing::error!(
                                "cannot restart {} ({reason}): {e}; retrying with backoff",
                                a.name
                            );
                            mem.event(
                                ctx,
                                a,
                                "restart-failed",
                                &reason,
                                json!({"error": e.to_string()}),
                            );
                            mem.start_error = Some(e.kind);
                        }
                        record(&mut mem.history);
                        mem.show("backoff", now, None, Some(reason));
                    }
                },
                Verdict::Wait { until } => {
                    if mem.waiting_until != Some(until) {
                        tracing::info!(
                            "{} needs a restart ({reason}); backing off for {:.0} s",
                            a.name,
                            until - now
                        );
                        mem.event(
                            ctx,
                            a,
                            "backoff",
                            &reason,
                            json!({"until": rfc3339(until), "evidence": ev}),
                        );
                        mem.waiting_until = Some(until);
                    }
                    mem.show("backoff", now, Some(until), Some(reason));
                }
                Verdict::GiveUp { restarts: n } => {
                    let why = format!(
                        "{n} restarts within {:.0} s (max_restarts = {}); last: {reason}",
                        policy.restart_window, policy.max_restarts
                    );
                    tracing::error!(
                        "{} is fatal: {why} — no more restarts until `agents up {}`",
                        a.name,
                        a.name
                    );
                    if let Err(e) = ctx.state.set_fatal(&a.name, &why) {
                        tracing::error!("cannot record that {} is fatal: {e}", a.name);
                    }
                    mem.history.fatal = true;
                    mem.stall_restart = None;
                    mem.event(
                        ctx,
                        a,
                        "fatal",
                        &why,
                        json!({"restarts": n, "evidence": ev}),
                    );
                    mem.show("fatal", now, None, Some(why));
                }
                Verdict::Fatal => {
                    let why = format!("gave up restarting; `agents up {}` revives it", a.name);
                    mem.show("fatal", now, None, Some(why));
                }
            }
        }
        self.ticked = true;

        // The server may have gone while this tick decided (`kill-server`): ask again before
        // starting anything, so a dying watchdog never starts a server of its own.
        if !restarts.is_empty()
            && ctx
                .tmux
                .sessions()
                .await
                .is_ok_and(|s| super::inside_gone_server(&s))
        {
            return;
        }
        self.stop_orphans(ctx, sessions).await;
        // A session still there is stopped first, leaving nothing of it running (its stop
        // keys, the session, every process under its pane), all at once.
        let targets: Vec<stop::Target> = restarts
            .iter()
            .filter(|(p, _)| sessions.get(&p.spec.name).is_some())
            .filter_map(|(p, _)| cfg.agent(&p.name).map(|a| stop::agent_target(ctx, a)))
            .collect();
        match stop::stop(ctx, &targets).await {
            Ok(killed) => {
                if killed > 0 {
                    tracing::info!("{killed} process(es) outlived their session and were killed");
                }
                for (p, _) in &mut restarts {
                    p.spec.replace = false;
                }
            }
            Err(e) => tracing::warn!("stopping before the restart: {e}"),
        }
        // Ping kickoffs are delivered in the background: a TUI's `connect_delay` does not hold
        // up this tick, the other agents, or a SIGTERM.
        for (name, r) in launch::launch_detached(ctx, &restarts, "restart").await {
            if let Err(e) = r
                && let Some(m) = self.mem.get_mut(&name)
                && m.start_error != Some(launch::StartErrorKind::Session)
            {
                tracing::error!("{e}; retrying with backoff");
                m.start_error = Some(launch::StartErrorKind::Session);
            }
        }
        // What `status` compares with the manifest to tell a view made old by a newer start.
        let manifest = ctx.state.manifest().load().unwrap_or_default();
        for a in &ctx.cfg.agents {
            if let Some(m) = self.mem.get_mut(&a.name) {
                m.view.started = manifest
                    .sessions
                    .get(&a.session)
                    .filter(|e| e.name == a.name)
                    .map(|e| e.started.clone());
            }
        }
        drop(fleet_lock);
        let deliveries = typing.iter().map(|t| async move {
            let agent = ctx.cfg.agent(&t.name).expect("typing is for agents");
            let backend = ctx.cfg.backend_of(agent);
            let msg = Message {
                name: &t.name,
                session: &t.session,
                text: &t.text,
                purpose: t.purpose,
                key_only: t.key_only,
            };
            let r = if t.purpose == "stall-nudge" {
                // A nudge is for an idle agent: read again under the typing lock, so that one
                // decided this tick is not typed into work an `agents send` (or a ping) started
                // while it waited for the lock.
                typing::deliver_when_idle(ctx, backend, msg, std::time::Duration::ZERO).await
            } else {
                Ok(typing::deliver(ctx, backend, msg).await)
            };
            (t, r)
        });
        for (t, r) in futures_util::future::join_all(deliveries).await {
            let r = match r {
                Ok(r) => r,
                Err(why) => {
                    tracing::info!("{}: the {} was not typed: {why}", t.name, t.purpose);
                    continue;
                }
            };
            match r.why() {
                None => tracing::info!("{}: typed the {} ({:?})", t.name, t.purpose, t.text),
                Some(e) => tracing::warn!("{}: the {} was {}: {e}", t.name, t.purpose, r.as_str()),
            }
        }
        self.publish(ctx);
    }

    /// tmux marks a pane dead when its output ends and learns the exit status when it reaps
    /// the process, a moment later: a watchdog woken by the `pane-died` hook can see a dead
    /// pane without its status. For a pane newly seen so (once per dead pane, not again on
    /// later ticks), `list-panes` is asked again, every [`EXIT_STATUS_POLL`] up to
    /// [`EXIT_STATUS_POLLS`] times, so the restart says how the program exited. Returns the
    /// newer listing, if one was taken.
    async fn settle_exits(
        &mut self,
        ctx: &Ctx,
        sessions: &crate::tmux::Sessions,
        watched: &[&Agent],
    ) -> Option<crate::tmux::Sessions> {
        let unsettled = |s: &crate::tmux::Sessions, mem: &HashMap<String, Mem>| {
            watched
                .iter()
                .filter(|a| {
                    s.get(&a.session).is_some_and(|p| {
                        p.dead
                            && p.dead_status.is_none()
                            && mem.get(&a.name).is_none_or(|m| m.exit_waited != p.pid)
                    })
                })
                .map(|a| a.name.clone())
                .collect::<Vec<_>>()
        };
        let first = unsettled(sessions, &self.mem);
        if first.is_empty() {
            return None;
        }
        let mut latest = None;
        for _ in 0..EXIT_STATUS_POLLS {
            tokio::time::sleep(EXIT_STATUS_POLL).await;
            let Ok(now) = ctx.tmux.sessions().await else {
                break;
            };
            let done = unsettled(&now, &self.mem).is_empty();
            latest = Some(now);
            if done {
                break;
            }
        }
        let last = latest.as_ref().unwrap_or(sessions);
        for name in first {
            let session = &ctx.cfg.agent(&name).expect("a watched agent").session;
            self.mem.entry(name).or_default().exit_waited = last.get(session).and_then(|p| p.pid);
        }
        latest
    }

    /// Stops the sessions this fleet started whose agent left the config (renamed, removed,
    /// a changed `session_prefix`), as `supervisorctl update` does, and forgets manifest
    /// entries whose session is gone. Never its own session.
    async fn stop_orphans(&mut self, ctx: &Ctx, sessions: &crate::tmux::Sessions) {
        let file = ctx.state.manifest();
        let manifest = match file.load() {
            Ok(m) => m,
            Err(e) => {
                if !self.manifest_reported {
                    tracing::warn!("{e}");
                    ctx.events.emit("state-corrupt", json!({"why": e}));
                    self.manifest_reported = true;
                }
                return;
            }
        };
        self.manifest_reported = false;
        let current = ctx.cfg.session_names();
        let me = std::process::id();
        let mut gone = Vec::new();
        let mut targets = Vec::new();
        for (session, entry) in crate::state::manifest::orphans(&manifest, &current) {
            match sessions.get(session) {
                None => gone.push(session.clone()),
                Some(p) if p.pid == Some(me) => {}
                Some(_) => {
                    tracing::warn!(
                        "{session} ({}) is no longer in the config — stopping it",
                        entry.name
                    );
                    ctx.events.emit(
                        "orphan-stopped",
                        json!({"name": entry.name, "session": session,
                               "why": "its agent is no longer in the config"}),
                    );
                    targets.push(stop::plain_target(session));
                    gone.push(session.clone());
                }
            }
        }
        if let Err(e) = stop::stop(ctx, &targets).await {
            tracing::warn!("stopping sessions the config no longer names: {e}");
        }
        if let Err(e) = file.remove(&gone) {
            tracing::warn!("cannot update the manifest: {e}");
        }
    }

    /// Writes `state/supervision.json` when what it shows changed.
    fn publish(&mut self, ctx: &Ctx) {
        let agents: BTreeMap<String, AgentView> = self
            .mem
            .iter()
            .map(|(k, m)| (k.clone(), m.view.clone()))
            .collect();
        if self.published.as_ref() == Some(&agents) {
            return;
        }
        let view = Supervision {
            pid: std::process::id(),
            updated: Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            agents: agents.clone(),
        };
        match ctx.state.set_supervision(&view) {
            Ok(()) => {
                self.published = Some(agents);
                if self.publish_error.take().is_some() {
                    tracing::info!(
                        "{} is written again",
                        ctx.state.supervision_path().display()
                    );
                }
            }
            // Once, not every tick: the state dir stays unwritable (or its disk full) for a
            // while, and `status` says so meanwhile.
            Err(e) => {
                let e = e.to_string();
                if self.publish_error.as_deref() != Some(e.as_str()) {
                    tracing::warn!(
                        "cannot write {}: {e}; `status` shows old states until it can (retried every tick, logged once)",
                        ctx.state.supervision_path().display()
                    );
                }
                self.publish_error = Some(e);
            }
        }
    }
}

/// Follows what tells whether `a`'s pane still runs its program: the process the session was
/// started with (`entry.process`, recorded at launch) against the pane's pid and `/proc`,
/// and whether the pane showed the backend's `process_name` since that start. A
/// `process_name` never shown within [`PROCESS_NAME_GRACE`] is warned about once per agent:
/// liveness is then read from the process only (a bare shell in the pane is not taken for a
/// crash, since the name is no evidence).
fn follow_liveness(
    ctx: &Ctx,
    a: &Agent,
    backend: &crate::config::Backend,
    mem: &mut Mem,
    pane: Option<&crate::tmux::PaneInfo>,
    entry: Option<&crate::state::manifest::Entry>,
    now: f64,
) -> detect::Liveness {
    let stamp = entry.map(|e| e.started.clone());
    if mem.launch != stamp {
        mem.launch = stamp;
        mem.showed_program = false;
        mem.live_since = None;
    }
    let Some(p) = pane.filter(|p| !p.dead) else {
        return detect::Liveness {
            process: detect::Process::Unknown,
            showed_program: mem.showed_program,
        };
    };
    let since = *mem.live_since.get_or_insert(now);
    let process = launch::proctree::follow(entry.and_then(|e| e.process), p);
    if let Some(expected) = &backend.process_name {
        if p.command == *expected {
            mem.showed_program = true;
        } else if !mem.showed_program && !mem.name_warned && now - since >= PROCESS_NAME_GRACE {
            mem.name_warned = true;
            let why = format!(
                "backend {} declares process_name {expected:?} but the pane of {} runs {:?}; liveness is read from the process instead (a bare shell there is not taken for a crash)",
                backend.name, a.name, p.command
            );
            tracing::warn!("{why}");
            mem.event(
                ctx,
                a,
                "process-name",
                &why,
                json!({"process_name": expected, "command": p.command}),
            );
        }
    }
    detect::Liveness {
        process,
        showed_program: mem.showed_program,
    }
}

/// Supervises a live agent from its reading: the limit hold, then fatal screens, bare shells,
/// dialogs and stalls. Returns a restart to make (reason, evidence), if any.
#[allow(clippy::too_many_arguments)]
fn self_supervise(
    ctx: &Ctx,
    a: &Agent,
    mem: &mut Mem,
    reading: &Reading,
    text: &str,
    now: f64,
    limits: &limit::Settings,
    local: chrono_tz::Tz,
    typing: &mut Vec<Typing>,
) -> Option<(String, serde_json::Value)> {
    let backend = ctx.cfg.backend_of(a);
    // The usage-limit hold.
    let hold = match mem.hold(ctx, &a.session) {
        Ok(h) => {
            mem.corrupt_reported = false;
            h
        }
        Err(e) => {
            if !mem.corrupt_reported {
                tracing::warn!("{}: {e}", a.name);
                mem.event(ctx, a, "state-corrupt", &e, json!({}));
                mem.corrupt_reported = true;
            }
            None
        }
    };
    // A corrupt promise is reported once and treated as absent (the rest of the hold holds).
    match hold.as_ref().map(|h| &h.self_resume) {
        Some(limit::Promise::Corrupt(what)) => {
            if !mem.promise_corrupt_reported {
                let why = format!(
                    "{}: its self_resume field is not a promise ({what}); treated as absent",
                    ctx.state.limit_path(&a.session).display()
                );
                tracing::warn!("{}: {why}", a.name);
                mem.event(ctx, a, "state-corrupt", &why, json!({}));
                mem.promise_corrupt_reported = true;
            }
        }
        _ => mem.promise_corrupt_reported = false,
    }
    let step = limit::step(hold.as_ref(), reading, now, limits, mem.old_news.as_ref());
    // Written when it changed, and retried every tick while an earlier write failed.
    if step.hold != hold || mem.unsaved_hold.is_some() {
        let written = match &step.hold {
            Some(h) => ctx.state.set_limit(&a.session, h),
            None => ctx.state.clear_limit(&a.session),
        };
        match written {
            Ok(()) => {
                if mem.unsaved_hold.take().is_some() {
                    tracing::info!("{}: the limit hold is recorded again", a.name);
                }
                mem.hold_error = None;
            }
            Err(e) => {
                let e = e.to_string();
                if mem.hold_error.as_deref() != Some(e.as_str()) {
                    tracing::error!(
                        "{}: cannot record the limit hold in {}: {e}; kept in memory (a watchdog restart loses it) until it can be written",
                        a.name,
                        ctx.state.limit_path(&a.session).display()
                    );
                }
                mem.hold_error = Some(e);
                mem.unsaved_hold = Some(step.hold.clone());
            }
        }
    }
    if let Some((event, why)) = &step.event {
        let until = step.hold.as_ref().map(|h| rfc3339(h.until));
        match *event {
            "limit-hit" => tracing::warn!(
                "{} hit a usage limit: {} — {why}{}",
                a.name,
                reading.line.as_deref().unwrap_or(""),
                until
                    .as_deref()
                    .map(|u| format!(" (until {u})"))
                    .unwrap_or_default()
            ),
            _ => tracing::info!("{}: {event}: {why}", a.name),
        }
        if let Some(old) = &step.old_news {
            mem.old_news = Some(old.clone());
        }
        mem.event(
            ctx,
            a,
            event,
            why,
            json!({
                "until": until,
                "nudges": step.hold.as_ref().map(|h| h.nudges),
                "self_resume": step.hold.as_ref().and_then(|h| h.self_resume.made()).map(|p| rfc3339(p.at)),
                "evidence": evidence(reading),
            }),
        );
    }
    match &step.action {
        LimitAction::Answer(key) => {
            mem.event(
                ctx,
                a,
                "limit-choice",
                "a limit chooser is open: picking its wait option",
                json!({"key": key, "evidence": evidence(reading)}),
            );
            typing.push(Typing {
                name: a.name.clone(),
                session: a.session.clone(),
                text: key.clone(),
                purpose: "limit-choice",
                key_only: true,
            });
        }
        LimitAction::Nudge => typing.push(Typing {
            name: a.name.clone(),
            session: a.session.clone(),
            text: resume_nudge(a).to_string(),
            purpose: "limit-resume",
            key_only: false,
        }),
        LimitAction::Wait => {}
    }
    if let Some(h) = &step.hold {
        mem.stall = Stall::default();
        mem.confirm.reset();
        let why = match (h.self_resume.made(), &h.line) {
            (Some(p), Some(l)) => Some(format!(
                "{l} — continues by itself at {}",
                limit::clock(p.at)
            )),
            (Some(p), None) => Some(format!("continues by itself at {}", limit::clock(p.at))),
            (None, l) => l.clone(),
        };
        mem.show("limited", now, Some(h.until), why);
        return None;
    }

    let line = reading.line.clone();
    // A banner that is old news (see `old_news`) is an idle screen.
    let state = match reading.state {
        State::Limited => State::Idle,
        s => s,
    };
    let confirmed = mem.confirm.confirmed(state);
    match state {
        State::Dead | State::Fatal => {
            let why = match state {
                State::Fatal => format!("fatal screen: {}", line.as_deref().unwrap_or("")),
                _ => line.clone().unwrap_or_else(|| "dead".into()),
            };
            if confirmed {
                return Some((why, evidence(reading)));
            }
            // One reading is not enough for a restart: the state shown stays as it was.
            tracing::debug!(
                "{}: {why} (1 reading; restart after {})",
                a.name,
                supervise::CONFIRM_READS
            );
            mem.view.why = Some(format!("{why} (seen once)"));
            return None;
        }
        State::Dialog => {
            mem.stall = Stall::default();
            if mem.dialog != line {
                tracing::warn!(
                    "{} shows a dialog that waits for a person: {} — not touched",
                    a.name,
                    line.as_deref().unwrap_or("")
                );
                mem.event(
                    ctx,
                    a,
                    "dialog",
                    "the screen waits for a person",
                    json!({"evidence": evidence(reading)}),
                );
                mem.dialog = line.clone();
            }
            mem.show("dialog", now, None, line);
            return None;
        }
        _ => mem.dialog = None,
    }
    if a.watch == Watch::HealStall {
        // A stall restart waiting out its backoff: still idle, it stays due (nothing typed);
        // activity calls it off.
        if let Some(why) = mem.stall_restart.clone() {
            if state == State::Idle {
                return Some((why, evidence(reading)));
            }
            mem.stall_restart = None;
            tracing::info!("{} works again: its stall restart is called off", a.name);
        }
        let waiting = detect::waiting_until(backend, text, local).map(|t| t.timestamp() as f64);
        let w = &ctx.cfg.watchdog;
        // A blank screen is a CLI still starting for one more stall_idle: the clock starts
        // with the first screen drawn, or when that has passed.
        let stall_state = if reading.is_blank() {
            let since = *mem.blank_since.get_or_insert(now);
            if now - since < STARTING_BLANK * backend.stall_idle.as_secs_f64() {
                State::Active
            } else {
                state
            }
        } else {
            mem.blank_since = None;
            state
        };
        match mem.stall.step(
            stall_state,
            waiting,
            now,
            backend.stall_idle.as_secs_f64(),
            w.stall_grace.as_secs_f64(),
        ) {
            // No nudge while a restart waits out its backoff: the conversation gets nothing
            // typed that the restart is about to end.
            StallStep::Nudge { .. } if mem.waiting_until.is_some_and(|u| u > now) => {
                mem.stall.nudged_at = None;
            }
            StallStep::Nudge { idle } => {
                let why = format!(
                    "idle {idle:.0} s (stall_idle = {:.0} s)",
                    backend.stall_idle.as_secs_f64()
                );
                tracing::info!("{} is stalled: {why} — nudging", a.name);
                mem.event(
                    ctx,
                    a,
                    "stall-nudge",
                    &why,
                    json!({"evidence": evidence(reading)}),
                );
                typing.push(Typing {
                    name: a.name.clone(),
                    session: a.session.clone(),
                    text: backend.stall_nudge.clone(),
                    purpose: "stall-nudge",
                    key_only: false,
                });
                mem.show("stalled", now, None, Some(why));
                return None;
            }
            StallStep::Restart(why) => {
                mem.stall_restart = Some(why.clone());
                return Some((why, evidence(reading)));
            }
            StallStep::Nothing => {
                if mem.stall.nudged_at.is_some() {
                    mem.show("stalled", now, None, mem.view.why.clone());
                    return None;
                }
            }
        }
    }
    mem.show(state.as_str(), now, None, line);
    None
}
