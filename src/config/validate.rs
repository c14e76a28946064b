//! Raw file → typed [`Config`]: merges `[defaults]` into agents and services (SPEC defect 16),
//! resolves paths against `project_dir`, compiles regexes case-insensitive and multi-line
//! (defect 10), applies `AGENT_MODEL_<name>` / `AGENT_BACKEND_<name>`, and collects *every*
//! problem instead of stopping at the first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use toml::Spanned;

use super::diagnostic::{Problem, did_you_mean};
use super::model::{
    Agent, Answer, Backend, Config, DEFAULT_MIN_WAKE_INTERVAL, Delivery, Handoff, Hooks, Kind,
    LoopSettings, NotifyKind, NotifySettings, OnComplete, Phase, PromptSource, RepoAt, Service,
    Wake, Watch, WatchdogSettings,
};
use super::pattern::Pattern;
use super::presets;
use super::raw::{
    RawAnswer, RawBackend, RawCommand, RawEntry, RawFile, RawHandoff, RawLoop, RawNotify,
    RawWatchdog, SStr, Seconds,
};

/// Looks up an environment variable (injected so tests need not touch the process env).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Validates `raw`, loaded from `path`. `env` is `None` to ignore the one-off
/// `AGENT_MODEL_<name>` / `AGENT_BACKEND_<name>` overrides (the watchdog does).
///
/// # Errors
///
/// Every error found (warnings go to [`Config::warnings`]), each with its span when known.
pub fn validate(
    path: &Path,
    raw: &RawFile,
    env: Option<EnvLookup>,
) -> Result<Config, Vec<Problem>> {
    let mut v = V::default();
    // Like the original (`path.resolve().parent`), a symlinked config resolves its relative
    // paths against the directory of the file it links to.
    let real_path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let config_dir = real_path.parent().unwrap_or(Path::new("/"));
    let d = &raw.defaults;

    let project_dir = match &d.project_dir {
        Some(p) => resolve(config_dir, p.get_ref()),
        None => config_dir.to_path_buf(),
    };
    let project_dir = project_dir.canonicalize().unwrap_or(project_dir);

    let session_prefix = match &d.session_prefix {
        Some(p) if !p.get_ref().is_empty() => {
            v.session_name(p.get_ref(), "[defaults] session_prefix", sp(p));
            p.get_ref().clone()
        }
        other => {
            v.err(Problem::new("[defaults] session_prefix is required")
                .at(other.as_ref().map(sp))
                .help("add `session_prefix = \"myproj-\"` under [defaults]: every tmux session is named <prefix><agent>"));
            String::new()
        }
    };
    let log_dir = match &d.log_dir {
        Some(p) if !p.get_ref().is_empty() => resolve(&project_dir, p.get_ref()),
        other => {
            v.err(Problem::new("[defaults] log_dir is required")
                .at(other.as_ref().map(sp))
                .help("add `log_dir = \".agents\"` under [defaults]: session logs and state/ live there"));
            project_dir.join(".agents")
        }
    };
    let tmux_socket = d.tmux_socket.as_ref().and_then(|s| {
        let name = s.get_ref();
        if name.is_empty() || name.contains('/') {
            v.err(
                Problem::new(format!(
                    "[defaults] tmux_socket {name:?} is not a socket name"
                ))
                .at(Some(sp(s)))
                .help("give a plain name such as \"agents\" (it is passed to `tmux -L`); no '/'"),
            );
            None
        } else {
            Some(name.clone())
        }
    });
    let log_max_bytes: u64 = int_in(
        &mut v,
        "[defaults] log_max_bytes",
        d.log_max_bytes.as_ref(),
        4096..=(1i64 << 50),
        super::model::DEFAULT_LOG_MAX_BYTES,
        "a usable size",
        "give the size in bytes at which a session log is rotated, >= 4096 (default 10485760, 10 MiB)",
    );
    let log_files: u32 = int_in(
        &mut v,
        "[defaults] log_files",
        d.log_files.as_ref(),
        0..=1000,
        super::model::DEFAULT_LOG_FILES,
        "a usable count",
        "give how many rotated logs (<session>.log.1 … .N) to keep, 0 to 1000 (default 3)",
    );
    for (key, val) in [
        ("name", &d.name),
        ("session", &d.session),
        ("command", &d.command),
    ] {
        if let Some(val) = val {
            v.warn(
                Problem::new(format!(
                    "[defaults] {key} is ignored: it is per agent or service"
                ))
                .at(Some(sp(val))),
            );
        }
    }

    let watchdog = watchdog_settings(&raw.watchdog, &mut v);
    let notify = notify_settings(&raw.notify, &mut v);
    // Backends: the [backend.NAME] tables (each laid over the preset of that name, if any),
    // plus the built-in presets that an agent names without a table.
    let mut referenced: Vec<String> = d.backend.iter().map(|b| b.get_ref().clone()).collect();
    for sa in &raw.agent {
        let a = sa.get_ref();
        referenced.extend(a.backend.iter().map(|b| b.get_ref().clone()));
        if let (Some(e), Some(n)) = (env, &a.name) {
            referenced.extend(e(&format!("AGENT_BACKEND_{}", n.get_ref())));
        }
    }
    // Each with its preset, if any: a rule the preset ships is checked by the tests, not here.
    // A built-in preset whose text does not parse is reported as itself (its file, key and
    // error), once, and not laid under the table: its values' spans are in its own text.
    let mut broken: Vec<String> = Vec::new();
    let mut preset = |name: &str, v: &mut V| -> Option<RawBackend> {
        let p = presets::raw(name);
        if p.is_none()
            && presets::text(name).is_some()
            && !broken.iter().any(|n| n == name)
            && let Err(e) = presets::load(name)
        {
            broken.push(name.to_string());
            v.err(Problem::new(e.to_string()).help(
                "the preset shipped in this build is wrong: use an agents build whose `agents selftest` passes, or define every key of the backend in your own [backend.NAME] table under another name",
            ));
        }
        p
    };
    let mut tables: BTreeMap<String, (RawBackend, Option<RawBackend>)> = BTreeMap::new();
    for (name, b) in &raw.backend {
        let p = preset(name, &mut v);
        let merged = match &p {
            Some(p) => b.clone().over(p),
            None => b.clone(),
        };
        tables.insert(name.clone(), (merged, p));
    }
    for name in referenced {
        if !tables.contains_key(&name)
            && let Some(p) = preset(&name, &mut v)
        {
            tables.insert(name, (p.clone(), Some(p)));
        }
    }
    let backends = tables
        .iter()
        .filter(|(name, _)| !broken.contains(name))
        .map(|(name, (b, p))| (name.clone(), backend(name, b, p.as_ref(), &mut v)))
        .collect::<BTreeMap<_, _>>();
    let mut known_backends: Vec<&str> = raw.backend.keys().map(String::as_str).collect();
    for p in presets::names() {
        if !known_backends.contains(&p) {
            known_backends.push(p);
        }
    }

    // `[defaults]` values are checked once here, not once per agent that inherits them.
    let default_kind = one_of(
        &mut v,
        "[defaults]",
        "kind",
        d.kind.as_ref(),
        Kind::parse,
        Kind::VALID,
    );
    let default_watch = one_of(
        &mut v,
        "[defaults]",
        "watch",
        d.watch.as_ref(),
        Watch::parse,
        Watch::VALID,
    );
    if let Some(b) = &d.backend
        && !known_backends.contains(&b.get_ref().as_str())
    {
        v.err(
            Problem::new(format!(
                "[defaults]: backend {:?} is not defined",
                b.get_ref()
            ))
            .at(Some(sp(b)))
            .help(suggest(
                b.get_ref(),
                &known_backends,
                "known backends",
                "define it as a [backend.NAME] table",
            )),
        );
    }

    // Agents.
    let mut agents = Vec::new();
    let mut names: HashMap<String, Range<usize>> = HashMap::new();
    let mut sessions: HashMap<String, String> = HashMap::new();
    for (i, sa) in raw.agent.iter().enumerate() {
        let a = sa.get_ref();
        let Some(name) = v.entry_name(a.name.as_ref(), "[[agent]]", i, sa.span(), &mut names)
        else {
            continue;
        };
        let label = format!("[[agent]] {name:?}");
        warn_defaults_only(a, &label, &mut v);
        if let Some(c) = &a.command {
            v.warn(
                Problem::new(format!(
                    "{label}: `command` is a [[service]] key; ignored for an agent"
                ))
                .at(Some(sp(c))),
            );
        }
        let session = session_of(a, &name, &session_prefix, &label, &mut v, &mut sessions);
        // A bad `[defaults]` value was reported once, above; only the agent's own is checked.
        let kind = match &a.kind {
            Some(k) => one_of(&mut v, &label, "kind", Some(k), Kind::parse, Kind::VALID),
            None => default_kind,
        }
        .unwrap_or(Kind::Persistent);
        let watch = match &a.watch {
            Some(w) => one_of(&mut v, &label, "watch", Some(w), Watch::parse, Watch::VALID),
            None => default_watch,
        }
        .unwrap_or(Watch::None);

        let env_backend = env.and_then(|e| e(&format!("AGENT_BACKEND_{name}")));
        let backend = match (&env_backend, pick(a.backend.as_ref(), d.backend.as_ref())) {
            (Some(b), _) => {
                if !backends.contains_key(b) && !known_backends.contains(&b.as_str()) {
                    v.err(
                        Problem::new(format!(
                            "AGENT_BACKEND_{name}={b:?} (environment) names no backend"
                        ))
                        .help(known_list("known backends", &known_backends)),
                    );
                }
                b.clone()
            }
            (None, Some(b)) => {
                if a.backend.is_some() && !known_backends.contains(&b.get_ref().as_str()) {
                    v.err(
                        Problem::new(format!("{label}: backend {:?} is not defined", b.get_ref()))
                            .at(Some(sp(b)))
                            .help(suggest(
                                b.get_ref(),
                                &known_backends,
                                "known backends",
                                "define it as a [backend.NAME] table",
                            )),
                    );
                }
                b.get_ref().clone()
            }
            (None, None) => {
                v.err(
                    Problem::new(format!("{label}: no backend"))
                        .at(Some(sa.span()))
                        .help(format!(
                            "set `backend = \"NAME\"` on the agent or under [defaults]; {}",
                            known_list("known backends", &known_backends)
                        )),
                );
                String::new()
            }
        };
        let env_model = env.and_then(|e| e(&format!("AGENT_MODEL_{name}")));
        let model = env_model
            .or_else(|| pick(a.model.as_ref(), d.model.as_ref()).map(|m| m.get_ref().clone()))
            .filter(|m| !m.is_empty());
        let role = pick(a.role.as_ref(), d.role.as_ref()).map(|r| r.get_ref().clone());
        if kind == Kind::Loop && role.is_none() {
            v.err(
                Problem::new(format!("{label}: a loop agent needs a role"))
                    .at(Some(sa.span()))
                    .help("set `role = \"builder\"` (its prompt is <roles_dir>/<role>.md)"),
            );
        }
        let dir = resolve(
            &project_dir,
            pick(a.dir.as_ref(), d.dir.as_ref()).map_or(".", |s| s.get_ref()),
        );
        let prompt = match (
            pick(a.prompt_file.as_ref(), d.prompt_file.as_ref()),
            pick(a.prompt.as_ref(), d.prompt.as_ref()),
        ) {
            (Some(f), _) => Some(PromptSource::File(resolve(&project_dir, f.get_ref()))),
            (None, Some(t)) => Some(PromptSource::Text(t.get_ref().clone())),
            (None, None) => None,
        };
        let wake = pick(a.wake.as_ref(), d.wake.as_ref()).and_then(|w| {
            let raw = w.get_ref();
            if let Some(pf) = &raw.prompt_file {
                let floor = watchdog.min_wake_interval;
                let interval = match &raw.interval {
                    None => std::time::Duration::from_secs(3600),
                    Some(s) if s.get_ref().duration() < floor => {
                        v.err(
                            Problem::new(format!(
                                "{label}: wake interval = {} is shorter than {} s: the wake would be typed every time the agent goes idle",
                                s.get_ref().0,
                                floor.as_secs_f64()
                            ))
                            .at(Some(sp(s)))
                            .help(format!(
                                "give the seconds between wakes, >= {} (3600 is an hour); to wake more often on purpose, lower `min_wake_interval` under [watchdog] (at least 1)",
                                floor.as_secs_f64()
                            )),
                        );
                        floor
                    }
                    Some(s) => s.get_ref().duration(),
                };
                Some(Wake {
                    interval,
                    prompt_file: resolve(&project_dir, pf.get_ref()),
                })
            } else {
                v.err(Problem::new(format!("{label}: wake needs a prompt_file"))
                    .at(Some(w.span()))
                    .help("write `wake = { interval = 3600, prompt_file = \"prompts/wake.md\" }`"));
                None
            }
        });
        agents.push(Agent {
            name,
            session,
            kind,
            backend,
            model,
            role,
            dir,
            prompt,
            enabled: a.enabled.or(d.enabled).unwrap_or(true),
            watch,
            resume: a.resume.or(d.resume).unwrap_or(false),
            wake,
        });
    }

    // Services.
    let mut services = Vec::new();
    for (i, ss) in raw.service.iter().enumerate() {
        let s = ss.get_ref();
        let Some(name) = v.entry_name(s.name.as_ref(), "[[service]]", i, ss.span(), &mut names)
        else {
            continue;
        };
        let label = format!("[[service]] {name:?}");
        warn_defaults_only(s, &label, &mut v);
        for (key, val) in [
            ("backend", &s.backend),
            ("model", &s.model),
            ("prompt", &s.prompt),
            ("prompt_file", &s.prompt_file),
            ("kind", &s.kind),
            ("watch", &s.watch),
            ("role", &s.role),
        ] {
            if let Some(val) = val {
                v.warn(
                    Problem::new(format!(
                        "{label}: `{key}` is an [[agent]] key; ignored for a service"
                    ))
                    .at(Some(sp(val))),
                );
            }
        }
        let session = session_of(s, &name, &session_prefix, &label, &mut v, &mut sessions);
        let command = match &s.command {
            Some(c) if !c.get_ref().trim().is_empty() => c.get_ref().clone(),
            other => {
                v.err(Problem::new(format!("{label}: command is required"))
                    .at(Some(other.as_ref().map_or(ss.span(), sp)))
                    .help("set `command = \"...\"`: a shell command line run in the service's session"));
                String::new()
            }
        };
        services.push(Service {
            name,
            session,
            command,
            dir: resolve(
                &project_dir,
                pick(s.dir.as_ref(), d.dir.as_ref()).map_or(".", |x| x.get_ref()),
            ),
            enabled: s.enabled.or(d.enabled).unwrap_or(true),
        });
    }
    let wd_session = format!("{session_prefix}watchdog");
    if let Some(owner) = sessions.get(&wd_session) {
        v.err(
            Problem::new(format!(
                "{owner} uses the session {wd_session:?}, which belongs to the watchdog"
            ))
            .help("rename it or give it another `session`"),
        );
    }

    let loop_ = loop_settings(&raw.loop_, &project_dir, &agents, &mut v);

    if !v.errors.is_empty() {
        return Err(v.errors);
    }
    Ok(Config {
        path: path.to_path_buf(),
        state_dir: log_dir.join("state"),
        project_dir,
        log_dir,
        session_prefix,
        tmux_socket,
        log_max_bytes,
        log_files,
        watchdog,
        notify,
        backends,
        agents,
        services,
        loop_,
        warnings: v.warnings,
    })
}

