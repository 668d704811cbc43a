-- Orders polling and reconciliation, the SQL side: stocksync.reconcile()
-- adds a request for the worker, refuses unknown channels, and the tables and
-- views the worker fills (cursor, unmatched orders, runs, drift) read as
-- documented. Who may do what.
CREATE EXTENSION stocksync;
INSERT INTO stocksync.item (sku) VALUES ('A'), ('B');
INSERT INTO stocksync.channel (code, kind) VALUES ('eb', 'ebay'), ('shop', 'shopify');
INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('eb', 'A', 'A'), ('eb', 'B', 'B');
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;

-- A request per call, open until the worker takes it.
SELECT stocksync.reconcile('eb') AS first, stocksync.reconcile('eb') AS second;
SELECT id, channel, requested_by = session_user AS by_me, taken_at IS NULL AS open, run_id FROM stocksync.reconcile_request ORDER BY id;

\set VERBOSITY terse
SELECT stocksync.reconcile('nowhere');
SELECT stocksync.reconcile(NULL);
\set VERBOSITY default
SELECT pg_temp.try($$ SELECT stocksync.reconcile('nowhere') $$) AS unknown_channel,
       pg_temp.try($$ SELECT stocksync.reconcile(NULL) $$) AS null_channel;

-- retry_dead() and report_push_lag() refuse an unknown channel or a null the
-- same way (retry_dead answered 0 to a typo, report_push_lag failed with
-- 23503/23502/23514 from channel_rule's constraints).
\set VERBOSITY terse
SELECT stocksync.retry_dead('nowhere');
SELECT stocksync.report_push_lag('nowhere', '1 second');
SELECT stocksync.report_push_lag('eb', '-1 second');
\set VERBOSITY default
SELECT pg_temp.try($$ SELECT stocksync.retry_dead('nowhere') $$) AS retry_unknown,
       pg_temp.try($$ SELECT stocksync.retry_dead(NULL) $$) AS retry_null,
       pg_temp.try($$ SELECT stocksync.report_push_lag('nowhere', '1 second') $$) AS lag_unknown,
       pg_temp.try($$ SELECT stocksync.report_push_lag(NULL, '1 second') $$) AS lag_null,
       pg_temp.try($$ SELECT stocksync.report_push_lag('eb', NULL) $$) AS lag_null_p99,
       pg_temp.try($$ SELECT stocksync.report_push_lag('eb', '-1 second') $$) AS lag_negative;
SELECT stocksync.retry_dead('eb') AS revived;

-- What the worker writes, and what the views show.
INSERT INTO stocksync.reconcile_run (channel, trigger, finished_at, listings, in_agreement, drifted, corrected, escalated, accuracy)
VALUES ('eb', 'request', now(), 2, 0, 2, 1, 1, 0);
INSERT INTO stocksync.reconcile_run (channel, trigger, finished_at, listings, in_agreement, drifted, corrected, escalated, accuracy)
VALUES ('eb', 'schedule', now(), 2, 1, 1, 0, 1, 0.5);
INSERT INTO stocksync.reconcile_run (channel, trigger) VALUES ('eb', 'schedule');  -- running: not in the view
INSERT INTO stocksync.drift (run_id, channel, external_id, sku, shown_qty, acked_qty, desired_qty, drift, action)
VALUES (1, 'eb', 'A', 'A', 18, 20, 20, -2, 'corrected'), (1, 'eb', 'B', 'B', 2, 20, 20, -18, 'escalated');
SELECT channel, run_id, trigger, in_agreement, drifted, accuracy FROM stocksync.reconcile_accuracy;
SELECT channel, external_id, shown_qty, acked_qty, drift FROM stocksync.drift_escalated;
UPDATE stocksync.drift SET resolved_at = now() WHERE external_id = 'B';
SELECT count(*) AS escalated_open FROM stocksync.drift_escalated;

INSERT INTO stocksync.unmatched_order (channel, order_ref, status, lines, unknown_listings, problem)
VALUES ('eb', '01-1', 'paid', '[{"listing": "C", "qty": 1}]', '{C}', 'unknown listing');
SELECT channel, order_ref, status, unknown_listings, problem FROM stocksync.unmatched_orders;
INSERT INTO stocksync.order_poll_cursor (channel, polled_through) VALUES ('eb', '2026-11-22 10:00:00+00');

-- The catalog rejects what it cannot mean.
\set VERBOSITY terse
INSERT INTO stocksync.unmatched_order (channel, order_ref, status, lines, unknown_listings, problem)
VALUES ('eb', '01-2', 'shipped', '[]', '{}', 'x');
INSERT INTO stocksync.reconcile_run (channel, trigger) VALUES ('eb', 'cron');
INSERT INTO stocksync.drift (run_id, channel, external_id, sku, shown_qty, desired_qty, drift, action)
VALUES (1, 'eb', 'A', 'A', 1, 1, 0, 'ignored');
\set VERBOSITY default

-- A reader reads, a writer asks for a reconciliation, the worker writes.
CREATE ROLE stocksync_test_rec_reader IN ROLE stocksync_reader;
CREATE ROLE stocksync_test_rec_writer IN ROLE stocksync_writer;
CREATE ROLE stocksync_test_rec_worker IN ROLE stocksync_worker;
CREATE TEMP TABLE calls (call text);
GRANT SELECT ON calls TO PUBLIC;
INSERT INTO calls VALUES
    ($$ SELECT count(*) FROM stocksync.reconcile_accuracy, stocksync.drift_escalated, stocksync.unmatched_orders $$),
    ($$ SELECT stocksync.reconcile('eb') $$),
    ($$ UPDATE stocksync.order_poll_cursor SET rounds = rounds + 1 $$),
    ($$ UPDATE stocksync.reconcile_request SET taken_at = now() WHERE taken_at IS NULL $$),
    ($$ INSERT INTO stocksync.reconcile_run (channel, trigger) VALUES ('eb', 'request') $$);
SET ROLE stocksync_test_rec_reader;
SELECT call, pg_temp.try(call) FROM calls;
SET ROLE stocksync_test_rec_writer;
SELECT call, pg_temp.try(call) FROM calls;
SET ROLE stocksync_test_rec_worker;
SELECT call, pg_temp.try(call) FROM calls;
RESET ROLE;

DROP EXTENSION stocksync CASCADE;
DROP ROLE stocksync_test_rec_reader, stocksync_test_rec_writer, stocksync_test_rec_worker;
