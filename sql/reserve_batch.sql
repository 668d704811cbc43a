-- reserve_batch(): many orders in one call, each all lines or none, decided
-- on its own in the given order, idempotent per (channel, order_ref).
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B'), ('HOT');
INSERT INTO stocksync.item (sku, kind) VALUES ('PAIR', 'bundle');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('PAIR', 'A', 2);
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('amzn', 'amazon');
SELECT stocksync.receive('A', 5), stocksync.receive('B', 2), stocksync.receive('HOT', 50);
SELECT stocksync.set_hot('HOT', 4);

SELECT ord, channel, order_ref, status, shortage, sqlstate, message, expires_at = now() + interval '15 minutes' AS ttl
  FROM stocksync.reserve_batch($$[
    {"channel": "shop", "order_ref": "1", "sku": "A", "qty": 2},
    {"channel": "shop", "order_ref": "2", "lines": [{"sku": "B", "qty": 2}, {"sku": "A", "qty": 1}]},
    {"channel": "shop", "order_ref": "3", "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]},
    {"channel": "shop", "order_ref": "4", "sku": "A", "qty": 2},
    {"channel": "shop", "order_ref": "1", "sku": "A", "qty": 2},
    {"channel": "shop", "order_ref": "1", "sku": "A", "qty": 1},
    {"channel": "amzn", "order_ref": "5", "sku": "A", "qty": 3, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "6", "sku": "HOT", "qty": 20},
    {"channel": "shop", "order_ref": "7", "sku": "HOT", "qty": 20},
    {"channel": "shop", "order_ref": "8", "sku": "PAIR", "qty": 1},
    {"channel": "nope", "order_ref": "9", "sku": "A", "qty": 1},
    {"channel": "shop", "order_ref": "10", "sku": "ZZZ", "qty": 1},
    {"channel": "shop", "order_ref": "11", "sku": "A", "qty": 0},
    {"channel": "shop", "order_ref": "12", "sku": "A", "qty": "two"},
    {"channel": "shop", "order_ref": "13", "sku": "A", "qty": 1, "location": "moon"},
    {"channel": "shop", "sku": "A", "qty": 1},
    {"channel": "shop", "order_ref": "14", "lines": []},
    "not an order",
    {"channel": "shop", "order_ref": "15", "sku": "A", "qty": 1, "on_shortage": "maybe"}
  ]$$);

-- Refused orders wrote nothing: only the reserved ones are stored.
SELECT channel, order_ref, state, skus, quantities, shortages FROM stocksync.reservation ORDER BY id;
SELECT sku, reserved, available FROM stocksync.stock ORDER BY sku;
SELECT channel, order_ref, sku, qty, shortage FROM stocksync.oversold;

-- The same batch again: every reserved order is a replay with its first
-- result, the refused ones are evaluated afresh (and refused again).
SELECT ord, order_ref, status, shortage, sqlstate
  FROM stocksync.reserve_batch($$[
    {"channel": "shop", "order_ref": "1", "sku": "A", "qty": 2},
    {"channel": "shop", "order_ref": "4", "sku": "A", "qty": 2},
    {"channel": "amzn", "order_ref": "5", "sku": "A", "qty": 3},
    {"channel": "shop", "order_ref": "6", "sku": "HOT", "qty": 20},
    {"channel": "shop", "order_ref": "6", "sku": "HOT", "qty": 21}
  ]$$);
SELECT r.id = b.reservation_id AS same_reservation
  FROM stocksync.reservation r
  JOIN stocksync.reserve_batch('[{"channel": "shop", "order_ref": "6", "sku": "HOT", "qty": 20}]') b
    ON b.order_ref = r.order_ref;
SELECT sku, reserved, available FROM stocksync.stock ORDER BY sku;

-- The hot SKU's last units: a batch takes what is there, exactly.
SELECT ord, status, sqlstate FROM stocksync.reserve_batch($$[
    {"channel": "shop", "order_ref": "h1", "sku": "HOT", "qty": 9},
    {"channel": "shop", "order_ref": "h2", "sku": "HOT", "qty": 2},
    {"channel": "shop", "order_ref": "h3", "sku": "HOT", "qty": 1}
  ]$$);
SELECT sku, reserved, available FROM stocksync.stock WHERE sku = 'HOT';

-- Orders from a batch are ordinary orders.
SELECT stocksync.commit('shop', '1'), stocksync.release('shop', '6'), stocksync.fulfill('shop', '1');
SELECT sku, on_hand, reserved, committed, available FROM stocksync.stock ORDER BY sku;

-- Whole-call errors.
SELECT * FROM stocksync.reserve_batch('{"channel": "shop"}');
SELECT * FROM stocksync.reserve_batch('[]', ttl => '0 seconds');
SELECT * FROM stocksync.reserve_batch('[]', on_shortage => 'maybe');
SELECT count(*) FROM stocksync.reserve_batch('[]');
SELECT * FROM stocksync.verify_ledger();

-- Refused order by order, the others going through: lines of one SKU that
-- add up to more than an integer holds (merged, or a bundle's components
-- multiplied out), a bundle without components, and an order that would take
-- a SKU's total in the batch past an integer (orders recorded short take
-- more than there is).
INSERT INTO stocksync.item (sku, kind) VALUES ('EMPTYKIT', 'bundle'), ('TRIPLE', 'bundle'), ('C', 'simple');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('TRIPLE', 'B', 3);
SELECT stocksync.receive('C', 5);
SELECT ord, order_ref, status, shortage, sqlstate, message FROM stocksync.reserve_batch($$[
    {"channel": "shop", "order_ref": "big-1", "on_shortage": "record",
     "lines": [{"sku": "B", "qty": 999999999}, {"sku": "B", "qty": 999999999}, {"sku": "B", "qty": 999999999}]},
    {"channel": "shop", "order_ref": "big-2", "sku": "TRIPLE", "qty": 999999999, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "kit-1", "lines": [{"sku": "C", "qty": 1}, {"sku": "EMPTYKIT", "qty": 1}]},
    {"channel": "shop", "order_ref": "big-3", "sku": "B", "qty": 999999999, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "big-4", "sku": "B", "qty": 999999999, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "big-5", "sku": "B", "qty": 999999999, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "small", "sku": "C", "qty": 1}
  ]$$);
