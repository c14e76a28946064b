//! `agents status [--json]` — the phase line and one row per agent, service and the watchdog.
//!
//! The phase line is `id [i/n] plan=... (DONE | in progress | sequence complete)` (a DONE
//! written before the phase began says so: the watchdog does not advance on it); while
//! `SEQUENCE-COMPLETE` exists a line under it says that loop agents are not healed and why,
//! and with `[loop.handoff]` the last `handoff` event (read from the tail of `events.jsonl`)
//! follows. An agent's MODEL is the one its running session was started with (recorded in the
//! manifest at launch); when the config now says otherwise (a phase's `models`, an
//! `AGENT_MODEL_<name>` override) the change is shown as pending until a restart.
//!
//! An agent's state is one of `active`, `idle`, `limited` (+ until), `stalled`, `dialog`,
//! `backoff` (+ until), `fatal`, `starting`, `stopped`, `down`, `done`, `dead`, `disabled`
//! (`enabled = false` and no session: a disabled agent that runs, the `[loop.on_complete]`
//! task, is read like the others): what the running watchdog last saw and decided
//! (`state/supervision.json`) — unless the session was started or stopped since (`up`,
//! `restart`, `down`: the manifest's `started` stamp differs from the one the view was
//! written with), then `starting` for a session started in the last [`STARTING_SECS`],
//! else read afresh — else read here from tmux and the pane (one `list-panes` call, plus one
//! capture call for the agents the watchdog does not cover). When the state dir cannot be
//! written (a probe file: a read-only or full disk, the dir replaced by a file) a line says
//! that state is not being saved and the states shown may be old. When the watchdog is not
//! running (neither its session's program nor a watchdog in the foreground holding its lock)
//! while an enabled agent with `watch` other than `none` is neither down nor done, a line says
//! that it is not healed and how to start the watchdog. Exit status: 0 when every enabled agent
//! is healthy and the watchdog runs where needed; 3 (as `supervisorctl status` does, and
//! `systemctl status` for a unit not running) when one is `fatal`, or stopped or dead without
//! an operator's `down`, or the watchdog it needs is not running, or state is not being saved;
//! 1 on an error (no tmux, a bad config).

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use serde_json::Value;

use crate::config::{Agent, Kind, Watch};
use crate::ctx::Ctx;
use crate::detect;
use crate::launch::kickoff;
use crate::state::manifest::Manifest;
use crate::state::{AgentView, Supervision};
use crate::tmux::{PaneInfo, Sessions};

/// An agent whose session was started less than this many seconds ago, after the watchdog's
/// last view of it, is shown as `starting` (the watchdog reads it at its next tick).
pub(crate) const STARTING_SECS: i64 = 60;

/// The LAST EVENT column is cut to this many characters: room for a restart's reason with
/// the line its program printed before it exited (`--json` and `agents events` show it
/// whole).
pub(crate) const EVENT_CHARS: usize = 120;

/// Exit status when an enabled agent is fatal or stopped without `down`, or the watchdog
/// it needs is not running.
pub(crate) const EXIT_UNHEALTHY: u8 = 3;

/// The agents the watchdog would heal now: enabled, watched (`watch` not `none`), neither
/// stopped by `down` nor a finished task, and not a loop agent while the sequence is
/// complete. Non-empty: a watchdog must run.
fn needing_watchdog<'a>(ctx: &'a Ctx, marks: &crate::state::Markers<'_>) -> Vec<&'a str> {
    let complete = ctx.state.sequence_complete();
    ctx.cfg
        .agents
        .iter()
        .filter(|a| a.enabled && a.watch != Watch::None)
        .filter(|a| !marks.is_down(&a.name) && !marks.is_done(&a.name))
        .filter(|a| !(complete && a.kind == Kind::Loop))
        .map(|a| a.name.as_str())
        .collect()
}

/// `a1`, `a1 and a2`, `a1, a2 and a3`.
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [head @ .., last] => format!("{} and {last}", head.join(", ")),
    }
}

/// A session's state as shown for services and the watchdog.
fn session_word(pane: Option<&PaneInfo>) -> String {
    match pane {
        Some(p) if !p.dead => format!("running [{}]", p.command),
        Some(p) => match p.dead_status {
            Some(s) => format!("exited (status {s})"),
            None => "exited".into(),
        },
        None => "stopped".into(),
    }
}

/// One agent's row.
struct Row {
    view: AgentView,
    /// Counts against health (exit 3).
    unhealthy: bool,
}

fn local_time(rfc: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc).map_or_else(
        |_| rfc.to_string(),
        |t| {
            let t = t.with_timezone(&chrono::Local);
            if t.date_naive() == chrono::Local::now().date_naive() {
                t.format("%H:%M:%S").to_string()
            } else {
                t.format("%b %-d %H:%M").to_string()
            }
        },
    )
}

fn ago(rfc: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc) else {
        return "-".into();
    };
    let s = (chrono::Utc::now() - t.to_utc()).num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// From this many panes to read on, [`read_panes`] reads half of them on a second thread.