#[derive(Default)]
struct V {
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

impl V {
    fn err(&mut self, p: Problem) {
        self.errors.push(p);
    }
    fn warn(&mut self, p: Problem) {
        self.warnings.push(p);
    }

    /// Reports a session name tmux cannot take or hand back intact (see [`session_name_ok`]).
    fn session_name(&mut self, name: &str, what: &str, span: Range<usize>) -> bool {
        if session_name_ok(name) {
            return true;
        }
        self.err(Problem::new(format!("{what} {name:?} cannot be a tmux session name"))
            .at(Some(span))
            .help("tmux session names cannot be empty, contain '.', ':', '#', '\\' or control characters, start with '$' or end with ';'; use letters, digits, '-' or '_'"));
        false
    }

    /// Checks an agent or service name: present, unique, usable in file names.
    fn entry_name(
        &mut self,
        name: Option<&SStr>,
        table: &str,
        index: usize,
        table_span: Range<usize>,
        seen: &mut HashMap<String, Range<usize>>,
    ) -> Option<String> {
        let Some(n) = name else {
            self.err(
                Problem::new(format!("{table} #{} has no name", index + 1))
                    .at(Some(table_span))
                    .help("add `name = \"...\"`"),
            );
            return None;
        };
        let s = n.get_ref();
        if s.is_empty() || s.contains('/') || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            self.err(
                Problem::new(format!("{table} name {s:?} is not valid"))
                    .at(Some(sp(n)))
                    .help(
                        "a name is used in session and file names: use letters, digits, '-' or '_'",
                    ),
            );
            return None;
        }
        if s == "watchdog" {
            self.err(Problem::new(format!("{table} name \"watchdog\" is reserved"))
                .at(Some(sp(n)))
                .help("`up watchdog` / `down watchdog` name the supervisor itself; pick another name"));
            return None;
        }
        if let Some(_first) = seen.get(s) {
            self.err(
                Problem::new(format!("{table} name {s:?} is used twice"))
                    .at(Some(sp(n)))
                    .help("agent and service names must be unique; rename one of them"),
            );
            return None;
        }
        seen.insert(s.clone(), sp(n));
        Some(s.clone())
    }
}

