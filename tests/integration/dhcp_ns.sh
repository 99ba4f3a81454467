# dhcp_ns.sh — a DHCP segment in network namespaces for the Kea tests;
# source after lib.sh.  Everything lives in namespaces this test creates:
#
#   <p>-reg [eth0 10.88.0.1/16]  fake region (AMP + HTTP on 10.88.0.1)
#   <p>-rk1 [eth0 10.88.0.2/16]  rack 1 (rackd + its Kea)  --veth--+-- br0 in <p>-sw
#   <p>-rk2 [eth0 10.88.0.3/16]  rack 2                     --veth--+
#   <p>-cl  [eth0, no address]   DHCP clients               --veth--+
#
# Each rack has its own hostname (a UTS namespace via unshare), data dir
# and run dir under $T/rk1, $T/rk2.
command -v kea-dhcp4 >/dev/null || skip "kea-dhcp4 not installed"
command -v dhclient >/dev/null || skip "dhclient (isc-dhcp-client) not installed"
command -v unshare >/dev/null || skip "unshare not installed"
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, port 67)"
NSP=rkd$$
SUBNET=10.88.0.0/16
REGION_IP=10.88.0.1
RACK_IP_1=10.88.0.2
RACK_IP_2=10.88.0.3
POOL_LOW=${POOL_LOW:-10.88.1.1}
POOL_HIGH=${POOL_HIGH:-10.88.1.200}

# dhclient's own configuration (it requests and sends the same as Debian's
# /etc/dhcp/dhclient.conf) with a short retransmission: a DISCOVER sent
# while the client's veth is still coming up is lost, and dhclient's
# default schedule (10 s initial interval, 15 s cap) then waits 5-12 s
# before asking again.  Clients pass -cf "$DHCLIENT_CONF".
DHCLIENT_CONF=$T/dhclient.conf
{
	cat /etc/dhcp/dhclient.conf 2>/dev/null
	echo "initial-interval 1;"
	echo "backoff-cutoff 2;"
} > "$DHCLIENT_CONF"

