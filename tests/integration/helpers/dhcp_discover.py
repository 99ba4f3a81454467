#!/usr/bin/python3
"""dhcp_discover.py — send DHCPDISCOVERs (broadcast flag set, a fresh MAC
each) on an interface until one is answered, and say who answered.

  dhcp_discover.py IFACE [--interval 0.1] [--deadline 30]
                   [--arch N] [--user-class S] [--ipxe-feature CODE]...
prints {"server": "<server-id>", "yiaddr": "...", "elapsed_ms": N,
"attempts": N, "siaddr", "file", "path_prefix" (option 210),
"vendor_class" (option 60)} on the first DHCPOFFER; --arch sends option
93 (client system architecture, as PXE firmware), --user-class option 77
(iPXE sends "iPXE"), --ipxe-feature option 175 (iPXE's encapsulated
options) with that sub-option set to 1 (19 http, 24 bzimage, 36 efi, as
iPXE announces its features), or {"server": null, ...} when the
deadline passes (exit 1).  Run it inside the client's network namespace."""
import argparse
import json
import os
import random
import select
import socket
import struct
import sys
import time

MAGIC = b"\x63\x82\x53\x63"


def discover(mac, xid, arch=None, user_class=None, ipxe_features=()):
    # op htype hlen hops xid secs flags ciaddr yiaddr siaddr giaddr chaddr
    pkt = struct.pack("!BBBBIHH4s4s4s4s16s", 1, 1, 6, 0, xid, 10, 0x8000,
                      b"\0" * 4, b"\0" * 4, b"\0" * 4, b"\0" * 4, mac + b"\0" * 10)
    pkt += b"\0" * 192 + MAGIC
    pkt += bytes([53, 1, 1])                      # DHCPDISCOVER
    pkt += bytes([61, 7, 1]) + mac                # client identifier
    if arch is not None:
        pkt += bytes([93, 2]) + struct.pack("!H", arch)
    if user_class:
        pkt += bytes([77, len(user_class)]) + user_class.encode()
    if ipxe_features:
        sub = b"".join(bytes([code, 1, 1]) for code in ipxe_features)
        pkt += bytes([175, len(sub)]) + sub
    pkt += bytes([55, 3, 1, 3, 6]) + b"\xff"      # requested parameters, end
    return pkt


def parse(pkt, xid):
    if len(pkt) < 240 or pkt[0] != 2 or struct.unpack("!I", pkt[4:8])[0] != xid:
        return None
    yiaddr = socket.inet_ntoa(pkt[16:20])
    boot = {"siaddr": socket.inet_ntoa(pkt[20:24]),
            "file": pkt[108:236].split(b"\0")[0].decode(errors="replace"),
            "path_prefix": None, "vendor_class": None}
    opts, i, msgtype, server = pkt[240:], 0, None, None
    while i < len(opts) and opts[i] != 255:
        if opts[i] == 0:
            i += 1
            continue
        code, ln = opts[i], opts[i + 1]
        val = opts[i + 2:i + 2 + ln]
        if code == 53:
            msgtype = val[0]
        elif code == 54 and ln == 4:
            server = socket.inet_ntoa(val)
        elif code == 210:
            boot["path_prefix"] = val.decode(errors="replace")
        elif code == 60:
            boot["vendor_class"] = val.decode(errors="replace")
        i += 2 + ln
    return (msgtype, server, yiaddr, boot) if msgtype == 2 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--deadline", type=float, default=30)
    ap.add_argument("--arch", type=int)
    ap.add_argument("--user-class")
    ap.add_argument("--ipxe-feature", type=int, action="append", default=[])
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    s.bind(("0.0.0.0", 68))
    t0 = time.monotonic()
    attempts = 0
    while time.monotonic() - t0 < a.deadline:
        attempts += 1
        mac = bytes([0x52, 0x54, 0x01]) + os.urandom(3)
        xid = random.getrandbits(32)
        s.sendto(discover(mac, xid, a.arch, a.user_class, a.ipxe_feature), ("255.255.255.255", 67))
        end = time.monotonic() + a.interval
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            got = parse(s.recv(4096), xid)
            if got:
                print(json.dumps(dict({"server": got[1], "yiaddr": got[2], "attempts": attempts,
                                       "elapsed_ms": round((time.monotonic() - t0) * 1000)},
                                      **got[3])))
                return 0
    print(json.dumps({"server": None, "attempts": attempts,
                      "elapsed_ms": round((time.monotonic() - t0) * 1000)}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
