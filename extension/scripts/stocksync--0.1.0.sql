-- stocksync 0.1.0 install script. Frozen once released: later changes go into
-- stocksync--0.1.0--<next>.sql (see docs/upgrades.md).
--
-- Identifiers (sku, location and channel codes, order references) are text
-- COLLATE "C": compared byte by byte, which is both what an identifier means
-- and the lock order every stocksync function uses. Codes are at most 500
-- bytes and references at most 1,000 (checked by the functions, SS009), so
-- that every key made of them fits a btree entry (2,704 bytes): a longer one
-- would fail inside an index with 54000 instead of being refused.
--
-- Everything is created inside the schema stocksync, which CREATE EXTENSION
-- creates (control file: schema = stocksync). Nothing uses CREATE OR REPLACE or
-- IF NOT EXISTS, so an object planted earlier by another role makes the
-- installation fail instead of being adopted.

\echo Use "CREATE EXTENSION stocksync" to load this file. \quit

-- CREATE EXTENSION adopts an existing schema named stocksync. Refuse one that
-- another role owns or that already holds objects: whatever is planted there
-- would sit next to the functions of a SECURITY DEFINER extension.
DO $guard$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace
                WHERE nspname = 'stocksync' AND nspowner <> (SELECT oid FROM pg_catalog.pg_roles
                                                              WHERE rolname = current_user)) THEN
        RAISE EXCEPTION 'schema "stocksync" exists and belongs to another role'
            USING ERRCODE = '42501',
                  HINT = 'Drop the schema, or have its owner install the extension.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'stocksync')
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = 'stocksync')
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
                   WHERE n.nspname = 'stocksync')
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
                   WHERE n.nspname = 'stocksync') THEN
        RAISE EXCEPTION 'schema "stocksync" is not empty'
            USING ERRCODE = '42P06',
                  HINT = 'Install stocksync into a new or empty schema named stocksync.';
    END IF;
END
$guard$;

-- ---------------------------------------------------------------------------
-- Catalog: what is sold, where it is stored, where it is sold.
-- ---------------------------------------------------------------------------

CREATE TABLE stocksync.item (
    sku        text COLLATE "C" PRIMARY KEY CHECK (sku <> '' AND pg_catalog.octet_length(sku) <= 500),
    kind       text NOT NULL DEFAULT 'simple' CHECK (kind IN ('simple', 'bundle')),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'discontinued')),
    title      text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stocksync.item IS 'Every SKU stocksync keeps stock for (simple) or computes stock for (bundle).';

CREATE TABLE stocksync.location (
    code       text COLLATE "C" PRIMARY KEY CHECK (code <> '' AND pg_catalog.octet_length(code) <= 500),
    name       text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stocksync.location IS 'Warehouses, stores and 3PLs that hold stock. The location "default" exists after CREATE EXTENSION.';
INSERT INTO stocksync.location (code, name) VALUES ('default', 'Default location');

CREATE TABLE stocksync.channel (
    code       text COLLATE "C" PRIMARY KEY CHECK (code <> '' AND pg_catalog.octet_length(code) <= 500),
    kind       text NOT NULL CHECK (kind IN ('shopify', 'amazon', 'ebay', 'woocommerce', 'webhook')),
    mode       text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'shadow', 'paused')),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stocksync.channel IS 'Places of sale. mode: live pushes, shadow records what would be pushed, paused pushes nothing.';

CREATE TABLE stocksync.listing (
    channel     text COLLATE "C" NOT NULL REFERENCES stocksync.channel (code) ON UPDATE CASCADE,
    -- At most 1,000 bytes: with the channel's code (500) an index key, whose
    -- entry holds at most 2,704 bytes (54000 past it, naming only the index).
    external_id text COLLATE "C" NOT NULL CHECK (external_id <> '' AND pg_catalog.octet_length(external_id) <= 1000),
    sku         text COLLATE "C" NOT NULL REFERENCES stocksync.item (sku) ON UPDATE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX listing_sku_idx ON stocksync.listing (sku);
COMMENT ON TABLE stocksync.listing IS 'A channel''s own identifier (variant, seller SKU, offer id) mapped to a SKU.';

-- ---------------------------------------------------------------------------
-- The ledger: one row per movement, never updated or deleted.
-- Each row carries its effect on every state quantity, so the projection, the
-- stock at any past instant and verify_ledger() are plain sums.
-- ---------------------------------------------------------------------------

CREATE TABLE stocksync.ledger (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                timestamptz NOT NULL DEFAULT now(),
    kind              text NOT NULL,  -- RECEIVE EXPECT ADJUST RESERVE RELEASE COMMIT FULFILL RETURN MOVE TRANSFER
    sku               text COLLATE "C" NOT NULL,
    location          text COLLATE "C" NOT NULL,
    qty               integer NOT NULL,
    d_on_hand         integer NOT NULL DEFAULT 0,
    d_reserved        integer NOT NULL DEFAULT 0,
    d_committed       integer NOT NULL DEFAULT 0,
    d_damaged         integer NOT NULL DEFAULT 0,
    d_quality_control integer NOT NULL DEFAULT 0,
    d_safety_stock    integer NOT NULL DEFAULT 0,
    d_incoming        integer NOT NULL DEFAULT 0,
    reservation_id    bigint,
    reason            text,
    reference         text
);
COMMENT ON TABLE stocksync.ledger IS 'Append-only stock ledger: every unit stocksync knows of is explained by these rows.';

-- The projection: current quantities per SKU and location, updated in the
-- same transaction as the ledger rows that explain them.
--
-- The ledger, the projection and the reservations carry no CHECK constraints
-- on purpose: only stocksync's functions write them (no role has INSERT or
-- UPDATE on them), and those check every rule with a stocksync SQLSTATE
-- first. PostgreSQL re-reads CHECK expressions at every statement's executor
-- start, which on the reservation path costs more than the rest of the work.
CREATE TABLE stocksync.stock_level (
    sku             text COLLATE "C" NOT NULL REFERENCES stocksync.item (sku),
    location        text COLLATE "C" NOT NULL REFERENCES stocksync.location (code),
    on_hand         integer NOT NULL DEFAULT 0,
    reserved        integer NOT NULL DEFAULT 0,
    committed       integer NOT NULL DEFAULT 0,
    damaged         integer NOT NULL DEFAULT 0,
    quality_control integer NOT NULL DEFAULT 0,
    safety_stock    integer NOT NULL DEFAULT 0,
    incoming        integer NOT NULL DEFAULT 0,
    version         bigint NOT NULL DEFAULT 0,
    -- Hot SKUs only (stocksync.set_hot): how many stock_bucket rows hold a
    -- share of this row's quantities; 0 for every other SKU, whose readers
    -- then never look at stock_bucket.
    buckets         smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, location)
) WITH (fillfactor = 70);  -- room for HOT updates: the hot row is rewritten on every reservation
COMMENT ON TABLE stocksync.stock_level IS 'Projection of the ledger per SKU and location; version rises on every change.';

-- Hot SKUs (docs/hot-skus.md): a SKU and location in the bucket strategy has,
-- beside its stock_level row (the "central" row), a few bucket rows that
-- reservations claim with FOR UPDATE SKIP LOCKED, so that buyers of one SKU do
-- not queue on one row. Each bucket holds deltas of the same state quantities
-- (the SKU's quantities are the central row plus its buckets) and `lent`: units
-- of available the central row lent it. A bucket may consume
--     budget = lent + on_hand - reserved - committed - damaged - quality_control - safety_stock
-- units of available without any other lock; the central row may consume its
-- own available minus what it lent (sum of lent). Both never go below zero, so
-- the SKU's available never does either. `lent` changes only under the central
-- row's lock, so a session holding it reads a stable sum. Versions: the SKU's
-- version is the sum of its rows' versions, which rises on every change.
CREATE TABLE stocksync.stock_bucket (
    sku             text COLLATE "C" NOT NULL,
    location        text COLLATE "C" NOT NULL,
    bucket          smallint NOT NULL,
    lent            integer NOT NULL DEFAULT 0,
    on_hand         integer NOT NULL DEFAULT 0,
    reserved        integer NOT NULL DEFAULT 0,
    committed       integer NOT NULL DEFAULT 0,
    damaged         integer NOT NULL DEFAULT 0,
    quality_control integer NOT NULL DEFAULT 0,
    safety_stock    integer NOT NULL DEFAULT 0,
    incoming        integer NOT NULL DEFAULT 0,
    version         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (sku, location, bucket)
) WITH (fillfactor = 50);  -- each bucket row is rewritten on every reservation it takes
COMMENT ON TABLE stocksync.stock_bucket IS 'Hot SKUs: escrow rows beside the stock_level row, claimed with SKIP LOCKED (stocksync.set_hot).';

-- Every row that holds a share of a SKU's quantities: the projection rows and
-- the hot SKUs' buckets. Readers sum it per (sku, location).
CREATE VIEW stocksync.stock_rows AS
SELECT sku, location, on_hand, reserved, committed, damaged, quality_control, safety_stock, incoming, version
  FROM stocksync.stock_level
UNION ALL
SELECT sku, location, on_hand, reserved, committed, damaged, quality_control, safety_stock, incoming, version
  FROM stocksync.stock_bucket;

-- Reservations: one row per order. The lines are the order's value (fixed at
-- creation, compared on replay) and are kept as parallel arrays, sorted by
-- (sku, location); the reservation_line view shows them as rows.
CREATE TABLE stocksync.reservation (
    id          bigint GENERATED ALWAYS AS IDENTITY,
    channel     text COLLATE "C" NOT NULL,
    order_ref   text COLLATE "C" NOT NULL,
    state       text NOT NULL DEFAULT 'reserved',  -- reserved committed fulfilled released expired returned
    skus        text[] NOT NULL,
    locations   text[] NOT NULL,
    quantities  integer[] NOT NULL,
    shortages   integer[],  -- per line; NULL while every line is 0 (the common case:
    fulfilled   integer[],  -- a short row means less WAL on the reservation path)
    returned    integer[],
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, order_ref)
);
-- Only soft holds have an expiry (every other state clears it), so a plain
-- index on it serves expire_holds() like a partial one would, and keeps every
-- index of the table a plain column index (see direct.hpp).
CREATE INDEX reservation_expiry_idx ON stocksync.reservation (expires_at);
COMMENT ON TABLE stocksync.reservation IS 'One row per (channel, order_ref): the idempotency key of reserve().';

-- Fulfilments and returns given a document reference, so that retrying one is
-- a no-op and reusing the reference for other lines (or, for a return, into
-- another state) is refused.
CREATE TABLE stocksync.order_document (
    reservation_id bigint NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('FULFILL', 'RETURN')),
    document_ref   text COLLATE "C" NOT NULL,
    lines          jsonb NOT NULL,
    to_state       text,  -- RETURN: where the units went back to
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reservation_id, kind, document_ref)
);

-- The last version seen from each source of absolute on-hand figures (an ERP,
-- a WMS), so that a late or replayed figure never overwrites a newer one.
CREATE TABLE stocksync.source_version (
    sku        text COLLATE "C" NOT NULL,
    location   text COLLATE "C" NOT NULL,
    source     text COLLATE "C" NOT NULL,
    version    bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sku, location, source)
);

-- ---------------------------------------------------------------------------
-- Views.
-- ---------------------------------------------------------------------------

CREATE VIEW stocksync.stock AS
SELECT s.sku, s.location, s.on_hand + b.on_hand AS on_hand, s.reserved + b.reserved AS reserved,
       s.committed + b.committed AS committed, s.damaged + b.damaged AS damaged,
       s.quality_control + b.quality_control AS quality_control, s.safety_stock + b.safety_stock AS safety_stock,
       s.incoming + b.incoming AS incoming,
       (s.on_hand + b.on_hand) - (s.reserved + b.reserved) - (s.committed + b.committed) - (s.damaged + b.damaged)
       - (s.quality_control + b.quality_control) - (s.safety_stock + b.safety_stock) AS available,
       s.version + b.version AS version
  FROM stocksync.stock_level s
 CROSS JOIN LATERAL (
      SELECT COALESCE(pg_catalog.sum(x.on_hand), 0)::integer AS on_hand,
             COALESCE(pg_catalog.sum(x.reserved), 0)::integer AS reserved,
             COALESCE(pg_catalog.sum(x.committed), 0)::integer AS committed,
             COALESCE(pg_catalog.sum(x.damaged), 0)::integer AS damaged,
             COALESCE(pg_catalog.sum(x.quality_control), 0)::integer AS quality_control,
             COALESCE(pg_catalog.sum(x.safety_stock), 0)::integer AS safety_stock,
             COALESCE(pg_catalog.sum(x.incoming), 0)::integer AS incoming,
             COALESCE(pg_catalog.sum(x.version), 0)::bigint AS version
        FROM stocksync.stock_bucket x WHERE s.buckets > 0 AND x.sku = s.sku AND x.location = s.location) b;
COMMENT ON VIEW stocksync.stock IS 'Every state quantity, available and version per SKU and location.';

CREATE VIEW stocksync.reservation_line AS
SELECT r.id AS reservation_id, r.channel, r.order_ref, r.state, l.line_no::integer AS line_no,
       l.sku, r.locations[l.line_no] AS location, r.quantities[l.line_no] AS qty,
       COALESCE(r.shortages[l.line_no], 0) AS shortage, COALESCE(r.fulfilled[l.line_no], 0) AS fulfilled,
       COALESCE(r.returned[l.line_no], 0) AS returned, r.expires_at
  FROM stocksync.reservation r,
       unnest(r.skus) WITH ORDINALITY AS l (sku, line_no);

CREATE VIEW stocksync.oversold AS
SELECT channel, order_ref, reservation_id, state, sku, location, qty, shortage
  FROM stocksync.reservation_line
 WHERE shortage > 0;
COMMENT ON VIEW stocksync.oversold IS 'Order lines recorded with on_shortage => ''record'' that found less stock than they took.';

-- ===========================================================================
-- Bundles, channel rules, allocation pools and the SKU lifecycle.
-- (docs/sql-reference.md, "Bundles and channel rules", gives every formula.)
--
-- Versions: listing_target's inputs_version must rise with every commit that
-- may change a listing's desired quantity, and the change must reach
-- stocksync-worker through the tables it already decodes (stock_level, item,
-- channel, listing). So every new input raises a version there:
--   item.version     the SKU's own rules (status, per-channel overrides) and,
--                    for a bundle, any change to a component or to its bill
--                    of materials, nested bundles included (the cascade);
--   channel.version  the channel's rules, locations and observed push lag.
-- ===========================================================================

ALTER TABLE stocksync.item ADD COLUMN version bigint NOT NULL DEFAULT 0;
ALTER TABLE stocksync.channel ADD COLUMN version bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN stocksync.item.version IS 'Rises with every change to the SKU''s rules and, for a bundle, to any component or to its bill of materials.';
COMMENT ON COLUMN stocksync.channel.version IS 'Rises with every change to the channel''s rules, locations or observed push lag.';

-- Bill of materials: a bundle is qty units of each component; a component may
-- itself be a bundle (nested), never the bundle itself or one containing it.
CREATE TABLE stocksync.bom (
    bundle_sku    text COLLATE "C" NOT NULL REFERENCES stocksync.item (sku) ON UPDATE CASCADE,
    component_sku text COLLATE "C" NOT NULL REFERENCES stocksync.item (sku) ON UPDATE CASCADE,
    qty           integer NOT NULL CHECK (qty > 0),
    PRIMARY KEY (bundle_sku, component_sku)
);
-- The cascade and the reservation fast path ask "is this SKU a component?".
CREATE INDEX bom_component_idx ON stocksync.bom (component_sku, bundle_sku);
COMMENT ON TABLE stocksync.bom IS 'Bill of materials: bundle_sku is made of qty units of component_sku.';

-- Which locations a channel sells from; a channel without rows sells from all.
CREATE TABLE stocksync.channel_location (
    channel  text COLLATE "C" NOT NULL REFERENCES stocksync.channel (code) ON UPDATE CASCADE ON DELETE CASCADE,
    location text COLLATE "C" NOT NULL REFERENCES stocksync.location (code) ON UPDATE CASCADE,
    PRIMARY KEY (channel, location)
);
COMMENT ON TABLE stocksync.channel_location IS 'The locations a channel sells from; none listed means every location.';

-- A channel's rules; a channel without a row has no buffer, no pool, shared listings.
CREATE TABLE stocksync.channel_rule (
    channel           text COLLATE "C" PRIMARY KEY REFERENCES stocksync.channel (code) ON UPDATE CASCADE ON DELETE CASCADE,
    buffer_percent    numeric NOT NULL DEFAULT 0 CHECK (buffer_percent BETWEEN 0 AND 100),
    buffer_min        integer NOT NULL DEFAULT 0 CHECK (buffer_min >= 0),
    -- The dynamic buffer: sales over velocity_window (NULL: off) times the
    -- protection window (NULL: twice the observed p99 push lag). At most 100
    -- years each: now() - velocity_window must stay a timestamp (4713 BC is
    -- the first), and twice the lag an interval, or every listing's target
    -- would fail (22008) as long as the rule is stored.
    velocity_window   interval CHECK (velocity_window > interval '0' AND velocity_window <= interval '100 years'),
    protection_window interval CHECK (protection_window >= interval '0' AND protection_window <= interval '100 years'),
    push_lag_p99      interval CHECK (push_lag_p99 >= interval '0' AND push_lag_p99 <= interval '100 years'),
    -- Allocation pool: the share of available this channel may show (NULL: all).
    pool_percent      numeric CHECK (pool_percent BETWEEN 0 AND 100),
    pool_mode         text NOT NULL DEFAULT 'soft' CHECK (pool_mode IN ('hard', 'soft')),
    -- Several listings of one SKU on this channel: each shows the whole
    -- quantity (shared) or they divide it (split).
    listing_split     text NOT NULL DEFAULT 'shared' CHECK (listing_split IN ('shared', 'split'))
);
COMMENT ON TABLE stocksync.channel_rule IS 'Per channel: safety buffer (percent, minimum, sales velocity), allocation pool, and how several listings of one SKU share it.';

-- Per-SKU overrides of a channel's buffer.
CREATE TABLE stocksync.channel_sku_rule (
    channel        text COLLATE "C" NOT NULL REFERENCES stocksync.channel (code) ON UPDATE CASCADE ON DELETE CASCADE,
    sku            text COLLATE "C" NOT NULL REFERENCES stocksync.item (sku) ON UPDATE CASCADE ON DELETE CASCADE,
    buffer_percent numeric CHECK (buffer_percent BETWEEN 0 AND 100),
    buffer_min     integer CHECK (buffer_min >= 0),
    PRIMARY KEY (channel, sku)
);
COMMENT ON TABLE stocksync.channel_sku_rule IS 'Per channel and SKU: a buffer percent or minimum that replaces the channel''s (NULL keeps it).';

-- The velocity buffer sums recent RESERVE rows; a BRIN index on the
-- append-only ledger's time costs next to nothing per insert.
CREATE INDEX ledger_at_brin ON stocksync.ledger USING brin (at);

-- ---------------------------------------------------------------------------
-- Bill of materials: leaves, ancestors, refusals.
-- ---------------------------------------------------------------------------

