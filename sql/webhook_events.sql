-- ingest_webhook(): one delivery at a time, orders that arrive again (a
-- payment, another status, another subscription) and out of order; what an
-- operator is left to look at in inbound_exception.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', 'v-a', 'A');
SELECT stocksync.receive('A', 10), stocksync.receive('B', 10);

CREATE FUNCTION pg_temp.order_event(ref text, paid boolean, lines jsonb) RETURNS jsonb LANGUAGE sql
AS $$ SELECT jsonb_build_object('action', 'order', 'channel', 'shop', 'order_ref', ref, 'paid', paid,
                                'ttl_s', 86400, 'lines', lines) $$;
CREATE FUNCTION pg_temp.delivery(event_id text, event jsonb) RETURNS jsonb LANGUAGE sql
AS $$ SELECT jsonb_build_object('source', 'shop', 'event_id', event_id, 'topic', 'orders/paid', 'event', event) $$;
CREATE FUNCTION pg_temp.line(id text, qty integer, sku text DEFAULT NULL) RETURNS jsonb LANGUAGE sql
AS $$ SELECT jsonb_build_object('ids', jsonb_build_array(id), 'sku', sku, 'qty', qty) $$;

-- An order with a line for an unknown listing is kept once, however often it
-- arrives: created, then paid, then the same again under another event id.
SELECT stocksync.ingest_webhook('shop', 'u-1', 'orders/create', pg_temp.order_event('101', false, jsonb_build_array(pg_temp.line('v-x', 2, 'X'))));
SELECT stocksync.ingest_webhook('shop', 'u-2', 'orders/paid', pg_temp.order_event('101', true, jsonb_build_array(pg_temp.line('v-x', 2, 'X'))));
SELECT stocksync.ingest_webhook('shop', 'p-1', 'orders/create', pg_temp.order_event('102', false, jsonb_build_array(pg_temp.line('v-a', 1), pg_temp.line('v-x', 1, 'X'))));
SELECT stocksync.ingest_webhook('shop', 'p-2', 'orders/paid', pg_temp.order_event('102', true, jsonb_build_array(pg_temp.line('v-a', 1), pg_temp.line('v-x', 1, 'X'))));
-- The same through a group, twice in it and once more alone.
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.delivery('g-1', pg_temp.order_event('103', false, jsonb_build_array(pg_temp.line('v-x', 3, 'X')))),
    pg_temp.delivery('g-2', pg_temp.order_event('103', true, jsonb_build_array(pg_temp.line('v-x', 3, 'X')))),
    pg_temp.delivery('u-3', pg_temp.order_event('101', true, jsonb_build_array(pg_temp.line('v-x', 2, 'X'))))));
SELECT stocksync.ingest_webhook('shop', 'g-3', 'orders/paid', pg_temp.order_event('103', true, jsonb_build_array(pg_temp.line('v-x', 3, 'X'))));
SELECT order_ref, channel_sku, qty FROM stocksync.unmatched_order_line ORDER BY order_ref;

-- The listing appears: the order's next delivery reserves it, and its kept
-- lines are no longer open.
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', 'v-x', 'B');
SELECT stocksync.ingest_webhook('shop', 'u-4', 'orders/paid', pg_temp.order_event('101', true, jsonb_build_array(pg_temp.line('v-x', 2, 'X'))));
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.delivery('g-4', pg_temp.order_event('103', true, jsonb_build_array(pg_temp.line('v-x', 3, 'X'))))));
SELECT order_ref, channel_sku, qty FROM stocksync.unmatched_order_line ORDER BY order_ref;
SELECT order_ref, state, skus, quantities FROM stocksync.reservation ORDER BY order_ref;
DELETE FROM stocksync.listing WHERE external_id = 'v-x';
SELECT count(*) AS differences FROM stocksync.verify_ledger();

