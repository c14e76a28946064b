//! `agents selftest` — detection regression checks that need no config, tmux or network: the
//! original's three footer-UI checks, rules the original got wrong (SPEC §9), and every captured
//! screen in `tests/fixtures/panes/` (built in, see [`crate::detect::fixtures`]), each read by
//! the built-in preset it belongs to, then again as if read in this machine's zone (`$TZ`):
//! a screen must say the same whatever zone the watchdog runs in. Every check goes through the
//! code the watchdog uses.
//! Prints one `PASS`/`FAIL`/`SKIP` line per check and `N passed, M failed`; exit 1 on any
//! failure.
//!
//! `agents selftest --pane FILE [--backend NAME] [--json] [--now RFC3339]` reads one captured
//! screen instead and says what the watchdog would see: the state, the rule and the line that
//! decided it, and for a limit the reset the banner names, whether the CLI continues by itself
//! and the key that answers a limit chooser.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use chrono::{DateTime, FixedOffset};

use crate::cli::SelftestArgs;
use crate::config::{self, Backend, EnvOverrides, presets};
use crate::ctx::Ctx;
use crate::detect::{self, Reading, State, fixtures};

/// One named check and whether it passed.
pub(crate) type Check = (&'static str, bool);

/// Runs the built-in checks (not the fixtures); returns them in order.
pub(crate) fn checks() -> Vec<Check> {
    let (Some(opencode), Some(claude), Some(demo)) = (
        presets::backend("opencode"),
        presets::backend("claude"),
        presets::backend("demo"),
    ) else {
        return vec![("the opencode, claude and demo presets load", false)];
    };
    let state = |b: &Backend, pane: &str| detect::read(b, pane).state;

    let idle = "\n ▣ Build · GPT-5.4 · 2m 19s\n 178.4K (17%) ctrl+p commands\n";
    let active = "\n ~ Preparing patch...\n ⬝⬝⬝■■ esc interrupt 137.6K\n";
    let limit = format!("{idle}\nYou've hit your weekly limit · resets Jun 16, 10pm\n");
    let stale_then_fatal = "✶ Working on it… (3s · esc to interrupt)\noutput\nFATAL: session state corrupted (demo)\n❯ \n";
    let msg = "Your full kickoff prompt is in /tmp/k.txt — read it now";
    let echoed = format!("> {msg}\n\n⏺ Reading the file\n1\n2\n3\n4\n5\n6\n❯ \n");
    let exec = crate::launch::command::build(
        &demo,
        &crate::launch::command::LaunchInputs {
            session: "s",
            dir: Path::new("/w"),
            kickoff_file: Path::new("/k/it's $HOME.txt"),
            model: Some("m\"; rm -rf ~"),
            resume_id: None,
            settings: None,
            hook_args: &[],
        },
    );

    vec![
        (
            "footer_ui idle footer is idle (opencode)",
            state(&opencode, idle) != State::Active,
        ),
        (
            "footer_ui active footer is active (opencode)",
            state(&opencode, active) == State::Active,
        ),
        (
            "limit banner + idle footer is not active (opencode)",
            state(&opencode, &limit) != State::Active,
        ),
        (
            "a fatal screen below a stale working line is fatal (the lowest line decides)",
            state(&demo, stale_then_fatal) == State::Fatal,
        ),
        (
            "a working line below an old fatal line is active (the lowest line decides)",
            state(
                &demo,
                "FATAL: session state corrupted (demo)\n✶ Working on it… (1s · esc to interrupt)\n",
            ) == State::Active,
        ),
        (
            "a ^-anchored rule matches on every line of the screen, not only the first",
            state(&demo, "row one\nFATAL: session state corrupted (demo)\n") == State::Fatal,
        ),
        (
            "limit banner below an idle prompt is a limit (claude)",
            state(
                &claude,
                "❯ go on\n  ⎿  You've hit your session limit · resets 11pm (America/New_York)\n───\n❯ \n───\n",
            ) == State::Limited,
        ),
        (
            "a reply quoting a limit banner, a dialog or an error is idle (claude)",
            [
                "  You've hit your session limit · resets 6:50pm (America/Los_Angeles)",
                "  Do you want to proceed?",
                "  Unable to connect to Anthropic services",
            ]
            .iter()
            .all(|q| {
                state(
                    &claude,
                    &format!("❯ explain\n● It prints:\n{q}\n───\n❯ \n───\n"),
                ) == State::Idle
            }),
        ),
        (
            "a `## DONE CRITERIA` heading does not finish a phase",
            !crate::phase::is_done("## DONE CRITERIA\n- tests pass\n", "## DONE"),
        ),
        (
            "an empty or placeholder `## DONE` does not finish a phase",
            !crate::phase::is_done("## DONE\n\n## Next\nx\n", "## DONE")
                && !crate::phase::is_done(
                    "## DONE\nnot yet — written here only when all gates pass\n",
                    "## DONE",
                )
                && !crate::phase::is_done("## DONE\n- [ ] not yet\n", "## DONE")
                && !crate::phase::is_done("## DONE\n`TBD`\n", "## DONE"),
        ),
        (
            "a real verdict under `## DONE` is DONE",
            crate::phase::is_done("## DONE\nAll gates verified by the adversary.\n", "## DONE"),
        ),
        (
            "a prompt echoed into the transcript counts as submitted",
            crate::launch::ping::submitted(&claude, &echoed, msg),
        ),
        (
            "quotes and $ in paths and models stay one argument each",
            exec.argv
                == [
                    "bash",
                    "examples/fake-agent.sh",
                    "/k/it's $HOME.txt",
                    "s",
                    "m\"; rm -rf ~",
                ],
        ),
    ]
}

/// Runs `agents selftest` with `args`; `config` is the global `--config`. A failed check
/// is not an error: it makes the exit code 1.
///
/// # Errors
///
/// A flag that needs `--pane` without it; with `--pane`, a screen file that cannot be read
/// ([`read_pane`]), a bad `--now` or no backend to read it with ([`pick_backend`]); writing
/// to stdout fails.
pub(crate) fn run(args: &SelftestArgs, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    if let Some(pane) = &args.pane {
        run_pane(args, pane, config)
    } else {
        for (flag, given) in [
            ("--backend", args.backend.is_some()),
            ("--now", args.now.is_some()),
            ("--json", args.json),
        ] {
            if given {
                bail!(
                    "{flag} only applies to one screen\n  help: add --pane FILE (a captured screen), or drop {flag} to run every check"
                );
            }
        }
        run_checks()
    }
}

/// The checks and the fixtures, one line each, then the totals. A closed stdout is an
/// error (`agents selftest | head` exits 0 through it, see `lib::run`).
fn run_checks() -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let mut passed = 0;
    let mut failed = 0;
    let mut skipped = 0;
    let on = crate::color::stdout();
    let pass = crate::color::paint(on, crate::color::GREEN, "PASS");
    let fail = crate::color::paint(on, crate::color::RED, "FAIL");
    let skip = crate::color::paint(on, crate::color::YELLOW, "SKIP");
    for (name, ok) in checks() {
        writeln!(out, " {}: {name}", if ok { &pass } else { &fail })?;
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
    }
    for o in fixtures::run() {
        match &o.verdict {
            fixtures::Verdict::Pass => {
                passed += 1;
                let r = o.reading.as_ref().map_or("", |r| r.state.as_str());
                writeln!(out, " {pass}: screen {} is {r}", o.file)?;
            }
            fixtures::Verdict::Skip(why) => {
                skipped += 1;
                writeln!(out, " {skip}: screen {}: {why}", o.file)?;
            }
            fixtures::Verdict::Fail(msg) => {
                failed += 1;
                writeln!(out, " {fail}: screen {}: {msg}", o.file)?;
            }
        }
    }
    // What a screen says must not depend on the zone the watchdog runs in (a zone-free clock
    // keeps its wall-clock time): read every screen again in this machine's zone.
    let zone = detect::reset::local_zone();
    let mut differ = 0;
    for o in fixtures::run_in(Some(zone)) {
        if let fixtures::Verdict::Fail(msg) = &o.verdict {
            differ += 1;
            writeln!(
                out,
                " {fail}: in this machine's zone {zone}, {}: {msg}",
                o.file
            )?;
        }
    }
    if differ == 0 {
        passed += 1;
        writeln!(
            out,
            " {pass}: every captured screen reads the same in this machine's zone ({zone})"
        )?;
    } else {
        failed += differ;
    }
    let skipped = if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    };
    writeln!(out, "{passed} passed, {failed} failed{skipped}")?;
    out.flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--live`: reads the screen of every running agent of the config (one `list-panes` and one
/// capture call, as the watchdog does) and prints what each says, with its backend's rules.
/// `--backend` and `--now` do not apply (each agent's own backend; captured now).
///
/// # Errors
///
/// `--backend` or `--now` given, tmux failing, no agent running, writing to stdout fails.
///
/// # Panics
///
/// Never: the one `expect` restates that the panes read are those of listed sessions.
pub(crate) async fn run_live(ctx: &Ctx, args: &SelftestArgs) -> anyhow::Result<ExitCode> {
    for (flag, given) in [
        ("--backend", args.backend.is_some()),
        ("--now", args.now.is_some()),
    ] {
        if given {
            bail!(
                "{flag} does not apply to --live: each agent is read with its own backend, as captured now\n  help: drop {flag}"
            );
        }
    }
    let cfg = &ctx.cfg;
    let sessions = ctx.mux.sessions().await?;
    let running: Vec<&crate::config::Agent> = cfg
        .agents
        .iter()
        .filter(|a| sessions.get(&a.session).is_some())
        .collect();
    if running.is_empty() {
        bail!(
            "no agent of {} is running, so there is no screen to read\n  help: start the fleet with `agents up`",
            cfg.path.display()
        );
    }
    let live: Vec<String> = running
        .iter()
        .filter(|a| sessions.is_live(&a.session))
        .map(|a| a.session.clone())
        .collect();
    let panes = ctx.tmux.capture_many(&live).await;
    let manifest = ctx.state.manifest().load().unwrap_or_default();
    let captured = chrono::Local::now().fixed_offset();
    let local = detect::reset::local_zone();
    let mut out = std::io::stdout().lock();
    let mut docs = Vec::new();
    for a in running {
        let backend = cfg.backend_of(a);
        let pane = sessions.get(&a.session).expect("filtered on it above");
        let live = detect::Liveness {
            process: crate::launch::proctree::follow(
                manifest
                    .sessions
                    .get(&a.session)
                    .filter(|e| e.name == a.name)
                    .and_then(|e| e.process),
                pane,
            ),
            showed_program: false,
        };
        let r = detect::liveness(backend, pane, &live).unwrap_or_else(|| {
            panes.get(&a.session).map_or_else(Reading::nothing, |t| {
                detect::classify(backend, t, captured, local)
            })
        });
        // As the watchdog reads it (detect::correct): a footer TUI's recent log is work, the
        // newest hook of the pane's process corrects an idle screen.
        let started = manifest
            .sessions
            .get(&a.session)
            .map(|e| e.started.as_str());
        let beside = ctx.beside(backend, &a.session, started);
        let hook = beside.hook();
        let r = detect::correct(backend, r, beside.log_age, hook.as_ref(), captured, local);
        if args.json {
            let mut v = serde_json::to_value(JsonReading::from(&r))?;
            v["name"] = a.name.clone().into();
            v["backend"] = a.backend.clone().into();
            v["session"] = a.session.clone().into();
            docs.push(v);
        } else {
            writeln!(
                out,
                "== {} (session {}, backend {})",
                a.name, a.session, a.backend
            )?;
            writeln!(out, "{}\nsource: {}", describe(&r), r.source())?;
        }
    }
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&docs)?)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `--pane FILE`: reads one screen and prints what it says.
fn run_pane(args: &SelftestArgs, pane: &Path, config: Option<&Path>) -> anyhow::Result<ExitCode> {
    let text = read_pane(pane)?;
    let captured = capture_time(args.now.as_deref())?;
    let (backend, _) = pick_backend(args.backend.as_deref(), config)?;
    let r = detect::classify(&backend, &text, captured, detect::reset::local_zone());
    let out = if args.json {
        serde_json::to_string(&JsonReading::from(&r))?
    } else {
        describe(&r)
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{out}")?;
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The text of a captured screen, or an error that names the file and says what is wrong:
/// missing or unreadable, empty, binary (a NUL byte) or not UTF-8.
///
/// # Errors
///
/// Any of those, naming the file.
pub(crate) fn read_pane(path: &Path) -> anyhow::Result<String> {
    let help = "help: give a text file holding a captured screen, e.g. `tmux capture-pane -p -J -t SESSION > pane.txt`";
    let bytes = std::fs::read(path).map_err(|e| {
        anyhow::anyhow!("cannot read --pane file {}: {e}\n  {help}", path.display())
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        bail!(
            "--pane file {} is empty: there is no screen to read\n  {help}",
            path.display()
        );
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        bail!(
            "--pane file {} is binary (a NUL byte at offset {at}), not a captured screen\n  {help}",
            path.display()
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "--pane file {} is not UTF-8 text (an invalid byte at offset {}), not a captured screen\n  {help}",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// `--now`, or the current time in the local zone.
///
/// # Errors
///
/// `now` is not an RFC 3339 time with an offset.
pub(crate) fn capture_time(now: Option<&str>) -> anyhow::Result<DateTime<FixedOffset>> {
    match now {
        None => Ok(chrono::Utc::now()
            .with_timezone(&detect::reset::local_zone())
            .fixed_offset()),
        Some(s) => DateTime::parse_from_rfc3339(s.trim()).map_err(|e| {
            anyhow::anyhow!(
                "--now {s:?} is not an RFC 3339 time ({e})\n  help: give a date, a time and an offset, e.g. --now 2026-11-20T19:46:00-05:00 (or Z for UTC)"
            )
        }),
    }
}

/// The backend that reads the screen, and where it came from (`preset` or the config path).
/// With a config (`--config`, `$AGENTS_CONFIG` or an agents.toml found upward), `name` is a
/// backend of it or a preset, and may be left out when the config has one backend only.
/// Without one, `name` must be a preset.
///
/// # Errors
///
/// A config given that cannot be found or loaded, an unknown backend or preset name, no
/// name with a config of several backends (or without a config), a broken preset.
pub(crate) fn pick_backend(
    name: Option<&str>,
    config: Option<&Path>,
) -> anyhow::Result<(Backend, String)> {
    let found = if config.is_some() || std::env::var_os("AGENTS_CONFIG").is_some() {
        Some(crate::config::find(config)?)
    } else {
        crate::config::find(None).ok()
    };
    let Some(path) = found else {
        let Some(name) = name else {
            bail!(
                "--backend is required when there is no agents.toml\n  help: name the preset that reads the screen: {}",
                presets::names().join(", ")
            );
        };
        let b = presets::load(name)?.ok_or_else(|| super::unknown_preset(name))?;
        return Ok((b, "preset".into()));
    };
    let cfg = config::load(&path, EnvOverrides::Ignore)?;
    crate::config::log_warnings(&cfg);
    let origin = path.display().to_string();
    let mut names: Vec<String> = cfg.backends.keys().cloned().collect();
    for p in presets::names() {
        if !names.iter().any(|n| n == p) {
            names.push(p.to_string());
        }
    }
    let name = match name {
        Some(n) => n.to_string(),
        None if cfg.backends.len() == 1 => cfg.backends.keys().next().cloned().unwrap_or_default(),
        None => bail!(
            "--backend is required: {} names {} backends\n  help: one of {}",
            origin,
            cfg.backends.len(),
            names.join(", ")
        ),
    };
    if let Some(b) = cfg.backends.get(&name) {
        return Ok((b.clone(), origin));
    }
    if let Some(b) = presets::load(&name)? {
        return Ok((b, "preset".into()));
    }
    let hint = config::diagnostic::did_you_mean(&name, names.iter().map(String::as_str))
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default();
    bail!(
        "unknown backend {name:?}{hint}: it is neither in {origin} nor a preset\n  help: one of {}",
        names.join(", ")
    )
}

/// `{"state","rule","line","reset","continues","choice"}`; `line`, `reset` and `choice` are
/// null when there is none. `reset` is RFC 3339 with the offset it was read in. (Tests
/// only: `--json` serializes [`JsonReading`] itself.)
#[cfg(test)]
pub(crate) fn json(r: &Reading) -> serde_json::Value {
    serde_json::to_value(JsonReading::from(r)).unwrap_or_default()
}

/// What `--json` prints, in this key order.
#[derive(serde::Serialize)]
struct JsonReading<'a> {
    state: &'static str,
    /// `screen`, `hook` or `process` ([`Reading::source`]).
    source: &'static str,
    rule: &'static str,
    line: Option<&'a str>,
    reset: Option<String>,
    continues: bool,
    choice: Option<&'a str>,
}

impl<'a> From<&'a Reading> for JsonReading<'a> {
    fn from(r: &'a Reading) -> Self {
        Self {
            state: r.state.as_str(),
            source: r.source(),
            rule: r.rule,
            line: r.line.as_deref(),
            reset: r.reset.as_ref().map(|x| x.at.to_rfc3339()),
            continues: r.continues,
            choice: r.choice.as_deref(),
        }
    }
}

/// The reading for a person: one `key: value` line each.
pub(crate) fn describe(r: &Reading) -> String {
    let mut s = format!(
        "state: {}\nrule:  {}\nline:  {}",
        r.state.as_str(),
        r.rule,
        r.line.as_deref().unwrap_or("(no rule matched: idle)")
    );
    if r.state == State::Limited {
        match &r.reset {
            Some(x) => s.push_str(&format!(
                "\nreset: {} (from {:?})",
                x.at.to_rfc3339(),
                x.text
            )),
            None => {
                s.push_str("\nreset: none named (the watchdog probes every limit_probe_fallback)");
            }
        }
        s.push_str(if r.continues {
            "\ncontinues: yes (the CLI resumes by itself; nothing is typed)"
        } else {
            "\ncontinues: no"
        });
        if let Some(k) = &r.choice {
            s.push_str(&format!("\nchoice: {k} (the limit chooser's wait option)"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_selftest_check_passes() {
        for (name, ok) in checks() {
            assert!(ok, "selftest check failed: {name}");
        }
    }

    #[test]
    fn now_must_be_rfc3339_with_an_offset() {
        let t = capture_time(Some("2026-11-20T19:46:00-05:00")).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-20T19:46:00-05:00");
        for bad in ["2026-11-20 19:46", "tomorrow", "2026-11-20T19:46:00", ""] {
            let e = capture_time(Some(bad)).unwrap_err().to_string();
            assert!(
                e.contains("--now") && e.contains("2026-11-20T19:46:00-05:00"),
                "{e}"
            );
        }
    }

    #[test]
    fn describe_and_json_show_the_evidence() {
        let b = presets::backend("claude").unwrap();
        let pane = fixtures::pane("claude_2.1.330_limit_chooser_wait_option.txt").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-11-21T15:58:30-05:00").unwrap();
        let r = detect::classify(
            &b,
            pane,
            at,
            "America/New_York".parse::<detect::Tz>().unwrap(),
        );
        let text = describe(&r);
        assert!(
            text.starts_with("state: limited\nrule:  limit_re\n"),
            "{text}"
        );
        assert!(text.contains("You've hit your 5-hour limit"), "{text}");
        assert!(text.contains("choice: 1"), "{text}");
        let j = json(&r);
        assert_eq!(j["state"], "limited");
        assert_eq!(j["choice"], "1");
        assert_eq!(j["continues"], false);
        let idle = detect::classify(&b, "hello\n", at, detect::Tz::UTC);
        assert_eq!(json(&idle)["line"], serde_json::Value::Null);
        assert_eq!(json(&idle)["reset"], serde_json::Value::Null);
    }
}
