-- stocksync 0.1.0 install script. Frozen once released: later changes go into
-- stocksync--0.1.0--<next>.sql (see docs/upgrades.md).
--
-- Identifiers (sku, location and channel codes, order references) are text
-- COLLATE "C": compared byte by byte, which is both what an identifier means
-- and the lock order every stocksync function uses.
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
    sku        text COLLATE "C" PRIMARY KEY CHECK (sku <> ''),
    kind       text NOT NULL DEFAULT 'simple' CHECK (kind IN ('simple', 'bundle')),
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'discontinued')),
    title      text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stocksync.item IS 'Every SKU stocksync keeps stock for (simple) or computes stock for (bundle).';

CREATE TABLE stocksync.location (
    code       text COLLATE "C" PRIMARY KEY CHECK (code <> ''),
    name       text,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stocksync.location IS 'Warehouses, stores and 3PLs that hold stock. The location "default" exists after CREATE EXTENSION.';
INSERT INTO stocksync.location (code, name) VALUES ('default', 'Default location');

CREATE TABLE stocksync.channel (
    code       text COLLATE "C" PRIMARY KEY CHECK (code <> ''),
    kind       text NOT NULL CHECK (kind IN ('shopify', 'amazon', 'ebay', 'woocommerce', 'webhook')),
    mode       text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'shadow', 'paused')),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE stocksync.channel IS 'Places of sale. mode: live pushes, shadow records what would be pushed, paused pushes nothing.';

CREATE TABLE stocksync.listing (
    channel     text COLLATE "C" NOT NULL REFERENCES stocksync.channel (code) ON UPDATE CASCADE,
    external_id text COLLATE "C" NOT NULL CHECK (external_id <> ''),
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
    PRIMARY KEY (sku, location)
) WITH (fillfactor = 70);  -- room for HOT updates: the hot row is rewritten on every reservation
COMMENT ON TABLE stocksync.stock_level IS 'Projection of the ledger per SKU and location; version rises on every change.';

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
-- a no-op and reusing the reference for other lines is refused.
CREATE TABLE stocksync.order_document (
    reservation_id bigint NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('FULFILL', 'RETURN')),
    document_ref   text COLLATE "C" NOT NULL,
    lines          jsonb NOT NULL,
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
SELECT sku, location, on_hand, reserved, committed, damaged, quality_control, safety_stock, incoming,
       on_hand - reserved - committed - damaged - quality_control - safety_stock AS available,
       version
  FROM stocksync.stock_level;
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

-- ---------------------------------------------------------------------------
-- Channel sync: what each listing should show (desired, computed at read
-- time, never stored) and what its channel last acknowledged (stored by
-- stocksync-worker).
-- ---------------------------------------------------------------------------

-- The quantity each listing should show, and the version of its inputs: the
-- sum of the versions of the SKU's projection rows, which rises with every
-- change to any of them. Paused or discontinued items and paused channels
-- show 0; nothing shows less than 0.
CREATE VIEW stocksync.listing_target AS
SELECT l.channel, l.external_id, l.sku, c.kind AS channel_kind, c.mode AS channel_mode,
       COALESCE(s.available, 0)::integer AS available,
       CASE WHEN c.mode = 'paused' OR i.status <> 'active' THEN 0
            ELSE GREATEST(COALESCE(s.available, 0), 0) END::integer AS desired_qty,
       COALESCE(s.version, 0)::bigint AS inputs_version
  FROM stocksync.listing l
  JOIN stocksync.channel c ON c.code = l.channel
  JOIN stocksync.item i ON i.sku = l.sku
  LEFT JOIN LATERAL (
      SELECT pg_catalog.sum(on_hand - reserved - committed - damaged - quality_control - safety_stock) AS available,
             pg_catalog.sum(version) AS version
        FROM stocksync.stock_level sl WHERE sl.sku = l.sku) s ON true;
COMMENT ON VIEW stocksync.listing_target IS 'Per listing: the quantity it should show now, and the version of the inputs it was computed from.';

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

CREATE FUNCTION stocksync.retry_dead(channel text)
    RETURNS integer LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    BEGIN ATOMIC
        WITH revived AS (
            UPDATE stocksync.listing_state s
               SET state = 'pending', attempts = 0, retry_at = NULL, updated_at = pg_catalog.now()
             WHERE s.channel = retry_dead.channel AND s.state = 'dead'
            RETURNING 1)
        SELECT pg_catalog.count(*)::integer FROM revived;
    END;
COMMENT ON FUNCTION stocksync.retry_dead IS 'Brings a channel''s dead listings back to pending so the worker pushes them again. Returns how many.';

-- ---------------------------------------------------------------------------
-- The ledger refuses UPDATE, DELETE and TRUNCATE, whoever asks.
-- ---------------------------------------------------------------------------

