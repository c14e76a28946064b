//! Sessions the config no longer names (issue 6, item 5): the fleet records the sessions it
//! started (`state/manifest.json`); the watchdog stops those whose agent left the config,
//! `status` lists them as `orphan`, and `down` stops them.

use crate::util::*;

fn fleet(prefix: &str, agents: &[&str]) -> String {
    let mut s = format!(
        "[defaults]\nsession_prefix = \"{prefix}\"\nlog_dir = \".agents\"\nbackend = \"s\"\nwatch = \"heal\"\n\n[backend.s]\nbin = \"sleep 100000\"\nprompt_delivery = \"exec\"\n\n[watchdog]\nsignal_interval = 0.2\nheavy_interval = 0.4\n"
    );
    for a in agents {
        s.push_str(&format!("\n[[agent]]\nname = \"{a}\"\n"));
    }
    s
}

#[test]
fn a_changed_prefix_leaves_no_old_session_after_down_and_status_lists_them() {
    let t = TestEnv::new();
    t.config(&fleet("old-", &["a1", "a2"]));
    assert_eq!(t.run(&["up", "a1", "a2"]).0, 0);
    assert_eq!(t.sessions(), ["old-a1", "old-a2"]);
    t.config(&fleet("new-", &["a1", "a2"]));
    let (_, table, _) = t.run(&["status"]);
    assert!(
        table.lines().filter(|l| l.contains(" orphan ")).count() == 2
            && table.contains("session old-a1"),
        "{table}"
    );
    let st = t.status_json();
    assert_eq!(st["orphans"].as_array().unwrap().len(), 2, "{st}");
    let (code, _, err) = t.run(&["down"]);
    assert_eq!(code, 0, "{err}");
    assert!(t.sessions().is_empty(), "left: {:?}", t.sessions());
}

#[test]
fn the_watchdog_stops_the_session_of_an_agent_removed_from_the_config() {
    let t = started(&fleet("rm-", &["a1", "a2"]));
    assert!(wait_until(5.0, || t
        .sessions()
        .contains(&"rm-a2".to_string())));
    t.config(&fleet("rm-", &["a1"]));
    assert!(
        wait_until(10.0, || !t.sessions().contains(&"rm-a2".to_string())),
        "the removed agent's session still runs: {:?}",
        t.sessions()
    );
    let ev: Vec<_> = t
        .events(".agents")
        .into_iter()
        .filter(|e| e["event"] == "orphan-stopped")
        .collect();
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["session"], "rm-a2");
    assert!(t.sessions().contains(&"rm-a1".to_string()));
    assert!(watchdog_running(&t));
}

#[test]
fn after_a_prefix_change_the_running_watchdog_moves_the_fleet_and_down_stops_all() {
    let t = started(&fleet("p1-", &["a1"]));
    t.config(&fleet("p2-", &["a1"]));
    assert!(
        wait_until(10.0, || {
            let s = t.sessions();
            s.contains(&"p2-a1".to_string()) && !s.contains(&"p1-a1".to_string())
        }),
        "{:?}",
        t.sessions()
    );
    // The watchdog moved too (issue 15 item 7): nothing is left under the old prefix.
    assert!(
        wait_until(10.0, || t.sessions() == ["p2-a1", "p2-watchdog"]),
        "{:?}",
        t.sessions()
    );
    assert_eq!(t.run(&["down"]).0, 0);
    assert!(t.sessions().is_empty(), "left: {:?}", t.sessions());
}

/// The pid in the watchdog's lock file (`.agents/state/watchdog.lock`): the watchdog that
/// runs for the fleet.
fn lock_holder(t: &TestEnv) -> Option<u32> {
    std::fs::read_to_string(t.path().join(".agents/state/watchdog.lock"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Issue 15 item 7: with `session_prefix` changed while the fleet runs, the watchdog moves
/// the agents to the new session names and itself too: `status` shows one running watchdog
/// (no orphan watchdog, no stopped one), and `down` stops it first, without waiting for a
/// watchdog left in an old session.
#[test]
fn a_changed_prefix_moves_the_watchdog_too_and_down_stops_it_at_once() {
    let t = started(&fleet("m1-", &["a1"]));
    t.config(&fleet("m2-", &["a1"]));
    assert!(
        wait_until(10.0, || t.sessions() == ["m2-a1", "m2-watchdog"]),
        "{:?}",
        t.sessions()
    );
    assert_eq!(
        lock_holder(&t),
        t.pane_pid("m2-watchdog"),
        "the fleet's watchdog is not the one in m2-watchdog"
    );
    let (_, table, err) = t.run(&["status"]);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.trim_start().starts_with("watchdog "))
        .collect();
    assert!(
        rows.len() == 1 && rows[0].contains("running"),
        "{table}\n{err}"
    );
    assert!(!table.contains(" orphan "), "{table}");
    let st = t.status_json();
    assert_eq!(st["watchdog"]["running"], true, "{st}");
    assert_eq!(st["orphans"].as_array().unwrap().len(), 0, "{st}");
    let (code, _, err) = t.run(&["down"]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("has not exited"), "{err}");
    assert!(t.sessions().is_empty(), "left: {:?}", t.sessions());
}

/// Issue 15 item 7: `up` right after a `session_prefix` change finds the fleet's watchdog
/// running in the old session and moves it, rather than starting a second one that dies on
/// the lock.
#[test]
fn up_after_a_prefix_change_moves_the_running_watchdog_instead_of_starting_a_second() {
    let t = started(&fleet("u1-", &["a1"]));
    let pid = t.pane_pid("u1-watchdog").expect("the watchdog runs");
    t.config(&fleet("u2-", &["a1"]));
    let (code, _, err) = t.run(&["up"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        t.events_named("start-failed").is_empty(),
        "{:?}",
        t.events_named("start-failed")
    );
    assert!(
        wait_until(10.0, || t.sessions() == ["u2-a1", "u2-watchdog"]),
        "{:?}",
        t.sessions()
    );
    assert_eq!(lock_holder(&t), Some(pid));
    assert_eq!(t.pane_pid("u2-watchdog"), Some(pid));
}
