#!/usr/bin/python3
"""Self-test of fake_region.py: two fake regions sharing one --db, driven by
a Twisted AMP client that plays the rack.

  /usr/bin/python3 tests/integration/helpers/test_fake_region.py [-v]

Exit status 0 when every check passed.
"""
import hashlib
import hmac
import importlib.util
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from twisted.internet import defer, reactor, task, threads
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.protocols import amp

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("fake_region", os.path.join(HERE, "fake_region.py"))
fr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fr)

SECRET_HEX = "0123456789abcdef0123456789abcdef"
KEY = bytes.fromhex(SECRET_HEX)
VERBOSE = "-v" in sys.argv
FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if cond:
        if VERBOSE:
            print("ok   %s" % what)
    else:
        FAILURES.append(what)
        print("FAIL %s" % what)


def http(url, body=None, timeout=30):
    """(status, headers, body bytes) of a GET (or POST when body is given)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Region:
    def __init__(self, tmp, db, name, loops, *extra):
        self.name = name
        self.ready = os.path.join(tmp, name + ".ready")
        self.record = os.path.join(tmp, name + ".calls")
        self.log = os.path.join(tmp, name + ".log")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_region.py"), "--name", name,
             "--loops", str(loops), "--secret-file", os.path.join(tmp, "secret"),
             "--db", db, "--record", self.record, "--log", self.log,
             "--ready-file", self.ready] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.stdout_line = self.proc.stdout.readline().decode().strip()
        deadline = time.time() + 20
        while not (os.path.exists(self.ready) and os.path.getsize(self.ready)):
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit("region %s did not start: %s" % (name, self.stdout_line))
            time.sleep(0.05)
        line = open(self.ready).read().strip()
        f = dict(kv.split("=", 1) for kv in line.split()[1:])
        self.line = line
        self.pid, self.http, self.ctl = int(f["pid"]), int(f["http"]), int(f["control"])
        self.amp = [int(p) for p in f["amp"].split(",")]

    def get(self, path, **kw):
        return threads.deferToThread(http, "http://127.0.0.1:%d%s" % (self.ctl, path), **kw)

    @defer.inlineCallbacks
    def jget(self, path):
        _, _, body = yield self.get(path)
        return json.loads(body)

    @defer.inlineCallbacks
    def post(self, path, body, timeout=60):
        status, _, out = yield threads.deferToThread(
            http, "http://127.0.0.1:%d%s" % (self.ctl, path), body, timeout)
        return status, json.loads(out)

    def discovery(self, path="/MAAS/rpc/", timeout=30):
        return threads.deferToThread(http, "http://127.0.0.1:%d%s" % (self.http, path),
                                     None, timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


class Rack(amp.AMP):
    """The rack side of one connection."""

    key = KEY
    auth_delay = 0
    answer_auth = True

    def __init__(self):
        super().__init__()
        self.got = []               # (command, kwargs) received from the region
        self.region_asked = defer.Deferred()
        self.lost = defer.Deferred()

    def connectionLost(self, reason):
        super().connectionLost(reason)
        if not self.lost.called:
            self.lost.callback(time.time())

    @fr.Authenticate.responder
    def authenticate(self, message):
        self.got.append(("Authenticate", {"message": message}))
        if not self.region_asked.called:
            self.region_asked.callback(message)
        salt = os.urandom(16)
        answer = {"digest": hmac.new(self.key, message + salt, hashlib.sha256).digest(),
                  "salt": salt}
        if not self.answer_auth:
            return defer.Deferred()         # never answered
        if self.auth_delay:
            return task.deferLater(reactor, self.auth_delay, lambda: answer)
        return answer

    @fr.Ping.responder
    def ping(self):
        return {}

    @fr.Identify.responder
    def identify(self):
        return {"ident": "rack-sid"}

    @fr.ConfigureDHCPv4.responder
    def dhcp4(self, **kw):
        self.got.append(("ConfigureDHCPv4", kw))
        return {}

    @fr.ConfigureDHCPv6.responder
    def dhcp6(self, **kw):
        self.got.append(("ConfigureDHCPv6", kw))
        return {}

    @fr.PowerQuery.responder
    def power_query(self, system_id, hostname, power_type, context):
        self.got.append(("PowerQuery", {"system_id": system_id, "context": context}))
        return {"state": "on"}

    @defer.inlineCallbacks
    def verify_region(self, key=KEY):
        message = os.urandom(16)
        r = yield self.callRemote(fr.Authenticate, message=message)
        return hmac.new(key, message + r["salt"], hashlib.sha256).digest() == r["digest"]

    def register(self, **kw):
        args = {"system_id": "", "hostname": "rack-selftest", "interfaces": {},
                "url": "http://127.0.0.1:5240/MAAS", "beacon_support": True,
                "version": "3.4.0"}
        args.update(kw)
        return self.callRemote(fr.RegisterRackController, **args)


def connect(port, cls=Rack):
    return connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port), cls())


@defer.inlineCallbacks
def wait_until(pred, timeout=10, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        yield task.deferLater(reactor, step, lambda: None)
    return pred()


@defer.inlineCallbacks
def expect_error(d):
    try:
        r = yield d
    except amp.UnhandledCommand as e:
        return "UNHANDLED", e.args[1]
    except amp.RemoteAmpError as e:
        code = e.errorCode.decode() if isinstance(e.errorCode, bytes) else e.errorCode
        return code, e.description
    except Exception as e:  # noqa: BLE001
        return type(e).__name__, str(e)
    return None, r


def rcall(proto, cmd, **kw):
    """callRemote that keeps the wire error code (RemoteAmpError)."""
    d = proto._sendBoxCommand(cmd.commandName, cmd.makeArguments(kw, proto))
    return d.addCallback(cmd.parseResponse, proto)


def raw_call(proto, command, **kw):
    """Send a command box straight (for missing-argument tests)."""
    return proto.callRemoteString(command.encode(), **{k: v.encode() for k, v in kw.items()})


def codec_checks():
    sj = fr.StructureAsJSON()
    check(sj.toString({}).hex() == "789cabae05000175" "00f9", "StructureAsJSON {} bytes")
    check(zlib_text(sj.toString({"a": [1, "\u00e9"]})) == b'{"a": [1, "\\u00e9"]}',
          "StructureAsJSON ascii + separators")
    check(fr.CompressedAmpList([(b"x", fr.U())]).toStringProto([], None).hex()
          == "789c030000000001", "empty CompressedAmpList bytes")
    lip = amp.ListOf(fr.IPAddress())
    check(lip.toString(["10.0.0.1", "10.0.0.2"]).hex() == "00040a00000100040a000002",
          "ListOf(IPAddress)")
    check(str(fr.IPAddress().fromString(bytes.fromhex("20010db8" + "00" * 11 + "01")))
          == "2001:db8::1", "IPAddress v6 decode")
    check(fr.IPNetwork().toString("10.0.0.0/24").hex() == "0a00000018", "IPNetwork")
    check(fr.ParsedURL().fromString(b"http://10.0.0.2:5240/MAAS").port == 5240, "ParsedURL")
    box = fr.ConfigureDHCPv4.makeArguments(dict(fr.EMPTY_DHCP), None)
    box[b"_ask"], box[b"_command"] = b"4", b"ConfigureDHCPv4"
    want = ("00045f61736b00013400085f636f6d6d616e64000f436f6e666967757265444843507634"
            "000e6661696c6f7665725f706565727300000014676c6f62616c5f646863705f736e697070"
            "65747300087" "89c0300000000010005686f73747300087" "89c030000000001000a696e74"
            "657266616365730000"
            "00096f6d6170695f6b6579000853475673624738"
            "3d000f7368617265645f6e6574776f726b7300087" "89c0300000000010000")
    check(box.serialize().hex() == want, "ConfigureDHCPv4 push bytes = spec 3.7(i)")
    # Full-shape round trips of the region->rack schemas (/call input forms).
    snip = [{"name": "s", "description": "d", "value": "option x;"}]
    dhcp = dict(fr.EMPTY_DHCP, failover_peers=[{"name": "failover-vlan-5001",
                                                "mode": "primary", "address": "10.0.0.2",
                                                "peer_address": "10.0.0.3"}],
                shared_networks=[{"name": "vlan-5001", "mtu": 1500, "interface": "eth0",
                                  "subnets": [{
                                      "subnet": "10.0.0.0", "subnet_mask": "255.255.255.0",
                                      "subnet_cidr": "10.0.0.0/24", "broadcast_ip": "10.0.0.255",
                                      "router_ip": "10.0.0.1", "dns_servers": ["10.0.0.2", "::1"],
                                      "ntp_servers": ["ntp.ubuntu.com"], "domain_name": "maas",
                                      "search_list": ["maas"], "dhcp_snippets": snip,
                                      "disabled_boot_architectures": [],
                                      "pools": [{"ip_range_low": "10.0.0.100",
                                                 "ip_range_high": "10.0.0.200",
                                                 "failover_peer": "failover-vlan-5001",
                                                 "dhcp_snippets": snip}]}]}],
                hosts=[{"host": "h1", "mac": "52:54:00:00:00:01", "ip": "10.0.0.50",
                        "dhcp_snippets": snip}],
                interfaces=[{"name": "eth0"}], global_dhcp_snippets=snip)
    back = jsonable_args(fr.ConfigureDHCPv4, dhcp)
    check(back == dhcp, "ConfigureDHCPv4 full round trip")
    for cmd, args in (
            (fr.ScanNetworks, {"scan_all": True, "threads": 4, "cidrs": ["10.0.0.0/24"],
                               "force_ping": None, "slow": None, "interface": None}),
            (fr.SetBootOrder, {"system_id": "x", "hostname": "h", "power_type": "hmcz",
                               "context": {}, "order": [{"id": 1, "name": "sda",
                                                         "mac_address": None, "vendor": None,
                                                         "product": None, "id_path": None,
                                                         "model": None, "serial": None}]}),
            (fr.ImportBootImages, {"sources": [{"url": "http://x/", "keyring_data": "6b6579",
                                                "selections": [{"os": "ubuntu",
                                                                "release": "jammy",
                                                                "arches": ["amd64"],
                                                                "subarches": ["*"],
                                                                "labels": ["*"]}]}],
                                   "http_proxy": "http://proxy:3128/", "https_proxy": None}),
            (fr.CheckIPs, {"ip_addresses": [{"ip_address": "10.0.0.1", "interface": None}]}),
            (fr.GetPreseedData, dict({k: "v" for k in ("osystem", "preseed_type",
                                                        "node_system_id", "node_hostname",
                                                        "consumer_key", "token_key",
                                                        "token_secret")},
                                     metadata_url="http://10.0.0.2:5240/MAAS/metadata/"))):
        if cmd is fr.ImportBootImages:
            args["sources"][0]["keyring_data"] = "key"
            want = json.loads(json.dumps(args))
            want["sources"][0]["keyring_data"] = b"key".hex()
        else:
            want = args
        check(jsonable_args(cmd, args) == want, "%s round trip" % cmd.__name__)
    msg, salt = bytes(range(0x10, 0x20)), bytes(range(0xa0, 0xb0))
    check(fr.digest(KEY, msg, salt).hex() ==
          "b2de664f1c53f2de5a841d3cc0c1f6cc587e8f098bd7ed1cf9a2f6022f55943e",
          "HMAC vector 3.7(b)")


def jsonable_args(cmd, args):
    box = cmd.makeArguments(args, None)
    return fr.jsonable(cmd.parseArguments(amp.AmpBox(box), None))


def zlib_text(b):
    import zlib
    return zlib.decompress(b)


def raw_fault_bytes(port, limit=400, timeout=3):
    """Connect, read what the region sends until EOF/timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    data, eof = b"", False
    try:
        while len(data) < limit:
            d = s.recv(4096)
            if not d:
                eof = True
                break
            data += d
    except socket.timeout:
        pass
    s.close()
    return data, eof


