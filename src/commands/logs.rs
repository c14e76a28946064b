//! `agents logs <name> [-n N] [--no-follow]` — print the last N lines of a session log, then
//! follow it as it grows (like `tail -F`: a truncated or re-created log is read from the start).

use std::io::{Read, Seek, SeekFrom, Write};
use std::process::ExitCode;
use std::time::Duration;

use crate::ctx::Ctx;

pub async fn run(ctx: &Ctx, name: &str, lines: usize, follow: bool) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.cfg;
    super::check_names(cfg, &[name.to_string()])?;
    let session = match (cfg.agent(name), cfg.service(name)) {
        (Some(a), _) => a.session.clone(),
        (_, Some(s)) => s.session.clone(),
        _ => cfg.watchdog_session(),
    };
    let path = cfg.session_log(&session);
    let mut out = std::io::stdout().lock();
    let mut pos: u64 = 0;
    match std::fs::read(&path) {
        Ok(data) => {
            out.write_all(tail(&data, lines))?;
            out.flush()?;
            pos = data.len() as u64;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if !follow {
                anyhow::bail!(
                    "{} has no log yet ({} does not exist); start it with `agents up {name}`",
                    name,
                    path.display()
                );
            }
            tracing::info!("waiting for {} to appear", path.display());
        }
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    if !follow {
        return Ok(ExitCode::SUCCESS);
    }
    let mut buf = Vec::new();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Ok(mut f) = std::fs::File::open(&path) else {
            continue;
        };
        let len = f.metadata()?.len();
        if len < pos {
            pos = 0;
        }
        if len == pos {
            continue;
        }
        f.seek(SeekFrom::Start(pos))?;
        buf.clear();
        f.read_to_end(&mut buf)?;
        pos += buf.len() as u64;
        out.write_all(&buf)?;
        out.flush()?;
    }
}

/// The last `n` lines of `data` (a final line without newline counts).
fn tail(data: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut count = 0;
    for (i, b) in body.iter().enumerate().rev() {
        if *b == b'\n' {
            count += 1;
            if count == n {
                return &data[i + 1..];
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    #[test]
    fn tail_takes_last_lines() {
        assert_eq!(super::tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(super::tail(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(super::tail(b"a\n", 5), b"a\n");
        assert_eq!(super::tail(b"a\nb\n", 0), b"");
    }
}
