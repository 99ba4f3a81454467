#!/bin/bash
# bench/pxe_storm.sh [RUNS] — a PXE storm through GetBootConfig: 100
# clients at once, each with its own MAC, each fetching the bootloader
# (lpxelinux.0) and then its own pxelinux.cfg/01-<mac> over TFTP (busybox
# tftp, blksize 1468 as PXE ROMs ask):
#   * rackd: every config asked of the fake region (GetBootConfig, Twisted,
#     as MAAS's region is Python) and rendered by rackd, as in production;
#   * tftpd-hpa: the same bootloader and the same configs pre-rendered
#     (fetched once from rackd) as static files — the floor no MAAS rack
#     reaches, since MAAS renders each config per request too.
# Then the same storm over HTTP: 100 clients at once fetching
# /ipxe.cfg-<mac> on rackd's http.port vs nginx serving the pre-rendered
# files.  Reports per run, then median completion time, per-client latency
# p50/p99 (all runs), failed clients, and the ratio (static / rackd:
# below 1 means rackd is slower).  The clients are one asyncio process
# (bench/pxe_storm_client.py; CLIENT=busybox: a busybox tftp / curl
# process each).  RUNS defaults to 5.  Run as root
# (tftpd-hpa chroots), by hand; loopback only.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-5}
N=${N:-100}
RACKD=${RACKD:-build/rackd}
PY=/usr/bin/python3
HELPERS=tests/integration/helpers
T=$(mktemp -d /tmp/bench-pxe.XXXXXX)
chmod 755 "$T"	# nginx workers (nobody) read static/
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
for c in busybox curl /usr/sbin/in.tftpd /usr/sbin/nginx; do
	command -v $c >/dev/null || { echo "missing $c (tools/deps.sh)"; exit 1; }
done
[ -x "$RACKD" ] || { echo "build $RACKD first"; exit 1; }
[ -f /usr/lib/PXELINUX/lpxelinux.0 ] || { echo "missing pxelinux"; exit 1; }

