#!/usr/bin/python3
"""proc_scan.py SECRET PID — scan every /proc/*/cmdline and /proc/*/environ
for SECRET (read from the environment variable named SECRET, so it is not
on this process's own argv) until PID exits.  Prints one JSON object:
{"scans", "ipmitool_seen", "leaks": [descriptions]}."""
import json
import os
import sys


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def main():
    secret = os.environ[sys.argv[1]].encode()
    watch = int(sys.argv[2])
    me = os.getpid()
    scans, seen, leaks = 0, 0, []
    while True:
        alive = os.path.exists("/proc/%d" % watch)
        scans += 1
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == me:
                continue
            comm = read("/proc/%s/comm" % d).strip()
            if comm == b"ipmitool":
                seen += 1
            for what in ("cmdline", "environ"):
                if secret in read("/proc/%s/%s" % (d, what)):
                    leaks.append("%s %s (%s)" % (d, what, comm.decode("ascii", "replace")))
        if not alive:
            break
    print(json.dumps({"scans": scans, "ipmitool_seen": seen, "leaks": leaks[:10]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
