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

/// Text every match of a pattern contains: one of these byte strings, ASCII-lowercased
/// (`Some`), or none known (`None`: some branch of the pattern may match with no fixed text).
type Required = Option<Vec<Vec<u8>>>;

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
        // Each literal's searcher is built once, with the set (not at every search).
        let finders = self.required.get_or_init(|| {
            required(&self.source).map(|lits| {
                lits.iter()
                    .map(|l| memchr::memmem::Finder::new(l).into_owned())
                    .collect()
            })
        });
        match finders {
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

/// Literal text every match of `source` contains, as a set (one of them is in any match),
/// ASCII-lowercased; `None` when there is no such set (a branch of the pattern may match
/// with no fixed text, or the pattern does not parse: it is then compiled and reported as
/// [`Pattern::regex`] says).
fn required(source: &str) -> Required {
    let hir = regex_syntax::ParserBuilder::new()
        .multi_line(true)
        .build()
        .parse(source)
        .ok()?;
    needed(&hir).filter(|set| set.iter().all(|l| !l.is_empty()))
}

/// Classes of at most this many characters count as literals (`[❯>]`: `❯` or `>`).
const CLASS_LITERALS: usize = 4;

/// A set of literals one of which every match of `h` contains (see [`required`]).
fn needed(h: &regex_syntax::hir::Hir) -> Required {
    use regex_syntax::hir::{Class, HirKind};
    match h.kind() {
        HirKind::Literal(l) => (!unfoldable(&l.0)).then(|| vec![l.0.to_ascii_lowercase()]),
        HirKind::Class(Class::Unicode(c)) => {
            // At most 0x110000 code points in all: a usize sum cannot overflow.
            let n: usize = c
                .ranges()
                .iter()
                .map(regex_syntax::hir::ClassUnicodeRange::len)
                .sum();
            let chars = c.ranges().iter().flat_map(|r| r.start()..=r.end());
            (n <= CLASS_LITERALS && !chars.clone().any(cased_beyond_ascii)).then(|| {
                chars
                    .map(|ch| ch.to_string().into_bytes().to_ascii_lowercase())
                    .collect()
            })
        }
        HirKind::Class(Class::Bytes(c)) => {
            let n: usize = c
                .ranges()
                .iter()
                .map(regex_syntax::hir::ClassBytesRange::len)
                .sum();
            (n <= CLASS_LITERALS).then(|| {
                let bytes = c.ranges().iter().flat_map(|r| r.start()..=r.end());
                bytes.map(|b| vec![b.to_ascii_lowercase()]).collect()
            })
        }
        HirKind::Repetition(r) if r.min >= 1 => needed(&r.sub),
        HirKind::Capture(c) => needed(&c.sub),
        // Any part's set serves; the one whose shortest literal is longest sifts best.
        HirKind::Concat(parts) => parts
            .iter()
            .filter_map(needed)
            .max_by_key(|set| (set.iter().map(Vec::len).min(), usize::MAX - set.len())),
        HirKind::Alternation(alts) => {
            let mut all = vec![];
            for a in alts {
                all.extend(needed(a)?);
            }
            all.sort();
            all.dedup();
            Some(all)
        }
        HirKind::Empty | HirKind::Look(_) | HirKind::Repetition(_) => None,
    }
}

/// A letter outside ASCII that has another case (`É`, `ш`): the rules match it in either
/// case, and ASCII lowercasing cannot fold it, so a literal holding one cannot sift texts.
fn cased_beyond_ascii(c: char) -> bool {
    !c.is_ascii() && (c.is_lowercase() || c.is_uppercase())
}

/// Whether a literal's text holds a [`cased_beyond_ascii`] letter (its bytes not UTF-8: no).
fn unfoldable(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| s.chars().any(cased_beyond_ascii))
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
            assert_eq!(super::required(source), want, "{source}");
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
