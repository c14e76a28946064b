//! SPEC §2 — the files under `log_dir`, compatible with the original `agents.py`:
//! `state/<phase state_file>`, `state/<agent>.id`, `state/kickoff-<session>.txt`,
//! `state/limited-<session>.json`, and `SEQUENCE-COMPLETE`. Ours in addition:
//! `state/down-<agent>` (the operator stopped it; the watchdog leaves it down, defect 22),
//! `state/done-<agent>` (a task agent finished with status 0, defect 6) and
//! `state/watchdog.lock`. Every path under `log_dir/state` comes from a [`StateDir`]
//! accessor. Every write is atomic; a corrupt file is reported (once, [`ReportOnce`]) and
//! treated as absent, never a crash ([`json`] reads and writes the JSON ones). [`Clock`] is
//! the watchdog's time, injectable.

pub mod atomic;
pub mod clock;
pub mod handoff;
pub mod json;
pub mod lock;
pub mod manifest;
pub mod report;
pub mod rollout;
pub mod signals;
pub mod usage;

use std::path::{Path, PathBuf};

use crate::config::Config;
pub use clock::Clock;
pub use report::ReportOnce;

/// The state directory of one fleet.
#[derive(Debug, Clone)]
pub struct StateDir {
    log_dir: PathBuf,
    dir: PathBuf,
    phase_file: String,
}

/// The phase index as read from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseIndex {
    /// Index into `[loop].phases`, always in range when phases exist.
    pub index: usize,
    /// Set when the file was unreadable, corrupt or out of range and `index` is a fallback
    /// (the watchdog does not advance phases then); says how to fix it.
    pub warning: Option<String>,
}

/// `limited-<session>.json`: the original's fields (`until`, `nudges`) and ours.
pub use crate::supervise::limit::Hold as LimitState;

/// `state/supervision.json`: what the watchdog last saw and decided, per agent, for `status`
/// (written atomically by the watchdog only, after every tick: durably when what it shows
/// changed).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Supervision {
    /// The watchdog that wrote it.
    pub pid: u32,
    /// When (RFC 3339, local time with offset).
    pub updated: String,
    /// One entry per supervised agent, by agent name.
    pub agents: std::collections::BTreeMap<String, AgentView>,
    /// How many supervision ticks the watchdog that wrote it has run (1 after its first): a
    /// test or a script that needs "N more ticks passed and nothing happened" waits for it to
    /// grow by N instead of sleeping for a guessed time. 0 in a file written before it existed.
    #[serde(default)]
    pub ticks: u64,
    /// How long the last tick took to capture and read every watched pane and decide what
    /// to do, in milliseconds (the watchdog's own clock; before any restart, stop or typing,
    /// whose time is the agents' and tmux's). `None` in a file written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tick_ms: Option<f64>,
}

/// The per-agent files of a state dir (the markers `down-`, `done-`, `fatal-<agent>`, the
/// limit holds `limited-<session>.json`, the last deliveries `typed-<agent>.json`) listed
/// once: a verb that asks about every agent (`status`) reads the dir once instead of looking
/// up five files per agent, each asked several times. A name in the listing is confirmed by
/// its own lookup, so every answer is the one [`StateDir::is_down`] (and the others) gives;
/// when the dir cannot be listed, every question is that lookup.
#[derive(Debug)]
pub struct Markers<'a> {
    state: &'a StateDir,
    names: Option<std::collections::HashSet<String>>,
}

impl Markers<'_> {
    /// Whether the file `name` may exist: listed, or the dir could not be listed.
    fn listed(&self, name: &str) -> bool {
        self.names.as_ref().is_none_or(|n| n.contains(name))
    }

    /// As [`StateDir::is_down`].
    pub fn is_down(&self, agent: &str) -> bool {
        self.listed(&format!("down-{agent}")) && self.state.is_down(agent)
    }

    /// As [`StateDir::is_done`].
    pub fn is_done(&self, agent: &str) -> bool {
        self.listed(&format!("done-{agent}")) && self.state.is_done(agent)
    }

    /// As [`StateDir::is_fatal`].
    pub fn is_fatal(&self, agent: &str) -> bool {
        self.listed(&format!("fatal-{agent}")) && self.state.is_fatal(agent)
    }

    /// As [`StateDir::limit`], without opening a file the listing does not hold.
    ///
    /// # Errors
    ///
    /// As [`StateDir::limit`].
    pub fn limit(&self, session: &str) -> Result<Option<LimitState>, String> {
        if !self.listed(&format!("limited-{session}.json")) {
            return Ok(None);
        }
        self.state.limit(session)
    }

    /// Whether `typed-<agent>.json` may exist (listed, or the dir could not be listed).
    pub fn may_have_typed(&self, agent: &str) -> bool {
        self.listed(&format!("typed-{agent}.json"))
    }
}