@defer.inlineCallbacks
def run(_reactor, tmp):
    db = os.path.join(tmp, "db")
    with open(os.path.join(tmp, "secret"), "w") as f:
        f.write(SECRET_HEX + "\n")
    codec_checks()
    r1 = Region(tmp, db, "r1", 2)
    r2 = Region(tmp, db, "r2", 2, "--version", "3.4.0-14321-g.1027c7664")
    regions = [r1, r2]
    try:
        yield main_checks(tmp, db, r1, r2)
        r3 = Region(tmp, os.path.join(tmp, "db3"), "r3", 1, "--gating")
        regions.append(r3)
        yield gating_checks(r3)
    finally:
        for r in regions:
            rc = r.stop()
            check(rc == 0, "%s exits 0 on SIGTERM (rc=%s)" % (r.name, rc))
    check(os.path.exists(os.path.join(db, "eventloops-r1.json")), "SIGTERM leaves --db alone")


@defer.inlineCallbacks
def main_checks(tmp, db, r1, r2):
    check(r1.stdout_line == r1.line and r1.line.startswith("READY name=r1 pid=%d " % r1.pid),
          "READY line on stdout and in --ready-file")
    # -- discovery ---------------------------------------------------------------
    status, headers, body = yield r1.discovery()
    ev = json.loads(body)["eventloops"]
    check(status == 200 and headers.get("Content-Type") == "application/json",
          "discovery 200 application/json")
    check(len(ev) == 4 and ev.get("r1:pid=%d" % r1.pid) == [["127.0.0.1", r1.amp[0]]]
          and ev.get("r2:pid=%d" % (r2.pid * 10 + 1)) == [["127.0.0.1", r2.amp[1]]],
          "discovery merges both regions: %s" % ev)
    _, _, body2 = yield r2.discovery()
    check(json.loads(body2)["eventloops"] == ev, "both regions advertise the same loops")
    for bad in ("/MAAS/rpc", "/rpc/", "/MAAS/rpc/x"):
        status, headers, body = yield r1.discovery(bad)
        check(status == 404 and b"<html" in body, "404 HTML for %s" % bad)
    st = yield r1.jget("/status")
    check(st["name"] == "r1" and st["pid"] == r1.pid and st["amp_ports"] == r1.amp
          and st["http_port"] == r1.http and len(st["eventloops"]) == 2, "/status")

    # -- handshake on every event loop -------------------------------------------
    racks = []
    for port in r1.amp + r2.amp:
        p = yield connect(port)
        msg = yield p.region_asked        # the region Authenticates first
        check(len(msg) == 16, "region sends a 16-byte Authenticate message")
        ok = yield p.verify_region()
        check(ok, "region's Authenticate digest verifies (port %d)" % port)
        racks.append(p)
    answers = []
    for p in racks:
        a = yield p.register()
        answers.append(a)
    sid = answers[0]["system_id"]
    uuid = open(os.path.join(db, "uuid")).read().strip()
    check(len(sid) == 6 and sid.isalnum() and sid == sid.lower(), "system_id shape %r" % sid)
    check(all(a["system_id"] == sid for a in answers), "every loop agrees on the system_id")
    check(all(a["uuid"] == uuid and a["beacon_support"] is True for a in answers),
          "uuid/beacon_support answered")
    check(answers[0]["version"] == "3.4.0" and answers[2]["version"] ==
          "3.4.0-14321-g.1027c7664", "version answered")
    check(json.load(open(os.path.join(db, "racks.json"))) == {"rack-selftest": sid},
          "racks.json")
    a = yield racks[0].register(hostname="rack-selftest", system_id="")
    check(a["system_id"] == sid, "re-register by hostname keeps the id")
    a = yield racks[1].register(hostname="rack-renamed", system_id=sid)
    check(a["system_id"] == sid, "re-register by system_id keeps the id")
    a = yield racks[1].register(hostname="rack-selftest", system_id=sid, beacon_support=False)
    check(a["beacon_support"] is None, "no beacon_support when not asked")

    # -- DHCP push ----------------------------------------------------------------
    def pushes(rs):
        return [c for p in rs for c in p.got if c[0].startswith("ConfigureDHCP")]
    yield wait_until(lambda: len(pushes(racks[:2])) >= 2 and len(pushes(racks[2:])) >= 2)
    p1, p2 = pushes(racks[:2]), pushes(racks[2:])
    check([c[0] for c in p1] == ["ConfigureDHCPv4", "ConfigureDHCPv6"] and
          [c[0] for c in p2] == ["ConfigureDHCPv4", "ConfigureDHCPv6"],
          "each region pushes ConfigureDHCPv4 then v6 once: %s / %s" %
          ([c[0] for c in p1], [c[0] for c in p2]))
    check(all(c[1] == dict(fr.EMPTY_DHCP, global_dhcp_snippets=[]) for c in p1 + p2),
          "the push is the empty configuration")
    calls = yield r1.jget("/calls?command=ConfigureDHCPv6")
    check(len(calls) == 1 and calls[0]["dir"] == "out" and calls[0]["error"] is None
          and calls[0]["result"] == {}, "DHCP answers recorded")

    # -- rack -> region commands --------------------------------------------------
    t0 = time.time()
    svc = [{"name": "tftp", "status": "running", "status_info": ""},
           {"name": "dhcpd", "status": "off", "status_info": ""}]
    r = yield racks[0].callRemote(fr.UpdateServices, system_id=sid, services=svc)
    check(r == {}, "UpdateServices ok")
    calls = yield r1.jget("/calls?command=UpdateServices&since=%f" % t0)
    check(len(calls) == 1 and calls[0]["args"] == {"system_id": sid, "services": svc}
          and calls[0]["dir"] == "in" and calls[0]["error"] is None
          and calls[0]["loop"] == "r1:pid=%d" % r1.pid, "/calls records UpdateServices")
    for bad, what in (([{"name": "tftp", "status": "sleeping", "status_info": ""}], "status"),
                      ([{"name": "tftp", "status": "dead", "status_info": "x" * 256}], "info"),
                      ([{"name": "rackd", "status": "running", "status_info": ""}], "rackd")):
        code, desc = yield expect_error(rcall(racks[0], fr.UpdateServices,
                                              system_id=sid, services=bad))
        check(code == "UNHANDLED" and desc.startswith("Unknown Error [r1:pid=%d:cmd="
                                                      "UpdateServices:ask=" % r1.pid),
              "UpdateServices bad %s -> UNHANDLED (%s %s)" % (what, code, desc))
    code, _ = yield expect_error(rcall(racks[0], fr.UpdateServices, system_id="nosuch",
                                       services=svc))
    check(code == "NoSuchCluster", "UpdateServices unknown rack -> NoSuchCluster (%s)" % code)
    code, desc = yield expect_error(raw_call(racks[0], "UpdateLeases", updates=""))
    check(code == "UNHANDLED", "UpdateLeases without cluster_uuid -> UNHANDLED")
    upd = [{"action": "commit", "mac": "52:54:00:00:00:01", "ip_family": "ipv4",
            "ip": "10.0.0.5", "timestamp": 1700000000, "lease_time": 600, "hostname": "n1"},
           {"action": "expiry", "mac": "52:54:00:00:00:02", "ip_family": "ipv4",
            "ip": "10.0.0.6", "timestamp": 1700000001}]
    r = yield racks[0].callRemote(fr.UpdateLeases, cluster_uuid=sid, updates=upd)
    check(r == {}, "UpdateLeases ok")
    for cmd, kw in ((fr.UpdateLease, dict(cluster_uuid=sid, action="release", mac="m",
                                          ip_family="ipv4", ip="10.0.0.7", timestamp=1)),
                    (fr.UpdateNodePowerState, dict(system_id="node01", power_state="on")),
                    (fr.RegisterEventType, dict(name="NODE_POWERED_ON",
                                                description="Node powered on", level=10)),
                    (fr.SendEvent, dict(system_id="node01", type_name="NODE_POWERED_ON",
                                        description="")),
                    (fr.SendEventMACAddress, dict(mac_address="52:54:00:00:00:01",
                                                  type_name="NODE_POWERED_ON", description="")),
                    (fr.MarkNodeFailed, dict(system_id="node01", error_description="boom")),
                    (fr.ReportForeignDHCPServer, dict(system_id=sid, interface_name="eth0",
                                                      dhcp_ip="10.0.0.99")),
                    (fr.UpdateControllerState, dict(system_id=sid, scope="versions", state={
                        "deb": {"current": {"version": "3.4.0", "origin": "x"},
                                "update": None}})),
                    (fr.Ping, {})):
        code, r = yield expect_error(racks[1].callRemote(cmd, **kw))
        check(code is None and r == {}, "%s ok (%s)" % (cmd.__name__, r))
    code, _ = yield expect_error(rcall(
        racks[1], fr.UpdateControllerState, system_id=sid, scope="versions",
        state={"deb": {"bogus": 1}}))
    check(code == "UNHANDLED", "UpdateControllerState bad field -> error")
    code, _ = yield expect_error(rcall(
        racks[1], fr.UpdateControllerState, system_id=sid, scope="nope", state={}))
    check(code == "NoSuchScope", "UpdateControllerState bad scope -> NoSuchScope")
    r = yield racks[1].callRemote(fr.GetControllerType, system_id=sid)
    check(r == {"is_region": False, "is_rack": True}, "GetControllerType")
    r = yield racks[1].callRemote(fr.GetTimeConfiguration, system_id=sid)
    check(isinstance(r["servers"], list) and r["peers"] == [], "GetTimeConfiguration")
    r = yield racks[2].callRemote(fr.Identify)
    check(r["ident"] == "r2:pid=%d" % r2.pid, "Identify answers the event-loop name")
    code, desc = yield expect_error(raw_call(racks[0], "GetBootSources"))
    check(code == "UNHANDLED" and "Unhandled Command" in desc, "unknown command -> UNHANDLED")

    # -- ListNodePowerParameters -----------------------------------------------
    nodes = [{"system_id": "n%02d" % i, "hostname": "node%d" % i, "power_type": "ipmi",
              "power_state": "unknown", "context": {"power_address": "10.0.0.%d" % i}}
             for i in range(12)]
    status, r = yield r1.post("/nodes", {"nodes": nodes})
    check(status == 200 and r["ok"], "POST /nodes")
    got = []
    for p in (racks[2], racks[0], racks[1]):         # r2, r1, r1: shared through --db
        r = yield p.callRemote(fr.ListNodePowerParameters, uuid=sid)
        got.append(r["nodes"])
    check([len(g) for g in got] == [10, 2, 0], "ListNodePowerParameters 10/2/0 (%s)" %
          [len(g) for g in got])
    check(got[0][0]["context"] == {"power_address": "10.0.0.0"}, "node context decoded")
    yield r2.post("/nodes/reset", {})
    r = yield racks[0].callRemote(fr.ListNodePowerParameters, uuid=sid)
    check(len(r["nodes"]) == 10, "/nodes/reset clears the 5-minute marks")

    # -- region -> rack via the control API --------------------------------------
    ctx = {"power_address": "10.0.0.9", "power_user": "admin", "power_pass": "secret"}
    status, r = yield r1.post("/call", {"command": "PowerQuery", "args": {
        "system_id": "xyz789", "hostname": "node1", "power_type": "ipmi", "context": ctx},
        "system_id": sid})
    check(r == {"ok": True, "answer": {"state": "on", "error_msg": None},
                "loop": r["loop"], "peer": r["peer"]}, "/call PowerQuery round trip: %s" % r)
    check(any(c == ("PowerQuery", {"system_id": "xyz789", "context": ctx})
              for p in racks for c in p.got), "the rack got the PowerQuery context")
    status, r = yield r1.post("/call", {"command": "NoSuchCommand", "raw": True})
    check(r["ok"] is False and r["error_code"] == "UNHANDLED", "/call raw -> UNHANDLED: %s" % r)
    loop = "r1:pid=%d" % (r1.pid * 10 + 1)
    status, r = yield r1.post("/call", {"command": "Identify", "loop": loop})
    check(r["ok"] and r["loop"] == loop and r["answer"] == {"ident": "rack-sid"},
          "/call with loop filter")
    status, r = yield r1.post("/call", {"command": "Ping", "system_id": "nosuch"})
    check(r["ok"] is False and r["error_code"] == "NoConnectionsAvailable", "/call no rack")
    conns = yield r1.jget("/connections")
    check(len(conns) == 2 and all(c["registered"] and c["rack_authenticated"] and
                                  c["region_authenticated"] and c["system_id"] == sid
                                  for c in conns), "/connections: %s" % conns)
    # region_ctl.py CLI
    ctl = [sys.executable, os.path.join(HERE, "region_ctl.py"), "--control", str(r1.ctl)]
    out = yield threads.deferToThread(subprocess.run, ctl + ["calls", "--command", "Ping"],
                                      capture_output=True)
    check(out.returncode == 0 and len(json.loads(out.stdout)) == 1, "region_ctl calls")
    out = yield threads.deferToThread(subprocess.run, ctl + ["call", "Nope", "{}", "--raw"],
                                      capture_output=True)
    check(out.returncode == 1 and b"UNHANDLED" in out.stdout, "region_ctl call --raw exit 1")
    out = yield threads.deferToThread(subprocess.run, ctl + ["call", "Ping", "{}", "--loop",
                                                             loop], capture_output=True)
    check(out.returncode == 0, "region_ctl call Ping")
    for p in racks:
        p.transport.loseConnection()

    # -- registration failures ------------------------------------------------------
    p = yield connect(r1.amp[0])
    yield p.region_asked
    for v in ("3.4", "v3.4.0"):
        code, desc = yield expect_error(p.register(version=v))
        check(code == "CannotRegisterRackController", "version %r rejected (%s)" % (v, code))
    status, _ = yield r1.post("/fault", {"name": "reject_register", "on": True})
    code, _ = yield expect_error(p.register())
    check(code == "CannotRegisterRackController", "reject_register fault")
    yield r1.post("/fault", {"name": "reject_register", "on": False})
    yield r1.post("/fault", {"name": "silent_register", "on": True})
    code, _ = yield expect_error(p.register().addTimeout(1.5, reactor))
    check(code == "TimeoutError", "silent_register never answers (%s)" % code)
    calls = yield r1.jget("/calls?command=RegisterRackController&since=%f" % (time.time() - 3))
    check(calls and calls[-1]["error"]["code"] == "NoAnswer", "silent_register recorded")
    yield r1.post("/fault", {"name": "silent_register", "on": False})
    p.transport.loseConnection()

    # -- wrong secrets ---------------------------------------------------------------
    class WrongRack(Rack):
        key = b"\x00" * 16
    p = yield connect(r1.amp[1], WrongRack)
    t = yield p.lost.addTimeout(5, reactor)
    check(t is not None, "rack with a wrong secret is dropped")
    yield wait_until(lambda: "FAILED authentication" in open(r1.log).read(), 3)
    check("FAILED authentication" in open(r1.log).read(), "auth failure logged")
    calls = yield r1.jget("/calls?command=Authenticate")
    check(any(c["dir"] == "out" and c["result"] and c["result"]["verified"] is False
              for c in calls), "failed check recorded")
    yield r2.post("/fault", {"name": "wrong_secret", "on": True})
    p = yield connect(r2.amp[0])
    yield p.region_asked
    ok = yield p.verify_region()
    check(not ok, "wrong_secret: the region's digest does not verify")
    t = yield p.lost.addTimeout(5, reactor)     # and it rejects our (right) answer
    check(t is not None, "wrong_secret: the region drops the rack")
    yield r2.post("/fault", {"name": "wrong_secret", "on": False})

    # -- broken-region faults (raw sockets) ---------------------------------------
    for fault in ("garbage", "oversized_key", "truncated"):
        yield r2.post("/fault", {"name": fault, "on": True})
        data, eof = yield threads.deferToThread(raw_fault_bytes, r2.amp[0])
        yield r2.post("/fault", {"name": fault, "on": False})
        if fault == "garbage":
            ok = len(data) == 64 and struct.unpack("!H", data[:2])[0] > 255
        elif fault == "oversized_key":
            ok = data[:2] == b"\x01\x2c"
        else:
            ok = eof and 0 < len(data) < 40 and data[:6] == b"\x00\x04_ask"
        check(ok, "fault %s on the wire (%d bytes, eof=%s)" % (fault, len(data), eof))
    status, r = yield r2.post("/fault", {"name": "bogus"})
    check(status == 400 and r["ok"] is False, "unknown fault refused")

    # -- http modes -------------------------------------------------------------------
    for mode in fr.HTTP_MODES:
        yield r1.post("/fault", {"http_mode": mode})
        t0 = time.time()
        try:
            status, headers, body = yield r1.discovery(timeout=2 if mode == "slow" else 30)
        except Exception as e:  # noqa: BLE001
            status, headers, body = type(e).__name__, {}, b""
        ctype = headers.get("Content-Type", "")
        if mode == "normal":
            ok = status == 200 and len(json.loads(body)["eventloops"]) == 4
        elif mode == "html":
            ok = status == 200 and ctype.startswith("text/html") and b"<html" in body
        elif mode == "badjson":
            ok = status == 200 and body == b'{"eventloops": '
        elif mode == "wrongshape":
            ok = status == 200 and json.loads(body) == {"eventloops": [1, 2]}
        elif mode == "huge":
            ok = status == 200 and len(body) >= 20 * 1024 * 1024
        elif mode == "slow":
            ok = status in ("timeout", "TimeoutError", "URLError") and time.time() - t0 >= 1.9
        else:
            ok = status == 503
        check(ok, "http_mode %s (status %s, %d bytes)" % (mode, status, len(body)))
    yield r1.post("/fault", {"http_mode": "normal"})

    # -- event-loop removal ------------------------------------------------------------
    status, r = yield r1.post("/eventloops/remove", {"name": "r2"})
    _, _, body = yield r1.discovery()
    ev = json.loads(body)["eventloops"]
    check(r["removed"] and sorted(ev) == sorted(["r1:pid=%d" % r1.pid,
                                                 "r1:pid=%d" % (r1.pid * 10 + 1)]),
          "/eventloops/remove drops r2's loops")


