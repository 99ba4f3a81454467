# bmc.sh — simulated BMCs (OpenIPMI ipmi_sim) for the power tests; source
# after lib.sh.  BMC i listens on 127.0.10.i:623 (loopback only), users:
#   admin/adminpw (admin), operator/oppw (operator), viewer/viewpw (user).
# State of BMC i: $T/bmc/i/state/{power,boot,events}.
# BMC_NETNS_<i>=NS BMC_ADDR_<i>=IP: BMC i runs inside namespace NS (one the
# test created) on IP instead; bmc_ipmitool then asks it from inside NS.
# BMC_KEY=<ascii, <= 20 chars> start_bmcs ... — those BMCs require that
# IPMI 2.0 K_g (ipmi_sim's hex form of bmc_key is broken: ASCII only).
command -v ipmi_sim >/dev/null || skip "ipmi_sim (openipmi) not installed"
command -v ipmitool >/dev/null || skip "ipmitool not installed"
[ "$(id -u)" = 0 ] || skip "needs root (BMC port 623)"
BMC_PIDS=()

bmc_addr() { local v=BMC_ADDR_$1; echo "${!v:-127.0.10.$1}"; }
bmc_netns() { local v=BMC_NETNS_$1; echo "${!v:-}"; }
# bmc_in I CMD... — CMD in BMC I's namespace (or here); exec'd, so $! of a
# background bmc_in is not the command: start_bmcs does not use it for that.
bmc_in() {
	local ns; ns=$(bmc_netns "$1"); shift
	if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}
bmc_state() { echo "$T/bmc/$1/state"; }
bmc_power() { cat "$T/bmc/$1/state/power"; }
bmc_set_power() { echo "$2" > "$T/bmc/$1/state/power"; }
# bmc_events I WHAT — how many "WHAT" changes BMC I saw (power, reset, boot...)
bmc_events() { awk -v w="$2" '$2 == w' "$T/bmc/$1/state/events" 2>/dev/null | wc -l; }

# start_bmcs FIRST LAST — start BMCs FIRST..LAST and wait until each answers.
start_bmcs() {
	local i d a kgline
	for i in $(seq "$1" "$2"); do
		d=$T/bmc/$i a=$(bmc_addr "$i")
		bmc_in "$i" ss -Huln "src $a:623" | grep -q . && fail "$a:623 already in use"
		mkdir -p "$d/state" "$d/sim"
		echo 0 > "$d/state/power"
		rm -f "$d/kg"
		kgline=
		if [ -n "${BMC_KEY:-}" ]; then
			printf '%s' "$BMC_KEY" > "$d/kg"
			kgline="bmc_key \"$BMC_KEY\""
		fi
		: > "$d/state/events"
		cat > "$d/lan.conf" <<-CONF
		name "bmc$i"
		set_working_mc 0x20
		  startlan 1
		    addr $a 623
		    priv_limit admin
		    allowed_auths_callback none md2 md5 straight
		    allowed_auths_user md2 md5 straight
		    allowed_auths_operator md2 md5 straight
		    allowed_auths_admin md2 md5 straight
		    guid a123456789abcdefa123456789abcdef
		    $kgline
		  endlan
		  chassis_control "$HELPERS/bmc_chassis.sh $d/state"
		  user 2 true "admin"    "adminpw" admin    10
		  user 3 true "operator" "oppw"    operator 10
		  user 4 true "viewer"   "viewpw"  user     10
		CONF
		local ns; ns=$(bmc_netns "$i")
		# ip netns exec execs ipmi_sim: $! is the simulator itself
		${ns:+ip netns exec "$ns"} env -u BMC_KEY ipmi_sim -c "$d/lan.conf" \
			-f "$HELPERS/bmc.emu" -s "$d/sim" -n >"$d/sim.log" 2>&1 </dev/null &
		echo $! > "$d/pid"
		register_pid "$(cat "$d/pid")"
	done
	for i in $(seq "$1" "$2"); do
		wait_for "BMC $i answering" 30 bmc_ipmitool "$i" chassis power status
	done
	log "BMCs $1..$2 up on $(bmc_addr "$1")..$(bmc_addr "$2"):623"
}

# bmc_ipmitool I ARGS — a direct ipmitool call (test-side checks only).
bmc_ipmitool() {
	local i=$1 kg=(); shift
	[ -f "$T/bmc/$i/kg" ] && kg=(-k "$(cat "$T/bmc/$i/kg")")
	bmc_in "$i" ipmitool -I lanplus -C 3 -N 1 -R 1 -H "$(bmc_addr "$i")" -U admin \
		-P adminpw "${kg[@]}" "$@" </dev/null
}
bmc_pid() { cat "$T/bmc/$1/pid"; }

# ipmi_node I [extra JSON fields] — a ListNodePowerParameters/PowerX node.
bmc_context() {
	local i=$1 extra=${2:-}
	echo "{\"power_address\": \"$(bmc_addr "$i")\", \"power_user\": \"admin\", \"power_pass\": \"adminpw\", \"power_driver\": \"LAN_2_0\", \"cipher_suite_id\": \"3\", \"privilege_level\": \"ADMIN\"${extra:+, $extra}}"
}
# power_args I [extra] — PowerOn/Off/Cycle/Query arguments for node I.
power_args() {
	echo "{\"system_id\": \"node$1\", \"hostname\": \"node$1.maas\", \"power_type\": \"ipmi\", \"context\": $(bmc_context "$1" "${2:-}")}"
}
