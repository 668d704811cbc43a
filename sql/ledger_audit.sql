-- What the ledger and the order rows tell an auditor.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A');
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.channel (code, kind) VALUES ('web', 'shopify');
SELECT stocksync.receive('A', 20);

-- A transfer's two rows name each other's location, so that they pair up
-- even without a reference (several transfers in one transaction).
BEGIN;
SELECT stocksync.transfer('A', 2, 'default', 'east');
SELECT stocksync.transfer('A', 1, 'east', 'default');
SELECT kind, location, qty, d_on_hand, reason, reference FROM stocksync.ledger WHERE kind = 'TRANSFER' ORDER BY id;
COMMIT;

-- A hold that expires after part of it shipped is 'expired' (a release
-- would leave it 'fulfilled'), so that a payment arriving later is kept as a
-- payment after expiry for an operator to hold the released units again; its shipped
-- units can still come back, and the ledger explains each step.
SELECT shortage FROM stocksync.reserve('web', 'o1', 'A', 2, ttl => '1 millisecond');
SELECT stocksync.fulfill('web', 'o1', '[{"sku": "A", "qty": 1}]', 'ship-1');
SELECT shortage FROM stocksync.reserve('web', 'o2', 'A', 2, ttl => '1 millisecond');
SELECT pg_sleep(0.01);
SELECT stocksync.expire_holds();
SELECT order_ref, state, qty, fulfilled FROM stocksync.reservation_line ORDER BY order_ref;
SELECT stocksync.release('web', 'o1');  -- nothing left to release
SELECT stocksync.return_items('web', 'o1', NULL, 'available', 'ret-1');
SELECT order_ref, state, qty, fulfilled, returned FROM stocksync.reservation_line ORDER BY order_ref;
SELECT kind, qty, d_reserved, d_on_hand, reason, reference FROM stocksync.ledger
 WHERE reservation_id = (SELECT id FROM stocksync.reservation WHERE order_ref = 'o1') ORDER BY id;
SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
