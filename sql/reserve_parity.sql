-- Differential test: reserve() and reserve_batch() give the same result.
-- One seeded random sequence of orders (one and several lines; plain, hot,
-- bundle and nested bundle SKUs; two locations, lines with and without one;
-- a channel with one channel_location row; duplicate SKUs in an order;
-- quantities that fit, exhaust and overflow; reject and record; pessimistic
-- and optimistic; replays with the same and with other lines; refusals:
-- unknown channel, SKU, location, a bundle E without a bill of materials,
-- paused P and discontinued D SKUs (held like any), qty <= 0) is
-- sent through reserve() into catalog "a" (SKUs a.*, channels a_*) and
-- through reserve_batch(), in batches of 1 to 8 orders, into the identical
-- catalog "b". Then every order's outcome, its stored reservation, its ledger
-- rows and the stock are compared; the output is only the differences.
-- Change the seed to explore.
-- The file's own functions use pg_catalog's operators in statements of
-- several lines: its search_path keeps test/trojan's trojans out of them.
SET search_path = public, pg_catalog;
CREATE EXTENSION stocksync;
SET client_min_messages = warning;
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.item (sku, kind)
SELECT p || '.' || s, k
  FROM (VALUES ('a'), ('b')) side (p),
       (VALUES ('A', 'simple'), ('B', 'simple'), ('C', 'simple'), ('H', 'simple'), ('P', 'simple'),
               ('D', 'simple'), ('K', 'bundle'), ('G', 'bundle'), ('E', 'bundle')) item (s, k);
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty)
SELECT p || '.' || b, p || '.' || c, q
  FROM (VALUES ('a'), ('b')) side (p),
       (VALUES ('K', 'A', 2), ('K', 'H', 1), ('G', 'K', 1), ('G', 'C', 3)) bom (b, c, q);
INSERT INTO stocksync.channel (code, kind)
SELECT p || '_' || c, 'shopify' FROM (VALUES ('a'), ('b')) side (p), (VALUES ('web'), ('amz')) ch (c);
INSERT INTO stocksync.channel_location VALUES ('a_amz', 'east'), ('b_amz', 'east');
SELECT count(*) AS received FROM (
  SELECT stocksync.receive(p || '.' || s, q, l)
    FROM (VALUES ('a'), ('b')) side (p),
         (VALUES ('A', 40, 'default'), ('A', 20, 'east'), ('B', 10, 'default'), ('B', 10, 'east'),
                 ('C', 30, 'default'), ('C', 6, 'east'), ('H', 50, 'default'), ('H', 20, 'east'),
                 ('P', 10, 'default'), ('D', 10, 'default')) r (s, q, l)) x;
SELECT count(*) AS hot FROM (
  SELECT stocksync.set_hot(p || '.H', 4, l) FROM (VALUES ('a'), ('b')) side (p), (VALUES ('default'), ('east')) loc (l)) x;
UPDATE stocksync.item SET status = 'paused' WHERE sku IN ('a.P', 'b.P');
UPDATE stocksync.item SET status = 'discontinued' WHERE sku IN ('a.D', 'b.D');

-- The orders, with SKUs and channels named without their side's prefix.
CREATE TABLE parity_order (i int PRIMARY KEY, grp int, channel text, order_ref text, lines jsonb,
                           on_shortage text, strategy text);
CREATE TABLE parity_result (side text, i int, status text, rid bigint, shortage int, sqlstate text,
                            PRIMARY KEY (side, i));

CREATE FUNCTION parity_pick(a text[]) RETURNS text LANGUAGE sql AS
  $$ SELECT a[1 + floor(random() * array_length(a, 1))::int] $$;

CREATE PROCEDURE parity_generate(n int) LANGUAGE plpgsql AS $$
DECLARE
  grp int := 0; left_in_grp int := 0; ch text; ref text; lines jsonb; line jsonb; k int; q int;
  prev parity_order; shortage text;
