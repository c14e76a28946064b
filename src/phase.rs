//! The loop's phase sequence: which phase is current, and whether its status file says DONE.
//!
//! DONE rule (SPEC defect 3): a line that is exactly the `done_marker` heading (`## DONE`,
//! trailing spaces allowed — `## DONE CRITERIA` is another heading), followed, after blank
//! lines, by a verdict: a line that is neither another heading nor a placeholder such as
//! "not yet — written here only when all gates pass". Markdown dress is taken off before the
//! verdict is judged (list markers, `> `, `_…_`, `*…*`, `` `…` ``, `(…)`, quotes), so
//! `- not yet`, `_not yet_`, `*pending*`, `(not yet)`, `` `TBD` ``, `TODO`, `...` and a
//! bare `-` are placeholders too; a verdict has a letter or digit. An unchecked task box
//! (`- [ ] …`) anywhere under the heading (up to the next heading) means not done.

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use regex::Regex;

use crate::config::{Config, Phase};
use crate::state::StateDir;

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(not yet|not done|not complete|incomplete|pending\b|tbd\b|todo\b|fixme\b|xxx\b|n/?a\b|none yet|written here only|only when|to be (written|filled|decided|determined)|when all|fill (in|me)|<.*>)",
    )
    .expect("static regex")
});

/// An unchecked markdown task box: `- [ ] gate 2`, `* [ ]`, `1. [ ]`.
static UNCHECKED: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:[-*+]|\d+[.)])\s+\[\s\]").expect("static regex"));

/// Whether status-file `text` carries a real verdict under `marker`.
pub(crate) fn is_done(text: &str, marker: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        if line.trim_end() != marker {
            return false;
        }
        let section: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| !l.trim_start().starts_with('#'))
            .copied()
            .collect();
        if section.iter().any(|l| UNCHECKED.is_match(l)) {
            return false;
        }
        section
            .iter()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|body| is_verdict(body))
    })
}

/// Whether `line` (the first one under the DONE heading) is a verdict once its markdown
/// dress is taken off: it has a letter or digit and is no placeholder.
fn is_verdict(line: &str) -> bool {
    if PLACEHOLDER.is_match(line) {
        return false;
    }
    let text = undress(line);
    text.chars().any(char::is_alphanumeric) && !PLACEHOLDER.is_match(&text)
}

/// `line` without its markdown dress: a blockquote `>`, a list marker (`-`, `*`, `+`, `1.`),
/// a checked task box `[x]`, and emphasis, code, brackets and quotes around the words.
fn undress(line: &str) -> String {
    static LEAD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(?:\s*>)*\s*(?:(?:[-*+]|\d+[.)])(?:\s+|$))?(?:\[[xX]\]\s*)?")
            .expect("static regex")
    });
    let rest = &line[LEAD.find(line).map_or(0, |m| m.end())..];
    rest.trim_matches(|c: char| c.is_whitespace() || "_*`~()[]{}\"'“”‘’:.,;!?—–-…".contains(c))
        .to_string()
}

/// The status file of `phase`: `<repo>/<state_subdir>/<status>` if it exists, else
/// `<repo>/<status>`, where repo is the handoff repo or the project directory.
pub(crate) fn status_path(cfg: &Config, phase: &Phase) -> PathBuf {
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
pub(crate) fn sequence_complete_why(marker: &Path) -> String {
    format!(
        "the phase sequence is complete ({} exists): loop agents are not healed; `agents phase set N` removes it and starts that phase",
        marker.display()
    )
}

/// Whether `phase`'s status file says DONE (a missing file is not done).
pub(crate) fn phase_done(cfg: &Config, phase: &Phase) -> bool {
    std::fs::read_to_string(status_path(cfg, phase))
        .is_ok_and(|t| is_done(&t, &cfg.loop_.done_marker))
}

/// What the current phase's status file says, for advancing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No verdict under the DONE heading (or no file).
    NotDone,
    /// DONE, written since the phase began: advance.
    Done,
    /// DONE, but the file was last written before the phase began (the phase index was
    /// written by `agents phase set`, `up` with `resume_phase = false`, or an advance): a
    /// verdict left from an earlier run of this phase, or from another phase sharing the
    /// file. Not advanced on until the file is written again.
    Stale,
}

/// [`Verdict`] of `phase`'s status file: DONE counts only when the file's modification time
/// is not older than the phase index file's, i.e. it was written since the phase began.
/// Without an index file (a fleet that never moved phases) any DONE counts.
pub(crate) fn verdict(cfg: &Config, state: &StateDir, phase: &Phase) -> Verdict {
    let path = status_path(cfg, phase);
    if !std::fs::read_to_string(&path).is_ok_and(|t| is_done(&t, &cfg.loop_.done_marker)) {
        return Verdict::NotDone;
    }
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (mtime(&state.phase_path()), mtime(&path)) {
        (Some(began), Some(written)) if written < began => Verdict::Stale,
        _ => Verdict::Done,
    }
}

/// The current phase and its index, or `None` when no phases are configured. A warning
/// about a corrupt or out-of-range index file is logged once (see [`warn_once`]), and the
/// fallback phase is returned: kickoffs need a phase, but the watchdog does not advance from a
/// fallback (`watchdog::advance`).
pub(crate) fn current<'a>(cfg: &'a Config, state: &StateDir) -> Option<(usize, &'a Phase)> {
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
pub(crate) fn warn_once(warning: Option<&str>) -> bool {
    static LAST: Mutex<Option<String>> = Mutex::new(None);
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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

    /// Issue 15 item 4: a placeholder in markdown dress is no verdict, and an unchecked task
    /// box under the heading is not DONE; a real verdict, dressed or not, still is.
    #[test]
    fn issue15_placeholders_in_markdown_dress_are_not_done() {
        let m = "## DONE";
        for body in [
            "- [ ] not yet",
            "- [ ] all gates pass",
            "* [ ] verified",
            "_not yet_",
            "*pending*",
            "**Pending**",
            "(not yet)",
            "`TBD`",
            "- not yet",
            "> not yet",
            "TODO",
            "- TODO: fill in when all gates pass",
            "...",
            "…",
            "-",
            "---",
            "*",
            "\"not yet\"",
            "N/A",
        ] {
            let text = format!("# Status\n## DONE\n\n{body}\n");
            assert!(!is_done(&text, m), "{body:?} advanced the phase");
        }
        // A verdict followed by an unchecked box further down the section is not done.
        assert!(!is_done(
            "## DONE\nAll gates pass.\n- [x] gate 1\n- [ ] gate 2\n",
            m
        ));
        // An unchecked box under another heading does not count against the verdict.
        assert!(is_done(
            "## DONE\nAll gates pass.\n## Later\n- [ ] polish\n",
            m
        ));
        for verdict in [
            "All gates pass — verified by adversary.",
            "- All gates pass (adversary, 14:02).",
            "- [x] all gates pass",
            "_Verified by the adversary._",
            "**PASS**",
            "`cargo test`: 153 passed",
            "42",
            "Yes.",
        ] {
            let text = format!("# Status\n## DONE\n{verdict}\n");
            assert!(is_done(&text, m), "{verdict:?} did not advance the phase");
        }
    }
}
