-- Bundles: a bill of materials, cycles refused, nested bundles, availability
-- min(floor(available / qty)), and every order step moving the components.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('C');
INSERT INTO stocksync.item (sku, kind) VALUES ('KIT', 'bundle'), ('GIFT', 'bundle'), ('EMPTY', 'bundle');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');

-- Worked example: a bundle of 2 x A + 1 x B with A = 20 and B = 8 gives
-- min(floor(20 / 2), floor(8 / 1)) = min(10, 8) = 8.
INSERT INTO stocksync.bom VALUES ('KIT', 'A', 2), ('KIT', 'B', 1);
SELECT stocksync.receive('A', 20), stocksync.receive('B', 8);
SELECT stocksync.channel_available('shop', 'KIT') AS kit_available;

-- Nested: GIFT = 1 x KIT + 3 x C, so per GIFT 2 A, 1 B, 3 C.
INSERT INTO stocksync.bom VALUES ('GIFT', 'KIT', 1), ('GIFT', 'C', 3);
SELECT component_sku, qty FROM stocksync.bundle_leaves('GIFT') ORDER BY 1;
SELECT stocksync.receive('C', 10);
-- min(floor(20 / 2), floor(8 / 1), floor(10 / 3)) = 3
SELECT stocksync.channel_available('shop', 'GIFT') AS gift_available;
SELECT s FROM stocksync.bundle_ancestors('A') s ORDER BY 1;

-- Refusals: a cycle (directly or nested), a bundle of itself, a simple SKU
-- with a bill of materials, a zero quantity.
\set VERBOSITY terse
INSERT INTO stocksync.bom VALUES ('KIT', 'GIFT', 1);
INSERT INTO stocksync.bom VALUES ('KIT', 'KIT', 1);
INSERT INTO stocksync.bom VALUES ('A', 'B', 1);
INSERT INTO stocksync.bom VALUES ('KIT', 'C', 0);
UPDATE stocksync.bom SET component_sku = 'GIFT' WHERE bundle_sku = 'KIT' AND component_sku = 'B';
-- More than an integer of one component per bundle, nested quantities
-- multiplied out and added up over paths: 2147483647 is the most (EMPTY), 1.1
-- billion KITs of 2 A each and 2147483647 + 3 C per GIFT are refused.
INSERT INTO stocksync.bom VALUES ('EMPTY', 'A', 2147483647);
DELETE FROM stocksync.bom WHERE bundle_sku = 'EMPTY';
UPDATE stocksync.bom SET qty = 1100000000 WHERE bundle_sku = 'GIFT' AND component_sku = 'KIT';
INSERT INTO stocksync.bom VALUES ('KIT', 'C', 2147483647);
-- A bundle holds no stock; one without a bill of materials cannot be sold.
SELECT stocksync.receive('KIT', 1);
SELECT stocksync.reserve('shop', 'O-EMPTY', 'EMPTY', 1);
\set VERBOSITY default

-- Reserving a bundle line reserves its components in the same transaction;
-- the order keeps the component lines.
SELECT shortage FROM stocksync.reserve('shop', 'O-1', 'KIT', 3);
SELECT sku, qty FROM stocksync.reservation_line WHERE order_ref = 'O-1' ORDER BY sku;
SELECT sku, reserved, available FROM stocksync.stock ORDER BY sku;
SELECT stocksync.channel_available('shop', 'KIT') AS kit_available;
-- A replay returns the same order; a bundle beside one of its components merges.
SELECT reservation_id = (SELECT id FROM stocksync.reservation WHERE order_ref = 'O-1') AS same_order
  FROM stocksync.reserve('shop', 'O-1', 'KIT', 3);
SELECT shortage FROM stocksync.reserve('shop', 'O-2', '[{"sku": "GIFT", "qty": 1}, {"sku": "A", "qty": 1}]');
SELECT sku, qty FROM stocksync.reservation_line WHERE order_ref = 'O-2' ORDER BY sku;
-- Not enough of one component refuses the whole bundle line.
\set VERBOSITY terse
SELECT stocksync.reserve('shop', 'O-3', 'KIT', 5);
\set VERBOSITY default

-- Commit, fulfil (by bundle: its components), return, release.
SELECT stocksync.commit('shop', 'O-1');
SELECT stocksync.fulfill('shop', 'O-1', '[{"sku": "KIT", "qty": 2}]');
SELECT sku, qty, fulfilled FROM stocksync.reservation_line WHERE order_ref = 'O-1' ORDER BY sku;
SELECT stocksync.return_items('shop', 'O-1', '[{"sku": "KIT", "qty": 1}]');
SELECT stocksync.release('shop', 'O-1');
SELECT stocksync.release('shop', 'O-2');
SELECT sku, on_hand, reserved, committed, available FROM stocksync.stock ORDER BY sku;
SELECT count(*) AS ledger_differences FROM stocksync.verify_ledger();

