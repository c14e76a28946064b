//! The per-launch hooks of a `hooks = "gemini"` backend (Gemini CLI; read in and run with
//! 0.61.0's bundle, tests/e2e/gemini).
//!
//! **How they reach the CLI.** Gemini CLI 0.61.0 has no flag for a settings file. It reads,
//! lowest first, its schema's defaults, the system defaults, the user's
//! `~/.gemini/settings.json`, the project's `.gemini/settings.json` (a trusted folder only)
//! and the system settings; `hooks.<Event>` arrays are concatenated across them (merge
//! strategy `concat`), other keys replaced. `GEMINI_CLI_SYSTEM_SETTINGS_PATH` (highest
//! precedence, and it *replaces* `/etc/gemini-cli/settings.json`) and
//! `GEMINI_CLI_SYSTEM_DEFAULTS_PATH` (lowest, replacing `system-defaults.json`) would carry
//! them, but 0.61.0 skips such a file unless it and every directory above it are owned by
//! root and writable by no one else ("Security Warning: Skipping system settings file …:
//! Parent directory '/tmp' is insecure"): no use to a fleet run by a user. What is left is
//! `GEMINI_CLI_HOME`, the home the CLI reads `.gemini/` (and `.env`) from: each launch gets
//! `log_dir/state/gemini-home-<session>/` ([`prepare`]) whose `.gemini/settings.json` is the
//! user's own settings plus our hooks (appended to theirs, which keep running), and whose
//! every other entry (`oauth_creds.json`, `trustedFolders.json`, `tmp/` with the chats,
//! `GEMINI.md`, extensions, …) is a symbolic link to the user's. Nothing of the user's is
//! written: the system settings and the project's stay where they are, with their precedence.
//! Left: a setting changed from inside an agent's session (`/settings`, `/theme`) lands in the
//! copy and is gone at the next launch; a `~` in a setting means the per-launch home.
//!
//! **What runs.** Each hook runs `agents signal <signals file> <Event>` (0.61.0 runs a command
//! hook through `bash -c` with the JSON input on stdin; the paths are shell-quoted, nothing of
//! the input reaches the command line). 0.61.0 reads a hook's stdout, or its stderr when stdout
//! is empty, as JSON or else as a `systemMessage` shown to the user; exit 2 and above denies
//! the action: so the command prints nothing on either and always exits 0. Measured with
//! 0.61.0 (2026-12-06): from `BeforeAgent` to the turn's end its spinner carries the last
//! hook's name, " ⠋ Executing Hook: agents-signal (esc to cancel, 0s)" (work, as it is); when
//! the turn ends it runs `AfterAgent`, draws " ⠋ Executing Hooks: agents-signal, agents-signal
//! (esc to cancel, 0s)" for a few ms to tens of ms, then "  Executing Hooks: agents-signal,
//! agents-signal" with no timer (not read as work) for 3 s. After a limit chooser answered
//! "Stop" that short tail is no resume ([`crate::supervise::limit::ANSWER_TAIL`]). Hooks run
//! only in a trusted folder (with folder trust on), and not at all when the user set
//! `hooksConfig.enabled = false` (left as they chose; the screen then decides alone).
//!
//! **What 0.61.0 fired** against the loopback mock (tests/e2e/gemini): `SessionStart`
//! (`source: "startup"`, `session_id`, `transcript_path` of its chat file) at start;
//! `BeforeAgent` (with the `prompt`, not recorded) when it takes a prompt, the `-i` kickoff
//! included; `BeforeTool`, then `Notification` (`notification_type: "ToolPermission"`,
//! `message: "Tool Confirm Shell Command requires execution"`) when a tool waits for a
//! person's approval, `AfterTool`; `AfterAgent` (`prompt_response`) when the turn ends;
//! `SessionEnd` (`reason: "exit"`, twice) at exit. A per-minute quota retried silently fires
//! nothing until the turn's `AfterAgent`; a daily quota fires nothing either: its chooser
//! draws no `Notification`, and after "Stop" `AfterAgent` says `"[no response text]"` with
//! no error: no hook names a limit (the screen does). `BeforeModel`/`AfterModel` (each chunk,
//! with the whole request) and `PreCompress` (before every turn, `trigger: "auto"`) are not
//! subscribed, nor the tool events (the screen shows a running tool).
//!
//! **Meaning** ([`crate::detect::with_hook`]): `BeforeAgent` is Claude Code's
//! `UserPromptSubmit` (a prompt taken: `active`), `Notification` of type `ToolPermission`
//! its permission prompt (`dialog`), `AfterAgent` its Stop (the turn ended: the screen
//! decides).