BEGIN
  FOR n_i IN 1 .. n LOOP
    IF left_in_grp = 0 THEN grp := grp + 1; left_in_grp := 1 + floor(random() * 8)::int; END IF;
    left_in_grp := left_in_grp - 1;
    ch := parity_pick('{web,web,amz,amz,amz,nochan}');
    ref := 'o' || n_i;
    lines := '[]';
    FOR j IN 1 .. CASE WHEN random() < 0.5 THEN 1 ELSE 2 + floor(random() * 3)::int END LOOP
      IF j > 1 AND random() < 0.2 THEN
        line := lines -> 0;   -- a duplicate SKU, at the same or another location
        IF random() < 0.5 THEN line := line - 'location'; END IF;
      ELSE
        line := jsonb_build_object('sku', parity_pick('{A,A,B,C,H,H,H,K,K,G,P,D,E,X}'));
        k := floor(random() * 20)::int;
        IF k < 8 THEN NULL;
        ELSIF k < 13 THEN line := line || '{"location": "default"}';
        ELSIF k < 19 THEN line := line || '{"location": "east"}';
        ELSE line := line || '{"location": "nowhere"}';
        END IF;
      END IF;
      k := floor(random() * 40)::int;
      q := CASE WHEN k = 0 THEN 0 WHEN k = 1 THEN -2 WHEN k < 32 THEN 1 + floor(random() * 4)::int
                ELSE 5 + floor(random() * 30)::int END;
      lines := lines || jsonb_build_array(line || jsonb_build_object('qty', q));
    END LOOP;
    shortage := parity_pick('{reject,reject,record}');
    IF n_i > 1 AND random() < 0.2 THEN  -- a replay of an earlier order
      k := CASE WHEN random() < 0.5 THEN greatest(1, n_i - 1 - floor(random() * 8)::int)  -- a quick retry
                ELSE 1 + floor(random() * (n_i - 1))::int END;
      SELECT * INTO prev FROM parity_order WHERE parity_order.i = k;
      ch := prev.channel;
      ref := prev.order_ref;
      IF random() < 0.6 THEN   -- the same lines, in another order
        SELECT jsonb_agg(e ORDER BY random()) INTO lines FROM jsonb_array_elements(prev.lines) e;
        IF random() < 0.5 THEN shortage := 'record'; END IF;  -- a marketplace order that happened
      END IF;
    END IF;
    INSERT INTO parity_order VALUES (n_i, grp, ch, ref, lines, shortage,
                                     parity_pick('{pessimistic,optimistic}'));
  END LOOP;
END $$;

