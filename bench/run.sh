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
BIG=50 SMALL=5                            # fleet sizes
for v in BENCH_SECONDS BENCH_COUNT_SECONDS BENCH_RUNS BENCH_UP_RUNS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -ge 1 ]] || { echo "bench: $v must be a positive integer" >&2; exit 2; }
done
((BENCH_SECONDS >= 2)) || { echo "bench: BENCH_SECONDS must be >= 2" >&2; exit 2; }

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
# log the tmux command name: the first argument that is not a global flag (-u, -L NAME, ...)
if [ -n "\${BENCH_TMUX_COUNT:-}" ]; then
    verb=''; skip=0
    for a in "\$@"; do
        if [ \$skip = 1 ]; then skip=0; continue; fi
        case \$a in -L|-S|-f|-c) skip=1 ;; -*) ;; *) verb=\$a; break ;; esac
    done
    printf '%s\n' "\${verb:-?}" >>"\$BENCH_TMUX_COUNT"
fi
exec '$REAL_TMUX' "\$@"
EOF
chmod +x "$SHIM/tmux"

# ── fleets: one generated config per size, used by both programs ──────────────
gen_config() { # gen_config N DIR — N exec agents running `sleep 100000`
    local n=$1 dir=$2 i
    mkdir -p "$dir"
    {
        cat <<'EOF'
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
signal_interval = 5
heavy_interval = 10
EOF
        for ((i = 1; i <= n; i++)); do
            printf '\n[[agent]]\nname = "a%d"\nprompt = "hi"\n' "$i"
        done
    } >"$dir/agents.toml"
}
gen_config "$SMALL" "$WORK/fleet$SMALL"
gen_config "$BIG" "$WORK/fleet$BIG"
cfg() { echo "$WORK/fleet$1/agents.toml"; }

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

