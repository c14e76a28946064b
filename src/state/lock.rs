//! The project's file locks, one implementation: an OS lock (`flock`) on a file under
//! `state/`, which the kernel releases when the process dies, so a killed holder leaves
//! nothing to clean up. Every lock is a [`Lock`], every failure a [`LockError`]; they differ
//! only in how long they wait for another holder:
//! - [`acquire`]: the watchdog's single-instance lock `state/watchdog.lock` (SPEC defect
//!   20), tried once; the file then holds the holder's pid, for the message and [`holder`].
//! - [`wait_for`]: waits a bounded time, polling: the fleet's start/stop lock
//!   `state/fleet.lock` ([`fleet_lock`], and each watchdog tick) and the typing lock
//!   `state/typing-<session>.lock`.
//! - [`hold`]: blocks the thread, for a read-modify-write of a small state file
//!   (`state/handoff.lock`).
//! - [`is_held`] and [`holder`] ask who holds a lock without taking it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A held lock; released on drop (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    file: File,
    /// The lock file.
    pub path: PathBuf,
}

impl Lock {
    /// Whether `path` still names the file this lock is on. False when the file (or the
    /// whole state dir) was deleted or replaced: another watchdog could then take a new lock.
    pub fn still_at_path(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (self.file.metadata(), std::fs::metadata(&self.path)) {
            (Ok(held), Ok(now)) => held.ino() == now.ino() && held.dev() == now.dev(),
            _ => false,
        }
    }
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process held it for the whole wait (`waited`, zero when tried once). `pid` is
    /// the holder's as the file names it ([`acquire`] writes it; `None`: not written, or
    /// not read because the lock is not the watchdog's).
    #[error("{} was still held after {:.0} s", path.display(), waited.as_secs_f64())]
    Held {
        /// The lock file (e.g. `state/fleet.lock`).
        path: PathBuf,
        /// How long it was waited for: the `wait` given to [`wait_for`], zero for [`acquire`].
        waited: Duration,
        /// The holder's pid read from the file; only [`acquire`] reads it.
        pid: Option<u32>,
    },
    /// The lock's directory or file could not be created, opened or locked (`action`:
    /// `create`, `open` or `lock`; `path` is the lock file, the message names its directory
    /// for `create`): a read-only or full disk, the state dir replaced by a file. Nobody holds
    /// it; it cannot be taken at all.
    // The I/O error is part of the message, not a `source` (it would be printed twice).
    #[error("cannot {action} {}: {error}", LockError::target(action, path).display())]
    Io {
        /// What failed: `create` (the directory), `open` (the file) or `lock` (`flock`).
        action: &'static str,
        /// The lock file.
        path: PathBuf,
        /// Why it failed.
        error: std::io::Error,
    },
}

impl LockError {
    /// The message for the watchdog's single-instance lock ([`acquire`]), naming the
    /// watchdog that holds it: `another watchdog is already running (pid 42) for this fleet
    /// (lock …/watchdog.lock)`, or `cannot open the watchdog lock …: <reason>`.
    pub fn as_watchdog(&self) -> String {
        match self {
            Self::Held { path, pid, .. } => format!(
                "another watchdog is already running (pid {}) for this fleet (lock {})",
                pid.map_or_else(|| "unknown".to_string(), |p| p.to_string()),
                path.display()
            ),
            Self::Io { path, error, .. } => {
                format!("cannot open the watchdog lock {}: {error}", path.display())
            }
        }
    }

    /// What an `action` on the lock file at `path` was done to: the directory for `create`.
    fn target<'a>(action: &str, path: &'a Path) -> &'a Path {
        match (action, path.parent()) {
            ("create", Some(dir)) => dir,
            _ => path,
        }
    }
}

/// Opens the lock file at `path` (creating its directory and itself), unlocked.
fn open(path: &Path) -> Result<File, LockError> {
    let io = |action| {
        move |error| LockError::Io {
            action,
            path: path.to_path_buf(),
            error,
        }
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io("create"))?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io("open"))
}

