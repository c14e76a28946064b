//! The one module that touches git (the handoff check, SPEC §6): `git fetch` as a child
//! process, everything else read in-process with `git2` (libgit2, no network features). No
//! `git2` type leaves this module: callers see commit ids as hex strings, subjects and file
//! contents as text, and every failure as a [`GitError`] whose message says what to fix.
//!
//! - [`fetch`] runs `git -C <repo> fetch -q origin` as an argv (no shell: quotes or `$` in
//!   the path cannot break it, SPEC defect 12) with `GIT_TERMINAL_PROMPT=0` and
//!   `GIT_ASKPASS`/`SSH_ASKPASS` set to `true` and ssh in batch mode (unless the user set
//!   their own ssh command), so it never waits for a password; it is killed after its
//!   timeout.
//! - [`Repo::remote_head`] resolves `refs/remotes/origin/main`; when the remote has no `main`
//!   it follows `refs/remotes/origin/HEAD` (the remote's default branch, set by `git clone`),
//!   so a repository whose trunk is `master` works too.
//! - [`Repo::subjects`] lists the commit subjects on the new head that the old head does not
//!   have (`git log old..new`); [`Repo::file`] reads a file of a commit's tree.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// The remote every handoff repo fetches from.
pub const REMOTE: &str = "origin";
/// The branch whose commits are read, on [`REMOTE`].
pub const BRANCH: &str = "main";

/// An open repository (its root is found from any path inside it, as `git -C` does).
pub struct Repo {
    inner: git2::Repository,
    path: PathBuf,
}

impl std::fmt::Debug for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repo")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The remote-tracking head that [`Repo::remote_head`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Commit id, 40 hex digits.
    pub id: String,
    /// The ref it was read from: `refs/remotes/origin/main`, or the target of
    /// `refs/remotes/origin/HEAD`.
    pub refname: String,
}

/// Commits on a new head that an old head does not have ([`Repo::subjects`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subjects {
    /// Subjects (first paragraph of the message, whitespace squashed), oldest first.
    pub subjects: Vec<String>,
    /// More than the walk's limit were new: only the newest `limit` are listed.
    pub truncated: bool,
    /// The old head is not an object of this repository (history rewritten and collected,
    /// or another repository): nothing is listed and the new head should be taken as the
    /// baseline.
    pub unknown_old: bool,
}

/// A file read from a commit's tree ([`Repo::file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// The path in the tree it was found at.
    pub path: String,
    /// The blob id (40 hex digits): a hash of the content, equal for equal content.
    pub id: String,
}

/// Why a git operation failed. `Display` says what failed, where, and how to fix it; libgit2's
/// own message is kept as text (no `git2` type leaves this module).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// [`Repo::open`]: the path does not exist.
    #[error(
        "{} does not exist; create it with `git clone <url> {}`, or fix the path",
        path.display(),
        shell_word(path)
    )]
    Missing {
        /// The path given to [`Repo::open`] (a `[loop.handoff]` repo directory).
        path: PathBuf,
    },
    /// [`Repo::open`]: the path is not in a git repository (libgit2's message).
    #[error(
        "{} is not a git repository ({message}); clone the shared repository there: git clone <url> {}",
        path.display(),
        shell_word(path)
    )]
    NotARepo {
        /// The path given to [`Repo::open`], which exists.
        path: PathBuf,
        /// libgit2's reason, e.g. that no repository was found above the path.
        message: String,
    },
    /// [`probe`]: the repository has no [`REMOTE`] remote.
    #[error(
        "the git repository {} has no `{REMOTE}` remote; add it: git -C {} remote add {REMOTE} <url>",
        path.display(),
        shell_word(path)
    )]
    NoRemote {
        /// The path given to [`probe`], inside the repository without the remote.
        path: PathBuf,
    },
    /// A text that should be a commit id is not one (40 hex digits).
    #[error("{id:?} is not a commit id in {}: {message}", repo.display())]
    BadId {
        /// The path the repository was opened with.
        repo: PathBuf,
        /// The text given as a commit id (e.g. a head recorded in the state file).
        id: String,
        /// libgit2's reason the text does not parse as an object id.
        message: String,
    },
    /// Reading the repository failed: a ref, the history walk, a commit, a tree or a file
    /// (`what` says which, libgit2's `message` why).
    #[error("{what} in {}: {message}", repo.display())]
    Read {
        /// The path the repository was opened with.
        repo: PathBuf,
        /// What failed, as a phrase: `cannot read origin/HEAD`, `cannot read commit <id>`…
        what: String,
        /// libgit2's reason.
        message: String,
    },
    /// [`fetch`]: no `git` program on `PATH`.
    #[error("git is not installed (not on PATH); install git to use [loop.handoff]")]
    NotInstalled,
    /// [`fetch`]: `git` could not be started.
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    /// [`fetch`]: waiting for `git fetch` failed.
    #[error("git fetch in {}: {source}", repo.display())]
    Wait {
        /// The repository `git -C` was run in.
        repo: PathBuf,
        /// The error from waiting for the child or reading its stderr.
        source: std::io::Error,
    },
    /// [`fetch`]: `git fetch` ran longer than its timeout and was killed.
    #[error("git fetch in {} did not finish within {timeout:?}; killed", repo.display())]
    FetchTimeout {
        /// The repository `git -C` was run in.
        repo: PathBuf,
        /// The timeout given to [`fetch`], after which git was killed.
        timeout: Duration,
    },
    /// [`fetch`]: `git fetch` exited unsuccessfully: its exit `status` and the last lines of
    /// its stderr joined by ` / ` (empty: it printed nothing).
    #[error(
        "git fetch {REMOTE} in {} failed ({status}): {}",
        repo.display(),
        if stderr.is_empty() { "no message" } else { stderr }
    )]
    FetchFailed {
        /// The repository `git -C` was run in.
        repo: PathBuf,
        /// The exit status of `git fetch` (a failure, or killed by a signal).
        status: std::process::ExitStatus,
        /// Up to the last three non-empty lines of its stderr, trimmed, joined by ` / `.
        stderr: String,
    },
}