-- The simple SKUs a bundle is made of, with the units of each per bundle
-- (quantities multiplied down nested bundles, summed over several paths).
-- PL/pgSQL rather than SQL here and below: it keeps its plans for the
-- session, where a SQL function's body is planned again on every call
-- (listing_target calls these once per bundle listing).
CREATE FUNCTION stocksync.bundle_leaves(bundle text)
    RETURNS TABLE (component_sku text, qty integer)
    LANGUAGE plpgsql STABLE ROWS 4 SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN QUERY
    WITH RECURSIVE walk (sku, qty) AS (
        SELECT b.component_sku, b.qty FROM stocksync.bom b WHERE b.bundle_sku = bundle_leaves.bundle
        UNION ALL
        -- OFFSET 0 and the correlated kind keep both steps index probes; the
        -- planner would otherwise hash whole tables for a few rows.
        SELECT b.component_sku, w.qty * b.qty
          FROM walk w CROSS JOIN LATERAL (
               SELECT x.component_sku, x.qty FROM stocksync.bom x WHERE x.bundle_sku = w.sku OFFSET 0) b)
    SELECT w.sku::text, pg_catalog.sum(w.qty)::integer
      FROM walk w
     WHERE (SELECT i.kind FROM stocksync.item i WHERE i.sku = w.sku) = 'simple'
     GROUP BY w.sku;
END $$;
COMMENT ON FUNCTION stocksync.bundle_leaves IS 'The simple SKUs a bundle is made of and the units of each per bundle, nested bundles resolved.';

-- Every bundle that contains sku, directly or nested, once each.
CREATE FUNCTION stocksync.bundle_ancestors(sku text)
    RETURNS SETOF text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        WITH RECURSIVE up (sku) AS (
            SELECT b.bundle_sku FROM stocksync.bom b WHERE b.component_sku = bundle_ancestors.sku
            UNION
            SELECT b.bundle_sku FROM up CROSS JOIN LATERAL (
                   SELECT x.bundle_sku FROM stocksync.bom x WHERE x.component_sku = up.sku OFFSET 0) b)
        SELECT up.sku FROM up;
    END;
COMMENT ON FUNCTION stocksync.bundle_ancestors IS 'Every bundle that contains sku, directly or through nested bundles.';

-- Raises the version of every bundle containing sku, once each, locking them
-- in byte order (every stocksync function's lock order). The stock cascade
-- trigger runs the same statement as a plan it keeps (bundles.cpp).
CREATE FUNCTION stocksync.raise_bundle_versions(sku text)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        WITH locked AS (
            SELECT i.sku FROM stocksync.item i
             WHERE i.sku = ANY (ARRAY(SELECT a FROM stocksync.bundle_ancestors(raise_bundle_versions.sku) a))
             ORDER BY i.sku FOR NO KEY UPDATE)
        UPDATE stocksync.item i SET version = i.version + 1 FROM locked WHERE i.sku = locked.sku;
    END;

-- BOM rows name a bundle and a component other than itself, and never close
-- a cycle. Checks are serialized by a transaction lock so two concurrent
-- inserts (A in B, B in A) cannot both pass.
-- The bundle's item row is read FOR SHARE and stays locked until commit, so
-- that it cannot become simple meanwhile (item_check refuses a bundle with a
-- bill of materials, but would not see this uncommitted row).
CREATE FUNCTION stocksync.bom_check() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    -- The component and everything it is made of, nested.
    parts text[];
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock('stocksync.bom'::pg_catalog.regclass::oid::integer, 0);
    parts := ARRAY(WITH RECURSIVE down (sku) AS (
                       SELECT NEW.component_sku::text
                       UNION
                       SELECT b.component_sku FROM down CROSS JOIN LATERAL (
                              SELECT x.component_sku FROM stocksync.bom x WHERE x.bundle_sku = down.sku OFFSET 0) b)
                   SELECT down.sku FROM down);
    -- A new (bundle, component) pair: the bundle's version rises at this row
    -- (bom_cascade), and stocksync-worker recomputes the bundle from the stock
    -- committed by then. A reservation of the component in flight, written
    -- past the triggers because the SKU was no component when it looked (the
    -- reserve() fast path, a bucket claim), would commit after that and never
    -- raise the bundle: its listings would go on showing the units it holds.
    -- Holding the parts' stock rows FOR SHARE until commit orders the two:
    -- this row waits for such a reservation to commit, or the reservation
    -- waits for this transaction and then finds the SKU a component and
    -- raises the bundle itself (bundles.cpp, CascadeAfterDirectWrite;
    -- bom_vs_inflight_reserve.spec). Taken before the bundle's row: an order
    -- committing on another component of the bundle locks that row, and must
    -- not wait for this transaction while it waits for the order.
    IF TG_OP = 'INSERT' OR NEW.bundle_sku <> OLD.bundle_sku OR NEW.component_sku <> OLD.component_sku THEN
        PERFORM 1 FROM stocksync.stock_level s WHERE s.sku = ANY (parts) ORDER BY s.sku, s.location FOR SHARE;
        PERFORM 1 FROM stocksync.stock_bucket s WHERE s.sku = ANY (parts)
          ORDER BY s.sku, s.location, s.bucket FOR SHARE;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM stocksync.item WHERE sku = NEW.bundle_sku AND kind = 'bundle' FOR SHARE) THEN
        RAISE EXCEPTION 'sku "%" is not a bundle', NEW.bundle_sku
            USING ERRCODE = 'SS012',
                  HINT = 'Create it with kind => ''bundle'' in stocksync.item first.';
    END IF;
    IF NEW.bundle_sku = ANY (parts) THEN
        RAISE EXCEPTION 'bundle "%" cannot contain "%": the bill of materials would be a cycle',
                        NEW.bundle_sku, NEW.component_sku
            USING ERRCODE = 'SS012',
                  DETAIL = 'A bundle may contain other bundles, but never itself, directly or nested.';
    END IF;
    -- Under REPEATABLE READ or SERIALIZABLE the walk above reads the
    -- transaction's snapshot, which misses a row another session committed
    -- after it (the lock only orders the checks): B in A committed there and
    -- A in B here closed a cycle, and bundle_leaves() then never returned.
    -- That row's bom_cascade raised the version of its bundle, which is the
    -- component here or one of its components: locking them FOR SHARE fails
    -- with 40001 when one changed after the snapshot, as an UPDATE would.
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        PERFORM 1 FROM stocksync.item i WHERE i.sku = ANY (parts) ORDER BY i.sku FOR SHARE;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bom_check BEFORE INSERT OR UPDATE ON stocksync.bom
    FOR EACH ROW EXECUTE FUNCTION stocksync.bom_check();

-- A BOM change changes the bundle and every bundle containing it.
-- A row that makes some bundle need more than an integer of units of one
-- component per bundle (quantities multiply down nested bundles and add up
-- over paths) is refused: bundle_leaves() would fail with 22003 for that
-- bundle, and with it every listing_target read that includes one of its
-- listings, so no channel's listing in the same read would be pushed.
-- jit = off: the walk's recursive estimate (millions of rows for a few)
-- crossed jit_above_cost, and compiling it cost about 0.35 s per BOM row.
CREATE FUNCTION stocksync.bom_cascade() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET jit = off AS $$
DECLARE
    b text;
    too_many record;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        WITH RECURSIVE tops (sku) AS (
            SELECT NEW.bundle_sku
            UNION
            SELECT x.bundle_sku FROM tops CROSS JOIN LATERAL (
                   SELECT b.bundle_sku FROM stocksync.bom b WHERE b.component_sku = tops.sku OFFSET 0) x),
        -- Index probes per step (OFFSET 0), as in bundle_leaves: joined, the
        -- planner scanned the whole table for every row of a bulk load.
        walk (top, sku, qty) AS (
            SELECT t.sku, x.component_sku, x.qty::numeric
              FROM tops t CROSS JOIN LATERAL (
                   SELECT b.component_sku, b.qty FROM stocksync.bom b WHERE b.bundle_sku = t.sku OFFSET 0) x
            UNION ALL
            SELECT w.top, x.component_sku, w.qty * x.qty
              FROM walk w CROSS JOIN LATERAL (
                   SELECT b.component_sku, b.qty FROM stocksync.bom b WHERE b.bundle_sku = w.sku OFFSET 0) x)
        SELECT w.top, w.sku, pg_catalog.sum(w.qty) AS units INTO too_many
          FROM walk w GROUP BY w.top, w.sku HAVING pg_catalog.sum(w.qty) > 2147483647
         ORDER BY 1, 2 LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'bundle "%" would need % units of "%" per bundle', too_many.top, too_many.units, too_many.sku
                USING ERRCODE = 'SS012',
                      DETAIL = pg_catalog.format('Bill of materials row ("%s", "%s", %s): units per bundle multiply down nested bundles and may not pass 2147483647.',
                                                 NEW.bundle_sku, NEW.component_sku, NEW.qty),
                      HINT = 'Check the quantity: it is the units of the component in one bundle.';
        END IF;
    END IF;
    FOR b IN SELECT DISTINCT x FROM (SELECT NEW.bundle_sku UNION ALL SELECT OLD.bundle_sku) AS s (x)
              WHERE x IS NOT NULL ORDER BY x LOOP
        UPDATE stocksync.item SET version = version + 1 WHERE sku = b;
        PERFORM stocksync.raise_bundle_versions(b);
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER bom_cascade AFTER INSERT OR UPDATE OR DELETE ON stocksync.bom
    FOR EACH ROW EXECUTE FUNCTION stocksync.bom_cascade();

-- Each backend keeps which channel codes exist and which SKUs are bundle
-- components (reserve() asks both on every call); any change of those keys
-- drops the caches in every backend when it commits (key_cache.hpp). Row
-- triggers, because logical replication's apply fires no statement triggers
-- but TRUNCATE's; ENABLE ALWAYS, because it and sessions with
-- session_replication_role = replica fire only those. A backend caches
-- nothing while one of them is missing or disabled.
CREATE FUNCTION stocksync.invalidate_key_caches() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'stocksync_invalidate_key_caches';
CREATE TRIGGER channel_invalidate_key_caches AFTER INSERT OR UPDATE OF code OR DELETE ON stocksync.channel
    FOR EACH ROW EXECUTE FUNCTION stocksync.invalidate_key_caches();
CREATE TRIGGER channel_truncate_invalidates_key_caches AFTER TRUNCATE ON stocksync.channel
    FOR EACH STATEMENT EXECUTE FUNCTION stocksync.invalidate_key_caches();
ALTER TABLE stocksync.channel ENABLE ALWAYS TRIGGER channel_invalidate_key_caches;
ALTER TABLE stocksync.channel ENABLE ALWAYS TRIGGER channel_truncate_invalidates_key_caches;
CREATE TRIGGER bom_invalidate_key_caches AFTER INSERT OR UPDATE OF component_sku OR DELETE ON stocksync.bom
    FOR EACH ROW EXECUTE FUNCTION stocksync.invalidate_key_caches();
CREATE TRIGGER bom_truncate_invalidates_key_caches AFTER TRUNCATE ON stocksync.bom
    FOR EACH STATEMENT EXECUTE FUNCTION stocksync.invalidate_key_caches();
ALTER TABLE stocksync.bom ENABLE ALWAYS TRIGGER bom_invalidate_key_caches;
ALTER TABLE stocksync.bom ENABLE ALWAYS TRIGGER bom_truncate_invalidates_key_caches;

-- Any change of a component's stock raises every bundle containing it, at
-- commit: deferred, so that the bundles' rows are locked after every
-- projection row of the transaction and only for the instant of the commit.
-- The reservation fast path steps aside for components (direct.cpp), so this
-- trigger sees every change of a component.
-- It fires at commit, outside the SECURITY DEFINER function that changed the
-- stock: it is one itself, with the pinned search_path.
CREATE FUNCTION stocksync.stock_level_bundle_cascade() RETURNS trigger
    LANGUAGE c SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_stock_level_bundle_cascade';
CREATE CONSTRAINT TRIGGER stock_level_bundle_cascade AFTER INSERT OR UPDATE ON stocksync.stock_level
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION stocksync.stock_level_bundle_cascade();
-- The same function before each write notes the component, so that the first
-- firing at commit locks the bundles of every component the transaction
-- changed in one byte order (bundles.cpp; bundle_cascade_commit_order.spec).
CREATE TRIGGER stock_level_bundle_cascade_note BEFORE INSERT OR UPDATE ON stocksync.stock_level
    FOR EACH ROW EXECUTE FUNCTION stocksync.stock_level_bundle_cascade();

-- ---------------------------------------------------------------------------
-- SKU lifecycle: active <-> paused, either -> discontinued, for good.
-- ---------------------------------------------------------------------------

CREATE FUNCTION stocksync.item_check() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF OLD.status = 'discontinued' AND NEW.status <> 'discontinued' THEN
        RAISE EXCEPTION 'sku "%" is discontinued and cannot become %', OLD.sku, NEW.status
            USING ERRCODE = 'SS013',
                  DETAIL = 'Discontinued is final: active <-> paused, and either -> discontinued.',
                  HINT = 'Create a new SKU to sell the item again.';
    END IF;
    IF NEW.kind = 'bundle' AND OLD.kind = 'simple'
       AND EXISTS (SELECT 1 FROM stocksync.stock_level WHERE sku = OLD.sku) THEN
        RAISE EXCEPTION 'sku "%" has stock and cannot become a bundle', OLD.sku
            USING ERRCODE = 'SS009', HINT = 'A bundle holds no stock of its own; create a new SKU for it.';
    END IF;
    IF NEW.kind = 'simple' AND OLD.kind = 'bundle'
       AND EXISTS (SELECT 1 FROM stocksync.bom WHERE bundle_sku = OLD.sku) THEN
        RAISE EXCEPTION 'sku "%" has a bill of materials and cannot become simple', OLD.sku
            USING ERRCODE = 'SS009', HINT = 'Delete its rows from stocksync.bom first.';
    END IF;
    IF NEW.version = OLD.version AND (NEW.status, NEW.kind) IS DISTINCT FROM (OLD.status, OLD.kind) THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER item_check BEFORE UPDATE ON stocksync.item
    FOR EACH ROW EXECUTE FUNCTION stocksync.item_check();

-- A paused or discontinued component makes its bundles show 0. A component's
-- kind counts too: a bundle's leaves are its simple SKUs, so a component
-- bundle without a bill of materials that becomes simple (or a simple one
-- without stock that becomes a bundle) changes what its bundles make up.
CREATE FUNCTION stocksync.item_cascade() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM stocksync.raise_bundle_versions(NEW.sku);
    RETURN NULL;
END $$;
CREATE TRIGGER item_cascade AFTER UPDATE OF status, kind ON stocksync.item
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.kind IS DISTINCT FROM NEW.kind)
    EXECUTE FUNCTION stocksync.item_cascade();

-- ---------------------------------------------------------------------------
-- Rule changes raise the versions the worker reads.
-- ---------------------------------------------------------------------------

-- The channel's rules or locations changed: raise channel.version (the
-- worker re-diffs the channel's listings). The observed push lag matters only
-- to a dynamic buffer without an explicit protection window.
-- Raises the versions of a row's channel before and after the change (NULL
-- where there is no such row: an insert has no old one, a delete no new one).
CREATE FUNCTION stocksync.raise_channel_versions(new_channel text, old_channel text)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        UPDATE stocksync.channel SET version = version + 1
         WHERE code IN (raise_channel_versions.new_channel, raise_channel_versions.old_channel);
    END;

CREATE FUNCTION stocksync.channel_rule_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND (NEW.channel, NEW.buffer_percent, NEW.buffer_min, NEW.velocity_window, NEW.protection_window,
            NEW.pool_percent, NEW.pool_mode, NEW.listing_split)
           IS NOT DISTINCT FROM (OLD.channel, OLD.buffer_percent, OLD.buffer_min, OLD.velocity_window,
                                 OLD.protection_window, OLD.pool_percent, OLD.pool_mode, OLD.listing_split)
       AND (NEW.push_lag_p99 IS NOT DISTINCT FROM OLD.push_lag_p99
            OR NEW.velocity_window IS NULL OR NEW.protection_window IS NOT NULL) THEN
        RETURN NULL;  -- nothing any quantity depends on moved
    END IF;
    -- A hard pool's share decides what every channel without a pool of its
    -- own may show (the rest of the partition): all of them are affected.
    IF (TG_OP <> 'DELETE' AND NEW.pool_mode = 'hard' AND NEW.pool_percent IS NOT NULL)
       OR (TG_OP <> 'INSERT' AND OLD.pool_mode = 'hard' AND OLD.pool_percent IS NOT NULL) THEN
        UPDATE stocksync.channel SET version = version + 1;
        RETURN NULL;
    END IF;
    PERFORM stocksync.raise_channel_versions(CASE WHEN TG_OP <> 'DELETE' THEN NEW.channel END,
                                             CASE WHEN TG_OP <> 'INSERT' THEN OLD.channel END);
    RETURN NULL;
END $$;
CREATE TRIGGER channel_rule_changed AFTER INSERT OR UPDATE OR DELETE ON stocksync.channel_rule
    FOR EACH ROW EXECUTE FUNCTION stocksync.channel_rule_changed();

CREATE FUNCTION stocksync.channel_location_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM stocksync.raise_channel_versions(CASE WHEN TG_OP <> 'DELETE' THEN NEW.channel END,
                                             CASE WHEN TG_OP <> 'INSERT' THEN OLD.channel END);
    RETURN NULL;
END $$;
CREATE TRIGGER channel_location_changed AFTER INSERT OR UPDATE OR DELETE ON stocksync.channel_location
    FOR EACH ROW EXECUTE FUNCTION stocksync.channel_location_changed();

-- Hard pools partition a SKU's stock: their shares never add up above 100 %
-- (what is left is held back). Serialized like the BOM checks.
CREATE FUNCTION stocksync.channel_rule_check() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    total numeric;
BEGIN
    IF NEW.pool_mode = 'hard' AND NEW.pool_percent IS NOT NULL THEN
        PERFORM pg_catalog.pg_advisory_xact_lock('stocksync.channel_rule'::pg_catalog.regclass::oid::integer, 0);
        -- Every other channel's hard pool, without the row this update
        -- replaces: it still carries the old code while a channel is renamed
        -- (ON UPDATE CASCADE), and counting it too refused the rename.
        SELECT COALESCE(pg_catalog.sum(pool_percent), 0) + NEW.pool_percent INTO total
          FROM stocksync.channel_rule
         WHERE pool_mode = 'hard' AND channel <> NEW.channel
           AND (TG_OP = 'INSERT' OR channel <> OLD.channel);
        IF total > 100 THEN
            RAISE EXCEPTION 'hard allocation pools would add up to % %% with channel "%"', total, NEW.channel
                USING ERRCODE = 'SS014',
                      DETAIL = pg_catalog.format('Channel "%s" asks for %s %%; hard pools partition the stock.',
                                                 NEW.channel, NEW.pool_percent),
                      HINT = 'Lower another channel''s hard pool first, or make this one a soft cap.';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER channel_rule_check BEFORE INSERT OR UPDATE ON stocksync.channel_rule
    FOR EACH ROW EXECUTE FUNCTION stocksync.channel_rule_check();

