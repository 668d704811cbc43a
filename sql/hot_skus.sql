-- Hot SKUs: the bucket strategy behind the same reserve/commit/release/
-- fulfill/return_items API, exact near the last units.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('HOT'), ('COLD'), ('PART'), ('KIT');
INSERT INTO stocksync.item (sku, kind) VALUES ('BOX', 'bundle');
INSERT INTO stocksync.bom (bundle_sku, component_sku, qty) VALUES ('BOX', 'PART', 2);
INSERT INTO stocksync.location (code) VALUES ('east');
INSERT INTO stocksync.channel (code, kind) VALUES ('shop', 'shopify'), ('amzn', 'amazon');
SELECT stocksync.receive('HOT', 100), stocksync.receive('COLD', 5), stocksync.receive('PART', 10);

-- Turning the strategy on: buckets beside the central row, nothing moved yet.
SELECT stocksync.set_hot('HOT', 4);
SELECT sku, location, buckets, lent, budget FROM stocksync.hot_sku;
SELECT sku, on_hand, reserved, available, version FROM stocksync.stock WHERE sku = 'HOT';

-- The first reservation finds every bucket dry: it refills one with an even
-- share of the central row's free units (100 / 4 = 25) and takes 3 of them.
SELECT shortage FROM stocksync.reserve('shop', 'H-1', 'HOT', 3);
SELECT sku, buckets, lent, budget FROM stocksync.hot_sku;
SELECT count(*) AS buckets_used, sum(lent) AS lent, sum(reserved) AS reserved FROM stocksync.stock_bucket WHERE reserved > 0 OR lent > 0;
-- The SKU's quantities are the central row plus its buckets, its version the sum.
SELECT sku, on_hand, reserved, available, version FROM stocksync.stock WHERE sku = 'HOT';
SELECT stocksync.available('HOT') AS available;
SELECT s.reserved AS central_reserved FROM stocksync.stock_level s WHERE s.sku = 'HOT';

-- Every verb works the same on a hot SKU.
SELECT stocksync.commit('shop', 'H-1');
SELECT shortage FROM stocksync.reserve('shop', 'H-2', 'HOT', 2, strategy => 'optimistic');
SELECT stocksync.release('shop', 'H-2');
SELECT stocksync.fulfill('shop', 'H-1');
SELECT stocksync.return_items('shop', 'H-1', '[{"sku": "HOT", "qty": 1}]', 'quality_control');
SELECT sku, on_hand, reserved, committed, quality_control, available FROM stocksync.stock WHERE sku = 'HOT';
-- A replay returns the first result and holds nothing more.
SELECT reservation_id AS first_id FROM stocksync.reserve('shop', 'H-3', 'HOT', 1) \gset
SELECT shortage, reservation_id = :first_id AS same_id FROM stocksync.reserve('shop', 'H-3', 'HOT', 1);
SELECT sku, reserved, available FROM stocksync.stock WHERE sku = 'HOT';

-- A goods receipt only adds units: the buckets keep their budgets. An
-- adjustment takes every bucket's unused budget back (its checks are exact
-- against the SKU's total).
SELECT stocksync.receive('HOT', 10) > 0 AS version_rose;
SELECT sku, buckets, budget FROM stocksync.hot_sku;
SELECT stocksync.adjust('HOT', -100, 'damaged in the flood');
SELECT sku, buckets, budget FROM stocksync.hot_sku;
SELECT sku, on_hand, reserved, available FROM stocksync.stock WHERE sku = 'HOT';

-- Near the last units: no false refusal, no oversell. 6 available: 4 + 2
-- succeed whichever buckets hold what, the seventh unit is refused.
SELECT shortage FROM stocksync.reserve('shop', 'L-1', 'HOT', 4);
SELECT shortage FROM stocksync.reserve('shop', 'L-2', 'HOT', 2);
SELECT stocksync.reserve('shop', 'L-3', 'HOT', 1);
SELECT shortage FROM stocksync.reserve('amzn', 'L-4', 'HOT', 2, on_shortage => 'record');
SELECT sku, available FROM stocksync.stock WHERE sku = 'HOT';
SELECT channel, order_ref, sku, qty, shortage FROM stocksync.oversold;
-- Expired holds go back through a bucket too.
UPDATE stocksync.reservation SET expires_at = now() - interval '1 second' WHERE order_ref IN ('L-1', 'L-2');
SELECT stocksync.expire_holds();
SELECT sku, reserved, available FROM stocksync.stock WHERE sku = 'HOT';