use std::path::{Path, PathBuf};

/// The hook events the settings subscribe to (Gemini CLI 0.61.0 names).
pub const EVENTS: &[&str] = &[
    "SessionStart",
    "BeforeAgent",
    "AfterAgent",
    "Notification",
    "SessionEnd",
];

/// The environment variable that names the home Gemini CLI reads `.gemini/` from.
pub const HOME_VAR: &str = "GEMINI_CLI_HOME";

/// The name our hooks carry: what 0.61.0 shows while one runs ("Executing Hook:
/// agents-signal"), and what a user lists in `hooksConfig.disabled` to turn them off.
pub const HOOK_NAME: &str = "agents-signal";

/// Milliseconds Gemini CLI gives a hook before it kills it (its unit; ours takes
/// milliseconds; 0.61.0's default is 60 000).
const TIMEOUT_MS: u32 = 10_000;

/// What 0.61.0 replaces in a hook's command before the shell sees it, even inside quotes.
const EXPANDED: &[&str] = &[
    "$GEMINI_PROJECT_DIR",
    "$GEMINI_CWD",
    "$GEMINI_PLANS_DIR",
    "$GEMINI_SESSION_ID",
    "$CLAUDE_PROJECT_DIR",
];

/// Top-level entries of the user's home that Gemini CLI 0.61.0 reads besides `.gemini/`
/// (`~/.env`, `~/.agents/skills`): linked into the per-launch home too.
const HOME_ENTRIES: &[&str] = &[".env", ".agents"];

/// The settings JSON (pretty, final newline): the user's settings `user` (the text of their
/// `settings.json`, comments allowed as Gemini CLI allows them; `None` or blank: none) with,
/// for each of [`EVENTS`], a command hook running `exe signal <signals> <Event>` appended
/// to the event's array.
///
/// # Errors
///
/// A message naming what is wrong: the user's settings are not a JSON object, their `hooks`
/// is not an object or an event's entry not an array (Gemini CLI would not load them
/// either), or a path holds a variable 0.61.0 would expand in the command.
pub fn settings(user: Option<&str>, exe: &Path, signals: &Path) -> Result<String, String> {
    let text = strip_comments(user.unwrap_or(""));
    let mut root: serde_json::Value = if text.trim().is_empty() {
        serde_json::json!({})
    } else {
        serde_json::from_str(&text).map_err(|e| format!("it is not JSON: {e}"))?
    };
    for (what, p) in [("the agents path", exe), ("the signals path", signals)] {
        shlex::try_quote(&p.to_string_lossy()).map_err(|e| format!("{what}: {e}"))?;
    }
    let (exe_text, signals_text) = (exe.to_string_lossy(), signals.to_string_lossy());
    if let Some(v) = EXPANDED
        .iter()
        .find(|v| exe_text.contains(*v) || signals_text.contains(*v))
    {
        return Err(format!(
            "a path holds {v}, which Gemini CLI would replace in the hook's command"
        ));
    }
    let obj = root.as_object_mut().ok_or("it is not a JSON object")?;
    let hooks = obj
        .entry("hooks")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .ok_or("its `hooks` is not an object")?;
    for ev in EVENTS {
        let list = hooks
            .entry(*ev)
            .or_insert_with(|| serde_json::json!([]))
            .as_array_mut()
            .ok_or_else(|| format!("its `hooks.{ev}` is not an array"))?;
        list.push(serde_json::json!({ "hooks": [{
            "name": HOOK_NAME,
            "type": "command",
            "command": super::hooks::signal_command(exe, signals, ev),
            "timeout": TIMEOUT_MS,
        }]}));
    }
    let mut s = serde_json::to_string_pretty(&root).unwrap_or_default();
    s.push('\n');
    Ok(s)
}

/// `text` without its `//` and `/* */` comments outside strings (their line breaks kept, a
/// block comment's text as spaces), as Gemini CLI 0.61.0 reads `settings.json` (strip-json-comments).
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    out.push(if n == '\n' { '\n' } else { ' ' });
                    prev = n;
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The home Gemini CLI would read without us: `GEMINI_CLI_HOME` when set and not empty,
/// else `HOME` (the values given).
pub fn user_home(cli_home: Option<&str>, home: Option<&str>) -> Option<PathBuf> {
    cli_home
        .filter(|h| !h.is_empty())
        .or(home.filter(|h| !h.is_empty()))
        .map(PathBuf::from)
}

