//! The processes that descend from a pane, read from `/proc` (Linux), so that stopping an
//! agent stops everything it started — children that called `setsid` or `nohup`, and programs
//! that ignore SIGHUP — not only what `kill-session`'s SIGHUP reaches.
//!
//! A process is named by its pid *and* its start time (`/proc/<pid>/stat` field 22, clock
//! ticks since boot), so a pid reused after the process exited is never signalled.

use std::collections::HashMap;

/// One process (pid and start time); defined beside the manifest that records it, so the
/// state files do not depend on launching.
pub use crate::state::manifest::Proc;

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
        if let Some((ppid, start)) = read_stat(&e.path().join("stat"))
            .as_deref()
            .and_then(parse_stat)
        {
            out.insert(pid, (ppid, start));
        }
    }
    out
}

/// The text of a `/proc/<pid>/stat` file (a few hundred bytes), read in one call into a
/// buffer on the stack: `std::fs::read_to_string` asks the file's size first (a proc file
/// says 0) and grows its buffer from 32 bytes, a read call each time (`status` reads one
/// file per agent, `down` every process's). `None` when it cannot be read.
fn read_stat(path: &std::path::Path) -> Option<String> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = [0u8; 1024];
    let mut len = 0;
    loop {
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
        if len == buf.len() {
            // Longer than any stat line seen: the rest the usual way.
            let mut rest = Vec::new();
            file.read_to_end(&mut rest).ok()?;
            return String::from_utf8([&buf[..], &rest].concat()).ok();
        }
    }
    String::from_utf8(buf[..len].to_vec()).ok()
}

/// [`read_stat`] of process `pid`.
fn stat_of(pid: u32) -> Option<String> {
    read_stat(std::path::Path::new(&format!("/proc/{pid}/stat")))
}

/// Parent pid and start time from the text of `/proc/<pid>/stat`. The command name (field 2)
/// is in parentheses and may hold spaces and `)`: fields are counted after its last `)`.
pub fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    stat_fields(stat).map(|(_, ppid, start)| (ppid, start))
}

/// State (field 3, `Z` for a zombie), parent pid (4) and start time (22) from the text of
/// `/proc/<pid>/stat`, counted after the name's last `)`. The kernel separates fields with
/// one ASCII space: no allocation, no Unicode whitespace tables (`status` reads one per
/// agent).
fn stat_fields(stat: &str) -> Option<(&str, u32, u64)> {
    let mut f = stat[stat.rfind(')')? + 1..].split_ascii_whitespace();
    let state = f.next()?;
    let ppid = f.next()?.parse().ok()?;
    // Fields 5 to 21 lie between; starttime is field 22.
    let start = f.nth(17)?.parse().ok()?;
    Some((state, ppid, start))
}

/// `root` and every process that descends from it in `snap`, root first.
pub fn tree<S: std::hash::BuildHasher>(snap: &HashMap<u32, (u32, u64), S>, root: u32) -> Vec<Proc> {
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

/// The environment variable that names the fleet a process was started for: set on every
/// agent and service session (with `AGENTS_SESSION`), and on each `[notify]` command (a
/// token of that run). Its value for a fleet is [`crate::ctx::Ctx::fleet_id`].
pub const FLEET_VAR: &str = "AGENTS_FLEET";

/// The session id of a process (`/proc/<pid>/stat` field 6), from the text of that file.
pub fn parse_sid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(3)?.parse().ok()
}

/// Whether the environment text of a process (`/proc/<pid>/environ`: `NAME=VALUE` entries
/// separated by NUL) holds every pair of `want`.
pub fn environ_has(environ: &[u8], want: &[(&str, &str)]) -> bool {
    want.iter().all(|(k, v)| {
        environ.split(|&b| b == 0).any(|e| {
            e.len() == k.len() + 1 + v.len()
                && e.starts_with(k.as_bytes())
                && e[k.len()] == b'='
                && &e[k.len() + 1..] == v.as_bytes()
        })
    })
}

