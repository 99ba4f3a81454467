#!/usr/bin/python3
"""bench/pxe_storm_client.py — N PXE clients at once in one process (asyncio),
for bench/pxe_storm.sh: no fork per client, so the storm measures the servers
rather than process start-up on a shared machine.

  pxe_storm_client.py tftp PORT DIR N   each client i (1..N): RRQ lpxelinux.0,
        then RRQ pxelinux.cfg/01-<mac i> (blksize 1468, as PXE ROMs), ACKing
        every block; compared with DIR/lpxelinux.0 and DIR/pxelinux.cfg/01-<mac>
  pxe_storm_client.py http PORT DIR N   each client: GET /ipxe.cfg-<mac i>
        (HTTP/1.0), body compared with DIR/ipxe.cfg-<mac i>

Prints one JSON line: {"total_s", "latencies_ms": [per client], "failed": n,
"errors": [first few]}.  Retransmits after 1 s, 5 tries, as busybox tftp;
127.0.0.1 only.
"""
import asyncio
import json
import os
import struct
import sys
import time

BLKSIZE = 1468
TIMEOUT = 1.0
TRIES = 5


def mac(i):
    return "52:54:00:00:%02x:%02x" % (i // 256, i % 256)


class _Tftp(asyncio.DatagramProtocol):
    """One read transfer; done is a future of the file's bytes."""

    def __init__(self, name, port, loop):
        self.name, self.port = name, port
        self.done = loop.create_future()
        self.data = bytearray()
        self.block = 0
        self.last = None
        self.dest = ("127.0.0.1", port)
        self.timer = None
        self.tries = 0
        self.loop = loop

    def connection_made(self, transport):
        self.t = transport
        opts = b"blksize\0%d\0" % BLKSIZE
        self._send(b"\0\1" + self.name.encode() + b"\0octet\0" + opts, self.dest)

    def _send(self, pkt, dest):
        self.last = (pkt, dest)
        self.tries = 0
        self.t.sendto(pkt, dest)
        self._arm()

    def _arm(self):
        if self.timer:
            self.timer.cancel()
        self.timer = self.loop.call_later(TIMEOUT, self._timeout)

    def _timeout(self):
        self.tries += 1
        if self.tries >= TRIES:
            self._end(RuntimeError("%s: timed out at block %d" % (self.name, self.block)))
            return
        self.t.sendto(*self.last)
        self._arm()

    def _end(self, result):
        if self.timer:
            self.timer.cancel()
        if not self.done.done():
            if isinstance(result, Exception):
                self.done.set_exception(result)
            else:
                self.done.set_result(result)
        self.t.close()

    def datagram_received(self, pkt, addr):
        if len(pkt) < 4 or self.done.done():
            return
        op, n = struct.unpack("!HH", pkt[:4])
        if op == 5:
            self._end(RuntimeError("%s: error %d %s" % (self.name, n, pkt[4:-1].decode(errors="replace"))))
        elif op == 6 and self.block == 0:          # OACK
            self.dest = addr
            self._send(b"\0\4\0\0", addr)
        elif op == 3:
            self.dest = addr
            if n == (self.block + 1) & 0xffff:
                self.block += 1
                self.data += pkt[4:]
                ack = b"\0\4" + struct.pack("!H", n)
                if len(pkt) - 4 < BLKSIZE:
                    self.t.sendto(ack, addr)
                    self._end(bytes(self.data))
                    return
                self._send(ack, addr)
            elif n == self.block & 0xffff:        # our ACK was lost
                self.t.sendto(b"\0\4" + struct.pack("!H", n), addr)


async def tftp_get(loop, port, name):
    _, proto = await loop.create_datagram_endpoint(
        lambda: _Tftp(name, port, loop), local_addr=("127.0.0.1", 0))
    return await proto.done


async def tftp_client(loop, port, d, i, boot):
    cfgname = "pxelinux.cfg/01-" + mac(i).replace(":", "-")
    with open(os.path.join(d, cfgname), "rb") as f:
        want = f.read()
    if await tftp_get(loop, port, "lpxelinux.0") != boot:
        raise RuntimeError("lpxelinux.0 differs")
    if await tftp_get(loop, port, cfgname) != want:
        raise RuntimeError("%s differs" % cfgname)


async def http_client(loop, port, d, i, _boot):
    path = "ipxe.cfg-" + mac(i)
    with open(os.path.join(d, path), "rb") as f:
        want = f.read()
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(b"GET /%s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" % path.encode())
    resp = await asyncio.wait_for(r.read(), 30)
    w.close()
    head, _, body = resp.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
        raise RuntimeError("%s: %s" % (path, head.split(b"\r\n")[0].decode(errors="replace")))
    if body != want:
        raise RuntimeError("%s differs" % path)


async def main():
    kind, port, d, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    loop = asyncio.get_running_loop()
    with open(os.path.join(d, "lpxelinux.0"), "rb") as f:
        boot = f.read()
    fn = tftp_client if kind == "tftp" else http_client
    lat, errors = [], []

    async def one(i):
        t0 = time.monotonic()
        try:
            await fn(loop, port, d, i, boot)
        except Exception as e:      # counted, not fatal: a lost client is a result
            errors.append(str(e))
        lat.append((time.monotonic() - t0) * 1000)

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(1, n + 1)))
    print(json.dumps({"total_s": time.monotonic() - t0, "latencies_ms": lat,
                      "failed": len(errors), "errors": errors[:3]}))


asyncio.run(main())
