-- Invariants after the stress run; each query returns the rows that break one.
\echo -- outcomes of the steps
SELECT outcome, sum(n) AS n FROM stress_outcome GROUP BY outcome ORDER BY outcome;
\echo -- the projection differs from the ledger
SELECT * FROM stocksync.verify_ledger();
\echo -- reserved and committed differ from the open order lines that hold them
WITH held AS (
    SELECT sku, location,
           sum(qty - fulfilled) FILTER (WHERE state = 'reserved') AS reserved,
           sum(qty - fulfilled) FILTER (WHERE state = 'committed') AS committed
      FROM stocksync.reservation_line GROUP BY sku, location)
SELECT s.sku, s.location, s.reserved, h.reserved AS held_reserved, s.committed, h.committed AS held_committed
  FROM stocksync.stock s LEFT JOIN held h USING (sku, location)
 WHERE s.reserved <> coalesce(h.reserved, 0) OR s.committed <> coalesce(h.committed, 0);
\echo -- negative available not explained by recorded oversells of orders still holding or shipped
-- (a shipped oversold order took its units from on_hand: the shortage it
-- recorded stays in available until stock is received)
WITH short AS (
    SELECT sku, location, sum(shortage) AS shortage FROM stocksync.reservation_line
     WHERE state IN ('reserved', 'committed', 'fulfilled') GROUP BY sku, location)
SELECT s.sku, s.location, s.available, coalesce(o.shortage, 0) AS recorded_shortage
  FROM stocksync.stock s LEFT JOIN short o USING (sku, location)
 WHERE s.available < 0 AND -s.available > coalesce(o.shortage, 0);
\echo -- a checkout (reject) order that was recorded short
SELECT channel, order_ref, sku, shortage FROM stocksync.reservation_line WHERE channel <> 'amzn' AND shortage > 0;
\echo -- a refusal while the order fitted what was available (drain run)
SELECT outcome, sum(n) AS n FROM stress_outcome WHERE outcome = 'false refusal' GROUP BY outcome;
