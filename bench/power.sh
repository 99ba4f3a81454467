#!/bin/bash
# Power benchmark (by hand; figures go in the issue notes, never asserted):
#   1. queries/s through rackd (fake region -> PowerQuery -> ipmitool)
#      against NBMC simulated BMCs, vs plain parallel ipmitool at the same
#      concurrency on the same machine (ratio);
#   2. p50/p99 latency of PowerQuery over all BMCs with 5% of them hung
#      (SIGSTOP), first round and a second round (quarantine).
# Env: NBMC=200 CONC=32 ROUNDS=2 (queries per BMC per measurement).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX)
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/bmc.sh"
NBMC=${NBMC:-200} CONC=${CONC:-32} ROUNDS=${ROUNDS:-2}

start_bmcs 1 "$NBMC"
start_region r1 1
write_config "$T/rackd.conf" "$(region_url r1)"
cat >> "$T/rackd.conf" <<CONF
power:
  monitor_interval: 0
  max_concurrency: $CONC
CONF
RACKD=${RACKD:-$ROOT/build/rackd}
start_rackd "$T/rackd.conf"
is_registered() { [ "$(registered_count r1)" -ge 1 ]; }
wait_for "registered" 30 is_registered

: > "$T/jobs"; : > "$T/plain"
for r in $(seq 1 "$ROUNDS"); do
	for i in $(seq 1 "$NBMC"); do
		power_args "$i" >> "$T/jobs"
		echo "$(bmc_addr "$i")" >> "$T/plain"
	done
done
n=$(wc -l < "$T/jobs")

t0=$(date +%s.%N)
xargs -P "$CONC" -I{} ipmitool -I lanplus -C 3 -N 1 -R 2 -H {} -U admin -P adminpw chassis power status < "$T/plain" > "$T/plain.out" 2>&1
t1=$(date +%s.%N)
plain=$(awk -v a="$t0" -v b="$t1" -v n="$n" 'BEGIN{printf "%.1f", n/(b-a)}')
ok=$(grep -c "Chassis Power is" "$T/plain.out")
echo "plain ipmitool, $CONC parallel: $n status calls ($ok ok) at $plain calls/s"

out=$($PY "$HELPERS/power_load.py" --control "$REGION_CTL_r1" --command PowerQuery --concurrency "$CONC" "$T/jobs")
echo "through rackd, $CONC parallel:  $out"
rq=$(echo "$out" | $PY -c 'import json,sys; d=json.load(sys.stdin); print("%.1f" % (d["n"]*1000.0/d["wall_ms"]))')
echo "through rackd: $rq queries/s; ratio rackd/plain = $(awk -v a="$rq" -v b="$plain" 'BEGIN{printf "%.2f", a/b}')"

nh=$(( NBMC / 20 )); [ "$nh" -ge 1 ] || nh=1
for i in $(seq 1 "$nh"); do kill -STOP "$(bmc_pid $(( i * 20 )))"; done
echo "hung $nh of $NBMC BMCs (SIGSTOP)"
for pass in 1 2; do
	out=$($PY "$HELPERS/power_load.py" --control "$REGION_CTL_r1" --command PowerQuery --concurrency "$CONC" "$T/jobs")
	echo "with $nh hung, pass $pass: $out"
done
for i in $(seq 1 "$nh"); do kill -CONT "$(bmc_pid $(( i * 20 )))"; done
stop_rackd
