#!/usr/bin/env bash
# bench/run.sh — benchmark `agents` (this repository, Rust) side by side with the Python
# original (/work/shared/baseline/agents.py) in one run. See bench/README.md.
#
#   bash bench/run.sh                      # full run (~3 min)
#   BENCH_SECONDS=20 bash bench/run.sh     # shorter watchdog runs
#
# Everything runs on a private tmux server (TMUX_TMPDIR=<temp dir>); the user's own tmux
# server is never touched. Exit status: non-zero when a run fails (a command errors, a fleet
# does not come up, a watchdog dies early); a missed target only prints "target MISSED".

set -euo pipefail
# Numbers with a "." decimal point (EPOCHREALTIME, awk), without touching LC_CTYPE: under a
# non-UTF-8 LC_CTYPE tmux prints a tab in a -F format as "_" (see README).
if [[ -n ${LC_ALL:-} ]]; then
    export LC_CTYPE=$LC_ALL
    unset LC_ALL
fi
export LC_NUMERIC=C

# ── settings (environment) ────────────────────────────────────────────────────
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OURS=${BENCH_AGENTS:-$REPO/target/release/agents}          # our binary
ORIG=${BENCH_ORIGINAL:-/work/shared/baseline/agents.py}     # the Python original
BENCH_SECONDS=${BENCH_SECONDS:-60}        # watchdog run length (each program), >= 2
BENCH_COUNT_SECONDS=${BENCH_COUNT_SECONDS:-11} # watchdog tmux-call counting window
BENCH_RUNS=${BENCH_RUNS:-20}              # timed `status` runs per program
BENCH_UP_RUNS=${BENCH_UP_RUNS:-5}         # timed `up` runs per program
BENCH_KILLS=${BENCH_KILLS:-20}            # restart latency: agents killed by kill-session
BENCH_EXIT_KILLS=${BENCH_EXIT_KILLS:-5}   # restart latency: agents whose program is killed
BENCH_SEND_RUNS=${BENCH_SEND_RUNS:-10}    # timed `send` runs to an idle demo agent
BENCH_START_RUNS=${BENCH_START_RUNS:-50}  # timed runs of each start-up command (benchmark 7)
BENCH_STATUS_RUNS=${BENCH_STATUS_RUNS:-30} # timed runs of each command of benchmark 8
BENCH_BEFORE=${BENCH_BEFORE:-}            # benchmark 8: another build of ours, timed in the same runs
BENCH_ONLY=${BENCH_ONLY:-}                # `send` / `start` / `status` / `fleet`: run only benchmark 6 / 7 / 8 / 9
BENCH_FLEET=${BENCH_FLEET:-200}           # benchmark 9: agents in the big fleet
BENCH_FLEET_SECONDS=${BENCH_FLEET_SECONDS:-10} # benchmark 9: the watchdog run whose peak RSS is read
BIG=50 SMALL=5                            # fleet sizes
[[ $BENCH_EXIT_KILLS =~ ^[0-9]+$ ]] || { echo "bench: BENCH_EXIT_KILLS must be an integer >= 0" >&2; exit 2; }
for v in BENCH_SECONDS BENCH_COUNT_SECONDS BENCH_RUNS BENCH_UP_RUNS BENCH_KILLS BENCH_SEND_RUNS BENCH_START_RUNS BENCH_STATUS_RUNS BENCH_FLEET BENCH_FLEET_SECONDS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || { echo "bench: $v must be a positive integer" >&2; exit 2; }
done
((BENCH_SECONDS >= 2)) || { echo "bench: BENCH_SECONDS must be >= 2" >&2; exit 2; }
[[ -z $BENCH_ONLY || $BENCH_ONLY == send || $BENCH_ONLY == start || $BENCH_ONLY == status || $BENCH_ONLY == fleet ]] || { echo "bench: BENCH_ONLY must be empty, send, start, status or fleet" >&2; exit 2; }
((BENCH_FLEET_SECONDS >= 3)) || { echo "bench: BENCH_FLEET_SECONDS must be >= 3" >&2; exit 2; }
[[ -z $BENCH_BEFORE || -x $BENCH_BEFORE ]] || { echo "bench: BENCH_BEFORE=$BENCH_BEFORE is not an executable" >&2; exit 2; }

# The real Python interpreter, not a wrapper: a pyenv shim `python3` is a shell script that
# adds ~250 ms to every start, which would flatter us unfairly.
PY=${BENCH_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}

REAL_TMUX=$(command -v tmux) || { echo "bench: tmux not found" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "bench: /usr/bin/time missing (apt-get install -y time)" >&2; exit 1; }

# ── isolation: a private tmux server, temp dirs, cleanup on every exit path ──────
unset TMUX TMUX_PANE AGENTS_TMUX_SOCKET AGENTS_CONFIG
TMUX_TMPDIR=$(mktemp -d /tmp/bench-tmux.XXXXXX)
export TMUX_TMPDIR
PRIVATE_TMUX_TMPDIR=$TMUX_TMPDIR
WORK=$(mktemp -d /tmp/bench-work.XXXXXX)
LOG=$WORK/commands.log            # stdout+stderr of every benchmarked command
WATCH_PIDS=()                     # background processes we started

cleanup() {
    local p i
    for p in "${WATCH_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    # kill-server only on our private server (guard against an unset/changed TMUX_TMPDIR)
    if [[ -n ${PRIVATE_TMUX_TMPDIR:-} && ${TMUX_TMPDIR:-} == "$PRIVATE_TMUX_TMPDIR" ]]; then
        "$REAL_TMUX" kill-server 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            "$REAL_TMUX" list-sessions >/dev/null 2>&1 || break
            sleep 0.1
        done
        rm -rf "$PRIVATE_TMUX_TMPDIR"
    fi
    if [[ -n ${BENCH_KEEP:-} ]]; then
        echo "bench: kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "bench: FAILED: $*" >&2
    echo "bench: last lines of $LOG:" >&2
    tail -n 20 "$LOG" >&2 || true
    exit 1
}
say() { printf '%s\n' "$*"; }
NOTES=()                          # odd things seen, printed after the summary
note() { NOTES+=("$*"); say "  note: $*"; }

# ── our binary ────────────────────────────────────────────────────────────────
if [[ -z ${BENCH_NO_BUILD:-} ]]; then
    say "building: cargo build --release (BENCH_NO_BUILD=1 skips)"
    (cd "$REPO" && cargo build --release --quiet) || die "cargo build --release"
fi
[[ -x $OURS ]] || die "no binary at $OURS"

# ── the counting tmux shim: one line per call (the tmux command), then the real tmux ──
SHIM=$WORK/shim
mkdir -p "$SHIM"
cat >"$SHIM/tmux" <<EOF
#!/bin/sh
# log the tmux command name: the first argument that is not a global flag (-u, -L NAME, ...);
# a chained call (cmd ; cmd ; ...) as chain(verb+verb...), a flag-only call (-V) as the flag
if [ -n "\${BENCH_TMUX_COUNT:-}" ]; then
    verb=''; skip=0; flag=''; want=0; chain=0
    for a in "\$@"; do
        if [ -z "\$verb" ]; then
            if [ \$skip = 1 ]; then skip=0; continue; fi
            case \$a in -L|-S|-f|-c) skip=1 ;; -*) flag=\$a ;; *) verb=\$a; subs=\$a ;; esac
        elif [ "\$a" = ';' ]; then
            want=1; chain=1
        elif [ \$want = 1 ]; then
            want=0
            case "+\$subs+" in *"+\$a+"*) ;; *) subs="\$subs+\$a" ;; esac
        fi
    done
    [ \$chain = 1 ] && verb="chain(\$subs)"
    printf '%s\n' "\${verb:-\${flag:-?}}" >>"\$BENCH_TMUX_COUNT"
fi
exec '$REAL_TMUX' "\$@"
EOF
chmod +x "$SHIM/tmux"

# ── fleets: generated configs, the same file for both programs ────────────────
# gen_config N FILE SIGNAL HEAVY — N exec agents running `sleep 100000`, watch = "heal"
gen_config() {
    local n=$1 file=$2 i
    mkdir -p "$(dirname "$file")"
    {
        cat <<EOF
[defaults]
session_prefix = "bench-"
log_dir = ".ao-state"
backend = "idle"
watch = "heal"

[backend.idle]
bin = "sleep 100000"
prompt_delivery = "exec"
active_re = "esc to interrupt"
limit_re = "usage limit"
fatal_re = "FATAL: session state"

[watchdog]
signal_interval = $3
heavy_interval = $4
EOF
        for ((i = 1; i <= n; i++)); do
            printf '\n[[agent]]\nname = "a%d"\nprompt = "hi"\n' "$i"
        done
    } >"$file"
}
SIGNAL=5 HEAVY=10                 # the watchdog intervals of the status/up/watchdog fleets
gen_config "$SMALL" "$WORK/fleet$SMALL/agents.toml" $SIGNAL $HEAVY
gen_config "$BIG" "$WORK/fleet$BIG/agents.toml" $SIGNAL $HEAVY
cfg() { echo "$WORK/fleet$1/agents.toml"; }

