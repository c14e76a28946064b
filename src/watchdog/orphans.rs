//! The sessions this fleet started whose agent left the config are stopped by the watchdog.

use serde_json::json;

use super::tick::Ticker;
use crate::ctx::Ctx;
use crate::launch::stop;

impl Ticker {
    /// Stops the sessions this fleet started whose agent left the config (renamed, removed,
    /// a changed `session_prefix`), as `supervisorctl update` does, and forgets manifest
    /// entries whose session is gone. Never its own session.
    pub(super) async fn stop_orphans(&mut self, ctx: &Ctx, sessions: &crate::tmux::Sessions) {
        let file = ctx.state.manifest();
        let manifest = match file.load() {
            Ok(m) => m,
            Err(e) => {
                if self.manifest_reported.first() {
                    tracing::warn!("{e}");
                    ctx.events.emit("state-corrupt", json!({"why": e}));
                }
                return;
            }
        };
        self.manifest_reported.reset();
        let current = ctx.cfg.session_names();
        let me = std::process::id();
        let mut gone = Vec::new();
        let mut targets = Vec::new();
        for (session, entry) in crate::state::manifest::orphans(&manifest, &current) {
            match sessions.get(session) {
                None => gone.push(session.clone()),
                Some(p) if p.pid == Some(me) => {}
                Some(_) => {
                    tracing::warn!(
                        "{session} ({}) is no longer in the config — stopping it",
                        entry.name
                    );
                    ctx.events.emit(
                        "orphan-stopped",
                        json!({"name": entry.name, "session": session,
                               "why": "its agent is no longer in the config"}),
                    );
                    targets.push(stop::plain_target(session));
                    gone.push(session.clone());
                }
            }
        }
        if let Err(e) = stop::stop(ctx, &targets).await {
            tracing::warn!("stopping sessions the config no longer names: {e}");
        }
        if let Err(e) = file.remove(&gone) {
            tracing::warn!("cannot update the manifest: {e}");
        }
    }
}
