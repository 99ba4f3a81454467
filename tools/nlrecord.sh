#!/bin/bash
# Record real rtnetlink answers of this kernel into tests/unit/data/netlink/
# (run as root, by hand; the files are committed).  Everything happens in a
# network namespace created here and deleted on exit.
#
#   eth0  veth, up: 10.0.0.2/24, 10.0.0.3/24 (IFA_F_SECONDARY), VIP
#         10.0.0.100/32, 2001:db8:0:1::2/64, VIP 2001:db8:0:1::100/128,
#         2001:db8:0:1::7/64 added without nodad just before the dump
#         (tentative), default routes via 10.0.0.1 and 2001:db8:0:1::1
#   eth1, eth2  veths, bridge ports of br0 (IFLA_MASTER)
#   br0   bridge, up: 10.1.0.2/24, dynamic 2001:db8:0:2::5/64 (lifetimes)
#   eth3  veth, up: dynamic 10.2.0.5/24 (valid_lft 300), dynamic
#         10.2.0.9/32 (a DHCP /32 lease)
#   eth4  veth, down, no address
#   events.bin: eth9 created, 10.9.0.1/24 added and deleted, eth9 deleted
set -eu
cd "$(dirname "$0")/.."
out=tests/unit/data/netlink
ns=rackd-nlrec-$$
rec=$(mktemp /tmp/nlrecord.XXXXXX)
cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -f "$rec"; }
trap cleanup EXIT
gcc -O2 -Wall -o "$rec" tools/nlrecord.c
mkdir -p "$out"
ip netns add "$ns"
n() { ip -n "$ns" "$@"; }
n link set lo up
n link add eth0 address 52:54:00:00:00:01 type veth peer name peer0
n link add eth1 address 52:54:00:00:00:02 type veth peer name peer1
n link add eth2 address 52:54:00:00:00:03 type veth peer name peer2
n link add eth3 address 52:54:00:00:00:04 type veth peer name peer3
n link add eth4 address 52:54:00:00:00:05 type veth peer name peer4
n link add br0 address 52:54:00:00:00:10 type bridge
n link set eth1 master br0
n link set eth2 master br0
for i in eth0 eth1 eth2 eth3 br0 peer0 peer1 peer2 peer3; do n link set "$i" up; done
n addr add 10.0.0.2/24 dev eth0
n addr add 10.0.0.3/24 dev eth0
n addr add 10.0.0.100/32 dev eth0
n addr add 2001:db8:0:1::2/64 dev eth0 nodad
n addr add 2001:db8:0:1::100/128 dev eth0 nodad
n addr add 10.1.0.2/24 dev br0
n addr add 2001:db8:0:2::5/64 dev br0 valid_lft 300 preferred_lft 300 nodad
n addr add 10.2.0.5/24 dev eth3 valid_lft 300 preferred_lft 300
n addr add 10.2.0.9/32 dev eth3 valid_lft 300 preferred_lft 300
n route add default via 10.0.0.1
n -6 route add default via 2001:db8:0:1::1
n addr add 2001:db8:0:1::7/64 dev eth0
for w in link addr route4 route6; do
	ip netns exec "$ns" "$rec" dump "$w" > "$out/$w.bin"
done
# Events: the monitor says "ready" on stderr once it is subscribed.
fifo=$(mktemp -u /tmp/nlrecord-fifo.XXXXXX); mkfifo "$fifo"
ip netns exec "$ns" "$rec" monitor 1000 > "$out/events.bin" 2> "$fifo" &
mon=$!
read -r _ < "$fifo"; rm -f "$fifo"
n link add eth9 address 52:54:00:00:00:09 type veth peer name peer9
n addr add 10.9.0.1/24 dev eth9
n addr del 10.9.0.1/24 dev eth9
n link del eth9
wait "$mon"
ls -l "$out"
