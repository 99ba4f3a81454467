# vm.sh — network-boot a diskless QEMU VM from rackd; source after lib.sh.
# Everything lives in network namespaces the test creates (nothing in the
# root namespace gets traffic):
#
#   <p>-sw  br0 (no address) + tap0 (QEMU) + sw-rk --veth--+
#   <p>-rk  eth0 10.77.0.2/24 (+fd77::2/64)  <-------------+
#           rackd (its Kea on eth0, TFTP 69, HTTP 5248/5249), the fake
#           region on this namespace's 127.0.0.1, dnsmasq (one IPv6 RA so
#           iPXE does not wait for IPv6 autoconf, and DNS: *.maas-internal
#           -> the rack, as MAAS's internal zone), vm_sniff.py on eth0.
#
# The VM gets its lease from rackd's Kea (configured by the fake region's
# POST /dhcp-config, as MAAS derives it from the rack's refresh), its
# bootloader and configs from rackd (GetBootConfig answered by the fake
# region per MAC), boots a Debian kernel with a busybox initrd whose /init
# prints RACKD-* markers on ttyS0 (the command line, the squashfs and the
# cloud-config-url fetched through rackd) and powers off.
#
# Facts behind the choices: shared/recipes/pxe-vm/README.md (pitfalls).
: "${ROOT:?}"
VM_CACHE=${VM_CACHE:-/var/cache/rackd-test/pxe}
VM_NSP=rvm$$
VM_SW=$VM_NSP-sw
VM_RK=$VM_NSP-rk
VM_RACK_IP=10.77.0.2
VM_CIDR=10.77.0.0/24
# The VM's serial console (a test booting twice sets it per boot); not
# *.log: lib.sh would print only its tail.
VM_SERIAL=$T/vm-console.txt
VM_SNIFF=$T/vm-sniff.txt
VM_GOLD=$ROOT/tests/unit/data/boot-golden
VM_IMAGE=ubuntu/amd64/ga-22.04/jammy/stable

# vmx CMD... — in the rack namespace.  Never for a background process: a
# function run with & is a subshell, and $! would be the subshell, not the
# process (cleanup and stop_rackd need the process itself).
vmx() { ip netns exec "$VM_RK" "$@"; }

# vm_require bios|uefi — every program and file the boot needs, or FAIL
# (never a silent skip: CI installs them, tools/deps.sh).
vm_require() {
	local c f
	[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, tap)"
	for c in qemu-system-x86_64 dnsmasq busybox cpio gzip mksquashfs apt-get \
	    apt-cache dpkg-deb flock kea-dhcp4 ip curl; do
		command -v "$c" >/dev/null || fail "missing $c (tools/deps.sh installs it)"
	done
	[ -e /dev/net/tun ] || fail "no /dev/net/tun"
	for f in /usr/lib/ipxe/qemu/efi-virtio.rom /usr/lib/PXELINUX/lpxelinux.0 \
	    /usr/lib/syslinux/modules/bios/ldlinux.c32; do
		[ -f "$f" ] || fail "missing $f (tools/deps.sh installs it)"
	done
	if [ "$1" = uefi ]; then
		for f in /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_VARS_4M.fd \
		    /usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi \
		    /usr/lib/grub/x86_64-efi/http.mod; do
			[ -f "$f" ] || fail "missing $f (ovmf, grub-efi-amd64-bin)"
		done
	fi
}

# vm_accel — VM_QEMU_ACCEL (qemu args) and VM_DEADLINE.  KVM only when the
# CPU really offers it: /dev/kvm alone is not enough (a kvm_pvm host runs
# SeaBIOS, then dies in iPXE/OVMF with "KVM internal error").
vm_accel() {
	if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo && [ ! -d /sys/module/kvm_pvm ]; then
		# -cpu host alone aborts on some nested hosts (MSR 0x10a).
		VM_QEMU_ACCEL=(-accel kvm -cpu host,arch-capabilities=off)
		VM_DEADLINE=${VM_DEADLINE:-60}
	else
		VM_QEMU_ACCEL=(-accel tcg)
		VM_DEADLINE=${VM_DEADLINE:-180}
	fi
	log "accelerator: ${VM_QEMU_ACCEL[*]}, deadline ${VM_DEADLINE}s"
}

