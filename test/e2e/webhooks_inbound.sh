#!/usr/bin/env bash
# Inbound webhooks end to end: the simulator's signed Shopify and WooCommerce
# order webhooks reach the worker's webhook server and become reservations,
# cancellations release them, an order for an unknown listing is kept and
# reported; forged, missing-signature, stale, oversized, malformed and
# replayed deliveries are rejected with nothing written; the same order
# delivered three times at once reserves once; a cancellation before its
# order (in sequence and racing it) leaves nothing held; an ERP's
# stock.updated sets on_hand once per version.
. "$(dirname "$0")/lib.sh"
setup_db
WPORT=$("$ROOT/scripts/free-port")
HOOKS=http://127.0.0.1:$WPORT/webhooks

cat >"$WORK/scenario.toml" <<TOML
[sim]
seed = 7
time_scale = 1.0
[[channels]]
name = "shop"
kind = "shopify"
client_secret = "hush"
webhook_url = "$HOOKS/shopify/shop"
  [[channels.listings]]
  id = "30322695"
  variant_id = "39072856"
  sku = "SKU-1"
  quantity = 20
  [[channels.listings]]
  id = "30322699"
  variant_id = "39072899"
  sku = "SKU-9"
  quantity = 5
[[channels]]
name = "woo"
kind = "woocommerce"
webhook_secret = "wc&amp;hush"  # signed with wc&hush, as WooCommerce decodes it
webhook_url = "$HOOKS/woocommerce/woo"
webhook_topics = ["order.created", "order.updated"]
  [[channels.listings]]
  id = "799"
  sku = "SKU-1"
  quantity = 20
TOML
start_sim "$WORK/scenario.toml"

# stocksync knows SKU-1 and SKU-2 and the listings for SKU-1; SKU-9 (sold on
# the simulated shop) has no listing.
sql "INSERT INTO stocksync.item (sku) VALUES ('SKU-1'), ('SKU-2');
     INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('woo', 'woocommerce');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', '30322695', 'SKU-1'), ('woo', '799', 'SKU-1');
     SELECT stocksync.receive('SKU-1', 100); SELECT stocksync.receive('SKU-2', 10);" >/dev/null
write_config "
[channels.shop]
kind = \"shopify\"
base_url = \"$SIM_URL/shopify/shop\"
[channels.shop.credentials]
access_token = \"shpat_sim\"
webhook_secret = \"hush\"
[channels.shop.options]
location_id = \"124656943\"
shop_domain = \"shop.myshopify.com\"

[channels.woo]
kind = \"woocommerce\"
base_url = \"$SIM_URL/woo/woo\"
[channels.woo.credentials]
consumer_key = \"ck_sim\"
consumer_secret = \"cs_sim\"
webhook_secret = \"wc&amp;hush\"

[webhooks]
listen = \"127.0.0.1:$WPORT\"
db_connections = 2
max_body_bytes = 65536
report_interval_s = 1
[webhooks.sources.erp]
secret_env = \"E2E_WHSEC\"
"
start_worker
wait_until 20 grep -q "webhooks on http://127.0.0.1:$WPORT" "$WORK/worker.log" || fail "webhook server did not start"

