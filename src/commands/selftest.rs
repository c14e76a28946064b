//! `agents selftest` — detection regression checks that need no config, tmux or network:
//! the original's three footer-UI checks plus the defects we fixed (SPEC §9). Every check
//! goes through the same code the watchdog uses. Exit 1 on any failure.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{self, Backend, EnvOverrides};
use crate::detect::{self, State};

const SELFTEST_TOML: &str = r#"
[defaults]
session_prefix = "selftest-"
log_dir = "/tmp/agents-selftest"

[backend.tui]
bin = "tui"
footer_ui = true
active_re = "esc interrupt|thinking|inferring|running tool|preparing patch|reading|searching"

[backend.claude]
bin = "claude"
active_re = "esc to interrupt"
limit_re = "usage limit|limit reached|You've hit your .*limit"
fatal_re = "^FATAL|Run /rewind to recover"

[backend.demo]
bin = "bash ./fake-agent.sh '{kickoff}' '{session}' '{model}'"
prompt_delivery = "exec"
"#;

/// One named check and whether it passed.
pub type Check = (&'static str, bool);

/// Runs every check; returns them in order.
pub fn checks() -> Vec<Check> {
    let cfg = match config::parse(
        Path::new("/selftest/agents.toml"),
        SELFTEST_TOML,
        EnvOverrides::Ignore,
    ) {
        Ok(c) => c,
        Err(_) => return vec![("built-in selftest config loads", false)],
    };
    let tui: &Backend = &cfg.backends["tui"];
    let claude: &Backend = &cfg.backends["claude"];
    let state = |b: &Backend, pane: &str| detect::read(b, pane).state;

    let idle = "\n ▣ Build · GPT-5.4 · 2m 19s\n 178.4K (17%) ctrl+p commands\n";
    let active = "\n ~ Preparing patch...\n ⬝⬝⬝■■ esc interrupt 137.6K\n";
    let limit = format!("{idle}\nYou've hit your weekly limit · resets Jun 16, 10pm\n");
    let stale_then_fatal =
        "✶ Working… (esc to interrupt)\noutput\nFATAL: session state corrupted\n❯ \n";
    let msg = "Your full kickoff prompt is in /tmp/k.txt — read it now";
    let echoed = format!("> {msg}\n\n⏺ Reading the file\n1\n2\n3\n4\n5\n6\n❯ \n");
    let exec = crate::launch::command::build(
        &cfg.backends["demo"],
        &crate::launch::command::LaunchInputs {
            session: "s",
            dir: Path::new("/w"),
            kickoff_file: Path::new("/k/it's $HOME.txt"),
            model: Some("m\"; rm -rf ~"),
            resume_id: None,
        },
    );

    vec![
        (
            "footer_ui idle footer is idle",
            state(tui, idle) != State::Active,
        ),
        (
            "footer_ui active footer is active",
            state(tui, active) == State::Active,
        ),
        (
            "limit banner + idle footer is not active",
            state(tui, &limit) != State::Active,
        ),
        (
            "fatal line below a stale activity line is fatal (defect 9)",
            state(claude, stale_then_fatal) == State::Fatal,
        ),
        (
            "activity below an old fatal line is active (defect 9)",
            state(claude, "FATAL: old\n✶ Working… (esc to interrupt)\n") == State::Active,
        ),
        (
            "^-anchored regex matches below the first row (defect 10)",
            state(claude, "row one\nFATAL: x\n") == State::Fatal,
        ),
        (
            "limit banner below an idle prompt is a limit",
            state(claude, "You've hit your usage limit · resets 11pm\n❯ \n") == State::Limited,
        ),
        (
            "`## DONE CRITERIA` is not DONE (defect 3)",
            !crate::phase::is_done("## DONE CRITERIA\n- tests pass\n", "## DONE"),
        ),
        (
            "empty or placeholder `## DONE` is not DONE (defect 3)",
            !crate::phase::is_done("## DONE\n\n## Next\nx\n", "## DONE")
                && !crate::phase::is_done(
                    "## DONE\nnot yet — written here only when all gates pass\n",
                    "## DONE",
                ),
        ),
        (
            "a real verdict under `## DONE` is DONE",
            crate::phase::is_done("## DONE\nAll gates verified by the adversary.\n", "## DONE"),
        ),
        (
            "a prompt echoed into the transcript counts as submitted (defect 7)",
            crate::launch::ping::submitted(claude, &echoed, msg),
        ),
        (
            "quotes and $ in paths and models stay one argument (defect 12)",
            exec.argv
                == [
                    "bash",
                    "./fake-agent.sh",
                    "/k/it's $HOME.txt",
                    "s",
                    "m\"; rm -rf ~",
                ],
        ),
    ]
}

pub fn run() -> ExitCode {
    let results = checks();
    let failed = results.iter().filter(|(_, ok)| !ok).count();
    for (name, ok) in &results {
        println!(" {}: {name}", if *ok { "PASS" } else { "FAIL" });
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_selftest_check_passes() {
        for (name, ok) in super::checks() {
            assert!(ok, "selftest check failed: {name}");
        }
    }
}