-- An order paid after its hold expired is kept once, however many of its
-- paid deliveries follow (WooCommerce: processing, then completed), alone or
-- in a group.
SELECT stocksync.ingest_webhook('shop', 'x-1', 'orders/create', pg_temp.order_event('111', false, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT stocksync.ingest_webhook('shop', 'y-1', 'orders/create', pg_temp.order_event('112', false, jsonb_build_array(pg_temp.line('v-a', 1))));
UPDATE stocksync.reservation SET expires_at = now() - interval '1 second' WHERE order_ref IN ('111', '112');
SELECT stocksync.expire_holds() AS expired;
SELECT stocksync.ingest_webhook('shop', 'x-2', 'orders/paid', pg_temp.order_event('111', true, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT stocksync.ingest_webhook('shop', 'x-3', 'orders/paid', pg_temp.order_event('111', true, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.delivery('x-4', pg_temp.order_event('111', true, jsonb_build_array(pg_temp.line('v-a', 1)))),
    pg_temp.delivery('y-2', pg_temp.order_event('112', true, jsonb_build_array(pg_temp.line('v-a', 1)))),
    pg_temp.delivery('y-3', pg_temp.order_event('112', true, jsonb_build_array(pg_temp.line('v-a', 1))))));
SELECT order_ref, count(*) AS kept FROM stocksync.inbound_exception WHERE reason = 'paid_after_expiry'
 GROUP BY order_ref ORDER BY order_ref;

-- A cancellation closes what was kept of its order for an operator: nothing
-- is to be reserved for it any more (121: a line for an unknown listing only,
-- 122: one of two lines).
SELECT stocksync.ingest_webhook('shop', 'c-1', 'orders/create', pg_temp.order_event('121', false, jsonb_build_array(pg_temp.line('v-x', 1, 'X'))));
SELECT stocksync.ingest_webhook('shop', 'c-2', 'orders/create', pg_temp.order_event('122', false, jsonb_build_array(pg_temp.line('v-a', 1), pg_temp.line('v-x', 1, 'X'))));
SELECT stocksync.ingest_webhook('shop', 'c-3', 'orders/cancelled', '{"action": "cancel", "channel": "shop", "order_ref": "121"}'),
       stocksync.ingest_webhook('shop', 'c-4', 'orders/cancelled', '{"action": "cancel", "channel": "shop", "order_ref": "122"}');
SELECT order_ref, channel_sku, qty FROM stocksync.unmatched_order_line WHERE order_ref IN ('121', '122');

-- An order cancelled after its hold expired is over: its payment, delivered
-- late (it was made before the cancellation), is not kept as a sale to hold
-- stock for (131 alone, 132 in a group), and one kept before the
-- cancellation arrived (133) is closed by it.
SELECT stocksync.ingest_webhook('shop', 'd-1', 'orders/create', pg_temp.order_event('131', false, jsonb_build_array(pg_temp.line('v-a', 1)))),
       stocksync.ingest_webhook('shop', 'd-2', 'orders/create', pg_temp.order_event('132', false, jsonb_build_array(pg_temp.line('v-a', 1)))),
       stocksync.ingest_webhook('shop', 'd-3', 'orders/create', pg_temp.order_event('133', false, jsonb_build_array(pg_temp.line('v-a', 1))));
UPDATE stocksync.reservation SET expires_at = now() - interval '1 second' WHERE order_ref IN ('131', '132', '133');
SELECT stocksync.expire_holds() AS expired;
SELECT stocksync.ingest_webhook('shop', 'd-4', 'orders/paid', pg_temp.order_event('133', true, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT stocksync.ingest_webhook('shop', 'd-5', 'orders/cancelled', '{"action": "cancel", "channel": "shop", "order_ref": "131"}'),
       stocksync.ingest_webhook('shop', 'd-6', 'orders/cancelled', '{"action": "cancel", "channel": "shop", "order_ref": "132"}'),
       stocksync.ingest_webhook('shop', 'd-7', 'orders/cancelled', '{"action": "cancel", "channel": "shop", "order_ref": "133"}');
SELECT stocksync.ingest_webhook('shop', 'd-8', 'orders/paid', pg_temp.order_event('131', true, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.delivery('d-9', pg_temp.order_event('132', true, jsonb_build_array(pg_temp.line('v-a', 1))))));
SELECT order_ref, reason FROM stocksync.inbound_exception
 WHERE order_ref IN ('131', '132', '133') AND resolved_at IS NULL ORDER BY order_ref;
SELECT order_ref, state FROM stocksync.reservation WHERE order_ref IN ('131', '132', '133') ORDER BY order_ref;

-- A line's quantity must be a positive whole number, whether its listing is
-- known or not: the delivery is refused with the order named (the worker keeps
-- it as a refusal) and nothing is written. A line kept with "lots" units made
-- unmatched_order_line fail for every row.
\i sql/include/try.sql
SELECT e.id, pg_temp.try(format('SELECT stocksync.ingest_webhook(%L, %L, %L, %L)', 'shop', e.id, e.topic, e.event)) AS refusal
  FROM (VALUES ('q-1', 'orders/create', '{"action": "order", "channel": "shop", "order_ref": "201", "paid": true, "lines": [{"ids": ["v-a"], "qty": "two"}]}'),
               ('q-2', 'orders/create', '{"action": "order", "channel": "shop", "order_ref": "202", "paid": true, "lines": [{"ids": ["v-a"], "qty": 1.5}]}'),
               ('q-3', 'orders/create', '{"action": "order", "channel": "shop", "order_ref": "203", "paid": true, "lines": [{"ids": ["v-a"], "qty": 1}, {"ids": ["v-x"], "qty": "lots"}]}'),
               ('q-4', 'orders/create', '{"action": "order", "channel": "shop", "order_ref": "204", "paid": true, "lines": [{"ids": ["v-x"], "qty": -3}]}'),
               ('q-5', 'orders/create', '{"action": "order", "channel": "shop", "order_ref": "205", "paid": true, "lines": {"ids": ["v-x"], "qty": 1}}'),
               ('q-6', 'refunds/create', '{"action": "refund", "channel": "shop", "order_ref": "102", "refund_ref": "r-1", "lines": [{"ids": ["v-a"], "qty": "one"}]}'))
       AS e (id, topic, event) ORDER BY e.id;
SELECT pg_temp.try($$SELECT * FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.delivery('q-7', pg_temp.order_event('207', false, jsonb_build_array(pg_temp.line('v-a', 1)))),
    pg_temp.delivery('q-8', pg_temp.order_event('208', false, '[{"ids": ["v-x"], "qty": "lots"}]'))))$$) AS group_refusal;
SELECT count(*) AS receipts FROM stocksync.webhook_receipt WHERE event_id LIKE 'q-%';
SELECT count(*) AS reservations FROM stocksync.reservation WHERE order_ref BETWEEN '201' AND '208';
SELECT order_ref, channel_sku, qty FROM stocksync.unmatched_order_line ORDER BY order_ref;

-- An order paid and then delivered unpaid (orders/paid before a late
-- orders/create) in one group gets the outcomes it gets alone: committed,
-- then order_already_committed (142 shows them alone).
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.delivery('h-1', pg_temp.order_event('141', true, jsonb_build_array(pg_temp.line('v-a', 1)))),
    pg_temp.delivery('h-2', pg_temp.order_event('141', false, jsonb_build_array(pg_temp.line('v-a', 1))))));
SELECT stocksync.ingest_webhook('shop', 'h-3', 'orders/paid', pg_temp.order_event('142', true, jsonb_build_array(pg_temp.line('v-a', 1)))),
       stocksync.ingest_webhook('shop', 'h-4', 'orders/create', pg_temp.order_event('142', false, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT event_id, outcome FROM stocksync.webhook_receipt WHERE event_id LIKE 'h-%' ORDER BY event_id;
SELECT order_ref, state FROM stocksync.reservation WHERE order_ref IN ('141', '142') ORDER BY order_ref;

-- An order edited after it was paid (an item added to a processing
-- WooCommerce order, a Shopify order edit) arrives with other lines: refused
-- with SS006 as the edit of a held order is, so that it is kept for the
-- operator, not dropped as order_already_committed with its new units never
-- held. The same lines again still are order_already_committed.
SELECT stocksync.ingest_webhook('shop', 'k-1', 'orders/create', pg_temp.order_event('151', true, jsonb_build_array(pg_temp.line('v-a', 1)))),
       stocksync.ingest_webhook('shop', 'k-2', 'orders/create', pg_temp.order_event('152', true, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT stocksync.ingest_webhook('shop', 'k-3', 'orders/paid', pg_temp.order_event('151', true, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT pg_temp.try($$SELECT stocksync.ingest_webhook('shop', 'k-4', 'order.updated', pg_temp.order_event('151', true, jsonb_build_array(pg_temp.line('v-a', 3))))$$) AS edit_alone;
SELECT ord, outcome, sqlstate, message FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.delivery('k-5', pg_temp.order_event('152', true, jsonb_build_array(pg_temp.line('v-a', 3)))),
    pg_temp.delivery('k-6', pg_temp.order_event('152', false, jsonb_build_array(pg_temp.line('v-a', 1))))));
-- The second delivery of the committed order was deferred; alone, as the worker applies it:
SELECT stocksync.ingest_webhook('shop', 'k-6', 'orders/create', pg_temp.order_event('152', false, jsonb_build_array(pg_temp.line('v-a', 1))));
SELECT order_ref, state, quantities FROM stocksync.reservation WHERE order_ref IN ('151', '152') ORDER BY order_ref;
SELECT event_id, order_ref, reason, detail ->> 'sqlstate' AS sqlstate FROM stocksync.inbound_exception
 WHERE order_ref IN ('151', '152') ORDER BY id;

-- An order_ref over 1,000 bytes (3,200 bytes of hex, too random to compress)
-- is refused with SS009 on every webhook path, as reserve() refuses it
-- (docs/sql-reference.md), and its refusal is kept, the event whole in
-- detail: a cancel's tombstone, a line for an unknown listing, a group and the
-- refusal itself failed with 54000 (index row size) before.
SELECT string_agg(md5(i::text), '') AS long_ref FROM generate_series(1, 100) i \gset
SELECT pg_temp.try(format($$SELECT stocksync.ingest_webhook('shop', 'l-1', 'orders/cancelled', %L)$$,
                          jsonb_build_object('action', 'cancel', 'channel', 'shop', 'order_ref', :'long_ref'))) AS cancel;
SELECT pg_temp.try(format($$SELECT stocksync.ingest_webhook('shop', 'l-2', 'orders/create', %L)$$,
                          pg_temp.order_event(:'long_ref', false, jsonb_build_array(pg_temp.line('v-x', 1, 'X')))))
       AS unknown_listing;
SELECT ord, outcome, sqlstate, message FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.delivery('l-3', pg_temp.order_event(:'long_ref', false, jsonb_build_array(pg_temp.line('v-x', 1, 'X')))),
    pg_temp.delivery('l-4', pg_temp.order_event('161', false, jsonb_build_array(pg_temp.line('v-a', 1))))));
SELECT stocksync.record_webhook_refusal('shop', 'l-1', 'orders/cancelled',
                                        jsonb_build_object('action', 'cancel', 'channel', 'shop', 'order_ref', :'long_ref'),
                                        'SS009', 'order_ref too long');
SELECT event_id, order_ref, reason, detail ->> 'sqlstate' AS sqlstate,
       octet_length(detail #>> '{event,order_ref}') AS event_order_ref_bytes
  FROM stocksync.inbound_exception WHERE event_id LIKE 'l-%' ORDER BY id;
SELECT count(*) AS differences FROM stocksync.verify_ledger();

DROP EXTENSION stocksync;
