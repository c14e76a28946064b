//! The JSON files under `log_dir/state`: one reader and one writer, and one policy for a file
//! that cannot be used.
//!
//! The policy: a missing file is absent (`Ok(None)`). A file that cannot be read or does not
//! parse as the expected shape is [`Corrupt`]: the caller treats it as absent (never a
//! crash), and says so once where someone is watching (the watchdog: a log line and a
//! `state-corrupt` or similar event, latched with [`super::ReportOnce`] until the file is
//! fine again); a verb that only shows the file (`status`) treats it as absent without a word.
//! The next write replaces it. Every write is atomic ([`super::atomic`]).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A state file that exists but cannot be used. `Display`: `<path> is corrupt (<serde
/// error>)` or `cannot read <path> (<io error>)`; the caller adds what it does instead with
/// [`Corrupt::then`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// The file.
    pub path: PathBuf,
    /// It could not be read at all (permissions, a directory in its place); `false`: it was
    /// read and did not parse.
    pub unreadable: bool,
    /// The I/O or parse error.
    pub error: String,
}

impl Corrupt {
    /// The report with what the caller does instead: `<path> is corrupt (<e>); <instead>`.
    pub fn then(&self, instead: &str) -> String {
        format!("{self}; {instead}")
    }
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.unreadable {
            write!(f, "cannot read {} ({})", self.path.display(), self.error)
        } else {
            write!(f, "{} is corrupt ({})", self.path.display(), self.error)
        }
    }
}

/// Reads the JSON file at `path` as a `T`: `Ok(None)` when it does not exist, `Err` when it
/// cannot be read or parsed (see the module doc for what callers do then).
///
/// # Errors
///
/// [`Corrupt`], naming the file, when it exists but cannot be read or is not a valid `T`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, Corrupt> {
    let corrupt = |unreadable, error: String| Corrupt {
        path: path.to_path_buf(),
        unreadable,
        error,
    };
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| corrupt(false, e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(corrupt(true, e.to_string())),
    }
}

/// How [`write()`] lays out and stores a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// One line, fsynced before the rename (state that must survive a power loss; the form
    /// of the original's `limited-<session>.json`).
    Compact,
    /// Indented, fsynced (files a person may read: the manifest, the watchdog's view).
    Pretty,
    /// One line, not fsynced (rewritten often, informational: the last delivery, usage).
    Fast,
}

/// Writes `value` as JSON to `path` atomically ([`super::atomic`]), creating the state dir
/// if needed. Errors: serialization (as [`std::io::ErrorKind::Other`]) or the write's.
///
/// # Errors
///
/// As said above: serialization, or the atomic write's own.
pub fn write<T: Serialize + ?Sized>(path: &Path, value: &T, form: Form) -> std::io::Result<()> {
    let text = match form {
        Form::Pretty => serde_json::to_vec_pretty(value),
        Form::Compact | Form::Fast => serde_json::to_vec(value),
    }
    .map_err(std::io::Error::other)?;
    match form {
        Form::Fast => super::atomic::write_fast(path, &text),
        Form::Compact | Form::Pretty => super::atomic::write(path, &text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn missing_is_absent_corrupt_and_unreadable_are_named_and_a_write_replaces_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("state/x.json");
        assert_eq!(read::<BTreeMap<String, f64>>(&p), Ok(None));
        let v: BTreeMap<String, f64> = [("a".to_string(), 1.5)].into();
        write(&p, &v, Form::Compact).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), r#"{"a":1.5}"#);
        assert_eq!(read(&p), Ok(Some(v.clone())));
        std::fs::write(&p, "{\"a\": ").unwrap();
        let e = read::<BTreeMap<String, f64>>(&p).unwrap_err();
        assert!(!e.unreadable);
        let shown = e.then("treated as absent");
        assert!(
            shown.starts_with(&format!("{} is corrupt (", p.display()))
                && shown.ends_with("); treated as absent"),
            "{shown}"
        );
        // A wrong shape is corrupt too.
        std::fs::write(&p, "[1, 2]").unwrap();
        assert!(read::<BTreeMap<String, f64>>(&p).is_err());
        write(&p, &v, Form::Pretty).unwrap();
        assert!(
            std::fs::read_to_string(&p)
                .unwrap()
                .contains("\n  \"a\": 1.5")
        );
        write(&p, &v, Form::Fast).unwrap();
        assert_eq!(read(&p), Ok(Some(v)));
        // A directory in the file's place cannot be read.
        let q = d.path().join("state/dir.json");
        std::fs::create_dir(&q).unwrap();
        let e = read::<BTreeMap<String, f64>>(&q).unwrap_err();
        assert!(e.unreadable);
        assert!(e.to_string().starts_with("cannot read "), "{e}");
        let left: Vec<_> = std::fs::read_dir(d.path().join("state")).unwrap().collect();
        assert_eq!(left.len(), 2, "no temp file left: {left:?}");
    }
}
