-- The demo's shop: one hot SKU with 100 units, a few ordinary ones, four channels.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.location (code, name) VALUES ('berlin', 'Berlin warehouse');
INSERT INTO stocksync.item (sku, title) VALUES
    ('HOODIE-BF', 'Black Friday hoodie'), ('TEE-BLK-M', 'T-shirt black M'), ('MUG-01', 'Mug'), ('CAP-RED', 'Red cap');
INSERT INTO stocksync.channel (code, kind) VALUES
    ('shop', 'shopify'), ('amazon', 'amazon'), ('ebay', 'ebay'), ('woo', 'woocommerce');
SELECT stocksync.receive('HOODIE-BF', 100, reference => 'PO-1001'),
       stocksync.receive('TEE-BLK-M', 40, reference => 'PO-1002'),
       stocksync.receive('MUG-01', 25, reference => 'PO-1003'),
       stocksync.receive('CAP-RED', 10, 'berlin', reference => 'PO-1004');

-- What each buyer did, for the report (the demo's own bookkeeping, not stocksync's).
CREATE UNLOGGED TABLE demo_attempt (channel text, order_ref text, sku text, qty int, outcome text, replays int);

-- One buyer: an order on a random channel. Shop and WooCommerce are checkouts
-- (refused when short); Amazon and eBay orders already happened on the
-- marketplace, so they are recorded even when short. Some webhooks arrive twice.
CREATE FUNCTION demo_buy(n integer, pick integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    channel text := (ARRAY['shop', 'amazon', 'ebay', 'woo'])[1 + pick % 4];
    sku text := CASE WHEN pick % 10 < 8 THEN 'HOODIE-BF' ELSE (ARRAY['TEE-BLK-M', 'MUG-01'])[1 + n % 2] END;
    qty integer := 1 + n % 3;
    order_ref text := channel || '-' || n;
    first stocksync.reservation_result;
    again stocksync.reservation_result;
    replays integer := 0;
BEGIN
    -- A marketplace stops selling once it has been told the SKU is gone; until
    -- then (the last couple of units) its buyers can still order.
    IF channel IN ('amazon', 'ebay') AND stocksync.available(sku) < -1 THEN
        INSERT INTO demo_attempt VALUES (channel, order_ref, sku, qty, 'not offered: shown as 0', 0);
        RETURN;
    END IF;
    first := stocksync.reserve(channel, order_ref, sku, qty,
                               on_shortage => CASE WHEN channel IN ('amazon', 'ebay') THEN 'record' ELSE 'reject' END);
    IF pick % 5 = 0 THEN   -- the channel delivers the same order again
        again := stocksync.reserve(channel, order_ref, sku, qty,
                                   on_shortage => CASE WHEN channel IN ('amazon', 'ebay') THEN 'record' ELSE 'reject' END);
        IF again IS DISTINCT FROM first THEN
            RAISE EXCEPTION 'replay of % returned another result', order_ref;
        END IF;
        replays := 1;
    END IF;
    IF pick % 7 = 0 THEN
        PERFORM stocksync.release(channel, order_ref, 'buyer cancelled');
    ELSIF pick % 3 <> 0 THEN
        PERFORM stocksync.commit(channel, order_ref);    -- paid; the rest stay soft holds
    END IF;
    INSERT INTO demo_attempt VALUES (channel, order_ref, sku, qty,
        CASE WHEN first.shortage > 0 THEN 'recorded short' ELSE 'held' END, replays);
EXCEPTION WHEN SQLSTATE 'SS005' THEN
    INSERT INTO demo_attempt VALUES (channel, order_ref, sku, qty, 'refused: out of stock', 0);
END $$;
