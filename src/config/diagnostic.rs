//! Config errors and warnings as a user sees them: `file:line:col: message`, the source line
//! with a caret under the value, and a hint that names what would be valid.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, naming the table and key (`[[agent]] "x": backend "y" is not defined`).
    pub message: String,
    /// What would be valid, or how to fix it.
    pub help: Option<String>,
    /// Byte span of the offending value in the file, when known.
    pub span: Option<Range<usize>>,
}

impl Problem {
    /// A problem with this message, no span and no help.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            help: None,
            span: None,
        }
    }
    /// The same problem at `span` (bytes of the config text; `None`: no place).
    #[must_use]
    pub fn at(mut self, span: Option<Range<usize>>) -> Self {
        self.span = span;
        self
    }
    /// The same problem with a `help:` line.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every error found in one config file; `Display` renders them all, with source snippets.
#[derive(Debug, Clone)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// Its text, which the problems' spans index (for the snippets).
    pub source_text: String,
    /// Every error found, in the order found.
    pub problems: Vec<Problem>,
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{} has {} error{}:",
            self.path.display(),
            n,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            render(f, &self.path, &self.source_text, p)?;
        }
        Ok(())
    }
}

/// Renders one problem (also used for warnings, with a `warning:` prefix by the caller).
///
/// # Errors
///
/// Only `f`'s own write errors.
pub fn render(f: &mut dyn fmt::Write, path: &Path, text: &str, p: &Problem) -> fmt::Result {
    match p.span.as_ref().map(|s| line_col(text, s.start)) {
        Some((line, col)) => {
            writeln!(f, "{}:{line}:{col}: {}", path.display(), p.message)?;
            let src = text.lines().nth(line - 1).unwrap_or("");
            let width = p.span.as_ref().map_or(1, |s| {
                let end = s.end.min(line_end(text, s.start));
                text[s.start.min(end)..end].chars().count().max(1)
            });
            let gutter = line.to_string().len();
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{line} | {src}")?;
            let pad: String = src
                .chars()
                .take(col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            writeln!(f, "{:gutter$} | {pad}{}", "", "^".repeat(width))?;
        }
        None => writeln!(f, "{}: {}", path.display(), p.message)?,
    }
    if let Some(h) = &p.help {
        writeln!(f, "  help: {h}")?;
    }
    Ok(())
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, text[line_start..offset].chars().count() + 1)
}

fn line_end(text: &str, offset: usize) -> usize {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    text[offset..].find('\n').map_or(text.len(), |i| offset + i)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbc = \"é x\"\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, t.find('x').unwrap()), (2, 9));
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("modle", ["model", "role"]), Some("model"));
        assert_eq!(did_you_mean("zzzzzz", ["model", "role"]), None);
    }

    #[test]
    fn renders_caret_under_value() {
        let text = "[x]\nkey = \"bad\"\n";
        let p = Problem::new("bad value").at(Some(10..15)).help("use good");
        let mut s = String::new();
        render(&mut s, Path::new("a.toml"), text, &p).unwrap();
        assert_eq!(
            s,
            "a.toml:2:7: bad value\n  |\n2 | key = \"bad\"\n  |       ^^^^^\n  help: use good\n"
        );
    }
}
