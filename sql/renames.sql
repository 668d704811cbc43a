-- Renaming or deleting what stock and orders refer to: the ledger still
-- explains every unit, and an order keeps its identity.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('QUIET');
INSERT INTO stocksync.location (code) VALUES ('north'), ('empty');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', 'v-1', 'A'), ('shop', 'v-2', 'QUIET');
SELECT stocksync.receive('A', 10, 'north');
\set VERBOSITY terse

-- A SKU or a location with stock keeps its code (its stock rows refer to it);
-- one without stock may change it, and its listings follow.
UPDATE stocksync.item SET sku = 'A2' WHERE sku = 'A';
DELETE FROM stocksync.item WHERE sku = 'A';
UPDATE stocksync.location SET code = 'north2' WHERE code = 'north';
DELETE FROM stocksync.location WHERE code = 'north';
UPDATE stocksync.item SET sku = 'QUIET2' WHERE sku = 'QUIET';
UPDATE stocksync.location SET code = 'empty2' WHERE code = 'empty';
SELECT channel, external_id, sku FROM stocksync.listing ORDER BY external_id;

-- A channel renamed while it has orders: they are the channel's under its
-- new code, so a replayed delivery is a replay (not a second hold), a
-- cancellation releases the order, and a tombstone still stops its order.
SELECT reservation_id AS first_id FROM stocksync.reserve('shop', 'o-1', 'A', 2, location => 'north') \gset
SELECT stocksync.reserve('shop', 'o-2', 'A', 1, location => 'north') IS NOT NULL AS reserved;
SELECT stocksync.ingest_webhook('shop', 'c-3', 'orders/cancelled', '{"action": "cancel", "channel": "shop", "order_ref": "o-3"}');
UPDATE stocksync.channel SET code = 'own' WHERE code = 'shop';
SELECT reservation_id = :first_id AS same_order, shortage FROM stocksync.reserve('own', 'o-1', 'A', 2, location => 'north');
SELECT stocksync.release('own', 'o-2');
SELECT channel, order_ref, state FROM stocksync.reservation ORDER BY order_ref;
SELECT channel, order_ref FROM stocksync.order_tombstone;
SELECT stocksync.ingest_webhook('own', 'e-3', 'orders/create',
    '{"action": "order", "channel": "own", "order_ref": "o-3", "lines": [{"ids": ["v-1"], "qty": 1}]}');
SELECT sku, location, reserved, available FROM stocksync.stock;
SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
