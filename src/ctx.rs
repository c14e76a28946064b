//! What every verb works with: the loaded config, the tmux driver for its server, the state
//! directory and the event log.

use crate::config::Config;
use crate::events::Events;
use crate::state::StateDir;
use crate::tmux::Tmux;

/// One fleet, ready to act on.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub cfg: Config,
    pub tmux: Tmux,
    pub state: StateDir,
    pub events: Events,
}

impl Ctx {
    /// Builds the context for `cfg`. The tmux server is `[defaults].tmux_socket`, else
    /// `$AGENTS_TMUX_SOCKET`, else the default server. `source` names the writer in events.
    pub fn new(cfg: Config, source: &'static str) -> Self {
        let socket = cfg.tmux_socket.clone().or_else(|| {
            std::env::var("AGENTS_TMUX_SOCKET")
                .ok()
                .filter(|s| !s.is_empty())
        });
        Self {
            tmux: Tmux::new(socket),
            state: StateDir::new(&cfg),
            events: Events::new(&cfg.log_dir, source).rotating(cfg.log_max_bytes, cfg.log_files),
            cfg,
        }
    }

    /// What names this fleet in the environment of the processes it starts
    /// (`AGENTS_FLEET`, see [`crate::launch::proctree::FLEET_VAR`]): its state directory
    /// and its tmux socket name (`|` then the name; nothing after `|` for the default
    /// server). Two fleets with the same session names differ here, so stopping one never
    /// touches the other's processes.
    pub fn fleet_id(&self) -> String {
        format!(
            "{}|{}",
            self.state.dir().display(),
            self.tmux.socket().unwrap_or("")
        )
    }
}
