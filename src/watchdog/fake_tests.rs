//! The watchdog's tick on a [`FakeMux`], in-process under a paused tokio clock: what it
//! starts, kills and types, decided at the instants the test gives
//! ([`Ticker::tick_at`]). Real-tmux scenarios stay in `tests/integration`.

use std::sync::Arc;

use super::tick::Ticker;
use crate::config::{EnvOverrides, parse};
use crate::ctx::Ctx;
use crate::tmux::fake::{FakeMux, FakePane};

/// The demo agent's idle line (`examples/fake-agent.sh`), the cursor on the row below.
pub(crate) const IDLE: &str = "[12:00:00] idle — waiting for input\n";
/// The demo agent at work (its `active_re`: "esc to interrupt").
const WORKING: &str = "✶ Working on the kickoff… (2s · esc to interrupt)\n";
/// The demo agent's trust dialog.
const DIALOG: &str = "Do you trust the files in this folder?\n 1. Yes\n 2. No\n";
/// An epoch second to tick at.
const T0: f64 = 1_800_000_000.0;

/// A fleet of one demo agent `a1` (session `f-a1`, `agent` lines added to it) in `dir`,
/// acting through a fresh [`FakeMux`].
pub(crate) fn fleet(dir: &std::path::Path, agent: &str) -> (Ctx, Arc<FakeMux>) {
    let text = format!(
        "[defaults]\nsession_prefix = \"f-\"\nlog_dir = \"{}\"\nbackend = \"demo\"\nwatch = \"heal\"\n\n\
         [backend.demo]\nbin = \"sh -c 'exit 0'\"\nstall_idle = 60\nstall_nudge = \"are you there?\"\n\n\
         [[agent]]\nname = \"a1\"\n{agent}\n",
        dir.join(".agents").display()
    );
    let cfg = parse(&dir.join("agents.toml"), &text, EnvOverrides::Ignore)
        .unwrap_or_else(|e| panic!("{e}"));
    let fake = Arc::new(FakeMux::new());
    let ctx = Ctx::new(cfg, "test").with_mux(fake.clone());
    (ctx, fake)
}

/// The events of the fleet in `dir` named `name`, in order.
pub(crate) fn events(dir: &std::path::Path, name: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join(".agents/events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == name)
        .collect()
}

/// One tick at `now`, on what the fake lists then.
async fn tick(t: &mut Ticker, ctx: &Ctx, now: f64) {
    let sessions = ctx.mux.sessions().await.unwrap();
    t.tick_at(ctx, &sessions, false, None, now).await;
}

/// One tick at each of `T0 + offsets` (seconds), in order.
async fn ticks(t: &mut Ticker, ctx: &Ctx, offsets: &[f64]) {
    for s in offsets {
        tick(t, ctx, T0 + s).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_dead_session_is_restarted_once() {
    let d = tempfile::tempdir().unwrap();
    let (ctx, fake) = fleet(d.path(), "");
    let mut pane = FakePane::new("sh", "working\n");
    pane.exit(1);
    fake.add("f-a1", pane);
    let mut t = Ticker::default();
    tick(&mut t, &ctx, T0).await;
    assert_eq!(fake.started(), ["f-a1"], "{:?}", fake.ops());
    assert_eq!(fake.killed(), ["f-a1"], "the dead pane is stopped first");
    assert!(!fake.pane("f-a1").unwrap().dead);
    let r = events(d.path(), "restart");
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0]["reason"].as_str().unwrap().contains("exited"), "{r:?}");
    // The new pane lives on: nothing more is started.
    fake.with_pane("f-a1", |p| p.show(IDLE));
    for i in 1..5 {
        tick(&mut t, &ctx, T0 + f64::from(i)).await;
    }
    assert_eq!(fake.started(), ["f-a1"], "{:?}", fake.ops());
    assert!(fake.typed("f-a1").is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_idle_agent_under_heal_stall_is_nudged_once_after_stall_idle_and_not_before() {
    let d = tempfile::tempdir().unwrap();
    let (ctx, fake) = fleet(d.path(), "watch = \"heal+stall\"");
    // Its kickoff turn, then idle.
    fake.add("f-a1", FakePane::new("bash", WORKING));
    let mut t = Ticker::default();
    tick(&mut t, &ctx, T0 - 1.0).await;
    fake.with_pane("f-a1", |p| p.show(IDLE));
    ticks(&mut t, &ctx, &[0.0, 20.0, 40.0, 59.0]).await;
    assert!(
        fake.ops().is_empty(),
        "acted before stall_idle: {:?}",
        fake.ops()
    );
    tick(&mut t, &ctx, T0 + 60.0).await;
    assert_eq!(fake.typed("f-a1"), ["are you there?"]);
    assert_eq!(fake.keys("f-a1"), ["Enter"], "one submit");
    let typed = events(d.path(), "typed");
    assert_eq!(typed.len(), 1, "{typed:?}");
    assert_eq!(typed[0]["purpose"], "stall-nudge", "{typed:?}");
    assert_eq!(typed[0]["outcome"], "delivered", "{typed:?}");
    // Still idle, but within stall_idle of the nudge: nothing more.
    fake.with_pane("f-a1", |p| p.show(IDLE));
    tick(&mut t, &ctx, T0 + 90.0).await;
    assert_eq!(fake.typed("f-a1").len(), 1, "{:?}", fake.ops());
    assert!(fake.started().is_empty() && fake.killed().is_empty());
    let view = ctx.state.supervision().unwrap();
    assert!(view.agents.contains_key("a1"), "{view:?}");
    assert_eq!(view.ticks, 7, "one count per tick: {view:?}");
    // Each tick publishes how long it took to read the panes and decide.
    assert!(view.tick_ms.is_some_and(|ms| ms >= 0.0), "{view:?}");
}

/// An agent never seen working since its start may be a CLI showing its prompt before it
/// runs its kickoff (Gemini CLI 0.61.0 on a busy machine): it is nudged no sooner than
/// `FIRST_TURN` (3) `stall_idle` after its first reading.
#[tokio::test(start_paused = true)]
async fn an_agent_idle_since_its_start_is_nudged_only_after_three_stall_idle() {
    let d = tempfile::tempdir().unwrap();
    let (ctx, fake) = fleet(d.path(), "watch = \"heal+stall\"");
    fake.add("f-a1", FakePane::new("bash", IDLE));
    let mut t = Ticker::default();
    ticks(&mut t, &ctx, &[0.0, 60.0, 120.0, 179.0]).await;
    assert!(
        fake.ops().is_empty(),
        "nudged before its first turn had time to run: {:?}",
        fake.ops()
    );
    tick(&mut t, &ctx, T0 + 180.0).await;
    assert_eq!(fake.typed("f-a1"), ["are you there?"]);
}

#[tokio::test(start_paused = true)]
async fn a_dialog_is_never_typed_into_nor_restarted() {
    let d = tempfile::tempdir().unwrap();
    let (ctx, fake) = fleet(d.path(), "watch = \"heal+stall\"");
    fake.add("f-a1", FakePane::new("bash", DIALOG));
    let mut t = Ticker::default();
    ticks(&mut t, &ctx, &[0.0, 60.0, 120.0, 600.0, 3600.0]).await;
    assert!(fake.ops().is_empty(), "{:?}", fake.ops());
    // Read as a dialog (reported once), not as something else that is left alone.
    let reported = events(d.path(), "dialog");
    assert_eq!(reported.len(), 1, "{reported:?}");
}
