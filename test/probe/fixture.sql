-- Fixture for the hostile-argument probes (test/probe/run).
\o /dev/null
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('KIT'), ('HOT');
UPDATE stocksync.item SET kind = 'bundle' WHERE sku = 'KIT';
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('KIT', 'A', 2), ('KIT', 'B', 1);
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('hook', 'webhook');
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('hook', 'L-A', 'A'), ('shop', 'S-A', 'A');
SELECT stocksync.receive('A', 100), stocksync.receive('B', 100), stocksync.receive('A', 10, 'east'),
       stocksync.receive('HOT', 50);
SELECT stocksync.set_hot('HOT', 4);
SELECT stocksync.reserve('shop', 'R', 'A', 1);                         -- reserved
SELECT stocksync.reserve('shop', 'C', 'A', 2); SELECT stocksync.commit('shop', 'C');
SELECT stocksync.reserve('shop', 'F', 'A', 3); SELECT stocksync.fulfill('shop', 'F');
\o
-- Every probe runs in a subtransaction that is always rolled back, so each
-- sees this fixture; its outcome is 'ok: <result>' or '<SQLSTATE>: <message>'.
CREATE FUNCTION pg_temp.probe(stmt text, setup text DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text; st text; m text;
BEGIN
    BEGIN
        IF setup IS NOT NULL THEN EXECUTE setup; END IF;
        EXECUTE 'SELECT (' || stmt || ')::text' INTO r;
        -- did it leave the books consistent?
        IF EXISTS (SELECT FROM stocksync.verify_ledger()) THEN
            r := 'LEDGER-DRIFT ' || r;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'ZZ999', MESSAGE = coalesce(r, '<null>');
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
        IF st = 'ZZ999' THEN RETURN 'ok: ' || left(m, 150); END IF;
        RETURN st || ': ' || left(m, 150);
    END;
END $$;