CREATE FUNCTION stocksync.ledger_append_only() RETURNS trigger
    LANGUAGE c AS 'MODULE_PATHNAME', 'stocksync_ledger_append_only';
CREATE TRIGGER ledger_no_update_delete BEFORE UPDATE OR DELETE ON stocksync.ledger
    FOR EACH ROW EXECUTE FUNCTION stocksync.ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON stocksync.ledger
    FOR EACH STATEMENT EXECUTE FUNCTION stocksync.ledger_append_only();

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

CREATE FUNCTION stocksync.reserve(channel text, order_ref text, sku text, qty integer,
                                  ttl interval DEFAULT '15 minutes', location text DEFAULT 'default',
                                  strategy text DEFAULT 'pessimistic', on_shortage text DEFAULT 'reject')
    RETURNS stocksync.reservation_result LANGUAGE c VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
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

CREATE FUNCTION stocksync.commit(channel text, order_ref text)
    RETURNS text LANGUAGE c VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
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

-- stocksync-worker records what channels acknowledged.
GRANT INSERT, UPDATE, DELETE ON stocksync.listing_state TO stocksync_worker;
GRANT EXECUTE ON FUNCTION stocksync.retry_dead(text) TO stocksync_worker;

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
CREATE TABLE stocksync.order_tombstone (
    channel      text COLLATE "C" NOT NULL,
    order_ref    text COLLATE "C" NOT NULL,
    event_id     text NOT NULL,
    cancelled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, order_ref)
);
COMMENT ON TABLE stocksync.order_tombstone IS 'Orders cancelled before stocksync saw them: a later order webhook reserves nothing.';

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
    reason      text NOT NULL CHECK (reason IN ('unknown_listing', 'refused')),
    detail      jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX inbound_exception_open_idx ON stocksync.inbound_exception (received_at) WHERE resolved_at IS NULL;
COMMENT ON TABLE stocksync.inbound_exception IS 'Webhook content stocksync kept but could not apply: unknown listings, refused deliveries.';

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
-- line's own SKU. NULL when there is none. Simple key lookups, so that the
-- plans stay on the indexes whatever the statistics say.
CREATE FUNCTION stocksync.webhook_line_sku(channel text, line jsonb)
    RETURNS text LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    ch    text COLLATE "C" := webhook_line_sku.channel;
    id    text COLLATE "C";
    found text;
BEGIN
    FOR id IN SELECT pg_catalog.jsonb_array_elements_text(COALESCE(line -> 'ids', '[]')) LOOP
        SELECT l.sku INTO found FROM stocksync.listing l WHERE l.channel = ch AND l.external_id = id;
        IF found IS NOT NULL THEN
            RETURN found;
        END IF;
    END LOOP;
    SELECT l.sku INTO found FROM stocksync.listing l
     WHERE l.channel = ch AND l.sku = (line ->> 'sku') COLLATE "C" LIMIT 1;
    RETURN found;
END
$fn$;
CREATE INDEX listing_channel_sku_idx ON stocksync.listing (channel, sku);

-- Applies one normalized webhook event (built by stocksync-worker, see
-- docs/webhooks.md) and returns its outcome:
--   {"action": "order",  "channel", "order_ref", "paid", "ttl_s", "lines": [{"ids", "sku", "qty"}]}
--   {"action": "cancel", "channel", "order_ref"}
--   {"action": "refund", "channel", "order_ref", "refund_ref", "lines": [...]}
--   {"action": "set_on_hand", "sku", "qty", "version", "location"}
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
    v_state   text;
    v_outcome text;
