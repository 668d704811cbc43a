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

# ---------------------------------------------------------------------------
# Helpers for the fault, shadow, slot and WAL tests (additions only).

# config_set SECTION KEY VALUE: sets KEY (a TOML value, quoted by the caller
# when it is a string) in [SECTION] of $WORK/worker.toml, replacing it when
# present and adding the section when missing. Call after write_config.
config_set() {
  python3 - "$WORK/worker.toml" "$1" "$2" "$3" <<'PY'
import re, sys
path, section, key, value = sys.argv[1:]
lines = open(path).read().split("\n")
head = "[" + section + "]"
out, in_sec, done, seen = [], False, False, False
for ln in lines:
    s = ln.strip()
    if s.startswith("["):
        if in_sec and not done:
            out.append(f"{key} = {value}"); done = True
        in_sec = s == head
        seen = seen or in_sec
    elif in_sec and not done and re.match(rf"{re.escape(key)}\s*=", s):
        out.append(f"{key} = {value}"); done = True
        continue
    out.append(ln)
if in_sec and not done:
    out.append(f"{key} = {value}"); done = True
if not seen:
    out += [head, f"{key} = {value}"]
open(path, "w").write("\n".join(out) + "\n")
PY
}

# metrics_url: the worker's /metrics URL, from its latest start-up line.
metrics_url() {
  local u
  u=$(grep -o 'metrics on http://[0-9.:]*/metrics' "$WORK/worker.log" 2>/dev/null | tail -n 1 | cut -d' ' -f3)
  [[ -n $u ]] || return 1
  echo "$u"
}

# worker_metric NAME [LABELS]: the value of one sample of the worker's
# /metrics (e.g. worker_metric stocksync_dead_total 'channel="amz"'); 'none'
# when absent.
worker_metric() {
  local url
  url=$(metrics_url) || { echo none; return 0; }
  curl -sf "$url" | python3 -c "
import sys
name, labels = sys.argv[1], sys.argv[2]
want = name + ('{' + labels + '}' if labels else '')
for ln in sys.stdin:
    if ln.startswith('#'): continue
    k, _, v = ln.rstrip('\n').rpartition(' ')
    if k == want: print(int(float(v)) if float(v).is_integer() else v); break
else: print('none')" "$1" "${2:-}"
}

# sim_post PATH JSON: a control call to the simulator (PATH below /_sim/).
sim_post() {
  curl -sf -X POST -H 'Content-Type: application/json' -d "$2" "$SIM_URL/_sim/$1" >/dev/null ||
    fail "simulator control call $1 $2 failed"
}

# sim_stat CHANNEL EXPR: evaluates the Python expression EXPR over the
# channel's part of /_sim/state, bound to `c` (e.g. "c['throttled']",
# "sum(c['statuses'].values())").
sim_stat() {
  curl -sf "$SIM_URL/_sim/channels/$1" | python3 -c "
import json, sys
c = json.load(sys.stdin)
print(eval(sys.argv[1]))" "$2"
}

# sim_requests CHANNEL: every request the channel answered (any status) plus
# the ones it never answered (injected timeouts).
sim_requests() { sim_stat "$1" "sum(c.get('statuses', {}).values()) + c.get('timeouts', 0)"; }

# converged_only CHANNELS...: like converged, but only for the channels named
# (each against its own listing_target), so that other channels may be dead,
# shadowed or down meanwhile.
converged_only() {
  local c want
  for c in "$@"; do
    [[ $(sql "SELECT count(*) FROM stocksync.sync_status WHERE channel = '$c' AND (NOT in_sync OR state <> 'acked')") == 0 ]] || return 1
    want=$(sql "SELECT string_agg(external_id || '=' || desired_qty, ' ') FROM stocksync.listing_target WHERE channel = '$c'")
    curl -sf "$SIM_URL/_sim/channels/$c" | python3 -c "
import json, sys
ch = json.load(sys.stdin)
want = dict(kv.split('=', 1) for kv in sys.argv[1].split())
got = {l['id']: str(l['shown']) for l in ch.get('listings', [])}
sys.exit(0 if got == want else 1)" "$want" || return 1
  done
}

