-- A retailer with several warehouses: orders, transfers and channels that
-- sell from some of them.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('C'), ('H');
INSERT INTO stocksync.location (code) VALUES ('east'), ('west');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('amzn', 'amazon'), ('ebay', 'ebay');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', 'v-a', 'A'), ('shop', 'v-h', 'H');
SELECT stocksync.receive('A', 10, 'east'), stocksync.receive('A', 10, 'west'), stocksync.receive('B', 10, 'west');
SELECT stocksync.receive('H', 40, 'east'), stocksync.set_hot('H', 4, 'east');

-- A channel that sells from east only: an order line that names no location
-- (every webhook and polled order) is held at east, where the channel's
-- listings take their units from, not at 'default', where nothing is.
INSERT INTO stocksync.channel_location VALUES ('shop', 'east');
SELECT external_id, available, desired_qty FROM stocksync.listing_target ORDER BY 1;
SELECT stocksync.ingest_webhook('shop', 'e-1', 'orders/paid', jsonb_build_object('action', 'order', 'channel', 'shop',
       'order_ref', '900', 'paid', true, 'lines', jsonb_build_array(jsonb_build_object('ids', jsonb_build_array('v-a'), 'qty', 2))));
SELECT reservation_id, shortage FROM stocksync.reserve('shop', '901', '[{"sku": "A", "qty": 1}]');
SELECT reservation_id, shortage FROM stocksync.reserve('shop', '901', '[{"sku": "A", "qty": 1, "location": "east"}]');
SELECT ord, status, shortage, sqlstate FROM stocksync.reserve_batch('[{"channel": "shop", "order_ref": "902", "sku": "A", "qty": 1}]');
-- A group of webhook orders, a hot SKU among them (its buckets at east).
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
       jsonb_build_object('source', 'shop', 'event_id', 'g-1', 'topic', 'orders/create', 'event', jsonb_build_object(
           'action', 'order', 'channel', 'shop', 'order_ref', '903', 'lines',
           jsonb_build_array(jsonb_build_object('ids', jsonb_build_array('v-h'), 'qty', 3)))),
       jsonb_build_object('source', 'shop', 'event_id', 'g-2', 'topic', 'orders/create', 'event', jsonb_build_object(
           'action', 'order', 'channel', 'shop', 'order_ref', '904', 'lines',
           jsonb_build_array(jsonb_build_object('ids', jsonb_build_array('v-a'), 'qty', 1))))));
SELECT order_ref, sku, location, qty, shortage FROM stocksync.reservation_line WHERE channel = 'shop' ORDER BY 1, 2;
SELECT * FROM stocksync.oversold;
SELECT sku, location, on_hand, reserved, committed, available FROM stocksync.stock ORDER BY 1, 2;
SELECT external_id, available, desired_qty FROM stocksync.listing_target ORDER BY 1;
-- A line that names its location is held there, also one the channel does
-- not sell from (the caller ships it from there).
SELECT shortage FROM stocksync.reserve('shop', '905', '[{"sku": "A", "qty": 1, "location": "west"}]');
-- Several locations: a line is held at one of them whose stock covers it
-- ('default' first, then the one with the most), never where nothing is left
-- while the channel still shows another location's units; when none covers
-- it, at 'default' if the channel sells from it (recorded short there).
INSERT INTO stocksync.channel_location VALUES ('amzn', 'east'), ('amzn', 'default'), ('ebay', 'east'), ('ebay', 'west');
SELECT shortage FROM stocksync.reserve('amzn', 'a-1', '[{"sku": "B", "qty": 1}]', on_shortage => 'record');
SELECT shortage FROM stocksync.reserve('amzn', 'a-2', '[{"sku": "A", "qty": 1}]');
SELECT shortage FROM stocksync.reserve('ebay', 'b-1', '[{"sku": "B", "qty": 1}]');
SELECT ord, status, sqlstate, message FROM stocksync.reserve_batch('[{"channel": "ebay", "order_ref": "b-2", "lines": [{"sku": "B", "qty": 1, "location": "west"}, {"sku": "A", "qty": 1}]}]');
SELECT shortage FROM stocksync.reserve('ebay', 'b-3', '[{"sku": "B", "qty": 1, "location": "west"}]');
SELECT channel, order_ref, sku, location, qty FROM stocksync.reservation_line WHERE channel <> 'shop' ORDER BY 1, 2, 3;
-- A later delivery of an order is held where the order is, whatever the
-- stock says now: a replay, not an idempotency conflict. A new order goes
-- where the stock is now.
SELECT stocksync.receive('C', 5, 'west');
SELECT reservation_id AS c1 FROM stocksync.reserve('ebay', 'c-1', '[{"sku": "C", "qty": 1}]') \gset
SELECT stocksync.receive('C', 10, 'east');
SELECT reservation_id = :c1 AS replayed FROM stocksync.reserve('ebay', 'c-1', '[{"sku": "C", "qty": 1}]');
SELECT ord, status, reservation_id = :c1 AS replayed FROM stocksync.reserve_batch('[{"channel": "ebay", "order_ref": "c-1", "sku": "C", "qty": 1}]');
SELECT shortage FROM stocksync.reserve('ebay', 'c-2', '[{"sku": "C", "qty": 1}]');
-- A webhook order of such a channel likewise (its group goes through
-- reserve_batch(), which orders the locks of lines whose location the stock
-- decides).
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('ebay', 'e-c', 'C');
SELECT ord, outcome, sqlstate FROM stocksync.ingest_webhook_orders(jsonb_build_array(
       jsonb_build_object('source', 'ebay', 'event_id', 'g-3', 'topic', 'order', 'event', jsonb_build_object(
           'action', 'order', 'channel', 'ebay', 'order_ref', 'c-3', 'lines',
           jsonb_build_array(jsonb_build_object('ids', jsonb_build_array('e-c'), 'qty', 12))))));
