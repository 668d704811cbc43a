#!/usr/bin/env bash
# A manual edit on the channel side is found and corrected by one
# reconciliation, and larger drift is escalated instead: the simulated eBay
# shows 20 on SKU-1 and SKU-2 (acknowledged). Someone edits SKU-1 to 18 and
# SKU-2 to 2 in eBay's own back office (silent: no notification). One
# `stocksync-worker --reconcile eb` (stocksync.reconcile() underneath)
# reads both listings, corrects SKU-1 (drift -2 <= max_correct_units 5: it is
# pushed again and eBay shows 20) and escalates SKU-2 (drift -18: left as it
# is, in drift_escalated). The run records accuracy 0 (no listing agreed);
# a second run (requested from SQL) finds SKU-1 in agreement and SKU-2 still
# escalated (the same open row), accuracy 0.5. Metrics count both.
. "$(dirname "$0")/lib.sh"
setup_db
ebay_setup 20 SKU-1 SKU-2 SKU-3
write_config "
[reconcile]
settle_ms = 200
max_correct_units = 5
$(ebay_channel_config eb)"
start_worker
all_20() { for i in 1 2 3; do [[ $(sim_shown eb SKU-$i) == 20 ]] || return 1; done; }
wait_until 20 all_20 || fail "eBay never showed 20 on every listing"
wait_until 5 converged_only eb || fail "the pushes were not acknowledged"
sleep 0.5  # past settle_ms

log "silent edits on eBay: SKU-1 20 -> 18, SKU-2 20 -> 2"
sim_post channels/eb/listings/SKU-1 '{"quantity": 18, "silent": true}'
sim_post channels/eb/listings/SKU-2 '{"quantity": 2, "silent": true}'
sleep 1
[[ $(sim_shown eb SKU-1) == 18 ]] || fail "the edit did not hold (something pushed before the reconciliation)"

out=$("$WORKER" --config "$WORK/worker.toml" --reconcile eb --wait 30) || fail "stocksync-worker --reconcile failed: $out"
log "$out"
grep -q ': 3 listings, 1 agree, 1 corrected, 1 escalated, 0 unsettled, 0 unreadable' <<<"$out" || fail "unexpected run: $out"
[[ $(sql "SELECT action || ':' || shown_qty || ':' || acked_qty || ':' || drift FROM stocksync.drift WHERE external_id = 'SKU-1'") == corrected:18:20:-2 ]] ||
  fail "SKU-1's drift was not recorded as corrected: $(sql 'SELECT * FROM stocksync.drift')"
[[ $(sql "SELECT external_id || ':' || shown_qty || ':' || drift FROM stocksync.drift_escalated") == SKU-2:2:-18 ]] ||
  fail "SKU-2 is not escalated: $(sql 'SELECT * FROM stocksync.drift_escalated')"
wait_until 10 eval '[[ $(sim_shown eb SKU-1) == 20 ]]' || fail "SKU-1 was not corrected on eBay: $(sim_shown eb SKU-1)"
sleep 1
[[ $(sim_shown eb SKU-2) == 2 ]] || fail "escalated SKU-2 was changed on eBay: $(sim_shown eb SKU-2)"
[[ $(sql "SELECT in_agreement || ' ' || drifted || ' ' || accuracy FROM stocksync.reconcile_accuracy WHERE channel = 'eb'") == '1 2 0.333333' ]] ||
  fail "accuracy of the first run: $(sql 'SELECT * FROM stocksync.reconcile_accuracy')"
log "SKU-1 corrected to 20 on eBay; SKU-2 escalated and left at 2"

log "a second reconciliation, requested from SQL"
sleep 0.5  # the correction's acknowledgement settles
req=$(sql "SELECT stocksync.reconcile('eb')")
run_done() { [[ $(sql "SELECT r.finished_at IS NOT NULL FROM stocksync.reconcile_request q JOIN stocksync.reconcile_run r ON r.id = q.run_id WHERE q.id = $req") == t ]]; }
wait_until 15 run_done || fail "the requested reconciliation did not run"
[[ $(sql "SELECT r.in_agreement || ' ' || r.corrected || ' ' || r.escalated || ' ' || r.accuracy FROM stocksync.reconcile_request q JOIN stocksync.reconcile_run r ON r.id = q.run_id WHERE q.id = $req") == '2 0 1 0.666667' ]] ||
  fail "second run: $(sql 'SELECT * FROM stocksync.reconcile_run')"
[[ $(sql "SELECT count(*) FROM stocksync.drift WHERE external_id = 'SKU-2'") == 1 ]] || fail "the escalation was recorded twice"
[[ $(sql "SELECT resolved_at IS NOT NULL FROM stocksync.drift WHERE external_id = 'SKU-1'") == t ]] || fail "SKU-1's drift was not resolved"
[[ $(worker_metric stocksync_drift_corrected_total 'channel="eb"') == 1 ]] || fail "stocksync_drift_corrected_total is not 1"
[[ $(worker_metric stocksync_drift_escalated_total 'channel="eb"') == 2 ]] || fail "stocksync_drift_escalated_total is not 2"
[[ $(worker_metric stocksync_reconcile_accuracy 'channel="eb"') == 0.666667 ]] ||
  fail "stocksync_reconcile_accuracy: $(worker_metric stocksync_reconcile_accuracy 'channel="eb"')"
sql "SELECT stocksync.reconcile('nowhere')" 2>"$WORK/err.log" && fail "reconcile() accepted an unknown channel"
grep -q 'unknown channel "nowhere"' "$WORK/err.log" || fail "unexpected error: $(cat "$WORK/err.log")"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