/// What marks a process as one of those to stop, besides descending from a pane: its
/// session id is the pid of a live pane (`sids`: a child that double-forked with `nohup` or
/// `( … & )` keeps it), or its environment holds `AGENTS_FLEET=<fleet>` and
/// `AGENTS_SESSION=<one of sessions>` (a child that called `setsid` keeps its environment).
#[derive(Debug, Clone, Default)]
pub struct Marks<'a> {
    /// The pids of the live panes being stopped, as session ids.
    pub sids: Vec<u32>,
    /// This fleet's id, the value of `AGENTS_FLEET` to match.
    pub fleet: &'a str,
    /// The tmux session names being stopped, the values of `AGENTS_SESSION` to match.
    pub sessions: Vec<&'a str>,
}

/// Every process of this user (the effective uid), other than this process and its
/// ancestors, that carries one of `marks` (see [`Marks`]). Processes of other users, and
/// processes of another fleet (another `AGENTS_FLEET`) with the same session names, are never
/// returned. Empty where `/proc` cannot be read.
pub fn marked(marks: &Marks) -> Vec<Proc> {
    use std::os::unix::fs::MetadataExt;
    let uid = nix::unistd::geteuid().as_raw();
    let snap = snapshot();
    let mut mine = Vec::new();
    let mut at = Some(std::process::id());
    while let Some(pid) = at.filter(|&p| p > 1 && !mine.contains(&p)) {
        mine.push(pid);
        at = snap.get(&pid).map(|&(ppid, _)| ppid);
    }
    let mut out = Vec::new();
    for (&pid, &(_, start)) in &snap {
        if mine.contains(&pid) {
            continue;
        }
        let dir = std::path::PathBuf::from(format!("/proc/{pid}"));
        if std::fs::metadata(&dir).map_or(true, |m| m.uid() != uid) {
            continue;
        }
        let by_sid = !marks.sids.is_empty()
            && std::fs::read_to_string(dir.join("stat"))
                .ok()
                .as_deref()
                .and_then(parse_sid)
                .is_some_and(|sid| marks.sids.contains(&sid));
        let by_env = || {
            !marks.fleet.is_empty()
                && std::fs::read(dir.join("environ")).is_ok_and(|env| {
                    marks.sessions.iter().any(|s| {
                        environ_has(&env, &[(FLEET_VAR, marks.fleet), ("AGENTS_SESSION", s)])
                    })
                })
        };
        if by_sid || by_env() {
            out.push(Proc { pid, start });
        }
    }
    out
}

/// Every process of this user whose environment holds `name=value` (a token unique to one
/// run, e.g. of a `[notify]` command), this process and its ancestors excepted.
pub fn with_env(name: &str, value: &str) -> Vec<Proc> {
    use std::os::unix::fs::MetadataExt;
    let uid = nix::unistd::geteuid().as_raw();
    let me = std::process::id();
    snapshot()
        .into_iter()
        .filter(|&(pid, _)| pid != me)
        .filter(|&(pid, _)| {
            let dir = std::path::PathBuf::from(format!("/proc/{pid}"));
            std::fs::metadata(&dir).is_ok_and(|m| m.uid() == uid)
                && std::fs::read(dir.join("environ"))
                    .is_ok_and(|env| environ_has(&env, &[(name, value)]))
        })
        .map(|(pid, (_, start))| Proc { pid, start })
        .collect()
}

/// The process `pid` as it is now (its start time read from `/proc`); `None` when it does
/// not exist or `/proc` cannot be read (not Linux).
pub fn read(pid: u32) -> Option<Proc> {
    let stat = stat_of(pid)?;
    parse_stat(&stat).map(|(_, start)| Proc { pid, start })
}

/// Whether `p` is still the process it was (same pid, same start time) and not a zombie.
pub fn alive(p: &Proc) -> bool {
    stat_of(p.pid).is_some_and(|s| {
        stat_fields(&s).is_some_and(|(state, _, start)| state != "Z" && start == p.start)
    })
}

/// What became of the process a pane was started with (`record`, from the manifest), given
/// the pane as tmux shows it now: see [`crate::detect::Process`]. A dead pane, a pane whose
/// pid tmux did not give, or no record: `Unknown`.
pub fn follow(record: Option<Proc>, pane: &crate::tmux::PaneInfo) -> crate::detect::Process {
    follow_by(record, pane, alive)
}

