#!/usr/bin/env bash
# A 2xx only after the commit, across a crash: signed orders stream into the
# webhook server, the worker is SIGKILLed mid-stream and restarted, and the
# same deliveries are sent again. Every order answered 200 before the kill is
# in the database; none is reserved twice; the replays are duplicates.
. "$(dirname "$0")/lib.sh"
LOADGEN=${STOCKSYNC_LOADGEN:-$ROOT/build/bench/webhooks/webhook_loadgen}
[[ -x $LOADGEN ]] || fail "load generator missing: $LOADGEN (make cpp)"
setup_db
WPORT=$("$ROOT/scripts/free-port")
sql "INSERT INTO stocksync.item (sku) SELECT 'SKU-' || g FROM generate_series(1, 20) g;
     INSERT INTO stocksync.channel (code, kind, mode) VALUES ('shop', 'shopify', 'paused');
     INSERT INTO stocksync.listing (channel, external_id, sku) SELECT 'shop', 'item-' || g, 'SKU-' || g FROM generate_series(1, 20) g;
     SELECT stocksync.receive('SKU-' || g, 100000) FROM generate_series(1, 20) g" >/dev/null
write_config "
[channels.shop]
kind = \"shopify\"
base_url = \"http://127.0.0.1:9\"
[channels.shop.credentials]
access_token = \"unused\"
webhook_secret = \"hush\"
[channels.shop.options]
shop_domain = \"shop.myshopify.com\"
[webhooks]
listen = \"127.0.0.1:$WPORT\"
"
start_worker
wait_until 20 grep -q "webhooks on" "$WORK/worker.log" || fail "webhook server did not start"

# 4 connections of new signed orders (ids k0-<n>) for 3 s; SIGKILL after 1.5 s.
"$LOADGEN" http 127.0.0.1 "$WPORT" /webhooks/shopify/shop hush 4 3 20 k0- 1 >"$WORK/load1.out" 2>&1 &
load=$!
sleep 1.5
kill -9 "$WORKER_PID"
wait "$load" || true
read -r answered _ _ _ <"$WORK/load1.out"
log "answered 200 before the kill: $answered"
((answered > 0)) || fail "no webhook was answered before the kill"
receipts=$(sql "SELECT count(*) FROM stocksync.webhook_receipt")
((receipts >= answered)) || fail "$answered answered 200 but only $receipts committed"
expect_once() {
  [[ $(sql "SELECT count(*) FROM stocksync.reservation WHERE order_ref LIKE 'k0-%'") == "$receipts" ]] ||
    fail "reservations and receipts differ"
  [[ $(sql "SELECT count(*) FROM (SELECT l.reservation_id FROM stocksync.ledger l JOIN stocksync.reservation r ON r.id = l.reservation_id
                                   WHERE l.kind = 'RESERVE' GROUP BY 1 HAVING count(*) > 1) d") == 0 ]] || fail "an order was reserved twice"
}
expect_once

# Restart and send the same orders again (the load generator numbers them the
# same way): whatever committed is a duplicate, whatever did not is applied.
start_worker
wait_until 20 eval "[[ \$(grep -c 'webhooks on' '$WORK/worker.log') -ge 2 ]]" || fail "worker did not restart"
"$LOADGEN" http 127.0.0.1 "$WPORT" /webhooks/shopify/shop hush 4 1 20 k0- 1 >"$WORK/load2.out" 2>&1 || fail "replay load failed"
receipts=$(sql "SELECT count(*) FROM stocksync.webhook_receipt")
expect_once
dups=$(worker_metric stocksync_webhooks_rejected_total 'source="shop",reason="replayed"')
[[ $dups != none && $dups -ge 1 ]] || fail "the replays after the restart were not answered as duplicates ($dups)"
[[ $(sql 'SELECT count(*) FROM stocksync.verify_ledger()') == 0 ]] || fail "ledger and projection differ"
log "after the restart $dups deliveries were duplicates of committed orders; every order reserved once"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
