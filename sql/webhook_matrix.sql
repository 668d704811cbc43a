-- Every webhook event against every order state, through every entry point.
-- Events: an order unpaid, paid, edited (other lines, paid), a cancel, a
-- refund with lines and one without; each delivered alone (ingest_webhook,
-- then replayed), in a group (ingest_webhook_orders) and twice in one group
-- under two event ids. States before it: none, tombstoned, reserved,
-- partly shipped without a commit, committed, partly fulfilled, fulfilled, released, expired, partly
-- fulfilled then expired, returned. Out of order deliveries are the states
-- (a cancel before its order is 'tombstoned', a payment after the unpaid
-- order 'reserved', an unpaid order after its payment 'committed').
-- Deliveries go through the worker's steps: a refusal (SS*, 22*) is kept with
-- record_webhook_refusal(), a group's deferred delivery is applied alone.
-- The test's functions use pg_catalog's operators in statements of several
-- lines: its own search_path, as sql/ledger_property.sql.
SET search_path = public, pg_catalog;
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('C');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('shop', 'v-a', 'A'), ('shop', 'v-b', 'B'), ('shop', 'v-c', 'C');
SELECT stocksync.receive('A', 1000), stocksync.receive('B', 1000), stocksync.receive('C', 1000);

-- The normalized event of a kind for an order.
CREATE FUNCTION ev(kind text, ref text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT CASE kind
    WHEN 'unpaid' THEN jsonb_build_object('action', 'order', 'channel', 'shop', 'order_ref', ref, 'paid', false, 'ttl_s', 86400,
                         'lines', '[{"ids": ["v-a"], "sku": "A", "qty": 2}, {"ids": ["v-b"], "sku": "B", "qty": 1}]'::jsonb)
    WHEN 'paid' THEN jsonb_build_object('action', 'order', 'channel', 'shop', 'order_ref', ref, 'paid', true, 'ttl_s', 86400,
                         'lines', '[{"ids": ["v-a"], "sku": "A", "qty": 2}, {"ids": ["v-b"], "sku": "B", "qty": 1}]'::jsonb)
    WHEN 'edited' THEN jsonb_build_object('action', 'order', 'channel', 'shop', 'order_ref', ref, 'paid', true, 'ttl_s', 86400,
                         'lines', '[{"ids": ["v-a"], "sku": "A", "qty": 2}, {"ids": ["v-c"], "sku": "C", "qty": 1}]'::jsonb)
    WHEN 'cancel' THEN jsonb_build_object('action', 'cancel', 'channel', 'shop', 'order_ref', ref)
    WHEN 'refund' THEN jsonb_build_object('action', 'refund', 'channel', 'shop', 'order_ref', ref, 'refund_ref', 'r-' || ref,
                         'lines', '[{"ids": ["v-a"], "sku": "A", "qty": 1}]'::jsonb)
    WHEN 'refund_nolines' THEN jsonb_build_object('action', 'refund', 'channel', 'shop', 'order_ref', ref, 'refund_ref', 'r-' || ref,
                         'lines', '[]'::jsonb)
  END $$;

-- One delivery as the worker applies it alone.
CREATE FUNCTION deliver(eid text, event jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  code text;
  msg text;
BEGIN
  RETURN stocksync.ingest_webhook('shop', eid, 'topic', event);
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  IF code NOT LIKE 'SS%' AND code NOT LIKE '22%' THEN
    RAISE;
  END IF;
  RETURN CASE WHEN stocksync.record_webhook_refusal('shop', eid, 'topic', event, code, msg) THEN 'kept ' || code ELSE 'duplicate' END;
END $$;

-- Order deliveries [[eid, event], ...] as the worker applies a group.
CREATE FUNCTION deliver_group(ds jsonb) RETURNS TABLE (eid text, outcome text) LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT g.ord, g.outcome, g.sqlstate
             FROM stocksync.ingest_webhook_orders((SELECT jsonb_agg(jsonb_build_object('source', 'shop', 'event_id', d -> 0, 'topic', 'topic', 'event', d -> 1) ORDER BY n)
                                                     FROM jsonb_array_elements(ds) WITH ORDINALITY x (d, n))) g
            ORDER BY g.ord LOOP
    eid := ds -> (r.ord - 1) ->> 0;
    outcome := CASE WHEN r.sqlstate IS NOT NULL THEN 'kept ' || r.sqlstate
                    WHEN r.outcome IS NULL THEN deliver(eid, ds -> (r.ord - 1) -> 1) || ' (alone)'
                    ELSE r.outcome END;
    RETURN NEXT;
  END LOOP;
END $$;

CREATE TABLE state (st text PRIMARY KEY, n int);
INSERT INTO state VALUES ('none', 1), ('tombstoned', 2), ('reserved', 3), ('soft_shipped', 4), ('committed', 5),
  ('partly_fulfilled', 6), ('fulfilled', 7), ('released', 8), ('expired', 9), ('partly_expired', 10), ('returned', 11);
CREATE TABLE kind (ev text PRIMARY KEY, n int, is_order boolean);
INSERT INTO kind VALUES ('unpaid', 1, true), ('paid', 2, true), ('edited', 3, true), ('cancel', 4, false),
  ('refund', 5, false), ('refund_nolines', 6, false);
CREATE TABLE cell AS
SELECT s.st, k.ev, e.entry, s.st || ':' || k.ev || ':' || e.entry AS ref, s.n * 10 + k.n AS sort
  FROM state s, kind k, (VALUES ('one'), ('grp'), ('two')) e (entry)
 WHERE k.is_order OR e.entry = 'one';

-- Each order brought to its state: the order unpaid (A 2, B 1), then as the state needs.
SELECT count(deliver('setup-c:' || ref, ev('cancel', ref))) FROM cell WHERE st = 'tombstoned';
SELECT count(deliver('setup-o:' || ref, ev(CASE WHEN st IN ('reserved', 'soft_shipped', 'released', 'expired', 'partly_expired') THEN 'unpaid' ELSE 'paid' END, ref)))
  FROM cell WHERE st NOT IN ('none', 'tombstoned');
SELECT count(stocksync.fulfill('shop', ref, '[{"sku": "A", "qty": 1}]')) FROM cell WHERE st IN ('soft_shipped', 'partly_fulfilled', 'partly_expired');
SELECT count(stocksync.fulfill('shop', ref)) FROM cell WHERE st IN ('fulfilled', 'returned');
SELECT count(stocksync.return_items('shop', ref)) FROM cell WHERE st = 'returned';
SELECT count(deliver('setup-x:' || ref, ev('cancel', ref))) FROM cell WHERE st = 'released';
UPDATE stocksync.reservation SET expires_at = now() - interval '1 second' WHERE order_ref IN (SELECT ref FROM cell WHERE st IN ('expired', 'partly_expired'));
SELECT stocksync.expire_holds() AS expired;
-- Every order is in the state its cell names.
SELECT c.st, r.state, count(*) FROM cell c LEFT JOIN stocksync.reservation r ON r.channel = 'shop' AND r.order_ref = c.ref
 GROUP BY 1, 2 ORDER BY min(c.sort);

-- Alone, then the same delivery again.
CREATE TABLE result (ref text PRIMARY KEY, first text, again text);
INSERT INTO result SELECT ref, deliver('e:' || ref, ev(ev, ref)) FROM cell WHERE entry = 'one' ORDER BY sort;
UPDATE result SET again = deliver('e:' || ref, ev(split_part(ref, ':', 2), ref));
-- In one group; and twice in one group, under two event ids.
INSERT INTO result SELECT split_part(g.eid, '|', 1), g.outcome
  FROM deliver_group((SELECT jsonb_agg(jsonb_build_array(ref, ev(ev, ref)) ORDER BY sort) FROM cell WHERE entry = 'grp')) g;
INSERT INTO result SELECT ref, min(g.outcome) FILTER (WHERE g.eid LIKE '%|1'), min(g.outcome) FILTER (WHERE g.eid LIKE '%|2')
  FROM deliver_group((SELECT jsonb_agg(jsonb_build_array(ref || '|' || i, ev(ev, ref)) ORDER BY sort, i)
                        FROM cell, generate_series(1, 2) i WHERE entry = 'two')) g
  JOIN cell ON ref = split_part(g.eid, '|', 1) GROUP BY ref;

-- What each order holds and shipped after it (from the ledger), its state and what is kept open.
CREATE VIEW after AS
SELECT c.st, c.ev, c.entry, c.sort, r.state,
       COALESCE((SELECT sum(l.d_reserved + l.d_committed) FROM stocksync.ledger l WHERE l.reservation_id = r.id), 0) AS held,
       COALESCE((SELECT -sum(l.d_on_hand) FROM stocksync.ledger l WHERE l.reservation_id = r.id), 0) AS shipped,
       (SELECT string_agg(e.reason || COALESCE(' ' || (e.detail ->> 'sqlstate'), ''), ',' ORDER BY e.id)
          FROM stocksync.inbound_exception e WHERE e.order_ref = c.ref AND e.resolved_at IS NULL) AS kept,
       EXISTS (SELECT 1 FROM stocksync.order_tombstone t WHERE t.order_ref = c.ref) AS tomb
  FROM cell c LEFT JOIN stocksync.reservation r ON r.channel = 'shop' AND r.order_ref = c.ref;

-- The matrix: outcome alone (then replayed), state, units held and shipped, what is kept.
SELECT a.st, a.ev, x.first AS outcome, x.again AS replay, a.state, a.held, a.shipped, a.kept, a.tomb
  FROM after a JOIN result x ON x.ref = a.st || ':' || a.ev || ':' || a.entry
 WHERE a.entry = 'one' ORDER BY a.sort;
-- In a group: the cells whose outcome or effect differs from the delivery alone (none).
SELECT a.st, a.ev, x.first AS group_outcome, a.state, a.held, a.shipped, a.kept, a.tomb
  FROM after a JOIN result x ON x.ref = a.st || ':' || a.ev || ':grp'
  JOIN after o ON o.st = a.st AND o.ev = a.ev AND o.entry = 'one' JOIN result y ON y.ref = o.st || ':' || o.ev || ':one'
 WHERE a.entry = 'grp' AND (replace(x.first, ' (alone)', ''), a.state, a.held, a.shipped, a.kept, a.tomb) IS DISTINCT FROM (y.first, o.state, o.held, o.shipped, o.kept, o.tomb)
 ORDER BY a.sort;
-- Twice in one group under two event ids: both outcomes and the effect.
SELECT a.st, a.ev, x.first AS first_id, x.again AS second_id, a.state, a.held, a.shipped, a.kept, a.tomb
  FROM after a JOIN result x ON x.ref = a.st || ':' || a.ev || ':two'
 WHERE a.entry = 'two' ORDER BY a.sort;

-- Two different deliveries of one new order, alone and in one group: the same outcomes.
CREATE TABLE pair (a text, b text, n int);
INSERT INTO pair VALUES ('unpaid', 'paid', 1), ('paid', 'unpaid', 2), ('unpaid', 'edited', 3), ('edited', 'paid', 4), ('paid', 'edited', 5);
CREATE TABLE pair_result AS
SELECT p.n, p.a, p.b, deliver('p1:' || p.n, ev(p.a, 'pair:' || p.n)) AS alone_1, deliver('p2:' || p.n, ev(p.b, 'pair:' || p.n)) AS alone_2
  FROM pair p ORDER BY p.n;
CREATE TABLE pair_group AS
SELECT * FROM deliver_group((SELECT jsonb_agg(jsonb_build_array(i || ':' || n, ev(CASE i WHEN 1 THEN a ELSE b END, 'pair-group:' || n)) ORDER BY n, i)
                               FROM pair, generate_series(1, 2) i));
SELECT r.a, r.b, r.alone_1, r.alone_2, g1.outcome AS group_1, g2.outcome AS group_2,
       (SELECT (x.state, x.skus, x.quantities)::text FROM stocksync.reservation x WHERE x.order_ref = 'pair:' || r.n) AS alone,
       (SELECT (x.state, x.skus, x.quantities)::text FROM stocksync.reservation x WHERE x.order_ref = 'pair-group:' || r.n) AS grouped
  FROM pair_result r JOIN pair_group g1 ON g1.eid = '1:' || r.n JOIN pair_group g2 ON g2.eid = '2:' || r.n
 ORDER BY r.n;

-- stock.updated: once, replayed, an older version after a newer one.
SELECT deliver('s1', '{"action": "set_on_hand", "sku": "C", "qty": 900, "version": 5}'),
       deliver('s1', '{"action": "set_on_hand", "sku": "C", "qty": 900, "version": 5}'),
       deliver('s0', '{"action": "set_on_hand", "sku": "C", "qty": 800, "version": 4}');

-- The stock is what the orders hold, and the ledger explains it.
SELECT s.sku, s.on_hand, s.reserved + s.committed AS held,
       (SELECT sum(l.d_reserved + l.d_committed) FROM stocksync.ledger l WHERE l.sku = s.sku AND l.reservation_id IS NOT NULL) AS held_by_orders
  FROM stocksync.stock s ORDER BY s.sku;
SELECT count(*) AS differences FROM stocksync.verify_ledger();

DROP VIEW after;
DROP TABLE state, kind, cell, result, pair, pair_result, pair_group;
DROP FUNCTION ev(text, text), deliver(text, jsonb), deliver_group(jsonb);
DROP EXTENSION stocksync;
RESET search_path;
