#!/bin/bash
# `rackd status` benchmark (by hand; figures go in the issue notes, never
# asserted): the round trip of one "status" and one "metrics" request on
# run_dir/rackd.sock (connect, ask, read to EOF), medians and p99 of N
# requests, with 3 regions x 4 event loops and NBMC simulated BMCs in the
# BMC table (root and ipmi_sim; else none).  Also the answer sizes, and
# the time of the `rackd status` command as a whole (process included).
# Env: N=500 NBMC=50
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX)
. "$ROOT/tests/integration/lib.sh"
N=${N:-500} NBMC=${NBMC:-50}
RACKD=${RACKD:-$ROOT/build/rackd}
have_bmcs=0
if [ "$(id -u)" = 0 ] && command -v ipmi_sim >/dev/null && [ "$NBMC" -gt 0 ]; then
	(. "$ROOT/tests/integration/bmc.sh") >/dev/null 2>&1 && have_bmcs=1
fi
[ $have_bmcs = 1 ] && . "$ROOT/tests/integration/bmc.sh" && start_bmcs 1 "$NBMC"
for r in r1 r2 r3; do start_region $r 4; done
write_config "$T/rackd.conf" "$(region_url r1)" "$(region_url r2)" "$(region_url r3)"
printf 'power:\n  monitor_interval: 0\n' >> "$T/rackd.conf"
start_rackd "$T/rackd.conf"
all() { [ "$(registered_count r1)" -eq 4 ] && [ "$(registered_count r2)" -eq 4 ] && [ "$(registered_count r3)" -eq 4 ]; }
wait_for "registered on all 12" 60 all
if [ $have_bmcs = 1 ]; then
	qp=()
	for i in $(seq 1 "$NBMC"); do
		ctl r1 call PowerQuery "$(power_args "$i")" >/dev/null &
		qp+=($!)
	done
	wait "${qp[@]}"	# only these: the BMCs and regions are children too
fi
$PY - "$T/run/rackd.sock" "$N" <<'PY'
import socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
def ask(req):
    t0 = time.perf_counter()
    s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(req)
    out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    s.close()
    return (time.perf_counter() - t0) * 1000, len(out)
for req in (b"status\n", b"metrics\n"):
    ts, size = [], 0
    for _ in range(n):
        t, size = ask(req)
        ts.append(t)
    ts.sort()
    print("%-8s %d requests: median %.3f ms, p99 %.3f ms, answer %d bytes"
          % (req.decode().strip(), n, ts[n // 2], ts[int(n * 0.99) - 1], size))
PY
t0=$(now_ms)
for i in $(seq 1 50); do "$RACKD" status -f "$T/rackd.conf" >/dev/null; done
echo "rackd status (table, whole command): $(( ($(now_ms) - t0) / 50 )) ms per run (mean of 50)"
echo "BMCs in the table: $( "$RACKD" status --json -f "$T/rackd.conf" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["power"]["bmcs"]))')"
stop_rackd
