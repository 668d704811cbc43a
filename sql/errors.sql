-- Every refusal has its own SQLSTATE (class SS) and a message naming the SKU
-- or order; a failed call writes nothing.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('KIT');
UPDATE stocksync.item SET kind = 'bundle' WHERE sku = 'KIT';
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
INSERT INTO stocksync.location (code) VALUES ('default2');
SELECT stocksync.receive('A', 3);
SELECT shortage FROM stocksync.reserve('shop', 'DONE', 'A', 1);
SELECT stocksync.fulfill('shop', 'DONE');
SELECT count(*) AS ledger_rows_before FROM stocksync.ledger \gset

\i sql/include/try.sql

-- SS001 unknown sku, SS002 unknown location, SS003 unknown channel
SELECT pg_temp.try($$ SELECT stocksync.receive('NOPE', 1) $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'NOPE', 1) $$);
SELECT pg_temp.try($$ SELECT stocksync.available('NOPE') $$);
SELECT pg_temp.try($$ SELECT stocksync.stock_at('NOPE', now()) $$);
SELECT pg_temp.try($$ SELECT stocksync.receive('A', 1, 'mars') $$);
SELECT pg_temp.try($$ SELECT stocksync.available('A', 'mars') $$);
SELECT pg_temp.try($$ SELECT stocksync.transfer('A', 1, 'default', 'mars') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('nowhere', 'o', 'A', 1) $$);
-- ... also when reading what a channel may show (an unknown channel read as one
-- selling from every location, an unknown SKU as 0 or NULL)
SELECT pg_temp.try($$ SELECT stocksync.channel_available('nowhere', 'A') $$);
SELECT pg_temp.try($$ SELECT stocksync.channel_available('shop', 'NOPE') $$);
SELECT pg_temp.try($$ SELECT stocksync.channel_available(NULL, 'A') $$);
SELECT pg_temp.try($$ SELECT stocksync.published_quantity('nowhere', 'A') $$);
SELECT pg_temp.try($$ SELECT stocksync.published_quantity('shop', 'NOPE') $$);
SELECT pg_temp.try($$ SELECT stocksync.published_quantity('shop', NULL) $$);
SELECT stocksync.channel_available('shop', 'A') AS a_on_shop, stocksync.published_quantity('shop', 'KIT') AS kit_on_shop;
-- ... and by sales_velocity(): an unknown SKU read as one that never sold,
-- a span of 0 as a million times the transaction's own reservations per
-- second, a negative one as 0.
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity('NOPE', '1 hour') $$);
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity(NULL, '1 hour') $$);
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity('A', NULL) $$);
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity('A', '0') $$);
SELECT pg_temp.try($$ SELECT stocksync.sales_velocity('A', '-1 hour') $$);
SELECT round((stocksync.sales_velocity('A', '1 hour') * 3600)::numeric, 6) AS a_per_hour,
       stocksync.sales_velocity('KIT', '1 hour') AS kits_per_second;
