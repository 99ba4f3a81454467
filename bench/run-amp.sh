#!/bin/bash
# AMP wire encode+decode: rackd's C codec vs Twisted's AMP on the same box
# and machine; medians of 5 runs and their ratio.
set -eu
cd "$(dirname "$0")/.."
make -s build/librackd.a
PKGS="libevent libcurl yaml-0.1 jansson openssl libsystemd zlib"
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -o build/amp_bench bench/amp_bench.c build/librackd.a $(pkg-config --libs $PKGS)
med() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
c=$(for i in 1 2 3 4 5; do build/amp_bench 300000 | awk '{print $2}'; done | med)
t=$(for i in 1 2 3 4 5; do /usr/bin/python3 bench/amp_bench_twisted.py 50000 | awk '{print $2}'; done | med)
echo "AMP encode+decode, PowerQuery box: C $c boxes/s, Twisted $t boxes/s, ratio $(awk -v a="$c" -v b="$t" 'BEGIN{printf "%.1f", a/b}')x (medians of 5)"
