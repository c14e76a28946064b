//! The argv each delivery runs in a new session (SPEC §4). Templates from the config (`bin`,
//! `flags`, `model_flag`, `attach`, ...) are split into words like a shell line *first* and
//! their `{slots}` filled in afterwards, so a quote or `$` in a model name, path or session
//! name stays one literal argument (SPEC defect 12). A word that is shell code (the word
//! after `-c` of `sh`, `bash`, ...) gets each slot value quoted for where it lands in that
//! code (outside quotes, inside '...' or inside "..."), so a value is never run as code.

use std::path::{Path, PathBuf};

use super::LaunchError;
use crate::config::{Backend, Delivery};

/// Everything the launch needs beyond the backend.
#[derive(Debug, Clone)]
pub struct LaunchInputs<'a> {
    /// The tmux session name, the `{session}` of `bin` and of the remote-control flag.
    pub session: &'a str,
    /// The agent's working directory, the `{dir}` of a `ping` backend's `attach`.
    pub dir: &'a Path,
    /// The kickoff file (`state/kickoff-<session>.txt`): the `{kickoff}` of an `exec`
    /// backend's `bin`, the file an `arg` backend's wrapper reads the prompt from.
    pub kickoff_file: &'a Path,
    /// The model to pass (`model_flag`, or `OPENCODE_CONFIG_CONTENT` with `model_env`);
    /// `None`: the backend's default.
    pub model: Option<&'a str>,
    /// The conversation to resume (`resume_flag`), used only when the backend
    /// `supports_resume`.
    pub resume_id: Option<&'a str>,
    /// A `hooks = "claude"` session's hooks file, passed as `--settings <file>`.
    pub settings: Option<&'a Path>,
    /// A `hooks = "codex"` session's hook overrides ([`super::codex_hooks::args`]), put
    /// before the backend's `flags`.
    pub hook_args: &'a [String],
}

/// A command ready for tmux: the argv, and the program to check on PATH (when it can be
/// known before the command runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchCommand {
    /// The whole command line tmux runs, program first (for `arg`: the `sh -c` wrapper).
    pub argv: Vec<String>,
    /// The backend's own program (the first word of `bin` or `attach`) to check with
    /// [`check_program`]; `None` when a `ping` backend's `preamble` runs first.
    pub program: Option<String>,
}

/// `sh` script for arg delivery: the prompt is read from the kickoff file at exec time, so a
/// prompt of any size becomes the last argument without passing through tmux.
const ARG_WRAPPER: &str = r#"k=$1; shift; exec "$@" "$(cat -- "$k")""#;

/// Splits `template` into words and fills `{key}` slots inside each word.
/// A word that is exactly `{key}` for a key in `splice` is replaced by that many words.
pub fn words(template: &str, fields: &[(&str, &str)], splice: &[(&str, &[String])]) -> Vec<String> {
    let split = shlex::split(template)
        .unwrap_or_else(|| template.split_whitespace().map(String::from).collect());
    let mut out = Vec::new();
    for (i, w) in split.iter().enumerate() {
        if let Some((_, ws)) = splice.iter().find(|(k, _)| *w == format!("{{{k}}}")) {
            out.extend(ws.iter().cloned());
        } else if is_shell_code(&split, i) {
            out.push(render_shell(w, fields));
        } else {
            out.push(super::kickoff::render(w, fields));
        }
    }
    out
}

/// Shells whose `-c` argument is code.
const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox"];

/// Whether `words[i]` is the code of a `SHELL [...] -c CODE` (the `-c` may be grouped, as
/// in `-lc` or `-ec`).
fn is_shell_code(words: &[String], i: usize) -> bool {
    let Some(prev) = i.checked_sub(1).map(|j| &words[j]) else {
        return false;
    };
    let is_c = prev.len() > 1
        && prev.starts_with('-')
        && !prev.starts_with("--")
        && prev[1..].chars().all(|c| c.is_ascii_alphabetic())
        && prev.contains('c');
    is_c && words[..i - 1].iter().any(|w| {
        let base = w.rsplit('/').next().unwrap_or(w);
        SHELLS.contains(&base)
    })
}

