-- Guarantees that no other test pinned down: each case here failed to fail
-- under a small change of the code (mutation testing), and now does.
CREATE EXTENSION stocksync;
\i sql/include/try.sql
INSERT INTO stocksync.item (sku) VALUES ('SAFE'), ('PEG'), ('ODD');
INSERT INTO stocksync.location (code) VALUES ('berlin');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');

-- Safety stock is not available on any path: 10 on hand, 4 kept back.
-- The single-line pessimistic reservation takes the fast path; a multi-line
-- order, an optimistic one and a transfer each check available themselves.
SELECT stocksync.receive('SAFE', 10), stocksync.receive('PEG', 10);
SELECT stocksync.move('SAFE', 4, 'available', 'safety_stock');
SELECT pg_temp.try($$SELECT stocksync.reserve('shop', 'G-1',
    '[{"sku": "SAFE", "qty": 7}, {"sku": "PEG", "qty": 1}]'::jsonb)$$) AS multi_line;
SELECT pg_temp.try($$SELECT stocksync.reserve('shop', 'G-2', 'SAFE', 7, strategy => 'optimistic')$$) AS optimistic;
SELECT pg_temp.try($$SELECT stocksync.transfer('SAFE', 7, 'default', 'berlin')$$) AS transfer;
-- Recorded, the shortage is what safety stock keeps back: 8 wanted, 6 there.
SELECT shortage FROM stocksync.reserve('shop', 'G-3',
    '[{"sku": "SAFE", "qty": 8}, {"sku": "PEG", "qty": 1}]'::jsonb, on_shortage => 'record');
SELECT sku, on_hand, reserved, safety_stock, available FROM stocksync.stock WHERE sku IN ('SAFE', 'PEG') ORDER BY sku;

-- An oversell of a single unit is marked in the ledger as any other.
SELECT stocksync.receive('ODD', 2);
SELECT shortage FROM stocksync.reserve('shop', 'G-4', 'ODD', 3, on_shortage => 'record');
SELECT kind, sku, qty, d_reserved, reason FROM stocksync.ledger WHERE reservation_id =
    (SELECT id FROM stocksync.reservation WHERE order_ref = 'G-4');
-- Oversold by one, the order cannot ship: only 2 of its 3 units exist.
SELECT pg_temp.try($$SELECT stocksync.fulfill('shop', 'G-4')$$) AS ship_oversold;
SELECT sku, on_hand, reserved FROM stocksync.stock WHERE sku = 'ODD';

-- A replay must name the same locations too: the same SKU and quantity at
-- another location is another order (SS006), and holds nothing there.
SELECT shortage FROM stocksync.reserve('shop', 'G-5', '[{"sku": "PEG", "qty": 1, "location": "default"}]'::jsonb);
SELECT pg_temp.try($$SELECT stocksync.reserve('shop', 'G-5',
    '[{"sku": "PEG", "qty": 1, "location": "berlin"}]'::jsonb)$$) AS other_location;
SELECT pg_temp.try($$SELECT stocksync.reserve('shop', 'G-5', 'PEG', 1, location => 'berlin')$$) AS other_location_single;
SELECT status, sqlstate FROM stocksync.reserve_batch('[{"channel": "shop", "order_ref": "G-5",
    "lines": [{"sku": "PEG", "qty": 1, "location": "berlin"}]}]');
SELECT sku, location, reserved FROM stocksync.stock WHERE sku = 'PEG' ORDER BY location;

-- expire_holds() takes only holds whose time is up: one that expires in
-- half a minute stays held.
SELECT expires_at > now() AS in_the_future FROM stocksync.reserve('shop', 'G-6', 'PEG', 1, ttl => '30 seconds');
SELECT stocksync.expire_holds() AS expired;
SELECT state FROM stocksync.reservation WHERE order_ref = 'G-6';

-- verify_ledger() names a projection below its ledger as well as one above.
UPDATE stocksync.stock_level SET on_hand = on_hand - 1 WHERE sku = 'ODD' AND location = 'default';
SELECT * FROM stocksync.verify_ledger();
UPDATE stocksync.stock_level SET on_hand = on_hand + 1 WHERE sku = 'ODD' AND location = 'default';

SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
