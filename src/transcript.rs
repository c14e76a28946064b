//! Claude Code's transcript (`~/.claude/projects/<dir>/<session id>.jsonl`, named by its
//! `SessionStart` hook's `transcript_path`) as lines a person can follow: what `agents logs
//! NAME` shows for an agent on a `hooks = "claude"` backend, whose screen log holds only
//! the last frame of a full-screen TUI.
//!
//! A transcript line is one JSON record. Read as Claude Code 2.1.330 writes them (a real
//! one: tests/fixtures/transcripts/): `"type": "user"` with `message.content` a string (a
//! typed prompt) or blocks (`text`, `tool_result` with `content` a string or text blocks),
//! `"type": "assistant"` with blocks (`text`, `tool_use` with `name` and `input`,
//! `thinking`), each with an RFC 3339 `timestamp` (UTC). Everything else (attachments,
//! modes, snapshots, API request shapes, `system` turn durations), `isMeta` records,
//! thinking, and text the CLI adds itself (`<system-reminder>`, `<command-…>`,
//! `<local-command-…>`) is left out.
//!
//! A message is rendered as `HH:MM:SS role      text` in local time, one line per line of
//! text, later lines indented under the first: `user`, `assistant`, `error` (an API error
//! the CLI shows as the assistant's message, such as a plan limit), `tool` (`Name: the
//! command, path or pattern it was given`), `result` (its first line and how many more).

use chrono::{DateTime, Local};
use serde_json::Value;

/// The width of the role column.
const ROLE: usize = 9;

/// The most characters of a tool's input summary.
const TOOL_INPUT: usize = 160;

