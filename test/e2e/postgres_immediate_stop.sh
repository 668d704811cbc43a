#!/usr/bin/env bash
# PostgreSQL stopped with -m immediate under load and restarted: the worker
# reconnects (replication and state connection) and converges.
# Needs STOCKSYNC_CLUSTER (scripts/pgcluster's env) to reach the data directory.
. "$(dirname "$0")/lib.sh"
: "${STOCKSYNC_CLUSTER:?STOCKSYNC_CLUSTER (the pgcluster directory) to restart the server}"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
setup_db
webhook_setup 20 erp pos
start_worker
wait_until 20 converged erp pos || fail "no initial convergence"
changes 3000 20 &
CH=$!
sleep 1
log "pg_ctl stop -m immediate under load"
as_postgres "$PGBIN/pg_ctl" -D "$STOCKSYNC_CLUSTER/data" -m immediate -w stop >/dev/null
wait "$CH" 2>/dev/null || true
sleep 1
as_postgres "$PGBIN/pg_ctl" -D "$STOCKSYNC_CLUSTER/data" -l "$STOCKSYNC_CLUSTER/server.log" -w -t 60 start >/dev/null
log "restarted; more changes"
changes 500 20
wait_until 40 converged erp pos || fail "no convergence after the restart"
kill -0 "$WORKER_PID" || fail "the worker died"
grep -q "replication stopped" "$WORK/worker.log" || fail "the worker never noticed the outage"
log "reconnected and converged"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly"
log PASS
