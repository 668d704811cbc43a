#!/usr/bin/env bash
# A paused channel costs the worker no reads: changes to its SKUs are decoded
# and resolve to nothing (no load of its listings, no request), and resuming
# it (a change to its channel row) brings every listing to the ledger's
# quantity without waiting for the periodic full diff.
. "$(dirname "$0")/lib.sh"
setup_db
webhook_setup 20 shop
config_set sync full_diff_interval_ms 300000
start_worker
wait_until 20 converged_only shop || fail "start-up full diff did not converge"

loads() { worker_metric stocksync_sync_db_seconds_count 'step="load"'; }
decoded() { worker_metric stocksync_transactions_decoded_total; }
quiet_for() {  # quiet_for SECONDS: the load count held still that long
  local n
  n=$(loads); sleep "$1"; [[ $(loads) == "$n" ]]
}

sql "UPDATE stocksync.channel SET mode = 'paused' WHERE code = 'shop'" >/dev/null
wait_until 10 quiet_for 0.5 || fail "the worker kept loading after the channel was paused"
loads_paused=$(loads)
requests_paused=$(sim_requests shop)
decoded_before=$(decoded)
log "paused: $loads_paused loads, $requests_paused requests so far; now 100 changes"
changes 100 20
wait_until 20 bash -c "(( \$(curl -sf $(metrics_url) | awk '/^stocksync_transactions_decoded_total /{print \$2}') >= $decoded_before + 100 ))" ||
  fail "the worker did not decode the 100 changes"
sleep 0.5  # rounds that follow the last decoded change
[[ $(loads) == "$loads_paused" ]] || fail "listings of the paused channel were loaded: $(loads) loads, $loads_paused before the changes"
[[ $(sim_requests shop) == "$requests_paused" ]] || fail "the paused channel received $(($(sim_requests shop) - requests_paused)) requests"

sql "UPDATE stocksync.channel SET mode = 'live' WHERE code = 'shop'" >/dev/null
wait_until 10 converged_only shop || fail "the resumed channel did not catch up within 10 s"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
