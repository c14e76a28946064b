//! Rule-loading micro-benchmark: `cargo bench --bench rules` (see bench/README.md).
//!
//! What a short-lived process pays for a preset's rules before it reads a screen, per built-in
//! preset (whatever `presets::names()` lists):
//! - `load`: `presets::backend(name)`, the backend as `backend = "NAME"` gives it (the TOML
//!   parsed, every default filled in; a preset's own rules are neither checked nor compiled);
//! - `check`: the syntax check of every rule (`Pattern::new`), what a user's override of each
//!   pays when the config is loaded;
//! - `compile`: compiling every rule of that backend (`config::pattern::compile`, what a
//!   rule's first use costs), and per rule;
//! - `first read`: `load`, then one `detect::classify` of a one-screen pane (every rule the
//!   reading needs compiled on first use): what `agents selftest --pane` pays for its rules.
//!
//! `ROUNDS` rounds of `ITERS` after a warm-up; a round's mean is one sample, the median of
//! the rounds is reported (µs). Std-only timing. Always exits 0.
//!
//! Settings (environment): `BENCH_ITERS` (50), `BENCH_ROUNDS` (7). Any argument that is not
//! a flag filters presets by name.

// A benchmark binary: a failed setup step (a temp repo, a fixture) should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Instant;

use agents::config::{Backend, Pattern, pattern, presets};
use agents::detect;
use chrono::DateTime;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

/// The median time of one call of `f`, in µs: 3 warm-up calls, then `rounds` rounds of `iters`.
fn time_us<R>(mut f: impl FnMut() -> R, iters: usize, rounds: usize) -> f64 {
    for _ in 0..3 {
        black_box(f());
    }
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(f());
            }
            t.elapsed().as_secs_f64() * 1e6 / iters as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// `(key, pattern)` of every rule `b` has.
fn rules(b: &Backend) -> Vec<(&'static str, &Pattern)> {
    [
        ("active_re", &b.active_re),
        ("idle_re", &b.idle_re),
        ("limit_re", &b.limit_re),
        ("fatal_re", &b.fatal_re),
        ("dialog_re", &b.dialog_re),
        ("continue_re", &b.continue_re),
        ("choice_re", &b.choice_re),
        ("ready_re", &b.ready_re),
    ]
    .into_iter()
    .filter_map(|(k, p)| Some((k, p.as_ref()?)))
    .collect()
}

/// A screen of preset `name` to read: its first real screen in the fixtures, else a line.
fn screen(name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/panes");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|f| f.to_str()).is_some_and(|f| {
                f.starts_with(&format!("{name}_"))
                    && std::path::Path::new(f)
                        .extension()
                        .is_some_and(|e| e == "txt")
            })
        })
        .collect();
    files.sort();
    files
        .first()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_else(|| "some text\n".into())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` builds this without running it.
    if !std::env::args().any(|a| a == "--bench") {
        println!("rules: a benchmark; run it with `cargo bench --bench rules`");
        return;
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let iters = env_usize("BENCH_ITERS", 50);
    let rounds = env_usize("BENCH_ROUNDS", 7);
    let now = DateTime::parse_from_rfc3339("2026-11-20T12:00:00+00:00").expect("a valid time");
    println!(
        "rules: {iters} iterations x {rounds} rounds after 3 warm-up, median of rounds (µs)\n"
    );
    println!(
        "{:<10} {:>8} {:>8} {:>12} {:>11}   per rule (compile)",
        "preset", "load", "check", "compile all", "first read"
    );
    for name in presets::names()
        .into_iter()
        .filter(|n| filter.is_empty() || filter.iter().any(|f| n.contains(f.as_str())))
    {
        let b = presets::backend(name).expect("a built-in preset loads");
        let load = time_us(|| presets::backend(black_box(name)), iters, rounds);
        let per: Vec<(&str, f64)> = rules(&b)
            .into_iter()
            .map(|(k, p)| {
                let us = time_us(|| pattern::compile(black_box(p.source())), iters, rounds);
                (k, us)
            })
            .collect();
        let all: f64 = per.iter().map(|r| r.1).sum();
        let check = time_us(
            || {
                rules(&b)
                    .into_iter()
                    .all(|(_, p)| Pattern::new(black_box(p.source())).is_ok())
            },
            iters,
            rounds,
        );
        let text = screen(name);
        let first = time_us(
            || {
                let b = presets::backend(black_box(name)).expect("loads");
                detect::classify(&b, black_box(&text), now, detect::Tz::UTC).state
            },
            iters,
            rounds,
        );
        let detail: Vec<String> = per.iter().map(|(k, us)| format!("{k} {us:.0}")).collect();
        println!(
            "{:<10} {:>8.0} {:>8.0} {:>12.0} {:>11.0}   {}",
            name,
            load,
            check,
            all,
            first,
            detail.join(", ")
        );
    }
}
