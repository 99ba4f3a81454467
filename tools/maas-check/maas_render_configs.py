#!/usr/bin/python3
"""Render every case of tests/unit/data/boot-golden/cases with MAAS
3.4.0's own PXEBootMethod / IPXEBootMethod / UEFIAMD64BootMethod
get_reader (real tempita, MAAS's templates) and compare with the golden
files; a NAME.error file means MAAS must raise.  By hand:

  PYTHONPATH=<maas 3.4.0>/src tools/maas-check/maas_render_configs.py <maas 3.4.0>

Needs Debian's python3-tempita, python3-netaddr, python3-distro-info and
python3-twisted.  Exit 1 on any difference.
"""
import sys, os
HERE = os.path.dirname(os.path.abspath(__file__))
MAAS = sys.argv[1]
sys.argv = [sys.argv[0], "/nonexistent"]
exec(open(os.path.join(HERE, "maas_list_boot_images.py")).read().split("from provisioningserver.boot import tftppath")[0])
import curtin
curtin.KERNEL_CMDLINE_COPY_TO_INSTALL_SEP = "---"
cfg.debug_enabled = lambda: DEBUG[0]
DEBUG = [False]
import provisioningserver.boot as boot
boot.debug_enabled = lambda: DEBUG[0]
from provisioningserver.boot.pxe import PXEBootMethod
from provisioningserver.boot.ipxe import IPXEBootMethod
from provisioningserver.boot.grub import UEFIAMD64BootMethod
from provisioningserver.kernel_opts import KernelParameters
import provisioningserver.utils as pu
tdir = os.path.join(MAAS, "src/provisioningserver/templates")
for cls in (PXEBootMethod, IPXEBootMethod, UEFIAMD64BootMethod):
    cls.get_template_dir = lambda self, d=None: os.path.join(tdir, self.template_subdir)
FIELDS = ("osystem arch subarch release kernel initrd boot_dtb label purpose hostname domain preseed_url log_host log_port fs_host extra_opts http_boot ephemeral_opts").split()
def cases(path):
    out, cur = [], None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#"): continue
        if not line: cur = None; continue
        k, _, v = line.partition(":")
        if cur is None: cur = {}; out.append(cur)
        cur[k] = v[1:] if v.startswith(" ") else v
    return out
gold = os.path.join(HERE, "../../tests/unit/data/boot-golden")
bad = 0
for c in cases(gold + "/cases"):
    kw = {f: c.get(f) for f in FIELDS}
    kw["log_port"] = int(kw["log_port"]) if kw["log_port"] else None
    DEBUG[0] = c.get("debug") == "true"
    m = {"pxe": PXEBootMethod, "ipxe": IPXEBootMethod, "uefi": UEFIAMD64BootMethod}[c["method"]]()
    try:
        kp = KernelParameters(**kw)
        if c["method"] == "uefi":
            got = m.get_reader(None, kp, protocol=c["protocol"]).read(10**6)
        else:
            got = m.get_reader(None, kp).read(10**6)
        name = c["name"]
    except Exception as e:
        got, name = None, c["name"] + ".error"
    path = os.path.join(gold, name)
    if not os.path.exists(path) or (got is not None and open(path, "rb").read() != got):
        print("DIFF", name, repr(got)[:300]); bad = 1
    else:
        print("same", name)
sys.exit(bad)