/// [`follow`] with `alive` answering whether the record is still its process (`status` reads
/// that of every agent while its tmux call runs).
pub fn follow_by(
    record: Option<Proc>,
    pane: &crate::tmux::PaneInfo,
    alive: impl FnOnce(&Proc) -> bool,
) -> crate::detect::Process {
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

/// Kills the process group `pgid` with `SIGKILL` (a child started as a group leader, with
/// `process_group(0)`, and whatever it started that stayed in its group). Errors (the group
/// is gone) are ignored.
pub fn kill_group(pgid: u32) {
    if let Ok(p) = i32::try_from(pgid) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Process;

    #[test]
    fn a_stat_file_is_read_whole_in_one_buffer_or_beyond_it() {
        let me = std::path::Path::new("/proc/self/stat");
        let ours = read_stat(me).expect("reads its own stat");
        assert!(
            ours.starts_with(&format!("{} (", std::process::id())),
            "{ours}"
        );
        assert_eq!(ours.lines().count(), 1, "{ours}");
        assert!(ours.ends_with('\n'), "the whole line: {ours:?}");
        // A longer file (no stat is, but nothing is cut): exactly 1024 bytes and more.
        let d = tempfile::tempdir().unwrap();
        for len in [0, 1, 1023, 1024, 1025, 5000] {
            let text: String = b"abcdefghijklmnopqrstuvwxyz"
                .iter()
                .cycle()
                .take(len)
                .map(|&b| char::from(b))
                .collect();
            let f = d.path().join(format!("stat{len}"));
            std::fs::write(&f, &text).unwrap();
            assert_eq!(read_stat(&f).as_deref(), Some(text.as_str()), "{len} bytes");
        }
        assert_eq!(read_stat(&d.path().join("missing")), None);
    }

    #[test]
    fn stat_lines_with_odd_names_parse() {
        let s = "123 (my (odd) name) S 45 123 123 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10 18446744073709551615";
        assert_eq!(parse_stat(s), Some((45, 98765)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(stat_fields(s), Some(("S", 45, 98765)));
        let zombie = s.replace(") S ", ") Z ");
        assert_eq!(stat_fields(&zombie).map(|f| f.0), Some("Z"));
        // Too few fields after the name.
        assert_eq!(parse_stat("1 (a) S 0 1 2"), None);
        // This process, as `/proc` has it now.
        let me = read(std::process::id()).expect("this process in /proc");
        assert!(alive(&me));
        assert!(!alive(&Proc {
            start: me.start + 1,
            ..me
        }));
        assert_eq!(parse_sid(s), Some(123));
    }

    #[test]
    fn environ_pairs_match_whole_entries() {
        let env = b"AGENTS_FLEET=/a/state\0AGENTS_SESSION=x-a1\0HOME=/root\0";
        assert!(environ_has(
            env,
            &[("AGENTS_FLEET", "/a/state"), ("AGENTS_SESSION", "x-a1")]
        ));
        assert!(!environ_has(env, &[("AGENTS_FLEET", "/a/stat")]));
        assert!(!environ_has(env, &[("AGENTS_SESSION", "x-a")]));
        assert!(!environ_has(
            env,
            &[("AGENTS_FLEET", "/b/state"), ("AGENTS_SESSION", "x-a1")]
        ));
        assert!(!environ_has(
            b"XAGENTS_SESSION=x-a1",
            &[("AGENTS_SESSION", "x-a1")]
        ));
    }

    #[test]
    fn tree_follows_parents_and_this_process_is_alive() {
        let snap: HashMap<u32, (u32, u64)> =
            [(10, (1, 5)), (11, (10, 6)), (12, (11, 7)), (13, (1, 8))]
                .into_iter()
                .collect();
        let mut t: Vec<u32> = tree(&snap, 10).iter().map(|p| p.pid).collect();
        t.sort_unstable();
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
            dead_signal: None,
            pid: Some(pid),
            command: "x".into(),
        };
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
