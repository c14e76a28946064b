//! `agents logs [NAME] [-n N] [-f | --no-follow] [--raw | --screen]` — print the last N
//! lines of a session log, then follow it as it grows (like `tail -F`: a rotated, truncated or
//! re-created log is read from its start). Without a name, every session of the config (its
//! agents, services and watchdog) is followed at once and each line is prefixed with its
//! name, padded, as overmind and process-compose do.
//!
//! It follows by default on a terminal only: into a pipe or a file (`agents logs a | grep x`,
//! `> file`) it prints the history and exits, as `--no-follow` does, unless `-f` asks to
//! follow. Following into a pipe or a socket stops as soon as its reader has gone (`agents
//! logs -f a | head`), even while the log does not grow, as GNU `tail -f` does: the output
//! is polled for an error or hang-up between reads ([`reader_gone`]).
//!
//! The history is read from the end of the file (and of the rotated files, when the current
//! one holds fewer than N lines), never the whole file into memory. Output is rendered
//! readable ([`crate::logfile::render`]: escape sequences removed, `\r` redraws, erases and
//! cursor moves resolved, so a spinner shows its last state) unless `--raw` asks for the
//! bytes as the pane wrote them. While following, output is rendered as it arrives
//! ([`crate::termtext::Stream`]): a line is printed once it ends and, for a TUI that redraws
//! a frame in place, once it has left that frame.

use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::logfile::{self, Follower};
use crate::termtext::Stream;

/// How often a followed log is looked at.
const POLL: Duration = Duration::from_millis(250);

/// Lines of history of one named log by default.
const DEFAULT_LINES: usize = 20;

/// What `agents logs NAME` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// The conversation where the agent's hooks named its transcript, else the session
    /// log rendered readable.
    Auto,
    /// The session log rendered readable (`--screen`).
    Screen,
    /// The session log's bytes (`--raw`).
    Raw,
}

impl View {
    /// From the flags `--raw` and `--screen`.
    pub(crate) fn of(raw: bool, screen: bool) -> Self {
        match (raw, screen) {
            (true, _) => View::Raw,
            (_, true) => View::Screen,
            _ => View::Auto,
        }
    }
}

/// Runs the verb. `follow`: see [`follows`]. `lines` is `-n` (`None`: 20 for one log;
/// without a name, 0 while following and 20 otherwise). Ends when the reader of a pipe
/// has gone ([`reader_gone`]).
///
/// # Errors
///
/// An unknown name, a log that cannot be read, or (with `--no-follow`) no log yet.
pub(crate) async fn run(
    ctx: &Ctx,
    name: Option<&str>,
    lines: Option<usize>,
    follow: bool,
    view: View,
) -> anyhow::Result<ExitCode> {
    let raw = view == View::Raw;
    if let Some(name) = name {
        let lines = lines.unwrap_or(DEFAULT_LINES);
        if view == View::Auto
            && let Some(signals) = hooked(ctx, name)
            && let Some(transcript) = crate::state::signals::transcript(&signals)
            && transcript.is_file()
        {
            return conversation(&signals, transcript, lines, follow).await;
        }
        one(ctx, name, lines, follow, raw).await
    } else {
        let n = lines.unwrap_or(if follow { 0 } else { DEFAULT_LINES });
        all(ctx, n, follow, raw).await
    }
}

/// Whether to follow by default: `-f` follows, `--no-follow` does not, and neither
/// follows when stdout is a terminal (`is_terminal`), never into a pipe or a file.
pub(crate) fn follows(follow: bool, no_follow: bool, is_terminal: bool) -> bool {
    follow || (!no_follow && is_terminal)
}

/// Whether stdout is a pipe or a socket whose reader has gone (its read end closed: `head`
/// exited), checked without writing: `poll` with no events asked for reports an error or a
/// hang-up on it, as GNU `tail -f` checks (its `iopoll` on the output). A terminal or a
/// regular file is never reported gone (neither is watched, as in `tail`).
pub(crate) fn reader_gone() -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let out = std::io::stdout();
    let fd = out.as_fd();
    let watched = nix::sys::stat::fstat(fd).is_ok_and(|st| {
        let kind = st.st_mode & nix::libc::S_IFMT;
        kind == nix::libc::S_IFIFO || kind == nix::libc::S_IFSOCK
    });
    if !watched {
        return false;
    }
    let mut fds = [PollFd::new(fd, PollFlags::empty())];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) if n > 0 => fds[0].revents().is_some_and(|r| {
            r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL)
        }),
        _ => false,
    }
}

/// Prints `data` as it was written (`raw`) or rendered readable.
fn print(out: &mut impl Write, data: &[u8], raw: bool) -> std::io::Result<()> {
    if raw {
        out.write_all(data)?;
    } else {
        out.write_all(logfile::render(data).as_bytes())?;
    }
    out.flush()
}