/// The smallest file [`StateDir::probe_write`] requires this process may write: the
/// watchdog's view of a few agents, a limit hold.
pub const PROBE_BYTES: u64 = 4096;

/// One agent in [`Supervision`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentView {
    /// `active`, `idle`, `limited`, `stalled`, `dialog`, `backoff`, `fatal`, `starting`,
    /// `stopped`, `down`, `done`, `dead`.
    pub state: String,
    /// Since when (RFC 3339) it has been in that state.
    pub since: String,
    /// For `limited` and `backoff`: until when (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Restarts by the watchdog within `restart_window`.
    #[serde(default)]
    pub restarts: usize,
    /// The evidence: the line that decided, or why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Where the reading behind `state` came from: `screen`, `hook` (a CLI's hook, the screen
    /// not showing it yet) or `process` (tmux and the process table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The last event about this agent: `{ts, event, why}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<LastEvent>,
    /// The `started` stamp of the agent's session in `state/manifest.json` when this view was
    /// written (`None`: no entry). A different stamp in the manifest now means the session
    /// was started (or stopped) since — by `up`, `restart` or `down` — and this view is old
    /// news: `status` reads the agent afresh instead of showing, say, a stale `fatal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
}

/// The last event recorded about an agent.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LastEvent {
    /// When it happened: RFC 3339, local time with offset, whole seconds.
    pub ts: String,
    /// The event's name as in `events.jsonl` (e.g. `restart`, `limit-hit`).
    pub event: String,
    /// Why, in a few words (empty in a file written before it existed).
    #[serde(default)]
    pub why: String,
}

impl StateDir {
    /// The state paths of `cfg`: `log_dir`, `log_dir/state` and `[loop] state_file`.
    pub fn new(cfg: &Config) -> Self {
        Self {
            log_dir: cfg.log_dir.clone(),
            dir: cfg.state_dir.clone(),
            phase_file: cfg.loop_.state_file.clone(),
        }
    }

    /// `log_dir/state`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `state/manifest.json`: the sessions this fleet started.
    pub fn manifest(&self) -> manifest::ManifestFile {
        manifest::ManifestFile::new(&self.dir)
    }

    /// `state/handoff.json`: the handoff check's memory ([`handoff`]).
    pub fn handoff_path(&self) -> PathBuf {
        self.dir.join("handoff.json")
    }

    /// `state/handoff.lock`: held for a read-modify-write of `handoff.json`.
    pub fn handoff_lock_path(&self) -> PathBuf {
        self.dir.join("handoff.lock")
    }

    /// `state/wake.json`: the last wake time of each agent with a `wake` table.
    pub fn wake_path(&self) -> PathBuf {
        self.dir.join("wake.json")
    }

    /// `state/typed-<agent>.json`: the agent's last delivery (`crate::typing::last`).
    pub fn typed_path(&self, agent: &str) -> PathBuf {
        self.dir.join(format!("typed-{agent}.json"))
    }

    /// `state/typing-<session>.lock`: held while text is typed into the session.
    pub fn typing_lock_path(&self, session: &str) -> PathBuf {
        self.dir.join(format!("typing-{session}.lock"))
    }

    /// `state/<agent>.id`: the agent's resume id (see [`Self::resume_id`]).
    pub fn resume_id_path(&self, agent: &str) -> PathBuf {
        self.dir.join(format!("{agent}.id"))
    }

    /// `state/down-<agent>`: the operator stopped it (see [`Self::set_down`]).
    pub fn down_path(&self, agent: &str) -> PathBuf {
        self.marker("down", agent)
    }

    /// `state/fatal-<agent>`: the watchdog gave up on it, with when and why (see
    /// [`Self::set_fatal`]).
    pub fn fatal_path(&self, agent: &str) -> PathBuf {
        self.marker("fatal", agent)
    }

    /// `log_dir/state/fleet.lock`: held while sessions of the fleet are started or stopped
    /// (`up`, `down`, the watchdog's restarts), so that they never race.
    pub fn fleet_lock_path(&self) -> PathBuf {
        self.dir.join("fleet.lock")
    }

