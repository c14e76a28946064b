//! Carrying out what the per-agent rule ([`crate::supervise::agent::step`]) decided: its log
//! lines, state files and events; the restarts it allows (prepared, the old session stopped,
//! the new one launched); the text it types; and what `status` shows
//! (`state/supervision.json`).

use std::collections::{BTreeMap, HashMap};

use chrono::Local;
use serde_json::json;

use super::tick::{Mem, Ticker};
use crate::config::Agent;
use crate::ctx::Ctx;
use crate::launch::{self, Prepared, stop};
use crate::state::{AgentView, Supervision};
use crate::supervise::agent::{self, Decision, Level};
use crate::supervise::restart::Policy;
use crate::typing::{self, Message};

/// Text to type into an agent, decided this tick.
pub(super) struct Typing {
    name: String,
    session: String,
    t: agent::Type,
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

impl Mem {
    /// Writes `event` for agent `a` in `events.jsonl` and shows it as its last event, at
    /// `now` (epoch seconds, the tick's).
    pub(super) fn event(&mut self, ctx: &Ctx, a: &Agent, e: agent::Event, now: f64) {
        emit(ctx, a, e.event, &e.why, e.fields);
        self.agent.note(e.event, &e.why, now);
    }
}

/// Carries out what the rule decided for agent `a` but the restart: its memory, log lines,
/// state files (done, fatal, the limit hold) and events, and queues what it types. Returns
/// the restart it allows now (see [`prepare`]).
pub(super) fn apply(
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
        t,
    }));
    d.restart
}

/// Prepares restart `r` of agent `a` (its kickoff, its session's spec) and queues it;
/// `exists`: its session is still there. A failure is logged once per kind and counted
/// like a restart (the next try backs off).
#[allow(clippy::too_many_arguments)]
pub(super) fn prepare(
    ctx: &Ctx,
    a: &Agent,
    mem: &mut Mem,
    r: agent::Restart,
    exists: bool,
    policy: &Policy,
    now: f64,
    restarts: &mut Vec<(Prepared, String)>,
) {
    match launch::prepare_agent(ctx, a, exists) {
        Ok(mut p) => {
            let verb = if r.first { "starting" } else { "restarting" };
            tracing::info!("{} ({}) {} — {verb}", a.name, a.session, r.reason);
            mem.agent.started(&r, policy, now);
            mem.start_error = None;
            p.evidence = r.evidence;
            p.cause = Some(r.cause);
            restarts.push((p, r.reason));
        }
        Err(e) => {
            if mem.start_error != Some(e.kind) {
                tracing::error!(
                    "cannot restart {} ({}): {e}; retrying with backoff",
                    a.name,
                    r.reason
                );
                let fields = json!({"error": e.to_string()});
                let why = r.reason.clone();
                mem.event(
                    ctx,
                    a,
                    agent::Event {
                        event: "restart-failed",
                        why,
                        fields,
                    },
                    now,
                );
                mem.start_error = Some(e.kind);
            }
            mem.agent.start_failed(&r, policy, now);
        }
    }
}

/// Starts the prepared restarts: a session still there is stopped first, leaving nothing of
/// it running (its stop keys, the session, every process under its pane), all at once; then
/// the new sessions are launched (ping kickoffs in the background: a TUI's `connect_delay`
/// does not hold up this tick, the other agents, or a SIGTERM). Then each view gets the
/// `started` stamp `status` compares with the manifest to tell a view made old by a newer
/// start.
pub(super) async fn start(
    ctx: &Ctx,
    sessions: &crate::tmux::Sessions,
    mut restarts: Vec<(Prepared, String)>,
    mem: &mut HashMap<String, Mem>,
) {
    let targets: Vec<stop::Target> = restarts
        .iter()
        .filter(|(p, _)| sessions.get(&p.spec.name).is_some())
        .filter_map(|(p, _)| ctx.cfg.agent(&p.name).map(|a| stop::agent_target(ctx, a)))
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
    for (name, r) in launch::launch_detached(ctx, &restarts, "restart").await {
        if let Err(e) = r
            && let Some(m) = mem.get_mut(&name)
            && m.start_error != Some(launch::StartErrorKind::Session)
        {
            tracing::error!("{e}; retrying with backoff");
            m.start_error = Some(launch::StartErrorKind::Session);
        }
    }
    let manifest = ctx.state.manifest().load().unwrap_or_default();
    for a in &ctx.cfg.agents {
        if let Some(m) = mem.get_mut(&a.name) {
            m.agent.view.started = manifest
                .sessions
                .get(&a.session)
                .filter(|e| e.name == a.name)
                .map(|e| e.started.clone());
        }
    }
}

/// Types what was decided this tick, all agents at once, and logs how each went.
pub(super) async fn deliver(ctx: &Ctx, typing: &[Typing]) {
    let deliveries = typing.iter().map(|t| async move {
        let agent = ctx.cfg.agent(&t.name).expect("typing is for agents");
        let backend = ctx.cfg.backend_of(agent);
        let msg = Message {
            name: &t.name,
            session: &t.session,
            text: &t.t.text,
            purpose: t.t.purpose,
            key_only: t.t.key_only,
        };
        let r = if t.t.when_idle {
            typing::deliver_when_idle(ctx, backend, msg, std::time::Duration::ZERO).await
        } else {
            Ok(typing::deliver(ctx, backend, msg).await)
        };
        (t, r)
    });
    for (t, r) in futures_util::future::join_all(deliveries).await {
        let (name, purpose) = (&t.name, t.t.purpose);
        let r = match r {
            Ok(r) => r,
            Err(why) => {
                tracing::info!("{name}: the {purpose} was not typed: {why}");
                continue;
            }
        };
        match r.why() {
            None => tracing::info!("{name}: typed the {purpose} ({:?})", t.t.text),
            Some(e) => tracing::warn!("{name}: the {purpose} was {}: {e}", r.as_str()),
        }
    }
}

impl Ticker {
    /// Writes `state/supervision.json`: durably when what it shows changed, else (only the
    /// tick count and time moved on) without the fsync, as nothing is lost when a crash
    /// loses that write.
    pub(super) fn publish(&mut self, ctx: &Ctx) {
        let agents: BTreeMap<String, AgentView> = self
            .mem
            .iter()
            .map(|(k, m)| (k.clone(), m.agent.view.clone()))
            .collect();
        let changed = self.published.as_ref() != Some(&agents);
        let view = Supervision {
            pid: std::process::id(),
            updated: Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            agents: agents.clone(),
            ticks: self.ticks,
            tick_ms: self.read_time.map(|d| d.as_secs_f64() * 1000.0),
        };
        let written = if changed {
            ctx.state.set_supervision(&view)
        } else {
            serde_json::to_string_pretty(&view)
                .map_err(std::io::Error::other)
                .and_then(|text| {
                    crate::state::atomic::write_fast(&ctx.state.supervision_path(), text.as_bytes())
                })
        };
        match written {
            Ok(()) => {
                self.published = Some(agents);
                if self.publish_error.take().is_some() {
                    tracing::info!(
                        "{} is written again",
                        ctx.state.supervision_path().display()
                    );
                }
            }
            // Once a failing stretch, not every tick: the state dir stays unwritable (or its
            // disk full) for a while, and `status` says so meanwhile. Not again when only the
            // error's words change: a state dir replaced by a file fails the first write with
            // "Not a directory" when it goes mid-write, "File exists" at every write after.
            Err(e) => {
                let e = e.to_string();
                if self.publish_error.is_none() {
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
