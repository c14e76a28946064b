//! Handoff read benchmark: `cargo bench --bench handoff` (see bench/README.md).
//!
//! Builds, in a temp dir, a handoff repo whose `origin/main` has `BENCH_COMMITS` (10,000)
//! commits plus `BENCH_NEW` (100) newer ones (with `git fast-import`: a few seconds), with
//! both inbox files under `machine-docs/`, and the handoff settings through `config::parse`
//! of a config with `[loop.handoff]` (as a user gets them). Then times what a check does
//! after the fetch — open the repository, resolve `origin/main`, walk the new commits, match
//! their subjects, look up the inbox files, decide the pings
//! (`watchdog::handoff::scan` + `supervise::handoff::decide`) — in two cases:
//!
//! - nothing new: the last seen head is the tip (target ≤ 20 ms);
//! - `BENCH_NEW` new commits: the last seen head is 100 commits behind (target ≤ 50 ms).
//!
//! Each case runs 5 times to warm up, then `BENCH_RUNS` (51) times; the median (and the
//! slowest) is reported. For information, a `git fetch` from a local bare clone with nothing
//! new (the part a check adds on top, without a network) is timed too. Std-only timing.
//! Always exits 0: a missed target prints "target MISSED".

// A benchmark binary: a failed setup step (a temp repo, a fixture) should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agents::config::{self, EnvOverrides};
use agents::supervise::handoff::{Memory, decide};
use agents::watchdog::handoff;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The fast-import stream: `total` commits on `refs/remotes/origin/main`, each changing
/// `src/file.txt`; every 50th adds an inbox file change; subjects cycle through claim,
/// review and plain work. Commit `old` gets mark `:old` (`mark` numbers are 1-based).
fn stream(total: usize) -> Vec<u8> {
    let mut s = Vec::with_capacity(total * 200);
    for i in 1..=total {
        let subject = match i % 10 {
            0 => format!("claim: gate {i} passes"),
            5 => format!("review: gate {i} verified"),
            _ => format!("work: step {i} of the build"),
        };
        let file = format!("line {i}\n");
        writeln!(s, "commit refs/remotes/origin/main").unwrap();
        writeln!(s, "mark :{i}").unwrap();
        writeln!(
            s,
            "committer Bench <bench@example.com> {} +0000",
            1_700_000_000 + i
        )
        .unwrap();
        writeln!(s, "data {}\n{subject}", subject.len()).unwrap();
        if i > 1 {
            writeln!(s, "from :{}", i - 1).unwrap();
        }
        writeln!(s, "M 644 inline src/file.txt\ndata {}\n{file}", file.len()).unwrap();
        if i % 50 == 0 || i == 1 {
            for inbox in ["adversary_inbox.md", "builder_inbox.md"] {
                let text = format!("message {i} for {inbox}\n");
                writeln!(
                    s,
                    "M 644 inline machine-docs/{inbox}\ndata {}\n{text}",
                    text.len()
                )
                .unwrap();
            }
        }
        writeln!(s).unwrap();
    }
    s
}

/// Median and max of `runs` timings of `f` after 5 warm-up calls.
fn time(runs: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    for _ in 0..5 {
        f();
    }
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let at = Instant::now();
            f();
            at.elapsed()
        })
        .collect();
    t.sort();
    (t[t.len() / 2], t[t.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn verdict(d: Duration, target_ms: f64) -> &'static str {
    if d.as_secs_f64() * 1000.0 <= target_ms {
        "target met"
    } else {
        "target MISSED"
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("handoff: a benchmark; run it with `cargo bench --bench handoff`");
        return;
    }
    let commits = env_usize("BENCH_COMMITS", 10_000);
    let new = env_usize("BENCH_NEW", 100);
    let runs = env_usize("BENCH_RUNS", 51);
    let tmp = tempfile::tempdir().expect("a temp dir");
    let repo = tmp.path().join("handoff");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);

    let built = Instant::now();
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["fast-import", "--quiet", "--export-marks=marks"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&stream(commits + new))
        .unwrap();
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    let marks = std::fs::read_to_string(repo.join("marks")).unwrap();
    let old = marks
        .lines()
        .find_map(|l| l.strip_prefix(&format!(":{commits} ")))
        .expect("the mark of the old head")
        .to_string();
    let tip = git(&repo, &["rev-parse", "refs/remotes/origin/main"]);
    // A bare clone as `origin`, for the fetch figure.
    git(&repo, &["update-ref", "refs/heads/main", &tip]);
    let origin = tmp.path().join("origin.git");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.to_str().unwrap(),
            origin.to_str().unwrap(),
        ],
    );
    git(&origin, &["update-ref", "refs/heads/main", &tip]);
    git(
        &repo,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    println!(
        "handoff: repo of {} commits ({commits} + {new} new) built in {:.1} s; {runs} runs after 5 warm-up, median (max)",
        commits + new,
        built.elapsed().as_secs_f64()
    );

    let text = format!(
        "[defaults]\nsession_prefix = \"bench-\"\nlog_dir = \"l\"\nbackend = \"demo\"\n\n\
         [[agent]]\nname = \"builder\"\nkind = \"loop\"\nrole = \"builder\"\n\
         [[agent]]\nname = \"adversary\"\nkind = \"loop\"\nrole = \"adversary\"\n\n\
         [loop]\nphases = [{{ id = \"p1\", status = \"S.md\" }}]\n\n\
         [loop.handoff]\nrepo = {:?}\ninboxes = [\"adversary_inbox.md\", \"builder_inbox.md\"]\n",
        repo.display().to_string()
    );
    let cfg = config::parse(&tmp.path().join("agents.toml"), &text, EnvOverrides::Ignore)
        .unwrap_or_else(|e| panic!("the bench config does not parse: {e}"));
    let h = cfg.loop_.handoff.clone().expect("[loop.handoff]");

    let check = |last: &str| {
        let seen = handoff::scan(&h, Some(last)).expect("scan");
        let mem = Memory {
            head: Some(last.to_string()),
            ..Memory::default()
        };
        let (next, queued) = decide(&h, &mem, &seen, 0.0);
        std::hint::black_box((next, queued));
        seen
    };
    let s = check(&old);
    assert_eq!(s.subjects.len(), new, "the walk sees the new commits");
    assert!(check(&tip).subjects.is_empty());

    let (idle, idle_max) = time(runs, || {
        check(&tip);
    });
    let (busy, busy_max) = time(runs, || {
        check(&old);
    });
    println!(
        "  nothing new                 {:>10} (max {:>10})   target <= 20 ms: {}",
        ms(idle),
        ms(idle_max),
        verdict(idle, 20.0)
    );
    println!(
        "  {new} new commits             {:>10} (max {:>10})   target <= 50 ms: {}",
        ms(busy),
        ms(busy_max),
        verdict(busy, 50.0)
    );
    let (fetch, fetch_max) = time(5, || {
        git(&repo, &["fetch", "-q", "origin"]);
    });
    println!(
        "  git fetch, local, nothing new {:>8} (max {:>10})   information: the part the read does not include",
        ms(fetch),
        ms(fetch_max)
    );
}
