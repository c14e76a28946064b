//! The processes that descend from a pane, read from `/proc` (Linux), so that stopping an
//! agent stops everything it started — children that called `setsid` or `nohup`, and programs
//! that ignore SIGHUP — not only what `kill-session`'s SIGHUP reaches.
//!
//! A process is named by its pid *and* its start time (`/proc/<pid>/stat` field 22, clock
//! ticks since boot), so a pid reused after the process exited is never signalled.

use std::collections::HashMap;

/// One process: pid and start time (clock ticks since boot, `/proc/<pid>/stat` field 22).
/// Recorded in the manifest for the process each session was started with (see
/// [`crate::state::manifest::Entry::process`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Proc {
    pub pid: u32,
    pub start: u64,
}

/// `pid → (parent pid, start time)` of every process, read now. Empty where `/proc` is not
/// readable (not Linux): stopping then falls back to what tmux's SIGHUP reaches.
pub fn snapshot() -> HashMap<u32, (u32, u64)> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((ppid, start)) = std::fs::read_to_string(e.path().join("stat"))
            .ok()
            .as_deref()
            .and_then(parse_stat)
        {
            out.insert(pid, (ppid, start));
        }
    }
    out
}

/// Parent pid and start time from the text of `/proc/<pid>/stat`. The command name (field 2)
/// is in parentheses and may hold spaces and `)`: fields are counted after its last `)`.
pub fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state (3), ppid (4), …, starttime (22) → indexes 0, 1, …, 19.
    Some((f.get(1)?.parse().ok()?, f.get(19)?.parse().ok()?))
}

/// `root` and every process that descends from it in `snap`, root first.
pub fn tree(snap: &HashMap<u32, (u32, u64)>, root: u32) -> Vec<Proc> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, &(ppid, _)) in snap {
        children.entry(ppid).or_default().push(pid);
    }
    let mut out = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        let Some(&(_, start)) = snap.get(&pid) else {
            continue;
        };
        if out.iter().any(|p: &Proc| p.pid == pid) {
            continue;
        }
        out.push(Proc { pid, start });
        todo.extend(children.get(&pid).into_iter().flatten().copied());
    }
    out
}

/// The process `pid` as it is now (its start time read from `/proc`); `None` when it does
/// not exist or `/proc` cannot be read (not Linux).
pub fn read(pid: u32) -> Option<Proc> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|(_, start)| Proc { pid, start })
}

/// Whether `p` is still the process it was (same pid, same start time) and not a zombie.
pub fn alive(p: &Proc) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", p.pid))
        .ok()
        .is_some_and(|s| {
            let zombie = s
                .rfind(')')
                .and_then(|i| s[i + 1..].split_whitespace().next())
                == Some("Z");
            !zombie && parse_stat(&s).is_some_and(|(_, start)| start == p.start)
        })
}

/// Every process but this one that a session named `session` of the tmux server at `server`
/// (its socket path) started, found by the environment the session gave it:
/// `AGENTS_SESSION=<session>` (set at launch) and a `TMUX` naming that server
/// (`<socket path>,<server pid>,<index>`, set by tmux). Unlike [`tree`] this finds what left
/// the pane's process tree: a daemon that called `setsid` and whose parent exited is
/// re-parented to init but keeps the environment it was started with (Codex 0.169.0's
/// `codex app-server --managed-daemon`, after its TUI crashed). Processes whose environment
/// is not ours to read are skipped; empty where `/proc` cannot be read.
pub fn of_session(session: &str, server: &std::path::Path) -> Vec<Proc> {
    let me = std::process::id();
    let want = format!("AGENTS_SESSION={session}");
    let same_server = |tmux: &[u8]| {
        let tmux = String::from_utf8_lossy(tmux);
        let Some(path) = tmux.split(',').next().map(std::path::Path::new) else {
            return false;
        };
        path == server
            || matches!((path.canonicalize(), server.canonicalize()), (Ok(a), Ok(b)) if a == b)
    };
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        let mut ours = false;
        let mut server_ok = false;
        for kv in environ.split(|b| *b == 0) {
            if kv == want.as_bytes() {
                ours = true;
            } else if let Some(v) = kv.strip_prefix(b"TMUX=") {
                server_ok = same_server(v);
            }
        }
        if ours
            && server_ok
            && let Some(p) = read(pid)
        {
            out.push(p);
        }
    }
    out
}