/// Parses an enumerated value (`kind`, `watch`, `prompt_delivery`); an invalid one is an
/// error that lists the valid values.
fn one_of<T>(
    v: &mut V,
    label: &str,
    key: &str,
    val: Option<&SStr>,
    parse: fn(&str) -> Option<T>,
    valid: &[&str],
) -> Option<T> {
    let val = val?;
    let parsed = parse(val.get_ref());
    if parsed.is_none() {
        v.err(
            Problem::new(format!("{label}: {key} {:?} is not valid", val.get_ref()))
                .at(Some(sp(val)))
                .help(format!("use one of: {}", valid.join(", "))),
        );
    }
    parsed
}

fn sp<T>(s: &Spanned<T>) -> Range<usize> {
    s.span()
}

/// An entry's own value, else the `[defaults]` value (agent keys win).
fn pick<'a, T>(own: Option<&'a T>, default: Option<&'a T>) -> Option<&'a T> {
    own.or(default)
}

fn warn_defaults_only(e: &RawEntry, label: &str, v: &mut V) {
    for (key, val) in [
        ("session_prefix", &e.session_prefix),
        ("log_dir", &e.log_dir),
        ("project_dir", &e.project_dir),
        ("tmux_socket", &e.tmux_socket),
    ] {
        if let Some(val) = val {
            v.warn(
                Problem::new(format!(
                    "{label}: `{key}` only has a meaning under [defaults]; ignored here"
                ))
                .at(Some(sp(val))),
            );
        }
    }
    for (key, val) in [
        ("log_max_bytes", &e.log_max_bytes),
        ("log_files", &e.log_files),
    ] {
        if let Some(val) = val {
            v.warn(
                Problem::new(format!(
                    "{label}: `{key}` only has a meaning under [defaults]; ignored here"
                ))
                .at(Some(sp(val))),
            );
        }
    }
}

