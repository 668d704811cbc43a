#!/usr/bin/env bash
# An Amazon order seen only by polling (SP-API Orders v0: getOrders with
# LastUpdatedAfter, then getOrderItems) is held while Pending (a soft hold),
# committed once Amazon shows it Unshipped (paid), and released when it is
# cancelled; the ERP consumer follows each step. The simulator applies
# Amazon's rules: LastUpdatedAfter at least two minutes back (here its
# visibility lag is 1 s), getOrders 0.0167/s burst 20 and getOrderItems
# 0.5/s burst 30 per seller; the worker's gates keep it from ever being
# throttled, and the cursor follows the LastUpdatedBefore Amazon reports.
. "$(dirname "$0")/lib.sh"
setup_db
cat >"$WORK/scenario.toml" <<TOML
[sim]
seed = 1
time_scale = 1.0
$(amazon_polled_scenario amz 4)
$(erp_scenario)
TOML
start_sim "$WORK/scenario.toml"
sql "INSERT INTO stocksync.item (sku) VALUES ('SKU-1');
     INSERT INTO stocksync.channel (code, kind) VALUES ('amz', 'amazon'), ('erp', 'webhook');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('amz', 'SKU-1', 'SKU-1'), ('erp', 'SKU-1', 'SKU-1');
     SELECT stocksync.receive('SKU-1', 20);" >/dev/null
write_config "
[polling]
interval_ms = 1000
$(amazon_channel_config amz)
$(erp_channel_config)"
start_worker
wait_until 20 both_show amz SKU-1 20 || fail "Amazon and the ERP never showed 20"

log "a buyer takes 2 on Amazon (Pending for 4 s)"
order=$(sim_order amz SKU-1 2) || fail "the simulator refused the Amazon order"
state() { [[ $(sql "SELECT state FROM stocksync.reservation WHERE channel = 'amz' AND order_ref = '$order'") == "$1" ]]; }
wait_until 15 state reserved || fail "the Pending order was not held: $(sql 'SELECT * FROM stocksync.reservation')"
[[ $(sql "SELECT expires_at > now() + interval '29 days' FROM stocksync.reservation WHERE order_ref = '$order'") == t ]] ||
  fail "the Pending order's hold does not last polling.open_order_ttl_s"
wait_until 10 eval '[[ $(sim_shown erp SKU-1) == 18 ]]' || fail "the hold did not reach the ERP"
wait_until 15 state committed || fail "the order was not committed once Unshipped"
log "order $order held while Pending, committed once Unshipped"

curl -sf -X POST "$SIM_URL/_sim/channels/amz/orders/$order/cancel" >/dev/null || fail "cancel refused"
wait_until 15 state released || fail "the cancellation was not applied"
wait_until 10 eval '[[ $(sim_shown erp SKU-1) == 20 ]]' || fail "the release did not reach the ERP"
[[ $(sim_stat amz "c['throttled']") == 0 ]] || fail "the worker was throttled by Amazon: $(sim_stat amz "c['throttled']")"
calls=$(sim_stat amz "c['calls'].get('getOrders', 0)")
((calls >= 5 && calls <= 20)) || fail "getOrders calls outside the burst of 20: $calls"
[[ $(sql "SELECT count(*) FROM stocksync.ledger l JOIN stocksync.reservation r ON r.id = l.reservation_id WHERE r.order_ref = '$order' AND l.kind = 'RESERVE'") == 1 ]] ||
  fail "the order was reserved more than once"
[[ $(sql "SELECT polled_through < now() FROM stocksync.order_poll_cursor WHERE channel = 'amz'") == t ]] || fail "no cursor"
log "$calls getOrders calls, none throttled"
log PASS
