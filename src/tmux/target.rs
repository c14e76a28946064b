//! Exact tmux targets. A bare `-t name` prefix-matches (and fnmatches) in tmux, so
//! `-t myproj-a` could hit `myproj-a2`; `=name` forces an exact session match and `=name:`
//! the current pane of exactly that session.

/// `=name`: exactly this session (has-session, kill-session).
pub fn session(name: &str) -> String {
    format!("={name}")
}

/// `=name:`: the current pane of exactly this session (capture-pane, send-keys, pipe-pane).
pub fn pane(name: &str) -> String {
    format!("={name}:")
}

/// Escapes one argument for tmux's command parser: an argument that ends in `;` would
/// end the command there (tmux `cmd_parse_from_arguments`), so its final `;` is written `\;`.
pub fn arg(s: &str) -> String {
    match s.strip_suffix(';') {
        Some(head) => format!("{head}\\;"),
        None => s.to_string(),
    }
}

/// Escapes text that tmux expands as a format (`new-session -c`, `pipe-pane` commands):
/// `#` is written `##`.
pub fn no_format(s: &str) -> String {
    s.replace('#', "##")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_exact() {
        assert_eq!(session("a-b"), "=a-b");
        assert_eq!(pane("a-b"), "=a-b:");
    }

    #[test]
    fn trailing_semicolon_is_escaped() {
        assert_eq!(arg("echo hi;"), "echo hi\\;");
        assert_eq!(arg(";"), "\\;");
        assert_eq!(arg("a\\;"), "a\\\\;");
        assert_eq!(arg("a;b"), "a;b");
    }
}