/// The one place a lock is taken: `block` waits in the kernel for the holder; otherwise
/// `Ok(false)` when another process holds it.
fn flock(file: &File, path: &Path, block: bool) -> Result<bool, LockError> {
    let taken = if block {
        file.lock()
    } else {
        match file.try_lock() {
            Ok(()) => Ok(()),
            Err(TryLockError::WouldBlock) => return Ok(false),
            Err(TryLockError::Error(e)) => Err(e),
        }
    };
    taken.map(|()| true).map_err(|error| LockError::Io {
        action: "lock",
        path: path.to_path_buf(),
        error,
    })
}

/// The pid the file at `path` names (as [`acquire`] writes it).
fn pid_in(path: &Path) -> Option<u32> {
    let mut s = String::new();
    File::open(path).ok()?.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

/// Takes the watchdog's single-instance lock at `path` without waiting, and writes this
/// process's pid into it (for [`holder`] and the message of a second watchdog).
///
/// # Errors
///
/// [`LockError::Held`] with the holder's pid when another process holds it,
/// [`LockError::Io`] when it cannot be created, opened or locked;
/// [`LockError::as_watchdog`] says either as the watchdog does.
pub fn acquire(path: &Path) -> Result<Lock, LockError> {
    let mut file = open(path)?;
    if !flock(&file, path, false)? {
        return Err(LockError::Held {
            path: path.to_path_buf(),
            waited: Duration::ZERO,
            pid: pid_in(path),
        });
    }
    // The pid is for the message only: on a full disk the lock is held without it.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()))
        .and_then(|()| file.flush());
    Ok(Lock {
        file,
        path: path.to_path_buf(),
    })
}

/// Takes the lock at `path`, waiting up to `wait` for its holder (polling every 50 ms; a zero
/// `wait` tries once). Unlike [`acquire`] the file's content is left alone.
///
/// # Errors
///
/// [`LockError::Held`] when another process held it for the whole wait, [`LockError::Io`]
/// when it cannot be created, opened or locked.
pub async fn wait_for(path: &Path, wait: Duration) -> Result<Lock, LockError> {
    let file = open(path)?;
    let deadline = tokio::time::Instant::now() + wait;
    while !flock(&file, path, false)? {
        if tokio::time::Instant::now() >= deadline {
            return Err(LockError::Held {
                path: path.to_path_buf(),
                waited: wait,
                pid: None,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Lock {
        file,
        path: path.to_path_buf(),
    })
}

/// Takes the lock at `path`, blocking the thread as long as its holder keeps it: for locks
/// held only for a read-modify-write of a small file (`state/handoff.lock`).
///
/// # Errors
///
/// [`LockError::Io`] only: the lock file cannot be created, opened or locked.
pub fn hold(path: &Path) -> Result<Lock, LockError> {
    let file = open(path)?;
    flock(&file, path, true)?;
    Ok(Lock {
        file,
        path: path.to_path_buf(),
    })
}

/// Whether some process holds the lock at `path` (a missing file is not held; nothing is
/// created).
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else {
        return false;
    };
    matches!(flock(&file, path, false), Ok(false))
}

/// The pid of the process that holds the lock at `path` (as written in the file by
/// [`acquire`]); `None` when nobody holds it or the file names no pid (written on a full disk).
pub fn holder(path: &Path) -> Option<u32> {
    if !is_held(path) {
        return None;
    }
    pid_in(path)
}

/// How long `up` and `down` ([`fleet_lock`]) wait for another command that starts or stops this fleet.
pub const FLEET_LOCK_WAIT: Duration = Duration::from_secs(120);

/// Takes the fleet's start/stop lock (`state/fleet.lock`) for a verb (`up`, `down`,
/// `restart`, `phase`), waiting for an `up`, `down` or watchdog restart that holds it. Held until the returned lock is dropped. When
/// the lock file cannot be created or locked at all (not contention: a read-only or full
/// disk, the state dir replaced by a file) the verb goes on without it (`None`) after a
/// warning that says so: stopping never depends on the disk.
///
/// # Errors
///
/// When another process still holds the lock after [`FLEET_LOCK_WAIT`]: the message says a
/// command is starting or stopping this fleet, and to wait and try again.
pub async fn fleet_lock(state: &super::StateDir) -> anyhow::Result<Option<Lock>> {
    let path = state.fleet_lock_path();
    if is_held(&path) {
        tracing::info!("waiting for another command that starts or stops this fleet");
    }
    match wait_for(&path, FLEET_LOCK_WAIT).await {
        Ok(l) => Ok(Some(l)),
        Err(e @ LockError::Held { .. }) => Err(anyhow::anyhow!(
            "another `agents` command is starting or stopping sessions of this fleet: {e}\n  help: wait for it to finish, then try again"
        )),
        // Nobody holds it; it cannot be taken at all. Starting and stopping must not depend
        // on the disk: go on, and say what is not guarded.
        Err(e @ LockError::Io { .. }) => {
            tracing::warn!(
                "{e}: going on without the fleet lock (another `agents` command, or the watchdog, may start or stop sessions at the same time)\n  help: make {} writable (or free space on its disk)",
                state.dir().display()
            );
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn wait_for_waits_for_the_holder_and_gives_up_after_the_wait() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/fleet.lock");
        let held = super::wait_for(&p, std::time::Duration::ZERO)
            .await
            .unwrap();
        let err = super::wait_for(&p, std::time::Duration::from_millis(120))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, super::LockError::Held { .. })
                && err.to_string().contains("still held after"),
            "{err}"
        );
        // A state dir replaced by a file: not contention.
        let f = d.path().join("file");
        std::fs::write(&f, "x").unwrap();
        let err = super::wait_for(&f.join("fleet.lock"), std::time::Duration::ZERO)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                super::LockError::Io {
                    action: "create",
                    ..
                }
            ),
            "{err}"
        );
        let p2 = p.clone();
        let waiter =
            tokio::spawn(
                async move { super::wait_for(&p2, std::time::Duration::from_secs(5)).await },
            );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        assert!(waiter.await.unwrap().is_ok());
    }

    #[test]
    fn hold_blocks_until_the_holder_lets_go_and_errors_name_what_failed() {
        use std::time::Duration;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/handoff.lock");
        let held = super::hold(&p).unwrap();
        assert!(super::is_held(&p));
        assert_eq!(super::holder(&p), None, "hold writes no pid");
        let (tx, rx) = std::sync::mpsc::channel();
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || {
            let got = super::hold(&p2).map(drop);
            tx.send(()).unwrap();
            got
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "taken while held"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        waiter.join().unwrap().unwrap();
        // A state dir replaced by a file: the message names the directory it cannot make.
        let f = d.path().join("file");
        std::fs::write(&f, "x").unwrap();
        let err = super::hold(&f.join("handoff.lock")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot create {}: ", f.display())),
            "{err}"
        );
        assert!(
            err.as_watchdog().starts_with(&format!(
                "cannot open the watchdog lock {}: ",
                f.join("handoff.lock").display()
            )),
            "{}",
            err.as_watchdog()
        );
    }

    #[test]
    fn a_deleted_lock_file_is_noticed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/watchdog.lock");
        let held = super::acquire(&p).unwrap();
        std::fs::remove_dir_all(d.path().join("state")).unwrap();
        assert!(!held.still_at_path());
        let again = super::acquire(&p).unwrap();
        assert!(again.still_at_path());
    }

    #[test]
    fn second_acquire_names_the_holder() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("watchdog.lock");
        let held = super::acquire(&p).unwrap();
        let err = super::acquire(&p).unwrap_err().as_watchdog();
        assert!(
            err.contains(&format!("already running (pid {})", std::process::id())),
            "{err}"
        );
        assert!(super::is_held(&p));
        assert!(held.still_at_path());
        drop(held);
        assert!(!super::is_held(&p));
        super::acquire(&p).unwrap();
    }
}
