//! The captured screens in `tests/fixtures/panes/` (real screens drawn by the real CLIs; where
//! each came from is in its `INDEX.toml`) and what each must classify as (`EXPECT.toml`),
//! built into the binary so `agents selftest` needs no files at run time.
//!
//! [`run`] classifies every screen with the preset `EXPECT.toml` names, at the capture time
//! and in the zone it gives, and compares the state, the reset instant and, where given,
//! `continues` and `choice`.

use chrono::{DateTime, FixedOffset};
use serde::Deserialize;

use super::{Reading, State, Tz, classify};
use crate::config::presets;

macro_rules! pane {
    ($file:literal) => {
        (
            $file,
            include_str!(concat!("../../tests/fixtures/panes/", $file)),
        )
    };
}

/// `(file name, text)` of every screen in `tests/fixtures/panes/`, sorted by name.
pub const PANES: &[(&str, &str)] = &[
    pane!("aider_0.43.4_litellm_ratelimit_retry_embedded.txt"),
    pane!("aider_0.86.2_active_streaming.txt"),
    pane!("aider_0.86.2_confirm_add_file.txt"),
    pane!("aider_0.86.2_idle_reply_quotes_errors_embedded.txt"),
    pane!("aider_0.86.2_idle_start_offline_noise.txt"),
    pane!("aider_0.86.2_quota_exceeded_retrying_embedded.txt"),
    pane!("aider_0.86.2_rate_limited_retrying.txt"),
    pane!("claude_1.0.24_limit_old_format_etc_gmt_embedded.txt"),
    pane!("claude_1.0.83_print_mode_epoch_ist_embedded.txt"),
    pane!("claude_1.0.x_limit_old_format_no_zone_embedded.txt"),
    pane!("claude_1.0.x_opus_fallback_not_limit_embedded.txt"),
    pane!("claude_2.0.1_print_mode_epoch_embedded.txt"),
    pane!("claude_2.0.x_limit_opus_weekly_date_only_embedded.txt"),
    pane!("claude_2.1.197_active_streaming.txt"),
    pane!("claude_2.1.197_api_error_529_overloaded.txt"),
    pane!("claude_2.1.197_api_error_retrying.txt"),
    pane!("claude_2.1.197_context_limit_reached.txt"),
    pane!("claude_2.1.197_fatal_duplicate_tool_use_id.txt"),
    pane!("claude_2.1.197_idle_welcome.txt"),
    pane!("claude_2.1.197_interrupted.txt"),
    pane!("claude_2.1.197_limit_session_after_dialog.txt"),
    pane!("claude_2.1.197_limit_session_minutes_la.txt"),
    pane!("claude_2.1.197_limit_weekly_date_berlin.txt"),
    pane!("claude_2.1.197_not_logged_in_after_prompt.txt"),
    pane!("claude_2.1.197_offline_unable_to_connect.txt"),
    pane!("claude_2.1.259_limit_weekly_clock_madrid_embedded.txt"),
    pane!("claude_2.1.30_limit_hit_your_limit_embedded.txt"),
    pane!("claude_2.1.329_idle_auto_mode.txt"),
    pane!("claude_2.1.329_limit_weekly_after_dialog.txt"),
    pane!("claude_2.1.330_api_error_retrying.txt"),
    pane!("claude_2.1.330_dialog_bypass_permissions.txt"),
    pane!("claude_2.1.330_dialog_trust_folder.txt"),
    pane!("claude_2.1.330_fatal_api_error_rewind.txt"),
    pane!("claude_2.1.330_idle_reply_quotes_limit.txt"),
    pane!("claude_2.1.330_idle_reply_quotes_proceed.txt"),
    pane!("claude_2.1.330_idle_reply_quotes_rewind.txt"),
    pane!("claude_2.1.330_idle_reply_quotes_screens.txt"),
    pane!("claude_2.1.330_idle_reply_quotes_unable_to_connect.txt"),
    pane!("claude_2.1.330_limit_5hour_auto_continue_set.txt"),
    pane!("claude_2.1.330_limit_auto_continue_shortly.txt"),
    pane!("claude_2.1.330_limit_auto_continued.txt"),
    pane!("claude_2.1.330_limit_chooser_wait_option.txt"),
    pane!("codex_0.169.0_active_streaming.txt"),
    pane!("codex_0.169.0_active_streaming_clear_refused.txt"),
    pane!("codex_0.169.0_active_streaming_first_turn.txt"),
    pane!("codex_0.169.0_active_streaming_quotes_dialogs.txt"),
    pane!("codex_0.169.0_active_streaming_quotes_end_of_turn.txt"),
    pane!("codex_0.169.0_active_streaming_quotes_limit.txt"),
    pane!("codex_0.169.0_active_working.txt"),
    pane!("codex_0.169.0_active_working_before_first_words.txt"),
    pane!("codex_0.169.0_error_high_demand_idle.txt"),
    pane!("codex_0.169.0_fatal_context_window.txt"),
    pane!("codex_0.169.0_idle_after_clear_refused.txt"),
    pane!("codex_0.169.0_idle_after_reply.txt"),
    pane!("codex_0.169.0_idle_reply_quotes_rules.txt"),
    pane!("codex_0.169.0_idle_resumed_after_limit.txt"),
    pane!("codex_0.169.0_idle_start.txt"),
    pane!("codex_0.169.0_limit_enterprise_tryagainat.txt"),
    pane!("codex_0.169.0_limit_plus_proof.txt"),
    pane!("codex_0.169.0_limit_plus_sameday.txt"),
    pane!("codex_0.169.0_limit_team_stacked.txt"),
    pane!("codex_0.169.0_login_start.txt"),
    pane!("codex_0.169.0_reconnecting.txt"),
    pane!("codex_0.39.0_limit_relative_days_embedded.txt"),
    pane!("codex_exec_json_limit_clock_embedded.txt"),
    pane!("gemini_0.1.10_daily_quota_fallback_embedded.txt"),
    pane!("gemini_0.10.0_daily_quota_choice_embedded.txt"),
    pane!("gemini_0.61.0_active_hook_after_stop.txt"),
    pane!("gemini_0.61.0_active_hooks_under_quota_error.txt"),
    pane!("gemini_0.61.0_active_minute_quota_long_spinner.txt"),
    pane!("gemini_0.61.0_active_minute_quota_retry.txt"),
    pane!("gemini_0.61.0_active_streaming.txt"),
    pane!("gemini_0.61.0_active_thinking.txt"),
    pane!("gemini_0.61.0_auth_dialog.txt"),
    pane!("gemini_0.61.0_dialog_trust_folder_boxed.txt"),
    pane!("gemini_0.61.0_idle.txt"),
    pane!("gemini_0.61.0_idle_after_quota_retry.txt"),
    pane!("gemini_0.61.0_idle_after_reply.txt"),
    pane!("gemini_0.61.0_idle_reply_quotes_dialogs.txt"),
    pane!("gemini_0.61.0_idle_reply_quotes_limit.txt"),
    pane!("gemini_0.61.0_idle_reply_quotes_screens.txt"),
    pane!("gemini_0.61.0_idle_reply_quotes_spinner.txt"),
    pane!("gemini_0.61.0_idle_yolo.txt"),
    pane!("gemini_0.61.0_limit_after_stop_retry_in.txt"),
    pane!("gemini_0.61.0_limit_daily_quota_dialog.txt"),
    pane!("gemini_0.61.0_limit_daily_quota_stop.txt"),
    pane!("gemini_0.61.0_limit_dialog_access_resets_utc.txt"),
    pane!("gemini_0.61.0_limit_dialog_reset_est.txt"),
    pane!("gemini_0.61.0_limit_free_tier_zero.txt"),
    pane!("gemini_0.61.0_limit_long_retry_stop.txt"),
    pane!("gemini_0.61.0_trust_dialog_start.txt"),
    pane!("opencode_1.18.33_active_esc_interrupt.txt"),
    pane!("opencode_1.18.33_cannot_connect_retrying.txt"),
    pane!("opencode_1.18.33_idle_reply_quotes_errors_embedded.txt"),
    pane!("opencode_1.18.33_idle_start.txt"),
    pane!("opencode_1.18.33_rate_limit_retrying_wrapped.txt"),
    pane!("pi_0.73.0_codex_usage_limit_raw_json.txt"),
];