# The "printed screens" fleet: every pane shows a real Claude Code screen (a working agent,
# "esc to interrupt" in its footer; copied into the temp dir), then sleeps. Ours runs the
# built-in `claude` preset (all of its rules, whatever the preset holds: the table changes
# only how the agent starts); the original has no presets, so its file adds the claude
# regexes of its own starter config (`agents.py init`). Same agents, intervals and screens.
SCREEN=$WORK/screen.txt SCREEN_FROM="a built-in stand-in (no fixture found)"
for f in "$REPO/tests/fixtures/panes/claude_2.1.197_active_streaming.txt" \
    /work/shared/panes/claude_2.1.197_active_streaming.txt; do
    if [[ -f $f ]]; then cp "$f" "$SCREEN" && SCREEN_FROM=$(basename "$f") && break; fi
done
if [[ ! -f $SCREEN ]]; then # no fixture in this checkout: a screen of the same shape
    {
        printf '╭─── Claude Code v2.1.197 ───╮\n│ Welcome back! │\n╰────────────────╯\n\n'
        printf '❯ hello, please summarize this repo\n\n●\n\n✶ Calculating… (5s · ↓ 15 tokens)\n\n'
        printf '────────────────\n❯ \n────────────────\n  esc to interrupt · ← for agents\n'
    } >"$SCREEN"
fi
gen_screens() { # gen_screens N DIR — DIR/agents.toml (ours) and DIR/original.toml
    local n=$1 dir=$2 i extra
    mkdir -p "$dir"
    for extra in "" original; do
        {
            cat <<EOF
[defaults]
session_prefix = "bench-"
log_dir = ".ao-state"
backend = "claude"
watch = "heal"

[watchdog]
signal_interval = $SIGNAL
heavy_interval = $HEAVY

[backend.claude]
bin = "sh -c 'cat $SCREEN; exec sleep 100000'"
flags = ""
prompt_delivery = "exec"
hooks = "none" # the preset's Claude hooks need prompt_delivery = "arg"; this stand-in has none
process_name = "sleep"
EOF
            if [[ $extra == original ]]; then
                printf '%s\n' 'active_re = "esc to interrupt|Running tool|\\u00b7 \\d+"' \
                    'limit_re = "usage limit|limit reached|reached your .*limit"'
            fi
            for ((i = 1; i <= n; i++)); do
                printf '\n[[agent]]\nname = "a%d"\nprompt = "hi"\n' "$i"
            done
        } >"$dir/${extra:-agents}.toml"
    done
}
gen_screens "$BIG" "$WORK/fleet${BIG}s"
SCFG_OURS=$WORK/fleet${BIG}s/agents.toml SCFG_ORIG=$WORK/fleet${BIG}s/original.toml

# The two programs, as argv prefixes. Verbs are appended: "${RS[@]}" status --config FILE
RS=("$OURS")
PYC=("$PY" "$ORIG")

# ── small helpers ─────────────────────────────────────────────────────────────
median() { sort -n "$1" | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2 }'; }
minimum() { sort -n "$1" | head -n 1; }
div() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0) print "inf"; else printf "%.1f", a/b }'; }
x() { if [[ $1 == inf ]]; then echo "inf"; else echo "${1}x"; fi; } # a ratio for display
# verdict RATIO MIN — "target met" when RATIO >= MIN
verdict() { awk -v r="$1" -v m="$2" 'BEGIN{ print (r == "inf" || r+0 >= m+0) ? "target met" : "target MISSED" }'; }

# run CMD... — run a command, output to the log; a failure fails the benchmark
run() { printf '$ %s\n' "$*" >>"$LOG"; "$@" >>"$LOG" 2>&1 || die "exit $? from: $*"; }
# timed OUTFILE CMD... — like run, and append the wall time in ms to OUTFILE. Nothing but
# the fork/exec of CMD happens between the two clock reads.
timed() {
    local out=$1 t0 t1 rc=0
    shift
    printf '$ (timed) %s\n' "$*" >>"$LOG"
    t0=$EPOCHREALTIME
    "$@" >>"$LOG" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    ((rc == 0)) || die "exit $rc from: $*"
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)*1000}' >>"$out"
}
# timed_status LABEL OUTFILE CMD... — like timed for `CMD status`; an exit status 3 of ours
# is accepted (see status_ok)
timed_status() {
    local label=$1 out=$2 t0 t1 rc=0
    shift 2
    printf '$ (timed) %s\n' "$*" >>"$LOG"
    t0=$EPOCHREALTIME
    "$@" >>"$LOG" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    status_ok "$label" "$rc" || die "exit $rc from: $*"
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)*1000}' >>"$out"
}

# fresh_server — no tmux server, no fleet state: the empty starting point
fresh_server() {
    local i
    "$REAL_TMUX" kill-server 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        "$REAL_TMUX" list-sessions >/dev/null 2>&1 || break
        sleep 0.1
    done
    # The killed fleet's pipe-log and watchdog processes may still write a last file there
    # as they exit: retry until the directory is gone.
    for ((i = 0; i < 50; i++)); do
        rm -rf "$WORK"/fleet*/.ao-state 2>/dev/null && break
        sleep 0.1
    done
    rm -rf "$WORK"/fleet*/.ao-state
}

# live_agents — how many bench-a* sessions have a live (not exited) pane
live_agents() {
    "$REAL_TMUX" list-panes -a -F '#{session_name} #{pane_dead}' 2>/dev/null |
        awk '$1 ~ /^bench-a[0-9]+$/ && $2 == 0' | wc -l
}
expect_live() { # expect_live N WHAT
    local n
    n=$(live_agents)
    [[ $n -eq $1 ]] || die "$2: $n of $1 agents running"
}

