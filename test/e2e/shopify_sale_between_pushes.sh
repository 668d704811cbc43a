#!/usr/bin/env bash
# A sale on Shopify that the ledger has not seen is never erased: the worker
# pushes 20 to a simulated Shopify shop and gets it acknowledged; a buyer
# takes 3 on Shopify (20 -> 17, no webhook: the ledger does not know); a
# receive of +5 makes the worker push again. Its compare-and-set
# (changeFromQuantity 20) is refused as CHANGE_FROM_QUANTITY_STALE, the
# adapter reads back 17, and the core holds the increase (sync/core.hpp,
# decide(): no increase computed from inputs older than the refused push).
# No push may ever set more than 25 - 3 = 22 after the sale. Once the order
# is reserved in the ledger, the channel converges to the ledger's 22.
. "$(dirname "$0")/lib.sh"
setup_db
export E2E_SHOPIFY_TOKEN=shpat_e2e_$$
cat >"$WORK/scenario.toml" <<TOML
[sim]
seed = 1
time_scale = 1.0
[[channels]]
name = "shop"
kind = "shopify"
access_token = "$E2E_SHOPIFY_TOKEN"
  [[channels.listings]]
  id = "30322695"
  sku = "SKU-1"
  quantity = 0
TOML
start_sim "$WORK/scenario.toml"
sql "INSERT INTO stocksync.item (sku) VALUES ('SKU-1');
     INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', '30322695', 'SKU-1');
     SELECT stocksync.receive('SKU-1', 20);" >/dev/null
write_config "stale_hold_ms = 60000

[channels.shop]
kind = \"shopify\"
base_url = \"$SIM_URL/shopify/shop\"
[channels.shop.credentials]
access_token_env = \"E2E_SHOPIFY_TOKEN\"
[channels.shop.options]
location_id = \"124656943\""
start_worker

state_is() { [[ $(sql "SELECT state || ':' || coalesce(acked_qty::text, '-') FROM stocksync.sync_status WHERE channel = 'shop'") == "$1" ]]; }
shows() { [[ $(sim_shown shop 30322695) == "$1" ]]; }
wait_until 20 shows 20 || fail "Shopify never showed 20 (start-up push): shows $(sim_shown shop 30322695)"
wait_until 5 state_is acked:20 || fail "the push of 20 was not acknowledged: $(sql 'SELECT * FROM stocksync.sync_status')"
log "Shopify shows 20, acknowledged; a buyer takes 3 on Shopify"

order=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"listing": "30322695", "quantity": 3}' \
  "$SIM_URL/_sim/channels/shop/orders") || fail "the simulator refused the order"
order_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$order")
shows 17 || fail "the sale did not lower Shopify to 17: $(sim_shown shop 30322695)"
sale_t=$(curl -sf "$SIM_URL/_sim/channels/shop" | python3 -c '
import json,sys
for l in json.load(sys.stdin)["listings"]:
    if l["id"] == "30322695": print(max(h["at_s"] for h in l["history"] if h["cause"] == "order"))')

log "receive +5 in the ledger (desired 25, the sale still unknown to it)"
sql "SELECT stocksync.receive('SKU-1', 5)" >/dev/null
stale_seen() { sql "SELECT last_error FROM stocksync.sync_status WHERE channel = 'shop'" | grep -q '^stale: channel showed 17'; }
wait_until 10 stale_seen || fail "the worker did not meet the stale compare-and-set: $(sql 'SELECT * FROM stocksync.sync_status')"
sleep 2  # the hold must last: a full diff or a retry would push here if it did not
shows 17 || fail "a push changed Shopify while the sale was not in the ledger: shows $(sim_shown shop 30322695)"

log "the order reaches the ledger: reserve 3 for $order_id"
sql "SELECT stocksync.reserve('shop', '$order_id', 'SKU-1', 3)" >/dev/null
wait_until 10 shows 22 || fail "Shopify did not converge to 22: shows $(sim_shown shop 30322695)"
wait_until 5 state_is acked:22 || fail "not acknowledged at 22: $(sql 'SELECT * FROM stocksync.sync_status')"

# The history: after the sale, no push ever set more than 22 (that would erase it).
curl -sf "$SIM_URL/_sim/channels/shop" | python3 -c '
import json,sys
sale_t = float(sys.argv[1])
for l in json.load(sys.stdin)["listings"]:
    if l["id"] != "30322695": continue
    pushes = [h for h in l["history"] if h["cause"] == "push"]
    after = [h["quantity"] for h in pushes if h["at_s"] >= sale_t]
    print("pushes:", [(h["at_s"], h["quantity"]) for h in pushes], file=sys.stderr)
    assert after and max(after) <= 22, f"a push after the sale erased it: {after}"
    assert after[-1] == 22, f"last push {after[-1]}, want 22"
' "$sale_t" 2>>"$WORK/history.log" || fail "push history: $(cat "$WORK/history.log")"
log "$(cat "$WORK/history.log")"
grep -q "$E2E_SHOPIFY_TOKEN" "$WORK/worker.log" && fail "the access token reached the log"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
