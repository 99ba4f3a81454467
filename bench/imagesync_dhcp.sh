#!/bin/bash
# DHCP latency while a large image sync runs (issue 11's last figure; by
# hand, figures go in the issue notes, never asserted).  bench/imagesync.sh
# measures the sync itself, CPU, RSS, PowerQuery and the loop; this one
# the DHCP service of the same rackd, idle and during a sync of a SIZE_MB
# squashfs:
#   - the fake regions r1 and r2 in <p>-reg (tests/integration/dhcp_ns.sh),
#     serving the same stream; one rack in <p>-rk1 (rackd, its standalone
#     Kea, the library lease hook) connected to both; perfdhcp in <p>-cl;
#   - per run: perfdhcp at RATE DORA/s for IDLE_S s (idle), then from the
#     ImportBootImages of a new stream until the sync is done (SIGINT ends
#     perfdhcp, which then prints its report);
#   - (a) the exchanges' latency as perfdhcp reports it (DISCOVER-OFFER
#     and REQUEST-ACK: min/avg/max/std, drops; a few packets in flight at
#     the SIGINT count as drops);
#   - (b) the lease events' latency through rackd: each DHCPACK's arrival
#     on the client's link (kernel timestamp, bench/dhcp_ack_sniff.py; Kea
#     commits and its hook spools the event just before it sends the ACK)
#     to the region receiving the UpdateLeases carrying that commit (the
#     fake regions' --record "t"), p50/p99/max (bench/lease_latency.py),
#     counting the ACKs sent between the sync's start and its end; and the
#     ACK to rackd sending the batch (its debug log).  rackd keeps one
#     UpdateLeases in flight, so the rounds are split into the region's
#     answer time (ans) and rackd's own turn (an answer -> the next batch).
# Figures: rate (achieved DORA/s), do_/ra_ (DISCOVER-OFFER, REQUEST-ACK
# delay, ms), drops, send*/reg* (ACK -> rackd sends / region receives,
# ms), unmatched (ACKs no UpdateLeases carried), ans*/turn* (ms).
# rackd picks the region with the lowest round trip for UpdateLeases, so
# the region serving the stream (slower while it does) may or may not be
# the one receiving them: the report says which received them.
# Env: SIZE_MB=1024 RATE=200 IDLE_S=8 RUNS=3 RACKD=build/rackd
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT TMPDIR_TEST=$(mktemp -d /tmp/rackd-bench.XXXXXX)
RACKD=${RACKD:-$ROOT/build/rackd}
. "$ROOT/tests/integration/lib.sh"
. "$ROOT/tests/integration/dhcp_ns.sh"
SIZE_MB=${SIZE_MB:-1024} RATE=${RATE:-200} IDLE_S=${IDLE_S:-8} RUNS=${RUNS:-3}
export POOL_HIGH=10.88.254.250	# room for every perfdhcp client of every run
RACKD_LOG=$T/rk1/rackd.log
median() { sort -n | awk '{a[NR]=$1} END{if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
jget() { $PY -c 'import json,sys
v=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): v=v[k] if v is not None else None
print(v)' "$1" "$2"; }
epoch() { date +%s.%N; }

# ns_region NAME — a fake region in <p>-reg on REGION_IP (as
# start_ns_region, for a second one); sets REGION_HTTP_NAME, REGION_CTL_NAME.
ns_region() {
	local name=$1 ready=$T/region-$1.ready
	ip netns exec "$(ns reg)" $PY "$HELPERS/fake_region.py" --name "$name" --loops 1 \
		--secret-file "$T/secret" --db "$T/db" --amp-host $REGION_IP \
		--http-host $REGION_IP --record "$T/region-$name.calls" \
		--log "$T/region-$name.log" --ready-file "$ready" \
		> "$T/region-$name.out" 2>&1 &
	register_pid $!
	wait_for "fake region $name ready" 20 test -s "$ready"
	eval "REGION_HTTP_$name=$(sed -n 's/.* http=\([0-9]*\).*/\1/p' "$ready")"
	eval "REGION_CTL_$name=$(sed -n 's/.* control=\([0-9]*\).*/\1/p' "$ready")"
	log "region $name in $(ns reg): $(cat "$ready")"
}
rctl() { local v=REGION_CTL_$1; shift; nsx reg $PY "$HELPERS/region_ctl.py" --control "${!v}" "$@"; }

dhcp_ns_up
ip -n "$(ns cl)" addr add 10.88.0.10/16 dev eth0	# perfdhcp relays from it
mkdir -p "$T/db" "$T/rk1/data" "$T/rk1/run" "$T/br"
make_secret "$T/secret"
$PY "$HELPERS/make_stream.py" "$T/files-0" "$T/db" --release jammy:22.04 >/dev/null
ns_region r1
ns_region r2
rctl r1 dhcp "{\"hostname\": \"rack1\", \"v4\": $(dhcp_args none $RACK_IP_1 $RACK_IP_2)}" >/dev/null
cat > "$T/rk1/rackd.conf" <<CONF
maas_url:
  - http://$REGION_IP:$REGION_HTTP_r1/MAAS
  - http://$REGION_IP:$REGION_HTTP_r2/MAAS
secret_file: $T/secret
data_dir: $T/rk1/data
run_dir: $T/rk1/run
tftp_root: $T/br/current
tftp_port: 0
hostname: rack1
http: {port: 0, internal_port: 0, bind: "127.0.0.1", region_port: 5240}
power:
  monitor_interval: 0
dhcp:
  lease_hook: library
  lease_hook_library: $(dirname "$RACKD")/rackd-lease-hook.so
CONF
ip netns exec "$(ns rk1)" unshare --uts sh -c "hostname rack1; exec $RACKD -d -f $T/rk1/rackd.conf" >> "$RACKD_LOG" 2>&1 &
RACK_PID_1=$!
register_pid $RACK_PID_1
log "rack1 started in $(ns rk1): pid $RACK_PID_1"
wait_for "rack1 registered" 30 rack_registered 1
wait_for "start-up sync (small stream)" 60 log_has 'images: sync \(start-up\) done'
kea_up() { echo '{"command": "status-get"}' | timeout 5 socat -t 5 - "UNIX-CONNECT:$(kea_sock 1 standalone)" | grep -q '"result": 0'; }
wait_for "Kea serving" 60 kea_up
# Warm-up: Kea answers, leases reach the region.
nsx cl perfdhcp -4 -l eth0 -r 20 -p 2 -R 1000000 -b mac=02:ff:00:00:00:00 >/dev/null 2>&1
wait_for "lease events at the region" 30 eval 'cat "$T"/region-r*.calls | grep -q UpdateLeases'

# phase TAG RUN — perfdhcp at RATE in the background until `endphase`;
# the ACK sniffer likewise.
phase() {
	rm -f "$T/stop-$1-$2"
	ip netns exec "$(ns cl)" $PY "$ROOT/bench/dhcp_ack_sniff.py" eth0 "$T/stop-$1-$2" > "$T/acks-$1-$2" &
	SNIFF_PID=$!
	register_pid $SNIFF_PID
	sleep 0.5	# the sniffer's socket is bound (it reads from the first frame on)
	ip netns exec "$(ns cl)" perfdhcp -4 -l eth0 -r "$RATE" -p 3600 -R 1000000 \
		-b "mac=02:$(printf %02x "$2"):$([ "$1" = idle ] && echo 10 || echo 20):00:00:00" \
		> "$T/pd-$1-$2" 2>&1 &
	PD_PID=$!
	register_pid $PD_PID
	PHASE_T0=$(epoch)
}
endphase() {
	PHASE_T1=$(epoch)
	kill -INT "$PD_PID"
	wait_for "perfdhcp's report" 20 eval '! kill -0 $PD_PID'
	wait "$PD_PID" 2>/dev/null
	# The last commits' UpdateLeases: wait until no new one for 1 s.
	local prev=-1 n=0
	while [ "$n" != "$prev" ]; do prev=$n; sleep 1; n=$(cat "$T"/region-r*.calls | grep -c UpdateLeases); done
	touch "$T/stop-$1-$2"
	wait "$SNIFF_PID"
}
# report TAG RUN — one line of figures; keeps them for the medians.
declare -A FIG
report() {
	local pd ll
	pd=$($PY "$ROOT/bench/perfdhcp_sum.py" "$T/pd-$1-$2")
	ll=$($PY "$ROOT/bench/lease_latency.py" "$T/acks-$1-$2" "$PHASE_T0" "$PHASE_T1" "$RACKD_LOG" "$T"/region-r*.calls)
	echo "  $1: perfdhcp $pd"
	echo "  $1: lease event, ACK -> rackd sends / region receives: $ll"
	FIG[$1.rate]+="$(jget "$pd" rate) "
	FIG[$1.do_avg]+="$(jget "$pd" DO.avg_ms) "
	FIG[$1.ra_avg]+="$(jget "$pd" RA.avg_ms) "
	FIG[$1.do_max]+="$(jget "$pd" DO.max_ms) "
	FIG[$1.ra_max]+="$(jget "$pd" RA.max_ms) "
	FIG[$1.ra_std]+="$(jget "$pd" RA.std_ms) "
	FIG[$1.drops]+="$(( $(jget "$pd" DO.drops) + $(jget "$pd" RA.drops) )) "
	FIG[$1.send50]+="$(jget "$ll" rackd_send.p50_ms) "
	FIG[$1.send99]+="$(jget "$ll" rackd_send.p99_ms) "
	FIG[$1.sendmax]+="$(jget "$ll" rackd_send.max_ms) "
	FIG[$1.reg50]+="$(jget "$ll" region.p50_ms) "
	FIG[$1.reg99]+="$(jget "$ll" region.p99_ms) "
	FIG[$1.regmax]+="$(jget "$ll" region.max_ms) "
	FIG[$1.unmatched]+="$(jget "$ll" region.unmatched) "
	FIG[$1.ans50]+="$(jget "$ll" region_answer.p50_ms) "
	FIG[$1.ans99]+="$(jget "$ll" region_answer.p99_ms) "
	FIG[$1.turn50]+="$(jget "$ll" rackd_turn.p50_ms) "
	FIG[$1.turn99]+="$(jget "$ll" rackd_turn.p99_ms) "
}
cpu() { awk '{print $14 + $15}' "/proc/$RACK_PID_1/stat"; }
hz=$(getconf CLK_TCK)
ctl_call='import sys,urllib.request; r=urllib.request.Request("http://127.0.0.1:%s/call" % sys.argv[1], data=b"{\"command\": \"ImportBootImages\", \"args\": {\"sources\": [{\"url\": \"http://127.0.0.2:1/MAAS/images-stream/streams/v1/index.json\", \"keyring_data\": \"\", \"selections\": []}]}}", method="POST"); urllib.request.urlopen(r, timeout=30).read()'

for r in $(seq 1 "$RUNS"); do
	echo "run $r: building a ${SIZE_MB} MiB squashfs..."
	$PY "$HELPERS/make_stream.py" "$T/files-$r" "$T/db" --release jammy:22.04 --release noble:24.04 \
		--squashfs-mb "$SIZE_MB" --version "202402$(printf %02d "$r")" >/dev/null
	rm -rf "$T/files-$((r - 1))"
	sync
	# The fake stream hashes a changed file on its first request, on its
	# reactor (1-2 s for 1 GiB: every call to that region waits); MAAS
	# does not, so both regions hash it now, before the figures.
	for n in r1 r2; do
		v=REGION_HTTP_$n
		nsx reg curl -sf -o /dev/null "http://$REGION_IP:${!v}/MAAS/images-stream/streams/v1/index.json" ||
			fail "region $n: no stream index"
	done
	n0=$(log_count 'images: sync \(.*\) (done|failed)')
	phase idle "$r"
	sleep "$IDLE_S"
	endphase idle "$r"
	[ "$(log_count 'images: sync \(.*\) (done|failed)')" = "$n0" ] || echo "  (a sync ran during the idle phase)"
	report idle "$r"

	c0=$(cpu) peak=0
	phase during "$r"
	nsx reg $PY -c "$ctl_call" "$REGION_CTL_r2"
	while [ "$(log_count 'images: sync \(.*\) (done|failed)')" -le "$n0" ]; do
		rss=$(awk '/VmRSS/ {print $2}' "/proc/$RACK_PID_1/status")
		[ "$rss" -gt "$peak" ] && peak=$rss
		sleep 0.05
	done
	endphase during "$r"
	c1=$(cpu)
	grep -E 'images: sync started \(ImportBootImages' "$RACKD_LOG" | tail -1 | sed 's/.*info: /  /'
	grep -E 'images: sync \(ImportBootImages.*(done|failed)' "$RACKD_LOG" | tail -1 | sed 's/.*info: /  /'
	echo "  rackd CPU during the sync: $(awk -v a="$c0" -v b="$c1" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz}') s (the DHCP load included); peak RSS ${peak} kB"
	echo "  UpdateLeases received so far: r1 $(grep -c UpdateLeases "$T/region-r1.calls" 2>/dev/null || echo 0), r2 $(grep -c UpdateLeases "$T/region-r2.calls" 2>/dev/null || echo 0)"
	report during "$r"
	echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done

echo "medians over $RUNS runs (idle / during / ratio during:idle):"
for k in rate do_avg ra_avg ra_std do_max ra_max drops send50 send99 sendmax reg50 reg99 regmax unmatched ans50 ans99 turn50 turn99; do
	i=$(printf '%s\n' ${FIG[idle.$k]} | grep -v None | median)
	d=$(printf '%s\n' ${FIG[during.$k]} | grep -v None | median)
	printf '  %-10s %10s %10s %8s   (idle runs: %s; during runs: %s)\n' "$k" "$i" "$d" \
		"$(awk -v a="$i" -v b="$d" 'BEGIN{if (a > 0) printf "%.2f", b/a; else print "-"}')" \
		"${FIG[idle.$k]}" "${FIG[during.$k]}"
done
stop_rackd "$RACK_PID_1"
[ -n "${KEEP:-}" ] && mkdir -p "$KEEP" && cp "$RACKD_LOG" "$T"/region-r*.calls "$T"/acks-* "$T"/pd-* "$KEEP"/
