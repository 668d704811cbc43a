-- After reserve(): commit, extend, release, fulfill, return_items, expire_holds.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
SELECT stocksync.receive('A', 20), stocksync.receive('B', 20);
CREATE FUNCTION pg_temp.levels() RETURNS TABLE (sku text, on_hand int, reserved int, committed int,
                                                 quality_control int, damaged int, available int)
    LANGUAGE sql AS $$ SELECT sku, on_hand, reserved, committed, quality_control, damaged, available
                         FROM stocksync.stock ORDER BY sku $$;

-- The happy path: reserve, pay (commit), ship (fulfill), return.
SELECT shortage FROM stocksync.reserve('shop', 'O-1', '[{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}]');
SELECT * FROM pg_temp.levels();
SELECT stocksync.commit('shop', 'O-1');
SELECT state, expires_at FROM stocksync.reservation WHERE order_ref = 'O-1';
SELECT * FROM pg_temp.levels();
SELECT stocksync.commit('shop', 'O-1');                       -- a retry is a no-op
SELECT stocksync.fulfill('shop', 'O-1');
SELECT * FROM pg_temp.levels();
SELECT stocksync.fulfill('shop', 'O-1');                      -- a retry is a no-op
SELECT stocksync.return_items('shop', 'O-1', '[{"sku": "A", "qty": 1}]', 'quality_control');
SELECT stocksync.return_items('shop', 'O-1', to_state => 'damaged');   -- the rest
SELECT stocksync.return_items('shop', 'O-1');                 -- nothing left: a no-op
SELECT stocksync.fulfill('shop', 'O-1');                      -- a retry after the return: a no-op
SELECT stocksync.commit('shop', 'O-1');                       -- likewise
SELECT * FROM pg_temp.levels();
SELECT line_no, sku, qty, fulfilled, returned FROM stocksync.reservation_line WHERE order_ref = 'O-1';

-- Partial fulfilment with a shipment reference: a retry is a no-op, the
-- same reference with other lines is refused.
SELECT shortage FROM stocksync.reserve('shop', 'O-2', '[{"sku": "A", "qty": 3}]');
SELECT stocksync.fulfill('shop', 'O-2', '[{"sku": "A", "qty": 1}]', shipment_ref => 'SHIP-1');
SELECT stocksync.fulfill('shop', 'O-2', '[{"sku": "A", "qty": 1}]', shipment_ref => 'SHIP-1');
SELECT stocksync.fulfill('shop', 'O-2', '[{"sku": "A", "qty": 2}]', shipment_ref => 'SHIP-1');
SELECT stocksync.fulfill('shop', 'O-2', '[{"sku": "A", "qty": 3}]', shipment_ref => 'SHIP-2');
SELECT stocksync.fulfill('shop', 'O-2', '[{"sku": "A", "qty": 2}]', shipment_ref => 'SHIP-2');
SELECT state FROM stocksync.reservation WHERE order_ref = 'O-2';
-- A return with a reference is retry-safe too.
SELECT stocksync.return_items('shop', 'O-2', '[{"sku": "A", "qty": 1}]', return_ref => 'RMA-1');
SELECT stocksync.return_items('shop', 'O-2', '[{"sku": "A", "qty": 1}]', return_ref => 'RMA-1');
-- The same reference for the same lines into another state is another return.
SELECT stocksync.return_items('shop', 'O-2', '[{"sku": "A", "qty": 1}]', 'damaged', return_ref => 'RMA-1');
SELECT stocksync.return_items('shop', 'O-2', '[{"sku": "A", "qty": 5}]', return_ref => 'RMA-2');
SELECT line_no, qty, fulfilled, returned FROM stocksync.reservation_line WHERE order_ref = 'O-2';

