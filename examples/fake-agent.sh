#!/usr/bin/env bash
# fake-agent.sh — a dependency-free stand-in for an AI coding-agent CLI, for the demo fleet
# (agents.example.toml) and the tests. Bash and coreutils only.
#
#   bash examples/fake-agent.sh <kickoff-file> <session> <model>
#
# 1. prints its kickoff prompt (the file `agents` wrote to <log_dir>/state/),
# 2. "works" for FAKE_WORK_SECS seconds (default 5): a status line with "esc to interrupt",
#    redrawn in place every second, like Claude Code's spinner,
# 3. clears the status line and idles, reading lines typed into the pane. Each line is a
#    message: "/fatal" prints a fatal error, "/limit" a usage-limit banner, "/quit" exits 0,
#    "/exit N" exits with status N; anything else causes FAKE_REPLY_SECS (default 2) of work.
kickoff=${1:?usage: fake-agent.sh KICKOFF SESSION MODEL}
session=${2:-unknown}
model=${3:-default}

spin() {  # $1 seconds, $2 label
    local i
    for ((i = 1; i <= $1; i++)); do
        printf '\r\033[K✶ Working on %s… (%ds · esc to interrupt)' "$2" "$i"
        sleep 1
    done
    printf '\r\033[K'
}

# Typed text is not echoed (raw-mode TUIs do not echo either), so it cannot break the
# in-place status line.
stty -echo 2>/dev/null

printf '== fake-agent session=%s model=%s pid=%s ==\n' "$session" "$model" "$$"
if [[ -r $kickoff ]]; then
    printf '== kickoff (%s) ==\n' "$kickoff"
    cat -- "$kickoff"
    printf '\n== end of kickoff ==\n'
else
    printf 'kickoff file %s is missing\n' "$kickoff"
fi
spin "${FAKE_WORK_SECS:-5}" "the kickoff"
printf '[%s] idle — waiting for input\n' "$(date +%H:%M:%S)"

n=0
while IFS= read -r line; do
    n=$((n + 1))
    printf '[%s] message #%d: %s\n' "$(date +%H:%M:%S)" "$n" "${line:0:60}"
    case $line in
        */quit*) printf 'bye\n'; exit 0 ;;
        */exit\ *) code=${line##*/exit }; exit "${code%% *}" ;;
        */fatal*) printf 'FATAL: session state corrupted (demo)\n'; continue ;;
        */limit*) printf "You've hit your usage limit · resets 11pm\n"; continue ;;
    esac
    spin "${FAKE_REPLY_SECS:-2}" "message #$n"
    printf '[%s] idle — waiting for input\n' "$(date +%H:%M:%S)"
done
exec sleep infinity  # stdin closed: stay up like an idle TUI
