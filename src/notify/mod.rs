//! `[notify]`: tells a person about the events that need one — an agent gone `fatal`, a
//! dialog waiting, a usage limit and its reset, a stall restart, a phase done, the sequence
//! complete, a handoff ping not delivered, a wake that failed ([`kind`] has the mapping from
//! `events.jsonl` events to notification kinds).
//!
//! Only the watchdog notifies: it alone sees these events happen (a verb such as `up` or
//! `status` would send the same news again, or news that is not news). [`Notifier`] is the
//! `crate::events::Sink` of the watchdog's `crate::events::Events`, so every event the
//! watchdog writes is offered to it.
//!
//! The command is an argv (no shell unless the user writes `sh -c '...'`). It runs in the
//! project directory with one JSON line on stdin —
//! `{"kind", "name", "session", "reason", "project", "event": {the events.jsonl object}}` —
//! and in its environment `AGENTS_EVENT` (the kind), `AGENTS_NAME` (the agent, empty for a
//! phase or the sequence), `AGENTS_SESSION`, `AGENTS_REASON` (one readable line) and
//! `AGENTS_PROJECT` (the project directory).
//!
//! It never blocks the watchdog: each command runs on a thread of its own, at most
//! [`MAX_RUNNING`] at once (a notification beyond that is dropped with a log line), and is
//! killed with everything it started after `[notify] timeout` (10 s). A failure (not found,
//! a non-zero exit, the timeout) is logged and written as a `notify-error` event once: the
//! same failure again is only logged at debug level until the command succeeds. The same
//! kind about the same agent is not sent again within `notify_repeat` (600 s), counted in
//! the watchdog's memory.

pub mod kind;
pub mod run;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::config::{Config, NotifySettings};
use crate::events::Events;
use kind::{Notice, Repeat};
use run::{Failure, Job};

/// At most this many notify commands run at once.
pub const MAX_RUNNING: usize = 4;

/// What the notifier needs of the config.
#[derive(Debug, Clone)]
struct Conf {
    settings: NotifySettings,
    project: PathBuf,
    /// Writes `notify-error` (a plain writer: its events are not offered again).
    events: Events,
}

/// Sends notifications for one watchdog. Shared (`Arc`) by every clone of its `Events`.
pub struct Notifier {
    conf: Mutex<Conf>,
    repeat: Mutex<Repeat>,
    /// Running commands: id → process group, once started.
    running: Mutex<HashMap<u64, Option<u32>>>,
    next_id: AtomicU64,
    /// The class of the failure last reported ([`Failure::class`]); cleared by a success.
    reported: Mutex<Option<String>>,
    /// The clock of repeat suppression.
    epoch: Instant,
    /// [`Notifier::settle`] kills what still runs: such an end is said as such.
    stopping: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("conf", &*lock(&self.conf))
            .finish_non_exhaustive()
    }
}

impl crate::events::Sink for Notifier {
    /// [`Notifier::offer`].
    fn offer(self: Arc<Self>, event: &Value) {
        Notifier::offer(&self, event);
    }
}

/// A poisoned lock (a panicked notify thread) is still used: the data stays consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn conf_of(cfg: &Config) -> Conf {
    Conf {
        settings: cfg.notify.clone(),
        project: cfg.project_dir.clone(),
        events: Events::new(&cfg.log_dir, "watchdog").rotating(cfg.log_max_bytes, cfg.log_files),
    }
}