-- Release: a cancelled order gives its units back; after a partial shipment
-- only the rest is released.
SELECT shortage FROM stocksync.reserve('shop', 'O-3', 'B', 4);
SELECT stocksync.release('shop', 'O-3');
SELECT stocksync.release('shop', 'O-3');                      -- a retry is a no-op
SELECT shortage FROM stocksync.reserve('shop', 'O-4', 'B', 4);
SELECT stocksync.commit('shop', 'O-4');
SELECT stocksync.fulfill('shop', 'O-4', '[{"sku": "B", "qty": 1}]');
SELECT stocksync.release('shop', 'O-4', 'customer cancelled the rest');
SELECT * FROM pg_temp.levels();
-- A retry of that release returns the state and writes nothing, though the
-- order is fulfilled (what it shipped) rather than released.
SELECT count(*) AS ledger_rows FROM stocksync.ledger;
SELECT stocksync.release('shop', 'O-4', 'customer cancelled the rest');
SELECT count(*) AS ledger_rows FROM stocksync.ledger;

-- Illegal transitions.
SELECT stocksync.fulfill('shop', 'O-3');
SELECT stocksync.commit('shop', 'O-3');
SELECT stocksync.release('shop', 'O-1');
SELECT stocksync.extend('shop', 'O-1', '1 hour');
SELECT stocksync.return_items('shop', 'O-3');

-- extend: a checkout heartbeat moves the expiry.
SELECT shortage FROM stocksync.reserve('shop', 'O-5', 'A', 1, ttl => '1 minute');
SELECT stocksync.extend('shop', 'O-5', '30 minutes') = now() + interval '30 minutes' AS extended;

-- expire_holds: expired soft holds are released, committed ones never expire.
SELECT shortage FROM stocksync.reserve('shop', 'O-6', 'A', 2, ttl => '1 microsecond');
SELECT shortage FROM stocksync.reserve('shop', 'O-7', '[{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]',
                                       ttl => '1 microsecond');
SELECT shortage FROM stocksync.reserve('shop', 'O-8', 'B', 1, ttl => '1 microsecond');
SELECT stocksync.commit('shop', 'O-8');
SELECT pg_sleep(0.01);
BEGIN;
SELECT stocksync.expire_holds(1);
SELECT stocksync.expire_holds();
COMMIT;
SELECT stocksync.expire_holds();
SELECT order_ref, state FROM stocksync.reservation WHERE order_ref IN ('O-6', 'O-7', 'O-8') ORDER BY order_ref;
SELECT kind, sku, qty, d_reserved, reason FROM stocksync.ledger WHERE reason = 'expired' ORDER BY sku, qty;
SELECT stocksync.commit('shop', 'O-6');
-- A cancel that arrives after the hold expired: its units are back already,
-- so release() returns the state and writes nothing (docs/sql-reference.md).
SELECT count(*) AS ledger_rows FROM stocksync.ledger \gset
SELECT stocksync.release('shop', 'O-6');
SELECT count(*) - :ledger_rows AS new_ledger_rows FROM stocksync.ledger;
SELECT * FROM pg_temp.levels();

-- A shipment of more units than are on hand outside damaged and quality
-- control (the good ones were counted lost while committed): the units that
-- left were among the damaged, then the quality-control ones, so neither
-- stays above on_hand.
INSERT INTO stocksync.item (sku) VALUES ('CUP');
SELECT stocksync.receive('CUP', 10);
SELECT shortage FROM stocksync.reserve('shop', 'O-9', 'CUP', 6);
SELECT stocksync.commit('shop', 'O-9');
SELECT stocksync.move('CUP', 3, 'available', 'damaged'), stocksync.move('CUP', 1, 'available', 'quality_control');
SELECT stocksync.adjust('CUP', -4, 'lost');
SELECT stocksync.fulfill('shop', 'O-9');
SELECT kind, qty, d_on_hand, d_committed, d_damaged, d_quality_control FROM stocksync.ledger
 WHERE sku = 'CUP' AND kind = 'FULFILL';
SELECT on_hand, committed, damaged, quality_control, available FROM stocksync.stock WHERE sku = 'CUP';

-- A soft hold may be shipped without a commit (reserved -> fulfilled), and
-- a committed order's hold cannot be extended.
SELECT shortage FROM stocksync.reserve('shop', 'O-10', 'A', 1);
SELECT stocksync.fulfill('shop', 'O-10');
SELECT stocksync.extend('shop', 'O-8', '1 hour');

SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
