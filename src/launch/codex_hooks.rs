//! The per-launch hooks of a `hooks = "codex"` backend: `-c` overrides on the Codex CLI's
//! command line, which add command hooks to that process's config only (the "session flags"
//! layer; the user's `CODEX_HOME/config.toml`, `hooks.json` and the project's `.codex/` are
//! never written).
//!
//! Codex runs only hooks a person has reviewed and trusted (`/hooks`; by a hash of the hook's
//! definition stored in `config.toml`): an untrusted hook is skipped, and at start the TUI
//! asks "Hooks need review · 1. Review hooks 2. Trust all and continue 3. Continue without
//! trusting" (0.169.0). So the CLI is started with `--dangerously-bypass-hook-trust` ("Enabled
//! hooks may run without review for this invocation", shown as one start-up warning under
//! "⚠ 1 warning · f2 to view"), which also lets any unreviewed hook of the user's own config
//! run in that process. `-c features.hooks=true` turns hooks on even where the user's config
//! turned them off (0.169.0 has them on by default; `codex_hooks` is its deprecated alias).
//!
//! Each hook runs [`super::hooks::signal_command`] (`agents signal <file> <Event>`, quiet,
//! exit 0) with the hook's JSON input on stdin. What 0.169.0 fired against the loopback mock
//! (tests/e2e/codex, measured by hand and in `hooks_record_turns_and_usage`):
//! `SessionStart` at start (`session_id`, `transcript_path`: the rollout file
//! `CODEX_HOME/sessions/YYYY/MM/DD/rollout-…-<session_id>.jsonl`, `source: "startup"`);
//! `UserPromptSubmit` for the kickoff and each typed turn (`turn_id`, `prompt`); `Stop` when
//! a turn ends (`last_assistant_message`); `Interrupt` instead of Stop when Esc interrupts the
//! turn; on a usage limit (HTTP 429 `usage_limit_reached`) nothing after `UserPromptSubmit`,
//! neither Stop nor the `notify` program (the screen's banner and the rollout's rate limits
//! tell it). The thread-title side request ("Generate a concise, single-line task title…")
//! fires no hook, only `notify` (so hooks, not `notify`, are read: `notify` would mark a
//! title's end as a turn's). `PermissionRequest` runs when Codex asks for an approval (not
//! seen with the preset's `--dangerously-bypass-approvals-and-sandbox`; the mock sends no
//! tool calls). Codex clamps an `Interrupt` hook's timeout to 3 s. With any `-c` override
//! 0.169.0 runs in embedded mode, without its shared background server (`codex app-server`,
//! which `daemon_auto_start` starts otherwise): one more start-up warning.

use std::path::Path;

/// The hook events the overrides subscribe to, with each one's timeout in seconds (Codex
/// 0.169.0 clamps `Interrupt` to 3 s, with a start-up warning past it).
pub const EVENTS: &[(&str, u32)] = &[
    ("SessionStart", 10),
    ("UserPromptSubmit", 10),
    ("Stop", 10),
    ("PermissionRequest", 10),
    ("Interrupt", 3),
    ("PreCompact", 10),
];

/// The flag that lets the hooks run without a person's review (Codex 0.16x; an older CLI
/// refuses it as an unexpected argument: `hooks = "none"` then).
pub const BYPASS_TRUST: &str = "--dangerously-bypass-hook-trust";

/// A TOML basic string holding `s` (JSON's escapes are TOML's: `\"`, `\\`, `\n`, `\uXXXX`).
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"false\"".into())
}

/// The arguments that give Codex its hooks for one launch: [`BYPASS_TRUST`], `-c
/// features.hooks=true`, then for each of [`EVENTS`] `-c hooks.<Event>=[{hooks=[{type=
/// "command",command="<exe> signal <signals> <Event> >/dev/null 2>&1 || true",timeout=N}]}]`
/// (one argv word each: no shell sees them).
pub fn args(exe: &Path, signals: &Path) -> Vec<String> {
    let mut out = vec![
        BYPASS_TRUST.to_string(),
        "-c".into(),
        "features.hooks=true".into(),
    ];
    for (ev, timeout) in EVENTS {
        let command = toml_string(&super::hooks::signal_command(exe, signals, ev));
        out.push("-c".into());
        out.push(format!(
            "hooks.{ev}=[{{hooks=[{{type=\"command\",command={command},timeout={timeout}}}]}}]"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each override parses as Codex reads a `-c key=value` (the value as TOML) into the
    /// shape of its `[hooks]` table, and its command, run by a shell, is quiet and exits 0
    /// when the binary is gone.
    #[test]
    fn each_event_gets_one_quiet_command_hook_as_a_toml_override() {
        let d = tempfile::tempdir().unwrap();
        let exe = d.path().join("my \"agents\"/agents");
        let signals = d.path().join("state/signals-t-a.jsonl");
        let a = args(&exe, &signals);
        assert_eq!(a[..3], [BYPASS_TRUST, "-c", "features.hooks=true"]);
        assert_eq!(a.len(), 3 + 2 * EVENTS.len());
        for ((ev, timeout), pair) in EVENTS.iter().zip(a[3..].chunks(2)) {
            assert_eq!(pair[0], "-c");
            let (key, value) = pair[1].split_once('=').unwrap();
            assert_eq!(key, format!("hooks.{ev}"));
            let v: toml::Value = toml::from_str(&format!("v = {value}")).unwrap();
            let h = &v["v"][0]["hooks"][0];
            assert_eq!(h["type"].as_str(), Some("command"));
            assert_eq!(h["timeout"].as_integer(), Some(i64::from(*timeout)));
            let cmd = h["command"].as_str().unwrap();
            assert_eq!(
                shlex::split(cmd).unwrap()[..4],
                [
                    exe.to_str().unwrap(),
                    "signal",
                    signals.to_str().unwrap(),
                    ev
                ]
            );
            let out = std::process::Command::new("sh")
                .args(["-c", cmd])
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
            assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
        }
    }
}
