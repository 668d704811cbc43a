#!/usr/bin/env bash
# make demo's script runs end to end and leaves nothing behind: scripts/demo
# with a short minute (DEMO_SECONDS, 16 s) prints its summary with every
# section, and afterwards no process it started (cluster, simulator, worker,
# display) is left. Before that, a demo interrupted as by Ctrl-C stops
# everything too.
#
# The demo starts its own throwaway cluster, so this test needs only the
# binaries (build/worker/stocksync-worker, build/sim/stocksync-sim) and the
# installed extension, not lib.sh's database.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# Everything the demo creates lives below this directory, so that a process
# left behind is found by its command line (the simulator's scenario, the
# worker's config, the postmaster's data directory all name it).
T=$(mktemp -d /tmp/e2e-demo.XXXXXX)
chmod 755 "$T"   # the cluster runs as postgres when we are root
DEMO_PID=
cleanup() {
  local rc=$?
  [[ -n $DEMO_PID ]] && kill -TERM -- "-$DEMO_PID" 2>/dev/null
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
log() { echo "[$(date +%T)] demo_runs: $*" >&2; }
fail() { log "FAIL: $*"; [[ -f $T/out ]] && tail -n 40 "$T/out" >&2; exit 1; }
leftovers() { pgrep -af -- "$T/" | grep -v pgrep || true; }

# start_demo SECONDS: the demo in a process group of its own, with SIGINT at
# its default (a background job of a script starts with it ignored), as a
# terminal would start it.
start_demo() {
  TMPDIR=$T DEMO_SECONDS=$1 setsid python3 -c '
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$ROOT/scripts/demo" >"$T/out" 2>&1 &
  DEMO_PID=$!
}

# 1. Ctrl-C in the middle of the first run.
start_demo 16
for _ in $(seq 300); do grep -q '^ *[0-9]*s |' "$T/out" 2>/dev/null && break; sleep 0.1; done
grep -q '^ *[0-9]*s |' "$T/out" || fail "the demo showed no progress line within 30 s"
sleep 2
log "Ctrl-C (SIGINT to the demo's process group) during the first run"
kill -INT -- "-$DEMO_PID"
rc=0; wait "$DEMO_PID" || rc=$?
DEMO_PID=
((rc != 0)) || fail "the interrupted demo exited 0"
sleep 1
[[ -z $(leftovers) ]] || fail "processes left after Ctrl-C: $(leftovers)"
[[ -z $(ls -A "$T") || $(ls -A "$T") == out ]] || fail "files left after Ctrl-C: $(ls -A "$T")"
log "interrupted (status $rc); nothing left behind"

# 2. A whole demo.
start_demo 16
rc=0; wait "$DEMO_PID" || rc=$?
DEMO_PID=
((rc == 0)) || fail "the demo exited with status $rc"
for want in '== Run 1: stocksync' '== Run 2: the same seeded minute against a 15-minute polling sync' \
            'The peer:' '== Summary: stocksync' 'orders taken (channel side)' 'units oversold (ledger)' \
            'kept by buffers at the end' 'lag p50 commit->channel' 'lag p99 commit->channel' \
            'API calls (channel side)' 'of which throttled' 'drift corrected' 'Left unsold because of buffers' \
            'reconcile(ebay):' 'verify_ledger(): 0 differences' \
            '== Side by side: stocksync vs a 15-minute polling sync' 'WooCommerce goes down' 'WooCommerce is back' \
            'cancels order' 'returns:' 'goods receipt' 'edits SKU-0042 by hand'; do
  grep -qF -- "$want" "$T/out" || fail "the output has no '$want'"
done
for c in shopify amazon ebay woocommerce; do
  grep -qE "^  $c +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+$" "$T/out" || fail "no side-by-side row for $c"
done
sleep 1
[[ -z $(leftovers) ]] || fail "processes left after the demo: $(leftovers)"
[[ $(ls -A "$T") == out ]] || fail "files left after the demo: $(ls -A "$T")"
log "summary complete; nothing left behind"
sed -n '/== Summary/,$p' "$T/out" >&2
log PASS