-- A channel's mode change raises its version (desired becomes 0 or returns).
CREATE FUNCTION stocksync.channel_check() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.version = OLD.version AND NEW.mode IS DISTINCT FROM OLD.mode THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER channel_check BEFORE UPDATE ON stocksync.channel
    FOR EACH ROW EXECUTE FUNCTION stocksync.channel_check();

-- A per-SKU override, or a listing added to or removed from a split channel,
-- changes what that SKU's listings show: raise the SKU's version. Per
-- statement, so that a bulk load of listings costs one UPDATE.
CREATE FUNCTION stocksync.sku_rules_changed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    channels text[] := '{}';
    skus text[] := '{}';
BEGIN
    -- Each transition table exists only for its events (plpgsql plans a
    -- statement when it first runs it).
    IF TG_OP <> 'DELETE' THEN
        SELECT channels || pg_catalog.array_agg(n.channel::text), skus || pg_catalog.array_agg(n.sku::text)
          INTO channels, skus FROM new_rows n;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        SELECT channels || pg_catalog.array_agg(o.channel::text), skus || pg_catalog.array_agg(o.sku::text)
          INTO channels, skus FROM old_rows o;
    END IF;
    WITH affected AS (
        SELECT DISTINCT c.sku FROM unnest(channels, skus) AS c (channel, sku)  -- syntax, not a function
         WHERE TG_TABLE_NAME <> 'listing'
            OR EXISTS (SELECT 1 FROM stocksync.channel_rule r
                        WHERE r.channel = c.channel AND r.listing_split = 'split'))
    UPDATE stocksync.item i SET version = i.version + 1 FROM affected a WHERE i.sku = a.sku;
    RETURN NULL;
END $$;
CREATE TRIGGER channel_sku_rule_inserted AFTER INSERT ON stocksync.channel_sku_rule
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stocksync.sku_rules_changed();
CREATE TRIGGER channel_sku_rule_updated AFTER UPDATE ON stocksync.channel_sku_rule
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stocksync.sku_rules_changed();
CREATE TRIGGER channel_sku_rule_deleted AFTER DELETE ON stocksync.channel_sku_rule
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stocksync.sku_rules_changed();
CREATE TRIGGER listing_inserted AFTER INSERT ON stocksync.listing
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stocksync.sku_rules_changed();
CREATE TRIGGER listing_updated AFTER UPDATE ON stocksync.listing
    REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stocksync.sku_rules_changed();
CREATE TRIGGER listing_deleted AFTER DELETE ON stocksync.listing
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stocksync.sku_rules_changed();

-- Refuses a NULL channel (SS009) and one that is not a row of
-- stocksync.channel (SS003): functions that take a channel name refuse a typo
-- instead of answering as if the channel had nothing or named no locations.
CREATE FUNCTION stocksync.check_channel_known(channel text)
    RETURNS void
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF check_channel_known.channel IS NULL THEN
        RAISE EXCEPTION 'channel must not be null' USING ERRCODE = 'SS009';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM stocksync.channel c WHERE c.code = check_channel_known.channel) THEN
        RAISE EXCEPTION 'unknown channel "%"', check_channel_known.channel
            USING ERRCODE = 'SS003', HINT = 'Channels are the rows of stocksync.channel.';
    END IF;
END $$;
REVOKE ALL ON FUNCTION stocksync.check_channel_known(text) FROM PUBLIC;

-- stocksync-worker reports the p99 of its commit-to-acknowledgement lag per
-- channel; the dynamic buffer protects twice that by default.
-- An unknown channel, a missing or negative lag are refused with stocksync's
-- codes (they failed on channel_rule's constraints: 23503, 23502, 23514).
CREATE FUNCTION stocksync.report_push_lag(channel text, p99 interval)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF report_push_lag.channel IS NULL OR report_push_lag.p99 IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN report_push_lag.channel IS NULL THEN 'channel' ELSE 'p99' END
            USING ERRCODE = 'SS009';
    END IF;
    IF report_push_lag.p99 < interval '0' THEN
        RAISE EXCEPTION 'push lag of channel "%" must not be negative: %', report_push_lag.channel, report_push_lag.p99
            USING ERRCODE = 'SS009';
    END IF;
    IF report_push_lag.p99 > interval '100 years' THEN
        RAISE EXCEPTION 'push lag of channel "%" must be at most 100 years: %', report_push_lag.channel, report_push_lag.p99
            USING ERRCODE = 'SS009';
    END IF;
    PERFORM stocksync.check_channel_known(report_push_lag.channel);
    INSERT INTO stocksync.channel_rule AS r (channel, push_lag_p99)
    VALUES (report_push_lag.channel, report_push_lag.p99)
    ON CONFLICT ON CONSTRAINT channel_rule_pkey DO UPDATE SET push_lag_p99 = EXCLUDED.push_lag_p99
     WHERE r.push_lag_p99 IS DISTINCT FROM EXCLUDED.push_lag_p99;
END $$;
COMMENT ON FUNCTION stocksync.report_push_lag IS 'Records a channel''s observed p99 push lag, the default protection window of its dynamic buffer (twice that).';

-- ---------------------------------------------------------------------------
-- What a channel may show of a SKU.
-- ---------------------------------------------------------------------------

-- The locations a channel sells from: those it names (channel_location), or
-- every location when it names none.
CREATE FUNCTION stocksync.channel_places(channel text)
    RETURNS SETOF text
    LANGUAGE sql STABLE AS $$
    SELECT l.code FROM stocksync.location l
     WHERE NOT EXISTS (SELECT 1 FROM stocksync.channel_location cl WHERE cl.channel = $1)
        OR l.code IN (SELECT cl.location FROM stocksync.channel_location cl WHERE cl.channel = $1)
$$;
COMMENT ON FUNCTION stocksync.channel_places IS 'The locations a channel sells from: those of channel_location, or every location when it names none.';

-- Units of sku at each location the channel sells from: its available
-- there, never below 0, a hot SKU's buckets added before the floor; a
-- bundle's the fewest its components make up there (per component
-- floor(available / units per bundle)). No rows for an unknown SKU or a
-- bundle without a bill of materials.
CREATE FUNCTION stocksync.channel_place_units(channel text, sku text)
    RETURNS TABLE (location text, units numeric)
    LANGUAGE sql STABLE AS $$
    WITH leaves AS (
        SELECT b.component_sku, b.qty FROM stocksync.bundle_leaves($2) b
        UNION ALL
        SELECT i.sku, 1 FROM stocksync.item i WHERE i.sku = $2 AND i.kind = 'simple')
    SELECT p.code,
           pg_catalog.min(pg_catalog.div(GREATEST(COALESCE(s.on_hand - s.reserved - s.committed - s.damaged
                                                           - s.quality_control - s.safety_stock
                                                           + CASE WHEN s.buckets > 0 THEN (
                                                               SELECT pg_catalog.sum(b.on_hand - b.reserved - b.committed - b.damaged - b.quality_control - b.safety_stock)
                                                                 FROM stocksync.stock_bucket b
                                                                WHERE b.sku = s.sku AND b.location = s.location)
                                                             ELSE 0 END, 0), 0),
                                         lv.qty))
      FROM stocksync.channel_places($1) AS p (code) CROSS JOIN leaves lv
      LEFT JOIN stocksync.stock_level s ON s.sku = lv.component_sku AND s.location = p.code
     GROUP BY p.code
$$;
COMMENT ON FUNCTION stocksync.channel_place_units IS 'Units of sku (simple or bundle) at each of the channel''s locations, never below 0.';

-- Where a line of the channel's order that names no location is held: a
-- webhook or polled order says which listing sold, never which warehouse.
-- - A channel that sells from one location: there.
-- - An order stocksync holds already (a later delivery of it): where its
--   line of the SKU is, so that a replay compares equal. (Where the order
--   holds the SKU at several locations, by another line or a bundle's, the
--   first of them: a replay may then be refused as other lines, SS006.)
-- - Otherwise one of the channel's locations whose available covers the
--   line ('default' first, then the one with the most), or, when none does,
--   'default' if the channel sells from it, else the one with the most. The
--   channel shows the sum of its locations' stock: holding at a location that
--   has none left (as 'default' always did) kept the others' units on show,
--   and every further sale of them was recorded short at 'default'.
-- The stock is read as the statement sees it; the reservation then locks the
-- rows and decides, so a choice made on a figure that changed meanwhile is
-- at worst recorded short (or refused), never oversold unnoticed.
-- PL/pgSQL for its kept plans: a LANGUAGE sql function with a FROM clause is
-- planned afresh in every statement that calls it, which cost a reservation
-- several times its own work. Not SECURITY DEFINER and no SET clause: only
-- stocksync's own functions, whose search_path is pinned, may call it.
CREATE FUNCTION stocksync.order_line_location(channel text, order_ref text, sku text, qty integer)
    RETURNS text
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    places text[] := ARRAY(SELECT p.code FROM stocksync.channel_places(order_line_location.channel) AS p (code));
    held text;
BEGIN
    IF pg_catalog.cardinality(places) = 1 THEN
        RETURN places[1];
    END IF;
    SELECT r.locations[i] INTO held
      FROM stocksync.reservation r, pg_catalog.generate_subscripts(r.skus, 1) AS i
     WHERE r.channel = order_line_location.channel AND r.order_ref = order_line_location.order_ref
       AND r.skus[i] = order_line_location.sku
     ORDER BY i LIMIT 1;
    IF held IS NOT NULL THEN
        RETURN held;
    END IF;
    RETURN (SELECT p.code FROM pg_catalog.unnest(places) AS p (code)
              LEFT JOIN stocksync.channel_place_units(order_line_location.channel, order_line_location.sku) u
                ON u.location = p.code
             ORDER BY COALESCE(u.units >= GREATEST(order_line_location.qty, 1), false) DESC, p.code = 'default' DESC,
                      u.units DESC NULLS LAST, p.code COLLATE "C"
             LIMIT 1);
END $$;
COMMENT ON FUNCTION stocksync.order_line_location IS 'Where a line of the channel''s order that names no location is held: the channel''s only location, where a known order holds the SKU, or one of its locations whose stock covers the line (default first).';

-- Sellable units of sku for a channel: over the channel's locations (all when
-- it names none); a bundle per location the minimum over its components of
-- floor(available / units per bundle), summed over locations. A location never
-- counts below 0.
-- An unknown channel would read as one that names no locations (all the
-- stock) and an unknown SKU as one without stock (0): both are refused, the
-- SKU only when the answer is 0, so that channel_sku_target, which asks
-- about rows that exist, pays one probe a call.
CREATE FUNCTION stocksync.channel_available(channel text, sku text)
    RETURNS integer
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    units integer;
BEGIN
    IF channel_available.channel IS NULL OR channel_available.sku IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN channel_available.channel IS NULL THEN 'channel' ELSE 'sku' END
            USING ERRCODE = 'SS009';
    END IF;
    -- check_channel_known() inlined: channel_sku_target calls this once per row.
    IF NOT EXISTS (SELECT 1 FROM stocksync.channel c WHERE c.code = channel_available.channel) THEN
        RAISE EXCEPTION 'unknown channel "%"', channel_available.channel
            USING ERRCODE = 'SS003', HINT = 'Channels are the rows of stocksync.channel.';
    END IF;
    -- Locations add up past an integer (each holds up to 2147483647): no
    -- channel can be shown more, so the sum stops there.
    units := (SELECT LEAST(COALESCE(pg_catalog.sum(u.units), 0), 2147483647)::integer
                FROM stocksync.channel_place_units(channel_available.channel, channel_available.sku) u);
    IF units = 0 AND NOT EXISTS (SELECT 1 FROM stocksync.item i WHERE i.sku = channel_available.sku) THEN
        RAISE EXCEPTION 'unknown sku "%"', channel_available.sku USING ERRCODE = 'SS001';
    END IF;
    RETURN units;
END $$;
COMMENT ON FUNCTION stocksync.channel_available IS 'Units of sku (simple or bundle) available to a channel: its locations only; a bundle as min over components of floor(available / qty).';

