//! Classification micro-benchmark: `cargo bench --bench classify` (see bench/README.md).
//!
//! For every built-in preset (whatever `presets::names()` lists, so it keeps working as
//! presets are added or replaced), the backend is built the way a user gets it: through
//! `config::parse` of a tiny config with one agent on `backend = "<name>"` and no table.
//! Each case is a 200-line pane (at least `PAD` lines of ordinary transcript text above the
//! screen): every real screen of that CLI (`<name>_*.txt` in the pane fixtures), and a worst
//! case of 200 transcript lines no rule matches. Each case is classified `WARMUP` times, then
//! `ROUNDS` rounds of `ITERS`; a round's mean is one sample, the median of the rounds is
//! reported. Std-only timing (`Instant`, `black_box`). Always exits 0: a missed target prints
//! "target MISSED".
//!
//! Settings (environment): `BENCH_PANES` (fixture dir; default `tests/fixtures/panes`, else
//! `/work/shared/panes`), `BENCH_ITERS` (2000), `BENCH_ROUNDS` (7), `BENCH_TARGET_US` (50).

// A benchmark binary: a failed setup step (a temp repo, a fixture) should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agents::config::{self, Backend, EnvOverrides, presets};
use agents::detect::{self, State};
use chrono::{DateTime, FixedOffset};

/// Lines of the pane each case is built to.
const LINES: usize = 200;
/// At least this many transcript lines above a real screen.
const PAD: usize = 150;
const WARMUP: usize = 200;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

/// The backend of preset `name`, through the config parser as a user's file would give it.
fn backend(name: &str) -> Backend {
    let text = format!(
        "[defaults]\nsession_prefix = \"bench-\"\nlog_dir = \"l\"\n\n\
         [[agent]]\nname = \"a\"\nbackend = \"{name}\"\nprompt = \"hi\"\n"
    );
    let cfg = config::parse(Path::new("/tmp/agents.toml"), &text, EnvOverrides::Ignore)
        .unwrap_or_else(|e| panic!("a config on preset {name} does not parse: {e}"));
    cfg.backends
        .get(name)
        .unwrap_or_else(|| panic!("the config on preset {name} has no backend {name}"))
        .clone()
}

/// `n` lines of ordinary agent transcript (tool calls, code, diffs, prose), deterministic, with
/// none of the words the presets look for.
fn transcript(n: usize) -> Vec<String> {
    const PROSE: &[&str] = &[
        "I'll read the module first to see how the configuration is loaded and where the paths resolve.",
        "The function returns early when the list is empty, so the caller never sees the second branch.",
        "Next I'm going to update the tests so they cover the new argument and the default value.",
        "That matches what the documentation says about relative paths: they resolve against the file.",
        "Let me check the other call sites before changing the signature; there are three of them.",
    ];
    const CODE: &[&str] = &[
        "    let path = dir.join(format!(\"{name}.toml\"));",
        "    for (i, item) in items.iter().enumerate() {",
        "        total += item.weight * factors[i % factors.len()];",
        "    }",
        "fn parse_line(line: &str) -> Option<(String, u32)> {",
        "    let (key, value) = line.split_once('=')?;",
        "    Some((key.trim().to_string(), value.trim().parse().ok()?))",
        "}",
    ];
    (0..n)
        .map(|i| match i % 16 {
            0 => format!("⏺ Read(src/module_{}.rs)", i / 16),
            1 => format!("  ⎿  Read {} lines (ctrl+o to expand)", 40 + i % 97),
            2 | 9 => String::new(),
            3..=6 => CODE[(i + 3) % CODE.len()].to_string(),
            7 => format!(
                "⏺ Update(src/module_{}.rs)  ─  {} additions, {} removals",
                i / 16,
                i % 7 + 1,
                i % 3
            ),
            8 => format!(
                "  {:>4} +        let value_{i} = compute(&input[{i}..], Options::default());",
                100 + i
            ),
            10 => format!(
                "  {:>4} -        let value_{i} = compute(&input, None);",
                100 + i
            ),
            _ => PROSE[i % PROSE.len()].to_string(),
        })
        .collect()
}

/// A pane of at least `LINES` lines: transcript text (at least `PAD` lines) above `screen`.
fn pane(screen: &str) -> String {
    let screen_lines = screen.lines().count();
    let pad = PAD.max(LINES.saturating_sub(screen_lines));
    let mut p = transcript(pad).join("\n");
    p.push('\n');
    p.push_str(screen);
    p
}

fn panes_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("BENCH_PANES").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/panes")),
        Some(PathBuf::from("/work/shared/panes")),
    ];
    candidates.into_iter().flatten().find(|d| d.is_dir())
}

/// `(file name, text)` of every real screen of preset `name`, sorted.
fn screens(dir: Option<&Path>, name: &str) -> Vec<(String, String)> {
    let Some(dir) = dir else { return Vec::new() };
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let ok = file.starts_with(&format!("{name}_"))
                && std::path::Path::new(&file)
                    .extension()
                    .is_some_and(|e| e == "txt");
            ok.then(|| Some((file, std::fs::read_to_string(e.path()).ok()?)))
                .flatten()
        })
        .collect();
    out.sort();
    out
}

