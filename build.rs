//! Links the `agents` binary as a position-dependent executable (`-no-pie`) on Linux: a PIE
//! makes the dynamic loader apply ~40,000 relocations and copy ~1.2 MiB of `.data.rel.ro`
//! (clap's and the regex crates' tables) on every start, about 1 ms of each short-lived
//! `agents` call (bench/run.sh, benchmark 7). Tests and benches are left as they are.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
