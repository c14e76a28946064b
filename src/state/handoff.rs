//! `state/handoff.json`: the handoff check's memory ([`Memory`]: the last seen head, the
//! inbox hashes, the pending pings, the current error), read and written here for the
//! watchdog's checker (`crate::watchdog::handoff`), `agents phase` and `status`. A
//! read-modify-write holds `state/handoff.lock` ([`locked`], through
//! [`super::lock::hold`]), so the watchdog and a verb in another process do not lose each
//! other's writes. A corrupt file is treated as absent, and said so ([`load`]).

use std::path::PathBuf;

use super::StateDir;
use crate::supervise::handoff::Memory;

fn path(state: &StateDir) -> PathBuf {
    state.handoff_path()
}

/// Why the handoff memory could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// `state/handoff.lock` cannot be created, opened or locked ([`super::lock::hold`]'s
    /// message, which names the directory or file).
    #[error("{0}")]
    Lock(String),
    /// `state/handoff.json` cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The memory file, `state/handoff.json`.
        path: PathBuf,
        /// Why it could not be serialised or atomically written.
        source: std::io::Error,
    },
}

/// Runs `f` holding `state/handoff.lock` (blocking: holders keep it for a read-modify-write
/// only).
///
/// # Errors
///
/// [`StoreError::Lock`] (converted into `E`) when the lock cannot be taken; else `f`'s.
pub fn locked<T, E: From<StoreError>>(
    state: &StateDir,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let _lock = super::lock::hold(&state.handoff_lock_path())
        .map_err(|e| StoreError::Lock(e.to_string()))?;
    f()
}

/// The handoff check's current failure as the watchdog last recorded it (for `status`):
/// `None` when it works, or no watchdog checked yet.
pub fn last_error(state: &StateDir) -> Option<String> {
    load(state).0.error
}

/// Reads `state/handoff.json`: absent → the default; corrupt → the default and the error.
pub fn load(state: &StateDir) -> (Memory, Option<String>) {
    match super::json::read(&path(state)) {
        Ok(m) => (m.unwrap_or_default(), None),
        Err(c) => (
            Memory::default(),
            Some(c.then("treated as absent: the next check starts from the current head")),
        ),
    }
}

/// Writes `state/handoff.json` atomically (call it under [`locked`]).
///
/// # Errors
///
/// [`StoreError::Write`] when the file cannot be written.
pub fn save(state: &StateDir, mem: &Memory) -> Result<(), StoreError> {
    super::json::write(&path(state), mem, super::json::Form::Pretty).map_err(|source| {
        StoreError::Write {
            path: path(state),
            source,
        }
    })
}

/// Records the check's current failure (`None`: it works), writing only when it changed.
///
/// # Errors
///
/// [`StoreError`] when the lock cannot be taken or the file cannot be written.
pub fn set_error(state: &StateDir, error: Option<String>) -> Result<(), StoreError> {
    if load(state).0.error == error {
        return Ok(());
    }
    locked(state, || {
        let (mut mem, _) = load(state);
        mem.error = error;
        save(state, &mem)
    })
}

/// Removes the pending ping `id` (typed, or undeliverable).
///
/// # Errors
///
/// [`StoreError`] when the lock cannot be taken or the file cannot be written.
pub fn remove_pending(state: &StateDir, id: u64) -> Result<(), StoreError> {
    locked(state, || {
        let (mut mem, _) = load(state);
        let before = mem.pending.len();
        mem.pending.retain(|x| x.id != id);
        if mem.pending.len() != before {
            save(state, &mem)?;
        }
        Ok(())
    })
}

/// Forgets the handoff memory after a phase change ([`Memory::after_phase_change`]):
/// pending pings are dropped, the next check takes the head as the baseline, and inbox
/// files still on `origin/main` are pinged again to the new agents. Errors are logged,
/// never fatal.
pub fn on_phase_change(state: &StateDir) {
    let res = locked(state, || -> Result<usize, StoreError> {
        let (mem, _) = load(state);
        if mem == Memory::default() || !path(state).exists() {
            return Ok(0);
        }
        save(state, &mem.after_phase_change())?;
        Ok(mem.pending.len())
    });
    match res {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            "handoff: phase changed — {n} pending ping(s) dropped; the next check starts from the current head"
        ),
        Err(e) => tracing::warn!("handoff: cannot reset after the phase change: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervise::handoff::{Ping, What};

    #[test]
    fn state_round_trips_corrupt_is_reported_and_phase_change_drops_pending() {
        let t = tempfile::tempdir().unwrap();
        let cfg = crate::config::parse(
            &t.path().join("agents.toml"),
            "[defaults]\nsession_prefix = \"h-\"\nlog_dir = \"l\"\n",
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap();
        let state = StateDir::new(&cfg);
        assert!(state.dir().starts_with(t.path()));
        assert_eq!(load(&state), (Memory::default(), None));
        let mem = Memory {
            head: Some("h1".into()),
            inboxes: [("a".to_string(), "b".to_string())].into(),
            pending: vec![Ping {
                id: 4,
                what: What::Review,
                to: "builder".into(),
                details: vec!["review: x".into()],
                queued: 1.5,
            }],
            next_id: 5,
            error: Some("no network".into()),
        };
        save(&state, &mem).unwrap();
        assert_eq!(last_error(&state).as_deref(), Some("no network"));
        assert_eq!(load(&state), (mem.clone(), None));
        on_phase_change(&state);
        assert_eq!(
            load(&state).0,
            Memory {
                next_id: 5,
                ..Memory::default()
            }
        );
        std::fs::write(path(&state), "{\"head\": ").unwrap();
        let (m, e) = load(&state);
        assert_eq!(m, Memory::default());
        assert!(e.unwrap().contains("is corrupt"));
    }

    #[test]
    fn the_error_is_written_only_when_it_changes_and_a_typed_ping_is_removed() {
        let t = tempfile::tempdir().unwrap();
        let cfg = crate::config::parse(
            &t.path().join("agents.toml"),
            "[defaults]\nsession_prefix = \"h-\"\nlog_dir = \"l\"\n",
            crate::config::EnvOverrides::Ignore,
        )
        .unwrap();
        let state = StateDir::new(&cfg);
        set_error(&state, None).unwrap();
        assert!(
            !path(&state).exists(),
            "no error, no change: nothing written"
        );
        set_error(&state, Some("no network".into())).unwrap();
        assert_eq!(last_error(&state).as_deref(), Some("no network"));
        let ping = |id| Ping {
            id,
            what: What::Inbox,
            to: "builder".into(),
            details: vec!["bld.md".into()],
            queued: 1.0,
        };
        locked(&state, || {
            let (mut mem, _) = load(&state);
            mem.pending = vec![ping(1), ping(2)];
            save(&state, &mem)
        })
        .unwrap();
        remove_pending(&state, 1).unwrap();
        let (mem, _) = load(&state);
        assert_eq!(mem.pending, vec![ping(2)]);
        assert_eq!(mem.error.as_deref(), Some("no network"));
        set_error(&state, None).unwrap();
        assert_eq!(last_error(&state), None);
    }
}
