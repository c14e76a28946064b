//! Session logs (issue 6, item 2): the writer that tmux's `pipe-pane` runs for every session
//! (`agents pipe-log`, a hidden verb), its rotation, and reading a log from its end.
//!
//! The log on disk keeps the pane's raw bytes (escape sequences and `\r` redraws included);
//! `agents logs` renders them readable when it prints, and `agents logs --raw` prints them
//! as they are. One file holds both forms, so the disk cost is the raw size only; the cost
//! of rendering is paid on read, for the lines printed (a `-n 20` renders 20 lines).
//!
//! A log is rotated when the next write would take it past `log_max_bytes`:
//! `<session>.log.{K-1}` becomes `.K` (the oldest is dropped), …, `<session>.log` becomes
//! `.log.1`, and a new `<session>.log` is started. With `log_files = 0` the log is emptied
//! instead. The files of one session therefore never hold more than
//! `(log_files + 1) * log_max_bytes` bytes.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The largest read from the pane, in bytes (also the largest single write to the log).
const CHUNK: usize = 64 * 1024;

/// What `agents pipe-log` is asked to do.
#[derive(Debug, Clone)]
pub(crate) struct WriterOptions {
    /// The session log, `<log_dir>/<session>.log`.
    pub file: PathBuf,
    /// Rotate before a write would take the log past this many bytes (at least 1).
    pub max_bytes: u64,
    /// How many rotated files to keep (`.1` … `.keep`).
    pub keep: u32,
    /// Written first as one separator line (with the local time): why the session started.
    pub mark: Option<String>,
}

/// `<file>.<i>`: the `i`-th rotated log (1 is the newest).
pub(crate) fn rotated(file: &Path, i: u32) -> PathBuf {
    let mut s = file.as_os_str().to_os_string();
    s.push(format!(".{i}"));
    PathBuf::from(s)
}