ns() { echo "$NSP-$1"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

dhcp_ns_up() {
	local n
	# Kea instances belong to their rackd; if a test kills a rackd hard,
	# its Kea would outlive the test: make sure none does.
	on_exit "pkill -9 -f 'kea-dhcp[46] -c $T/' 2>/dev/null; pkill -9 -f 'dhclient.*$T/' 2>/dev/null"
	for n in sw reg rk1 rk2 cl; do
		ip netns add "$(ns $n)" || skip "cannot create network namespaces"
		_NETNS+=("$(ns $n)")
		ip -n "$(ns $n)" link set lo up
	done
	ip -n "$(ns sw)" link add br0 type bridge
	ip -n "$(ns sw)" link set br0 up
	for n in reg rk1 rk2 cl; do
		ip link add eth0 netns "$(ns $n)" type veth peer name "sw-$n" netns "$(ns sw)"
		ip -n "$(ns sw)" link set "sw-$n" master br0
		ip -n "$(ns sw)" link set "sw-$n" up
		ip -n "$(ns $n)" link set eth0 up
	done
	ip -n "$(ns reg)" addr add $REGION_IP/16 dev eth0
	ip -n "$(ns rk1)" addr add $RACK_IP_1/16 dev eth0
	ip -n "$(ns rk2)" addr add $RACK_IP_2/16 dev eth0
	log "namespaces up: $(ns reg) $(ns rk1) $(ns rk2) $(ns cl) on bridge $(ns sw)/br0"
}

# dhcp_ns_add_rack N IP — one more rack namespace <p>-rkN on the bridge
# (rack N then starts with start_ns_rack N).
dhcp_ns_add_rack() {
	local n=rk$1
	ip netns add "$(ns $n)" || fail "cannot create namespace $(ns $n)"
	_NETNS+=("$(ns $n)")
	ip -n "$(ns $n)" link set lo up
	ip link add eth0 netns "$(ns $n)" type veth peer name "sw-$n" netns "$(ns sw)"
	ip -n "$(ns sw)" link set "sw-$n" master br0
	ip -n "$(ns sw)" link set "sw-$n" up
	ip -n "$(ns $n)" link set eth0 up
	ip -n "$(ns $n)" addr add "$2/16" dev eth0
}

# link_down N / link_up N — cut or restore rack N's cable.
link_down() { ip -n "$(ns sw)" link set "sw-rk$1" down; }
link_up() { ip -n "$(ns sw)" link set "sw-rk$1" up; }

# start_ns_region — the fake region inside <p>-reg, listening on REGION_IP.
# Its control API is on 127.0.0.1 of that namespace: use nctl.
start_ns_region() {
	local ready=$T/region-r1.ready
	rm -f "$ready"
	mkdir -p "$T/db"
	[ -f "$T/secret" ] || make_secret "$T/secret"
	# ip netns exec directly (not the nsx function): $! must be the
	# process itself, so cleanup kills it and not a subshell.
	ip netns exec "$(ns reg)" $PY "$HELPERS/fake_region.py" --name r1 --loops 1 \
		--secret-file "$T/secret" --db "$T/db" --amp-host $REGION_IP \
		--http-host $REGION_IP --record "$T/region-r1.calls" \
		--log "$T/region-r1.log" --ready-file "$ready" "$@" \
		> "$T/region-r1.out" 2>&1 &
	REGION_PID_r1=$!
	register_pid $REGION_PID_r1
	wait_for "fake region ready" 20 test -s "$ready"
	REGION_HTTP_r1=$(sed -n 's/.* http=\([0-9]*\).*/\1/p' "$ready")
	REGION_CTL_r1=$(sed -n 's/.* control=\([0-9]*\).*/\1/p' "$ready")
	log "region r1 in $(ns reg): $(cat "$ready")"
}
nctl() { nsx reg $PY "$HELPERS/region_ctl.py" --control "$REGION_CTL_r1" "$@"; }

# start_ns_rack N — rackd for rack N in <p>-rkN with hostname rackN.
start_ns_rack() {
	local n=$1 d=$T/rk$1
	mkdir -p "$d/data" "$d/run"
	cat > "$d/rackd.conf" <<-CONF
	maas_url: http://$REGION_IP:$REGION_HTTP_r1/MAAS
	secret_file: $T/secret
	data_dir: $d/data
	run_dir: $d/run
	hostname: rack$n
	power:
	  monitor_interval: ${RACK_MONITOR_INTERVAL:-0}
	dhcp:
	  lease_hook: ${LEASE_HOOK:-library}
	  lease_hook_library: $(dirname "$RACKD")/rackd-lease-hook.so
	  lease_hook_script: $(dirname "$RACKD")/rackd-lease-hook
	${DHCP_EXTRA_CONF:-}
	CONF
	ip netns exec "$(ns rk$n)" unshare --uts sh -c "hostname rack$n; exec $RACKD_WRAPPER $RACKD -d -f $d/rackd.conf" >> "$d/rackd.log" 2>&1 &
	eval "RACK_PID_$n=$!"
	register_pid $!
	log "rack$n started in $(ns rk$n): pid $!"
}
rack_pid() { local v=RACK_PID_$1; echo "${!v}"; }
stop_ns_rack() { stop_rackd "$(rack_pid "$1")"; }
rack_log() { echo "$T/rk$1/rackd.log"; }
rack_registered() { nctl connections | grep -q "\"hostname\": \"rack$1\""; }

# kea_pids N — pids of Kea processes rack N runs.
kea_pids() { pgrep -f "kea-dhcp4 -c $T/rk$1/" || true; }

# dhcp_args MODE ADDRESS PEER [HOSTS_JSON] — ConfigureDHCPv4 arguments for
# the segment; MODE primary|secondary|none (no failover peer).
dhcp_args() {
	local mode=$1 addr=$2 peer=$3 hosts=${4:-[]} peers="[]" fp=""
	if [ "$mode" != none ]; then
		peers="[{\"name\": \"failover-vlan-5001\", \"mode\": \"$mode\", \"address\": \"$addr\", \"peer_address\": \"$peer\"}]"
		fp=", \"failover_peer\": \"failover-vlan-5001\""
	fi
	cat <<-JSON
	{"omapi_key": "SGVsbG8=", "failover_peers": $peers,
	 "shared_networks": [{"name": "vlan-5001", "mtu": 1500, "interface": "eth0", "subnets": [
	   {"subnet": "10.88.0.0", "subnet_mask": "255.255.0.0", "subnet_cidr": "$SUBNET",
	    "broadcast_ip": "10.88.255.255", "router_ip": "10.88.0.254",
	    "dns_servers": ["$REGION_IP"], "ntp_servers": ["$REGION_IP"], "domain_name": "maas",
	    "search_list": ["maas"], "disabled_boot_architectures": [],
	    "pools": [{"ip_range_low": "$POOL_LOW", "ip_range_high": "$POOL_HIGH"$fp}]}]}],
	 "hosts": $hosts, "interfaces": [{"name": "eth0"}], "global_dhcp_snippets": []}
	JSON
}

# dhcp_client MAC — one DORA from the client namespace with dhclient;
# prints "IP SERVER" (the server that acked) or fails.
dhcp_client() {
	local mac=$1 tag=c${1//:/} cl
	cl=$(ns cl)
	ip -n "$cl" link set eth0 down
	ip -n "$cl" link set eth0 address "$mac"
	ip -n "$cl" link set eth0 up
	rm -f "$T/$tag.lease" "$T/$tag.pid"
	# No command substitution in the background command: its forked
	# shell would then run the test's EXIT trap (all cleanup) when done.
	timeout 20 ip netns exec "$cl" dhclient -4 -1 -v -d -sf /bin/true \
		-cf "$DHCLIENT_CONF" -lf "$T/$tag.lease" -pf "$T/$tag.pid" eth0 > "$T/$tag.out" 2>&1 &
	local p=$! i
	for i in $(seq 1 200); do
		grep -q "DHCPACK" "$T/$tag.out" && break
		kill -0 $p 2>/dev/null || break
		sleep 0.1
	done
	kill $p 2>/dev/null; wait $p 2>/dev/null
	sed -n 's/.*DHCPACK of \([0-9.]*\) from \([0-9.]*\).*/\1 \2/p' "$T/$tag.out" | head -1
}

# kea_cmd N COMMAND [ARGS_JSON] — a command on rack N's HA Kea control socket.
kea_sock() { echo "$T/rk$1/run/kea4-${2:-failover-vlan-5001}.sock"; }
kea_cmd() {
	local sock; sock=$(kea_sock "$1")
	printf '{"command": "%s"%s}' "$2" "${3:+, \"arguments\": $3}" | \
		timeout 5 socat -t 5 - "UNIX-CONNECT:$sock" 2>/dev/null
}
# ha_state N — rack N's local HA state ("" when unknown).
ha_state() {
	kea_cmd "$1" status-get | $PY -c 'import json,sys
try:
    a=json.load(sys.stdin)["arguments"]["high-availability"][0]["ha-servers"]["local"]["state"]
except Exception: a=""
print(a)'
}
# lease_on N IP — rack N's Kea has a lease for IP.
lease_on() { kea_cmd "$1" lease4-get "{\"ip-address\": \"$2\"}" | grep -q '"result": 0'; }
# kea_pid N — pid of rack N's HA Kea (from its status-get).
kea_pid() {
	kea_cmd "$1" status-get | $PY -c 'import json,sys
try: print(json.load(sys.stdin)["arguments"]["pid"])
except Exception: print("")'
}
# region_leases — the lease updates the region received, one "action ip mac" per line.
region_leases() {
	grep '"dir": "in"' "$T/region-r1.calls" 2>/dev/null | grep '"command": "UpdateLeases"' | \
		$PY -c 'import json,sys
for l in sys.stdin:
    for u in json.loads(l)["args"].get("updates", []):
        print(u.get("action"), u.get("ip"), u.get("mac"))'
}
# rack_sid N — rack N's system_id as the region knows it.
rack_sid() {
	nctl connections | $PY -c 'import json,sys
for c in json.load(sys.stdin):
    if c.get("hostname") == "rack'"$1"'" and c.get("system_id"): print(c["system_id"]); break'
}
# configure N ARGS_JSON — ConfigureDHCPv4 to rack N; prints the region's view.
configure() { nctl call --system-id "$(rack_sid "$1")" --timeout 40 ConfigureDHCPv4 "$2"; }

# --- DHCPv6 (the same segment, fd88::/64 beside 10.88.0.0/16) ----------------
SUBNET6=fd88::/64
RACK6_IP_1=fd88::2
RACK6_IP_2=fd88::3
POOL6_LOW=${POOL6_LOW:-fd88::100}
POOL6_HIGH=${POOL6_HIGH:-fd88::1ff}

# dhcp6_ns_up — IPv6 on the racks (no DAD: Kea's HA listener binds the
# address at once) and a client whose link-local address is usable as
# soon as its link is up (dhcp6_client changes its MAC each time).
dhcp6_ns_up() {
	ip -n "$(ns rk1)" addr add $RACK6_IP_1/64 dev eth0 nodad
	ip -n "$(ns rk2)" addr add $RACK6_IP_2/64 dev eth0 nodad
	nsx cl sysctl -qw net.ipv6.conf.eth0.accept_dad=0
}

# dhcp6_args MODE ADDRESS PEER — ConfigureDHCPv6 arguments for the segment;
# MODE primary|secondary|none (no failover peer).
dhcp6_args() {
	local mode=$1 addr=$2 peer=$3 peers="[]" fp=""
	if [ "$mode" != none ]; then
		peers="[{\"name\": \"failover-vlan-5001\", \"mode\": \"$mode\", \"address\": \"$addr\", \"peer_address\": \"$peer\"}]"
		fp=", \"failover_peer\": \"failover-vlan-5001\""
	fi
	cat <<-JSON
	{"omapi_key": "SGVsbG8=", "failover_peers": $peers,
	 "shared_networks": [{"name": "vlan-5001", "mtu": 1500, "interface": "eth0", "subnets": [
	   {"subnet": "fd88::", "subnet_mask": "ffff:ffff:ffff:ffff::", "subnet_cidr": "$SUBNET6",
	    "broadcast_ip": "fd88::ffff:ffff:ffff:ffff", "router_ip": "", "dns_servers": ["fd88::1"],
	    "ntp_servers": [], "domain_name": "maas", "search_list": ["maas"], "disabled_boot_architectures": [],
	    "pools": [{"ip_range_low": "$POOL6_LOW", "ip_range_high": "$POOL6_HIGH"$fp}]}]}],
	 "hosts": [], "interfaces": [{"name": "eth0"}], "global_dhcp_snippets": []}
	JSON
}

# link_local N — rack N's link-local address (what a DHCPv6 reply comes from).
link_local() {
	ip -n "$(ns "rk$1")" -6 addr show dev eth0 scope link | \
		sed -n 's/.*inet6 \(fe80::[0-9a-f:]*\)\/64.*/\1/p' | head -1
}

# dhcp6_client MAC [SECONDS] — one Solicit/Advertise/Request/Reply from the
# client namespace with dhclient -6, as the host with that MAC (so a new
# DUID and IAID per MAC; the DUID is kept in $T/c6<mac>.duid, so the same
# MAC asks again as the same client).  Prints "ADDRESS SERVER_LINK_LOCAL",
# or nothing when no Reply came within SECONDS (default 20).
dhcp6_client() {
	local mac=$1 secs=${2:-20} tag=c6${1//:/} cl p i
	cl=$(ns cl)
	ip -n "$cl" link set eth0 down
	ip -n "$cl" link set eth0 address "$mac"
	ip -n "$cl" link set eth0 up
	# dhclient -6 binds the link-local address, which the kernel adds a
	# moment after the link is up (no DAD here): wait for it.
	for i in $(seq 1 100); do
		ip -n "$cl" -6 addr show dev eth0 scope link | grep -q inet6 &&
			! ip -n "$cl" -6 addr show dev eth0 | grep -q tentative && break
		sleep 0.02
	done
	rm -f "$T/$tag.lease" "$T/$tag.pid"
	[ -f "$T/$tag.duid" ] && cp "$T/$tag.duid" "$T/$tag.lease"
	timeout "$secs" ip netns exec "$cl" dhclient -6 -1 -v -d -sf /bin/true \
		-lf "$T/$tag.lease" -pf "$T/$tag.pid" eth0 > "$T/$tag.out" 2>&1 &
	p=$!
	for i in $(seq 1 $((secs * 20))); do
		grep -q "RCV: Reply message" "$T/$tag.out" && grep -q "IAADDR" "$T/$tag.out" && break
		kill -0 $p 2>/dev/null || break
		sleep 0.05
	done
	kill $p 2>/dev/null; wait $p 2>/dev/null
	if ! grep -q "RCV: Reply message" "$T/$tag.out"; then
		log "dhclient -6 as $mac: no Reply: $(grep -v '^$' "$T/$tag.out" | tail -4 | tr '\n' '|')" >&2
		return 0
	fi
	[ -f "$T/$tag.duid" ] || grep '^default-duid' "$T/$tag.lease" > "$T/$tag.duid" 2>/dev/null
	printf '%s %s\n' \
		"$(sed -n 's/.*IAADDR \([0-9a-f:]*\).*/\1/p' "$T/$tag.out" | tail -1)" \
		"$(sed -n 's/.*RCV: Reply message on [^ ]* from \([0-9a-f:]*\).*/\1/p' "$T/$tag.out" | tail -1)"
}

# kea6_cmd N COMMAND [ARGS_JSON] — a command on rack N's v6 HA Kea socket.
kea6_cmd() {
	printf '{"command": "%s"%s}' "$2" "${3:+, \"arguments\": $3}" | \
		timeout 5 socat -t 5 - "UNIX-CONNECT:$T/rk$1/run/kea6-failover-vlan-5001.sock" 2>/dev/null
}
ha6_state() {
	kea6_cmd "$1" status-get | $PY -c 'import json,sys
try:
    a=json.load(sys.stdin)["arguments"]["high-availability"][0]["ha-servers"]["local"]["state"]
except Exception: a=""
print(a)'
}
# leases6_on N — the addresses rack N's v6 HA Kea holds (lease6-get-all), one a line.
leases6_on() {
	kea6_cmd "$1" lease6-get-all | $PY -c 'import json,sys
try:
    for l in json.load(sys.stdin)["arguments"]["leases"]: print(l["ip-address"])
except Exception: pass'
}
kea6_pids() { pgrep -f "kea-dhcp6 -c $T/rk$1/" || true; }
# configure6 N ARGS_JSON — ConfigureDHCPv6 to rack N.
configure6() { nctl call --system-id "$(rack_sid "$1")" --timeout 40 ConfigureDHCPv6 "$2"; }
