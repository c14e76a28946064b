//! The integration test binary: the real `agents` binary against real tmux and real git,
//! each test on its own tmux server.

mod util;

mod config_errors;
mod fleet;
mod misc;
mod selftest;
mod supervision;
mod watchdog;