SELECT order_ref, location, shortage FROM stocksync.reservation_line WHERE sku = 'C' ORDER BY 1;
SELECT stocksync.release('amzn', 'a-2'), stocksync.release('ebay', 'b-1'), stocksync.release('ebay', 'b-2');
-- An order with the same SKU at two locations: fulfil and return lines that
-- name a location take that line's units only, and a refusal names the
-- location (the order has units of the SKU left elsewhere).
SELECT reservation_id FROM stocksync.reserve('shop', '906', '[{"sku": "A", "qty": 2, "location": "east"}, {"sku": "A", "qty": 3, "location": "west"}]');
SELECT stocksync.commit('shop', '906');
SELECT stocksync.fulfill('shop', '906', '[{"sku": "A", "qty": 1, "location": "west"}]', 's-1');
SELECT stocksync.fulfill('shop', '906', '[{"sku": "A", "qty": 3, "location": "east"}]', 's-2');
SELECT stocksync.fulfill('shop', '906', '[{"sku": "A", "qty": 5}]', 's-3');
SELECT stocksync.fulfill('shop', '906', '[{"sku": "A", "qty": 2, "location": "east"}]', 's-4');
SELECT stocksync.return_items('shop', '906', '[{"sku": "A", "qty": 2, "location": "west"}]', 'damaged', 'r-1');
SELECT stocksync.return_items('shop', '906', '[{"sku": "A", "qty": 1, "location": "west"}]', 'damaged', 'r-2');
SELECT stocksync.release('shop', '906');
SELECT location, qty, fulfilled, returned FROM stocksync.reservation_line WHERE order_ref = '906' ORDER BY 1;
-- Lines of one SKU that name no location are placed together: for their
-- units together (6; 'default' has 4, east 10), not line by line, where
-- each line of 3 would have gone to 'default' and the order been recorded
-- 2 short there. Likewise in reserve_batch() (SKU T, the same stock).
INSERT INTO stocksync.item (sku) VALUES ('S'), ('T');
INSERT INTO stocksync.channel (code, kind) VALUES ('wh', 'webhook');
INSERT INTO stocksync.channel_location VALUES ('wh', 'default'), ('wh', 'east');
SELECT stocksync.receive('S', 4), stocksync.receive('S', 10, 'east'), stocksync.receive('T', 4), stocksync.receive('T', 10, 'east');
SELECT shortage FROM stocksync.reserve('wh', 's-1', '[{"sku": "S", "qty": 3}, {"sku": "S", "qty": 3}]', on_shortage => 'record');
SELECT ord, status, shortage FROM stocksync.reserve_batch(
       '[{"channel": "wh", "order_ref": "s-2", "lines": [{"sku": "T", "qty": 3}, {"sku": "T", "qty": 3}]}]', on_shortage => 'record');
SELECT order_ref, sku, location, qty, shortage FROM stocksync.reservation_line WHERE channel = 'wh' ORDER BY 1, 3;
-- A replay of either compares equal.
SELECT shortage FROM stocksync.reserve('wh', 's-1', '[{"sku": "S", "qty": 3}, {"sku": "S", "qty": 3}]', on_shortage => 'record');
SELECT ord, status, shortage FROM stocksync.reserve_batch(
       '[{"channel": "wh", "order_ref": "s-2", "lines": [{"sku": "T", "qty": 3}, {"sku": "T", "qty": 3}]}]', on_shortage => 'record');
-- A location without stock that a channel sells from: deleting it is
-- refused (23503); renaming it carries over to channel_location and raises
-- the channel's version, so its listings are pushed again.
INSERT INTO stocksync.location (code) VALUES ('north');
INSERT INTO stocksync.channel_location VALUES ('ebay', 'north');
SELECT version AS ebay_version FROM stocksync.channel WHERE code = 'ebay' \gset
DELETE FROM stocksync.location WHERE code = 'north';
UPDATE stocksync.location SET code = 'nord' WHERE code = 'north';
SELECT location FROM stocksync.channel_location WHERE channel = 'ebay' ORDER BY 1;
SELECT version > :ebay_version AS raised FROM stocksync.channel WHERE code = 'ebay';
-- transfer: only available units leave (held and incoming ones stay), a hot
-- SKU's buckets at either end are counted, a location without a stock row
-- gets one; the same location and a bundle are refused. (Guards: all were
-- correct.)
SELECT stocksync.expect('B', 4, 'west');
SELECT stocksync.transfer('B', 11, 'west', 'east');
SELECT stocksync.transfer('B', 9, 'west', 'east');
SELECT stocksync.transfer('H', 30, 'east', 'west');
SELECT stocksync.set_hot('H', 2, 'west');
SELECT stocksync.transfer('H', 5, 'west', 'east');
SELECT stocksync.transfer('A', 1, 'east', 'east');
INSERT INTO stocksync.item (sku, kind) VALUES ('K', 'bundle');
SELECT stocksync.transfer('K', 1, 'east', 'west');
SELECT sku, location, on_hand, reserved, committed, incoming, available FROM stocksync.stock
 WHERE sku IN ('B', 'H') ORDER BY 1, 2;
SELECT stocksync.available('H') AS everywhere, stocksync.available('H', 'east') AS east, stocksync.available('H', 'west') AS west;
SELECT location, on_hand, reserved FROM stocksync.stock_at('H', now()) ORDER BY 1;
SELECT * FROM stocksync.verify_ledger();

DROP EXTENSION stocksync CASCADE;