-- A component of the bundle, nested bundles themselves included, that is not
-- active (the first in byte order), or NULL: the bundle then shows 0. Its
-- leaves alone (bundle_leaves) let a gift set sell a paused kit's contents.
-- PL/pgSQL for the kept plan, as bundle_leaves; not SECURITY DEFINER: its
-- callers (channel_sku_target's readers) read bom and item themselves.
CREATE FUNCTION stocksync.bundle_inactive_component(bundle text)
    RETURNS text
    LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (
        WITH RECURSIVE down (sku) AS (
            SELECT b.component_sku FROM stocksync.bom b WHERE b.bundle_sku = bundle_inactive_component.bundle
            UNION
            SELECT b.component_sku FROM down CROSS JOIN LATERAL (
                   SELECT x.component_sku FROM stocksync.bom x WHERE x.bundle_sku = down.sku OFFSET 0) b)
        -- The status as a correlated probe, as bundle_leaves reads the kind:
        -- joined, the planner hashed a sequential scan of all items per call.
        SELECT down.sku::text FROM down
         WHERE (SELECT ci.status FROM stocksync.item ci WHERE ci.sku = down.sku) <> 'active'
         ORDER BY down.sku LIMIT 1);
END $$;
COMMENT ON FUNCTION stocksync.bundle_inactive_component IS 'A component of the bundle (nested bundles included) that is not active, or NULL.';

-- Units sold (reserved) of sku per second over `span`; a bundle's velocity is
-- the fastest any of its components is consumed, in bundles.
CREATE FUNCTION stocksync.sales_velocity(sku text, span interval)
    RETURNS double precision
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    velocity double precision;
BEGIN
    IF sales_velocity.sku IS NULL OR sales_velocity.span IS NULL THEN
        RAISE EXCEPTION '% must not be null', CASE WHEN sales_velocity.sku IS NULL THEN 'sku' ELSE 'span' END
            USING ERRCODE = 'SS009';
    END IF;
    -- As for channel_rule.velocity_window: positive (a span of 0 divided the
    -- transaction's own reservations by a microsecond, a negative one read
    -- as 0), and now() - span must be a timestamp.
    IF sales_velocity.span <= interval '0' THEN
        RAISE EXCEPTION 'span must be positive: %', sales_velocity.span USING ERRCODE = 'SS009';
    END IF;
    IF sales_velocity.span > interval '100 years' THEN
        RAISE EXCEPTION 'span must be at most 100 years: %', sales_velocity.span USING ERRCODE = 'SS009';
    END IF;
    velocity := (
        WITH leaves AS (
            SELECT b.component_sku, b.qty FROM stocksync.bundle_leaves(sales_velocity.sku) b
            UNION ALL
            SELECT i.sku, 1 FROM stocksync.item i WHERE i.sku = sales_velocity.sku AND i.kind = 'simple'),
        sold AS (
            SELECT lv.component_sku, lv.qty,
                   (SELECT COALESCE(pg_catalog.sum(g.qty), 0) FROM stocksync.ledger g
                     WHERE g.at >= pg_catalog.now() - sales_velocity.span AND g.kind = 'RESERVE'
                       AND g.sku = lv.component_sku) AS units
              FROM leaves lv)
        SELECT COALESCE(pg_catalog.max(units::double precision / qty), 0)
               / GREATEST(EXTRACT(epoch FROM sales_velocity.span)::double precision, 1e-6)
          FROM sold);
    -- An unknown SKU would read as one that sells nothing; refused as
    -- channel_available() refuses it, only when the answer is 0, so that
    -- channel_sku_target, which asks about SKUs that exist, pays no probe
    -- for a SKU that sells.
    IF velocity = 0 AND NOT EXISTS (SELECT 1 FROM stocksync.item i WHERE i.sku = sales_velocity.sku) THEN
        RAISE EXCEPTION 'unknown sku "%"', sales_velocity.sku
            USING ERRCODE = 'SS001', HINT = 'Add the SKU to stocksync.item first.';
    END IF;
    RETURN velocity;
END $$;
COMMENT ON FUNCTION stocksync.sales_velocity IS 'Units of sku reserved per second over the last span (a bundle: its fastest-consumed component, in bundles).';

-- Per channel and SKU: what is available to the channel, its buffer, its pool
-- cap and the quantity it may publish, with why and the version of the inputs.
--   buffer    = max(buffer_min, ceil(available * buffer_percent / 100),
--                   ceil(velocity * protection window))
--   pool_cap  = floor(available * pool_percent / 100)   (NULL: no pool)
--   once any channel has a hard pool, the stock is a partition: a channel
--   without a hard pool of its own has a hard pool of what the hard pools
--   leave (share = 100 - their sum), which its soft cap, if it has one, may
--   only lower (pool_cap = the smaller of the two)
--   hard pool: published = max(0, min(min(available, share_cap) - buffer, pool_cap))
--              (share_cap = pool_cap for a channel's own hard pool)
--   soft cap:  published = max(0, min(available - buffer, pool_cap))
-- and 0 for a paused channel, a paused or discontinued SKU or component.
CREATE VIEW stocksync.channel_sku_target AS
SELECT c.code AS channel, i.sku, i.kind AS sku_kind, c.mode AS channel_mode, r.listing_split,
       v.available, b.buffer, p.pool_cap,
       CASE WHEN x.blocked IS NOT NULL THEN 0
            WHEN r.pool_mode = 'hard' THEN GREATEST(0, LEAST(LEAST(v.available, COALESCE(p.share_cap, v.available)) - b.buffer,
                                                             COALESCE(p.pool_cap, v.available)))
            ELSE GREATEST(0, LEAST(v.available - b.buffer, COALESCE(p.pool_cap, v.available))) END AS published,
       CASE WHEN x.blocked IS NOT NULL THEN x.blocked
            WHEN v.available <= 0 THEN 'nothing available'
            WHEN p.pool_cap IS NOT NULL AND r.pool_mode = 'hard'
                 AND p.pool_cap < LEAST(v.available, COALESCE(p.share_cap, v.available)) - b.buffer THEN 'pool cap'
            WHEN p.pool_cap IS NOT NULL AND r.pool_mode = 'hard' THEN 'hard pool less buffer'
            WHEN p.pool_cap IS NOT NULL AND p.pool_cap < v.available - b.buffer THEN 'pool cap'
            WHEN b.buffer > 0 THEN 'available less buffer'
            ELSE 'available' END AS limited_by,
       (i.version + c.version + v.stock_version)::bigint AS inputs_version
  FROM stocksync.channel c
 CROSS JOIN stocksync.item i
  LEFT JOIN stocksync.channel_rule cr ON cr.channel = c.code
  LEFT JOIN stocksync.channel_sku_rule sr ON sr.channel = c.code AND sr.sku = i.sku
 -- The hard pools' total share (NULL: none): an uncorrelated subquery, so
 -- evaluated once per query however many listings are read.
 CROSS JOIN LATERAL (SELECT (SELECT pg_catalog.sum(h.pool_percent) FROM stocksync.channel_rule h
                              WHERE h.pool_mode = 'hard' AND h.pool_percent IS NOT NULL) AS total) hp
 CROSS JOIN LATERAL (
      -- Under a partition every channel's share is a hard pool: its own, or
      -- what the hard pools leave, from which its buffer is taken; a soft cap
      -- of its own only lowers what it shows of that share (pool_percent). A
      -- soft cap treated as a soft cap here took the buffer from all that is
      -- available instead, and showed more than no cap at all.
      SELECT CASE WHEN hp.total IS NOT NULL THEN 'hard'
                  ELSE COALESCE(cr.pool_mode, 'soft') END AS pool_mode,
             COALESCE(cr.listing_split, 'shared') AS listing_split,
             COALESCE(sr.buffer_percent, cr.buffer_percent, 0) AS buffer_percent,
             COALESCE(sr.buffer_min, cr.buffer_min, 0) AS buffer_min,
             cr.velocity_window, COALESCE(cr.protection_window, 2 * cr.push_lag_p99) AS protection_window,
             CASE WHEN cr.pool_mode = 'hard' AND cr.pool_percent IS NOT NULL THEN cr.pool_percent
                  WHEN hp.total IS NOT NULL THEN LEAST(COALESCE(cr.pool_percent, 100), 100 - hp.total)
                  ELSE cr.pool_percent END AS pool_percent,
             CASE WHEN cr.pool_mode = 'hard' AND cr.pool_percent IS NOT NULL THEN cr.pool_percent
                  WHEN hp.total IS NOT NULL THEN 100 - hp.total END AS share_percent) r
 -- A simple SKU's stock versions rise with each of its changes; a bundle has
 -- no stock rows (0 here), its changes raise its item.version (the cascade).
 CROSS JOIN LATERAL (
      SELECT COALESCE(pg_catalog.sum(sl.version), 0) AS stock_version,
             -- at most an integer, as channel_available() counts it
             LEAST(COALESCE(pg_catalog.sum(GREATEST(sl.available, 0)), 0), 2147483647)::integer AS everywhere
        -- Per location; a hot SKU's buckets added (only probed when it has some).
        FROM (SELECT x.version + CASE WHEN x.buckets > 0 THEN (
                         SELECT pg_catalog.sum(b.version) FROM stocksync.stock_bucket b
                          WHERE b.sku = x.sku AND b.location = x.location) ELSE 0 END AS version,
                     x.on_hand - x.reserved - x.committed - x.damaged - x.quality_control - x.safety_stock
                     + CASE WHEN x.buckets > 0 THEN (
                         SELECT pg_catalog.sum(b.on_hand - b.reserved - b.committed - b.damaged - b.quality_control - b.safety_stock)
                           FROM stocksync.stock_bucket b WHERE b.sku = x.sku AND b.location = x.location)
                       ELSE 0 END AS available
                FROM stocksync.stock_level x WHERE x.sku = i.sku) sl) s
 CROSS JOIN LATERAL (
      SELECT s.stock_version,
             CASE WHEN i.kind = 'simple'
                       AND NOT EXISTS (SELECT 1 FROM stocksync.channel_location cl WHERE cl.channel = c.code)
                  THEN s.everywhere
                  ELSE stocksync.channel_available(c.code, i.sku) END AS available
      OFFSET 0) v
 CROSS JOIN LATERAL (
      SELECT GREATEST(r.buffer_min,
                      pg_catalog.ceil(v.available * r.buffer_percent / 100)::integer,
                      CASE WHEN r.velocity_window IS NOT NULL AND r.protection_window IS NOT NULL
                           THEN LEAST(pg_catalog.ceil(stocksync.sales_velocity(i.sku, r.velocity_window)
                                                      * EXTRACT(epoch FROM r.protection_window)), 2147483647)::integer
                           ELSE 0 END) AS buffer
      OFFSET 0) b
 CROSS JOIN LATERAL (
      SELECT pg_catalog.floor(v.available * r.pool_percent / 100)::integer AS pool_cap,
             pg_catalog.floor(v.available * r.share_percent / 100)::integer AS share_cap) p
 CROSS JOIN LATERAL (
      SELECT CASE WHEN c.mode = 'paused' THEN 'channel paused'
                  WHEN i.status <> 'active' THEN 'sku ' || i.status
                  WHEN i.kind = 'bundle' AND stocksync.bundle_inactive_component(i.sku) IS NOT NULL
                       THEN 'component not active'
                  END AS blocked
      OFFSET 0) x;
COMMENT ON VIEW stocksync.channel_sku_target IS 'Per channel and SKU: available to the channel, buffer, pool cap, the quantity it may publish, what limits it, and the version of its inputs.';

-- No row answers NULL: an unknown channel or SKU is refused instead.
CREATE FUNCTION stocksync.published_quantity(channel text, sku text)
    RETURNS integer
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    published integer;
BEGIN
    SELECT t.published INTO published FROM stocksync.channel_sku_target t
     WHERE t.channel = published_quantity.channel AND t.sku = published_quantity.sku;
    IF NOT FOUND THEN
        PERFORM stocksync.check_channel_known(published_quantity.channel);
        IF published_quantity.sku IS NULL THEN
            RAISE EXCEPTION 'sku must not be null' USING ERRCODE = 'SS009';
        END IF;
        RAISE EXCEPTION 'unknown sku "%"', published_quantity.sku USING ERRCODE = 'SS001';
    END IF;
    RETURN published;
END $$;
COMMENT ON FUNCTION stocksync.published_quantity IS 'The quantity channel may show of sku (before dividing it among split listings): never below 0, 0 when paused or discontinued.';

-- ---------------------------------------------------------------------------
-- Channel sync: what each listing should show (desired, computed at read
-- time, never stored) and what its channel last acknowledged (stored by
-- stocksync-worker).
-- ---------------------------------------------------------------------------

-- The quantity each listing should show, why, and the version of its inputs
-- (channel_sku_target): a channel's published quantity of the SKU, or on a
-- channel whose listings split it, an even share of it (the remainder going to
-- the first listings in external_id order).
CREATE VIEW stocksync.listing_target AS
SELECT l.channel, l.external_id, l.sku, c.kind AS channel_kind, t.channel_mode, t.available,
       CASE WHEN t.listing_split = 'split' THEN s.share ELSE t.published END::integer AS desired_qty,
       t.inputs_version, t.buffer, t.pool_cap, t.published, t.limited_by, t.listing_split
  FROM stocksync.listing l
  JOIN stocksync.channel c ON c.code = l.channel
 -- Evaluated per listing (OFFSET 0 keeps the planner from flattening it into
 -- a channel x item product first): a few index probes each.
 CROSS JOIN LATERAL (
      SELECT * FROM stocksync.channel_sku_target t WHERE t.channel = l.channel AND t.sku = l.sku OFFSET 0) t
 CROSS JOIN LATERAL (
      SELECT CASE WHEN t.listing_split = 'split' THEN (
                 SELECT t.published / pg_catalog.count(*)
                        + CASE WHEN pg_catalog.count(*) FILTER (WHERE o.external_id < l.external_id)
                                    < t.published % pg_catalog.count(*) THEN 1 ELSE 0 END
                   FROM stocksync.listing o WHERE o.sku = l.sku AND o.channel = l.channel) END AS share
      OFFSET 0) s;
COMMENT ON VIEW stocksync.listing_target IS 'Per listing: the quantity it should show now, why (available, buffer, pool cap), and the version of the inputs it was computed from.';

-- What the channel acknowledged per listing, and where its push stands:
-- pending -> in_flight -> acked, or retry (at retry_at) and, after too many
-- attempts, dead until stocksync.retry_dead() brings it back.
CREATE TABLE stocksync.listing_state (
    channel        text COLLATE "C" NOT NULL,
    external_id    text COLLATE "C" NOT NULL,
    state          text NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'in_flight', 'acked', 'retry', 'dead', 'shadow')),
    acked_qty      integer,
    acked_version  bigint,
    acked_at       timestamptz,
    pushed_qty     integer,
    attempts       integer NOT NULL DEFAULT 0,
    last_error     text,
    retry_at       timestamptz,
    -- The idempotency key of the push in flight or awaiting retry, so that a
    -- retry after a worker crash reuses it and the channel answers with the
    -- original result instead of applying the push a second time.
    push_key       text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, external_id),
    FOREIGN KEY (channel, external_id) REFERENCES stocksync.listing (channel, external_id)
        ON DELETE CASCADE ON UPDATE CASCADE
);
COMMENT ON TABLE stocksync.listing_state IS 'Acknowledged state per listing, kept by stocksync-worker.';

CREATE VIEW stocksync.sync_status AS
SELECT t.channel, t.external_id, t.sku, t.channel_mode, t.desired_qty, st.acked_qty,
       COALESCE(st.state, 'pending') AS state,
       st.acked_qty IS NOT DISTINCT FROM t.desired_qty AS in_sync,
       COALESCE(st.attempts, 0) AS attempts, st.last_error, st.retry_at, st.acked_at,
       t.inputs_version, st.acked_version
  FROM stocksync.listing_target t
  LEFT JOIN stocksync.listing_state st ON st.channel = t.channel AND st.external_id = t.external_id;
COMMENT ON VIEW stocksync.sync_status IS 'Per listing: desired and acknowledged quantity, push state, attempts and the last error.';

-- An unknown channel is refused rather than answered with 0, so that a typo
-- does not read as "nothing was dead".
CREATE FUNCTION stocksync.retry_dead(channel text)
    RETURNS integer LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    revived integer;
BEGIN
    PERFORM stocksync.check_channel_known(retry_dead.channel);
    UPDATE stocksync.listing_state s
       SET state = 'pending', attempts = 0, retry_at = NULL, updated_at = pg_catalog.now()
     WHERE s.channel = retry_dead.channel AND s.state = 'dead';
    GET DIAGNOSTICS revived = ROW_COUNT;
    RETURN revived;
END $$;
COMMENT ON FUNCTION stocksync.retry_dead IS 'Brings a channel''s dead listings back to pending so the worker pushes them again. Returns how many.';

-- ---------------------------------------------------------------------------
-- The ledger refuses UPDATE, DELETE and TRUNCATE, whoever asks: ENABLE
-- ALWAYS, so that sessions with session_replication_role = replica (logical
-- replication's apply, or a superuser's restore script) are refused too.
-- ---------------------------------------------------------------------------

CREATE FUNCTION stocksync.ledger_append_only() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'stocksync_ledger_append_only';
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON stocksync.ledger
    FOR EACH ROW EXECUTE FUNCTION stocksync.ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON stocksync.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION stocksync.ledger_append_only();
ALTER TABLE stocksync.ledger ENABLE ALWAYS TRIGGER ledger_no_update_delete;
ALTER TABLE stocksync.ledger ENABLE ALWAYS TRIGGER ledger_no_truncate;

-- ---------------------------------------------------------------------------
-- Stock movements. All SECURITY DEFINER with a pinned search_path: callers
-- need EXECUTE (role stocksync_writer), not table privileges, so the ledger
-- and the projection can only change together.
-- ---------------------------------------------------------------------------

CREATE FUNCTION stocksync.receive(sku text, qty integer, location text DEFAULT 'default',
                                  reference text DEFAULT NULL, from_incoming boolean DEFAULT false)
    RETURNS bigint LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_receive';
COMMENT ON FUNCTION stocksync.receive IS 'Goods receipt: adds qty to on_hand (and takes it off incoming when from_incoming). Returns the new version.';

CREATE FUNCTION stocksync.expect(sku text, qty integer, location text DEFAULT 'default',
                                 reference text DEFAULT NULL)
    RETURNS bigint LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_expect';
COMMENT ON FUNCTION stocksync.expect IS 'Purchase order placed: adds qty to incoming. Returns the new version.';

CREATE FUNCTION stocksync.adjust(sku text, delta integer, reason text, location text DEFAULT 'default',
                                 state text DEFAULT 'available', reference text DEFAULT NULL)
    RETURNS bigint LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_adjust';
COMMENT ON FUNCTION stocksync.adjust IS 'Correction of on_hand by delta with a reason (shrinkage, found stock); state damaged or quality_control adjusts that part of on_hand.';

CREATE FUNCTION stocksync.cycle_count(sku text, counted integer, reason text DEFAULT 'cycle count',
                                      location text DEFAULT 'default', reference text DEFAULT NULL)
    RETURNS integer LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_cycle_count';
COMMENT ON FUNCTION stocksync.cycle_count IS 'A counted on_hand figure, recorded as an ADJUST of the difference. Returns the difference.';

CREATE FUNCTION stocksync.move(sku text, qty integer, from_state text, to_state text,
                               location text DEFAULT 'default', reason text DEFAULT NULL)
    RETURNS bigint LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_move';
COMMENT ON FUNCTION stocksync.move IS 'Moves units between available, damaged, quality_control and safety_stock within one location.';

CREATE FUNCTION stocksync.transfer(sku text, qty integer, from_location text, to_location text,
                                   reference text DEFAULT NULL)
    RETURNS void LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_transfer';
COMMENT ON FUNCTION stocksync.transfer IS 'Moves available units from one location to another.';

CREATE FUNCTION stocksync.set_on_hand(sku text, qty integer, source text, source_version bigint,
                                      location text DEFAULT 'default')
    RETURNS boolean LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_set_on_hand';
COMMENT ON FUNCTION stocksync.set_on_hand IS 'An absolute on_hand figure from a source; applied (true) only when source_version is newer than the last one seen.';

-- ---------------------------------------------------------------------------
-- Orders: reserve, commit, extend, release, fulfill, return, expire.
-- ---------------------------------------------------------------------------

CREATE TYPE stocksync.reservation_result AS (
    reservation_id bigint,
    shortage       integer,
    expires_at     timestamptz
);

-- The one stock function that is not SECURITY DEFINER: fmgr's SET clause
-- cost 5.4 to 5.9 % of its CPU per call (docs/benchmarks.md). Its fast path writes the tables through
-- the table AM as the caller (no privilege checks, no names resolved, no user
-- code run); everything else it does runs as this function's owner with
-- search_path = pg_catalog, pg_temp, entered in C (extension/src/definer.hpp).
-- Callers still need EXECUTE, granted to stocksync_writer only.
CREATE FUNCTION stocksync.reserve(channel text, order_ref text, sku text, qty integer,
                                  ttl interval DEFAULT '15 minutes', location text DEFAULT 'default',
                                  strategy text DEFAULT 'pessimistic', on_shortage text DEFAULT 'reject')
    RETURNS stocksync.reservation_result LANGUAGE c VOLATILE SECURITY INVOKER
    AS 'MODULE_PATHNAME', 'stocksync_reserve';
COMMENT ON FUNCTION stocksync.reserve(text, text, text, integer, interval, text, text, text)
    IS 'Soft hold of qty units of sku for an order; idempotent on (channel, order_ref).';

CREATE FUNCTION stocksync.reserve(channel text, order_ref text, lines jsonb,
                                  ttl interval DEFAULT '15 minutes',
                                  strategy text DEFAULT 'pessimistic', on_shortage text DEFAULT 'reject')
    RETURNS stocksync.reservation_result LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_reserve_lines';
COMMENT ON FUNCTION stocksync.reserve(text, text, jsonb, interval, text, text)
    IS 'Soft hold for a multi-line order [{"sku":..,"qty":..,"location":..}]: all lines or none; idempotent on (channel, order_ref).';

-- SECURITY INVOKER as reserve() of one line: its fast path runs as the
-- caller, everything else as the owner with search_path pinned (definer.hpp).
CREATE FUNCTION stocksync.commit(channel text, order_ref text)
    RETURNS text LANGUAGE c VOLATILE SECURITY INVOKER
    AS 'MODULE_PATHNAME', 'stocksync_commit';
COMMENT ON FUNCTION stocksync.commit IS 'Turns a soft hold into a hard one (paid order): no expiry. Returns the order state.';

CREATE FUNCTION stocksync.extend(channel text, order_ref text, ttl interval)
    RETURNS timestamptz LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_extend';
COMMENT ON FUNCTION stocksync.extend IS 'Checkout heartbeat: the soft hold now expires ttl from now. Returns the new expiry.';

CREATE FUNCTION stocksync.release(channel text, order_ref text, reason text DEFAULT 'cancelled')
    RETURNS text LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_release';
COMMENT ON FUNCTION stocksync.release IS 'Cancels an order''s unfulfilled holds. Returns the order state.';

CREATE FUNCTION stocksync.fulfill(channel text, order_ref text, lines jsonb DEFAULT NULL,
                                  shipment_ref text DEFAULT NULL)
    RETURNS text LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_fulfill';
COMMENT ON FUNCTION stocksync.fulfill IS 'Ships held units: they leave on_hand. lines NULL ships everything still held. Returns the order state.';

CREATE FUNCTION stocksync.return_items(channel text, order_ref text, lines jsonb DEFAULT NULL,
                                       to_state text DEFAULT 'available', return_ref text DEFAULT NULL)
    RETURNS text LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_return_items';
COMMENT ON FUNCTION stocksync.return_items IS 'Takes shipped units back into on_hand (available, quality_control or damaged). Returns the order state.';

CREATE FUNCTION stocksync.expire_holds(max_rows integer DEFAULT 1000)
    RETURNS integer LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_expire_holds';
COMMENT ON FUNCTION stocksync.expire_holds IS 'Releases up to max_rows expired soft holds; safe from several sessions at once. Returns how many.';

-- ---------------------------------------------------------------------------
-- Reading stock.
-- ---------------------------------------------------------------------------

CREATE FUNCTION stocksync.available(sku text, location text DEFAULT NULL)
    RETURNS integer LANGUAGE c STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_available';
COMMENT ON FUNCTION stocksync.available IS 'Sellable units of sku at location, or over all locations when location is NULL.';

CREATE FUNCTION stocksync.stock_at(sku text, at timestamptz, location text DEFAULT NULL)
    RETURNS TABLE (location text, on_hand bigint, reserved bigint, committed bigint, damaged bigint,
                   quality_control bigint, safety_stock bigint, incoming bigint, available bigint)
    LANGUAGE c STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_stock_at';
COMMENT ON FUNCTION stocksync.stock_at IS 'Stock of sku as it was at a past instant, rebuilt from the ledger.';

CREATE FUNCTION stocksync.verify_ledger()
    RETURNS TABLE (sku text, location text, quantity text, ledger bigint, projection bigint)
    LANGUAGE c STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'stocksync_verify_ledger';
COMMENT ON FUNCTION stocksync.verify_ledger IS 'Recomputes the projection from the ledger; returns every difference (none when consistent).';

-- ---------------------------------------------------------------------------
-- Roles and privileges.
-- ---------------------------------------------------------------------------

-- Roles are cluster-wide: a second database reuses them. An existing role is
-- accepted only if it cannot log in and is no superuser, so a role planted by
-- someone else with more power is refused rather than granted our privileges.
DO $roles$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['stocksync_reader', 'stocksync_writer', 'stocksync_worker'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r AND (rolcanlogin OR rolsuper)) THEN
            RAISE EXCEPTION 'role "%" exists and can log in or is a superuser', r
                USING ERRCODE = '42501',
                      HINT = 'stocksync grants its privileges to a NOLOGIN group role; drop or alter that role first.';
        END IF;
    END LOOP;
END
$roles$;
GRANT stocksync_reader TO stocksync_writer;
GRANT stocksync_writer TO stocksync_worker;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA stocksync FROM PUBLIC;
GRANT USAGE ON SCHEMA stocksync TO stocksync_reader;