fn session_of(
    e: &RawEntry,
    name: &str,
    prefix: &str,
    label: &str,
    v: &mut V,
    sessions: &mut HashMap<String, String>,
) -> String {
    let (session, span, derived) = match &e.session {
        Some(s) => (s.get_ref().clone(), Some(sp(s)), false),
        None => (format!("{prefix}{name}"), e.name.as_ref().map(sp), true),
    };
    // A derived name is only checked when the prefix is fine (its error is reported once).
    let prefix_ok = session_name_ok(prefix);
    if (derived && !prefix_ok)
        || v.session_name(
            &session,
            &format!("{label}: session"),
            span.clone().unwrap_or(0..0),
        )
    {
        if let Some(owner) = sessions.get(&session) {
            v.err(
                Problem::new(format!(
                    "{label}: session {session:?} is already used by {owner}"
                ))
                .at(span)
                .help("every agent and service needs its own tmux session"),
            );
        } else {
            sessions.insert(session.clone(), label.to_string());
        }
    }
    session
}

/// Whether tmux can take `name` as a session name and hand it back unchanged: tmux forbids
/// '.' and ':', expands '#' in `-s`, lists a name that starts with '$' or holds '\\' escaped
/// (so later lookups miss it), and reads a final ';' as the end of the command.
pub fn session_name_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('$')
        && !name.ends_with(';')
        && !name
            .chars()
            .any(|c| matches!(c, '.' | ':' | '#' | '\\') || c.is_control())
}

fn known_list(what: &str, names: &[&str]) -> String {
    if names.is_empty() {
        format!("no {what} are defined")
    } else {
        format!("{what}: {}", names.join(", "))
    }
}

fn suggest(word: &str, names: &[&str], what: &str, fallback: &str) -> String {
    match did_you_mean(word, names.iter().copied()) {
        Some(s) => format!("did you mean {s:?}? {}", known_list(what, names)),
        None if names.is_empty() => fallback.to_string(),
        None => known_list(what, names),
    }
}

fn watchdog_settings(w: &RawWatchdog, v: &mut V) -> WatchdogSettings {
    let get =
        |x: &Option<Spanned<Seconds>>, default: f64| x.as_ref().map_or(default, |s| s.get_ref().0);
    for (key, val) in [
        ("signal_interval", &w.signal_interval),
        ("heavy_interval", &w.heavy_interval),
    ] {
        if let Some(s) = val
            && s.get_ref().0 < 0.05
        {
            v.err(
                Problem::new(format!("[watchdog] {key} = {} is too short", s.get_ref().0))
                    .at(Some(sp(s)))
                    .help("use a number of seconds >= 0.05 (the defaults are 30 and 300)"),
            );
        }
    }
    let d = |s: f64| std::time::Duration::from_secs_f64(s.max(0.05));
    let max_restarts: u32 = int_in(
        v,
        "[watchdog] max_restarts",
        w.max_restarts.as_ref(),
        1..=1_000_000,
        5,
        "a usable count",
        "give how many restarts within restart_window make an agent fatal, >= 1 (default 5)",
    );
    let backoff_initial = d(get(&w.backoff_initial, 30.0));
    let backoff_max = d(get(&w.backoff_max, 600.0));
    if let Some(m) = &w.backoff_max
        && backoff_max < backoff_initial
    {
        v.err(
            Problem::new(format!(
                "[watchdog] backoff_max = {} is shorter than backoff_initial = {}",
                m.get_ref().0,
                backoff_initial.as_secs_f64()
            ))
            .at(Some(sp(m)))
            .help("backoff_max caps the wait between quick restarts; make it >= backoff_initial"),
        );
    }
    let min_wake_interval = match &w.min_wake_interval {
        None => DEFAULT_MIN_WAKE_INTERVAL,
        Some(s) if s.get_ref().0 < 1.0 => {
            v.err(
                Problem::new(format!(
                    "[watchdog] min_wake_interval = {} is too short",
                    s.get_ref().0
                ))
                .at(Some(sp(s)))
                .help("give the shortest wake interval to accept, in seconds, >= 1 (default 10)"),
            );
            std::time::Duration::from_secs(1)
        }
        Some(s) => s.get_ref().duration(),
    };
    WatchdogSettings {
        signal_interval: d(get(&w.signal_interval, 30.0)),
        heavy_interval: d(get(&w.heavy_interval, 300.0)),
        limit_probe_fallback: d(get(&w.limit_probe_fallback, 300.0)),
        limit_reset_slack: std::time::Duration::from_secs_f64(get(&w.limit_reset_slack, 45.0)),
        limit_self_resume_grace: std::time::Duration::from_secs_f64(get(
            &w.limit_self_resume_grace,
            180.0,
        )),
        stall_grace: std::time::Duration::from_secs_f64(get(&w.stall_grace, 180.0)),
        backoff_initial,
        backoff_max,
        max_restarts,
        restart_window: d(get(&w.restart_window, 900.0)),
        stable_after: d(get(&w.stable_after, 1800.0)),
        min_wake_interval,
    }
}