/// `tests/fixtures/panes/EXPECT.toml`: one `[[screen]]` per file.
pub const EXPECT: &str = include_str!("../../tests/fixtures/panes/EXPECT.toml");

/// One `[[screen]]` of `EXPECT.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The screen's file name in `tests/fixtures/panes/`.
    pub file: String,
    /// The preset whose rules read it.
    #[serde(default)]
    pub backend: String,
    /// `active`, `idle`, `limited`, `fatal` or `dialog`.
    #[serde(default)]
    pub state: String,
    /// The capture time, RFC 3339 with an offset.
    #[serde(default)]
    pub captured: String,
    /// The IANA zone taken as local for banners that name none.
    #[serde(default)]
    pub tz: String,
    /// The reset the banner names, RFC 3339 (compared as an instant); empty when none.
    #[serde(default)]
    pub reset: String,
    /// If given: whether the CLI says it continues by itself.
    pub continues: Option<bool>,
    /// If given: the key that answers the limit chooser.
    pub choice: Option<String>,
    /// If given: the rule that decided (`resumed_re`, …).
    pub rule: Option<String>,
    /// The screen names no zone for its reset (Codex 0.169's `try again at 11:15 PM`, the
    /// machine's local time): read in another local zone, the reset is the same wall-clock
    /// time there, not the same instant.
    #[serde(default)]
    pub zone_free: bool,
    /// Why the expected state is INDEX's `alt_state` (documentation only).
    pub why: Option<String>,
    /// Why the screen is not checked.
    pub skip: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    screen: Vec<Expect>,
}

