//! `agents send NAME [TEXT | --file F | -] [--now] [--timeout SECS]` and
//! `agents send NAME --keys KEY...` — a person's message to an agent, through the one typing
//! path ([`crate::typing::deliver`], purpose `send`).
//!
//! Without `--now` it waits until the agent's pane is idle and reads it again under the
//! typing lock ([`crate::typing::deliver_when_idle`]: of several sends waiting for one busy
//! agent, one is typed per idle spell), giving up after `--timeout` (seconds, fractions
//! allowed; 0 does not wait: typed only if idle now, else refused with exit 1). A busy agent
//! is never typed into because of the timeout; only `--now` types without reading the pane. A dialog is refused at once (a person must answer it; `--keys`
//! can). `--keys` presses named tmux keys at once, even into a dialog, and submits nothing.
//! Exit 0 when the delivery was verified; [`EXIT_UNVERIFIED`] (4) when the submit key was
//! pressed but the delivery could not be verified (the text may have reached the agent);
//! 1 with the reason when nothing was submitted (refused: not running, a dialog, still busy)
//! or on an error.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::config::{Agent, Config, diagnostic};
use crate::ctx::Ctx;
use crate::typing::{self, Message, NotIdle, Outcome};

/// Exit status of `agents send` when the text was submitted but not verified.
pub(crate) const EXIT_UNVERIFIED: u8 = 4;

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// The text on the command line.
    Text(String),
    /// `-`: the text on stdin.
    Stdin,
    /// `--file PATH`.
    File(PathBuf),
    /// `--keys KEY...`.
    Keys(Vec<String>),
    /// Nothing given.
    Missing,
}

impl Input {
    /// From the parsed arguments (clap already refused the combinations that conflict).
    pub(crate) fn of(text: Option<String>, file: Option<PathBuf>, keys: Vec<String>) -> Self {
        match (text, file) {
            _ if !keys.is_empty() => Input::Keys(keys),
            (Some(t), _) if t == "-" => Input::Stdin,
            (Some(t), _) => Input::Text(t),
            (None, Some(f)) => Input::File(f),
            (None, None) => Input::Missing,
        }
    }
}

/// Runs the verb. `wait`: how long to wait for the agent to be idle (`None`: `--now`).
///
/// # Errors
///
/// Not an agent (unknown, a service, the watchdog), no message or an empty one, a message
/// file that cannot be read, the session not running, the agent not idle in time, typing
/// refused (a dialog, a limit hold) or failed.
pub(crate) async fn run(
    ctx: &Ctx,
    name: &str,
    input: Input,
    wait: Option<Duration>,
) -> anyhow::Result<ExitCode> {
    let agent = agent_named(&ctx.cfg, name)?;
    let backend = ctx.cfg.backend_of(agent);
    let session = agent.session.as_str();
    let text = match input {
        Input::Keys(keys) => {
            running(ctx, agent).await?;
            typing::press_keys(ctx, name, session, &keys, "send")
                .await
                .map_err(|e| anyhow::anyhow!("{name}: the keys were not pressed: {e}"))?;
            tracing::info!("{name} ({session}): pressed {}", keys.join(" "));
            return Ok(ExitCode::SUCCESS);
        }
        Input::Text(t) => t,
        Input::Stdin => {
            let mut t = String::new();
            std::io::stdin()
                .read_to_string(&mut t)
                .context("cannot read the message from stdin")?;
            t
        }
        Input::File(f) => std::fs::read_to_string(&f)
            .map_err(|e| anyhow::anyhow!("cannot read the message file {}: {e}", f.display()))?,
        Input::Missing => bail!(
            "nothing to send\n  help: give the text (`agents send {name} \"...\"`), --file PATH, `-` for stdin, or --keys KEY..."
        ),
    };
    // CRLF line endings (a file saved on Windows) are newlines; a lone CR is refused below.
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        bail!("the message is empty\n  help: give some text to send to {name}");
    }
    if let Some(c) = typing::control_char(text) {
        bail!(
            "the message has a {c}: it would reach {name} as a key press, not as text\n  help: remove it; nothing was typed (tabs and newlines are typed as they are; to press a key, use --keys)"
        );
    }
    running(ctx, agent).await?;
    let msg = Message {
        name,
        session,
        text,
        purpose: "send",
        key_only: false,
    };
    let outcome = match wait {
        None => typing::deliver(ctx, backend, msg).await,
        Some(timeout) => typing::deliver_when_idle(ctx, backend, msg, timeout)
            .await
            .map_err(|e| anyhow::anyhow!("{}", not_idle(agent, &e, timeout)))?,
    };
    let why = outcome.why().unwrap_or_default();
    match outcome {
        Outcome::Delivered(by) => {
            tracing::info!("{name} ({session}): delivered and verified ({by})");
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Unverified(_) => {
            tracing::warn!(
                "{name} ({session}): submitted but not verified: {why}\n  help: the text may have reached the agent; look at its pane (`agents attach {name}`) before sending it again"
            );
            Ok(ExitCode::from(EXIT_UNVERIFIED))
        }
        Outcome::Refused { why: kind, typed } => {
            let left = if typed {
                "the text was typed but not submitted"
            } else {
                "nothing was typed"
            };
            let fix = if kind.is_dialog() {
                format!(
                    "answer the dialog in the pane (`agents attach {name}`, on the fleet's tmux server) or with `agents send {name} --keys KEY...`"
                )
            } else {
                format!("start it again with `agents restart {name}`")
            };
            bail!("{name}: refused: {why}\n  help: {left}; {fix}")
        }
        Outcome::Failed(_) => bail!("{name}: the message was not delivered: {why}"),
    }
}

