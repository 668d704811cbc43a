-- reserve() of one line gives the same outcome on its fast path and on the
-- general path, for every kind of call: the same set of calls runs twice
-- from the same state, once as usual and once with a trigger of the user's
-- on the ledger (the fast path steps aside for it), and the outcomes (the
-- shortage, whether there is an expiry, or the SQLSTATE and message of the
-- error) and what the calls left in the ledger and projection are compared.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('PART'), ('SCARCE'), ('HOT');
INSERT INTO stocksync.item (sku, kind) VALUES ('KIT', 'bundle');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('KIT', 'PART', 2);
INSERT INTO stocksync.item (sku, status) VALUES ('OLD', 'discontinued');
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
INSERT INTO stocksync.channel (code, kind, mode) VALUES ('quiet', 'ebay', 'paused');
SELECT stocksync.receive('A', 20), stocksync.receive('B', 2, 'east'), stocksync.receive('PART', 6),
       stocksync.receive('OLD', 3), stocksync.receive('SCARCE', 3), stocksync.receive('HOT', 8);
SELECT stocksync.set_hot('HOT', 2);

-- Every call: an order_ref of '' stays empty, any other gets the run's prefix
-- (so that both runs use keys of their own), and calls with the same
-- order_ref within a run are replays of each other.
CREATE TEMP TABLE calls (n integer, channel text, order_ref text, sku text, qty integer, ttl interval,
                         location text, on_shortage text);
INSERT INTO calls VALUES
    (1, 'shop', 'new', 'A', 2, '15 minutes', 'default', 'reject'),
    (2, 'shop', 'new', 'A', 2, '15 minutes', 'default', 'reject'),    -- replay
    (3, 'shop', 'new', 'A', 3, '15 minutes', 'default', 'reject'),    -- same key, other lines
    (4, 'shop', 'new', 'B', 2, '15 minutes', 'default', 'reject'),    -- same key, other sku
    (5, 'shop', 'short', 'A', 90, '15 minutes', 'default', 'reject'),
    (6, 'shop', 'short', 'A', 90, '15 minutes', 'default', 'reject'), -- refused again, nothing stored
    (7, 'shop', 'oversold', 'SCARCE', 9, '15 minutes', 'default', 'record'),
    (8, 'shop', 'oversold', 'SCARCE', 9, '15 minutes', 'default', 'record'),
    (9, 'shop', 'east', 'B', 1, '15 minutes', 'east', 'reject'),
    (10, 'shop', 'nowhere', 'A', 1, '15 minutes', 'nowhere', 'reject'),
    (11, 'nope', 'unknown-channel', 'A', 1, '15 minutes', 'default', 'reject'),
    (12, 'quiet', 'paused-channel', 'A', 1, '15 minutes', 'default', 'reject'),
    (13, 'shop', 'unknown-sku', 'NOPE', 1, '15 minutes', 'default', 'reject'),
    (14, 'shop', 'no-stock-row', 'A', 1, '15 minutes', 'east', 'record'),
    (15, 'shop', 'zero', 'A', 0, '15 minutes', 'default', 'reject'),
    (16, 'shop', 'negative', 'A', -1, '15 minutes', 'default', 'reject'),
    (17, 'shop', 'no-ttl', 'A', 1, '0 minutes', 'default', 'reject'),
    (18, 'shop', 'negative-ttl', 'A', 1, '-1 minute', 'default', 'reject'),
    (19, 'shop', '', 'A', 1, '15 minutes', 'default', 'reject'),
    (20, 'shop', 'null-qty', 'A', NULL, '15 minutes', 'default', 'reject'),
    (21, 'shop', 'null-location', 'A', 1, '15 minutes', NULL, 'reject'),
    (22, 'shop', 'bundle', 'KIT', 1, '15 minutes', 'default', 'reject'),
    (23, 'shop', 'bundle', 'KIT', 1, '15 minutes', 'default', 'reject'),
    (24, 'shop', 'component', 'PART', 1, '15 minutes', 'default', 'reject'),
    (25, 'shop', 'discontinued', 'OLD', 1, '15 minutes', 'default', 'reject'),
    (26, 'shop', 'bad-mode', 'A', 1, '15 minutes', 'default', 'sometimes'),
    (27, 'shop', repeat('long', 249), 'A', 1, '15 minutes', 'default', 'reject'),
    (28, 'shop', 'hour', 'A', 1, '1 hour', 'default', 'reject'),
    (29, 'shop', 'hot', 'HOT', 3, '15 minutes', 'default', 'reject'),
    (30, 'shop', 'hot', 'HOT', 3, '15 minutes', 'default', 'reject'),
    (31, 'shop', 'hot-more', 'HOT', 4, '15 minutes', 'default', 'reject'),
    (32, 'shop', 'hot-short', 'HOT', 5, '15 minutes', 'default', 'record');

