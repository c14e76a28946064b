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
    // The old watchdog keeps running (it never stops itself) until `down`.
    assert!(t.sessions().contains(&"p1-watchdog".to_string()));
    assert_eq!(t.run(&["down"]).0, 0);
    assert!(t.sessions().is_empty(), "left: {:?}", t.sessions());
}
