-- Odd and hostile arguments that once met a raw PostgreSQL error (23502,
-- 23514, 54000, a lock_timeout message) instead of a stocksync SQLSTATE. A
-- refused call writes nothing.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A');
INSERT INTO stocksync.channel (code, kind) VALUES ('hook', 'webhook');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('hook', 'L-A', 'A');
SELECT stocksync.receive('A', 10);

\i sql/include/try.sql
-- 3,200 bytes of hex: too random to compress into an index entry
\set long '(SELECT string_agg(md5(i::text), \'\') FROM generate_series(1, 100) i)'
\set order_event '\'{"action": "order", "channel": "hook", "order_ref": "W1", "lines": [{"sku": "A", "qty": 1}]}\''

-- A delivery's key (source, event_id) and topic: NULL, empty or too long for
-- the receipt's index is SS009 from ingest_webhook(), ingest_webhook_orders()
-- and record_webhook_refusal() alike (a NULL key used to skip the delivery's
-- lock and fail with 23502 once the order was reserved; a long one with 54000).
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook(NULL, 'e1', 'orders/create', %L) $$, :order_event));
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook('shop', NULL, 'orders/create', %L) $$, :order_event));
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook('shop', 'e1', NULL, %L) $$, :order_event));
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook('', 'e1', 'orders/create', %L) $$, :order_event));
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook('shop', '', 'orders/create', %L) $$, :order_event));
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook(%L, 'e1', 'orders/create', %L) $$, :long, :order_event));
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook('shop', %L, 'orders/create', %L) $$, :long, :order_event));
SELECT pg_temp.try(format($$ SELECT * FROM stocksync.ingest_webhook_orders(%L) $$,
                          jsonb_build_array(jsonb_build_object('source', 'shop', 'event_id', :long, 'topic', 'orders/create',
                                                               'event', :order_event::jsonb))));
SELECT pg_temp.try(format($$ SELECT * FROM stocksync.ingest_webhook_orders(%L) $$,
                          jsonb_build_array(jsonb_build_object('source', :long, 'event_id', 'e1', 'topic', 'orders/create',
                                                               'event', :order_event::jsonb))));
SELECT pg_temp.try($$ SELECT stocksync.record_webhook_refusal(NULL, 'e1', 't', '{}', 'SS009', 'm') $$);
SELECT pg_temp.try($$ SELECT stocksync.record_webhook_refusal('shop', NULL, 't', '{}', 'SS009', 'm') $$);
SELECT pg_temp.try($$ SELECT stocksync.record_webhook_refusal('shop', 'e1', NULL, '{}', 'SS009', 'm') $$);
SELECT pg_temp.try($$ SELECT stocksync.record_webhook_refusal('shop', 'e1', 't', '{}', NULL, 'm') $$);
SELECT pg_temp.try(format($$ SELECT stocksync.record_webhook_refusal(%L, 'e1', 't', '{}', 'SS009', 'm') $$, :long));
SELECT pg_temp.try(format($$ SELECT stocksync.record_webhook_refusal('shop', %L, 't', '{}', 'SS009', 'm') $$, :long));
-- An event that is NULL, not an object or without an action names the
-- delivery (it said: unknown webhook action "<NULL>").
SELECT pg_temp.try($$ SELECT stocksync.ingest_webhook('shop', 'e1', 'orders/create', NULL) $$);
SELECT pg_temp.try($$ SELECT stocksync.ingest_webhook('shop', 'e1', 'orders/create', '[]') $$);
SELECT pg_temp.try($$ SELECT stocksync.ingest_webhook('shop', 'e1', 'orders/create', '{"channel": "hook"}') $$);
-- An event id of 2,000 bytes is a key (a polled order's id embeds its
-- order_ref, which may have 1,000), and its refusal is kept.
SELECT stocksync.record_webhook_refusal('shop', repeat('e', 2000), 't', '{}', 'SS009', 'm');