/// Checks that `path` exists, is (inside) a git repository, and has an [`REMOTE`] remote.
///
/// # Errors
///
/// [`GitError::Missing`], [`GitError::NotARepo`] or [`GitError::NoRemote`]: which of these
/// fails, and how to fix it.
pub fn probe(path: &Path) -> Result<(), GitError> {
    let repo = Repo::open(path)?;
    match repo.inner.find_remote(REMOTE) {
        Ok(_) => Ok(()),
        Err(_) => Err(GitError::NoRemote { path: repo.path }),
    }
}

impl Repo {
    /// Opens the repository at or above `path`.
    ///
    /// # Errors
    ///
    /// [`GitError::Missing`] when the path does not exist, [`GitError::NotARepo`] when it is
    /// not in a git repository.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        if !path.exists() {
            return Err(GitError::Missing {
                path: path.to_path_buf(),
            });
        }
        let inner = git2::Repository::open_ext(
            path,
            git2::RepositoryOpenFlags::empty(),
            &[] as &[&std::ffi::OsStr],
        )
        .map_err(|e| GitError::NotARepo {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        Ok(Repo {
            inner,
            path: path.to_path_buf(),
        })
    }

    /// The head of `origin/main` as last fetched; else the branch `refs/remotes/origin/HEAD`
    /// points at. `Ok(None)`: neither exists (nothing fetched yet, or an empty remote).
    ///
    /// # Errors
    ///
    /// [`GitError::Read`]: a ref cannot be read or resolved, or names no commit.
    pub fn remote_head(&self) -> Result<Option<Head>, GitError> {
        let main = format!("refs/remotes/{REMOTE}/{BRANCH}");
        let r = match self.inner.find_reference(&main) {
            Ok(r) => r,
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                match self
                    .inner
                    .find_reference(&format!("refs/remotes/{REMOTE}/HEAD"))
                {
                    Ok(r) => r,
                    Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
                    Err(e) => return Err(self.err("cannot read origin/HEAD", &e)),
                }
            }
            Err(e) => return Err(self.err(&format!("cannot read {main}"), &e)),
        };
        let resolved = match r.resolve() {
            Ok(x) => x,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(self.err("cannot resolve origin/HEAD", &e)),
        };
        let refname = resolved.name().unwrap_or(&main).to_string();
        let commit = resolved
            .peel_to_commit()
            .map_err(|e| self.err(&format!("{refname} is not a commit"), &e))?;
        Ok(Some(Head {
            id: commit.id().to_string(),
            refname,
        }))
    }

    /// The subjects of the commits reachable from `new` but not from `old` (`git log
    /// old..new`), oldest first, at most `limit` (the newest). `old` not an ancestor of `new`
    /// (a force push) lists what `new` has that `old` has not; `old` unknown to the
    /// repository sets [`Subjects::unknown_old`] and lists nothing.
    ///
    /// # Errors
    ///
    /// [`GitError::BadId`] when `new` is not a commit id, [`GitError::Read`] when the
    /// history cannot be walked or a commit read.
    pub fn subjects(&self, old: &str, new: &str, limit: usize) -> Result<Subjects, GitError> {
        let new_id = self.oid(new)?;
        let mut walk = self
            .inner
            .revwalk()
            .map_err(|e| self.err("cannot walk the history", &e))?;
        walk.push(new_id)
            .map_err(|e| self.err(&format!("cannot walk from {new}"), &e))?;
        let known_old = git2::Oid::from_str(old)
            .ok()
            .filter(|o| self.inner.find_commit(*o).is_ok());
        let Some(old_id) = known_old else {
            return Ok(Subjects {
                unknown_old: true,
                ..Subjects::default()
            });
        };
        walk.hide(old_id)
            .map_err(|e| self.err(&format!("cannot walk from {old}"), &e))?;
        let mut out = Subjects::default();
        for id in walk {
            if out.subjects.len() == limit {
                out.truncated = true;
                break;
            }
            let id = id.map_err(|e| self.err("cannot walk the history", &e))?;
            let commit = self
                .inner
                .find_commit(id)
                .map_err(|e| self.err(&format!("cannot read commit {id}"), &e))?;
            let subject = commit
                .summary_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            out.subjects.push(subject);
        }
        out.subjects.reverse();
        Ok(out)
    }

    /// The first of `paths` that names a file (a blob) in the tree of commit `at`.
    /// `Ok(None)`: none of them does.
    ///
    /// # Errors
    ///
    /// [`GitError::BadId`] when `at` is not a commit id, [`GitError::Read`] when its tree or
    /// a path in it cannot be read.
    pub fn file(&self, at: &str, paths: &[String]) -> Result<Option<File>, GitError> {
        let id = self.oid(at)?;
        let tree = self
            .inner
            .find_commit(id)
            .and_then(|c| c.tree())
            .map_err(|e| self.err(&format!("cannot read the tree of {at}"), &e))?;
        for p in paths {
            match tree.get_path(Path::new(p)) {
                Ok(entry) if entry.kind() == Some(git2::ObjectType::Blob) => {
                    return Ok(Some(File {
                        path: p.clone(),
                        id: entry.id().to_string(),
                    }));
                }
                Ok(_) => {}
                Err(e) if e.code() == git2::ErrorCode::NotFound => {}
                Err(e) => return Err(self.err(&format!("cannot read {p} in {at}"), &e)),
            }
        }
        Ok(None)
    }

    /// `hex` as an object id.
    ///
    /// # Errors
    ///
    /// [`GitError::BadId`] when it is not 40 hex digits.
    fn oid(&self, hex: &str) -> Result<git2::Oid, GitError> {
        git2::Oid::from_str(hex).map_err(|e| GitError::BadId {
            repo: self.path.clone(),
            id: hex.to_string(),
            message: e.message().to_string(),
        })
    }

    /// A [`GitError::Read`] in this repository: `what` failed, libgit2 said `e`.
    fn err(&self, what: &str, e: &git2::Error) -> GitError {
        GitError::Read {
            repo: self.path.clone(),
            what: what.to_string(),
            message: e.message().to_string(),
        }
    }
}

