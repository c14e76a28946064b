//! The pane listing relayed by the watchdog: `status` asks the running watchdog, over a unix
//! socket, for the server's pane listing, and the watchdog asks its control-mode client
//! ([`super::control::Lister`]), which is already connected to the server: no tmux process
//! is started. A fresh listing, taken when asked, the same text `tmux list-panes -a -F
//! LIST_FORMAT` prints: what `status` shows is as live as its own call would be (50
//! sessions, tmux 3.3a: about 0.6 ms in control mode against 2–3 ms for a tmux client
//! process).
//!
//! The socket ([`path`]) is in tmux's own socket directory (`$TMUX_TMPDIR/tmux-<uid>/`,
//! which tmux makes private to the user), named after the fleet's config file: `status`
//! finds it before it has read the config, and asks while it reads it. Mode 0600.
//!
//! The protocol: the asker writes [`REQUEST`]; the watchdog answers a line `agents-listing
//! <server socket path>` and the listing, then closes. Anything else (no socket, no answer
//! within the asker's timeout, a watchdog without a control client, another server's
//! listing) is no answer: the asker makes its own tmux call.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use super::Sessions;
use super::control::Lister;

/// What the asker writes.
const REQUEST: &[u8] = b"list-panes\n";
/// The first word of the answer's first line.
const HEADER: &str = "agents-listing ";
/// How long the watchdog waits for its control client's answer.
const LIST_TIMEOUT: Duration = Duration::from_millis(500);
/// How long the watchdog waits for an asker's request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the watchdog of the fleet whose config file is `config` relays the listing of the
/// server `tmux` drives: `agents-<16 hex digits>.sock` (FNV-1a of the config file's real
/// path) beside the server's socket.
pub fn path(tmux: &super::Tmux, config: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    let real = config
        .canonicalize()
        .unwrap_or_else(|_| config.to_path_buf());
    let hash = real
        .as_os_str()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    let server = tmux.server_path();
    server
        .parent()
        .unwrap_or(Path::new("/"))
        .join(format!("agents-{hash:016x}.sock"))
}

/// A running relay; dropping it stops serving and removes its socket.
#[derive(Debug)]
pub struct Relay {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Serves the listing at `path` (a stale socket there is replaced: the caller holds the
    /// watchdog lock) for the server at `server` (its socket path), asking whichever client
    /// `lister` holds at the time (none: no answer).
    ///
    /// # Errors
    ///
    /// The socket cannot be made: the path is too long for a unix socket (about 100 bytes),
    /// the directory is not writable, a non-socket file is in the way.
    pub fn serve(
        path: &Path,
        server: &Path,
        lister: watch::Receiver<Option<Lister>>,
    ) -> std::io::Result<Self> {
        use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if !m.file_type().is_socket() {
                return Err(std::io::Error::other(format!(
                    "{} is in the way (not a socket)",
                    path.display()
                )));
            }
            std::fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        let header = format!("{HEADER}{}\n", server.display());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let header = header.clone();
                let lister = lister.borrow().clone();
                tokio::spawn(async move {
                    let _ = answer(stream, &header, lister).await;
                });
            }
        });
        Ok(Self {
            path: path.to_path_buf(),
            task,
        })
    }

    /// Where it serves.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Answers one asker: its request, then the header and the listing (nothing when there is
/// no client to ask or it does not answer).
async fn answer(
    mut stream: UnixStream,
    header: &str,
    lister: Option<Lister>,
) -> std::io::Result<()> {
    let mut request = [0u8; REQUEST.len()];
    tokio::time::timeout(REQUEST_TIMEOUT, stream.read_exact(&mut request))
        .await
        .map_err(|_| std::io::Error::other("no request"))??;
    if request != REQUEST {
        return Ok(());
    }
    let Some(lister) = lister else {
        return Ok(());
    };
    let Some(listing) = lister.list(LIST_TIMEOUT).await else {
        return Ok(());
    };
    stream.write_all(header.as_bytes()).await?;
    stream.write_all(listing.as_bytes()).await?;
    stream.shutdown().await
}

/// A request sent to the watchdog's relay, its answer not read yet.
#[derive(Debug)]
pub struct Asked(UnixStream);

impl Asked {
    /// Connects to the relay at `path` and sends the request; `None` when nothing listens
    /// there.
    pub async fn send(path: &Path) -> Option<Self> {
        let mut stream = UnixStream::connect(path).await.ok()?;
        stream.write_all(REQUEST).await.ok()?;
        Some(Self(stream))
    }

    /// The listing of the server at `server` (its socket path), when the relay answers it
    /// within `timeout`; `None` otherwise (see the module doc).
    pub async fn answer(mut self, server: &Path, timeout: Duration) -> Option<Sessions> {
        let mut buf = Vec::with_capacity(1 << 14);
        tokio::time::timeout(timeout, self.0.read_to_end(&mut buf))
            .await
            .ok()?
            .ok()?;
        let text = std::str::from_utf8(&buf).ok()?;
        let (first, listing) = text.split_once('\n')?;
        let from = first.strip_prefix(HEADER)?;
        (Path::new(from) == server).then(|| super::format::parse(listing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "1\t1\t0\t\t\t10\tsleep\tp-a\n1\t1\t1\t0\t\t11\tsleep\tp-b\n";

    #[tokio::test]
    async fn the_listing_of_the_named_server_is_relayed_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watchdog.sock");
        let server = Path::new("/tmp/tmux-1/default");
        let (tx, rx) = watch::channel(Some(Lister::answering(LISTING)));
        let relay = Relay::serve(&path, server, rx).unwrap();
        let ask = || async { Asked::send(&path).await.expect("it listens") };
        let s = ask()
            .await
            .answer(server, Duration::from_secs(5))
            .await
            .expect("answered");
        assert!(s.server_running && s.is_live("p-a") && !s.is_live("p-b"));
        // Another server's listing is no answer; so is a relay with no client to ask.
        let other = ask()
            .await
            .answer(Path::new("/tmp/tmux-1/x"), Duration::from_secs(5))
            .await;
        assert!(other.is_none());
        tx.send_replace(None);
        assert!(
            ask()
                .await
                .answer(server, Duration::from_secs(5))
                .await
                .is_none()
        );
        // Dropped, it stops and its socket is gone: nothing listens.
        drop(relay);
        assert!(!path.exists());
        assert!(Asked::send(&path).await.is_none());
    }

    #[tokio::test]
    async fn a_file_in_the_way_is_an_error_and_a_stale_socket_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watchdog.sock");
        std::fs::write(&path, "x").unwrap();
        let (_tx, rx) = watch::channel(Some(Lister::answering(LISTING)));
        let err = Relay::serve(&path, Path::new("/s"), rx.clone()).unwrap_err();
        assert!(err.to_string().contains("not a socket"), "{err}");
        std::fs::remove_file(&path).unwrap();
        // A socket left by a killed watchdog: nothing listens on it.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(Asked::send(&path).await.is_none());
        let _relay = Relay::serve(&path, Path::new("/s"), rx).unwrap();
        let s = Asked::send(&path)
            .await
            .unwrap()
            .answer(Path::new("/s"), Duration::from_secs(5))
            .await;
        assert!(s.is_some_and(|s| s.is_live("p-a")));
    }
}
