//! Issue 8, item 7: shell and editor conventions — completions, color (a terminal, a pipe,
//! `NO_COLOR`, `--color`), `agents schema` and the `#:schema` line `init` writes, `init`'s
//! `.gitignore`, `--config` only on the verbs that read a config, `selftest` wording and
//! `phase next` printing what `phase show` prints.

use crate::util::*;

/// A config whose one agent (on `true`) is not running: `status` shows a `stopped` row.
fn stopped_fleet(prefix: &str) -> String {
    format!(
        "[defaults]\nsession_prefix = \"{prefix}\"\nlog_dir = \".agents\"\nbackend = \"b\"\n\n\
         [backend.b]\nbin = \"true\"\n\n[[agent]]\nname = \"solo\"\n"
    )
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    let t = TestEnv::new();
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = t.run(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.len() > 500, "{shell}: a short script:\n{out}");
        for verb in ["status", "restart", "schema", "completions"] {
            assert!(out.contains(verb), "{shell}: no {verb:?} in:\n{out}");
        }
    }
    // bash's script registers itself for `agents`.
    let (_, out, _) = t.run(&["completions", "bash"]);
    assert!(out.contains("complete -F _agents"), "{out}");

    let (code, out, err) = t.run(&["completions", "tcsh"]);
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("invalid value 'tcsh'"), "{err}");
    for shell in ["bash", "zsh", "fish"] {
        assert!(
            err.contains(shell),
            "the valid shells are not listed:\n{err}"
        );
    }
}

/// The JSON Schema of `agents schema`, compiled.
fn schema(t: &TestEnv) -> (serde_json::Value, jsonschema::Validator) {
    let (code, out, err) = t.run(&["schema"]);
    assert_eq!(code, 0, "{err}");
    let value: serde_json::Value = serde_json::from_str(&out).expect("schema is JSON");
    let validator = jsonschema::validator_for(&value).expect("a valid JSON Schema");
    (value, validator)
}