# fresh_server — no tmux server, no fleet state: the empty starting point
fresh_server() {
    local i
    "$REAL_TMUX" kill-server 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        "$REAL_TMUX" list-sessions >/dev/null 2>&1 || break
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

# stop_up_watchdog N CMD... — `down watchdog` with that program, then wait until the process
# that ran in the watchdog session has exited: `down` returns before it is gone, and ours
# refuses to start a second watchdog while the first still holds its lock.
stop_up_watchdog() {
    local n=$1 pid i
    shift
    pid=$("$REAL_TMUX" display-message -p -t '=bench-watchdog:' '#{pane_pid}' 2>/dev/null || true)
    run "$@" down watchdog --config "$(cfg "$n")"
    for ((i = 0; i < 100 && ${#pid} > 0; i++)); do
        [[ -d /proc/$pid ]] || break
        sleep 0.05
    done
    [[ -z $pid || ! -d /proc/$pid ]] || die "the watchdog (pid $pid) is still running 5 s after \`down watchdog\`"
}

# check_our_watchdog_session — after our `up`, is the watchdog it started alive?
check_our_watchdog_session() {
    local st
    sleep 0.5
    st=$("$REAL_TMUX" list-panes -t '=bench-watchdog' -F '#{pane_dead} #{pane_dead_status}' 2>/dev/null || echo "missing")
    if [[ $st != "0 " ]]; then
        note "ours: the watchdog session started by \`up\` is not running (pane dead/status: '$st'); its log says: $(tail -n 1 "$WORK/fleet$BIG/.ao-state/bench-watchdog.log" 2>/dev/null)"
    fi
}

say "bench: ours     = $OURS"
say "bench: original = $PY $ORIG ($("$PY" --version 2>&1))"
say "bench: tmux     = $REAL_TMUX ($("$REAL_TMUX" -V)), private TMUX_TMPDIR=$TMUX_TMPDIR"
say "bench: $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
say ""

# ══ 1. status ══════════════════════════════════════════════════════════════════
# (a) tmux calls per `status`, fleets of 5 and 50: the fleet is started by our `up`, its
#     watchdog stopped (so nothing else calls tmux), then one `status` per program with the
#     counting shim first on PATH. (b) wall time of `status` with 50 agents, interleaved runs.
say "== 1. status"
declare -A CALLS
count_status() { # count_status N LABEL CMD... — tmux calls of one `status`
    local n=$1 label=$2 f=$WORK/count-status-$2-$1
    shift 2
    : >"$f"
    printf '$ (counting) %s\n' "$*" >>"$LOG"
    PATH="$SHIM:$PATH" BENCH_TMUX_COUNT=$f "$@" status --config "$(cfg "$n")" >"$f.out" 2>&1 ||
        die "$label status (fleet $n)"
    cat "$f.out" >>"$LOG"
    # sanity: every agent shows as RUNNING
    [[ $(grep -c '^ *a[0-9]* .*RUNNING' "$f.out") -eq $n ]] || die "$label status (fleet $n) does not show $n RUNNING agents"
    CALLS[$label-$n]=$(wc -l <"$f")
    say "  fleet $n: $label status made ${CALLS[$label-$n]} tmux calls ($(sort "$f" | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}'))"
}
for n in "$SMALL" "$BIG"; do
    fresh_server
    run "${RS[@]}" up --config "$(cfg "$n")"
    stop_up_watchdog "$n" "${RS[@]}"
    expect_live "$n" "fleet $n after up"
    count_status "$n" ours "${RS[@]}"
    count_status "$n" original "${PYC[@]}"
done

# timing, fleet of 50 still running; 2 warm-up runs each, then BENCH_RUNS interleaved runs
: >"$WORK/status-ours" && : >"$WORK/status-orig"
for ((i = 0; i < 2; i++)); do
    run "${RS[@]}" status --config "$(cfg $BIG)"
    run "${PYC[@]}" status --config "$(cfg $BIG)"
done
for ((i = 0; i < BENCH_RUNS; i++)); do
    timed "$WORK/status-ours" "${RS[@]}" status --config "$(cfg $BIG)"
    timed "$WORK/status-orig" "${PYC[@]}" status --config "$(cfg $BIG)"
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
# The floor: the same tmux work ours asks for (per agent: new-session running `sleep
# 100000`, remain-on-exit, pipe-pane to a log), as ONE chained tmux call from bash. Most of
# an `up` is the tmux server creating 50 panes; no client can be faster than this.
raw_tmux_up() { # raw_tmux_up OUTFILE
    local dir=$WORK/raw i
    local -a chain=()
    mkdir -p "$dir"
    for ((i = 1; i <= BIG; i++)); do
        chain+=(new-session -d -s "bench-a$i" -c "$dir" -- sleep 100000 ';'
            set-option -w -t "=bench-a$i:" remain-on-exit on ';'
            pipe-pane -o -t "=bench-a$i:" "exec cat >> '$dir/bench-a$i.log'" ';')
    done
    fresh_server
    timed "$1" "$REAL_TMUX" "${chain[@]}"
    expect_live "$BIG" "raw tmux chain"
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
say "== 3. watchdog, $BIG agents, ${BENCH_SECONDS} s each (signal_interval 5, heavy_interval 10)"
declare -A WD
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime+stime of one process

watchdog_bench() { # watchdog_bench LABEL CMD...
    local label=$1 f tf wlog tpid wpid srv srv0 i rc
    shift
    fresh_server
    run "$@" up --config "$(cfg $BIG)"
    if [[ $label == ours ]]; then check_our_watchdog_session; fi
    stop_up_watchdog "$BIG" "$@"
    expect_live "$BIG" "$label watchdog setup"

    # (a) count tmux calls over the first BENCH_COUNT_SECONDS
    f=$WORK/count-watchdog-$label
    : >"$f"
    printf '$ (counting, %s s) %s watchdog\n' "$BENCH_COUNT_SECONDS" "$*" >>"$LOG"
    rc=0
    PATH="$SHIM:$PATH" BENCH_TMUX_COUNT=$f timeout -s INT "$BENCH_COUNT_SECONDS" \
        "$@" watchdog --config "$(cfg $BIG)" >>"$LOG" 2>&1 || rc=$?
    ((rc == 124)) || die "$label watchdog (counting run) exited with status $rc before ${BENCH_COUNT_SECONDS} s"
    WD[$label-calls]=$(wc -l <"$f")
    say "  $label: ${WD[$label-calls]} tmux calls in the first ${BENCH_COUNT_SECONDS} s ($(sort "$f" | uniq -c | awk '{printf "%s%s x%s", (NR>1?", ":""), $2, $1}'))"
    expect_live "$BIG" "$label after the counting run"

    # (b) the timed run
    srv=$("$REAL_TMUX" display-message -p '#{pid}')
    srv0=$(cpu_ticks "$srv")
    tf=$WORK/time-$label wlog=$WORK/watchdog-$label.log
    printf '$ (timed, %s s) %s watchdog\n' "$BENCH_SECONDS" "$*" >>"$LOG"
    /usr/bin/time -v -o "$tf" "$@" watchdog --config "$(cfg $BIG)" >"$wlog" 2>&1 &
    tpid=$!
    WATCH_PIDS+=("$tpid")
    sleep 1
    wpid=$(pgrep -P "$tpid" | head -n 1 || true)
    [[ -n $wpid ]] || die "$label watchdog did not start (log: $(tail -n 3 "$wlog"))"
    WATCH_PIDS+=("$wpid")
    sleep $((BENCH_SECONDS - 1))
    [[ -d /proc/$wpid ]] || die "$label watchdog exited before ${BENCH_SECONDS} s (log: $(tail -n 3 "$wlog"))"
    WD[$label-hwm]=$(awk '/^VmHWM/{printf "%.1f", $2/1024}' "/proc/$wpid/status")
    WD[$label-split]=$(awk -v hz="$(getconf CLK_TCK)" \
        '{printf "own %.2f s + reaped children %.2f s", ($14+$15)/hz, ($16+$17)/hz}' "/proc/$wpid/stat")
    kill -TERM "$wpid"
    for ((i = 0; i < 150; i++)); do
        kill -0 "$tpid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$tpid" 2>/dev/null; then
        kill -KILL "$wpid" 2>/dev/null || true
        die "$label watchdog did not exit within 15 s of SIGTERM"
    fi
    wait "$tpid" || true
    WATCH_PIDS=()
    cat "$wlog" >>"$LOG"
    WD[$label-srv]=$(awk -v a="$srv0" -v b="$(cpu_ticks "$srv")" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", (b-a)/hz}')
    WD[$label-cpu]=$(awk -F': ' '/User time/{u=$2} /System time/{s=$2} END{printf "%.2f", u+s}' "$tf")
    WD[$label-user]=$(awk -F': ' '/User time/{print $2}' "$tf")
    WD[$label-sys]=$(awk -F': ' '/System time/{print $2}' "$tf")
    WD[$label-maxrss]=$(awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}' "$tf")
    WD[$label-exit]=$(awk -F': ' '/Command terminated by signal/{sig=$0; sub(/.*signal /, "", sig)}
        /Exit status/{st=$2} END{print (sig != "") ? "signal " sig : st}' "$tf")
    if [[ $label == ours && ${WD[$label-exit]} != 0 ]]; then
        die "ours: watchdog exited with status ${WD[$label-exit]} on SIGTERM (expected 0); log: $(tail -n 3 "$wlog")"
    fi
    expect_live "$BIG" "$label after the watchdog run"
    if grep -qiE 'error|warn|panic|restart' "$wlog"; then
        note "$label watchdog printed: $(grep -iE 'error|warn|panic|restart' "$wlog" | head -n 3 | tr '\n' '|')"
    fi
    say "  $label: CPU ${WD[$label-cpu]} s (user ${WD[$label-user]}, sys ${WD[$label-sys]}; ${WD[$label-split]}), peak RSS (VmHWM) ${WD[$label-hwm]} MiB, time -v max RSS ${WD[$label-maxrss]} MiB, tmux server CPU ${WD[$label-srv]} s, exit status ${WD[$label-exit]}"
}
watchdog_bench ours "${RS[@]}"
watchdog_bench original "${PYC[@]}"
fresh_server
WD_RATIO=$(div "${WD[original-cpu]}" "${WD[ours-cpu]}")
RSS_RATIO=$(div "${WD[original-hwm]}" "${WD[ours-hwm]}")
say ""

# ══ summary ════════════════════════════════════════════════════════════════════
row() { printf '%-34s %10s %10s %8s   %-14s %s\n' "$@"; }
const_verdict() {
    if [[ ${CALLS[ours-$SMALL]} -eq ${CALLS[ours-$BIG]} ]]; then echo "target met"; else echo "target MISSED"; fi
}
rss_verdict() { awk -v r="${WD[ours-hwm]}" 'BEGIN{ print (r+0 <= 8) ? "target met" : "target MISSED" }'; }
say "== summary (load average now: $(cut -d' ' -f1-3 /proc/loadavg))"
row "benchmark" "original" "ours" "ratio" "target" ""
row "status, $BIG agents (ms, median)" "$ST_ORIG" "$ST_OURS" "$(x "$ST_RATIO")" ">= 50x" "$(verdict "$ST_RATIO" 50)"
row "tmux calls per status ($SMALL / $BIG)" "${CALLS[original-$SMALL]} / ${CALLS[original-$BIG]}" \
    "${CALLS[ours-$SMALL]} / ${CALLS[ours-$BIG]}" "-" "ours constant" "$(const_verdict)"
row "up, $BIG agents (ms, median)" "$UP_ORIG" "$UP_OURS" "$(x "$UP_RATIO")" ">= 10x" "$(verdict "$UP_RATIO" 10)"
row "up floor: raw tmux chain (ms)" "-" "$UP_RAW" "$(x "$(div "$UP_ORIG" "$UP_RAW")")" "(info)" "best possible up ratio"
row "down, $BIG agents (ms, median)" "$DN_ORIG" "$DN_OURS" "$(x "$DN_RATIO")" "(info)" ""
row "watchdog ${BENCH_SECONDS} s CPU (s)" "${WD[original-cpu]}" "${WD[ours-cpu]}" "$(x "$WD_RATIO")" ">= 20x" "$(verdict "$WD_RATIO" 20)"
row "watchdog peak RSS (MiB)" "${WD[original-hwm]}" "${WD[ours-hwm]}" "$(x "$RSS_RATIO")" "ours <= 8" "$(rss_verdict)"
row "watchdog tmux calls (first ${BENCH_COUNT_SECONDS} s)" "${WD[original-calls]}" "${WD[ours-calls]}" \
    "$(x "$(div "${WD[original-calls]}" "${WD[ours-calls]}")")" "(info)" ""
row "tmux server CPU in watchdog run (s)" "${WD[original-srv]}" "${WD[ours-srv]}" \
    "$(x "$(div "${WD[original-srv]}" "${WD[ours-srv]}")")" "(info)" ""
if ((${#NOTES[@]})); then
    say ""
    say "notes:"
    printf '  - %s\n' "${NOTES[@]}"
fi
