-- Seeds the listing_target benchmark: :items simple SKUs with stock, :bundles
-- bundles of two of them, four channels with different rules, and a listing
-- of every SKU on every channel (4 x (:items + :bundles) listings).
CREATE EXTENSION IF NOT EXISTS stocksync;
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('amzn', 'amazon'), ('ebay', 'ebay'),
    ('woo', 'woocommerce');
INSERT INTO stocksync.channel_rule (channel, buffer_min, pool_percent, pool_mode) VALUES ('amzn', 2, 15, 'hard');
INSERT INTO stocksync.channel_rule (channel, buffer_percent, buffer_min) VALUES ('ebay', 10, 1);
INSERT INTO stocksync.channel_rule (channel, listing_split) VALUES ('woo', 'split');
INSERT INTO stocksync.item (sku) SELECT 'sku-' || g FROM generate_series(1, :items) g;
INSERT INTO stocksync.item (sku, kind) SELECT 'kit-' || g, 'bundle' FROM generate_series(1, :bundles) g;
INSERT INTO stocksync.bom SELECT 'kit-' || g, 'sku-' || (2 * g), 2 FROM generate_series(1, :bundles) g;
INSERT INTO stocksync.bom SELECT 'kit-' || g, 'sku-' || (2 * g + 1), 1 FROM generate_series(1, :bundles) g;
SELECT count(stocksync.receive('sku-' || g, 10 + g % 90)) FROM generate_series(1, :items) g;
INSERT INTO stocksync.listing (channel, external_id, sku)
SELECT c.code, c.code || '-' || i.sku, i.sku FROM stocksync.channel c CROSS JOIN stocksync.item i;

-- The peer: listing_target as it was before bundles and channel rules (the
-- SKU's summed available, the summed versions), read by the same diff query.
DROP VIEW IF EXISTS plain_listing_target;
CREATE VIEW plain_listing_target AS
SELECT l.channel, l.external_id, l.sku, c.mode AS channel_mode,
       CASE WHEN c.mode = 'paused' OR i.status <> 'active' THEN 0
            ELSE GREATEST(COALESCE(s.available, 0), 0) END::integer AS desired_qty,
       COALESCE(s.version, 0)::bigint AS inputs_version
  FROM stocksync.listing l
  JOIN stocksync.channel c ON c.code = l.channel
  JOIN stocksync.item i ON i.sku = l.sku
  LEFT JOIN LATERAL (
      SELECT sum(on_hand - reserved - committed - damaged - quality_control - safety_stock) AS available,
             sum(version) AS version
        FROM stocksync.stock_level sl WHERE sl.sku = l.sku) s ON true;
VACUUM ANALYZE;