# amazon_scenario NAME N_SKUS [EXTRA_TOML]: a scenario fragment for a
# simulated Amazon seller with listings SKU-1..N (quantity 0), applying
# PATCHes at once (no processing delay); EXTRA_TOML goes after the listings
# (e.g. a [channels.faults] table).
amazon_scenario() {
  local name=$1 n=$2 i
  printf '[[channels]]\nname = "%s"\nkind = "amazon"\nprocessing_delay_min_s = 0\nprocessing_delay_max_s = 0\n' "$name"
  for ((i = 1; i <= n; i++)); do
    printf '  [[channels.listings]]\n  id = "SKU-%d"\n  sku = "SKU-%d"\n  quantity = 0\n' "$i" "$i"
  done
  [[ -n ${3:-} ]] && printf '%s\n' "$3"
  return 0
}

# amazon_polled_scenario NAME PENDING_S: the simulator's [[channels]] for an
# Amazon seller with listing SKU-1 (quantity 0) whose orders getOrders shows
# after 1 s (not Amazon's 2 minutes) and that stay Pending (unpaid) for
# PENDING_S seconds before they turn Unshipped.
amazon_polled_scenario() {
  printf '[[channels]]\nname = "%s"\nkind = "amazon"\nprocessing_delay_min_s = 0\nprocessing_delay_max_s = 0\n' "$1"
  printf 'orders_visibility_lag_s = 1\n  [[channels.listings]]\n  id = "SKU-1"\n  sku = "SKU-1"\n  quantity = 0\n'
  printf '  [channels.buyers]\n  pending_s = %s\n' "$2"
}

# amazon_channel_config NAME: the worker's [channels.NAME] for a simulated
# Amazon seller (the simulator's default LWA credentials and seller id).
amazon_channel_config() {
  cat <<TOML

[channels.$1]
kind = "amazon"
base_url = "$SIM_URL/amazon/$1"
[channels.$1.options]
seller_id = "A1B2C3D4E5"
auth_url = "$SIM_URL/amazon/$1/auth/o2/token"
[channels.$1.credentials]
client_id = "amzn1.application-oa2-client.sim"
client_secret = "sim-lwa-secret"
refresh_token = "Atzr|sim-refresh"
TOML
}

# slot_lag: "<bytes behind restart_lsn> <bytes behind confirmed_flush_lsn>"
# for this test's slot ("none" when it does not exist).
slot_lag() {
  local r
  r=$(psql -qXAt -F ' ' -d postgres -c "SELECT pg_current_wal_lsn() - restart_lsn, pg_current_wal_lsn() - confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '$SLOT'")
  echo "${r:-none}"
}

# steady_changes RATE SECONDS N_SKUS [SEED]: RATE single-statement
# transactions a second for SECONDS (receive/adjust, SKU-1..N round-robin, so
# that every SKU changes), paced in real time; run it in the background.
steady_changes() {
  python3 -u - "$1" "$2" "$3" "${4:-11}" 2>/dev/null <<'PY' | psql -qX -d "$DB" >/dev/null 2>>"$WORK/changes.log"
import random, sys, time
rate, secs, nskus, seed = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(seed)
start = time.monotonic()
i = 0
while True:
    due = start + i / rate
    now = time.monotonic()
    if due - start >= secs:
        break
    if due > now:
        time.sleep(due - now)
    s = i % nskus + 1
    if r.random() < 0.5:
        print(f"SELECT stocksync.receive('SKU-{s}', {r.randint(1, 3)});", flush=True)
    else:
        print(f"SELECT stocksync.adjust('SKU-{s}', -{r.randint(1, 3)}, 'e2e');", flush=True)
    i += 1
PY
}

# on_exit CMD: runs CMD (eval'd, errors ignored) when the test exits, before
# the usual cleanup (e.g. to reset a server setting the test changed).
E2E_EXIT_HOOKS=()
on_exit() {
  E2E_EXIT_HOOKS+=("$1")
  trap '__e2e_rc=$?; set +e; for __h in "${E2E_EXIT_HOOKS[@]}"; do eval "$__h" >/dev/null 2>&1; done; (exit $__e2e_rc); cleanup' EXIT
}

# count_log PATTERN: lines of the worker log matching the extended regex.
count_log() { grep -cE "$1" "$WORK/worker.log" 2>/dev/null || true; }

