#!/bin/bash
# Rejoin latency: a region controller is SIGKILLed, comes back 10 s later as
# new processes (new event-loop names) on the same URL, and we measure the
# time from its ready file (it answers) to rackd registered on all of its
# new loops, plus the /rpc/ requests the live region served during the
# outage.  Two setups (as in tests/integration/030-region-restart):
#   direct   one maas_url per region; the dead region left the document
#   haproxy  one maas_url through HAProxy; its old loops stay listed
# each with the quick probes on (defaults) and off (rejoin_probe_max: 0,
# i.e. the 30 s discovery).  RACKD=path compares another build (e.g. the
# one before quick probes).  Prints each run and the medians.  By hand:
#   bash bench/rejoin.sh [RUNS] [SETUPS] [MODES]
#   bash bench/rejoin.sh 5 "direct haproxy" "on off"
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd); export ROOT
RUNS=${1:-5}
SETUPS=${2:-direct haproxy}
MODES=${3:-on off}
export RACKD=${RACKD:-$ROOT/build/rackd}

median() { sort -n | awk '{a[NR]=$1} END{if (NR == 0) print "-"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

for setup in $SETUPS; do
	if [ "$setup" = haproxy ] && ! command -v haproxy >/dev/null; then
		echo "haproxy not installed: $setup skipped"; continue
	fi
	for mode in $MODES; do
		lat=(); gets=()
		for run in $(seq 1 "$RUNS"); do
			out=$(TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX) SETUP=$setup MODE=$mode bash -c '
				. "$ROOT/tests/integration/lib.sh"
				. "$HELPERS/restart.sh"
				start_region r1 2 >/dev/null; start_region r2 2 >/dev/null
				if [ "$SETUP" = haproxy ]; then
					start_haproxy r1 r2 >/dev/null
					write_config "$T/rackd.conf" "$HAPROXY_URL"
				else
					write_config "$T/rackd.conf" "$(region_url r1)" "$(region_url r2)"
				fi
				[ "$MODE" = off ] && printf "region:\n  rejoin_probe_max: 0\n" >> "$T/rackd.conf"
				start_rackd "$T/rackd.conf" >/dev/null
				all4() { [ "$(registered_count r1)" -eq 2 ] && [ "$(registered_count r2)" -eq 2 ]; }
				wait_for registered 30 all4
				how=; [ "$SETUP" = direct ] && how=gone
				# An older build logs no "went away": wait for the loss instead.
				log_has() { grep -Eq -- "region r2:pid=[0-9]+ .*(closed|lost|connection error)|region controller r2 went away" "$T/rackd.log"; }
				region_outage r2 2 10 $how >/dev/null
				echo "RESULT $REJOIN_MS $GETS_OUT"
			' 2>&1 | grep '^RESULT' | tail -1)
			set -- $out
			echo "$setup probes=$mode run $run: rejoined ${2:-?} ms after the region answered; ${3:-?} /rpc/ requests to the live region in the 10 s outage"
			[ -n "${2:-}" ] && lat+=("$2") && gets+=("$3")
		done
		echo "== $setup probes=$mode: median rejoin $(printf '%s\n' "${lat[@]}" | median) ms," \
			"median /rpc/ requests to the live region during the outage $(printf '%s\n' "${gets[@]}" | median)"
	done
done