    /// `log_dir/state/watchdog.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("watchdog.lock")
    }

    /// `log_dir/SEQUENCE-COMPLETE`.
    pub fn sequence_complete_path(&self) -> PathBuf {
        self.log_dir.join("SEQUENCE-COMPLETE")
    }

    /// Whether the last phase has been marked complete.
    pub fn sequence_complete(&self) -> bool {
        self.sequence_complete_path().exists()
    }

    /// `log_dir/state/<phase state_file>`.
    pub fn phase_path(&self) -> PathBuf {
        self.dir.join(&self.phase_file)
    }

    /// Reads the phase index for `count` phases. Missing → 0. Unreadable, not a number, or
    /// out of range → a fallback (0, or the last phase) with a warning that says how to fix it.
    pub fn phase_index(&self, count: usize) -> PhaseIndex {
        let path = self.phase_path();
        let fix = "fix it with `agents phase set N`";
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return PhaseIndex {
                    index: 0,
                    warning: None,
                };
            }
            Err(e) => {
                return PhaseIndex {
                    index: 0,
                    warning: Some(format!(
                        "cannot read the phase index {}: {e}; using phase 1; {fix}",
                        path.display()
                    )),
                };
            }
        };
        match text.trim().parse::<i64>() {
            Ok(i) if usize::try_from(i).is_ok_and(|u| u < count.max(1)) => PhaseIndex {
                index: usize::try_from(i).unwrap_or_default(),
                warning: None,
            },
            Ok(i) if i >= 0 && count > 0 => PhaseIndex {
                index: count - 1,
                warning: Some(format!(
                    "{} holds phase index {i}, but only {count} phase{} configured; using the last one; {fix}",
                    path.display(),
                    if count == 1 { " is" } else { "s are" }
                )),
            },
            _ => PhaseIndex {
                index: 0,
                warning: Some(format!(
                    "{} holds {:?}, not a phase index; using phase 1; {fix}",
                    path.display(),
                    text.trim()
                )),
            },
        }
    }

    /// Writes the phase index atomically.
    ///
    /// # Errors
    ///
    /// The file system's error when the state dir cannot be created or the file cannot be
    /// written, synced or renamed into place ([`atomic::write`]).
    pub fn write_phase_index(&self, index: usize) -> std::io::Result<()> {
        atomic::write(&self.phase_path(), index.to_string().as_bytes())
    }

    /// `state/kickoff-<session>.txt`.
    pub fn kickoff_path(&self, session: &str) -> PathBuf {
        self.dir.join(format!("kickoff-{session}.txt"))
    }

    /// `state/signals-<session>.jsonl`: the structured signals the session's CLI sent
    /// through its hooks ([`signals`]).
    pub fn signals_path(&self, session: &str) -> PathBuf {
        self.dir.join(format!("signals-{session}.jsonl"))
    }

    /// `state/usage-<session>.json`: the plan usage the session's CLI last reported to its
    /// status line ([`usage`]).
    pub fn usage_path(&self, session: &str) -> PathBuf {
        self.dir.join(format!("usage-{session}.json"))
    }

    /// `state/hooks-<session>.json`: the settings file with the hooks a `hooks = "claude"`
    /// session is started with (`--settings`), written at each launch.
    pub fn hook_settings_path(&self, session: &str) -> PathBuf {
        self.dir.join(format!("hooks-{session}.json"))
    }

    /// `state/gemini-home-<session>/`: the home a `hooks = "gemini"` session is started with
    /// (`GEMINI_CLI_HOME`): its `.gemini/settings.json` is the user's own plus the hooks, every
    /// other entry of the user's `~/.gemini` a symbolic link to it; refreshed at each launch.
    pub fn gemini_home_path(&self, session: &str) -> PathBuf {
        self.dir.join(format!("gemini-home-{session}"))
    }

    /// The resume id in `state/<agent>.id`, if present and non-empty.
    pub fn resume_id(&self, agent: &str) -> Option<String> {
        let v = std::fs::read_to_string(self.resume_id_path(agent)).ok()?;
        let v = v.trim();
        (!v.is_empty()).then(|| v.to_string())
    }

    /// `state/limited-<session>.json`; `Err` names a corrupt or unreadable file, treated as
    /// absent ([`json`]'s policy).
    ///
    /// # Errors
    ///
    /// A corrupt or unreadable file, named, with "treated as absent"; a missing file is `Ok(None)`.
    pub fn limit(&self, session: &str) -> Result<Option<LimitState>, String> {
        json::read(&self.limit_path(session)).map_err(|c| c.then("treated as absent"))
    }

    /// `state/limited-<session>.json`, the usage-limit hold of a session.
    pub fn limit_path(&self, session: &str) -> PathBuf {
        self.dir.join(format!("limited-{session}.json"))
    }

    /// Writes `limited-<session>.json` atomically.
    ///
    /// # Errors
    ///
    /// The file system's error when the state dir cannot be created or the file cannot be
    /// written or renamed into place ([`json::write`]).
    pub fn set_limit(&self, session: &str, hold: &LimitState) -> std::io::Result<()> {
        json::write(&self.limit_path(session), hold, json::Form::Compact)
    }

    /// Removes `limited-<session>.json` (a missing file is fine).
    ///
    /// # Errors
    ///
    /// The file system's error when the file exists and cannot be removed.
    pub fn clear_limit(&self, session: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.limit_path(session)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Whether state can be saved now, asked of the file system without writing: the state
    /// dir is a directory, its file system is not mounted read-only and has free blocks and
    /// inodes (`statvfs`), this user may write in it (`access(W_OK)`), and this process may
    /// write a file of [`PROBE_BYTES`] (`ulimit -f`). `Err` says why not, naming the
    /// directory. A state dir that does not exist yet is fine (it is created by the first
    /// write). Before, a 4 KiB probe file was written and removed on every `status`: three
    /// syscalls that changed the disk, for what these read-only ones tell.
    ///
    /// # Errors
    ///
    /// Why state cannot be saved, naming the state dir: it is not a directory, cannot be read,
    /// is on a read-only file system, a full disk or one without free inodes, is not writable
    /// for this user, or `ulimit -f` is below [`PROBE_BYTES`].
    pub fn probe_write(&self) -> Result<(), String> {
        use nix::sys::statvfs::FsFlags;
        let dir = &self.dir;
        match std::fs::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
            Ok(m) if !m.is_dir() => {
                return Err(format!("{} is not a directory", dir.display()));
            }
            Ok(_) => {}
        }
        let fail = |why: String| format!("cannot write in {}: {why}", dir.display());
        match nix::sys::statvfs::statvfs(dir.as_path()) {
            Ok(fs) if fs.flags().contains(FsFlags::ST_RDONLY) => {
                return Err(fail("its file system is mounted read-only".into()));
            }
            Ok(fs) if fs.blocks_available() == 0 => {
                return Err(fail("no space left on its disk".into()));
            }
            // A file system without inode counts (btrfs, some FUSE) says 0 of 0.
            Ok(fs) if fs.files_available() == 0 && fs.files() > 0 => {
                return Err(fail("no free inodes left on its disk".into()));
            }
            Ok(_) => {}
            Err(e) => return Err(fail(e.desc().into())),
        }
        if let Err(e) = nix::unistd::access(dir.as_path(), nix::unistd::AccessFlags::W_OK) {
            return Err(fail(e.desc().into()));
        }
        match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_FSIZE) {
            Ok((soft, _)) if soft != nix::sys::resource::RLIM_INFINITY && soft < PROBE_BYTES => {
                Err(fail(format!(
                    "this process may not write a file past {soft} bytes (ulimit -f)"
                )))
            }
            _ => Ok(()),
        }
    }

    /// `state/supervision.json`.
    pub fn supervision_path(&self) -> PathBuf {
        self.dir.join("supervision.json")
    }

    /// The watchdog's last published view; `None` when absent, or corrupt (treated as
    /// absent: `status` reads the agents itself, and the watchdog rewrites it).
    pub fn supervision(&self) -> Option<Supervision> {
        json::read(&self.supervision_path()).ok().flatten()
    }

    /// Publishes the watchdog's view atomically.
    ///
    /// # Errors
    ///
    /// The file system's error when the file cannot be written or renamed into place.
    pub fn set_supervision(&self, view: &Supervision) -> std::io::Result<()> {
        json::write(&self.supervision_path(), view, json::Form::Pretty)
    }

    /// Records that the watchdog gave up on `agent` (too many restarts): `state/fatal-<agent>`.
    ///
    /// # Errors
    ///
    /// The file system's error when the marker cannot be written ([`atomic::write`]).
    pub fn set_fatal(&self, agent: &str, why: &str) -> std::io::Result<()> {
        atomic::write(
            &self.marker("fatal", agent),
            format!("{} {why}\n", now_stamp()).as_bytes(),
        )
    }

    /// Whether the watchdog gave up on `agent`.
    pub fn is_fatal(&self, agent: &str) -> bool {
        self.marker("fatal", agent).exists()
    }

    /// The state dir's file names, listed once, to answer [`Self::is_down`],
    /// [`Self::is_done`] and [`Self::is_fatal`] for many agents (see [`Markers`]).
    pub fn markers(&self) -> Markers<'_> {
        let names = std::fs::read_dir(&self.dir).ok().map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| {
                    ["down-", "done-", "fatal-", "limited-", "typed-"]
                        .iter()
                        .any(|p| n.starts_with(p))
                })
                .collect()
        });
        Markers { state: self, names }
    }

    fn marker(&self, what: &str, agent: &str) -> PathBuf {
        self.dir.join(format!("{what}-{agent}"))
    }

    /// Records that the operator stopped `agent` (`down <agent>`).
    ///
    /// # Errors
    ///
    /// The file system's error when the marker cannot be written ([`atomic::write`]).
    pub fn set_down(&self, agent: &str) -> std::io::Result<()> {
        atomic::write(&self.marker("down", agent), now_stamp().as_bytes())
    }

    /// Whether the operator stopped `agent`.
    pub fn is_down(&self, agent: &str) -> bool {
        self.marker("down", agent).exists()
    }

    /// Records that task `agent` finished with status 0.
    ///
    /// # Errors
    ///
    /// The file system's error when the marker cannot be written ([`atomic::write`]).
    pub fn set_done(&self, agent: &str) -> std::io::Result<()> {
        atomic::write(&self.marker("done", agent), now_stamp().as_bytes())
    }

    /// Whether task `agent` has finished.
    pub fn is_done(&self, agent: &str) -> bool {
        self.marker("done", agent).exists()
    }

    /// Asks the watchdog to forget `agent`'s restart history and backoff
    /// (`state/reset-<agent>`, written by `agents restart`; read once by [`Self::take_reset`]).
    ///
    /// # Errors
    ///
    /// The file system's error when the request cannot be written ([`atomic::write`]).
    pub fn request_reset(&self, agent: &str) -> std::io::Result<()> {
        atomic::write(&self.marker("reset", agent), now_stamp().as_bytes())
    }

    /// Whether a reset of `agent`'s restart history was asked for; removes the request.
    pub fn take_reset(&self, agent: &str) -> bool {
        std::fs::remove_file(self.marker("reset", agent)).is_ok()
    }

    /// Forgets `down`, `done` and `fatal` for `agent` (`up <agent>`: the restart count
    /// starts over).
    pub fn clear_intent(&self, agent: &str) {
        for what in ["down", "done", "fatal"] {
            let _ = std::fs::remove_file(self.marker(what, agent));
        }
    }
}