-- SS004 invalid quantity
SELECT pg_temp.try($$ SELECT stocksync.receive('A', 0) $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'A', -1) $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[{"sku": "A", "qty": 0}]') $$);
SELECT pg_temp.try($$ SELECT stocksync.adjust('A', 0, 'nothing') $$);
SELECT pg_temp.try($$ SELECT stocksync.cycle_count('A', -1) $$);
-- Lines of one SKU that add up to more than an integer holds (merged, or a
-- bundle's components multiplied out): never a wrapped, negative quantity.
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[{"sku": "A", "qty": 2147483647}, {"sku": "A", "qty": 2147483647}]', on_shortage => 'record') $$);
INSERT INTO stocksync.item (sku, kind) VALUES ('TWO-A', 'bundle');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('TWO-A', 'A', 2);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'TWO-A', 2000000000, on_shortage => 'record') $$);
SELECT pg_temp.try($$ SELECT stocksync.set_on_hand('A', -5, 'erp', 1) $$);
SELECT pg_temp.try($$ SELECT stocksync.fulfill('shop', 'DONE', '[{"sku": "A", "qty": 1}]') $$);
SELECT pg_temp.try($$ SELECT stocksync.return_items('shop', 'DONE', '[{"sku": "A", "qty": 2}]') $$);
-- SS005 insufficient stock
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'A', 3) $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'A', 3, strategy => 'optimistic') $$);
SELECT pg_temp.try($$ SELECT stocksync.adjust('A', -3, 'lost') $$);
SELECT pg_temp.try($$ SELECT stocksync.move('A', 1, 'damaged', 'available') $$);
SELECT pg_temp.try($$ SELECT stocksync.transfer('A', 5, 'default', 'default2') $$);
-- SS006 idempotency conflict
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'DONE', 'A', 2) $$);
-- SS007 illegal transition
SELECT pg_temp.try($$ SELECT stocksync.release('shop', 'DONE') $$);
SELECT pg_temp.try($$ SELECT stocksync.extend('shop', 'DONE', '1 hour') $$);
-- SS008 unknown order
SELECT pg_temp.try($$ SELECT stocksync.commit('shop', 'never') $$);
SELECT pg_temp.try($$ SELECT stocksync.release('nowhere', 'never') $$);
-- SS009 invalid argument
SELECT pg_temp.try($$ SELECT stocksync.receive('KIT', 1) $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', '', 'A', 1) $$);
-- ... and so are an empty shipment_ref, return_ref or source, as an empty
-- order_ref is: '' from an ERP that means "none" would become a key, and the
-- next document sent with '' and other lines would raise SS006.
SELECT pg_temp.try($$ SELECT stocksync.fulfill('shop', 'DONE', '[{"sku": "A", "qty": 1}]', '') $$);
SELECT pg_temp.try($$ SELECT stocksync.return_items('shop', 'DONE', '[{"sku": "A", "qty": 1}]', return_ref => '') $$);
SELECT pg_temp.try($$ SELECT stocksync.set_on_hand('A', 3, '', 1) $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'A', 1, ttl => '0 seconds') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'A', 1, ttl => NULL) $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'A', 1, strategy => 'hopeful') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'A', 1, on_shortage => 'ignore') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '{"sku": "A"}') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[]') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[{"qty": 1}]') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[{"sku": "A", "qty": 1.5}]') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[{"sku": "A", "qty": "two"}]') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[{"sku": "A", "qty": 2147483648}]') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[1, 2]') $$);
SELECT pg_temp.try($$ SELECT stocksync.return_items('shop', 'DONE', '[{"sku": "A", "qty": 0.5}]') $$);
SELECT pg_temp.try($$ SELECT stocksync.extend('shop', 'DONE', '-1 hour') $$);
SELECT pg_temp.try($$ SELECT stocksync.extend('shop', 'DONE', '0 seconds') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve(NULL, 'o', 'A', 1) $$);
SELECT pg_temp.try($$ SELECT stocksync.adjust('A', 1, '') $$);
SELECT pg_temp.try($$ SELECT stocksync.cycle_count('A', 3, '') $$);
SELECT pg_temp.try($$ SELECT stocksync.adjust('A', 1, 'found', state => 'lost') $$);
SELECT pg_temp.try($$ SELECT stocksync.move('A', 1, 'available', 'available') $$);
SELECT pg_temp.try($$ SELECT stocksync.move('A', 1, 'available', 'sold') $$);
SELECT pg_temp.try($$ SELECT stocksync.transfer('A', 1, 'default', 'default') $$);
SELECT pg_temp.try($$ SELECT stocksync.return_items('shop', 'DONE', to_state => 'safety_stock') $$);
SELECT pg_temp.try($$ SELECT stocksync.expire_holds(0) $$);
-- promote_hot_skus() checks buckets and min_waiters even when nothing is
-- contended: set_hot() refused 257 only under load, and took 0 (off) while
-- the SKU was returned as promoted.
SELECT pg_temp.try($$ SELECT stocksync.promote_hot_skus(buckets => 0) $$);
SELECT pg_temp.try($$ SELECT stocksync.promote_hot_skus(buckets => 257) $$);
SELECT pg_temp.try($$ SELECT stocksync.promote_hot_skus(min_waiters => 0) $$);
-- A ttl so long that the expiry is past PostgreSQL's last timestamp.
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', 'A', 1, ttl => '100000000 years') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'o', '[{"sku": "A", "qty": 1}]', ttl => '101 years') $$);
SELECT pg_temp.try($$ SELECT stocksync.extend('shop', 'DONE', '100000000 years') $$);
-- References are index keys, whose entries hold at most 2,704 bytes: one of
-- more than 1,000 bytes is refused up front, naming its first bytes (32
-- characters of hex: long, and too random to compress).
\set long_ref '(SELECT string_agg(md5(i::text), \'\') FROM generate_series(1, 100) i)'
SELECT pg_temp.try(format($$ SELECT stocksync.reserve('shop', %L, 'A', 1) $$, :long_ref));
SELECT pg_temp.try(format($$ SELECT stocksync.reserve('shop', %L, '[{"sku": "A", "qty": 1}]') $$, :long_ref));
SELECT pg_temp.try(format($$ SELECT stocksync.reserve('shop', %L, 'A', 1, strategy => 'optimistic') $$, :long_ref));
SELECT pg_temp.try(format($$ SELECT stocksync.fulfill('shop', 'DONE', NULL, %L) $$, :long_ref));
SELECT pg_temp.try(format($$ SELECT stocksync.return_items('shop', 'DONE', NULL, 'available', %L) $$, :long_ref));
SELECT pg_temp.try(format($$ SELECT stocksync.set_on_hand('A', 3, %L, 1) $$, :long_ref));
-- SS011 the ledger is append-only, even for its owner
SELECT pg_temp.try($$ UPDATE stocksync.ledger SET qty = 0 $$);
SELECT pg_temp.try($$ DELETE FROM stocksync.ledger $$);
SELECT pg_temp.try($$ TRUNCATE stocksync.ledger $$);
-- and for a session replaying changes (session_replication_role = replica,
-- as logical replication's apply does), which fires only ALWAYS triggers.
SET session_replication_role = replica;
SELECT pg_temp.try($$ UPDATE stocksync.ledger SET qty = 0 $$);
SELECT pg_temp.try($$ DELETE FROM stocksync.ledger $$);
SELECT pg_temp.try($$ TRUNCATE stocksync.ledger $$);
RESET session_replication_role;

-- Messages carry a detail and a hint where they help.
\set SHOW_CONTEXT never
SELECT stocksync.reserve('shop', 'o', 'A', 3);
SELECT stocksync.commit('shop', 'never');
SELECT stocksync.reserve('shop', 'DONE', 'A', 2);

-- None of the failures above wrote anything.
SELECT count(*) - :ledger_rows_before AS new_ledger_rows FROM stocksync.ledger;
SELECT order_ref FROM stocksync.reservation ORDER BY order_ref;
SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
