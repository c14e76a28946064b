//! Runs one notify command to its end or its timeout, on the calling thread (the caller is a
//! background thread of its own). The command runs in a process group of its own, so a
//! timeout kills what it started too (`sh -c 'sleep 100'` leaves no `sleep`); each run also
//! gets a token of its own in `AGENTS_NOTIFY_RUN`, so that children that left the group
//! (`setsid`) are found by their environment and killed with it.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How often a running command is checked for its end.
const POLL: Duration = Duration::from_millis(20);

/// The last bytes of the command's output quoted in a failure.
const TAIL: u64 = 300;

/// Why a notify command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The program is not on `PATH` (or the path given does not exist).
    NotFound,
    /// It could not be started for another reason.
    Spawn(String),
    /// It ended unsuccessfully; `tail` is the end of its stdout + stderr.
    Exit {
        /// The exit status as the standard library shows it (`exit status: 3`, `signal: 9`).
        status: String,
        /// The last 300 bytes (`TAIL`) of what it printed on stdout and stderr, on one line.
        tail: String,
    },
    /// It still ran after the timeout and was killed.
    Timeout(Duration),
}

impl Failure {
    /// A short name of the failure (the same failure is reported once).
    pub fn class(&self) -> String {
        match self {
            Self::NotFound => "not-found".into(),
            Self::Spawn(e) => format!("spawn: {e}"),
            Self::Exit { status, .. } => format!("exit: {status}"),
            Self::Timeout(_) => "timeout".into(),
        }
    }

    /// What went wrong with `program`, for the log and the `notify-error` event.
    pub fn describe(&self, program: &str) -> String {
        match self {
            Self::NotFound => format!("notify command {program:?} was not found (is it on PATH?)"),
            Self::Spawn(e) => format!("cannot run notify command {program:?}: {e}"),
            Self::Exit { status, tail } if tail.is_empty() => {
                format!("notify command {program:?} failed: {status}")
            }
            Self::Exit { status, tail } => {
                format!("notify command {program:?} failed: {status}; it said: {tail}")
            }
            Self::Timeout(t) => format!(
                "notify command {program:?} still ran after {:.0} s and was killed",
                t.as_secs_f64()
            ),
        }
    }
}

/// What to run: `argv` (not empty) in `dir` with `env` added, `stdin` written to it.
#[derive(Debug, Clone)]
pub struct Job {
    /// The notify command: program first, then its arguments.
    pub argv: Vec<String>,
    /// Variables added to its environment (`AGENTS_EVENT`, `AGENTS_NAME`, …).
    pub env: Vec<(&'static str, String)>,
    /// Its working directory (the project); the current one when it is not a directory.
    pub dir: std::path::PathBuf,
    /// The text written to its stdin (the notice as one JSON line).
    pub stdin: String,
    /// How long it may run before its process group is killed.
    pub timeout: Duration,
}

/// Runs `job`; `spawned` is told the process group id as soon as it exists (for a kill at
/// shutdown). Never blocks longer than the timeout (plus the kill).
///
/// # Errors
///
/// [`Failure::NotFound`] when the program does not exist, [`Failure::Spawn`] when it (or the
/// file catching its output) cannot be started or waited for, [`Failure::Timeout`] when it
/// ran past `timeout` and was killed, [`Failure::Exit`] when it exited unsuccessfully.
pub fn run(job: &Job, spawned: impl FnOnce(u32)) -> Result<(), Failure> {
    let mut out = tempfile::tempfile().map_err(|e| Failure::Spawn(e.to_string()))?;
    let sink = |f: &std::fs::File| {
        f.try_clone()
            .map(Stdio::from)
            .map_err(|e| Failure::Spawn(e.to_string()))
    };
    let token = run_token();
    let mut cmd = Command::new(&job.argv[0]);
    cmd.args(&job.argv[1..])
        .envs(job.env.iter().map(|(k, v)| (k, v)))
        .env(RUN_VAR, &token)
        .stdin(Stdio::piped())
        .stdout(sink(&out)?)
        .stderr(sink(&out)?)
        .process_group(0);
    if job.dir.is_dir() {
        cmd.current_dir(&job.dir);
    }
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Failure::NotFound,
        _ => Failure::Spawn(e.to_string()),
    })?;
    let pgid = child.id();
    spawned(pgid);
    // Written aside: a command that never reads its stdin must not hold this thread.
    if let Some(mut stdin) = child.stdin.take() {
        let line = job.stdin.clone();
        let _ = std::thread::Builder::new()
            .name("notify-stdin".into())
            .spawn(move || {
                let _ = stdin.write_all(line.as_bytes());
            });
    }
    let deadline = Instant::now() + job.timeout;
    let status: ExitStatus = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                kill_group(pgid);
                kill_marked(&token);
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::Timeout(job.timeout));
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(e) => {
                kill_group(pgid);
                kill_marked(&token);
                let _ = child.wait();
                return Err(Failure::Spawn(e.to_string()));
            }
        }
    };
    if status.success() {
        return Ok(());
    }
    Err(Failure::Exit {
        status: status.to_string(),
        tail: tail(&mut out),
    })
}

