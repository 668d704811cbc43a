# Sourced by bench/reserve/run and bench/reserve/compare: one pgbench case's
# rate and CPU per transaction on the throwaway cluster. Expects postmaster
# (its pid), CLIENTS and SECONDS_PER_CASE to be set.

ticks=$(getconf CLK_TCK)

# CPU seconds the cluster has used so far: the postmaster, its live children,
# and (cutime, cstime) the children it has already reaped. Unlike tps, CPU per
# transaction hardly moves when other work shares the machine.
server_cpu() {
  local total=0 pid stat
  for pid in $postmaster $(ps -o pid= --ppid "$postmaster"); do
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
    [[ -n $stat ]] || continue
    total=$((total + $(awk '{print $14 + $15 + ($1 == '"$postmaster"' ? $16 + $17 : 0)}' <<<"$stat")))
  done
  echo "$total"
}

# Waits (at most 5 s) until no client backend is left, not even one that has
# exited and waits to be reaped (a zombie), so that the case's backends have
# all been reaped and their time is in the postmaster's cutime:
# one that exited between the ps and its read in server_cpu() would be
# counted nowhere (a uniform naive round once measured 50 us a transaction
# beside 80 in the other rounds).
wait_backends_reaped() {
  local i children
  for ((i = 0; i < 50; i++)); do
    children=$(ps -o stat=,args= --ppid "$postmaster")
    grep -qE '^ *Z|postgres: [^ ]* [^ ]* 127\.0\.0\.1' <<<"$children" || return 0
    sleep 0.1
  done
}

# measure_case SCRIPT LO HI -> "tps cpu_us_per_transaction" (cluster plus pgbench)
measure_case() {
  local script=$1 lo=$2 hi=$3 before after out client
  before=$(server_cpu)
  out=$( { TIMEFORMAT='%U %S'; time pgbench -n -M prepared -c "$CLIENTS" -j 2 -T "$SECONDS_PER_CASE" \
             -D lo="$lo" -D hi="$hi" -f "$script" 2>&1; } 2>&1 )
  wait_backends_reaped
  after=$(server_cpu)
  client=$(tail -1 <<<"$out")
  awk -v tps="$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")" \
      -v n="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")" \
      -v server=$((after - before)) -v ticks="$ticks" -v client="$client" \
      'BEGIN {split(client, c, " "); printf "%s %.1f\n", tps, (server / ticks + c[1] + c[2]) * 1e6 / n}'
}

median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
