#!/usr/bin/python3
"""The same box as bench/amp_bench.c, encoded and decoded by Twisted's AMP
(AmpBox.serialize + amp.parseString).  Prints boxes per second."""
import json, sys, time, zlib
from twisted.protocols import amp

n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
ctx = zlib.compress(json.dumps({"power_address": "10.0.0.9", "power_user": "admin",
                                "power_pass": "secret", "power_driver": "LAN_2_0"}).encode())
box = amp.AmpBox({b"_ask": b"1a", b"_command": b"PowerQuery", b"context": ctx,
                  b"hostname": b"node1", b"power_type": b"ipmi", b"system_id": b"xyz789"})
t0 = time.monotonic()
for _ in range(n):
    data = box.serialize()
    out = amp.parseString(data)
    assert out[0][b"system_id"] == b"xyz789"
print("twisted %.0f boxes/s" % (n / (time.monotonic() - t0)))
