//! The seam under tmux: [`Mux`], what supervision (the watchdog's tick, its restarts and
//! stops) and typing ask of a terminal multiplexer. [`super::Tmux`] is the real one;
//! [`super::fake::FakeMux`] an in-memory one, so the tick and typing run in-process under a
//! paused tokio clock.
//!
//! The methods return boxed futures rather than being `async fn`s: a trait with `async fn`
//! is not dyn-compatible, and [`crate::ctx::Ctx`] holds the driver as an `Arc<dyn Mux>`
//! instead of being generic over it (a type parameter would reach every function that takes
//! a `&Ctx`). One allocation per call is nothing next to the tmux process each real call
//! runs. The futures are `Send`: the watchdog hands deliveries to `tokio::spawn`.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use super::{Screen, SessionSpec, Sessions, Tmux, TmuxError};

/// What a [`Mux`] method returns: a boxed `Send` future borrowing the driver and the
/// arguments for `'a`.
pub type MuxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A terminal multiplexer as supervision and typing use it. Each method has the meaning of
/// the [`Tmux`] method of the same name (see there for errors and batching).
pub trait Mux: std::fmt::Debug + Send + Sync {
    /// Every session with its current pane; no server running is no sessions, not an error.
    fn sessions(&self) -> MuxFuture<'_, Result<Sessions, TmuxError>>;
    /// A session's current pane read with its cursor, at one instant.
    fn screen<'a>(&'a self, name: &'a str) -> MuxFuture<'a, Result<Screen, TmuxError>>;
    /// The visible text of a session's current pane, wrapped lines joined.
    fn capture<'a>(&'a self, name: &'a str) -> MuxFuture<'a, Result<String, TmuxError>>;
    /// The text of many panes by session name (those in `scrolled` with scrollback above);
    /// a pane that cannot be captured is left out.
    fn capture_many_with<'a>(
        &'a self,
        names: &'a [String],
        scrolled: &'a [String],
    ) -> MuxFuture<'a, HashMap<String, String>>;
    /// Starts sessions; one result per spec, in order.
    fn start<'a>(&'a self, specs: &'a [SessionSpec]) -> MuxFuture<'a, Vec<Result<(), TmuxError>>>;
    /// Renames session `from` to `to.name`, its output going to `to.log` from then on.
    fn rename<'a>(
        &'a self,
        from: &'a str,
        to: &'a SessionSpec,
    ) -> MuxFuture<'a, Result<(), TmuxError>>;
    /// Kills sessions; one already gone is not an error.
    fn kill<'a>(&'a self, names: &'a [String]) -> MuxFuture<'a, Result<(), TmuxError>>;
    /// Types `text` literally (control characters as spaces).
    fn send_text<'a>(
        &'a self,
        name: &'a str,
        text: &'a str,
    ) -> MuxFuture<'a, Result<(), TmuxError>>;
    /// Pastes `text` as one bracketed paste.
    fn paste<'a>(&'a self, name: &'a str, text: &'a str) -> MuxFuture<'a, Result<(), TmuxError>>;
    /// Presses one key (a tmux key name) in a session's current pane.
    fn send_key<'a>(&'a self, name: &'a str, key: &'a str) -> MuxFuture<'a, Result<(), TmuxError>>;
    /// Presses one key in each of many sessions, `(session, key)`; a session gone is skipped.
    fn send_keys_many<'a>(&'a self, presses: &'a [(String, String)]) -> MuxFuture<'a, ()>;
}

impl Mux for Tmux {
    fn sessions(&self) -> MuxFuture<'_, Result<Sessions, TmuxError>> {
        Box::pin(Tmux::sessions(self))
    }
    fn screen<'a>(&'a self, name: &'a str) -> MuxFuture<'a, Result<Screen, TmuxError>> {
        Box::pin(Tmux::screen(self, name))
    }
    fn capture<'a>(&'a self, name: &'a str) -> MuxFuture<'a, Result<String, TmuxError>> {
        Box::pin(Tmux::capture(self, name))
    }
    fn capture_many_with<'a>(
        &'a self,
        names: &'a [String],
        scrolled: &'a [String],
    ) -> MuxFuture<'a, HashMap<String, String>> {
        Box::pin(Tmux::capture_many_with(self, names, scrolled))
    }
    fn start<'a>(&'a self, specs: &'a [SessionSpec]) -> MuxFuture<'a, Vec<Result<(), TmuxError>>> {
        Box::pin(Tmux::start(self, specs))
    }
    fn rename<'a>(
        &'a self,
        from: &'a str,
        to: &'a SessionSpec,
    ) -> MuxFuture<'a, Result<(), TmuxError>> {
        Box::pin(Tmux::rename(self, from, to))
    }
    fn kill<'a>(&'a self, names: &'a [String]) -> MuxFuture<'a, Result<(), TmuxError>> {
        Box::pin(Tmux::kill(self, names))
    }
    fn send_text<'a>(
        &'a self,
        name: &'a str,
        text: &'a str,
    ) -> MuxFuture<'a, Result<(), TmuxError>> {
        Box::pin(Tmux::send_text(self, name, text))
    }
    fn paste<'a>(&'a self, name: &'a str, text: &'a str) -> MuxFuture<'a, Result<(), TmuxError>> {
        Box::pin(Tmux::paste(self, name, text))
    }
    fn send_key<'a>(&'a self, name: &'a str, key: &'a str) -> MuxFuture<'a, Result<(), TmuxError>> {
        Box::pin(Tmux::send_key(self, name, key))
    }
    fn send_keys_many<'a>(&'a self, presses: &'a [(String, String)]) -> MuxFuture<'a, ()> {
        Box::pin(Tmux::send_keys_many(self, presses))
    }
}