-- The cascade: a component's change raises every bundle containing it
-- (directly or nested) once, at commit; other SKUs' bundles do not move.
CREATE TEMP TABLE before AS SELECT sku, version FROM stocksync.item;
SELECT stocksync.receive('C', 1);
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
SELECT stocksync.adjust('A', -1, 'shrinkage');
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;
-- The fast path for one line steps aside for a component, so the cascade sees it.
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
SELECT shortage FROM stocksync.reserve('shop', 'O-4', 'B', 1);
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;
-- A BOM change raises the bundle and the bundles containing it.
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
UPDATE stocksync.bom SET qty = 4 WHERE bundle_sku = 'KIT' AND component_sku = 'A';
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;
-- Adding a component to a bundle, and removing it, raise it (and GIFT) too.
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
INSERT INTO stocksync.bom VALUES ('KIT', 'C', 1);
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
DELETE FROM stocksync.bom WHERE bundle_sku = 'KIT' AND component_sku = 'C';
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;

-- A bundle on a channel: its available per location (a bundle is assembled
-- from one location's units), the channel's locations, buffer and pool, and
-- its velocity (the fastest-consumed component, in bundles).
INSERT INTO stocksync.location (code) VALUES ('east');
SELECT stocksync.receive('A', 8, 'east'), stocksync.receive('B', 1, 'east');
-- default: min(floor(A / 4), floor(B / 1)), east: min(floor(8 / 4), floor(1 / 1)) = 1
SELECT sku, location, available FROM stocksync.stock WHERE sku IN ('A', 'B') ORDER BY 1, 2;
SELECT stocksync.channel_available('shop', 'KIT') AS kit_everywhere;
INSERT INTO stocksync.channel (code, kind) VALUES ('east_shop', 'woocommerce');
INSERT INTO stocksync.channel_location VALUES ('east_shop', 'east');
SELECT stocksync.channel_available('east_shop', 'KIT') AS kit_in_east;
-- available() of a bundle counts the same way: over all locations, or one.
SELECT stocksync.available('KIT') AS kit_everywhere, stocksync.available('KIT', 'east') AS kit_in_east,
       stocksync.available('KIT', 'default') AS kit_in_default;
-- A buffer and a soft cap apply to the bundle's own quantity.
INSERT INTO stocksync.channel_rule (channel, buffer_min, pool_percent) VALUES ('shop', 1, 50);
SELECT sku, available, buffer, pool_cap, published FROM stocksync.channel_sku_target
 WHERE channel = 'shop' AND sku = 'KIT';
-- Reserved in the last hour: 9 units of A (4 per KIT: 2.25 KITs) and 5 of B
-- (1 per KIT: 5 KITs); the fastest-consumed component gives 5 KITs an hour.
SELECT round((stocksync.sales_velocity('KIT', '1 hour') * 3600)::numeric, 2) AS kits_per_hour,
       round((stocksync.sales_velocity('A', '1 hour') * 3600)::numeric, 2) AS a_per_hour;
DELETE FROM stocksync.channel_rule;

-- A paused component raises its bundles, which then show 0.
INSERT INTO stocksync.listing VALUES ('shop', 'kit-1', 'KIT'), ('shop', 'gift-1', 'GIFT');
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
UPDATE stocksync.item SET status = 'paused' WHERE sku = 'C';
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;
SELECT external_id, available, desired_qty, limited_by FROM stocksync.listing_target ORDER BY 1;

-- A component's kind: a bundle without a bill of materials adds no leaves;
-- once simple it is a leaf with no stock, and its bundles make up 0. Either
-- way its bundles are raised.
UPDATE stocksync.item SET status = 'active' WHERE sku = 'C';
INSERT INTO stocksync.item (sku, kind) VALUES ('PART', 'bundle');
INSERT INTO stocksync.bom VALUES ('KIT', 'PART', 1);
SELECT external_id, desired_qty FROM stocksync.listing_target ORDER BY 1;
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
UPDATE stocksync.item SET kind = 'simple' WHERE sku = 'PART';
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;
SELECT external_id, desired_qty FROM stocksync.listing_target ORDER BY 1;
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
UPDATE stocksync.item SET kind = 'bundle' WHERE sku = 'PART';
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;

-- A nested bundle is a component too: GIFT contains KIT, so a discontinued
-- KIT makes GIFT show 0 (and raises it), though KIT's own components are active.
TRUNCATE before; INSERT INTO before SELECT sku, version FROM stocksync.item;
UPDATE stocksync.item SET status = 'discontinued' WHERE sku = 'KIT';
SELECT i.sku, i.version - b.version AS raised FROM stocksync.item i JOIN before b USING (sku) ORDER BY 1;
SELECT external_id, desired_qty, limited_by FROM stocksync.listing_target ORDER BY 1;

DROP EXTENSION stocksync CASCADE;