# stop_up_watchdog CONFIG CMD... — `down watchdog` with that program, then wait until the process
# that ran in the watchdog session has exited: `down` returns before it is gone, and ours
# refuses to start a second watchdog while the first still holds its lock.
stop_up_watchdog() {
    local config=$1 pid i
    shift
    pid=$("$REAL_TMUX" display-message -p -t '=bench-watchdog:' '#{pane_pid}' 2>/dev/null || true)
    run "$@" down watchdog --config "$config"
    for ((i = 0; i < 100 && ${#pid} > 0; i++)); do
        [[ -d /proc/$pid ]] || break
        sleep 0.05
    done
    [[ -z $pid || ! -d /proc/$pid ]] || die "the watchdog (pid $pid) is still running 5 s after \`down watchdog\`"
}

# check_our_watchdog_session CONFIG — after our `up`, is the watchdog it started alive?
check_our_watchdog_session() {
    local st dir
    dir=$(dirname "$1")
    sleep 0.5
    st=$("$REAL_TMUX" list-panes -t '=bench-watchdog' -F '#{pane_dead} #{pane_dead_status}' 2>/dev/null || echo "missing")
    if [[ $st != "0 " ]]; then
        note "ours: the watchdog session started by \`up\` is not running (pane dead/status: '$st'); its log says: $(tail -n 1 "$dir/.ao-state/bench-watchdog.log" 2>/dev/null)"
    fi
}

say "bench: ours     = $OURS"
say "bench: original = $PY $ORIG ($("$PY" --version 2>&1))"
say "bench: tmux     = $REAL_TMUX ($("$REAL_TMUX" -V)), private TMUX_TMPDIR=$TMUX_TMPDIR"
say "bench: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
say ""

# ══ 6. send to an idle agent (ours) — defined here, run after 5 (alone: BENCH_ONLY=send) ══
# One demo agent (examples/fake-agent.sh on the `demo` preset; it works 1 s after each message,
# showing "esc to interrupt", then idles). Before each run the script waits until its pane
# reads idle; then `agents send a1 TEXT` is timed from the call until it exits 0 (exit 0 means
# the submit was verified: the agent turned active). Median of BENCH_SEND_RUNS. The floor, in
# the same run and on the same agent: the text and the submit key sent by bash as ONE chained
# tmux call (`send-keys -l TEXT ; send-keys Enter`), timed until the pane shows the agent took
# it ("message #N: TEXT"), polled every 10 ms: a delivery with nothing checked before or after.
SEND_MED=- SEND_MIN=- SEND_FLOOR=-
# wait_send_idle — until the demo agent of benchmark 6 reads idle (at most 10 s)
wait_send_idle() {
    local i p
    for ((i = 0; i < 100; i++)); do
        p=$("$REAL_TMUX" capture-pane -p -J -t '=bench-a1:' 2>/dev/null || true)
        [[ $p == *"idle — waiting for input"* && $p != *"esc to interrupt"* ]] && return 0
        sleep 0.1
    done
    die "send: the demo agent did not idle within 10 s"
}
# send_floor TEXT OUTFILE — one chained tmux call types TEXT and presses Enter; the time until
# the pane shows "message #N: TEXT" (polled every 10 ms, at most 10 s) is appended in ms
send_floor() {
    local text=$1 out=$2 t0 t1 p
    printf '$ (send floor) tmux send-keys -l %q ; send-keys Enter\n' "$text" >>"$LOG"
    t0=$EPOCHREALTIME
    "$REAL_TMUX" send-keys -t '=bench-a1:' -l "$text" \; send-keys -t '=bench-a1:' Enter
    while :; do
        t1=$EPOCHREALTIME
        p=$("$REAL_TMUX" capture-pane -p -J -t '=bench-a1:' 2>/dev/null || true)
        [[ $p == *": $text"* ]] && break
        (( ${t1/./} - ${t0/./} > 10000000 )) && die "send floor: the demo agent did not show $text within 10 s"
        sleep 0.01
    done
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)*1000}' >>"$out"
}
send_bench() {
    local f=$WORK/fleet-send/agents.toml r
    say "== 6. send to an idle agent (ours), median of $BENCH_SEND_RUNS"
    mkdir -p "$(dirname "$f")"
    cat >"$f" <<EOF
[defaults]
session_prefix = "bench-"
log_dir = ".ao-state"
watch = "heal"

[backend.demo]
bin = "bash $REPO/examples/fake-agent.sh '{kickoff}' '{session}' '{model}'"

[watchdog]
signal_interval = 30
heavy_interval = 300

[[agent]]
name = "a1"
backend = "demo"
prompt = "You are the benchmark agent."
EOF
    fresh_server
    FAKE_WORK_SECS=1 FAKE_REPLY_SECS=1 run "${RS[@]}" up --config "$f"
    expect_live 1 "send fleet after up"
    : >"$WORK/send-ours"
    for ((r = 1; r <= BENCH_SEND_RUNS; r++)); do
        wait_send_idle
        timed "$WORK/send-ours" "${RS[@]}" send a1 --config "$f" "benchmark message $r"
    done
    : >"$WORK/send-floor"
    for ((r = 1; r <= BENCH_SEND_RUNS; r++)); do
        wait_send_idle
        send_floor "raw message $r" "$WORK/send-floor"
    done
    SEND_MED=$(median "$WORK/send-ours") SEND_MIN=$(minimum "$WORK/send-ours")
    SEND_FLOOR=$(median "$WORK/send-floor")
    say "  send, call to verified: median $SEND_MED ms, min $SEND_MIN ms, all: $(tr '\n' ' ' <"$WORK/send-ours")"
    say "  floor, raw chained send-keys until the agent shows the message: median $SEND_FLOOR ms, all: $(tr '\n' ' ' <"$WORK/send-floor")"
    run "${RS[@]}" down --config "$f"
    fresh_server
    say ""
}
if [[ $BENCH_ONLY == send ]]; then
    send_bench
    exit 0
fi

# ══ 7. start-up and rule loading (ours) — defined here, run last (alone: BENCH_ONLY=start) ══
# What a short-lived process pays before its first tmux call. `agents --version` against the
# floor of any process start (`/bin/true`, fork + exec from bash); then, per built-in preset,
# `agents selftest --pane <screen> --backend <preset> --now <time>` (no config: the preset's
# rules are loaded, those the reading needs compiled, one screen classified) against the
# floor of our own start (`--version`). Each command: 3 warm-up runs, then BENCH_START_RUNS
# runs interleaved with its floor; median. The screen is the preset's first fixture
# (`tests/fixtures/panes/<preset>_*.txt`), else a line of text.
declare -A START
start_bench() {
    local p screen i dir=$WORK/start k
    say "== 7. start-up and rule loading (ours), median of $BENCH_START_RUNS"
    mkdir -p "$dir" # no agents.toml above it: selftest reads the preset alone
    : >"$WORK/st-true" && : >"$WORK/st-version"
    for ((i = 0; i < 3; i++)); do run /bin/true && run "${RS[@]}" --version; done
    for ((i = 0; i < BENCH_START_RUNS; i++)); do
        timed "$WORK/st-true" /bin/true
        timed "$WORK/st-version" "${RS[@]}" --version
    done
    START[true]=$(median "$WORK/st-true") START[version]=$(median "$WORK/st-version")
    say "  --version: median ${START[version]} ms, min $(minimum "$WORK/st-version") ms; floor /bin/true: median ${START[true]} ms"
    START_PRESETS=()
    for p in claude codex gemini opencode aider demo; do
        screen=$(find "$REPO/tests/fixtures/panes" -maxdepth 1 -name "${p}_*.txt" 2>/dev/null | sort | head -n 1)
        if [[ -z $screen ]]; then
            screen=$dir/plain.txt
            echo "some text" >"$screen"
        fi
        START_PRESETS+=("$p")
        : >"$WORK/st-$p" && : >"$WORK/st-$p-floor"
        for ((i = 0; i < 3; i++)); do
            (cd "$dir" && run "${RS[@]}" selftest --pane "$screen" --backend "$p" --now 2026-11-20T12:00:00-05:00)
        done
        for ((i = 0; i < BENCH_START_RUNS; i++)); do
            (cd "$dir" && timed "$WORK/st-$p" "${RS[@]}" selftest --pane "$screen" --backend "$p" --now 2026-11-20T12:00:00-05:00)
            timed "$WORK/st-$p-floor" "${RS[@]}" --version
        done
        k=$p
        START[$k]=$(median "$WORK/st-$p") START[$k-floor]=$(median "$WORK/st-$p-floor")
        say "  selftest --pane, $p preset ($(basename "$screen")): median ${START[$k]} ms, min $(minimum "$WORK/st-$p") ms; floor --version: median ${START[$k-floor]} ms"
    done
    say ""
}
start_rows() { # the summary rows of benchmark 7
    local p
    row "--version (ms, median)" "-" "${START[version]}" "$(x "$(div "${START[version]}" "${START[true]}")")" "<= 1.5" \
        "$(awk -v r="${START[version]}" 'BEGIN{ print (r+0 <= 1.5) ? "target met" : "target MISSED" }') (floor /bin/true ${START[true]} ms)"
    for p in "${START_PRESETS[@]}"; do
        row "selftest --pane, $p (ms, median)" "-" "${START[$p]}" "$(x "$(div "${START[$p]}" "${START[$p-floor]}")")" "(info)" \
            "floor --version ${START[$p-floor]} ms"
    done
}
# ══ 8. status at the floor (ours) — defined here, run after 5 (alone: BENCH_ONLY=status) ══
# Issue 16 item 2. 50 agents on the built-in claude preset (its rules; the table only starts
# `sh -c 'cat SCREEN; exec sleep'`), every pane showing a real Claude Code idle screen
# (IDLE_SCREEN). Each command: 3 warm-up runs, then BENCH_STATUS_RUNS runs interleaved with
# its floor; min and median (the machine may be shared: the minimum is the figure to compare).
#   no watchdog: `agents status` and `status --json` (each agent read from its screen; exit 3
#     accepted: the watchdog the agents need is not running). Floor: the two raw tmux calls
#     such a status needs, from this bash: `list-panes -a -F <our format>`, then ONE chained
#     `capture-pane -p -J` of the 50 panes.
#   watchdog running (`agents up watchdog` starts it in its session on the same server;
#     intervals of 30 s / 300 s, so it is quiet between ticks): `status` and `status --json`
#     read its snapshot (state/supervision.json) and one liveness listing (asked of the
#     watchdog's relay, a socket beside the server's: no tmux process). Floor: that one
#     raw `list-panes -a -F <our format>` plus reading the snapshot (bash's `read`, no process).
# BENCH_BEFORE=PATH times another build of ours in the same runs (before/after figures).
IDLE_SCREEN=$REPO/tests/fixtures/panes/claude_2.1.197_idle_welcome.txt
declare -A SF
SF_CMDS=()
LIST_FORMAT=$'#{window_active}\t#{pane_active}\t#{pane_dead}\t#{pane_dead_status}\t#{pane_dead_signal}\t#{pane_pid}\t#{pane_current_command}\t#{session_name}'
div2() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0) print "inf"; else printf "%.2f", a/b }'; }
# timed_ok OUTFILE OKCODES CMD... — like timed; an exit status in OKCODES ("0" or "0 3") passes
timed_ok() {
    local out=$1 ok=$2 t0 t1 rc=0
    shift 2
    printf '$ (timed) %s\n' "$*" >>"$LOG"
    t0=$EPOCHREALTIME
    "$@" >>"$LOG" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    [[ " $ok " == *" $rc "* ]] || die "exit $rc from: $*"
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)*1000}' >>"$out"
}
# status_floor_raw SNAPSHOT — the raw calls of one status: SNAPSHOT empty, list-panes then one
# chained capture of the 50 panes; else list-panes and reading SNAPSHOT
status_floor_raw() {
    "$REAL_TMUX" -u list-panes -a -F "$LIST_FORMAT" >/dev/null || return 1
    if [[ -n $1 ]]; then
        local snap
        IFS= read -r -d '' snap <"$1" || true
        [[ -n $snap ]] || return 1
    else
        "$REAL_TMUX" -u "${SF_CAPTURE[@]}" >/dev/null || return 1
    fi
}
# status_floor_marked — status_floor_raw without a snapshot, each pane's capture preceded by a
# line of its own (one `display-message -p` per pane), as a client that tells the panes
# apart in one call's output by a marker each would need (ours marks every 10th and cuts the
# captures by the panes' heights): an info row, not the target's floor
status_floor_marked() {
    "$REAL_TMUX" -u list-panes -a -F "$LIST_FORMAT" >/dev/null || return 1
    "$REAL_TMUX" -u "${SF_CAPTURE_MARKED[@]}" >/dev/null || return 1
}
# run_status WHICH OKCODES OUTFILE — one timed status: WHICH is ours, ours-json, before or
# before-json
run_status() {
    local bin=$OURS
    [[ $1 == before* ]] && bin=$BENCH_BEFORE
    if [[ $1 == *-json ]]; then
        timed_ok "$3" "$2" "$bin" status --json --config "$SCFG_IDLE"
    else
        timed_ok "$3" "$2" "$bin" status --config "$SCFG_IDLE"
    fi
}
sf_label() { # sf_label WHICH — how a row names it
    local l=status
    [[ $1 == *-json ]] && l="status --json"
    [[ $1 == before* ]] && l="$l (BENCH_BEFORE)"
    echo "$l"
}
# status_case KEY OKCODES SNAPSHOT — time the floor and each command of one case
status_case() {
    local key=$1 ok=$2 snap=$3 i c t0 t1
    for ((i = 0; i < 3; i++)); do
        status_floor_raw "$snap" || die "status floor ($key): a raw tmux call failed"
        for c in "${SF_CMDS[@]}"; do run_status "$c" "$ok" "$WORK/sf-warm"; done
    done
    : >"$WORK/sf-$key-floor"
    for c in "${SF_CMDS[@]}"; do : >"$WORK/sf-$key-$c"; done
    for ((i = 0; i < BENCH_STATUS_RUNS; i++)); do
        printf '$ (timed) status floor (%s)\n' "$key" >>"$LOG"
        t0=$EPOCHREALTIME
        status_floor_raw "$snap" || die "status floor ($key): a raw tmux call failed"
        t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)*1000}' >>"$WORK/sf-$key-floor"
        if [[ -z $snap ]]; then
            t0=$EPOCHREALTIME
            status_floor_marked || die "status floor ($key, marked): a raw tmux call failed"
            t1=$EPOCHREALTIME
            awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)*1000}' >>"$WORK/sf-$key-marked"
        fi
        for c in "${SF_CMDS[@]}"; do run_status "$c" "$ok" "$WORK/sf-$key-$c"; done
    done
    SF[$key-floor]=$(minimum "$WORK/sf-$key-floor") SF[$key-floor-med]=$(median "$WORK/sf-$key-floor")
    say "  $key: floor min ${SF[$key-floor]} ms (median ${SF[$key-floor-med]})"
    if [[ -z $snap ]]; then
        SF[$key-marked]=$(minimum "$WORK/sf-$key-marked") SF[$key-marked-med]=$(median "$WORK/sf-$key-marked")
        say "  $key: floor with a line before each pane's capture (info) min ${SF[$key-marked]} ms (median ${SF[$key-marked-med]})"
    fi
    for c in "${SF_CMDS[@]}"; do
        SF[$key-$c]=$(minimum "$WORK/sf-$key-$c") SF[$key-$c-med]=$(median "$WORK/sf-$key-$c")
        say "  $key: $(sf_label "$c") min ${SF[$key-$c]} ms (median ${SF[$key-$c-med]}) = $(div2 "${SF[$key-$c]}" "${SF[$key-floor]}")x the floor"
    done
}
# sf_count KEY OKCODES — one status through the counting shim; every agent must read idle
sf_count() {
    local key=$1 ok=$2 rc=0 n calls
    : >"$WORK/sf-count"
    PATH="$SHIM:$PATH" BENCH_TMUX_COUNT=$WORK/sf-count "$OURS" status --config "$SCFG_IDLE" >"$WORK/sf-out" 2>&1 || rc=$?
    cat "$WORK/sf-out" >>"$LOG"
    n=$(grep -cE '^ *a[0-9]+ .* idle ' "$WORK/sf-out" || true)
    [[ " $ok " == *" $rc "* && $n -eq $SF_N ]] || die "status ($key) exited $rc and shows $n of $SF_N agents idle"
    calls=$(sort "$WORK/sf-count" | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}')
    SF[calls-$key]=$(wc -l <"$WORK/sf-count")
    say "  $key: ours makes ${SF[calls-$key]} tmux call(s) per status ($calls)"
}
status_floor_bench() { # status_floor_bench [N] — N agents (BIG)
    local dir=$WORK/fleet-idle i snap
    SF_N=${1:-$BIG}
    say "== 8. status at the floor (ours), $SF_N claude agents on an idle screen ($(basename "$IDLE_SCREEN")), min of $BENCH_STATUS_RUNS"
    [[ -f $IDLE_SCREEN ]] || die "no idle screen at $IDLE_SCREEN"
    mkdir -p "$dir"
    cp "$IDLE_SCREEN" "$dir/screen.txt"
    SCFG_IDLE=$dir/agents.toml
    {
        cat <<EOF
[defaults]
session_prefix = "bench-"
log_dir = ".ao-state"
backend = "claude"
watch = "heal"

[watchdog]
signal_interval = 30
heavy_interval = 300

[backend.claude]
bin = "sh -c 'cat $dir/screen.txt; exec sleep 100000'"
flags = ""
prompt_delivery = "exec"
hooks = "none" # the preset's Claude hooks need prompt_delivery = "arg"; this stand-in has none
process_name = "sleep"
EOF
        for ((i = 1; i <= SF_N; i++)); do
            printf '\n[[agent]]\nname = "a%d"\nprompt = "hi"\n' "$i"
        done
    } >"$SCFG_IDLE"
    SF_CAPTURE=() SF_CAPTURE_MARKED=()
    for ((i = 1; i <= SF_N; i++)); do
        ((i > 1)) && SF_CAPTURE+=(";") && SF_CAPTURE_MARKED+=(";")
        SF_CAPTURE+=(capture-pane -p -J -t "=bench-a$i:")
        SF_CAPTURE_MARKED+=(display-message -p "@@bench-pane-$i" ";" capture-pane -p -J -t "=bench-a$i:")
    done
    SF_CMDS=(ours ours-json)
    [[ -n $BENCH_BEFORE ]] && SF_CMDS+=(before before-json)
    fresh_server
    run "${RS[@]}" up --config "$SCFG_IDLE"
    stop_up_watchdog "$SCFG_IDLE" "${RS[@]}"
    expect_live "$SF_N" "idle fleet after up"
    sleep 1 # the screens are drawn
    sf_count "$SF_N-no-watchdog" "0 3"
    status_case "$SF_N-no-watchdog" "0 3" ""

    run "${RS[@]}" up watchdog --config "$SCFG_IDLE"
    check_our_watchdog_session "$SCFG_IDLE"
    snap=$dir/.ao-state/state/supervision.json
    for ((i = 0; i < 100; i++)); do # its first tick publishes the snapshot
        [[ -s $snap ]] && break
        sleep 0.1
    done
    [[ -s $snap ]] || die "the watchdog wrote no $snap within 10 s"
    sleep 0.5
    sf_count "$SF_N-watchdog" "0"
    status_case "$SF_N-watchdog" "0" "$snap"
    run "${RS[@]}" down --config "$SCFG_IDLE"
    fresh_server
    say ""
}
status_floor_rows() { # status_floor_rows [N] — the summary rows of benchmark 8 with N (BIG) agents
    local key c calls n=${1:-$BIG}
    for key in "$n-no-watchdog" "$n-watchdog"; do
        for c in "${SF_CMDS[@]}"; do
            calls="" && [[ $c == ours* ]] && calls="; ${SF[calls-$key]} tmux call(s)"
            row "$(sf_label "$c"), $key (ms, min)" "-" "${SF[$key-$c]}" "$(div2 "${SF[$key-$c]}" "${SF[$key-floor]}")x" "<= 1.2x floor" \
                "$(awk -v a="${SF[$key-$c]}" -v b="${SF[$key-floor]}" 'BEGIN{ print (a+0 <= 1.2*b) ? "target met" : "target MISSED" }') (floor ${SF[$key-floor]} ms; medians ${SF[$key-$c-med]} / ${SF[$key-floor-med]}$calls)"
        done
        if [[ -n ${SF[$key-marked]:-} ]]; then
            row "status, $key, vs a marker per pane (ms, min)" "-" "${SF[$key-ours]}" "$(div2 "${SF[$key-ours]}" "${SF[$key-marked]}")x" "(info)" \
                "floor with one display-message per pane ${SF[$key-marked]} ms (median ${SF[$key-marked-med]}): a marker per pane costs tmux one command each; ours marks every 10th and cuts the captures by the panes' heights"
        fi
    done
}
# The floor: the same tmux work ours asks for (per agent: new-session running `sleep
# 100000`, remain-on-exit, pipe-pane to a log), as ONE chained tmux call from bash (one per
# 50 agents for a bigger fleet: a call's length is limited). Most of an `up` is the tmux
# server creating its panes; no client can be faster than this.
raw_tmux_up() { # raw_tmux_up OUTFILE [N] — N agents (BIG)
    local dir=$WORK/raw i n=${2:-$BIG}
    local -a chain=()
    mkdir -p "$dir"
    RAW_UP_N=0
    for ((i = 1; i <= n; i++)); do
        chain+=(new-session -d -s "bench-a$i" -c "$dir" -- sleep 100000 ';'
            set-option -w -t "=bench-a$i:" remain-on-exit on ';'
            pipe-pane -o -t "=bench-a$i:" "exec cat >> '$dir/bench-a$i.log'" ';')
        # One tmux call carries at most ~16 KiB of arguments ("command too long"): 50 agents
        # per call (benchmark 2's one call; 4 for 200 agents), in RAW_UP_1, RAW_UP_2, ...
        if ((i % 50 == 0 || i == n)); then
            RAW_UP_N=$((RAW_UP_N + 1))
            declare -ga "RAW_UP_$RAW_UP_N"
            local -n calls="RAW_UP_$RAW_UP_N"
            calls=("${chain[@]}")
            unset -n calls
            chain=()
        fi
    done
    fresh_server
    timed "$1" raw_up_calls
    expect_live "$n" "raw tmux chain"
}
raw_up_calls() { # the calls raw_tmux_up prepared, one after the other
    local k
    for ((k = 1; k <= RAW_UP_N; k++)); do
        local -n call="RAW_UP_$k"
        "$REAL_TMUX" "${call[@]}" || return 1
        unset -n call
    done
}
# ══ 9. a big fleet (ours) — defined here, run last (alone: BENCH_ONLY=fleet) ═════════
# Issue 16 item 4: how ours holds up with BENCH_FLEET (200) agents, each figure against its
# floor in the same run:
#   (a) `up` of BENCH_FLEET exec agents (`sleep 100000`, gen_config) on an empty tmux server,
#       against raw chained tmux calls doing the same starts (raw_tmux_up: 50 agents a call, a
#       call's length is limited); BENCH_UP_RUNS runs of each, interleaved; min and median.
#   (b) `status`, with and without a watchdog: benchmark 8 with BENCH_FLEET agents.
#   (c) one watchdog tick: `agents watchdog --once` on benchmark 8's fleet (every pane a real
#       Claude Code idle screen; no other watchdog running): its start, the config, then one
#       heavy tick (list the panes, capture them all, classify each, publish the snapshot).
#       Floor: the raw tmux reads such a tick needs (benchmark 8's no-watchdog floor: one
#       list-panes, one chained capture-pane of every pane). BENCH_STATUS_RUNS runs of each,
#       interleaved; min and median.
#   (d) the watchdog's peak RSS: the foreground watchdog on the same fleet with
#       signal_interval 1 s / heavy_interval 2 s for BENCH_FLEET_SECONDS (10) s; VmHWM of its
#       own process (not its tmux children), read just before SIGTERM.
declare -A FL
fleet_bench() {
    local n=$BENCH_FLEET dir=$WORK/fleet-many i t0 t1 wpid wlog rss
    say "== 9. a fleet of $n agents (ours)"
    gen_config "$n" "$dir/agents.toml" 30 300
    : >"$WORK/fl-up" && : >"$WORK/fl-up-raw"
    fresh_server && run "${RS[@]}" up --config "$dir/agents.toml" && expect_live "$n" "warm-up up"
    for ((i = 0; i < BENCH_UP_RUNS; i++)); do
        fresh_server
        timed "$WORK/fl-up" "${RS[@]}" up --config "$dir/agents.toml"
        expect_live "$n" "up of $n agents"
        raw_tmux_up "$WORK/fl-up-raw" "$n"
    done
    fresh_server
    FL[up]=$(minimum "$WORK/fl-up") FL[up-med]=$(median "$WORK/fl-up")
    FL[up-raw]=$(minimum "$WORK/fl-up-raw") FL[up-raw-med]=$(median "$WORK/fl-up-raw")
    say "  up: min ${FL[up]} ms (median ${FL[up-med]}); floor, raw chained tmux calls of 50 agents each: min ${FL[up-raw]} ms (median ${FL[up-raw-med]})"
    say ""

    status_floor_bench "$n"

    # (c) and (d) on benchmark 8's fleet, left by it as its config ($SCFG_IDLE)
    fresh_server
    run "${RS[@]}" up --config "$SCFG_IDLE"
    stop_up_watchdog "$SCFG_IDLE" "${RS[@]}"
    expect_live "$n" "idle fleet after up"
    sleep 1 # the screens are drawn
    : >"$WORK/fl-tick" && : >"$WORK/fl-tick-floor" && : >"$WORK/fl-tick-ms"
    local snap
    snap=$(dirname "$SCFG_IDLE")/.ao-state/state/supervision.json
    for ((i = 0; i < 3; i++)); do
        run "${RS[@]}" watchdog --once --config "$SCFG_IDLE"
        status_floor_raw "" || die "tick floor: a raw tmux call failed"
    done
    for ((i = 0; i < BENCH_STATUS_RUNS; i++)); do
        timed "$WORK/fl-tick" "${RS[@]}" watchdog --once --config "$SCFG_IDLE"
        # the tick's own time as it publishes it (read + decide, no process start)
        sed -n 's/^ *"tick_ms": *\([0-9.]*\),\{0,1\}$/\1/p' "$snap" >>"$WORK/fl-tick-ms"
        printf '$ (timed) tick floor\n' >>"$LOG"
        t0=$EPOCHREALTIME
        status_floor_raw "" || die "tick floor: a raw tmux call failed"
        t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f\n", (b-a)*1000}' >>"$WORK/fl-tick-floor"
    done
    FL[tick]=$(minimum "$WORK/fl-tick") FL[tick-med]=$(median "$WORK/fl-tick")
    FL[tick-floor]=$(minimum "$WORK/fl-tick-floor") FL[tick-floor-med]=$(median "$WORK/fl-tick-floor")
    [[ -s $WORK/fl-tick-ms ]] || die "watchdog --once published no tick_ms in $snap"
    FL[tick-ms]=$(minimum "$WORK/fl-tick-ms" | xargs printf "%.2f") FL[tick-ms-med]=$(median "$WORK/fl-tick-ms" | xargs printf "%.2f")
    say "  one tick as the watchdog times it (tick_ms in supervision.json: capture + read + decide): min ${FL[tick-ms]} ms (median ${FL[tick-ms-med]})"
    say "  watchdog --once (one heavy tick): min ${FL[tick]} ms (median ${FL[tick-med]}); floor, list + chained capture: min ${FL[tick-floor]} ms (median ${FL[tick-floor-med]})"

    rss=$(dirname "$SCFG_IDLE")/rss.toml
    sed -e 's/^signal_interval = 30$/signal_interval = 1/' -e 's/^heavy_interval = 300$/heavy_interval = 2/' "$SCFG_IDLE" >"$rss"
    grep -q '^heavy_interval = 2$' "$rss" || die "could not set the intervals in $rss"
    wlog=$WORK/watchdog-fleet.log
    printf '$ (%s s) %s watchdog --config %s\n' "$BENCH_FLEET_SECONDS" "$OURS" "$rss" >>"$LOG"
    "${RS[@]}" watchdog --config "$rss" >"$wlog" 2>&1 &
    wpid=$!
    WATCH_PIDS+=("$wpid")
    sleep "$BENCH_FLEET_SECONDS"
    [[ -d /proc/$wpid ]] || die "the watchdog exited before ${BENCH_FLEET_SECONDS} s (log: $(tail -n 3 "$wlog"))"
    FL[hwm]=$(awk '/^VmHWM/{printf "%.1f", $2/1024}' "/proc/$wpid/status")
    FL[rss]=$(awk '/^VmRSS/{printf "%.1f", $2/1024}' "/proc/$wpid/status")
    kill -TERM "$wpid"
    wait "$wpid" 2>/dev/null || true
    say "  watchdog, $BENCH_FLEET_SECONDS s with ticks every 1 s (heavy every 2 s): peak RSS (VmHWM) ${FL[hwm]} MiB, RSS at the end ${FL[rss]} MiB"
    run "${RS[@]}" down --config "$SCFG_IDLE"
    fresh_server
    say ""
}
fleet_rows() { # the summary rows of benchmark 9
    local n=$BENCH_FLEET
    row "up, $n agents (ms, min)" "-" "${FL[up]}" "$(div2 "${FL[up]}" "${FL[up-raw]}")x" "(info)" \
        "floor ${FL[up-raw]} ms (raw chained tmux calls, 50 agents each); medians ${FL[up-med]} / ${FL[up-raw-med]}"
    status_floor_rows "$n"
    row "watchdog --once, $n agents (ms, min)" "-" "${FL[tick]}" "$(div2 "${FL[tick]}" "${FL[tick-floor]}")x" "(info)" \
        "floor ${FL[tick-floor]} ms (list + chained capture); medians ${FL[tick-med]} / ${FL[tick-floor-med]}"
    local verdict="target MET"
    awk -v t="${FL[tick-ms-med]}" 'BEGIN{exit !(t > 50)}' && verdict="target MISSED"
    row "one tick, $n agents (ms, median tick_ms)" "-" "${FL[tick-ms-med]}" "-" "<= 50 ms" "$verdict (min ${FL[tick-ms]} ms)"
    row "watchdog peak RSS, $n agents (MiB)" "-" "${FL[hwm]}" "-" "(info)" "VmHWM after ${BENCH_FLEET_SECONDS} s of 1 s ticks"
}
if [[ $BENCH_ONLY == fleet ]]; then
    fleet_bench
    row() { printf '%-44s %10s %10s %8s   %-14s %s\n' "$@"; }
    say "== summary, $BENCH_FLEET agents (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
    row "benchmark" "" "ours" "/floor" "target" ""
    fleet_rows
    exit 0
