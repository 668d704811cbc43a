-- Seeds bench/hot on top of bench/reserve/setup.sql (sku-0 .. sku-:skus, 100 million
-- units each): the SKU that gets set_hot (sku-:hot, seeded the same way; the runner
-- calls set_hot) and the unit-row peer. Variables are set by the runner.
INSERT INTO stocksync.item (sku) VALUES ('sku-' || :hot) ON CONFLICT DO NOTHING;
SELECT stocksync.receive('sku-' || :hot, 100000000);

-- Peer: one row per unit, claimed with FOR UPDATE SKIP LOCKED (units.pgbench).
-- :units_per_sku units for each of sku-1 .. sku-:skus (the uniform load) and
-- :hot_units for sku-0 (the hot one). The partial index holds only free units,
-- so a claimed unit drops out of it.
CREATE TABLE units (unit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, sku text NOT NULL, order_ref text);
INSERT INTO units (sku) SELECT 'sku-' || s FROM generate_series(1, :skus) s, generate_series(1, :units_per_sku);
INSERT INTO units (sku) SELECT 'sku-0' FROM generate_series(1, :hot_units);
CREATE INDEX units_free ON units (sku) WHERE order_ref IS NULL;
-- The reservation row gives the peer reserve()'s replay key (channel, order_ref)
-- and an expiry; it keeps no ledger and no expiry index.
CREATE TABLE unit_reservation (channel text, order_ref text, sku text NOT NULL, unit_id bigint NOT NULL,
                               expires_at timestamptz NOT NULL, PRIMARY KEY (channel, order_ref));
VACUUM ANALYZE units, unit_reservation;
