#!/usr/bin/python3
"""Passive boot-traffic logger for the VM boot tests (vm.sh): one line per
DHCP message, TFTP read request and HTTP request seen on an interface,
each stamped with the wall clock, so the test can time a boot from the
wire and check what the firmware really sent (option 93, user class).

  vm_sniff.py IFACE LOGFILE

Lines (fields separated by one space; values never contain spaces):
  <time> READY
  <time> DHCP <type> xid=<hex> mac=<mac> arch=<opt93 hex|-> uc=<opt77|-> vc=<opt60|-> file=<file|-> yiaddr=<ip>
  <time> TFTP RRQ <file> from=<ip>
  <time> HTTP <method> <path> from=<ip>        (port 5248)
  <time> TCP SYN port=<port> from=<ip> to=<ip>   (connections to other ports)
Runs until killed (SIGTERM).  Non-printable bytes are written as \\xNN.
"""
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
DHCP_TYPES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK",
              6: "NAK", 7: "RELEASE", 8: "INFORM"}


def text(b):
    return "".join(chr(c) if 33 <= c < 127 else "\\x%02x" % c for c in b) or "-"


def dhcp_line(p):
    if len(p) < 240 or p[236:240] != b"\x63\x82\x53\x63":
        return None
    xid = p[4:8].hex()
    yiaddr = socket.inet_ntoa(p[16:20])
    mac = ":".join("%02x" % c for c in p[28:34])
    file = p[108:236].split(b"\0", 1)[0]
    opts, i = {}, 240
    while i < len(p):
        code = p[i]
        if code == 255:
            break
        if code == 0:
            i += 1
            continue
        if i + 1 >= len(p):
            break
        n = p[i + 1]
        opts[code] = p[i + 2:i + 2 + n]
        i += 2 + n
    kind = DHCP_TYPES.get(opts.get(53, b"\0")[0], "?")
    arch = opts[93].hex() if 93 in opts else "-"
    return "DHCP %s xid=%s mac=%s arch=%s uc=%s vc=%s file=%s yiaddr=%s" % (
        kind, xid, mac, arch, text(opts.get(77, b"")), text(opts.get(60, b"")),
        text(file), yiaddr)


def main():
    iface, path = sys.argv[1], sys.argv[2]
    out = open(path, "a", buffering=1)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    out.write("%.3f READY\n" % time.time())
    while True:
        frame, addr = s.recvfrom(65535)
        if len(frame) < 14 + 20 or struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        proto, src = ip[9], socket.inet_ntoa(ip[12:16])
        l4 = ip[ihl:]
        now = time.time()
        line = None
        if proto == 17 and len(l4) >= 8:
            sport, dport = struct.unpack("!HH", l4[:4])
            body = l4[8:]
            if {sport, dport} & {67, 68}:
                line = dhcp_line(body)
            elif dport == 69 and body[:2] == b"\0\1":
                line = "TFTP RRQ %s from=%s" % (text(body[2:].split(b"\0", 1)[0]), src)
        elif proto == 6 and len(l4) >= 20:
            dport = struct.unpack("!H", l4[2:4])[0]
            body = l4[(l4[12] >> 4) * 4:]
            if l4[13] & 0x12 == 0x02 and dport != 5248:     # SYN elsewhere
                line = "TCP SYN port=%d from=%s to=%s" % (
                    dport, src, socket.inet_ntoa(ip[16:20]))
            elif dport == 5248 and body[:4] in (b"GET ", b"HEAD"):
                req = body.split(b"\r\n", 1)[0].split(b" ")
                if len(req) >= 2:
                    line = "HTTP %s %s from=%s" % (text(req[0]), text(req[1]), src)
        if line:
            out.write("%.3f %s\n" % (now, line))


if __name__ == "__main__":
    main()