const READ_ON_TWO_THREADS: usize = 8;

/// The reading of every captured pane of a live session (by session name), as
/// [`detect::classify`] gives it: half of them on a second thread when there are at least
/// [`READ_ON_TWO_THREADS`] (a claude screen costs about 0.2M instructions to read; 50 of
/// them, milliseconds). A pane whose agent turns out not to need it (fatal, done) is read
/// for nothing.
fn read_panes(
    cfg: &crate::config::Config,
    panes: &HashMap<String, String>,
    sessions: &Sessions,
    now: chrono::DateTime<chrono::FixedOffset>,
    local: detect::Tz,
) -> HashMap<String, detect::Reading> {
    let work: Vec<(&str, &crate::config::Backend, &str)> = cfg
        .agents
        .iter()
        .filter(|a| sessions.is_live(&a.session))
        .filter_map(|a| {
            let text = panes.get(&a.session)?;
            Some((a.session.as_str(), cfg.backend_of(a), text.as_str()))
        })
        .collect();
    let read = |part: &[(&str, &crate::config::Backend, &str)]| {
        part.iter()
            .map(|&(s, b, t)| (s.to_string(), detect::classify(b, t, now, local)))
            .collect::<Vec<_>>()
    };
    if work.len() < READ_ON_TWO_THREADS {
        return read(&work).into_iter().collect();
    }
    let (first, second) = work.split_at(work.len() / 2);
    std::thread::scope(|scope| {
        let other = std::thread::Builder::new()
            .name("read-panes".into())
            .spawn_scoped(scope, || read(second));
        let mut out: HashMap<String, detect::Reading> = read(first).into_iter().collect();
        match other.map(std::thread::ScopedJoinHandle::join) {
            Ok(Ok(v)) => out.extend(v),
            // No second thread (or it failed): read them here.
            _ => out.extend(read(second)),
        }
        out
    })
}

/// Which panes [`rows`] will likely read, judged without tmux, for the tmux call to capture
/// (see [`Early`]): every session the manifest records, none without one (`None`: also when
/// the watchdog's lock is held, since its view covers the agents). A wrong guess costs one
/// more tmux call (an agent the view does not cover yet), never a wrong row: [`rows`]
/// decides on what tmux says.
fn guess(ctx: &Ctx, manifest: Option<&Manifest>) -> Vec<String> {
    let Some(manifest) = manifest else {
        return Vec::new();
    };
    ctx.cfg
        .agents
        .iter()
        .filter(|a| {
            manifest
                .sessions
                .get(&a.session)
                .is_some_and(|e| e.name == a.name)
        })
        .map(|a| a.session.clone())
        .collect()
}