CREATE FUNCTION pg_temp.run(prefix text) RETURNS TABLE (n integer, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    c record;
    r record;
BEGIN
    FOR c IN SELECT * FROM pg_temp.calls ORDER BY calls.n LOOP
        n := c.n;
        BEGIN
            SELECT * INTO r FROM stocksync.reserve(c.channel, CASE WHEN c.order_ref OPERATOR(pg_catalog.=) '' THEN '' ELSE prefix || c.order_ref END,
                                                   c.sku, c.qty, c.ttl, c.location, 'pessimistic', c.on_shortage);
            outcome := format('shortage %s, expiry %s', r.shortage, r.expires_at IS NOT NULL);
        EXCEPTION WHEN OTHERS THEN
            outcome := SQLSTATE || ' ' || replace(SQLERRM, prefix, '');
        END;
        RETURN NEXT;
    END LOOP;
END $$;

-- What the calls leave behind, without the keys' prefix and ids.
CREATE FUNCTION pg_temp.left_behind() RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(x, E'\n' ORDER BY x) FROM (
        SELECT format('stock %s/%s: on_hand %s reserved %s available %s', sku, location, on_hand, reserved, available) AS x
          FROM stocksync.stock
        UNION ALL
        SELECT format('ledger %s %s/%s %s reserved %s %s', kind, sku, location, qty, d_reserved, coalesce(reason, ''))
          FROM stocksync.ledger WHERE kind OPERATOR(pg_catalog.=) 'RESERVE'
        UNION ALL
        SELECT format('order %s %s %s %s %s', state, skus, locations, quantities, shortages)
          FROM stocksync.reservation) rows $$;

BEGIN;
SELECT string_agg(n || ': ' || outcome, E'\n' ORDER BY n) AS fast_outcomes FROM pg_temp.run('f-') \gset
SELECT pg_temp.left_behind() AS fast_left \gset
ROLLBACK;

CREATE FUNCTION public.keep_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER keep_row BEFORE INSERT ON stocksync.ledger FOR EACH ROW EXECUTE FUNCTION public.keep_row();
BEGIN;
SELECT string_agg(n || ': ' || outcome, E'\n' ORDER BY n) AS general_outcomes FROM pg_temp.run('g-') \gset
SELECT pg_temp.left_behind() AS general_left \gset
ROLLBACK;
DROP TRIGGER keep_row ON stocksync.ledger;
DROP FUNCTION public.keep_row();

SELECT :'fast_outcomes' = :'general_outcomes' AS same_outcomes, :'fast_left' = :'general_left' AS same_state;
-- The outcomes themselves (both paths' alike).
SELECT :'fast_outcomes' AS outcomes;
-- A default of the user's on a column the general path's inserts leave to
-- their defaults sends the fast paths (this and commit()'s) aside: their
-- direct writes would pass it by.
ALTER TABLE stocksync.ledger ALTER at SET DEFAULT '2001-02-03 04:05:06+00';
ALTER TABLE stocksync.reservation ALTER created_at SET DEFAULT '2001-02-03 04:05:06+00';
SELECT stocksync.reserve('shop', 'user-default', 'A', 1) IS NOT NULL AS held;
SELECT stocksync.commit('shop', 'user-default');
SELECT l.kind, l.at = '2001-02-03 04:05:06+00' AS users_default
  FROM stocksync.ledger l JOIN stocksync.reservation r ON r.id = l.reservation_id
 WHERE r.order_ref = 'user-default' ORDER BY l.id;
SELECT created_at = '2001-02-03 04:05:06+00' AS users_default FROM stocksync.reservation WHERE order_ref = 'user-default';
ALTER TABLE stocksync.ledger ALTER at SET DEFAULT now();
ALTER TABLE stocksync.reservation ALTER created_at SET DEFAULT now();
DROP EXTENSION stocksync CASCADE;
