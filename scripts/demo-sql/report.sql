-- What the ledger says about one run, as one JSON value (psql -v hot=SKU).
-- Read by scripts/demo-kit/collect.py once every channel's orders are in.
SELECT json_build_object(
    -- Orders the ledger holds, per channel (the channels' own count is the simulator's).
    'orders', (SELECT json_object_agg(channel, n) FROM (
                  SELECT channel, count(*) AS n FROM stocksync.reservation GROUP BY channel) o),
    -- Units sold that were not there: marketplace and webhook orders are
    -- recorded even when short (on_shortage => 'record'), with the shortage.
    'oversold', (SELECT json_object_agg(channel, units) FROM (
                  SELECT channel, sum(shortage) AS units FROM stocksync.oversold
                   WHERE state NOT IN ('released', 'expired') GROUP BY channel) s),
    -- The hot SKU at the end: what is still available, what each channel's
    -- buffer keeps off it (never more than there is), and what the channels
    -- may show in all: when that is 0 and units are left, buffers (and
    -- Amazon's pool) left them unsold.
    'hot_available', (SELECT sum(available) FROM stocksync.stock WHERE sku = :'hot'),
    'hot_buffer', (SELECT json_object_agg(channel, least(buffer, greatest(available, 0)))
                     FROM stocksync.listing_target WHERE sku = :'hot'),
    'hot_desired', (SELECT sum(desired_qty) FROM stocksync.listing_target WHERE sku = :'hot'),
    -- Channel-side edits found by a reconciliation and pushed back.
    'drift_corrected', (SELECT json_object_agg(channel, n) FROM (
                  SELECT channel, count(*) AS n FROM stocksync.drift WHERE action = 'corrected' GROUP BY channel) d),
    'drift_escalated', (SELECT json_object_agg(channel, n) FROM (
                  SELECT channel, count(*) AS n FROM stocksync.drift WHERE action = 'escalated' GROUP BY channel) d),
    'reconcile_runs', (SELECT json_agg(json_build_object('channel', channel, 'listings', listings,
                              'in_agreement', in_agreement, 'corrected', corrected, 'escalated', escalated,
                              'unsettled', unsettled, 'error', error) ORDER BY id)
                         FROM stocksync.reconcile_run),
    'ledger_rows', (SELECT json_object_agg(kind, n) FROM (
                  SELECT kind, count(*) AS n FROM stocksync.ledger GROUP BY kind) k),
    'verify_ledger_differences', (SELECT count(*) FROM stocksync.verify_ledger()),
    'unmatched_orders', (SELECT count(*) FROM stocksync.unmatched_orders));
