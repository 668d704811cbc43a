-- commit() gives the same outcome and writes the same rows on its fast path
-- (fast_commit.cpp) and on the general path: the same orders are taken and
-- committed twice from the same state, once as usual and once with a
-- trigger of the user's on the order table (the fast path steps aside for
-- it), and the outcomes (the state returned, or the SQLSTATE and message of
-- the error) and every row the calls left in the ledger, the projection and
-- the order table are compared.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('PART'), ('HOT'), ('SCARCE');
INSERT INTO stocksync.item (sku, kind) VALUES ('KIT', 'bundle');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('KIT', 'PART', 2);
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
SELECT stocksync.receive('A', 20), stocksync.receive('B', 5, 'east'), stocksync.receive('PART', 10),
       stocksync.receive('HOT', 8), stocksync.receive('SCARCE', 1);
SELECT stocksync.set_hot('HOT', 2);

-- Orders in every state commit() may meet, then commit() of each (twice for
-- some: a retry), in one transaction per run. Keys carry the run's prefix.
CREATE FUNCTION pg_temp.run(p text) RETURNS TABLE (step text, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    ref text;
BEGIN
    PERFORM stocksync.reserve('shop', p || 'one', 'A', 2);
    PERFORM stocksync.reserve('shop', p || 'two', '[{"sku": "B", "qty": 1, "location": "east"}, {"sku": "A", "qty": 3}]');
    PERFORM stocksync.reserve('shop', p || 'hot', 'HOT', 3);
    PERFORM stocksync.reserve('shop', p || 'hot-and-plain', '[{"sku": "HOT", "qty": 1}, {"sku": "A", "qty": 1}]');
    PERFORM stocksync.reserve('shop', p || 'kit', 'KIT', 2);
    PERFORM stocksync.reserve('shop', p || 'short', 'SCARCE', 4, on_shortage => 'record');
    PERFORM stocksync.reserve('shop', p || 'part-shipped', '[{"sku": "A", "qty": 4}, {"sku": "B", "qty": 2, "location": "east"}]');
    PERFORM stocksync.fulfill('shop', p || 'part-shipped', '[{"sku": "A", "qty": 3}]');
    PERFORM stocksync.reserve('shop', p || 'released', 'A', 1);
    PERFORM stocksync.release('shop', p || 'released');
    PERFORM stocksync.reserve('shop', p || 'shipped', 'A', 1);
    PERFORM stocksync.fulfill('shop', p || 'shipped');
    PERFORM stocksync.reserve('shop', p || 'expired', 'A', 1, ttl => '1 second');
    UPDATE stocksync.reservation SET expires_at = now() - interval '1 minute' WHERE order_ref = p || 'expired';
    PERFORM stocksync.expire_holds(100);
    FOREACH ref IN ARRAY ARRAY['one', 'one', 'two', 'hot', 'hot-and-plain', 'kit', 'short', 'part-shipped',
                               'released', 'shipped', 'expired', 'nope'] LOOP
        step := ref;
        BEGIN
            outcome := stocksync.commit('shop', p || ref);
        EXCEPTION WHEN OTHERS THEN
            outcome := SQLSTATE || ' ' || replace(SQLERRM, p, '');
        END;
        RETURN NEXT;
    END LOOP;
END $$;

-- Every row the run left, without the keys' prefix and the ids.
CREATE FUNCTION pg_temp.left_behind(p text) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(x, E'\n' ORDER BY x) FROM (
        SELECT format('stock %s/%s: %s %s %s %s version %s', sku, location, on_hand, reserved, committed, available, version) AS x
          FROM stocksync.stock
        UNION ALL
        SELECT format('ledger %s %s/%s %s: %s %s %s, order %s, %s %s', l.kind, l.sku, l.location, l.qty, l.d_on_hand,
                      l.d_reserved, l.d_committed, replace(r.order_ref, p, ''), l.reason, l.reference)
          FROM stocksync.ledger l LEFT JOIN stocksync.reservation r ON r.id = l.reservation_id
         WHERE l.at = now()  -- the run's
        UNION ALL
        SELECT format('order %s %s %s %s %s shortages %s fulfilled %s returned %s expiry %s updated now %s',
                      replace(order_ref, p, ''), state, skus, locations, quantities, shortages, fulfilled, returned,
                      expires_at IS NOT NULL, updated_at = now())
          FROM stocksync.reservation) rows $$;

BEGIN;
SELECT string_agg(r.step || ': ' || r.outcome, E'\n' ORDER BY r.k) AS fast_outcomes
  FROM pg_temp.run('f-') WITH ORDINALITY AS r (step, outcome, k) \gset
SELECT pg_temp.left_behind('f-') AS fast_left \gset
ROLLBACK;

CREATE FUNCTION public.keep_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER keep_row BEFORE UPDATE ON stocksync.reservation FOR EACH ROW EXECUTE FUNCTION public.keep_row();
BEGIN;
SELECT string_agg(r.step || ': ' || r.outcome, E'\n' ORDER BY r.k) AS general_outcomes
  FROM pg_temp.run('g-') WITH ORDINALITY AS r (step, outcome, k) \gset
SELECT pg_temp.left_behind('g-') AS general_left \gset
ROLLBACK;
DROP TRIGGER keep_row ON stocksync.reservation;
DROP FUNCTION public.keep_row();

SELECT :'fast_outcomes' = :'general_outcomes' AS same_outcomes, :'fast_left' = :'general_left' AS same_rows;
-- Both paths' outcomes and rows alike: these.
SELECT :'fast_outcomes' AS outcomes;
SELECT :'fast_left' AS rows_left;

-- That the comparison above compared two paths: the general path's update of
-- the projection fires stocksync's BEFORE trigger on it (counted with
-- track_functions), the fast path's direct write does not.
CREATE FUNCTION pg_temp.trigger_calls() RETURNS bigint LANGUAGE sql AS $$
    SELECT COALESCE(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE funcname = 'stock_level_bundle_cascade' $$;
BEGIN;
SET LOCAL track_functions = 'all';
SELECT stocksync.reserve('shop', 'probe', 'A', 1) IS NOT NULL AS held, pg_temp.trigger_calls() AS calls_before;
SELECT stocksync.commit('shop', 'probe'), pg_temp.trigger_calls() AS calls_after_fast;
ROLLBACK;
CREATE FUNCTION public.keep_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER keep_row BEFORE UPDATE ON stocksync.reservation FOR EACH ROW EXECUTE FUNCTION public.keep_row();
BEGIN;
SET LOCAL track_functions = 'all';
SELECT stocksync.reserve('shop', 'probe', 'A', 1) IS NOT NULL AS held, pg_temp.trigger_calls() AS calls_before;
SELECT stocksync.commit('shop', 'probe'), pg_temp.trigger_calls() AS calls_after_general;
ROLLBACK;
DROP TRIGGER keep_row ON stocksync.reservation;
DROP FUNCTION public.keep_row();

-- In a read-only transaction commit() fails as the general path does, and
-- before it writes or locks anything (no transaction id is taken): the fast
-- path locked and replaced the order's rows and then failed in nextval().
SELECT stocksync.reserve('shop', 'read-only', 'A', 1) IS NOT NULL AS held;
BEGIN READ ONLY;
DO $$
BEGIN
    PERFORM stocksync.commit('shop', 'read-only');
EXCEPTION WHEN read_only_sql_transaction THEN
    RAISE NOTICE '%: %', SQLSTATE, SQLERRM;
END $$;
SELECT pg_current_xact_id_if_assigned() IS NULL AS nothing_written;
ROLLBACK;
SELECT stocksync.release('shop', 'read-only');

-- An order whose stored lines name one SKU and location twice (stocksync
-- stores them merged and sorted; this one is split by hand) is committed as
-- the general path commits it, line by line: the fast path replaced the row
-- twice from the same version and failed ("tuple already updated by self").
BEGIN;
SELECT stocksync.reserve('shop', 'twice', 'A', 2) IS NOT NULL AS held;
UPDATE stocksync.reservation SET skus = '{A,A}', locations = '{default,default}', quantities = '{1,1}'
 WHERE order_ref = 'twice';
SELECT stocksync.commit('shop', 'twice');
SELECT kind, qty, d_reserved, d_committed FROM stocksync.ledger WHERE kind = 'COMMIT' ORDER BY id;
SELECT reserved, committed FROM stocksync.stock WHERE sku = 'A';
ROLLBACK;

-- The committed units leave with fulfil(), as on the general path.
SELECT stocksync.reserve('shop', 'later', 'A', 2) IS NOT NULL AS held;
SELECT stocksync.commit('shop', 'later'), stocksync.fulfill('shop', 'later');
SELECT on_hand, reserved, committed FROM stocksync.stock WHERE sku = 'A';
SELECT count(*) AS differences FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
