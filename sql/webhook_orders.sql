-- ingest_webhook_orders(): many order deliveries in one transaction, each
-- with the outcome ingest_webhook() gives it alone.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('HOT');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('woo', 'woocommerce');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', 'v-a', 'A'), ('shop', 'v-b', 'B'),
    ('shop', 'v-hot', 'HOT'), ('woo', '11', 'A');
SELECT stocksync.receive('A', 5), stocksync.receive('B', 1), stocksync.receive('HOT', 40);
SELECT stocksync.set_hot('HOT', 4);

CREATE FUNCTION pg_temp.order_event(source text, event_id text, ref text, paid boolean, lines jsonb,
                                    channel text DEFAULT 'shop', ttl_s integer DEFAULT 86400)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('source', source, 'event_id', event_id, 'topic', 'orders/create',
                            'event', jsonb_build_object('action', 'order', 'channel', channel, 'order_ref', ref,
                                                        'paid', paid, 'ttl_s', ttl_s, 'lines', lines))
$$;
CREATE FUNCTION pg_temp.line(id text, qty integer, sku text DEFAULT NULL) RETURNS jsonb LANGUAGE sql
AS $$ SELECT jsonb_build_object('ids', jsonb_build_array(id), 'sku', sku, 'qty', qty) $$;

-- An order cancelled before it arrives, and a hold taken earlier that is
-- now paid (deferred), and one already shipped.
SELECT stocksync.ingest_webhook('shop', 'c-9', 'orders/cancelled', '{"action": "cancel", "channel": "shop", "order_ref": "9"}');
SELECT stocksync.ingest_webhook('shop', 'e-7', 'orders/create', (pg_temp.order_event('shop', 'e-7', '7', false, jsonb_build_array(pg_temp.line('v-a', 1))))->'event');
SELECT stocksync.ingest_webhook('shop', 'e-8', 'orders/create', (pg_temp.order_event('shop', 'e-8', '8', true, jsonb_build_array(pg_temp.line('v-b', 1))))->'event');
SELECT stocksync.fulfill('shop', '8');

SELECT ord, outcome, sqlstate, message FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.order_event('shop', 'e-1', '1', false, jsonb_build_array(pg_temp.line('v-a', 2))),          -- reserved
    pg_temp.order_event('shop', 'e-2', '2', true, jsonb_build_array(pg_temp.line('v-a', 1), pg_temp.line('v-hot', 3))),  -- committed
    pg_temp.order_event('shop', 'e-1', '1', false, jsonb_build_array(pg_temp.line('v-a', 2))),          -- the same delivery again
    pg_temp.order_event('shop', 'e-7', '7', false, jsonb_build_array(pg_temp.line('v-a', 1))),          -- delivered before
    pg_temp.order_event('shop', 'e-7b', '7', true, jsonb_build_array(pg_temp.line('v-a', 1))),         -- paid later: deferred
    pg_temp.order_event('shop', 'e-8b', '8', true, jsonb_build_array(pg_temp.line('v-b', 1))),         -- already shipped
    pg_temp.order_event('shop', 'e-9', '9', true, jsonb_build_array(pg_temp.line('v-a', 1))),          -- cancelled before
    pg_temp.order_event('shop', 'e-3', '3', true, jsonb_build_array(pg_temp.line('v-b', 4))),          -- oversold, recorded
    pg_temp.order_event('shop', 'e-4', '4', false, jsonb_build_array(pg_temp.line('v-a', 1), pg_temp.line('nope', 1, 'X'))), -- partly unmatched
    pg_temp.order_event('shop', 'e-5', '5', false, jsonb_build_array(pg_temp.line('nope', 2))),        -- unmatched
    pg_temp.order_event('shop', 'e-6', '6', false, '[]'),                                              -- empty
    pg_temp.order_event('shop', 'e-1c', '1', false, jsonb_build_array(pg_temp.line('v-a', 3))),        -- same order, other lines: SS006
    pg_temp.order_event('woo', 'w-1', '1', true, jsonb_build_array(pg_temp.line('11', 1)), 'woo', 3600), -- another hold length
    pg_temp.order_event('shop', 'e-2b', '2', true, jsonb_build_array(pg_temp.line('v-a', 1), pg_temp.line('v-hot', 3))), -- paid twice
    jsonb_build_object('source', 'shop', 'event_id', 'e-10', 'topic', 'orders/create',
                       'event', jsonb_build_object('action', 'order', 'channel', 'shop'))               -- no order_ref: SS009
  ));