# ---------------------------------------------------------------------------
# Helpers for the polling and reconciliation tests (additions only).

# ebay_scenario NAME SKU...: a scenario fragment for a simulated eBay seller
# with one listing per SKU (its id is the SKU; quantity 0 until the worker
# pushes). eBay sends no order webhooks: its orders wait for polling.
ebay_scenario() {
  local name=$1 s; shift
  printf '[[channels]]\nname = "%s"\nkind = "ebay"\n' "$name"
  for s in "$@"; do
    printf '  [[channels.listings]]\n  id = "%s"\n  sku = "%s"\n  quantity = 0\n' "$s" "$s"
  done
}

# ebay_channel_config NAME: the worker's [channels.NAME] for a simulated eBay
# seller (the simulator's default OAuth client and refresh token).
ebay_channel_config() {
  cat <<TOML

[channels.$1]
kind = "ebay"
base_url = "$SIM_URL/ebay/$1"
[channels.$1.credentials]
client_id = "sim-ebay-app"
client_secret = "sim-ebay-secret"
refresh_token = "v^1.1#sim-refresh"
TOML
}

# sim_order CHANNEL LISTING QTY: a buyer orders on the channel; prints the
# channel's order id (eBay orderId, Amazon AmazonOrderId, else id).
sim_order() {
  curl -sf -X POST -H 'Content-Type: application/json' -d "{\"listing\": \"$2\", \"quantity\": $3}" \
    "$SIM_URL/_sim/channels/$1/orders" | python3 -c '
import json, sys
o = json.load(sys.stdin)
print(o.get("orderId") or o.get("AmazonOrderId") or o.get("id"))'
}

# ebay_setup QTY SKU...: a simulated eBay seller "eb" listing the SKUs
# (scenario written, simulator started), and in the database the items, the
# channel, its listings and QTY received of each SKU.
ebay_setup() {
  local qty=$1 s; shift
  { printf '[sim]\nseed = 1\ntime_scale = 1.0\n'; ebay_scenario eb "$@"; } >"$WORK/scenario.toml"
  start_sim "$WORK/scenario.toml"
  sql "INSERT INTO stocksync.channel (code, kind) VALUES ('eb', 'ebay')" >/dev/null
  for s in "$@"; do
    sql "INSERT INTO stocksync.item (sku) VALUES ('$s');
         INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('eb', '$s', '$s');
         SELECT stocksync.receive('$s', $qty);" >/dev/null
  done
}

# erp_scenario / erp_channel_config: a Standard Webhooks consumer "erp" in the
# scenario, and the worker's [channels.erp] pushing to it.
erp_scenario() { printf '[[channels]]\nname = "erp"\nkind = "webhook"\nsecret = "%s"\n' "$E2E_WHSEC"; }
erp_channel_config() {
  printf '\n[channels.erp]\nkind = "webhook"\nbase_url = "%s/hooks/erp"\n[channels.erp.credentials]\nsecret_env = "E2E_WHSEC"\n' "$SIM_URL"
}

# both_show CHANNEL LISTING QTY: the channel and the ERP consumer both show QTY.
both_show() { [[ $(sim_shown "$1" "$2") == "$3" && $(sim_shown erp "$2") == "$3" ]]; }

# auto_explain_on: every session of $DB started from now on logs each plan
# with its row and loop counts (log_analyze without timing) to the server log,
# $SERVER_LOG; test/e2e/worker_plans.py reads the worker's back. Needs the
# throwaway cluster's STOCKSYNC_CLUSTER (scripts/pgcluster env).
auto_explain_on() {
  : "${STOCKSYNC_CLUSTER:?STOCKSYNC_CLUSTER (scripts/pgcluster env): the server log is read}"
  SERVER_LOG=$STOCKSYNC_CLUSTER/server.log
  [[ -r $SERVER_LOG ]] || fail "cannot read the server log $SERVER_LOG"
  local setting
  for setting in "session_preload_libraries = 'auto_explain'" "auto_explain.log_min_duration = 0" \
    "auto_explain.log_analyze = on" "auto_explain.log_timing = off" "auto_explain.log_nested_statements = on"; do
    psql -qX -v ON_ERROR_STOP=1 -d postgres -c "ALTER DATABASE $DB SET $setting" >/dev/null
  done
}
