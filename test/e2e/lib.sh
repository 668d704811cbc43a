# Shared helpers for the end-to-end tests. Each test sources this file and
# needs PGHOST/PGPORT/PGUSER of a running throwaway cluster with the
# stocksync extension installed (scripts/pgcluster start DIR; make install).
# Every test creates its own database, slot and publication, and removes
# them and every process it started on exit.
set -euo pipefail
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
WORKER=${STOCKSYNC_WORKER:-$ROOT/build/worker/stocksync-worker}
SIM=${STOCKSYNC_SIM:-$ROOT/build/sim/stocksync-sim}
: "${PGHOST:?PGHOST of a throwaway cluster}" "${PGPORT:?PGPORT}" "${PGUSER:=postgres}"
export PGUSER
NAME=e2e_$(basename "$0" .sh | tr -c 'a-z0-9\n' '_')_$$
DB=$NAME
SLOT=$NAME
WORK=$(mktemp -d)
PIDS=()

log() { echo "[$(date +%T)] $NAME: $*" >&2; }
fail() { log "FAIL: $*"; for f in "$WORK"/*.log; do [[ -f $f ]] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done; exit 1; }

cleanup() {
  local rc=$?
  for p in "${PIDS[@]:-}"; do [[ -n $p ]] && kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -qX -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND NOT active" >/dev/null 2>&1 || true
  psql -qX -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT

sql() { psql -qXAt -v ON_ERROR_STOP=1 -d "$DB" -c "$1"; }

# Creates the database with the extension.
setup_db() {
  psql -qX -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB" >/dev/null
  sql "CREATE EXTENSION stocksync" >/dev/null
}

# start_sim SCENARIO_FILE: starts the simulator, sets SIM_URL.
start_sim() {
  "$SIM" --scenario "$1" --listen 127.0.0.1:0 --port-file "$WORK/sim.port" >"$WORK/sim.log" 2>&1 &
  PIDS+=($!)
  SIM_PID=$!
  for _ in $(seq 100); do [[ -s $WORK/sim.port ]] && break; sleep 0.05; done
  [[ -s $WORK/sim.port ]] || fail "simulator did not start"
  SIM_URL=http://127.0.0.1:$(cat "$WORK/sim.port")
}

# write_config CHANNEL_TOML: writes $WORK/worker.toml for this database.
write_config() {
  cat >"$WORK/worker.toml" <<TOML
[database]
conninfo = "host=$PGHOST port=$PGPORT user=$PGUSER dbname=$DB"
slot = "$SLOT"
publication = "stocksync"
reconnect_min_ms = 100
reconnect_max_ms = 1000

[http]
listen = "127.0.0.1:0"

[log]
level = "info"

[sync]
full_diff_interval_ms = 5000
expire_holds_interval_ms = 1000
retry_base_ms = 100
retry_max_ms = 2000
$1
TOML
}

start_worker() {
  "$WORKER" --config "$WORK/worker.toml" >>"$WORK/worker.log" 2>&1 &
  WORKER_PID=$!
  PIDS+=($WORKER_PID)
}

# wait_until SECONDS CMD...: polls CMD until it succeeds.
wait_until() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  while ((SECONDS < end)); do "$@" && return 0; sleep 0.2; done
  return 1
}

# sim_shown CHANNEL LISTING: the quantity the simulator's channel shows.
sim_shown() {
  curl -sf "$SIM_URL/_sim/channels/$1" | python3 -c "
import json,sys
ch=json.load(sys.stdin)
for l in ch.get('listings',[]):
    if l.get('id')==sys.argv[1]: print(l.get('shown')); break
else: print('none')" "$2"
}

# webhook_setup N_SKUS CHANNELS...: items, webhook channels and listings, a
# scenario with one consumer per channel, and the worker config.
webhook_setup() {
  local nskus=$1; shift
  {
    echo "[sim]"; echo "seed = 1"; echo "time_scale = 1.0"
    for c in "$@"; do printf '[[channels]]\nname = "%s"\nkind = "webhook"\nsecret = "%s"\n' "$c" "$E2E_WHSEC"; done
  } >"$WORK/scenario.toml"
  start_sim "$WORK/scenario.toml"
  local chans="" c
  sql "INSERT INTO stocksync.item (sku) SELECT 'SKU-' || g FROM generate_series(1, $nskus) g" >/dev/null
  for c in "$@"; do
    sql "INSERT INTO stocksync.channel (code, kind) VALUES ('$c', 'webhook');
         INSERT INTO stocksync.listing (channel, external_id, sku) SELECT '$c', 'SKU-' || g, 'SKU-' || g FROM generate_series(1, $nskus) g" >/dev/null
    chans+="
[channels.$c]
kind = \"webhook\"
base_url = \"$SIM_URL/hooks/$c\"
[channels.$c.credentials]
secret_env = \"E2E_WHSEC\""
  done
  sql "SELECT stocksync.receive('SKU-' || g, 1000) FROM generate_series(1, $nskus) g" >/dev/null
  write_config "$chans"
}
export E2E_WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# converged CHANNELS...: every listing acknowledged at its desired quantity
# and every simulator consumer showing the ledger's quantity.
converged() {
  [[ $(sql "SELECT count(*) FROM stocksync.sync_status WHERE NOT in_sync OR state <> 'acked'") == 0 ]] || return 1
  local c want
  want=$(sql "SELECT string_agg(external_id || '=' || desired_qty, ' ' ORDER BY external_id) FROM stocksync.listing_target WHERE channel = '$1'")
  for c in "$@"; do
    [[ $(curl -sf "$SIM_URL/_sim/channels/$c" | python3 -c "
import json,sys
ch=json.load(sys.stdin)
print(' '.join(sorted(f\"{l['id']}={l['shown']}\" for l in ch.get('listings',[]))))") == "$(tr ' ' '\n' <<<"$want" | sort | tr '\n' ' ' | sed 's/ $//')" ]] || return 1
  done
}

# changes N: N single-statement transactions (receive/adjust on random SKUs).
changes() {
  python3 - "$1" "$2" 2>/dev/null <<'PY' | psql -qX -d "$DB" >/dev/null 2>>"$WORK/changes.log"
import random, sys
n, nskus = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(7)
for i in range(n):
    s = r.randint(1, nskus)
    if r.random() < 0.5:
        print(f"SELECT stocksync.receive('SKU-{s}', {r.randint(1, 3)});")
    else:
        print(f"SELECT stocksync.adjust('SKU-{s}', -{r.randint(1, 3)}, 'e2e');")
PY
}