/// The median time of one call of `f`, in µs: warm-up, then `rounds` rounds of `iters`.
fn time_us<R>(mut f: impl FnMut() -> R, iters: usize, rounds: usize) -> f64 {
    for _ in 0..WARMUP {
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

/// The median time of one classification of `pane` by `b`, in µs, and the reading's state.
fn measure(
    b: &Backend,
    pane: &str,
    now: DateTime<FixedOffset>,
    iters: usize,
    rounds: usize,
) -> (f64, State) {
    let tz = agents::detect::Tz::UTC;
    let state = detect::classify(b, pane, now, tz).state;
    let us = time_us(
        || detect::classify(black_box(b), black_box(pane), now, tz),
        iters,
        rounds,
    );
    (us, state)
}

fn main() {
    // `cargo bench` passes `--bench`. `cargo test --all-targets` runs this target too, without
    // it (and unoptimised): then say how to run it and stop, so tests stay fast.
    if !std::env::args().any(|a| a == "--bench") {
        println!("classify: a benchmark; run it with `cargo bench --bench classify`");
        return;
    }
    // Any other argument is a name filter on presets.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let iters = env_usize("BENCH_ITERS", 2000);
    let rounds = env_usize("BENCH_ROUNDS", 7);
    let target = env_usize("BENCH_TARGET_US", 50) as f64;
    let now = DateTime::parse_from_rfc3339("2026-11-20T12:00:00+00:00").expect("a valid time");
    let dir = panes_dir();
    let names: Vec<&str> = presets::names()
        .into_iter()
        .filter(|n| filter.is_empty() || filter.iter().any(|f| n.contains(f.as_str())))
        .collect();

    println!(
        "classify: {} presets, panes of >= {LINES} lines (>= {PAD} lines of transcript above each screen), \
         {iters} iterations x {rounds} rounds after {WARMUP} warm-up, median of rounds",
        names.len()
    );
    println!(
        "screens: {}",
        dir.as_ref()
            .map_or("none found (set BENCH_PANES)".into(), |d| d
                .display()
                .to_string())
    );
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let no_match = transcript(LINES).join("\n");
    for name in &names {
        let b = backend(name);
        let mut real: Vec<(f64, String)> = Vec::new();
        for (file, text) in screens(dir.as_deref(), name) {
            let (us, _) = measure(&b, &pane(&text), now, iters, rounds);
            real.push((us, file));
        }
        let (nm, state) = measure(&b, &no_match, now, iters, rounds);
        if state != State::Idle {
            notes.push(format!(
                "{name}: the no-match pane reads as {} (a rule matched the transcript)",
                state.as_str()
            ));
        }
        real.sort_by(|a, b| a.0.total_cmp(&b.0));
        let median = real.get(real.len() / 2).map(|r| r.0);
        let slowest = real.last().cloned();
        let worst = slowest.as_ref().map_or(nm, |s| s.0.max(nm));
        rows.push((name.to_string(), real.len(), median, slowest, nm, worst));
    }

    println!();
    println!(
        "{:<10} {:>7} {:>13} {:>13}  {:<52} {:>13} {:>10}",
        "preset", "screens", "real median", "real slowest", "(slowest screen)", "no match", "worst"
    );
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2} µs"));
    for (name, n, median, slowest, nm, worst) in &rows {
        println!(
            "{:<10} {:>7} {:>13} {:>13}  {:<52} {:>13} {:>10}",
            name,
            n,
            fmt(*median),
            fmt(slowest.as_ref().map(|s| s.0)),
            slowest.as_ref().map_or("-", |s| s.1.as_str()),
            fmt(Some(*nm)),
            fmt(Some(*worst)),
        );
    }
    let max = rows.iter().map(|r| r.5).fold(0.0, f64::max);
    let sum: f64 = rows.iter().map(|r| r.5).sum();
    let verdict = |v: f64| {
        if v <= target {
            "target met"
        } else {
            "target MISSED"
        }
    };
    println!();
    println!(
        "per preset (worst case of each, slowest preset): {max:.2} µs per {LINES}-line pane; target <= {target} µs against every preset: {}",
        verdict(max)
    );
    println!(
        "all {} presets together (sum of each preset's worst case): {sum:.2} µs; target <= {target} µs: {}",
        rows.len(),
        verdict(sum)
    );
    // What every classification pays whatever the rules: plain lines of the bottom 25 rows
    // (the default region; classify normalises only its region).
    let norm = time_us(
        || detect::normalize::bottom(black_box(&no_match), 25),
        iters,
        rounds,
    );
    println!(
        "of which fixed: detect::normalize::bottom, 25 rows of a {LINES}-line pane: {norm:.2} µs (information)"
    );
    for n in notes {
        println!("note: {n}");
    }
}
