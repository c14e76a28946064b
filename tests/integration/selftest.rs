//! `agents selftest` (the checks and every captured screen), `selftest --pane`, `agents
//! presets` and `agents init --backend`: what a user sees on stdout and stderr, and the exit
//! codes. None of these needs tmux, except `status` used to prove a written config loads.

use std::path::{Path, PathBuf};

use crate::util::TestEnv;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/panes")
        .join(name)
        .display()
        .to_string()
}

fn preset_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("src/presets/{name}.toml"))
}

fn assert_no_panic(stderr: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "the program panicked:\n{stderr}"
    );
}

/// `agents selftest --pane FILE ARGS` with TZ set; (code, stdout, stderr).
fn pane(t: &TestEnv, file: &str, args: &[&str]) -> (i32, String, String) {
    let out = t
        .cmd()
        .env("TZ", "America/New_York")
        .args(["selftest", "--pane", file])
        .args(args)
        .output()
        .expect("run agents");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

// ── selftest: the checks and every screen ─────────────────────────────────────────────────

#[test]
fn selftest_checks_every_captured_screen_and_passes() {
    let t = TestEnv::new();
    let (code, out, err) = t.run(&["selftest"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let screens =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/panes"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".txt")
            })
            .count();
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(": screen ")).collect();
    assert_eq!(lines.len(), screens, "one line per screen:\n{out}");
    for want in [
        " PASS: screen claude_2.1.197_limit_session_minutes_la.txt is limited",
        " PASS: screen claude_2.1.197_context_limit_reached.txt is fatal",
        " PASS: screen codex_0.169.0_error_high_demand_idle.txt is idle",
        " PASS: screen gemini_0.61.0_auth_dialog.txt is dialog",
        " PASS: screen opencode_1.18.33_active_esc_interrupt.txt is active",
        " SKIP: screen pi_0.73.0_codex_usage_limit_raw_json.txt: no preset for pi",
        " PASS: footer_ui idle footer is idle (opencode)",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
    assert!(!out.contains("FAIL"), "{out}");
    let last = out.lines().last().unwrap_or("");
    let passed: usize = last
        .strip_suffix(" passed, 0 failed, 1 skipped")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("last line: {last:?}"));
    assert_eq!(
        passed,
        out.lines().filter(|l| l.starts_with(" PASS")).count()
    );
}