/// Local time, for marker files and logs: `2026-11-21 14:03:07`.
pub fn now_stamp() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(phase_file: &str) -> (tempfile::TempDir, StateDir) {
        let t = tempfile::tempdir().unwrap();
        let s = StateDir {
            log_dir: t.path().to_path_buf(),
            dir: t.path().join("state"),
            phase_file: phase_file.into(),
        };
        (t, s)
    }

    #[test]
    fn the_write_check_reads_the_file_system_and_leaves_no_file() {
        let (t, s) = dir("phase");
        assert_eq!(s.probe_write(), Ok(()), "a state dir not made yet is fine");
        std::fs::create_dir(t.path().join("state")).unwrap();
        assert_eq!(s.probe_write(), Ok(()));
        let left: Vec<_> = std::fs::read_dir(t.path().join("state")).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir(t.path().join("state")).unwrap();
        std::fs::write(t.path().join("state"), "a file\n").unwrap();
        let e = s.probe_write().unwrap_err();
        assert!(e.ends_with("state is not a directory"), "{e}");
    }

    #[test]
    fn markers_listed_once_answer_as_the_lookups_do() {
        let (_t, s) = dir("phase");
        // No state dir: every question is a lookup.
        assert!(!s.markers().is_down("a1"));
        s.set_down("a1").unwrap();
        s.set_done("a2").unwrap();
        s.set_fatal("a3", "why").unwrap();
        std::fs::write(s.dir().join("down-a4"), "").unwrap();
        std::fs::remove_file(s.dir().join("down-a4")).unwrap();
        let m = s.markers();
        for a in ["a1", "a2", "a3", "a4", "a"] {
            assert_eq!(m.is_down(a), s.is_down(a), "{a}");
            assert_eq!(m.is_done(a), s.is_done(a), "{a}");
            assert_eq!(m.is_fatal(a), s.is_fatal(a), "{a}");
        }
        assert!(m.is_down("a1") && m.is_done("a2") && m.is_fatal("a3"));
        // Listed, then removed: the lookup has the last word.
        std::fs::remove_file(s.dir().join("down-a1")).unwrap();
        assert!(!m.is_down("a1"));
        // Limit holds and last deliveries: a name not listed is not opened.
        std::fs::write(s.limit_path("t-a1"), "not json").unwrap();
        std::fs::write(s.typed_path("a1"), "{}").unwrap();
        let m = s.markers();
        assert!(m.limit("t-a1").is_err(), "listed: read, and corrupt");
        assert_eq!(m.limit("t-a2"), Ok(None));
        assert_eq!(m.limit("t-a"), s.limit("t-a"));
        assert!(m.may_have_typed("a1"));
        assert!(!m.may_have_typed("a2") && !m.may_have_typed("a"));
        // No listing: every question is a lookup.
        std::fs::remove_dir_all(s.dir()).unwrap();
        assert!(s.markers().may_have_typed("a1"));
    }

    #[test]
    fn defect_02_phase_index_out_of_range_is_clamped_with_warning() {
        let (_t, s) = dir("phase-idx");
        assert_eq!(
            s.phase_index(2),
            PhaseIndex {
                index: 0,
                warning: None
            }
        );
        s.write_phase_index(1).unwrap();
        assert_eq!(s.phase_index(2).index, 1);
        std::fs::write(s.phase_path(), "7").unwrap();
        let p = s.phase_index(2);
        assert_eq!(p.index, 1);
        assert!(p.warning.unwrap().contains("only 2 phases"));
        std::fs::write(s.phase_path(), "-1").unwrap();
        assert_eq!(s.phase_index(2).index, 0);
        std::fs::write(s.phase_path(), "garbage").unwrap();
        assert!(
            s.phase_index(2)
                .warning
                .unwrap()
                .contains("not a phase index")
        );
    }

    #[test]
    fn intent_markers_round_trip() {
        let (_t, s) = dir("phase-idx");
        assert!(!s.is_down("a"));
        s.set_down("a").unwrap();
        s.set_done("a").unwrap();
        s.set_fatal("a", "5 restarts").unwrap();
        assert!(s.is_down("a") && s.is_done("a") && s.is_fatal("a"));
        s.clear_intent("a");
        assert!(!s.is_down("a") && !s.is_done("a") && !s.is_fatal("a"));
        assert!(!s.take_reset("a"));
        s.request_reset("a").unwrap();
        assert!(s.take_reset("a"));
        assert!(!s.take_reset("a"));
    }

    #[test]
    fn limit_hold_round_trips_and_keeps_the_original_fields() {
        let (_t, s) = dir("phase-idx");
        let h = LimitState {
            until: 100.0,
            nudges: 1,
            since: 50.0,
            reset: Some("2026-11-21T15:59:00-05:00".into()),
            line: Some("You've hit your limit".into()),
            answered: None,
            self_resume: crate::supervise::limit::Promise::default(),
        };
        s.set_limit("p-a", &h).unwrap();
        assert_eq!(s.limit("p-a").unwrap(), Some(h));
        let raw = std::fs::read_to_string(s.dir().join("limited-p-a.json")).unwrap();
        assert!(
            raw.contains("\"until\":100") && raw.contains("\"nudges\":1"),
            "{raw}"
        );
        s.clear_limit("p-a").unwrap();
        s.clear_limit("p-a").unwrap();
        assert_eq!(s.limit("p-a").unwrap(), None);
    }

    #[test]
    fn corrupt_limit_file_is_reported_not_fatal() {
        let (_t, s) = dir("phase-idx");
        std::fs::create_dir_all(s.dir()).unwrap();
        std::fs::write(s.dir().join("limited-x.json"), "{\"until\": 12").unwrap();
        assert!(s.limit("x").unwrap_err().contains("corrupt"));
        std::fs::write(
            s.dir().join("limited-x.json"),
            "{\"until\": 12.5, \"nudges\": 2}",
        )
        .unwrap();
        assert_eq!(
            s.limit("x").unwrap(),
            Some(LimitState {
                until: 12.5,
                nudges: 2,
                since: 0.0,
                reset: None,
                line: None,
                answered: None,
                self_resume: crate::supervise::limit::Promise::default(),
            })
        );
    }
}
