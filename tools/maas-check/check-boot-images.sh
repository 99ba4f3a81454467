#!/bin/bash
# Differential check of the image store against MAAS itself: for each
# TREE, MAAS 3.4.0's tftppath.list_boot_images (from a MAAS source tree)
# and rackd's bootres_scan must give the same set of rows, field for
# field (supported_subarches included).  By hand, when MAAS's source is
# at hand (e.g. git archive 3.4.0 src/provisioningserver | tar -x):
#   tools/maas-check/check-boot-images.sh MAAS_SRC TREE...
# Exit 1 on any difference.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
maas=$1; shift
tmp=$(mktemp -d /tmp/check-boot-images.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
make -s -C "$ROOT" build/librackd.a
PKGS="libevent libcurl yaml-0.1 jansson openssl libsystemd zlib"
cc -std=c11 -D_GNU_SOURCE -I"$ROOT/include" -o "$tmp/dump" \
	"$ROOT/tools/maas-check/bootres_dump.c" "$ROOT/build/librackd.a" \
	$(pkg-config --libs $PKGS) -lm
status=0
for t in "$@"; do
	PYTHONPATH=$maas/src /usr/bin/python3 "$ROOT/tools/maas-check/maas_list_boot_images.py" "$t" | sort > "$tmp/maas"
	"$tmp/dump" "$t" | /usr/bin/python3 -c 'import sys, json
for l in sys.stdin: print(json.dumps(json.loads(l), sort_keys=True))' | sort > "$tmp/rackd"
	if cmp -s "$tmp/maas" "$tmp/rackd"; then
		echo "same  $t ($(wc -l < "$tmp/rackd") rows)"
	else
		echo "DIFF  $t"; diff "$tmp/maas" "$tmp/rackd" || true; status=1
	fi
done
exit $status
