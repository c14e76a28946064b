//! The `agents` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    agents::run()
}
