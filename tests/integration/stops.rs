//! Stops that leave nothing running (issue 6, item 1): `down` and watchdog restarts stop the
//! whole process tree under a pane — children that called `setsid`, programs that ignore
//! SIGHUP — and type a backend's `stop_keys` first.

use std::time::Duration;

use crate::util::*;

/// Running `sleep <arg>` processes (argv read from /proc).
fn count(arg: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| {
            let argv: Vec<&[u8]> = c.split(|&b| b == 0).filter(|a| !a.is_empty()).collect();
            argv.len() == 2 && argv[0].ends_with(b"sleep") && argv[1] == arg.as_bytes()
        })
        .count()
}

/// A unique `sleep` argument for this test (GNU sleep takes fractions).
fn secs(t: &TestEnv, base: u32) -> String {
    let n: u32 = t.socket.bytes().map(u32::from).sum::<u32>() % 9000 + 1000;
    format!("{base}.{n}{}", std::process::id() % 1000)
}

fn config(prefix: &str, agents: &[(&str, String)], watchdog: &str) -> String {
    let mut s = format!(
        "[defaults]\nsession_prefix = \"{prefix}\"\nlog_dir = \".agents\"\nwatch = \"heal\"\n\n[watchdog]\nsignal_interval = 0.3\nheavy_interval = 0.6\n{watchdog}\n"
    );
    for (name, bin) in agents {
        s.push_str(&format!(
            "\n[backend.{name}]\nbin = {bin:?}\nprompt_delivery = \"exec\"\nfatal_re = \"FATAL: session state\"\n\n[[agent]]\nname = \"{name}\"\nbackend = \"{name}\"\n"
        ));
    }
    s
}

#[test]
fn down_leaves_no_setsid_child_and_no_hup_ignoring_program() {
    let t = TestEnv::new();
    let (a, b, c) = (secs(&t, 1002), secs(&t, 2002), secs(&t, 2004));
    t.config(&config(
        "st-",
        &[
            ("forks", format!("sh -c 'setsid sleep {a} & sleep {b}'")),
            ("deaf", format!("sh -c 'trap \"\" HUP; exec sleep {c}'")),
        ],
        "",
    ));
    assert_eq!(t.run(&["up", "forks", "deaf"]).0, 0);
    assert!(
        wait_until(5.0, || count(&a) == 1 && count(&b) == 1 && count(&c) == 1),
        "the agents did not start their processes"
    );
    let (code, _, err) = t.run(&["down"]);
    assert_eq!(code, 0, "{err}");
    for needle in [&a, &b, &c] {
        assert!(
            wait_until(1.0, || count(needle) == 0),
            "`sleep {needle}` outlived `down`:\n{err}"
        );
    }
}

/// A daemon that left the pane's process tree (its parent exited after `setsid`, so it was
/// re-parented to init, as Codex 0.169.0's `codex app-server` is when its TUI dies) is found
/// by the environment the session gave it (`AGENTS_SESSION`, the server's `TMUX`): `down`
/// stops it; a daemon of another session is left alone.
#[test]
fn down_stops_a_daemon_that_left_the_pane_tree() {
    let t = TestEnv::new();
    let (d, e, o) = (secs(&t, 1007), secs(&t, 2007), secs(&t, 1008));
    let daemonizing =
        |daemon: &str, main: &str| format!("sh -c '(setsid sleep {daemon} &); exec sleep {main}'");
    t.config(&config(
        "sd-",
        &[
            ("daemon", daemonizing(&d, &e)),
            ("other", daemonizing(&o, &e)),
        ],
        "",
    ));
    assert_eq!(t.run(&["up", "daemon", "other"]).0, 0);
    assert!(
        wait_until(5.0, || count(&d) == 1 && count(&o) == 1 && count(&e) == 2),
        "the agents did not start their processes"
    );
    let (code, _, err) = t.run(&["down", "daemon"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(3.0, || count(&d) == 0),
        "the daemon `sleep {d}` (re-parented out of the pane's tree) outlived `down`:\n{err}"
    );
    assert_eq!(count(&o), 1, "the other session's daemon was stopped too");
    assert_eq!(t.run(&["down"]).0, 0);
    assert!(wait_until(3.0, || count(&o) == 0 && count(&e) == 0));
}

#[test]
fn fatal_screen_restarts_of_a_hup_ignoring_agent_leave_one_copy() {
    let t = TestEnv::new();
    let s = secs(&t, 2005);
    t.config(&config(
        "sr-",
        &[(
            "deaf",
            format!(
                "sh -c 'trap \"\" HUP; echo \"FATAL: session state corrupted\"; exec sleep {s}'"
            ),
        )],
        "backoff_initial = 0.1\nbackoff_max = 0.2\nmax_restarts = 100",
    ));
    assert_eq!(t.run(&["up"]).0, 0);
    assert!(
        wait_until(20.0, || restarts(&t, "deaf").len() >= 3),
        "three fatal-screen restarts did not happen: {:?}",
        restarts(&t, "deaf")
    );
    assert!(
        wait_until(3.0, || count(&s) == 1),
        "{} copies running after 3 restarts",
        count(&s)
    );
    assert_eq!(t.run(&["down"]).0, 0);
    assert!(wait_until(3.0, || count(&s) == 0));
}

#[test]
fn stop_keys_are_typed_before_the_session_is_killed() {
    let t = TestEnv::new();
    let marker = t.path().join("got-the-key");
    let s = secs(&t, 2006);
    let mut cfg = config(
        "sk-",
        &[(
            "polite",
            format!(
                "sh -c 'sleep {s} & read line; touch {}; kill $!; exit 0'",
                marker.display()
            ),
        )],
        "",
    );
    cfg = cfg.replace(
        "prompt_delivery = \"exec\"",
        "prompt_delivery = \"exec\"\nstop_keys = [\"Enter\"]\nstop_timeout = 5",
    );
    t.config(&cfg);
    assert_eq!(t.run(&["up", "polite"]).0, 0);
    assert!(wait_until(5.0, || count(&s) == 1));
    std::thread::sleep(Duration::from_millis(300));
    let (code, _, err) = t.run(&["down"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        marker.exists(),
        "the stop key did not reach the agent before the kill"
    );
    assert!(wait_until(1.0, || count(&s) == 0));
    assert!(t.sessions().is_empty(), "{:?}", t.sessions());
}

/// Pids of running `sleep <arg>` processes.
fn pids(arg: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let c = std::fs::read(e.path().join("cmdline")).ok()?;
            let argv: Vec<&[u8]> = c.split(|&b| b == 0).filter(|a| !a.is_empty()).collect();
            (argv.len() == 2 && argv[0].ends_with(b"sleep") && argv[1] == arg.as_bytes())
                .then_some(pid)
        })
        .collect()
}

