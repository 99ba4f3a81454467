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
