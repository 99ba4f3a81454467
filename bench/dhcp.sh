#!/bin/bash
# DHCP benchmark (by hand; figures go in the issue notes, never asserted).
# Two racks with a Kea HA pair, the fake region and a client, all in
# network namespaces (tests/integration/dhcp_ns.sh):
#   1. end-to-end lease events/s: perfdhcp at RATE for PERIOD s from the
#      client namespace -> Kea commits -> run_script hook -> rackd spool ->
#      UpdateLeases at the region;
#   2. the failover gap: the whole primary rack killed (rackd and Kea) ->
#      first DHCPOFFER from the standby (a DISCOVER every 100 ms), and the
#      same with only the primary's Kea killed (rackd restarts it); RUNS
#      runs each, median reported.
# Env: RATE=300 PERIOD=10 RUNS=5 HA_TLS=true (false: the HA channel in
# plain HTTP, for the before/after of dhcp.ha_tls) SKIP_RATE=0 (1: gap only)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX)
RACKD=${RACKD:-$ROOT/build/rackd}
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/dhcp_ns.sh"
RATE=${RATE:-300} PERIOD=${PERIOD:-10} RUNS=${RUNS:-5}
HA_TLS=${HA_TLS:-true} SKIP_RATE=${SKIP_RATE:-0}
# (inside the dhcp: section start_ns_rack writes)
DHCP_EXTRA_CONF="  ha_tls: $HA_TLS"
export POOL_HIGH=10.88.200.250	# room for every perfdhcp client
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

dhcp_ns_up
ip -n "$(ns cl)" addr add 10.88.0.10/16 dev eth0	# perfdhcp relays from it
start_ns_region
nctl dhcp "{\"hostname\": \"rack1\", \"v4\": $(dhcp_args primary $RACK_IP_1 $RACK_IP_2)}" >/dev/null
nctl dhcp "{\"hostname\": \"rack2\", \"v4\": $(dhcp_args secondary $RACK_IP_2 $RACK_IP_1)}" >/dev/null
start_ns_rack 1
start_ns_rack 2
hot() { [ "$(ha_state 1)" = hot-standby ] && [ "$(ha_state 2)" = hot-standby ]; }
wait_for "hot-standby" 60 hot

echo "dhcp.ha_tls: $HA_TLS"
# --- 1. lease events per second, end to end --------------------------------------
if [ "$SKIP_RATE" = 0 ]; then
out=$(nsx cl perfdhcp -4 -l eth0 -r "$RATE" -p "$PERIOD" -R 1000000 -b mac=02:30:00:00:00:00 2>&1)
achieved=$(awk '/^Rate:/{print $2; exit}' <<<"$out")
count() { region_leases | grep -c '^commit' || true; }
prev=-1; n=$(count)
while [ "$n" != "$prev" ]; do prev=$n; sleep 3; n=$(count); done
span=$(grep '"dir": "in"' "$T/region-r1.calls" | grep '"command": "UpdateLeases"' | \
	$PY -c 'import json,sys; t=[json.loads(l)["t"] for l in sys.stdin]; print("%.2f" % (max(t)-min(t)))')
echo "perfdhcp: $RATE/s for ${PERIOD}s, achieved $achieved exchanges/s"
echo "region: $n commits in UpdateLeases over ${span}s = $(awk -v n="$n" -v s="$span" 'BEGIN{printf "%.0f", n/(s>0?s:1)}') lease events/s"
fi

# --- 2. failover gap ------------------------------------------------------------------
gaps_rack=() gaps_kea=()
for r in $(seq 1 "$RUNS"); do
	wait_for "hot-standby (run $r)" 60 hot
	kp=$(kea_pid 1)
	kill -9 "$kp"
	o=$(nsx cl $PY "$HELPERS/dhcp_discover.py" eth0 --interval 0.1 --deadline 30)
	gaps_kea+=("$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["elapsed_ms"])' "$o")")
	echo "run $r, primary's Kea killed: $o"
	wait_for "hot-standby after the Kea restart" 60 hot
	{ kill -9 "$(rack_pid 1)"; wait "$(rack_pid 1)"; kill -9 $(kea_pids 1); } 2>/dev/null
	o=$(nsx cl $PY "$HELPERS/dhcp_discover.py" eth0 --interval 0.1 --deadline 30)
	gaps_rack+=("$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["elapsed_ms"])' "$o")")
	echo "run $r, primary rack killed: $o"
	start_ns_rack 1
	wait_for "rack1 back" 30 rack_registered 1
done
echo "failover gap, primary rack killed: median $(printf '%s\n' "${gaps_rack[@]}" | median) ms (runs: ${gaps_rack[*]})"
echo "failover gap, primary's Kea killed: median $(printf '%s\n' "${gaps_kea[@]}" | median) ms (runs: ${gaps_kea[*]})"
stop_ns_rack 1
stop_ns_rack 2
