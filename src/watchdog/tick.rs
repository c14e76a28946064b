//! One watchdog tick: gather what every watched agent shows (one `list-panes` and one capture
//! call for the whole fleet, the state files), let the per-agent rule
//! ([`crate::supervise::agent::step`], where the order of decisions lives) decide, and carry
//! the decisions out — restarts (stopping what is left of the old session first), state
//! files, events, chooser answers, resume and stall nudges — then publish what it saw in
//! `state/supervision.json` for `status`. A program that exited is restarted with the last
//! lines it printed (its dead pane is captured with the live ones). Every decision is a line
//! in `events.jsonl` with its evidence, `restart` included.

use std::collections::{BTreeMap, HashMap};

use chrono::Local;
use serde_json::json;

use crate::config::{Agent, Watch};
use crate::ctx::Ctx;
use crate::detect;
use crate::launch::{self, Prepared, stop};
use crate::state::{AgentView, Supervision};
use crate::supervise::agent::{self, Decision, Level, Observation};
use crate::supervise::limit;
use crate::supervise::restart::Policy;
use crate::typing::{self, Message};

/// What the watchdog remembers about one agent between ticks: the policy's memory, and what
/// gathering and carrying out need.
#[derive(Debug, Default)]
pub struct Mem {
    /// The per-agent rule's memory (with the view `status` shows).
    pub agent: agent::Memory,
    /// The kind of the last start error: a failure of the same kind is logged once.
    start_error: Option<launch::StartErrorKind>,
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

    /// Writes `event` for agent `a` in `events.jsonl` and shows it as its last event.
    fn event(&mut self, ctx: &Ctx, a: &Agent, event: &str, why: &str, fields: serde_json::Value) {
        emit(ctx, a, event, why, fields);
        self.agent.note(event, why, now_epoch());
    }
}

/// Writes `event` for agent `a` in `events.jsonl`, with its name, session and `why`.
fn emit(ctx: &Ctx, a: &Agent, event: &str, why: &str, mut fields: serde_json::Value) {
    if let serde_json::Value::Object(m) = &mut fields {
        m.insert("name".into(), json!(a.name));
        m.insert("session".into(), json!(a.session));
        m.insert("why".into(), json!(why));
    }
    ctx.events.emit(event, fields);
}

pub use agent::{STARTING_BLANK, resume_nudge};

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

fn now_epoch() -> f64 {
    let n = chrono::Utc::now();
    n.timestamp() as f64 + f64::from(n.timestamp_subsec_millis()) / 1000.0
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
        let zone = detect::reset::local_zone();
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
            // A dead pane's status, when tmux lost it, from the line tmux drew under it.
            let text = panes.get(&a.session);
            let exited = sessions
                .get(&a.session)
                .filter(|p| p.dead)
                .map(|_| detect::exited::read(text.map_or("", |t| t)));
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
            let reading = pane.zip(text).map(|(p, text)| {
                let log_age = backend
                    .footer_ui
                    .then(|| std::fs::metadata(cfg.session_log(&a.session)).ok())
                    .flatten()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.elapsed().ok());
                let facts = detect::Facts {
                    pane: p,
                    live: &live,
                    text,
                    log_age,
                    captured,
                    zone,
                };
                detect::observe(backend, &facts)
            });
            let obs = Observation {
                pane,
                exited: exited.as_ref(),
                reading,
                waiting_until: text
                    .and_then(|t| detect::waiting_until(backend, t, zone))
                    .map(|t| t.timestamp() as f64),
                down: ctx.state.is_down(&a.name),
                done: ctx.state.is_done(&a.name),
                fatal_marker: ctx.state.is_fatal(&a.name),
                reset: ctx.state.take_reset(&a.name),
                sequence_complete,
                added,
                heavy,
                hold: mem.hold(ctx, &a.session),
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
            if let Some(r) = apply(ctx, a, mem, d, &mut typing) {
                match launch::prepare_agent(ctx, a, pane.is_some()) {
                    Ok(mut p) => {
                        let verb = if r.first { "starting" } else { "restarting" };
                        tracing::info!("{} ({}) {} — {verb}", a.name, a.session, r.reason);
                        mem.agent.started(&r, &policy, now);
                        mem.start_error = None;
                        p.evidence = r.evidence;
                        restarts.push((p, r.reason));
                    }
                    Err(e) => {
                        if mem.start_error != Some(e.kind) {
                            tracing::error!(
                                "cannot restart {} ({}): {e}; retrying with backoff",
                                a.name,
                                r.reason
                            );
                            mem.event(
                                ctx,
                                a,
                                "restart-failed",
                                &r.reason,
                                json!({"error": e.to_string()}),
                            );
                            mem.start_error = Some(e.kind);
                        }
                        mem.agent.start_failed(&r, &policy, now);
                    }
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
                m.agent.view.started = manifest
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
            .map(|(k, m)| (k.clone(), m.agent.view.clone()))
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

/// Carries out what the rule decided for agent `a` but the restart: its memory, log lines,
/// state files (done, fatal, the limit hold) and events, and queues what it types. Returns
/// the restart it allows now, for the caller to prepare.
fn apply(
    ctx: &Ctx,
    a: &Agent,
    mem: &mut Mem,
    d: Decision,
    typing: &mut Vec<Typing>,
) -> Option<agent::Restart> {
    mem.agent = d.memory;
    for l in &d.logs {
        match l.level {
            Level::Debug => tracing::debug!("{}", l.text),
            Level::Info => tracing::info!("{}", l.text),
            Level::Warn => tracing::warn!("{}", l.text),
            Level::Error => tracing::error!("{}", l.text),
        }
    }
    if d.mark_done
        && let Err(e) = ctx.state.set_done(&a.name)
    {
        tracing::error!("cannot record that {} is done: {e}", a.name);
    }
    if let Some(why) = &d.give_up
        && let Err(e) = ctx.state.set_fatal(&a.name, why)
    {
        tracing::error!("cannot record that {} is fatal: {e}", a.name);
    }
    // Written when it changed, and retried every tick while an earlier write failed.
    if let Some(u) = d.hold
        && (u.changed || mem.unsaved_hold.is_some())
    {
        let written = match &u.hold {
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
                mem.unsaved_hold = Some(u.hold);
            }
        }
    }
    for e in d.events {
        emit(ctx, a, e.event, &e.why, e.fields);
    }
    typing.extend(d.typing.into_iter().map(|t| Typing {
        name: a.name.clone(),
        session: a.session.clone(),
        text: t.text,
        purpose: t.purpose,
        key_only: t.key_only,
    }));
    d.restart
}
