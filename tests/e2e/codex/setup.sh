#!/usr/bin/env bash
# Adapted from the shared e2e harness (shared/e2e/codex/setup.sh, written for issue 17): the
# same pinned, cached, locked install, minus its `apt-get install npm` (`.ci/run` installs npm;
# a test run never installs system packages) and with short npm fetch timeouts, so a machine
# without the registry skips quickly.
#
# Install the real OpenAI Codex CLI once, pinned, into a cache outside the repos, and print the
# path of its native `codex` executable (last line of stdout). Idempotent: a cached install
# that reports the pinned version is reused without touching the network.
#
#   CODEX_VERSION     version to install (default: 0.169.0, the version the usage-limit banner
#                     was first captured with)
#   AGENTS_E2E_CACHE  cache root (default: ${XDG_CACHE_HOME:-~/.cache}/agents-e2e)
#
# The npm package @openai/codex is a small Node launcher (bin/codex.js); the native musl
# binary comes as the optional dependency @openai/codex-linux-x64 (an alias of
# @openai/codex@<version>-linux-x64). We print the native binary itself
# (vendor/x86_64-unknown-linux-musl/bin/codex), so nothing here needs Node at run time and a
# tmux pane running it reports pane_current_command "codex", not "node".
set -euo pipefail
VERSION=${CODEX_VERSION:-0.169.0}
CACHE=${AGENTS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agents-e2e}
DIR=$CACHE/codex-$VERSION
case "$(uname -m)" in
  x86_64|amd64) TRIPLE=x86_64-unknown-linux-musl; PLAT=linux-x64 ;;
  aarch64|arm64) TRIPLE=aarch64-unknown-linux-musl; PLAT=linux-arm64 ;;
  *) echo "setup: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
REL=node_modules/@openai/codex-$PLAT/vendor/$TRIPLE/bin/codex
BIN=$DIR/$REL

works() {  # the binary runs and reports the pinned version (scratch HOME: touches nothing)
  local h; h=$(mktemp -d)
  HOME=$h CODEX_HOME=$h/.codex timeout 30 "$1" --version 2>/dev/null | grep -q "^codex-cli $VERSION\$"
  local rc=$?; rm -rf "$h"; return $rc
}

if [ -x "$BIN" ] && works "$BIN"; then echo "$BIN"; exit 0; fi

command -v npm >/dev/null 2>&1 || { echo "setup: npm is not installed (apt-get install npm)" >&2; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"; flock 9          # one installer at a time
if [ -x "$BIN" ] && works "$BIN"; then echo "$BIN"; exit 0; fi
tmp=$(mktemp -d "$CACHE/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "setup: npm install @openai/codex@$VERSION into $DIR" >&2
npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error \
  --fetch-timeout=30000 --fetch-retries=1 \
  "@openai/codex@$VERSION" >&2
works "$tmp/$REL" || {
  echo "setup: the installed codex does not report version $VERSION" >&2; exit 1; }
rm -rf "$DIR"; mv "$tmp" "$DIR"; trap - EXIT
works "$BIN" || { echo "setup: $BIN does not run after the move" >&2; exit 1; }
echo "$BIN"
