#!/bin/bash
# Interface snapshot benchmark (by hand; figures go in the report, never
# asserted): N veth interfaces (N/2 pairs, an IPv4 and an IPv6 address on
# every one) in a network namespace created here, then RUNS rounds of
# ifsnap_read() + resources_build() + compact dump; median and max.
# Env: N=200 RUNS=21
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-200} RUNS=${RUNS:-21}
ns=rackd-bench-ifsnap-$$
bin=$(mktemp /tmp/ifsnap_bench.XXXXXX)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -f "$bin"; }
trap cleanup EXIT
make -s -C "$ROOT" build/librackd.a
PKGS="libevent libcurl yaml-0.1 jansson openssl libsystemd zlib"
cc -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT/include" -o "$bin" \
	"$ROOT/bench/ifsnap_bench.c" "$ROOT/build/librackd.a" \
	$(pkg-config --libs $PKGS) -lm
ip netns add "$ns"
{
	echo "link set lo up"
	for ((i = 0; i < N / 2; i++)); do
		echo "link add bv$i type veth peer name bp$i"
		echo "link set bv$i up"
		echo "link set bp$i up"
		echo "addr add 10.$((i / 250)).$((i % 250)).1/24 dev bv$i"
		echo "addr add 10.$((100 + i / 250)).$((i % 250)).1/24 dev bp$i"
		echo "addr add 2001:db8:$i::1/64 dev bv$i nodad"
		echo "addr add 2001:db8:$i::2/64 dev bp$i nodad"
	done
} | ip -n "$ns" -batch -
ip netns exec "$ns" "$bin" "$RUNS"
