#!/bin/sh
# Install every build, test and runtime dependency of rackd with apt-get.
# Idempotent and quiet when everything is already there.
set -e
PKGS="build-essential pkg-config libevent-dev libcurl4-openssl-dev libyaml-dev
libjansson-dev libssl-dev libsystemd-dev zlib1g-dev libcmocka-dev
clang-14 libclang-rt-14-dev valgrind python3 python3-twisted haproxy curl
kea-dhcp4-server kea-dhcp6-server kea-admin ipmitool openipmi iproute2 procps
psmisc jq socat isc-dhcp-client dpkg-dev debhelper lintian systemd
squashfs-tools xz-utils busybox-static pxelinux syslinux-common"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d 101 keeps the freshly installed kea/haproxy services from
# starting: rackd runs its own Kea instances and tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
	$SUDO chmod 755 /usr/sbin/policy-rc.d
	trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