# vm_artifacts — VM_VMLINUZ and VM_INITRD in $VM_CACHE, shared by runs
# (flock): the Debian kernel from `apt-get download linux-image-amd64`
# (never installed; only vmlinuz and 9 virtio/e1000 modules extracted;
# .complete written last) and the busybox initrd (rebuilt when /init, the
# udhcpc script or busybox change; its .sum written last).
vm_artifacts() {
	local kdir=$VM_CACHE/kernel kpkg deb new sum stage
	mkdir -p "$VM_CACHE"
	exec 8>"$VM_CACHE/.lock"
	flock -w 300 8 || fail "cannot lock $VM_CACHE"
	if [ ! -f "$kdir/.complete" ]; then
		kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
			awk '/Depends: linux-image-[0-9]/{print $2; exit}')
		[ -n "$kpkg" ] || fail "cannot resolve linux-image-amd64 (apt-get update?)"
		log "downloading $kpkg into $VM_CACHE (apt-get download, not installed)"
		rm -f "$VM_CACHE"/linux-image-*.deb
		(cd "$VM_CACHE" && apt-get download "$kpkg" >/dev/null 2>&1) ||
			fail "apt-get download $kpkg failed"
		deb=$(ls -t "$VM_CACHE"/"$kpkg"_*.deb | head -1)
		rm -rf "$kdir"; mkdir -p "$kdir"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$kdir" --wildcards \
			'./boot/vmlinuz-*' \
			'*/kernel/drivers/virtio/virtio.ko' '*/kernel/drivers/virtio/virtio_ring.ko' \
			'*/kernel/drivers/virtio/virtio_pci*.ko' '*/kernel/net/core/failover.ko' \
			'*/kernel/drivers/net/net_failover.ko' '*/kernel/drivers/net/virtio_net.ko' ||
			fail "cannot extract $deb"
		rm -f "$deb"
		touch "$kdir/.complete"
	fi
	VM_VMLINUZ=$(ls "$kdir"/boot/vmlinuz-* | head -1)
	new=$(mktemp -d "$VM_CACHE/new.XXXXXX")
	vm_write_init "$new"
	sum=$(cat "$new/init" "$new/udhcpc.sh" /bin/busybox | md5sum | cut -d' ' -f1)
	VM_INITRD=$VM_CACHE/initrd.gz
	if [ ! -s "$VM_INITRD" ] || [ "$(cat "$VM_INITRD.sum" 2>/dev/null)" != "$sum" ]; then
		log "building the busybox initrd"
		stage=$new/root
		mkdir -p "$stage"/{bin,dev,proc,sys,tmp,etc,lib/modules}
		cp /bin/busybox "$stage/bin/busybox"
		ln -s busybox "$stage/bin/sh"
		cp "$new/init" "$new/udhcpc.sh" "$stage/"
		chmod 755 "$stage/init" "$stage/udhcpc.sh"
		find "$kdir/lib" -name '*.ko' -exec cp {} "$stage/lib/modules/" \;
		mknod -m 600 "$stage/dev/console" c 5 1
		(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6) \
			> "$VM_INITRD.tmp" || fail "cannot build the initrd"
		mv "$VM_INITRD.tmp" "$VM_INITRD"
		echo "$sum" > "$VM_INITRD.sum"
	fi
	rm -rf "$new"
	flock -u 8; exec 8>&-
}

# vm_write_init DIR — the initrd's /init and udhcpc script.  The command
# line is MAAS's (no console=), so the kernel logs to tty0 and /init
# writes its markers to ttyS0 itself.
vm_write_init() {
	cat > "$1/init" <<'EOF'
#!/bin/busybox sh
# rackd VM boot test: print what the boot gave us, fetch the root squashfs
# and the cloud-config-url from /proc/cmdline through the rack, power off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /sbin /usr/bin /usr/sbin /etc
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/ttyS0 2>&1
set -f
echo "RACKD-INIT uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "RACKD-CMDLINE $(cat /proc/cmdline)"
sq= cc=
for w in $(cat /proc/cmdline); do
  case "$w" in
    root=squash:*) sq=${w#root=squash:} ;;
    cloud-config-url=*) cc=${w#cloud-config-url=} ;;
  esac
done
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         failover net_failover virtio_net; do
  [ -f /lib/modules/$m.ko ] || continue
  err=$(insmod /lib/modules/$m.ko 2>&1) || echo "RACKD-INSMOD-FAIL $m: $err"
done
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
if udhcpc -i eth0 -f -q -n -t 10 -T 1 -s /udhcpc.sh >/tmp/udhcpc.log 2>&1; then
  echo "RACKD-NET-OK $(ip -4 -o addr show dev eth0 | awk '{print $4}') mac=$(cat /sys/class/net/eth0/address)"
  # busybox 1.35 "wget -T N" segfaults: bound it with timeout instead
  if [ -n "$sq" ] && timeout 60 wget -q -O /tmp/squashfs "$sq" 2>/tmp/wget.err; then
    echo "RACKD-SQUASHFS-OK size=$(wc -c < /tmp/squashfs) sha256=$(sha256sum /tmp/squashfs | cut -d' ' -f1)"
  else
    echo "RACKD-SQUASHFS-FAIL url=$sq $(cat /tmp/wget.err 2>/dev/null)"
  fi
  rm -f /tmp/squashfs
  if [ -n "$cc" ] && timeout 15 wget -q -O /tmp/cc "$cc" 2>/tmp/wget.err; then
    echo "RACKD-METADATA-OK size=$(wc -c < /tmp/cc) sha256=$(sha256sum /tmp/cc | cut -d' ' -f1)"
    sed 's/^/RACKD-METADATA-BODY /' /tmp/cc
  else
    echo "RACKD-METADATA-FAIL url=$cc $(cat /tmp/wget.err 2>/dev/null)"
  fi
else
  echo "RACKD-NET-FAIL"; cat /tmp/udhcpc.log
fi
echo "RACKD-DONE uptime=$(cut -d' ' -f1 /proc/uptime)"
poweroff -f
EOF
	cat > "$1/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done ;;
esac
exit 0
EOF
}