/// Compiles, on a thread of its own, the rules `status` will read the guessed panes with,
/// while tmux answers its call (compiling a preset's rules costs about as much CPU as the
/// call takes). The patterns share their compiled form with the config's, so the reading
/// finds them compiled (or waits for the one being compiled).
fn compile_ahead(ctx: &Ctx, capture: &[String]) {
    let mut names: Vec<&str> = ctx
        .cfg
        .agents
        .iter()
        .filter(|a| capture.contains(&a.session))
        .map(|a| a.backend.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let backends: Vec<crate::config::Backend> = names
        .into_iter()
        .filter_map(|n| ctx.cfg.backends.get(n).cloned())
        .collect();
    if backends.is_empty() {
        return;
    }
    let _ = std::thread::Builder::new()
        .name("compile-rules".into())
        .spawn(move || {
            for b in &backends {
                detect::compile_rules(b);
            }
        });
}

/// What `status` reads of its agents beside tmux (state files, whether a recorded process
/// lives), read while its tmux call runs: none of it depends on the call's answer.
#[derive(Default)]
struct Ahead {
    /// By session: whether the process the manifest recorded is still that process.
    alive: HashMap<String, bool>,
    /// By session: its usage-limit hold, where one is recorded and readable.
    holds: HashMap<String, crate::state::LimitState>,
    /// By agent name: its last delivery, where one is recorded.
    typed: HashMap<String, crate::typing::LastTyped>,
    /// By agent name: the usage its CLI last reported (hooks agents), where known.
    usage: HashMap<String, crate::state::usage::Usage>,
}

impl Ahead {
    fn read(ctx: &Ctx, manifest: Option<&Manifest>, marks: &crate::state::Markers<'_>) -> Self {
        let mut ahead = Self::default();
        for a in &ctx.cfg.agents {
            let record = manifest
                .and_then(|m| m.sessions.get(&a.session))
                .filter(|e| e.name == a.name)
                .and_then(|e| e.process);
            if let Some(p) = record {
                let alive = crate::launch::proctree::alive(&p);
                ahead.alive.insert(a.session.clone(), alive);
            }
            if let Ok(Some(h)) = marks.limit(&a.session) {
                ahead.holds.insert(a.session.clone(), h);
            }
            if marks.may_have_typed(&a.name)
                && let Some(t) = crate::typing::last(&ctx.state, &a.name)
            {
                ahead.typed.insert(a.name.clone(), t);
            }
            if let Some(u) = usage_of(ctx, a) {
                ahead.usage.insert(a.name.clone(), u);
            }
        }
        ahead
    }
}

/// The rows of every agent: the watchdog's view where it covers the agent, else tmux + pane.
/// `captured` holds panes already captured (by session name); the others this needs are
/// captured here.
async fn rows(
    ctx: &Ctx,
    sessions: &Sessions,
    manifest: &Manifest,
    read_before: Option<Supervision>,
    mut captured: HashMap<String, String>,
    marks: &crate::state::Markers<'_>,
    ahead: &Ahead,
) -> Vec<Row> {
    let cfg = &ctx.cfg;
    let wd_live = sessions.is_live(&cfg.watchdog_session());
    let published = if wd_live {
        read_before.or_else(|| ctx.state.supervision())
    } else {
        None
    };
    let entry = |a: &Agent| {
        manifest
            .sessions
            .get(&a.session)
            .filter(|e| e.name == a.name)
    };
    let published_view = |a: &Agent| {
        published
            .as_ref()
            .and_then(|p| p.agents.get(&a.name))
            .filter(|_| a.enabled)
    };
    // A view written before the session's latest start or stop (`up`, `restart`, `down`
    // since the watchdog's last tick) is old news: the agent is read afresh.
    let fresh =
        |a: &Agent, v: &AgentView| v.started.as_deref() == entry(a).map(|e| e.started.as_str());
    let covered = |a: &Agent| published_view(a).filter(|v| fresh(a, v)).cloned();
    // Agents the watchdog does not cover are read here: one capture call (dead panes too:
    // the last lines a program printed before it exited are quoted).
    let to_read: Vec<String> = cfg
        .agents
        .iter()
        .filter(|a| covered(a).is_none() && sessions.get(&a.session).is_some())
        .map(|a| a.session.clone())
        .collect();
    let dead: Vec<String> = to_read
        .iter()
        .filter(|s| !sessions.is_live(s))
        .cloned()
        .collect();
    // Captured with the list, unless its pane is dead (read with scrollback) or was not
    // guessed.
    captured.retain(|s, _| to_read.contains(s) && !dead.contains(s));
    let missing: Vec<String> = to_read
        .iter()
        .filter(|s| !captured.contains_key(*s))
        .cloned()
        .collect();
    let mut panes = ctx.mux.capture_many_with(&missing, &dead).await;
    panes.extend(captured);
    let now = chrono::Local::now();
    // While the sequence is complete, stopped loop agents are meant to be stopped.
    let complete = ctx.state.sequence_complete();
    let local = detect::reset::local_zone();
    let readings = read_panes(cfg, &panes, sessions, now.fixed_offset(), local);
    cfg.agents
        .iter()
        .map(|a| {
            let pane = sessions.get(&a.session);
            let down = marks.is_down(&a.name);
            let done = marks.is_done(&a.name);
            let fatal = marks.is_fatal(&a.name);
            let mut view = covered(a).unwrap_or_default();
            let from_watchdog = !view.state.is_empty();
            // Started since the watchdog's last view, moments ago: it reads it at its next
            // tick; until then the agent is `starting`.
            let started_now = published_view(a)
                .filter(|v| !fresh(a, v))
                .and(entry(a))
                .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e.started).ok())
                .filter(|t| {
                    now.fixed_offset().signed_duration_since(*t).num_seconds() < STARTING_SECS
                })
                .filter(|_| pane.is_some_and(|p| !p.dead));
            if let Some(t) = started_now {
                view.since = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
                view.why = Some(format!(
                    "started at {}; the watchdog reads it at its next tick",
                    local_time(&view.since)
                ));
                view.event = published_view(a).and_then(|v| v.event.clone());
            }
            // A disabled agent that runs all the same (the `[loop.on_complete]` task, or one
            // named to `up`) is read like any other: its session says what it does.
            let st: String = if !a.enabled && pane.is_none() {
                "disabled".into()
            } else if down && pane.is_none_or(|p| p.dead) {
                "down".into()
            } else if done {
                "done".into()
            } else if fatal {
                "fatal".into()
            } else if from_watchdog {
                view.state.clone()
            } else if started_now.is_some() {
                "starting".into()
            } else {
                match pane {
                    None => "stopped".into(),
                    Some(p) if p.dead => "dead".into(),
                    Some(p) => {
                        let backend = cfg.backend_of(a);
                        // Judged as the watchdog does: by the process the pane was started
                        // with, not by its name.
                        let live = detect::Liveness {
                            process: crate::launch::proctree::follow_by(
                                entry(a).and_then(|e| e.process),
                                p,
                                |_| ahead.alive.get(&a.session).copied().unwrap_or(false),
                            ),
                            showed_program: false,
                        };
                        let r = detect::liveness(backend, p, &live).unwrap_or_else(|| {
                            readings
                                .get(&a.session)
                                .cloned()
                                .unwrap_or_else(detect::Reading::nothing)
                        });
                        // Read as the watchdog reads it (detect::observe's corrections): a
                        // footer TUI's recent log is work, a hook of the pane's process
                        // corrects an idle screen.
                        let started = entry(a).map(|e| e.started.as_str());
                        let beside = ctx.beside(backend, &a.session, started);
                        let r = detect::correct(
                            backend,
                            r,
                            beside.log_age,
                            beside.hook().as_ref(),
                            now.fixed_offset(),
                            local,
                        );
                        view.source = Some(r.source().to_string());
                        if let Some(h) = ahead.holds.get(&a.session) {
                            #[allow(clippy::cast_possible_truncation)] // whole epoch seconds
                            let secs = h.until as i64;
                            view.until = chrono::DateTime::from_timestamp(secs, 0)
                                .map(|t| t.with_timezone(&chrono::Local).to_rfc3339());
                        }
                        if view.why.is_none() {
                            view.why.clone_from(&r.line);
                        }
                        r.state.as_str().into()
                    }
                }
            };
            if st == "dead" && view.why.is_none() {
                view.why = pane.map(|p| {
                    let e = detect::exited::read(panes.get(&a.session).map_or("", |t| t));
                    detect::exited::reason(&e, p.dead_status)
                });
            }
            if st == "fatal" && view.why.is_none() {
                view.why = std::fs::read_to_string(ctx.state.fatal_path(&a.name))
                    .ok()
                    .map(|t| t.trim().to_string());
            }
            let unhealthy = a.enabled
                && !down
                && !done
                && (st == "fatal"
                    || ((st == "stopped" || st == "dead")
                        && a.kind != Kind::Task
                        && !(complete && a.kind == Kind::Loop)));
            view.state = st;
            Row { view, unhealthy }
        })
        .collect()
}