# ---- helpers: signed deliveries from this script (curl + openssl) ----
b64hmac() { openssl dgst -sha256 -hmac "$1" -binary | base64 -w0; }
# shopify TOPIC EVENT_ID BODY [HMAC [SHOP]]: posts a Shopify delivery, prints the status.
shopify() {
  local hmac=${4:-$(printf '%s' "$3" | b64hmac hush)}
  curl -s -o "$WORK/resp.$2.$RANDOM" -w '%{http_code}' -X POST "$HOOKS/shopify/shop" \
    -H 'Content-Type: application/json' -H "X-Shopify-Topic: $1" -H "X-Shopify-Hmac-Sha256: $hmac" \
    -H "X-Shopify-Shop-Domain: ${5:-shop.myshopify.com}" \
    -H "X-Shopify-Event-Id: $2" -H "X-Shopify-Webhook-Id: $RANDOM$RANDOM" \
    -H "X-Shopify-Triggered-At: $(date -u +%Y-%m-%dT%H:%M:%SZ)" --data-binary "$3"
}
WHKEY_HEX=$(printf '%s' "${E2E_WHSEC#whsec_}" | base64 -d | xxd -p | tr -d '\n')
# standard ID TIMESTAMP BODY: posts a Standard Webhooks delivery to source erp.
standard() {
  local sig
  sig=$(printf '%s.%s.%s' "$1" "$2" "$3" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$WHKEY_HEX" -binary | base64 -w0)
  curl -s -o "$WORK/resp.std" -w '%{http_code}' -X POST "$HOOKS/standard/erp" -H 'Content-Type: application/json' \
    -H "webhook-id: $1" -H "webhook-timestamp: $2" -H "webhook-signature: v1,$sig" --data-binary "$3"
}
order_body() { printf '{"id":%s,"financial_status":"paid","line_items":[{"id":1,"variant_id":%s,"sku":"%s","quantity":%s}]}' "$@"; }
# Everything a webhook could write, as one line.
written() {
  sql "SELECT (SELECT count(*) FROM stocksync.ledger) || ' ' || (SELECT count(*) FROM stocksync.reservation) || ' ' ||
              (SELECT count(*) FROM stocksync.webhook_receipt) || ' ' || (SELECT count(*) FROM stocksync.inbound_exception) || ' ' ||
              (SELECT count(*) FROM stocksync.order_tombstone) || ' ' || (SELECT string_agg(sku || ':' || on_hand || '/' || committed || '/' || reserved, ',' ORDER BY sku) FROM stocksync.stock_level)"
}
expect() { [[ $1 == "$2" ]] || fail "$3: got $1, expected $2"; }
state_of() { sql "SELECT state FROM stocksync.reservation WHERE channel = '$1' AND order_ref = '$2'"; }
# is CMD VALUE: CMD's output equals VALUE (evaluated anew on every call, for wait_until).
is() { [[ $(eval "$1") == "$2" ]]; }

# ---- 1. the simulator's own signed order webhooks ----
oid=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"listing":"30322695","quantity":2}' \
  "$SIM_URL/_sim/channels/shop/orders" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') ||
  fail "simulator refused the Shopify order"
wait_until 10 is "state_of shop \"$oid\"" committed || fail "Shopify order $oid was not committed: $(state_of shop "$oid")"
log "Shopify orders/create from the simulator: order $oid committed"
woid=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"listing":"799","quantity":3}' \
  "$SIM_URL/_sim/channels/woo/orders" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') ||
  fail "simulator refused the WooCommerce order"
wait_until 10 is "state_of woo \"$woid\"" committed || fail "WooCommerce order $woid was not committed"
log "WooCommerce order.created from the simulator: order $woid committed"
curl -sf -X POST "$SIM_URL/_sim/channels/shop/orders/$oid/cancel" >/dev/null || fail "simulator cancel failed"
curl -sf -X POST "$SIM_URL/_sim/channels/woo/orders/$woid/cancel" >/dev/null || fail "simulator cancel failed"
wait_until 10 is "state_of shop \"$oid\"" released || fail "Shopify cancellation did not release order $oid"
wait_until 10 is "state_of woo \"$woid\"" released || fail "WooCommerce cancellation did not release order $woid"
log "orders/cancelled and order.updated (cancelled) released both"

# An order for a listing stocksync does not know: kept and reported.
uoid=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"listing":"30322699","quantity":1}' \
  "$SIM_URL/_sim/channels/shop/orders" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
wait_until 10 is "sql \"SELECT count(*) FROM stocksync.unmatched_order_line WHERE order_ref = '$uoid' AND channel_sku = 'SKU-9' AND qty = 1\"" 1 ||
  fail "the order for an unknown listing was not kept in unmatched_order_line"
