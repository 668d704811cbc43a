-- Channel rules: locations, safety buffers (percent, minimum, per-SKU
-- overrides, sales velocity), allocation pools, shared or split listings, the
-- SKU lifecycle, and the versions the worker compares.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('V');
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('amzn', 'amazon'), ('ebay', 'ebay');
INSERT INTO stocksync.listing VALUES ('shop', 'shop-a', 'A'), ('amzn', 'amzn-a', 'A'), ('ebay', 'ebay-a', 'A');
SELECT stocksync.receive('A', 100);

-- Worked example: 100 units, Amazon a 40 % pool with a 2-unit buffer.
--   pool_cap = floor(100 * 40 / 100) = 40; buffer = max(2, ceil(100 * 0 / 100)) = 2
--   hard partition: max(0, min(100, 40) - 2) = 38
--   soft cap:       max(0, min(100 - 2, 40))  = 40
INSERT INTO stocksync.channel_rule (channel, buffer_min, pool_percent, pool_mode) VALUES ('amzn', 2, 40, 'hard');
SELECT available, buffer, pool_cap, published, limited_by FROM stocksync.channel_sku_target
 WHERE channel = 'amzn' AND sku = 'A';
SELECT stocksync.published_quantity('amzn', 'A') AS hard_pool;
UPDATE stocksync.channel_rule SET pool_mode = 'soft' WHERE channel = 'amzn';
SELECT stocksync.published_quantity('amzn', 'A') AS soft_cap;

-- Hard pools partition the stock: own shop 80 %, Amazon 15 %; a channel
-- without a hard pool (eBay) may show only the 5 % left, or less under a
-- soft cap of its own; with a hard pool of 5 % it is the same, and a
-- partition over 100 % is refused.
INSERT INTO stocksync.channel_rule (channel, pool_percent, pool_mode) VALUES ('shop', 80, 'hard');
UPDATE stocksync.channel_rule SET pool_percent = 15, pool_mode = 'hard', buffer_min = 0 WHERE channel = 'amzn';
SELECT channel, pool_cap, published, limited_by FROM stocksync.channel_sku_target WHERE sku = 'A' ORDER BY channel;
-- A channel with a hard pool over 50 % can be renamed: its rule follows the
-- new code and is not counted twice.
UPDATE stocksync.channel SET code = 'own' WHERE code = 'shop';
SELECT channel, pool_percent, pool_mode FROM stocksync.channel_rule ORDER BY channel;
UPDATE stocksync.channel SET code = 'shop' WHERE code = 'own';
INSERT INTO stocksync.channel_rule (channel, pool_percent, pool_mode) VALUES ('ebay', 3, 'soft');
SELECT channel, pool_cap, published FROM stocksync.channel_sku_target WHERE sku = 'A' AND channel = 'ebay';
-- The 5 % are eBay's hard pool: its 2-unit buffer comes out of them, and a
-- soft cap above them (50 %) shows what no cap shows, 5 - 2 = 3.
UPDATE stocksync.channel_rule SET pool_percent = 50, buffer_min = 2 WHERE channel = 'ebay';
SELECT channel, pool_cap, buffer, published, limited_by FROM stocksync.channel_sku_target WHERE sku = 'A' AND channel = 'ebay';
UPDATE stocksync.channel_rule SET pool_percent = NULL WHERE channel = 'ebay';
SELECT channel, pool_cap, buffer, published, limited_by FROM stocksync.channel_sku_target WHERE sku = 'A' AND channel = 'ebay';
UPDATE stocksync.channel_rule SET pool_percent = 3, buffer_min = 0 WHERE channel = 'ebay';
\set VERBOSITY terse
UPDATE stocksync.channel_rule SET pool_percent = 10, pool_mode = 'hard' WHERE channel = 'ebay';
\set VERBOSITY default
-- Without hard pools there is no partition: soft caps only limit.
UPDATE stocksync.channel_rule SET pool_mode = 'soft';
SELECT channel, pool_cap, published FROM stocksync.channel_sku_target WHERE sku = 'A' ORDER BY channel;
DELETE FROM stocksync.channel_rule;