/// Runs `git -C <repo> fetch -q origin`, killing it after `timeout`.
///
/// # Errors
///
/// [`GitError::NotInstalled`] or [`GitError::Spawn`] when git cannot be run,
/// [`GitError::FetchTimeout`] when it was killed after `timeout`, [`GitError::FetchFailed`]
/// (quoting the last lines of git's stderr) when it failed, [`GitError::Wait`] when it could
/// not be waited for.
pub async fn fetch(repo: &Path, timeout: Duration) -> Result<(), GitError> {
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("-C")
        .arg(repo)
        .args(["fetch", "-q", REMOTE])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("SSH_ASKPASS", "true")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // Its own process group: a fetch killed at its timeout takes the ssh it started
        // along (killing git alone left ssh waiting on the network).
        .process_group(0)
        .kill_on_drop(true);
    // Reading the repository's config is file I/O (libgit2): off the async runtime.
    let at = repo.to_path_buf();
    let custom = tokio::task::spawn_blocking(move || custom_ssh(&at))
        .await
        .unwrap_or(false);
    if !custom {
        cmd.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
    }
    let child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            GitError::NotInstalled
        } else {
            GitError::Spawn(e)
        }
    })?;
    let pgid = child.id();
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(source)) => {
            return Err(GitError::Wait {
                repo: repo.to_path_buf(),
                source,
            });
        }
        Err(_) => {
            if let Some(g) = pgid {
                crate::launch::proctree::kill_group(g);
            }
            return Err(GitError::FetchTimeout {
                repo: repo.to_path_buf(),
                timeout,
            });
        }
    };
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let msg: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    Err(GitError::FetchFailed {
        repo: repo.to_path_buf(),
        status: out.status,
        stderr: msg[msg.len().saturating_sub(3)..].join(" / "),
    })
}

