//! Config regexes (`active_re`, `limit_re`, `fatal_re`, `ready_re`, handoff patterns):
//! syntax-checked when the config is loaded, compiled on first use. Compiling a regex zeroes
//! about 100 KiB of memory; `status`, `up` and `down` never match a pane, so they never pay.
//! Every pattern is case-insensitive and multi-line (`^` matches at each line; SPEC defect 10).

use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};

/// A valid regex, compiled lazily; clones share the compiled form.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: Arc<str>,
    compiled: Arc<OnceLock<Regex>>,
}

impl Pattern {
    /// Checks `source`; the error is the regex parser's message (last line, e.g.
    /// `error: unclosed group`).
    ///
    /// # Errors
    ///
    /// `source` is not a valid regex (the parser's message above).
    pub fn new(source: &str) -> Result<Self, String> {
        regex_syntax::ParserBuilder::new()
            .case_insensitive(true)
            .multi_line(true)
            .build()
            .parse(source)
            .map_err(|e| {
                let full = e.to_string();
                full.lines().last().unwrap_or(&full).trim().to_string()
            })?;
        Ok(Self {
            source: source.into(),
            compiled: Arc::new(OnceLock::new()),
        })
    }

    /// A rule shipped in a built-in preset, taken without the syntax check [`Pattern::new`]
    /// makes: the tests compile every shipped rule. A shipped rule that did not compile would
    /// be logged and never match (as [`Pattern::regex`] says).
    pub fn shipped(source: &str) -> Self {
        Self {
            source: source.into(),
            compiled: Arc::new(OnceLock::new()),
        }
    }

    /// The pattern as written (before the case-insensitive, multi-line flags are applied).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The compiled regex. A pattern that parses but exceeds the regex size limit (10 MiB
    /// compiled) is logged once and never matches.
    ///
    /// # Panics
    ///
    /// Never: the fallback `[^\s\S]` is a valid regex.
    pub fn regex(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            compile(&self.source).unwrap_or_else(|e| {
                tracing::error!(
                    "regex {:?} cannot be compiled ({e}); it will never match",
                    self.source
                );
                Regex::new(r"[^\s\S]").expect("a never-matching regex compiles")
            })
        })
    }
}

/// Compiles `pattern` case-insensitive and multi-line.
///
/// # Errors
///
/// `pattern` is not a valid regex, or compiles past the regex crate's size limit.
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .multi_line(true)
        .build()
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn checks_syntax_at_once_and_matches_multi_line_case_insensitive() {
        assert_eq!(
            Pattern::new("(unclosed").unwrap_err(),
            "error: unclosed group"
        );
        let p = Pattern::new("^fatal").unwrap();
        assert!(p.regex().is_match("one\nFATAL: x"));
        assert!(p.clone().regex().is_match("fatal"));
    }
}
