#!/usr/bin/env bash
# The worker's statements run with the plans its session settings are there
# for (PgDatabase::ensure): no sequential scan rescanned per row (each rescan
# asks the kernel for the table's size, an lseek per small table per listing
# loaded) and no JIT compilation (the sequential scans without an index left
# carry the disabled-scan cost, far above jit_above_cost). auto_explain logs
# every plan of this database's sessions with its loop counts; the worker's
# own (application_name stocksync-worker) are checked after a start-up diff
# and a run of changes on two channels.
. "$(dirname "$0")/lib.sh"

setup_db
auto_explain_on
webhook_setup 20 erp shop
# Rules on one channel, so the lookups of channel_rule and channel_sku_rule
# find rows too.
sql "INSERT INTO stocksync.channel_rule (channel, buffer_min) VALUES ('shop', 1);
     INSERT INTO stocksync.channel_sku_rule (channel, sku, buffer_min) VALUES ('shop', 'SKU-3', 2)" >/dev/null
# Statistics as a live database has them (autovacuum's): without them the
# planner takes every table for a large one and probes indexes anyway.
sql "ANALYZE" >/dev/null
log_from=$(($(stat -c %s "$SERVER_LOG") + 1))

start_worker
wait_until 30 converged_only erp shop || fail "start-up full diff did not converge"
changes 200 20
wait_until 30 converged_only erp shop || fail "did not converge after 200 changes"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"

tail -c +"$log_from" "$SERVER_LOG" >"$WORK/plans.txt"
PYTHONPATH=$(dirname "$0") python3 - "$WORK/plans.txt" <<'PY' || fail "the worker's plans are not what its session settings are for"
import re, sys
from worker_plans import worker_plans
plans = worker_plans(sys.argv[1])
loads = [m for m in plans if "FROM stocksync.listing_target t" in m]
bad = []
for m in plans:
    rescanned = [l.strip() for l in m.splitlines()
                 if re.search(r"Seq Scan on \S+.*loops=(\d+)", l) and int(re.search(r"loops=(\d+)", l).group(1)) > 1]
    if rescanned:
        bad.append(("sequential scan rescanned", rescanned, m))
    if re.search(r"^\s*JIT:", m, re.M):
        bad.append(("JIT", [], m))
print(f"{len(plans)} plans of the worker's session, {len(loads)} reading listing_target")
for what, lines, m in bad[:3]:
    print(f"--- {what}: {lines}\n{m}")
if not loads:
    print("no plan read listing_target: auto_explain did not see the worker's rounds")
sys.exit(1 if bad or not loads else 0)
PY
log PASS
