#!/usr/bin/python3
"""loop_probe.py — how long rackd's event loop takes to answer, sampled
every 10 ms until STOPFILE exists (bench/imagesync.sh runs it through a
whole sync).  Prints one JSON object {"n", "p50_ms", "p99_ms", "max_ms"}.

  loop_probe.py metrics PORT STOPFILE    GET /metrics on rackd's internal
                                         HTTP port: rackd's loop alone
  loop_probe.py identify CTLPORT STOPFILE Identify through a fake region's
                                         control API (region + AMP + loop)
"""
import json
import os
import sys
import time
import urllib.request


def once(mode, port):
    if mode == "metrics":
        urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=30).read()
    else:
        body = json.dumps({"command": "Identify", "args": {}}).encode()
        r = urllib.request.Request("http://127.0.0.1:%s/call" % port, data=body,
                                   headers={"Content-Type": "application/json"})
        urllib.request.urlopen(r, timeout=30).read()


def main():
    mode, port, stop = sys.argv[1:4]
    lat = []
    while not os.path.exists(stop):
        t0 = time.monotonic()
        try:
            once(mode, port)
        except OSError:
            pass
        lat.append((time.monotonic() - t0) * 1000)
        time.sleep(0.01)
    lat.sort()
    pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1) if lat else None
    print(json.dumps({"n": len(lat), "p50_ms": pick(0.5), "p99_ms": pick(0.99),
                      "max_ms": round(lat[-1], 1) if lat else None}))


if __name__ == "__main__":
    main()