/// Rotates `file`: `.{keep-1}` → `.keep`, …, `file` → `.1`; with `keep = 0` the file is
/// removed. Missing files are skipped; other errors are returned (the caller carries on).
///
/// # Errors
///
/// The first rename or removal that fails for another reason than a missing file.
pub(crate) fn rotate(file: &Path, keep: u32) -> std::io::Result<()> {
    if keep == 0 {
        return match std::fs::remove_file(file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    for i in (1..keep).rev() {
        match std::fs::rename(rotated(file, i), rotated(file, i + 1)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    match std::fs::rename(file, rotated(file, 1)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The separator line written at every (re)start: `----- agents <local time> <text> -----`,
/// on one line (control characters in `text` become spaces).
pub(crate) fn separator(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!(
        "\n----- agents {} {} -----\n",
        chrono::Local::now().format("%Y-%m-%d %H:%M:%S"),
        clean.trim()
    )
}

/// The open log and what it is, to notice a deleted or moved file.
struct Out {
    file: File,
    ino: u64,
    dev: u64,
    len: u64,
}

/// Opens (creates) the log at `path`. Its directory (`log_dir`, made by the session's start)
/// is made again if it was deleted, never its parents: a writer whose project was deleted
/// must not bring the project's directory back.
fn open(path: &Path) -> std::io::Result<Out> {
    if let Some(dir) = path.parent() {
        match std::fs::create_dir(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
    }
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let m = file.metadata()?;
    Ok(Out {
        ino: m.ino(),
        dev: m.dev(),
        len: m.len(),
        file,
    })
}

/// The rotating appender behind `agents pipe-log`.
struct Writer {
    opts: WriterOptions,
    out: Option<Out>,
}

impl Writer {
    /// Appends `data`, rotating first when it would not fit. Never fails: a write that the
    /// disk refuses is dropped (the next one tries again), and a log that was deleted or
    /// moved away is opened again at its path.
    fn write(&mut self, data: &[u8]) {
        let still_there = self.out.as_ref().is_some_and(|o| {
            std::fs::metadata(&self.opts.file).is_ok_and(|m| m.ino() == o.ino && m.dev() == o.dev)
        });
        if !still_there {
            self.out = open(&self.opts.file).ok();
        }
        let Some(o) = &mut self.out else { return };
        // Another writer (a restart's new pipe) may have appended: take the real size.
        if let Ok(m) = o.file.metadata() {
            o.len = m.len();
        }
        if o.len > 0 && o.len + data.len() as u64 > self.opts.max_bytes {
            self.out = None;
            let _ = rotate(&self.opts.file, self.opts.keep);
            self.out = open(&self.opts.file).ok();
        }
        let Some(o) = &mut self.out else { return };
        if o.file.write_all(data).is_ok() {
            o.len += data.len() as u64;
        } else {
            // A full disk: drop this chunk, reopen on the next one.
            self.out = None;
        }
    }
}

/// Runs `agents pipe-log`: writes the separator, then copies stdin into the log with
/// rotation until stdin closes (the pane is gone). Never fails on the log's account: a
/// full disk, a deleted file or a rotation by someone else only lose output, never stop the
/// copy, so the pane is never blocked on a full pipe.
pub(crate) fn run_writer(opts: WriterOptions) {
    let chunk = CHUNK.min(usize::try_from(opts.max_bytes.max(1)).unwrap_or(CHUNK));
    let mark = opts.mark.clone();
    let mut w = Writer { opts, out: None };
    if let Some(m) = mark {
        w.write(separator(&m).as_bytes());
    }
    let mut buf = vec![0u8; chunk];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => w.write(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// How long ago the log at `path` was last written; `None` when it is missing or the time
/// cannot be read (or lies in the future).
pub(crate) fn age(path: &Path) -> Option<std::time::Duration> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
}

/// The last `n` lines of the log at `path` and, when it holds fewer, of its rotated files
/// (newest first), read backwards from the end in blocks: never the whole file into memory.
/// A final line without a newline counts. Missing files give what the others hold.
///
/// # Errors
///
/// A file that exists but cannot be opened or read.
pub(crate) fn tail(path: &Path, n: usize, keep: u32) -> std::io::Result<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    let mut need = n;
    let mut files = vec![path.to_path_buf()];
    files.extend((1..=keep).map(|i| rotated(path, i)));
    for (i, f) in files.iter().enumerate() {
        if need == 0 {
            break;
        }
        let mut file = match File::open(f) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && i > 0 => break,
            Err(e) => return Err(e),
        };
        let (bytes, lines) = tail_of(&mut file, need)?;
        need -= lines.min(need);
        parts.push(bytes);
    }
    Ok(parts.into_iter().rev().flatten().collect())
}

/// The last `n` lines of `file` (fewer if it holds fewer), and how many that is. Read
/// backwards in blocks, each block scanned once (linear in the bytes returned).
fn tail_of(file: &mut File, n: usize) -> std::io::Result<(Vec<u8>, usize)> {
    const BLOCK: u64 = 64 * 1024;
    let len = file.seek(SeekFrom::End(0))?;
    if n == 0 || len == 0 {
        return Ok((Vec::new(), 0));
    }
    // Newest first.
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let joined = |first: &[u8], blocks: &[Vec<u8>]| {
        let mut out = first.to_vec();
        for b in blocks.iter().rev() {
            out.extend_from_slice(b);
        }
        out
    };
    let mut start = len;
    let mut count = 0;
    loop {
        let from = start.saturating_sub(BLOCK);
        // At most BLOCK (64 KiB) bytes.
        #[allow(clippy::cast_possible_truncation)]
        let mut block = vec![0u8; (start - from) as usize];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut block)?;
        for i in (0..block.len()).rev() {
            // The newline that ends the file does not start a line.
            if block[i] == b'\n' && from + i as u64 != len - 1 {
                count += 1;
                if count == n {
                    return Ok((joined(&block[i + 1..], &blocks), n));
                }
            }
        }
        let whole_is_newline = len == 1 && block == b"\n";
        blocks.push(block);
        start = from;
        if start == 0 {
            let lines = count + usize::from(!whole_is_newline);
            return Ok((joined(&[], &blocks), lines.min(n)));
        }
    }
}

/// Renders raw pane output readable ([`crate::termtext::render`]): escape sequences removed,
/// `\r` redraws, erases and cursor moves resolved as a terminal would (a spinner or a TUI
/// frame shows its last state). Invalid UTF-8 is shown as `�`.
pub(crate) fn render(raw: &[u8]) -> String {
    crate::termtext::render(raw)
}

/// The most a [`Follower`] reads from its file per poll, in bytes.
const FOLLOW_READ: u64 = 1 << 20;

/// The most a [`Follower`] holds back waiting for a line's end, in bytes: a program that
/// never writes a newline is shown in pieces rather than held in memory.
const FOLLOW_PENDING: usize = 64 * 1024;

/// Follows one file as it grows, like `tail -F`: a file that does not exist yet is waited
/// for, and a rotated, truncated or re-created file (another inode, or shorter than the
/// offset reached) is read from its start. Memory is bounded by [`FOLLOW_READ`] +
/// [`FOLLOW_PENDING`].
#[derive(Debug)]
pub(crate) struct Follower {
    path: PathBuf,
    /// The file (by inode) and the offset reached; `None` before the file was seen.
    at: Option<(u64, u64)>,
    /// Bytes after the last newline, waiting for their line to end.
    pending: Vec<u8>,
}

impl Follower {
    /// Follows `path` from its current end (from its start when it does not exist yet).
    pub(crate) fn from_end(path: &Path) -> Self {
        let at = std::fs::metadata(path).ok().map(|m| (m.ino(), m.len()));
        Self::at(path, at)
    }

    /// Follows `path` from `at` (inode, offset), or from the start of the file when `None`.
    pub(crate) fn at(path: &Path, at: Option<(u64, u64)>) -> Self {
        Self {
            path: path.to_path_buf(),
            at,
            pending: Vec::new(),
        }
    }

    /// The path followed.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes appended since the last call, as they are (a line may be cut). Empty when
    /// nothing new (or the file is missing). Errors: the file exists but cannot be read.
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read.
    pub(crate) fn poll_bytes(&mut self) -> std::io::Result<Vec<u8>> {
        let mut f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let m = f.metadata()?;
        let pos = match self.at {
            Some((ino, pos)) if ino == m.ino() && pos <= m.len() => pos,
            _ => 0,
        };
        let mut buf = Vec::new();
        if m.len() > pos {
            f.seek(SeekFrom::Start(pos))?;
            (&mut f).take(FOLLOW_READ).read_to_end(&mut buf)?;
        }
        self.at = Some((m.ino(), pos + buf.len() as u64));
        Ok(buf)
    }

    /// The whole lines appended since the last call (ending with their `\n`); the bytes of
    /// an unfinished line wait for its end (up to [`FOLLOW_PENDING`] bytes).
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read (as [`Self::poll_bytes`]).
    pub(crate) fn poll_lines(&mut self) -> std::io::Result<Vec<u8>> {
        let buf = self.poll_bytes()?;
        self.pending.extend_from_slice(&buf);
        if self.pending.len() > FOLLOW_PENDING {
            return Ok(std::mem::take(&mut self.pending));
        }
        match self.pending.iter().rposition(|b| *b == b'\n') {
            Some(end) => {
                let rest = self.pending.split_off(end + 1);
                Ok(std::mem::replace(&mut self.pending, rest))
            }
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_reads_from_the_end_across_blocks_and_rotated_files() {
        use std::fmt::Write as _;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.log");
        let big = (0..5000).fold(String::new(), |mut s, i| {
            let _ = writeln!(s, "line {i}");
            s
        });
        std::fs::write(&p, &big).unwrap();
        assert_eq!(tail(&p, 2, 3).unwrap(), b"line 4998\nline 4999\n");
        assert_eq!(tail(&p, 0, 3).unwrap(), b"");
        std::fs::write(rotated(&p, 1), "old 1\nold 2\n").unwrap();
        std::fs::write(&p, "new 1\nnew 2").unwrap();
        assert_eq!(tail(&p, 3, 3).unwrap(), b"old 2\nnew 1\nnew 2");
        assert_eq!(tail(&p, 9, 3).unwrap(), b"old 1\nold 2\nnew 1\nnew 2");
        assert_eq!(tail(&p, 9, 0).unwrap(), b"new 1\nnew 2");
        std::fs::write(&p, "\n").unwrap();
        assert_eq!(tail(&p, 2, 0).unwrap(), b"\n");
        std::fs::write(&p, "\n\nz\n").unwrap();
        assert_eq!(tail(&p, 1, 0).unwrap(), b"z\n");
        assert_eq!(tail(&p, 2, 0).unwrap(), b"\nz\n");
        assert_eq!(tail(&p, 5, 0).unwrap(), b"\n\nz\n");
        // Many lines, many blocks: linear, not one copy per block.
        let big = (0..300_000).fold(String::new(), |mut s, i| {
            let _ = writeln!(s, "l{i}");
            s
        });
        std::fs::write(&p, &big).unwrap();
        let t0 = std::time::Instant::now();
        let all = tail(&p, 300_000, 0).unwrap();
        assert_eq!(all.len(), big.len());
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t0.elapsed()
        );
    }

    #[test]
    fn writer_rotates_and_bounds_the_total_size() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.log");
        let mut w = Writer {
            opts: WriterOptions {
                file: p.clone(),
                max_bytes: 1000,
                keep: 2,
                mark: None,
            },
            out: None,
        };
        for _ in 0..500 {
            w.write(b"y\ny\ny\ny\n");
        }
        let sizes: Vec<u64> = [p.clone(), rotated(&p, 1), rotated(&p, 2), rotated(&p, 3)]
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .collect();
        assert!(sizes.iter().all(|s| *s <= 1000), "{sizes:?}");
        assert_eq!(sizes[3], 0, "only 2 rotated files are kept");
        assert!(sizes[2] > 0);
        // A deleted log is opened again.
        std::fs::remove_file(&p).unwrap();
        w.write(b"after\n");
        assert_eq!(std::fs::read(&p).unwrap(), b"after\n");
    }

    #[test]
    fn render_strips_escapes_and_resolves_redraws() {
        assert_eq!(
            render(b"\x1b[1;32mok\x1b[0m\r\n10%\r50%\r100%\ndone\n"),
            "ok\n100%\ndone\n"
        );
        assert_eq!(render(b"abcdef\rXY\n"), "XYcdef\n");
        assert_eq!(render(b"\xff\n"), "\u{fffd}\n");
    }

    #[test]
    fn follower_waits_for_the_file_holds_unfinished_lines_and_restarts_on_truncation() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.log");
        let mut f = Follower::from_end(&p);
        assert_eq!(f.poll_lines().unwrap(), b"");
        std::fs::write(&p, "one\ntw").unwrap();
        assert_eq!(f.poll_lines().unwrap(), b"one\n");
        let mut w = OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(b"o\n").unwrap();
        assert_eq!(f.poll_lines().unwrap(), b"two\n");
        // Truncated, then re-created: read from the start.
        std::fs::write(&p, "x\n").unwrap();
        assert_eq!(f.poll_lines().unwrap(), b"x\n");
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, "new file\n").unwrap();
        assert_eq!(f.poll_lines().unwrap(), b"new file\n");
        // From the end: what was there before is not repeated.
        let mut g = Follower::from_end(&p);
        assert_eq!(g.poll_bytes().unwrap(), b"");
        // A line that never ends is shown in pieces, not held without bound.
        let mut w = OpenOptions::new().append(true).open(&p).unwrap();
        w.write_all(&vec![b'y'; FOLLOW_PENDING + 1]).unwrap();
        assert_eq!(g.poll_lines().unwrap().len(), FOLLOW_PENDING + 1);
    }

    #[test]
    fn separator_is_one_line() {
        let s = separator("restart: fatal\nscreen");
        assert_eq!(s.matches('\n').count(), 2);
        assert!(s.contains("restart: fatal screen -----"), "{s}");
    }
}