/// What became of the process a pane was started with (`record`, from the manifest), given
/// the pane as tmux shows it now: see [`crate::detect::Process`]. A dead pane, a pane whose
/// pid tmux did not give, or no record: `Unknown`.
pub fn follow(record: Option<Proc>, pane: &crate::tmux::PaneInfo) -> crate::detect::Process {
    use crate::detect::Process;
    match (record, pane.pid) {
        _ if pane.dead => Process::Unknown,
        (Some(rec), Some(pid)) if pid != rec.pid => Process::Replaced {
            started: rec.pid,
            now: pid,
        },
        (Some(rec), Some(_)) if alive(&rec) => Process::Running,
        (Some(rec), Some(_)) => Process::Gone { pid: rec.pid },
        _ => Process::Unknown,
    }
}

/// Sends `sig` to `p` if it is still the process it was. Errors (gone, not permitted) are
/// ignored: the caller checks [`alive`] afterwards.
pub fn signal(p: &Proc, sig: nix::sys::signal::Signal) {
    if alive(p)
        && let Ok(pid) = i32::try_from(p.pid)
    {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let s = "123 (my (odd) name) S 45 123 123 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10 18446744073709551615";
        assert_eq!(parse_stat(s), Some((45, 98765)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn of_session_finds_a_child_by_its_environment_not_this_process() {
        let server = std::path::Path::new("/tmp/agents-proctree-test/tmux-0/s");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env("AGENTS_SESSION", "pt-a")
            .env("TMUX", format!("{},123,0", server.display()))
            .spawn()
            .unwrap();
        let found = |s: &str, srv: &std::path::Path| -> bool {
            of_session(s, srv).iter().any(|p| p.pid == child.id())
        };
        let hit = found("pt-a", server);
        let other_session = found("pt-b", server);
        let other_server = found("pt-a", std::path::Path::new("/tmp/elsewhere/tmux-0/s"));
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            hit,
            "the child with AGENTS_SESSION=pt-a and TMUX on the server"
        );
        assert!(!other_session && !other_server);
        assert!(
            of_session("pt-a", server)
                .iter()
                .all(|p| p.pid != std::process::id())
        );
    }

    #[test]
    fn tree_follows_parents_and_this_process_is_alive() {
        let snap: HashMap<u32, (u32, u64)> =
            [(10, (1, 5)), (11, (10, 6)), (12, (11, 7)), (13, (1, 8))]
                .into_iter()
                .collect();
        let mut t: Vec<u32> = tree(&snap, 10).iter().map(|p| p.pid).collect();
        t.sort();
        assert_eq!(t, [10, 11, 12]);
        assert!(tree(&snap, 99).is_empty());
        let me = std::process::id();
        let snap = snapshot();
        let mine = tree(&snap, me);
        assert_eq!(mine[0].pid, me);
        assert!(alive(&mine[0]));
        assert_eq!(read(me), Some(mine[0]));
        let pane = |pid, dead| crate::tmux::PaneInfo {
            dead,
            dead_status: None,
            pid: Some(pid),
            command: "x".into(),
        };
        use crate::detect::Process;
        assert_eq!(follow(Some(mine[0]), &pane(me, false)), Process::Running);
        assert_eq!(follow(None, &pane(me, false)), Process::Unknown);
        assert_eq!(follow(Some(mine[0]), &pane(me, true)), Process::Unknown);
        let reused = Proc {
            pid: me,
            start: mine[0].start + 1,
        };
        assert_eq!(
            follow(Some(reused), &pane(me, false)),
            Process::Gone { pid: me }
        );
        assert_eq!(
            follow(Some(mine[0]), &pane(me + 1, false)),
            Process::Replaced {
                started: me,
                now: me + 1
            }
        );
        assert!(!alive(&Proc {
            pid: me,
            start: mine[0].start + 1
        }));
    }
}