-- Percent buffer with a minimum: buffer = max(5, ceil(100 * 12.5 / 100)) = 13,
-- published 87; a per-SKU override (minimum 20) replaces the channel's minimum.
INSERT INTO stocksync.channel_rule (channel, buffer_percent, buffer_min) VALUES ('ebay', 12.5, 5);
SELECT buffer, published FROM stocksync.channel_sku_target WHERE channel = 'ebay' AND sku = 'A';
INSERT INTO stocksync.channel_sku_rule (channel, sku, buffer_min) VALUES ('ebay', 'A', 20);
SELECT buffer, published FROM stocksync.channel_sku_target WHERE channel = 'ebay' AND sku = 'A';
-- A percent override keeps the channel's minimum: max(5, ceil(100 * 30 / 100)) = 30.
UPDATE stocksync.channel_sku_rule SET buffer_min = NULL, buffer_percent = 30 WHERE channel = 'ebay' AND sku = 'A';
SELECT buffer, published FROM stocksync.channel_sku_target WHERE channel = 'ebay' AND sku = 'A';
-- Never below zero: a buffer larger than what is available publishes 0.
UPDATE stocksync.channel_sku_rule SET buffer_min = 500 WHERE channel = 'ebay' AND sku = 'A';
SELECT available, buffer, published FROM stocksync.channel_sku_target WHERE channel = 'ebay' AND sku = 'A';
DELETE FROM stocksync.channel_sku_rule;

-- Velocity buffer: 360 units of V sold over the last hour is 0.1 unit per
-- second; the protection window defaults to twice the observed p99 push lag
-- (60 s reported: 120 s), so the buffer is max(2, ceil(640 * 1 / 100),
-- ceil(0.1 * 120)) = max(2, 7, 12) = 12 and 640 - 12 = 628 are published.
BEGIN;
SELECT stocksync.receive('V', 1000);
SELECT count(stocksync.reserve('shop', 'V-' || g, 'V', 36)) FROM generate_series(1, 10) g;
INSERT INTO stocksync.channel_rule (channel, buffer_percent, buffer_min, velocity_window)
VALUES ('shop', 1, 2, '1 hour');
SELECT stocksync.report_push_lag('shop', '60 seconds');
SELECT round(stocksync.sales_velocity('V', '1 hour')::numeric, 3) AS units_per_second;
SELECT available, buffer, published FROM stocksync.channel_sku_target WHERE channel = 'shop' AND sku = 'V';
-- An explicit protection window replaces the default: 0.1 * 30 = 3, so the
-- percent term (7) wins.
UPDATE stocksync.channel_rule SET protection_window = '30 seconds' WHERE channel = 'shop';
SELECT buffer, published FROM stocksync.channel_sku_target WHERE channel = 'shop' AND sku = 'V';
ROLLBACK;

-- Locations: a channel sells only from those it names.
SELECT stocksync.receive('A', 7, 'east');
INSERT INTO stocksync.channel_location VALUES ('ebay', 'east');
SELECT channel, available FROM stocksync.channel_sku_target WHERE sku = 'A' ORDER BY channel;

-- Several listings of one SKU on one channel: shared (each shows all) or
-- split (an even share, the remainder to the first in external_id order).
INSERT INTO stocksync.listing VALUES ('shop', 'shop-a2', 'A'), ('shop', 'shop-a3', 'A');
SELECT external_id, desired_qty FROM stocksync.listing_target WHERE channel = 'shop' ORDER BY 1;
INSERT INTO stocksync.channel_rule (channel, listing_split) VALUES ('shop', 'split');
SELECT external_id, desired_qty FROM stocksync.listing_target WHERE channel = 'shop' ORDER BY 1;

