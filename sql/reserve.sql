-- reserve(): single-line and multi-line orders, both strategies, shortages.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('C');
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('amzn', 'amazon');
SELECT stocksync.receive('A', 10), stocksync.receive('B', 4), stocksync.receive('C', 2, 'east');

-- A single line: a soft hold that expires after the TTL (15 minutes by default).
SELECT reservation_id, shortage, expires_at = now() + interval '15 minutes' AS default_ttl
  FROM stocksync.reserve('shop', 'S-1', 'A', 3);
SELECT reservation_id, shortage, expires_at = now() + interval '2 minutes' AS custom_ttl
  FROM stocksync.reserve('shop', 'S-2', 'A', 1, ttl => '2 minutes');
SELECT sku, on_hand, reserved, available, version FROM stocksync.stock WHERE sku = 'A';

-- Optimistic strategy: same outcome, checked by version.
SELECT reservation_id, shortage FROM stocksync.reserve('shop', 'S-3', 'A', 2, strategy => 'optimistic');
SELECT sku, reserved, available, version FROM stocksync.stock WHERE sku = 'A';

-- Multi-line: lines are merged per (sku, location) and stored sorted.
SELECT reservation_id, shortage FROM stocksync.reserve('shop', 'S-4',
    '[{"sku": "B", "qty": 1}, {"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}, {"sku": "C", "qty": 1, "location": "east"}]');
SELECT line_no, sku, location, qty FROM stocksync.reservation_line WHERE order_ref = 'S-4' ORDER BY line_no;

-- All lines or none: B is short, so A is not held either.
SELECT stocksync.reserve('shop', 'S-5', '[{"sku": "A", "qty": 1}, {"sku": "B", "qty": 5}]');
SELECT sku, reserved, available FROM stocksync.stock WHERE sku IN ('A', 'B') ORDER BY sku;
SELECT count(*) AS stored FROM stocksync.reservation WHERE order_ref = 'S-5';

-- A checkout is refused when stock is short (nothing stored: a retry is evaluated afresh) ...
SELECT stocksync.reserve('shop', 'S-6', 'B', 3);
SELECT stocksync.receive('B', 1);
SELECT reservation_id > 0 AS held, shortage FROM stocksync.reserve('shop', 'S-6', 'B', 3);

-- ... while a marketplace order that already happened is kept and marked oversold.
SELECT reservation_id > 0 AS held, shortage FROM stocksync.reserve('amzn', 'A-1', 'B', 4, on_shortage => 'record');
SELECT sku, reserved, available FROM stocksync.stock WHERE sku = 'B';
SELECT channel, order_ref, sku, qty, shortage FROM stocksync.oversold;
SELECT kind, sku, qty, d_reserved, reason FROM stocksync.ledger WHERE kind = 'RESERVE' ORDER BY id;

-- Optimistic with on_shortage => 'record' also records.
SELECT shortage FROM stocksync.reserve('amzn', 'A-2', 'C', 3, location => 'east', strategy => 'optimistic',
                                       on_shortage => 'record');

-- The first reservation at a location creates its projection row.
INSERT INTO stocksync.item (sku) VALUES ('NEW');
SELECT shortage FROM stocksync.reserve('shop', 'S-7', 'NEW', 1, on_shortage => 'record');
SELECT sku, location, on_hand, available FROM stocksync.stock WHERE sku = 'NEW';

-- A trigger of the user's on the projection still fires for every reservation
-- (the direct-write path steps aside for tables with user triggers), whatever
-- its name, even that of stocksync's own bundle cascade trigger.
SELECT stocksync.receive('A', 1) AS received;
CREATE TABLE public.stock_changes (sku text, reserved integer);
CREATE FUNCTION public.note_stock_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.stock_changes VALUES (NEW.sku, NEW.reserved); RETURN NEW; END $$;
CREATE TRIGGER note_stock_change AFTER UPDATE ON stocksync.stock_level
    FOR EACH ROW EXECUTE FUNCTION public.note_stock_change();
SELECT shortage FROM stocksync.reserve('shop', 'S-8', 'A', 1);
ALTER TRIGGER note_stock_change ON stocksync.stock_level RENAME TO stock_bucket_bundle_cascade;
SELECT shortage FROM stocksync.reserve('shop', 'S-20', 'A', 1);
SELECT * FROM public.stock_changes;
DROP TRIGGER stock_bucket_bundle_cascade ON stocksync.stock_level;
SELECT shortage FROM stocksync.reserve('shop', 'S-9', 'A', 1);
SELECT count(*) AS changes_noted FROM public.stock_changes;
DROP TABLE public.stock_changes;
DROP FUNCTION public.note_stock_change();

