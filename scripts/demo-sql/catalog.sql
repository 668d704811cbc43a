-- The demo's shop: 200 ordinary SKUs and one hot SKU in two warehouses, three
-- bundles, and four channels with their buffers and pools. Every SKU and
-- bundle is listed on every channel. Deterministic (no random()), so that the
-- stocksync run and the polling run start from the same catalog.
CREATE EXTENSION stocksync;

UPDATE stocksync.location SET name = 'Berlin warehouse' WHERE code = 'default';
INSERT INTO stocksync.location (code, name) VALUES ('leipzig', 'Leipzig warehouse');

-- The Black Friday hoodie: 100 units in Berlin, wanted by every channel at once.
INSERT INTO stocksync.item (sku, title) VALUES ('HOODIE-BF', 'Black Friday hoodie');
INSERT INTO stocksync.item (sku, title)
SELECT 'SKU-' || lpad(g::text, 4, '0'), 'Catalog item ' || g FROM generate_series(1, 200) g;

-- Bundles hold no stock of their own: what they may show follows their parts.
INSERT INTO stocksync.item (sku, kind, title) VALUES
    ('GIFT-SET', 'bundle', 'Gift set: 2 x SKU-0001 and 1 x SKU-0002'),
    ('MUG-4PACK', 'bundle', 'Four mugs (SKU-0010)'),
    ('STARTER-KIT', 'bundle', 'SKU-0003, SKU-0004 and SKU-0005');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES
    ('GIFT-SET', 'SKU-0001', 2), ('GIFT-SET', 'SKU-0002', 1),
    ('MUG-4PACK', 'SKU-0010', 4),
    ('STARTER-KIT', 'SKU-0003', 1), ('STARTER-KIT', 'SKU-0004', 1), ('STARTER-KIT', 'SKU-0005', 1);

-- Goods in: every ordinary SKU in Berlin (12..51 units), every third also in Leipzig.
SELECT stocksync.receive('HOODIE-BF', 100, reference => 'PO-BF-1');
SELECT stocksync.receive('SKU-' || lpad(g::text, 4, '0'), 12 + (g * 7) % 40, reference => 'PO-2026-' || g)
  FROM generate_series(1, 200) g;
SELECT stocksync.receive('SKU-' || lpad(g::text, 4, '0'), 5 + g % 11, 'leipzig', reference => 'PO-2026-L' || g)
  FROM generate_series(3, 200, 3) g;

-- Every buyer wants the hoodie: its stock is split into buckets so that
-- reservations do not queue on one row (docs/hot-skus.md).
SELECT stocksync.set_hot('HOODIE-BF', buckets => 32);

-- Channels: codes are their kinds, and the simulator's channel names.
INSERT INTO stocksync.channel (code, kind) VALUES
    ('shopify', 'shopify'), ('amazon', 'amazon'), ('ebay', 'ebay'), ('woocommerce', 'woocommerce');

-- Buffers and pools, from how fast each channel learns of a change and of a sale:
-- - shopify: own shop, order webhooks and compare-and-set pushes: 1 unit;
-- - woocommerce: order webhooks, plain overwrites: 1 unit or 2 %;
-- - ebay: orders only by polling (seconds late): 2 units, and at most 40 % of the stock (soft cap);
-- - amazon: applies a pushed quantity 30-120 s after accepting it and lists an order
--   only 2 minutes after it happened, so its share is fenced off: a hard pool of
--   15 % (the other channels may show only the other 85 %) less 2 units.
-- On top, a dynamic buffer on the three channels that sell from a shared count:
-- units sold per second over the last 30 s times how long the channel may go
-- on selling a unit the ledger already gave away (its protection window:
-- webhook and push for Shopify and WooCommerce, a polling round and a push
-- for eBay). Quiet SKUs keep their small fixed buffer; during the spike the
-- hoodie's buffer grows with its sales.
INSERT INTO stocksync.channel_rule (channel, buffer_min, buffer_percent, pool_percent, pool_mode,
                                    velocity_window, protection_window) VALUES
    ('shopify', 1, 0, NULL, 'soft', '30 seconds', '3 seconds'),
    ('woocommerce', 1, 2, NULL, 'soft', '30 seconds', '3 seconds'),
    ('ebay', 2, 0, 40, 'soft', '30 seconds', '10 seconds'),
    ('amazon', 2, 0, 15, 'hard', NULL, NULL);

-- Listings: each channel's own identifiers. Shopify: inventory item ids (its
-- webhooks name variant ids, which the simulator maps); Amazon and eBay: seller
-- SKU; WooCommerce: product ids.
CREATE TEMP TABLE demo_sku AS
SELECT sku, row_number() OVER (ORDER BY sku) AS n FROM stocksync.item;
INSERT INTO stocksync.listing (channel, external_id, sku)
SELECT 'shopify', (40000000 + n)::text, sku FROM demo_sku
UNION ALL SELECT 'amazon', sku, sku FROM demo_sku
UNION ALL SELECT 'ebay', sku, sku FROM demo_sku
UNION ALL SELECT 'woocommerce', (7000 + n)::text, sku FROM demo_sku;
