#!/usr/bin/python3
"""perfdhcp_sum.py — several perfdhcp runs' reports summed into one, for
bench/imagesync_dhcp.sh (which runs perfdhcp in short chunks so it can
keep only those wholly inside the sync).

  perfdhcp_sum.py OUTPUT...

Prints one JSON object per exchange (DO = DISCOVER-OFFER, RA =
REQUEST-ACK): sent, received, drops, min/avg/max/std delay in ms (avg
weighted by packets received, std pooled), and "rate": the mean of the
chunks' achieved 4-way exchanges/s.
"""
import json
import math
import re
import sys

NAMES = {"DISCOVER-OFFER": "DO", "REQUEST-ACK": "RA"}


def parse(text):
    out, cur = {}, None
    m = re.search(r"^Rate: ([0-9.]+)", text, re.M)
    rate = float(m.group(1)) if m else None
    for line in text.splitlines():
        m = re.match(r"\*\*\*Statistics for: (\S+)\*\*\*", line)
        if m:
            cur = out.setdefault(NAMES.get(m.group(1), m.group(1)), {})
            continue
        m = re.match(r"(sent packets|received packets|drops|min delay|avg delay|"
                     r"max delay|std deviation): ([0-9.naif+-]+)", line)
        if m and cur is not None:
            try:
                cur[m.group(1)] = float(m.group(2))
            except ValueError:
                pass
    return rate, out


def main():
    tot, rates = {}, []
    for path in sys.argv[1:]:
        with open(path) as f:
            rate, ex = parse(f.read())
        if rate is not None:
            rates.append(rate)
        for name, s in ex.items():
            t = tot.setdefault(name, {"sent": 0, "received": 0, "drops": 0,
                                      "min": math.inf, "max": 0.0, "s1": 0.0, "s2": 0.0})
            n = s.get("received packets", 0)
            t["sent"] += int(s.get("sent packets", 0))
            t["received"] += int(n)
            t["drops"] += int(s.get("drops", 0))
            if n:
                avg, std = s.get("avg delay", 0.0), s.get("std deviation", 0.0)
                t["min"] = min(t["min"], s.get("min delay", math.inf))
                t["max"] = max(t["max"], s.get("max delay", 0.0))
                t["s1"] += n * avg
                t["s2"] += n * (std * std + avg * avg)
    res = {"chunks": len(sys.argv) - 1,
           "rate": round(sum(rates) / len(rates), 1) if rates else None}
    for name, t in tot.items():
        n = t["received"]
        avg = t["s1"] / n if n else None
        std = math.sqrt(max(0.0, t["s2"] / n - avg * avg)) if n else None
        res[name] = {"sent": t["sent"], "received": n, "drops": t["drops"],
                     "min_ms": round(t["min"], 3) if n else None,
                     "avg_ms": round(avg, 3) if n else None,
                     "max_ms": round(t["max"], 3) if n else None,
                     "std_ms": round(std, 3) if n else None}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
