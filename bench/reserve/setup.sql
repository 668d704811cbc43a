-- Seeds the reserve() benchmark: N SKUs with ample stock for stocksync and for
-- both peers, plus the hot SKU. :skus is set by the runner.
CREATE EXTENSION IF NOT EXISTS stocksync;
INSERT INTO stocksync.channel (code, kind) VALUES ('bench', 'webhook') ON CONFLICT DO NOTHING;
INSERT INTO stocksync.item (sku) SELECT 'sku-' || g FROM generate_series(0, :skus) g ON CONFLICT DO NOTHING;
SELECT count(stocksync.receive('sku-' || g, 100000000)) FROM generate_series(0, :skus) g;

-- Peer 1: the naive decrement.
DROP TABLE IF EXISTS naive_stock;
CREATE TABLE naive_stock (sku text PRIMARY KEY, qty integer NOT NULL) WITH (fillfactor = 70);
INSERT INTO naive_stock SELECT 'sku-' || g, 100000000 FROM generate_series(0, :skus) g;

-- Peer 2: a plain PL/pgSQL ledger reserve.
DROP TABLE IF EXISTS peer_stock, peer_reservation, peer_ledger CASCADE;
CREATE TABLE peer_stock (sku text, location text, on_hand integer NOT NULL, reserved integer NOT NULL DEFAULT 0,
                         version bigint NOT NULL DEFAULT 0, PRIMARY KEY (sku, location)) WITH (fillfactor = 70);
CREATE TABLE peer_reservation (channel text, order_ref text, sku text NOT NULL, qty integer NOT NULL,
                               expires_at timestamptz NOT NULL, PRIMARY KEY (channel, order_ref));
CREATE TABLE peer_ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
                          kind text NOT NULL, sku text NOT NULL, location text NOT NULL, qty integer NOT NULL,
                          order_ref text);
INSERT INTO peer_stock (sku, location, on_hand) SELECT 'sku-' || g, 'default', 100000000 FROM generate_series(0, :skus) g;
CREATE OR REPLACE FUNCTION peer_reserve(p_channel text, p_order text, p_sku text, p_qty integer)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  avail integer;
BEGIN
  SELECT on_hand - reserved INTO avail FROM peer_stock WHERE sku = p_sku AND location = 'default' FOR UPDATE;
  IF avail IS NULL OR avail < p_qty THEN
    RAISE EXCEPTION 'insufficient stock for %', p_sku;
  END IF;
  INSERT INTO peer_reservation VALUES (p_channel, p_order, p_sku, p_qty, now() + interval '15 minutes')
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  INSERT INTO peer_ledger (kind, sku, location, qty, order_ref) VALUES ('RESERVE', p_sku, 'default', p_qty, p_order);
  UPDATE peer_stock SET reserved = reserved + p_qty, version = version + 1 WHERE sku = p_sku AND location = 'default';
  RETURN true;
END $$;
VACUUM ANALYZE;