/// The model `a`'s session runs and, when the config (`config_model`, env overrides and the
/// phase's `models` applied) now says otherwise, the pending one (`None` inside: the backend's
/// default). Without a running session, or with a session recorded before models were, the
/// config's model is shown and nothing is pending.
fn model_of(
    a: &Agent,
    config_model: Option<String>,
    manifest: Option<&Manifest>,
    live: bool,
) -> (Option<String>, Option<Option<String>>) {
    let recorded = manifest
        .and_then(|m| m.sessions.get(&a.session))
        .filter(|e| live && e.name == a.name)
        .and_then(|e| e.model.clone());
    match recorded {
        Some(started) if started != config_model => (started, Some(config_model)),
        _ => (config_model, None),
    }
}

/// The MODEL column: `opus`, or `opus (config: sonnet after restart)`.
fn model_text(model: Option<&str>, pending: Option<Option<&str>>) -> String {
    let name = |m: Option<&str>| m.unwrap_or("default").to_string();
    match pending {
        Some(p) => format!("{} (config: {} after restart)", name(model), name(p)),
        None => name(model),
    }
}

/// The line under an agent's row when its last delivery was not verified: `last typed
/// 14:03:07 send unverified: "text…" (why)`.
fn last_typed_text(t: &crate::typing::LastTyped) -> String {
    let text: String = if t.text.chars().count() > 40 {
        format!("{}…", t.text.chars().take(39).collect::<String>())
    } else {
        t.text.clone()
    };
    format!(
        "last typed {} {} {}: {text:?}{}",
        local_time(&t.ts),
        t.purpose,
        t.outcome,
        t.why
            .as_ref()
            .map(|w| format!(" ({w})"))
            .unwrap_or_default()
    )
}

/// The `last handoff:` line of a `handoff` event: `14:03:07 claim → adversary (delivered):
/// "claim: gate 2"`.
fn handoff_text(e: &Value) -> String {
    let s = |k: &str| e[k].as_str().unwrap_or("?").to_string();
    let mut text = format!(
        "{} {} → {} ({})",
        local_time(e["ts"].as_str().unwrap_or_default()),
        s("what"),
        s("to"),
        s("outcome")
    );
    if let Some(d) = e["detail"].as_str().filter(|d| !d.is_empty()) {
        let d: String = if d.chars().count() > 70 {
            d.chars().take(69).chain(['…']).collect()
        } else {
            d.to_string()
        };
        text.push_str(&format!(": {d:?}"));
    }
    text
}

/// Sessions this fleet started that the config no longer names and that still exist, as
/// `(session, name)`.
fn orphans(ctx: &Ctx, manifest: Option<&Manifest>, sessions: &Sessions) -> Vec<(String, String)> {
    let Some(m) = manifest else {
        return Vec::new();
    };
    let current = ctx.cfg.session_names();
    crate::state::manifest::orphans(m, &current)
        .into_iter()
        .filter(|(s, _)| sessions.get(s).is_some())
        .map(|(s, e)| (s.clone(), e.name.clone()))
        .collect()
}