/// Whether the user chose how git runs ssh (`GIT_SSH_COMMAND`, `GIT_SSH`, or
/// `core.sshCommand` in the repository's config): then it is left alone; otherwise ssh runs
/// in batch mode (it fails instead of asking for a password on the watchdog's terminal).
fn custom_ssh(repo: &Path) -> bool {
    std::env::var_os("GIT_SSH_COMMAND").is_some()
        || std::env::var_os("GIT_SSH").is_some()
        || git2::Repository::open_ext(
            repo,
            git2::RepositoryOpenFlags::empty(),
            &[] as &[&std::ffi::OsStr],
        )
        .and_then(|r| r.config())
        .and_then(|c| c.get_string("core.sshCommand"))
        .is_ok()
}

/// `path` quoted for a shell command shown in a message.
fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    shlex::try_quote(&s).map_or(s.clone(), std::borrow::Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Runs git in `dir` with a fixed identity; panics with its stderr on failure.
    pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "init.defaultBranch=main",
            ])
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A bare origin with one commit on main, and a clone of it: (tempdir, origin, clone).
    fn pair() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let origin = t.path().join("origin.git");
        let clone = t.path().join("clone");
        git(
            t.path(),
            &["init", "-q", "--bare", "-b", "main", "origin.git"],
        );
        git(t.path(), &["clone", "-q", "origin.git", "clone"]);
        git(&clone, &["commit", "-q", "--allow-empty", "-m", "first"]);
        git(&clone, &["push", "-q", "origin", "HEAD:main"]);
        (t, origin, clone)
    }

    #[tokio::test]
    async fn reads_subjects_between_heads_and_files_of_the_tree() {
        let (_t, _origin, clone) = pair();
        git(&clone, &["fetch", "-q", "origin"]);
        let repo = Repo::open(&clone).unwrap();
        let old = repo.remote_head().unwrap().unwrap();
        assert_eq!(old.refname, "refs/remotes/origin/main");
        std::fs::create_dir_all(clone.join("docs")).unwrap();
        std::fs::write(clone.join("docs/inbox.md"), "hello\n").unwrap();
        git(&clone, &["add", "-A"]);
        git(&clone, &["commit", "-q", "-m", "claim: gate 1\n\nbody"]);
        git(&clone, &["commit", "-q", "--allow-empty", "-m", "other"]);
        git(&clone, &["push", "-q", "origin", "HEAD:main"]);
        fetch(&clone, Duration::from_secs(20)).await.unwrap();
        let new = repo.remote_head().unwrap().unwrap();
        assert_ne!(old, new);
        let s = repo.subjects(&old.id, &new.id, 100).unwrap();
        assert_eq!(s.subjects, ["claim: gate 1", "other"]);
        assert!(!s.truncated && !s.unknown_old);
        let s = repo.subjects(&old.id, &new.id, 1).unwrap();
        assert_eq!(
            (s.subjects.as_slice(), s.truncated),
            (&["other".to_string()][..], true)
        );
        assert!(
            repo.subjects(&new.id, &new.id, 10)
                .unwrap()
                .subjects
                .is_empty()
        );
        let gone = "0123456789012345678901234567890123456789";
        assert!(repo.subjects(gone, &new.id, 10).unwrap().unknown_old);
        let f = repo
            .file(&new.id, &["x/inbox.md".into(), "docs/inbox.md".into()])
            .unwrap()
            .unwrap();
        assert_eq!(f.path, "docs/inbox.md");
        assert_eq!(f.id, git(&clone, &["rev-parse", "HEAD:docs/inbox.md"]));
        assert_eq!(repo.file(&new.id, &["docs".into()]).unwrap(), None);
        assert_eq!(repo.file(&old.id, &["docs/inbox.md".into()]).unwrap(), None);
    }

    #[test]
    fn a_users_own_ssh_command_is_left_alone() {
        if std::env::var_os("GIT_SSH_COMMAND").is_some() || std::env::var_os("GIT_SSH").is_some() {
            return;
        }
        let t = tempfile::tempdir().unwrap();
        git(t.path(), &["init", "-q", "r"]);
        let r = t.path().join("r");
        assert!(!custom_ssh(&r));
        git(&r, &["config", "core.sshCommand", "ssh -i /keys/deploy"]);
        assert!(custom_ssh(&r));
    }

    #[tokio::test]
    async fn origin_head_is_followed_when_main_is_missing() {
        let t = tempfile::tempdir().unwrap();
        git(t.path(), &["init", "-q", "--bare", "-b", "trunk", "o.git"]);
        git(t.path(), &["clone", "-q", "o.git", "c"]);
        let c = t.path().join("c");
        git(&c, &["commit", "-q", "--allow-empty", "-m", "x"]);
        git(&c, &["push", "-q", "origin", "HEAD:trunk"]);
        let repo = Repo::open(&c).unwrap();
        assert_eq!(repo.remote_head().unwrap(), None, "nothing fetched yet");
        git(&c, &["remote", "set-head", "origin", "trunk"]);
        let h = repo.remote_head().unwrap().unwrap();
        assert_eq!(h.refname, "refs/remotes/origin/trunk");
    }

    #[tokio::test]
    async fn bad_repositories_and_failed_fetches_say_what_to_fix() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("nope");
        let e = probe(&missing).unwrap_err();
        assert!(matches!(e, GitError::Missing { .. }), "{e:?}");
        assert!(e.to_string().contains("does not exist"));
        let plain = t.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        let e = probe(&plain).unwrap_err();
        assert!(matches!(e, GitError::NotARepo { .. }), "{e:?}");
        assert!(e.to_string().contains("is not a git repository"));
        git(t.path(), &["init", "-q", "solo"]);
        let e = probe(&t.path().join("solo")).unwrap_err();
        assert!(matches!(e, GitError::NoRemote { .. }), "{e:?}");
        let e = e.to_string();
        assert!(
            e.contains("no `origin` remote") && e.contains("remote add origin"),
            "{e}"
        );
        let e = fetch(&t.path().join("solo"), Duration::from_secs(20))
            .await
            .unwrap_err();
        assert!(matches!(e, GitError::FetchFailed { .. }), "{e:?}");
        let e = e.to_string();
        assert!(
            e.contains("git fetch origin") && e.contains("origin"),
            "{e}"
        );
        let (_t2, origin, clone) = pair();
        assert!(probe(&clone).is_ok());
        std::fs::rename(&origin, origin.with_extension("moved")).unwrap();
        let e = fetch(&clone, Duration::from_secs(20)).await.unwrap_err();
        assert!(matches!(e, GitError::FetchFailed { .. }), "{e:?}");
        assert!(e.to_string().contains("failed"), "{e}");
        // A remote that never answers (its ssh command sleeps), so the timeout decides, not
        // how fast a failing fetch exits on a busy machine.
        git(
            &clone,
            &["remote", "set-url", "origin", "ssh://host.invalid/r.git"],
        );
        let marker = format!("sleep 7.{};:", std::process::id());
        git(&clone, &["config", "core.sshCommand", &marker]);
        let e = fetch(&clone, Duration::from_millis(200)).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "git fetch in {} did not finish within 200ms; killed",
                clone.display()
            )
        );
        // Nothing it started outlives it: not the ssh command either (its shell holds the
        // marker in its arguments). SIGKILL takes effect when the process next runs: on a
        // busy machine that may be a moment after `fetch` returned.
        let running = || {
            crate::launch::proctree::snapshot()
                .keys()
                .filter(|pid| {
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
                })
                .count()
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while running() > 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(running(), 0, "the timed-out fetch's ssh command still runs");
    }
}