fi
if [[ $BENCH_ONLY == status ]]; then
    status_floor_bench
    row() { printf '%-44s %10s %10s %8s   %-14s %s\n' "$@"; }
    say "== summary (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
    row "benchmark" "" "ours" "/floor" "target" ""
    status_floor_rows
    exit 0
fi

if [[ $BENCH_ONLY == start ]]; then
    start_bench
    row() { printf '%-40s %10s %10s %8s   %-14s %s\n' "$@"; }
    say "== summary (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
    row "benchmark" "" "ours" "/floor" "target" ""
    start_rows
    exit 0
fi

# ══ 1. status ══════════════════════════════════════════════════════════════════
# (a) tmux calls per `status`, fleets of 5 and 50: the fleet is started by our `up`, its
#     watchdog stopped (so nothing else calls tmux), then one `status` per program with the
#     counting shim first on PATH. (b) wall time of `status` with 50 agents, interleaved runs.
say "== 1. status"
declare -A CALLS
# What `status` prints for a running agent: ours shows the state it reads (`active`, `idle`,
# `starting`; the watchdog is stopped, so ours reads the screens itself), the original
# RUNNING.
live_word() { if [[ $1 == ours ]]; then echo ' (active|idle|starting) '; else echo 'RUNNING'; fi; }
# status_ok LABEL RC — ours exits 3 when an enabled agent is fatal or stopped without `down`
# (0 when healthy): the fleet here is healthy, so 3 is noted (a wrong figure) but not a crash.
status_ok() {
    case $2 in
    0) return 0 ;;
    3) if [[ $1 == ours ]]; then
        [[ -n ${STATUS3:-} ]] || note "ours: status exited 3 (an agent fatal or stopped) on a healthy fleet"
        STATUS3=1
        return 0
    fi ;;
    esac
    return 1
}
count_status() { # count_status N LABEL CMD... — tmux calls of one `status`
    local n=$1 label=$2 f=$WORK/count-status-$2-$1 rc
    shift 2
    : >"$f"
    printf '$ (counting) %s\n' "$*" >>"$LOG"
    rc=0
    PATH="$SHIM:$PATH" BENCH_TMUX_COUNT=$f "$@" status --config "$(cfg "$n")" >"$f.out" 2>&1 || rc=$?
    cat "$f.out" >>"$LOG"
    status_ok "$label" "$rc" || die "$label status (fleet $n) exited with status $rc"
    # sanity: every agent shows as running (ours: a live state word; the original: RUNNING)
    [[ $(grep -cE "^ *a[0-9]+ .*$(live_word "$label")" "$f.out") -eq $n ]] ||
        die "$label status (fleet $n) does not show $n running agents"
    CALLS[$label-$n]=$(wc -l <"$f")
    say "  fleet $n: $label status made ${CALLS[$label-$n]} tmux calls ($(sort "$f" | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}'))"
}
for n in "$SMALL" "$BIG"; do
    fresh_server
    run "${RS[@]}" up --config "$(cfg "$n")"
    stop_up_watchdog "$(cfg "$n")" "${RS[@]}"
    expect_live "$n" "fleet $n after up"
    count_status "$n" ours "${RS[@]}"
    count_status "$n" original "${PYC[@]}"
