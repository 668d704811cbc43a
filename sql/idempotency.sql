-- (channel, order_ref) is the idempotency key of reserve().
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('woo', 'woocommerce');
SELECT stocksync.receive('A', 5), stocksync.receive('B', 5);

CREATE TABLE first_result AS SELECT * FROM stocksync.reserve('shop', '1001', 'A', 2);
-- A replay returns the original result and reserves nothing more.
SELECT r = f AS same_result FROM stocksync.reserve('shop', '1001', 'A', 2) r, first_result f;
SELECT r = f AS same_result FROM stocksync.reserve('shop', '1001', '[{"sku": "A", "qty": 2}]') r, first_result f;
SELECT reserved FROM stocksync.stock WHERE sku = 'A';
SELECT count(*) AS reserve_rows FROM stocksync.ledger WHERE kind = 'RESERVE';

-- The same key with other lines is an error and writes nothing.
SELECT stocksync.reserve('shop', '1001', 'A', 3);
SELECT stocksync.reserve('shop', '1001', 'B', 2);
SELECT stocksync.reserve('shop', '1001', '[{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}]');
SELECT reserved FROM stocksync.stock WHERE sku IN ('A', 'B') ORDER BY sku;

-- Line order and split lines do not make an order different.
SELECT shortage FROM stocksync.reserve('shop', '1002', '[{"sku": "B", "qty": 1}, {"sku": "A", "qty": 1}]');
SELECT shortage FROM stocksync.reserve('shop', '1002', '[{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]');
SELECT shortage FROM stocksync.reserve('shop', '1002', '[{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]');

-- The same order_ref on another channel is another order.
SELECT shortage FROM stocksync.reserve('woo', '1001', 'A', 2);
SELECT channel, order_ref, state FROM stocksync.reservation ORDER BY channel, order_ref;

-- A replay after commit still returns the original reservation.
SELECT stocksync.commit('shop', '1001');
SELECT r.reservation_id = f.reservation_id AS same_reservation
  FROM stocksync.reserve('shop', '1001', 'A', 2) r, first_result f;

-- A replay of an oversold marketplace order returns the recorded shortage.
SELECT shortage FROM stocksync.reserve('woo', '2001', 'B', 9, on_shortage => 'record');
SELECT shortage FROM stocksync.reserve('woo', '2001', 'B', 9, on_shortage => 'record');

SELECT * FROM stocksync.verify_ledger();
DROP TABLE first_result;
DROP EXTENSION stocksync CASCADE;