# vm_tree_by_hand BR — a boot-resources tree in MAAS 3.4's layout (spec
# maas-rack-boot.md §1.4-1.5, §2.6) built by hand: BR/current ->
# snapshot-1 with the image (the cached kernel, the initrd, a squashfs),
# the bootloaders under bootloader/<type>/<arch>/ and symlinked into the
# root, and the static grub/grub.cfg and ipxe.cfg MAAS writes.  Debian's
# unsigned grubnetx64.efi stands in for MAAS's shim + signed grub (as both
# bootx64.efi and grubx64.efi); it has no http built in, so the modules
# grub loads over TFTP ($prefix/x86_64-efi: http.mod, the *.lst) are in
# the tree (recipe pitfall 9).  One function, so that a variant can take
# the tree from rackd's image sync instead.
vm_tree_by_hand() {
	local br=$1 s=$1/snapshot-1 f
	mkdir -p "$s/$VM_IMAGE" "$s/bootloader/pxe/i386" "$s/bootloader/uefi/amd64" \
		"$s/grub/x86_64-efi"
	cp "$VM_VMLINUZ" "$s/$VM_IMAGE/boot-kernel"
	cp "$VM_INITRD" "$s/$VM_IMAGE/boot-initrd"
	vm_squashfs "$s/$VM_IMAGE/squashfs"
	cp /usr/lib/PXELINUX/lpxelinux.0 "$s/bootloader/pxe/i386/"
	for f in ldlinux.c32 chain.c32 ifcpu64.c32 libcom32.c32 libutil.c32; do
		cp "/usr/lib/syslinux/modules/bios/$f" "$s/bootloader/pxe/i386/"
	done
	cp /usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi "$s/bootloader/uefi/amd64/bootx64.efi"
	cp /usr/lib/grub/x86_64-efi/monolithic/grubnetx64.efi "$s/bootloader/uefi/amd64/grubx64.efi"
	# MAAS's link_bootloader: absolute symlinks into the snapshot root.
	for f in lpxelinux.0 chain.c32 ifcpu64.c32 ldlinux.c32 libcom32.c32 libutil.c32; do
		ln -s "$s/bootloader/pxe/i386/$f" "$s/$f"
	done
	ln -s lpxelinux.0 "$s/pxelinux.0"
	ln -s "$s/bootloader/pxe/i386" "$s/syslinux"
	for f in bootx64.efi grubx64.efi; do ln -s "$s/bootloader/uefi/amd64/$f" "$s/$f"; done
	cp /usr/lib/grub/x86_64-efi/http.mod /usr/lib/grub/x86_64-efi/*.lst "$s/grub/x86_64-efi/"
	# boot/grub.py and boot/ipxe.py CONFIG_FILE, byte for byte.
	printf '\n# MAAS GRUB2 pre-loader configuration file\n\n# Load based on MAC address first.\nconfigfile /grub/grub.cfg-${net_default_mac}\n\n# Failed to load based on MAC address. Load based on the CPU\n# architecture.\nconfigfile /grub/grub.cfg-default-${grub_cpu}\n' \
		> "$s/grub/grub.cfg"
	printf '#!ipxe\n# MAAS iPXE pre-loader configuration file\n\n# Load based on MAC address first.\nchain http://${next-server}:5248/ipxe.cfg-${net0/mac} ||\n\n# Failed to load based on MAC address.\nchain http://${next-server}:5248/ipxe.cfg-default-amd64\n' \
		> "$s/ipxe.cfg"
	ln -s snapshot-1 "$br/current"
	chmod -R a+rX "$br"
}

# vm_squashfs FILE — the root squashfs the VM's /init fetches: 1 MiB of
# random bytes (a wrong or truncated transfer shows in its sha256).
vm_squashfs() {
	mkdir -p "$T/sqroot"
	head -c 1048576 /dev/urandom > "$T/sqroot/blob"
	echo "rackd vm test root" > "$T/sqroot/hello"
	mksquashfs "$T/sqroot" "$1" -noappend -quiet -no-progress >/dev/null ||
		fail "mksquashfs failed"
}

# vm_stream — the tree by rackd's own image sync instead (issue 11): the
# fake region (vm_start_region, same $T/db) streams make_stream.py's
# stream of the VM's cached kernel and initrd and a vm_squashfs, with the
# pxe (lpxelinux.0 + .c32) and uefi (--uefi: a GRUB with http built in,
# as MAAS's signed GRUB; no grub/x86_64-efi/ modules) archives; rackd
# then starts with images enabled and an empty boot-resources dir.  Call
# before vm_start_region; vm_tree_by_sync after vm_start_rackd.
vm_stream() {
	command -v grub-mkimage >/dev/null || fail "missing grub-mkimage (grub-common, tools/deps.sh)"
	vm_squashfs "$T/root.squashfs"
	$PY "$HELPERS/make_stream.py" "$T/stream-files" "$T/db" --release jammy:22.04 \
		--kernel "$VM_VMLINUZ" --initrd "$VM_INITRD" --squashfs "$T/root.squashfs" \
		--uefi > "$T/make_stream.out" 2>&1 || fail "make_stream.py: $(cat "$T/make_stream.out")"
	VM_IMAGES_SYNC=true
}

# vm_tree_by_sync BR — waits for rackd's start-up sync into the empty BR
# (the parent of tftp_root): BR/current is the synced snapshot holding the
# stream's files byte for byte, and the region's ListBootImages (through
# the fake region) lists the synced jammy for the image the VM boots.
vm_tree_by_sync() {
	local br=$1 f
	wait_for "start-up image sync" "${VM_SYNC_DEADLINE:-120}" log_has 'images: sync \(start-up\) done'
	case "$(readlink "$br/current")" in "$br"/snapshot-*) ;;
		*) fail "$br/current -> '$(readlink "$br/current")', not a synced snapshot" ;; esac
	cmp -s "$br/current/$VM_IMAGE/boot-kernel" "$VM_VMLINUZ" || fail "synced boot-kernel is not the stream's"
	cmp -s "$br/current/$VM_IMAGE/boot-initrd" "$VM_INITRD" || fail "synced boot-initrd is not the stream's"
	cmp -s "$br/current/$VM_IMAGE/squashfs" "$T/root.squashfs" || fail "synced squashfs is not the stream's"
	for f in lpxelinux.0 ldlinux.c32 bootx64.efi grubx64.efi ipxe.cfg grub/grub.cfg; do
		[ -s "$br/current/$f" ] || fail "the synced tree has no $f"
	done
	cmp -s "$br/current/bootx64.efi" "$T/stream-files/grubnetx64-http.efi" ||
		fail "bootx64.efi -> $(readlink "$br/current/bootx64.efi"), not the stream's GRUB"
	vctl call ListBootImages '{}' > "$T/list-boot-images.json" ||
		fail "ListBootImages: $(cat "$T/list-boot-images.json")"
	$PY - "$T/list-boot-images.json" "$VM_IMAGE" <<-'PYEOF' || fail "ListBootImages lacks the synced image"
	import json, sys
	rows = json.load(open(sys.argv[1]))["answer"]["images"]
	osys, arch, sub, rel, label = sys.argv[2].split("/")
	got = {(r["osystem"], r["architecture"], r["subarchitecture"], r["release"], r["label"], r["purpose"])
	       for r in rows}
	want = {(osys, arch, s, rel, label, p) for s in (sub, "generic")
	        for p in ("commissioning", "install", "xinstall", "diskless")}
	want |= {("bootloader", "i386", "generic", "pxe", "*", "bootloader"),
	         ("bootloader", "amd64", "generic", "uefi", "*", "bootloader")}
	assert want <= got, "missing %s in %s" % (sorted(want - got), sorted(got))
	print("ListBootImages: %d rows, with %s" % (len(rows), sys.argv[2]))
	PYEOF
	log "synced tree: $(readlink "$br/current"), $(grep -o 'images: sync (start-up) done.*' "$RACKD_LOG" | head -1)"
}

# vm_ns_up — the two namespaces, the bridge, the tap and the veth.
vm_ns_up() {
	local n
	for n in "$VM_SW" "$VM_RK"; do
		ip netns add "$n" || fail "cannot create namespace $n"
		_NETNS+=("$n")
		ip -n "$n" link set lo up
	done
	# Processes left in the rack namespace (rackd's Kea if rackd died
	# hard): killed by PID before the namespace goes.
	on_exit vm_ns_sweep
	# VM_KEEP=DIR keeps the scratch dir (logs, console, tree) for a look.
	[ -n "${VM_KEEP:-}" ] && on_exit 'rm -rf "$VM_KEEP"; cp -a "$T" "$VM_KEEP"'
	ip netns exec "$VM_SW" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	# The rack sends the RA; it must not autoconfigure from it (a new
	# address would start a refresh in the middle of the boot).
	vmx sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
	ip -n "$VM_SW" link add br0 type bridge stp_state 0 forward_delay 0
	ip -n "$VM_SW" link set br0 up
	ip -n "$VM_SW" link add sw-rk type veth peer name eth0 netns "$VM_RK"
	ip -n "$VM_SW" link set sw-rk master br0 up
	ip -n "$VM_SW" tuntap add dev tap0 mode tap
	ip -n "$VM_SW" link set tap0 master br0 up
	ip -n "$VM_RK" addr add "$VM_RACK_IP/24" dev eth0
	ip -n "$VM_RK" addr add fd77::2/64 dev eth0 nodad
	ip -n "$VM_RK" link set eth0 up
	log "namespaces $VM_SW (br0, tap0) and $VM_RK (eth0 $VM_RACK_IP)"
}

vm_ns_sweep() {
	local p n i
	for n in "$VM_SW" "$VM_RK"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
	done
	for i in $(seq 1 30); do
		[ -z "$(ip netns pids "$VM_RK" 2>/dev/null)$(ip netns pids "$VM_SW" 2>/dev/null)" ] && break
		sleep 0.1
	done
	for n in "$VM_SW" "$VM_RK"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
}

# vm_start_helpers — the sniffer on eth0, and dnsmasq for one RA (iPXE
# otherwise waits ~16 s for IPv6 autoconf) and DNS (*.maas-internal is
# the rack, as MAAS's internal zone answers for the subnet's name).
vm_start_helpers() {
	: > "$VM_SNIFF"
	ip netns exec "$VM_RK" $PY "$HELPERS/vm_sniff.py" eth0 "$VM_SNIFF" 2> "$T/vm-sniff.err" &
	register_pid $!
	wait_for "sniffer" 10 grep -q READY "$VM_SNIFF"
	ip netns exec "$VM_RK" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --group=root \
		--interface=eth0 --bind-interfaces --pid-file="$T/dnsmasq.pid" \
		--log-facility="$T/dnsmasq.log" --no-resolv --no-hosts \
		--address=/maas-internal/$VM_RACK_IP \
		--enable-ra --dhcp-range=fd77::,ra-only,64 --ra-param=eth0,10,0 \
		> "$T/dnsmasq.out" 2>&1 &
	register_pid $!
	wait_for "dnsmasq" 10 grep -q 'started, version' "$T/dnsmasq.log"
}

# vm_start_region — the fake region on the rack namespace's loopback.
vm_start_region() {
	local ready=$T/region-r1.ready
	mkdir -p "$T/db"
	make_secret "$T/secret"
	ip netns exec "$VM_RK" $PY "$HELPERS/fake_region.py" --name r1 --loops 1 --secret-file "$T/secret" \
		--db "$T/db" --record "$T/region-r1.calls" --log "$T/region-r1.log" \
		--ready-file "$ready" > "$T/region-r1.out" 2>&1 &
	register_pid $!
	wait_for "fake region ready" 20 test -s "$ready"
	REGION_HTTP_r1=$(sed -n 's/.* http=\([0-9]*\).*/\1/p' "$ready")
	REGION_CTL_r1=$(sed -n 's/.* control=\([0-9]*\).*/\1/p' "$ready")
}
vctl() { vmx $PY "$HELPERS/region_ctl.py" --control "$REGION_CTL_r1" "$@"; }
vctl_get() { vmx curl -sf "http://127.0.0.1:$REGION_CTL_r1$1"; }