uport() { $PY -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tport() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
waitfor() {	# waitfor SECONDS CMD...
	local end=$(( $(date +%s) + $1 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
pct() { sort -g | awk -v p="$1" '{a[NR]=$1} END {i=int(NR*p/100+0.999); if (i<1) i=1; print a[i]}'; }

# --- the tree: one jammy image and the bootloader -----------------------------
R=$T/boot-resources/snapshot-1
K=$R/ubuntu/amd64/ga-22.04/jammy/stable
mkdir -p "$K" "$T/data" "$T/run" "$T/db" "$T/static/pxelinux.cfg" "$T/out"
for f in boot-kernel boot-initrd squashfs; do echo x > "$K/$f"; done
cp /usr/lib/PXELINUX/lpxelinux.0 "$R/"
cp /usr/lib/PXELINUX/lpxelinux.0 "$T/static/"
ln -s snapshot-1 "$T/boot-resources/current"
echo 0123456789abcdef0123456789abcdef > "$T/secret"; chmod 600 "$T/secret"
mac() { printf '52:54:00:00:%02x:%02x' $(( $1 / 256 )) $(( $1 % 256 )); }
dmac() { mac "$1" | tr : -; }

# --- the fake region and its answers --------------------------------------------
$PY "$HELPERS/fake_region.py" --name r1 --loops 1 --secret-file "$T/secret" --db "$T/db" \
	--record "$T/region.calls" --log "$T/region.log" --ready-file "$T/region.ready" \
	> "$T/region.out" 2>&1 & PIDS+=($!)
waitfor 20 test -s "$T/region.ready" || { cat "$T/region.out"; exit 1; }
RHTTP=$(sed -n 's/.* http=\([0-9]*\).*/\1/p' "$T/region.ready")
RCTL=$(sed -n 's/.* control=\([0-9]*\).*/\1/p' "$T/region.ready")
$PY - "$RCTL" "$N" <<'EOF' || { echo "POST /boot-config failed"; exit 1; }
import json, sys, urllib.request
port, n = int(sys.argv[1]), int(sys.argv[2])
ans = {"arch": "amd64", "subarch": "ga-22.04", "osystem": "ubuntu", "release": "jammy",
       "kernel": "boot-kernel", "initrd": "boot-initrd", "purpose": "commissioning",
       "domain": "maas", "log_port": 5247, "extra_opts": "", "http_boot": True,
       "ephemeral_opts": "",
       "preseed_url": "http://127.0.0.1:5248/MAAS/metadata/latest/by-id/x/?op=get_preseed"}
table = {}
for i in range(1, n + 1):
    m = "52-54-00-00-%02x-%02x" % (i // 256, i % 256)
    a = dict(ans, hostname="vm%d" % i, system_id="node%03d" % i)
    table[m] = a
r = urllib.request.urlopen(urllib.request.Request(
    "http://127.0.0.1:%d/boot-config" % port, data=json.dumps(table).encode(),
    method="POST"), timeout=30)
assert json.load(r)["ok"]
EOF

# --- rackd, tftpd-hpa, nginx ------------------------------------------------------
P_RACKD=$(uport); P_HPA=$(uport); H_RACKD=$(tport); H_NGINX=$(tport)
cat > "$T/rackd.conf" <<CONF
maas_url: http://127.0.0.1:$RHTTP/MAAS
secret_file: $T/secret
data_dir: $T/data
run_dir: $T/run
tftp_port: $P_RACKD
tftp_root: $T/boot-resources/current
http: {port: $H_RACKD, internal_port: 0, bind: 127.0.0.1}
images: {enabled: false}
CONF
"$RACKD" -f "$T/rackd.conf" 2> "$T/rackd.log" & PIDS+=($!)
registered() { $PY "$HELPERS/region_ctl.py" --control "$RCTL" connections |
	$PY -c 'import json,sys; sys.exit(0 if any(c.get("registered") for c in json.load(sys.stdin)) else 1)'; }
waitfor 30 registered || { echo "rackd did not register"; tail "$T/rackd.log"; exit 1; }
waitfor 10 grep -q "tftp: listening" "$T/rackd.log" || { cat "$T/rackd.log"; exit 1; }

# Pre-render every config from rackd itself: both sides serve the same bytes.
for i in $(seq 1 "$N"); do
	busybox tftp -g -b 1468 -r "pxelinux.cfg/01-$(dmac $i)" -l "$T/static/pxelinux.cfg/01-$(dmac $i)" \
		127.0.0.1 "$P_RACKD" || { echo "pre-render $i failed"; exit 1; }
	curl -sf -o "$T/static/ipxe.cfg-$(mac $i)" "http://127.0.0.1:$H_RACKD/ipxe.cfg-$(mac $i)" ||
		{ echo "pre-render ipxe $i failed"; exit 1; }
done
grep -q "ga-22.04/jammy/stable/boot-kernel" "$T/static/pxelinux.cfg/01-$(dmac 1)" ||
	{ echo "the config is not the image's:"; cat "$T/static/pxelinux.cfg/01-$(dmac 1)"; exit 1; }

/usr/sbin/in.tftpd -L -a 127.0.0.1:$P_HPA -s "$T/static" 2> "$T/hpa.log" & PIDS+=($!)
cat > "$T/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $T/nb; proxy_temp_path $T/np; fastcgi_temp_path $T/nf;
	uwsgi_temp_path $T/nu; scgi_temp_path $T/ns;
	default_type text/plain;
	server { listen 127.0.0.1:$H_NGINX; root $T/static; }
}
CONF
/usr/sbin/nginx -c "$T/nginx.conf" 2> "$T/nginx.log" & PIDS+=($!)
waitfor 10 curl -sf -o /dev/null "http://127.0.0.1:$H_NGINX/ipxe.cfg-$(mac 1)" ||
	{ cat "$T/nginx.log" "$T/nginx.err"; exit 1; }
sleep 0.3

# storm_tftp PORT — every client: bootloader, then its config; its latency
# in out/lat.<i> (ms); STORM_FAILS = clients whose files differ.
storm_tftp() {
	local p=$1 i pids=()
	for i in $(seq 1 "$N"); do
		( t0=$(date +%s%N)
		  busybox tftp -g -b 1468 -r lpxelinux.0 -l "$T/out/s$i.0" 127.0.0.1 "$p" 2>/dev/null &&
		  busybox tftp -g -b 1468 -r "pxelinux.cfg/01-$(dmac $i)" -l "$T/out/s$i.cfg" 127.0.0.1 "$p" 2>/dev/null
		  echo $(( ($(date +%s%N) - t0) / 1000000 )) > "$T/out/lat.$i" ) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	STORM_FAILS=0
	for i in $(seq 1 "$N"); do
		cmp -s "$R/lpxelinux.0" "$T/out/s$i.0" &&
		cmp -s "$T/static/pxelinux.cfg/01-$(dmac $i)" "$T/out/s$i.cfg" ||
			STORM_FAILS=$((STORM_FAILS + 1))
	done
}
# storm_http PORT — every client: its /ipxe.cfg-<mac>.
storm_http() {
	local p=$1 i pids=()
	for i in $(seq 1 "$N"); do
		( t0=$(date +%s%N)
		  curl -s -o "$T/out/h$i.cfg" --max-time 30 "http://127.0.0.1:$p/ipxe.cfg-$(mac $i)"
		  echo $(( ($(date +%s%N) - t0) / 1000000 )) > "$T/out/lat.$i" ) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	STORM_FAILS=0
	for i in $(seq 1 "$N"); do
		cmp -s "$T/static/ipxe.cfg-$(mac $i)" "$T/out/h$i.cfg" || STORM_FAILS=$((STORM_FAILS + 1))
	done
}

# The storm client: one asyncio process (default), or CLIENT=busybox for a
# busybox tftp / curl process per client (fork costs dominate then).
CLIENT=${CLIENT:-py}
storm() {	# storm tftp|http PORT — sets STORM_TIME, STORM_FAILS, out/lat.*
	local t0
	if [ "$CLIENT" = busybox ]; then
		t0=$(now)
		storm_$1 "$2"
		STORM_TIME=$(calc "$(now) - $t0")
		return
	fi
	$PY bench/pxe_storm_client.py "$1" "$2" "$T/static" "$N" > "$T/out/storm.json" ||
		{ echo "storm client failed"; exit 1; }
	eval "$($PY - "$T/out/storm.json" "$T/out" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
for i, v in enumerate(r["latencies_ms"]):
    open("%s/lat.%d" % (sys.argv[2], i), "w").write("%d\n" % v)
print("STORM_TIME=%.3f STORM_FAILS=%d" % (r["total_s"], r["failed"]))
for e in r["errors"]:
    sys.stderr.write("  client error: %s\n" % e)
PYEOF
)"
}

declare -A TIMES FAILS LAT
calls0=$(grep -c '"GetBootConfig"' "$T/region.calls")
for run in $(seq 1 "$RUNS"); do
	for case in tftp http; do
		for srv in rackd static; do
			case $case.$srv in
			tftp.rackd) p=$P_RACKD ;; tftp.static) p=$P_HPA ;;
			http.rackd) p=$H_RACKD ;; http.static) p=$H_NGINX ;;
			esac
			rm -f "$T"/out/*
			storm $case "$p"
			d=$STORM_TIME
			TIMES[$case.$srv]="${TIMES[$case.$srv]:-} $d"
			FAILS[$case.$srv]=$(( ${FAILS[$case.$srv]:-0} + STORM_FAILS ))
			LAT[$case.$srv]="${LAT[$case.$srv]:-} $(cat "$T"/out/lat.* | tr '\n' ' ')"
			printf 'run %d %-5s %-7s %7.3f s  (%d of %d clients failed)\n' "$run" "$case" \
				"$srv" "$d" "$STORM_FAILS" "$N"
		done
	done
done
calls=$(( $(grep -c '"GetBootConfig"' "$T/region.calls") - calls0 ))
echo
printf '%-44s %9s %9s %9s %9s %6s\n' "storm ($N clients, median of $RUNS)" total p50 p99 "ratio" fails
for case in tftp http; do
	for srv in rackd static; do
		a=$(echo ${TIMES[$case.$srv]} | tr ' ' '\n' | median)
		p50=$(echo ${LAT[$case.$srv]} | tr ' ' '\n' | pct 50)
		p99=$(echo ${LAT[$case.$srv]} | tr ' ' '\n' | pct 99)
		case $case.$srv in
		tftp.rackd) label="TFTP rackd (GetBootConfig, rendered)" ;;
		tftp.static) label="TFTP tftpd-hpa (static configs)" ;;
		http.rackd) label="HTTP rackd /ipxe.cfg-<mac> (GetBootConfig)" ;;
		http.static) label="HTTP nginx (static configs)" ;;
		esac
		r=""
		[ $srv = static ] && r=$(printf '%.2fx' "$(calc "$a / $(echo ${TIMES[$case.rackd]} | tr ' ' '\n' | median)")")
		printf '%-44s %8.3fs %7dms %7dms %9s %6d\n' "$label" "$a" "$p50" "$p99" "$r" "${FAILS[$case.$srv]}"
	done
done
echo "ratio: static time / rackd time (below 1: rackd slower).  GetBootConfig calls the region"
echo "answered during the storms: $calls (want $(( 2 * N * RUNS )))."
grep -E "(warning|error|busy|timed out)" "$T/rackd.log" | grep -v "power" | head -5