GRANT SELECT ON ALL TABLES IN SCHEMA stocksync TO stocksync_reader;
GRANT EXECUTE ON FUNCTION stocksync.available(text, text), stocksync.stock_at(text, timestamptz, text),
                          stocksync.verify_ledger() TO stocksync_reader;

-- Writers maintain the catalog directly and move stock only through functions.
GRANT INSERT, UPDATE, DELETE ON stocksync.item, stocksync.location, stocksync.channel, stocksync.listing
    TO stocksync_writer;
GRANT EXECUTE ON FUNCTION
    stocksync.receive(text, integer, text, text, boolean), stocksync.expect(text, integer, text, text),
    stocksync.adjust(text, integer, text, text, text, text),
    stocksync.cycle_count(text, integer, text, text, text),
    stocksync.move(text, integer, text, text, text, text), stocksync.transfer(text, integer, text, text, text),
    stocksync.set_on_hand(text, integer, text, bigint, text),
    stocksync.reserve(text, text, text, integer, interval, text, text, text),
    stocksync.reserve(text, text, jsonb, interval, text, text),
    stocksync.commit(text, text), stocksync.extend(text, text, interval), stocksync.release(text, text, text),
    stocksync.fulfill(text, text, jsonb, text), stocksync.return_items(text, text, jsonb, text, text),
    stocksync.expire_holds(integer)
    TO stocksync_writer;

-- Bundles and channel rules: configuration for writers, the computed
-- quantities for readers, the observed push lag for the worker.
GRANT INSERT, UPDATE, DELETE ON stocksync.bom, stocksync.channel_location, stocksync.channel_rule,
    stocksync.channel_sku_rule TO stocksync_writer;
GRANT EXECUTE ON FUNCTION stocksync.bundle_leaves(text), stocksync.bundle_ancestors(text),
    stocksync.bundle_inactive_component(text),
    stocksync.channel_available(text, text), stocksync.sales_velocity(text, interval),
    stocksync.published_quantity(text, text) TO stocksync_reader;

-- stocksync-worker records what channels acknowledged.
GRANT INSERT, UPDATE, DELETE ON stocksync.listing_state TO stocksync_worker;
GRANT EXECUTE ON FUNCTION stocksync.retry_dead(text), stocksync.report_push_lag(text, interval) TO stocksync_worker;