/// `[notify]`: the command (a string split into words like a shell would, without running
/// one; or an array taken as is), the kinds sent, `notify_repeat` and `timeout`.
fn notify_settings(n: &RawNotify, v: &mut V) -> NotifySettings {
    let mut out = NotifySettings::default();
    if let Some(c) = &n.command {
        let argv = match c.get_ref() {
            RawCommand::Line(line) => {
                if let Some(words) = shlex::split(line) {
                    Some(words)
                } else {
                    v.err(Problem::new(format!("[notify] command {line:?} is not a valid command line"))
                    .at(Some(sp(c)))
                    .help("close the quote, or write the command as an array: command = [\"notify-send\", \"agents\"]"));
                    None
                }
            }
            RawCommand::Argv(words) => Some(words.clone()),
        };
        match argv {
            Some(words) if words.first().is_none_or(std::string::String::is_empty) => {
                v.err(Problem::new("[notify] command is empty")
                    .at(Some(sp(c)))
                    .help("name the program to run, e.g. command = \"notify-send agents\"; remove [notify] to send nothing"));
            }
            Some(words) => out.command = Some(words),
            None => {}
        }
    } else if n.events.is_some() || n.notify_repeat.is_some() || n.timeout.is_some() {
        v.warn(
            Problem::new("[notify] has no `command`: no notification is sent")
                .help("add command = \"...\" (the program run with the event on stdin)"),
        );
    }
    if let Some(list) = &n.events {
        let names: Vec<&str> = NotifyKind::ALL.iter().map(|k| k.as_str()).collect();
        let mut kinds = Vec::new();
        for e in list.get_ref() {
            match NotifyKind::parse(e.get_ref()) {
                Some(k) if !kinds.contains(&k) => kinds.push(k),
                Some(_) => {}
                None => v.err(
                    Problem::new(format!(
                        "[notify] events: {:?} is not a notification kind",
                        e.get_ref()
                    ))
                    .at(Some(sp(e)))
                    .help(suggest(e.get_ref(), &names, "the kinds are", "")),
                ),
            }
        }
        if list.get_ref().is_empty() {
            v.warn(
                Problem::new("[notify] events is empty: no notification is sent")
                    .at(Some(sp(list)))
                    .help(format!("name the kinds to send: {}", names.join(", "))),
            );
        }
        out.events = kinds;
    }
    if let Some(r) = &n.notify_repeat {
        out.repeat = r.get_ref().duration();
    }
    if let Some(t) = &n.timeout {
        if t.get_ref().0 < 0.1 {
            v.err(
                Problem::new(format!("[notify] timeout = {} is too short", t.get_ref().0))
                    .at(Some(sp(t)))
                    .help("give the seconds a notify command may run before it is killed, >= 0.1 (default 10)"),
            );
        } else {
            out.timeout = t.get_ref().duration();
        }
    }
    out
}

/// An integer key checked against `range`: its value, else (unset, or out of range with an
/// error `"{key} = N is not {what}"` at the value and `help`) `default`.
#[allow(clippy::too_many_arguments)]
fn int_in<T: TryFrom<i64>>(
    v: &mut V,
    key: &str,
    val: Option<&Spanned<i64>>,
    range: std::ops::RangeInclusive<i64>,
    default: T,
    what: &str,
    help: &str,
) -> T {
    match val {
        None => default,
        Some(n) => match T::try_from(*n.get_ref()) {
            Ok(t) if range.contains(n.get_ref()) => t,
            _ => {
                v.err(
                    Problem::new(format!("{key} = {} is not {what}", n.get_ref()))
                        .at(Some(sp(n)))
                        .help(help),
                );
                default
            }
        },
    }
}

fn regex_field(owner: &str, key: &str, val: Option<&SStr>, v: &mut V) -> Option<Pattern> {
    rule_field(owner, key, val, None, v)
}

/// [`regex_field`] for a backend rule; `shipped` is the same key of the backend's built-in
/// preset. The preset's own rule (the file not setting the key, or setting it to the same
/// text) is taken unchecked: the tests check every shipped rule, and a process that never
/// reads a pane never pays for parsing it.
fn rule_field(
    owner: &str,
    key: &str,
    val: Option<&SStr>,
    shipped: Option<&SStr>,
    v: &mut V,
) -> Option<Pattern> {
    let s = val?;
    if s.get_ref().is_empty() {
        return None;
    }
    if shipped.is_some_and(|p| p.get_ref() == s.get_ref()) {
        return Some(Pattern::shipped(s.get_ref()));
    }
    match Pattern::new(s.get_ref()) {
        Ok(p) => Some(p),
        Err(last) => {
            v.err(Problem::new(format!("{owner}: {key} is not a valid regex: {last}"))
                .at(Some(sp(s)))
                .help("the syntax is Rust's `regex` crate (like Python's re, without look-around or backreferences)"));
            None
        }
    }
}

