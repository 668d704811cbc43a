#!/usr/bin/env bash
# The statement that resolves decoded SKUs to their listings reads only those
# SKUs' listings, also when the planner has no statistics yet: a new database,
# or listings bulk-loaded just before the worker starts and not analyzed yet.
# The worker keeps the generic plan of its first call, so a plan chosen
# without statistics stays for the connection's life. Written as one join on
# sku = ANY and channel = ANY, that plan ANDed a bitmap of the SKUs with one of
# every listing of the channels: each round read all 10,000 listings here.
. "$(dirname "$0")/lib.sh"

NSKUS=2000
setup_db
auto_explain_on
# No ANALYZE, and none from autovacuum while the test runs.
sql "ALTER TABLE stocksync.listing SET (autovacuum_enabled = false)" >/dev/null
webhook_setup $NSKUS erp shop web wholesale outlet
[[ $(sql "SELECT count(*) FROM pg_catalog.pg_stats WHERE schemaname = 'stocksync' AND tablename = 'listing'") == 0 ]] ||
  fail "stocksync.listing has statistics already"
log_from=$(($(stat -c %s "$SERVER_LOG") + 1))

start_worker
wait_until 60 converged_only erp shop web wholesale outlet || fail "start-up full diff did not converge"
changes 100 $NSKUS
wait_until 30 converged_only erp shop web wholesale outlet || fail "did not converge after 100 changes"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"

tail -c +"$log_from" "$SERVER_LOG" >"$WORK/plans.txt"
PYTHONPATH=$(dirname "$0") python3 - "$WORK/plans.txt" <<'PY' || fail "the resolve statement read listings of SKUs it was not asked for"
import re, sys
from worker_plans import actual_rows, worker_plans
resolves = [m for m in worker_plans(sys.argv[1]) if "pg_visible_in_snapshot" in m]
bad = []
for m in resolves:
    lines = m.splitlines()
    plan_at = next(i for i, l in enumerate(lines) if "actual rows=" in l)
    returned = actual_rows(lines[plan_at])[0]
    # Every index entry of listing read, against the listings returned.
    read = sum(r * n for l in lines if re.search(r"Index (Only )?Scan (using|on) listing_\w+ ", l)
               and (rn := actual_rows(l)) for r, n in [rn])
    if read > returned:
        bad.append((read, returned, m))
print(f"{len(resolves)} resolve statements, {len(bad)} read more listings than they returned")
for read, returned, m in bad[:2]:
    print(f"--- {read} listing index entries read for {returned} rows returned:\n{m}")
sys.exit(1 if bad or not resolves else 0)
PY
log PASS
