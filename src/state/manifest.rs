//! `state/manifest.json`: every tmux session the fleet started and has not stopped, so that a
//! session whose agent left the config (renamed, removed, or a changed `session_prefix`) is
//! still known: the watchdog stops it (as `supervisorctl update` does), `status` lists it as
//! `orphan`, and `down` stops it. Written atomically, only under the fleet's start/stop lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One started session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The agent, service or `watchdog` it was started for.
    pub name: String,
    /// When it was started (RFC 3339, local time; to the millisecond in manifests written now).
    pub started: String,
    /// The model it was started with: `Some(None)` for the backend's default model (and for
    /// services and the watchdog); `None` when not recorded (a manifest written before this
    /// field existed), so `status` cannot tell a pending model change.
    #[serde(
        default,
        deserialize_with = "recorded",
        skip_serializing_if = "Option::is_none"
    )]
    pub model: Option<Option<String>>,
    /// The process the session's pane was started with (pid and start time, read from
    /// `/proc` right after the start): the watchdog reads an agent as dead when that process
    /// is gone. `None` when not recorded (a manifest written
    /// before this field existed, a pane that exited at once, no `/proc`): liveness then
    /// rests on `pane_dead` alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<Proc>,
}

/// A present `model` field (`null` included) is a recorded one; a missing field is `None`
/// through `#[serde(default)]`.
fn recorded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// One process: pid and start time (clock ticks since boot, `/proc/<pid>/stat` field 22),
/// read by [`crate::launch::proctree`]. Recorded in the manifest for the process each
/// session was started with ([`Entry::process`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Proc {
    /// The process id.
    pub pid: u32,
    /// Its start time, clock ticks since boot: with `pid`, tells a reused pid apart.
    pub start: u64,
}

/// A session just started, for [`ManifestFile::add`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// The tmux session.
    pub session: String,
    /// The agent, service or `watchdog`.
    pub name: String,
    /// The model it runs (`None`: the backend's default, or not an agent).
    pub model: Option<String>,
    /// The pane's process right after the start (`None`: not known).
    pub process: Option<Proc>,
}

/// Sessions by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// What each session was started with, by session name.
    pub sessions: BTreeMap<String, Entry>,
}

/// `state/manifest.json` of one fleet.
#[derive(Debug, Clone)]
pub struct ManifestFile {
    path: PathBuf,
}

impl ManifestFile {
    /// The manifest in `state_dir` (`state_dir/manifest.json`; [`super::StateDir::manifest`]).
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("manifest.json"),
        }
    }

    /// The manifest; empty when missing. `Err` names a corrupt or unreadable file (it is then
    /// treated as empty by callers, and rewritten by the next start; [`super::json`]'s
    /// policy).
    ///
    /// # Errors
    ///
    /// The file is corrupt or unreadable: the message names it.
    pub fn load(&self) -> Result<Manifest, String> {
        super::json::read(&self.path)
            .map(Option::unwrap_or_default)
            .map_err(|c| c.then("treated as empty"))
    }

    fn save(&self, m: &Manifest) -> std::io::Result<()> {
        super::json::write(&self.path, m, super::json::Form::Pretty)
    }

    /// Records sessions just started (with the model each runs).
    ///
    /// # Errors
    ///
    /// The manifest cannot be written (a corrupt one is replaced, not an error).
    pub fn add(&self, started: &[Started]) -> std::io::Result<()> {
        if started.is_empty() {
            return Ok(());
        }
        let mut m = self.load().unwrap_or_default();
        // Milliseconds: two starts within one second are told apart (`status` compares this
        // stamp with the one the watchdog last saw).
        let now = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        for st in started {
            m.sessions.insert(
                st.session.clone(),
                Entry {
                    name: st.name.clone(),
                    started: now.clone(),
                    model: Some(st.model.clone()),
                    process: st.process,
                },
            );
        }
        self.save(&m)
    }

    /// Records that session `from` is now called `to` (the watchdog's session moved to a new
    /// `session_prefix`): its entry, start stamp and process kept. Nothing to do when `from`
    /// is not recorded.
    ///
    /// # Errors
    ///
    /// The manifest cannot be written.
    pub fn rename(&self, from: &str, to: &str) -> std::io::Result<()> {
        let mut m = self.load().unwrap_or_default();
        let Some(entry) = m.sessions.remove(from) else {
            return Ok(());
        };
        m.sessions.insert(to.to_string(), entry);
        self.save(&m)
    }

    /// Forgets sessions that were stopped.
    ///
    /// # Errors
    ///
    /// The manifest cannot be written.
    pub fn remove(&self, sessions: &[String]) -> std::io::Result<()> {
        let mut m = self.load().unwrap_or_default();
        let before = m.sessions.len();
        m.sessions.retain(|s, _| !sessions.contains(s));
        if m.sessions.len() == before {
            return Ok(());
        }
        self.save(&m)
    }
}

/// Sessions in `manifest` that the config no longer names (`current` holds every session
/// name the config has: agents, services, the watchdog), as `(session, entry)`.
pub fn orphans<'a>(manifest: &'a Manifest, current: &[String]) -> Vec<(&'a String, &'a Entry)> {
    manifest
        .sessions
        .iter()
        .filter(|(s, _)| !current.contains(s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_remove_and_orphans() {
        let d = tempfile::tempdir().unwrap();
        let f = ManifestFile::new(d.path());
        assert_eq!(f.load().unwrap(), Manifest::default());
        let st = |s: &str, n: &str, m: Option<&str>| Started {
            session: s.into(),
            name: n.into(),
            model: m.map(String::from),
            process: None,
        };
        f.add(&[st("p-a", "a", Some("big")), st("old-b", "b", None)])
            .unwrap();
        let m = f.load().unwrap();
        let o: Vec<&String> = orphans(&m, &["p-a".into()])
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(o, ["old-b"]);
        assert_eq!(m.sessions["p-a"].model, Some(Some("big".into())));
        assert_eq!(m.sessions["old-b"].model, Some(None));
        f.rename("old-b", "p-b").unwrap();
        f.rename("gone", "p-c").unwrap();
        let m = f.load().unwrap();
        assert_eq!(m.sessions.keys().collect::<Vec<_>>(), ["p-a", "p-b"]);
        assert_eq!(m.sessions["p-b"].name, "b");
        f.remove(&["p-b".into()]).unwrap();
        assert_eq!(f.load().unwrap().sessions.len(), 1);
        std::fs::write(d.path().join("manifest.json"), "{").unwrap();
        assert!(f.load().unwrap_err().contains("corrupt"));
    }

    #[test]
    fn a_manifest_without_models_loads_as_not_recorded() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("manifest.json"),
            r#"{"sessions": {"p-a": {"name": "a", "started": "2026-01-01T00:00:00+00:00"}}}"#,
        )
        .unwrap();
        let m = ManifestFile::new(d.path()).load().unwrap();
        assert_eq!(m.sessions["p-a"].model, None);
        assert_eq!(
            m.sessions["p-a"].process, None,
            "no process recorded: pane_dead only"
        );
    }
}