/// The rendered lines of one transcript record (`line`, one JSON object); none for a record
/// that is not a message, or that cannot be read.
pub(crate) fn render(line: &str) -> Vec<String> {
    // Most records are not messages: skip them before parsing.
    if !line.contains("\"message\"") {
        return vec![];
    }
    let Ok(r) = serde_json::from_str::<Value>(line) else {
        return vec![];
    };
    if r["isMeta"] == true {
        return vec![];
    }
    let time = r["timestamp"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(
            || "--:--:--".into(),
            |t| t.with_timezone(&Local).format("%H:%M:%S").to_string(),
        );
    let content = &r["message"]["content"];
    let mut out = vec![];
    let mut push = |role: &str, text: &str| {
        let text = text.trim_end();
        if text.trim().is_empty() || is_cli_text(text) {
            return;
        }
        for (i, l) in text.lines().enumerate() {
            if i == 0 {
                out.push(format!("{time} {role:<ROLE$} {l}"));
            } else if l.trim().is_empty() {
                out.push(String::new());
            } else {
                out.push(format!("{:width$} {l}", "", width = 8 + 1 + ROLE));
            }
        }
    };
    match r["type"].as_str() {
        Some("user") => match content {
            Value::String(s) => push("user", s),
            Value::Array(blocks) => {
                for b in blocks {
                    match b["type"].as_str() {
                        Some("text") => push("user", b["text"].as_str().unwrap_or("")),
                        Some("tool_result") => push("result", &result(&b["content"])),
                        _ => {}
                    }
                }
            }
            _ => {}
        },
        Some("assistant") => {
            let role = if r["isApiErrorMessage"] == true {
                "error"
            } else {
                "assistant"
            };
            for b in content.as_array().into_iter().flatten() {
                match b["type"].as_str() {
                    Some("text") => push(role, b["text"].as_str().unwrap_or("")),
                    Some("tool_use") => push("tool", &tool(b)),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    out
}

/// Text the CLI put into the conversation itself, not a person or the model.
fn is_cli_text(text: &str) -> bool {
    let t = text.trim_start();
    ["<system-reminder>", "<command-", "<local-command-"]
        .iter()
        .any(|p| t.starts_with(p))
}

/// `Name: summary` of a `tool_use` block: the input's command, path, pattern, URL or
/// description when it has one, else its JSON, cut at [`TOOL_INPUT`] characters.
fn tool(b: &Value) -> String {
    let name = b["name"].as_str().unwrap_or("tool");
    let input = &b["input"];
    let summary = [
        "command",
        "file_path",
        "path",
        "pattern",
        "url",
        "description",
    ]
    .iter()
    .find_map(|k| input[*k].as_str().map(str::to_string))
    .unwrap_or_else(|| input.to_string());
    let summary = summary.lines().next().unwrap_or("");
    format!("{name}: {}", cut(summary, TOOL_INPUT))
}

/// A tool result's first line and how many more it has.
fn result(content: &Value) -> String {
    let text = match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("(empty)");
    let more = lines.count();
    if more > 0 {
        format!("{} (+{more} lines)", cut(first, TOOL_INPUT))
    } else {
        cut(first, TOOL_INPUT)
    }
}

fn cut(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders with the time column blanked (it is local time).
    fn shown(line: &str) -> Vec<String> {
        render(line)
            .into_iter()
            .map(|l| match l.get(..8) {
                Some(t)
                    if t.starts_with(|c: char| c.is_ascii_digit())
                        && t.chars().nth(2) == Some(':') =>
                {
                    format!("HH:MM:SS{}", &l[8..])
                }
                _ => l,
            })
            .collect()
    }

    #[test]
    fn a_real_2_1_330_transcript_shows_its_prompts_and_replies_only() {
        let text = include_str!("../tests/fixtures/transcripts/claude_2.1.330_two_turns.jsonl");
        let lines: Vec<String> = text.lines().flat_map(shown).collect();
        assert_eq!(
            lines,
            [
                "HH:MM:SS user      Say hello please",
                "HH:MM:SS assistant Here is a reply.",
                "",
                "                   It has two paragraphs and a list:",
                "                   - one",
                "                   - two",
                "HH:MM:SS user      now a second turn",
                "HH:MM:SS assistant Here is a reply.",
                "",
                "                   It has two paragraphs and a list:",
                "                   - one",
                "                   - two",
            ]
        );
    }

    #[test]
    fn tools_results_errors_and_cli_text() {
        let tool = r#"{"type":"assistant","timestamp":"2026-12-05T07:00:00Z","message":{"content":[
            {"type":"thinking","thinking":"hmm"},
            {"type":"text","text":"Let me look."},
            {"type":"tool_use","id":"t1","name":"Bash","input":{"command":"ls -la\necho hi","description":"List"}}]}}"#;
        assert_eq!(
            shown(tool),
            [
                "HH:MM:SS assistant Let me look.",
                "HH:MM:SS tool      Bash: ls -la"
            ]
        );
        let res = r#"{"type":"user","timestamp":"2026-12-05T07:00:01Z","message":{"content":[
            {"type":"tool_result","tool_use_id":"t1","content":"a\n\nb\nc"}]}}"#;
        assert_eq!(shown(res), ["HH:MM:SS result    a (+2 lines)"]);
        let res = r#"{"type":"user","message":{"content":[{"type":"tool_result","content":[{"type":"text","text":"ok"}]}]}}"#;
        assert_eq!(shown(res), ["--:--:-- result    ok"]);
        let read = r#"{"type":"assistant","message":{"content":[{"type":"tool_use","name":"Read","input":{"file_path":"/w/PLAN.md"}}]}}"#;
        assert_eq!(shown(read), ["--:--:-- tool      Read: /w/PLAN.md"]);
        let other = r#"{"type":"assistant","message":{"content":[{"type":"tool_use","name":"X","input":{"n":1}}]}}"#;
        assert_eq!(shown(other), ["--:--:-- tool      X: {\"n\":1}"]);
        let limit = r#"{"type":"assistant","isApiErrorMessage":true,"error":"rate_limit","message":{"content":[{"type":"text","text":"You've hit your 5-hour limit · resets 2:06pm (UTC)"}]}}"#;
        assert_eq!(
            shown(limit),
            ["--:--:-- error     You've hit your 5-hour limit · resets 2:06pm (UTC)"]
        );
        let meta = r#"{"type":"user","isMeta":true,"message":{"content":"Caveat"}}"#;
        assert!(render(meta).is_empty());
        let cli = r#"{"type":"user","message":{"content":"<command-name>/clear</command-name>"}}"#;
        assert!(render(cli).is_empty());
        assert!(render("not json \"message\"").is_empty());
        assert!(render(r#"{"type":"mode","mode":"normal"}"#).is_empty());
    }
}