done

# timing, fleet of 50 still running; 2 warm-up runs each, then BENCH_RUNS interleaved runs
: >"$WORK/status-ours" && : >"$WORK/status-orig"
for ((i = 0; i < 2; i++)); do
    timed_status ours "$WORK/status-warm" "${RS[@]}" status --config "$(cfg $BIG)"
    timed_status original "$WORK/status-warm" "${PYC[@]}" status --config "$(cfg $BIG)"
done
for ((i = 0; i < BENCH_RUNS; i++)); do
    timed_status ours "$WORK/status-ours" "${RS[@]}" status --config "$(cfg $BIG)"
    timed_status original "$WORK/status-orig" "${PYC[@]}" status --config "$(cfg $BIG)"
done
ST_OURS=$(median "$WORK/status-ours") ST_ORIG=$(median "$WORK/status-orig")
ST_RATIO=$(div "$ST_ORIG" "$ST_OURS")
say "  status, $BIG agents, median of $BENCH_RUNS: ours $ST_OURS ms (min $(minimum "$WORK/status-ours")), original $ST_ORIG ms (min $(minimum "$WORK/status-orig")) => ${ST_RATIO}x"
say ""

# ══ 2. up (then down) of 50 exec agents ═════════════════════════════════════════
# Each run starts from an empty tmux server (no server process, no state dir) and times
# `up` until it returns; then all 50 agents must be running; then `down` (timed, for
# information) and the server is killed. One warm-up run each, then interleaved runs.
say "== 2. up / down, $BIG agents"
up_once() { # up_once LABEL OUTFILE CMD... — one timed up + down on a fresh server
    local label=$1 out=$2
    shift 2
    fresh_server
    timed "$out.up" "$@" up --config "$(cfg $BIG)"
    expect_live "$BIG" "$label up"
    timed "$out.down" "$@" down --config "$(cfg $BIG)"
}
up_once ours "$WORK/warm" "${RS[@]}"
up_once original "$WORK/warm" "${PYC[@]}"
for ((i = 0; i < BENCH_UP_RUNS; i++)); do
    up_once ours "$WORK/up-ours" "${RS[@]}"
    up_once original "$WORK/up-orig" "${PYC[@]}"
    raw_tmux_up "$WORK/up-raw"