/// A backend's `answers`: each `when` and `choose` checked as a regex; an error names the
/// entry (`answers[2].choose`).
fn answers(label: &str, raw: Option<&Spanned<Vec<RawAnswer>>>, v: &mut V) -> Vec<Answer> {
    let Some(raw) = raw else {
        return vec![];
    };
    let mut out = vec![];
    for (i, a) in raw.get_ref().iter().enumerate() {
        let mut pattern = |key: &str, src: &str| match Pattern::new(src) {
            Ok(p) => Some(p),
            Err(e) => {
                v.err(
                    Problem::new(format!("{label}: answers[{i}].{key} is not a valid regex: {e}"))
                        .at(Some(sp(raw)))
                        .help("the syntax is Rust's `regex` crate (like Python's re, without look-around or backreferences)"),
                );
                None
            }
        };
        let when = pattern("when", &a.when);
        let choose = pattern("choose", &a.choose);
        if let (Some(when), Some(choose)) = (when, choose) {
            out.push(Answer { when, choose });
        }
    }
    out
}

/// What a stalled agent is told when `stall_nudge` is not set.
pub const DEFAULT_STALL_NUDGE: &str =
    "You have been idle for a while. Re-check your task and status files, then continue.";

/// Builds backend `name` from table `b` alone, as a `[backend.NAME]` table of a config is
/// built (the built-in presets load through this): the backend, or every error found (spans
/// in the text `b` was read from). A rule equal to the shipped preset `name`'s is taken
/// unchecked, as in a config; any other is checked.
///
/// # Errors
///
/// Every error found in the table: a bad value, an invalid rule.
pub fn backend_alone(name: &str, b: &RawBackend) -> Result<Backend, Vec<Problem>> {
    let mut v = V::default();
    let shipped = presets::raw(name);
    let built = backend(name, b, shipped.as_ref(), &mut v);
    if v.errors.is_empty() {
        Ok(built)
    } else {
        Err(v.errors)
    }
}

