#!/bin/bash
# DHCP benchmark (by hand; figures go in the issue notes, never asserted).
# Two racks with a Kea HA pair, the fake region and a client, all in
# network namespaces (tests/integration/dhcp_ns.sh):
#   1. end-to-end lease events/s: perfdhcp at RATE for PERIOD s from the
#      client namespace -> Kea commits -> lease hook -> rackd spool ->
#      UpdateLeases at the region, with dhcp.lease_hook: library (the Kea
#      hook library) and script (run_script, a process per event),
#      LRUNS runs each, alternating; events/s = commits delivered in a run
#      / the time from its first to its last UpdateLeases, and lost =
#      the primary's DHCPACKs of the run not matched by a commit at the
#      region (choose a RATE the pair serves: under overload Kea writes
#      leases it then drops before any hook, shown as "dropped");
#   2. the failover gap: the whole primary rack killed (rackd and Kea) ->
#      first DHCPOFFER from the standby (a DISCOVER every 100 ms), and the
#      same with only the primary's Kea killed (rackd restarts it); RUNS
#      runs each, median reported (RUNS=0 skips it).
# Env: RATE=1000 PERIOD=8 LRUNS=3 MODES="library script" RUNS=5 HA_TLS=true
# (false: the HA channel in plain HTTP, for the before/after of dhcp.ha_tls)
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX)
RACKD=${RACKD:-$ROOT/build/rackd}
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/dhcp_ns.sh"
RATE=${RATE:-1000} PERIOD=${PERIOD:-8} RUNS=${RUNS:-5} LRUNS=${LRUNS:-3}
MODES=${MODES:-library script}
HA_TLS=${HA_TLS:-true}
# (inside the dhcp: section start_ns_rack writes)
DHCP_EXTRA_CONF="  ha_tls: $HA_TLS"
export POOL_HIGH=10.88.254.250	# room for every perfdhcp client of every run
median() { sort -n | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

dhcp_ns_up
ip -n "$(ns cl)" addr add 10.88.0.10/16 dev eth0	# perfdhcp relays from it
start_ns_region
nctl dhcp "{\"hostname\": \"rack1\", \"v4\": $(dhcp_args primary $RACK_IP_1 $RACK_IP_2)}" >/dev/null
nctl dhcp "{\"hostname\": \"rack2\", \"v4\": $(dhcp_args secondary $RACK_IP_2 $RACK_IP_1)}" >/dev/null
hot() { [ "$(ha_state 1)" = hot-standby ] && [ "$(ha_state 2)" = hot-standby ]; }
CONF1=$T/rk1/data/dhcp/kea4-failover-vlan-5001.conf
LEASES1=$T/rk1/data/dhcp/kea4-failover-vlan-5001.leases
uses() { case $1 in library) grep -q rackd-lease-hook.so "$CONF1";; script) grep -q libdhcp_run_script "$CONF1";; esac; }
# racks_in MODE — both racks running with dhcp.lease_hook: MODE, Kea loaded with it.
racks_in() {
	local r
	for r in 1 2; do
		[ -n "$(eval echo "\${RACK_PID_$r:-}")" ] && stop_ns_rack $r
	done
	LEASE_HOOK=$1 start_ns_rack 1
	LEASE_HOOK=$1 start_ns_rack 2
	wait_for "rack1 registered" 30 rack_registered 1
	wait_for "Kea loads the $1 lease hook" 60 uses "$1"
	wait_for "hot-standby" 60 hot
}
# acks — DHCPACKs the primary's Kea sent since it started.
acks() {
	kea_cmd 1 statistic-get '{"name": "pkt4-ack-sent"}' | $PY -c 'import json,sys
try: print(json.load(sys.stdin)["arguments"]["pkt4-ack-sent"][0][0])
except Exception: print(0)'
}
# The region's commits (ip mac timestamp) from UpdateLeases received after t0.
commits_since() {
	grep '"dir": "in"' "$T/region-r1.calls" | grep '"command": "UpdateLeases"' | \
		$PY -c 'import json,sys
t0=float(sys.argv[1])
for l in sys.stdin:
    c=json.loads(l)
    if c["t"] < t0: continue
    for u in c["args"].get("updates", []):
        if u.get("action") == "commit": print(c["t"], u["ip"], u["mac"], u["timestamp"])' "$1"
}

# --- 1. lease events per second, end to end, per lease hook ----------------------
declare -A RATES LOST
run=0
for r in $(seq 1 "$LRUNS"); do
	for mode in $MODES; do
		run=$((run + 1))
		racks_in "$mode"
		t0=$($PY -c 'import time; print(time.time())')
		before=$(wc -l < "$LEASES1")
		acks0=$(acks)
		out=$(nsx cl perfdhcp -4 -l eth0 -r "$RATE" -p "$PERIOD" -R 1000000 \
			-b mac=02:3$run:00:00:00:00 2>&1)
		achieved=$(awk '/^Rate:/{print $2; exit}' <<<"$out")
		prev=-1; n=0
		while [ "$n" != "$prev" ]; do prev=$n; sleep 3; n=$(commits_since "$t0" | awk '{print $2, $3, $4}' | sort -u | wc -l); done
		nacks=$(( $(acks) - acks0 ))
		writes=$(tail -n +$((before + 1)) "$LEASES1" | awk -F, '$1 ~ /^10\.88\./ && $10 == 0 {print $1, $2, $5 - $4}' | sort -u)
		nw=$(grep -c . <<<"$writes")
		# Kea writes a lease before its leases4_committed hooks, and drops
		# the packet there without calling them when the HA parking lot is
		# full (overload): such leases reach no hook.  Lost = ACKs (each
		# one after the hooks ran) not matched by a commit at the region.
		lost=$(( nacks > n ? nacks - n : 0 ))
		span=$(commits_since "$t0" | awk 'NR==1{a=$1} {b=$1} END{printf "%.2f", b-a}')
		eps=$(awk -v n="$n" -v s="$span" 'BEGIN{printf "%.0f", n/(s>0?s:1)}')
		RATES[$mode]+="$eps "
		LOST[$mode]+="$lost "
		echo "run $r, lease_hook $mode: perfdhcp $RATE/s for ${PERIOD}s achieved $achieved/s; region: $n commits over ${span}s = $eps lease events/s; primary's Kea: $nacks ACKs, $nw lease writes ($((nw - nacks)) dropped before the hooks); lost $lost; load $(cut -d' ' -f1 /proc/loadavg)"
	done
done
for mode in $MODES; do
	echo "lease_hook $mode: median $(printf '%s\n' ${RATES[$mode]} | median) lease events/s end to end (runs: ${RATES[$mode]}), lost per run: ${LOST[$mode]}"
done
[ "$RUNS" -gt 0 ] || { stop_ns_rack 1; stop_ns_rack 2; exit 0; }
racks_in library

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