-- The SKU lifecycle: active <-> paused, either -> discontinued, for good.
-- Paused and discontinued SKUs and paused channels publish 0.
UPDATE stocksync.item SET status = 'paused' WHERE sku = 'A';
SELECT channel, desired_qty, limited_by FROM stocksync.listing_target WHERE external_id = 'ebay-a';
UPDATE stocksync.item SET status = 'active' WHERE sku = 'A';
UPDATE stocksync.channel SET mode = 'paused' WHERE code = 'ebay';
SELECT channel, desired_qty, limited_by FROM stocksync.listing_target WHERE external_id = 'ebay-a';
UPDATE stocksync.channel SET mode = 'live' WHERE code = 'ebay';
UPDATE stocksync.item SET status = 'discontinued' WHERE sku = 'B';
SELECT stocksync.published_quantity('ebay', 'B') AS discontinued;
\set VERBOSITY terse
UPDATE stocksync.item SET status = 'active' WHERE sku = 'B';
UPDATE stocksync.item SET status = 'paused' WHERE sku = 'B';
UPDATE stocksync.item SET kind = 'bundle' WHERE sku = 'A';
\set VERBOSITY default
-- A paused SKU may be discontinued (for good).
UPDATE stocksync.item SET status = 'paused' WHERE sku = 'V';
UPDATE stocksync.item SET status = 'discontinued' WHERE sku = 'V';
SELECT sku, status FROM stocksync.item WHERE sku = 'V';

-- Versions: every input the worker cannot decode itself raises a version it
-- does (channel.version, item.version), so inputs_version rises.
CREATE TEMP TABLE seen AS SELECT external_id, inputs_version FROM stocksync.listing_target;
INSERT INTO stocksync.channel_sku_rule (channel, sku, buffer_percent) VALUES ('amzn', 'A', 10);
UPDATE stocksync.channel_rule SET buffer_min = 1 WHERE channel = 'shop';
INSERT INTO stocksync.channel_location VALUES ('amzn', 'default');
SELECT t.external_id, t.inputs_version > s.inputs_version AS raised
  FROM stocksync.listing_target t JOIN seen s USING (external_id) ORDER BY 1;
-- A reported lag that no buffer depends on raises nothing.
SELECT version AS shop_version FROM stocksync.channel WHERE code = 'shop';
SELECT stocksync.report_push_lag('shop', '3 seconds');
SELECT version AS shop_version FROM stocksync.channel WHERE code = 'shop';

-- Two locations of 2147483647 units each add up past an integer: what a
-- channel may show stops at 2147483647 (the split shop's buffer of 1 taken)
-- instead of every listing's target failing with 22003; a velocity buffer
-- past an integer likewise stops there.
INSERT INTO stocksync.item (sku) VALUES ('BIG');
SELECT stocksync.receive('BIG', 2147483647), stocksync.receive('BIG', 2147483647, 'east');
INSERT INTO stocksync.listing VALUES ('shop', 'shop-big', 'BIG');
SELECT external_id, available, buffer, desired_qty FROM stocksync.listing_target WHERE sku = 'BIG';
SELECT stocksync.channel_available('shop', 'BIG') AS channel_available, stocksync.available('BIG') AS available;
BEGIN;
INSERT INTO stocksync.item (sku) VALUES ('FAST');
INSERT INTO stocksync.listing VALUES ('shop', 'shop-fast', 'FAST');
SELECT stocksync.receive('FAST', 2100000000);
SELECT shortage FROM stocksync.reserve('shop', 'FAST-1', 'FAST', 2000000000);
UPDATE stocksync.channel_rule SET velocity_window = '1 second', protection_window = '10 seconds' WHERE channel = 'shop';
SELECT external_id, available, buffer, desired_qty FROM stocksync.listing_target WHERE sku = 'FAST';
ROLLBACK;

-- A window past what a timestamp can reach back or forward (now() minus
-- '10000 years' is before 4713 BC) is refused when it is stored, instead of
-- every listing's target failing with 22008 from then on; so is a reported
-- lag whose protection window (twice it) no interval holds.
\set VERBOSITY terse
UPDATE stocksync.channel_rule SET velocity_window = '10000 years' WHERE channel = 'shop';
UPDATE stocksync.channel_rule SET protection_window = '101 years' WHERE channel = 'shop';
SELECT stocksync.report_push_lag('shop', '100000000 years');
SELECT stocksync.sales_velocity('A', '10000 years');
\set VERBOSITY default
SELECT count(*) AS listings FROM stocksync.listing_target;
SELECT stocksync.published_quantity('shop', 'A') >= 0 AS published;

DROP EXTENSION stocksync CASCADE;
