//! The watchdog re-reads its config every tick (SPEC §6). An unchanged file costs one read;
//! a changed valid file is applied; an invalid or missing one keeps the last good config and
//! is reported once per distinct error (SPEC defect 1).

use std::path::{Path, PathBuf};

use crate::config::{self, Config, EnvOverrides, LoadError};

/// What a refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// The file holds the text last applied, and the last load did not fail.
    Unchanged,
    /// A new valid config; the caller swaps it in.
    Applied,
    /// The file is invalid; `first` is true the first time this error is seen.
    Invalid {
        /// The load error, rendered as `agents` prints it.
        error: String,
        /// It differs from the previous refresh's error (or that one loaded).
        first: bool,
    },
}

/// The last good config and the text it came from.
#[derive(Debug)]
pub struct Reloader {
    path: PathBuf,
    text: String,
    last_error: Option<String>,
}

impl Reloader {
    /// Starts from the config text that produced the running config.
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            text: std::fs::read_to_string(path).unwrap_or_default(),
            last_error: None,
        }
    }

    /// Re-reads the file; on `Applied`, `next` holds the new config.
    pub fn refresh(&mut self, next: &mut Option<Config>) -> Refresh {
        let loaded = std::fs::read_to_string(&self.path)
            .map_err(|error| LoadError::Read {
                path: self.path.clone(),
                error,
            })
            .and_then(|text| {
                if text == self.text && self.last_error.is_none() {
                    return Ok(None);
                }
                config::parse(&self.path, &text, EnvOverrides::Ignore).map(|c| Some((c, text)))
            });
        match loaded {
            Ok(None) => Refresh::Unchanged,
            Ok(Some((cfg, text))) => {
                self.text = text;
                self.last_error = None;
                *next = Some(cfg);
                Refresh::Applied
            }
            Err(e) => {
                let error = e.to_string();
                let first = self.last_error.as_deref() != Some(error.as_str());
                self.last_error = Some(error.clone());
                Refresh::Invalid { error, first }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "[defaults]\nsession_prefix='t-'\nlog_dir='l'\n";

    #[test]
    fn defect_01_invalid_config_keeps_last_good_and_reports_once() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("agents.toml");
        std::fs::write(&p, GOOD).unwrap();
        let mut r = Reloader::new(&p);
        let mut next = None;
        assert_eq!(r.refresh(&mut next), Refresh::Unchanged);
        std::fs::write(&p, "[defaults\nsession_prefix=").unwrap();
        assert!(matches!(
            r.refresh(&mut next),
            Refresh::Invalid { first: true, .. }
        ));
        assert!(matches!(
            r.refresh(&mut next),
            Refresh::Invalid { first: false, .. }
        ));
        std::fs::remove_file(&p).unwrap();
        assert!(
            matches!(r.refresh(&mut next), Refresh::Invalid { first: true, ref error } if error.contains("cannot read"))
        );
        std::fs::write(&p, GOOD.replace("t-", "u-")).unwrap();
        assert_eq!(r.refresh(&mut next), Refresh::Applied);
        assert_eq!(next.unwrap().session_prefix, "u-");
    }
}
