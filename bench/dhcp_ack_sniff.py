#!/usr/bin/python3
"""dhcp_ack_sniff.py — when each DHCPACK reached the client's link, for
bench/imagesync_dhcp.sh: Kea commits a lease (and its hook writes the
event for rackd) just before it sends the ACK, so the ACK's arrival is
the commit's time to within the packet's flight on a veth.

  dhcp_ack_sniff.py IFNAME STOPFILE > acks

Reads every IPv4 frame on IFNAME (AF_PACKET, run it inside the client's
namespace) until STOPFILE exists, and prints one line per DHCPACK:
"EPOCH_SECONDS IP MAC", the time being the kernel's receive timestamp
(SO_TIMESTAMPNS), so a busy machine delaying this process does not
shift it.
"""
import os
import socket
import struct
import sys

ETH_P_IP = 0x0800
SO_TIMESTAMPNS = 35
DHCP_MAGIC = b"\x63\x82\x53\x63"


def ack_of(frame):
    """(ip, mac) when FRAME is a DHCPACK from a server, else None."""
    if len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != 17 or len(ip) < ihl + 8:
        return None
    sport = struct.unpack("!H", ip[ihl:ihl + 2])[0]
    if sport != 67:
        return None
    b = ip[ihl + 8:]
    if len(b) < 240 or b[0] != 2 or b[236:240] != DHCP_MAGIC:
        return None
    i = 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        if i + 1 >= len(b):
            return None
        code, n = b[i], b[i + 1]
        if code == 53 and n >= 1:
            if b[i + 2] != 5:
                return None
            return (socket.inet_ntoa(b[16:20]),
                    ":".join("%02x" % x for x in b[28:34]))
        i += 2 + n
    return None


def main():
    ifname, stop = sys.argv[1:3]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    s.bind((ifname, 0))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.settimeout(0.2)
    out = sys.stdout
    while not os.path.exists(stop):
        try:
            frame, anc, _, _ = s.recvmsg(4096, 64)
        except socket.timeout:
            continue
        a = ack_of(frame)
        if a is None:
            continue
        t = None
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                t = sec + nsec / 1e9
        if t is None:
            import time
            t = time.time()
        out.write("%.6f %s %s\n" % (t, a[0], a[1]))
    out.flush()


if __name__ == "__main__":
    main()
