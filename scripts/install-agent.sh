#!/bin/sh
# Install fence_fencegate where Pacemaker's fencer finds agents: a regular file named fence_*
# in /usr/sbin (PCMK__FENCE_BINDIR). The installed file is a two-line wrapper that runs the
# built agent (one bundled file, dist/fence_fencegate.cjs) with an absolute node path (the
# fencer's environment has a minimal PATH).
#
#   scripts/install-agent.sh              build the agent (only it: under a second) and install it
#   scripts/install-agent.sh --no-build   install the already built dist/fence_fencegate.cjs
#   scripts/install-agent.sh --build-only build the agent to dist/ and install nothing (tests)
#   scripts/install-agent.sh --uninstall  remove the wrapper
#
# Environment: FENCE_BINDIR (default /usr/sbin), NODE (default: `command -v node`).
set -eu

ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
BINDIR=${FENCE_BINDIR:-/usr/sbin}
TARGET=$BINDIR/fence_fencegate
AGENT=$ROOT/dist/fence_fencegate.cjs

case "${1:-}" in
--uninstall)
  rm -f "$TARGET"
  echo "removed $TARGET"
  exit 0
  ;;
--no-build) ;;
"" | --build-only)
  # Bundle src/agent/main.ts and what it imports into one file (scripts/build-agent.mjs, esbuild;
  # `npm run build` does it too). One build at a time: parallel test files build too.
  flock /tmp/fencegate-agent-build.lock node "$ROOT/scripts/build-agent.mjs"
  [ "${1:-}" = --build-only ] && exit 0
  ;;
*)
  echo "usage: $0 [--no-build|--build-only|--uninstall]" >&2
  exit 2
  ;;
esac

[ -f "$AGENT" ] || { echo "install-agent: $AGENT is missing: build first (npm run build)" >&2; exit 1; }
chmod 755 "$AGENT"
NODE=${NODE:-$(command -v node || true)}
[ -n "$NODE" ] && [ -x "$NODE" ] || { echo "install-agent: node not found (set NODE=/path/to/node)" >&2; exit 1; }

mkdir -p "$BINDIR"
# write beside the target and rename: the fencer may list /usr/sbin at any moment
cat >"$TARGET.tmp.$$" <<EOF
#!/bin/sh
# fence_fencegate: installed by $ROOT/scripts/install-agent.sh
exec "$NODE" "$AGENT" "\$@"
EOF
chmod 755 "$TARGET.tmp.$$"
mv -f "$TARGET.tmp.$$" "$TARGET"
echo "installed $TARGET -> $AGENT"
