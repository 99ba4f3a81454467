#!/bin/sh
# Install every build, test and runtime dependency of rackd with apt-get.
# Idempotent and quiet when everything is already there.
set -e
PKGS="build-essential pkg-config libevent-dev libcurl4-openssl-dev libyaml-dev
libjansson-dev libssl-dev libsystemd-dev zlib1g-dev libcmocka-dev
clang-14 libclang-rt-14-dev valgrind python3 python3-twisted haproxy curl
kea-dhcp4-server kea-dhcp6-server kea-admin ipmitool openipmi iproute2 procps
psmisc jq socat isc-dhcp-client dpkg-dev debhelper lintian systemd
tftp-hpa atftp busybox-static tftpd-hpa nginx-light prometheus
kea-dev libboost-dev squashfs-tools xz-utils pxelinux syslinux-common
qemu-system-x86 ipxe-qemu ovmf grub-efi-amd64-bin dnsmasq-base cpio"
# qemu-system-x86 ipxe-qemu ovmf grub-efi-amd64-bin dnsmasq-base cpio: the
# VM boot tests (tests/integration/vm.sh: 077, 078, 084, 085) boot a QEMU VM (SeaBIOS +
# iPXE ROM, or OVMF with Debian's grubnetx64.efi) from rackd; dnsmasq-base
# (the binary, no service) sends one IPv6 RA and answers DNS in their rack
# namespace; cpio builds the busybox initrd.  They also `apt-get download`
# linux-image-amd64 once (needs the Debian archive; cached in
# /var/cache/rackd-test/pxe).
# grub-efi-amd64-bin is also the image sync's UEFI fallback on Debian (no
# shim-signed, no grub-efi-amd64-signed), and its grub-mkimage (grub-common)
# builds the UEFI bootloader of make_stream.py --uefi (079, 085).
# prometheus: only for promtool (tests check the metrics text with
# `promtool check metrics`); 19 MB to download.  Its server is kept from
# starting (policy-rc.d below) and disabled after the install.

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
# tftpd-hpa is only the benchmark's reference (bench/tftp.sh runs it in the
# foreground on loopback); its system service would hold port 69, which is
# rackd's, so it stays disabled.
case "$missing" in *tftpd-hpa*)
	if command -v systemctl >/dev/null 2>&1; then
		$SUDO systemctl disable --now tftpd-hpa >/dev/null 2>&1 || true
	fi ;;
esac
# nginx-light likewise: bench/http.sh runs it in the foreground on loopback
# as the reference for rackd's HTTP; its service would hold port 80.
case "$missing" in *nginx-light*)
	if command -v systemctl >/dev/null 2>&1; then
		$SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
	fi ;;
esac
case " $missing " in
*" prometheus "*) $SUDO systemctl disable prometheus >/dev/null 2>&1 || true ;;
esac
echo "deps: done"
