//! The loop's phase sequence: which phase is current, and whether its status file says DONE.
//!
//! DONE rule (SPEC defect 3): a line that is exactly the `done_marker` heading (`## DONE`,
//! trailing spaces allowed — `## DONE CRITERIA` is another heading), followed, after blank
//! lines, by a line that is neither another heading nor a placeholder such as
//! "not yet — written here only when all gates pass".

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use regex::Regex;

use crate::config::{Config, Phase};
use crate::state::StateDir;

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(not yet|not done|not complete|incomplete|pending\b|tbd\b|n/?a\b|written here only|only when|to be (written|filled)|when all|<.*>)",
    )
    .expect("static regex")
});

/// Whether status-file `text` carries a real verdict under `marker`.
pub fn is_done(text: &str, marker: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        if line.trim_end() != marker {
            return false;
        }
        match lines[i + 1..].iter().find(|l| !l.trim().is_empty()) {
            None => false,
            Some(body) => !body.trim_start().starts_with('#') && !PLACEHOLDER.is_match(body),
        }
    })
}

/// The status file of `phase`: `<repo>/<state_subdir>/<status>` if it exists, else
/// `<repo>/<status>`, where repo is the handoff repo or the project directory.
pub fn status_path(cfg: &Config, phase: &Phase) -> PathBuf {
    let repo: &Path = cfg
        .loop_
        .handoff
        .as_ref()
        .map_or(&cfg.project_dir, |h| &h.repo);
    let nested = repo.join(cfg.loop_.state_subdir()).join(&phase.status);
    if nested.exists() {
        nested
    } else {
        repo.join(&phase.status)
    }
}

/// Why loop agents are not healed while the sequence is complete (`marker` is the
/// `SEQUENCE-COMPLETE` file), and how to change that; for `status` and the watchdog's log.
pub fn sequence_complete_why(marker: &Path) -> String {
    format!(
        "the phase sequence is complete ({} exists): loop agents are not healed; `agents phase set N` (a phase that is not done) removes it",
        marker.display()
    )
}

/// Whether `phase`'s status file says DONE (a missing file is not done).
pub fn phase_done(cfg: &Config, phase: &Phase) -> bool {
    std::fs::read_to_string(status_path(cfg, phase))
        .is_ok_and(|t| is_done(&t, &cfg.loop_.done_marker))
}

/// The current phase and its index, or `None` when no phases are configured. A warning
/// about a corrupt or out-of-range index file is logged once (see [`warn_once`]), and the
/// fallback phase is returned: kickoffs need a phase, but the watchdog does not advance from a
/// fallback (`watchdog::advance`).
pub fn current<'a>(cfg: &'a Config, state: &StateDir) -> Option<(usize, &'a Phase)> {
    if cfg.loop_.phases.is_empty() {
        return None;
    }
    let idx = state.phase_index(cfg.loop_.phases.len());
    warn_once(idx.warning.as_deref());
    Some((idx.index, &cfg.loop_.phases[idx.index]))
}

/// Logs `warning` unless it is the warning this process logged last; `None` (the index is
/// fine again) forgets it. The watchdog reads the index every tick: one line, not one a tick.
/// Returns whether it logged.
pub fn warn_once(warning: Option<&str>) -> bool {
    static LAST: Mutex<Option<String>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    match warning {
        None => {
            *last = None;
            false
        }
        Some(w) if last.as_deref() == Some(w) => false,
        Some(w) => {
            tracing::warn!("{w}");
            *last = Some(w.to_string());
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{is_done, warn_once};

    #[test]
    fn issue6_11_the_phase_index_warning_is_logged_once() {
        assert!(warn_once(Some("idx corrupt")));
        assert!(!warn_once(Some("idx corrupt")));
        assert!(warn_once(Some("idx out of range")));
        assert!(!warn_once(None));
        assert!(warn_once(Some("idx corrupt")));
        warn_once(None);
    }

    #[test]
    fn defect_03_done_detection() {
        let m = "## DONE";
        assert!(is_done(
            "# S\n## DONE\nAll gates pass — verified by adversary.\n",
            m
        ));
        assert!(is_done("## DONE  \n\n\nverdict: ok\n", m));
        assert!(!is_done("## DONE CRITERIA\n- all tests pass\n", m));
        assert!(!is_done("## DONE\n", m));
        assert!(!is_done("## DONE\n\n## Notes\nstuff\n", m));
        assert!(!is_done(
            "## DONE\nnot yet — written here only when all gates pass\n",
            m
        ));
        assert!(!is_done("## DONE\n<!-- fill in -->\n", m));
        assert!(!is_done("## Gates\n- [ ] gate 1\n", m));
    }
}
