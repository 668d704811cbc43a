#!/usr/bin/env bash
# A reservation on one channel reaches every other channel: three Standard
# Webhooks consumers in the simulator; a reserve() for one of them changes
# what the other two (and itself) show, within seconds.
. "$(dirname "$0")/lib.sh"
setup_db
cat >"$WORK/scenario.toml" <<'TOML'
[sim]
seed = 1
time_scale = 1.0
[[channels]]
name = "erp"
kind = "webhook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
[[channels]]
name = "pos"
kind = "webhook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
[[channels]]
name = "wholesale"
kind = "webhook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TOML
start_sim "$WORK/scenario.toml"
sql "INSERT INTO stocksync.item (sku) VALUES ('SKU-1');
     INSERT INTO stocksync.channel (code, kind) VALUES ('erp', 'webhook'), ('pos', 'webhook'), ('wholesale', 'webhook');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES ('erp', 'SKU-1', 'SKU-1'), ('pos', 'SKU-1', 'SKU-1'), ('wholesale', 'SKU-1', 'SKU-1');
     SELECT stocksync.receive('SKU-1', 20);" >/dev/null
chans=""
for c in erp pos wholesale; do
  chans+="
[channels.$c]
kind = \"webhook\"
base_url = \"$SIM_URL/hooks/$c\"
[channels.$c.credentials]
secret_env = \"E2E_WHSEC\""
done
export E2E_WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
write_config "$chans"
start_worker
all_show() { for c in erp pos wholesale; do [[ $(sim_shown $c SKU-1) == "$1" ]] || return 1; done; }
wait_until 20 all_show 20 || fail "channels never showed 20 (start-up full diff)"
log "all channels show 20; reserving 3 on pos"
sql "SELECT stocksync.reserve('pos', 'order-1', 'SKU-1', 3)" >/dev/null
start=$(date +%s%N)
wait_until 10 all_show 17 || fail "the reservation did not reach every channel"
log "reservation reached every channel in $(( ($(date +%s%N) - start) / 1000000 )) ms"
[[ $(sql "SELECT count(*) FROM stocksync.sync_status WHERE in_sync AND state = 'acked'") == 3 ]] ||
  fail "sync_status does not show 3 acknowledged listings: $(sql 'SELECT * FROM stocksync.sync_status')"
grep -q "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" "$WORK/worker.log" && fail "the secret reached the log"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
