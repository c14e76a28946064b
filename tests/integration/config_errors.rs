//! What a user sees when something is wrong (SPEC §1, §3, §5, §9): config errors name the
//! file, the line and column, the key and what would be valid; every error is reported at
//! once; verbs refuse an invalid config without touching tmux; a missing prompt file or
//! program stops only its own agent; drop-in compatibility with the original's configs.

use std::path::{Path, PathBuf};

use crate::util::*;

// ── helpers ──────────────────────────────────────────────────────────────────────────────

/// A valid config: `[defaults]` with `prefix`, one backend `b` (`bin = "true"`), then `body`.
fn basic(prefix: &str, body: &str) -> String {
    format!(
        "[defaults]\nsession_prefix = \"{prefix}\"\nlog_dir = \".agents\"\nbackend = \"b\"\n\n\
         [backend.b]\nbin = \"true\"\n\n{body}"
    )
}

/// Two phases `p1`, `p2` under `[loop]`.
const TWO_PHASES: &str = "[loop]\nphases = [\n  { id = \"p1\", plan = \"plans/p1.md\", status = \"STATUS-p1.md\" },\n  { id = \"p2\", plan = \"plans/p2.md\", status = \"STATUS-p2.md\" },\n]\n";

/// Runs a prepared command; returns (exit code, stdout, stderr).
fn output(c: &mut assert_cmd::Command) -> (i32, String, String) {
    let out = c.output().expect("run agents");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The config path as the program names it (found from the canonical working directory).
fn cfg_path(t: &TestEnv) -> PathBuf {
    t.path().canonicalize().unwrap().join("agents.toml")
}

/// 1-based (line, column) of the first occurrence of `needle` in `text` (ASCII text).
fn pos(text: &str, needle: &str) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the config"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// `<path>:<line>:<col>: ` of `needle` in the config `text` written by `t.config`.
fn loc(t: &TestEnv, text: &str, needle: &str) -> String {
    let (line, col) = pos(text, needle);
    format!("{}:{line}:{col}: ", cfg_path(t).display())
}

/// The rendered problem that starts with `head` (its message line, source snippet and help),
/// up to the next problem; panics with the whole stderr when there is none.
fn problem<'a>(stderr: &'a str, head: &str) -> &'a str {
    let start = stderr
        .find(head)
        .unwrap_or_else(|| panic!("no problem at {head:?} in stderr:\n{stderr}"));
    let rest = &stderr[start..];
    let end = rest[1..]
        .find("\n/")
        .or_else(|| rest[1..].find("\n[agents "))
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

fn assert_no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "the program panicked:\n{stderr}"
    );
}

/// Runs `args` expecting a config error; returns stderr.
fn config_error(t: &TestEnv, args: &[&str]) -> String {
    let (code, out, err) = t.run(args);
    assert_eq!(
        code,
        1,
        "`agents {}` should fail with 1\nstdout:\n{out}\nstderr:\n{err}",
        args.join(" ")
    );
    assert_no_panic(&err);
    err
}

/// Finds `name` on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Copies directory `from` into `to` (files keep their permissions; directories are new).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name();
        // A state directory left by someone running the baseline demo is not part of it.
        if name == ".ao-state" {
            continue;
        }
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(&name));
        } else {
            std::fs::copy(e.path(), to.join(&name)).unwrap();
        }
    }
}

/// The status table row of `name` (stdout of `status`).
fn row<'a>(table: &'a str, name: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
}

// ── 1–3: finding the config ──────────────────────────────────────────────────────────────

#[test]
fn no_config_found_says_where_it_looked_and_suggests_init() {
    let t = TestEnv::new();
    let cwd = t.path().canonicalize().unwrap();
    assert!(
        cwd.ancestors().all(|d| !d.join("agents.toml").exists()),
        "an agents.toml exists above the temp dir; this test needs none"
    );
    let (code, out, err) = t.run(&["status"]);
    assert_eq!(code, 1, "stdout:\n{out}\nstderr:\n{err}");
    assert_no_panic(&err);
    assert!(err.contains("no agents.toml found"), "{err}");
    // Every place it looked, from the working directory up to the root.
    for d in cwd.ancestors() {
        assert!(
            err.contains(&d.join("agents.toml").display().to_string()),
            "does not say it looked in {}:\n{err}",
            d.display()
        );
    }
    assert!(
        err.contains("agents init"),
        "no hint to run `agents init`:\n{err}"
    );
    assert!(err.contains("--config"), "{err}");
}

#[test]
fn config_flag_naming_a_missing_file_names_the_path() {
    let t = TestEnv::new();
    t.config(&basic("cf-", "")); // discovery would find this one: --config must win
    let missing = t.path().join("nowhere/other.toml");
    let (code, _, err) = t.run(&["status", "--config", missing.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert_no_panic(&err);
    assert!(
        err.contains(&format!("{} (--config) does not exist", missing.display())),
        "{err}"
    );

    // The same through $AGENTS_CONFIG.
    let (code, _, err) = output(t.cmd().env("AGENTS_CONFIG", &missing).arg("status"));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{} ($AGENTS_CONFIG) does not exist",
            missing.display()
        )),
        "{err}"
    );
}

#[test]
fn config_flag_as_last_argument_is_a_usage_error_and_works_before_the_verb() {
    let t = TestEnv::new();
    // SPEC defect 5: `--config` as the last argument crashed the original.
    let (code, out, err) = t.run(&["status", "--config"]);
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    assert_no_panic(&err);
    assert!(err.contains("--config"), "{err}");
    assert!(err.contains("a value is required"), "{err}");

    // `--config FILE` before the verb (and `--config=FILE`), from a directory that has no
    // agents.toml of its own.
    let cfg = t.write(
        "conf/fleet.toml",
        &basic("cb-", "[[agent]]\nname = \"solo\"\n"),
    );
    let cfg = cfg.to_str().unwrap();
    let joined = format!("--config={cfg}");
    for args in [
        vec!["--config", cfg, "status"],
        vec![joined.as_str(), "status"],
        vec!["-q", "--config", cfg, "status", "--json"],
    ] {
        let (code, out, err) = t.run(&args);
        // Nothing runs: status exits 3 (an enabled agent is stopped), not 1 (an error).
        assert_eq!(code, 3, "{args:?}\nstderr:\n{err}");
        assert!(
            out.contains("solo"),
            "{args:?}: the config was not used:\n{out}"
        );
    }
}

