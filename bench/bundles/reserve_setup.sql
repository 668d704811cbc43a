-- Seeds the bundle reserve() benchmark: :kits bundles, each of three
-- components of its own (qty 1), with ample stock.
CREATE EXTENSION IF NOT EXISTS stocksync;
INSERT INTO stocksync.channel (code, kind) VALUES ('bench', 'webhook');
INSERT INTO stocksync.item (sku) SELECT 'part-' || g FROM generate_series(0, 3 * :kits + 2) g;
INSERT INTO stocksync.item (sku, kind) SELECT 'kit-' || g, 'bundle' FROM generate_series(0, :kits) g;
INSERT INTO stocksync.bom SELECT 'kit-' || g, 'part-' || (3 * g + p), 1
  FROM generate_series(0, :kits) g, generate_series(0, 2) p;
SELECT count(stocksync.receive('part-' || g, 100000000)) FROM generate_series(0, 3 * :kits + 2) g;
VACUUM ANALYZE;