/// What `status` starts before its config is read (process start and the config cost about
/// as much as starting a tmux client), on the server `$AGENTS_TMUX_SOCKET` names: the
/// question to the watchdog's relay when one listens for the config file found
/// ([`crate::tmux::relay::path`]), else a script call
/// ([`crate::tmux::Tmux::start_script`]) waiting for its commands, which [`run`] writes
/// (the listing and the captures it needs) when the config names the same server.
pub(crate) struct Early {
    tmux: crate::tmux::Tmux,
    /// The config file found (`None`: none was; loading it reports why).
    pub(crate) config: Option<std::path::PathBuf>,
    started: Started,
}

/// See [`Early`].
enum Started {
    Asked(crate::tmux::relay::Asked),
    Script(crate::tmux::script::ScriptCall),
}

impl Early {
    /// Finds the config file as [`crate::config::find`] does (`explicit`, else the
    /// environment, else upwards from here), then asks the relay of its fleet, else starts
    /// the call.
    pub(crate) async fn start(explicit: Option<&std::path::Path>) -> Self {
        let tmux = crate::tmux::Tmux::for_fleet(None);
        let config = crate::config::find(explicit).ok();
        let asked = match &config {
            Some(c) => crate::tmux::relay::Asked::send(&crate::tmux::relay::path(&tmux, c)).await,
            None => None,
        };
        let started = match asked {
            Some(asked) => Started::Asked(asked),
            None => Started::Script(tmux.start_script()),
        };
        Self {
            tmux,
            config,
            started,
        }
    }
}

/// How `status` learns which sessions live: its own tmux call, or the watchdog's relay.
enum Listing {
    Call(Box<crate::tmux::script::SessionsScript>),
    Relayed(crate::tmux::relay::Asked),
}

/// How long `status` waits for the watchdog's relay before it makes its own tmux call (a
/// watchdog in the middle of a tick answers when the tick is done: tens of milliseconds for
/// 200 agents).
const RELAY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(250);