SELECT order_ref, quantities, shortages FROM stocksync.reservation WHERE order_ref ~ '^(big|kit|small)' ORDER BY order_ref;
SELECT sku, reserved, available FROM stocksync.stock WHERE sku IN ('B', 'C') ORDER BY sku;
SELECT * FROM stocksync.verify_ledger();
-- An order recorded short that would take a SKU's reserved past an integer
-- counting what earlier calls hold (plain, and hot: its central row plus its
-- buckets) is refused on its own too; the others go through.
INSERT INTO stocksync.item (sku) VALUES ('HOTB');
SELECT stocksync.receive('HOTB', 5), stocksync.set_hot('HOTB', 2);
SELECT status, shortage FROM stocksync.reserve_batch($$[
    {"channel": "shop", "order_ref": "hot-1", "sku": "HOTB", "qty": 2147482000, "on_shortage": "record"}]$$);
SELECT ord, order_ref, status, shortage, sqlstate, message FROM stocksync.reserve_batch($$[
    {"channel": "shop", "order_ref": "big-6", "sku": "B", "qty": 999999999, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "hot-2", "sku": "HOTB", "qty": 1000, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "hot-3", "sku": "HOTB", "qty": 700, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "small-2", "sku": "C", "qty": 1}
  ]$$);
SELECT order_ref, quantities, shortages FROM stocksync.reservation WHERE order_ref ~ '^(big-6|hot|small-2)' ORDER BY order_ref;
SELECT sku, reserved, available FROM stocksync.stock WHERE sku IN ('B', 'C', 'HOTB') ORDER BY sku;
SELECT * FROM stocksync.verify_ledger();
-- An order_ref longer than an index entry holds is refused on its own (SS009,
-- naming its first bytes), not the whole batch; 1,000 bytes is still accepted.
SELECT ord, status, sqlstate, message FROM stocksync.reserve_batch(pg_catalog.jsonb_build_array(
    pg_catalog.jsonb_build_object('channel', 'shop', 'order_ref',
        (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 100) i), 'sku', 'C', 'qty', 1),
    pg_catalog.jsonb_build_object('channel', 'shop', 'order_ref', repeat('é', 500), 'sku', 'C', 'qty', 1),
    pg_catalog.jsonb_build_object('channel', 'shop', 'order_ref', 'small-3', 'sku', 'C', 'qty', 1)));
SELECT octet_length(order_ref) AS order_ref_bytes, quantities FROM stocksync.reservation
 WHERE octet_length(order_ref) > 100 OR order_ref = 'small-3' ORDER BY 1;

-- A refused order retried in the same batch is decided afresh, as reserve()
-- decides a retry (it shared the first refusal: SS005 for r1 with 'record',
-- SS006 for r2 with other lines); a third delivery replays the second.
SELECT ord, order_ref, status, shortage, sqlstate FROM stocksync.reserve_batch($$[
    {"channel": "shop", "order_ref": "r1", "sku": "B", "qty": 5},
    {"channel": "shop", "order_ref": "r1", "sku": "B", "qty": 5, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "r2", "sku": "B", "qty": 6},
    {"channel": "shop", "order_ref": "r2", "sku": "B", "qty": 1, "on_shortage": "record"},
    {"channel": "shop", "order_ref": "r2", "sku": "B", "qty": 1}
  ]$$);
SELECT order_ref, quantities, shortages FROM stocksync.reservation WHERE order_ref IN ('r1', 'r2') ORDER BY 1;
SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync;
