#!/bin/bash
# Failover latency: kill (SIGKILL, or SIGSTOP with MODE=stop) the region
# currently carrying rackd's calls and measure the time to the next
# successful rack->region call (UpdateServices every 100 ms) answered by
# the other region.  Prints each run and the median.  Run by hand:
#   bash bench/failover.sh [RUNS]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd); export ROOT
RUNS=${1:-7}
export MODE=${MODE:-kill}
results=()
for run in $(seq 1 "$RUNS"); do
	r=$(TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX) MODE=$MODE bash -c '
		. "$ROOT/tests/integration/lib.sh"
		start_region a 1 >/dev/null; start_region b 1 >/dev/null
		write_config "$T/rackd.conf" "$(region_url a)"
		printf "region:\n  services_interval: 100ms\n" >> "$T/rackd.conf"
		RACKD_LOG=$T/rackd.log start_rackd "$T/rackd.conf" >/dev/null
		both() { [ "$(registered_count a)" -eq 1 ] && [ "$(registered_count b)" -eq 1 ]; }
		wait_for registered 30 both
		sleep 1
		la=$(tail -1 "$T/region-a.calls" | grep -o "\"t\": [0-9.]*" | cut -d" " -f2)
		lb=$(tail -1 "$T/region-b.calls" | grep -o "\"t\": [0-9.]*" | cut -d" " -f2)
		victim=a; other=b
		awk -v x="$la" -v y="$lb" "BEGIN{exit !(y > x)}" && { victim=b; other=a; }
		sig=KILL; [ "$MODE" = stop ] && sig=STOP
		t0=$(date +%s.%N)
		kill -$sig "$(region_pid $victim)"
		end=$(( $(date +%s) + 30 ))
		while [ "$(date +%s)" -lt "$end" ]; do
			t1=$(grep "\"UpdateServices\"" "$T/region-$other.calls" | grep "\"error\": null" |
				grep -o "\"t\": [0-9.]*" | cut -d" " -f2 |
				awk -v t0="$t0" "\$1 > t0 {print; exit}")
			[ -n "$t1" ] && break
			sleep 0.05
		done
		[ "$MODE" = stop ] && kill -CONT "$(region_pid $victim)"
		awk -v a="$t0" -v b="$t1" "BEGIN{printf \"%.0f\n\", (b-a)*1000}"
	' | tail -1)
	echo "run $run: ${r} ms"
	results+=("$r")
done
printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$1} END{printf "failover (%s) median of %d runs: %s ms\n", ENVIRON["MODE"], NR, (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'
