#!/bin/bash
# Boot pieces benchmark (by hand; figures go in the report, never
# asserted): builds a boot-resources tree like a busy rack's (RELEASES
# Ubuntu releases x 6 kernel subarches x amd64/arm64, hard-linked files,
# bootloaders, maas.meta) in a temp dir and times the scan, a cache hit,
# the ListBootImages encoding, a name match and the three renders.
# Env: RUNS=21
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-21}
tmp=$(mktemp -d /tmp/boot_bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
make -s -C "$ROOT" build/librackd.a
PKGS="libevent libcurl yaml-0.1 jansson openssl libsystemd zlib"
cc -std=c11 -D_GNU_SOURCE -O2 -I"$ROOT/include" -o "$tmp/bench" \
	"$ROOT/bench/boot_bench.c" "$ROOT/build/librackd.a" \
	$(pkg-config --libs $PKGS) -lm
snap=$tmp/boot-resources/snapshot-1
mkdir -p "$snap/cache"
for rel in bionic:18.04 focal:20.04 jammy:22.04 noble:24.04 oracular:24.10; do
	r=${rel%%:*} v=${rel#*:}
	for arch in amd64 arm64; do
		first=
		for sub in ga-$v hwe-$v hwe-$v-edge hwe-$v-lowlatency generic ga-$v-lowlatency; do
			d=$snap/ubuntu/$arch/$sub/$r/stable
			mkdir -p "$d"
			if [ -z "$first" ]; then
				for f in boot-kernel boot-initrd squashfs; do echo x > "$d/$f"; done
				first=$d
			else
				for f in boot-kernel boot-initrd squashfs; do ln "$first/$f" "$d/$f"; done
			fi
		done
	done
done
mkdir -p "$snap/bootloader/pxe/i386" "$snap/bootloader/uefi/amd64" "$snap/bootloader/uefi/arm64" "$snap/bootloader/open-firmware/ppc64el"
echo '{}' > "$snap/maas.meta"
ln -s snapshot-1 "$tmp/boot-resources/current"
"$tmp/bench" "$tmp/boot-resources/current" "$RUNS"