BEGIN
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
        -- One lock per order (class 1937010291 = 'stsy'): serializes an order,
        -- its cancellation and its refunds however they are delivered.
        PERFORM pg_catalog.pg_advisory_xact_lock(1937010291, pg_catalog.hashtext(ch || E'\x1f' || ref));
    END IF;

    IF action = 'order' THEN
        SELECT r.state INTO v_state FROM stocksync.reservation r WHERE r.channel = ch AND r.order_ref = ref;
        IF EXISTS (SELECT 1 FROM stocksync.order_tombstone t WHERE t.channel = ch AND t.order_ref = ref) THEN
            v_outcome := 'cancelled_before_order';
        ELSIF v_state IS NOT NULL AND v_state <> 'reserved' THEN
            -- The same order again (another subscription, a retry) after it was
            -- committed, released or shipped: nothing to do. A soft hold is
            -- still taken through reserve() below, so that payment commits it.
            v_outcome := 'order_already_' || v_state;
        ELSE
            SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('sku', s.sku, 'qty', (s.line ->> 'qty')::integer))
                                FILTER (WHERE s.sku IS NOT NULL), '[]'),
                   COALESCE(pg_catalog.jsonb_agg(s.line) FILTER (WHERE s.sku IS NULL), '[]')
              INTO matched, unmatched
              FROM (SELECT x.line, stocksync.webhook_line_sku(ch, x.line) AS sku
                      FROM pg_catalog.jsonb_array_elements(COALESCE(event -> 'lines', '[]')) AS x (line)
                    OFFSET 0) s;  -- OFFSET 0: one lookup per line, not one per reference
            IF pg_catalog.jsonb_array_length(matched) > 0 THEN
                PERFORM stocksync.reserve(ch, ref, matched,
                                          ttl => pg_catalog.make_interval(secs => COALESCE((event ->> 'ttl_s')::double precision, 900)),
                                          on_shortage => 'record');
                IF COALESCE((event ->> 'paid')::boolean, false) THEN
                    PERFORM stocksync.commit(ch, ref);
                    v_outcome := 'committed';
                ELSE
                    v_outcome := 'reserved';
                END IF;
            END IF;
            IF pg_catalog.jsonb_array_length(unmatched) > 0 THEN
                INSERT INTO stocksync.inbound_exception (source, event_id, topic, channel, order_ref, reason, detail)
                VALUES (ingest_webhook.source, ingest_webhook.event_id, ingest_webhook.topic, ch, ref, 'unknown_listing',
                        pg_catalog.jsonb_build_object('lines', unmatched));
                v_outcome := CASE WHEN v_outcome IS NULL THEN 'unmatched' ELSE v_outcome || '_partly_unmatched' END;
            END IF;
            v_outcome := COALESCE(v_outcome, 'empty_order');
        END IF;
    ELSIF action = 'cancel' THEN
        SELECT r.state INTO v_state FROM stocksync.reservation r WHERE r.channel = ch AND r.order_ref = ref;
        IF NOT FOUND THEN
            INSERT INTO stocksync.order_tombstone (channel, order_ref, event_id)
            VALUES (ch, ref, ingest_webhook.event_id) ON CONFLICT DO NOTHING;
            v_outcome := 'tombstoned';
        ELSIF v_state IN ('reserved', 'committed') THEN
            PERFORM stocksync.release(ch, ref, 'cancelled');
            v_outcome := 'released';
        ELSE
            v_outcome := 'cancel_ignored_' || v_state;  -- already released, expired or shipped
        END IF;
    ELSIF action = 'refund' THEN
        -- The same line matching as for orders; an unmatched line keeps its
        -- own SKU (return_items() refuses it if the order has no such line).
        SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                   'sku', COALESCE(stocksync.webhook_line_sku(ch, x.line), x.line ->> 'sku'),
                   'qty', (x.line ->> 'qty')::integer)), '[]')
          INTO matched
          FROM pg_catalog.jsonb_array_elements(COALESCE(event -> 'lines', '[]')) AS x (line);
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
BEGIN
    INSERT INTO stocksync.webhook_receipt (source, event_id, topic, outcome)
    VALUES (record_webhook_refusal.source, record_webhook_refusal.event_id, record_webhook_refusal.topic,
            'refused_' || record_webhook_refusal.error_code)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO stocksync.inbound_exception (source, event_id, topic, channel, order_ref, reason, detail)
    VALUES (record_webhook_refusal.source, record_webhook_refusal.event_id, record_webhook_refusal.topic,
            event ->> 'channel', event ->> 'order_ref', 'refused',
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
    DELETE FROM stocksync.webhook_receipt r WHERE r.received_at < pg_catalog.now() - keep;
    GET DIAGNOSTICS n = ROW_COUNT;
    DELETE FROM stocksync.order_tombstone t WHERE t.cancelled_at < pg_catalog.now() - keep;
    RETURN n;
END
$fn$;
COMMENT ON FUNCTION stocksync.prune_webhook_receipts IS 'Removes webhook receipts and order tombstones older than keep (the de-duplication window). Returns the receipts removed.';

REVOKE ALL ON FUNCTION stocksync.webhook_line_sku(text, jsonb), stocksync.ingest_webhook(text, text, text, jsonb),
    stocksync.record_webhook_refusal(text, text, text, jsonb, text, text),
    stocksync.prune_webhook_receipts(interval) FROM PUBLIC;
GRANT SELECT ON stocksync.webhook_receipt, stocksync.order_tombstone, stocksync.inbound_exception,
    stocksync.unmatched_order_line TO stocksync_reader;
GRANT UPDATE (resolved_at) ON stocksync.inbound_exception TO stocksync_writer;
GRANT EXECUTE ON FUNCTION stocksync.ingest_webhook(text, text, text, jsonb),
    stocksync.record_webhook_refusal(text, text, text, jsonb, text, text),
    stocksync.prune_webhook_receipts(interval) TO stocksync_worker;
SELECT pg_catalog.pg_extension_config_dump('stocksync.webhook_receipt', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.order_tombstone', '');
SELECT pg_catalog.pg_extension_config_dump('stocksync.inbound_exception', '');
