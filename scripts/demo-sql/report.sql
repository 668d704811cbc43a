\pset footer off
\echo
\echo 'Orders per channel'
SELECT channel, count(*) AS orders, count(*) FILTER (WHERE outcome = 'held') AS held,
       count(*) FILTER (WHERE outcome = 'recorded short') AS recorded_short,
       count(*) FILTER (WHERE outcome LIKE 'refused%') AS refused,
       count(*) FILTER (WHERE outcome LIKE 'not offered%') AS not_offered, sum(replays) AS replayed_webhooks
  FROM demo_attempt GROUP BY channel ORDER BY channel;
\echo 'The hot SKU: every unit accounted for'
SELECT sku, location, on_hand, reserved, committed, available, version FROM stocksync.stock WHERE sku = 'HOODIE-BF';
\echo 'Oversold marketplace lines (orders that happened on the channel before stocksync heard of them)'
SELECT channel, count(*) AS orders, sum(shortage) AS units_short FROM stocksync.oversold GROUP BY channel ORDER BY channel;
\echo 'Reservations by state'
SELECT state, count(*) AS orders, sum(qty) AS units FROM stocksync.reservation_line GROUP BY state ORDER BY state;
\echo 'Ledger rows by kind'
SELECT kind, count(*) AS rows, sum(qty) AS units FROM stocksync.ledger GROUP BY kind ORDER BY kind;
\echo 'verify_ledger(): differences between the ledger and the projection (none expected)'
SELECT count(*) AS differences FROM stocksync.verify_ledger();
