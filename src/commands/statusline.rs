//! `agents statusline FILE [--then COMMAND]` (hidden): the status line command of a
//! `hooks = "claude"` session ([`crate::launch::hooks`]). Claude Code runs it after each
//! reply with its JSON on stdin; the plan usage in it is recorded in FILE
//! ([`crate::state::usage`]) and the user's own status line, if they had one, is run with the
//! same input and its output printed, so that their status line still shows. Nothing here
//! may fail the CLI: errors are dropped, and the user's command gets [`THEN_TIMEOUT`].

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

/// The most of stdin read (bytes).
const MAX_INPUT: u64 = 1024 * 1024;

/// How long the user's own status line command may run before it is killed.
pub(crate) const THEN_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the verb.
pub(crate) fn run(file: &Path, then: Option<&str>) {
    let mut input = Vec::new();
    let _ = std::io::stdin().take(MAX_INPUT).read_to_end(&mut input);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&input) {
        let now = chrono::Local::now();
        let epoch = now.timestamp_micros() as f64 / 1e6;
        let ts = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
        if let Some(u) = crate::state::usage::from_status_line(&v, epoch, &ts) {
            let _ = crate::state::usage::write(file, &u);
        }
    }
    if let Some(cmd) = then {
        let _ = run_then(cmd, &input);
    }
}

/// Runs `sh -c cmd` with `input` on its stdin and copies its stdout to ours; kills it after
/// [`THEN_TIMEOUT`].
fn run_then(cmd: &str, input: &[u8]) -> std::io::Result<()> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("sh")
        .args(["-c", cmd])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        let data = input.to_vec();
        // A command that does not read its stdin must not block us.
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
    }
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.take(MAX_INPUT).read_to_end(&mut out);
        }
        out
    });
    let start = Instant::now();
    while child.try_wait()?.is_none() {
        if start.elapsed() > THEN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // A background child of the command may hold its stdout open: wait no longer than the
    // timeout for the end of it.
    while !reader.is_finished() && start.elapsed() <= THEN_TIMEOUT {
        std::thread::sleep(Duration::from_millis(10));
    }
    if reader.is_finished() {
        let out = reader.join().unwrap_or_default();
        let mut o = std::io::stdout().lock();
        o.write_all(&out)?;
        o.flush()?;
    }
    Ok(())
}