-- A user's expression or partial index on a stocksync table is maintained too.
CREATE INDEX ledger_reference_lower ON stocksync.ledger (pg_catalog.lower(reason))
    WHERE kind OPERATOR(pg_catalog.=) 'RESERVE';
SELECT shortage FROM stocksync.reserve('shop', 'S-11', 'A', 1);
SELECT count(*) AS reserve_rows_by_scan FROM stocksync.ledger WHERE kind = 'RESERVE' AND lower(reason) IS NULL \gset
SET enable_seqscan = off;
SELECT count(*) = :reserve_rows_by_scan AS index_has_every_row
  FROM stocksync.ledger WHERE kind = 'RESERVE' AND lower(reason) IS NULL;
RESET enable_seqscan;
DROP INDEX stocksync.ledger_reference_lower;

-- More units of A for what follows (the reservations above took them all).
SELECT stocksync.receive('A', 10) AS received;

-- Without the ledger's primary key (an operator's choice: the ledger's ids
-- stay unique by their identity sequence) every movement is still appended.
ALTER TABLE stocksync.ledger DROP CONSTRAINT ledger_pkey;
SELECT count(*) AS ledger_rows_before FROM stocksync.ledger \gset
SELECT shortage FROM stocksync.reserve('shop', 'S-40', 'A', 1);
SELECT count(*) - :ledger_rows_before AS rows_appended,
       pg_catalog.max(id) = (SELECT l.id FROM stocksync.ledger l JOIN stocksync.reservation r ON r.id = l.reservation_id
                              WHERE r.order_ref = 'S-40') AS newest_row
  FROM stocksync.ledger;
SELECT count(*) AS differences FROM stocksync.verify_ledger();
ALTER TABLE stocksync.ledger ADD PRIMARY KEY (id);