-- A recorded oversell is repaid first: units released afterwards go back to
-- the central pool, not to the bucket they are released into, so a checkout
-- that follows is refused while the SKU is still short.
SELECT stocksync.set_hot('COLD', 2);
SELECT shortage FROM stocksync.reserve('shop', 'C-1', 'COLD', 5);
SELECT shortage FROM stocksync.reserve('amzn', 'C-2', 'COLD', 4, on_shortage => 'record');
SELECT stocksync.release('amzn', 'C-2');
SELECT stocksync.reserve('shop', 'C-3', 'COLD', 1);
SELECT sku, reserved, available FROM stocksync.stock WHERE sku = 'COLD';
SELECT stocksync.set_hot('COLD', 0);

-- Turning it off folds the buckets into the central row, version still rising.
SELECT version AS before FROM stocksync.stock WHERE sku = 'HOT' \gset
SELECT stocksync.set_hot('HOT', 0);
SELECT count(*) AS buckets_left FROM stocksync.stock_bucket;
SELECT sku, on_hand, reserved, committed, quality_control, available, version > :before AS version_rose
  FROM stocksync.stock WHERE sku = 'HOT';
SELECT * FROM stocksync.verify_ledger();

-- A bundle's component may be hot; the bundle's quantity follows.
SELECT stocksync.set_hot('PART', 2);
SELECT shortage FROM stocksync.reserve('shop', 'B-1', 'BOX', 2);
SELECT sku, reserved, available FROM stocksync.stock WHERE sku = 'PART';
SELECT stocksync.available('PART') AS part_available;

-- Refusals.
SELECT stocksync.set_hot('NOPE');
SELECT stocksync.set_hot('BOX');
SELECT stocksync.set_hot('COLD', 4, 'nowhere');
SELECT stocksync.set_hot('COLD', 300);

-- Contention seen: nothing queues on COLD now, so nothing is promoted.
SELECT * FROM stocksync.promote_hot_skus();
-- The wait in each queue must be positive (0 would be no timeout at all),
-- and the caller's own lock_timeout is back after the call.
SELECT * FROM stocksync.promote_hot_skus(lock_wait => '0');
SET lock_timeout = '7s';
SELECT * FROM stocksync.promote_hot_skus(lock_wait => '2 seconds');
SHOW lock_timeout;
RESET lock_timeout;
-- A wait longer than lock_timeout can hold (about 24.8 days) is refused
-- naming lock_wait, not with lock_timeout's own 22023 about a setting the
-- caller never named.
SELECT * FROM stocksync.promote_hot_skus(lock_wait => '30 days');
SELECT * FROM stocksync.verify_ledger();

-- A column a user adds to channel changes nothing: the reservation paths
-- read only its key. (The fast path used to step aside then, and a hot
-- SKU's reservation failed because it could not claim a bucket.)
ALTER TABLE stocksync.channel ADD COLUMN region text;
SELECT stocksync.receive('COLD', 5);
SELECT stocksync.set_hot('COLD', 2);
SELECT shortage FROM stocksync.reserve('shop', 'COL-1', 'COLD', 1);
SELECT shortage FROM stocksync.reserve('shop', 'COL-2', 'HOT', 1);
ALTER TABLE stocksync.channel DROP COLUMN region;
SELECT shortage FROM stocksync.reserve('shop', 'COL-3', 'COLD', 1);
SELECT * FROM stocksync.verify_ledger();

-- A trigger of the user's on stock_bucket sees every change of a bucket,
-- whichever path and strategy reserves: the bucket claims then go through
-- SQL as well. (Direct claims on the general path used to pass it by.)
CREATE TABLE public.bucket_changes (reserved_delta integer);
CREATE FUNCTION public.note_bucket_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.bucket_changes VALUES (NEW.reserved - OLD.reserved); RETURN NEW; END $$;
CREATE TRIGGER note_bucket_change AFTER UPDATE ON stocksync.stock_bucket
    FOR EACH ROW EXECUTE FUNCTION public.note_bucket_change();
SELECT sum(reserved) AS bucket_reserved_before FROM stocksync.stock_bucket WHERE sku = 'COLD' \gset
SELECT shortage FROM stocksync.reserve('shop', 'TRG-1', 'COLD', 1);
SELECT shortage FROM stocksync.reserve('shop', 'TRG-2', 'COLD', 1, strategy => 'optimistic');
SELECT shortage FROM stocksync.reserve('shop', 'TRG-3', '[{"sku": "COLD", "qty": 1}]');
SELECT sum(reserved) - :bucket_reserved_before AS bucket_reserved_added,
       (SELECT coalesce(sum(reserved_delta), 0) FROM public.bucket_changes) AS seen_by_trigger
  FROM stocksync.stock_bucket WHERE sku = 'COLD';
DROP TRIGGER note_bucket_change ON stocksync.stock_bucket;
DROP FUNCTION public.note_bucket_change();
DROP TABLE public.bucket_changes;
SELECT * FROM stocksync.verify_ledger();
DROP EXTENSION stocksync;
