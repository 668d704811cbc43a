-- The key caches (key_cache.hpp) after a rollback of a change they read in
-- the statement that made it. A change's invalidation is queued by its AFTER
-- trigger at the end of the statement, and a rollback replays only the
-- invalidations queued by then: reserve() inside a data-modifying WITH that
-- adds a channel reads the new channel into the cache, and an error later in
-- that statement rolled the channel back but not the cache. reserve()'s fast
-- path then held orders on a channel that never existed. Now whatever a
-- transaction filled the caches with is dropped when it, or a subtransaction
-- of it, rolls back.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('PART');
INSERT INTO stocksync.item (sku, kind) VALUES ('BOX', 'bundle');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('BOX', 'PART', 2);
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
SELECT stocksync.receive('A', 10), stocksync.receive('PART', 10);

-- A new backend: its caches are read on first use, here in the statement
-- that adds the channel; the division fails after reserve() returned.
\c
WITH c AS (INSERT INTO stocksync.channel (code, kind) VALUES ('ghost', 'webhook') RETURNING code)
SELECT r.shortage, 1 / r.shortage AS fails FROM c, stocksync.reserve(c.code, 'g-1', 'A', 1) r;
SELECT count(*) AS ghost_channels FROM stocksync.channel WHERE code = 'ghost';
SELECT shortage FROM stocksync.reserve('ghost', 'g-2', 'A', 1);
SELECT count(*) AS ghost_orders FROM stocksync.reservation WHERE channel = 'ghost';

-- The same undone by ROLLBACK TO SAVEPOINT, the cache read again in that
-- statement (a channel added and committed before changed it), and the
-- error a refusal of reserve() itself (SS005, no stock for 100 units).
INSERT INTO stocksync.channel (code, kind) VALUES ('popup', 'webhook');
BEGIN;
SAVEPOINT s;
WITH c AS (INSERT INTO stocksync.channel (code, kind) VALUES ('ghost', 'webhook') RETURNING code)
SELECT r.shortage FROM c, stocksync.reserve(c.code, 'g-3', 'A', 100) r;
ROLLBACK TO SAVEPOINT s;
SELECT shortage FROM stocksync.reserve('ghost', 'g-4', 'A', 1);
COMMIT;
SELECT count(*) AS ghost_orders FROM stocksync.reservation WHERE channel = 'ghost';

-- A bill of materials row deleted in the statement and rolled back with it:
-- PART stays a component, and its next reservation raises BOX's version at
-- commit (the bundle cascade), so the worker re-pushes BOX's listings.
INSERT INTO stocksync.item (sku) VALUES ('OTHER');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('BOX', 'OTHER', 1);
WITH d AS (DELETE FROM stocksync.bom WHERE component_sku = 'PART' RETURNING component_sku)
SELECT r.shortage, 1 / r.shortage AS fails FROM d, stocksync.reserve('shop', 'k-1', d.component_sku, 1) r;
SELECT count(*) AS part_boms FROM stocksync.bom WHERE component_sku = 'PART';
SELECT version AS box_version FROM stocksync.item WHERE sku = 'BOX' \gset
SELECT shortage FROM stocksync.reserve('shop', 'k-2', 'PART', 1);
SELECT version - :box_version AS box_raised FROM stocksync.item WHERE sku = 'BOX';

SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
