//! The serde mirror of `agents.toml`: every key optional, spans kept on the values that are
//! validated later, so an error can name the line and column. Nothing here checks meaning;
//! `validate.rs` turns a [`RawFile`] into the typed [`crate::config::Config`].

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

/// A string value with its byte span in the config file.
pub type SStr = Spanned<String>;

/// The whole file. Table names are those of the original `agents.py`.
#[derive(Debug, Default, Deserialize)]
pub struct RawFile {
    #[serde(default)]
    pub defaults: RawEntry,
    #[serde(default)]
    pub watchdog: RawWatchdog,
    #[serde(default)]
    pub backend: BTreeMap<String, RawBackend>,
    #[serde(default)]
    pub agent: Vec<Spanned<RawEntry>>,
    #[serde(default)]
    pub service: Vec<Spanned<RawEntry>>,
    #[serde(default, rename = "loop")]
    pub loop_: RawLoop,
}

/// One `[defaults]`, `[[agent]]` or `[[service]]` table. They share one shape because
/// `[defaults]` may hold any agent or service key (SPEC §1); which keys are allowed where is
/// checked in `validate.rs`.
#[derive(Debug, Default, Deserialize)]
pub struct RawEntry {
    // [defaults] only
    pub session_prefix: Option<SStr>,
    pub log_dir: Option<SStr>,
    pub project_dir: Option<SStr>,
    pub tmux_socket: Option<SStr>,
    // agents and services
    pub name: Option<SStr>,
    pub session: Option<SStr>,
    pub dir: Option<SStr>,
    pub enabled: Option<bool>,
    // services
    pub command: Option<SStr>,
    // agents
    pub kind: Option<SStr>,
    pub backend: Option<SStr>,
    pub model: Option<SStr>,
    pub role: Option<SStr>,
    pub prompt: Option<SStr>,
    pub prompt_file: Option<SStr>,
    pub watch: Option<SStr>,
    pub resume: Option<bool>,
    pub wake: Option<Spanned<RawWake>>,
}

/// `wake = { interval = 3600, prompt_file = "..." }`.
#[derive(Debug, Default, Deserialize)]
pub struct RawWake {
    pub interval: Option<Seconds>,
    pub prompt_file: Option<SStr>,
}

/// `[watchdog]`: intervals in seconds.
#[derive(Debug, Default, Deserialize)]
pub struct RawWatchdog {
    pub signal_interval: Option<Spanned<Seconds>>,
    pub heavy_interval: Option<Spanned<Seconds>>,
    pub limit_probe_fallback: Option<Spanned<Seconds>>,
    pub limit_reset_slack: Option<Spanned<Seconds>>,
    pub stall_grace: Option<Spanned<Seconds>>,
}

/// `[backend.NAME]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawBackend {
    pub bin: Option<SStr>,
    pub prompt_delivery: Option<SStr>,
    pub flags: Option<SStr>,
    pub model_flag: Option<SStr>,
    pub supports_resume: Option<bool>,
    pub resume_flag: Option<SStr>,
    pub remote_control: Option<bool>,
    pub remote_control_flag: Option<SStr>,
    pub process_name: Option<SStr>,
    pub submit_key: Option<SStr>,
    pub active_re: Option<SStr>,
    pub limit_re: Option<SStr>,
    pub fatal_re: Option<SStr>,
    pub ready_re: Option<SStr>,
    pub footer_ui: Option<bool>,
    pub log_grace: Option<Seconds>,
    pub stall_idle: Option<Seconds>,
    pub attach: Option<SStr>,
    pub server: Option<SStr>,
    pub preamble: Option<SStr>,
    pub connect_delay: Option<Seconds>,
    pub model_env: Option<bool>,
}

/// `[loop]`: the builder/reviewer phase machine.
#[derive(Debug, Default, Deserialize)]
pub struct RawLoop {
    #[serde(default)]
    pub phases: Vec<Spanned<RawPhase>>,
    pub state_file: Option<SStr>,
    pub done_marker: Option<SStr>,
    pub kickoff_template: Option<SStr>,
    pub roles_dir: Option<SStr>,
    pub auto_advance: Option<bool>,
    pub resume_phase: Option<bool>,
    pub handoff: Option<RawHandoff>,
    pub on_complete: Option<RawOnComplete>,
}

/// One entry of `[loop].phases`.
#[derive(Debug, Deserialize)]
pub struct RawPhase {
    pub id: SStr,
    pub plan: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub models: BTreeMap<String, String>,
}

/// `[loop.handoff]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawHandoff {
    pub repo: Option<SStr>,
    pub state_subdir: Option<String>,
    pub claim_pattern: Option<SStr>,
    pub review_pattern: Option<SStr>,
    pub claim_pings: Option<SStr>,
    pub review_pings: Option<SStr>,
    #[serde(default)]
    pub inboxes: Vec<String>,
}

/// `[loop.on_complete]`.
#[derive(Debug, Default, Deserialize)]
pub struct RawOnComplete {
    pub run: Option<SStr>,
    pub trigger_file: Option<String>,
}

/// A duration in seconds, written as an integer (`30`) or a float (`0.5`); never negative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seconds(pub f64);

impl Seconds {
    /// As a [`std::time::Duration`].
    pub fn duration(self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds, such as 30 or 0.5")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                if v < 0 {
                    return Err(E::custom(format!(
                        "{v} is negative; expected a number of seconds >= 0"
                    )));
                }
                Ok(Seconds(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                if !v.is_finite() || !(0.0..=1e9).contains(&v) {
                    return Err(E::custom(format!(
                        "{v} is not a usable number of seconds (expected 0 to 1e9)"
                    )));
                }
                Ok(Seconds(v))
            }
        }
        d.deserialize_any(V)
    }
}