/// Runs `agents status`: the phase line and a row per agent, service and the watchdog (a
/// JSON document with `as_json`). Exit 3 ([`EXIT_UNHEALTHY`]) for an unhealthy fleet.
/// `early`: what was started before the config was read (see [`Early`]); a call on another
/// server is dropped (killed before it was given a command: it has done nothing) and made
/// again, and so is one when the relay does not answer.
///
/// # Errors
///
/// tmux fails (other than no server) or is missing; writing to stdout fails.
pub(crate) async fn run(ctx: &Ctx, as_json: bool, early: Early) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    // The relay asked early answers, or the early call is given its commands (the listing
    // and the captures; on another server, a call of its own); the rest of the work below is
    // done meanwhile.
    let watchdog = crate::state::lock::is_held(&ctx.state.lock_path());
    let manifest = ctx.state.manifest().load().ok();
    // With a watchdog its view covers the agents: nothing is captured.
    let capture = guess(ctx, manifest.as_ref().filter(|_| !watchdog));
    let same = early.tmux.socket() == ctx.tmux.socket();
    // A call of its own, on the config's server.
    let own_call = || ctx.tmux.start_script().sessions(&capture);
    let call = match early.started {
        // The relay answers only for a watchdog that runs (and names its server).
        Started::Asked(asked) if watchdog => Listing::Relayed(asked),
        Started::Script(script) if same => Listing::Call(Box::new(script.sessions(&capture))),
        _ => Listing::Call(Box::new(own_call())),
    };
    compile_ahead(ctx, &capture);
    let published = watchdog.then(|| ctx.state.supervision()).flatten();
    let marks = ctx.state.markers();
    let phase = crate::phase::current(cfg, &ctx.state);
    let phase_model = phase.map(|(_, p)| p);
    let done = phase.map(|(_, p)| crate::phase::phase_done(cfg, p));
    let stale = phase.is_some_and(|(_, p)| {
        crate::phase::verdict(cfg, &ctx.state, p) == crate::phase::Verdict::Stale
    });
    // A corrupt or out-of-range index: the phase shown is a fallback and advance is stopped.
    let corrupt = phase.and_then(|_| {
        ctx.state
            .phase_index(cfg.loop_.phases.len())
            .warning
            .map(|w| format!("{w}; the watchdog does not advance phases until then"))
    });
    let complete = ctx.state.sequence_complete();
    let phase_state = match (complete, done) {
        (true, Some(true)) => "sequence complete",
        (_, Some(true)) if stale => {
            "DONE before the phase began: the watchdog advances on a verdict written in this phase"
        }
        (_, Some(true)) => "DONE",
        _ => "in progress",
    };
    let not_healed = (complete && cfg.loop_agents().next().is_some())
        .then(|| crate::phase::sequence_complete_why(&ctx.state.sequence_complete_path()));
    let last_handoff = cfg
        .loop_
        .handoff
        .as_ref()
        .and_then(|_| crate::events::last(&cfg.log_dir, "handoff", crate::events::TAIL_BYTES));
    let handoff_error = cfg
        .loop_
        .handoff
        .as_ref()
        .and_then(|_| crate::state::handoff::last_error(&ctx.state));
    // Holds, markers and the watchdog's view cannot be written: what is shown may be old.
    let not_saved = ctx.state.probe_write().err();
    let ahead = Ahead::read(ctx, manifest.as_ref(), &marks);
    let (sessions, captured): (Sessions, _) = match call {
        Listing::Call(call) => call.finish(&ctx.tmux).await?,
        Listing::Relayed(asked) => {
            if let Some(sessions) = asked.answer(&ctx.tmux.server_path(), RELAY_TIMEOUT).await {
                (sessions, HashMap::new())
            } else {
                own_call().finish(&ctx.tmux).await?
            }
        }
    };
    let rows = rows(
        ctx,
        &sessions,
        manifest.as_ref().unwrap_or(&Manifest::default()),
        published,
        captured,
        &marks,
        &ahead,
    )
    .await;
    // The watchdog runs in its session, or in the foreground (`agents watchdog`) holding its
    // lock.
    let wd = cfg.watchdog_session();
    let wd_running = sessions.is_live(&wd) || crate::state::lock::is_held(&ctx.state.lock_path());
    let needing = needing_watchdog(ctx, &marks);
    let unhealed: Vec<&str> = if wd_running {
        Vec::new()
    } else {
        needing.clone()
    };
    let healthy = !rows.iter().any(|r| r.unhealthy) && not_saved.is_none() && unhealed.is_empty();
    let code = if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_UNHEALTHY)
    };
    // One write of the whole table (stdout is line-buffered: a write per row otherwise).
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());

    if as_json {
        let agents: Vec<json_doc::Agent<'_>> = cfg
            .agents
            .iter()
            .zip(&rows)
            .map(|(a, r)| {
                let pane = sessions.get(&a.session);
                let live = pane.is_some_and(|p| !p.dead);
                let (model, pending) =
                    model_of(a, kickoff::model(a, phase_model), manifest.as_ref(), live);
                let v = &r.view;
                json_doc::Agent {
                    backend: &a.backend,
                    command: pane.filter(|p| !p.dead).map(|p| p.command.as_str()),
                    done: marks.is_done(&a.name),
                    down: marks.is_down(&a.name),
                    enabled: a.enabled,
                    event: v.event.as_ref().map(json_doc::sorted),
                    exit_status: pane.filter(|p| p.dead).and_then(|p| p.dead_status),
                    kind: a.kind.as_str(),
                    last_typed: ahead.typed.get(&a.name).map(json_doc::sorted),
                    model,
                    model_pending: pending.map(|p| p.unwrap_or_else(|| "default".into())),
                    name: &a.name,
                    restarts: v.restarts,
                    running: live,
                    session: &a.session,
                    since: (!v.since.is_empty()).then_some(v.since.as_str()),
                    source: v.source.as_deref(),
                    state: &v.state,
                    until: v.until.as_deref(),
                    usage: ahead.usage.get(&a.name).map(json_doc::sorted),
                    watch: a.watch.as_str(),
                    why: v.why.as_deref(),
                }
            })
            .collect();
        let services: Vec<json_doc::Service<'_>> = cfg
            .services
            .iter()
            .map(|s| json_doc::Service {
                command: &s.command,
                enabled: s.enabled,
                kind: "service",
                name: &s.name,
                running: sessions.get(&s.session).is_some_and(|p| !p.dead),
                session: &s.session,
            })
            .collect();
        let orphans: Vec<json_doc::Orphan> = orphans(ctx, manifest.as_ref(), &sessions)
            .into_iter()
            .map(|(session, name)| json_doc::Orphan {
                kind: "orphan",
                name,
                running: sessions.is_live(&session),
                session,
            })
            .collect();
        let doc = json_doc::Doc {
            agents,
            healthy,
            orphans,
            phase: phase.map(|(i, p)| json_doc::Phase {
                corrupt: corrupt.as_deref(),
                count: cfg.loop_.phases.len(),
                done,
                handoff_error: handoff_error.as_deref(),
                id: &p.id,
                index: i,
                last_handoff: last_handoff.as_ref(),
                loops_healed: not_healed.is_none(),
                loops_not_healed_why: not_healed.as_deref(),
                plan: &p.plan,
                sequence_complete: complete,
                state: phase_state,
            }),
            services,
            state_not_saved: not_saved.as_deref(),
            tmux: json_doc::Tmux {
                server_running: sessions.server_running,
                socket: ctx.tmux.socket(),
            },
            watchdog: json_doc::Watchdog {
                kind: "watchdog",
                name: "watchdog",
                needed: !needing.is_empty(),
                not_healed: &unhealed,
                running: wd_running,
                session: &wd,
            },
        };
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
        out.flush()?;
        return Ok(code);
    }

    if let Some((i, p)) = phase {
        let plan = if p.plan.is_empty() {
            "-"
        } else {
            p.plan.as_str()
        };
        writeln!(
            out,
            " phase: {} [{}/{}] plan={plan} ({phase_state})",
            p.id,
            i + 1,
            cfg.loop_.phases.len()
        )?;
    }
    if let Some(why) = &not_healed {
        writeln!(out, " loops: {why}")?;
    }
    if let Some(e) = &last_handoff {
        writeln!(out, " last handoff: {}", handoff_text(e))?;
    }
    if let Some(e) = &handoff_error {
        writeln!(out, " handoff check failing: {e}")?;
    }
    if let Some(w) = &corrupt {
        writeln!(out, " phase index corrupt: {w}")?;
    }
    if let Some(e) = &not_saved {
        writeln!(
            out,
            " state is not being saved: {e}; the states below may be old (the watchdog cannot write {}, limit holds and down markers)\n   help: make it writable or free space on its disk",
            ctx.state.supervision_path().display()
        )?;
    }
    if !unhealed.is_empty() {
        writeln!(
            out,
            " the watchdog is not running: {} {} not healed\n   help: `agents up watchdog` starts it (`agents logs watchdog` shows why it stopped)",
            and_list(&unhealed),
            if unhealed.len() == 1 { "is" } else { "are" },
        )?;
    }
    if !sessions.server_running {
        let socket = ctx
            .tmux
            .socket()
            .map_or("the default socket".to_string(), |s| {
                format!("socket {s:?}")
            });
        writeln!(
            out,
            " (no tmux server is running on {socket}: nothing of this fleet is running)"
        )?;
    }
    let on = crate::color::stdout();
    let header = format!(
        " {:<14} {:<12} {:<9} {:<18} {:<10} {:<24} {:>3} {:>6}  LAST EVENT",
        "AGENT", "KIND", "BACKEND", "MODEL", "WATCH", "STATE", "RST", "SINCE"
    );
    writeln!(
        out,
        "{}",
        crate::color::paint(on, crate::color::BOLD, &header)
    )?;
    // A state padded, then painted (escapes have no width on screen).
    let state = |st: &str, width: usize| {
        let padded = format!("{st:<width$}");
        crate::color::paint(on, crate::color::state_style(st), &padded)
    };
    for (a, r) in cfg.agents.iter().zip(&rows) {
        let live = sessions.is_live(&a.session);
        let (model, pending) = model_of(a, kickoff::model(a, phase_model), manifest.as_ref(), live);
        let model = model_text(model.as_deref(), pending.as_ref().map(Option::as_deref));
        let v = &r.view;
        let mut st = v.state.clone();
        if st == "dead"
            && let Some(s) = sessions.get(&a.session).and_then(|p| p.dead_status)
        {
            st.push_str(&format!(" (status {s})"));
        }
        if let Some(u) = &v.until {
            st.push_str(&format!(" until {}", local_time(u)));
        }
        let event = v.event.as_ref().map_or_else(
            || "-".into(),
            |e| {
                let text = format!("{} {}: {}", local_time(&e.ts), e.event, e.why);
                if text.chars().count() > EVENT_CHARS {
                    let cut: String = text.chars().take(EVENT_CHARS - 1).collect();
                    format!("{cut}…")
                } else {
                    text
                }
            },
        );
        writeln!(
            out,
            " {:<14} {:<12} {:<9} {:<18} {:<10} {} {:>3} {:>6}  {event}",
            a.name,
            a.kind.as_str(),
            a.backend,
            model,
            a.watch.as_str(),
            state(&st, 24),
            v.restarts,
            if v.since.is_empty() {
                "-".to_string()
            } else {
                ago(&v.since)
            },
        )?;
        if let Some(t) = ahead
            .typed
            .get(&a.name)
            .filter(|t| t.outcome == "unverified")
        {
            writeln!(out, "   {}", last_typed_text(t))?;
        }
        if let Some(u) = ahead.usage.get(&a.name) {
            let s = crate::state::usage::summary(u, chrono::Local::now());
            if !s.is_empty() {
                writeln!(out, "   usage: {s} (as of {})", local_time(&u.ts))?;
            }
        }
    }
    for s in &cfg.services {
        let st = state(&session_word(sessions.get(&s.session)), 0);
        let dis = if s.enabled { "" } else { " (disabled)" };
        writeln!(
            out,
            " {:<14} {:<12} {:<9} {:<18} {:<10} {st}{dis}",
            s.name, "service", "-", "-", "-"
        )?;
    }
    for (session, name) in orphans(ctx, manifest.as_ref(), &sessions) {
        let st = state(&session_word(sessions.get(&session)), 0);
        writeln!(
            out,
            " {:<14} {:<12} {:<9} {:<18} {:<10} {st} (session {session}: not in the config; the watchdog or `agents down` stops it)",
            name, "orphan", "-", "-", "-"
        )?;
    }
    let wd = match sessions.get(&wd) {
        None if wd_running => state("running [in the foreground]", 0),
        p => state(&session_word(p), 0),
    };
    writeln!(
        out,
        " {:<14} {:<12} {:<9} {:<18} {:<10} {wd}",
        "watchdog", "watchdog", "-", "-", "-"
    )?;
    out.flush()?;
    Ok(code)
}

