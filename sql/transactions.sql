-- stocksync inside an ERP's own transactions: savepoints rolled back,
-- PL/pgSQL exception blocks, read-only transactions.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('HOT'), ('PART');
INSERT INTO stocksync.item (sku, kind) VALUES ('BOX', 'bundle');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('BOX', 'PART', 2);
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
SELECT stocksync.receive('A', 10), stocksync.receive('HOT', 100), stocksync.receive('PART', 20);
SELECT stocksync.set_hot('HOT', 4);

-- The bundle cascade raises a bundle's version once per transaction. Fired
-- early (SET CONSTRAINTS ALL IMMEDIATE) in a savepoint that is then rolled
-- back, its raise is undone: a later change of the component in the same
-- transaction must raise the bundle's version again, or the worker never
-- re-pushes the bundle's listings.
SELECT version AS box_version FROM stocksync.item WHERE sku = 'BOX' \gset
BEGIN;
SAVEPOINT early_check;
SELECT stocksync.receive('PART', 2) > 0 AS received;
SET CONSTRAINTS ALL IMMEDIATE;
SELECT version - :box_version AS raised_in_savepoint FROM stocksync.item WHERE sku = 'BOX';
ROLLBACK TO SAVEPOINT early_check;
SET CONSTRAINTS ALL DEFERRED;
SELECT shortage FROM stocksync.reserve('shop', 'C-1', 'BOX', 1);
COMMIT;
SELECT version - :box_version AS raised_by_commit FROM stocksync.item WHERE sku = 'BOX';
-- The same from a PL/pgSQL block whose exception undoes the early check.
SELECT version AS box_version FROM stocksync.item WHERE sku = 'BOX' \gset
BEGIN;
DO $$
BEGIN
  PERFORM stocksync.receive('PART', 2);
  SET CONSTRAINTS ALL IMMEDIATE;
  PERFORM stocksync.reserve('shop', 'C-2', 'PART', 1000);
EXCEPTION WHEN SQLSTATE 'SS005' THEN
  RAISE NOTICE 'refused: %', SQLERRM;
END $$;
SET CONSTRAINTS ALL DEFERRED;
SELECT stocksync.release('shop', 'C-1');
COMMIT;
SELECT version - :box_version AS raised_by_commit FROM stocksync.item WHERE sku = 'BOX';

SELECT count(*) AS differences FROM stocksync.verify_ledger();
DROP EXTENSION stocksync;
