#!/usr/bin/python3
"""Render the boot-config golden cases of ./cases with MAAS 3.4.0's
templates through the real tempita, re-stating MAAS's namespace
(provisioningserver/kernel_opts.py compose_kernel_command_line,
boot/__init__.py compose_template_namespace, boot/pxe.py, boot/ipxe.py and
boot/grub.py get_reader) in a few lines.

  gen-extra.py TEMPLATES_DIR [--check]

TEMPLATES_DIR is MAAS's src/provisioningserver/templates at tag 3.4.0
(git archive 3.4.0 src/provisioningserver/templates | tar -x).  Needs
Debian's python3-tempita, python3-netaddr, python3-distro-info.  Cases
with "source: maas" are only compared (they are MAAS's own output: this
checks the re-statement); "source: tempita" cases are written (or with
--check compared).  A case whose rendering raises is written as
"<name>.error" holding the exception type.
"""
import os
import re
import sys
from collections import namedtuple

import tempita
from distro_info import UbuntuDistroInfo
from netaddr import AddrFormatError, IPAddress

FIELDS = ("osystem arch subarch release kernel initrd boot_dtb label purpose "
          "hostname domain preseed_url log_host log_port fs_host extra_opts "
          "http_boot ephemeral_opts").split()
KP = namedtuple("KP", FIELDS)
KP.__call__ = KP._replace
ARCH_OPTS = {"armhf/highbank": ["console=ttyAMA0"],
             "armhf/generic": ["console=ttyAMA0"],
             "ppc64el/generic": ["rootdelay=60"]}


def uri_host(host):
    try:
        ip = IPAddress(host)
    except AddrFormatError:
        return host
    if ip.is_ipv4_mapped():
        return str(ip.ipv4())
    return str(ip) if ip.version == 4 else "[%s]" % ip


def command(p):
    v6 = IPAddress(p.fs_host).version == 6
    o = ["nomodeset", "ro",
         "root=squash:http://%s:5248/images/%s/%s/%s/%s/%s/squashfs" % (
             "[%s]" % p.fs_host if v6 else p.fs_host, p.osystem, p.arch,
             p.subarch, p.release, p.label),
         "ip=off" if v6 else "ip=::::%s:BOOTIF" % p.hostname,
         "ip6=dhcp" if v6 else "ip6=off",
         "overlayroot=tmpfs", "overlayroot_cfgdisk=disabled",
         "cc:{'datasource_list': ['MAAS']}end_cc",
         "cloud-config-url=%s" % p.preseed_url]
    if p.osystem == "ubuntu":
        names = UbuntuDistroInfo().get_all()
        if p.release in names and names.index(p.release) < names.index("jammy"):
            o.append("apparmor=0")
    o += ["log_host=%s" % p.log_host, "log_port=%d" % p.log_port]
    o += ARCH_OPTS.get("%s/%s" % (p.arch, p.subarch), [])
    if p.ephemeral_opts:
        o.append(p.ephemeral_opts)
    if p.extra_opts:
        o += ["---", p.extra_opts]
    return " ".join(o)


def namespace(p):
    d = lambda q: "/".join([q.osystem, q.arch, q.subarch, q.release, q.label])
    return {
        "fs_host": lambda q: "http://%s:5248/images/" % uri_host(q.fs_host),
        "initrd_path": lambda q: "%s/%s" % (d(q), q.initrd if q.initrd is not None else "boot-initrd"),
        "kernel_path": lambda q: "%s/%s" % (d(q), q.kernel if q.kernel is not None else "boot-kernel"),
        "kernel_name": lambda q: q.kernel if q.kernel is not None else "boot-kernel",
        "dtb_path": lambda q: ("%s/%s" % (d(q), q.boot_dtb if q.boot_dtb is not None else "boot-dtb")
                               if q.subarch == "xgene-uboot-mustang" else None),
        "kernel_command": command,
        "kernel_params": p,
    }


def template(tdir, sub, p):
    el = [p.purpose, p.arch, p.subarch]
    names = []
    while el:
        names.append("config.%s.template" % ".".join(el))
        el.pop()
    names.append("config.template")
    for n in names:
        path = os.path.join(tdir, sub, n)
        if os.path.exists(path):
            return tempita.Template.from_filename(path, encoding="UTF-8")
    raise AssertionError("No PXE template")


def render(tdir, case):
    vals = {f: case.get(f) for f in FIELDS}
    if not vals["log_port"]:
        vals["log_port"] = 5247
    else:
        vals["log_port"] = int(vals["log_port"])
    p = KP(**vals)
    method = case["method"]
    t = template(tdir, method, p)
    ns = namespace(p)
    ns["debug"] = case.get("debug") == "true"
    if method == "uefi":
        ns["fs_efihost"] = ("(http,%s:5248)/images/" % uri_host(p.fs_host)
                            if case["protocol"] == "tftp" else "/images/")
        ns["kernel_command"] = lambda q: re.sub(
            r"cc:{(?P<inner>[^}]*)}end_cc", r"cc:\{\g<inner>\}end_cc",
            command(q))
        return t.substitute(ns).strip().encode("utf-8")
    step1 = t.substitute(ns)
    return tempita.Template(step1).substitute(ns).encode("utf-8")


def cases(path):
    out, cur = [], None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#"):
            continue
        if not line:
            cur = None
            continue
        k, _, v = line.partition(":")
        if cur is None:
            cur = {}
            out.append(cur)
        cur[k] = v[1:] if v.startswith(" ") else v
    return out


def main():
    tdir, check = sys.argv[1], "--check" in sys.argv
    here = os.path.dirname(os.path.abspath(__file__))
    bad = 0
    for c in cases(os.path.join(here, "cases")):
        try:
            got, name = render(tdir, c), c["name"]
        except Exception as e:
            got, name = type(e).__name__.encode() + b"\n", c["name"] + ".error"
        path = os.path.join(here, name)
        if c["source"] == "maas" or check:
            if open(path, "rb").read() != got:
                print("MISMATCH", name)
                bad = 1
            else:
                print("same", name)
        else:
            open(path, "wb").write(got)
            print("wrote", name)
    sys.exit(bad)


main()
