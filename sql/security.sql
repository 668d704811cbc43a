-- Privileges: writers move stock only through functions, readers read, and
-- everybody else gets 42501 on every mutating call.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.item (sku) VALUES ('S');  -- never in stock
SELECT stocksync.receive('A', 5);
SELECT shortage FROM stocksync.reserve('shop', 'O-1', 'A', 1);

CREATE ROLE stocksync_test_plain;
CREATE ROLE stocksync_test_erp IN ROLE stocksync_writer;
CREATE ROLE stocksync_test_report IN ROLE stocksync_reader;
GRANT USAGE ON SCHEMA stocksync TO stocksync_test_plain;

CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;

-- Every function that changes stock, called by each role.
CREATE TEMP TABLE mutating (call text);
GRANT SELECT ON mutating TO PUBLIC;
INSERT INTO mutating VALUES
    ($$ SELECT stocksync.receive('A', 1) $$),
    ($$ SELECT stocksync.expect('A', 1) $$),
    ($$ SELECT stocksync.adjust('A', 1, 'found') $$),
    ($$ SELECT stocksync.cycle_count('A', 6) $$),
    ($$ SELECT stocksync.move('A', 1, 'available', 'damaged') $$),
    ($$ SELECT stocksync.transfer('A', 1, 'default', 'east') $$),
    ($$ SELECT stocksync.set_on_hand('A', 6, 'erp', 1) $$),
    ($$ SELECT stocksync.reserve('shop', 'O-2', 'A', 1) $$),
    ($$ SELECT stocksync.reserve('shop', 'O-3', '[{"sku": "A", "qty": 1}]') $$),
    -- reserve() of one line and commit() are SECURITY INVOKER; everything but
    -- their fast paths runs as the owner (extension/src/definer.hpp): a
    -- replay, the optimistic strategy, a recorded shortage, a refusal.
    ($$ SELECT stocksync.reserve('shop', 'O-1', 'A', 1) $$),
    ($$ SELECT stocksync.reserve('shop', 'O-5', 'A', 1, strategy => 'optimistic') $$),
    ($$ SELECT stocksync.reserve('shop', 'O-6', 'S', 1, on_shortage => 'record') $$),
    ($$ SELECT stocksync.reserve('shop', 'O-7', 'S', 1, strategy => 'optimistic') $$),
    ($$ SELECT stocksync.extend('shop', 'O-1', '1 hour') $$),
    ($$ SELECT stocksync.commit('shop', 'O-1') $$),
    ($$ SELECT stocksync.fulfill('shop', 'O-1') $$),
    ($$ SELECT stocksync.return_items('shop', 'O-1') $$),
    ($$ SELECT stocksync.release('shop', 'O-2') $$),
    ($$ SELECT stocksync.expire_holds() $$),
    ($$ SELECT stocksync.set_hot('A', 2) $$),
    ($$ SELECT stocksync.promote_hot_skus() $$),
    ($$ SELECT * FROM stocksync.reserve_batch('[{"channel": "shop", "order_ref": "O-4", "sku": "A", "qty": 1}]') $$),
    ($$ UPDATE stocksync.stock_bucket SET lent = 99 $$),
    ($$ INSERT INTO stocksync.ledger (kind, sku, location, qty) VALUES ('RECEIVE', 'A', 'default', 1) $$),
    ($$ UPDATE stocksync.stock_level SET on_hand = 99 $$),
    ($$ INSERT INTO stocksync.reservation (channel, order_ref, skus, locations, quantities) VALUES ('shop', 'x', '{A}', '{default}', '{1}') $$);

SET ROLE stocksync_test_plain;
SELECT call, pg_temp.try(call) FROM mutating;
SELECT pg_temp.try($$ SELECT * FROM stocksync.stock $$) AS read_stock,
       pg_temp.try($$ SELECT stocksync.available('A') $$) AS read_available;
RESET ROLE;
REVOKE USAGE ON SCHEMA stocksync FROM stocksync_test_plain;

