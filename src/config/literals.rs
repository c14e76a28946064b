//! The literal text every match of a rule contains (the prefilter of
//! `Pattern::may_match`): read from the rule's syntax tree (`regex_syntax`), or, for a rule
//! shipped in a built-in preset, from the table `build.rs` made of them at build time (the
//! same code, run there: reading a preset's rules costs about half of a `selftest --pane` of
//! one claude screen when it is done at run time).
//!
//! Self-contained (only `regex_syntax`): `build.rs` includes this file as a module of its own.

/// Text every match of a pattern contains: one of these byte strings, ASCII-lowercased
/// (`Some`), or none known (`None`: some branch of the pattern may match with no fixed text).
pub(crate) type Required = Option<Vec<Vec<u8>>>;

/// Literal text every match of `source` contains, as a set (one of them is in any match),
/// ASCII-lowercased; `None` when there is no such set (a branch of the pattern may match
/// with no fixed text, or the pattern does not parse: it is then compiled and reported as
/// [`crate::config::pattern::Pattern::regex`] says).
pub(crate) fn required(source: &str) -> Required {
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
