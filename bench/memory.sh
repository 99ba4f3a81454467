#!/bin/bash
# Resident memory of rackd connected to 3 regions x 4 event loops (12
# connections), after registration and 10 s of steady state.
#   bash bench/memory.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd); export ROOT
TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX) bash -c '
	. "$ROOT/tests/integration/lib.sh"
	for r in r1 r2 r3; do start_region $r 4 >/dev/null; done
	write_config "$T/rackd.conf" "$(region_url r1)"
	RACKD_LOG=$T/rackd.log start_rackd "$T/rackd.conf" >/dev/null
	all() { local r; for r in r1 r2 r3; do [ "$(registered_count $r)" -eq 4 ] || return 1; done; }
	wait_for "12 registered" 60 all
	sleep 10
	rss=$(awk "/VmRSS/ {print \$2}" /proc/$RACKD_PID/status)
	hwm=$(awk "/VmHWM/ {print \$2}" /proc/$RACKD_PID/status)
	fds=$(ls /proc/$RACKD_PID/fd | wc -l)
	echo "rackd with 12 event-loop connections: VmRSS ${rss} kB, VmHWM ${hwm} kB, ${fds} fds"
	for p in $(pgrep -f fake_region.py | head -1); do
		echo "for scale, one fake region (Twisted) process: VmRSS $(awk "/VmRSS/ {print \$2}" /proc/$p/status) kB"
	done
'
