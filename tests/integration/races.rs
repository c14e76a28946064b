//! Races between verbs (issue 6, item 4): starting and stopping sessions is serialised per
//! fleet (`state/fleet.lock`), and the watchdog reads `down` markers under that lock.

use std::time::Duration;

use crate::util::*;

fn sleepers(prefix: &str, n: usize, watchdog: &str) -> String {
    let mut s = format!(
        "[defaults]\nsession_prefix = \"{prefix}\"\nlog_dir = \".agents\"\nbackend = \"s\"\nwatch = \"heal\"\n\n[backend.s]\nbin = \"sleep 100000\"\nprompt_delivery = \"exec\"\n\n[watchdog]\nsignal_interval = 0.2\nheavy_interval = 0.4\n{watchdog}\n"
    );
    for i in 1..=n {
        s.push_str(&format!("\n[[agent]]\nname = \"a{i}\"\n"));
    }
    s
}

#[test]
fn down_while_up_is_starting_a_big_fleet_leaves_nothing_running() {
    let t = TestEnv::new();
    t.config(&sleepers("rc-", 60, ""));
    for round in 0..3 {
        let mut up = std::process::Command::new(env!("CARGO_BIN_EXE_agents"));
        up.current_dir(t.path())
            .env("AGENTS_TMUX_SOCKET", &t.socket)
            .env("TMUX_TMPDIR", &t.tmux_tmpdir)
            .env_remove("TMUX")
            .env_remove("AGENTS_CONFIG")
            .arg("up")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = Guarded::spawn(&mut up);
        std::thread::sleep(Duration::from_millis(40 + 30 * round));
        let (code, _, err) = t.run(&["down"]);
        assert_eq!(code, 0, "{err}");
        let _ = child.wait();
        // Whatever `up` started before `down` took over is stopped; whatever it starts
        // after `down` must not exist: `down` waited for `up` to finish.
        assert!(
            t.sessions().is_empty(),
            "round {round}: {} sessions left after down: {:?}",
            t.sessions().len(),
            t.sessions()
        );
    }
}

#[test]
fn down_racing_the_watchdogs_restarts_always_wins() {
    let t = TestEnv::new();
    t.config(
        &sleepers(
            "rw-",
            1,
            "backoff_initial = 0.05\nbackoff_max = 0.05\nmax_restarts = 100000",
        )
        .replace(
            "bin = \"sleep 100000\"",
            "bin = \"sh -c 'sleep 0.1; exit 1'\"",
        ),
    );
    assert_eq!(t.run(&["up"]).0, 0);
    wait_watchdog(&t);
    for round in 0..12 {
        std::thread::sleep(Duration::from_millis(37 * (round % 5)));
        let (code, _, err) = t.run(&["down", "a1"]);
        assert_eq!(code, 0, "{err}");
        t.pass_ticks(3); // a restart comes on the next 0.2 s tick
        assert!(
            !t.sessions().contains(&"rw-a1".to_string()),
            "round {round}: the watchdog restarted a1 after `down a1`"
        );
        assert_eq!(t.run(&["up", "a1"]).0, 0);
    }
}
