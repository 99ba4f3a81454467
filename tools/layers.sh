#!/bin/sh
# make lint: the layering rule of shared/design/style.md, checked on the
# #include lines.  Layers, lowest first:
#
#   core     rackd.h log.h xmalloc.h bytes.h config.h secret.h ...
#   host     ifsnap.h                     (the host's interfaces)
#   region   amp.h http.h discovery.h netif.h region*.h rpc.h rejoin.h
#   services power, dhcp, refresh, boot   (peers: none includes another)
#   status   status.h                     (the operator's view: knows every
#                                          service, nothing knows it but main.c)
#
# A file may include headers of its own layer and of the layers below.
# main.c knows everything; src/tools/ programs belong to their service.
# No exceptions: the region layer carries commands (rpc.h), each service
# registers its own (power_rpc.c, dhcp_rpc.c, boot_rpc.c).
set -u
cd "$(dirname "$0")/.."

layer_of_header() {
	case $1 in
	ifsnap.h) echo host ;;
	amp.h|http.h|discovery.h|netif.h|region*.h|rpc.h|rejoin.h) echo region ;;
	power*.h|ipmi.h) echo power ;;
	dhcp*.h|kea*.h|leases.h) echo dhcp ;;
	refresh*.h|resources.h) echo refresh ;;
	tftp*.h|boot*.h|httpd*.h|imagesync*.h|simplestreams*.h) echo boot ;;
	status*.h) echo status ;;
	*) echo core ;;
	esac
}
rank() {
	case $1 in
	core) echo 0 ;; host) echo 1 ;; region) echo 2 ;; status) echo 4 ;;
	*) echo 3 ;;
	esac
}

status=0
for f in $(find src -name '*.c' -o -name '*.h' | sort); do
	dir=$(echo "$f" | cut -d/ -f2)
	case $f in src/main.c|src/tools/*) continue ;; esac
	for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		hl=$(layer_of_header "$h")
		[ "$hl" = "$dir" ] && continue
		if [ "$(rank "$hl")" -lt "$(rank "$dir")" ]; then
			continue
		fi
		[ "$(rank "$hl")" -lt 3 ] && [ "$(rank "$dir")" -ge 3 ] && continue
		echo "layers: $f includes $h (layer $hl) from layer $dir"
		status=1
	done
done
[ $status -eq 0 ] && echo "layers: OK"
exit $status
