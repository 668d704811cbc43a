#!/usr/bin/env bash
# A channel down under load retains no more WAL than a few segments: the
# worker confirms the flush position whatever the channels do.
#
# Two Standard Webhooks consumers; "erp" goes down (503 for every call, a
# simulator outage) for E2E_OUTAGE_SECONDS (default 45 s so that the suite
# stays fast; E2E_OUTAGE_SECONDS=900 runs the issue's full 15 minutes: run
# this file alone then, as test/e2e/run gives each test 120 s) while pgbench
# runs E2E_WAL_TPS (default 200) transactions a second, each a
# stocksync.receive()/adjust() on a random SKU plus a 4 kB row rewrite in a
# padding table: about 1 MB of WAL a second. Every 500 ms the test reads the
# worker's slot and checks, throughout the outage:
# - unconfirmed WAL (pg_current_wal_lsn() - confirmed_flush_lsn) < 16 MB, one
#   segment: this is what the worker controls. A worker that held WAL back
#   while erp is down would leave everything written during the outage
#   unconfirmed, so the test also checks that more than 1.25 x that bound was
#   written;
# - retained WAL (pg_current_wal_lsn() - restart_lsn) < E2E_WAL_BOUND_MB
#   (48 MB, three segments). PostgreSQL moves a logical slot's restart_lsn
#   only at xl_running_xacts records (every 15 s under load) and, with
#   transactions always running, to the previous such record: about 30 s of
#   WAL is retained whatever the client does. The default load keeps that
#   floor (~30 MB) below the bound; at much more than 1.5 MB of WAL a second
#   raise E2E_WAL_BOUND_MB accordingly.
# Meanwhile "pos" stays in sync; after the outage "erp" converges.
. "$(dirname "$0")/lib.sh"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OUTAGE=${E2E_OUTAGE_SECONDS:-45}
TPS=${E2E_WAL_TPS:-200}
BOUND_MB=${E2E_WAL_BOUND_MB:-48}
NSKU=20
CLIENTS=4
setup_db
webhook_setup $NSKU erp pos
# erp must not go dead during a long outage: at most one retry per 2.5-5 s.
config_set channels.erp max_attempts 1000
config_set sync retry_max_ms 5000
sql "CREATE TABLE wal_pad (id int PRIMARY KEY, pad text);
     ALTER TABLE wal_pad ALTER pad SET STORAGE PLAIN;
     INSERT INTO wal_pad SELECT g, '' FROM generate_series(0, $CLIENTS - 1) g" >/dev/null
cat >"$WORK/load.sql" <<'SQL'
\set s random(1, 20)
\set q random(1, 3)
\set op random(0, 1)
BEGIN;
SELECT CASE WHEN :op = 0 THEN stocksync.receive('SKU-' || :s, :q) ELSE stocksync.adjust('SKU-' || :s, -:q, 'e2e load') END;
UPDATE wal_pad SET pad = repeat(md5(random()::text), 125) WHERE id = :client_id;
COMMIT;
SQL
start_worker
wait_until 20 converged erp pos || fail "no initial convergence"

lsn() { psql -qXAt -d postgres -c "SELECT pg_current_wal_lsn()"; }
lsn_diff() { psql -qXAt -d postgres -c "SELECT pg_wal_lsn_diff('$1', '$2')::bigint"; }

log "erp down for $OUTAGE s under $TPS tps"
failed0=$(sim_stat erp "c['failed']")
sim_post channels/erp/outage '{"active": true, "status": 503}'
lsn0=$(lsn)
PGOPTIONS="-c synchronous_commit=off" "$PGBIN/pgbench" -n -c $CLIENTS -j 2 -R "$TPS" -T "$OUTAGE" \
  -f "$WORK/load.sql" "$DB" >"$WORK/pgbench.log" 2>&1 &
LOAD=$!
PIDS+=($LOAD)
max_restart=0 max_flush=0 samples=0 erp_behind=0
while kill -0 "$LOAD" 2>/dev/null; do
  read -r restart flush <<<"$(slot_lag)"
  [[ $restart == none ]] && fail "the worker's slot disappeared"
  ((restart > max_restart)) && max_restart=$restart
  ((flush > max_flush)) && max_flush=$flush
  samples=$((samples + 1))
  ((restart < BOUND_MB * 1024 * 1024)) ||
    fail "the slot retains $((restart / 1048576)) MB of WAL (bound $BOUND_MB MB) after $((samples / 2)) s of outage"
  ((flush < 16 * 1024 * 1024)) || fail "$((flush / 1048576)) MB of WAL not confirmed by the worker (bound 16 MB)"
  if ((samples % 20 == 0)); then
    [[ $(sql "SELECT count(*) FROM stocksync.sync_status WHERE channel = 'erp' AND NOT in_sync") != 0 ]] && erp_behind=1
    log "$((samples / 2)) s: retained $((restart / 1048576)) MB, unconfirmed $((flush / 1048576)) MB, written $(($(lsn_diff "$(lsn)" "$lsn0") / 1048576)) MB"
  fi
  sleep 0.5
done
wait "$LOAD" || fail "pgbench failed: $(tail -n 5 "$WORK/pgbench.log")"
written=$(lsn_diff "$(lsn)" "$lsn0")
log "outage over: $((written / 1048576)) MB of WAL written; the slot retained at most $((max_restart / 1048576)) MB, left at most $((max_flush / 1048576)) MB unconfirmed"
wait_until 15 converged_only pos || fail "pos fell out of sync while erp was down"
sim_post channels/erp/outage '{"active": false}'
((written * 4 > 16 * 1024 * 1024 * 5)) ||
  fail "only $((written / 1048576)) MB of WAL written during the outage: not enough to tell (raise E2E_WAL_TPS)"
((erp_behind)) || fail "erp never fell behind: was it really down?"
(($(sim_stat erp "c['failed']") > failed0)) || fail "erp answered no call with 5xx during the outage"
wait_until 30 converged erp pos || fail "no convergence after the outage: $(sql "SELECT state, count(*) FROM stocksync.sync_status WHERE NOT (in_sync AND state = 'acked') GROUP BY 1")"
log "erp converged after the outage"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly"
log PASS
