//! The per-launch hooks of a `hooks = "claude"` backend: a settings file passed to Claude
//! Code as `--settings <file>`, which adds its hooks to the user's own settings for that
//! process only (the user's `~/.claude/settings.json` and the project's `.claude/` are
//! never written).
//!
//! Each hook runs `agents signal <signals file> <Event>` with the hook's JSON input on its
//! stdin (Claude Code runs a command hook through a shell; the paths are shell-quoted and
//! nothing of the input reaches the command line). The command prints nothing (the stdout
//! of a `UserPromptSubmit` or `SessionStart` hook would be added to the conversation) and always
//! exits 0 (exit 2 would block the prompt), whatever happens to `agents`.
//!
//! Events (what Claude Code 2.1.330 fired against the loopback mock, see
//! `shared/research/structured-signals.md` §5): `SessionStart` at start (`session_id`,
//! `transcript_path`, `source: "startup"`); `UserPromptSubmit` for the kickoff and each typed
//! turn; Stop when a turn ends; `StopFailure` instead of Stop when an API error ends it
//! (`"error": "rate_limit"` on a plan limit, with the banner in
//! `last_assistant_message`); Notification when it waits for a person; `PreCompact` before it
//! compacts the conversation.

use std::path::Path;

/// The hook events the settings file subscribes to.
pub const EVENTS: &[&str] = &[
    "SessionStart",
    "UserPromptSubmit",
    "Stop",
    "StopFailure",
    "Notification",
    "PreCompact",
];

/// Seconds Claude Code gives a hook before it kills it (ours takes milliseconds).
const TIMEOUT_SECS: u32 = 10;

/// The settings JSON (pretty, with a final newline) whose hooks run `exe signal <signals>
/// <Event>` for each of [`EVENTS`], and whose status line runs `exe statusline <usage>`,
/// which records the plan usage the CLI reports and prints what the user's own status line
/// command (`user_status_line`, see [`user_status_line`]) prints, if they have one.
pub fn claude_settings(
    exe: &Path,
    signals: &Path,
    usage: &Path,
    user_status_line: Option<&serde_json::Value>,
) -> String {
    let hooks: serde_json::Map<String, serde_json::Value> = EVENTS
        .iter()
        .map(|ev| {
            let entry = serde_json::json!([{ "hooks": [{
                "type": "command",
                "command": signal_command(exe, signals, ev),
                "timeout": TIMEOUT_SECS,
            }]}]);
            ((*ev).to_string(), entry)
        })
        .collect();
    let (exe, usage) = (
        quote(&exe.to_string_lossy()),
        quote(&usage.to_string_lossy()),
    );
    let mut status = format!("{exe} statusline {usage}");
    let mut line = serde_json::json!({ "type": "command" });
    if let Some(user) = user_status_line {
        if let Some(cmd) = user["command"].as_str() {
            status.push_str(&format!(" --then {}", quote(cmd)));
        }
        if let Some(p) = user.get("padding") {
            line["padding"] = p.clone();
        }
    }
    line["command"] = format!("{status} 2>/dev/null || true").into();
    let mut s = serde_json::to_string_pretty(&serde_json::json!({
        "hooks": hooks,
        "statusLine": line,
    }))
    .unwrap_or_default();
    s.push('\n');
    s
}

/// `s` quoted for a POSIX shell; `false` (a command that fails) for a string no quoting can
/// carry (a NUL byte).
fn quote(s: &str) -> String {
    shlex::try_quote(s).map_or_else(|_| "false".into(), std::borrow::Cow::into_owned)
}

/// The shell command a hook runs: `exe signal <signals> <event>`, paths shell-quoted, quiet
/// (a hook's stdout may be read by the CLI: added to the conversation, or parsed as a
/// decision) and always exiting 0, whatever happens to `agents` (a hook's exit 2 blocks the
/// prompt or the turn's end, in Claude Code and in Codex alike).
pub fn signal_command(exe: &Path, signals: &Path, event: &str) -> String {
    format!(
        "{} signal {} {event} >/dev/null 2>&1 || true",
        quote(&exe.to_string_lossy()),
        quote(&signals.to_string_lossy())
    )
}

