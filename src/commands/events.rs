//! `agents events [-f] [--name N] [--since WHEN] [-n N] [--json]`: `log_dir/events.jsonl`
//! as one readable line per event ([`crate::eventline`]), filtered, and followed with `-f`.
//! The rotated files (`events.jsonl.K` … `.1`, see [`crate::events`]) are read first,
//! oldest first; with `--since`, a rotated file last written before that time is skipped.
//!
//! The file is read line by line (it grows for the fleet's lifetime: never whole into
//! memory; `-n N` keeps only the last N matches). `--json` prints the matching lines as they
//! are in the file. A line that is not a JSON object is shown as such (with `--json` it is
//! reported on stderr instead, so the output stays JSON lines). Following waits for a file
//! that does not exist yet, and reads a truncated or re-created file from its start.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Local, NaiveDate};

use crate::cli::EventsArgs;
use crate::ctx::Ctx;
use crate::eventline;
use crate::logfile::Follower;

/// How often `-f` looks for new lines.
const POLL: Duration = Duration::from_millis(250);

/// What is shown of the file.
struct Filter<'a> {
    name: Option<&'a str>,
    since: Option<DateTime<FixedOffset>>,
    json: bool,
    today: NaiveDate,
}

impl Filter<'_> {
    /// The text printed for one line of the file (without its newline), or `None` when the
    /// filters leave it out.
    fn show(&self, raw: &[u8]) -> Option<String> {
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            return None;
        }
        let e: serde_json::Value =
            if let Ok(v @ serde_json::Value::Object(_)) = serde_json::from_str(text) {
                v
            } else {
                if self.json {
                    tracing::warn!("{}", eventline::corrupt(text));
                    return None;
                }
                return Some(eventline::corrupt(text));
            };
        if let Some(n) = self.name
            && eventline::subject(&e) != Some(n)
        {
            return None;
        }
        if let Some(since) = self.since
            && eventline::time(&e).is_none_or(|t| t < since)
        {
            return None;
        }
        Some(if self.json {
            text.to_string()
        } else {
            eventline::line(&e, self.today)
        })
    }
}

/// Runs the verb.
///
/// # Errors
///
/// `events.jsonl` exists but cannot be read; writing to stdout fails (other than a
/// closed pipe).
pub(crate) async fn run(ctx: &Ctx, args: &EventsArgs) -> anyhow::Result<ExitCode> {
    let path = ctx.cfg.log_dir.join("events.jsonl");
    if let Some(n) = &args.name
        && !ctx.cfg.known_names().contains(n)
    {
        tracing::warn!(
            "{n:?} is not a name in {}; showing the events recorded for it",
            ctx.cfg.path.display()
        );
    }
    let filter = Filter {
        name: args.name.as_deref(),
        since: args.since,
        json: args.json,
        today: Local::now().date_naive(),
    };
    let mut out = std::io::stdout().lock();
    let mut last: VecDeque<String> = VecDeque::new();
    // The rotated files first, oldest first; with --since, not those last written before it.
    let files = crate::events::files(&ctx.cfg.log_dir);
    let (rotated, _) = files.split_at(files.len() - 1);
    for p in rotated {
        let before_since = args.since.is_some_and(|since| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| DateTime::<Local>::from(t).fixed_offset() < since)
        });
        if before_since {
            continue;
        }
        match std::fs::File::open(p) {
            Ok(f) => {
                read_lines(f, p, &filter, args, false, &mut last, &mut out)?;
            }
            // Rotated away meanwhile: its lines are in the next file.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("cannot read {}: {e}", p.display()),
        }
    }
    // Where following starts: the file (by inode) and the offset of the first line not read.
    let mut at = None;
    match std::fs::File::open(&path) {
        Ok(f) => {
            let ino = f.metadata()?.ino();
            let offset = read_lines(f, &path, &filter, args, args.follow, &mut last, &mut out)?;
            at = Some((ino, offset));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if args.follow {
                tracing::info!("waiting for {} to appear", path.display());
            } else if rotated.is_empty() {
                tracing::info!("no events yet ({} does not exist)", path.display());
            }
        }
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    for s in last {
        writeln!(out, "{s}")?;
    }
    out.flush()?;
    if !args.follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut follower = Follower::at(&path, at);
    loop {
        tokio::time::sleep(POLL).await;
        let data = follower
            .poll_lines()
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        if data.is_empty() {
            continue;
        }
        for raw in data.split_inclusive(|b| *b == b'\n') {
            if let Some(s) = filter.show(raw) {
                writeln!(out, "{s}")?;
            }
        }
        out.flush()?;
    }
}

/// Prints (or, with `-n`, keeps in `last`) the lines of `f` that `filter` shows; returns
/// the offset after the last line read. With `partial_waits`, an unfinished last line is
/// left unread (its writer is mid-write; following reads it).
fn read_lines(
    f: std::fs::File,
    path: &std::path::Path,
    filter: &Filter,
    args: &EventsArgs,
    partial_waits: bool,
    last: &mut VecDeque<String>,
    out: &mut impl Write,
) -> anyhow::Result<u64> {
    let mut reader = std::io::BufReader::new(f);
    let mut offset = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        if n == 0 || (partial_waits && !buf.ends_with(b"\n")) {
            return Ok(offset);
        }
        offset += n as u64;
        let Some(s) = filter.show(&buf) else {
            continue;
        };
        match args.lines {
            Some(keep) => {
                if last.len() == keep {
                    last.pop_front();
                }
                if keep > 0 {
                    last.push_back(s);
                }
            }
            None => writeln!(out, "{s}")?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_keeps_matching_events_and_shows_corrupt_lines() {
        let f = Filter {
            name: Some("a"),
            since: Some(DateTime::parse_from_rfc3339("2026-01-02T00:00:00+00:00").unwrap()),
            json: false,
            today: Local::now().date_naive(),
        };
        let new_a =
            br#"{"ts":"2026-01-03T00:00:00+00:00","event":"start","name":"a","reason":"up"}"#;
        let old_a = br#"{"ts":"2026-01-01T00:00:00+00:00","event":"start","name":"a"}"#;
        let new_b = br#"{"ts":"2026-01-03T00:00:00+00:00","event":"start","name":"b"}"#;
        assert!(f.show(new_a).unwrap().ends_with("start             up"));
        assert!(f.show(old_a).is_none());
        assert!(f.show(new_b).is_none());
        assert!(f.show(b"{oops\n").unwrap().contains("not an event: {oops"));
        assert!(f.show(b"\n").is_none());
        let j = Filter { json: true, ..f };
        assert_eq!(j.show(new_a).unwrap().as_bytes(), new_a);
        assert!(j.show(b"{oops\n").is_none());
    }
}
