#!/bin/bash
# bench/http.sh [RUNS] — rackd's /images/ against nginx (nginx-light, one
# worker, sendfile on, the alias MAAS's site uses) serving the same tree on
# loopback, side by side:
#   * one 1 GiB file (sparse but for 64 MiB of random data at its start);
#   * 50 clients at once, each fetching the same 40 MiB file.
# Prints each run, the medians, the ratio nginx time / rackd time (above 1:
# rackd faster) and both servers' peak RSS.  By hand.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-3}
RACKD=${RACKD:-build/rackd}
T=$(mktemp -d /tmp/bench-http.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
for c in curl /usr/sbin/nginx; do
	command -v $c >/dev/null || { echo "missing $c (tools/deps.sh)"; exit 1; }
done
[ -x "$RACKD" ] || { echo "build $RACKD first"; exit 1; }

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
R=$T/root
mkdir -p "$R/ubuntu" "$T/data" "$T/run" "$T/nginx"
truncate -s 1G "$R/ubuntu/big"
head -c $((64 * 1024 * 1024)) /dev/urandom | dd of="$R/ubuntu/big" conv=notrunc 2>/dev/null
head -c $((40 * 1024 * 1024)) /dev/urandom > "$R/ubuntu/squashfs"
echo 0123456789abcdef0123456789abcdef > "$T/secret"; chmod 600 "$T/secret"

P_RACKD=$(port); P_NGINX=$(port)
cat > "$T/rackd.conf" <<CONF
maas_url: http://127.0.0.1:9/MAAS
secret_file: $T/secret
data_dir: $T/data
run_dir: $T/run
tftp_port: 0
tftp_root: $R
refresh: {enabled: false}
http: {port: $P_RACKD, internal_port: 0, bind: "127.0.0.1"}
CONF
cat > "$T/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
    sendfile on;
    access_log off;
    client_body_temp_path $T/nginx;
    proxy_temp_path $T/nginx;
    fastcgi_temp_path $T/nginx;
    uwsgi_temp_path $T/nginx;
    scgi_temp_path $T/nginx;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$P_NGINX;
        location /images/ { alias $R/; }
    }
}
CONF
"$RACKD" -f "$T/rackd.conf" 2> "$T/rackd.log" & RPID=$!; PIDS+=($RPID)
/usr/sbin/nginx -c "$T/nginx/nginx.conf" -p "$T/nginx" 2> "$T/nginx.log" & NPID=$!; PIDS+=($NPID)
for _ in $(seq 1 50); do
	curl -sf -o /dev/null "http://127.0.0.1:$P_RACKD/images/ubuntu/squashfs" &&
		curl -sf -o /dev/null "http://127.0.0.1:$P_NGINX/images/ubuntu/squashfs" && break
	sleep 0.1
done
# Warm the page cache for both.
cat "$R/ubuntu/big" "$R/ubuntu/squashfs" > /dev/null

# one PORT — seconds for the 1 GiB file.
one() { curl -sf -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$1/images/ubuntu/big"; }
# many PORT — seconds for 50 parallel 40 MiB downloads (all must succeed).
many() {
	local s e i pids=()
	s=$(date +%s.%N)
	for i in $(seq 1 50); do
		curl -sf -o /dev/null "http://127.0.0.1:$1/images/ubuntu/squashfs" &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || echo "a download failed" >&2; done
	e=$(date +%s.%N)
	echo "$e - $s" | bc -l
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A res
for r in $(seq 1 "$RUNS"); do
	for s in rackd nginx; do
		p=$P_RACKD; [ $s = nginx ] && p=$P_NGINX
		t1=$(one $p); tn=$(many $p)
		printf 'run %d %-5s 1GiB %6.3fs  50x40MiB %6.3fs\n' "$r" $s "$t1" "$tn"
		res[$s-one]+="$t1 "; res[$s-many]+="$tn "
	done
done
for k in one many; do
	a=$(echo ${res[rackd-$k]} | tr ' ' '\n' | median)
	b=$(echo ${res[nginx-$k]} | tr ' ' '\n' | median)
	size=1024; [ $k = many ] && size=2000
	printf '%-4s median: rackd %.3fs (%.0f MiB/s)  nginx %.3fs (%.0f MiB/s)  nginx/rackd %.2f\n' \
		$k "$a" "$(echo "$size / $a" | bc -l)" "$b" "$(echo "$size / $b" | bc -l)" \
		"$(echo "$b / $a" | bc -l)"
done
printf 'peak RSS: rackd %s kB, nginx %s kB\n' \
	"$(awk '/VmHWM/ {print $2}' /proc/$RPID/status)" \
	"$(awk '/VmHWM/ {print $2}' /proc/$NPID/status)"
