#!/usr/bin/python3
"""dhcp6_solicit.py — send DHCPv6 Solicits (a fresh client DUID-LL each)
on an interface until one is answered with an address, and say who
answered.  For measuring a failover gap to ~the interval, which dhclient
-6 (about 1.5 s per exchange, backing off) cannot.

  dhcp6_solicit.py IFACE [--interval 0.1] [--deadline 30]
prints {"server": "<link-local the Advertise came from>", "address":
"<IAADDR>", "elapsed_ms": N, "attempts": N} on the first Advertise that
carries an address, or {"server": null, ...} when the deadline passes
(exit 1).  Run it inside the client's network namespace; it needs the
interface's link-local address (it sends from port 546)."""
import argparse
import json
import os
import select
import socket
import struct
import sys
import time

ALL_SERVERS = "ff02::1:2"


def solicit(xid, duid, iaid):
    opts = struct.pack("!HH", 1, len(duid)) + duid             # client id
    opts += struct.pack("!HHIII", 3, 12, iaid, 0, 0)           # IA_NA
    opts += struct.pack("!HHH", 8, 2, 0)                       # elapsed
    return bytes([1]) + xid + opts


def options(buf):
    while len(buf) >= 4:
        code, ln = struct.unpack("!HH", buf[:4])
        yield code, buf[4:4 + ln]
        buf = buf[4 + ln:]


def advertised_address(pkt, xid):
    """The IAADDR of an Advertise answering xid, or None."""
    if len(pkt) < 4 or pkt[0] != 2 or pkt[1:4] != xid:
        return None
    for code, val in options(pkt[4:]):
        if code != 3 or len(val) < 12:
            continue
        for c2, v2 in options(val[12:]):
            if c2 == 5 and len(v2) >= 24:
                return socket.inet_ntop(socket.AF_INET6, v2[:16])
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--deadline", type=float, default=30)
    a = ap.parse_args()
    idx = socket.if_nametoindex(a.iface)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    s.bind(("::", 546))
    start = time.monotonic()
    attempts = 0
    pending = {}
    while time.monotonic() - start < a.deadline:
        attempts += 1
        xid = os.urandom(3)
        mac = b"\x52\x54\x00" + os.urandom(3)
        duid = struct.pack("!HH", 3, 1) + mac                  # DUID-LL
        pending[xid] = True
        s.sendto(solicit(xid, duid, struct.unpack("!I", mac[2:])[0]),
                 (ALL_SERVERS, 547, 0, idx))
        until = time.monotonic() + a.interval
        while True:
            left = until - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([s], [], [], left)
            if not r:
                break
            pkt, src = s.recvfrom(4096)
            addr = advertised_address(pkt, pkt[1:4]) \
                if pkt[1:4] in pending else None
            if addr is not None:
                print(json.dumps({
                    "server": src[0].split("%")[0], "address": addr,
                    "elapsed_ms": int((time.monotonic() - start) * 1000),
                    "attempts": attempts}))
                return 0
    print(json.dumps({"server": None, "address": None,
                      "elapsed_ms": int((time.monotonic() - start) * 1000),
                      "attempts": attempts}))
    return 1


if __name__ == "__main__":
    sys.exit(main())
