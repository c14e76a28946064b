//! `agents schema` — print the JSON Schema of `agents.toml`, derived from the loader's own
//! types ([`crate::config::raw::json_schema`]), for editors that validate and complete TOML
//! (taplo, Even Better TOML). `agents init` writes the same text to `agents.schema.json`.

use std::io::Write as _;
use std::process::ExitCode;

/// The schema as pretty-printed JSON with a final newline.
pub(crate) fn text() -> String {
    let mut s = serde_json::to_string_pretty(&crate::config::raw::json_schema())
        .unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// Prints the schema on stdout.
///
/// # Errors
///
/// Writing to stdout fails.
pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    out.write_all(text().as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