-- The lines with the side's prefix on every SKU.
CREATE FUNCTION parity_lines(p text, lines jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_agg(e || jsonb_build_object('sku', p || '.' || (e->>'sku')) ORDER BY n)
    FROM jsonb_array_elements(lines) WITH ORDINALITY AS x (e, n)
$$;

-- Side a: each order through reserve(), the one-line form for one line.
-- That form's location defaults to 'default', not to the channel's own
-- location as a line without one (documented), so the caller names it.
CREATE PROCEDURE parity_run_reserve() LANGUAGE plpgsql AS $$
DECLARE
  o parity_order; r stocksync.reservation_result; ls jsonb; existed bool; st text;
BEGIN
  FOR o IN SELECT * FROM parity_order ORDER BY i LOOP
    ls := parity_lines('a', o.lines);
    existed := EXISTS (SELECT FROM stocksync.reservation v WHERE v.channel = 'a_' || o.channel AND v.order_ref = o.order_ref);
    BEGIN
      IF jsonb_array_length(ls) = 1 THEN
        r := stocksync.reserve('a_' || o.channel, o.order_ref, ls->0->>'sku', (ls->0->>'qty')::int, '1 hour',
                               COALESCE(ls->0->>'location', stocksync.order_line_location('a_' || o.channel, o.order_ref, ls->0->>'sku', (ls->0->>'qty')::int)),
                               o.strategy, o.on_shortage);
      ELSE
        r := stocksync.reserve('a_' || o.channel, o.order_ref, ls, '1 hour', o.strategy, o.on_shortage);
      END IF;
      INSERT INTO parity_result VALUES ('a', o.i, CASE WHEN existed THEN 'replayed' ELSE 'reserved' END,
                                        r.reservation_id, r.shortage, NULL);
    EXCEPTION WHEN others THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
      INSERT INTO parity_result VALUES ('a', o.i, 'refused', NULL, NULL, st);
    END;
  END LOOP;
END $$;

-- Side b: the same orders through reserve_batch(), a group per call.
CREATE PROCEDURE parity_run_batch() LANGUAGE plpgsql AS $$
DECLARE
  g int; orders jsonb; st text;
BEGIN
  FOR g IN SELECT DISTINCT grp FROM parity_order ORDER BY 1 LOOP
    SELECT jsonb_agg(CASE WHEN jsonb_array_length(o.lines) = 1
                          THEN parity_lines('b', o.lines)->0
                          ELSE jsonb_build_object('lines', parity_lines('b', o.lines)) END
                     || jsonb_build_object('channel', 'b_' || o.channel, 'order_ref', o.order_ref,
                                           'on_shortage', o.on_shortage) ORDER BY o.i)
      INTO orders FROM parity_order o WHERE o.grp = g;
    BEGIN
      INSERT INTO parity_result
      SELECT 'b', o.i, r.status, r.reservation_id, r.shortage, r.sqlstate
        FROM stocksync.reserve_batch(orders, '1 hour') r
        JOIN (SELECT i, row_number() OVER (ORDER BY i) AS ord FROM parity_order WHERE grp = g) o ON o.ord = r.ord;
    EXCEPTION WHEN others THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
      INSERT INTO parity_result SELECT 'b', i, 'batch raised', NULL, NULL, st FROM parity_order WHERE grp = g;
    END;
  END LOOP;
END $$;

SELECT setseed(0.55);
CALL parity_generate(400);
CALL parity_run_reserve();
CALL parity_run_batch();

-- Each side's stored reservations, ledger rows and stock, prefixes removed.
CREATE VIEW parity_reservation AS
SELECT left(v.channel, 1) AS side, substr(v.channel, 3) AS channel, v.order_ref, v.id, v.state,
       string_agg(format('%s@%s x%s short %s', substr(l.sku, 3), l.location, l.qty, l.shortage), ', '
                  ORDER BY l.sku, l.location) AS lines
  FROM stocksync.reservation v JOIN stocksync.reservation_line l ON l.reservation_id = v.id
 GROUP BY v.channel, v.order_ref, v.id, v.state;
CREATE VIEW parity_ledger AS
SELECT v.side, v.channel, v.order_ref,
       string_agg(format('%s %s@%s %s/%s', g.kind, substr(g.sku, 3), g.location, g.d_reserved, g.d_on_hand), ', '
                  ORDER BY g.kind, g.sku, g.location, g.d_reserved) AS rows
  FROM parity_reservation v JOIN stocksync.ledger g ON g.reservation_id = v.id
 GROUP BY v.side, v.channel, v.order_ref;

-- 1. outcomes per order
SELECT o.i, o.channel, o.order_ref, o.lines::text, o.on_shortage, o.strategy,
       a.status AS a_status, a.sqlstate AS a_sqlstate, a.shortage AS a_shortage,
       b.status AS b_status, b.sqlstate AS b_sqlstate, b.shortage AS b_shortage
  FROM parity_order o JOIN parity_result a ON a.side = 'a' AND a.i = o.i
  JOIN parity_result b ON b.side = 'b' AND b.i = o.i
 WHERE (a.status, a.sqlstate, a.shortage) IS DISTINCT FROM (b.status, b.sqlstate, b.shortage)
 ORDER BY o.i;
-- 2. a reserved or replayed order returns its stored reservation's id
SELECT r.side, r.i, r.status, r.rid, v.id AS stored_id
  FROM parity_result r JOIN parity_order o USING (i)
  LEFT JOIN parity_reservation v ON v.side = r.side AND v.channel = o.channel AND v.order_ref = o.order_ref
 WHERE r.status IN ('reserved', 'replayed') AND r.rid IS DISTINCT FROM v.id
 ORDER BY 2, 1;
-- 3. stored reservations
SELECT COALESCE(a.channel, b.channel) AS channel, COALESCE(a.order_ref, b.order_ref) AS order_ref,
       a.state AS a_state, a.lines AS a_lines, b.state AS b_state, b.lines AS b_lines
  FROM (SELECT * FROM parity_reservation WHERE side = 'a') a
  FULL JOIN (SELECT * FROM parity_reservation WHERE side = 'b') b USING (channel, order_ref)
 WHERE (a.state, a.lines) IS DISTINCT FROM (b.state, b.lines)
 ORDER BY 1, 2;
-- 4. ledger rows per order, and rows of no stored order
SELECT COALESCE(a.channel, b.channel) AS channel, COALESCE(a.order_ref, b.order_ref) AS order_ref,
       a.rows AS a_rows, b.rows AS b_rows
  FROM (SELECT * FROM parity_ledger WHERE side = 'a') a
  FULL JOIN (SELECT * FROM parity_ledger WHERE side = 'b') b USING (channel, order_ref)
 WHERE a.rows IS DISTINCT FROM b.rows
 ORDER BY 1, 2;
SELECT left(sku, 1) AS side, kind, count(*) AS rows_of_no_order
  FROM stocksync.ledger g
 WHERE kind <> 'RECEIVE' AND NOT EXISTS (SELECT FROM stocksync.reservation v WHERE v.id = g.reservation_id)
 GROUP BY 1, 2 ORDER BY 1, 2;
-- 5. stock per SKU and location
SELECT COALESCE(a.s, b.s) AS sku, COALESCE(a.location, b.location) AS location,
       a.available AS a_available, a.reserved AS a_reserved, b.available AS b_available, b.reserved AS b_reserved
  FROM (SELECT substr(sku, 3) AS s, * FROM stocksync.stock WHERE sku LIKE 'a.%') a
  FULL JOIN (SELECT substr(sku, 3) AS s, * FROM stocksync.stock WHERE sku LIKE 'b.%') b USING (s, location)
 WHERE (a.on_hand, a.reserved, a.committed, a.available) IS DISTINCT FROM (b.on_hand, b.reserved, b.committed, b.available)
 ORDER BY 1, 2;
-- 6. the projection is the ledger's sum
SELECT * FROM stocksync.verify_ledger();
-- coverage: what the sequence exercised (the same on both sides)
SELECT status, sqlstate, count(*) FROM parity_result WHERE side = 'a' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) FILTER (WHERE l.shortage > 0) > 0 AS some_short,
       count(*) FILTER (WHERE v.lines LIKE '%H@%') > 0 AS some_hot,
       count(*) FILTER (WHERE jsonb_array_length(o.lines) > 1) > 0 AS some_multi_line
  FROM parity_reservation v JOIN parity_order o ON o.channel = v.channel AND o.order_ref = v.order_ref
  JOIN stocksync.reservation_line l ON l.reservation_id = v.id
 WHERE v.side = 'a';
-- orders retried in the batch that refused their key earlier, and how they fared
SELECT r.status, count(*) AS retried_in_batch
  FROM parity_order o
  JOIN parity_result r ON r.side = 'a' AND r.i = o.i
 WHERE EXISTS (SELECT FROM parity_order p JOIN parity_result f ON f.side = 'a' AND f.i = p.i AND f.status = 'refused'
                WHERE p.grp = o.grp AND p.i < o.i AND p.channel = o.channel AND p.order_ref = o.order_ref)
 GROUP BY 1 ORDER BY 1;

DROP VIEW parity_ledger, parity_reservation;
DROP PROCEDURE parity_generate(int), parity_run_reserve(), parity_run_batch();
DROP FUNCTION parity_pick(text[]), parity_lines(text, jsonb);
DROP TABLE parity_order, parity_result;
DROP EXTENSION stocksync CASCADE;
RESET search_path;