#[test]
fn selftest_into_a_closed_pipe_exits_quietly() {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' selftest | head -n 1",
            env!("CARGO_BIN_EXE_agents")
        ))
        .output()
        .expect("sh");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_no_panic(&err);
    assert!(err.is_empty(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn selftest_flags_for_one_screen_need_pane() {
    let t = TestEnv::new();
    let (code, _, err) = t.run(&["selftest", "--json"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--json") && err.contains("--pane"), "{err}");
    let (code, _, err) = t.run(&["selftest", "--live", "--pane", "x.txt"]);
    assert_eq!(code, 2, "--live and --pane conflict (a usage error): {err}");
    // --live reads a fleet: without a config it says where it looked.
    let (code, _, err) = t.run(&["selftest", "--live"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no agents.toml found"), "{err}");
    assert_no_panic(&err);
}

// ── selftest --pane ───────────────────────────────────────────────────────────────────────

#[test]
fn pane_prints_state_rule_line_and_reset() {
    let t = TestEnv::new();
    let f = fixture("claude_2.1.197_limit_session_minutes_la.txt");
    let (code, out, err) = pane(
        &t,
        &f,
        &["--backend", "claude", "--now", "2026-11-20T15:00:00-08:00"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("state: limited"), "{out}");
    assert!(out.contains("rule:  limit_re"), "{out}");
    assert!(
        out.contains(
            "line:  ⎿  You've hit your session limit · resets 6:50pm (America/Los_Angeles)"
        ),
        "{out}"
    );
    assert!(out.contains("reset: 2026-11-20T18:50:00-08:00"), "{out}");
    assert!(out.contains("continues: no"), "{out}");

    let f = fixture("codex_0.169.0_active_working.txt");
    let (code, out, err) = pane(&t, &f, &["--backend", "codex"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("state: active\nrule:  active_re\n"),
        "{out}"
    );
    assert!(out.contains("• Working (3s • esc to interrupt)"), "{out}");
    assert!(!out.contains("reset:"), "a reset only for a limit:\n{out}");
}

#[test]
fn pane_json_has_the_documented_fields() {
    let t = TestEnv::new();
    let f = fixture("codex_0.169.0_limit_team_stacked.txt");
    let (code, out, err) = pane(
        &t,
        &f,
        &[
            "--backend",
            "codex",
            "--json",
            "--now",
            "2026-11-20T19:45:00-05:00",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let j = json(&out);
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    for k in [
        "state",
        "source",
        "rule",
        "line",
        "reset",
        "continues",
        "choice",
    ] {
        assert!(j.get(k).is_some(), "no {k:?} in {out}");
    }
    assert_eq!(keys.len(), 7, "{out}");
    assert_eq!(j["source"], "screen");
    assert_eq!(j["state"], "limited");
    assert_eq!(j["rule"], "limit_re");
    // The newest of the three stacked banners, read in $TZ (Codex names no zone).
    assert_eq!(j["reset"], "2026-11-20T23:15:00-05:00");
    assert!(
        j["line"]
            .as_str()
            .unwrap()
            .contains("try again at 11:15 PM"),
        "{out}"
    );

    // The CLI continues by itself: nothing may be typed.
    let f = fixture("claude_2.1.330_limit_5hour_auto_continue_set.txt");
    let (_, out, _) = pane(
        &t,
        &f,
        &[
            "--backend",
            "claude",
            "--json",
            "--now",
            "2026-11-21T15:58:30-05:00",
        ],
    );
    let j = json(&out);
    assert_eq!(j["continues"], true, "{out}");
    assert_eq!(j["reset"], "2026-11-21T15:59:00-05:00", "{out}");

    // A limit chooser: the key of its wait option.
    let f = fixture("claude_2.1.330_limit_chooser_wait_option.txt");
    let (_, out, _) = pane(&t, &f, &["--backend", "claude", "--json"]);
    assert_eq!(json(&out)["choice"], "1", "{out}");

    // Nothing named: null reset, and for an idle screen a null line.
    let f = fixture("claude_2.1.197_idle_welcome.txt");
    let (_, out, _) = pane(&t, &f, &["--backend", "claude", "--json"]);
    let j = json(&out);
    assert_eq!(j["state"], "idle");
    assert_eq!(j["reset"], serde_json::Value::Null);
    assert_eq!(j["line"], serde_json::Value::Null);
    assert_eq!(j["choice"], serde_json::Value::Null);
}

#[test]
fn pane_traps_are_not_limits() {
    let t = TestEnv::new();
    for (file, backend, state) in [
        (
            "claude_2.1.197_context_limit_reached.txt",
            "claude",
            "fatal",
        ),
        (
            "claude_1.0.x_opus_fallback_not_limit_embedded.txt",
            "claude",
            "active",
        ),
        ("claude_2.1.197_api_error_retrying.txt", "claude", "active"),
        (
            "opencode_1.18.33_rate_limit_retrying_wrapped.txt",
            "opencode",
            "active",
        ),
        ("codex_0.169.0_reconnecting.txt", "codex", "active"),
    ] {
        let (code, out, err) = pane(&t, &fixture(file), &["--backend", backend, "--json"]);
        assert_eq!(code, 0, "{file}: {err}");
        assert_eq!(json(&out)["state"], state, "{file}: {out}");
    }
    let f = t.write(
        "warning.txt",
        "❯ go on\n● Done.\n  You've used 93% of your session limit · resets 10pm (America/New_York)\n",
    );
    let (_, out, _) = pane(&t, f.to_str().unwrap(), &["--backend", "claude", "--json"]);
    assert_ne!(json(&out)["state"], "limited", "{out}");
}

#[test]
fn pane_bad_input_is_a_clear_error() {
    let t = TestEnv::new();
    let ok = fixture("gemini_0.61.0_idle.txt");
    let empty = t.write("empty.txt", "");
    let blank = t.write("blank.txt", "\n  \n");
    let nul = t.write("nul.txt", "state\0more");
    let latin1 = t.path().join("latin1.txt");
    std::fs::write(&latin1, b"caf\xe9 au lait\n").unwrap();
    let dir = t.path().to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, &[&str])> = vec![
        (
            vec![
                t.path().join("missing.txt").display().to_string(),
                "--backend".into(),
                "claude".into(),
            ],
            &["cannot read --pane file", "missing.txt", "No such file"],
        ),
        (
            vec![dir.clone(), "--backend".into(), "claude".into()],
            &["cannot read --pane file"],
        ),
        (
            vec![
                empty.display().to_string(),
                "--backend".into(),
                "claude".into(),
            ],
            &["empty.txt", "is empty"],
        ),
        (
            vec![
                blank.display().to_string(),
                "--backend".into(),
                "claude".into(),
            ],
            &["blank.txt", "is empty"],
        ),
        (
            vec![
                nul.display().to_string(),
                "--backend".into(),
                "claude".into(),
            ],
            &["nul.txt", "binary", "NUL"],
        ),
        (
            vec![
                latin1.display().to_string(),
                "--backend".into(),
                "claude".into(),
            ],
            &["latin1.txt", "not UTF-8"],
        ),
        (
            vec![
                ok.clone(),
                "--backend".into(),
                "gemini".into(),
                "--now".into(),
                "2026-11-20 19:46".into(),
            ],
            &["--now", "not an RFC 3339 time", "2026-11-20T19:46:00-05:00"],
        ),
        (
            vec![ok.clone(), "--backend".into(), "gemeni".into()],
            &[
                "unknown preset \"gemeni\"",
                "did you mean \"gemini\"",
                "claude, codex, gemini, opencode, aider, demo",
            ],
        ),
        (
            vec![ok.clone()],
            &[
                "--backend is required",
                "claude, codex, gemini, opencode, aider, demo",
            ],
        ),
    ];
    for (args, wants) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = pane(&t, args[0], &args[1..]);
        assert_eq!(code, 1, "{args:?}: {out}{err}");
        assert_no_panic(&err);
        assert!(out.is_empty(), "{args:?} printed a reading:\n{out}");
        for w in wants {
            assert!(err.contains(w), "{args:?}: no {w:?} in:\n{err}");
        }
        assert!(err.contains("help:"), "{args:?}: no fix named:\n{err}");
    }
}

/// A user's rule matches in either case, letters beyond ASCII too: `Ошибка сети` reads a
/// screen that prints `ОШИБКА СЕТИ` (its literal was once used to skip the rule, and ASCII
/// lowercasing does not fold Cyrillic).
#[test]
fn a_rule_with_letters_beyond_ascii_matches_them_in_either_case() {
    let t = TestEnv::new();
    let cfg = t.config(
        "[defaults]\nsession_prefix = \"p-\"\nlog_dir = \"logs\"\n\n\
         [backend.ru]\nbin = \"ru\"\nfatal_re = \"Ошибка сети\"\n",
    );
    t.write(
        "pane.txt",
        "some output\nОШИБКА СЕТИ: соединение потеряно\n> \n",
    );
    let cfg = cfg.to_str().unwrap();
    let (code, out, err) = pane(
        &t,
        "pane.txt",
        &["--config", cfg, "--backend", "ru", "--json"],
    );
    assert_eq!(code, 0, "{err}");
    let j = json(&out);
    assert_eq!(j["state"], "fatal", "{out}");
    assert_eq!(j["rule"], "fatal_re", "{out}");
}

#[test]
fn pane_with_a_config_reads_its_backends_and_the_presets() {
    let t = TestEnv::new();
    let cfg = t.config(
        "[defaults]\nsession_prefix = \"p-\"\nlog_dir = \"logs\"\n\n\
         [backend.mine]\nbin = \"mine\"\nlimit_re = \"Working\"\n\n\
         [backend.claude]\nactive_re = \"What should Claude do instead\"\n",
    );
    let cfg = cfg.to_str().unwrap();
    let f = fixture("claude_2.1.197_interrupted.txt");
    // A backend only the config has.
    let (code, out, err) = pane(&t, &f, &["--config", cfg, "--backend", "mine", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["state"], "limited", "{out}");
    // The config's [backend.claude] overrides the preset key by key.
    let (_, out, _) = pane(&t, &f, &["--config", cfg, "--backend", "claude", "--json"]);
    assert_eq!(json(&out)["state"], "active", "{out}");
    // Found upward without --config, too.
    let (_, out, _) = pane(&t, &f, &["--backend", "mine", "--json"]);
    assert_eq!(json(&out)["state"], "limited", "{out}");
    // A preset the config does not name is still there.
    let (code, out, err) = pane(&t, &f, &["--config", cfg, "--backend", "codex", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["state"], "idle", "{out}");
    // Unknown: the config's backends and the presets are listed.
    let (code, _, err) = pane(&t, &f, &["--config", cfg, "--backend", "min"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("unknown backend \"min\"") && err.contains("did you mean \"mine\""),
        "{err}"
    );
    assert!(err.contains("mine") && err.contains("aider"), "{err}");
    // Two backends, no --backend: which one?
    let (code, _, err) = pane(&t, &f, &["--config", cfg]);
    assert_eq!(code, 1);
    assert!(err.contains("--backend is required"), "{err}");
    // An explicit --config that does not exist is an error, not a silent fallback.
    let (code, _, err) = pane(&t, &f, &["--config", "nope.toml", "--backend", "claude"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nope.toml"), "{err}");
    assert_no_panic(&err);
}

// ── presets ───────────────────────────────────────────────────────────────────────────────

#[test]
fn presets_lists_every_preset_and_prints_one_verbatim() {
    let t = TestEnv::new();
    let (code, out, err) = t.run(&["presets"]);
    assert_eq!(code, 0, "{err}");
    for name in ["claude", "codex", "gemini", "opencode", "aider", "demo"] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} in:\n{out}"));
        assert!(line.len() > 20, "no description: {line:?}");
    }
    assert!(out.contains("Claude Code"), "{out}");
    for name in ["claude", "codex", "gemini", "opencode", "aider", "demo"] {
        let (code, out, err) = t.run(&["presets", name]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            out,
            std::fs::read_to_string(preset_file(name)).unwrap(),
            "{name}"
        );
    }
    let (code, out, err) = t.run(&["presets", "cluade"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("unknown preset \"cluade\"") && err.contains("did you mean \"claude\""),
        "{err}"
    );
    assert!(
        err.contains("claude, codex, gemini, opencode, aider, demo"),
        "{err}"
    );
}

#[test]
fn a_printed_preset_pasted_under_its_table_loads_and_reads_the_same() {
    let t = TestEnv::new();
    let (_, rules, _) = t.run(&["presets", "codex"]);
    let cfg = t.config(&format!(
        "[defaults]\nsession_prefix = \"p-\"\nlog_dir = \"logs\"\n\n[backend.mycodex]\n{rules}"
    ));
    let f = fixture("codex_0.169.0_limit_enterprise_tryagainat.txt");
    let now = "2026-11-20T19:45:00-05:00";
    let (code, pasted, err) = pane(
        &t,
        &f,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "--backend",
            "mycodex",
            "--json",
            "--now",
            now,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    std::fs::remove_file(&cfg).unwrap();
    let (_, preset, _) = pane(&t, &f, &["--backend", "codex", "--json", "--now", now]);
    assert_eq!(pasted, preset);
    assert_eq!(json(&preset)["reset"], "2026-11-25T08:19:00-05:00");
}

// ── init --backend ────────────────────────────────────────────────────────────────────────

#[test]
fn init_writes_a_config_that_uses_the_preset() {
    let t = TestEnv::new();
    let (code, _, err) = t.run(&["init", "proj", "--backend", "gemini"]);
    assert_eq!(code, 0, "{err}");
    let cfg = t.path().join("proj/agents.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("backend = \"gemini\""), "{text}");
    assert!(
        !text.contains("\n[backend.gemini]"),
        "a table would shadow the preset:\n{text}"
    );
    assert!(
        text.contains("# agents presets gemini") || text.contains("#   agents presets gemini"),
        "{text}"
    );
    let (code, out, err) = t.run(&["status", "--config", cfg.to_str().unwrap()]);
    assert_eq!(code, 3, "loads; nothing runs yet: {err}");
    assert!(out.contains("worker"), "{out}");
    assert!(!err.contains("warning"), "{err}");

    // Default: claude.
    let (code, _, err) = t.run(&["init", "dflt"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(t.path().join("dflt/agents.toml")).unwrap();
    assert!(text.contains("backend = \"claude\""), "{text}");

    // Unknown: nothing written, the presets listed.
    let (code, _, err) = t.run(&["init", "bad", "--backend", "clod"]);
    assert_eq!(code, 1);
    assert_no_panic(&err);
    assert!(
        err.contains("unknown preset \"clod\"") && err.contains("claude, codex"),
        "{err}"
    );
    assert!(!t.path().join("bad").exists());
}