/// Writes the per-launch home `home` for a CLI started in `dir`: `.gemini/settings.json`
/// from the user's (`user/.gemini/settings.json`, see [`settings`]), and a symbolic link
/// to every other entry of `user/.gemini` and to `user/.env`, `user/.agents`; an entry the
/// CLI created in `home` before (the user had none then) is left. The user's files are
/// only read.
///
/// # Errors
///
/// A message naming the file: the user's settings cannot be read or used ([`settings`]),
/// `dir` is the user's home (0.61.0 would read their settings a second time as the
/// project's, running their hooks twice), or `home` cannot be written.
pub fn prepare(
    user: &Path,
    home: &Path,
    dir: &Path,
    exe: &Path,
    signals: &Path,
) -> Result<(), String> {
    let same = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .is_some_and(|a| Some(a) == b.canonicalize().ok())
    };
    if same(dir, user) {
        return Err(format!(
            "the agent's dir {} is the user's home, which Gemini CLI would read as a project too",
            dir.display()
        ));
    }
    let gemini = user.join(".gemini");
    let theirs = gemini.join("settings.json");
    let text = match std::fs::read_to_string(&theirs) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", theirs.display())),
    };
    let ours = settings(text.as_deref(), exe, signals)
        .map_err(|e| format!("{}: {e}", theirs.display()))?;
    let dot = home.join(".gemini");
    let io = |what: &Path, e: std::io::Error| format!("cannot write {}: {e}", what.display());
    std::fs::create_dir_all(&dot).map_err(|e| io(&dot, e))?;
    let file = dot.join("settings.json");
    crate::state::atomic::write(&file, ours.as_bytes()).map_err(|e| io(&file, e))?;
    let mut links: Vec<(PathBuf, PathBuf)> = HOME_ENTRIES
        .iter()
        .map(|n| (user.join(n), home.join(n)))
        .collect();
    if let Ok(entries) = std::fs::read_dir(&gemini) {
        links.extend(
            entries
                .flatten()
                .filter(|e| e.file_name() != "settings.json")
                .map(|e| (e.path(), dot.join(e.file_name()))),
        );
    }
    for (target, link) in links {
        if std::fs::symlink_metadata(&target).is_err() {
            continue;
        }
        match std::fs::symlink_metadata(&link) {
            Ok(m) if !m.file_type().is_symlink() => continue,
            Ok(_) if std::fs::read_link(&link).is_ok_and(|t| t == target) => continue,
            Ok(_) => std::fs::remove_file(&link).map_err(|e| io(&link, e))?,
            Err(_) => {}
        }
        std::os::unix::fs::symlink(&target, &link).map_err(|e| io(&link, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook<'a>(v: &'a serde_json::Value, ev: &str) -> &'a serde_json::Value {
        let list = v["hooks"][ev].as_array().unwrap();
        &list[list.len() - 1]["hooks"][0]
    }

    #[test]
    fn each_event_runs_the_signal_verb_quoted_quiet_and_after_the_users_own_hooks() {
        let user = r#"{
          // the user's own settings, comments and all
          "ui": {"theme": "Default"}, /* kept */
          "tools": {"shell": {"pager": "cat // not a comment"}},
          "hooks": {"AfterAgent": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}
        }"#;
        let s = settings(
            Some(user),
            Path::new("/opt/my agents/agents"),
            Path::new("/l/state/signals-t-a.jsonl"),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["ui"]["theme"], "Default");
        assert_eq!(v["tools"]["shell"]["pager"], "cat // not a comment");
        for ev in EVENTS {
            let h = hook(&v, ev);
            assert_eq!(h["type"], "command");
            assert_eq!(h["name"], HOOK_NAME);
            assert_eq!(h["timeout"], TIMEOUT_MS);
            assert_eq!(
                h["command"],
                format!(
                    "'/opt/my agents/agents' signal /l/state/signals-t-a.jsonl {ev} >/dev/null 2>&1 || true"
                )
            );
        }
        // The user's own hook still runs, before ours.
        assert_eq!(v["hooks"]["AfterAgent"].as_array().unwrap().len(), 2);
        assert_eq!(
            v["hooks"]["AfterAgent"][0]["hooks"][0]["command"],
            "notify-send done"
        );
        // No settings file: the hooks alone.
        let v: serde_json::Value =
            serde_json::from_str(&settings(None, Path::new("/a"), Path::new("/s")).unwrap())
                .unwrap();
        assert_eq!(v.as_object().unwrap().len(), 1);
        assert_eq!(v["hooks"].as_object().unwrap().len(), EVENTS.len());
    }

    #[test]
    fn settings_gemini_would_not_load_are_refused_with_the_reason() {
        let (a, s) = (Path::new("/a"), Path::new("/s"));
        assert!(
            settings(Some("{ not json"), a, s)
                .unwrap_err()
                .contains("not JSON")
        );
        assert!(
            settings(Some("[1]"), a, s)
                .unwrap_err()
                .contains("not a JSON object")
        );
        assert!(
            settings(Some(r#"{"hooks": 1}"#), a, s)
                .unwrap_err()
                .contains("`hooks` is not an object")
        );
        assert!(
            settings(Some(r#"{"hooks": {"BeforeAgent": {}}}"#), a, s)
                .unwrap_err()
                .contains("`hooks.BeforeAgent` is not an array")
        );
        assert!(
            settings(None, Path::new("/x/$GEMINI_CWD/agents"), s)
                .unwrap_err()
                .contains("$GEMINI_CWD")
        );
    }

    #[test]
    fn the_hook_command_runs_in_a_shell_prints_nothing_and_exits_0_when_the_binary_is_gone() {
        let d = tempfile::tempdir().unwrap();
        let s = settings(None, &d.path().join("missing"), &d.path().join("s.jsonl")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        let cmd = hook(&v, "AfterAgent")["command"].as_str().unwrap();
        let out = std::process::Command::new("bash")
            .args(["-c", cmd])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    }

    #[test]
    fn comments_go_strings_stay() {
        assert_eq!(
            strip_comments("{\"a\": \"//x /*y*/ \\\"q\"} // c\n/* d\n e */1"),
            "{\"a\": \"//x /*y*/ \\\"q\"} \n  \n    1"
        );
    }

    #[test]
    fn the_users_home_is_gemini_cli_home_first() {
        assert_eq!(user_home(Some("/g"), Some("/h")), Some(PathBuf::from("/g")));
        assert_eq!(user_home(Some(""), Some("/h")), Some(PathBuf::from("/h")));
        assert_eq!(user_home(None, None), None);
    }

    #[test]
    fn the_launch_home_links_the_users_files_and_never_writes_them() {
        let d = tempfile::tempdir().unwrap();
        let (user, home, dir) = (d.path().join("u"), d.path().join("h"), d.path().join("w"));
        std::fs::create_dir_all(user.join(".gemini/tmp")).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        let mine = r#"{"security": {"auth": {"selectedType": "oauth-personal"}}}"#;
        std::fs::write(user.join(".gemini/settings.json"), mine).unwrap();
        std::fs::write(user.join(".gemini/oauth_creds.json"), "{}").unwrap();
        std::fs::write(user.join(".env"), "X=1").unwrap();
        let (exe, sig) = (Path::new("/a"), Path::new("/s"));
        prepare(&user, &home, &dir, exe, sig).unwrap();
        let v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(home.join(".gemini/settings.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(v["security"]["auth"]["selectedType"], "oauth-personal");
        assert_eq!(hook(&v, "BeforeAgent")["name"], HOOK_NAME);
        for (link, target) in [
            (".gemini/oauth_creds.json", ".gemini/oauth_creds.json"),
            (".gemini/tmp", ".gemini/tmp"),
            (".env", ".env"),
        ] {
            assert_eq!(
                std::fs::read_link(home.join(link)).unwrap(),
                user.join(target)
            );
        }
        assert!(!home.join(".agents").exists());
        // Again (a restart): the same, and what the CLI created there is left.
        std::fs::write(home.join(".gemini/installation_id"), "id").unwrap();
        prepare(&user, &home, &dir, exe, sig).unwrap();
        assert_eq!(
            std::fs::read_to_string(home.join(".gemini/installation_id")).unwrap(),
            "id"
        );
        assert_eq!(
            std::fs::read_to_string(user.join(".gemini/settings.json")).unwrap(),
            mine
        );
        // An agent started in the user's home: refused (its settings would load twice).
        let e = prepare(&user, &home, &user, exe, sig).unwrap_err();
        assert!(e.contains("is the user's home"), "{e}");
        // Settings Gemini would not load: refused, naming the file.
        std::fs::write(user.join(".gemini/settings.json"), "{ nope").unwrap();
        let e = prepare(&user, &home, &dir, exe, sig).unwrap_err();
        assert!(e.contains("settings.json: it is not JSON"), "{e}");
    }
}
