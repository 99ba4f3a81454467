#!/bin/bash
# Refresh benchmark (by hand; figures go in the issue notes, never asserted),
# in a private network namespace with a veth pair:
#   1. duration of one refresh as rackd logs it (RequestRackRefresh + 5 POSTs,
#      "in N ms"), median and max over N address changes;
#   2. change -> stored in the (fake) region: from `ip addr add` to the
#      address showing in GET /rack-interfaces, with refresh.debounce D.
# Env: N=20 D=200ms.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT TMPDIR_TEST=${TMPDIR_TEST:-$(mktemp -d /tmp/rackd-bench.XXXXXX)}
. "$ROOT/tests/integration/lib.sh"
in_private_netns
N=${N:-20} D=${D:-200ms}

ip link add rk0 type veth peer name rk1
ip link set rk0 up
ip link set rk1 up
start_region r1 1
write_config "$T/rackd.conf" "$(region_url r1)"
printf 'refresh:\n  debounce: %s\n  min_interval: 0s\n' "$D" >> "$T/rackd.conf"
RACKD=${RACKD:-$ROOT/build/rackd}
start_rackd "$T/rackd.conf"
wait_for "start-up refresh" 30 log_has "refresh: start-up: .*\(5 POSTs, 200\)"
sid=$(cat "$T/data/maas_id")
stored() {
	$PY -c '
import json, sys, urllib.request
d = json.load(urllib.request.urlopen("http://127.0.0.1:%s/rack-interfaces?system_id=%s" % (sys.argv[1], sys.argv[2])))
sys.exit(0 if any(l["address"] == sys.argv[3] for i in d["interfaces"].values() for l in i["links"]) else 1)' "$REGION_CTL_r1" "$sid" "$1"
}
: > "$T/e2e"
for i in $(seq 1 "$N"); do
	t0=$(now_ms)
	ip addr add "10.68.$i.2/24" dev rk0
	wait_for "10.68.$i.2 stored" 30 stored "10.68.$i.2/24"
	echo $(( $(now_ms) - t0 )) >> "$T/e2e"
done
grep -Eo "added on rk0: .* in [0-9]+ ms" "$T/rackd.log" | grep -Eo "[0-9]+ ms" | cut -d' ' -f1 > "$T/dur"
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)] " ms (max " a[NR] ", n " NR ")"}'; }
echo "refresh duration (RequestRackRefresh + 5 POSTs): median $(med "$T/dur")"
echo "change -> stored in the region (debounce $D, polled every 0.1 s): median $(med "$T/e2e")"
stop_rackd
