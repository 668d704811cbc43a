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

-- ROLLBACK TO SAVEPOINT undoes reservations of every kind (fast path, hot
-- SKU bucket, bundle, several lines); the same orders then reserve afresh in
-- the same transaction, and the holds, the ledger and the buckets agree.
BEGIN;
SAVEPOINT before_orders;
SELECT shortage FROM stocksync.reserve('shop', 'S-1', 'A', 2);
SELECT shortage FROM stocksync.reserve('shop', 'S-2', 'HOT', 3);
SELECT shortage FROM stocksync.reserve('shop', 'S-3', 'BOX', 1);
SELECT shortage FROM stocksync.reserve('shop', 'S-4', '[{"sku": "A", "qty": 1}, {"sku": "HOT", "qty": 1}]');
ROLLBACK TO SAVEPOINT before_orders;
SELECT shortage FROM stocksync.reserve('shop', 'S-1', 'A', 1);
SELECT shortage FROM stocksync.reserve('shop', 'S-2', 'HOT', 1);
SELECT shortage FROM stocksync.reserve('shop', 'S-3', 'BOX', 2);
SAVEPOINT before_commit;
SELECT stocksync.commit('shop', 'S-1'), stocksync.commit('shop', 'S-2'), stocksync.fulfill('shop', 'S-3');
SELECT stocksync.receive('HOT', 7) > 0 AS received;
ROLLBACK TO SAVEPOINT before_commit;
SELECT stocksync.commit('shop', 'S-2'), stocksync.release('shop', 'S-1');
COMMIT;
SELECT order_ref, state, skus, quantities FROM stocksync.reservation WHERE order_ref LIKE 'S-%' ORDER BY order_ref;
SELECT sku, on_hand, reserved, committed, available FROM stocksync.stock WHERE sku IN ('A', 'HOT', 'PART') ORDER BY sku;
SELECT sum(reserved) AS bucket_reserved, sum(committed) AS bucket_committed FROM stocksync.stock_bucket WHERE sku = 'HOT';

-- An ERP's exception block catches a refusal (SS005, SS001) and goes on:
-- nothing of the refused order stays, and the caller's role and search_path
-- are its own again (reserve() runs part of its work as its owner).
CREATE ROLE stocksync_txn_erp;
GRANT stocksync_writer, stocksync_reader TO stocksync_txn_erp;
CREATE SCHEMA txn_erp AUTHORIZATION stocksync_txn_erp;
SET ROLE stocksync_txn_erp;
SET search_path = txn_erp;
CREATE FUNCTION txn_erp.place(o text, lines jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM stocksync.reserve('shop', o, lines);
  RETURN 'reserved';
EXCEPTION WHEN SQLSTATE 'SS005' OR SQLSTATE 'SS001' THEN
  RETURN SQLSTATE || ' as ' || current_user || ', search_path ' || current_setting('search_path');
END $$;
CREATE FUNCTION txn_erp.place(o text, sku text, qty integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM stocksync.reserve('shop', o, sku, qty);
  RETURN 'reserved';
EXCEPTION WHEN SQLSTATE 'SS005' THEN
  RETURN SQLSTATE || ' as ' || current_user || ', search_path ' || current_setting('search_path');
END $$;
BEGIN;
SELECT txn_erp.place('E-1', '[{"sku": "HOT", "qty": 2}, {"sku": "PART", "qty": 500}]');
SELECT txn_erp.place('E-2', '[{"sku": "A", "qty": 2}, {"sku": "HOT", "qty": 500}]');
SELECT txn_erp.place('E-3', '[{"sku": "BOX", "qty": 1}, {"sku": "NOPE", "qty": 1}]');
SELECT txn_erp.place('E-4', 'A', 500);
SELECT txn_erp.place('E-5', 'HOT', 500);
SELECT txn_erp.place('E-1', '[{"sku": "HOT", "qty": 2}, {"sku": "PART", "qty": 5}]');
SELECT txn_erp.place('E-4', 'A', 1);
SELECT current_user, current_setting('search_path') AS search_path;
COMMIT;
RESET ROLE;
RESET search_path;
SELECT order_ref, skus, quantities FROM stocksync.reservation WHERE order_ref LIKE 'E-%' ORDER BY order_ref;

-- A read-only transaction: every change is refused with 25006 before it
-- writes anything; reading works.
\set VERBOSITY sqlstate
BEGIN READ ONLY;
SAVEPOINT r;
SELECT stocksync.reserve('shop', 'R-1', 'A', 1);
ROLLBACK TO SAVEPOINT r;
SELECT stocksync.reserve('shop', 'R-2', 'HOT', 1);
ROLLBACK TO SAVEPOINT r;
SELECT stocksync.commit('shop', 'E-4');
ROLLBACK TO SAVEPOINT r;
SELECT stocksync.receive('A', 1);
ROLLBACK TO SAVEPOINT r;
SELECT count(*) FROM stocksync.reserve_batch('[{"channel": "shop", "order_ref": "R-3", "lines": [{"sku": "HOT", "qty": 1}]}]');
ROLLBACK TO SAVEPOINT r;
SELECT sku, available FROM stocksync.stock WHERE sku IN ('A', 'HOT') ORDER BY sku;
SELECT stocksync.available('BOX') AS box_available;
SELECT available FROM stocksync.stock_at('HOT', now());
SELECT count(*) AS differences FROM stocksync.verify_ledger();
COMMIT;
\set VERBOSITY default

SELECT count(*) AS differences FROM stocksync.verify_ledger();
DROP EXTENSION stocksync;
DROP SCHEMA txn_erp CASCADE;
DROP ROLE stocksync_txn_erp;
