#!/usr/bin/python3
"""Build a MAAS boot-image stream for fake_stream.py (DB/stream.json), from
small synthetic files or from given real ones — maas-rack-boot.md §5.1
layer 2.

  make_stream.py OUT DB [--release jammy:22.04] [--release noble:24.04 ...]
                 [--squashfs-mb N] [--version 20240101] [--no-bootloader]
                 [--kernel FILE] [--initrd FILE] [--squashfs FILE]
                 [--bootloader TYPE:ARCH:ARCHIVE.tar.xz ...] [--uefi]

Files (in OUT, built once and reused) unless given:
  boot-kernel   a Debian kernel (vmlinuz) from a linux-image .deb in apt's cache,
                else /boot/vmlinuz-*, else the busybox binary (any real file)
  boot-initrd   a gzip'd newc cpio: busybox + an /init that prints a marker
  squashfs      mksquashfs of a tiny tree (+ N MiB of incompressible data)
  syslinux.tar.xz  lpxelinux.0 and the BIOS .c32 modules from Debian's pxelinux
                and syslinux-common (the names MAAS links into the TFTP root)
Each release gets its own initrd (the marker names it), so releases differ;
--kernel/--initrd/--squashfs serve the given file for every release instead
(a real image to boot: e.g. an Ubuntu kernel, its initrd and squashfs).
--bootloader adds a bootloader product from an existing archive (the
region's shape: maas:boot:<os>:<ARCH>:generic:<TYPE>, bootloader-type TYPE,
e.g. uefi:amd64:grub.tar.xz holding bootx64.efi and grubx64.efi);
--uefi builds OUT/uefi-amd64.tar.xz from Debian's grub-efi-amd64-bin and
adds it as uefi:amd64: one GRUB image as both bootx64.efi and grubx64.efi
(no shim, no Secure Boot), made by grub-mkimage with http built in, as
the signed GRUB in MAAS's stream has it (MAAS's grub.cfg-<mac> loads the
kernel from (http,R:5248); Debian's monolithic grubnetx64.efi lacks http
and would fetch $prefix/x86_64-efi/http.mod, which no MAAS tree holds).
"""
import argparse
import glob
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

BUSYBOX = "/bin/busybox"
PXE_FILES = ["/usr/lib/PXELINUX/lpxelinux.0"] + [
    "/usr/lib/syslinux/modules/bios/%s" % n
    for n in ("ldlinux.c32", "chain.c32", "ifcpu64.c32", "libcom32.c32", "libutil.c32")]


def kernel(out):
    dst = os.path.join(out, "boot-kernel")
    if os.path.exists(dst):
        return dst
    debs = sorted(glob.glob("/var/cache/apt/archives/linux-image-[0-9]*.deb"))
    if debs:
        tmp = tempfile.mkdtemp()
        subprocess.run(["dpkg-deb", "-x", debs[-1], tmp], check=True)
        vm = sorted(glob.glob(os.path.join(tmp, "boot", "vmlinuz-*")))
        if vm:
            shutil.copy(vm[-1], dst)
        shutil.rmtree(tmp)
    if not os.path.exists(dst):
        vm = sorted(glob.glob("/boot/vmlinuz-*"))
        shutil.copy(vm[-1] if vm else BUSYBOX, dst)
    return dst


def _cpio_entry(name, mode, data=b""):
    hdr = "070701" + "".join("%08x" % v for v in (
        0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0))
    b = hdr.encode() + name.encode() + b"\0"
    b += b"\0" * (-len(b) % 4)
    b += data + b"\0" * (-len(data) % 4)
    return b


def initrd(out, release):
    dst = os.path.join(out, "boot-initrd-%s" % release)
    if os.path.exists(dst):
        return dst
    init = ("#!/bin/busybox sh\n/bin/busybox echo RACKD-INITRD-%s\n"
            "/bin/busybox poweroff -f\n" % release).encode()
    with open(BUSYBOX, "rb") as f:
        bb = f.read()
    cpio = (_cpio_entry(".", 0o40755) + _cpio_entry("bin", 0o40755) +
            _cpio_entry("bin/busybox", 0o100755, bb) + _cpio_entry("init", 0o100755, init) +
            _cpio_entry("TRAILER!!!", 0))
    with open(dst + ".tmp", "wb") as f:
        f.write(gzip.compress(cpio))
    os.rename(dst + ".tmp", dst)
    return dst


def squashfs(out, mb):
    dst = os.path.join(out, "squashfs-%d" % mb)
    if os.path.exists(dst):
        return dst
    tree = tempfile.mkdtemp()
    os.makedirs(os.path.join(tree, "etc"))
    with open(os.path.join(tree, "etc", "os-release"), "w") as f:
        f.write("NAME=rackd-test\n")
    if mb:
        with open(os.path.join(tree, "pad"), "wb") as f:
            for _ in range(mb):
                f.write(os.urandom(1 << 20))
    subprocess.run(["mksquashfs", tree, dst + ".tmp", "-noappend", "-noI", "-noD", "-noF",
                    "-noX", "-quiet", "-no-progress"], check=True, stdout=subprocess.DEVNULL)
    os.rename(dst + ".tmp", dst)
    shutil.rmtree(tree)
    return dst


def bootloader(out):
    dst = os.path.join(out, "syslinux.tar.xz")
    if os.path.exists(dst):
        return dst
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as t:
        for p in PXE_FILES:
            t.add(p, arcname=os.path.basename(p))
    with open(dst + ".tmp", "wb") as f:
        f.write(buf.getvalue())
    os.rename(dst + ".tmp", dst)
    return dst


