//! The serde mirror of `agents.toml`: every key optional, spans kept on the values that are
//! validated later, so an error can name the line and column. Nothing here checks meaning;
//! `validate.rs` turns a [`RawFile`] into the typed [`crate::config::Config`].

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
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
    #[serde(default)]
    pub notify: RawNotify,
}

/// One `[defaults]`, `[[agent]]` or `[[service]]` table. They share one shape because
/// `[defaults]` may hold any agent or service key (SPEC §1); which keys are allowed where is
/// checked in `validate.rs`.
#[derive(Debug, Default, Deserialize)]
pub struct RawEntry {
    // [defaults] only
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub session_prefix: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub log_dir: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub project_dir: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub tmux_socket: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub log_max_bytes: Option<Spanned<i64>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub log_files: Option<Spanned<i64>>,
    // agents and services
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub name: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub session: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub dir: Option<SStr>,
    #[serde(default, deserialize_with = "lenient")]
    pub enabled: Option<bool>,
    // services
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub command: Option<SStr>,
    // agents
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub kind: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub backend: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub model: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub role: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub prompt: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub prompt_file: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub watch: Option<SStr>,
    #[serde(default, deserialize_with = "lenient")]
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
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub signal_interval: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub heavy_interval: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub limit_probe_fallback: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub limit_reset_slack: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub stall_grace: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub backoff_initial: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub backoff_max: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub max_restarts: Option<Spanned<i64>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub restart_window: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub stable_after: Option<Spanned<Seconds>>,
}

/// `[notify]`: the command run for the events a person must hear about.
#[derive(Debug, Default, Deserialize)]
pub struct RawNotify {
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub command: Option<Spanned<RawCommand>>,
    /// Not lenient: each kind keeps its own span for the error that names it.
    #[serde(default)]
    pub events: Option<Spanned<Vec<SStr>>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub notify_repeat: Option<Spanned<Seconds>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub timeout: Option<Spanned<Seconds>>,
}

/// A command written as one string (split into words later) or as an array of words.
#[derive(Debug, Clone, PartialEq)]
pub enum RawCommand {
    Line(String),
    Argv(Vec<String>),
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a command line string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCommand, E> {
                Ok(RawCommand::Line(v.to_string()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawCommand, A::Error> {
                let mut words = Vec::new();
                while let Some(w) = seq.next_element::<String>()? {
                    words.push(w);
                }
                Ok(RawCommand::Argv(words))
            }
        }
        d.deserialize_any(V)
    }
}

/// `[backend.NAME]`, or a built-in preset (`src/presets/NAME.toml`, the same keys).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct RawBackend {
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub bin: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub prompt_delivery: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub flags: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub model_flag: Option<SStr>,
    #[serde(default, deserialize_with = "lenient")]
    pub supports_resume: Option<bool>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub resume_flag: Option<SStr>,
    #[serde(default, deserialize_with = "lenient")]
    pub remote_control: Option<bool>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub remote_control_flag: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub process_name: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub submit_key: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub active_re: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub limit_re: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub fatal_re: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub ready_re: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub idle_re: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub dialog_re: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub continue_re: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub choice_re: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub region: Option<Spanned<i64>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub stall_nudge: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub stop_keys: Option<Spanned<Vec<String>>>,
    #[serde(default, deserialize_with = "lenient")]
    pub stop_timeout: Option<Seconds>,
    #[serde(default, deserialize_with = "lenient")]
    pub footer_ui: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub log_grace: Option<Seconds>,
    #[serde(default, deserialize_with = "lenient")]
    pub stall_idle: Option<Seconds>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub attach: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub server: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub preamble: Option<SStr>,
    #[serde(default, deserialize_with = "lenient")]
    pub connect_delay: Option<Seconds>,
    #[serde(default, deserialize_with = "lenient")]
    pub model_env: Option<bool>,
}

impl RawBackend {
    /// This table laid over `base` key by key: a key set here wins, an unset one comes from
    /// `base` (a `[backend.claude]` table over the `claude` preset).
    pub fn over(self, base: &RawBackend) -> RawBackend {
        macro_rules! merge {
            ($($f:ident),* $(,)?) => {
                RawBackend { $($f: self.$f.or_else(|| base.$f.clone()),)* }
            };
        }
        merge!(
            bin,
            prompt_delivery,
            flags,
            model_flag,
            supports_resume,
            resume_flag,
            remote_control,
            remote_control_flag,
            process_name,
            submit_key,
            active_re,
            limit_re,
            fatal_re,
            ready_re,
            idle_re,
            dialog_re,
            continue_re,
            choice_re,
            region,
            stall_nudge,
            stop_keys,
            stop_timeout,
            footer_ui,
            log_grace,
            stall_idle,
            attach,
            server,
            preamble,
            connect_delay,
            model_env,
        )
    }
}

/// `[loop]`: the builder/reviewer phase machine.
#[derive(Debug, Default, Deserialize)]
pub struct RawLoop {
    #[serde(default)]
    pub phases: Vec<Spanned<RawPhase>>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub state_file: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub done_marker: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub kickoff_template: Option<SStr>,
    #[serde(default, deserialize_with = "lenient_spanned")]
    pub roles_dir: Option<SStr>,
    #[serde(default, deserialize_with = "lenient")]
    pub auto_advance: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub resume_phase: Option<bool>,
    pub handoff: Option<Spanned<RawHandoff>>,
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
    pub inboxes: Vec<SStr>,
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

thread_local! {
    /// Values of the wrong type met while deserializing, as (span, message): collected so that
    /// a type error is reported together with every other problem in the file.
    static TYPE_PROBLEMS: RefCell<Vec<(Range<usize>, String)>> = const { RefCell::new(Vec::new()) };
}

/// Takes the type problems recorded on this thread since the last call.
pub fn take_type_problems() -> Vec<(Range<usize>, String)> {
    TYPE_PROBLEMS.with(|p| std::mem::take(&mut *p.borrow_mut()))
}

fn record(span: Range<usize>, msg: String) {
    TYPE_PROBLEMS.with(|p| p.borrow_mut().push((span, msg)));
}

/// Deserializes a scalar; a value of the wrong type is recorded (see [`take_type_problems`])
/// and read as absent instead of aborting the whole file.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = Spanned::<toml::Value>::deserialize(d)?;
    let span = v.span();
    match T::deserialize(v.into_inner()) {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            record(span, e.message().to_string());
            Ok(None)
        }
    }
}

/// [`lenient`], keeping the value's span.
fn lenient_spanned<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Option<Spanned<T>>, D::Error> {
    let v = Spanned::<toml::Value>::deserialize(d)?;
    let span = v.span();
    match T::deserialize(v.into_inner()) {
        Ok(t) => Ok(Some(Spanned::new(span, t))),
        Err(e) => {
            record(span, e.message().to_string());
            Ok(None)
        }
    }
}