/// The session log of an agent, service or `watchdog` (a known name).
fn log_of(ctx: &Ctx, name: &str) -> PathBuf {
    let cfg = &ctx.cfg;
    let session = match (cfg.agent(name), cfg.service(name)) {
        (Some(a), _) => a.session.clone(),
        (_, Some(s)) => s.session.clone(),
        _ => cfg.watchdog_session(),
    };
    cfg.session_log(&session)
}

/// One log: its history, then (with `follow`) what is appended.
async fn one(
    ctx: &Ctx,
    name: &str,
    lines: usize,
    follow: bool,
    raw: bool,
) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    super::check_names(cfg, &[name.to_string()])?;
    let path = log_of(ctx, name);
    let mut out = std::io::stdout().lock();
    let mut follower = Follower::from_end(&path);
    let mut stream = Stream::new();
    match std::fs::metadata(&path) {
        Ok(_) => {
            let data = logfile::tail(&path, lines, cfg.log_files)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            if raw {
                print(&mut out, &data, true)?;
            } else if follow {
                // A line still being drawn (a spinner) is finished by what follows.
                let (whole, partial) = split_partial(&data);
                print(&mut out, whole, false)?;
                out.write_all(stream.feed(partial).as_bytes())?;
            } else {
                let mut text = logfile::render(&data);
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                out.write_all(text.as_bytes())?;
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !follow {
                anyhow::bail!(
                    "{} has no log yet ({} does not exist); {}",
                    name,
                    path.display(),
                    super::doctor::start_hint(cfg, name)
                );
            }
            tracing::info!("waiting for {} to appear", path.display());
        }
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        tokio::time::sleep(POLL).await;
        if reader_gone() {
            return Ok(ExitCode::SUCCESS);
        }
        let data = follower
            .poll_bytes()
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        if data.is_empty() {
            continue;
        }
        if raw {
            print(&mut out, &data, true)?;
        } else {
            out.write_all(stream.feed(&data).as_bytes())?;
            out.flush()?;
        }
    }
}

/// The signals file of `name` when it is an agent on a `hooks = "claude"` backend.
fn hooked(ctx: &Ctx, name: &str) -> Option<PathBuf> {
    let agent = ctx.cfg.agent(name)?;
    (ctx.cfg.backend_of(agent).hooks == crate::config::Hooks::Claude)
        .then(|| ctx.state.signals_path(&agent.session))
}

/// The most a transcript line waiting for its end may hold (a tool result can carry a whole
/// file); past it the line is dropped.
const TRANSCRIPT_LINE: usize = 64 * 1024 * 1024;

/// The conversation in `transcript`: its last `lines` rendered lines, then (with `follow`)
/// each new message as it is written, and the next transcript the agent's `signals` name
/// when its CLI was restarted (after a line `--- <path> ---`).
async fn conversation(
    signals: &std::path::Path,
    mut transcript: PathBuf,
    lines: usize,
    follow: bool,
) -> anyhow::Result<ExitCode> {
    use std::io::BufRead as _;
    use std::os::unix::fs::MetadataExt as _;
    let read = |e: std::io::Error, p: &std::path::Path| {
        anyhow::anyhow!("cannot read {}: {e}", p.display())
    };
    let file = std::fs::File::open(&transcript).map_err(|e| read(e, &transcript))?;
    let ino = file.metadata().map_err(|e| read(e, &transcript))?.ino();
    let mut reader = std::io::BufReader::new(file);
    let mut last: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut done = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| read(e, &transcript))?;
        if n == 0 || buf.last() != Some(&b'\n') {
            break;
        }
        done += n as u64;
        for l in crate::transcript::render(&String::from_utf8_lossy(&buf)) {
            if last.len() == lines {
                last.pop_front();
            }
            if lines > 0 {
                last.push_back(l);
            }
        }
    }
    let mut out = std::io::stdout().lock();
    for l in &last {
        writeln!(out, "{l}")?;
    }
    out.flush()?;
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut follower = Follower::at(&transcript, Some((ino, done)));
    let mut pending: Vec<u8> = Vec::new();
    loop {
        tokio::time::sleep(POLL).await;
        if reader_gone() {
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(next) = crate::state::signals::transcript(signals)
            && next != transcript
            && next.is_file()
        {
            writeln!(out, "--- {} ---", next.display())?;
            transcript = next;
            follower = Follower::at(&transcript, None);
            pending.clear();
        }
        let data = follower.poll_bytes().map_err(|e| read(e, &transcript))?;
        pending.extend_from_slice(&data);
        let Some(end) = pending.iter().rposition(|b| *b == b'\n') else {
            if pending.len() > TRANSCRIPT_LINE {
                pending.clear();
            }
            continue;
        };
        let rest = pending.split_off(end + 1);
        for line in String::from_utf8_lossy(&pending).lines() {
            for l in crate::transcript::render(line) {
                writeln!(out, "{l}")?;
            }
        }
        out.flush()?;
        pending = rest;
    }
}

