//! `agents logs <name> [-n N] [--no-follow] [--raw]` — print the last N lines of a session
//! log, then follow it as it grows (like `tail -F`: a rotated, truncated or re-created log is
//! read from its start).
//!
//! The history is read from the end of the file (and of the rotated files, when the current
//! one holds fewer than N lines), never the whole file into memory. Output is rendered
//! readable ([`crate::logfile::render`]: escape sequences removed, `\r` redraws resolved)
//! unless `--raw` asks for the bytes as the pane wrote them.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::logfile;

/// Runs the verb. Errors: an unknown name, a log that cannot be read, or (with
/// `--no-follow`) no log yet.
pub async fn run(
    ctx: &Ctx,
    name: &str,
    lines: usize,
    follow: bool,
    raw: bool,
) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    super::check_names(cfg, &[name.to_string()])?;
    let session = match (cfg.agent(name), cfg.service(name)) {
        (Some(a), _) => a.session.clone(),
        (_, Some(s)) => s.session.clone(),
        _ => cfg.watchdog_session(),
    };
    let path = cfg.session_log(&session);
    let mut out = std::io::stdout().lock();
    let print = |out: &mut std::io::StdoutLock, data: &[u8]| -> std::io::Result<()> {
        if raw {
            out.write_all(data)?;
        } else {
            out.write_all(logfile::render(data).as_bytes())?;
        }
        out.flush()
    };
    // Where following starts: the file (by inode) and the offset reached.
    let mut at: Option<(u64, u64)> = None;
    match std::fs::File::open(&path) {
        Ok(f) => {
            let m = f.metadata()?;
            at = Some((m.ino(), m.len()));
            let data = logfile::tail(&path, lines, cfg.log_files)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            print(&mut out, &data)?;
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
    // Bytes after the last newline wait for their line to end before they are rendered.
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(mut f) = std::fs::File::open(&path) else {
            continue;
        };
        let m = f.metadata()?;
        let pos = match at {
            Some((ino, pos)) if ino == m.ino() && pos <= m.len() => pos,
            _ => 0,
        };
        if m.len() == pos {
            at = Some((m.ino(), pos));
            continue;
        }
        f.seek(SeekFrom::Start(pos))?;
        buf.clear();
        f.read_to_end(&mut buf)?;
        at = Some((m.ino(), pos + buf.len() as u64));
        if raw {
            print(&mut out, &buf)?;
            continue;
        }
        pending.extend_from_slice(&buf);
        if let Some(end) = pending.iter().rposition(|b| *b == b'\n') {
            let rest = pending.split_off(end + 1);
            print(&mut out, &pending)?;
            pending = rest;
        }
    }
}