/// The document `status --json` prints, serialized as it is built (no `serde_json::Value`
/// tree per agent: for 200 agents that tree cost more than the table). Every key is always
/// present (`null` when there is nothing), in alphabetical order, as the document has always
/// had them.
mod json_doc {
    use serde::Serialize;
    use serde_json::Value;

    /// A nested record as a JSON object with its keys sorted (how a `Value` prints them).
    pub(super) fn sorted<T: Serialize>(t: &T) -> Value {
        serde_json::to_value(t).unwrap_or(Value::Null)
    }

    #[derive(Serialize)]
    pub(super) struct Doc<'a> {
        pub agents: Vec<Agent<'a>>,
        pub healthy: bool,
        pub orphans: Vec<Orphan>,
        pub phase: Option<Phase<'a>>,
        pub services: Vec<Service<'a>>,
        pub state_not_saved: Option<&'a str>,
        pub tmux: Tmux<'a>,
        pub watchdog: Watchdog<'a>,
    }

    #[derive(Serialize)]
    pub(super) struct Agent<'a> {
        pub backend: &'a str,
        pub command: Option<&'a str>,
        pub done: bool,
        pub down: bool,
        pub enabled: bool,
        pub event: Option<Value>,
        pub exit_status: Option<i32>,
        pub kind: &'a str,
        pub last_typed: Option<Value>,
        pub model: Option<String>,
        pub model_pending: Option<String>,
        pub name: &'a str,
        pub restarts: usize,
        pub running: bool,
        pub session: &'a str,
        pub since: Option<&'a str>,
        pub source: Option<&'a str>,
        pub state: &'a str,
        pub until: Option<&'a str>,
        pub usage: Option<Value>,
        pub watch: &'a str,
        pub why: Option<&'a str>,
    }

    #[derive(Serialize)]
    pub(super) struct Service<'a> {
        pub command: &'a str,
        pub enabled: bool,
        pub kind: &'static str,
        pub name: &'a str,
        pub running: bool,
        pub session: &'a str,
    }

    #[derive(Serialize)]
    pub(super) struct Orphan {
        pub kind: &'static str,
        pub name: String,
        pub running: bool,
        pub session: String,
    }

    #[derive(Serialize)]
    pub(super) struct Phase<'a> {
        pub corrupt: Option<&'a str>,
        pub count: usize,
        pub done: Option<bool>,
        pub handoff_error: Option<&'a str>,
        pub id: &'a str,
        pub index: usize,
        pub last_handoff: Option<&'a Value>,
        pub loops_healed: bool,
        pub loops_not_healed_why: Option<&'a str>,
        pub plan: &'a str,
        pub sequence_complete: bool,
        pub state: &'a str,
    }

    #[derive(Serialize)]
    pub(super) struct Tmux<'a> {
        pub server_running: bool,
        pub socket: Option<&'a str>,
    }

    #[derive(Serialize)]
    pub(super) struct Watchdog<'a> {
        pub kind: &'static str,
        pub name: &'static str,
        pub needed: bool,
        pub not_healed: &'a [&'a str],
        pub running: bool,
        pub session: &'a str,
    }
}