-- The same on the order table, here with a unique index of the user's (the
-- reservation then takes the general path): a new order is stored once and
-- indexed, its replay returns the first result (no duplicate-key error from
-- the user's index) and stores nothing.
CREATE UNIQUE INDEX reservation_ref_lower ON stocksync.reservation (channel, pg_catalog.lower(order_ref))
    WHERE state OPERATOR(pg_catalog.=) 'reserved';
SELECT reservation_id AS first_id FROM stocksync.reserve('shop', 'S-12', 'A', 1) \gset
SELECT reservation_id = :first_id AS replay_returns_first, shortage
  FROM stocksync.reserve('shop', 'S-12', 'A', 1);
SELECT count(*) AS stored FROM stocksync.reservation WHERE order_ref = 'S-12';
SET enable_seqscan = off;
SELECT count(*) AS found_by_index FROM stocksync.reservation
 WHERE lower(order_ref) = 's-12' AND state = 'reserved';
RESET enable_seqscan;
DROP INDEX stocksync.reservation_ref_lower;

-- A user's deferrable unique constraint on the order table is checked at
-- commit, whichever path wrote the row: here an order reference may be used
-- by one channel only, and a second channel's order with the same reference
-- fails the commit.
ALTER TABLE stocksync.reservation ADD CONSTRAINT reservation_ref_once UNIQUE (order_ref)
    DEFERRABLE INITIALLY DEFERRED;
BEGIN;
SELECT shortage FROM stocksync.reserve('shop', 'S-13', 'A', 1);
SELECT shortage FROM stocksync.reserve('amzn', 'S-13', 'A', 1);
COMMIT;
SELECT count(*) AS stored FROM stocksync.reservation WHERE order_ref = 'S-13';
ALTER TABLE stocksync.reservation DROP CONSTRAINT reservation_ref_once;

-- A CHECK constraint of the user's on the ledger holds for every
-- reservation: here no movement of more than 100 units.
SELECT stocksync.receive('A', 200) AS received;
ALTER TABLE stocksync.ledger ADD CONSTRAINT ledger_small_moves CHECK (qty OPERATOR(pg_catalog.<=) 100) NOT VALID;
\set VERBOSITY terse
SELECT shortage FROM stocksync.reserve('shop', 'S-14', 'A', 150);
\set VERBOSITY default
SELECT shortage FROM stocksync.reserve('shop', 'S-14', 'A', 50);
ALTER TABLE stocksync.ledger DROP CONSTRAINT ledger_small_moves;

-- So does a foreign key of the user's from the order table: here orders
-- come from allowed channels only.
CREATE TABLE public.allowed_channels (code text COLLATE "C" PRIMARY KEY);
INSERT INTO public.allowed_channels VALUES ('shop');
ALTER TABLE stocksync.reservation ADD CONSTRAINT reservation_allowed_channel
    FOREIGN KEY (channel) REFERENCES public.allowed_channels (code) NOT VALID;
SELECT shortage FROM stocksync.reserve('shop', 'S-15', 'A', 1);
\set VERBOSITY terse
SELECT shortage FROM stocksync.reserve('amzn', 'S-16', 'A', 1);
\set VERBOSITY default
ALTER TABLE stocksync.reservation DROP CONSTRAINT reservation_allowed_channel;
DROP TABLE public.allowed_channels;
SELECT count(*) AS stored FROM stocksync.reservation WHERE order_ref IN ('S-14', 'S-15', 'S-16');

-- A column whose type a user changed (here to a domain with a check) is
-- written as that type, with its checks, on every path: the direct writes
-- step aside, and so do the hot SKUs' direct bucket claims.
CREATE DOMAIN public.ledger_qty AS integer CHECK (VALUE OPERATOR(pg_catalog.<>) 77);
ALTER TABLE stocksync.ledger ALTER COLUMN qty TYPE public.ledger_qty;
SELECT shortage FROM stocksync.reserve('shop', 'S-18', 'A', 2);
\set VERBOSITY terse
SELECT shortage FROM stocksync.reserve('shop', 'S-19', 'A', 77);
\set VERBOSITY default
ALTER TABLE stocksync.ledger ALTER COLUMN qty TYPE integer;
DROP DOMAIN public.ledger_qty;
SELECT order_ref, quantities FROM stocksync.reservation WHERE order_ref IN ('S-18', 'S-19');

-- A deferred foreign key of the user's on the projection is checked at
-- commit, also for a row the transaction created and then reserved from.
CREATE TABLE public.approved_skus (sku text COLLATE "C" PRIMARY KEY);
ALTER TABLE stocksync.stock_level ADD CONSTRAINT stock_level_approved
    FOREIGN KEY (sku) REFERENCES public.approved_skus (sku) DEFERRABLE INITIALLY DEFERRED NOT VALID;
INSERT INTO stocksync.item (sku) VALUES ('UNAPPROVED');
BEGIN;
SELECT stocksync.receive('UNAPPROVED', 5) AS received;
SELECT shortage FROM stocksync.reserve('shop', 'S-21', 'UNAPPROVED', 1);
\set VERBOSITY terse
COMMIT;
\set VERBOSITY default
SELECT count(*) AS stock_rows FROM stocksync.stock WHERE sku = 'UNAPPROVED';
ALTER TABLE stocksync.stock_level DROP CONSTRAINT stock_level_approved;
DROP TABLE public.approved_skus;

-- A publication of the projection's updates needs a replica identity:
-- without one, a reservation fails as any UPDATE of it would.
ALTER TABLE stocksync.stock_level REPLICA IDENTITY NOTHING;
CREATE PUBLICATION stocksync_test_stock FOR TABLE stocksync.stock_level;
\set VERBOSITY terse
SELECT shortage FROM stocksync.reserve('shop', 'S-22', 'A', 1);
\set VERBOSITY default
DROP PUBLICATION stocksync_test_stock;
ALTER TABLE stocksync.stock_level REPLICA IDENTITY DEFAULT;
SELECT shortage FROM stocksync.reserve('shop', 'S-22', 'A', 1);

-- A rule of the user's on the ledger: here every movement is copied to
-- an audit table. (PostgreSQL refuses INSERT ... ON CONFLICT, and so every
-- reservation, on an order table with a rule.)
CREATE TABLE public.movement_audit (kind text, sku text, qty integer);
CREATE RULE ledger_audit AS ON INSERT TO stocksync.ledger
    DO ALSO INSERT INTO public.movement_audit VALUES (NEW.kind, NEW.sku, NEW.qty);
SELECT shortage FROM stocksync.reserve('shop', 'S-17', 'A', 1);
SELECT * FROM public.movement_audit;
DROP RULE ledger_audit ON stocksync.ledger;
DROP TABLE public.movement_audit;

-- Several reservations in one statement see each other.
SELECT count(*) AS calls, count(DISTINCT r) AS distinct_results
  FROM (SELECT stocksync.reserve('shop', 'S-10', 'A', 1) AS r FROM generate_series(1, 3)) calls;
SELECT count(*) AS stored FROM stocksync.reservation WHERE order_ref = 'S-10';

SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync CASCADE;
