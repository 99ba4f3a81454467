#!/bin/bash
# Lease carry (issue 12 part 1): time to carry N leases into a new Kea
# instance, N = 1,000 and 10,000, medians of RUNS runs (by hand; figures
# go in the issue notes, never asserted).  Per run: seed = rackd reading
# the old memfile, planning and writing the new one; load = a real
# kea-dhcp4 2.2 started on it until lease4-get-all answers with all N
# (what rackd's verification waits for); add = the rejected alternative,
# N lease4-add commands over the control socket into an empty Kea.
set -eu
cd "$(dirname "$0")/.."
command -v /usr/sbin/kea-dhcp4 >/dev/null || { echo "kea-dhcp4 not installed"; exit 0; }
make -s build/librackd.a
PKGS="libevent libcurl yaml-0.1 jansson openssl libsystemd zlib"
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -o build/lease_carry_bench \
	bench/lease_carry_bench.c build/librackd.a $(pkg-config --libs $PKGS)
RUNS=${RUNS:-5}
med() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for n in ${SIZES:-1000 10000}; do
	out=$(for i in $(seq 1 "$RUNS"); do build/lease_carry_bench "$n"; done)
	s=$(awk '{print $2}' <<<"$out" | med)
	l=$(awk '{print $3}' <<<"$out" | med)
	a=$(awk '{print $4}' <<<"$out" | med)
	echo "carry $n leases: seed $s ms, Kea start+load+verify $l ms; lease4-add one by one $a ms (medians of $RUNS)"
done

# --- end to end in rackd (root: network namespaces) ------------------------------
# rack1 serves the VLAN standalone with N leases, then ConfigureDHCPv4 makes
# it the HA primary (the partner rack is absent): the time until the
# region's call returns, and until rackd logs that Kea holds the N leases.
[ "$(id -u)" = 0 ] || { echo "(end-to-end part skipped: needs root)"; exit 0; }
export ROOT=$PWD TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX)
RACKD=${RACKD:-$ROOT/build/rackd}
make -s build/rackd build/rackd-lease-hook
. tests/integration/lib.sh
. tests/integration/dhcp_ns.sh
export POOL_LOW=10.88.1.1 POOL_HIGH=10.88.200.250
dhcp_ns_up
start_ns_region
STANDALONE=$(dhcp_args none $RACK_IP_1 $RACK_IP_2)
HA=$(dhcp_args primary $RACK_IP_1 $RACK_IP_2)
count() { kea_cmd 1 lease4-get-all "" "$1" | $PY -c 'import json,sys
try: print(len(json.load(sys.stdin)["arguments"]["leases"]))
except Exception: print(-1)'; }
kea_cmd() {
	local sock; sock=$(kea_sock "$1" "${4:-}")
	printf '{"command": "%s"%s}' "$2" "${3:+, \"arguments\": $3}" | \
		timeout 10 socat -t 10 - "UNIX-CONNECT:$sock" 2>/dev/null
}
one() {	# one run for n leases: "answered_ms confirmed_ms held"
	rm -rf "$T/rk1"
	nctl dhcp "{\"hostname\": \"rack1\", \"v4\": $STANDALONE}" >/dev/null
	start_ns_rack 1 >/dev/null
	wait_for "rack1 registered" 30 rack_registered 1
	up() { [ "$(count standalone)" -ge 0 ]; }
	wait_for "standalone up" 30 up
	stop_ns_rack 1 >/dev/null
	$PY - "$n" "$T/rk1/data/dhcp/kea4-standalone.leases" <<-'PY'
	import sys, time
	n, path, now = int(sys.argv[1]), sys.argv[2], int(time.time())
	with open(path, "w") as f:
	    f.write("address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n")
	    for i in range(n):
	        a = 256 + i
	        f.write("10.88.%d.%d,02:00:%02x:%02x:%02x:01,,3600,%d,173539328,0,0,h%d,0,\n"
	                % (a >> 8, a & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255, now + 3000, i))
	PY
	start_ns_rack 1 >/dev/null
	wait_for "rack1 registered again" 30 rack_registered 1
	has() { [ "$(count standalone)" = "$n" ]; }
	wait_for "standalone holds $n leases" 60 has
	nctl dhcp "{\"hostname\": \"rack1\", \"v4\": $HA}" >/dev/null
	t0=$(now_ms)
	nctl call --system-id "$(rack_sid 1)" --timeout 40 ConfigureDHCPv4 "$HA" >/dev/null
	t1=$(now_ms)
	wait_for "carried" 60 grep -q "carried $n leases" "$(rack_log 1)"
	t2=$(now_ms)
	held=$(count failover-vlan-5001)
	stop_ns_rack 1 >/dev/null
	echo "$((t1 - t0)) $((t2 - t0)) $held"
}
for n in ${SIZES:-1000 10000}; do
	out=$(for i in $(seq 1 "$RUNS"); do one 2>&1 | tail -1; done)
	bad=$(awk -v n="$n" '$3 != n' <<<"$out")
	[ -z "$bad" ] || echo "WARNING: a run did not hold $n leases: $bad"
	echo "rackd end to end, $n leases standalone -> HA primary: ConfigureDHCPv4 answered (carry verified) in $(awk '{print $1}' <<<"$out" | med) ms (median of $RUNS; runs: $(awk '{print $1}' <<<"$out" | tr '\n' ' '))"
done