fn backend(name: &str, b: &RawBackend, preset: Option<&RawBackend>, v: &mut V) -> Backend {
    let none = RawBackend::default();
    let preset = preset.unwrap_or(&none);
    let label = format!("[backend.{name}]");
    let s = |x: &Option<SStr>, default: &str| {
        x.as_ref()
            .map_or(default.to_string(), |s| s.get_ref().clone())
    };
    let delivery = one_of(
        v,
        &label,
        "prompt_delivery",
        b.prompt_delivery.as_ref(),
        Delivery::parse,
        Delivery::VALID,
    )
    .unwrap_or(Delivery::Arg);
    let hooks = one_of(
        v,
        &label,
        "hooks",
        b.hooks.as_ref(),
        Hooks::parse,
        Hooks::VALID,
    )
    .unwrap_or(Hooks::None);
    // The claude preset's `hooks` under a table that changed the delivery (a wrapper run
    // with `exec`): the hooks cannot reach the CLI, and the table did not ask for them.
    let inherited = preset
        .hooks
        .as_ref()
        .zip(b.hooks.as_ref())
        .is_some_and(|(p, h)| p.span() == h.span() && p.get_ref() == h.get_ref());
    let hooks = if inherited && delivery != Delivery::Arg {
        Hooks::None
    } else {
        hooks
    };
    let on_command_line = match hooks {
        Hooks::Codex => Some(("codex", "the Codex CLI as `-c hooks.<Event>=…` overrides")),
        Hooks::Claude => Some(("claude", "Claude Code as `--settings <file>`")),
        // Through the environment: any delivery that starts the process (not `ping`, below).
        Hooks::Gemini | Hooks::None => None,
    };
    if let Some((name, how)) = on_command_line
        && delivery != Delivery::Arg
        && let Some(h) = &b.hooks
    {
        v.err(
            Problem::new(format!(
                "{label}: hooks = \"{name}\" needs prompt_delivery = \"arg\""
            ))
            .at(Some(sp(h)))
            .help(format!(
                "the hooks reach {how} on its command line, which only an `arg` backend \
                 builds; set hooks = \"none\" or prompt_delivery = \"arg\""
            )),
        );
    }
    if hooks == Hooks::Gemini
        && delivery == Delivery::Ping
        && let Some(h) = &b.hooks
    {
        v.err(
            Problem::new(format!(
                "{label}: hooks = \"gemini\" cannot reach a CLI attached with prompt_delivery = \"ping\""
            ))
            .at(Some(sp(h)))
            .help(
                "the hooks reach Gemini CLI through GEMINI_CLI_HOME in the environment of the \
                 process agents starts, which a `ping` backend only attaches to; set hooks = \
                 \"none\" or prompt_delivery = \"arg\"",
            ),
        );
    }
    let bin = match &b.bin {
        Some(x) if !x.get_ref().trim().is_empty() => {
            if shlex::split(x.get_ref()).is_none() {
                v.err(
                    Problem::new(format!("{label}: bin has an unclosed quote"))
                        .at(Some(sp(x)))
                        .help("bin is split into words like a shell line; close every ' and \""),
                );
            }
            x.get_ref().clone()
        }
        other => {
            v.err(Problem::new(format!("{label}: bin is required"))
                .at(other.as_ref().map(sp))
                .help("set `bin = \"claude\"` (the program, or for exec delivery a command template)"));
            String::new()
        }
    };
    let active_re = rule_field(
        &label,
        "active_re",
        b.active_re.as_ref(),
        preset.active_re.as_ref(),
        v,
    );
    let idle_re = rule_field(
        &label,
        "idle_re",
        b.idle_re.as_ref(),
        preset.idle_re.as_ref(),
        v,
    );
    let dialog_re = rule_field(
        &label,
        "dialog_re",
        b.dialog_re.as_ref(),
        preset.dialog_re.as_ref(),
        v,
    );
    let continue_re = rule_field(
        &label,
        "continue_re",
        b.continue_re.as_ref(),
        preset.continue_re.as_ref(),
        v,
    );
    let resumed_re = rule_field(
        &label,
        "resumed_re",
        b.resumed_re.as_ref(),
        preset.resumed_re.as_ref(),
        v,
    );
    let choice_re = rule_field(
        &label,
        "choice_re",
        b.choice_re.as_ref(),
        preset.choice_re.as_ref(),
        v,
    );
    let answers = answers(&label, b.answers.as_ref(), v);
    let footer_ui = b.footer_ui.unwrap_or(false);
    let region: usize = int_in(
        v,
        &format!("{label}: region"),
        b.region.as_ref(),
        1..=10_000,
        if footer_ui { 10 } else { 25 },
        "a number of lines",
        "give how many bottom lines of the pane are read, 1 to 10000 (default 25; 10 for footer_ui)",
    );
    let limit_re = rule_field(
        &label,
        "limit_re",
        b.limit_re.as_ref(),
        preset.limit_re.as_ref(),
        v,
    );
    let fatal_re = rule_field(
        &label,
        "fatal_re",
        b.fatal_re.as_ref(),
        preset.fatal_re.as_ref(),
        v,
    );
    let ready_re = rule_field(
        &label,
        "ready_re",
        b.ready_re.as_ref(),
        preset.ready_re.as_ref(),
        v,
    );
    let secs =
        |x: Option<Seconds>, d: f64| std::time::Duration::from_secs_f64(x.map_or(d, |s| s.0));
    Backend {
        name: name.to_string(),
        bin,
        delivery,
        hooks,
        flags: s(&b.flags, ""),
        model_flag: s(&b.model_flag, "--model '{model}'"),
        supports_resume: b.supports_resume.unwrap_or(false),
        resume_flag: s(&b.resume_flag, "--resume '{id}'"),
        remote_control: b.remote_control.unwrap_or(false),
        remote_control_flag: s(&b.remote_control_flag, "--remote-control '{session}'"),
        process_name: b
            .process_name
            .as_ref()
            .map(|p| p.get_ref().clone())
            .filter(|p| !p.is_empty()),
        submit_key: s(
            &b.submit_key,
            if delivery == Delivery::Ping {
                "C-m"
            } else {
                "Enter"
            },
        ),
        active_re,
        limit_re,
        fatal_re,
        ready_re,
        idle_re,
        dialog_re,
        continue_re,
        resumed_re,
        choice_re,
        answers,
        region,
        stall_nudge: s(&b.stall_nudge, DEFAULT_STALL_NUDGE),
        stop_keys: match &b.stop_keys {
            Some(k)
                if k.get_ref()
                    .iter()
                    .any(|x| x.trim().is_empty() || x.contains(char::is_whitespace)) =>
            {
                v.err(
                    Problem::new(format!("{label}: stop_keys holds an empty key or one with a space"))
                        .at(Some(sp(k)))
                        .help("give tmux key names, one per element, e.g. stop_keys = [\"C-c\", \"C-c\"] or [\"/exit\", \"Enter\"] is not allowed: use [\"C-d\"]"),
                );
                Vec::new()
            }
            Some(k) => k.get_ref().clone(),
            None => Vec::new(),
        },
        stop_timeout: secs(b.stop_timeout, 10.0),
        footer_ui,
        log_grace: secs(b.log_grace, 180.0),
        stall_idle: secs(b.stall_idle, 300.0),
        attach: s(&b.attach, "{bin}"),
        server: s(&b.server, ""),
        preamble: s(&b.preamble, ""),
        connect_delay: secs(b.connect_delay, 12.0),
        model_env: b.model_env.unwrap_or(false),
    }
}

fn loop_settings(l: &RawLoop, project_dir: &Path, agents: &[Agent], v: &mut V) -> LoopSettings {
    let mut ids: HashSet<&str> = HashSet::new();
    let mut phases = Vec::new();
    for sp_phase in &l.phases {
        let p = sp_phase.get_ref();
        let id = p.id.get_ref();
        if !ids.insert(id) {
            v.err(
                Problem::new(format!("[loop] phase id {id:?} is used twice"))
                    .at(Some(sp(&p.id)))
                    .help("every phase needs its own id"),
            );
        }
        let status = match &p.status {
            Some(s) if !s.is_empty() => s.clone(),
            _ => {
                v.err(Problem::new(format!("[loop] phase {id:?} has no status file"))
                    .at(Some(sp_phase.span()))
                    .help("add `status = \"STATUS-<id>.md\"`: the file whose `## DONE` section ends the phase"));
                String::new()
            }
        };
        phases.push(Phase {
            id: id.clone(),
            plan: p.plan.clone().unwrap_or_default(),
            status,
            models: p.models.clone(),
        });
    }
    let agent_names: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
    let handoff = l
        .handoff
        .as_ref()
        .map(|hs| handoff_settings(hs, project_dir, &agent_names, v));
    let on_complete = l.on_complete.as_ref().map(|oc| {
        if let Some(run) = &oc.run
            && !agent_names.contains(&run.get_ref().as_str())
        {
            v.err(
                Problem::new(format!(
                    "[loop.on_complete] run = {:?} names no agent",
                    run.get_ref()
                ))
                .at(Some(sp(run)))
                .help(known_list("agents", &agent_names)),
            );
        }
        OnComplete {
            run: oc.run.as_ref().map(|r| r.get_ref().clone()),
            trigger_file: oc
                .trigger_file
                .clone()
                .unwrap_or_else(|| ".run-on-complete".into()),
        }
    });
    let state_file = l
        .state_file
        .as_ref()
        .map_or("phase-idx".to_string(), |s| s.get_ref().clone());
    if state_file.is_empty() || state_file.contains('/') {
        v.err(
            Problem::new(format!(
                "[loop] state_file {state_file:?} is not a file name"
            ))
            .at(l.state_file.as_ref().map(sp))
            .help("a plain file name, kept in <log_dir>/state/ (default \"phase-idx\")"),
        );
    }
    LoopSettings {
        phases,
        state_file,
        done_marker: l
            .done_marker
            .as_ref()
            .map_or("## DONE".into(), |s| s.get_ref().clone()),
        kickoff_template: l
            .kickoff_template
            .as_ref()
            .map(|t| resolve(project_dir, t.get_ref())),
        roles_dir: resolve(
            project_dir,
            l.roles_dir.as_ref().map_or("prompts", |s| s.get_ref()),
        ),
        auto_advance: l.auto_advance.unwrap_or(true),
        resume_phase: l.resume_phase,
        handoff,
        on_complete,
    }
}

