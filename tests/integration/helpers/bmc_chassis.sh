#!/bin/sh
# ipmi_sim chassis_control program for the simulated BMCs of the tests.
# ipmi_sim runs it synchronously (popen) in its only thread:
#   bmc_chassis.sh STATEDIR get power [boot ...]  -> prints "power:0|1" lines
#   bmc_chassis.sh STATEDIR set power 1|0 ...     -> exit 0
# State lives in STATEDIR/power so a test can read or flip it; every
# change is appended to STATEDIR/events ("<epoch> <what> <value>") so a
# test can count cycles.  STATEDIR/delay (seconds) makes the whole BMC
# slow, because ipmi_sim waits for this script.
d=$1; shift
op=$1; shift
[ -f "$d/delay" ] && sleep "$(cat "$d/delay")"
case "$op" in
get)
	for item in "$@"; do
		case "$item" in
		power) echo "power:$(cat "$d/power" 2>/dev/null || echo 0)" ;;
		boot) echo "boot:$(cat "$d/boot" 2>/dev/null || echo none)" ;;
		*) echo "$item:0" ;;
		esac
	done ;;
set)
	while [ $# -ge 2 ]; do
		case "$1" in
		power) echo "$2" > "$d/power" ;;
		shutdown) echo 0 > "$d/power" ;;
		boot) echo "$2" > "$d/boot" ;;
		esac
		echo "$(date +%s.%N) $1 $2" >> "$d/events"
		shift 2
	done ;;
check) ;;
*) exit 1 ;;
esac
exit 0