expect "$(state_of shop "$uoid")" "" "an unknown listing reserved something"
wait_until 5 is "worker_metric stocksync_webhook_unmatched_orders_total 'source=\"shop\"'" 1 || fail "unmatched order not counted"
wait_until 10 is "worker_metric stocksync_unmatched_order_lines" 1 || fail "unmatched lines gauge not 1: $(worker_metric stocksync_unmatched_order_lines)"
log "order $uoid for the unknown listing kept in stocksync.unmatched_order_line and counted"
# The simulator saw 2xx for every delivery (none retried).
[[ $(sim_stat shop "c['webhooks']['failed_attempts']") == 0 ]] || fail "the simulator saw failed webhook deliveries"

# ---- 2. rejected deliveries: nothing written ----
expect "$(shopify orders/create ev-9001 "$(order_body 9001 39072856 SKU-1 1)")" 200 "a valid signed order"
before=$(written)
expect "$(shopify orders/create ev-9002 "$(order_body 9002 39072856 SKU-1 1)" "$(printf '%s' x | b64hmac hush)")" 401 "forged HMAC"
expect "$(shopify orders/create ev-9003 "$(order_body 9003 39072856 SKU-1 1)" "$(order_body 9003 39072856 SKU-1 1 | b64hmac not-the-secret)")" 401 "HMAC with another secret"
expect "$(shopify orders/create ev-9008 "$(order_body 9008 39072856 SKU-1 1)" "$(order_body 9008 39072856 SKU-1 1 | b64hmac hush)" other-shop.myshopify.com)" 401 "another shop of the same app"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$HOOKS/shopify/shop" -H 'X-Shopify-Topic: orders/create' \
  -H 'X-Shopify-Event-Id: ev-9004' --data-binary "$(order_body 9004 39072856 SKU-1 1)")
expect "$code" 401 "missing signature"
expect "$(standard msg_stale $(($(date +%s) - 400)) '{"type":"stock.updated","data":{"sku":"SKU-2","on_hand":1,"version":99}}')" 401 "stale timestamp"
expect "$(standard msg_future $(($(date +%s) + 400)) '{"type":"stock.updated","data":{"sku":"SKU-2","on_hand":1,"version":99}}')" 401 "future timestamp"
big=$(python3 -c 'print("{\"id\":9005,\"note\":\"" + "x" * 70000 + "\",\"line_items\":[]}")')
expect "$(shopify orders/create ev-9005 "$big")" 413 "oversized body"
expect "$(shopify orders/create ev-9006 '{"id":9006,"line_items":[{"quantity":1,')" 400 "malformed JSON"
expect "$(shopify orders/create ev-9007 '{"id":9007,"line_items":[{"quantity":"one"}]}')" 400 "invalid payload"
expect "$(shopify orders/create ev-9001 "$(order_body 9001 39072856 SKU-1 1)")" 200 "replayed event id"
grep -q '"status":"duplicate"' "$(ls -t "$WORK"/resp.ev-9001.* | head -n 1)" || fail "the replay was not answered as a duplicate"
now=$(date +%s)
expect "$(standard msg_erp_1 "$now" '{"type":"stock.updated","data":{"sku":"SKU-2","on_hand":10,"version":0}}')" 200 "ERP stock.updated"
before=$(written)
expect "$(standard msg_erp_1 "$((now + 1))" '{"type":"stock.updated","data":{"sku":"SKU-2","on_hand":10,"version":0}}')" 200 "replayed webhook-id"
expect "$(written)" "$before" "a rejected or replayed delivery wrote something"
for reason in bad_signature missing_signature wrong_shop stale too_large malformed_json invalid_payload replayed; do
  n=$(worker_metric stocksync_webhooks_rejected_total "source=\"$([[ $reason == stale ]] && echo erp || echo shop)\",reason=\"$reason\"")
  [[ $n != none && $n -ge 1 ]] || fail "rejection $reason not counted in /metrics ($n)"
done
[[ $(count_log 'rejected: 401 bad_signature') -ge 2 && $(count_log 'rejected: 413 too_large') -ge 1 && $(count_log 'rejected: 400 malformed_json') -ge 1 ]] ||
  fail "rejections not logged with their reasons"