/// The problems `validator` finds in TOML `text` (converted to JSON), one line each.
fn problems(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let doc: toml::Table = toml::from_str(text).expect("TOML");
    let json = serde_json::to_value(doc).unwrap();
    validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn the_schema_is_derived_and_validates_the_shipped_and_test_configs() {
    let t = TestEnv::new();
    let (value, validator) = schema(&t);
    // Derived from the loader's types, with their doc comments as descriptions.
    let text = value.to_string();
    for needle in [
        "session_prefix",
        "signal_interval",
        "dialog_re",
        "kickoff_template",
        "claim_pings",
        "Seconds between light ticks",
    ] {
        assert!(text.contains(needle), "no {needle:?} in the schema");
    }
    assert_eq!(value["$schema"], "http://json-schema.org/draft-07/schema#");
    // TOML has no null: no key may be offered or defaulted as one.
    assert!(!text.contains("null"), "{text}");

    let mut configs: Vec<(String, String)> = vec![(
        "agents.example.toml".into(),
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/agents.example.toml"))
            .unwrap(),
    )];
    for preset in agents::config::presets::names() {
        let text = agents::commands::init::starter_config("proj", preset).unwrap();
        // Its commented-out loop pair, uncommented, too.
        let full: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if is_toml_line(rest) => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        configs.push((format!("init --backend {preset}"), text));
        configs.push((format!("init --backend {preset}, all uncommented"), full));
    }
    configs.push(("fleet_config".into(), fleet_config("s-", 3, "")));
    configs.push((
        "fleet_config with every [watchdog] key".into(),
        fleet_config(
            "s-",
            1,
            "limit_probe_fallback = 1\nlimit_reset_slack = 0.5\nlimit_self_resume_grace = 3\n\
             stall_grace = 2\n\
             backoff_initial = 0.2\nbackoff_max = 1\nmax_restarts = 3\nrestart_window = 60\n\
             stable_after = 1.5",
        ),
    ));
    configs.push(("stopped_fleet".into(), stopped_fleet("s-")));
    for (name, text) in &configs {
        let found = problems(&validator, text);
        assert!(found.is_empty(), "{name}: {found:?}\n{text}");
        // And the loader accepts each of them too (the schema does not vouch for less).
        agents::config::parse(
            std::path::Path::new("/tmp/x/agents.toml"),
            text,
            agents::config::EnvOverrides::Ignore,
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    // Wrong types are caught, as the loader catches them.
    let bad = fleet_config("s-", 1, "stable_after = \"fast\"")
        + "\n[[agent]]\nname = 7\nenabled = \"yes\"\n";
    let found = problems(&validator, &bad);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found.iter().any(|p| p.contains("/watchdog/stable_after")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|p| p.contains("/agent/1/name")),
        "{found:?}"
    );
    // Values the loader checks against a list are offered from that list.
    let found = problems(
        &validator,
        "[[agent]]\nname = \"x\"\nkind = \"Loop\"\nwatch = \"always\"\n",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        text.contains(r#"["persistent","loop","orchestrator","task"]"#),
        "{text}"
    );
    let found = problems(&validator, "[watchdog]\nsignal_interval = -1\n");
    assert_eq!(found.len(), 1, "a negative interval: {found:?}");
    let found = problems(&validator, "[loop]\nphases = [{ plan = \"p.md\" }]\n");
    assert_eq!(found.len(), 1, "a phase without an id: {found:?}");
    // Unknown keys are allowed (the loader warns about them).
    assert!(problems(&validator, "[defaults]\nsomething_new = 1\n").is_empty());
}

/// Whether a commented-out line of the starter config is TOML (a table header, a key, an
/// array element or its end), not prose.
fn is_toml_line(rest: &str) -> bool {
    let r = rest.trim_start();
    r.starts_with('[')
        || r.starts_with('{')
        || r == "]"
        || r.split_once(" = ")
            .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

#[test]
fn init_writes_the_schema_line_and_file_and_ignores_the_log_dir_once() {
    let t = TestEnv::new();
    let (code, _, err) = t.run(&["init", "proj"]);
    assert_eq!(code, 0, "{err}");
    let dir = t.path().join("proj");
    let toml = std::fs::read_to_string(dir.join("agents.toml")).unwrap();
    assert!(
        toml.starts_with("#:schema ./agents.schema.json\n"),
        "{toml}"
    );
    let (_, schema_out, _) = t.run(&["schema"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("agents.schema.json")).unwrap(),
        schema_out,
        "init's schema file is not `agents schema`"
    );
    // The permission flag the preset passes is explained where the backend is chosen.
    let note = toml
        .lines()
        .skip_while(|l| !l.contains("--dangerously-skip-permissions"))
        .take(6)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(note.contains("unattended"), "{toml}");
    assert_eq!(
        std::fs::read_to_string(dir.join(".gitignore")).unwrap(),
        "# agents: session logs, events.jsonl and state (log_dir of agents.toml)\n/.agents/\n"
    );
    assert!(err.contains(".gitignore"), "{err}");

    // An existing .gitignore (no final newline) gets the line appended, once.
    let other = t.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join(".gitignore"), "target").unwrap();
    assert_eq!(t.run(&["init", "other", "--backend", "demo"]).0, 0);
    let ignore = std::fs::read_to_string(other.join(".gitignore")).unwrap();
    assert_eq!(
        ignore,
        "target\n# agents: session logs, events.jsonl and state (log_dir of agents.toml)\n/.agents/\n"
    );
    // A .gitignore that already ignores it is left alone.
    let third = t.path().join("third");
    std::fs::create_dir_all(&third).unwrap();
    std::fs::write(third.join(".gitignore"), "node_modules/\n.agents/\n").unwrap();
    let (code, _, err) = t.run(&["init", "third"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(third.join(".gitignore")).unwrap(),
        "node_modules/\n.agents/\n"
    );
    assert!(!err.contains(".gitignore"), "{err}");
    // A second init in the same directory refuses and writes nothing.
    let (code, _, err) = t.run(&["init", "other"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        std::fs::read_to_string(other.join(".gitignore")).unwrap(),
        ignore
    );
}

#[test]
fn init_help_documents_dir() {
    let t = TestEnv::new();
    let (code, out, _) = t.run(&["init", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("[DIR]"), "{out}");
    assert!(
        out.contains("The project directory to write into"),
        "DIR is not explained:\n{out}"
    );
}

#[test]
fn config_is_offered_only_by_the_verbs_that_read_one() {
    let t = TestEnv::new();
    for verb in [
        &["init"][..],
        &["presets"],
        &["schema"],
        &["completions", "bash"],
    ] {
        let mut after = verb.to_vec();
        after.extend(["--config", "x.toml"]);
        let (code, _, err) = t.run(&after);
        assert_eq!(code, 2, "{after:?}: {err}");
        assert!(
            err.contains("unexpected argument '--config'"),
            "{after:?}: {err}"
        );
        let mut before = vec!["--config", "x.toml"];
        before.extend(verb);
        let (code, _, err) = t.run(&before);
        assert_eq!(code, 2, "{before:?}: {err}");
        assert!(err.contains("reads no config"), "{before:?}: {err}");
        let mut help = verb[..1].to_vec();
        help.push("--help");
        let (_, out, _) = t.run(&help);
        assert!(
            !out.contains("--config"),
            "{help:?} offers --config:\n{out}"
        );
    }
    assert!(
        !t.path().join("agents.toml").exists() && !t.path().join(".gitignore").exists(),
        "a refused init wrote"
    );
    for verb in [
        "status", "up", "logs", "doctor", "selftest", "phase", "send",
    ] {
        let (_, out, _) = t.run(&[verb, "--help"]);
        assert!(out.contains("--config <PATH>"), "{verb} --help:\n{out}");
    }

    // Before the verb, after it, and after a phase action.
    let cfg = t.write(
        "conf/fleet.toml",
        &(stopped_fleet("cv-")
            + "[loop]\nphases = [{ id = \"p1\", status = \"S1.md\" }, { id = \"p2\", status = \"S2.md\" }]\n"),
    );
    let cfg = cfg.to_str().unwrap();
    for args in [
        vec!["--config", cfg, "status"],
        vec!["status", "--config", cfg],
        vec!["--config", cfg, "phase", "show"],
        vec!["phase", "--config", cfg, "show"],
        vec!["phase", "show", "--config", cfg],
    ] {
        let (code, out, err) = t.run(&args);
        assert!(code == 0 || code == 3, "{args:?}: {err}");
        assert!(
            out.contains("solo") || out.contains("phase p1"),
            "{args:?}: the config was not used:\n{out}"
        );
    }
}

#[test]
fn color_only_when_asked_or_on_a_terminal_without_no_color() {
    let t = TestEnv::new();
    t.config(&stopped_fleet("cl-"));
    // A pipe: plain.
    let (code, out, err) = t.run(&["status"]);
    assert_eq!(code, 3, "{err}");
    assert!(out.contains("stopped"), "{out}");
    assert!(!out.contains('\x1b'), "escapes into a pipe:\n{out:?}");
    // --color always: the header bold, the state dim.
    let (_, out, _) = t.run(&["--color", "always", "status"]);
    assert!(out.contains("\x1b[1m AGENT"), "{out:?}");
    assert!(out.contains("\x1b[2mstopped"), "{out:?}");
    let (_, out, _) = t.run(&["status", "--color", "never"]);
    assert!(!out.contains('\x1b'), "{out:?}");
    // The error line on stderr.
    let (code, _, err) = t.run(&["--color", "always", "status", "--config", "/nope.toml"]);
    assert_eq!(code, 1);
    assert!(err.contains("agents: \x1b[31merror:\x1b[0m "), "{err:?}");
    let (_, _, err) = t.run(&["status", "--config", "/nope.toml"]);
    assert!(
        err.contains("agents: error: ") && !err.contains('\x1b'),
        "{err:?}"
    );
    // selftest's and doctor's verdicts too.
    let (_, out, _) = t.run(&["selftest", "--color", "always"]);
    assert!(out.contains(" \x1b[32mPASS\x1b[0m: "), "{out:?}");
    let (_, out, _) = t.run(&["selftest"]);
    assert!(out.contains(" PASS: ") && !out.contains('\x1b'), "{out:?}");
    let (_, out, _) = t.run(&["doctor", "--color", "always"]);
    assert!(out.contains("\x1b[32mok  \x1b[0m  "), "{out:?}");
    let (code, _, err) = t.run(&["--color", "sometimes", "status"]);
    assert_eq!(code, 2);
    assert!(err.contains("always") && err.contains("never"), "{err}");

    // On a terminal (a pane of the test's tmux server): colored, unless NO_COLOR is set or
    // --color never. capture-pane -e keeps the attributes. A session kept open keeps the
    // server up between them.
    t.tmux(&["new-session", "-d", "-s", "keep", "sleep 300"]);
    let run_in_pane = |session: &str, env: &str, flags: &str| {
        let cmd = format!(
            "env -u TMUX AGENTS_TMUX_SOCKET={} TMUX_TMPDIR={} {env} {} {flags} status; echo END-OF-STATUS; sleep 60",
            t.socket,
            t.tmux_tmpdir.display(),
            env!("CARGO_BIN_EXE_agents"),
        );
        t.tmux(&[
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "200",
            "-y",
            "20",
            "-c",
            t.path().to_str().unwrap(),
            &cmd,
        ]);
        let mut screen = String::new();
        assert!(
            wait_until(20.0, || {
                screen = t.tmux(&["capture-pane", "-e", "-p", "-t", &format!("={session}:")]);
                screen.contains("END-OF-STATUS")
            }),
            "{session}: status did not finish:\n{screen}"
        );
        screen
    };
    let screen = run_in_pane("term", "NO_COLOR=", "");
    assert!(screen.contains("stopped"), "{screen}");
    assert!(
        screen.contains("\x1b[1m") && screen.contains("\x1b[2m"),
        "no color on a terminal:\n{screen:?}"
    );
    for (session, env, flags) in [
        ("nocolor", "NO_COLOR=1", ""),
        ("never", "NO_COLOR=", "--color never"),
    ] {
        let screen = run_in_pane(session, env, flags);
        assert!(screen.contains("stopped"), "{session}: {screen}");
        assert!(
            !screen.contains("\x1b[1m") && !screen.contains("\x1b[2m"),
            "{session}: colored:\n{screen:?}"
        );
    }
}

#[test]
fn phase_next_and_set_print_what_phase_show_prints() {
    let t = TestEnv::new();
    t.config(
        &(stopped_fleet("ph-")
            + "[loop]\nphases = [\n  { id = \"p1\", status = \"S1.md\" },\n  { id = \"p2\", status = \"S2.md\" },\n  { id = \"p3\", status = \"S3.md\" },\n]\n"),
    );
    let (code, moved, err) = t.run(&["phase", "next"]);
    assert_eq!(code, 0, "{err}");
    let (_, shown, _) = t.run(&["phase", "show"]);
    assert_eq!(moved, shown);
    assert_eq!(shown, "phase p2 [2/3] seq: p1 p2 p3\n");
    let (code, moved, err) = t.run(&["phase", "set", "p3"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(moved, "phase p3 [3/3] seq: p1 p2 p3\n");
    assert_eq!(moved, t.run(&["phase", "show"]).1);
}

#[test]
fn selftest_speaks_of_screens_and_rules_not_defect_numbers() {
    let t = TestEnv::new();
    let (code, out, err) = t.run(&["selftest"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.to_lowercase().contains("defect"), "{out}");
    assert!(out.contains("the lowest line decides"), "{out}");
}

#[test]
fn the_watchdog_log_stays_plain_though_its_pane_is_a_terminal() {
    let t = started(&fleet_config("wl-", 1, ""));
    let log = t.path().join(".agents/wl-watchdog.log");
    let mut text = String::new();
    assert!(
        wait_until(10.0, || {
            text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("[agents ")
        }),
        "no log lines in {}:\n{text}",
        log.display()
    );
    // Its stderr is a tmux pane, copied to the log file: `auto` leaves it plain.
    assert!(!text.contains('\x1b'), "{text:?}");
    assert_eq!(t.run(&["down"]).0, 0);
}

/// `agents ARGS` under `sh -c 'umask UMASK; exec agents ARGS'`; returns (code, stderr).
fn under_umask(t: &TestEnv, umask: &str, args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_agents"))
        .args(args)
        .current_dir(t.path())
        .env_remove("AGENTS_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn init_honours_the_umask_keeps_a_gitignore_mode_and_appends_through_its_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestEnv::new();
    // New files: 0666 less the umask, as `touch` and editors make them.
    let (code, err) = under_umask(&t, "022", &["init", "fresh", "--backend", "demo"]);
    assert_eq!(code, 0, "{err}");
    let fresh = t.path().join("fresh");
    for f in [
        "agents.toml",
        "agents.schema.json",
        "prompts/kickoff.md",
        "prompts/builder.md",
        ".gitignore",
    ] {
        assert_eq!(
            mode(&fresh.join(f)),
            0o644,
            "{f}: {:o}",
            mode(&fresh.join(f))
        );
    }
    let (code, err) = under_umask(&t, "002", &["init", "group", "--backend", "demo"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&t.path().join("group/agents.toml")), 0o664);

    // An existing .gitignore keeps its mode.
    let kept = t.path().join("kept");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(kept.join(".gitignore"), "target/\n").unwrap();
    std::fs::set_permissions(
        kept.join(".gitignore"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let (code, err) = under_umask(&t, "022", &["init", "kept", "--backend", "demo"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&kept.join(".gitignore")), 0o640);
    assert!(
        std::fs::read_to_string(kept.join(".gitignore"))
            .unwrap()
            .ends_with("/.agents/\n")
    );

    // A symlinked .gitignore (a shared one, dotfiles): its target gets the line, the link
    // stays a link.
    let linked = t.path().join("linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::fs::write(t.path().join("shared-ignore"), "node_modules/").unwrap();
    std::os::unix::fs::symlink("../shared-ignore", linked.join(".gitignore")).unwrap();
    let (code, err) = under_umask(&t, "022", &["init", "linked", "--backend", "demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(linked.join(".gitignore"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the .gitignore link was replaced by a file"
    );
    assert_eq!(
        std::fs::read_to_string(t.path().join("shared-ignore")).unwrap(),
        "node_modules/\n# agents: session logs, events.jsonl and state (log_dir of agents.toml)\n/.agents/\n"
    );
}
