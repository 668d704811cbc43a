-- Stock movements that are not orders, and the ledger rows that explain them.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('MUG'), ('CAP');
INSERT INTO stocksync.location (code) VALUES ('berlin');

-- receive: a goods receipt; the version rises on every change.
SELECT stocksync.receive('MUG', 10, reference => 'PO-100');
SELECT stocksync.receive('MUG', 5);
-- expect, then receive against it: incoming goes down, never below zero.
SELECT stocksync.expect('CAP', 8, reference => 'PO-200');
SELECT stocksync.receive('CAP', 5, reference => 'PO-200', from_incoming => true);
SELECT stocksync.receive('CAP', 5, reference => 'PO-200', from_incoming => true);
SELECT sku, on_hand, incoming, available, version FROM stocksync.stock ORDER BY sku;

-- adjust: a correction with a reason; the damaged part of on_hand too.
SELECT stocksync.adjust('MUG', -2, 'shrinkage');
SELECT stocksync.move('MUG', 3, 'available', 'damaged', reason => 'dropped pallet');
SELECT stocksync.adjust('MUG', -1, 'written off', state => 'damaged');
SELECT sku, on_hand, damaged, available FROM stocksync.stock WHERE sku = 'MUG';

-- move between the non-sellable states and back.
SELECT stocksync.move('MUG', 2, 'damaged', 'quality_control');
SELECT stocksync.move('MUG', 1, 'quality_control', 'available');
SELECT stocksync.move('MUG', 2, 'available', 'safety_stock');
SELECT sku, on_hand, damaged, quality_control, safety_stock, available FROM stocksync.stock WHERE sku = 'MUG';

-- cycle_count: the counted figure replaces on_hand via an ADJUST of the difference.
SELECT stocksync.cycle_count('MUG', 9);
SELECT stocksync.cycle_count('MUG', 9);
SELECT stocksync.cycle_count('CAP', 12, 'annual stocktake');

-- transfer between locations.
SELECT stocksync.transfer('CAP', 4, 'default', 'berlin', reference => 'T-1');
SELECT sku, location, on_hand, available FROM stocksync.stock WHERE sku = 'CAP' ORDER BY location;

-- set_on_hand: absolute figures from an ERP, applied only when newer.
SELECT stocksync.set_on_hand('CAP', 20, 'erp', 7);
SELECT stocksync.set_on_hand('CAP', 1, 'erp', 6);   -- older: ignored
SELECT stocksync.set_on_hand('CAP', 1, 'erp', 7);   -- replay: ignored
SELECT stocksync.set_on_hand('CAP', 3, 'wms', 1);   -- another source has its own versions
SELECT stocksync.set_on_hand('CAP', 6, 'erp', 9, location => 'berlin');  -- per location
SELECT sku, location, on_hand FROM stocksync.stock WHERE sku = 'CAP' ORDER BY location;
SELECT sku, location, source, version FROM stocksync.source_version ORDER BY location, source;

-- A count below what is damaged or in quality control: the units found
-- missing beyond the good ones were among those (damaged first), so that none
-- is left above what is on hand and blocks the units received later.
INSERT INTO stocksync.item (sku) VALUES ('VASE');
SELECT stocksync.receive('VASE', 20);
SELECT stocksync.move('VASE', 12, 'available', 'damaged'), stocksync.move('VASE', 4, 'available', 'quality_control');
SELECT stocksync.cycle_count('VASE', 18, 'stocktake');   -- 2 of the 4 good ones missing: only on_hand falls
SELECT sku, on_hand, damaged, quality_control, available FROM stocksync.stock WHERE sku = 'VASE';
SELECT stocksync.cycle_count('VASE', 10, 'stocktake');   -- 8 more: the other 2 good ones and 6 damaged ones
SELECT sku, on_hand, damaged, quality_control, available FROM stocksync.stock WHERE sku = 'VASE';
SELECT stocksync.set_on_hand('VASE', 3, 'erp', 1);       -- 7 more: the last 6 damaged ones and 1 in quality control
SELECT sku, on_hand, damaged, quality_control, available FROM stocksync.stock WHERE sku = 'VASE';
SELECT stocksync.receive('VASE', 5);
SELECT sku, on_hand, damaged, quality_control, available FROM stocksync.stock WHERE sku = 'VASE';
-- Good units lost: never more than there are beside the damaged ones.
SELECT stocksync.adjust('VASE', -6, 'shrinkage');
-- Safety stock is a setting and may be more than the good units left after a
-- loss; moving it to damaged or quality control takes only good units, so
-- neither is left above on_hand.
INSERT INTO stocksync.item (sku) VALUES ('JUG');
SELECT stocksync.receive('JUG', 10), stocksync.move('JUG', 8, 'available', 'safety_stock');
SELECT stocksync.adjust('JUG', -5, 'shrinkage');
SELECT stocksync.move('JUG', 8, 'safety_stock', 'damaged');
SELECT stocksync.move('JUG', 6, 'safety_stock', 'quality_control');
SELECT stocksync.move('JUG', 5, 'safety_stock', 'damaged');
SELECT stocksync.move('JUG', 3, 'safety_stock', 'available');
SELECT sku, on_hand, damaged, quality_control, safety_stock, available FROM stocksync.stock WHERE sku = 'JUG';

