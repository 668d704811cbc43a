#!/usr/bin/env bash
# WooCommerce never retries a failed webhook delivery and disables the
# webhook after more than five failures in a row (channel-apis.md §4.5,
# §4.7); the worker's catch-up poll (GET /wp-json/wc/v3/orders with
# modified_after, orderby=modified, paged) still brings every order into the
# ledger. With the worker running, an order comes by webhook and by poll and
# is held once (one receipt, one RESERVE, one COMMIT). The worker is then
# stopped while buyers place seven orders: every delivery fails and the
# simulated shop disables its webhook. An order is cancelled and another
# placed while the webhook is disabled (no delivery at all). After the
# restart every order is held exactly once with its quantity (through pages
# of two orders), the cancelled one is released, the ledger agrees with the
# projection, and the other channel (an ERP consumer) shows what is left. The
# shop's site runs at GMT-5, so a modified_after read in the site's time
# instead of GMT (no dates_are_gmt) would miss every order. Without the poll
# none of the eight orders reaches the ledger.
. "$(dirname "$0")/lib.sh"
setup_db
WPORT=$("$ROOT/scripts/free-port")

cat >"$WORK/scenario.toml" <<TOML
[sim]
seed = 11
time_scale = 1.0
[[channels]]
name = "woo"
kind = "woocommerce"
webhook_secret = "wc-hush"
webhook_url = "http://127.0.0.1:$WPORT/webhooks/woocommerce/woo"
webhook_topics = ["order.created", "order.updated"]
gmt_offset = -5
  [[channels.listings]]
  id = "799"
  sku = "SKU-1"
  quantity = 100
  [[channels.listings]]
  id = "812"
  parent_id = "810"
  sku = "SKU-2"
  quantity = 100
$(erp_scenario)
TOML
start_sim "$WORK/scenario.toml"
sql "INSERT INTO stocksync.item (sku) VALUES ('SKU-1'), ('SKU-2');
     INSERT INTO stocksync.channel (code, kind) VALUES ('woo', 'woocommerce'), ('erp', 'webhook');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('woo', '799', 'SKU-1'), ('woo', '810/812', 'SKU-2'),
       ('erp', 'SKU-1', 'SKU-1'), ('erp', 'SKU-2', 'SKU-2');
     SELECT stocksync.receive('SKU-1', 100); SELECT stocksync.receive('SKU-2', 100);" >/dev/null
write_config "
[polling]
interval_ms = 300
woocommerce_page_size = 2

[channels.woo]
kind = \"woocommerce\"
base_url = \"$SIM_URL/woo/woo\"
[channels.woo.credentials]
consumer_key = \"ck_sim\"
consumer_secret = \"cs_sim\"
webhook_secret = \"wc-hush\"

[webhooks]
listen = \"127.0.0.1:$WPORT\"
$(erp_channel_config)
"
start_worker
wait_until 20 grep -q "webhooks on http://127.0.0.1:$WPORT" "$WORK/worker.log" || fail "webhook server did not start"
wait_until 20 converged_only erp || fail "the ERP never showed the stock: SKU-1 $(sim_shown erp SKU-1), SKU-2 $(sim_shown erp SKU-2)"
state_of() { sql "SELECT state FROM stocksync.reservation WHERE channel = 'woo' AND order_ref = '$1'"; }
is() { [[ $(eval "$1") == "$2" ]]; }
rows() { sql "SELECT count(*) FROM stocksync.ledger l JOIN stocksync.reservation r ON r.id = l.reservation_id WHERE r.channel = 'woo' AND r.order_ref = '$1' AND l.kind = '$2'"; }

# ---- 1. webhook and poll both see an order: held once ----
a=$(sim_order woo 799 2) || fail "simulator refused the order"
wait_until 10 is "state_of $a" committed || fail "order $a (webhook) was not committed: $(state_of "$a")"
rounds0=$(sql "SELECT rounds FROM stocksync.order_poll_cursor WHERE channel = 'woo'")
wait_until 10 is "sql \"SELECT rounds >= ${rounds0:-0} + 3 FROM stocksync.order_poll_cursor WHERE channel = 'woo'\"" t ||
  fail "the WooCommerce poll did not complete rounds (cursor: $(sql "SELECT * FROM stocksync.order_poll_cursor"))"
