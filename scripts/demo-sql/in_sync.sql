-- The sale starts on a shop that has been in sync for a while: every channel
-- already shows (the simulator's scenario starts each listing at it) and has
-- acknowledged its desired quantity. Recorded here the way stocksync-worker
-- records an acknowledgement, so that the worker starts with nothing to push
-- instead of spending the first 40 s re-sending 200 SKUs to Amazon at its
-- documented 5 calls a second. Both runs start from this state.
INSERT INTO stocksync.listing_state (channel, external_id, state, acked_qty, acked_version, acked_at, pushed_qty)
SELECT channel, external_id, 'acked', desired_qty, inputs_version, now(), desired_qty
  FROM stocksync.listing_target;
