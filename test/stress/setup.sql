-- The randomized stress run's catalog and its one step function. Every step
-- is one transaction doing one stocksync operation chosen at random; refusals
-- that are part of the contract (short stock, illegal transitions, replays
-- with other lines, optimistic give-ups) are caught and counted, anything
-- else (a deadlock, an internal error) fails the run.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) SELECT 'HOT-' || g FROM generate_series(1, 5) g;
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('amzn', 'amazon'), ('ebay', 'ebay');
SELECT count(stocksync.receive('HOT-' || g, :stock)) FROM generate_series(1, 5) g;
SELECT count(stocksync.receive('HOT-' || g, :stock / 2, 'east')) FROM generate_series(1, 5) g;
-- The hot modes put every SKU and location in the bucket strategy.
SELECT count(stocksync.set_hot('HOT-' || g, 4, l)) FROM generate_series(1, 5) g, unnest('{default,east}'::text[]) l
 WHERE :hot;

-- Counted per backend so that counting adds no row all clients queue on.
CREATE UNLOGGED TABLE stress_outcome (backend integer, outcome text, n bigint NOT NULL DEFAULT 0,
                                      PRIMARY KEY (backend, outcome));

CREATE FUNCTION stress_count(what text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO stress_outcome VALUES (pg_backend_pid(), what, 1)
        ON CONFLICT (backend, outcome) DO UPDATE SET n = stress_outcome.n + 1
$$;

-- The lines of order n are a function of n (a replay carries the same lines),
-- listed in an order that depends on the call (lock order must not matter).
CREATE FUNCTION stress_lines(n integer, flip integer) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(line ORDER BY CASE WHEN flip = 1 THEN -i ELSE i END)
      FROM (SELECT i, jsonb_build_object('sku', 'HOT-' || (1 + (n + i * 2) % 5), 'qty', 1 + (n + i) % 2,
                                         'location', CASE WHEN n % 4 = 0 THEN 'east' ELSE 'default' END) AS line
              FROM generate_series(0, n % 3) i) l
$$;

-- Five orders around n as one reserve_batch() argument.
CREATE FUNCTION stress_batch(n integer, flip integer) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_agg(jsonb_build_object('channel', (ARRAY['shop', 'amzn', 'ebay'])[1 + m % 3], 'order_ref', 'order-' || m,
                                        'lines', stress_lines(m, flip),
                                        'on_shortage', CASE WHEN m % 3 = 1 THEN 'record' ELSE 'reject' END))
      FROM (SELECT 1 + (n + k * 37) % 4000 AS m FROM generate_series(0, 4) k) x
$$;

CREATE FUNCTION stress_step(op integer, n integer, flip integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    channel text := (ARRAY['shop', 'amzn', 'ebay'])[1 + n % 3];
    order_ref text := 'order-' || n;
BEGIN
    CASE
        WHEN op <= 5 THEN
            PERFORM count(*) FROM stocksync.reserve_batch(stress_batch(n, flip),
                ttl => CASE WHEN n % 5 = 0 THEN interval '50 milliseconds' ELSE interval '10 minutes' END);
        WHEN op <= 40 THEN
            PERFORM stocksync.reserve(channel, order_ref, stress_lines(n, flip),
                                      ttl => CASE WHEN n % 5 = 0 THEN interval '50 milliseconds' ELSE interval '10 minutes' END,
                                      strategy => CASE WHEN flip = 1 THEN 'optimistic' ELSE 'pessimistic' END,
                                      on_shortage => CASE WHEN channel = 'amzn' THEN 'record' ELSE 'reject' END);
        WHEN op <= 55 THEN PERFORM stocksync.commit(channel, order_ref);
        WHEN op <= 65 THEN PERFORM stocksync.release(channel, order_ref);
        WHEN op <= 77 THEN PERFORM stocksync.fulfill(channel, order_ref);
        WHEN op <= 82 THEN PERFORM stocksync.return_items(channel, order_ref,
                                   to_state => (ARRAY['available', 'quality_control', 'damaged'])[1 + n % 3]);
        WHEN op <= 84 THEN PERFORM stocksync.extend(channel, order_ref, '5 minutes');
        WHEN op <= 90 THEN PERFORM stocksync.receive('HOT-' || (1 + n % 5), 1 + n % 4,
                                   CASE WHEN flip = 1 THEN 'east' ELSE 'default' END);
        WHEN op <= 92 THEN PERFORM stocksync.transfer('HOT-' || (1 + n % 5), 1,
                                   CASE WHEN flip = 1 THEN 'east' ELSE 'default' END,
                                   CASE WHEN flip = 1 THEN 'default' ELSE 'east' END);
        WHEN op <= 94 THEN PERFORM stocksync.move('HOT-' || (1 + n % 5), 1, 'available', 'quality_control');
        WHEN op <= 96 THEN PERFORM stocksync.move('HOT-' || (1 + n % 5), 1, 'quality_control', 'available');
        ELSE PERFORM stocksync.expire_holds(50);
    END CASE;
    PERFORM stress_count('ok');
EXCEPTION WHEN SQLSTATE 'SS004' OR SQLSTATE 'SS005' OR SQLSTATE 'SS006' OR SQLSTATE 'SS007'
            OR SQLSTATE 'SS008' OR SQLSTATE 'SS010' THEN
    PERFORM stress_count(SQLSTATE);
END $$;

-- Whether every line of an order fits what is available now.
CREATE FUNCTION drain_fits(lines jsonb) RETURNS boolean LANGUAGE sql AS $$
    SELECT bool_and(x.qty <= stocksync.available(x.sku, x.location))
      FROM (SELECT l->>'sku' AS sku, l->>'location' AS location, sum((l->>'qty')::integer) AS qty
              FROM jsonb_array_elements(lines) l GROUP BY 1, 2) x
$$;

-- The drain run: nothing ever raises available (no receipt, release, expiry
-- or return; commit and fulfil leave it as it is), so a refusal after which
-- the order fits what is available is a false refusal: stock was there.
CREATE FUNCTION drain_step(op integer, n integer, flip integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    channel text := (ARRAY['shop', 'amzn', 'ebay'])[1 + n % 3];
    order_ref text := 'order-' || n;
    lines jsonb := stress_lines(n, flip);
    r record;
BEGIN
    IF op <= 55 THEN
        PERFORM stocksync.reserve(channel, order_ref, lines,
                                  strategy => CASE WHEN flip = 1 THEN 'optimistic' ELSE 'pessimistic' END);
        PERFORM stress_count('ok');
    ELSIF op <= 80 THEN
        FOR r IN SELECT b.status, b.sqlstate, o.v->'lines' AS lines
                   FROM stocksync.reserve_batch(stress_batch(n, flip)) b
                   JOIN jsonb_array_elements(stress_batch(n, flip)) WITH ORDINALITY o (v, ord) ON o.ord = b.ord LOOP
            PERFORM stress_count(CASE WHEN r.sqlstate = 'SS005' AND drain_fits(r.lines) THEN 'false refusal'
                                      ELSE coalesce(r.sqlstate, r.status) END);
        END LOOP;
    ELSIF op <= 92 THEN
        PERFORM stocksync.commit(channel, order_ref);
        PERFORM stress_count('ok');
    ELSE
        PERFORM stocksync.fulfill(channel, order_ref);
        PERFORM stress_count('ok');
    END IF;
EXCEPTION
    WHEN SQLSTATE 'SS005' THEN
        PERFORM stress_count(CASE WHEN drain_fits(lines) THEN 'false refusal' ELSE SQLSTATE END);
    WHEN SQLSTATE 'SS006' OR SQLSTATE 'SS007' OR SQLSTATE 'SS008' OR SQLSTATE 'SS010' THEN
        PERFORM stress_count(SQLSTATE);
END $$;