done
fresh_server
UP_OURS=$(median "$WORK/up-ours.up") UP_ORIG=$(median "$WORK/up-orig.up")
UP_RATIO=$(div "$UP_ORIG" "$UP_OURS")
UP_RAW=$(median "$WORK/up-raw")
DN_OURS=$(median "$WORK/up-ours.down") DN_ORIG=$(median "$WORK/up-orig.down")
DN_RATIO=$(div "$DN_ORIG" "$DN_OURS")
say "  up,   median of $BENCH_UP_RUNS: ours $UP_OURS ms (min $(minimum "$WORK/up-ours.up")), original $UP_ORIG ms (min $(minimum "$WORK/up-orig.up")) => ${UP_RATIO}x"
say "  up floor: one raw chained tmux call doing the same 50 starts: $UP_RAW ms (min $(minimum "$WORK/up-raw")) => best possible ratio ~$(div "$UP_ORIG" "$UP_RAW")x"
say "  down, median of $BENCH_UP_RUNS: ours $DN_OURS ms, original $DN_ORIG ms => ${DN_RATIO}x (information)"
say ""

# ══ 3. the watchdog, 50 agents ══════════════════════════════════════════════════
# Per program, sequentially: fresh server, `up` (own program), `down watchdog`, then
#   (a) the foreground watchdog for BENCH_COUNT_SECONDS with the counting shim (tmux calls;
#       information only — the shim's own CPU would distort the timing run), then
#   (b) the foreground watchdog for BENCH_SECONDS under /usr/bin/time -v, no shim, stopped
#       with SIGTERM (not SIGINT: bash starts a background job with SIGINT ignored, and a
#       Python started that way never sees it). "User time" + "System time" include its
#       reaped children (the tmux clients it runs); /proc/PID/stat just before the signal
#       splits them into the watchdog's own CPU and its children's. Peak RSS is the
#       watchdog's own VmHWM, read at the same moment (time -v's "Maximum resident set
#       size" is the max over the process and all reaped children; it is shown too).
say "== 3. watchdog, $BIG agents, ${BENCH_SECONDS} s each (signal_interval $SIGNAL, heavy_interval $HEAVY, watch heal)"
declare -A WD
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime+stime of one process

