#!/usr/bin/env bash
# Bundles and channel rules through the real worker, which decodes only
# stock_level, listing, channel and item: a receive of a component re-pushes
# the bundle's listing (the cascade raises the bundle's item.version); a
# bundle reserved on one channel lowers its components everywhere; a new
# channel rule (pool and buffer) re-pushes that channel's listings.
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
TOML
start_sim "$WORK/scenario.toml"
# KIT = 2 x A + 1 x B with A = 20, B = 8: 8 kits.
sql "INSERT INTO stocksync.item (sku) VALUES ('A'), ('B');
     INSERT INTO stocksync.item (sku, kind) VALUES ('KIT', 'bundle');
     INSERT INTO stocksync.bom VALUES ('KIT', 'A', 2), ('KIT', 'B', 1);
     INSERT INTO stocksync.channel (code, kind) VALUES ('erp', 'webhook'), ('pos', 'webhook');
     INSERT INTO stocksync.listing (channel, external_id, sku) VALUES
       ('erp', 'KIT', 'KIT'), ('erp', 'A', 'A'), ('pos', 'KIT', 'KIT'), ('pos', 'B', 'B');
     SELECT stocksync.receive('A', 20), stocksync.receive('B', 8);" >/dev/null
chans=""
for c in erp pos; do
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
shows() {  # channel external_id qty
  [[ $(sim_shown "$1" "$2") == "$3" ]]
}
both_kits() { shows erp KIT "$1" && shows pos KIT "$1"; }
wait_until 20 both_kits 8 || fail "the kit listings never showed 8 (start-up full diff)"

log "receiving 10 of B: the kit listings must go to 10 (A limits: 20 / 2)"
sql "SELECT stocksync.receive('B', 10)" >/dev/null
wait_until 10 both_kits 10 || fail "a component's receive did not re-push the bundle listings"

log "reserving 3 kits on pos: A 14, B 15, kits 7 everywhere"
sql "SELECT stocksync.reserve('pos', 'order-1', 'KIT', 3)" >/dev/null
wait_until 10 both_kits 7 || fail "a bundle reservation did not reach the kit listings"
wait_until 10 shows erp A 14 || fail "a bundle reservation did not lower its component A on erp"
wait_until 10 shows pos B 15 || fail "a bundle reservation did not lower its component B on pos"

log "erp gets a hard 50 % pool with a 1-unit buffer: A shows floor(14 / 2) - 1 = 6, KIT floor(7 / 2) - 1 = 2;"
log "pos, without a pool of its own, may show the other half of the partition: KIT floor(7 / 2) = 3"
sql "INSERT INTO stocksync.channel_rule (channel, buffer_min, pool_percent, pool_mode) VALUES ('erp', 1, 50, 'hard')" >/dev/null
wait_until 10 shows erp A 6 || fail "a channel rule did not re-push the channel's listings"
wait_until 10 shows erp KIT 2 || fail "a channel rule did not re-push the channel's bundle listing"
wait_until 10 shows pos KIT 3 || fail "the rest of the partition did not reach pos: KIT shows $(sim_shown pos KIT)"

log "pausing component B: both kit listings go to 0"
sql "UPDATE stocksync.item SET status = 'paused' WHERE sku = 'B'" >/dev/null
wait_until 10 both_kits 0 || fail "a paused component did not take its bundles to 0"

[[ $(sql "SELECT count(*) FROM stocksync.sync_status WHERE NOT in_sync") == 0 ]] ||
  fail "listings out of sync: $(sql 'SELECT * FROM stocksync.sync_status WHERE NOT in_sync')"
kill -TERM "$WORKER_PID"; wait "$WORKER_PID" || fail "worker did not exit cleanly on SIGTERM"
log PASS
