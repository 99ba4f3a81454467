#!/usr/bin/python3
"""Client for fake_region.py's control API; prints the JSON answer.

  region_ctl.py --control PORT status
  region_ctl.py --control PORT connections
  region_ctl.py --control PORT calls [--command X] [--since T] [--dir in|out]
  region_ctl.py --control PORT fault JSON            e.g. '{"name": "garbage", "on": true}'
  region_ctl.py --control PORT fault NAME [on|off]   e.g. wrong_secret on, drop_all
  region_ctl.py --control PORT fault http_mode=MODE  normal|html|badjson|wrongshape|huge|slow|503
  region_ctl.py --control PORT call COMMAND [JSON_ARGS] [--raw] [--system-id ID]
                [--loop NAME] [--timeout S]
  region_ctl.py --control PORT nodes JSON            '{"nodes": [...]}' or a bare list
  region_ctl.py --control PORT nodes-reset
  region_ctl.py --control PORT dhcp JSON             '{"hostname": h, "v4": args, "v6": args}'
                                                     pushed to rack h on registration
  region_ctl.py --control PORT eventloops-remove NAME|JSON
  region_ctl.py --control PORT refreshes [--system-id ID]  metadata POSTs received
  region_ctl.py --control PORT rack-interfaces ID          interfaces stored for rack ID
  region_ctl.py --control PORT fault metadata=MODE         normal|skew|500_once|401_always|
                                                           500_always|down
  region_ctl.py --control PORT fault clock_skew=SECONDS    shift the region's clock
  region_ctl.py --control PORT layer2 on|off               layer-2 ListNodePowerParameters
  region_ctl.py --control PORT dhcp-config JSON            '{"vlan_cidr": c, "primary": id,
                                                            "secondary": id|null, "push": true}'
  region_ctl.py --control PORT user-token                  a non-node OAuth token

Exit status: 0 on success, 1 when the answer says "ok": false or on an HTTP
or connection error, 2 on bad usage.
"""
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def usage(msg=None):
    if msg:
        sys.stderr.write("region_ctl.py: %s\n" % msg)
    sys.stderr.write(__doc__)
    sys.exit(2)


def take_opt(rest, name, has_value=True):
    if name not in rest:
        return None
    i = rest.index(name)
    if not has_value:
        del rest[i]
        return True
    if i + 1 >= len(rest):
        usage("%s needs a value" % name)
    v = rest[i + 1]
    del rest[i:i + 2]
    return v


def parse_json(text):
    try:
        return json.loads(text)
    except ValueError as e:
        usage("bad JSON %r: %s" % (text, e))


def main(argv):
    if len(argv) < 3 or argv[0] != "--control":
        usage()
    port, verb, rest = argv[1], argv[2], list(argv[3:])
    base = "http://127.0.0.1:%s" % port
    timeout = 60
    if verb == "status" or verb == "connections":
        path, body = "/" + verb, None
    elif verb == "calls":
        q = {}
        for opt in ("command", "since", "dir"):
            v = take_opt(rest, "--" + opt)
            if v is not None:
                q[opt] = v
        path = "/calls" + ("?" + urllib.parse.urlencode(q) if q else "")
        body = None
    elif verb == "fault":
        if not rest:
            usage("fault needs an argument")
        if rest[0].startswith("{"):
            body = parse_json(rest[0])
        elif rest[0].startswith("http_mode="):
            body = {"http_mode": rest[0].split("=", 1)[1]}
        elif rest[0].startswith("metadata="):
            body = {"metadata": rest[0].split("=", 1)[1]}
        elif rest[0].startswith("clock_skew="):
            try:
                body = {"clock_skew": float(rest[0].split("=", 1)[1])}
            except ValueError:
                usage("clock_skew=SECONDS")
        else:
            on = rest[1] if len(rest) > 1 else "on"
            body = {"name": rest[0], "on": on.lower() in ("on", "true", "1", "yes")}
        path = "/fault"
    elif verb == "call":
        raw = take_opt(rest, "--raw", has_value=False)
        sid = take_opt(rest, "--system-id")
        loop = take_opt(rest, "--loop")
        t = take_opt(rest, "--timeout")
        if not rest:
            usage("call needs a command name")
        body = {"command": rest[0], "args": parse_json(rest[1]) if len(rest) > 1 else {}}
        if raw:
            body["raw"] = True
        if sid:
            body["system_id"] = sid
        if loop:
            body["loop"] = loop
        if t:
            body["timeout"] = float(t)
            timeout = float(t) + 30
        path = "/call"
    elif verb == "nodes":
        if not rest:
            usage("nodes needs JSON")
        body = parse_json(rest[0])
        if isinstance(body, list):
            body = {"nodes": body}
        path = "/nodes"
    elif verb == "dhcp":
        if not rest:
            usage("dhcp needs JSON")
        body = parse_json(rest[0])
        path = "/dhcp"
    elif verb == "refreshes":
        sid = take_opt(rest, "--system-id")
        path = "/refreshes" + ("?" + urllib.parse.urlencode({"system_id": sid}) if sid else "")
        body = None
    elif verb == "rack-interfaces":
        if not rest:
            usage("rack-interfaces needs a system_id")
        path = "/rack-interfaces?" + urllib.parse.urlencode({"system_id": rest[0]})
        body = None
    elif verb == "layer2":
        if not rest or rest[0] not in ("on", "off"):
            usage("layer2 on|off")
        path, body = "/layer2", {"enabled": rest[0] == "on"}
    elif verb == "dhcp-config":
        if not rest:
            usage("dhcp-config needs JSON")
        path, body = "/dhcp-config", parse_json(rest[0])
        timeout = 120
    elif verb == "user-token":
        path, body = "/user-token", {}
    elif verb == "nodes-reset":
        path, body = "/nodes/reset", {}
    elif verb == "eventloops-remove":
        if not rest:
            usage("eventloops-remove needs a region name")
        body = parse_json(rest[0]) if rest[0].startswith("{") else {"name": rest[0]}
        path = "/eventloops/remove"
    else:
        usage("unknown verb %s" % verb)

    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data,
                                 headers={"Content-Type": "application/json"})
    status = 0
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read()
    except urllib.error.HTTPError as e:
        text, status = e.read(), e.code
    except (urllib.error.URLError, OSError) as e:
        sys.stderr.write("region_ctl.py: %s%s: %s\n" % (base, path, e))
        return 1
    try:
        out = json.loads(text)
    except ValueError:
        sys.stdout.write(text.decode("utf-8", "replace"))
        return 1
    print(json.dumps(out, indent=1))
    if status or (isinstance(out, dict) and out.get("ok") is False):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