log "forged, unsigned, another shop's, stale, oversized, malformed and replayed deliveries rejected; nothing written"

# ---- 2b. an order created unpaid is committed by its orders/paid ----
unpaid_body=$(order_body 9500 39072856 SKU-1 2 | sed 's/"financial_status":"paid"/"financial_status":"pending"/')
expect "$(shopify orders/create ev-9500 "$unpaid_body")" 200 "an unpaid order"
expect "$(state_of shop 9500)" reserved "an unpaid order's state"
expect "$(shopify orders/paid ev-p-9500 "$(order_body 9500 39072856 SKU-1 2)")" 200 "its payment"
expect "$(state_of shop 9500)" committed "the order's state after orders/paid"
expect "$(sql "SELECT count(*) FROM stocksync.ledger l JOIN stocksync.reservation r ON r.id = l.reservation_id WHERE r.order_ref = '9500' AND l.kind = 'RESERVE'")" 1 "RESERVE rows of order 9500"
log "an order created unpaid held soft, then committed by orders/paid"

# ---- 3. the same order three times at once reserves once ----
body=$(order_body 9100 39072856 SKU-1 3)
c0=$(sql "SELECT committed FROM stocksync.stock WHERE sku = 'SKU-1'")
jobs=()
for i in 1 2 3; do shopify orders/create ev-9100 "$body" >"$WORK/code.same.$i" & jobs+=($!); done
for i in 1 2 3; do shopify orders/create "ev-9100-sub$i" "$body" >"$WORK/code.other.$i" & jobs+=($!); done  # other subscriptions
wait "${jobs[@]}"  # not the worker's and the simulator's pids
for f in "$WORK"/code.same.* "$WORK"/code.other.*; do expect "$(cat "$f")" 200 "concurrent delivery $f"; done
expect "$(sql "SELECT count(*) FROM stocksync.reservation WHERE channel = 'shop' AND order_ref = '9100'")" 1 "reservations of order 9100"
expect "$(sql "SELECT count(*) FROM stocksync.ledger l JOIN stocksync.reservation r ON r.id = l.reservation_id WHERE r.order_ref = '9100' AND l.kind = 'RESERVE'")" 1 "RESERVE rows of order 9100"
expect "$(sql "SELECT committed FROM stocksync.stock WHERE sku = 'SKU-1'")" "$((c0 + 3))" "committed after three deliveries of 3 units"
log "the same order delivered six times at once (three with one event id, three with others) reserved once"

# ---- 3b. a burst waiting for the database is applied in groups ----
# A session holds the locks of orders 9400 and 9401, so their deliveries hold
# both database threads; the burst behind them queues and goes in groups (one
# transaction each) once they are free.
grouped0=$(worker_metric stocksync_webhooks_grouped_total 'source="shop"'); [[ $grouped0 == none ]] && grouped0=0
c0=$(sql "SELECT committed FROM stocksync.stock WHERE sku = 'SKU-1'")
sql "SELECT pg_advisory_xact_lock(1937010291, hashtext('shop' || E'\\x1f' || n)) FROM unnest('{9400,9401}'::text[]) n;
     SELECT pg_sleep(3)" >/dev/null & holder=$!
sleep 0.5
jobs=()
for n in 9400 9401; do
  shopify orders/create "ev-$n" "$(order_body "$n" 39072856 SKU-1 1)" >"$WORK/code.burst.$n" & jobs+=($!)
  sleep 0.3
done
for n in $(seq 9402 9430); do
  shopify orders/create "ev-$n" "$(order_body "$n" 39072856 SKU-1 1)" >"$WORK/code.burst.$n" & jobs+=($!)
  [[ $n == 9410 ]] && { shopify orders/create ev-9410 "$(order_body 9410 39072856 SKU-1 1)" >"$WORK/code.burst.9410b" & jobs+=($!); }