-- A channel code over 500 bytes names no channel: an order, cancellation or
-- refund naming one is SS009, as an order_ref over 1,000 bytes is (an order
-- used to fail with 54000 keeping its lines, a cancellation writing its
-- tombstone); ingest_webhook_orders() refuses that delivery alone and keeps it.
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook('shop', 'e2', 'orders/create', %L) $$,
                          jsonb_build_object('action', 'order', 'channel', :long, 'order_ref', 'W1',
                                             'lines', '[{"sku": "A", "qty": 1}]'::jsonb)));
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook('shop', 'e2', 'orders/cancelled', %L) $$,
                          jsonb_build_object('action', 'cancel', 'channel', :long, 'order_ref', 'W1')));
SELECT pg_temp.try(format($$ SELECT stocksync.ingest_webhook('shop', 'e2', 'refunds/create', %L) $$,
                          jsonb_build_object('action', 'refund', 'channel', :long, 'order_ref', 'W1',
                                             'lines', '[{"sku": "A", "qty": 1}]'::jsonb)));
SELECT ord, outcome, sqlstate, left(message, 60) AS message
  FROM stocksync.ingest_webhook_orders(jsonb_build_array(
           jsonb_build_object('source', 'shop', 'event_id', 'e3', 'topic', 'orders/create',
                              'event', jsonb_build_object('action', 'order', 'channel', :long, 'order_ref', 'W1',
                                                          'lines', '[{"sku": "A", "qty": 1}]'::jsonb)),
           jsonb_build_object('source', 'shop', 'event_id', 'e4', 'topic', 'orders/create', 'event', :order_event::jsonb)));
SELECT source, left(event_id, 8) AS event_id, octet_length(event_id) AS bytes, outcome
  FROM stocksync.webhook_receipt ORDER BY event_id COLLATE "C";
SELECT left(event_id, 8) AS event_id, channel, order_ref, reason, detail ->> 'sqlstate' AS sqlstate
  FROM stocksync.inbound_exception ORDER BY event_id COLLATE "C";

-- promote_hot_skus(): a lock_wait past what lock_timeout holds (24.8 days) is
-- 22023 naming lock_wait, as one not positive is (it was 22023 naming
-- lock_timeout, which the caller never set).
SELECT pg_temp.try($$ SELECT stocksync.promote_hot_skus(lock_wait => '1 mon') $$);
SELECT pg_temp.try($$ SELECT stocksync.promote_hot_skus(lock_wait => '2147483648 milliseconds') $$);
SELECT count(*) AS promoted FROM stocksync.promote_hot_skus(lock_wait => '2147483647 milliseconds');

-- listing.external_id: at most 1,000 bytes (a CHECK naming the column, not
-- 54000 naming the primary key's index).
SELECT pg_temp.try(format($$ INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('hook', %L, 'A') $$, :long));
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('hook', repeat('x', 1000), 'A');

-- reserve_batch(): an order in both forms (lines, and a one-line order's sku,
-- qty or location) is refused alone; its sku and qty were dropped in silence.
SELECT ord, order_ref, status, sqlstate, message
  FROM stocksync.reserve_batch('[{"channel": "hook", "order_ref": "B1", "lines": [{"sku": "A", "qty": 1}], "sku": "A", "qty": 5},
                                 {"channel": "hook", "order_ref": "B2", "lines": [{"sku": "A", "qty": 1}], "location": "default"},
                                 {"channel": "hook", "order_ref": "B3", "sku": "A", "qty": 1, "location": "default"}]');

-- sales_velocity(): a span not positive looked into the future (0, or 22008
-- past PostgreSQL's last timestamp), and a NULL or unknown SKU gave 0.
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity('A', '-178000000 years') $$);
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity('A', '0') $$);
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity('A', NULL) $$);
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity(NULL, '1 hour') $$);
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity('NOPE', '1 hour') $$);
SELECT stocksync.sales_velocity('A', '1 hour') > 0 AS selling;

-- Only W1's order (e4), B3 and the kept refusals were written.
SELECT channel, order_ref, state FROM stocksync.reservation ORDER BY order_ref;
SELECT count(*) AS tombstones FROM stocksync.order_tombstone;
SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