-- Every unit is explained by the ledger.
SELECT kind, sku, location, qty, d_on_hand, d_damaged, d_quality_control, d_safety_stock, d_incoming, reason, reference
  FROM stocksync.ledger ORDER BY id;
SELECT * FROM stocksync.verify_ledger();

-- Quantities that would not fit an integer: refused with SS004 naming the SKU
-- (not PostgreSQL's 22003, nor a wrapped figure reported as a shortage), and
-- nothing is written.
\i sql/include/try.sql
INSERT INTO stocksync.item (sku) VALUES ('BIG'), ('HOTBIG');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify');
SELECT stocksync.receive('BIG', 2147483640), stocksync.receive('BIG', 2147483000, 'berlin'),
       stocksync.expect('BIG', 2147483640);
SELECT shortage FROM stocksync.reserve('shop', 'big-1', 'BIG', 10);
-- A hot SKU: the held units are its central row plus its buckets.
SELECT stocksync.receive('HOTBIG', 5), stocksync.set_hot('HOTBIG', 2);
SELECT shortage FROM stocksync.reserve('shop', 'big-2', 'HOTBIG', 3);
-- Units held (reserved, committed, damaged, quality control, safety stock)
-- must fit together too: available is on_hand less all of them.
INSERT INTO stocksync.item (sku) VALUES ('HELD');
SELECT stocksync.receive('HELD', 5);
SELECT shortage FROM stocksync.reserve('shop', 'held-1', 'HELD', 2147483647, on_shortage => 'record');
SELECT stocksync.commit('shop', 'held-1'), stocksync.commit('shop', 'big-2');
SELECT count(*) AS ledger_rows_before FROM stocksync.ledger \gset
SELECT pg_temp.try($$ SELECT stocksync.receive('BIG', 8) $$);
SELECT pg_temp.try($$ SELECT stocksync.expect('BIG', 8) $$);
SELECT pg_temp.try($$ SELECT stocksync.adjust('BIG', 8, 'found') $$);
SELECT pg_temp.try($$ SELECT stocksync.adjust('BIG', 2147483647, 'found', state => 'damaged') $$);
SELECT pg_temp.try($$ SELECT stocksync.adjust('BIG', -2147483648, 'lost', 'berlin') $$);
SELECT pg_temp.try($$ SELECT stocksync.transfer('BIG', 1000, 'berlin', 'default') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'big-3', 'BIG', 2147483647, on_shortage => 'record') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'big-4', 'HOTBIG', 2147483647, on_shortage => 'record') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'big-5', 'HOTBIG', 2147483646, on_shortage => 'record') $$);
SELECT pg_temp.try($$ SELECT stocksync.reserve('shop', 'held-2', 'HELD', 1, on_shortage => 'record') $$);
SELECT pg_temp.try($$ SELECT stocksync.adjust('HELD', 1, 'found', state => 'damaged') $$);
SELECT count(*) - :ledger_rows_before AS new_ledger_rows FROM stocksync.ledger;
SELECT order_ref FROM stocksync.reservation WHERE order_ref LIKE 'big-%' OR order_ref LIKE 'held-%' ORDER BY order_ref;
SELECT sku, location, on_hand, reserved, committed, incoming, available FROM stocksync.stock
 WHERE sku IN ('BIG', 'HOTBIG', 'HELD')
 ORDER BY sku, location;
SELECT * FROM stocksync.verify_ledger();

DROP EXTENSION stocksync CASCADE;
