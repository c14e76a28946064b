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
#    message; anything but the commands below causes FAKE_REPLY_SECS (default 2) of work:
#      /limit [N]     a usage-limit banner whose reset is a minute away (or N seconds away)
#      /limit-auto [N] [D]  a usage limit with Claude Code 2.1.330's auto-continue: the banner
#                     "● Usage limit reached · set to continue automatically at 7:48am" and the
#                     footer "⚠ Usage limit reached · limit resets 7:48am" / "Continuing
#                     automatically at 7:48am · Esc to cancel". The reset is the first whole
#                     minute at least N seconds away (default 60; the banner prints minutes
#                     only). At the reset the footer's second line becomes "Continuing shortly
#                     · Esc to cancel" (the promise leaves the screen, as in 2.1.330); D seconds
#                     later (default 20; "never": it does not) the footer goes, it prints
#                     "● Usage limit reset · Continuing automatically", works, and prints
#                     "resumed by itself". A line typed meanwhile is a message: received (and
#                     recorded); after the reset it is worked on and ends the wait.
#      /limit-auto N D quiet  the same, with no idle line after it resumed (Claude Code 2.1.330
#                     draws no prompt after its own turn: the banner stays the newest limit line)
#      /fatal         a fatal error line;  /fatal-wrapped  one that wraps in an 80-column pane
#      /dialog        a question that waits for a person ("Do you trust …?"), answered by y/n
#      /chooser       a usage-limit banner and a chooser whose wait option is number 2
#      /hang          stop reading input and show nothing (an agent that stalled)
#      /quit          exit 0;  /exit N  exit with status N
#    With FAKE_RECORD_DIR set, every line received is also appended to
#    $FAKE_RECORD_DIR/<session>.txt (the tests read what an agent was told), and a line typed
#    while it worked (waiting in the input when it goes idle) is noted in
#    $FAKE_RECORD_DIR/<session>.typed-while-busy.txt.
kickoff=${1:?usage: fake-agent.sh KICKOFF SESSION MODEL}
session=${2:-unknown}
model=${3:-default}

record() {  # $1 a line received
    n=$((n + 1))
    if [[ -n ${FAKE_RECORD_DIR:-} ]]; then
        mkdir -p -- "$FAKE_RECORD_DIR" && printf '%s\n' "$1" >>"$FAKE_RECORD_DIR/$session.txt"
    fi
    printf '[%s] message #%d: %s\n' "$(date +%H:%M:%S)" "$n" "${1:0:60}"
}

limit_auto() {  # $1 seconds to the reset (rounded up to a whole minute), $2 resume delay|never
    local reset clock delay=${2:-20} footer pending='' chunk line resume=''
    reset=$(( ($(date +%s) + ${1:-60} + 59) / 60 * 60 ))
    clock=$(date -d "@$reset" +%-I:%M%P)
    [[ $delay == never ]] || resume=$((reset + delay))
    footer="Continuing automatically at $clock · Esc to cancel"
    printf '● Usage limit reached · set to continue automatically at %s\n' "$clock"
    printf '⚠ Usage limit reached · limit resets %s\n%s' "$clock" "$footer"
    clear_footer() { printf '\r\033[K\033[1A\r\033[K'; }
    while :; do
        now=$(date +%s)
        if ((now >= reset)) && [[ $footer != Continuing\ shortly* ]]; then
            footer='Continuing shortly · Esc to cancel'
            printf '\r\033[K%s' "$footer"
        fi
        if [[ -n $resume ]] && ((now >= resume)); then
            clear_footer
            printf '● Usage limit reset · Continuing automatically\n'
            spin "${FAKE_REPLY_SECS:-2}" "the resumed task"
            printf '[%s] resumed by itself\n' "$(date +%H:%M:%S)"
            return
        fi
        # A line typed meanwhile (kept across timeouts: the Enter may come a moment later).
        if IFS= read -r -t 1 chunk; then
            line=$pending$chunk
            pending=''
            clear_footer
            record "$line"
            if (($(date +%s) >= reset)); then
                spin "${FAKE_REPLY_SECS:-2}" "message #$n"
                return
            fi
            printf '⚠ Usage limit reached · limit resets %s\n%s' "$clock" "$footer"
        else
            (($? > 128)) || return  # stdin closed
            pending+=$chunk
        fi
    done
}

went_idle() {  # the idle line; notes a line typed while busy (already waiting to be read)
    if [[ -n ${FAKE_RECORD_DIR:-} ]] && read -r -t 0; then
        mkdir -p -- "$FAKE_RECORD_DIR" &&
            printf 'a line was waiting after %s\n' "$1" >>"$FAKE_RECORD_DIR/$session.typed-while-busy.txt"
    fi
    printf '[%s] idle — waiting for input\n' "$(date +%H:%M:%S)"
}

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
went_idle "the kickoff"

n=0
while IFS= read -r line; do
    record "$line"
    case $line in
        */quit*) printf 'bye\n'; exit 0 ;;
        */exit\ *) code=${line##*/exit }; exit "${code%% *}" ;;
        */fatal-wrapped*)
            printf '%s FATAL: session state corrupted (demo)\n' \
                "error after a long run of output, written so that it wraps at column"
            continue ;;
        */fatal*) printf 'FATAL: session state corrupted (demo)\n'; continue ;;
        */limit-auto*)
            read -r secs delay quiet _ <<<"${line##*/limit-auto}" || true
            limit_auto "${secs:-60}" "${delay:-20}"
            [[ ${quiet:-} == quiet ]] || printf '[%s] idle — waiting for input\n' "$(date +%H:%M:%S)"
            continue ;;
        */limit\ [0-9]*)
            secs=${line##*/limit }
            printf "You've hit your usage limit · resets in %ss\n" "${secs%% *}"
            continue ;;
        */limit*)
            # A minute away, in the clock form Claude Code prints ("resets 3:59pm").
            printf "You've hit your usage limit · resets %s\n" \
                "$(date -d "@$(( ($(date +%s) / 60 + 2) * 60 ))" +%-I:%M%P)"
            continue ;;
        */chooser*)
            printf "You've hit your usage limit · resets in 60s\n"
            printf 'What do you want to do?\n  1. Upgrade your plan\n❯ 2. Stop and wait for limit to reset\n'
            IFS= read -r answer
            printf 'chose: %s\n' "$answer"
            continue ;;
        */dialog*)
            printf 'Do you trust the files in this folder?\n❯ 1. Yes, proceed\n  2. No, exit\n'
            IFS= read -r answer
            printf 'answer: %s\n' "$answer"
            continue ;;
        */hang*) exec sleep infinity ;;
    esac
    spin "${FAKE_REPLY_SECS:-2}" "message #$n"
    went_idle "message #$n"
done
exec sleep infinity  # stdin closed: stay up like an idle TUI
