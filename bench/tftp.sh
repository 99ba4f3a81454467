#!/bin/bash
# bench/tftp.sh [RUNS] — rackd's TFTP server against tftpd-hpa serving the
# same files on loopback, side by side:
#   * throughput: one 100 MiB file, busybox tftp at blksize 1468 (what PXE
#     ROMs ask) and atftp at blksize 8192 (tx-tftp's cap);
#   * PXE storm: 100 clients at once, each fetching a 60 KB bootloader and
#     a small config (busybox, blksize 1468).
# Prints each run, then medians and the ratio tftpd-hpa time / rackd time
# (above 1: rackd faster).  Run as root (tftpd-hpa chroots).  By hand.
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-3}
RACKD=${RACKD:-build/rackd}
T=$(mktemp -d /tmp/bench-tftp.XXXXXX)
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
for c in busybox atftp /usr/sbin/in.tftpd; do
	command -v $c >/dev/null || { echo "missing $c (tools/deps.sh)"; exit 1; }
done
[ -x "$RACKD" ] || { echo "build $RACKD first"; exit 1; }

port() { /usr/bin/python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
R=$T/root
mkdir -p "$R/pxelinux.cfg" "$T/out" "$T/data" "$T/run"
head -c $((100 * 1024 * 1024)) /dev/urandom > "$R/big"
head -c 61440 /dev/urandom > "$R/lpxelinux.0"
head -c 700 /dev/urandom > "$R/pxelinux.cfg/local.cfg"
echo 0123456789abcdef0123456789abcdef > "$T/secret"; chmod 600 "$T/secret"

P_RACKD=$(port); P_HPA=$(port)
cat > "$T/rackd.conf" <<CONF
maas_url: http://127.0.0.1:9/MAAS
secret_file: $T/secret
data_dir: $T/data
run_dir: $T/run
tftp_port: $P_RACKD
tftp_root: $R
CONF
"$RACKD" -f "$T/rackd.conf" 2> "$T/rackd.log" & PIDS+=($!)
# tftpd-hpa in the foreground, on loopback only, not as a service.
/usr/sbin/in.tftpd -L -a 127.0.0.1:$P_HPA -s "$R" 2> "$T/hpa.log" & PIDS+=($!)
for _ in $(seq 1 50); do grep -q "tftp: listening" "$T/rackd.log" && break; sleep 0.1; done
grep -q "tftp: listening" "$T/rackd.log" || { cat "$T/rackd.log"; exit 1; }
sleep 0.3

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
elapsed() { calc "$2 - $1"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

big_busybox() { busybox tftp -g -b 1468 -r big -l "$T/out/big" 127.0.0.1 "$1"; }
big_atftp() { atftp --option "blksize 8192" -g -r big -l "$T/out/big" 127.0.0.1 "$1" >/dev/null 2>&1; }
storm() {
	local p=$1 i pids=()
	for i in $(seq 1 100); do
		( busybox tftp -g -b 1468 -r lpxelinux.0 -l "$T/out/s$i.0" 127.0.0.1 "$p" &&
		  busybox tftp -g -b 1468 -r pxelinux.cfg/local.cfg -l "$T/out/s$i.cfg" 127.0.0.1 "$p" ) &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	# A client that failed is counted, not fatal: the comparison is
	# also about which server loses clients under a storm.
	STORM_FAILS=0
	for i in $(seq 1 100); do
		cmp -s "$R/lpxelinux.0" "$T/out/s$i.0" && cmp -s "$R/pxelinux.cfg/local.cfg" "$T/out/s$i.cfg" ||
			STORM_FAILS=$((STORM_FAILS + 1))
	done
}

declare -A TIMES FAILS
for run in $(seq 1 "$RUNS"); do
	for case in big_busybox big_atftp storm; do
		for srv in rackd hpa; do
			p=$P_RACKD; [ $srv = hpa ] && p=$P_HPA
			rm -f "$T"/out/*
			t0=$(now)
			$case "$p" || { echo "$case on $srv FAILED"; exit 1; }
			t1=$(now)
			note=""
			if [ "$case" != storm ]; then
				cmp -s "$R/big" "$T/out/big" || { echo "$case on $srv: corrupted"; exit 1; }
			else
				FAILS[$srv]=$(( ${FAILS[$srv]:-0} + STORM_FAILS ))
				note=" ($STORM_FAILS of 100 clients failed)"
			fi
			d=$(elapsed "$t0" "$t1")
			TIMES[$case.$srv]="${TIMES[$case.$srv]:-} $d"
			printf 'run %d %-12s %-6s %7.3f s%s\n' "$run" "$case" "$srv" "$d" "$note"
		done
	done
done
echo
printf '%-40s %10s %10s %8s\n' case rackd tftpd-hpa ratio
for case in big_busybox big_atftp storm; do
	a=$(echo ${TIMES[$case.rackd]} | tr ' ' '\n' | median)
	b=$(echo ${TIMES[$case.hpa]} | tr ' ' '\n' | median)
	case $case in
	big_busybox) label="100 MiB, blksize 1468 (busybox)" ;;
	big_atftp) label="100 MiB, blksize 8192 (atftp)" ;;
	storm) label="PXE storm: 100 x (60 KB + cfg)" ;;
	esac
	extra=""
	[ $case != storm ] && extra=$(printf '  (%.0f vs %.0f MiB/s)' "$(calc "100/$a")" "$(calc "100/$b")")
	printf '%-40s %9.3fs %9.3fs %7.2fx%s\n' "$label" "$a" "$b" "$(calc "$b/$a")" "$extra"
done
echo "storm clients failed over $RUNS runs: rackd ${FAILS[rackd]:-0}, tftpd-hpa ${FAILS[hpa]:-0}"
grep -E "tftp: .*(failure|timed out|busy)" "$T/rackd.log" | head -5
