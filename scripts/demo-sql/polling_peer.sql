-- The 15-minute polling peer: every channel in shadow mode. stocksync-worker
-- still records every order in the ledger (webhooks, polls) but pushes
-- nothing, so each channel keeps showing what it showed when the minute
-- began, as it would between two runs of a 15-minute sync job.
UPDATE stocksync.channel SET mode = 'shadow';
