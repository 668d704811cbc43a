-- The backend's caches of channel codes and bundle components (key_cache.hpp)
-- follow changes made in the same session, committed, rolled back, or undone
-- by a savepoint: reserve() never acts on an answer the tables no longer give.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B');
INSERT INTO stocksync.item (sku, kind) VALUES ('KIT', 'bundle');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('popup', 'webhook');
SELECT stocksync.receive('A', 10), stocksync.receive('B', 10);

-- A channel the cache knows, deleted in this transaction: unknown at once,
-- and known again after the rollback.
SELECT shortage FROM stocksync.reserve('popup', 'p1', 'A', 1);
BEGIN;
DELETE FROM stocksync.channel WHERE code = 'popup';
SELECT shortage FROM stocksync.reserve('popup', 'p2', 'A', 1);
ROLLBACK;
SELECT shortage FROM stocksync.reserve('popup', 'p2', 'A', 1);

-- A channel renamed: the old code is unknown, the new one known.
UPDATE stocksync.channel SET code = 'popup-2' WHERE code = 'popup';
SELECT shortage FROM stocksync.reserve('popup', 'p3', 'A', 1);
SELECT shortage FROM stocksync.reserve('popup-2', 'p3', 'A', 1);
-- Another column of the channel changes nothing the cache holds.
UPDATE stocksync.channel SET mode = 'shadow' WHERE code = 'popup-2';
SELECT shortage FROM stocksync.reserve('popup-2', 'p4', 'A', 1);

-- A channel added and cached inside a savepoint that is rolled back: unknown
-- again afterwards.
BEGIN;
SAVEPOINT s;
INSERT INTO stocksync.channel (code, kind) VALUES ('fair', 'webhook');
SELECT shortage FROM stocksync.reserve('fair', 'f1', 'A', 1);
ROLLBACK TO SAVEPOINT s;
SELECT shortage FROM stocksync.reserve('fair', 'f2', 'A', 1);
ROLLBACK;

-- A SKU cached as "not a component", then made one: its next reservation
-- raises the bundle's version at commit (the cascade runs).
SELECT shortage FROM stocksync.reserve('shop', 's1', 'A', 1);
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('KIT', 'A', 1), ('KIT', 'B', 2);
SELECT version AS kit_version FROM stocksync.item WHERE sku = 'KIT';
SELECT shortage FROM stocksync.reserve('shop', 's2', 'A', 1);
SELECT version AS kit_version FROM stocksync.item WHERE sku = 'KIT';
-- And no longer one: the fast path takes it again, without the cascade.
DELETE FROM stocksync.bom WHERE bundle_sku = 'KIT';
SELECT version AS kit_version FROM stocksync.item WHERE sku = 'KIT';
SELECT shortage FROM stocksync.reserve('shop', 's3', 'A', 1);
SELECT version AS kit_version FROM stocksync.item WHERE sku = 'KIT';

-- The caches are invalidated by statement triggers that fire in every
-- session_replication_role (logical replication's apply included).
SELECT tgrelid::regclass AS table_name, tgname, tgenabled
  FROM pg_trigger WHERE tgname LIKE '%invalidate_key_caches' ORDER BY 1;
SELECT count(*) AS differences FROM stocksync.verify_ledger();
DROP EXTENSION stocksync;
