#!/usr/bin/env bash
# An eBay order seen only by polling reserves stock and reaches the other
# channels: a buyer takes 3 on the simulated eBay (no webhook exists); the
# worker's poll (Fulfillment getOrders, lastmodifieddate filter) reserves and
# commits it with on_shortage => 'record', and the ERP consumer then shows
# 20 - 3. An order for a listing stocksync does not know is kept in
# unmatched_order (view, metric) and reserved once the listing exists; a
# cancellation on eBay releases the order. Each order is reserved exactly once.
. "$(dirname "$0")/lib.sh"
setup_db
{
  printf '[sim]\nseed = 1\ntime_scale = 1.0\n'
  ebay_scenario eb SKU-1 SKU-X
  erp_scenario
} >"$WORK/scenario.toml"
start_sim "$WORK/scenario.toml"
sql "INSERT INTO stocksync.item (sku) VALUES ('SKU-1');
     INSERT INTO stocksync.channel (code, kind) VALUES ('eb', 'ebay'), ('erp', 'webhook');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('eb', 'SKU-1', 'SKU-1'), ('erp', 'SKU-1', 'SKU-1');
     SELECT stocksync.receive('SKU-1', 20);" >/dev/null
write_config "
[polling]
interval_ms = 500
$(ebay_channel_config eb)
$(erp_channel_config)"
start_worker
wait_until 20 both_show eb SKU-1 20 || fail "eBay and the ERP never showed 20: eb $(sim_shown eb SKU-1), erp $(sim_shown erp SKU-1)"

log "a buyer takes 3 on eBay (seen only by polling)"
order=$(sim_order eb SKU-1 3) || fail "the simulator refused the eBay order"
[[ $(sim_shown eb SKU-1) == 17 ]] || fail "the sale did not lower eBay to 17"
reserved() { [[ $(sql "SELECT state FROM stocksync.reservation WHERE channel = 'eb' AND order_ref = '$order'") == committed ]]; }
wait_until 15 reserved || fail "the polled eBay order $order was not reserved and committed: $(sql 'SELECT * FROM stocksync.reservation')"
wait_until 10 both_show eb SKU-1 17 || fail "the polled order did not reach the ERP: erp $(sim_shown erp SKU-1), eb $(sim_shown eb SKU-1)"
log "order $order reserved from the poll; the ERP shows 17"

log "an order for a listing stocksync does not know"
sim_post channels/eb/listings/SKU-X '{"quantity": 5, "silent": true}'
unknown=$(sim_order eb SKU-X 1) || fail "the simulator refused the order for SKU-X"
kept() { [[ $(sql "SELECT unknown_listings::text FROM stocksync.unmatched_orders WHERE channel = 'eb' AND order_ref = '$unknown'") == '{SKU-X}' ]]; }
wait_until 15 kept || fail "the order for an unknown listing was not kept: $(sql 'SELECT * FROM stocksync.unmatched_order')"
metric_one() { [[ $(worker_metric stocksync_unmatched_orders 'channel="eb"') == 1 ]]; }
wait_until 5 metric_one || fail "stocksync_unmatched_orders is not 1: $(worker_metric stocksync_unmatched_orders 'channel="eb"')"
sql "INSERT INTO stocksync.item (sku) VALUES ('SKU-X');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('eb', 'SKU-X', 'SKU-X');" >/dev/null
late() { [[ $(sql "SELECT state FROM stocksync.reservation WHERE channel = 'eb' AND order_ref = '$unknown'") == committed ]]; }
wait_until 15 late || fail "the kept order was not reserved once its listing existed"
[[ $(sql "SELECT count(*) FROM stocksync.unmatched_orders") == 0 ]] || fail "the applied order is still reported unmatched"
[[ $(sql "SELECT shortage FROM stocksync.reservation_line WHERE order_ref = '$unknown'") == 1 ]] ||
  fail "the order for SKU-X (no stock) was not recorded with its shortage: $(sql "SELECT * FROM stocksync.reservation_line WHERE order_ref = '$unknown'")"
log "the kept order was reserved (shortage recorded) once its listing existed"

log "the buyer cancels on eBay"
curl -sf -X POST "$SIM_URL/_sim/channels/eb/orders/$order/cancel" >/dev/null || fail "cancel refused"
released() { [[ $(sql "SELECT state FROM stocksync.reservation WHERE channel = 'eb' AND order_ref = '$order'") == released ]]; }
wait_until 15 released || fail "the cancellation was not applied"
wait_until 10 both_show eb SKU-1 20 || fail "the release did not reach the channels: erp $(sim_shown erp SKU-1), eb $(sim_shown eb SKU-1)"

# Many rounds read the same orders again (the overlap): each is held once.
rounds=$(worker_metric stocksync_poll_rounds_total 'channel="eb"')
((rounds >= 5)) || fail "too few poll rounds to show the overlap: $rounds"
[[ $(sql "SELECT count(*) FROM stocksync.ledger WHERE kind = 'RESERVE' AND reservation_id IN (SELECT id FROM stocksync.reservation WHERE channel = 'eb')") == 2 ]] ||
  fail "RESERVE rows are not one per order: $(sql "SELECT kind, sku, qty, reference FROM stocksync.ledger ORDER BY id")"
[[ $(sql "SELECT on_hand - reserved - committed FROM stocksync.stock WHERE sku = 'SKU-1'") == 20 ]] || fail "SKU-1 is not back at 20 available"
[[ $(sql "SELECT polled_through > now() - interval '1 minute' FROM stocksync.order_poll_cursor WHERE channel = 'eb'") == t ]] ||
  fail "the cursor did not advance: $(sql 'SELECT * FROM stocksync.order_poll_cursor')"
log "$rounds poll rounds; one RESERVE per order"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
