#!/usr/bin/env bash
# A decoded change is never dropped because it was not visible yet: with
# synchronous_commit on, the walsender sends a commit as soon as it is
# flushed, before the committing backend leaves the ProcArray, so the worker
# can hear of a change before its own session can see it. On an idle worker,
# ~40 single changes, one at a time; each must reach the webhook consumer
# within 2 s (the full diff is 5 min away, so only the decoded change can
# bring it there).
. "$(dirname "$0")/lib.sh"
setup_db
psql -qX -v ON_ERROR_STOP=1 -d postgres -c "ALTER DATABASE $DB SET synchronous_commit = on" >/dev/null
[[ $(sql "SHOW synchronous_commit") == on ]] || fail "synchronous_commit is not on"
webhook_setup 1 erp
config_set sync full_diff_interval_ms 300000
start_worker
wait_until 20 converged erp || fail "start-up full diff did not converge"
log "idle and in sync; now 40 single changes, one at a time"

# shows_within SECONDS QTY: polls the consumer until it shows QTY.
shows_within() {
  local end=$(($(date +%s%N) + $1 * 1000000000))
  while (($(date +%s%N) < end)); do
    [[ $(sim_shown erp SKU-1) == "$2" ]] && return 0
    sleep 0.02
  done
  return 1
}

missed=0
for i in $(seq 40); do
  # Let the worker go idle again (no push, no mark pending), at varied phases.
  sleep "0.$((RANDOM % 3 + 1))"
  want=$(sql "SELECT stocksync.receive('SKU-1', 1); SELECT desired_qty FROM stocksync.listing_target WHERE channel = 'erp' AND external_id = 'SKU-1'" | tail -n 1)
  if ! shows_within 2 "$want"; then
    missed=$((missed + 1))
    log "change $i (quantity $want) did not reach the consumer within 2 s (shows $(sim_shown erp SKU-1))"
    # No resynchronising needed: the next change carries this one's quantity.
  fi
done
((missed == 0)) || fail "$missed of 40 decoded changes were not pushed within 2 s"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
