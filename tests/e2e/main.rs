//! End-to-end tests: the real agent CLIs (today Claude Code, pinned) under `agents`, against
//! loopback mocks of their APIs, each scenario on its own tmux server with a scratch HOME.
//! See tests/e2e/README.md.
//!
//! Its own harness (`harness = false` in Cargo.toml): the scenarios mostly wait on a CLI and
//! a clock (a plan limit's reset is a whole minute away), so they all run at once on their
//! own threads rather than libtest's one per core. `cargo test --test e2e [FILTER...]
//! [-- --skip S] [--list] [--test-threads N]`. When a CLI cannot be installed (no npm, no
//! registry) its scenarios are skipped with the reason; `AGENTS_REQUIRE_E2E=1` (`.ci/run`)
//! makes that a failure, `AGENTS_E2E=0` skips on purpose.
// A test binary's helpers: `pub` is the harness's internal API (the crate is a binary, so
// nothing is reachable from outside), and a helper's unwrap is the calling test's assertion.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::process::ExitCode;

#[path = "../integration/util.rs"]
#[allow(dead_code)]
mod util;

mod claude;
mod codex;
mod gemini;
mod harness;

/// Every CLI's suite. A new CLI (issue 17: Codex, Gemini) adds its module and its line here.
fn suites() -> Vec<harness::Suite> {
    vec![claude::suite(), codex::suite(), gemini::suite()]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut filters = vec![];
    let mut skip = vec![];
    let mut list = false;
    let mut ignored_only = false;
    let mut threads = usize::MAX;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--list" => list = true,
            "--ignored" => ignored_only = true,
            "--skip" => skip.extend(it.next().cloned()),
            "--test-threads" => threads = it.next().and_then(|n| n.parse().ok()).unwrap_or(threads),
            // libtest options that take a value, accepted and ignored.
            "--format" | "--color" | "--logfile" | "-Z" | "--shuffle-seed" => {
                it.next();
            }
            s if s.starts_with("--test-threads=") => {
                threads = s["--test-threads=".len()..].parse().unwrap_or(threads);
            }
            s if s.starts_with("--skip=") => skip.push(s["--skip=".len()..].to_string()),
            s if s.starts_with('-') => {} // --nocapture, --exact, --quiet, ...: no effect here
            s => filters.push(s.to_string()),
        }
    }
    if list {
        for s in suites() {
            for (n, _) in s.scenarios {
                println!("{n}: test");
            }
        }
        return ExitCode::SUCCESS;
    }
    if ignored_only {
        // Nothing here is #[ignore]d.
        println!("test result: ok. 0 passed; 0 failed; 0 skipped");
        return ExitCode::SUCCESS;
    }
    if harness::run(suites(), &filters, &skip, threads) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}
