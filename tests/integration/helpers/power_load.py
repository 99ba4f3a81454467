#!/usr/bin/python3
"""power_load.py — fire many rack commands through the fake region's control
API at once and report latencies.  Arguments come from a file (one JSON
object per line), never argv, so no BMC password shows in /proc/*/cmdline.

  power_load.py --control PORT --command PowerQuery --concurrency N FILE
prints one JSON object: {"n", "ok", "errors", "p50_ms", "p99_ms", "max_ms",
"wall_ms", "states": {state: count}, "failures": [first few]}.
"""
import argparse
import json
import sys
import threading
import time
import urllib.request


def call(port, command, args, timeout, system_id=None):
    req = {"command": command, "args": args, "timeout": timeout}
    if system_id:
        req["system_id"] = system_id
    body = json.dumps(req).encode()
    req = urllib.request.Request("http://127.0.0.1:%d/call" % port, data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout + 30) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--control", type=int, required=True)
    ap.add_argument("--command", required=True)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--system-id", help="send to this rack only")
    ap.add_argument("file")
    a = ap.parse_args()
    with open(a.file) as f:
        jobs = [json.loads(line) for line in f if line.strip()]
    lock = threading.Lock()
    lat, states, failures, by_state = [], {}, [], {}
    idx = [0]

    def worker():
        while True:
            with lock:
                if idx[0] >= len(jobs):
                    return
                job = jobs[idx[0]]
                idx[0] += 1
            t = time.monotonic()
            try:
                out = call(a.control, a.command, job, a.timeout, a.system_id)
            except Exception as e:  # noqa: BLE001
                out = {"ok": False, "error_code": type(e).__name__, "description": str(e)}
            ms = (time.monotonic() - t) * 1000
            with lock:
                lat.append(ms)
                if out.get("ok"):
                    st = (out.get("answer") or {}).get("state", "ok")
                    by_state.setdefault(st, []).append(ms)
                    states[st] = states.get(st, 0) + 1
                    if st == "error" and len(failures) < 5:
                        failures.append(out["answer"].get("error_msg"))
                else:
                    states["rpc-error"] = states.get("rpc-error", 0) + 1
                    if len(failures) < 5:
                        failures.append("%s: %s" % (out.get("error_code"), out.get("description")))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(max(1, a.concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = (time.monotonic() - t0) * 1000
    lat.sort()

    def pct(p, v=None):
        v = lat if v is None else sorted(v)
        return round(v[min(len(v) - 1, int(len(v) * p))], 1) if v else None
    print(json.dumps({"n": len(jobs), "ok": sum(v for k, v in states.items() if k != "rpc-error"),
                      "states": states, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                      "max_ms": round(lat[-1], 1) if lat else None,
                      "wall_ms": round(wall, 1),
                      "by_state": {k: {"n": len(v), "p50_ms": pct(0.5, v), "p99_ms": pct(0.99, v)}
                                   for k, v in by_state.items()},
                      "failures": failures[:2]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