/// The verdict on one screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The reading matches every expected field.
    Pass,
    /// Not checked, with the reason from `EXPECT.toml`.
    Skip(String),
    /// What differed (expected vs got, with the rule and the line that decided).
    Fail(String),
}

/// One screen's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The file name (or `EXPECT.toml` when that file itself is broken).
    pub file: String,
    /// Pass, skip or fail (with the difference).
    pub verdict: Verdict,
    /// What the classifier said, when it ran.
    pub reading: Option<Reading>,
}

impl Outcome {
    fn fail(file: &str, msg: String) -> Self {
        Self {
            file: file.to_string(),
            verdict: Verdict::Fail(msg),
            reading: None,
        }
    }
}

/// The parsed `EXPECT.toml`, or what is wrong with it.
///
/// # Errors
///
/// `EXPECT.toml` cannot be read or does not parse, with the parser's message.
pub fn expectations() -> Result<Vec<Expect>, String> {
    toml::from_str::<ExpectFile>(EXPECT)
        .map(|f| f.screen)
        .map_err(|e| format!("EXPECT.toml does not parse: {}", e.message().trim_end()))
}

/// The text of screen `file`, if it is in [`PANES`].
pub fn pane(file: &str) -> Option<&'static str> {
    PANES.iter().find(|(f, _)| *f == file).map(|(_, t)| *t)
}

/// Checks every screen against its expectation, in `EXPECT.toml` order; a screen with no
/// `[[screen]]`, or a `[[screen]]` with no screen, is a failure.
pub fn run() -> Vec<Outcome> {
    run_in(None)
}

/// [`run`] with every screen read as if the watchdog ran in zone `local` (`None`: in each
/// screen's own `tz`): what a screen says must not depend on the zone the watchdog runs in,
/// except the wall-clock times of a screen that names no zone for them (`zone_free`).
pub fn run_in(local: Option<Tz>) -> Vec<Outcome> {
    let expects = match expectations() {
        Ok(e) => e,
        Err(msg) => return vec![Outcome::fail("EXPECT.toml", msg)],
    };
    let mut out: Vec<Outcome> = expects.iter().map(|e| check_in(e, local)).collect();
    for (file, _) in PANES {
        if !expects.iter().any(|e| e.file == *file) {
            out.push(Outcome::fail(
                file,
                "no [[screen]] for it in EXPECT.toml".into(),
            ));
        }
    }
    out
}

/// Classifies the screen of `e` with its preset and compares the reading with `e`.
pub fn check(e: &Expect) -> Outcome {
    check_in(e, None)
}