# watchdog_bench KEY CONFIG COUNT CMD... — KEY names the figures (WD[KEY-cpu], ...; "ours" or
# "original", with a suffix for a variant); COUNT=1 first runs the tmux-call counting window
watchdog_bench() {
    local key=$1 config=$2 count=$3 label=${1%%-*} f tf wlog tpid wpid srv srv0 i rc
    shift 3
    fresh_server
    run "$@" up --config "$config"
    if [[ $label == ours ]]; then check_our_watchdog_session "$config"; fi
    stop_up_watchdog "$config" "$@"
    expect_live "$BIG" "$key watchdog setup"
    if [[ $key == *-screen ]]; then # the screens are there to be read
        "$REAL_TMUX" capture-pane -p -J -t "=bench-a$BIG:" | grep -q 'esc to interrupt' ||
            die "$key: bench-a$BIG does not show the screen"
    fi

    # (a) count tmux calls over the first BENCH_COUNT_SECONDS
    if ((count)); then
        f=$WORK/count-watchdog-$key
        : >"$f"
        printf '$ (counting, %s s) %s watchdog\n' "$BENCH_COUNT_SECONDS" "$*" >>"$LOG"
        rc=0
        PATH="$SHIM:$PATH" BENCH_TMUX_COUNT=$f timeout -s INT "$BENCH_COUNT_SECONDS" \
            "$@" watchdog --config "$config" >>"$LOG" 2>&1 || rc=$?
        ((rc == 124)) || die "$key watchdog (counting run) exited with status $rc before ${BENCH_COUNT_SECONDS} s"
        WD[$key-calls]=$(wc -l <"$f")
        say "  $key: ${WD[$key-calls]} tmux calls in the first ${BENCH_COUNT_SECONDS} s ($(sort "$f" | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}'))"
        expect_live "$BIG" "$key after the counting run"
    fi

    # (b) the timed run
    srv=$("$REAL_TMUX" display-message -p '#{pid}')
    srv0=$(cpu_ticks "$srv")
    tf=$WORK/time-$key wlog=$WORK/watchdog-$key.log
    printf '$ (timed, %s s) %s watchdog\n' "$BENCH_SECONDS" "$*" >>"$LOG"
    /usr/bin/time -v -o "$tf" "$@" watchdog --config "$config" >"$wlog" 2>&1 &
    tpid=$!
    WATCH_PIDS+=("$tpid")
    sleep 1
    wpid=$(pgrep -P "$tpid" | head -n 1 || true)
    [[ -n $wpid ]] || die "$key watchdog did not start (log: $(tail -n 3 "$wlog"))"
    WATCH_PIDS+=("$wpid")
    sleep $((BENCH_SECONDS - 1))
    [[ -d /proc/$wpid ]] || die "$key watchdog exited before ${BENCH_SECONDS} s (log: $(tail -n 3 "$wlog"))"
    WD[$key-hwm]=$(awk '/^VmHWM/{printf "%.1f", $2/1024}' "/proc/$wpid/status")
    WD[$key-split]=$(awk -v hz="$(getconf CLK_TCK)" \
        '{printf "own %.2f s + reaped children %.2f s", ($14+$15)/hz, ($16+$17)/hz}' "/proc/$wpid/stat")
    kill -TERM "$wpid"
    for ((i = 0; i < 150; i++)); do
        kill -0 "$tpid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$tpid" 2>/dev/null; then
        kill -KILL "$wpid" 2>/dev/null || true
        die "$key watchdog did not exit within 15 s of SIGTERM"
    fi
    wait "$tpid" || true
    WATCH_PIDS=()
    cat "$wlog" >>"$LOG"
    WD[$key-srv]=$(awk -v a="$srv0" -v b="$(cpu_ticks "$srv")" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/hz}')
    WD[$key-cpu]=$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.2f", u+s}' "$tf")
    WD[$key-user]=$(awk -F': ' '/User time/{print $2}' "$tf")
    WD[$key-sys]=$(awk -F': ' '/System time/{print $2}' "$tf")
    WD[$key-maxrss]=$(awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}' "$tf")
    WD[$key-exit]=$(awk -F': ' '/Command terminated by signal/{sig=$0; sub(/.*signal /, "", sig)}
        /Exit status/{st=$2} END{print (sig != "") ? "signal " sig : st}' "$tf")
    if [[ $label == ours && ${WD[$key-exit]} != 0 ]]; then
        die "ours: watchdog exited with status ${WD[$key-exit]} on SIGTERM (expected 0); log: $(tail -n 3 "$wlog")"
    fi
    expect_live "$BIG" "$key after the watchdog run"
    if grep -qiE 'error|warn|panic|restart' "$wlog"; then
        note "$key watchdog printed: $(grep -iE 'error|warn|panic|restart' "$wlog" | head -n 3 | tr '\n' '|')"
    fi
    if [[ $key == ours-screen ]]; then # ours must read these screens as active
        rc=0
        "$@" status --config "$config" >"$WORK/status-$key" 2>&1 || rc=$?
        i=$(grep -cE '^ *a[0-9]+ .* active ' "$WORK/status-$key" || true)
        ((rc == 0 && i == BIG)) || note "$key: status (exit $rc) shows $i of $BIG agents active on the printed screens"
    fi
    say "  $key: CPU ${WD[$key-cpu]} s (user ${WD[$key-user]}, sys ${WD[$key-sys]}; ${WD[$key-split]}), peak RSS (VmHWM) ${WD[$key-hwm]} MiB, time -v max RSS ${WD[$key-maxrss]} MiB, tmux server CPU ${WD[$key-srv]} s, exit status ${WD[$key-exit]}"
}
watchdog_bench ours "$(cfg $BIG)" 1 "${RS[@]}"
watchdog_bench original "$(cfg $BIG)" 1 "${PYC[@]}"
# the same with a real screen in every pane: classification has text to read (see SCREEN)
say "  -- printed screens: every pane shows $SCREEN_FROM (a working Claude Code screen); ours: the claude preset"
watchdog_bench ours-screen "$SCFG_OURS" 0 "${RS[@]}"
watchdog_bench original-screen "$SCFG_ORIG" 0 "${PYC[@]}"
fresh_server
WD_RATIO=$(div "${WD[original-cpu]}" "${WD[ours-cpu]}")
RSS_RATIO=$(div "${WD[original-hwm]}" "${WD[ours-hwm]}")
WDS_RATIO=$(div "${WD[original-screen-cpu]}" "${WD[ours-screen-cpu]}")
RSSS_RATIO=$(div "${WD[original-screen-hwm]}" "${WD[ours-screen-hwm]}")
say ""

# ══ 4. restart latency (ours) ═══════════════════════════════════════════════════
# A fleet of BENCH_KILLS + BENCH_EXIT_KILLS agents with signal_interval 30 and heavy_interval
# 300, started by our `up` (its watchdog in its own session, as a user runs it). After the
# watchdog's first tick (`watchdog-start` in events.jsonl, then 1 s), each agent is killed
# ONCE (the first restart of an agent is immediate; later quick ones back off), one at a
# time: BENCH_KILLS by `kill-session`, BENCH_EXIT_KILLS by killing the pane's program (the pane
# stays, dead, through remain-on-exit; its pane-died hook wakes the watchdog). Latency: from
# the kill until the session's #{pane_pid} is a new live process, polled every 10 ms.
RL_N=$((BENCH_KILLS + BENCH_EXIT_KILLS)) RL_TIMEOUT=12
say "== 4. restart latency (ours), $RL_N agents, signal_interval 30, heavy_interval 300"
RCFG=$WORK/fleet-restart/agents.toml
gen_config "$RL_N" "$RCFG" 30 300
RL_TIMEOUTS=0
# kill_and_time SESSION HOW OUTFILE — HOW: session (kill-session) or program (kill the pid)
kill_and_time() {
    local s=$1 how=$2 out=$3 old cur pid dead t0 t1 ok=0
    old=$("$REAL_TMUX" display-message -p -t "=$s:" '#{pane_pid}' 2>/dev/null || true)
    [[ -n $old && -d /proc/$old ]] || die "restart latency: $s has no live pane before the kill"
    printf '$ (restart latency) %s %s (pid %s)\n' "$how" "$s" "$old" >>"$LOG"
    t0=$EPOCHREALTIME
    if [[ $how == session ]]; then
        "$REAL_TMUX" kill-session -t "=$s"
    else
        kill -TERM "$old"
    fi
    while :; do
        t1=$EPOCHREALTIME
        cur=$("$REAL_TMUX" display-message -p -t "=$s:" '#{pane_pid} #{pane_dead}' 2>/dev/null || true)
        pid=${cur% *} dead=${cur#* }
        if [[ -n $cur && $pid != "$old" && $dead == 0 && -d /proc/$pid ]]; then
            ok=1
            break
        fi
        (( ${t1/./} - ${t0/./} > RL_TIMEOUT * 1000000 )) && break # EPOCHREALTIME in µs
        sleep 0.01
    done
    if ((!ok)); then
        RL_TIMEOUTS=$((RL_TIMEOUTS + 1))
        note "restart latency: $s ($how) was not back within ${RL_TIMEOUT} s (counted as ${RL_TIMEOUT} s)"
    fi
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f\n", (b-a)*1000}' >>"$out"
}
fresh_server
run "${RS[@]}" up --config "$RCFG"
check_our_watchdog_session "$RCFG"
RL_EVENTS=$(dirname "$RCFG")/.ao-state/events.jsonl
for ((i = 0; i < 100; i++)); do
    grep -q '"watchdog-start"' "$RL_EVENTS" 2>/dev/null && break
    sleep 0.1
done
grep -q '"watchdog-start"' "$RL_EVENTS" 2>/dev/null || die "restart latency: no watchdog-start in $RL_EVENTS within 10 s"
sleep 1
expect_live "$RL_N" "restart latency fleet after up"
: >"$WORK/rl-session" && : >"$WORK/rl-program"
for ((i = 1; i <= RL_N; i++)); do
    if ((i <= BENCH_KILLS)); then
        kill_and_time "bench-a$i" session "$WORK/rl-session"
    else
        kill_and_time "bench-a$i" program "$WORK/rl-program"
    fi
    sleep 0.3 # let the watchdog finish that tick before the next kill
done
expect_live "$RL_N" "restart latency fleet after the kills"
RL_RESTARTS=$(grep -c '"event":"restart"' "$RL_EVENTS" || true)
RL_MED=$(median "$WORK/rl-session") RL_MAX=$(sort -n "$WORK/rl-session" | tail -n 1)
say "  kill-session, $BENCH_KILLS agents: median $RL_MED ms, min $(minimum "$WORK/rl-session") ms, max $RL_MAX ms"
if ((BENCH_EXIT_KILLS)); then
    RLP_MED=$(median "$WORK/rl-program") RLP_MAX=$(sort -n "$WORK/rl-program" | tail -n 1)
    say "  program exited (kill PID), $BENCH_EXIT_KILLS agents: median $RLP_MED ms, max $RLP_MAX ms"
else
    RLP_MED=- RLP_MAX=-
fi
say "  events.jsonl: $RL_RESTARTS restart events for $RL_N kills; all times: $(tr '\n' ' ' <"$WORK/rl-session")| $(tr '\n' ' ' <"$WORK/rl-program")"
((RL_RESTARTS == RL_N)) || note "restart latency: $RL_RESTARTS restart events in events.jsonl for $RL_N kills"
run "${RS[@]}" down --config "$RCFG"
fresh_server
say ""

# ══ 5. down with stop keys (ours) ═══════════════════════════════════════════════
# Two fleets of BIG agents with `stop_keys = ["Enter"]`: one whose agents exit on the key
# (`sh -c 'read x; exit 0'`), one whose agents ignore it (`sleep`, stop_timeout 2 s). `down`
# waits for the stop keys once for all agents, not per agent: the second fleet's `down` is
# bounded by stop_timeout (+ the SIGTERM grace only for processes that outlive the session).
say "== 5. down with stop keys (ours), $BIG agents"
stopkeys_config() { # stopkeys_config FILE BIN TIMEOUT
    gen_config "$BIG" "$1" 30 300
    sed -i "s|^bin = \"sleep 100000\"|bin = \"$2\"\nstop_keys = [\"Enter\"]\nstop_timeout = $3|" "$1"
}
SK_POLITE=$WORK/fleet-stopkeys-polite/agents.toml SK_DEAF=$WORK/fleet-stopkeys-deaf/agents.toml
stopkeys_config "$SK_POLITE" "sh -c 'read x; exit 0'" 10
stopkeys_config "$SK_DEAF" "sleep 100000" 2
: >"$WORK/sk-polite" && : >"$WORK/sk-deaf"
for ((r = 1; r <= 3; r++)); do
    for kind in polite deaf; do
        f=$SK_POLITE && [[ $kind == deaf ]] && f=$SK_DEAF
        fresh_server
        run "${RS[@]}" up --config "$f"
        expect_live "$BIG" "stop-keys fleet ($kind) after up"
        sleep 0.5
        t0=$EPOCHREALTIME
        run "${RS[@]}" down --config "$f"
        t1=$EPOCHREALTIME
        awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f\n", (b-a)*1000}' >>"$WORK/sk-$kind"
    done
done
SK_P=$(median "$WORK/sk-polite") SK_D=$(median "$WORK/sk-deaf")
say "  down, agents that exit on their stop key: median $SK_P ms ($(tr '\n' ' ' <"$WORK/sk-polite"))"
say "  down, agents that ignore it (stop_timeout 2 s): median $SK_D ms ($(tr '\n' ' ' <"$WORK/sk-deaf"))"
fresh_server
say ""

status_floor_bench
send_bench
start_bench
fleet_bench

# ══ summary ════════════════════════════════════════════════════════════════════
row() { printf '%-40s %10s %10s %8s   %-14s %s\n' "$@"; }
const_verdict() {
    if [[ ${CALLS[ours-$SMALL]} -eq ${CALLS[ours-$BIG]} ]]; then echo "target met"; else echo "target MISSED"; fi
}
rss_verdict() { awk -v r="$1" 'BEGIN{ print (r+0 <= 8) ? "target met" : "target MISSED" }'; }
ms_verdict() { awk -v r="$1" 'BEGIN{ print (r+0 <= 1000) ? "target met" : "target MISSED" }'; }
say "== summary (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
row "benchmark" "original" "ours" "ratio" "target" ""
row "status, $BIG agents (ms, median)" "$ST_ORIG" "$ST_OURS" "$(x "$ST_RATIO")" ">= 50x" "$(verdict "$ST_RATIO" 50)"
row "tmux calls per status ($SMALL / $BIG)" "${CALLS[original-$SMALL]} / ${CALLS[original-$BIG]}" \
    "${CALLS[ours-$SMALL]} / ${CALLS[ours-$BIG]}" "-" "ours constant" "$(const_verdict)"
row "up, $BIG agents (ms, median)" "$UP_ORIG" "$UP_OURS" "$(x "$UP_RATIO")" ">= 10x" "$(verdict "$UP_RATIO" 10)"
row "up floor: raw tmux chain (ms)" "-" "$UP_RAW" "$(x "$(div "$UP_ORIG" "$UP_RAW")")" "(info)" "best possible up ratio"
row "down, $BIG agents (ms, median)" "$DN_ORIG" "$DN_OURS" "$(x "$DN_RATIO")" "(info)" ""
row "watchdog ${BENCH_SECONDS} s CPU (s)" "${WD[original-cpu]}" "${WD[ours-cpu]}" "$(x "$WD_RATIO")" ">= 20x" "$(verdict "$WD_RATIO" 20)"
row "watchdog peak RSS (MiB)" "${WD[original-hwm]}" "${WD[ours-hwm]}" "$(x "$RSS_RATIO")" "ours <= 8" "$(rss_verdict "${WD[ours-hwm]}")"
row "watchdog tmux calls (first ${BENCH_COUNT_SECONDS} s)" "${WD[original-calls]}" "${WD[ours-calls]}" \
    "$(x "$(div "${WD[original-calls]}" "${WD[ours-calls]}")")" "(info)" ""
row "tmux server CPU in watchdog run (s)" "${WD[original-srv]}" "${WD[ours-srv]}" \
    "$(x "$(div "${WD[original-srv]}" "${WD[ours-srv]}")")" "(info)" ""
row "watchdog ${BENCH_SECONDS} s CPU, printed screens (s)" "${WD[original-screen-cpu]}" "${WD[ours-screen-cpu]}" \
    "$(x "$WDS_RATIO")" ">= 20x" "$(verdict "$WDS_RATIO" 20)"
row "watchdog peak RSS, printed screens (MiB)" "${WD[original-screen-hwm]}" "${WD[ours-screen-hwm]}" \
    "$(x "$RSSS_RATIO")" "ours <= 8" "$(rss_verdict "${WD[ours-screen-hwm]}")"
row "tmux server CPU, printed screens (s)" "${WD[original-screen-srv]}" "${WD[ours-screen-srv]}" \
    "$(x "$(div "${WD[original-screen-srv]}" "${WD[ours-screen-srv]}")")" "(info)" ""
row "restart after kill-session (ms, median)" "-" "$RL_MED" "-" "<= 1000" "$(ms_verdict "$RL_MED") (median of $BENCH_KILLS, signal_interval 30)"
row "restart after kill-session (ms, max)" "-" "$RL_MAX" "-" "(info)" ""
row "restart after program exit (ms, median)" "-" "$RLP_MED" "-" "<= 1000" \
    "$(if [[ $RLP_MED == - ]]; then echo "-"; else echo "$(ms_verdict "$RLP_MED") (median of $BENCH_EXIT_KILLS, max $RLP_MAX)"; fi)"
row "down, $BIG agents exiting on stop keys (ms)" "-" "$SK_P" "-" "(info)" "median of 3"
row "down, $BIG agents ignoring stop keys (ms)" "-" "$SK_D" "-" "< 2 x 2000" \
    "$(awk -v r="$SK_D" 'BEGIN{ print (r+0 < 4000) ? "target met (stop_timeout 2 s paid once)" : "target MISSED" }')"
row "send to an idle agent, call to verified (ms)" "-" "$SEND_MED" "$(x "$(div "$SEND_MED" "$SEND_FLOOR")")" "<= 150" \
    "$(awk -v r="$SEND_MED" 'BEGIN{ print (r+0 <= 150) ? "target met" : "target MISSED" }') (median of $BENCH_SEND_RUNS, min $SEND_MIN; floor: raw send-keys $SEND_FLOOR ms; ratio: ours / floor)"
status_floor_rows
start_rows
fleet_rows
if ((${#NOTES[@]})); then
    say ""
    say "notes:"
    printf '  - %s\n' "${NOTES[@]}"
fi