/// The plan usage `a`'s CLI last reported ([`Ctx::usage`]), if any.
fn usage_of(ctx: &Ctx, a: &crate::config::Agent) -> Option<crate::state::usage::Usage> {
    ctx.usage(ctx.cfg.backend_of(a), &a.session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_column_shows_a_pending_change() {
        assert_eq!(model_text(Some("opus"), None), "opus");
        assert_eq!(model_text(None, None), "default");
        assert_eq!(
            model_text(Some("opus"), Some(Some("sonnet"))),
            "opus (config: sonnet after restart)"
        );
        assert_eq!(
            model_text(Some("opus"), Some(None)),
            "opus (config: default after restart)"
        );
    }

    #[test]
    fn the_handoff_line_names_what_whom_and_the_outcome() {
        let e = serde_json::json!({"ts": "2026-01-02T14:03:07+00:00", "event": "handoff", "what": "claim",
                       "to": "adversary", "detail": "claim: gate 2", "outcome": "delivered"});
        let text = handoff_text(&e);
        assert!(
            text.ends_with(" claim → adversary (delivered): \"claim: gate 2\""),
            "{text}"
        );
        let e =
            serde_json::json!({"ts": "x", "what": "inbox", "to": "builder", "outcome": "failed"});
        assert_eq!(handoff_text(&e), "x inbox → builder (failed)");
    }
}