/// Kills what a failed test left running (`sleep <arg>` for each arg) when dropped.
struct Leftovers(Vec<String>);

impl Drop for Leftovers {
    fn drop(&mut self) {
        for a in &self.0 {
            for p in pids(a) {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &p.to_string()])
                    .status();
            }
        }
    }
}

/// An agent whose startup double-forks two children out of its pane's process tree: one
/// with `nohup` (it keeps the pane's session id), one with `setsid` (a session of its own;
/// only its environment says whose it is).
fn double_forker(nohup: &str, setsid: &str, main: &str) -> String {
    format!(
        "sh -c '( nohup sleep {nohup} >/dev/null 2>&1 & ); ( setsid sleep {setsid} >/dev/null 2>&1 & ); exec sleep {main}'"
    )
}

#[test]
fn restart_and_down_leave_no_double_forked_child() {
    let t = TestEnv::new();
    let (a, b, c) = (secs(&t, 3001), secs(&t, 3002), secs(&t, 3003));
    let _left = Leftovers(vec![a.clone(), b.clone(), c.clone()]);
    t.config(&config("df-", &[("dbl", double_forker(&a, &b, &c))], ""));
    assert_eq!(t.run(&["up", "dbl"]).0, 0);
    assert!(
        wait_until(5.0, || count(&a) == 1 && count(&b) == 1 && count(&c) == 1),
        "the agent did not start its processes"
    );
    let (old_a, old_b) = (pids(&a), pids(&b));
    let (code, _, err) = t.run(&["restart", "dbl"]);
    assert_eq!(code, 0, "{err}");
    for (needle, old) in [(&a, &old_a), (&b, &old_b)] {
        assert!(
            wait_until(2.0, || pids(needle).iter().all(|p| !old.contains(p))),
            "the double-forked `sleep {needle}` outlived `restart`:\n{err}"
        );
    }
    assert!(
        wait_until(5.0, || count(&a) == 1 && count(&b) == 1 && count(&c) == 1),
        "the restarted agent did not start its processes once: {} {} {}",
        count(&a),
        count(&b),
        count(&c)
    );
    let (code, _, err) = t.run(&["down"]);
    assert_eq!(code, 0, "{err}");
    for needle in [&a, &b, &c] {
        assert!(
            wait_until(2.0, || count(needle) == 0),
            "`sleep {needle}` outlived `down`:\n{err}"
        );
    }
}

#[test]
fn down_leaves_the_processes_of_another_fleet_with_the_same_session_names() {
    let (mine, other) = (TestEnv::new(), TestEnv::new());
    let (a, b, c) = (secs(&mine, 3011), secs(&mine, 3012), secs(&mine, 3013));
    let (x, y, z) = (secs(&other, 3021), secs(&other, 3022), secs(&other, 3023));
    let _left = Leftovers(
        [&a, &b, &c, &x, &y, &z]
            .map(std::clone::Clone::clone)
            .to_vec(),
    );
    mine.config(&config("same-", &[("dbl", double_forker(&a, &b, &c))], ""));
    other.config(&config("same-", &[("dbl", double_forker(&x, &y, &z))], ""));
    assert_eq!(mine.run(&["up", "dbl"]).0, 0);
    assert_eq!(other.run(&["up", "dbl"]).0, 0);
    assert!(
        wait_until(5.0, || [&a, &b, &c, &x, &y, &z]
            .iter()
            .all(|s| count(s) == 1)),
        "the agents did not start their processes"
    );
    let (code, _, err) = mine.run(&["down"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        wait_until(2.0, || [&a, &b, &c].iter().all(|s| count(s) == 0)),
        "this fleet's processes outlived `down`"
    );
    for s in [&x, &y, &z] {
        assert_eq!(
            count(s),
            1,
            "`down` of one fleet stopped `sleep {s}` of the other"
        );
    }
    assert_eq!(other.sessions(), ["same-dbl"]);
    assert_eq!(other.run(&["down"]).0, 0);
    assert!(wait_until(2.0, || [&x, &y, &z]
        .iter()
        .all(|s| count(s) == 0)));
}