// ── 4–10: one error class each ───────────────────────────────────────────────────────────

#[test]
fn toml_syntax_error_names_file_line_and_column() {
    let t = TestEnv::new();
    let text = "[defaults]\nsession_prefix = \"sx-\"\nlog_dir = \".agents\"\nmodel = claude\n";
    t.config(text);
    let err = config_error(&t, &["status"]);
    // `claude` (unquoted) is on line 4, column 9.
    let head = format!("{}:4:9: ", cfg_path(&t).display());
    let p = problem(&err, &head);
    assert!(p.contains("TOML"), "{p}");
    assert!(
        p.contains("model = claude"),
        "the source line is not shown:\n{p}"
    );
    assert!(p.contains("^^^^^^"), "no caret under the value:\n{p}");
}

#[test]
fn missing_session_prefix_and_log_dir_are_both_reported() {
    let t = TestEnv::new();
    t.config(
        "[defaults]\nbackend = \"b\"\n\n[backend.b]\nbin = \"true\"\n\n[[agent]]\nname = \"a\"\n",
    );
    let err = config_error(&t, &["status"]);
    let path = cfg_path(&t).display().to_string();
    assert!(err.contains(&format!("{path} has 2 errors")), "{err}");
    let p = problem(
        &err,
        &format!("{path}: [defaults] session_prefix is required"),
    );
    assert!(
        p.contains("session_prefix = "),
        "no example of a valid value:\n{p}"
    );
    let p = problem(&err, &format!("{path}: [defaults] log_dir is required"));
    assert!(
        p.contains("log_dir = "),
        "no example of a valid value:\n{p}"
    );
}

#[test]
fn unknown_backend_names_agent_bad_name_and_known_backends() {
    let t = TestEnv::new();
    let text = basic(
        "ub-",
        "[backend.codex]\nbin = \"codex\"\n\n[[agent]]\nname = \"ok\"\n\n[[agent]]\nname = \"typo\"\nbackend = \"gamma\"\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    let p = problem(&err, &loc(&t, &text, "\"gamma\""));
    assert!(p.contains("\"typo\""), "does not name the agent:\n{p}");
    assert!(p.contains("backend \"gamma\" is not defined"), "{p}");
    assert!(
        p.contains("known backends: b, codex"),
        "does not list the known backends:\n{p}"
    );
    assert!(err.contains("has 1 error"), "{err}");
}

#[test]
fn a_wake_interval_below_the_floor_is_refused_at_its_line() {
    for interval in ["0", "0.01", "9.5"] {
        let t = TestEnv::new();
        let text = basic(
            "wf-",
            &format!(
                "[[agent]]\nname = \"a\"\nwake = {{ interval = {interval}, prompt_file = \"w.md\" }}\n"
            ),
        );
        t.config(&text);
        let err = config_error(&t, &["status"]);
        let p = problem(&err, &loc(&t, &text, &format!("{interval}, prompt_file")));
        assert!(
            p.contains("[[agent]] \"a\""),
            "does not name the agent:\n{p}"
        );
        assert!(p.contains("wake interval"), "does not name the key:\n{p}");
        assert!(p.contains(">= 10"), "does not name the floor:\n{p}");
        assert!(
            p.contains("min_wake_interval"),
            "does not name the fix:\n{p}"
        );
    }
    // At the floor, or with the floor lowered on purpose, the config loads.
    let t = TestEnv::new();
    t.config(&basic(
        "wf-",
        "[[agent]]\nname = \"a\"\nwake = { interval = 10, prompt_file = \"w.md\" }\n",
    ));
    assert_eq!(t.run(&["down"]).0, 0);
    let t = TestEnv::new();
    t.config(&basic(
        "wf-",
        "[watchdog]\nmin_wake_interval = 5\n\n[[agent]]\nname = \"a\"\nwake = { interval = 5, prompt_file = \"w.md\" }\n",
    ));
    assert_eq!(t.run(&["down"]).0, 0);
    // The floor itself has a floor.
    let t = TestEnv::new();
    let text = basic("wf-", "[watchdog]\nmin_wake_interval = 0\n");
    t.config(&text);
    let err = config_error(&t, &["status"]);
    let p = problem(&err, &loc(&t, &text, "0\n"));
    assert!(p.contains("min_wake_interval"), "{p}");
}

#[test]
fn invalid_regex_names_backend_key_and_regex_error() {
    let t = TestEnv::new();
    let text = basic(
        "rx-",
        "[backend.claude]\nbin = \"claude\"\nactive_re = \"(unclosed\"\n\n[[agent]]\nname = \"a\"\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    let p = problem(&err, &loc(&t, &text, "\"(unclosed\""));
    assert!(
        p.contains("[backend.claude]"),
        "does not name the backend:\n{p}"
    );
    assert!(p.contains("active_re"), "does not name the key:\n{p}");
    assert!(
        p.contains("unclosed group"),
        "does not show the regex error:\n{p}"
    );
}