/// The environment variable that holds a run's token (see the module doc).
pub const RUN_VAR: &str = "AGENTS_NOTIFY_RUN";

/// A token no other run of any fleet holds: this process's pid, the time and a counter.
fn run_token() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// Kills every process of this user that holds `token` in [`RUN_VAR`]: what a command
/// started in a session of its own (`setsid`).
fn kill_marked(token: &str) {
    for p in crate::launch::proctree::with_env(RUN_VAR, token) {
        crate::launch::proctree::signal(&p, nix::sys::signal::Signal::SIGKILL);
    }
}

/// Kills the process group `pgid` (a notify command and what it started).
pub use crate::launch::proctree::kill_group;

/// The last [`TAIL`] bytes of `f`, on one line.
fn tail(f: &mut std::fs::File) -> String {
    let len = f.metadata().map_or(0, |m| m.len());
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(len.saturating_sub(TAIL))).is_err()
        || f.take(TAIL).read_to_end(&mut buf).is_err()
    {
        return String::new();
    }
    super::kind::one_line(&String::from_utf8_lossy(&buf))
}

/// The program named in failures: the first word of the argv.
pub fn program(argv: &[String]) -> &str {
    argv.first().map_or("", |s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(argv: &[&str], timeout: f64) -> Job {
        Job {
            argv: argv.iter().map(std::string::ToString::to_string).collect(),
            env: vec![("AGENTS_EVENT", "fatal".into())],
            dir: std::env::temp_dir(),
            stdin: "{\"kind\":\"fatal\"}\n".into(),
            timeout: Duration::from_secs_f64(timeout),
        }
    }

    #[test]
    fn stdin_and_env_reach_the_command() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("got");
        let script = format!("cat > {0}; echo \"$AGENTS_EVENT\" >> {0}", out.display());
        assert_eq!(run(&job(&["sh", "-c", &script], 5.0), |_| {}), Ok(()));
        let got = std::fs::read_to_string(&out).unwrap();
        assert_eq!(got, "{\"kind\":\"fatal\"}\nfatal\n");
    }

    #[test]
    fn a_missing_program_and_a_failing_one_are_failures_that_say_why() {
        assert_eq!(
            run(&job(&["no-such-notify-program-xyz"], 5.0), |_| {}),
            Err(Failure::NotFound)
        );
        let f = run(&job(&["sh", "-c", "echo boom >&2; exit 3"], 5.0), |_| {}).unwrap_err();
        let said = f.describe("sh");
        assert!(
            said.contains("exit status: 3") && said.contains("boom"),
            "{said}"
        );
    }

    /// Whether process `pid` still runs (a zombie waiting for its reaper does not).
    fn alive(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit(')').next().map(|r| r.trim_start().to_string()))
            .is_some_and(|r| !r.starts_with('Z'))
    }

    #[test]
    fn a_hanging_command_is_killed_with_what_it_started_at_the_timeout() {
        let d = tempfile::tempdir().unwrap();
        let pidfile = d.path().join("pid");
        let script = format!("sleep 100 & echo $! > {}; wait", pidfile.display());
        let t0 = Instant::now();
        let r = run(&job(&["sh", "-c", &script], 0.5), |_| {});
        assert_eq!(r, Err(Failure::Timeout(Duration::from_secs_f64(0.5))));
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let pid = pid.trim();
        let gone = (0..40).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            !alive(pid)
        });
        assert!(gone, "the sleep the command started was not killed");
    }

    #[test]
    fn a_command_that_never_reads_stdin_does_not_hold_the_runner() {
        let mut j = job(&["sh", "-c", "exec sleep 100"], 0.3);
        j.stdin = "x".repeat(1 << 20);
        let t0 = Instant::now();
        assert!(matches!(run(&j, |_| {}), Err(Failure::Timeout(_))));
        assert!(t0.elapsed() < Duration::from_secs(3));
    }
}
