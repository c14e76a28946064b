#!/usr/bin/env bash
# Adapted from the shared e2e harness (shared/e2e/setup.sh, written for issue 12): the same
# pinned, cached, locked install, minus its `apt-get install npm` (`.ci/run` installs npm; a
# test run never installs system packages) and with short npm fetch timeouts, so a machine
# without the registry skips quickly.
#
# Install the real Claude Code CLI once, pinned, into a cache outside the repos, and print the
# path of its `claude` executable (last line of stdout). Idempotent: a cached install that
# reports the pinned version is reused without touching the network.
#
#   CLAUDE_CODE_VERSION  version to install (default: 2.1.330, the version the 2.1.330 screens in tests/fixtures/panes were drawn by)
#   AGENTS_E2E_CACHE     cache root (default: ${XDG_CACHE_HOME:-~/.cache}/agents-e2e)
#
# The npm package ships the native linux-x64 binary as an optional dependency; its
# postinstall links it over bin/claude.exe. Nothing here needs Node at run time.
set -euo pipefail
VERSION=${CLAUDE_CODE_VERSION:-2.1.330}
CACHE=${AGENTS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agents-e2e}
DIR=$CACHE/claude-code-$VERSION
BIN=$DIR/node_modules/.bin/claude

works() {  # the binary runs and reports the pinned version (scratch HOME: touches nothing)
  local h; h=$(mktemp -d)
  HOME=$h DISABLE_AUTOUPDATER=1 timeout 30 "$1" --version 2>/dev/null | grep -q "^$VERSION "
  local rc=$?; rm -rf "$h"; return $rc
}

if [ -x "$BIN" ] && works "$BIN"; then echo "$BIN"; exit 0; fi

command -v npm >/dev/null 2>&1 || { echo "setup: npm is not installed (apt-get install npm)" >&2; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"; flock 9          # one installer at a time
if [ -x "$BIN" ] && works "$BIN"; then echo "$BIN"; exit 0; fi
tmp=$(mktemp -d "$CACHE/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "setup: npm install @anthropic-ai/claude-code@$VERSION into $DIR" >&2
npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error \
  --fetch-timeout=30000 --fetch-retries=1 \
  "@anthropic-ai/claude-code@$VERSION" >&2
works "$tmp/node_modules/.bin/claude" || {
  echo "setup: the installed claude does not report version $VERSION" >&2; exit 1; }
rm -rf "$DIR"; mv "$tmp" "$DIR"; trap - EXIT
works "$BIN" || { echo "setup: $BIN does not run after the move" >&2; exit 1; }
echo "$BIN"
