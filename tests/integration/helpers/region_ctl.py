#!/usr/bin/python3
"""Client for fake_region.py's control API.

  region_ctl.py --control PORT status|connections|calls
  region_ctl.py --control PORT call COMMAND JSON_ARGS [--raw]
  region_ctl.py --control PORT fault JSON
  region_ctl.py --control PORT eventloops-remove JSON
Prints the JSON answer; exit 1 when the answer says ok: false.
"""
import json, sys, urllib.request

argv = sys.argv[1:]
if len(argv) < 3 or argv[0] != "--control":
    sys.exit(__doc__)
port, verb, rest = argv[1], argv[2], argv[3:]
base = "http://127.0.0.1:%s" % port


def req(path, body=None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    r = urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=timeout)
    return json.loads(r.read())


if verb in ("status", "connections", "calls"):
    out = req("/" + verb)
elif verb == "call":
    body = {"command": rest[0], "args": json.loads(rest[1]) if len(rest) > 1 else {}}
    if "--raw" in rest:
        body["raw"] = True
    out = req("/call", body)
elif verb == "fault":
    out = req("/fault", json.loads(rest[0]))
elif verb == "eventloops-remove":
    out = req("/eventloops/remove", json.loads(rest[0]))
else:
    sys.exit("unknown verb " + verb)
print(json.dumps(out, indent=1))
sys.exit(1 if isinstance(out, dict) and out.get("ok") is False else 0)