impl Notifier {
    /// A notifier for `cfg`'s `[notify]`.
    pub fn new(cfg: &Config) -> Arc<Self> {
        Arc::new(Self {
            conf: Mutex::new(conf_of(cfg)),
            repeat: Mutex::new(Repeat::default()),
            running: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            reported: Mutex::new(None),
            epoch: Instant::now(),
            stopping: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Takes a reloaded config. What was sent stays remembered (no repeat after a reload);
    /// a changed command gets its failures reported afresh.
    pub fn configure(&self, cfg: &Config) {
        let next = conf_of(cfg);
        let mut conf = lock(&self.conf);
        if conf.settings.command != next.settings.command {
            *lock(&self.reported) = None;
        }
        *conf = next;
    }

    /// Offers one `events.jsonl` object: sends it when it is a notification kind chosen by
    /// `[notify] events`, a command is set, it is not a repeat, and fewer than
    /// [`MAX_RUNNING`] commands run. Returns at once; the command runs on its own thread.
    pub fn offer(self: &Arc<Self>, event: &Value) {
        let Some(notice) = kind::classify(event) else {
            return;
        };
        let conf = lock(&self.conf).clone();
        let Some(argv) = conf.settings.command.clone() else {
            return;
        };
        if !conf.settings.events.contains(&notice.kind) {
            return;
        }
        let kind = notice.kind.as_str();
        let id = {
            let mut running = lock(&self.running);
            if running.len() >= MAX_RUNNING {
                tracing::warn!(
                    "notify: {MAX_RUNNING} notify commands still run; the {kind} notification ({}) is dropped",
                    notice.reason
                );
                return;
            }
            let now = self.epoch.elapsed().as_secs_f64();
            let window = conf.settings.repeat.as_secs_f64();
            if !lock(&self.repeat).admit(notice.kind, &notice.subject, now, window) {
                tracing::debug!(
                    "notify: {kind} about {:?} was sent within notify_repeat; not again",
                    notice.subject
                );
                return;
            }
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            running.insert(id, None);
            id
        };
        let job = job(&notice, event, &conf, argv);
        let me = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("notify".into())
            .spawn(move || {
                let r = run::run(&job, |pgid| {
                    lock(&me.running).insert(id, Some(pgid));
                });
                lock(&me.running).remove(&id);
                me.outcome(&notice, &job, r);
            });
        if let Err(e) = spawned {
            lock(&self.running).remove(&id);
            tracing::warn!("notify: cannot start a thread for the {kind} notification: {e}");
        }
    }

    /// Logs the outcome of one command; a failure is reported once (see the module doc).
    fn outcome(&self, notice: &Notice, job: &Job, r: Result<(), Failure>) {
        let kind = notice.kind.as_str();
        let failure = match r {
            Ok(()) => {
                *lock(&self.reported) = None;
                tracing::info!("notify: sent {kind}: {}", notice.reason);
                return;
            }
            Err(f) => f,
        };
        let mut error = failure.describe(run::program(&job.argv));
        if self.stopping.load(Ordering::Relaxed) && matches!(failure, Failure::Exit { .. }) {
            error = format!(
                "notify command {:?} still ran when the watchdog stopped and was killed",
                run::program(&job.argv)
            );
        }
        {
            let mut reported = lock(&self.reported);
            if reported.as_deref() == Some(failure.class().as_str()) {
                tracing::debug!("notify: {error} (again; the {kind} notification was not sent)");
                return;
            }
            *reported = Some(failure.class());
        }
        tracing::warn!(
            "notify: {error}; the {kind} notification was not sent (reported once until it works again)"
        );
        let events = lock(&self.conf).events.clone();
        events.emit(
            "notify-error",
            json!({"kind": kind, "name": notice.name, "session": notice.session,
                   "error": error, "why": notice.reason}),
        );
    }

    /// How many notify commands run now.
    pub fn running(&self) -> usize {
        lock(&self.running).len()
    }

    /// Waits up to `grace` for the running commands to end, then kills what is left (at the
    /// watchdog's exit: no command outlives it by more than `grace`).
    pub fn settle(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        while self.running() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stopping.store(true, Ordering::Relaxed);
        for pgid in lock(&self.running).values().flatten() {
            run::kill_group(*pgid);
        }
    }
}

/// The command line, environment and stdin for one notice.
fn job(notice: &Notice, event: &Value, conf: &Conf, argv: Vec<String>) -> Job {
    let project = conf.project.display().to_string();
    let mut stdin = json!({
        "kind": notice.kind.as_str(),
        "name": notice.name,
        "session": notice.session,
        "reason": notice.reason,
        "project": project,
        "event": event,
    })
    .to_string();
    stdin.push('\n');
    Job {
        argv,
        env: vec![
            ("AGENTS_EVENT", notice.kind.as_str().to_string()),
            ("AGENTS_NAME", notice.name.clone()),
            ("AGENTS_SESSION", notice.session.clone()),
            ("AGENTS_REASON", notice.reason.clone()),
            ("AGENTS_PROJECT", project),
        ],
        dir: conf.project.clone(),
        stdin,
        timeout: conf.settings.timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notifier(dir: &std::path::Path, notify: &str) -> Arc<Notifier> {
        let text = format!(
            "[defaults]\nsession_prefix = \"p-\"\nlog_dir = \"{}\"\n\n[notify]\n{notify}\n",
            dir.display()
        );
        let cfg = crate::config::parse(
            &dir.join("agents.toml"),
            &text,
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Notifier::new(&cfg)
    }

    fn fatal(name: &str) -> Value {
        json!({"event": "fatal", "name": name, "session": format!("p-{name}"), "why": "x"})
    }

    #[test]
    fn at_most_four_run_at_once_and_settle_kills_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let n = notifier(d.path(), "command = \"sleep 30\"");
        for name in ["a", "b", "c", "d", "e", "f"] {
            n.offer(&fatal(name));
        }
        assert_eq!(n.running(), MAX_RUNNING);
        let t0 = Instant::now();
        n.settle(Duration::from_millis(200));
        assert!(t0.elapsed() < Duration::from_secs(2));
        let drained = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            n.running() == 0
        });
        assert!(drained, "the killed commands are still counted");
        // Killed at shutdown: each reported, the same failure once.
        let log = std::fs::read_to_string(d.path().join("events.jsonl")).unwrap_or_default();
        assert_eq!(log.matches("\"notify-error\"").count(), 1, "{log}");
        assert!(log.contains("still ran when the watchdog stopped"), "{log}");
    }

    #[test]
    fn kinds_not_chosen_and_repeats_do_not_run() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        let n = notifier(
            d.path(),
            &format!(
                "command = [\"sh\", \"-c\", \"echo $AGENTS_EVENT $AGENTS_NAME >> '{}'\"]\nevents = [\"fatal\"]",
                out.display()
            ),
        );
        n.offer(&fatal("a"));
        n.offer(&fatal("a"));
        n.offer(&json!({"event": "dialog", "name": "a", "evidence": {"line": "?"}}));
        n.offer(&json!({"event": "start", "name": "a"}));
        n.offer(&fatal("b"));
        let done = (0..200).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            n.running() == 0
        });
        assert!(done);
        let mut got: Vec<String> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        got.sort();
        assert_eq!(got, ["fatal a", "fatal b"]);
    }
}
