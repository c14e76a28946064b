//! The integration test binary: the real `agents` binary against real tmux and real git,
//! each test on its own tmux server.

// A test binary's helpers: `pub` is the harness's internal API (the crate is a binary, so
// nothing is reachable from outside), and a helper's unwrap is the calling test's assertion.
#![allow(unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

mod util;

mod cleanup;
mod codex_hooks;
mod config_errors;
mod conventions;
mod disk;
mod events;
mod fleet;
mod handoff;
mod hooks;
mod liveness;
mod logs;
mod loop_;
mod misc;
mod notify;
mod operator;
mod orphans;
mod promises;
mod races;
mod selftest;
mod send;
mod shapes;
mod stops;
mod supervision;
mod wake;
mod watchdog;