# The os name the region gives each bootloader type's product.
BOOTLOADER_OS = {"pxe": "pxelinux", "uefi": "grub-efi-signed",
                 "open-firmware": "grub-ieee1275"}
# A network boot GRUB's modules (Ubuntu's build-efi-images netboot set,
# trimmed): efinet, tftp and http, the commands MAAS's configs use.
GRUB_NET_MODULES = (
    "normal configfile echo test true linux boot chain efinet net tftp http gzio xzio "
    "part_gpt part_msdos fat ext2 search search_label search_fs_uuid search_fs_file ls "
    "cat sleep reboot halt efi_gop efi_uga all_video video_bochs video_cirrus font "
    "gfxterm terminal serial minicmd regexp").split()


def uefi_grub(out):
    """OUT/grubnetx64-http.efi: prefix /grub on the boot device (as
    Debian's and Ubuntu's netboot images), so grub reads grub/grub.cfg
    from the TFTP server it came from."""
    dst = os.path.join(out, "grubnetx64-http.efi")
    if not os.path.exists(dst):
        subprocess.run(["grub-mkimage", "-O", "x86_64-efi", "-p", "/grub", "-o", dst + ".tmp"]
                       + GRUB_NET_MODULES, check=True)
        os.rename(dst + ".tmp", dst)
    return dst


def uefi_archive(out):
    dst = os.path.join(out, "uefi-amd64.tar.xz")
    if os.path.exists(dst):
        return dst
    grub = uefi_grub(out)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as t:
        for name in ("bootx64.efi", "grubx64.efi"):
            t.add(grub, arcname=name)
    with open(dst + ".tmp", "wb") as f:
        f.write(buf.getvalue())
    os.rename(dst + ".tmp", dst)
    return dst


def bootloader_product(btype, arch, archive, version):
    osname = BOOTLOADER_OS.get(btype, btype)
    return "maas:boot:%s:%s:generic:%s" % (osname, arch, btype), {
        "os": osname, "arch": arch, "subarch": "generic", "release": btype,
        "version": btype, "bootloader-type": btype, "label": "stable",
        "versions": {version: {"items": {
            os.path.basename(archive): {"ftype": "archive.tar.xz",
                                        "file": os.path.abspath(archive)}}}}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("db")
    ap.add_argument("--release", action="append", default=[],
                    help="series:version, e.g. jammy:22.04 (default: jammy:22.04)")
    ap.add_argument("--squashfs-mb", type=int, default=0)
    ap.add_argument("--version", default="20240101")
    ap.add_argument("--no-bootloader", action="store_true",
                    help="no pxe bootloader product")
    ap.add_argument("--kernel", help="serve this file as every boot-kernel")
    ap.add_argument("--initrd", help="serve this file as every boot-initrd")
    ap.add_argument("--squashfs", help="serve this file as every squashfs")
    ap.add_argument("--bootloader", action="append", default=[],
                    help="TYPE:ARCH:ARCHIVE.tar.xz, e.g. uefi:amd64:grub.tar.xz")
    ap.add_argument("--uefi", action="store_true",
                    help="a uefi:amd64 bootloader from Debian's unsigned GRUB")
    a = ap.parse_args()
    for f in (a.kernel, a.initrd, a.squashfs):
        if f and not os.path.isfile(f):
            ap.error("%s: no such file" % f)
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.db, exist_ok=True)
    products = {}
    k = os.path.abspath(a.kernel) if a.kernel else kernel(a.out)
    sq = os.path.abspath(a.squashfs) if a.squashfs else squashfs(a.out, a.squashfs_mb)
    for rel in a.release or ["jammy:22.04"]:
        series, ver = rel.split(":")
        rd = os.path.abspath(a.initrd) if a.initrd else initrd(a.out, series)
        for sub in ("ga-%s" % ver, "hwe-%s" % ver):
            products["maas:boot:ubuntu:amd64:%s:%s" % (sub, series)] = {
                "os": "ubuntu", "arch": "amd64", "subarch": sub, "release": series,
                "version": ver, "label": "stable", "kflavor": "generic",
                "subarches": "generic,hwe-p,hwe-q,hwe-r,hwe-s,hwe-t,hwe-u,hwe-v,hwe-w,"
                             "ga-16.04,ga-18.04,ga-20.04,ga-22.04,ga-24.04",
                "release_title": "%s %s" % (series, ver), "release_codename": series,
                "support_eol": "2032-04-21",
                "versions": {a.version: {"items": {
                    "boot-kernel": {"ftype": "boot-kernel", "file": k},
                    "boot-initrd": {"ftype": "boot-initrd", "file": rd},
                    "squashfs": {"ftype": "squashfs", "file": sq}}}}}
    if not a.no_bootloader:
        products["maas:boot:pxelinux:i386:generic:pxe"] = {
            "os": "pxelinux", "arch": "i386", "subarch": "generic", "release": "pxe",
            "version": "pxe", "bootloader-type": "pxe", "label": "stable",
            "versions": {a.version: {"items": {
                "syslinux.tar.xz": {"ftype": "archive.tar.xz", "file": bootloader(a.out)}}}}}
    extra = list(a.bootloader)
    if a.uefi:
        extra.append("uefi:amd64:" + uefi_archive(a.out))
    for spec in extra:
        btype, arch, archive = spec.split(":", 2)
        if not os.path.isfile(archive):
            ap.error("%s: no such archive" % archive)
        name, prod = bootloader_product(btype, arch, archive, a.version)
        products[name] = prod
    tmp = os.path.join(a.db, "stream.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"products": products}, f, indent=1)
    os.rename(tmp, os.path.join(a.db, "stream.json"))
    print("stream: %d products" % len(products))


if __name__ == "__main__":
    sys.exit(main())