# vm_start_rackd TFTP_ROOT — rackd in the rack namespace: TFTP 69, HTTP
# 5248/5249 on every address, images not synced (the tree is by hand).
vm_start_rackd() {
	mkdir -p "$T/data" "$T/run"
	cat > "$T/rackd.conf" <<-CONF
	maas_url: http://127.0.0.1:$REGION_HTTP_r1/MAAS
	secret_file: $T/secret
	data_dir: $T/data
	run_dir: $T/run
	tftp_root: $1
	hostname: rack-vm
	tftp_port: 69
	http: {port: 5248, internal_port: 5249, region_port: $REGION_HTTP_r1}
	images: {enabled: ${VM_IMAGES_SYNC:-false}}
	power: {monitor_interval: 0}
	dhcp:
	  lease_hook_library: $(dirname "$RACKD")/rackd-lease-hook.so
	  lease_hook_script: $(dirname "$RACKD")/rackd-lease-hook
	CONF
	RACKD_LOG=$T/rackd.log
	ip netns exec "$VM_RK" $RACKD_WRAPPER "$RACKD" -d -f "$T/rackd.conf" >> "$RACKD_LOG" 2>&1 &
	RACKD_PID=$!
	register_pid $RACKD_PID
	log "rackd in $VM_RK: pid $RACKD_PID"
}

