-- The catalog a user fills in: items, locations, channels, listings.
CREATE EXTENSION stocksync;

-- A default location exists after CREATE EXTENSION.
SELECT code FROM stocksync.location;

INSERT INTO stocksync.item (sku, title) VALUES ('TEE-S', 'T-shirt S');
INSERT INTO stocksync.item (sku, kind) VALUES ('TEE-KIT', 'bundle');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('amzn', 'amazon');
INSERT INTO stocksync.channel (code, kind, mode) VALUES ('ebay-de', 'ebay', 'shadow');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', 'gid://shopify/InventoryItem/1', 'TEE-S');
SELECT sku, kind, status FROM stocksync.item ORDER BY sku;
SELECT code, kind, mode FROM stocksync.channel ORDER BY code;
SELECT channel, external_id, sku FROM stocksync.listing;

-- The catalog rejects what it cannot mean.
\set VERBOSITY terse
INSERT INTO stocksync.item (sku, kind) VALUES ('X', 'kit');
INSERT INTO stocksync.item (sku, status) VALUES ('X', 'gone');
INSERT INTO stocksync.item (sku) VALUES ('');
INSERT INTO stocksync.channel (code, kind) VALUES ('etsy', 'etsy');
INSERT INTO stocksync.channel (code, kind, mode) VALUES ('w', 'woocommerce', 'sleeping');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('nowhere', '1', 'TEE-S');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', '2', 'NOPE');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', 'gid://shopify/InventoryItem/1', 'TEE-S');
-- Codes are index keys, and a SKU's stock row is keyed by the SKU and the
-- location together (an order by channel and order_ref): each code is at most
-- 500 bytes, so that every key stocksync makes of them fits an index entry.
INSERT INTO stocksync.item (sku) SELECT string_agg(md5(i::text), '') FROM generate_series(1, 60) i;
INSERT INTO stocksync.location (code) SELECT string_agg(md5((-i)::text), '') FROM generate_series(1, 60) i;
INSERT INTO stocksync.channel (code, kind) SELECT repeat('c', 501), 'webhook';
INSERT INTO stocksync.item (sku) VALUES (repeat('é', 250));
SELECT octet_length(sku) FROM stocksync.item WHERE sku LIKE 'é%';

\set VERBOSITY default
-- Bundles hold no stock of their own.
SELECT stocksync.receive('TEE-KIT', 1);

DROP EXTENSION stocksync CASCADE;
