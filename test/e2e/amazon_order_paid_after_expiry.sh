#!/usr/bin/env bash
# An Amazon order seen only by polling is held while Pending; its soft hold
# expires (here forced, standing in for polling.open_order_ttl_s passing), and
# then Amazon shows it Unshipped (paid). The sale stands on the channel but
# its units went back to stock: the worker keeps the order in
# stocksync.unmatched_orders for the operator, as a webhook delivery keeps it
# (paid_after_expiry), instead of skipping it in silence; nothing is held again.
. "$(dirname "$0")/lib.sh"
setup_db
cat >"$WORK/scenario.toml" <<TOML
[sim]
seed = 1
time_scale = 1.0
$(amazon_polled_scenario amz 8)
TOML
start_sim "$WORK/scenario.toml"
sql "INSERT INTO stocksync.item (sku) VALUES ('SKU-1');
     INSERT INTO stocksync.channel (code, kind) VALUES ('amz', 'amazon');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('amz', 'SKU-1', 'SKU-1');
     SELECT stocksync.receive('SKU-1', 20);" >/dev/null
write_config "
[polling]
interval_ms = 1000
$(amazon_channel_config amz)"
start_worker
wait_until 20 eval '[[ $(sim_shown amz SKU-1) == 20 ]]' || fail "Amazon never showed 20"

log "a buyer takes 2 on Amazon (Pending for 8 s)"
order=$(sim_order amz SKU-1 2) || fail "the simulator refused the Amazon order"
state() { [[ $(sql "SELECT state FROM stocksync.reservation WHERE channel = 'amz' AND order_ref = '$order'") == "$1" ]]; }
wait_until 6 state reserved || fail "the Pending order was not held: $(sql 'SELECT * FROM stocksync.reservation')"
sql "UPDATE stocksync.reservation SET expires_at = now() WHERE order_ref = '$order';
     SELECT stocksync.expire_holds();" >/dev/null
state expired || fail "the hold did not expire"
log "order $order held while Pending, its hold expired before payment"

kept() { [[ $(sql "SELECT status || ':' || problem FROM stocksync.unmatched_orders WHERE channel = 'amz' AND order_ref = '$order'") == "paid:paid after its hold expired" ]]; }
wait_until 20 kept || fail "the order paid after expiry was not kept: $(sql 'SELECT * FROM stocksync.unmatched_order')"
state expired || fail "the expired order changed state: $(sql "SELECT state FROM stocksync.reservation WHERE order_ref = '$order'")"
[[ $(sql "SELECT count(*) FROM stocksync.ledger l JOIN stocksync.reservation r ON r.id = l.reservation_id
           WHERE r.order_ref = '$order' AND l.kind IN ('RESERVE', 'COMMIT')") == 1 ]] ||
  fail "the order was held again or committed after its expiry"
[[ $(sql "SELECT available FROM stocksync.stock WHERE sku = 'SKU-1'") == 20 ]] || fail "units held after the expiry"
log "kept in stocksync.unmatched_orders ($(sql "SELECT times_seen FROM stocksync.unmatched_order WHERE order_ref = '$order'") rounds), nothing held again"
log PASS