/// Fills `{key}` slots in shell `code`, each value quoted for the quoting context it lands
/// in, so that it stays one literal word of text whatever it holds.
pub fn render_shell(code: &str, fields: &[(&str, &str)]) -> String {
    #[derive(PartialEq)]
    enum Q {
        None,
        Single,
        Double,
    }
    let mut q = Q::None;
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(c) = rest.chars().next() {
        if c == '{'
            && let Some((k, v)) = fields
                .iter()
                .find(|(k, _)| rest[1..].starts_with(k) && rest[1 + k.len()..].starts_with('}'))
        {
            match q {
                Q::None => out.push_str(&shlex::try_quote(v).unwrap_or_default()),
                Q::Single => out.push_str(&v.replace('\'', "'\\''")),
                Q::Double => {
                    for ch in v.chars() {
                        if matches!(ch, '$' | '`' | '"' | '\\') {
                            out.push('\\');
                        }
                        out.push(ch);
                    }
                }
            }
            rest = &rest[k.len() + 2..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
        match (&q, c) {
            (Q::None, '\'') => q = Q::Single,
            (Q::None, '"') => q = Q::Double,
            (Q::Single, '\'') | (Q::Double, '"') => q = Q::None,
            (Q::None | Q::Double, '\\') => {
                // The next character is escaped: copy it as is.
                if let Some(n) = rest.chars().next() {
                    out.push(n);
                    rest = &rest[n.len_utf8()..];
                }
            }
            _ => {}
        }
    }
    out
}

/// Linux refuses one argument longer than this, with its final NUL (`MAX_ARG_STRLEN`,
/// 32 pages): the program would fail to start with exit 126.
pub const MAX_ARG_BYTES: usize = 128 * 1024;

/// `arg` delivery passes the whole kickoff text as one argument: checks that the kernel
/// will take it. Other systems have no per-argument limit.
///
/// # Errors
///
/// [`LaunchError::ArgTooLong`] (with the fix) when `backend` delivers `text` as one argument
/// and it is [`MAX_ARG_BYTES`] or longer, on Linux.
pub fn check_arg_size(text: &str, backend: &Backend) -> Result<(), LaunchError> {
    if backend.delivery != Delivery::Arg || !cfg!(target_os = "linux") || text.len() < MAX_ARG_BYTES
    {
        return Ok(());
    }
    Err(LaunchError::ArgTooLong {
        bytes: text.len(),
        backend: backend.name.clone(),
    })
}

/// Builds the argv for `backend` (any delivery).
pub fn build(backend: &Backend, inp: &LaunchInputs) -> LaunchCommand {
    let kickoff = inp.kickoff_file.to_string_lossy();
    let model = inp.model.unwrap_or("");
    match backend.delivery {
        Delivery::Exec => {
            let argv = words(
                &backend.bin,
                &[
                    ("kickoff", &kickoff),
                    ("session", inp.session),
                    ("model", model),
                ],
                &[],
            );
            LaunchCommand {
                program: argv.first().cloned(),
                argv,
            }
        }
        Delivery::Arg => {
            let bin = words(&backend.bin, &[], &[]);
            let mut tail = Vec::new();
            if let Some(id) = inp.resume_id.filter(|_| backend.supports_resume) {
                tail.extend(words(&backend.resume_flag, &[("id", id)], &[]));
            }
            if backend.remote_control {
                tail.extend(words(
                    &backend.remote_control_flag,
                    &[("session", inp.session)],
                    &[],
                ));
            }
            if !model.is_empty() {
                tail.extend(words(&backend.model_flag, &[("model", model)], &[]));
            }
            if let Some(file) = inp.settings {
                tail.extend([
                    "--settings".to_string(),
                    file.to_string_lossy().into_owned(),
                ]);
            }
            tail.extend(inp.hook_args.iter().cloned());
            tail.extend(words(&backend.flags, &[], &[]));
            let mut argv = vec![
                "sh".into(),
                "-c".into(),
                ARG_WRAPPER.into(),
                "agents-launch".into(),
                kickoff.into_owned(),
            ];
            let program = bin.first().cloned();
            argv.extend(bin);
            argv.extend(tail);
            LaunchCommand { argv, program }
        }
        Delivery::Ping => {
            let bin = words(&backend.bin, &[], &[]);
            let dir = inp.dir.to_string_lossy();
            let attach = words(
                &backend.attach,
                &[
                    ("bin", &backend.bin),
                    ("server", &backend.server),
                    ("dir", &dir),
                ],
                &[("bin", &bin)],
            );
            let mut argv = Vec::new();
            if backend.model_env && !model.is_empty() {
                let json = serde_json::json!({ "model": model }).to_string();
                argv.extend(["env".to_string(), format!("OPENCODE_CONFIG_CONTENT={json}")]);
            }
            let program = if backend.preamble.trim().is_empty() {
                attach.first().cloned()
            } else {
                // The preamble is a shell snippet by definition (it may set PATH), so the
                // program is only known once it has run.
                argv.extend([
                    "sh".into(),
                    "-c".into(),
                    format!("{}\nexec \"$@\"", backend.preamble),
                    "sh".into(),
                ]);
                None
            };
            argv.extend(attach);
            LaunchCommand { argv, program }
        }
    }
}

/// Checks that `program` can be run from `dir`: a path must exist and be executable; a bare
/// name must be on `PATH`. Returns the program's path.
///
/// # Errors
///
/// [`LaunchError::NoProgram`] for a path that does not exist or is not executable,
/// [`LaunchError::NotOnPath`] for a name not found on `PATH`.
pub fn check_program(program: &str, dir: &Path) -> Result<PathBuf, LaunchError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    which::which_in(program, Some(&path), dir).map_err(|_| {
        if program.contains('/') {
            LaunchError::NoProgram {
                program: program.to_string(),
                dir: dir.to_path_buf(),
            }
        } else {
            LaunchError::NotOnPath {
                program: program.to_string(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EnvOverrides, parse};

    fn backend(extra: &str) -> Backend {
        let text = format!("[defaults]\nsession_prefix='t-'\nlog_dir='l'\n[backend.b]\n{extra}\n");
        parse(Path::new("/tmp/agents.toml"), &text, EnvOverrides::Ignore)
            .unwrap()
            .backends["b"]
            .clone()
    }

    fn inputs(model: Option<&str>) -> LaunchInputs<'_> {
        LaunchInputs {
            session: "t-a",
            dir: Path::new("/w"),
            kickoff_file: Path::new("/l/state/kickoff-t-a.txt"),
            model,
            resume_id: Some("abc"),
            settings: None,
            hook_args: &[],
        }
    }

    #[test]
    fn defect_12_exec_template_values_stay_single_arguments() {
        let b = backend(
            "bin = \"bash ./fake.sh '{kickoff}' '{session}' '{model}'\"\nprompt_delivery = 'exec'",
        );
        let c = build(&b, &inputs(Some("it's $(rm -rf /)")));
        assert_eq!(
            c.argv,
            [
                "bash",
                "./fake.sh",
                "/l/state/kickoff-t-a.txt",
                "t-a",
                "it's $(rm -rf /)"
            ]
        );
        assert_eq!(c.program.as_deref(), Some("bash"));
    }

    #[test]
    fn arg_delivery_reads_prompt_at_exec_and_quotes_flags() {
        let b = backend(
            "bin = 'claude'\nflags = '--dangerously-skip-permissions --x \"a b\"'\nsupports_resume = true\nremote_control = true",
        );
        let c = build(&b, &inputs(Some("opus")));
        assert_eq!(
            &c.argv[..5],
            &[
                "sh",
                "-c",
                ARG_WRAPPER,
                "agents-launch",
                "/l/state/kickoff-t-a.txt"
            ]
        );
        assert_eq!(
            &c.argv[5..],
            &[
                "claude",
                "--resume",
                "abc",
                "--remote-control",
                "t-a",
                "--model",
                "opus",
                "--dangerously-skip-permissions",
                "--x",
                "a b"
            ]
        );
        assert_eq!(c.program.as_deref(), Some("claude"));
    }

    #[test]
    fn ping_delivery_splices_bin_and_wraps_preamble() {
        let b = backend(
            "bin = 'opencode'\nprompt_delivery = 'ping'\nattach = '{bin} attach {server} --dir {dir}'\nserver = 'http://x'\nmodel_env = true",
        );
        let c = build(&b, &inputs(Some("m")));
        assert_eq!(
            c.argv,
            [
                "env",
                "OPENCODE_CONFIG_CONTENT={\"model\":\"m\"}",
                "opencode",
                "attach",
                "http://x",
                "--dir",
                "/w"
            ]
        );
        let b = backend("bin = 'opencode'\nprompt_delivery = 'ping'\npreamble = 'source ~/.env'");
        let c = build(&b, &inputs(None));
        assert_eq!(
            c.argv,
            ["sh", "-c", "source ~/.env\nexec \"$@\"", "sh", "opencode"]
        );
        assert_eq!(c.program, None);
    }

    #[test]
    fn arg_wrapper_passes_file_content_as_last_argument() {
        let d = tempfile::tempdir().unwrap();
        let k = d.path().join("k.txt");
        std::fs::write(&k, "hello 'world' $HOME;\n").unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", ARG_WRAPPER, "x", k.to_str().unwrap(), "printf", "%s|"])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "hello 'world' $HOME;|"
        );
    }

    #[test]
    fn slot_values_in_shell_code_are_quoted_for_their_context() {
        let d = tempfile::tempdir().unwrap();
        let value = "x$(touch F) 'q' \"d\" \\b `touch G` ;";
        let argv = words(
            "sh -c \"printf '%s|' {v} \\\"{v}\\\" '{v}'\"",
            &[("v", value)],
            &[],
        );
        assert_eq!(argv.len(), 3, "{argv:?}");
        let out = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(d.path())
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("{value}|{value}|{value}|"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!d.path().join("F").exists() && !d.path().join("G").exists());
        // Not shell code: the value stays one literal argument, unquoted.
        assert_eq!(words("echo {v}", &[("v", "a b")], &[]), ["echo", "a b"]);
        assert_eq!(words("bash -lc {v}", &[("v", "a b")], &[])[2], "'a b'");
    }

    #[test]
    fn an_arg_prompt_over_the_kernel_limit_is_refused_with_the_fix() {
        let b = backend("bin = 'claude'");
        assert!(check_arg_size(&"x".repeat(MAX_ARG_BYTES - 1), &b).is_ok());
        if cfg!(target_os = "linux") {
            let e = check_arg_size(&"x".repeat(MAX_ARG_BYTES), &b).unwrap_err();
            assert!(matches!(e, LaunchError::ArgTooLong { bytes: 131_072, .. }));
            let e = e.to_string();
            assert!(
                e.contains("131072 bytes") && e.contains("prompt_delivery = \"exec\""),
                "{e}"
            );
        }
        let b = backend("bin = 'x {kickoff}'\nprompt_delivery = 'exec'");
        assert!(check_arg_size(&"x".repeat(MAX_ARG_BYTES * 2), &b).is_ok());
    }
}
