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

-- Every unit is explained by the ledger.
SELECT kind, sku, location, qty, d_on_hand, d_damaged, d_quality_control, d_safety_stock, d_incoming, reason, reference
  FROM stocksync.ledger ORDER BY id;
SELECT * FROM stocksync.verify_ledger();

DROP EXTENSION stocksync CASCADE;
