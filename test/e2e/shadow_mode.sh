#!/usr/bin/env bash
# Shadow mode pushes nothing and records everything. Two Standard Webhooks
# consumers; "shadow" is in mode 'shadow' from the start, "erp" is live:
# - while the ledger changes, the simulator sees no request at all for
#   "shadow" (no status, no call, no listing), every one of its listings is
#   recorded in stocksync.listing_state with state 'shadow' and pushed_qty =
#   the desired quantity (what would have been pushed), the metric
#   stocksync_shadow_recorded_total counts them, and "erp" converges;
# - switched to live, "shadow" converges (the recorded state is not taken for
#   an acknowledgement);
# - "erp" switched to shadow while running stops receiving pushes at once and
#   its records follow the ledger.
. "$(dirname "$0")/lib.sh"
NSKU=10
setup_db
webhook_setup $NSKU erp shadow
sql "UPDATE stocksync.channel SET mode = 'shadow' WHERE code = 'shadow'" >/dev/null

# shadow_recorded CHANNEL: every listing recorded as shadow at its desired quantity.
shadow_recorded() {
  [[ $(sql "SELECT count(*) FROM stocksync.listing_target t
              LEFT JOIN stocksync.listing_state s USING (channel, external_id)
             WHERE t.channel = '$1' AND (s.state IS DISTINCT FROM 'shadow' OR s.pushed_qty IS DISTINCT FROM t.desired_qty)") == 0 ]]
}
# untouched CHANNEL: the simulator saw no request for it.
untouched() {
  local n
  n=$(sim_stat "$1" "sum(c.get('statuses', {}).values()) + c.get('timeouts', 0) + sum(c.get('calls', {}).values()) + len(c.get('listings', []))")
  [[ $n == 0 ]] || fail "the simulator saw $n requests/listings for shadow-mode channel $1: $(curl -sf "$SIM_URL/_sim/channels/$1" | head -c 600)"
}

start_worker
wait_until 20 converged_only erp || fail "erp: no initial convergence"
wait_until 10 shadow_recorded shadow || fail "shadow: listings not recorded: $(sql "SELECT * FROM stocksync.listing_state WHERE channel = 'shadow'")"
untouched shadow
log "initial: erp converged, shadow recorded $NSKU listings and got no request"

steady_changes 100 3 $NSKU
changes 300 $NSKU
wait_until 20 converged_only erp || fail "erp did not converge under changes"
wait_until 10 shadow_recorded shadow || fail "shadow records do not follow the ledger: $(sql "SELECT s.external_id, s.state, s.pushed_qty, t.desired_qty FROM stocksync.listing_state s JOIN stocksync.listing_target t USING (channel, external_id) WHERE s.channel = 'shadow'")"
untouched shadow
[[ $(sql "SELECT count(*) FROM stocksync.sync_status WHERE channel = 'shadow' AND (acked_qty IS NOT NULL OR state <> 'shadow' OR channel_mode <> 'shadow')") == 0 ]] ||
  fail "sync_status shows shadow listings as acknowledged or not shadow: $(sql "SELECT * FROM stocksync.sync_status WHERE channel = 'shadow'")"
recorded=$(worker_metric stocksync_shadow_recorded_total 'channel="shadow"')
[[ $recorded != none ]] && ((recorded >= NSKU * 2)) || fail "stocksync_shadow_recorded_total{channel=\"shadow\"} is $recorded"
[[ $(worker_metric stocksync_pushes_total 'channel="shadow"') == 0 ]] || fail "stocksync_pushes_total{channel=\"shadow\"} is not 0"
log "after changes: erp converged, shadow recorded $recorded times and got no request"

log "shadow -> live"
sql "UPDATE stocksync.channel SET mode = 'live' WHERE code = 'shadow'" >/dev/null
wait_until 20 converged_only shadow erp || fail "the channel switched to live did not converge: $(sql "SELECT * FROM stocksync.sync_status WHERE channel = 'shadow' AND NOT (in_sync AND state = 'acked')")"

log "erp live -> shadow while running"
sql "UPDATE stocksync.channel SET mode = 'shadow' WHERE code = 'erp'" >/dev/null
wait_until 10 shadow_recorded erp || fail "erp not recorded as shadow after the switch"
req=$(sim_requests erp)
shown=$(sim_stat erp "sorted((l['id'], l['shown']) for l in c['listings'])")
changes 300 $NSKU
wait_until 20 converged_only shadow || fail "the live channel did not converge after the switch"
wait_until 10 shadow_recorded erp || fail "erp's shadow records do not follow the ledger"
[[ $(sim_requests erp) == "$req" ]] || fail "erp got $(( $(sim_requests erp) - req )) requests after it went to shadow mode"
[[ $(sim_stat erp "sorted((l['id'], l['shown']) for l in c['listings'])") == "$shown" ]] || fail "erp's listings changed in shadow mode"
log "erp in shadow: no request after the switch, records follow the ledger"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly"
log PASS