vm_sid() {
	vctl_get /connections | $PY -c 'import json,sys
for c in json.load(sys.stdin):
    if c.get("hostname") == "rack-vm" and c.get("registered") and c.get("system_id"):
        print(c["system_id"]); sys.exit(0)
sys.exit(1)'
}
vm_refreshed() {
	vctl_get "/rack-interfaces?system_id=$VM_SID" | $PY -c 'import json,sys
i = json.load(sys.stdin)["interfaces"].get("eth0", {})
sys.exit(0 if any(l["address"].startswith("10.77.0.2/") for l in i.get("links", [])) else 1)'
}
vm_kea_up() { grep -qs DHCP4_STARTED "$T"/run/kea4-*.log; }

# vm_rack_ready — registered, refreshed, DHCP pushed by the region as MAAS
# derives it (the VLAN of 10.77.0.0/24, this rack primary), Kea serving,
# TFTP and HTTP listening.
vm_rack_ready() {
	local out
	wait_for "tftp listening" 20 log_has "tftp: listening on UDP port 69"
	wait_for "http listening" 20 log_has "http: serving .* on port 5248 and 5249"
	wait_for "rack registered" 30 vm_sid
	VM_SID=$(vm_sid)
	wait_for "rack refresh stored eth0 $VM_RACK_IP" 30 vm_refreshed
	out=$(vctl dhcp-config "{\"vlan_cidr\": \"$VM_CIDR\", \"primary\": \"$VM_SID\", \"family\": 4,
		\"pools\": [{\"ip_range_low\": \"10.77.0.100\", \"ip_range_high\": \"10.77.0.150\"}],
		\"push\": true}") || fail "dhcp-config push: $out"
	echo "$out" | grep -q '"ok": true' || fail "dhcp-config push: $out"
	wait_for "Kea started" 30 vm_kea_up
	log "rack $VM_SID ready: Kea serving $VM_CIDR"
}