-- Catalog tables are configuration: pg_dump keeps their rows.
SELECT pg_catalog.pg_extension_config_dump('stocksync.item', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.location', $$WHERE code <> 'default'$$);
SELECT pg_catalog.pg_extension_config_dump('stocksync.channel', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.listing', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.ledger', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.stock_level', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.reservation', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.order_document', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.source_version', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.listing_state', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.bom', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.channel_location', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.channel_rule', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.channel_sku_rule', '');
-- Their identity sequences too: pg_dump leaves out an extension's sequences
-- unless they are marked, and a restored database would then hand out ids it
-- has already used (every movement refused on the ledger's primary key, and
-- two reservations sharing an id).
SELECT pg_catalog.pg_extension_config_dump('stocksync.ledger_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.reservation_id_seq', '');

-- ===========================================================================
-- Orders in by polling, and reconciliation of channel drift.
-- Written by stocksync-worker (worker/src/orders_in, worker/src/reconcile);
-- docs/worker.md describes the rules. Kept after the roles section so that
-- its own grants below cover exactly these objects.
-- ===========================================================================

-- Per polled channel (Amazon getOrders, eBay getOrders): every order modified
-- up to polled_through has been applied. The worker advances it in the same
-- transaction as the last page of a poll round and asks the channel from
-- polled_through minus an overlap next time, so a restart neither misses an
-- order (the cursor never passes an unapplied page) nor counts one twice
-- (reserve() is idempotent on (channel, order_ref)).
CREATE TABLE stocksync.order_poll_cursor (
    channel        text COLLATE "C" PRIMARY KEY
                   REFERENCES stocksync.channel (code) ON UPDATE CASCADE ON DELETE CASCADE,
    polled_through timestamptz NOT NULL,
    rounds         bigint NOT NULL DEFAULT 0 CHECK (rounds >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stocksync.order_poll_cursor IS 'Per polled channel: orders modified up to polled_through are applied (kept by stocksync-worker).';

-- A polled order that could not be applied: a line for a listing stocksync
-- does not know, or reserve() refused it (problem says which). It is kept
-- whole (nothing of it is reserved, so that the same order with every line
-- can still be reserved once the listing exists) and the worker tries it
-- again on every poll round of its channel until it applies (resolved_at).
CREATE TABLE stocksync.unmatched_order (
    channel          text COLLATE "C" NOT NULL
                     REFERENCES stocksync.channel (code) ON UPDATE CASCADE ON DELETE CASCADE,
    order_ref        text COLLATE "C" NOT NULL CHECK (order_ref <> ''),
    status           text NOT NULL CHECK (status IN ('open', 'paid', 'cancelled')),
    lines            jsonb NOT NULL,
    unknown_listings text[] NOT NULL,
    problem          text NOT NULL,
    first_seen       timestamptz NOT NULL DEFAULT now(),
    last_seen        timestamptz NOT NULL DEFAULT now(),
    times_seen       integer NOT NULL DEFAULT 1 CHECK (times_seen > 0),
    resolved_at      timestamptz,
    PRIMARY KEY (channel, order_ref)
);
COMMENT ON TABLE stocksync.unmatched_order IS 'Polled orders not applied (a listing stocksync does not know, or refused by reserve): kept, reported, retried; lines are [{"listing": id, "qty": n}].';

CREATE VIEW stocksync.unmatched_orders AS
SELECT channel, order_ref, status, unknown_listings, problem, lines, first_seen, last_seen, times_seen
  FROM stocksync.unmatched_order
 WHERE resolved_at IS NULL;
COMMENT ON VIEW stocksync.unmatched_orders IS 'Polled orders still waiting for a listing (add it to stocksync.listing; the next poll round reserves them).';

-- Reconciliation on demand: stocksync.reconcile(channel) adds a request; the
-- worker takes it (taken_at, run_id) within a second and runs it.
CREATE TABLE stocksync.reconcile_request (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel      text COLLATE "C" NOT NULL
                 REFERENCES stocksync.channel (code) ON UPDATE CASCADE ON DELETE CASCADE,
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by name NOT NULL DEFAULT session_user,
    taken_at     timestamptz,
    run_id       bigint
);
CREATE INDEX reconcile_request_open_idx ON stocksync.reconcile_request (id) WHERE taken_at IS NULL;
COMMENT ON TABLE stocksync.reconcile_request IS 'Reconciliations asked for with stocksync.reconcile(channel); taken_at and run_id once the worker runs them.';

-- One reconciliation of one channel: every listing's shown quantity read
-- from the channel and compared with what the channel acknowledged.
-- accuracy = in_agreement / (in_agreement + drifted): the share of compared
-- listings in agreement (unsettled and unreadable ones are not compared).
CREATE TABLE stocksync.reconcile_run (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel      text COLLATE "C" NOT NULL
                 REFERENCES stocksync.channel (code) ON UPDATE CASCADE ON DELETE CASCADE,
    trigger      text NOT NULL CHECK (trigger IN ('schedule', 'request')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    listings     integer NOT NULL DEFAULT 0,
    in_agreement integer NOT NULL DEFAULT 0,
    drifted      integer NOT NULL DEFAULT 0,
    corrected    integer NOT NULL DEFAULT 0,
    escalated    integer NOT NULL DEFAULT 0,
    unsettled    integer NOT NULL DEFAULT 0,
    unreadable   integer NOT NULL DEFAULT 0,
    accuracy     numeric,
    error        text
);
COMMENT ON TABLE stocksync.reconcile_run IS 'One reconciliation of one channel and its counts; accuracy is the share of compared listings in agreement.';

-- Every drift found: shown_qty (read from the channel) differs from
-- acked_qty (what it last acknowledged). Up to the worker's
-- reconcile.max_correct_units it is corrected (pushed again); above it is
-- escalated for a person. resolved_at: a later run found the listing in
-- agreement again.
CREATE TABLE stocksync.drift (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id      bigint NOT NULL REFERENCES stocksync.reconcile_run (id) ON DELETE CASCADE,
    channel     text COLLATE "C" NOT NULL,
    external_id text COLLATE "C" NOT NULL,
    sku         text COLLATE "C" NOT NULL,
    shown_qty   integer NOT NULL,
    acked_qty   integer,
    desired_qty integer NOT NULL,
    drift       integer NOT NULL,
    action      text NOT NULL CHECK (action IN ('corrected', 'escalated')),
    found_at    timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    FOREIGN KEY (channel, external_id) REFERENCES stocksync.listing (channel, external_id)
        ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX drift_open_idx ON stocksync.drift (channel, external_id) WHERE resolved_at IS NULL;
COMMENT ON TABLE stocksync.drift IS 'Listings whose channel showed another quantity than it acknowledged: corrected, or escalated above reconcile.max_correct_units.';

CREATE VIEW stocksync.drift_escalated AS
SELECT d.channel, d.external_id, d.sku, d.shown_qty, d.acked_qty, d.desired_qty, d.drift, d.found_at, d.run_id
  FROM stocksync.drift d
 WHERE d.action = 'escalated' AND d.resolved_at IS NULL;
COMMENT ON VIEW stocksync.drift_escalated IS 'Drift too large to correct automatically, not yet resolved: look at the channel.';

CREATE VIEW stocksync.reconcile_accuracy AS
SELECT DISTINCT ON (r.channel) r.channel, r.id AS run_id, r.trigger, r.started_at, r.finished_at, r.listings,
       r.in_agreement, r.drifted, r.corrected, r.escalated, r.unsettled, r.unreadable, r.accuracy, r.error
  FROM stocksync.reconcile_run r
 WHERE r.finished_at IS NOT NULL
 ORDER BY r.channel, r.id DESC;
COMMENT ON VIEW stocksync.reconcile_accuracy IS 'Per channel: the latest finished reconciliation and its accuracy.';

CREATE FUNCTION stocksync.reconcile(channel text)
    RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $fn$
DECLARE
    request_id bigint;
BEGIN
    PERFORM stocksync.check_channel_known(reconcile.channel);
    INSERT INTO stocksync.reconcile_request (channel) VALUES (reconcile.channel)
        RETURNING id INTO request_id;
    PERFORM pg_catalog.pg_notify('stocksync_reconcile', reconcile.channel);
    RETURN request_id;
END
$fn$;
COMMENT ON FUNCTION stocksync.reconcile IS 'Asks stocksync-worker to reconcile the channel now. Returns the request id (stocksync.reconcile_request; its run_id names the stocksync.reconcile_run).';

REVOKE ALL ON FUNCTION stocksync.reconcile(text) FROM PUBLIC;
GRANT SELECT ON stocksync.order_poll_cursor, stocksync.unmatched_order, stocksync.unmatched_orders,
                stocksync.reconcile_request, stocksync.reconcile_run, stocksync.drift,
                stocksync.drift_escalated, stocksync.reconcile_accuracy
    TO stocksync_reader;
GRANT EXECUTE ON FUNCTION stocksync.reconcile(text) TO stocksync_writer;
GRANT INSERT, UPDATE, DELETE ON stocksync.order_poll_cursor, stocksync.unmatched_order,
                                stocksync.reconcile_request, stocksync.reconcile_run, stocksync.drift
    TO stocksync_worker;
SELECT pg_catalog.pg_extension_config_dump('stocksync.order_poll_cursor', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.unmatched_order', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.reconcile_request', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.reconcile_run', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.drift', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.reconcile_request_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.reconcile_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.drift_id_seq', '');

-- ===========================================================================
-- Inbound webhooks (stocksync-worker's webhook server; docs/webhooks.md).
--
-- The worker verifies a delivery's signature, maps it to one normalized event
-- and calls ingest_webhook() once, in one transaction: the receipt (the
-- de-duplication key), the order lock, the effect and the outcome commit
-- together or not at all. The worker answers 2xx only after that commit.
-- ===========================================================================

-- One row per accepted delivery, keyed by the source's event id (Shopify
-- X-Shopify-Event-Id, Standard Webhooks webhook-id, WooCommerce order id +
-- date_modified + status). A second delivery of the same id waits on the
-- event id's advisory lock until the first commits and then has no effect. Rows older than
-- the de-duplication window are removed by prune_webhook_receipts().
CREATE TABLE stocksync.webhook_receipt (
    source      text COLLATE "C" NOT NULL,
    event_id    text COLLATE "C" NOT NULL CHECK (event_id <> ''),
    topic       text NOT NULL,
    outcome     text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);
CREATE INDEX webhook_receipt_received_idx ON stocksync.webhook_receipt (received_at);
COMMENT ON TABLE stocksync.webhook_receipt IS 'Webhook deliveries already applied, by source and event id: the de-duplication window.';

-- A cancellation that arrived before its order. The order, when it comes,
-- finds the tombstone (both take the same per-order lock) and reserves nothing.
-- Also left by a cancellation of an order whose hold had expired, so that a
-- payment delivered after it is not kept as paid after expiry.
CREATE TABLE stocksync.order_tombstone (
    channel      text COLLATE "C" NOT NULL,
    order_ref    text COLLATE "C" NOT NULL,
    event_id     text NOT NULL,
    cancelled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, order_ref)
);
COMMENT ON TABLE stocksync.order_tombstone IS 'Orders cancelled before stocksync saw them, or after their hold expired: a later order webhook reserves nothing and keeps no paid_after_expiry.';

-- What a webhook brought that stocksync could not apply: order lines for
-- listings it does not know, and deliveries a stocksync function refused
-- (with its SQLSTATE). Kept for an operator, never dropped.
CREATE TABLE stocksync.inbound_exception (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text COLLATE "C" NOT NULL,
    event_id    text COLLATE "C" NOT NULL,
    topic       text NOT NULL,
    channel     text COLLATE "C",
    order_ref   text COLLATE "C",
    reason      text NOT NULL CHECK (reason IN ('unknown_listing', 'refused', 'paid_after_expiry')),
    detail      jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX inbound_exception_open_idx ON stocksync.inbound_exception (received_at) WHERE resolved_at IS NULL;
-- What is kept for one order (an order's deliveries look for it).
CREATE INDEX inbound_exception_order_idx ON stocksync.inbound_exception (channel, order_ref);

-- A channel renamed: its orders are keyed by (channel, order_ref) without a
-- foreign key (one more check on every reservation), so the new code is
-- carried into them here, as ON UPDATE CASCADE carries it into listings and
-- rules. Otherwise a delivery under the new code would hold a replayed order
-- a second time, and a cancellation under it would find no order to release.
-- The lock waits for every order still being written elsewhere (its row is
-- not yet visible to the UPDATE) and holds off new ones until the rename
-- commits; they then read the channel afresh (a reservation takes this
-- table's lock before it looks the channel up) and find the old code gone.
-- Without it an order held at the same time stayed under a code that no
-- longer exists (test/isolation/specs/channel_rename_vs_order.spec).
CREATE FUNCTION stocksync.channel_renamed() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    LOCK TABLE stocksync.reservation, stocksync.order_tombstone, stocksync.inbound_exception
        IN SHARE ROW EXCLUSIVE MODE;
    UPDATE stocksync.reservation SET channel = NEW.code WHERE channel = OLD.code;
    UPDATE stocksync.order_tombstone SET channel = NEW.code WHERE channel = OLD.code;
    UPDATE stocksync.inbound_exception SET channel = NEW.code WHERE channel = OLD.code;
    RETURN NULL;
END $$;
CREATE TRIGGER channel_renamed AFTER UPDATE OF code ON stocksync.channel
    FOR EACH ROW WHEN (OLD.code IS DISTINCT FROM NEW.code) EXECUTE FUNCTION stocksync.channel_renamed();
REVOKE ALL ON FUNCTION stocksync.channel_renamed() FROM PUBLIC;
COMMENT ON TABLE stocksync.inbound_exception IS 'Webhook content stocksync kept but could not apply: unknown listings, refused deliveries, payments of orders whose hold had expired.';

CREATE VIEW stocksync.unmatched_order_line AS
SELECT e.id AS exception_id, e.source, e.channel, e.order_ref, e.event_id, e.topic,
       l.line ->> 'sku' AS channel_sku, l.line -> 'ids' AS channel_ids,
       (l.line ->> 'qty')::integer AS qty, e.received_at
  FROM stocksync.inbound_exception e,
       pg_catalog.jsonb_array_elements(e.detail -> 'lines') AS l (line)
 WHERE e.reason = 'unknown_listing' AND e.resolved_at IS NULL;
COMMENT ON VIEW stocksync.unmatched_order_line IS 'Order lines received for listings stocksync does not know, not yet resolved.';

-- The SKU an order line is for: a listing of the channel whose external_id
-- is one of the line's ids, first match in the line's order (Shopify variant,
-- WooCommerce product/variation), else a listing of the channel for the
-- line's own SKU. Always one row, NULL when there is none. Called in FROM
-- (CROSS JOIN LATERAL), where the planner inlines it into the calling
-- statement's kept plan: a PL/pgSQL function cost a call, a cursor and two
-- statements per line. Each look-up is a correlated subquery on a key, so
-- that the plans stay on the indexes whatever the statistics say.
CREATE FUNCTION stocksync.webhook_line_sku(channel text, line jsonb)
    RETURNS SETOF text LANGUAGE sql STABLE AS $fn$
    SELECT COALESCE(
        (SELECT z.sku
           FROM (SELECT (SELECT l.sku FROM stocksync.listing l
                          WHERE l.channel OPERATOR(pg_catalog.=) $1 COLLATE "C"
                            AND l.external_id OPERATOR(pg_catalog.=) i.id COLLATE "C") AS sku, i.n
                   FROM pg_catalog.jsonb_array_elements_text(COALESCE($2 OPERATOR(pg_catalog.->) 'ids', '[]'))
                        WITH ORDINALITY AS i (id, n)
                 OFFSET 0) z  -- OFFSET 0: one look-up per id, not one in WHERE and one in the list
          WHERE z.sku IS NOT NULL ORDER BY z.n LIMIT 1),
        (SELECT l.sku FROM stocksync.listing l
          WHERE l.channel OPERATOR(pg_catalog.=) $1 COLLATE "C"
            AND l.sku OPERATOR(pg_catalog.=) ($2 OPERATOR(pg_catalog.->>) 'sku') COLLATE "C" LIMIT 1))
$fn$;
CREATE INDEX listing_channel_sku_idx ON stocksync.listing (channel, sku);

-- Keeps an order's lines for unknown listings once per order, not once per
-- delivery: its payment, a status change and another subscription carry the
-- same lines again, and unmatched_order_line must show them once (an
-- operator reserves what it shows). Lines already kept for the order, open
-- or resolved, add nothing; other lines (the order was edited) replace the
-- open ones. Called under the order's advisory lock.
CREATE FUNCTION stocksync.keep_unmatched_lines(source text, event_id text, topic text, channel text,
                                               order_ref text, lines jsonb)
    RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ch  text COLLATE "C" := keep_unmatched_lines.channel;
    ref text COLLATE "C" := keep_unmatched_lines.order_ref;
BEGIN
    IF EXISTS (SELECT 1 FROM stocksync.inbound_exception e
                WHERE e.channel = ch AND e.order_ref = ref AND e.reason = 'unknown_listing'
                  AND e.detail -> 'lines' = keep_unmatched_lines.lines) THEN
        RETURN;
    END IF;
    UPDATE stocksync.inbound_exception e SET resolved_at = pg_catalog.now()
     WHERE e.channel = ch AND e.order_ref = ref AND e.reason = 'unknown_listing' AND e.resolved_at IS NULL;
    INSERT INTO stocksync.inbound_exception (source, event_id, topic, channel, order_ref, reason, detail)
    VALUES (keep_unmatched_lines.source, keep_unmatched_lines.event_id, keep_unmatched_lines.topic, ch, ref,
            'unknown_listing', pg_catalog.jsonb_build_object('lines', keep_unmatched_lines.lines));
END
$fn$;

-- A webhook line's qty when it is a positive whole number within an integer,
-- else NULL (a CASE, so that nothing is cast before it is known to fit).
CREATE FUNCTION stocksync.webhook_line_qty(line jsonb)
    RETURNS integer LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN pg_catalog.jsonb_typeof(line -> 'qty') = 'number'
                     AND (line ->> 'qty') OPERATOR(pg_catalog.~) '^[0-9]{1,10}$'
                THEN CASE WHEN (line ->> 'qty')::bigint OPERATOR(pg_catalog.<=) 2147483647
                               AND (line ->> 'qty')::bigint OPERATOR(pg_catalog.>) 0
                          THEN (line ->> 'qty')::integer END END;

-- Refuses an order event whose lines reserve() could not take, whether their
-- listings are known or not: lines that are not a JSON array (SS009), a qty
-- that is not a whole number within an integer (SS009) or not positive
-- (SS004), the order named as reserve() names it. Lines for unknown listings
-- are kept as they came, and unmatched_order_line reads their qty as an
-- integer: one kept with "lots" units made the view fail for every row.
CREATE FUNCTION stocksync.check_webhook_lines(channel text, order_ref text, lines jsonb)
    RETURNS void LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    n   bigint;
    qty jsonb;
BEGIN
    IF lines IS NULL THEN
        RETURN;
    END IF;
    IF pg_catalog.jsonb_typeof(lines) <> 'array' THEN
        RAISE EXCEPTION 'lines of order "%" on channel "%" must be a JSON array', order_ref, channel
            USING ERRCODE = 'SS009';
    END IF;
    SELECT x.n, x.line -> 'qty' INTO n, qty
      FROM pg_catalog.jsonb_array_elements(lines) WITH ORDINALITY AS x (line, n)
     WHERE stocksync.webhook_line_qty(x.line) IS NULL
     ORDER BY x.n LIMIT 1;
    IF n IS NULL THEN
        RETURN;
    ELSIF pg_catalog.jsonb_typeof(qty) = 'number' AND (qty #>> '{}') ~ '^-?[0-9]{1,10}$'
          AND (qty #>> '{}')::bigint <= 0 THEN
        RAISE EXCEPTION 'invalid quantity % in line % of order "%" on channel "%"', qty, n, order_ref, channel
            USING ERRCODE = 'SS004', DETAIL = 'Quantities must be positive.';
    END IF;
    RAISE EXCEPTION 'line % of order "%" on channel "%" needs an integer qty, not %', n, order_ref, channel,
                    COALESCE(qty::text, 'none')
        USING ERRCODE = 'SS009', HINT = 'A line is {"ids": [...], "sku": "...", "qty": 2} with qty a whole number of units.';
END
$fn$;

-- Keeps an order paid after its soft hold expired, once per order: every
-- later paid delivery of it is the same sale. Called under the order's
-- advisory lock.
CREATE FUNCTION stocksync.keep_paid_after_expiry(source text, event_id text, topic text, channel text,
                                                 order_ref text, lines jsonb)
    RETURNS void LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ch  text COLLATE "C" := keep_paid_after_expiry.channel;
    ref text COLLATE "C" := keep_paid_after_expiry.order_ref;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM stocksync.inbound_exception e
                    WHERE e.channel = ch AND e.order_ref = ref AND e.reason = 'paid_after_expiry') THEN
        INSERT INTO stocksync.inbound_exception (source, event_id, topic, channel, order_ref, reason, detail)
        VALUES (keep_paid_after_expiry.source, keep_paid_after_expiry.event_id, keep_paid_after_expiry.topic, ch, ref,
                'paid_after_expiry', pg_catalog.jsonb_build_object('lines', keep_paid_after_expiry.lines));
    END IF;
END
$fn$;

-- Applies one normalized webhook event (built by stocksync-worker, see
-- docs/webhooks.md) and returns its outcome:
--   {"action": "order",  "channel", "order_ref", "paid", "ttl_s", "lines": [{"ids", "sku", "qty"}]}
--   {"action": "cancel", "channel", "order_ref"}
--   {"action": "refund", "channel", "order_ref", "refund_ref", "lines": [...]}
--   {"action": "set_on_hand", "sku", "qty", "version", "location"}
-- The refusal (SS009) of a key longer than the index that keeps it takes,
-- naming it by its first characters, or NULL: a longer one would fail with
-- 54000 from inside the index instead of being refused and kept.
CREATE FUNCTION stocksync.too_long(what text, value text, max_bytes integer)
    RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN pg_catalog.octet_length($2) > $3
                THEN $1 || ' "' || pg_catalog.left($2, 32) || '..." is ' || pg_catalog.octet_length($2)::text
                     || ' bytes long, more than ' || $3::text END
$$;
REVOKE ALL ON FUNCTION stocksync.too_long(text, text, integer) FROM PUBLIC;

-- A webhook's order_ref longer than reserve() takes (errors.hpp,
-- kMaxReferenceBytes), where a cancel's tombstone or a kept line would store
-- it. One limit for ingest_webhook(), ingest_webhook_orders() and
-- record_webhook_refusal().
CREATE FUNCTION stocksync.order_ref_too_long(ref text)
    RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT stocksync.too_long('order_ref', $1, 1000) $$;
REVOKE ALL ON FUNCTION stocksync.order_ref_too_long(text) FROM PUBLIC;

-- A channel code over 500 bytes names no channel (codes are at most 500
-- bytes), and a webhook event naming one is refused before its tombstone or
-- kept lines would store it.
CREATE FUNCTION stocksync.channel_code_too_long(channel text)
    RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT stocksync.too_long('channel', $1, 500) $$;
REVOKE ALL ON FUNCTION stocksync.channel_code_too_long(text) FROM PUBLIC;

-- A delivery's (source, event_id) is the receipt's key: each must be present
-- and not empty (as ingest_webhook_orders() requires), the source at most 500
-- bytes (a channel code for polled orders) and the event id at most 2,000 (a
-- polled order's is "order:<order_ref>:<modified>:<status>", and an order_ref
-- may have 1,000), so that the receipt can be written (NOT NULL, and an index
-- entry holds at most 2,704 bytes); the topic must be present too. The
-- refusal's message (SS009), or NULL. One definition for ingest_webhook(),
-- ingest_webhook_orders() and record_webhook_refusal().
CREATE FUNCTION stocksync.webhook_delivery_refused(source text, event_id text, topic text)
    RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN $1 IS NULL OR $2 IS NULL OR $3 IS NULL
                THEN 'webhook source, event_id and topic must not be null'
                WHEN $1 = '' OR $2 = '' THEN 'webhook source and event_id must not be empty'
                ELSE COALESCE(stocksync.too_long('webhook source', $1, 500),
                              stocksync.too_long('webhook event_id', $2, 2000)) END
$$;
REVOKE ALL ON FUNCTION stocksync.webhook_delivery_refused(text, text, text) FROM PUBLIC;

-- A replayed event id returns 'duplicate' and changes nothing. Order, cancel
-- and refund take a per-order advisory lock first, so a cancellation racing
-- its own order is applied either after it (release) or before it (tombstone),
-- never beside it.
CREATE FUNCTION stocksync.ingest_webhook(source text, event_id text, topic text, event jsonb)
    RETURNS text LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    action    text := event ->> 'action';
    -- COLLATE "C" as the columns they are compared with, so that the
    -- primary keys' indexes serve those comparisons.
    ch        text COLLATE "C" := event ->> 'channel';
    ref       text COLLATE "C" := event ->> 'order_ref';
    matched   jsonb;
    unmatched jsonb;
    bad_lines boolean;
    v_state   text;
    v_outcome text;
    too_long  text;
    refused   text := stocksync.webhook_delivery_refused(ingest_webhook.source, ingest_webhook.event_id,
                                                         ingest_webhook.topic);
BEGIN
    -- Before the lock: a NULL key would take no lock (the lock functions are
    -- strict) and fail with 23502 only when the receipt is written, after
    -- the event was applied.
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION '%', refused USING ERRCODE = 'SS009';
    END IF;
    -- One delivery of an event id at a time (class 1937010292): a second
    -- delivery in flight waits here until the first commits, then finds its
    -- receipt. A replay of an event that already committed has no effect. The
    -- receipt is written last, with the outcome (one write instead of two).
    PERFORM pg_catalog.pg_advisory_xact_lock(1937010292,
                                             pg_catalog.hashtext(ingest_webhook.source || E'\x1f' || ingest_webhook.event_id));
    IF EXISTS (SELECT 1 FROM stocksync.webhook_receipt r
                WHERE r.source = ingest_webhook.source AND r.event_id = ingest_webhook.event_id) THEN
        RETURN 'duplicate';
    END IF;

    IF action IN ('order', 'cancel', 'refund') THEN
        IF ch IS NULL OR ref IS NULL OR ref = '' THEN
            RAISE EXCEPTION 'webhook event % of % has no channel or order reference', ingest_webhook.event_id,
                            ingest_webhook.source USING ERRCODE = 'SS009';
        END IF;
        too_long := COALESCE(stocksync.order_ref_too_long(ref), stocksync.channel_code_too_long(ch));
        IF too_long IS NOT NULL THEN
            RAISE EXCEPTION '%', too_long USING ERRCODE = 'SS009';
        END IF;
        -- One lock per order (class 1937010291 = 'stsy'): serializes an order,
        -- its cancellation and its refunds however they are delivered.
        PERFORM pg_catalog.pg_advisory_xact_lock(1937010291, pg_catalog.hashtext(ch || E'\x1f' || ref));
    END IF;

    IF action = 'order' THEN
        SELECT r.state INTO v_state FROM stocksync.reservation r WHERE r.channel = ch AND r.order_ref = ref;
        IF EXISTS (SELECT 1 FROM stocksync.order_tombstone t WHERE t.channel = ch AND t.order_ref = ref) THEN
            -- Cancelled before it came, or (its hold expired) before its payment.
            v_outcome := CASE WHEN v_state IS NULL THEN 'cancelled_before_order' ELSE 'order_already_cancelled' END;
        ELSIF v_state = 'expired' AND COALESCE((event ->> 'paid')::boolean, false) THEN
            -- Paid after its soft hold expired: the sale stands on the channel
            -- but its units went back to stock. Kept for the operator (the
            -- order's lines are in the exception), never dropped in silence,
            -- and kept once: a second paid delivery (WooCommerce processing,
            -- then completed) is the same sale, which an operator must not
            -- reserve again.
            PERFORM stocksync.keep_paid_after_expiry(ingest_webhook.source, ingest_webhook.event_id,
                                                     ingest_webhook.topic, ch, ref, COALESCE(event -> 'lines', '[]'));
            v_outcome := 'paid_after_expiry';
        ELSIF v_state IN ('released', 'expired') THEN
            -- The same order again (another subscription, a retry) after it was
            -- cancelled or its unpaid hold expired: nothing to hold. A soft
            -- hold is still taken through reserve() below, so that payment
            -- commits it, and so is a committed or shipped order, so that an
            -- edit (other lines) is refused with SS006 and kept rather than
            -- dropped with its new units never held.
            v_outcome := 'order_already_' || v_state;
        ELSE
            IF pg_catalog.jsonb_typeof(COALESCE(event -> 'lines', '[]')) <> 'array' THEN
                PERFORM stocksync.check_webhook_lines(ch, ref, event -> 'lines');  -- raises
            END IF;
            SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('sku', s.sku, 'qty', s.qty))
                                FILTER (WHERE s.sku IS NOT NULL), '[]'),
                   COALESCE(pg_catalog.jsonb_agg(s.line) FILTER (WHERE s.sku IS NULL), '[]'),
                   COALESCE(pg_catalog.bool_or(s.qty IS NULL), false)
              INTO matched, unmatched, bad_lines
              FROM (SELECT x.line, m.sku, stocksync.webhook_line_qty(x.line) AS qty
                      FROM pg_catalog.jsonb_array_elements(COALESCE(event -> 'lines', '[]')) AS x (line)
                           CROSS JOIN LATERAL stocksync.webhook_line_sku(ch, x.line) AS m (sku)
                    OFFSET 0) s;  -- OFFSET 0: one lookup per line, not one per reference
            IF bad_lines THEN
                -- A line reserve() could not take, known listing or not:
                -- refused with the order named (SS009, SS004).
                PERFORM stocksync.check_webhook_lines(ch, ref, event -> 'lines');
            END IF;
            IF pg_catalog.jsonb_array_length(matched) > 0 THEN
                PERFORM stocksync.reserve(ch, ref, matched,
                                          ttl => pg_catalog.make_interval(secs => COALESCE((event ->> 'ttl_s')::double precision, 900)),
                                          on_shortage => 'record');
                IF v_state IN ('committed', 'fulfilled', 'returned') THEN
                    v_outcome := 'order_already_' || v_state;  -- the same lines: a replay
                ELSIF COALESCE((event ->> 'paid')::boolean, false) THEN
                    IF v_state = 'reserved' THEN
                        -- The payment of a hold an earlier delivery took:
                        -- expire_holds() (which takes no order lock) may have
                        -- ended it since the state was read. Lock the order
                        -- (commit() would, first) and look again.
                        SELECT r.state INTO v_state FROM stocksync.reservation r
                         WHERE r.channel = ch AND r.order_ref = ref FOR UPDATE;
                    END IF;
                    IF v_state = 'expired' THEN
                        PERFORM stocksync.keep_paid_after_expiry(ingest_webhook.source, ingest_webhook.event_id,
                                                                 ingest_webhook.topic, ch, ref,
                                                                 COALESCE(event -> 'lines', '[]'));
                        v_outcome := 'paid_after_expiry';
                    ELSE
                        PERFORM stocksync.commit(ch, ref);
                        v_outcome := 'committed';
                    END IF;
                ELSE
                    v_outcome := 'reserved';
                END IF;
            END IF;
            IF v_outcome = 'paid_after_expiry' THEN
                NULL;  -- the exception keeps every line of the order
            ELSIF pg_catalog.jsonb_array_length(unmatched) > 0 THEN
                PERFORM stocksync.keep_unmatched_lines(ingest_webhook.source, ingest_webhook.event_id,
                                                       ingest_webhook.topic, ch, ref, unmatched);
                v_outcome := CASE WHEN v_state IN ('committed', 'fulfilled', 'returned') THEN 'order_already_' || v_state
                                  WHEN v_outcome IS NULL THEN 'unmatched' ELSE v_outcome || '_partly_unmatched' END;
            ELSIF v_outcome IS NOT NULL THEN
                -- Every line of the order is held now (its listing appeared):
                -- lines an earlier delivery kept for it are applied.
                UPDATE stocksync.inbound_exception e SET resolved_at = pg_catalog.now()
                 WHERE e.channel = ch AND e.order_ref = ref AND e.reason = 'unknown_listing' AND e.resolved_at IS NULL;
            END IF;
            v_outcome := COALESCE(v_outcome, 'empty_order');
        END IF;
    ELSIF action = 'cancel' THEN
        -- Locked (release() would lock it first too): expire_holds() takes no
        -- order lock, and an expiry committed after an unlocked read would be
        -- taken for a hold to release, leaving no tombstone.
        SELECT r.state INTO v_state FROM stocksync.reservation r WHERE r.channel = ch AND r.order_ref = ref FOR UPDATE;
        IF NOT FOUND THEN
            INSERT INTO stocksync.order_tombstone (channel, order_ref, event_id)
            VALUES (ch, ref, ingest_webhook.event_id) ON CONFLICT DO NOTHING;
            v_outcome := 'tombstoned';
        ELSIF v_state IN ('reserved', 'committed') THEN
            PERFORM stocksync.release(ch, ref, 'cancelled');
            v_outcome := 'released';
        ELSE
            v_outcome := 'cancel_ignored_' || v_state;  -- already released, expired or shipped
            IF v_state = 'expired' THEN
                -- Its hold is gone, but a payment made before the cancellation
                -- may still be on its way: the tombstone tells it the order is
                -- cancelled, not paid after expiry.
                INSERT INTO stocksync.order_tombstone (channel, order_ref, event_id)
                VALUES (ch, ref, ingest_webhook.event_id) ON CONFLICT DO NOTHING;
            END IF;
        END IF;
        -- Nothing is to be held for a cancelled order: its lines kept for
        -- unknown listings and a payment kept after its hold expired are
        -- closed, so that nobody reserves them by hand.
        UPDATE stocksync.inbound_exception e SET resolved_at = pg_catalog.now()
         WHERE e.channel = ch AND e.order_ref = ref AND e.reason IN ('unknown_listing', 'paid_after_expiry')
           AND e.resolved_at IS NULL;
    ELSIF action = 'refund' THEN
        -- The same line matching as for orders; an unmatched line keeps its
        -- own SKU (return_items() refuses it if the order has no such line).
        PERFORM stocksync.check_webhook_lines(ch, ref, event -> 'lines');
        SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'sku', COALESCE(m.sku, x.line ->> 'sku'),
                   'qty', (x.line ->> 'qty')::integer)), '[]')
          INTO matched
          FROM pg_catalog.jsonb_array_elements(COALESCE(event -> 'lines', '[]')) AS x (line)
               CROSS JOIN LATERAL stocksync.webhook_line_sku(ch, x.line) AS m (sku);
        IF pg_catalog.jsonb_array_length(matched) = 0 THEN
            v_outcome := 'refund_without_restock';
        ELSE
            PERFORM stocksync.return_items(ch, ref, matched, 'available', event ->> 'refund_ref');
            v_outcome := 'returned';
        END IF;
    ELSIF action = 'set_on_hand' THEN
        v_outcome := CASE WHEN stocksync.set_on_hand(event ->> 'sku', (event ->> 'qty')::integer, ingest_webhook.source,
                                                   (event ->> 'version')::bigint,
                                                   COALESCE(event ->> 'location', 'default'))
                        THEN 'on_hand_set' ELSE 'stale_version' END;
    ELSIF action IS NULL THEN
        -- A NULL event, one that is not an object, or one without "action".
        RAISE EXCEPTION 'webhook event % of % has no action', ingest_webhook.event_id, ingest_webhook.source
            USING ERRCODE = 'SS009', HINT = 'event must be a JSON object with "action": order, cancel, refund or set_on_hand.';
    ELSE
        RAISE EXCEPTION 'unknown webhook action "%"', action USING ERRCODE = 'SS009';
    END IF;

    INSERT INTO stocksync.webhook_receipt (source, event_id, topic, outcome)
    VALUES (ingest_webhook.source, ingest_webhook.event_id, ingest_webhook.topic, v_outcome);
    RETURN v_outcome;
END
$fn$;
COMMENT ON FUNCTION stocksync.ingest_webhook IS 'Applies one verified, normalized webhook event once per (source, event_id). Returns the outcome.';

-- A delivery whose effect a stocksync function refused (an SS error): kept
-- with the refusal, and its event id recorded so that the channel's retries
-- of it are answered as duplicates instead of failing again.
CREATE FUNCTION stocksync.record_webhook_refusal(source text, event_id text, topic text, event jsonb,
                                                 error_code text, message text)
    RETURNS boolean LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    refused text := stocksync.webhook_delivery_refused(record_webhook_refusal.source, record_webhook_refusal.event_id,
                                                       record_webhook_refusal.topic);
BEGIN
    IF refused IS NULL AND record_webhook_refusal.error_code IS NULL THEN
        refused := 'error_code of a kept webhook refusal must not be null';
    END IF;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION '%', refused USING ERRCODE = 'SS009';
    END IF;
    INSERT INTO stocksync.webhook_receipt (source, event_id, topic, outcome)
    VALUES (record_webhook_refusal.source, record_webhook_refusal.event_id, record_webhook_refusal.topic,
            'refused_' || record_webhook_refusal.error_code)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO stocksync.inbound_exception (source, event_id, topic, channel, order_ref, reason, detail)
    VALUES (record_webhook_refusal.source, record_webhook_refusal.event_id, record_webhook_refusal.topic,
            -- Codes and references longer than any stored one (an event
            -- refused for that) are no index keys: the event in detail keeps them.
            CASE WHEN stocksync.channel_code_too_long(event ->> 'channel') IS NULL THEN event ->> 'channel' END,
            CASE WHEN stocksync.order_ref_too_long(event ->> 'order_ref') IS NULL THEN event ->> 'order_ref' END, 'refused',
            pg_catalog.jsonb_build_object('sqlstate', record_webhook_refusal.error_code,
                                          'message', record_webhook_refusal.message, 'event', event));
    RETURN true;
END
$fn$;
COMMENT ON FUNCTION stocksync.record_webhook_refusal IS 'Keeps a webhook event a stocksync function refused, with the SQLSTATE; false when its event id was already recorded.';

-- Ends the de-duplication window: receipts and tombstones older than keep.
CREATE FUNCTION stocksync.prune_webhook_receipts(keep interval DEFAULT '72 hours')
    RETURNS integer LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    n integer;
BEGIN
    -- A window that is not positive would forget every delivery at once, and
    -- a replay would then be applied as new.
    IF keep IS NULL OR keep <= interval '0' THEN
        RAISE EXCEPTION 'keep must be a positive interval, got %', COALESCE(keep::text, 'null')
            USING ERRCODE = 'SS009',
                  HINT = 'keep is the replay window: a delivery repeated within it is recognised (default 72 hours).';
    END IF;
    -- A window longer than any receipt can be old keeps them all; now() -
    -- keep would otherwise fall before 4713 BC (22008) for one over ~6,700 years.
    IF keep > interval '100 years' THEN
        RETURN 0;
    END IF;
    DELETE FROM stocksync.webhook_receipt r WHERE r.received_at < pg_catalog.now() - keep;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM stocksync.order_tombstone t WHERE t.cancelled_at < pg_catalog.now() - keep;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION stocksync.prune_webhook_receipts IS 'Removes webhook receipts and order tombstones older than keep (the de-duplication window). Returns the receipts removed.';

-- Applies many verified order deliveries in one transaction (stocksync-worker
-- groups the order webhooks waiting for the database; docs/webhooks.md), each
-- with the outcome ingest_webhook() would give it alone. deliveries is a JSON
-- array of {"source", "event_id", "topic", "event"} whose events are all
-- "order" actions. One row per delivery, in the given order:
--   an outcome and no sqlstate: applied (or 'duplicate'), its receipt written;
--   a sqlstate: a stocksync function refused it, kept as record_webhook_refusal()
--     keeps it (outcome 'duplicate' when its refusal was already recorded);
--   neither: deferred, nothing written: the payment of a hold taken by an
--     earlier transaction, whose stock rows would be locked outside the
--     batch's sorted order, or a committed or shipped order's second
--     delivery in the group; the caller applies it with ingest_webhook().
-- Locks are taken class by class as a single delivery takes them, and within
-- a class in hash order (event ids, then orders, then reserve_batch()'s order
-- keys and stock rows), so batches and single deliveries never wait on each
-- other in a circle.
CREATE FUNCTION stocksync.ingest_webhook_orders(deliveries jsonb)
    RETURNS TABLE (ord integer, outcome text, sqlstate text, message text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- Planned once per session: a custom plan of the deciding statement took
    -- longer to plan than a group takes to run, and its estimates do not
    -- depend on the deliveries (set-returning functions over the parameter).
    SET plan_cache_mode = force_generic_plan SET jit = off
AS $fn$
DECLARE
    n            integer;
    r            record;
    h            integer;
    outcomes     text[];     -- per delivery; 'pending' until reserve_batch() decides
    codes        text[];     -- a refusal's SQLSTATE
    messages     text[];
    orders_of    jsonb[];    -- reserve_batch()'s order of a pending delivery
    unmatched_of jsonb[];    -- lines for listings stocksync does not know
    paid_of      boolean[];
    ttl_of       double precision[];
    state_of     text[];     -- the order's reservation state before the group
    ttl_s        double precision;
    fast         boolean;
    fast_order   integer[];
    ords         integer[];
    orders       jsonb;
    committed    text[] := '{}';  -- channel, unit separator, order_ref
    commit_ch    text[] := '{}';
    commit_ref   text[] := '{}';
    refused      text;       -- a delivery whose key no receipt can hold
BEGIN
    IF deliveries IS NULL OR pg_catalog.jsonb_typeof(deliveries) <> 'array' THEN
        RAISE EXCEPTION 'deliveries must be a JSON array' USING ERRCODE = 'SS009';
    END IF;
    n := pg_catalog.jsonb_array_length(deliveries);
    IF n > 1000 THEN
        RAISE EXCEPTION 'at most 1000 deliveries a call, not %', n USING ERRCODE = 'SS009';
    END IF;
    IF n = 0 THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(deliveries) x (v)
                WHERE pg_catalog.jsonb_typeof(x.v) IS DISTINCT FROM 'object'
                   OR COALESCE(x.v ->> 'source', '') = '' OR COALESCE(x.v ->> 'event_id', '') = ''
                   OR x.v ->> 'topic' IS NULL OR x.v #>> '{event,action}' IS DISTINCT FROM 'order') THEN
        RAISE EXCEPTION 'every delivery needs a source, an event_id, a topic and an order event' USING ERRCODE = 'SS009';
    END IF;
    -- A key too long for its receipt could not even be kept as a refusal:
    -- the call fails, as ingest_webhook() refuses such a delivery.
    SELECT q.msg INTO refused
      FROM pg_catalog.jsonb_array_elements(deliveries) WITH ORDINALITY x (v, i),
           LATERAL (SELECT stocksync.webhook_delivery_refused(x.v ->> 'source', x.v ->> 'event_id', x.v ->> 'topic') AS msg) q
     WHERE q.msg IS NOT NULL ORDER BY x.i LIMIT 1;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION '%', refused USING ERRCODE = 'SS009';
    END IF;

    -- Lines reserve() could not take (known listings or not) fail the call,
    -- naming the order, before anything is locked; the worker then applies
    -- each delivery alone, which refuses that one.
    IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(deliveries) x (v)
                WHERE CASE WHEN pg_catalog.jsonb_typeof(COALESCE(x.v #> '{event,lines}', '[]')) <> 'array' THEN true
                           ELSE EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(COALESCE(x.v #> '{event,lines}', '[]')) l (line)
                                         WHERE stocksync.webhook_line_qty(l.line) IS NULL) END) THEN
        PERFORM stocksync.check_webhook_lines(x.v #>> '{event,channel}', x.v #>> '{event,order_ref}', x.v #> '{event,lines}')
           FROM pg_catalog.jsonb_array_elements(deliveries) WITH ORDINALITY x (v, i) ORDER BY x.i;
    END IF;

    -- The aggregate takes the locks in the subquery's (hash) order.
    PERFORM pg_catalog.count(pg_catalog.pg_advisory_xact_lock(1937010292, k.h))
       FROM (SELECT DISTINCT pg_catalog.hashtext((x.v ->> 'source') || E'\x1f' || (x.v ->> 'event_id')) AS h
               FROM pg_catalog.jsonb_array_elements(deliveries) x (v) ORDER BY 1) k;
    PERFORM pg_catalog.count(pg_catalog.pg_advisory_xact_lock(1937010291, k.h))
       FROM (SELECT DISTINCT pg_catalog.hashtext((x.v #>> '{event,channel}') || E'\x1f' || (x.v #>> '{event,order_ref}')) AS h
               FROM pg_catalog.jsonb_array_elements(deliveries) x (v)
              WHERE x.v #>> '{event,channel}' IS NOT NULL AND COALESCE(x.v #>> '{event,order_ref}', '') <> ''
              ORDER BY 1) k;

    -- Every delivery decided at once, under those locks. A later delivery of
    -- the same event id is a duplicate of the first (or deferred with it).
    WITH d AS (
        SELECT x.i::integer AS i, (x.v ->> 'source') COLLATE "C" AS source, (x.v ->> 'event_id') COLLATE "C" AS event_id,
               x.v -> 'event' AS event,
               (x.v #>> '{event,channel}') COLLATE "C" AS ch, (x.v #>> '{event,order_ref}') COLLATE "C" AS ref,
               -- refused with SS009 as ingest_webhook() refuses it
               COALESCE(stocksync.order_ref_too_long(x.v #>> '{event,order_ref}'),
                        stocksync.channel_code_too_long(x.v #>> '{event,channel}')) AS ref_too_long,
               COALESCE((x.v #>> '{event,paid}')::boolean, false) AS paid,
               COALESCE((x.v #>> '{event,ttl_s}')::double precision, 900) AS ttl,
               pg_catalog.min(x.i) OVER (PARTITION BY x.v ->> 'source', x.v ->> 'event_id')::integer AS first,
               pg_catalog.min(x.i) OVER (PARTITION BY x.v #>> '{event,channel}', x.v #>> '{event,order_ref}')::integer
                   AS first_of_order
          FROM pg_catalog.jsonb_array_elements(deliveries) WITH ORDINALITY x (v, i)),
    c AS (
        -- Scalar subqueries: primary-key probes in any plan (the generic
        -- plan may be made while the tables are nearly empty).
        SELECT d.*,
               (SELECT rv.state FROM stocksync.reservation rv WHERE rv.channel = d.ch AND rv.order_ref = d.ref) AS state,
               COALESCE((SELECT true FROM stocksync.webhook_receipt w
                          WHERE w.source = d.source AND w.event_id = d.event_id), false) AS receipt,
               COALESCE((SELECT true FROM stocksync.order_tombstone t
                          WHERE t.channel = d.ch AND t.order_ref = d.ref), false) AS tombstone
          FROM d),
    m AS (
        SELECT c.i,
               pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('sku', s.sku, 'qty', (s.line ->> 'qty')::integer) ORDER BY s.n)
                   FILTER (WHERE s.sku IS NOT NULL) AS matched,
               pg_catalog.jsonb_agg(s.line ORDER BY s.n) FILTER (WHERE s.sku IS NULL) AS unmatched
          FROM c, LATERAL (
                   SELECT l.line, l.n, k.sku
                     FROM pg_catalog.jsonb_array_elements(COALESCE(c.event -> 'lines', '[]')) WITH ORDINALITY AS l (line, n)
                          CROSS JOIN LATERAL stocksync.webhook_line_sku(c.ch, l.line) AS k (sku)
                   OFFSET 0) s  -- OFFSET 0: one lookup per line, not one per reference
         WHERE c.ch IS NOT NULL AND COALESCE(c.ref, '') <> '' AND c.ref_too_long IS NULL AND NOT c.receipt AND c.i = c.first
           AND NOT c.tombstone
           AND (c.state IS NULL OR (c.state = 'reserved' AND NOT c.paid)
                OR (c.state IN ('committed', 'fulfilled', 'returned') AND c.i = c.first_of_order))
         GROUP BY c.i),
    o AS (
        SELECT c.i, c.paid, c.ttl, c.state, m.unmatched,
               CASE WHEN c.receipt THEN 'duplicate'
                    WHEN c.state = 'reserved' AND c.paid THEN NULL  -- deferred
                    WHEN c.i <> c.first THEN 'duplicate'
                    WHEN c.ch IS NULL OR COALESCE(c.ref, '') = '' OR c.ref_too_long IS NOT NULL THEN NULL  -- refused: SS009
                    WHEN c.tombstone THEN CASE WHEN c.state IS NULL THEN 'cancelled_before_order'
                                               ELSE 'order_already_cancelled' END
                    WHEN c.state = 'expired' AND c.paid THEN 'paid_after_expiry'  -- as ingest_webhook()
                    WHEN c.state IN ('released', 'expired') THEN 'order_already_' || c.state
                    -- a committed or shipped order delivered again in this
                    -- group: alone, each compares with the stored lines, not
                    -- with another delivery's (which reserve_batch() would do)
                    WHEN c.state IN ('committed', 'fulfilled', 'returned') AND c.i <> c.first_of_order THEN NULL  -- deferred
                    -- a committed or shipped order's lines go through
                    -- reserve_batch() too (a replay, or SS006 for an edit), as
                    -- ingest_webhook() does
                    WHEN m.matched IS NOT NULL THEN 'pending'
                    WHEN c.state IN ('committed', 'fulfilled', 'returned') THEN 'order_already_' || c.state
                    WHEN m.unmatched IS NOT NULL THEN 'unmatched'
                    ELSE 'empty_order' END AS outcome,
               CASE WHEN NOT c.receipt AND c.i = c.first AND (c.ch IS NULL OR COALESCE(c.ref, '') = '' OR c.ref_too_long IS NOT NULL)
                    THEN 'SS009' END AS code,
               CASE WHEN c.receipt OR c.i <> c.first THEN NULL
                    WHEN c.ch IS NULL OR COALESCE(c.ref, '') = ''
                    THEN pg_catalog.format('webhook event %s of %s has no channel or order reference', c.event_id, c.source)
                    ELSE c.ref_too_long
                    END AS message,
               CASE WHEN m.matched IS NOT NULL
                    THEN pg_catalog.jsonb_build_object('channel', c.ch, 'order_ref', c.ref, 'lines', m.matched) END AS order_json
          FROM c LEFT JOIN m ON m.i = c.i)
    SELECT pg_catalog.array_agg(o.outcome ORDER BY o.i), pg_catalog.array_agg(o.code ORDER BY o.i),
           pg_catalog.array_agg(o.message ORDER BY o.i),
           pg_catalog.array_agg(o.order_json ORDER BY o.i), pg_catalog.array_agg(o.unmatched ORDER BY o.i),
           pg_catalog.array_agg(o.paid ORDER BY o.i), pg_catalog.array_agg(o.ttl ORDER BY o.i),
           pg_catalog.array_agg(o.state ORDER BY o.i)
      INTO outcomes, codes, messages, orders_of, unmatched_of, paid_of, ttl_of, state_of
      FROM o;

    -- The common group: new orders of plain SKUs whose lines, taken order by
    -- order in key order, lock stock rows in one rising sequence (the order
    -- every stocksync function locks in): reserve() each, its fast path.
    -- Anything else (a hot SKU or a bundle, an order repeated or held before,
    -- interleaved keys) goes through reserve_batch(), which orders every
    -- lock itself. 'record': a marketplace order already happened.
    SELECT pg_catalog.array_agg(z.i ORDER BY z.lo, z.i),
           COALESCE(pg_catalog.bool_and(NOT z.special AND z.fresh AND (z.prev_hi IS NULL OR z.lo >= z.prev_hi)), false)
           AND pg_catalog.count(DISTINCT z.k) = pg_catalog.count(*)
      INTO fast_order, fast
      FROM (SELECT y.*, pg_catalog.lag(y.hi) OVER (ORDER BY y.lo, y.i) AS prev_hi
              FROM (SELECT p.i::integer AS i, pg_catalog.min((p.o ->> 'channel') || E'\x1f' || (p.o ->> 'order_ref')) AS k,
                           pg_catalog.bool_and(state_of[p.i] IS NULL) AS fresh,
                           pg_catalog.min(x.sku) AS lo, pg_catalog.max(x.sku) AS hi,
                           -- key lookups (subqueries), whatever the estimates
                           pg_catalog.bool_or((SELECT it.kind FROM stocksync.item it WHERE it.sku = x.sku)
                                                  IS DISTINCT FROM 'simple'
                                              -- a channel that sells from several locations, or none (where a
                                              -- line is held depends on the stock, and the SKUs' order
                                              -- is no longer the locks' order), or, at its one location,
                                              -- where reserve() holds the line, a hot SKU or no stock row
                                              OR (SELECT pg_catalog.count(*) <> 1 OR pg_catalog.bool_or(sl.buckets IS DISTINCT FROM 0)
                                                    FROM stocksync.channel_places(p.o ->> 'channel') AS c (code)
                                                    LEFT JOIN stocksync.stock_level sl ON sl.sku = x.sku AND sl.location = c.code)
                                             ) AS special
                      FROM ROWS FROM (pg_catalog.unnest(outcomes), pg_catalog.unnest(orders_of)) WITH ORDINALITY AS p (s, o, i)
                           CROSS JOIN LATERAL (SELECT (e.l ->> 'sku') COLLATE "C" AS sku
                                                 FROM pg_catalog.jsonb_array_elements(p.o -> 'lines') AS e (l)) x
                     WHERE p.s = 'pending'
                     GROUP BY p.i) y) z;
    IF fast THEN
        -- The aggregate calls reserve() in the array's (key) order.
        -- An order of one line (most of them) through reserve()'s scalar
        -- form at the channel's one location (the group is fast only when
        -- there is one): the stored row is the one its lines form stores,
        -- without the statement that reads the lines. A location given to
        -- the channel since the check above fails the call (more than one
        -- row), and the worker then applies each delivery alone.
        PERFORM pg_catalog.count(
                    CASE WHEN pg_catalog.jsonb_array_length(orders_of[f.i] -> 'lines') = 1
                         THEN stocksync.reserve(orders_of[f.i] ->> 'channel', orders_of[f.i] ->> 'order_ref',
                                                orders_of[f.i] #>> '{lines,0,sku}', (orders_of[f.i] #>> '{lines,0,qty}')::integer,
                                                pg_catalog.make_interval(secs => ttl_of[f.i]),
                                                location => (SELECT p.code FROM stocksync.channel_places(orders_of[f.i] ->> 'channel') AS p (code)),
                                                on_shortage => 'record')
                         ELSE stocksync.reserve(orders_of[f.i] ->> 'channel', orders_of[f.i] ->> 'order_ref',
                                                orders_of[f.i] -> 'lines', pg_catalog.make_interval(secs => ttl_of[f.i]),
                                                on_shortage => 'record') END)
           FROM pg_catalog.unnest(fast_order) AS f (i);
        FOREACH h IN ARRAY fast_order LOOP
            IF paid_of[h] THEN
                commit_ch := commit_ch || (orders_of[h] ->> 'channel');
                commit_ref := commit_ref || (orders_of[h] ->> 'order_ref');
                outcomes[h] := 'committed';
            ELSE
                outcomes[h] := 'reserved';
            END IF;
        END LOOP;
    END IF;

    -- Otherwise one reserve_batch() per hold length (the worker sends one),
    -- each in the deliveries' order.
    FOR ttl_s IN SELECT DISTINCT p.t FROM ROWS FROM (pg_catalog.unnest(outcomes), pg_catalog.unnest(ttl_of)) AS p (s, t)
                  WHERE p.s = 'pending' ORDER BY 1 LOOP
        SELECT pg_catalog.array_agg(p.i::integer ORDER BY p.i), pg_catalog.jsonb_agg(p.o ORDER BY p.i)
          INTO ords, orders
          FROM ROWS FROM (pg_catalog.unnest(outcomes), pg_catalog.unnest(ttl_of), pg_catalog.unnest(orders_of))
               WITH ORDINALITY AS p (s, t, o, i)
         WHERE p.s = 'pending' AND p.t = ttl_s;
        FOR r IN SELECT b.ord AS k, b.channel, b.order_ref, b.status, b.sqlstate, b.message
                   FROM stocksync.reserve_batch(orders, pg_catalog.make_interval(secs => ttl_s), 'record') b LOOP
            h := ords[r.k];
            IF r.status = 'refused' THEN
                outcomes[h] := NULL;
                codes[h] := r.sqlstate;
                messages[h] := r.message;
            ELSIF state_of[h] IN ('committed', 'fulfilled', 'returned') THEN
                outcomes[h] := 'order_already_' || state_of[h];  -- a replay of the stored lines
            ELSIF r.channel || E'\x1f' || r.order_ref = ANY (committed) THEN
                -- paid earlier in this group: as alone, any later delivery of
                -- the order (paid again or a late unpaid one) finds it committed
                outcomes[h] := 'order_already_committed';
            ELSIF NOT paid_of[h] THEN
                outcomes[h] := 'reserved';
            ELSE
                committed := committed || (r.channel || E'\x1f' || r.order_ref);
                commit_ch := commit_ch || r.channel;
                commit_ref := commit_ref || r.order_ref;
                outcomes[h] := 'committed';
            END IF;
        END LOOP;
    END LOOP;
    PERFORM pg_catalog.count(stocksync.commit(k.c, k.o)) FROM ROWS FROM (pg_catalog.unnest(commit_ch), pg_catalog.unnest(commit_ref)) AS k (c, o);

    -- Refusals (rare) are kept as a single delivery's are.
    FOR h IN SELECT p.i FROM pg_catalog.unnest(codes) WITH ORDINALITY AS p (c, i) WHERE p.c IS NOT NULL LOOP
        IF NOT stocksync.record_webhook_refusal(deliveries -> (h - 1) ->> 'source', deliveries -> (h - 1) ->> 'event_id',
                                                deliveries -> (h - 1) ->> 'topic', deliveries -> (h - 1) -> 'event',
                                                codes[h], messages[h]) THEN
            outcomes[h] := 'duplicate';
        END IF;
    END LOOP;

    outcomes := ARRAY(SELECT CASE WHEN unmatched_of[p.i] IS NOT NULL AND p.s IN ('reserved', 'committed')
                                  THEN p.s || '_partly_unmatched' ELSE p.s END
                        FROM pg_catalog.unnest(outcomes) WITH ORDINALITY AS p (s, i) ORDER BY p.i);
    -- Orders held with every line: what earlier deliveries kept of them is
    -- applied (as ingest_webhook() does). Then what this group could not
    -- apply, delivery by delivery (rare).
    UPDATE stocksync.inbound_exception e SET resolved_at = pg_catalog.now()
      FROM ROWS FROM (pg_catalog.unnest(orders_of), pg_catalog.unnest(unmatched_of), pg_catalog.unnest(codes)) AS p (o, u, c)
     WHERE p.o IS NOT NULL AND p.u IS NULL AND p.c IS NULL
       AND e.channel = (p.o ->> 'channel') COLLATE "C" AND e.order_ref = (p.o ->> 'order_ref') COLLATE "C"
       AND e.reason = 'unknown_listing' AND e.resolved_at IS NULL;
    FOR h IN SELECT p.i FROM ROWS FROM (pg_catalog.unnest(outcomes), pg_catalog.unnest(unmatched_of), pg_catalog.unnest(codes))
                             WITH ORDINALITY AS p (s, u, c, i)
              WHERE (p.u IS NOT NULL AND p.c IS NULL) OR p.s = 'paid_after_expiry' ORDER BY p.i LOOP
        IF outcomes[h] = 'paid_after_expiry' THEN
            PERFORM stocksync.keep_paid_after_expiry(deliveries -> (h - 1) ->> 'source', deliveries -> (h - 1) ->> 'event_id',
                                                     deliveries -> (h - 1) ->> 'topic', deliveries -> (h - 1) #>> '{event,channel}',
                                                     deliveries -> (h - 1) #>> '{event,order_ref}',
                                                     COALESCE(deliveries -> (h - 1) #> '{event,lines}', '[]'));
        ELSE
            PERFORM stocksync.keep_unmatched_lines(deliveries -> (h - 1) ->> 'source', deliveries -> (h - 1) ->> 'event_id',
                                                   deliveries -> (h - 1) ->> 'topic', deliveries -> (h - 1) #>> '{event,channel}',
                                                   deliveries -> (h - 1) #>> '{event,order_ref}', unmatched_of[h]);
        END IF;
    END LOOP;
    INSERT INTO stocksync.webhook_receipt (source, event_id, topic, outcome)
    SELECT x.v ->> 'source', x.v ->> 'event_id', x.v ->> 'topic', outcomes[x.i]
      FROM pg_catalog.jsonb_array_elements(deliveries) WITH ORDINALITY x (v, i)
     WHERE outcomes[x.i] <> 'duplicate'  -- refused and deferred ones have none
     ORDER BY x.i;

    RETURN QUERY
    SELECT p.i::integer, p.s, codes[p.i], messages[p.i]
      FROM pg_catalog.unnest(outcomes) WITH ORDINALITY AS p (s, i)
     ORDER BY p.i;
END
$fn$;
COMMENT ON FUNCTION stocksync.ingest_webhook_orders IS 'Applies many verified order deliveries in one transaction, each with the outcome ingest_webhook() would give it alone; one row per delivery: an outcome, a refusal''s SQLSTATE, or neither when deferred to ingest_webhook().';

REVOKE ALL ON FUNCTION stocksync.webhook_line_sku(text, jsonb), stocksync.ingest_webhook(text, text, text, jsonb),
    stocksync.keep_unmatched_lines(text, text, text, text, text, jsonb),
    stocksync.keep_paid_after_expiry(text, text, text, text, text, jsonb),
    stocksync.check_webhook_lines(text, text, jsonb), stocksync.webhook_line_qty(jsonb),
    stocksync.ingest_webhook_orders(jsonb),
    stocksync.record_webhook_refusal(text, text, text, jsonb, text, text),
    stocksync.prune_webhook_receipts(interval) FROM PUBLIC;
GRANT SELECT ON stocksync.webhook_receipt, stocksync.order_tombstone, stocksync.inbound_exception,
    stocksync.unmatched_order_line TO stocksync_reader;
GRANT UPDATE (resolved_at) ON stocksync.inbound_exception TO stocksync_writer;
GRANT EXECUTE ON FUNCTION stocksync.ingest_webhook(text, text, text, jsonb),
    stocksync.ingest_webhook_orders(jsonb),
    stocksync.record_webhook_refusal(text, text, text, jsonb, text, text),
    stocksync.prune_webhook_receipts(interval) TO stocksync_worker;
SELECT pg_catalog.pg_extension_config_dump('stocksync.webhook_receipt', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.order_tombstone', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.inbound_exception', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.inbound_exception_id_seq', '');

-- ===========================================================================
-- Hot SKUs and batched reservations (docs/hot-skus.md).
-- The bucket table and the stock_rows view are defined beside stock_level.
-- ===========================================================================

-- A component's buckets change its bundles' quantities like its central row.
CREATE CONSTRAINT TRIGGER stock_bucket_bundle_cascade AFTER INSERT OR UPDATE ON stocksync.stock_bucket
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION stocksync.stock_level_bundle_cascade();
CREATE TRIGGER stock_bucket_bundle_cascade_note BEFORE INSERT OR UPDATE ON stocksync.stock_bucket
    FOR EACH ROW EXECUTE FUNCTION stocksync.stock_level_bundle_cascade();

CREATE VIEW stocksync.hot_sku AS
SELECT b.sku, b.location, pg_catalog.count(*)::integer AS buckets, pg_catalog.sum(b.lent)::integer AS lent,
       pg_catalog.sum(GREATEST(b.lent + b.on_hand - b.reserved - b.committed - b.damaged - b.quality_control
                               - b.safety_stock, 0))::integer AS budget
  FROM stocksync.stock_bucket b
 GROUP BY b.sku, b.location;
COMMENT ON VIEW stocksync.hot_sku IS 'SKUs and locations in the bucket strategy: how many buckets, units lent to them and still claimable there.';

-- Turns the bucket strategy on (buckets > 0) or off (0) for a SKU at a
-- location. Either way the existing buckets are folded into the central row
-- first, under the same locks a reservation takes (central row, then buckets
-- in order), so nothing is lost and no reservation sees a half-changed SKU.
-- The item row is read FOR SHARE, as for any first projection row
-- (movement.cpp, CreateStockRow): the SKU cannot become a bundle meanwhile.
CREATE FUNCTION stocksync.set_hot(sku text, buckets integer DEFAULT 64, location text DEFAULT 'default')
    RETURNS integer LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    folded record;
BEGIN
    IF sku IS NULL OR buckets IS NULL OR location IS NULL THEN
        RAISE EXCEPTION 'sku, buckets and location must not be null' USING ERRCODE = 'SS009';
    END IF;
    IF buckets < 0 OR buckets > 256 THEN
        RAISE EXCEPTION 'buckets for sku "%" must be between 0 and 256, got %', sku, buckets
            USING ERRCODE = 'SS009', HINT = 'Use about as many buckets as sessions reserving the SKU at once; 0 turns the strategy off.';
    END IF;
    PERFORM 1 FROM stocksync.item i WHERE i.sku = set_hot.sku AND i.kind = 'simple' FOR SHARE;
    IF NOT FOUND THEN
        IF EXISTS (SELECT 1 FROM stocksync.item i WHERE i.sku = set_hot.sku) THEN
            RAISE EXCEPTION 'sku "%" is a bundle and holds no stock of its own', sku
                USING ERRCODE = 'SS009', HINT = 'Turn the strategy on for its components.';
        END IF;
        RAISE EXCEPTION 'unknown sku "%"', sku USING ERRCODE = 'SS001', HINT = 'Add the SKU to stocksync.item first.';
    END IF;
    PERFORM 1 FROM stocksync.location l WHERE l.code = set_hot.location;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown location "%"', location USING ERRCODE = 'SS002', HINT = 'Add the location to stocksync.location first.';
    END IF;
    INSERT INTO stocksync.stock_level AS s (sku, location) VALUES (set_hot.sku, set_hot.location)
        ON CONFLICT ON CONSTRAINT stock_level_pkey DO NOTHING;
    PERFORM 1 FROM stocksync.stock_level s WHERE s.sku = set_hot.sku AND s.location = set_hot.location FOR UPDATE;
    PERFORM 1 FROM stocksync.stock_bucket b WHERE b.sku = set_hot.sku AND b.location = set_hot.location
      ORDER BY b.bucket FOR UPDATE;
    SELECT COALESCE(sum(b.on_hand), 0) AS on_hand, COALESCE(sum(b.reserved), 0) AS reserved,
           COALESCE(sum(b.committed), 0) AS committed, COALESCE(sum(b.damaged), 0) AS damaged,
           COALESCE(sum(b.quality_control), 0) AS quality_control, COALESCE(sum(b.safety_stock), 0) AS safety_stock,
           COALESCE(sum(b.incoming), 0) AS incoming, COALESCE(sum(b.version), 0) AS version
      INTO folded
      FROM stocksync.stock_bucket b WHERE b.sku = set_hot.sku AND b.location = set_hot.location;
    -- The central row takes the buckets' quantities and versions (plus one),
    -- so the SKU's version keeps rising across the change.
    UPDATE stocksync.stock_level s
       SET on_hand = s.on_hand + folded.on_hand, reserved = s.reserved + folded.reserved,
           committed = s.committed + folded.committed, damaged = s.damaged + folded.damaged,
           quality_control = s.quality_control + folded.quality_control,
           safety_stock = s.safety_stock + folded.safety_stock, incoming = s.incoming + folded.incoming,
           version = s.version + folded.version + 1, buckets = set_hot.buckets
     WHERE s.sku = set_hot.sku AND s.location = set_hot.location;
    DELETE FROM stocksync.stock_bucket b WHERE b.sku = set_hot.sku AND b.location = set_hot.location;
    INSERT INTO stocksync.stock_bucket (sku, location, bucket)
    SELECT set_hot.sku, set_hot.location, n FROM generate_series(0, buckets - 1) AS n;
    RETURN buckets;
END
$fn$;
COMMENT ON FUNCTION stocksync.set_hot IS 'Turns the bucket strategy for a hot SKU on (buckets > 0) or off (0) at a location. Returns the number of buckets.';

-- Contention seen: projection rows with at least min_waiters sessions queued
-- on their row lock right now (pg_locks: the first waiter holds the tuple
-- lock and waits for the locker's transaction, the others wait for the tuple
-- lock). Each such simple SKU not yet hot is switched to the bucket strategy.
-- stocksync-worker calls it periodically (hot_sku_check_interval_ms); any
-- session may. Switching waits in the same queue as the buyers, so each SKU
-- gets lock_wait (250 ms by default) and is left for the next call when that
-- is not enough: the caller (the worker's sync thread) is never held up for long.
CREATE FUNCTION stocksync.promote_hot_skus(min_waiters integer DEFAULT 2, buckets integer DEFAULT 64,
                                           lock_wait interval DEFAULT '250ms')
    RETURNS SETOF text LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    -- The SET clause restores the caller's lock_timeout when the call ends,
    -- also after the set_config() below.
    SET search_path = pg_catalog, pg_temp SET lock_timeout = '250ms'
AS $fn$
DECLARE
    contended record;
    -- lock_timeout takes milliseconds.
    wait_ms   double precision := pg_catalog.ceil(pg_catalog.date_part('epoch', lock_wait) * 1000);
BEGIN
    IF lock_wait IS NULL OR lock_wait <= interval '0' THEN
        RAISE EXCEPTION 'lock_wait must be a positive interval' USING ERRCODE = '22023';
    END IF;
    -- lock_timeout holds at most 2,147,483,647 ms (24 days 20:31:23.647):
    -- set_config() below would otherwise refuse a longer wait with a message
    -- about lock_timeout, which the caller never named.
    IF wait_ms > 2147483647 THEN
        RAISE EXCEPTION 'lock_wait must be at most 2147483647 milliseconds, got %', lock_wait USING ERRCODE = '22023',
            HINT = 'lock_wait is how long to wait in each contended SKU''s queue (default 250 ms).';
    END IF;
    -- Checked up front, not only when a SKU is contended: set_hot() would
    -- otherwise refuse 257 in the middle of a Black Friday call, and take 0
    -- (strategy off) while the SKU is still returned as promoted.
    IF buckets IS NULL OR buckets NOT BETWEEN 1 AND 256 THEN
        RAISE EXCEPTION 'buckets must be between 1 and 256, got %', coalesce(buckets::text, 'null')
            USING ERRCODE = 'SS009', HINT = 'set_hot(sku, 0) turns the strategy off for one SKU.';
    END IF;
    IF min_waiters IS NULL OR min_waiters < 1 THEN
        RAISE EXCEPTION 'min_waiters must be positive, got %', coalesce(min_waiters::text, 'null')
            USING ERRCODE = 'SS009';
    END IF;
    -- How long to wait in each contended SKU's queue before leaving it for
    -- the next call.
    PERFORM pg_catalog.set_config('lock_timeout', wait_ms::bigint::text, true);
    FOR contended IN
        SELECT s.sku, s.location
          FROM (SELECT l.page, l.tuple FROM pg_catalog.pg_locks l
                 WHERE l.locktype = 'tuple' AND l.database = (SELECT oid FROM pg_catalog.pg_database
                                                               WHERE datname = pg_catalog.current_database())
                   AND l.relation = 'stocksync.stock_level'::pg_catalog.regclass
                 GROUP BY l.page, l.tuple HAVING pg_catalog.count(*) >= min_waiters) w
          JOIN stocksync.stock_level s ON s.ctid = pg_catalog.format('(%s,%s)', w.page, w.tuple)::pg_catalog.tid
         WHERE s.buckets = 0
         ORDER BY s.sku, s.location
    LOOP
        BEGIN
            PERFORM stocksync.set_hot(contended.sku, buckets, contended.location);
            RETURN NEXT contended.sku;
        EXCEPTION WHEN lock_not_available THEN
            NULL;  -- still queued after lock_timeout: the next call tries again
        END;
    END LOOP;
END
$fn$;
COMMENT ON FUNCTION stocksync.promote_hot_skus IS 'Switches SKUs whose projection row has at least min_waiters sessions queued on it to the bucket strategy, waiting at most lock_wait in each queue; returns them.';

CREATE FUNCTION stocksync.reserve_batch(orders jsonb, ttl interval DEFAULT '15 minutes',
                                        on_shortage text DEFAULT 'reject')
    RETURNS TABLE (ord integer, channel text, order_ref text, status text, reservation_id bigint,
                   shortage integer, expires_at timestamptz, sqlstate text, message text)
    LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    -- Its generic plans are costed for any batch size, above jit_above_cost:
    -- compiling them took longer than running a batch of a hundred orders.
    SET jit = off
    AS 'MODULE_PATHNAME', 'stocksync_reserve_batch';
COMMENT ON FUNCTION stocksync.reserve_batch IS 'Reserves many orders in one call: each all lines or none, decided on its own, idempotent per (channel, order_ref); one row per order with status reserved, replayed or refused.';

REVOKE ALL ON FUNCTION stocksync.set_hot(text, integer, text), stocksync.promote_hot_skus(integer, integer, interval),
    stocksync.reserve_batch(jsonb, interval, text) FROM PUBLIC;
GRANT SELECT ON stocksync.stock_bucket, stocksync.stock_rows, stocksync.hot_sku TO stocksync_reader;
GRANT EXECUTE ON FUNCTION stocksync.set_hot(text, integer, text), stocksync.promote_hot_skus(integer, integer, interval),
    stocksync.reserve_batch(jsonb, interval, text) TO stocksync_writer;
SELECT pg_catalog.pg_extension_config_dump('stocksync.stock_bucket', '');