-- A reader reads, and writes nothing.
SET ROLE stocksync_test_report;
SELECT sku, on_hand, reserved FROM stocksync.stock;
SELECT stocksync.available('A');
SELECT count(*) >= 0 AS can_verify FROM stocksync.verify_ledger();
SELECT call, pg_temp.try(call) FROM mutating WHERE call LIKE '%receive%' OR call LIKE '%ledger%';
RESET ROLE;

-- A writer (an ERP's role) calls the functions but cannot touch the ledger,
-- the projection or the reservations directly.
SET ROLE stocksync_test_erp;
SELECT current_setting('search_path') AS search_path_before \gset
SELECT call, pg_temp.try(call) FROM mutating;
SELECT pg_temp.try($$ UPDATE stocksync.ledger SET qty = 0 $$) AS update_ledger,
       pg_temp.try($$ DELETE FROM stocksync.ledger $$) AS delete_ledger,
       pg_temp.try($$ TRUNCATE stocksync.ledger $$) AS truncate_ledger,
       pg_temp.try($$ INSERT INTO stocksync.item (sku) VALUES ('B') $$) AS add_item;
-- ... and is still itself, with its own search_path, after all of them.
SELECT current_user, current_setting('search_path') = :'search_path_before' AS same_search_path;
RESET ROLE;
SELECT order_ref, state, shortages FROM stocksync.reservation WHERE order_ref IN ('O-5', 'O-6', 'O-7') ORDER BY 1;

-- An index whose expression runs the user's code sends reserve() and
-- commit() (both SECURITY INVOKER) to the path that runs as the function's
-- owner, so the expression sees the owner as it does for every other stock
-- function.
CREATE FUNCTION public.stocksync_test_as_owner(ref text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF current_user <> session_user THEN
        RAISE EXCEPTION 'index expression ran as %', current_user;
    END IF;
    RETURN ref;
END $$;
CREATE INDEX reservation_as_owner ON stocksync.reservation (public.stocksync_test_as_owner(order_ref));
SET ROLE stocksync_test_erp;
SELECT shortage FROM stocksync.reserve('shop', 'O-8', 'A', 1);
SELECT stocksync.commit('shop', 'O-8');
RESET ROLE;
DROP INDEX stocksync.reservation_as_owner;
DROP FUNCTION public.stocksync_test_as_owner(text);
SELECT * FROM stocksync.verify_ledger();

-- Every SECURITY DEFINER function pins its search_path, and no function of the
-- extension is executable by PUBLIC.
SELECT p.oid::regprocedure AS definer_without_pinned_path
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'stocksync' AND p.prosecdef
   AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false);
SELECT count(*) AS definer_functions FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'stocksync' AND p.prosecdef;
SELECT p.oid::regprocedure AS executable_by_public
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'stocksync'
   AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0));

-- A schema stocksync that someone else created and owns is refused at install,
-- so nobody can plant objects where stocksync's functions look.
DROP EXTENSION stocksync CASCADE;
DROP SCHEMA stocksync;
CREATE SCHEMA stocksync AUTHORIZATION stocksync_test_plain;
CREATE EXTENSION stocksync;
DROP SCHEMA stocksync;
CREATE SCHEMA stocksync;
CREATE FUNCTION stocksync.available(sku text) RETURNS integer LANGUAGE sql AS 'SELECT 1000';
CREATE EXTENSION stocksync;
DROP SCHEMA stocksync CASCADE;
CREATE EXTENSION stocksync;

-- A role of ours that someone turned into a login role is refused at install.
DROP EXTENSION stocksync CASCADE;
ALTER ROLE stocksync_writer LOGIN;
CREATE EXTENSION stocksync;
ALTER ROLE stocksync_writer NOLOGIN;
CREATE EXTENSION stocksync;

DROP EXTENSION stocksync CASCADE;
DROP ROLE stocksync_test_plain, stocksync_test_erp, stocksync_test_report;