@defer.inlineCallbacks
def gating_checks(r3):
    # A rack that answers our Authenticate after 1 s: its Ping waits for that.
    class SlowRack(Rack):
        auth_delay = 1.0
    p = yield connect(r3.amp[0], SlowRack)
    t0 = time.time()
    yield p.callRemote(fr.Ping)
    dt = time.time() - t0
    check(1.0 <= dt < 3.0, "--gating holds Ping until the rack is verified (%.2f s)" % dt)
    p.transport.loseConnection()

    class MuteRack(Rack):
        answer_auth = False
    p = yield connect(r3.amp[0], MuteRack)
    t0 = time.time()
    code, desc = yield expect_error(rcall(p, fr.Ping))
    dt = time.time() - t0
    check(code == "_error" and desc == "The command Ping requires an "
          "authenticated connection" and 7.0 < dt < 9.5,
          "--gating fails after ~7.5 s with _error (%s, %.1f s)" % (desc, dt))
    # Authenticate itself is never gated.
    ok = yield p.verify_region()
    check(ok, "--gating: Authenticate is served at once")
    p.transport.loseConnection()


def main():
    tmp = tempfile.mkdtemp(prefix="fake-region-test.")
    try:
        task.react(lambda r: run(r, tmp).addBoth(finish))
    finally:
        if "--keep" not in sys.argv:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print("kept", tmp)


def finish(result):
    if isinstance(result, Exception) or hasattr(result, "getTraceback"):
        FAILURES.append("exception")
        print(result.getTraceback() if hasattr(result, "getTraceback") else result)
    print("%d checks, %d failed" % (CHECKS[0], len(FAILURES)))
    if FAILURES:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
