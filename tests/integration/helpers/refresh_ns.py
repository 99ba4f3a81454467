#!/usr/bin/python3
"""Checks of the rack refresh for the netns integration tests: what a fake
region stored for a rack, compared with what a network namespace has.
Run it where the region's control port is (ip netns exec <region ns> ...).

  refresh_ns.py --ctl PORT sid HOSTNAME        the rack's system_id (exit 1: none yet)
  refresh_ns.py --ctl PORT processed SID [N]   at least N (1) accepted reports
  refresh_ns.py --ctl PORT match SID NS        stored interfaces == NS's (below)
  refresh_ns.py --ctl PORT has SID IF [ADDR MODE]   IF stored (with ADDR/prefix, MODE)
  refresh_ns.py --ctl PORT lacks SID IF [ADDR]      IF (or ADDR on IF) not stored
  refresh_ns.py --ctl PORT show SID            the stored interfaces, one per line

"As NS has them" (maas-rack-refresh.md 3.3, pitfall 4): every interface but
lo with its MAC and state, and its global-scope addresses except floating
ones (an IPv4 secondary, or a permanent /32 or /128), tentative, DAD-failed
and temporary ones; mode dhcp for an address with a lifetime (not
permanent), static otherwise.  Exit 0 when the condition holds; the reason
on stderr otherwise.
"""
import json
import subprocess
import sys
import urllib.request


def get(ctl, path):
    with urllib.request.urlopen("http://127.0.0.1:%s%s" % (ctl, path), timeout=10) as r:
        return json.loads(r.read())


def stored(ctl, sid):
    return get(ctl, "/rack-interfaces?system_id=%s" % sid)["interfaces"]


def namespace_view(ns):
    out = {}
    links = json.loads(subprocess.run(["ip", "-j", "-n", ns, "addr", "show"], check=True,
                                      capture_output=True).stdout)
    for e in links:
        if e["ifname"] == "lo":
            continue
        addrs = []
        for a in e.get("addr_info", []):
            host = a["prefixlen"] == (32 if a["family"] == "inet" else 128)
            if (a.get("scope") != "global" or a.get("secondary") or a.get("tentative")
                    or a.get("dadfailed") or a.get("temporary")
                    or (host and not a.get("dynamic"))):
                continue
            addrs.append({"address": "%s/%d" % (a["local"], a["prefixlen"]),
                          "mode": "dhcp" if a.get("dynamic") else "static"})
        out[e["ifname"]] = {"mac": e["address"].lower(), "enabled": "UP" in e["flags"],
                            "links": sorted(addrs, key=lambda l: l["address"])}
    return out


def fail(msg):
    sys.stderr.write("refresh_ns.py: %s\n" % msg)
    return 1


def main(argv):
    if len(argv) < 4 or argv[0] != "--ctl":
        sys.stderr.write(__doc__)
        return 2
    ctl, verb, args = argv[1], argv[2], argv[3:]
    if verb == "sid":
        for c in get(ctl, "/connections"):
            if c.get("hostname") == args[0] and c.get("registered"):
                print(c["system_id"])
                return 0
        return fail("no registered rack %s" % args[0])
    if verb == "processed":
        want = int(args[1]) if len(args) > 1 else 1
        n = sum(1 for e in get(ctl, "/refreshes?system_id=%s" % args[0]) if e["processed"])
        print(n)
        return 0 if n >= want else fail("%d accepted reports, want %d" % (n, want))
    if verb == "show":
        for name, e in sorted(stored(ctl, args[0]).items()):
            print(name, e["type"], e["mac"], "up" if e["enabled"] else "down",
                  " ".join("%s(%s)" % (l["address"], l["mode"]) for l in e["links"]))
        return 0
    if verb == "match":
        have = {n: {"mac": e["mac"], "enabled": e["enabled"],
                    "links": sorted(e["links"], key=lambda l: l["address"])}
                for n, e in stored(ctl, args[0]).items()}
        want = namespace_view(args[1])
        if have != want:
            return fail("stored %s\n  namespace %s" % (json.dumps(have, sort_keys=True),
                                                     json.dumps(want, sort_keys=True)))
        return 0
    if verb in ("has", "lacks"):
        ifs = stored(ctl, args[0])
        e = ifs.get(args[1])
        if len(args) == 2:
            ok = (e is not None) == (verb == "has")
        elif verb == "has":
            ok = e is not None and {"address": args[2], "mode": args[3]} in e["links"]
        else:
            ok = e is None or all(l["address"] != args[2] for l in e["links"])
        return 0 if ok else fail("%s %s: stored %s" % (verb, " ".join(args[1:]),
                                                       json.dumps(e)))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