[[ $(rows "$a" RESERVE) == 1 && $(rows "$a" COMMIT) == 1 ]] || fail "order $a seen by webhook and poll not held once"
[[ $(sql "SELECT count(*) FROM stocksync.webhook_receipt WHERE source = 'woo' AND event_id LIKE 'order:$a:%'") == 1 ]] ||
  fail "order $a has more than one receipt"
log "order $a came by webhook and by poll: one receipt, one RESERVE, one COMMIT"

# ---- 2. the worker is down: seven deliveries fail, the webhook is disabled ----
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
lost=()
for i in 1 2 3 4 5 6 7; do
  if ((i % 2)); then l=799; else l=812; fi
  lost+=("$(sim_order woo "$l" $((i % 3 + 1)))") || fail "simulator refused order $i"
done
wait_until 10 is "sim_stat woo \"c['webhook_status']\"" disabled ||
  fail "the simulated shop did not disable its webhook ($(sim_stat woo "c['webhook_consecutive_failures']") failures)"
(($(sim_stat woo "c['webhooks']['failed_attempts']") >= 6)) || fail "the deliveries did not fail"
# Cancelled and placed while the webhook is disabled: nothing is delivered.
curl -sf -X POST "$SIM_URL/_sim/channels/woo/orders/$a/cancel" >/dev/null || fail "simulator cancel failed"
lost+=("$(sim_order woo 812 3)") || fail "simulator refused the last order"
log "worker down: orders ${lost[*]} placed, webhook $(sim_stat woo "c['webhook_status']") after $(sim_stat woo "c['webhooks']['failed_attempts']") failed deliveries; order $a cancelled"

# ---- 3. restart: the poll brings every order ----
start_worker
all_in() {
  [[ $(state_of "$a") == released ]] || return 1
  local o
  for o in "${lost[@]}"; do [[ $(state_of "$o") == committed ]] || return 1; done
}
wait_until 30 all_in || fail "not every order reached the ledger: $(sql "SELECT string_agg(order_ref || '=' || state, ' ' ORDER BY order_ref) FROM stocksync.reservation WHERE channel = 'woo'") (expected ${lost[*]} committed, $a released)"
for o in "$a" "${lost[@]}"; do
  [[ $(rows "$o" RESERVE) == 1 ]] || fail "order $o: $(rows "$o" RESERVE) RESERVE rows"
done
# Every simulator order: one reservation line with its listing's SKU and quantity.
expected=$(curl -sf "$SIM_URL/_sim/channels/woo" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["orders"]:
    print(o["id"], o["sku"], o["quantity"])' | sort)
actual=$(sql "SELECT order_ref || ' ' || sku || ' ' || qty FROM stocksync.reservation_line WHERE channel = 'woo'" | sort)
[[ $expected == "$actual" ]] || fail "reservations differ from the WooCommerce orders:
expected:
$expected
actual:
$actual"
units=$(curl -sf "$SIM_URL/_sim/channels/woo" | python3 -c '
import json, sys, collections
c = collections.Counter()
for o in json.load(sys.stdin)["orders"]:
    if not o["cancelled"]: c[o["sku"]] += o["quantity"]
print(" ".join(f"{k}={c[k]}" for k in sorted(c)))')
held=$(sql "SELECT string_agg(sku || '=' || committed, ' ' ORDER BY sku) FROM stocksync.stock_level WHERE committed > 0")
[[ $units == "$held" ]] || fail "committed units per SKU ($held) differ from the units ordered and not cancelled ($units)"
[[ -z $(sql "SELECT * FROM stocksync.verify_ledger()") ]] || fail "the ledger and the projection disagree"
# The other channel shows what the lost orders left.
erp_wants() {
  local s u
  for s in SKU-1 SKU-2; do
    u=$(sed -n "s/.*$s=\([0-9]*\).*/\1/p" <<<"$units")
    [[ $(sim_shown erp "$s") == $((100 - ${u:-0})) ]] || return 1
  done
}
wait_until 20 erp_wants || fail "the ERP does not show what the orders left ($units): SKU-1 $(sim_shown erp SKU-1), SKU-2 $(sim_shown erp SKU-2)"
[[ $(sql "SELECT count(*) FROM stocksync.inbound_exception") == 0 ]] || fail "polled orders were kept as exceptions"
polled=$(worker_metric stocksync_polled_orders_total 'channel="woo",action="committed"')
log "after the restart the poll held ${#lost[@]} lost orders ($held) and released $a (polled committed: $polled); the ERP shows SKU-1 $(sim_shown erp SKU-1), SKU-2 $(sim_shown erp SKU-2)"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
