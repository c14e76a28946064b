//! Config regexes (`active_re`, `limit_re`, `fatal_re`, `ready_re`, handoff patterns):
//! syntax-checked when the config is loaded, compiled on first use. Compiling a regex zeroes
//! about 100 KiB of memory; `status`, `up` and `down` never match a pane, so they never pay.
//! Every pattern is case-insensitive and multi-line (`^` matches at each line; SPEC defect 10).

use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// A valid regex, compiled lazily; clones share the compiled form.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: Arc<str>,
    compiled: Arc<OnceLock<Regex>>,
}

impl Pattern {
    /// Checks `source`; the error is the regex parser's message (last line, e.g.
    /// `error: unclosed group`).
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

    /// The compiled regex. A pattern that parses but exceeds the regex size limit (10 MiB
    /// compiled) is logged once and never matches.
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

/// A prefilter over several patterns: one pass over the text tells which of them match at
/// all, so only those are searched again for their lowest match. Compiled on first use and
/// shared by clones; built for the patterns it was made from (`matches` checks that they are
/// still the same, and compiles afresh when they are not).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    compiled: Arc<OnceLock<Compiled>>,
}

/// The sources a set was built from (in order, `None` for an unset rule), and the set
/// (`None` when it is too large to compile).
type Compiled = (Vec<Option<Arc<str>>>, Option<RegexSet>);

impl RuleSet {
    /// Which of `patterns` match somewhere in `text` (`None` never matches).
    pub fn matches(&self, patterns: &[Option<&Pattern>], text: &str) -> Vec<bool> {
        let sources: Vec<Option<Arc<str>>> = patterns
            .iter()
            .map(|p| p.map(|p| p.source.clone()))
            .collect();
        let build = || {
            let live: Vec<&str> = sources.iter().flatten().map(|s| &**s).collect();
            let set = RegexSetBuilder::new(live)
                .case_insensitive(true)
                .multi_line(true)
                .build()
                .ok();
            (sources.clone(), set)
        };
        let cached = self.compiled.get_or_init(build);
        let same = cached.0.len() == sources.len()
            && cached.0.iter().zip(&sources).all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
                (None, None) => true,
                _ => false,
            });
        let fresh;
        let (srcs, set) = if same {
            cached
        } else {
            fresh = build();
            &fresh
        };
        let Some(set) = set else {
            // A set too large to compile: search each pattern.
            return patterns
                .iter()
                .map(|p| p.is_some_and(|p| p.regex().is_match(text)))
                .collect();
        };
        let hits = set.matches(text);
        let mut k = 0;
        srcs.iter()
            .map(|s| {
                s.as_ref().is_some_and(|_| {
                    k += 1;
                    hits.matched(k - 1)
                })
            })
            .collect()
    }
}

/// Compiles `pattern` case-insensitive and multi-line.
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
    fn a_rule_set_tells_which_patterns_match_and_follows_changed_patterns() {
        let a = Pattern::new("^alpha").unwrap();
        let b = Pattern::new("beta").unwrap();
        let set = super::RuleSet::default();
        assert_eq!(
            set.matches(&[Some(&a), None, Some(&b)], "x\nALPHA\n"),
            [true, false, false]
        );
        assert_eq!(
            set.matches(&[Some(&a), None, Some(&b)], "beta"),
            [false, false, true]
        );
        let c = Pattern::new("gamma").unwrap();
        assert_eq!(set.matches(&[Some(&c), Some(&b)], "gamma"), [true, false]);
    }

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
