//! Build script: links the `agents` binary position-dependent (`-no-pie`) on Linux with
//! glibc.
//!
//! Every verb is a short-lived process (`status`, `send`, a hook's `signal`, each session's
//! `pipe-log`), so what a process pays before `main` is paid on every one. A position-
//! independent executable carries about 12,000 relative relocations that the dynamic loader
//! applies at each start: some 300 KB of relocation records read and 60 pages of data copied
//! and written, about 60 of the ~150 page faults of `agents --version` and 0.4 ms of its
//! 1.5 ms (measured on the 2-core CI machine). Linked `-no-pie`, the linker resolves them
//! once, at build time. The binary's own addresses are then the same at each run (shared
//! libraries, the stack and the heap are still randomized).
//!
//! Only the binary: the proc-macro libraries of the build must stay position-independent,
//! which is why this is not a `rustflags` setting. `AGENTS_BUILD_PIE=1` keeps the default
//! (PIE), for a packager who wants the binary randomized too.
//!
//! It also writes `$OUT_DIR/shipped_literals.rs`: for every string in the built-in presets
//! (`src/presets/*.toml`), the literal text every match of it contains, as
//! `src/config/literals.rs` reads it (that file is this script's module too), so that a
//! shipped rule's prefilter costs no parse at run time (`config::pattern`).

#[path = "src/config/literals.rs"]
mod literals;

use std::collections::BTreeSet;
use std::fmt::Write as _;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    shipped_literals();
    println!("cargo:rerun-if-env-changed=AGENTS_BUILD_PIE");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let keep_pie = std::env::var_os("AGENTS_BUILD_PIE").is_some_and(|v| !v.is_empty() && v != "0");
    if os == "linux" && env == "gnu" && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

/// Writes `$OUT_DIR/shipped_literals.rs` (see the module doc): `LITERALS`, sorted by source.
fn shipped_literals() {
    println!("cargo:rerun-if-changed=src/presets");
    println!("cargo:rerun-if-changed=src/config/literals.rs");
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir("src/presets")
        .unwrap_or_else(|e| panic!("src/presets: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut sources = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let table: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        strings(&toml::Value::Table(table), &mut sources);
    }
    let mut out = String::from(
        "/// `(source, literals)` of every string in the built-in presets, sorted by source.\n\
         pub(super) static LITERALS: &[(&str, Option<&[&[u8]]>)] = &[\n",
    );
    for s in &sources {
        let set = match literals::required(s) {
            None => "None".to_string(),
            Some(set) => {
                let lits: Vec<String> = set.iter().map(|l| format!("&{l:?}")).collect();
                format!("Some(&[{}])", lits.join(", "))
            }
        };
        let _ = writeln!(out, "    ({s:?}, {set}),");
    }
    out.push_str("];\n");
    let dir = std::env::var_os("OUT_DIR").unwrap_or_else(|| panic!("cargo sets OUT_DIR"));
    let path = std::path::Path::new(&dir).join("shipped_literals.rs");
    std::fs::write(&path, out).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// Every string in `v`, at any depth.
fn strings(v: &toml::Value, out: &mut BTreeSet<String>) {
    match v {
        toml::Value::String(s) => {
            out.insert(s.clone());
        }
        toml::Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        toml::Value::Table(t) => t.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}
