#!/usr/bin/env bash
# smoke.sh — end-to-end check of the demo fleet, on a private tmux server in a temp dir:
#   up the example → status --json shows every enabled agent running → kill one session →
#   the watchdog restarts it → down → no session and no tmux server left.
# Exits non-zero on any failure; cleans up on every path. Never touches the default tmux
# server. Runs as is, or as `nix develop -c ./smoke.sh`. AGENTS_BIN overrides the binary.
set -euo pipefail

repo=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/agents-smoke.XXXXXX")
export TMUX_TMPDIR="$work/tmux"
mkdir -p "$TMUX_TMPDIR"
unset TMUX AGENTS_CONFIG AGENTS_TMUX_SOCKET
socket=agents-demo   # [defaults].tmux_socket of agents.example.toml, under our TMUX_TMPDIR

cleanup() {
    tmux -L "$socket" kill-server 2>/dev/null || true   # only our private server
    rm -rf "$work"
}
trap cleanup EXIT

passed=0
fail() { echo "FAIL - $*" >&2; echo "smoke: $passed passed, 1 failed"; exit 1; }
ok() { echo "ok   - $*"; passed=$((passed + 1)); }

if [[ -z ${AGENTS_BIN:-} ]]; then
    cargo build --quiet --manifest-path "$repo/Cargo.toml"
    AGENTS_BIN="$repo/target/debug/agents"
fi
cp -R "$repo/agents.example.toml" "$repo/examples" "$repo/prompts" "$work/"
cd "$work"
agents() { "$AGENTS_BIN" --config "$work/agents.example.toml" "$@"; }

# wait_for SECONDS COMMAND...: poll every 0.2 s until COMMAND succeeds.
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}
pane_pid() { tmux -L "$socket" display-message -p -t "=$1:" '#{pane_pid}' 2>/dev/null; }
pane_alive() { [[ $(tmux -L "$socket" display-message -p -t "=$1:" '#{pane_dead}' 2>/dev/null) == 0 ]]; }

agents selftest >/dev/null || fail "selftest"
ok "selftest"

agents up || fail "agents up"
ok "up"

status=$(agents status --json) || fail "status --json"
# Read as JSON (python3 is in the dev shell), not by line offsets: key order is not a contract.
not_running=$(python3 -c '
import json, sys
d = json.load(sys.stdin)
running = {a["name"] for a in d["agents"] if a.get("running")}
bad = [n for n in ["supervisor", "scribe", "builder", "adversary"] if n not in running]
if not d["watchdog"].get("running"):
    bad.append("the watchdog")
print(" ".join(bad))
' <<<"$status") || fail "status --json is not JSON"$'\n'"$status"
[[ -z $not_running ]] || fail "status --json: not running: $not_running"$'\n'"$status"
ok "status --json shows every enabled agent and the watchdog running"

wait_for 10 grep -q '"event":"watchdog-start"' .agents-demo/events.jsonl || fail "the watchdog did not start"
old=$(pane_pid demo-scribe)
tmux -L "$socket" kill-session -t =demo-scribe
ok "killed demo-scribe (pane pid $old)"
wait_for 15 pane_alive demo-scribe || fail "the watchdog did not restart demo-scribe"
new=$(pane_pid demo-scribe)
[[ $new != "$old" ]] || fail "demo-scribe has the same pane pid"
# The event is written a moment after the session appears; its keys may be in any order.
restart_event() {
    grep '"event":"restart"' .agents-demo/events.jsonl | grep '"name":"scribe"' |
        grep -q '"reason":"session gone"'
}
wait_for 5 restart_event || fail "no restart event for scribe in events.jsonl: $(grep '"name":"scribe"' .agents-demo/events.jsonl | tail -3)"
ok "the watchdog restarted demo-scribe (pane pid $new)"

tmux -L "$socket" send-keys -t =demo-supervisor: -l '/limit 600'
tmux -L "$socket" send-keys -t =demo-supervisor: Enter
limited() { agents status --json | grep -A 30 '"name": "supervisor"' | grep -q '"state": "limited"'; }
wait_for 15 limited || fail "status does not show the supervisor limited after /limit"$'\n'"$(agents status)"
grep -q '"event":"limit-hit"' .agents-demo/events.jsonl || fail "no limit-hit event"
ok "a usage-limit banner holds the agent: status shows it limited"

agents down || fail "agents down"
if tmux -L "$socket" list-sessions >/dev/null 2>&1; then
    fail "sessions left after down: $(tmux -L "$socket" list-sessions 2>&1)"
fi
ok "down: no session and no tmux server left"
echo "SMOKE PASS"
echo "smoke: $passed passed, 0 failed"