/// One followed log of [`all`]: its prefix, its follower and the rendering of its output.
struct Source {
    prefix: String,
    follower: Follower,
    stream: Stream,
}

/// Every session log of the config, each line prefixed with its name: the last `lines` of
/// each (one log after the other), then, with `follow`, the new lines of all of them as
/// they come. Logs that do not exist yet are waited for.
async fn all(ctx: &Ctx, lines: usize, follow: bool, raw: bool) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    let names = cfg.known_names();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut sources: Vec<Source> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Source {
            prefix: prefix(n, width, color.then_some(i)),
            follower: Follower::from_end(&log_of(ctx, n)),
            stream: Stream::new(),
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if lines > 0 {
        for s in &mut sources {
            let path = s.follower.path();
            match logfile::tail(path, lines, cfg.log_files) {
                Ok(data) if raw => print_prefixed(&mut out, &s.prefix, &data)?,
                Ok(data) if follow => {
                    // A line still being drawn (a spinner) is finished by what follows.
                    let (whole, partial) = split_partial(&data);
                    let text = logfile::render(whole);
                    print_prefixed(&mut out, &s.prefix, text.as_bytes())?;
                    let more = s.stream.feed(partial);
                    print_prefixed(&mut out, &s.prefix, more.as_bytes())?;
                }
                Ok(data) => {
                    let text = logfile::render(&data);
                    print_prefixed(&mut out, &s.prefix, text.as_bytes())?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("cannot read {}: {e}", path.display()),
            }
        }
    }
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut failing: Vec<bool> = vec![false; sources.len()];
    loop {
        tokio::time::sleep(POLL).await;
        if reader_gone() {
            return Ok(ExitCode::SUCCESS);
        }
        for (s, failed) in sources.iter_mut().zip(&mut failing) {
            let polled = if raw {
                s.follower.poll_lines()
            } else {
                s.follower
                    .poll_bytes()
                    .map(|d| s.stream.feed(&d).into_bytes())
            };
            match polled {
                Ok(text) => {
                    *failed = false;
                    print_prefixed(&mut out, &s.prefix, &text)?;
                }
                Err(e) => {
                    if !std::mem::replace(failed, true) {
                        tracing::warn!("cannot read {}: {e}", s.follower.path().display());
                    }
                }
            }
        }
    }
}

/// `data` split after its last newline: the whole lines, and the line not ended yet.
fn split_partial(data: &[u8]) -> (&[u8], &[u8]) {
    let at = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    data.split_at(at)
}

/// `name | ` padded to `width`, in one of six colours when `color` gives an index.
fn prefix(name: &str, width: usize, color: Option<usize>) -> String {
    let pad = format!("{name:<width$} | ");
    match color {
        Some(i) => format!("\x1b[{}m{pad}\x1b[0m", 31 + i % 6),
        None => pad,
    }
}

/// Prints `text` (whole lines, or a chunk of a never-ending line) with `prefix` before each
/// line.
fn print_prefixed(out: &mut impl Write, prefix: &str, text: &[u8]) -> std::io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    for line in body.split(|b| *b == b'\n') {
        out.write_all(prefix.as_bytes())?;
        out.write_all(line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_on_a_terminal_or_with_f_only() {
        // (-f, --no-follow, stdout a terminal) → follows.
        assert!(follows(false, false, true));
        assert!(!follows(false, false, false), "a pipe or a file");
        assert!(follows(true, false, false), "-f into a pipe or a file");
        assert!(!follows(false, true, true), "--no-follow on a terminal");
    }

    #[test]
    fn every_line_gets_the_padded_name() {
        let mut out = Vec::new();
        let p = prefix("a", 8, None);
        print_prefixed(&mut out, &p, b"two\nthree\n").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a        | two\na        | three\n"
        );
        let mut out = Vec::new();
        print_prefixed(&mut out, &p, b"\n").unwrap();
        print_prefixed(&mut out, &p, b"").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a        | \n");
        assert_eq!(prefix("ab", 2, Some(7)), "\x1b[32mab | \x1b[0m");
        assert_eq!(split_partial(b"a\nb\n\rc"), (&b"a\nb\n"[..], &b"\rc"[..]));
        assert_eq!(split_partial(b"\rc"), (&b""[..], &b"\rc"[..]));
        assert_eq!(split_partial(b"a\n"), (&b"a\n"[..], &b""[..]));
    }
}