# vm_boot_config MAC — GetBootConfig's answer for MAC: the golden case
# (machine vm1 = abc123, rack 10.77.0.2) for the by-hand jammy image.
# With VM_ENLIST=1 the machine is unknown: the MAC gets
# BootConfigNoResponse, and the "default" answer (no MAC: the firmware's
# fallback name, ipxe.cfg-default-amd64 or grub.cfg-default-x86_64) is
# MAAS's enlistment (maas-enlist, the enlist preseed, no system_id).
VM_ENLIST=${VM_ENLIST:-0}
VM_PRESEED=http://10-77-0-0--24.maas-internal:5248/MAAS/metadata/latest/by-id/abc123/?op=get_preseed
VM_PRESEED_ENLIST=http://10-77-0-0--24.maas-internal:5248/MAAS/metadata/latest/enlist-preseed/?op=get_enlist_preseed
vm_boot_config() {
	local key=${1//:/-} purpose=xinstall host=vm1 dom=maas pre=$VM_PRESEED sid='"abc123"'
	if [ "$VM_ENLIST" = 1 ]; then
		key=default purpose=commissioning host=maas-enlist dom=local
		pre=$VM_PRESEED_ENLIST sid=null
	fi
	cat > "$T/boot-config.json" <<-JSON
	{"$key": {"arch": "amd64", "subarch": "ga-22.04", "osystem": "ubuntu",
	  "release": "jammy", "kernel": "boot-kernel", "initrd": "boot-initrd",
	  "purpose": "$purpose", "hostname": "$host", "domain": "$dom",
	  "preseed_url": "$pre",
	  "fs_host": "$VM_RACK_IP", "log_host": "$VM_RACK_IP", "log_port": 5247,
	  "extra_opts": "", "system_id": $sid, "http_boot": true, "ephemeral_opts": ""}}
	JSON
	vmx curl -sf -X POST --data-binary "@$T/boot-config.json" \
		"http://127.0.0.1:$REGION_CTL_r1/boot-config" | grep -q '"ok": true' ||
		fail "POST /boot-config failed"
}

# vm_expected_cmdline — MAAS's command line for that answer: the APPEND
# line of the golden pxe-xinstall-jammy (same namespace, same kernel_opts;
# for enlistment the host name and preseed URL are the enlist ones, the
# rest is the same for jammy: compose_purpose_opts).
vm_expected_cmdline() {
	if [ "$VM_ENLIST" = 1 ]; then
		sed -n -e '/^  APPEND /!d' -e 's/^  APPEND //' -e 's/ip=::::vm1:/ip=::::maas-enlist:/' \
			-e 's|by-id/abc123/?op=get_preseed|enlist-preseed/?op=get_enlist_preseed|p' \
			"$VM_GOLD/pxe-xinstall-jammy"
	else
		sed -n 's/^  APPEND //p' "$VM_GOLD/pxe-xinstall-jammy"
	fi
}

# vm_run bios|uefi MAC — boot the VM; returns when it powered off, the
# console showed $VM_STOP_ON (if set) or the deadline passed (QEMU then
# killed).  Sets VM_T0 (QEMU start, epoch s) and VM_T_* (marker times).
vm_run() {
	local fw=$1 mac=$2 q
	q=(qemu-system-x86_64 -name "rackd-vm-$fw" -nodefaults -no-user-config -nographic
	   -monitor none -serial "file:$VM_SERIAL" -m 512 -smp 1 -no-reboot -boot n
	   -netdev tap,id=n0,ifname=tap0,script=no,downscript=no "${VM_QEMU_ACCEL[@]}")
	if [ "$fw" = uefi ]; then
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$T/OVMF_VARS.fd"
		# romfile= (none): no iPXE, OVMF's own PXE sends arch 00:07.
		q+=(-device "virtio-net-pci,netdev=n0,mac=$mac,romfile="
		    -drive if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
		    -drive "if=pflash,format=raw,unit=1,file=$T/OVMF_VARS.fd")
	else
		q+=(-device "virtio-net-pci,netdev=n0,mac=$mac")
	fi
	# VM_QEMU_EXTRA: more QEMU arguments (word-split), e.g. OVMF fw_cfg knobs.
	# shellcheck disable=SC2206
	q+=(${VM_QEMU_EXTRA:-})
	printf '%q ' "${q[@]}" > "$T/qemu.cmd"
	# rc: _lib_cleanup's exit status, in scope when the hooks run.
	[ -n "${VM_DUMP_HOOK:-}" ] || on_exit '[ "$rc" -eq 0 ] || vm_dump_console'
	VM_DUMP_HOOK=1
	: > "$VM_SERIAL"
	VM_T0=$(date +%s.%N)
	ip netns exec "$VM_SW" "${q[@]}" > "$T/qemu.out" 2>&1 &
	VM_QPID=$!
	register_pid $VM_QPID
	log "QEMU ($fw, $mac): pid $VM_QPID"
	local end=$(( $(date +%s) + VM_DEADLINE ))
	VM_T_INIT='' VM_T_DONE='' VM_T_EXIT='' VM_T_STOP=''
	while :; do
		[ -z "$VM_T_INIT" ] && grep -qa RACKD-INIT "$VM_SERIAL" && VM_T_INIT=$(date +%s.%N)
		[ -z "$VM_T_DONE" ] && grep -qa RACKD-DONE "$VM_SERIAL" && VM_T_DONE=$(date +%s.%N)
		if ! kill -0 "$VM_QPID" 2>/dev/null; then VM_T_EXIT=$(date +%s.%N); break; fi
		# VM_STOP_ON=TEXT: enough once the console shows TEXT.
		if [ -n "${VM_STOP_ON:-}" ] && grep -qaF "$VM_STOP_ON" "$VM_SERIAL"; then
			VM_T_STOP=$(date +%s.%N); log "console shows '$VM_STOP_ON': stopping QEMU"; break
		fi
		if grep -qs 'KVM internal error' "$T/qemu.out"; then log "QEMU: KVM internal error"; break; fi
		if [ "$(date +%s)" -ge "$end" ]; then log "deadline ${VM_DEADLINE}s: killing QEMU"; break; fi
		sleep 0.1
	done
	kill -TERM "$VM_QPID" 2>/dev/null; wait "$VM_QPID" 2>/dev/null
}

vm_dump_console() {
	local clean=$T/vm-console.clean
	sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1b[()][AB0-9]//g' -e 's/\r//g' "$VM_SERIAL" |
		grep -av '^\s*$' > "$clean"
	echo "----- VM console ($VM_SERIAL, ANSI stripped)"
	tail -150 "$clean"
	echo "----- boot traffic (s since QEMU start)"
	vm_traffic
	echo "----- qemu.out"; cat "$T/qemu.out" 2>/dev/null
	# The run script shows the test's own [time] lines first: the end of
	# the console and of the traffic there too.
	tail -15 "$clean" | while IFS= read -r l; do log "console: $l"; done
	vm_traffic | tail -10 | while IFS= read -r l; do log "wire: $l"; done
}

# vm_traffic — the sniffer's lines, timed from QEMU start.
vm_traffic() {
	awk -v t0="${VM_T0:-0}" '$2 != "READY" && $1 >= t0 {t=$1; $1=""; printf "%7.2f%s\n", t-t0, $0}' "$VM_SNIFF"
}

# vm_marker NAME — the rest of the console line starting with RACKD-NAME.
vm_marker() {
	tr -d '\r' < "$VM_SERIAL" | grep -a "^RACKD-$1 " | head -1 | sed "s/^RACKD-$1 //"
}
vm_marker_body() {
	tr -d '\r' < "$VM_SERIAL" | grep -a "^RACKD-$1 " | sed "s/^RACKD-$1 //"
}

# vm_first PATTERN — seconds from QEMU start to the first sniffed line
# matching PATTERN (awk regex), or "n/a".
vm_first() {
	awk -v t0="$VM_T0" -v pat="$1" '$1 >= t0 && $0 ~ pat {printf "%.2f", $1 - t0; f=1; exit}
		END {if (!f) print "n/a"}' "$VM_SNIFF"
}
vm_since() { awk -v a="$1" -v b="$VM_T0" 'BEGIN{ if (a == "") print "n/a"; else printf "%.2f", a-b }'; }

# vm_check_common MAC LOADER_PREFIX — what every boot must show: the VM
# ran /init, its command line is MAAS's (after what the loader adds), it
# got a lease from rackd's Kea, fetched the squashfs (same bytes as the
# tree's) and the cloud-config-url through rackd's /MAAS/ proxy (the region
# saw the VM as X-Forwarded-For), GetBootConfig for its MAC, and boot events.
vm_check_common() {
	local mac=$1 want got ip sq meta node
	[ -n "$VM_T_INIT" ] || fail "the VM never ran the initrd's /init"
	got=$(vm_marker CMDLINE)
	want="$2$(vm_expected_cmdline) BOOTIF=01-$mac"
	# GRUB reads its linux line as shell-like words: MAAS's template
	# escapes cc:'s braces but not its quotes, so with MAAS too the kernel
	# gets cc:{datasource_list: [MAAS]}end_cc (the same YAML to cloud-init).
	[ "$3" = uefi ] && want=${want//\'/}
	[ "$got" = "$want" ] || fail "kernel command line differs from MAAS's:
  got:  $got
  want: $want"
	log "command line is MAAS's: $got"
	ip=$(vm_marker NET-OK | cut -d' ' -f1)
	[ -n "$ip" ] || fail "no lease in the initrd"
	ip=${ip%/*}
	grep -q "DHCP ACK .*mac=$mac .*yiaddr=$ip" "$VM_SNIFF" || fail "no DHCP ACK for $mac -> $ip on the wire"
	grep -qa "DHCP4_LEASE_ALLOC.*$ip" "$T"/run/kea4-*.log || fail "rackd's Kea did not allocate $ip"
	# The region learnt the lease (MAAS drops boot events for an IP no
	# node has).
	wait_for "UpdateLeases commit $mac $ip" 10 vm_lease_reported "$mac" "$ip"
	sq=$(vm_marker SQUASHFS-OK)
	[ -n "$sq" ] || fail "squashfs not fetched: $(vm_marker SQUASHFS-FAIL)"
	[ "$sq" = "size=$(stat -c %s "$VM_TREE/$VM_IMAGE/squashfs") sha256=$(sha256sum < "$VM_TREE/$VM_IMAGE/squashfs" | cut -d' ' -f1)" ] ||
		fail "squashfs the VM got ($sq) is not the tree's"
	meta=$(vm_marker_body METADATA-BODY | tr '\n' '|')
	node=abc123
	[ "$VM_ENLIST" = 1 ] && node=enlist
	[ "$meta" = "#cloud-config|# rackd-test preseed node=$node client=$ip|" ] ||
		fail "cloud-config-url: $(vm_marker METADATA-FAIL) body=$meta"
	vctl_get /preseeds | $PY -c 'import json,sys
p = json.load(sys.stdin)
ok = [e for e in p if e["node"] == sys.argv[2] and e["client"] == sys.argv[1]
      and e["host"] == "10-77-0-0--24.maas-internal:5248"]
sys.exit(0 if ok else "preseed GETs: %s" % p)' "$ip" "$node" || fail "the region did not see the VM's preseed GET"
	[ -n "$VM_T_EXIT" ] || fail "the VM did not power off"
	# GetBootConfig for this MAC, from the rack's address, for this
	# client; for an unknown machine then the fallback with arch amd64.
	$PY - "$T/region-r1.calls" "${mac//:/-}" "$ip" "$3" "$VM_ENLIST" <<-'PYEOF' || fail "GetBootConfig"
	import json, sys
	calls = [json.loads(l) for l in open(sys.argv[1])]
	g = [c["args"] for c in calls if c["command"] == "GetBootConfig"
	     and c["args"]["remote_ip"] == sys.argv[3]]
	assert g, "no GetBootConfig for %s" % sys.argv[3]
	a = g[0]
	assert a.get("mac") == sys.argv[2], a
	assert a["local_ip"] == "10.77.0.2" and a["bios_boot_method"] == sys.argv[4], a
	if sys.argv[5] == "1":
	    d = [x for x in g if not x.get("mac")]
	    assert d and d[0]["arch"] == "amd64" and d[0]["bios_boot_method"] == sys.argv[4], g
	    print("GetBootConfig (unknown, then default): %s" % g)
	else:
	    print("GetBootConfig: %s" % {k: a[k] for k in ("mac", "bios_boot_method", "local_ip", "remote_ip")})
	PYEOF
	VM_IP=$ip
}

vm_lease_reported() {
	grep '"command": "UpdateLeases"' "$T/region-r1.calls" |
		grep -q "\"action\": \"commit\", \"mac\": \"$1\", \"ip_family\": \"ipv4\", \"ip\": \"$2\""
}

# vm_events TYPE DESCRIPTION_REGEX — SendEventIPAddress of TYPE from the
# VM's address with a matching description arrived at the region.
vm_event() {
	grep '"SendEventIPAddress"' "$T/region-r1.calls" | grep "\"$1\"" |
		grep "\"ip_address\": \"$VM_IP\"" | grep -Eq "\"description\": \"$2\""
}

# vm_timings — one line of figures for the report.
vm_timings() {
	log "timings (s since QEMU start): dhcp_discover=$(vm_first 'DHCP DISCOVER') \
dhcp_ack=$(vm_first 'DHCP ACK') first_tftp=$(vm_first 'TFTP RRQ') \
first_http=$(vm_first 'HTTP GET') kernel=$(vm_first 'boot-kernel') \
init=$(vm_since "$VM_T_INIT") done=$(vm_since "$VM_T_DONE") qemu_exit=$(vm_since "$VM_T_EXIT") stopped=$(vm_since "$VM_T_STOP")"
}

# vm_check_ipxe MAC — after vm_check_common for a BIOS boot: iPXE's
# DISCOVER (arch 0, user class iPXE) got MAAS's http://R:5248/ipxe.cfg,
# every file came over HTTP (no TFTP at all), and the region got
# NODE_HTTP_REQUEST and LOADING_EPHEMERAL events for the VM.
vm_check_ipxe() {
	local mac=$1 emac p
	# iPXE: user class iPXE on the wire, MAAS's ipxe.cfg URL in the offer.
	grep -q "DHCP DISCOVER .*mac=$mac arch=0000 uc=iPXE" "$VM_SNIFF" ||
		fail "no iPXE DISCOVER (arch 0000, user class iPXE) from $mac"
	grep -q "DHCP ACK .*mac=$mac .*file=http://$VM_RACK_IP:5248/ipxe.cfg" "$VM_SNIFF" ||
		fail "Kea did not hand iPXE http://$VM_RACK_IP:5248/ipxe.cfg"
	! grep -q 'TFTP RRQ' "$VM_SNIFF" || fail "iPXE used TFTP: $(grep 'TFTP RRQ' "$VM_SNIFF")"
	# iPXE sends the MAC's colons percent-encoded.
	emac=${mac//:/%3A}
	for p in "/ipxe.cfg" "/ipxe.cfg-$emac" "/images/$VM_IMAGE/boot-kernel" \
	    "/images/$VM_IMAGE/boot-initrd" "/images/$VM_IMAGE/squashfs"; do
		grep -q "HTTP GET $p from=$VM_IP" "$VM_SNIFF" || fail "no HTTP GET $p from the VM"
	done
	for p in "ipxe.cfg" "ipxe.cfg-$mac" "/images/$VM_IMAGE/boot-kernel" \
	    "/images/$VM_IMAGE/squashfs"; do
		wait_for "NODE_HTTP_REQUEST $p" 10 vm_event NODE_HTTP_REQUEST "/?$p"
	done
	wait_for "LOADING_EPHEMERAL" 10 vm_event LOADING_EPHEMERAL ""
}

# vm_check_uefi_tftp MAC — after vm_check_common for a UEFI PXE boot:
# OVMF's DISCOVER (arch 7, no user class) got bootx64.efi, which came
# over TFTP with grub/grub.cfg and grub.cfg-<mac>; the kernel, initrd and
# squashfs over HTTP; the region got NODE_TFTP_REQUEST, NODE_HTTP_REQUEST
# and LOADING_EPHEMERAL events for the VM.
vm_check_uefi_tftp() {
	local mac=$1 p
	# OVMF's PXE: arch 00:07, no iPXE user class; Kea's answer bootx64.efi.
	grep -q "DHCP DISCOVER .*mac=$mac arch=0007 uc=- " "$VM_SNIFF" ||
		fail "no UEFI PXE DISCOVER (arch 0007, no user class) from $mac"
	! grep -q "DHCP DISCOVER .*mac=$mac .*uc=iPXE" "$VM_SNIFF" || fail "iPXE answered: romfile= ignored?"
	grep -q "DHCP ACK .*mac=$mac .*file=bootx64.efi " "$VM_SNIFF" ||
		fail "Kea did not hand UEFI PXE bootx64.efi"
	for p in bootx64.efi /grub/grub.cfg "/grub/grub.cfg-$mac"; do
		grep -q "TFTP RRQ $p from=$VM_IP" "$VM_SNIFF" || fail "no TFTP RRQ $p from the VM"
		wait_for "NODE_TFTP_REQUEST $p" 10 vm_event NODE_TFTP_REQUEST "$p"
	done
	for p in "/images/$VM_IMAGE/boot-kernel" "/images/$VM_IMAGE/boot-initrd" \
	    "/images/$VM_IMAGE/squashfs"; do
		grep -q "HTTP GET $p from=$VM_IP" "$VM_SNIFF" || fail "no HTTP GET $p from the VM"
		wait_for "NODE_HTTP_REQUEST $p" 10 vm_event NODE_HTTP_REQUEST "$p"
	done
	wait_for "LOADING_EPHEMERAL" 10 vm_event LOADING_EPHEMERAL ""
}
