#!/usr/bin/python3
"""lease_latency.py — how long a lease event takes from Kea's commit to
rackd sending it and to the region receiving it, for
bench/imagesync_dhcp.sh.

  lease_latency.py ACKS T0 T1 RACKD_LOG CALLS...

ACKS: "EPOCH IP MAC" per DHCPACK (bench/dhcp_ack_sniff.py).  RACKD_LOG:
rackd's log at debug level, whose "-> {... _command: UpdateLeases ...}"
lines show when it sends each batch (ms timestamps, local time; a long
line is cut, so a batch is known by its first update and the region's
record of it gives the rest).  CALLS: the
fake regions' --record files, whose UpdateLeases lines carry the time
the region received them ("t").  Each ACK sent in [T0, T1] is matched to
the first commit of the same IP and MAC sent (received) after it, each
commit used once.  Prints one JSON object:
  {"acks": N, "rackd_send": STATS, "region": STATS,
   "region_answer": R, "rackd_turn": R}
STATS: matched, unmatched, the latency's p50/p99/max in ms, how many
UpdateLeases batches carried them, and (region) how many each region got.
rackd keeps one UpdateLeases in flight, so an event waits for the answer
to the batch before it: R splits the rounds sent in [T0, T1] into the
region's answer time (send -> answer) and rackd's own turn (answer -> next
batch sent while events were waiting); n, p50/p99/max in ms, sum in s.
"""
import bisect
import collections
import datetime
import json
import os
import re
import sys

SLACK = 0.05	# the hook writes the event just before Kea sends the ACK
LOG_SEND = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) .*-> \{_ask: \w+, "
                      r"_command: UpdateLeases,(.*)$")
LOG_UPDATE = re.compile(r"\{([^{}]*action: commit[^{}]*)\}")


def rackd_sends(path):
    """{(ip, mac) of a batch's first update: [send times]} from rackd's log
    (its debug lines are cut at a length: the first update always shows)."""
    first = collections.defaultdict(list)
    with open(path, errors="replace") as f:
        for line in f:
            m = LOG_SEND.match(line)
            if not m:
                continue
            u = LOG_UPDATE.search(m.group(2))
            if not u:
                continue
            ip = re.search(r"\bip: ([0-9.]+)", u.group(1))
            mac = re.search(r"\bmac: ([0-9a-fA-F:]+)", u.group(1))
            if ip and mac:
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
                first[(ip.group(1), mac.group(1).lower())].append(t)
    return first


def from_region(path, got, sent, first, base):
    """Commits the region received (got) and when rackd sent each (sent:
    the send of the batch whose first update matches, before the region
    got it)."""
    name = os.path.basename(path).split(".")[0].replace("region-", "")
    n = base
    with open(path) as f:
        for line in f:
            if '"UpdateLeases"' not in line:
                continue
            c = json.loads(line)
            if c.get("dir") != "in" or c.get("command") != "UpdateLeases":
                continue
            n += 1
            ups = [u for u in (c.get("args") or {}).get("updates", [])]
            st = None
            if ups:
                k = (ups[0]["ip"], ups[0]["mac"].lower())
                ts = [t for t in first.get(k, []) if t <= c["t"] + 0.002]
                st = ts[-1] if ts else None
            for u in ups:
                if u.get("action") != "commit":
                    continue
                k = (u["ip"], u["mac"].lower())
                got[k].append((c["t"], n, name))
                if st is not None:
                    sent[k].append((st, n, "rackd"))
    return n


def match(acks, commits):
    for v in commits.values():
        v.sort()
    used = set()
    lat, batches, by = [], set(), collections.Counter()
    unmatched = 0
    for t, ip, mac in acks:
        v = commits.get((ip, mac), [])
        i = bisect.bisect_left(v, (t - SLACK,))
        while i < len(v) and (ip, mac, i) in used:
            i += 1
        if i == len(v):
            unmatched += 1
            continue
        used.add((ip, mac, i))
        lat.append((v[i][0] - t) * 1000)
        batches.add(v[i][1])
        by[v[i][2]] += 1
    lat.sort()
    pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1) if lat else None
    return {"matched": len(lat), "unmatched": unmatched, "p50_ms": pick(0.5),
            "p99_ms": pick(0.99), "max_ms": round(lat[-1], 1) if lat else None,
            "batches": len(batches), "by": dict(by)}


LOG_ASK = re.compile(r"^(\S+ \S+) .*region (\S+): -> \{_ask: (\w+), _command: UpdateLeases")
LOG_ANSWER = re.compile(r"^(\S+ \S+) .*region (\S+): <- \{_(?:answer|error): (\w+)[,}]")


def stats(v):
    v = sorted(v)
    if not v:
        return {"n": 0}
    return {"n": len(v), "p50_ms": round(v[len(v) // 2], 1),
            "p99_ms": round(v[min(len(v) - 1, int(0.99 * len(v)))], 1),
            "max_ms": round(v[-1], 1), "sum_s": round(sum(v) / 1000, 2)}


def rounds(path, t0, t1):
    """rackd's UpdateLeases rounds sent in [T0, T1]: the region's answer
    time (send -> answer) and rackd's own turn (an answer -> the next
    batch sent, when one was waiting; the ack's fsync, the import)."""
    ask, rtt, turn, last = {}, [], [], None
    with open(path, errors="replace") as f:
        for line in f:
            m = LOG_ASK.match(line)
            if m:
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
                ask[(m.group(2), m.group(3))] = t
                if last is not None and t0 <= t <= t1 and t - last < 1:
                    turn.append((t - last) * 1000)
                continue
            m = LOG_ANSWER.match(line)
            if m and (m.group(2), m.group(3)) in ask:
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
                s = ask.pop((m.group(2), m.group(3)))
                if t0 <= s <= t1:
                    rtt.append((t - s) * 1000)
                last = t
    return {"region_answer": stats(rtt), "rackd_turn": stats(turn)}


def main():
    acks_path, t0, t1, log = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    with open(acks_path) as f:
        acks = sorted((float(t), ip, mac) for t, ip, mac in
                      (l.split() for l in f if l.strip()) if t0 <= float(t) <= t1)
    first = rackd_sends(log)
    sent, got, n = collections.defaultdict(list), collections.defaultdict(list), 0
    for path in sys.argv[5:]:
        n = from_region(path, got, sent, first, n)
    r = match(acks, sent)
    del r["by"]
    out = {"acks": len(acks), "rackd_send": r, "region": match(acks, got)}
    out.update(rounds(log, t0, t1))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