SELECT source, event_id, outcome FROM stocksync.webhook_receipt ORDER BY source, event_id;
SELECT channel, order_ref, state, skus, quantities, shortages, expires_at - created_at AS hold
  FROM stocksync.reservation ORDER BY channel, order_ref;
SELECT event_id, order_ref, reason, detail - 'message' AS detail FROM stocksync.inbound_exception ORDER BY id;
SELECT sku, on_hand, reserved, committed, available FROM stocksync.stock ORDER BY sku;
SELECT count(*) AS differences FROM stocksync.verify_ledger();

-- The deferred payment, applied alone as the worker does.
SELECT stocksync.ingest_webhook('shop', 'e-7b', 'orders/create', (pg_temp.order_event('shop', 'e-7b', '7', true, jsonb_build_array(pg_temp.line('v-a', 1))))->'event');

-- The same group again: every delivery is a duplicate, nothing changes.
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.order_event('shop', 'e-1', '1', false, jsonb_build_array(pg_temp.line('v-a', 2))),
    pg_temp.order_event('shop', 'e-1c', '1', false, jsonb_build_array(pg_temp.line('v-a', 3))),
    pg_temp.order_event('shop', 'e-7b', '7', true, jsonb_build_array(pg_temp.line('v-a', 1)))));
SELECT count(*) AS receipts FROM stocksync.webhook_receipt;

-- New orders of plain SKUs, the common group: each through reserve() in key
-- order when their lines make one rising sequence (A; A+B; B), else through
-- reserve_batch() (A+B then A). The same outcomes either way.
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.order_event('shop', 'f-1', '21', true, jsonb_build_array(pg_temp.line('v-b', 1))),
    pg_temp.order_event('shop', 'f-2', '22', false, jsonb_build_array(pg_temp.line('v-a', 1))),
    pg_temp.order_event('shop', 'f-3', '23', true, jsonb_build_array(pg_temp.line('v-b', 1), pg_temp.line('v-a', 2)))));
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.order_event('shop', 'f-4', '24', false, jsonb_build_array(pg_temp.line('v-a', 1), pg_temp.line('v-b', 1))),
    pg_temp.order_event('shop', 'f-5', '25', true, jsonb_build_array(pg_temp.line('v-a', 1)))));
SELECT order_ref, state, skus, quantities, shortages FROM stocksync.reservation
 WHERE channel = 'shop' AND order_ref BETWEEN '21' AND '25' ORDER BY order_ref;
SELECT sku, on_hand, reserved, committed, available FROM stocksync.stock WHERE sku IN ('A', 'B') ORDER BY sku;
SELECT count(*) AS differences FROM stocksync.verify_ledger();

-- Orders held unpaid whose holds expired, then paid: each kept as an
-- exception with its lines (the units went back to stock), by either path.
SELECT stocksync.ingest_webhook('shop', 'g-31', 'orders/create', (pg_temp.order_event('shop', 'g-31', '31', false, jsonb_build_array(pg_temp.line('v-a', 1))))->'event'),
       stocksync.ingest_webhook('shop', 'g-32', 'orders/create', (pg_temp.order_event('shop', 'g-32', '32', false, jsonb_build_array(pg_temp.line('v-b', 1))))->'event');
