-- A long-lived session (an ERP's connection kept for weeks) and a long
-- transaction (an import of many orders): what a call allocates is freed
-- when it returns, and the order-key locks it takes are released then too,
-- so neither the backend's memory nor the shared lock table grows with the
-- number of calls.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) SELECT 'S-' || g FROM generate_series(1, 3000) g;
INSERT INTO stocksync.item (sku) VALUES ('LOW'), ('C');
INSERT INTO stocksync.item (sku, kind) VALUES ('KIT', 'bundle');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('KIT', 'C', 1);
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
SELECT count(stocksync.receive('S-' || g, 1000)) AS received FROM generate_series(1, 3000) g;
SELECT stocksync.receive('LOW', 1) > 0 AS received, stocksync.receive('C', 100000) > 0 AS received;

-- The backend's memory outside the running transaction and statement, and
-- outside stocksync's key caches (bounded by key_cache.cpp's kMaxEntries).
CREATE FUNCTION pg_temp.session_bytes() RETURNS bigint LANGUAGE sql AS $$
  SELECT sum(total_bytes)::bigint FROM pg_catalog.pg_backend_memory_contexts
   WHERE name NOT LIKE 'stocksync %'
     AND name NOT IN ('TopTransactionContext', 'PortalContext', 'MessageContext')
     AND parent NOT IN ('TopTransactionContext', 'PortalContext', 'ExecutorState', 'MessageContext')
$$;
-- The order-key locks this session holds (order.hpp: advisory, field 4 0x5353).
CREATE FUNCTION pg_temp.order_key_locks() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM pg_catalog.pg_locks
   WHERE pid = pg_catalog.pg_backend_pid() AND locktype = 'advisory' AND objsubid = 21331
$$;
-- One reservation of each path for order n: the fast path, the general path
-- (two lines; a bundle component), a batch of two, a replay and refusals.
CREATE FUNCTION pg_temp.reserve_all(n integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  s1 text := 'S-' || (n % 3000 + 1);
  s2 text := 'S-' || ((n + 1) % 3000 + 1);
  refused integer := 0;
BEGIN
  PERFORM stocksync.reserve('shop', 'f-' || n, s1, 1);
  PERFORM stocksync.reserve('shop', 'g-' || n, pg_catalog.jsonb_build_array(
      pg_catalog.jsonb_build_object('sku', s1, 'qty', 1), pg_catalog.jsonb_build_object('sku', s2, 'qty', 1)));
  PERFORM stocksync.reserve('shop', 'k-' || n, 'C', 1);
  PERFORM count(*) FROM stocksync.reserve_batch(pg_catalog.jsonb_build_array(
      pg_catalog.jsonb_build_object('channel', 'shop', 'order_ref', 'b-' || n, 'sku', s2, 'qty', 1),
      pg_catalog.jsonb_build_object('channel', 'shop', 'order_ref', 'c-' || n, 'sku', 'LOW', 'qty', 5)));
  PERFORM stocksync.reserve('shop', 'f-' || n, s1, 1);
  BEGIN
    PERFORM stocksync.reserve('shop', 'f-' || n, s1, 2);       -- SS006
  EXCEPTION WHEN OTHERS THEN refused := refused + 1;
  END;
  BEGIN
    PERFORM stocksync.reserve('shop', 'l-' || n, 'LOW', 5);    -- SS005
  EXCEPTION WHEN OTHERS THEN refused := refused + 1;
  END;
  BEGIN
    PERFORM stocksync.reserve('shop', 'u-' || n, 'NOPE', 1);   -- SS001
  EXCEPTION WHEN OTHERS THEN refused := refused + 1;
  END;
  RETURN refused;
END $$;

-- Every path ten times, so that plans and caches are in place (PL/pgSQL
-- keeps a statement's generic plan from its sixth run on).
SELECT sum(pg_temp.reserve_all(g)) AS refused FROM generate_series(2001, 2010) g;
SELECT pg_temp.session_bytes() AS session_start \gset

-- 300 rounds, each a statement of its own (an ERP's calls): the session's
-- memory stays where it was.
\set ECHO none
\o /dev/null
SELECT format('SELECT pg_temp.reserve_all(%s)', g) FROM generate_series(1, 300) g
\gexec
\o
\set ECHO all
SELECT pg_temp.session_bytes() - :session_start < 65536 AS session_memory_flat;

-- An import of 1,500 rounds in one transaction: no order-key lock is held
-- when a call has returned. Each was held to commit: 6,000 entries of the
-- shared lock table (90,000 ran it out with max_locks_per_transaction 256
-- and 200 connections), about 900 bytes of this backend's memory per lock
-- until the commit, and 1 MB kept after it (the local lock table does not
-- shrink).
BEGIN;
SELECT sum(pg_temp.reserve_all(g)) AS refused FROM generate_series(301, 1800) g;
SELECT pg_temp.order_key_locks() AS order_key_locks_held;
COMMIT;
SELECT pg_temp.session_bytes() - :session_start < 262144 AS session_memory_after_import;
SELECT count(*) AS orders, count(*) FILTER (WHERE order_ref LIKE 'g-%') AS general_path
  FROM stocksync.reservation;

SELECT count(*) AS differences FROM stocksync.verify_ledger();
DROP EXTENSION stocksync;
