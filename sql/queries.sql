-- Reading stock: available(), the stock view, stock_at() and verify_ledger().
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('EMPTY');
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');

SELECT stocksync.receive('A', 10);
SELECT clock_timestamp() AS after_receipt \gset
SELECT stocksync.receive('A', 4, 'east');
SELECT shortage FROM stocksync.reserve('shop', 'O-1', 'A', 3);
SELECT clock_timestamp() AS after_reserve \gset
SELECT stocksync.move('A', 2, 'available', 'damaged');
SELECT stocksync.commit('shop', 'O-1');

SELECT stocksync.available('A') AS everywhere, stocksync.available('A', 'default') AS at_default,
       stocksync.available('A', 'east') AS at_east;
SELECT stocksync.available('EMPTY') AS no_rows_yet, stocksync.available('EMPTY', 'east') AS nor_here;
SELECT * FROM stocksync.stock ORDER BY sku, location;

-- The past, rebuilt from the ledger.
SELECT * FROM stocksync.stock_at('A', :'after_receipt');
SELECT * FROM stocksync.stock_at('A', :'after_reserve');
SELECT * FROM stocksync.stock_at('A', :'after_reserve', 'east');
SELECT * FROM stocksync.stock_at('A', now());
SELECT * FROM stocksync.stock_at('A', '2000-01-01');

-- verify_ledger() is empty while the projection matches the ledger, and names
-- every difference when someone changed the projection behind its back.
SELECT * FROM stocksync.verify_ledger();
UPDATE stocksync.stock_level SET on_hand = on_hand + 1, reserved = 7 WHERE sku = 'A' AND location = 'east';
INSERT INTO stocksync.stock_level (sku, location, incoming) VALUES ('EMPTY', 'east', 3);
SELECT * FROM stocksync.verify_ledger();

DROP EXTENSION stocksync CASCADE;