/// The agent called `name`; a service, `watchdog` or an unknown name is an error that lists
/// the agents.
fn agent_named<'a>(cfg: &'a Config, name: &str) -> anyhow::Result<&'a Agent> {
    if let Some(a) = cfg.agent(name) {
        return Ok(a);
    }
    let agents: Vec<&str> = cfg.agents.iter().map(|a| a.name.as_str()).collect();
    let list = if agents.is_empty() {
        "none".to_string()
    } else {
        agents.join(", ")
    };
    if cfg.service(name).is_some() || name == "watchdog" {
        let what = if name == "watchdog" {
            "the watchdog"
        } else {
            "a service"
        };
        bail!(
            "{name:?} is {what}, not an agent: `send` types into agents only\n  help: agents in {}: {list}",
            cfg.path.display()
        );
    }
    let hint = diagnostic::did_you_mean(name, agents.iter().copied())
        .map(|s| format!(" (did you mean {s:?}?)"))
        .unwrap_or_default();
    bail!(
        "unknown agent {name:?}{hint}\n  help: agents in {}: {list}",
        cfg.path.display()
    )
}

/// `Ok` when the agent's session is running; else the error that says how to start it.
async fn running(ctx: &Ctx, agent: &Agent) -> anyhow::Result<()> {
    let backend = ctx.cfg.backend_of(agent);
    match typing::wait_idle(ctx, backend, &agent.session, Duration::ZERO).await {
        Err(NotIdle::NotRunning(why)) => bail!("{}", not_running(ctx, agent, &why)),
        _ => Ok(()),
    }
}

fn not_running(ctx: &Ctx, agent: &Agent, why: &str) -> String {
    let stopped = if ctx.state.is_down(&agent.name) {
        " (stopped with `agents down`)"
    } else {
        ""
    };
    format!(
        "{} is not running{stopped}: {why}\n  help: start it with `agents up {}`",
        agent.name, agent.name
    )
}

fn not_idle(agent: &Agent, e: &NotIdle, timeout: Duration) -> String {
    let name = &agent.name;
    match e {
        NotIdle::NotRunning(why) => {
            format!("{name} is not running: {why}\n  help: start it with `agents up {name}`")
        }
        NotIdle::Dialog(line) => format!(
            "{name} shows a dialog that waits for a person: {line}\n  help: answer it in the pane (`agents attach {name}`, on the fleet's tmux server) or with `agents send {name} --keys KEY...`; nothing was typed"
        ),
        NotIdle::Busy(why) if timeout.is_zero() => format!(
            "{name} is busy and --timeout 0 does not wait: {why}\n  help: nothing was typed; try again later, wait for it with --timeout SECS, or type at once with --now"
        ),
        NotIdle::Busy(why) => format!(
            "{name} is still busy after {} s: {why}\n  help: nothing was typed; try again later, wait longer with --timeout SECS, or type at once with --now",
            timeout.as_secs_f64()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_from_arguments() {
        assert_eq!(Input::of(Some("-".into()), None, vec![]), Input::Stdin);
        assert_eq!(
            Input::of(Some("hi".into()), None, vec![]),
            Input::Text("hi".into())
        );
        assert_eq!(
            Input::of(None, Some("f".into()), vec![]),
            Input::File("f".into())
        );
        assert_eq!(
            Input::of(None, None, vec!["Escape".into()]),
            Input::Keys(vec!["Escape".into()])
        );
        assert_eq!(Input::of(None, None, vec![]), Input::Missing);
    }
}