/// The status line the CLI would run without ours (`--settings` wins over every settings
/// file but the managed one): the `statusLine` of a command type from, first found,
/// `<dir>/.claude/settings.local.json`, `<dir>/.claude/settings.json`,
/// `<home>/.claude/settings.json`. A file that cannot be read or parsed is skipped.
pub fn user_status_line(dir: &Path, home: Option<&Path>) -> Option<serde_json::Value> {
    let files = [
        Some(dir.join(".claude/settings.local.json")),
        Some(dir.join(".claude/settings.json")),
        home.map(|h| h.join(".claude/settings.json")),
    ];
    files.into_iter().flatten().find_map(|f| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f).ok()?).ok()?;
        let line = v.get("statusLine")?;
        (line["type"] == "command" && line["command"].is_string()).then(|| line.clone())
    })
}

/// The running `agents` binary, for the hooks to call: `/proc/self/exe`'s target without
/// the ` (deleted)` Linux adds once the file was replaced (a rebuilt binary at the same
/// path). `None` when it cannot be found: the session then starts without hooks.
pub fn current_exe() -> Option<std::path::PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let s = exe.to_string_lossy();
    Some(match s.strip_suffix(" (deleted)") {
        Some(live) => live.into(),
        None => exe,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_runs_the_signal_verb_quoted_quiet_and_never_failing() {
        let s = claude_settings(
            Path::new("/opt/my agents/agents"),
            Path::new("/l/state/signals-t-a.jsonl"),
            Path::new("/l/state/usage-t-a.json"),
            None,
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let hooks = v["hooks"].as_object().unwrap();
        assert_eq!(hooks.len(), EVENTS.len());
        for ev in EVENTS {
            let h = &hooks[*ev][0]["hooks"][0];
            assert_eq!(h["type"], "command");
            assert_eq!(
                h["command"],
                format!(
                    "'/opt/my agents/agents' signal /l/state/signals-t-a.jsonl {ev} >/dev/null 2>&1 || true"
                )
            );
        }
    }

    #[test]
    fn the_hook_command_runs_in_a_shell_and_exits_0_when_the_binary_is_gone() {
        let d = tempfile::tempdir().unwrap();
        let s = claude_settings(
            &d.path().join("missing"),
            &d.path().join("s.jsonl"),
            &d.path().join("u.json"),
            None,
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let cmd = v["hooks"]["Stop"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", cmd])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
        let cmd = v["statusLine"]["command"].as_str().unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", cmd])
            .output()
            .unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
    }

    #[test]
    fn the_status_line_records_usage_then_runs_the_users_own_first_found() {
        let d = tempfile::tempdir().unwrap();
        let (dir, home) = (d.path().join("w"), d.path().join("h"));
        assert_eq!(user_status_line(&dir, Some(&home)), None);
        std::fs::create_dir_all(home.join(".claude")).unwrap();
        std::fs::write(
            home.join(".claude/settings.json"),
            r#"{"statusLine":{"type":"command","command":"echo home","padding":0}}"#,
        )
        .unwrap();
        assert_eq!(
            user_status_line(&dir, Some(&home)).unwrap()["command"],
            "echo home"
        );
        std::fs::create_dir_all(dir.join(".claude")).unwrap();
        std::fs::write(dir.join(".claude/settings.json"), "{ not json").unwrap();
        assert_eq!(
            user_status_line(&dir, Some(&home)).unwrap()["command"],
            "echo home"
        );
        std::fs::write(
            dir.join(".claude/settings.local.json"),
            r#"{"statusLine":{"type":"command","command":"echo 'it''s mine'"}}"#,
        )
        .unwrap();
        let user = user_status_line(&dir, Some(&home)).unwrap();
        assert_eq!(user["command"], "echo 'it''s mine'");
        let s = claude_settings(
            Path::new("/a"),
            Path::new("/s"),
            Path::new("/u"),
            Some(&user),
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let cmd = v["statusLine"]["command"].as_str().unwrap();
        assert_eq!(
            shlex::split(cmd).unwrap()[..5],
            ["/a", "statusline", "/u", "--then", "echo 'it''s mine'"]
        );
        assert_eq!(v["statusLine"].get("padding"), None);
    }
}
