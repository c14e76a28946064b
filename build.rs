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

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=AGENTS_BUILD_PIE");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let keep_pie = std::env::var_os("AGENTS_BUILD_PIE").is_some_and(|v| !v.is_empty() && v != "0");
    if os == "linux" && env == "gnu" && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
