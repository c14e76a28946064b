//! Config regexes (`active_re`, `limit_re`, `fatal_re`, `ready_re`, handoff patterns):
//! syntax-checked when the config is loaded, compiled on first use. Compiling a regex zeroes
//! about 100 KiB of memory; `status`, `up` and `down` never match a pane, so they never pay.
//! Every pattern is case-insensitive and multi-line (`^` matches at each line; SPEC defect 10).
//!
//! A screen is read with a dozen rules, and most of them cannot match most screens (an idle
//! screen holds no limit banner). [`Pattern::may_match`] tells so from the literal text every
//! match must contain (read once per pattern from its syntax tree, without compiling it), so that a
//! process compiles only the rules whose text is on the screen: compiling the claude preset's
//! rules cost `status` more instructions than reading 50 screens with them.

use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};

/// A valid regex, compiled lazily; clones share the compiled form.
#[derive(Debug, Clone)]
pub struct Pattern {
    source: Arc<str>,
    compiled: Arc<OnceLock<Regex>>,
    required: Arc<OnceLock<Option<Vec<memchr::memmem::Finder<'static>>>>>,
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
        Ok(Self::shipped(source))
    }

    /// A rule shipped in a built-in preset, taken without the syntax check [`Pattern::new`]
    /// makes: the tests compile every shipped rule. A shipped rule that did not compile would
    /// be logged and never match (as [`Pattern::regex`] says).
    pub fn shipped(source: &str) -> Self {
        Self {
            source: source.into(),
            compiled: Arc::new(OnceLock::new()),
            required: Arc::new(OnceLock::new()),
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

impl Pattern {
    /// Whether the pattern may match a text whose bytes, ASCII-lowercased, are `lower`: false
    /// only when none of the literals one of which every match contains is in it. Costs a
    /// parse of the pattern on first use (no compiling), then a substring search per literal.
    ///
    /// The literals come from the pattern read case-sensitively and are compared
    /// ASCII-case-insensitively; one that holds a letter beyond ASCII with another case
    /// (`É`, `ш`) is not used, since the rule matches it in either case (a user's rule
    /// `Ошибка` reads `ОШИБКА`). A match that needs Unicode case folding of an ASCII letter
    /// (`K` KELVIN SIGN for `k`, `ſ` for `s`) in a rule written in Unicode mode is not
    /// foreseen: no CLI prints its status so.
    pub fn may_match(&self, lower: &[u8]) -> bool {
        match self.required.get_or_init(|| finders_of(&self.source)) {
            None => true,
            Some(f) => f.iter().any(|f| f.find(lower).is_some()),
        }
    }

    /// The compiled regex when the pattern [may match](Pattern::may_match) the text whose
    /// ASCII-lowercased bytes are `lower`; `None` (nothing compiled) when it cannot.
    pub fn for_text(&self, lower: &[u8]) -> Option<&Regex> {
        self.may_match(lower).then(|| self.regex())
    }
}

/// The literals of the rules shipped in the built-in presets, as `build.rs` found them with
/// [`super::literals::required`]: `LITERALS`, `(source, literals)` sorted by source.
mod shipped {
    include!(concat!(env!("OUT_DIR"), "/shipped_literals.rs"));
}

/// A searcher for each literal every match of `source` contains
/// ([`super::literals::required`]), built once per rule (not at every search); the literals
/// from the build-time table for a shipped rule (no parse at run time), else read from its
/// syntax. `None`: no such literals.
fn finders_of(source: &str) -> Option<Vec<memchr::memmem::Finder<'static>>> {
    let finder = |l: &[u8]| memchr::memmem::Finder::new(l).into_owned();
    match shipped::LITERALS.binary_search_by(|(s, _)| (*s).cmp(source)) {
        Ok(i) => shipped::LITERALS[i]
            .1
            .map(|set| set.iter().map(|l| finder(l)).collect()),
        Err(_) => {
            super::literals::required(source).map(|set| set.iter().map(|l| finder(l)).collect())
        }
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

    /// The build-time table holds what reading each rule at run time gives, and every rule
    /// of every built-in preset is in it (none is parsed at run time).
    #[test]
    fn the_shipped_rules_literals_are_those_read_at_run_time() {
        let table = super::shipped::LITERALS;
        assert!(
            table.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no duplicate"
        );
        for (source, set) in table {
            let want = super::super::literals::required(source);
            let got = set.map(|s| s.iter().map(|l| l.to_vec()).collect::<Vec<_>>());
            assert_eq!(got, want, "{source}");
        }
        let mut rules = 0;
        for name in super::super::presets::names() {
            let b = super::super::presets::backend(name).unwrap();
            let all = [
                &b.active_re,
                &b.limit_re,
                &b.fatal_re,
                &b.ready_re,
                &b.idle_re,
                &b.dialog_re,
                &b.continue_re,
                &b.resumed_re,
                &b.choice_re,
            ];
            for p in all.into_iter().flatten() {
                rules += 1;
                assert!(
                    table
                        .binary_search_by(|(s, _)| (*s).cmp(p.source()))
                        .is_ok(),
                    "{name}: {} not in the table",
                    p.source()
                );
            }
        }
        assert!(rules > 30, "{rules} rules");
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

    /// The prefilter says no only where no literal of every match is (the shipped rules are
    /// checked against every fixture screen in detect's fixture tests).
    #[test]
    fn may_match_only_where_a_required_literal_is() {
        let low = |s: &str| s.as_bytes().to_ascii_lowercase();
        let p = Pattern::new(r"(?x-u) usage \s+ limit | rate\ limit").unwrap();
        assert!(p.may_match(&low("Claude USAGE  limit reached")));
        assert!(p.regex().is_match("Claude USAGE  limit reached"));
        assert!(p.may_match(&low("429 Rate limit")));
        assert!(!p.may_match(&low("> idle prompt")));
        assert!(p.for_text(&low("> idle prompt")).is_none());
        // Literal text anywhere in a match counts, not only at its start; classes of a few
        // characters are literals, wider ones and optional parts are not.
        let cases = [
            (r"\d+ tokens", Some(vec![" tokens"])),
            (r"(foo)?bar", Some(vec!["bar"])),
            (r"^\s*[❯>]", Some(vec![">", "❯"])),
            (r"(?x) ^ [\ ]* ● \ Usage # a comment", Some(vec!["● usage"])),
            (r"x+|ab|x", Some(vec!["ab", "x"])),
            (r"^\s*$", None),
            // Letters beyond ASCII with another case: the rule matches either case.
            ("Échec", None),
            ("[éÉ]chec", Some(vec!["chec"])),
            ("● Ошибка|● x", None),
            (r"limit|\d", None),
            (r"(?:limit)?", None),
        ];
        for (source, want) in cases {
            let want = want.map(|v| v.iter().map(|l| l.as_bytes().to_vec()).collect::<Vec<_>>());
            assert_eq!(super::super::literals::required(source), want, "{source}");
        }
        for (source, text, matches) in [
            ("Ошибка сети", "ОШИБКА СЕТИ", true),
            ("Échec", "ÉCHEC", true),
            (r"\d+ tokens", "↓ 15 TOKENS", true),
            (r"\d+ tokens", "15 tok", false),
            (r"^\s*[❯>]", "  ❯ try again", true),
        ] {
            let p = Pattern::new(source).unwrap();
            assert_eq!(p.regex().is_match(text), matches, "{source} on {text}");
            assert_eq!(p.may_match(&low(text)), matches, "{source} on {text}");
        }
    }
}
