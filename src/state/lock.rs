//! The watchdog's single-instance lock (SPEC defect 20): an OS file lock on
//! `state/watchdog.lock`, which the kernel releases when the process dies, so a killed
//! watchdog leaves nothing to clean up. The file holds the holder's pid, for the message.
//!
//! Also the fleet's start/stop lock, `state/fleet.lock` ([`wait_for`], [`fleet_lock`]):
//! taken by the verbs that start or stop sessions and by each watchdog tick. And the
//! lock of a read-modify-write of a small state file ([`hold`]: `state/handoff.lock`).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// A held lock; released on drop (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    _file: File,
    pub path: PathBuf,
}

impl Lock {
    /// Whether `path` still names the file this lock is on. False when the file (or the
    /// whole state dir) was deleted or replaced: another watchdog could then take a new lock.
    pub fn still_at_path(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (self._file.metadata(), std::fs::metadata(&self.path)) {
            (Ok(held), Ok(now)) => held.ino() == now.ino() && held.dev() == now.dev(),
            _ => false,
        }
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another watchdog is already running (pid {pid}) for this fleet (lock {})", path.display())]
    Held { pid: String, path: PathBuf },
    // The I/O error is part of the message, not a `source` (it would be printed twice).
    #[error("cannot open the watchdog lock {}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// Takes the lock at `path` without waiting.
pub fn acquire(path: &Path) -> Result<Lock, LockError> {
    let io = |error| LockError::Io {
        path: path.to_path_buf(),
        error,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim();
            return Err(LockError::Held {
                pid: if pid.is_empty() {
                    "unknown".into()
                } else {
                    pid.to_string()
                },
                path: path.to_path_buf(),
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    // The pid is for the message only: on a full disk the lock is held without it.
    let _ = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| write!(file, "{}", std::process::id()))
        .and_then(|()| file.flush());
    Ok(Lock {
        _file: file,
        path: path.to_path_buf(),
    })
}

/// Why [`wait_for`] did not take a lock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaitError {
    /// Another process held it for the whole wait (the message names the file and the wait).
    #[error("{0}")]
    Held(String),
    /// The lock file could not be created, opened or locked (a read-only or full disk, the
    /// state dir replaced by a file): nobody holds it, it cannot be taken at all.
    #[error("{0}")]
    Io(String),
}

/// Takes the lock at `path`, waiting up to `wait` for its holder (polling every 50 ms; a zero
/// `wait` tries once). Unlike [`acquire`] the file's content is left alone. Released when the
/// returned file is dropped (or the process dies). `Err` says who held it
/// ([`WaitError::Held`]), or why the file could not be opened ([`WaitError::Io`]).
pub async fn wait_for(path: &Path, wait: std::time::Duration) -> Result<File, WaitError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| WaitError::Io(format!("cannot create {}: {e}", dir.display())))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| WaitError::Io(format!("cannot open {}: {e}", path.display())))?;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(TryLockError::WouldBlock) => {
                return Err(WaitError::Held(format!(
                    "{} was still held after {:.0} s",
                    path.display(),
                    wait.as_secs_f64()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(WaitError::Io(format!(
                    "cannot lock {}: {e}",
                    path.display()
                )));
            }
        }
    }
}

/// Takes the lock at `path`, blocking the thread as long as its holder keeps it: for locks
/// held only for a read-modify-write of a small file (`state/handoff.lock`). Creates the
/// directory and the file. Released when the returned file is dropped (or the process
/// dies). Errors name the directory or file and the reason.
pub fn hold(path: &Path) -> Result<File, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    f.lock()
        .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(f)
}

/// Whether some process holds the lock at `path` (a missing file is not held).
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else {
        return false;
    };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

/// The pid of the process that holds the lock at `path` (as written in the file by
/// [`acquire`]); `None` when nobody holds it or the file names no pid (written on a full disk).
pub fn holder(path: &Path) -> Option<u32> {
    if !is_held(path) {
        return None;
    }
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// How long `up` and `down` ([`fleet_lock`]) wait for another command that starts or stops this fleet.
pub const FLEET_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Takes the fleet's start/stop lock (`state/fleet.lock`) for a verb (`up`, `down`,
/// `restart`, `phase`), waiting for an `up`, `down` or watchdog restart that holds it. Held until the returned file is dropped. When
/// the lock file cannot be created or locked at all (not contention: a read-only or full
/// disk, the state dir replaced by a file) the verb goes on without it (`None`) after a
/// warning that says so: stopping never depends on the disk.
pub async fn fleet_lock(state: &super::StateDir) -> anyhow::Result<Option<File>> {
    let path = state.fleet_lock_path();
    if is_held(&path) {
        tracing::info!("waiting for another command that starts or stops this fleet");
    }
    match wait_for(&path, FLEET_LOCK_WAIT).await {
        Ok(f) => Ok(Some(f)),
        Err(WaitError::Held(e)) => Err(anyhow::anyhow!(
            "another `agents` command is starting or stopping sessions of this fleet: {e}\n  help: wait for it to finish, then try again"
        )),
        // Nobody holds it; it cannot be taken at all. Starting and stopping must not depend
        // on the disk: go on, and say what is not guarded.
        Err(WaitError::Io(e)) => {
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
            matches!(&err, super::WaitError::Held(m) if m.contains("still held after")),
            "{err}"
        );
        // A state dir replaced by a file: not contention.
        let f = d.path().join("file");
        std::fs::write(&f, "x").unwrap();
        let err = super::wait_for(&f.join("fleet.lock"), std::time::Duration::ZERO)
            .await
            .unwrap_err();
        assert!(matches!(err, super::WaitError::Io(_)), "{err}");
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
        let err = super::acquire(&p).unwrap_err().to_string();
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