/// [`check`] with the screen read in zone `local` instead of its `tz` (see [`run_in`]).
pub fn check_in(e: &Expect, local: Option<Tz>) -> Outcome {
    if let Some(why) = &e.skip {
        return Outcome {
            file: e.file.clone(),
            verdict: Verdict::Skip(why.clone()),
            reading: None,
        };
    }
    let fail = |msg: String| Outcome::fail(&e.file, msg);
    let Some(text) = pane(&e.file) else {
        return fail("not among the built-in screens (src/detect/fixtures.rs PANES)".into());
    };
    let backend = match presets::load(&e.backend) {
        Ok(Some(b)) => b,
        Ok(None) => return fail(format!("unknown preset {:?}", e.backend)),
        Err(broken) => return fail(broken.to_string()),
    };
    let Ok(captured) = DateTime::parse_from_rfc3339(&e.captured) else {
        return fail(format!("captured = {:?} is not RFC 3339", e.captured));
    };
    let Ok(tz) = e.tz.parse::<Tz>() else {
        return fail(format!("tz = {:?} is not an IANA zone", e.tz));
    };
    let reset: Option<DateTime<FixedOffset>> = if e.reset.is_empty() {
        None
    } else {
        match DateTime::parse_from_rfc3339(&e.reset) {
            Ok(r) => Some(r),
            Err(_) => return fail(format!("reset = {:?} is not RFC 3339", e.reset)),
        }
    };
    let local = local.unwrap_or(tz);
    let r = classify(&backend, text, captured, local);
    // A zone-free reset is the same wall-clock time in whatever zone it is read in (its date
    // may move by a day: a clock is its next occurrence after the capture).
    let reset = match reset {
        Some(want) if e.zone_free && local != tz => {
            let wall = want.with_timezone(&tz).naive_local();
            let got = r
                .reset
                .as_ref()
                .map(|x| x.at.with_timezone(&local).naive_local());
            match got {
                Some(g)
                    if g.time() == wall.time()
                        && (g.date() - wall.date()).num_days().abs() <= 1 =>
                {
                    r.reset.as_ref().map(|x| x.at)
                }
                _ => Some(
                    wall.and_local_timezone(local)
                        .earliest()
                        .map_or(want, |t| t.fixed_offset()),
                ),
            }
        }
        other => other,
    };
    let mut diffs = Vec::new();
    if r.state.as_str() != e.state {
        diffs.push(format!(
            "state: expected {}, got {}",
            e.state,
            r.state.as_str()
        ));
    }
    let got_reset = r.reset.as_ref().map(|x| x.at);
    if r.state == State::Limited || reset.is_some() {
        // Instants compare equal whatever their offsets.
        if got_reset != reset {
            diffs.push(format!(
                "reset: expected {}, got {}",
                reset.map_or("none".into(), |t| t.to_rfc3339()),
                r.reset.as_ref().map_or("none".into(), |x| format!(
                    "{} from {:?}",
                    x.at.to_rfc3339(),
                    x.text
                ))
            ));
        }
    }
    if let Some(c) = e.continues
        && c != r.continues
    {
        diffs.push(format!("continues: expected {c}, got {}", r.continues));
    }
    if let Some(k) = &e.choice
        && Some(k) != r.choice.as_ref()
    {
        diffs.push(format!("choice: expected {k}, got {:?}", r.choice));
    }
    if let Some(rule) = &e.rule
        && rule != r.rule
    {
        diffs.push(format!("rule: expected {rule}, got {}", r.rule));
    }
    let verdict = if diffs.is_empty() {
        Verdict::Pass
    } else {
        Verdict::Fail(format!(
            "{} (rule {}, line {:?})",
            diffs.join("; "),
            r.rule,
            r.line.as_deref().unwrap_or("")
        ))
    };
    Outcome {
        file: e.file.clone(),
        verdict,
        reading: Some(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_classifies_as_expected() {
        let out = run();
        let failures: Vec<String> = out
            .iter()
            .filter_map(|o| match &o.verdict {
                Verdict::Fail(m) => Some(format!("{}: {m}", o.file)),
                _ => None,
            })
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {} fixtures fail:\n{}",
            failures.len(),
            out.len(),
            failures.join("\n")
        );
        assert_eq!(out.len(), PANES.len(), "one outcome per screen");
    }

    /// Whatever zone the watchdog runs in: UTC, India (+5:30) and the US west coast (−8)
    /// put the captures' dates and clocks in different places.
    #[test]
    fn every_fixture_classifies_as_expected_in_other_zones() {
        for zone in ["UTC", "Asia/Kolkata", "America/Los_Angeles"] {
            let zone: Tz = zone.parse().unwrap();
            let failures: Vec<String> = run_in(Some(zone))
                .iter()
                .filter_map(|o| match &o.verdict {
                    Verdict::Fail(m) => Some(format!("{}: {m}", o.file)),
                    _ => None,
                })
                .collect();
            assert!(failures.is_empty(), "in {zone}:\n{}", failures.join("\n"));
        }
    }

    /// `classify` compiles a rule only where [`crate::config::Pattern::may_match`] says it may
    /// match: on no screen (any preset's rule on any fixture, whole or as classify reads its
    /// bottom) may that say no where the rule matches.
    #[test]
    fn no_rule_is_skipped_where_it_matches() {
        let mut checked = 0;
        for name in presets::names() {
            let b = presets::load(name).unwrap().unwrap();
            let rules = [
                &b.active_re,
                &b.limit_re,
                &b.dialog_re,
                &b.fatal_re,
                &b.idle_re,
                &b.resumed_re,
                &b.continue_re,
                &b.choice_re,
            ];
            for (file, pane) in PANES {
                let bottom = super::super::normalize::bottom(pane, b.region.max(1)).join("\n");
                for text in [*pane, bottom.as_str()] {
                    let lower = text.as_bytes().to_ascii_lowercase();
                    for p in rules.iter().copied().flatten() {
                        if p.regex().is_match(text) {
                            checked += 1;
                            assert!(
                                p.may_match(&lower),
                                "{name}'s {:?} matches {file} but may_match says no",
                                p.source()
                            );
                        }
                    }
                }
            }
        }
        assert!(checked > 100, "only {checked} matches checked");
    }

    #[test]
    fn every_screen_file_is_built_in() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/panes");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| {
                std::path::Path::new(n)
                    .extension()
                    .is_some_and(|e| e == "txt")
            })
            .collect();
        on_disk.sort();
        let built_in: Vec<&str> = PANES.iter().map(|(f, _)| *f).collect();
        assert_eq!(on_disk, built_in, "PANES must list every .txt, sorted");
        for (file, text) in PANES {
            let on_disk = std::fs::read_to_string(dir.join(file)).unwrap();
            assert_eq!(on_disk, *text, "{file}");
        }
    }

    #[test]
    fn every_expectation_is_well_formed() {
        let expects = expectations().unwrap();
        let states = ["active", "idle", "limited", "fatal", "dialog"];
        for e in &expects {
            if e.skip.is_some() {
                continue;
            }
            assert!(states.contains(&e.state.as_str()), "{}: state", e.file);
            assert!(presets::text(&e.backend).is_some(), "{}: backend", e.file);
            assert!(e.file.starts_with(&e.backend), "{}: backend", e.file);
        }
    }

    static BACKENDS: std::sync::LazyLock<Vec<crate::config::Backend>> =
        std::sync::LazyLock::new(|| {
            presets::names()
                .into_iter()
                .map(|n| presets::backend(n).unwrap())
                .collect()
        });

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        /// No text makes a preset's rules panic: arbitrary strings, and real screens cut at
        /// any character and glued to arbitrary text.
        #[test]
        fn no_pane_text_makes_any_preset_panic(
            junk in ".{0,300}",
            which in 0usize..1000,
            cut in 0usize..5000,
        ) {
            let at = DateTime::parse_from_rfc3339("2026-11-20T12:00:00-05:00").unwrap();
            let (_, screen) = PANES[which % PANES.len()];
            let cut = screen.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(screen.len());
            let glued = format!("{}{junk}\n{}", &screen[..cut], &screen[cut..]);
            for b in BACKENDS.iter() {
                for text in [junk.as_str(), glued.as_str()] {
                    let r = classify(b, text, at, Tz::UTC);
                    proptest::prop_assert!(r.state != State::Dead);
                }
            }
        }
    }

    /// Rough figures: `cargo test --release --lib -- --ignored classify_timing --nocapture`.
    #[test]
    #[ignore = "a timing, not a check; run it in release"]
    fn classify_timing() {
        let at = DateTime::parse_from_rfc3339("2026-11-20T12:00:00-05:00").unwrap();
        let mut pane = String::new();
        for (_, t) in PANES.iter().take(6) {
            pane.push_str(t);
        }
        let pane: String = pane.lines().take(200).collect::<Vec<_>>().join("\n");
        let n = 2000;
        let start = std::time::Instant::now();
        for _ in 0..n {
            for b in BACKENDS.iter() {
                std::hint::black_box(classify(b, &pane, at, Tz::UTC));
            }
        }
        let per = start.elapsed() / n;
        println!(
            "a 200-line pane against all {} presets: {per:?}",
            BACKENDS.len()
        );
        for b in BACKENDS.iter() {
            let start = std::time::Instant::now();
            for _ in 0..n {
                std::hint::black_box(classify(b, &pane, at, Tz::UTC));
            }
            println!("  {}: {:?}", b.name, start.elapsed() / n);
        }
        let start = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(super::super::normalize::lines(&pane));
        }
        println!("  normalize alone: {:?}", start.elapsed() / n);
    }

    #[test]
    fn a_wrong_expectation_fails_with_the_evidence() {
        let mut e = expectations()
            .unwrap()
            .into_iter()
            .find(|e| e.file == "claude_2.1.197_context_limit_reached.txt")
            .unwrap();
        e.state = "limited".into();
        let Verdict::Fail(msg) = check(&e).verdict else {
            panic!("a wrong state passed");
        };
        assert!(msg.contains("expected limited, got fatal"), "{msg}");
        assert!(
            msg.contains("fatal_re") && msg.contains("Context limit reached"),
            "{msg}"
        );
    }
}
