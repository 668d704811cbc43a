#!/usr/bin/env bash
# The slot lost: the worker notices within one reconnect, recreates the slot,
# runs a full diff, converges, and says so in the log and a metric.
#
# (a) Dropped by hand: the walsender is terminated (pg_terminate_backend)
#     and the slot dropped while the worker waits to reconnect; changes are
#     committed while there is no slot (no replication stream will ever carry
#     them). The periodic full diff is set to 10 minutes, so only the diff
#     that follows the slot's recreation can find them.
# (b) Invalidated by max_slot_wal_keep_size (set to 16MB for the test and
#     reset at exit): the worker is stopped (SIGSTOP), changes are committed,
#     more than 48MB of WAL is written and a CHECKPOINT invalidates the slot
#     (wal_status 'lost'); the worker continued (SIGCONT) drops and recreates
#     it. E2E_SLOT_INVALIDATION=0 skips (b).
# Each time: exactly one reconnect, stocksync_slot_recreated_total +1,
# stocksync_full_diffs_total up, the log line, and both channels converge.
. "$(dirname "$0")/lib.sh"
NSKU=10
setup_db
webhook_setup $NSKU erp pos
config_set database reconnect_min_ms 1500
config_set sync full_diff_interval_ms 600000
start_worker
wait_until 20 converged erp pos || fail "no initial convergence"
wait_until 5 metrics_url >/dev/null || fail "no metrics URL in the log"

metric() { worker_metric "$1"; }
slot_active() { [[ $(psql -qXAt -d postgres -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND active") == 1 ]]; }
wait_until 10 slot_active || fail "the worker's slot is not active"

# check_recreated STEP RECONNECTS0 RECREATED0 DIFFS0 LOGLINES0
check_recreated() {
  local step=$1
  wait_until 15 converged erp pos || fail "$step: no convergence after the slot was lost: $(sql "SELECT * FROM stocksync.sync_status WHERE NOT (in_sync AND state = 'acked')")"
  wait_until 5 slot_active || fail "$step: the slot was not recreated"
  [[ $(metric stocksync_slot_recreated_total) == $(($3 + 1)) ]] || fail "$step: stocksync_slot_recreated_total is $(metric stocksync_slot_recreated_total), expected $(($3 + 1))"
  (($(metric stocksync_full_diffs_total) > $4)) || fail "$step: no full diff after the slot was recreated"
  [[ $(metric stocksync_replication_reconnects_total) == $(($2 + 1)) ]] ||
    fail "$step: $(($(metric stocksync_replication_reconnects_total) - $2)) reconnects, expected exactly one"
  (($(count_log "replication slot $SLOT created; running a full diff") == $5 + 1)) || fail "$step: the log does not say the slot was recreated"
  kill -0 "$WORKER_PID" || fail "$step: the worker died"
}

# (a) Dropped by hand.
r0=$(metric stocksync_replication_reconnects_total) s0=$(metric stocksync_slot_recreated_total)
d0=$(metric stocksync_full_diffs_total) l0=$(count_log "replication slot $SLOT created; running a full diff")
log "(a) terminating the walsender and dropping slot $SLOT"
dropped=0
for _ in $(seq 20); do
  psql -qXAt -d postgres -c "SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE slot_name = '$SLOT' AND active_pid IS NOT NULL" >/dev/null
  if psql -qXAt -d postgres -c "SELECT pg_drop_replication_slot('$SLOT')" >/dev/null 2>>"$WORK/drop.log"; then dropped=1; break; fi
  sleep 0.05
done
((dropped)) || fail "could not drop the slot: $(tail -n 3 "$WORK/drop.log")"
changes 200 $NSKU
[[ $(psql -qXAt -d postgres -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '$SLOT'") == 0 ]] ||
  log "warning: the slot was recreated before the changes were all committed (the check is weaker this run)"
check_recreated "(a)" "$r0" "$s0" "$d0" "$l0"
log "(a) slot recreated after one reconnect, full diff, converged"

# Only an explicit E2E_SLOT_INVALIDATION=0 skips (b); any other value runs it.
if [[ ${E2E_SLOT_INVALIDATION:-1} == 0 ]]; then
  log "(b) SKIPPED: E2E_SLOT_INVALIDATION=0"
else
  r0=$(metric stocksync_replication_reconnects_total) s0=$(metric stocksync_slot_recreated_total)
  d0=$(metric stocksync_full_diffs_total) l0=$(count_log "replication slot $SLOT created; running a full diff")
  on_exit "psql -qX -d postgres -c 'ALTER SYSTEM RESET max_slot_wal_keep_size' -c 'SELECT pg_reload_conf()'"
  psql -qX -d postgres -c "ALTER SYSTEM SET max_slot_wal_keep_size = '16MB'" -c "SELECT pg_reload_conf()" >/dev/null
  log "(b) worker stopped; changes, 48MB+ of WAL and a checkpoint to invalidate the slot"
  kill -STOP "$WORKER_PID"
  on_exit "kill -CONT $WORKER_PID"
  changes 200 $NSKU
  sql "CREATE TABLE wal_pad AS SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 130000) g" >/dev/null
  psql -qX -d postgres -c "CHECKPOINT" >/dev/null
  st=$(psql -qXAt -d postgres -c "SELECT wal_status FROM pg_replication_slots WHERE slot_name = '$SLOT'")
  [[ $st == lost ]] || fail "(b) the slot was not invalidated (wal_status '$st'); generate more WAL"
  psql -qX -d postgres -c "ALTER SYSTEM RESET max_slot_wal_keep_size" -c "SELECT pg_reload_conf()" >/dev/null
  kill -CONT "$WORKER_PID"
  check_recreated "(b)" "$r0" "$s0" "$d0" "$l0"
  grep -q "replication slot $SLOT was invalidated (wal_status lost); dropping and recreating it" "$WORK/worker.log" ||
    fail "(b) the log does not say the slot was invalidated"
  log "(b) invalidated slot dropped and recreated after one reconnect, full diff, converged"
fi
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly"
log PASS