UPDATE stocksync.reservation SET expires_at = now() - interval '1 second' WHERE channel = 'shop' AND order_ref IN ('31', '32');
SELECT stocksync.expire_holds(10) AS expired;
SELECT stocksync.ingest_webhook('shop', 'g-31p', 'orders/paid', (pg_temp.order_event('shop', 'g-31p', '31', true, jsonb_build_array(pg_temp.line('v-a', 1))))->'event');
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.order_event('shop', 'g-32p', '32', true, jsonb_build_array(pg_temp.line('v-b', 1))),
    pg_temp.order_event('shop', 'g-31p', '31', true, jsonb_build_array(pg_temp.line('v-a', 1)))));  -- applied above
SELECT event_id, order_ref, reason, detail FROM stocksync.inbound_exception WHERE reason = 'paid_after_expiry' ORDER BY id;
SELECT order_ref, state FROM stocksync.reservation WHERE channel = 'shop' AND order_ref IN ('31', '32') ORDER BY order_ref;

-- A malformed call raises and writes nothing.
\set VERBOSITY terse
SELECT * FROM stocksync.ingest_webhook_orders('{}');
SELECT * FROM stocksync.ingest_webhook_orders(jsonb_build_array(jsonb_build_object('source', 'shop', 'event_id', 'x',
    'topic', 'orders/cancelled', 'event', jsonb_build_object('action', 'cancel', 'channel', 'shop', 'order_ref', '1'))));
SELECT * FROM stocksync.ingest_webhook_orders(jsonb_build_array(
    pg_temp.order_event('shop', 'e-11', '11', false, jsonb_build_array(pg_temp.line('v-a', 1))),
    pg_temp.order_event('shop', 'e-12', '12', false, '[{"ids": ["v-a"], "qty": "two"}]')));
SELECT count(*) AS receipts FROM stocksync.webhook_receipt;
SELECT * FROM stocksync.ingest_webhook_orders((SELECT jsonb_agg(pg_temp.order_event('shop', 'n-' || g, 'n-' || g, false, '[]'))
                                                FROM generate_series(1, 1001) g));
SELECT count(*) AS n FROM stocksync.ingest_webhook_orders('[]');

-- Which SKU a line is for (webhook_line_sku, inlined into the statements
-- above): the first of its ids the channel lists, in the line's order; else
-- the line's own SKU if the channel lists it; else NULL. One row each time.
SELECT t.line, m.sku
  FROM (VALUES ('{"ids": ["nope", "v-b", "v-a"], "sku": "A"}'::jsonb),  -- B: first listed id
               ('{"ids": ["v-a", "v-b"]}'),                             -- A
               ('{"ids": ["11"], "sku": "B"}'),                         -- B: 11 is woo's, not shop's
               ('{"ids": ["nope"], "sku": "HOT"}'),                     -- HOT: by its SKU
               ('{"sku": "X"}'),                                        -- NULL: X is not listed
               ('{"ids": [], "qty": 1}'),                               -- NULL
               ('{"ids": [null, 7], "sku": "A"}')) AS t (line)          -- A: no id matches
       CROSS JOIN LATERAL stocksync.webhook_line_sku('shop', t.line) AS m (sku);

-- prune_webhook_receipts(keep) ends the replay window: receipts and
-- tombstones older than keep go; a window that is not positive (which would
-- forget every delivery at once) or NULL is refused.
SELECT stocksync.prune_webhook_receipts('0 seconds');
SELECT stocksync.prune_webhook_receipts('-1 hour');
SELECT stocksync.prune_webhook_receipts(NULL);
SELECT count(*) AS receipts, (SELECT count(*) FROM stocksync.order_tombstone) AS tombstones FROM stocksync.webhook_receipt;
UPDATE stocksync.webhook_receipt SET received_at = now() - interval '4 days'
 WHERE event_id = (SELECT min(event_id) FROM stocksync.webhook_receipt);
-- A window longer than a timestamp reaches back (4713 BC) keeps everything.
SELECT stocksync.prune_webhook_receipts('10000 years') AS removed;
SELECT stocksync.prune_webhook_receipts() AS removed;
SELECT count(*) AS receipts FROM stocksync.webhook_receipt;
DROP EXTENSION stocksync;
