//! The watchdog's single-instance lock (SPEC defect 20): an OS file lock on
//! `state/watchdog.lock`, which the kernel releases when the process dies, so a killed
//! watchdog leaves nothing to clean up. The file holds the holder's pid, for the message.

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
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(Lock {
        _file: file,
        path: path.to_path_buf(),
    })
}

/// Whether some process holds the lock at `path` (a missing file is not held).
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else {
        return false;
    };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

#[cfg(test)]
mod tests {
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
