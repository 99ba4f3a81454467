#!/bin/bash
# Image sync benchmark (by hand; figures go in the issue notes, never asserted):
#   1. wall time of a sync of a synthetic stream with a SIZE_MB squashfs
#      (default 1024: ~1 GiB) from the fake region, ImportBootImages to
#      "done", against plain curl of the same files in sequence to disk;
#   2. rackd's CPU time (user+sys) and peak RSS during the sync;
#   3. PowerQuery latency (p50/p99) against NBMC simulated BMCs, idle and
#      while the sync runs, and the loop's own latency sampled every 10 ms
#      all through the sync (bench/loop_probe.py): GET /metrics on rackd's
#      internal HTTP port (the loop alone) and Identify through the other
#      fake region (region + AMP + loop).
# Env: SIZE_MB=1024 NBMC=4 RACKD=build/rackd
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX)
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/bmc.sh"
SIZE_MB=${SIZE_MB:-1024} NBMC=${NBMC:-4}
RACKD=${RACKD:-$ROOT/build/rackd}

STREAM=$T/files
$PY "$HELPERS/make_stream.py" "$STREAM" "$T/db" --release jammy:22.04 >/dev/null
# BMC addresses of our own (other benches may hold 127.0.10.x:623).
for i in $(seq 1 "$NBMC"); do eval "BMC_ADDR_$i=127.0.$(( 100 + $$ % 100 )).$i"; done
start_bmcs 1 "$NBMC"
# Two regions on one stream: PowerQuery goes through the one rackd is not
# downloading from, so the (single-threaded, Python) fake region serving
# the stream does not add its own latency to the figure.
start_region r1 1
start_region r2 1
HTTP_INT=$(free_port)
RACKD_HTTP_PORT=$(free_port) RACKD_HTTP_INTERNAL_PORT=$HTTP_INT \
	RACKD_TFTP_ROOT=$T/br/current write_config "$T/rackd.conf" "$(region_url r1)" "$(region_url r2)"
cat >> "$T/rackd.conf" <<CONF
power:
  monitor_interval: 0
CONF
start_rackd "$T/rackd.conf"
wait_for "start-up sync (small stream)" 60 log_has 'images: sync \(start-up\) done'

: > "$T/jobs"
for r in 1 2 3 4 5; do for i in $(seq 1 "$NBMC"); do power_args "$i" >> "$T/jobs"; done; done
src=$(grep -E 'images: sync started \(start-up\) from' "$T/rackd.log" | head -1 | sed 's/.* from //')
if [ "$src" = "$(region_url r1)" ]; then PQ_CTL=$REGION_CTL_r2 SRC=r1; else PQ_CTL=$REGION_CTL_r1 SRC=r2; fi
echo "stream from $SRC ($src); PowerQuery through the other region"
pq() { $PY "$HELPERS/power_load.py" --control "$PQ_CTL" --command PowerQuery --concurrency 2 "$T/jobs"; }
# The loop's latency: probes every 10 ms until a stop file appears.
probes() {	# probes TAG — start both probes; stop with: touch $T/stop-TAG
	rm -f "$T/stop-$1"
	$PY "$ROOT/bench/loop_probe.py" metrics "$HTTP_INT" "$T/stop-$1" > "$T/loop-$1" &
	PROBE_PIDS="$!"
	$PY "$ROOT/bench/loop_probe.py" identify "$PQ_CTL" "$T/stop-$1" > "$T/id-$1" &
	PROBE_PIDS="$PROBE_PIDS $!"
}
echo "PowerQuery idle:        $(pq)"
probes idle; sleep 3; touch "$T/stop-idle"; wait $PROBE_PIDS
echo "loop (/metrics) idle:   $(cat "$T/loop-idle")"
echo "Identify idle:          $(cat "$T/id-idle")"

echo "building a ${SIZE_MB} MiB squashfs..."
$PY "$HELPERS/make_stream.py" "$STREAM" "$T/db" --release jammy:22.04 --release noble:24.04 \
	--squashfs-mb "$SIZE_MB" >/dev/null
url=$(region_url $SRC)/images-stream
files=$($PY -c '
import json, sys
sys.path.insert(0, sys.argv[2]); import fake_stream
doc, files = fake_stream.load(sys.argv[1])
new = {}
for p in doc["products"].values():
    for v in p["versions"].values():
        for it in v["items"].values():
            if ("noble" in it["path"] and "kernel" not in it["path"]) or "squashfs" in it["path"]:
                new.setdefault(it["sha256"], it["path"])
print(" ".join(new.values()))' "$T/db" "$HELPERS")
mkdir -p "$T/curl"
t0=$(date +%s.%N)
for f in $files; do curl -sf -o "$T/curl/$(echo "$f" | tr / _)" "$url/$f" || echo "curl $f failed"; done
t1=$(date +%s.%N)
plain=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
bytes=$(du -cb "$T"/curl/* | tail -1 | cut -f1)
echo "plain curl in sequence: $(echo $files | wc -w) files, $bytes bytes in ${plain} s"
rm -rf "$T/curl"

cpu() { awk '{print $14 + $15}' "/proc/$RACKD_PID/stat"; }
hz=$(getconf CLK_TCK)
c0=$(cpu)
n0=$(log_count 'images: sync \(.*\) done in')
ctl_call='import sys,urllib.request; r=urllib.request.Request("http://127.0.0.1:%s/call" % sys.argv[1], data=b"{\"command\": \"ImportBootImages\", \"args\": {\"sources\": [{\"url\": \"http://127.0.0.2:1/MAAS/images-stream/streams/v1/index.json\", \"keyring_data\": \"\", \"selections\": []}]}}", method="POST"); urllib.request.urlopen(r, timeout=30).read()'
probes during
$PY -c "$ctl_call" "$PQ_CTL"
peak=0
( sleep 1; pq > "$T/pq-during" ) &
pqpid=$!
while [ "$(log_count 'images: sync \(.*\) done in')" -le "$n0" ]; do
	r=$(awk '/VmRSS/ {print $2}' "/proc/$RACKD_PID/status")
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.2
	log_has 'images: sync \(.*\) failed' && { grep 'failed' "$T/rackd.log" | tail -1; break; }
done
c1=$(cpu)
touch "$T/stop-during"
wait $PROBE_PIDS "$pqpid"
grep -E 'images: sync \(ImportBootImages.*done in' "$T/rackd.log" | tail -1
grep -E 'images: .* of .*ETA' "$T/rackd.log" | tail -2
secs=$(grep -E 'images: sync \(ImportBootImages.*done in' "$T/rackd.log" | tail -1 | sed 's/.*done in \([0-9.]*\) s.*/\1/')
echo "rackd sync: ${secs} s (plain curl ${plain} s, ratio $(awk -v a="$secs" -v b="$plain" 'BEGIN{printf "%.2f", a/b}'))"
echo "rackd CPU during the sync: $(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz}') s; peak RSS ${peak} kB"
echo "PowerQuery during sync: $(cat "$T/pq-during")"
echo "loop (/metrics) during: $(cat "$T/loop-during")"
echo "Identify during sync:   $(cat "$T/id-during")"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
stop_rackd