/// The warning for a `[loop.handoff]` repository that cannot be used (`error`, from
/// `crate::git::probe`: missing, not a git repository, no `origin` remote), at its `repo`
/// key, or at the table when `repo` is not set (the project directory is used). Not a
/// config error: the watchdog reports it once and retries every tick.
pub fn handoff_repo_problem(h: &Handoff, error: &str) -> Problem {
    let key = if h.repo_at.set {
        "repo"
    } else {
        "repo (not set: the project directory)"
    };
    Problem::new(format!("[loop.handoff] {key}: {error}"))
        .at(Some(h.repo_at.span.clone()))
        .help("until it is fixed there are no handoff pings: the watchdog reports the error once and retries every tick")
}

/// `[loop.handoff]`. A `repo` that is missing, not a git repository or without an `origin`
/// remote is a warning (the repository may be cloned later; the watchdog reports the error
/// and retries every tick); an inbox outside the repo and a ping target that names no agent
/// are errors (a target left at its default that names no agent is a warning, as the
/// original accepted it).
fn handoff_settings(
    hs: &Spanned<RawHandoff>,
    project_dir: &Path,
    agent_names: &[&str],
    v: &mut V,
) -> Handoff {
    let h = hs.get_ref();
    let mut pat = |x: &Option<SStr>, key: &str, default: &str| {
        regex_field("[loop.handoff]", key, x.as_ref(), v)
            .unwrap_or_else(|| Pattern::new(default).expect("default pattern is valid"))
    };
    let claim_pattern = pat(&h.claim_pattern, "claim_pattern", "^claim");
    let review_pattern = pat(&h.review_pattern, "review_pattern", "^review");
    let mut target = |x: &Option<SStr>, key: &str, default: &str| {
        let name = x
            .as_ref()
            .map_or(default.to_string(), |s| s.get_ref().clone());
        if agent_names.contains(&name.as_str()) {
            return name;
        }
        match x {
            Some(s) => v.err(
                Problem::new(format!(
                    "[loop.handoff] {key} = {name:?} names no agent; its pings would go nowhere"
                ))
                .at(Some(sp(s)))
                .help(suggest(&name, agent_names, "agents", "define the agent with [[agent]]")),
            ),
            None => v.warn(
                Problem::new(format!(
                    "[loop.handoff] {key} is not set and no agent is named {name:?} (its default): its pings go nowhere"
                ))
                .at(Some(hs.span()))
                .help(format!(
                    "set {key} = \"<agent>\"; {}",
                    known_list("agents", agent_names)
                )),
            ),
        }
        name
    };
    let claim_pings = target(&h.claim_pings, "claim_pings", "adversary");
    let review_pings = target(&h.review_pings, "review_pings", "builder");
    let repo = h.repo.as_ref().map_or(project_dir.to_path_buf(), |r| {
        resolve(project_dir, r.get_ref())
    });
    for ib in &h.inboxes {
        let name = ib.get_ref();
        let p = Path::new(name);
        let outside = p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir));
        if name.trim().is_empty() || outside {
            v.err(
                Problem::new(if outside {
                    format!("[loop.handoff] inboxes: {name:?} is outside the handoff repo")
                } else {
                    "[loop.handoff] inboxes: an inbox file name is empty".to_string()
                })
                .at(Some(sp(ib)))
                .help("name a file relative to the repo: it is read from origin/main at <state_subdir>/<file>, else <file> at the root (e.g. \"builder_inbox.md\")"),
            );
        }
    }
    if let Some(extra) = h.inboxes.get(2) {
        v.warn(
            Problem::new(
                "[loop.handoff] inboxes: only the first two are read; the rest are ignored",
            )
            .at(Some(sp(extra)))
            .help("inboxes[0] is for the claim_pings agent, inboxes[1] for the review_pings agent"),
        );
    }
    Handoff {
        repo,
        repo_at: RepoAt {
            span: h.repo.as_ref().map_or(hs.span(), sp),
            set: h.repo.is_some(),
        },
        state_subdir: h
            .state_subdir
            .clone()
            .unwrap_or_else(|| "machine-docs".into()),
        claim_pattern,
        review_pattern,
        claim_pings,
        review_pings,
        inboxes: h.inboxes.iter().map(|s| s.get_ref().clone()).collect(),
    }
}

/// Resolves a config path: `~` expands to `$HOME`; a relative path is joined to `base`;
/// `.` components are dropped.
pub fn resolve(base: &Path, p: &str) -> PathBuf {
    let expanded = match (p.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            PathBuf::from(home).join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(p),
    };
    let joined = if expanded.is_absolute() {
        expanded
    } else {
        base.join(expanded)
    };
    joined
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect()
}
