#!/usr/bin/env bash
# Reconciliation on a compare-and-set channel: a simulated Shopify shop shows
# 20 (acknowledged); someone sets it to 17 in the Shopify admin (silent: no
# webhook). One reconciliation reads the level through GraphQL, finds drift
# -3 and corrects it: the listing goes back to pending with 17 as its
# acknowledged quantity, so the core pushes 20 with changeFromQuantity 17
# and Shopify accepts it at once (no CHANGE_FROM_QUANTITY_STALE: with the old
# acknowledged 20 as the base it would refuse, and the stale hold would keep
# the listing at 17 for sync.stale_hold_ms).
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

[reconcile]
settle_ms = 200

[channels.shop]
kind = \"shopify\"
base_url = \"$SIM_URL/shopify/shop\"
[channels.shop.credentials]
access_token_env = \"E2E_SHOPIFY_TOKEN\"
[channels.shop.options]
location_id = \"124656943\""
start_worker
shows() { [[ $(sim_shown shop 30322695) == "$1" ]]; }
wait_until 20 shows 20 || fail "Shopify never showed 20"
wait_until 5 converged_only shop || fail "the push was not acknowledged"
sleep 0.5

log "a silent edit in the Shopify admin: 20 -> 17"
sim_post channels/shop/listings/30322695 '{"quantity": 17, "silent": true}'
out=$("$WORKER" --config "$WORK/worker.toml" --reconcile shop --wait 30) || fail "--reconcile failed: $out"
log "$out"
grep -q ': 1 listings, 0 agree, 1 corrected, 0 escalated' <<<"$out" || fail "unexpected run: $out"
wait_until 10 shows 20 || fail "the correction did not reach Shopify: $(sim_shown shop 30322695)"
[[ $(worker_metric stocksync_stale_total 'channel="shop"') == 0 ]] ||
  fail "the correction was refused as stale: its compare-and-set base was not the shown quantity"
wait_until 5 converged_only shop || fail "not acknowledged at 20 after the correction: $(sql 'SELECT * FROM stocksync.sync_status')"
[[ $(sql "SELECT shown_qty || ':' || acked_qty || ':' || action FROM stocksync.drift") == 17:20:corrected ]] ||
  fail "drift row: $(sql 'SELECT * FROM stocksync.drift')"
log PASS