done
wait "${jobs[@]}" "$holder"
for f in "$WORK"/code.burst.*; do expect "$(cat "$f")" 200 "burst delivery $f"; done
expect "$(sql "SELECT count(*) FROM stocksync.reservation WHERE channel = 'shop' AND order_ref BETWEEN '9400' AND '9430' AND state = 'committed'")" 31 "orders of the burst committed"
expect "$(sql "SELECT committed FROM stocksync.stock WHERE sku = 'SKU-1'")" "$((c0 + 31))" "committed after the burst (ev-9410 twice)"
grouped=$(worker_metric stocksync_webhooks_grouped_total 'source="shop"')
[[ $grouped != none && $grouped -gt $grouped0 ]] || fail "no order of the burst was applied in a group ($grouped)"
log "a burst of 32 deliveries behind a held order lock: $((grouped - grouped0)) applied in groups, each order once"

# ---- 4. a cancellation before its order ----
expect "$(shopify orders/cancelled ev-c-9200 '{"id":9200,"line_items":[]}')" 200 "cancellation before the order"
expect "$(shopify orders/create ev-9200 "$(order_body 9200 39072856 SKU-1 2)")" 200 "the order after its cancellation"
expect "$(state_of shop 9200)" "" "an order cancelled before it arrived was reserved"
expect "$(sql "SELECT outcome FROM stocksync.webhook_receipt WHERE event_id = 'ev-9200'")" cancelled_before_order "outcome"
# ... and racing it: ten orders, each with its cancellation sent at the same time.
jobs=()
for n in $(seq 9300 9309); do
  shopify orders/create "ev-$n" "$(order_body "$n" 39072856 SKU-1 1)" >/dev/null & jobs+=($!)
  shopify orders/cancelled "ev-c-$n" "{\"id\":$n,\"line_items\":[]}" >/dev/null & jobs+=($!)
done
wait "${jobs[@]}"
expect "$(sql "SELECT count(*) FROM stocksync.webhook_receipt WHERE event_id ~ '^ev-(c-)?93'")" 20 "receipts of the race"
expect "$(sql "SELECT count(*) FROM stocksync.reservation WHERE channel = 'shop' AND order_ref ~ '^93' AND state NOT IN ('released')")" 0 "an order still held after its cancellation"
# The order of a released one again, from another subscription: no effect, nothing kept as refused.
released=$(sql "SELECT order_ref FROM stocksync.reservation WHERE channel = 'shop' AND state = 'released' ORDER BY order_ref LIMIT 1")
expect "$(shopify orders/create "ev-again-$released" "$(order_body "$released" 39072856 SKU-1 1)")" 200 "a released order again"
expect "$(sql "SELECT outcome FROM stocksync.webhook_receipt WHERE event_id = 'ev-again-$released'")" order_already_released "outcome of a released order again"
expect "$(sql "SELECT count(*) FROM stocksync.inbound_exception WHERE reason = 'refused'")" 0 "refused deliveries"
log "cancellations before (and racing) their orders leave nothing held: $(sql "SELECT string_agg(outcome || '=' || n, ' ') FROM (SELECT outcome, count(*) n FROM stocksync.webhook_receipt WHERE event_id ~ '^ev-(c-)?93' GROUP BY 1) s")"

# ---- 5. ERP stock.updated with its own version ----
expect "$(standard msg_erp_2 "$(date +%s)" '{"type":"stock.updated","data":{"sku":"SKU-2","on_hand":50,"version":5}}')" 200 "ERP version 5"
expect "$(standard msg_erp_3 "$(date +%s)" '{"type":"stock.updated","data":{"sku":"SKU-2","on_hand":7,"version":4}}')" 200 "ERP version 4 (late)"
expect "$(sql "SELECT on_hand FROM stocksync.stock WHERE sku = 'SKU-2'")" 50 "on_hand after a late ERP version"
expect "$(sql "SELECT outcome FROM stocksync.webhook_receipt WHERE event_id = 'msg_erp_3'")" stale_version "late version outcome"
log "stock.updated applied once per version"

expect "$(sql 'SELECT count(*) FROM stocksync.verify_ledger()')" 0 "ledger and projection differ"
grep -qE 'hush|MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' "$WORK/worker.log" && fail "a secret reached the log"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
