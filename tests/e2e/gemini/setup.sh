#!/usr/bin/env bash
# Adapted from the shared e2e harness (shared/e2e/gemini/setup.sh, written for issue 17): the
# same pinned, cached, locked install, minus its `apt-get install nodejs npm` (`.ci/run`
# installs npm; a test run never installs system packages) and with short npm fetch timeouts,
# so a machine without the registry skips quickly.
#
# Install the real Google Gemini CLI once, pinned, into a cache outside the repos, and print the
# path of its `gemini` executable (last line of stdout). Idempotent: a cached install that
# reports the pinned version is reused without touching the network.
#
#   GEMINI_CLI_VERSION  version to install (default: 0.61.0, the version the 0.61.0 screens in tests/fixtures/panes were drawn by)
#   AGENTS_E2E_CACHE    cache root (default: ${XDG_CACHE_HOME:-~/.cache}/agents-e2e)
#
# The npm package is a bundled Node program (engines: node >= 20); the system node runs it.
set -euo pipefail
VERSION=${GEMINI_CLI_VERSION:-0.61.0}
CACHE=${AGENTS_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agents-e2e}
DIR=$CACHE/gemini-cli-$VERSION
BIN=$DIR/node_modules/.bin/gemini

works() {  # the binary runs and reports the pinned version (scratch HOME: touches nothing)
  local h; h=$(mktemp -d)
  HOME=$h GEMINI_API_KEY=e2e-dummy timeout 60 "$1" --version </dev/null 2>/dev/null \
    | grep -qx "$VERSION"
  local rc=$?; rm -rf "$h"; return $rc
}

if [ -x "$BIN" ] && works "$BIN"; then echo "$BIN"; exit 0; fi

for t in node npm; do
  command -v $t >/dev/null 2>&1 || { echo "setup: $t is not installed (apt-get install nodejs npm)" >&2; exit 1; }
done
node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || {
  echo "setup: node $(node --version) is too old; @google/gemini-cli needs node >= 20" >&2; exit 1; }

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"; flock 9          # one installer at a time
if [ -x "$BIN" ] && works "$BIN"; then echo "$BIN"; exit 0; fi
tmp=$(mktemp -d "$CACHE/.install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "setup: npm install @google/gemini-cli@$VERSION into $DIR" >&2
npm install --prefix "$tmp" --no-audit --no-fund --no-save --loglevel=error \
  --fetch-timeout=30000 --fetch-retries=1 \
  "@google/gemini-cli@$VERSION" >&2
works "$tmp/node_modules/.bin/gemini" || {
  echo "setup: the installed gemini does not report version $VERSION" >&2; exit 1; }
rm -rf "$DIR"; mv "$tmp" "$DIR"; trap - EXIT
works "$BIN" || { echo "setup: $BIN does not run after the move" >&2; exit 1; }
echo "$BIN"