/// Issue 14 item 4: an `answers` entry whose regex does not compile is named by its index
/// and key; an unknown key in an entry is refused.
#[test]
fn bad_answers_name_the_entry_and_key() {
    let t = TestEnv::new();
    let text = basic(
        "an-",
        "[backend.x]\nbin = \"x\"\nanswers = [{ when = \"trust\", choose = \"Yes\" }, { when = \"a\", choose = \"(unclosed\" }]\n\n\
         [backend.y]\nbin = \"y\"\nanswers = [{ when = \"a\", pick = \"b\" }]\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    assert!(
        err.contains("answers[1].choose is not a valid regex"),
        "{err}"
    );
    assert!(err.contains("pick"), "the unknown key is not named: {err}");
}

/// Issue 14: `hooks` takes `none` or `claude`, and `claude` only on an `arg` backend (the
/// hooks reach the CLI as `--settings <file>` on its command line).
#[test]
fn bad_hooks_list_the_valid_values_and_claude_hooks_need_arg_delivery() {
    let t = TestEnv::new();
    let text = basic(
        "hk-",
        "[backend.x]\nbin = \"x\"\nhooks = \"claud\"\n\n\
         [backend.tui]\nbin = \"tui {kickoff}\"\nprompt_delivery = \"exec\"\nhooks = \"claude\"\n\n\
         [[agent]]\nname = \"w\"\nbackend = \"tui\"\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    assert!(err.contains("has 2 errors"), "{err}");
    let p = problem(&err, &loc(&t, &text, "\"claud\""));
    assert!(p.contains("[backend.x]") && p.contains("hooks"), "{p}");
    assert!(
        p.contains("none, claude"),
        "does not list the valid values:\n{p}"
    );
    let p = problem(&err, &loc(&t, &text, "\"claude\"\n"));
    assert!(
        p.contains("[backend.tui]") && p.contains("prompt_delivery = \"arg\""),
        "{p}"
    );
}

#[test]
fn bad_prompt_delivery_and_bad_watch_list_the_valid_values() {
    let t = TestEnv::new();
    let text = basic(
        "pd-",
        "[backend.tui]\nbin = \"tui\"\nprompt_delivery = \"pong\"\n\n[[agent]]\nname = \"w\"\nwatch = \"always\"\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    assert!(err.contains("has 2 errors"), "{err}");
    let p = problem(&err, &loc(&t, &text, "\"pong\""));
    assert!(
        p.contains("[backend.tui]") && p.contains("prompt_delivery"),
        "{p}"
    );
    assert!(
        p.contains("arg, ping, exec"),
        "does not list the valid values:\n{p}"
    );
    let p = problem(&err, &loc(&t, &text, "\"always\""));
    assert!(p.contains("\"w\"") && p.contains("watch"), "{p}");
    assert!(
        p.contains("none, heal, heal+stall"),
        "does not list the valid values:\n{p}"
    );
}

#[test]
fn duplicate_agent_names_are_an_error() {
    let t = TestEnv::new();
    let text = basic(
        "dn-",
        "[[agent]]\nname = \"twin\"\n\n[[agent]]\nname = \"other\"\n\n[[agent]]\nname = \"twin\" # again\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    // Reported at the second `twin`.
    let p = problem(&err, &loc(&t, &text, "\"twin\" # again"));
    assert!(p.contains("\"twin\" is used twice"), "{p}");
    assert!(p.contains("unique"), "{p}");
}

#[test]
fn session_names_tmux_cannot_take_explain_the_allowed_characters() {
    let t = TestEnv::new();
    let text = basic(
        "sn-",
        "[[agent]]\nname = \"dotted\"\nsession = \"bad.name\"\n\n[[agent]]\nname = \"x:y\"\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    assert!(err.contains("has 2 errors"), "{err}");
    for (needle, session) in [("\"bad.name\"", "bad.name"), ("\"x:y\"", "sn-x:y")] {
        let p = problem(&err, &loc(&t, &text, needle));
        assert!(
            p.contains(&format!(
                "session \"{session}\" cannot be a tmux session name"
            )),
            "{p}"
        );
        assert!(
            p.contains("'.'") && p.contains("':'") && p.contains("letters, digits"),
            "does not explain the allowed characters:\n{p}"
        );
    }
}

// ── 11: all errors at once, every verb refuses ───────────────────────────────────────────

#[test]
fn three_errors_reported_at_once_and_every_verb_refuses_without_touching_tmux() {
    let t = TestEnv::new();
    let text = basic(
        "te-",
        "[backend.c]\nbin = \"c\"\nlimit_re = \"[oops\"\n\n\
         [[agent]]\nname = \"a1\"\nbackend = \"nope\"\n\n\
         [[agent]]\nname = \"a2\"\nwatch = \"sometimes\"\n",
    );
    t.config(&text);
    // A session of this fleet, started behind its back: `down` must not kill it either.
    t.tmux(&["new-session", "-d", "-s", "te-a2", "sleep 300"]);
    assert_eq!(t.sessions(), ["te-a2"]);

    let mut first: Option<String> = None;
    for args in [
        &["status"][..],
        &["up"],
        &["down"],
        &["phase", "show"],
        &["up", "a1"],
        &["logs", "a1", "--no-follow"],
    ] {
        let err = config_error(&t, args);
        assert!(
            err.contains(&format!("{} has 3 errors", cfg_path(&t).display())),
            "{args:?}:\n{err}"
        );
        problem(&err, &loc(&t, &text, "\"[oops\""));
        problem(&err, &loc(&t, &text, "\"nope\""));
        problem(&err, &loc(&t, &text, "\"sometimes\""));
        match &first {
            None => first = Some(err),
            Some(f) => assert_eq!(&err, f, "`{args:?}` reports other errors than `status`"),
        }
        assert_eq!(t.sessions(), ["te-a2"], "`{args:?}` touched tmux");
    }
    assert!(
        !t.path().join(".agents/state").exists(),
        "state was written for an invalid config"
    );
}

#[test]
fn type_errors_are_reported_together_with_the_other_errors() {
    let t = TestEnv::new();
    let text = basic(
        "ty-",
        "[watchdog]\nsignal_interval = \"fast\"\n\n\
         [[agent]]\nname = \"a1\"\nbackend = \"nope\"\n\n\
         [[agent]]\nname = \"a2\"\nenabled = \"yes\"\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    let p = problem(&err, &loc(&t, &text, "\"fast\""));
    assert!(
        p.contains("signal_interval") && p.contains("number of seconds"),
        "{p}"
    );
    let p = problem(&err, &loc(&t, &text, "\"yes\""));
    assert!(p.contains("enabled") && p.contains("boolean"), "{p}");
    problem(&err, &loc(&t, &text, "\"nope\""));
    assert!(err.contains("has 3 errors"), "{err}");
}

// ── 12: unknown keys are warnings ────────────────────────────────────────────────────────

#[test]
fn unknown_key_is_a_warning_not_an_error() {
    let t = TestEnv::new();
    let text = basic("uk-", "[[agent]]\nname = \"a\"\nmodle = \"x\"\n");
    t.config(&text);
    let (code, out, err) = t.run(&["status"]);
    assert_eq!(code, 3, "an unknown key must not stop the program:\n{err}");
    assert!(out.contains("AGENT"), "{out}");
    let w = err
        .lines()
        .position(|l| l.contains("warning") && l.contains("`modle`"))
        .unwrap_or_else(|| panic!("no warning about `modle`:\n{err}"));
    let block: Vec<&str> = err.lines().skip(w).take(6).collect();
    let block = block.join("\n");
    assert!(
        block.contains(&cfg_path(&t).display().to_string()),
        "does not name the file:\n{block}"
    );
    assert!(
        block.contains("did you mean `model`"),
        "does not suggest `model`:\n{block}"
    );
    assert!(!err.contains("error"), "{err}");
}

#[test]
fn unknown_key_warning_points_at_line_and_column_and_names_the_agent() {
    let t = TestEnv::new();
    let text = basic(
        "uk-",
        "[[agent]]\nname = \"first\"\n\n[[agent]]\nname = \"second\"\nmodle = \"x\"\n",
    );
    t.config(&text);
    let (code, _, err) = t.run(&["status"]);
    assert_eq!(code, 3, "{err}");
    let p = problem(&err, &loc(&t, &text, "modle"));
    assert!(p.contains("\"second\""), "does not name the agent:\n{p}");
    assert!(p.contains("did you mean `model`"), "{p}");
}

// ── 13–14: one agent cannot start, the others do ─────────────────────────────────────────

#[test]
fn missing_prompt_file_at_up_stops_only_that_agent() {
    let t = TestEnv::new();
    let text = fleet_config("pf-", 3, "").replace(
        "name = \"a2\"\n",
        "name = \"a2\"\nprompt_file = \"prompts/missing.md\"\n",
    );
    t.config(&text);
    let (code, _, err) = t.run(&["up"]);
    assert_ne!(
        code, 0,
        "up must report the agent that did not start:\n{err}"
    );
    assert_no_panic(&err);
    let missing = t.path().canonicalize().unwrap().join("prompts/missing.md");
    let line = err
        .lines()
        .find(|l| l.contains("\"a2\""))
        .unwrap_or_else(|| panic!("agent a2 is not named:\n{err}"));
    assert!(line.contains("prompt_file"), "{line}");
    assert!(
        line.contains(&missing.display().to_string()),
        "does not name the path:\n{line}"
    );
    assert!(err.contains("1 session did not start"), "{err}");
    assert_eq!(t.sessions(), ["pf-a1", "pf-a3", "pf-watchdog"]);

    assert_eq!(t.run(&["down"]).0, 0);
    assert!(t.sessions().is_empty(), "sessions left: {:?}", t.sessions());
}

#[test]
fn program_not_on_path_at_up_stops_only_that_agent() {
    let t = TestEnv::new();
    let text = fleet_config(
        "np-",
        2,
        "[backend.ghostly]\nbin = \"definitely-not-installed-xyz\"\n",
    ) + "\n[[agent]]\nname = \"ghost\"\nbackend = \"ghostly\"\nprompt = \"boo\"\n";
    t.config(&text);
    let (code, _, err) = t.run(&["up"]);
    assert_ne!(
        code, 0,
        "up must report the agent that did not start:\n{err}"
    );
    assert_no_panic(&err);
    let line = err
        .lines()
        .find(|l| l.contains("\"ghost\""))
        .unwrap_or_else(|| panic!("agent ghost is not named:\n{err}"));
    assert!(
        line.contains("definitely-not-installed-xyz"),
        "does not name the program:\n{line}"
    );
    assert!(line.contains("not on PATH"), "{line}");
    assert_eq!(t.sessions(), ["np-a1", "np-a2", "np-watchdog"]);
    // Nothing is written for an agent that cannot start.
    assert!(!t.path().join(".agents/state/kickoff-np-ghost.txt").exists());
    assert!(t.path().join(".agents/state/kickoff-np-a1.txt").is_file());

    assert_eq!(t.run(&["down"]).0, 0);
    assert!(t.sessions().is_empty(), "sessions left: {:?}", t.sessions());
}

// ── 15: no tmux ──────────────────────────────────────────────────────────────────────────

#[test]
fn tmux_not_installed_is_a_clear_error() {
    let t = TestEnv::new();
    t.config(&fleet_config("nt-", 1, ""));
    let empty = t.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    for verb in ["status", "up", "down"] {
        let (code, out, err) = output(t.cmd().env("PATH", &empty).arg(verb));
        assert_eq!(
            code, 1,
            "`{verb}` without tmux\nstdout:\n{out}\nstderr:\n{err}"
        );
        assert_no_panic(&err);
        assert!(err.contains("tmux is not installed"), "`{verb}`:\n{err}");
    }
    assert!(t.sessions().is_empty());
}

// ── 16–17: phases ────────────────────────────────────────────────────────────────────────

#[test]
fn phase_set_is_range_checked_and_accepts_ids() {
    let t = TestEnv::new();
    t.config(&basic(
        "ph-",
        &format!("[[agent]]\nname = \"a\"\n\n{TWO_PHASES}"),
    ));
    let idx = t.path().join(".agents/state/phase-idx");
    let read = || std::fs::read_to_string(&idx).unwrap();

    let (code, _, err) = t.run(&["phase", "set", "0"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(), "0");

    for args in [&["phase", "set", "5"][..], &["phase", "set", "--", "-1"]] {
        let (code, _, err) = t.run(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert_no_panic(&err);
        assert!(err.contains("out of range"), "{args:?}: {err}");
        assert!(
            err.contains("0 = p1, 1 = p2"),
            "{args:?}: the phases are not listed:\n{err}"
        );
        assert_eq!(read(), "0", "{args:?} changed the phase file");
    }
    // `-1` as typed by a user.
    let (code, _, err) = t.run(&["phase", "set", "-1"]);
    assert_ne!(code, 0, "{err}");
    assert_no_panic(&err);
    assert_eq!(read(), "0");
    // An unknown id.
    let (code, _, err) = t.run(&["phase", "set", "p9"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("\"p9\"") && err.contains("0 = p1, 1 = p2"),
        "{err}"
    );
    assert_eq!(read(), "0");

    let (code, _, err) = t.run(&["phase", "set", "p2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(), "1");
    let (code, out, _) = t.run(&["phase", "show"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "phase p2 [2/2] seq: p1 p2");

    let (code, _, err) = t.run(&["phase", "next"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read(), "1", "`phase next` moved past the last phase");
    let (_, out, _) = t.run(&["phase"]);
    assert_eq!(out.trim(), "phase p2 [2/2] seq: p1 p2");
}

#[test]
fn corrupt_phase_index_warns_and_never_crashes() {
    let t = TestEnv::new();
    t.config(&basic(
        "cp-",
        &format!("[[agent]]\nname = \"a\"\n\n{TWO_PHASES}"),
    ));
    let idx_rel = ".agents/state/phase-idx";
    for (content, shown, expect) in [
        ("garbage", "garbage", Some("phase p1 [1/2] seq: p1 p2")),
        ("-3\n", "-3", Some("phase p1 [1/2] seq: p1 p2")),
        ("", "\"\"", Some("phase p1 [1/2] seq: p1 p2")),
        ("7\n", "7", None),
    ] {
        t.write(idx_rel, content);
        let (code, out, err) = t.run(&["status"]);
        assert_eq!(code, 3, "status with phase-idx {content:?}:\n{err}");
        assert_no_panic(&err);
        assert!(out.contains(" phase: p"), "{out}");
        let warning = err
            .lines()
            .find(|l| l.contains("warning") && l.contains("phase-idx"))
            .unwrap_or_else(|| panic!("no warning for phase-idx {content:?}:\n{err}"));
        assert!(warning.contains(shown), "{warning}");
        assert!(
            warning.contains("phase set"),
            "no hint how to fix it: {warning}"
        );

        let (code, out, err) = t.run(&["phase", "show"]);
        assert_eq!(code, 0, "phase show with phase-idx {content:?}:\n{err}");
        assert_no_panic(&err);
        assert!(err.contains("warning"), "{err}");
        match expect {
            Some(line) => assert_eq!(out.trim(), line, "phase-idx {content:?}"),
            None => assert!(
                ["phase p1 [1/2] seq: p1 p2", "phase p2 [2/2] seq: p1 p2"].contains(&out.trim()),
                "phase-idx {content:?}: {out}"
            ),
        }
    }
    // `phase set` repairs it.
    assert_eq!(t.run(&["phase", "set", "1"]).0, 0);
    let (_, out, err) = t.run(&["phase", "show"]);
    assert_eq!(out.trim(), "phase p2 [2/2] seq: p1 p2");
    assert!(!err.contains("warning"), "{err}");
}

// ── 18: init ─────────────────────────────────────────────────────────────────────────────

#[test]
fn init_writes_a_loadable_config_and_refuses_to_overwrite() {
    let t = TestEnv::new();
    let (code, _, err) = t.run(&["init", "newproj"]);
    assert_eq!(code, 0, "{err}");
    let cfg = t.path().join("newproj/agents.toml");
    assert!(cfg.is_file(), "{err}");
    assert!(t.path().join("newproj/prompts").is_dir());
    assert!(
        std::fs::read_dir(t.path().join("newproj/prompts"))
            .unwrap()
            .count()
            > 0
    );

    // The user edits it; a second init must not touch it.
    let edited = std::fs::read_to_string(&cfg).unwrap() + "\n# my edit\n";
    std::fs::write(&cfg, &edited).unwrap();
    let (code, _, err) = t.run(&["init", "newproj"]);
    assert_ne!(code, 0, "a second init must refuse");
    assert_no_panic(&err);
    assert!(err.contains("refusing to overwrite"), "{err}");
    assert!(
        err.contains(
            &t.path()
                .canonicalize()
                .unwrap()
                .join("newproj/agents.toml")
                .display()
                .to_string()
        ),
        "does not name the existing file:\n{err}"
    );
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), edited);

    let (code, out, err) = t.run(&["status", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 3, "the starter config does not load:\n{err}");
    assert!(out.contains("worker"), "{out}");
    assert!(
        !err.contains("warning"),
        "the starter config has warnings:\n{err}"
    );
}

// ── 19–20: drop-in compatibility with the original ───────────────────────────────────────

#[test]
fn original_demo_config_runs_unchanged() {
    let Some(base) = baseline_dir("original_demo_config_runs_unchanged") else {
        return;
    };
    let t = TestEnv::new();
    let demo = t.path().join("demo");
    copy_dir(&base.join("demo"), &demo);
    let cfg = demo.join("agents.toml");
    assert_eq!(
        std::fs::read(&cfg).unwrap(),
        std::fs::read(base.join("demo/agents.toml")).unwrap()
    );
    let cfg = cfg.to_str().unwrap();

    let (code, _, err) = t.run(&["up", "--config", cfg]);
    assert_eq!(code, 0, "up:\n{err}");
    assert_eq!(
        t.sessions(),
        [
            "demo-adversary",
            "demo-builder",
            "demo-scribe",
            "demo-supervisor",
            "demo-watchdog"
        ]
    );

    let (code, table, err) = t.run(&["status", "--config", cfg]);
    assert_eq!(code, 0, "status:\n{err}");
    assert!(
        table.contains(" phase: p1 [1/2] plan=plans/p1.md (in progress)"),
        "{table}"
    );
    for name in ["supervisor", "scribe", "builder", "adversary"] {
        assert!(
            ["active", "idle", "starting"]
                .iter()
                .any(|s| row(&table, name).contains(s)),
            "{name} not running:\n{table}"
        );
    }
    assert!(row(&table, "watchdog").contains("running ["), "{table}");
    let reporter = row(&table, "reporter");
    assert!(reporter.contains("disabled"), "{table}");
    assert!(row(&table, "builder").contains("demo-small"), "{table}");

    let (code, out, err) = t.run(&["phase", "show", "--config", cfg]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "phase p1 [1/2] seq: p1 p2");

    let (code, _, err) = t.run(&["down", "--config", cfg]);
    assert_eq!(code, 0, "down:\n{err}");
    assert!(t.sessions().is_empty(), "sessions left: {:?}", t.sessions());
}

#[test]
fn original_init_starter_config_works() {
    let Some(base) = baseline_dir("original_init_starter_config_works") else {
        return;
    };
    let t = TestEnv::new();
    let dir = t.path().join("legacy");
    let py = std::process::Command::new("python3")
        .arg(base.join("agents.py"))
        .arg("init")
        .arg(&dir)
        .current_dir(t.path())
        .output()
        .expect("python3");
    assert!(
        py.status.success(),
        "{}",
        String::from_utf8_lossy(&py.stderr)
    );
    let cfg = dir.join("agents.toml");
    let cfg = cfg.to_str().unwrap();

    // `claude` must not be found; if it is installed here, hide it behind a minimal PATH.
    let bin = t.path().join("minimal-bin");
    let path_env = on_path("claude").map(|_| {
        std::fs::create_dir_all(&bin).unwrap();
        for tool in ["bash", "sh", "tmux", "cat", "env"] {
            let real = on_path(tool).unwrap_or_else(|| panic!("{tool} not on PATH"));
            std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
        }
        bin.clone()
    });
    let run = |args: &[&str]| {
        let mut c = t.cmd();
        if let Some(p) = &path_env {
            c.env("PATH", p);
        }
        output(c.args(args).arg("--config").arg(cfg))
    };

    let (code, out, err) = run(&["status"]);
    assert_eq!(code, 3, "status (nothing runs yet):\n{err}");
    assert!(row(&out, "worker").contains("stopped"), "{out}");

    let (code, _, err) = run(&["up"]);
    assert_ne!(code, 0, "up must fail: claude is not installed\n{err}");
    assert_no_panic(&err);
    let line = err
        .lines()
        .find(|l| l.contains("\"worker\""))
        .unwrap_or_else(|| panic!("agent worker is not named:\n{err}"));
    assert!(
        line.contains("\"claude\""),
        "does not name the program:\n{line}"
    );
    assert!(
        !t.sessions().contains(&"legacy-worker".to_string()),
        "{:?}",
        t.sessions()
    );

    let (code, out, err) = run(&["phase", "show"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("no [loop].phases configured"), "{out}");

    let (code, _, err) = run(&["down"]);
    assert_eq!(code, 0, "down:\n{err}");
    assert!(t.sessions().is_empty(), "sessions left: {:?}", t.sessions());
}

#[test]
fn a_preset_needs_no_table_a_table_overrides_it_and_an_unknown_name_lists_the_presets() {
    let t = TestEnv::new();
    // `backend = "claude"` with no [backend.claude] table: the preset.
    t.config(
        "[defaults]\nsession_prefix = \"pr-\"\nlog_dir = \".agents\"\n\n[[agent]]\nname = \"a\"\nbackend = \"claude\"\n",
    );
    let (code, out, err) = t.run(&["status", "--json"]);
    assert_eq!(code, 3, "loads (nothing runs):\n{err}");
    assert_no_panic(&err);
    assert!(out.contains("\"backend\": \"claude\""), "{out}");
    // A typo names the presets and suggests the nearest.
    let text = "[defaults]\nsession_prefix = \"pr-\"\nlog_dir = \".agents\"\n\n[[agent]]\nname = \"a\"\nbackend = \"cluade\"\n";
    t.config(text);
    let err = config_error(&t, &["status"]);
    let p = problem(&err, &loc(&t, text, "\"cluade\""));
    assert!(p.contains("did you mean \"claude\"?"), "{p}");
    for preset in ["claude", "codex", "gemini", "opencode", "aider", "demo"] {
        assert!(
            p.contains(preset),
            "does not list the preset {preset}:\n{p}"
        );
    }
    // An override regex that does not compile names the backend, the key and the error.
    let text = "[defaults]\nsession_prefix = \"pr-\"\nlog_dir = \".agents\"\n\n[backend.claude]\nlimit_re = \"hit your (limit\"\n\n[[agent]]\nname = \"a\"\nbackend = \"claude\"\n";
    t.config(text);
    let err = config_error(&t, &["status"]);
    let p = problem(&err, &loc(&t, text, "\"hit your (limit\""));
    assert!(
        p.contains("[backend.claude]: limit_re is not a valid regex")
            && p.contains("unclosed group"),
        "{p}"
    );
}

#[test]
fn bad_supervision_numbers_name_the_key_and_the_fix() {
    let t = TestEnv::new();
    let text = basic(
        "sv-",
        "[watchdog]\nmax_restarts = 0\nbackoff_initial = 60\nbackoff_max = 10\n\n[backend.c]\nbin = \"true\"\nregion = 0\n\n[[agent]]\nname = \"a\"\n",
    );
    t.config(&text);
    let err = config_error(&t, &["status"]);
    let p = problem(&err, &loc(&t, &text, "0\nbackoff_initial"));
    assert!(p.contains("max_restarts = 0") && p.contains(">= 1"), "{p}");
    let p = problem(&err, &loc(&t, &text, "10\n"));
    assert!(
        p.contains("backoff_max = 10 is shorter than backoff_initial = 60"),
        "{p}"
    );
    let p = problem(&err, &loc(&t, &text, "0\n\n[[agent]]"));
    assert!(p.contains("[backend.c]: region = 0"), "{p}");
    assert!(err.contains("has 3 errors"), "{err}");
}

// ── issue 6: inputs tmux or the kernel would refuse; symlinked configs ──────────────────

#[test]
fn session_names_tmux_lists_escaped_or_cuts_short_are_refused_at_load() {
    let t = TestEnv::new();
    let text = basic(
        "se-",
        "[[agent]]\nname = \"d\"\nsession = \"$dollar\"\n\n\
         [[agent]]\nname = \"b\"\nsession = 'back\\slash'\n\n\
         [[agent]]\nname = \"s\"\nsession = \"semi;\"\n",
    );
    t.config(&text);
    for verb in ["status", "up", "down"] {
        let err = config_error(&t, &[verb]);
        assert!(err.contains("has 3 errors"), "{err}");
        for (needle, session) in [
            ("\"$dollar\"", "$dollar"),
            ("'back\\slash'", "back\\\\slash"),
            ("\"semi;\"", "semi;"),
        ] {
            let p = problem(&err, &loc(&t, &text, needle));
            assert!(
                p.contains(&format!(
                    "session \"{session}\" cannot be a tmux session name"
                )),
                "{p}"
            );
            assert!(
                p.contains("start with '$'") && p.contains("end with ';'") && p.contains("'\\'"),
                "does not explain the allowed characters:\n{p}"
            );
        }
    }
    assert!(t.sessions().is_empty(), "{:?}", t.sessions());
}

#[test]
fn a_bad_defaults_value_is_reported_once_not_per_agent() {
    let t = TestEnv::new();
    let text = "[defaults]\nsession_prefix = \"bd-\"\nlog_dir = \".agents\"\nbackend = \"nope\"\n\
                kind = \"lop\"\nwatch = \"heall\"\n\n[[agent]]\nname = \"a\"\n\n\
                [[agent]]\nname = \"b\"\n\n[[agent]]\nname = \"c\"\n";
    t.config(text);
    let err = config_error(&t, &["status"]);
    assert!(err.contains("has 3 errors"), "{err}");
    for (needle, msg) in [
        ("\"nope\"", "backend \"nope\" is not defined"),
        ("\"lop\"", "kind \"lop\" is not valid"),
        ("\"heall\"", "watch \"heall\" is not valid"),
    ] {
        assert_eq!(
            err.matches(msg).count(),
            1,
            "{msg} not reported once:\n{err}"
        );
        let p = problem(&err, &loc(&t, text, needle));
        assert!(p.contains(&format!("[defaults]: {msg}")), "{p}");
    }
}

#[test]
fn a_symlinked_config_resolves_relative_paths_against_the_link_target() {
    let t = TestEnv::new();
    let text = basic(
        "sl-",
        "[[agent]]\nname = \"a\"\nprompt_file = \"prompt.md\"\n",
    );
    t.write("real/agents.toml", &text);
    t.write("real/prompt.md", "hello from the real directory\n");
    std::fs::create_dir_all(t.path().join("link")).unwrap();
    std::os::unix::fs::symlink("../real/agents.toml", t.path().join("link/agents.toml")).unwrap();
    let (code, _, err) = output(t.cmd().current_dir(t.path().join("link")).arg("up"));
    assert_eq!(code, 0, "up through the link:\n{err}");
    assert_no_panic(&err);
    assert!(t.path().join("real/.agents/state").is_dir());
    assert!(!t.path().join("link/.agents").exists());
    assert_eq!(
        std::fs::read_to_string(t.path().join("real/.agents/state/kickoff-sl-a.txt")).unwrap(),
        "hello from the real directory\n"
    );
    let (code, _, err) = output(t.cmd().current_dir(t.path().join("link")).arg("down"));
    assert_eq!(code, 0, "down:\n{err}");
    assert!(t.sessions().is_empty(), "sessions left: {:?}", t.sessions());
}

/// The stderr line of `up` that names agent `name`.
fn agent_line<'a>(err: &'a str, name: &str) -> &'a str {
    err.lines()
        .find(|l| l.contains(&format!("agent \"{name}\"")))
        .unwrap_or_else(|| panic!("agent {name} is not named:\n{err}"))
}

#[test]
fn slot_values_in_a_shell_template_are_quoted_and_sessions_get_agents_variables() {
    let t = TestEnv::new();
    let text = r#"[defaults]
session_prefix = "sq-"
log_dir = "my logs"
backend = "b"

[backend.b]
bin = '''sh -c 'cat {kickoff} > seen.txt; printf %s {model} > model.txt; printf "%s|%s|%s|%s" "$AGENTS_NAME" "$AGENTS_SESSION" "$AGENTS_MODEL" "$AGENTS_KICKOFF" > env.txt; exec sleep 60' '''
prompt_delivery = "exec"

[[agent]]
name = "a"
model = "x$(touch F)"
prompt = "hello"
"#;
    t.config(text);
    let (code, _, err) = t.run(&["up"]);
    assert_eq!(code, 0, "up:\n{err}");
    let read = |f: &str| std::fs::read_to_string(t.path().join(f)).unwrap_or_default();
    assert!(
        wait_until(10.0, || !read("env.txt").is_empty()),
        "the agent did not run"
    );
    assert!(!t.path().join("F").exists(), "a model value ran as code");
    assert_eq!(
        read("seen.txt"),
        "hello",
        "{{kickoff}} under a log_dir with a space"
    );
    assert_eq!(read("model.txt"), "x$(touch F)");
    let kickoff = t
        .path()
        .canonicalize()
        .unwrap()
        .join("my logs/state/kickoff-sq-a.txt");
    assert_eq!(
        read("env.txt"),
        format!("a|sq-a|x$(touch F)|{}", kickoff.display())
    );
    assert!(t.sessions().contains(&"sq-a".to_string()));
    assert_eq!(t.run(&["down"]).0, 0);
    assert!(t.sessions().is_empty(), "sessions left: {:?}", t.sessions());
}

#[test]
fn a_one_word_bin_that_is_a_path_with_a_space_runs() {
    let t = TestEnv::new();
    let script = t.write_script(
        "my bin/agent.sh",
        "#!/bin/sh\necho ran > ran.txt\nexec sleep 60\n",
    );
    let text = basic(
        "sp-",
        &format!(
            "[backend.spaced]\nbin = \"'{}'\"\nprompt_delivery = \"exec\"\n\n\
             [[agent]]\nname = \"a\"\nbackend = \"spaced\"\n",
            script.display()
        ),
    );
    t.config(&text);
    let (code, _, err) = t.run(&["up"]);
    assert_eq!(code, 0, "up:\n{err}");
    assert!(
        wait_until(10.0, || t.path().join("ran.txt").is_file()),
        "the program with a space in its path did not run"
    );
    assert_eq!(t.run(&["down"]).0, 0);
    assert!(t.sessions().is_empty(), "sessions left: {:?}", t.sessions());
}

#[test]
fn a_dir_that_is_a_file_or_cannot_be_created_fails_up_naming_the_agent_or_service() {
    let t = TestEnv::new();
    t.write("afile", "not a directory\n");
    let text = basic(
        "dr-",
        "[[agent]]\nname = \"filed\"\ndir = \"afile\"\n\n\
         [[agent]]\nname = \"under\"\ndir = \"afile/sub\"\n\n\
         [[agent]]\nname = \"ok\"\ndir = \"fresh/new\"\n\n\
         [[service]]\nname = \"svc\"\ndir = \"afile\"\ncommand = \"sleep 60\"\n",
    );
    t.config(&text);
    let (code, _, err) = t.run(&["up"]);
    assert_ne!(
        code, 0,
        "up must report the agents that did not start:\n{err}"
    );
    assert_no_panic(&err);
    let root = t.path().canonicalize().unwrap();
    let line = agent_line(&err, "filed");
    assert!(
        line.contains(&format!(
            "{} is not a directory",
            root.join("afile").display()
        )),
        "{line}"
    );
    let line = agent_line(&err, "under");
    assert!(
        line.contains(&format!(
            "cannot create its dir {}",
            root.join("afile/sub").display()
        )),
        "{line}"
    );
    let line = err
        .lines()
        .find(|l| l.contains("service \"svc\""))
        .unwrap_or_else(|| panic!("service svc is not named:\n{err}"));
    assert!(line.contains("is not a directory"), "{line}");
    assert!(err.contains("3 sessions did not start"), "{err}");
    assert_eq!(t.sessions(), ["dr-ok", "dr-watchdog"]);
    assert!(t.path().join("fresh/new").is_dir());
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn an_arg_prompt_over_the_kernel_argument_limit_is_refused_at_up() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let t = TestEnv::new();
    t.write("big.md", &"x".repeat(200 * 1024));
    let text = basic(
        "bg-",
        "[[agent]]\nname = \"big\"\nprompt_file = \"big.md\"\n\n\
         [[agent]]\nname = \"small\"\nprompt = \"hi\"\n",
    );
    t.config(&text);
    let (code, _, err) = t.run(&["up"]);
    assert_ne!(code, 0, "up must refuse the big prompt:\n{err}");
    assert_no_panic(&err);
    let line = agent_line(&err, "big");
    assert!(line.contains("204800 bytes"), "{line}");
    assert!(line.contains("131071 bytes"), "{line}");
    assert!(line.contains("prompt_delivery = \"exec\""), "{line}");
    assert_eq!(t.sessions(), ["bg-small", "bg-watchdog"]);
    assert!(!t.path().join(".agents/state/kickoff-bg-big.txt").exists());
    assert_eq!(t.run(&["down"]).0, 0);
}

#[test]
fn bad_log_rotation_keys_name_the_key_and_the_fix() {
    let t = TestEnv::new();
    let text = "[defaults]\nsession_prefix = \"lr-\"\nlog_dir = \".agents\"\nbackend = \"b\"\nlog_max_bytes = 100\nlog_files = -1\n\n[backend.b]\nbin = \"true\"\n\n[[agent]]\nname = \"a\"\nlog_files = 2\n";
    t.config(text);
    let err = config_error(&t, &["status"]);
    let p = problem(&err, &loc(&t, text, "100\n"));
    assert!(
        p.contains("log_max_bytes = 100 is not a usable size") && p.contains(">= 4096"),
        "{p}"
    );
    let p = problem(&err, &loc(&t, text, "-1\n"));
    assert!(p.contains("log_files = -1 is not a usable count"), "{p}");
    // `log_files` under [[agent]] is only a warning.
    assert!(err.contains("has 2 errors"), "{err}");
}
