#!/bin/bash
# fake_ipmitool.sh — stands in for ipmitool where ipmi_sim cannot: it keeps
# the boot flags' BIOS boot type (EFI bit), which ipmi_sim drops.  State in
# $FAKE_IPMI_DIR/<host>/{power,efi,bootdev,argv}: power 0|1, efi 0|1 (the
# machine's boot type), bootdev the last "bootdev" arguments.  Accepts the
# argv rackd builds (ipmi_argv) and reads the password on -f's file.
# FAKE_IPMI_DIR comes from a file next to this script (rackd gives its
# children a fixed environment).
dir=$(cat "$(dirname "$0")/fake_ipmitool.dir" 2>/dev/null) || exit 2
host= pwfile= cmd=()
while [ $# -gt 0 ]; do
	case $1 in
	-H) host=$2; shift 2 ;;
	-f) pwfile=$2; shift 2 ;;
	-I|-U|-L|-C|-N|-R|-p|-o) shift 2 ;;
	-v|-Y) shift ;;
	*) cmd+=("$1"); shift ;;
	esac
done
pw=$(head -1 "$pwfile")
[ "$pw" = adminpw ] || { echo "> RAKP 2 HMAC is invalid" >&2; echo "Error: Unable to establish IPMI v2 / RMCP+ session" >&2; exit 1; }
s=$dir/$host
mkdir -p "$s"
echo "${cmd[*]}" >> "$s/argv"
case "${cmd[*]}" in
"chassis power status")
	[ "$(cat "$s/power" 2>/dev/null)" = 1 ] && echo "Chassis Power is on" || echo "Chassis Power is off" ;;
"chassis power on"|"chassis power cycle")
	echo 1 > "$s/power"; echo "Chassis Power Control: ${cmd[2]/on/Up/On}" | sed 's/cycle/Cycle/' ;;
"chassis power off")
	echo 0 > "$s/power"; echo "Chassis Power Control: Down/Off" ;;
"chassis bootparam get 5")
	if [ "$(cat "$s/efi" 2>/dev/null)" = 1 ]; then b=a0; t="BIOS EFI boot "; else b=80; t="BIOS PC Compatible (legacy) boot "; fi
	printf 'Boot parameter version: 1\nBoot parameter 5 is valid/unlocked\nBoot parameter data: %s00000000\n Boot Flags :\n   - Boot Flag Valid\n   - %s\n' "$b" "$t" ;;
"chassis bootdev pxe"*)
	echo "${cmd[*]}" > "$s/bootdev"
	case "${cmd[*]}" in *options=efiboot*) echo 1 > "$s/efi" ;; *) echo 0 > "$s/efi" ;; esac
	echo "Set Boot Device to pxe" ;;
*) echo "fake_ipmitool: unsupported: ${cmd[*]}" >&2; exit 1 ;;
esac
exit 0
