#!/usr/bin/python3
"""Self-test of fake_region.py: two fake regions sharing one --db, driven by
a Twisted AMP client that plays the rack.

  /usr/bin/python3 tests/integration/helpers/test_fake_region.py [-v]

Exit status 0 when every check passed.
"""
import email.utils
import hashlib
import hmac
import http.client as httplib
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
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
        # The gating checks mostly wait (a 1 s and a 7.5 s hold) on their
        # own region and database: they run alongside the others.
        r3 = Region(tmp, os.path.join(tmp, "db3"), "r3", 1, "--gating")
        regions.append(r3)
        gating = gating_checks(r3)
        yield main_checks(tmp, db, r1, r2)
        yield refresh_checks(tmp, db, r1, r2)
        yield gating
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
    # GetArchiveMirrors: a real MAAS command the fake region does not serve.
    code, desc = yield expect_error(raw_call(racks[0], "GetArchiveMirrors"))
    check(code == "UNHANDLED" and "Unhandled Command" in desc, "unknown command -> UNHANDLED")
    r = yield racks[0].callRemote(fr.GetBootSources, uuid=sid)
    check(r["sources"][0]["url"].endswith("/MAAS/images-stream/streams/v1/index.json")
          and r["sources"][0]["selections"] == [], "GetBootSources: one source, no selections")

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


# --- the rack refresh (maas-rack-refresh.md, FAKE_REGION_REFRESH_API.md) -----------
EXTENSIONS = ["resources", "resources_v2", "api_os", "resources_system", "resources_usb_pci"]


def nic(mac, addrs=(), state="up", kind="broadcast", vlan=None, bond=None, bridge=None):
    return {"type": kind, "state": state, "hwaddr": mac, "bond": bond, "bridge": bridge,
            "vlan": vlan, "addresses": [{"address": a, "netmask": str(m), "scope": s}
                                        for a, m, s in addrs]}


def document(networks, extra=None, drop=(), **over):
    d = {"api_version": "1.0", "api_extensions": list(EXTENSIONS),
         "environment": {"kernel_architecture": "x86_64", "os_name": "debian",
                         "os_version": "12"},
         "resources": {"network": {"cards": []}}, "networks": networks}
    if extra is not None:
        d["network-extra"] = extra
    d.update(over)
    for k in drop:
        d.pop(k, None)
    return json.dumps(d, indent=4).encode()


def oauth_header(creds, ts=None, nonce=None, sig=None, drop=(), method="PLAINTEXT",
                 version="1.0", token=None, consumer=None):
    """oauthlib's PLAINTEXT header as MAAS's Credentials.oauth_headers makes it."""
    params = [("oauth_nonce", nonce or str(random.randrange(10 ** 28, 10 ** 29))),
              ("oauth_timestamp", str(int(time.time()) if ts is None else ts)),
              ("oauth_version", version), ("oauth_signature_method", method),
              ("oauth_consumer_key", consumer or creds["consumer_key"]),
              ("oauth_token", token or creds["token_key"]),
              ("oauth_signature", sig if sig is not None else "&" + creds["token_secret"])]
    return "OAuth " + ", ".join('%s="%s"' % (k, urllib.parse.quote(v, safe="~"))
                                for k, v in params if k not in drop)


def multipart(fields, files=(), boundary=None, no_filename=()):
    """maas_api_helper.encode_multipart_data: fields, then octet-stream files."""
    b = boundary or "".join(random.choice(string.ascii_letters) for _ in range(31))
    lines = []
    for k, v in fields:
        lines += [b"--" + b.encode(), b'Content-Disposition: form-data; name="%s"' % k.encode(),
                  b"", v.encode() if isinstance(v, str) else v]
    for k, v in files:
        disp = b'Content-Disposition: form-data; name="%s"' % k.encode()
        if k not in no_filename:
            disp += b'; filename="%s"' % k.encode()
        lines += [b"--" + b.encode(), disp, b"Content-Type: application/octet-stream", b"", v]
    lines += [b"--" + b.encode() + b"--", b""]
    return b"\r\n".join(lines), "multipart/form-data; boundary=%s" % b


def http_raw(url, data, headers, timeout=30):
    """(status, headers, body) of a POST; status "closed" when the server
    closes the connection without an answer."""
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()
    except (urllib.error.URLError, ConnectionError, httplib.HTTPException) as e:
        return "closed", {}, str(e).encode()


class Refresher:
    """Plays the rack's HTTP side against one region."""

    def __init__(self, region, creds, sid):
        self.region, self.creds, self.sid = region, creds, sid

    def post(self, fields, files=(), path="/MAAS/metadata/2012-03-01/", auth=None,
             ctype=None, body=None, no_filename=()):
        if body is None:
            body, ct = multipart(fields, files, no_filename=no_filename)
        else:
            ct = None
        headers = {"Content-Type": ctype or ct}
        auth = oauth_header(self.creds) if auth is None else auth
        if auth:
            headers["Authorization"] = auth
        return threads.deferToThread(http_raw, "http://127.0.0.1:%d%s" % (self.region.http, path),
                                     body, headers)

    def signal(self, status, message, files=(), exit_status=None, **kw):
        fields = [("op", "signal"), ("status", status), ("error", message)]
        if exit_status is not None:
            fields.append(("exit_status", str(exit_status)))
        return self.post(fields, files, **kw)

    def report(self, doc, exit_status=0, **kw):
        err = bytes(range(256))                 # binary stderr survives the parser
        return self.signal("WORKING", "Finished %s [1/1]: %d" % (fr.COMMISSIONING, exit_status),
                           [(fr.COMMISSIONING, doc + err), (fr.COMMISSIONING + ".out", doc),
                            (fr.COMMISSIONING + ".err", err)], exit_status=exit_status, **kw)


def date_of(headers):
    return email.utils.parsedate_to_datetime(headers["Date"]).timestamp()


@defer.inlineCallbacks
def refresh_checks(tmp, db, r1, r2):
    # -- RequestRackRefresh ------------------------------------------------------------
    ra = yield connect(r1.amp[0])
    yield ra.region_asked
    rb = yield connect(r2.amp[0])
    yield rb.region_asked
    rc = yield connect(r1.amp[1])
    yield rc.region_asked
    sid_a = (yield ra.register(hostname="rack-a"))["system_id"]
    sid_b = (yield rb.register(hostname="rack-b"))["system_id"]
    sid_c = (yield rc.register(hostname="rack-c"))["system_id"]
    check(len({sid_a, sid_b, sid_c}) == 3, "three racks registered")
    ca = yield ra.callRemote(fr.RequestRackRefresh, system_id=sid_a)
    check(set(ca) == {"consumer_key", "token_key", "token_secret"} and
          len(ca["consumer_key"]) == 18 and len(ca["token_key"]) == 18 and
          len(ca["token_secret"]) == 32 and all(v.isalnum() for v in ca.values()),
          "RequestRackRefresh: 18/18/32 alphanumeric (%s)" % ca)
    again = yield rc.callRemote(fr.RequestRackRefresh, system_id=sid_a)
    check(again == ca, "RequestRackRefresh is stable for one rack")
    cb = yield rb.callRemote(fr.RequestRackRefresh, system_id=sid_b)
    check(cb["token_key"] != ca["token_key"] and cb["token_secret"] != ca["token_secret"],
          "each rack gets its own credentials")
    cb2 = yield ra.callRemote(fr.RequestRackRefresh, system_id=sid_b)
    check(cb2 == cb, "both regions hand out the same credentials (shared --db)")
    code, desc = yield expect_error(rcall(ra, fr.RequestRackRefresh, system_id="nosuch"))
    check(code == "UNHANDLED" and "Unknown Error" in desc,
          "RequestRackRefresh unknown system_id -> UNHANDLED (%s %s)" % (code, desc))
    calls = yield r1.jget("/calls?command=RequestRackRefresh")
    check(len(calls) >= 3 and calls[0]["result"] == ca and calls[0]["dir"] == "in",
          "RequestRackRefresh recorded")
    a, b = Refresher(r1, ca, sid_a), Refresher(r2, cb, sid_b)

    # -- a good refresh ------------------------------------------------------------------
    nets_a = {
        "lo": nic("00:00:00:00:00:00", [("127.0.0.1", 8, "local"), ("::1", 128, "local")],
                  kind="loopback"),
        "eth0": nic("52:54:00:AA:00:01", [("10.77.0.2", 24, "global"),
                                          ("fe80::5054:ff:feaa:1", 64, "link"),
                                          ("10.77.0.9", 32, "global"),
                                          ("2001:db8:77::2", "64", "global")]),
        "eth1": nic("52:54:00:aa:00:02", [("10.78.0.5", 24, "global")]),
        "eth1.100": nic("52:54:00:aa:00:02", [("10.100.0.2", 24, "global")],
                        vlan={"lower_device": "eth1", "vid": 100}),
        "eth2": nic("52:54:00:aa:00:03", [("10.66.0.2", 24, "global")], state="down"),
        "bmc0": nic("02:00:00:00:00:02", [("10.55.0.2", 24, "global")]),
    }
    extra_a = {"interfaces": {"eth1": {"links": [{"mode": "dhcp", "address": "10.78.0.5/24"}]},
                              "eth0": {"links": [{"mode": "static", "address": "10.77.0.2/24",
                                                  "gateway": "10.77.0.1"}]}},
               "monitored-interfaces": ["eth0", "eth1"], "hints": None}
    t0 = time.time()
    s, h, body = yield a.signal("WORKING", "Starting %s [1/1]" % fr.COMMISSIONING)
    check(s == 200 and body == b"OK", "WORKING start: 200 OK (%s %r)" % (s, body))
    check(abs(date_of(h) - time.time()) < 3, "Date header from the region's clock")
    s, _, body = yield a.report(document(nets_a, extra_a))
    check(s == 200, "commissioning report: 200 (%s %r)" % (s, body))
    s, _, _ = yield a.signal("OK", "Finished refreshing %s" % sid_a)
    check(s == 200, "final OK: 200")
    ref = yield r1.jget("/refreshes?system_id=%s" % sid_a)
    check([e["status"] for e in ref] == ["WORKING", "WORKING", "OK"] and
          [e["processed"] for e in ref] == [False, True, False] and
          all(e["http_status"] == 200 and e["error"] is None and e["time"] >= t0 for e in ref),
          "/refreshes: three POSTs, the report processed: %s" % ref)
    check(ref[1]["files"] == [fr.COMMISSIONING, fr.COMMISSIONING + ".out",
                              fr.COMMISSIONING + ".err"] and ref[1]["exit_status"] == 0
          and ref[0]["exit_status"] is None and ref[1]["validation_error"] is None
          and ref[2]["message"] == "Finished refreshing %s" % sid_a, "/refreshes fields")
    st = yield r1.jget("/rack-interfaces?system_id=%s" % sid_a)
    want = {
        "eth0": {"type": "physical", "mac": "52:54:00:aa:00:01", "enabled": True,
                 "parents": [], "vid": None,
                 "links": [{"address": "10.77.0.2/24", "mode": "static"},
                           {"address": "10.77.0.9/24", "mode": "static"},
                           {"address": "2001:db8:77::2/64", "mode": "static"}]},
        "eth1": {"type": "physical", "mac": "52:54:00:aa:00:02", "enabled": True,
                 "parents": [], "vid": None,
                 "links": [{"address": "10.78.0.5/24", "mode": "dhcp"}]},
        "eth1.100": {"type": "vlan", "mac": "52:54:00:aa:00:02", "enabled": True,
                     "parents": ["eth1"], "vid": 100,
                     "links": [{"address": "10.100.0.2/24", "mode": "static"}]},
        "eth2": {"type": "physical", "mac": "52:54:00:aa:00:03", "enabled": False,
                 "parents": [], "vid": None,
                 "links": [{"address": "10.66.0.2/24", "mode": "static"}]}}
    check(st["interfaces"] == want and st["updated"] >= t0 and st["known"],
          "stored as MAAS does (global scope, dhcp mode, VLAN, /32 widened, lo and the "
          "OpenBMC MAC skipped): %s" % json.dumps(st))
    st = yield r2.jget("/rack-interfaces?system_id=%s" % sid_b)
    check(st == {"interfaces": {}, "updated": None, "known": True},
          "rack b has nothing stored yet (seen from r2)")
    # a second report without eth1.100 and the VIP: deleted
    nets_a2 = dict(nets_a)
    del nets_a2["eth1.100"]
    nets_a2["eth0"] = nic("52:54:00:aa:00:01", [("10.77.0.2", 24, "global"),
                                                ("2001:db8:77::2", 64, "global")])
    s, _, _ = yield a.report(document(nets_a2, extra_a))
    st = yield r2.jget("/rack-interfaces?system_id=%s" % sid_a)
    check(s == 200 and sorted(st["interfaces"]) == ["eth0", "eth1", "eth2"] and
          len(st["interfaces"]["eth0"]["links"]) == 2,
          "a missing interface and address are deleted: %s" % st)

    # -- bad documents: 200, error recorded, nothing changed ------------------------------
    phys = {"eth0": nets_a2["eth0"]}
    bads = [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1]", "not an object"),
        (document(phys, api_version="2.0"), "api_version"),
        (document(phys, api_extensions=EXTENSIONS[:2]), "api_os"),
        (document(phys, environment={"kernel_architecture": "armv7l"}), "armv7l"),
        (document(phys, environment={}), "kernel_architecture"),
        (document(phys, drop=("resources",)), "resources"),
        (document(phys, resources={}), "network"),
        (document(phys, resources={"network": {"cards": [{"sriov": None}]}}), "sriov"),
        (document(phys, drop=("networks",)), "networks"),
        (document({"eth0": {k: v for k, v in phys["eth0"].items() if k != "bond"}}),
         "networks.eth0: missing key 'bond'"),
        (document({"eth0": nic("52:54:00:aa:00:01", [("10.77.0.2", "x", "global")])}),
         "bad address"),
        (document({"eth0": dict(phys["eth0"], addresses=[{"address": "10.0.0.1"}])}),
         "netmask"),
        (document(dict(phys, v=nic("52:54:00:aa:00:09", vlan={"lower_device": "eth9",
                                                             "vid": 5}))), "eth9"),
        (document(dict(phys, v=nic("52:54:00:aa:00:09", vlan={"lower_device": "lo",
                                                             "vid": 5}),
                       lo=nic("00:00:00:00:00:00", kind="loopback"))), "'lo'"),
        (document(dict(phys, v=nic("52:54:00:aa:00:09", vlan={"lower_device": "eth0",
                                                             "vid": 5000}))), "vid"),
        (document(dict(phys, br0=nic("52:54:00:aa:00:08", bridge={"upper_devices": ["x"]}))),
         "parent 'x'"),
        (document(phys, extra={"interfaces": {}, "monitored-interfaces": []}), "hints"),
        (document(phys, extra={"interfaces": {"eth0": {"links": [{"address": "bogus"}]}},
                               "monitored-interfaces": [], "hints": None}), "bogus"),
    ]
    for doc, what in bads:
        s, _, body = yield a.report(doc)
        ref = yield r1.jget("/refreshes?system_id=%s" % sid_a)
        e = ref[-1]
        check(s == 200 and body == b"OK" and not e["processed"] and
              e["validation_error"] and what in e["validation_error"],
              "bad document -> 200, error recorded (%s): %s" % (what, e["validation_error"]))
    st2 = yield r1.jget("/rack-interfaces?system_id=%s" % sid_a)
    check(st2 == st, "bad documents change nothing")
    s, _, _ = yield a.report(document(phys), exit_status=1)
    ref = yield r1.jget("/refreshes?system_id=%s" % sid_a)
    check(s == 200 and not ref[-1]["processed"] and ref[-1]["validation_error"] is None
          and ref[-1]["exit_status"] == 1 and ref[-1]["notes"],
          "exit_status 1: not processed (%s)" % ref[-1]["notes"])
    s, _, _ = yield a.signal("WORKING", "x", [(fr.COMMISSIONING + ".out", document(phys))],
                             no_filename=(fr.COMMISSIONING + ".out",))
    ref = yield r1.jget("/refreshes?system_id=%s" % sid_a)
    check(s == 200 and not ref[-1]["processed"] and ref[-1]["files"] == [] and
          "no filename" in ref[-1]["notes"][0], "a .out part without filename is ignored")
    st2 = yield r1.jget("/rack-interfaces?system_id=%s" % sid_a)
    check(st2 == st, "unprocessed reports change nothing")

    # -- OAuth -------------------------------------------------------------------------
    now = int(time.time())
    nonce = "123456789012345678901234567890"
    user = (yield r1.post("/user-token", {}))[1]
    cases = [
        ("bad signature", oauth_header(ca, sig="&wrong"), 401, "Invalid signature"),
        ("signature of rack b", oauth_header(ca, sig="&" + cb["token_secret"]), 401,
         "Invalid signature"),
        ("stale timestamp", oauth_header(ca, ts=now - 330), 401, "Expired timestamp"),
        ("bad timestamp", oauth_header(ca, ts="soon"), 401, "timestamp"),
        ("fresh nonce", oauth_header(ca, nonce=nonce), 200, None),
        ("reused nonce", oauth_header(ca, nonce=nonce), 401, "Nonce already used"),
        ("same nonce, other rack", oauth_header(cb, nonce=nonce), 200, None),
        ("unknown token", oauth_header(ca, token="A" * 18), 401, "invalid access token"),
        ("consumer of rack b", oauth_header(ca, consumer=cb["consumer_key"]), 401,
         "invalid consumer"),
        ("no nonce", oauth_header(ca, drop=("oauth_nonce",)), 401, "oauth_nonce"),
        ("no signature", oauth_header(ca, drop=("oauth_signature",)), 401, "oauth_signature"),
        ("no version (optional)", oauth_header(ca, drop=("oauth_version",)), 200, None),
        ("version 2.0", oauth_header(ca, version="2.0"), 401, "version"),
        ("HMAC-SHA1", oauth_header(ca, method="HMAC-SHA1"), 401, "HMAC-SHA1"),
        ("not OAuth", "Basic eDp5", 401, "not an OAuth header"),
        ("no header", "", 401, "no Authorization"),
        ("user token", oauth_header(user), 403, "Not authenticated as a known node."),
        ("realm ignored", 'OAuth realm="", ' + oauth_header(ca)[6:], 200, None),
    ]
    for what, auth, want_status, cause in cases:
        s, h, body = yield a.signal("WORKING", what, auth=auth)
        ref = yield r1.jget("/refreshes")
        e = ref[-1]
        ok = s == want_status and e["http_status"] == want_status
        if cause:
            ok = ok and cause in e["error"] and cause.encode() in body
        if want_status == 401:
            ok = ok and h.get("WWW-Authenticate", "").startswith("OAuth")
        check(ok, "OAuth %s -> %s (%s %r)" % (what, want_status, s, body))
    s, _, _ = yield a.signal("WORKING", "ok", auth=oauth_header(ca, ts=now - 250))
    check(s == 200, "a timestamp 250 s old is accepted")
    try:        # the header MAAS's own rack sends (Credentials.oauth_headers)
        from oauthlib import oauth1
    except ImportError:
        oauth1 = None
    if oauth1 is not None:
        client = oauth1.Client(ca["consumer_key"], client_secret="",
                               resource_owner_key=ca["token_key"],
                               resource_owner_secret=ca["token_secret"],
                               signature_method=oauth1.SIGNATURE_PLAINTEXT,
                               timestamp=str(int(time.time())))
        _, hdrs, _ = client.sign("http://127.0.0.1:%d/MAAS/metadata/2012-03-01/" % r1.http)
        s, _, body = yield a.signal("WORKING", "oauthlib", auth=hdrs["Authorization"])
        check(s == 200, "oauthlib's PLAINTEXT header is accepted (%s %r)" % (s, body))
    # rack b's report lands on rack b only
    nets_b = {"ens3": nic("52:54:00:bb:00:01", [("10.99.0.2", 24, "global")]),
              "ens4": nic("52:54:00:bb:00:02", [("10.77.5.2", 16, "global")]),
              "ens5": nic("52:54:00:bb:00:03", [("10.66.0.3", 24, "global")]),
              "bond0": nic("52:54:00:bb:00:04", [("10.66.0.4", 24, "global")],
                           bond={"lower_devices": ["ens6"]}),
              "ens6": nic("52:54:00:bb:00:05")}
    s, _, _ = yield b.report(document(nets_b, {"interfaces": {}, "monitored-interfaces": [],
                                               "hints": None}))
    stb = yield r1.jget("/rack-interfaces?system_id=%s" % sid_b)
    sta = yield r1.jget("/rack-interfaces?system_id=%s" % sid_a)
    check(s == 200 and sorted(stb["interfaces"]) == ["bond0", "ens3", "ens4", "ens5", "ens6"]
          and stb["interfaces"]["bond0"]["type"] == "bond" and
          stb["interfaces"]["bond0"]["parents"] == ["ens6"] and sta == st,
          "rack b's report is stored for rack b only: %s" % stb)
    ref = yield r2.jget("/refreshes")
    check(len(ref) == 1 and ref[0]["system_id"] == sid_b and ref[0]["processed"],
          "/refreshes is per region process")

    # -- clock skew, Date header ----------------------------------------------------------
    yield r1.post("/fault", {"clock_skew": 3600})
    s, h, body = yield a.signal("WORKING", "skewed")
    region_clock = date_of(h)
    check(s == 401 and b"Expired timestamp" in body and
          3590 < region_clock - time.time() < 3610,
          "clock_skew 3600: 401, Date one hour ahead (%s %+.0f s)" % (s, region_clock - time.time()))
    s, _, _ = yield a.signal("WORKING", "corrected",
                             auth=oauth_header(ca, ts=int(region_clock)))
    check(s == 200, "timestamp corrected from Date: 200")
    _, h, _ = yield r1.discovery()
    check(3590 < date_of(h) - time.time() < 3610, "discovery is dated by the skewed clock too")
    st1 = yield r1.jget("/status")
    check(abs(st1["region_time"] - time.time() - 3600) < 5, "/status region_time")
    yield r1.post("/fault", {"clock_skew": 0})
    status, r = yield r1.post("/fault", {"metadata": "skew"})
    check(status == 200 and r["faults"]["metadata"] == "skew", "metadata=skew accepted")
    s, h, _ = yield a.signal("WORKING", "skew mode")
    check(s == 401 and 3590 < date_of(h) - time.time() < 3610, "metadata skew: 401, Date +1 h")
    s, _, _ = yield a.signal("WORKING", "corrected", auth=oauth_header(ca, ts=int(date_of(h))))
    check(s == 200, "metadata skew: corrected timestamp accepted")
    yield r1.post("/fault", {"metadata": "normal"})
    s, h, _ = yield a.signal("WORKING", "normal again")
    check(s == 200 and abs(date_of(h) - time.time()) < 3, "metadata normal: clock back")

    # -- metadata faults -------------------------------------------------------------------
    yield r1.post("/fault", {"metadata": "500_once"})
    got = []
    for _ in range(2):
        s, _, _ = yield a.signal("WORKING", "f")
        got.append(s)
    check(got == [500, 200], "500_once: 500 then 200 (%s)" % got)
    for mode, want in (("500_always", [500, 500]), ("401_always", [401, 401]),
                       ("down", ["closed", "closed"])):
        yield r1.post("/fault", {"metadata": mode})
        got = []
        for _ in range(2):
            s, _, _ = yield a.signal("WORKING", "f")
            got.append(s)
        check(got == want, "metadata %s: %s" % (mode, got))
    ref = yield r1.jget("/refreshes")
    check(ref[-1]["http_status"] == 0 and "down" in ref[-1]["error"], "down recorded")
    _, _, body = yield r1.discovery()
    check(b"eventloops" in body, "metadata down: discovery still answers")
    yield r1.post("/fault", {"metadata": "normal"})
    status, r = yield r1.post("/fault", {"metadata": "sideways"})
    check(status == 400, "unknown metadata mode refused")
    status, r = yield r1.post("/fault", {"clock_skew": "1h"})
    check(status == 400, "clock_skew must be a number")

    # -- request shape: 400, 404, paths ------------------------------------------------------
    shape = [
        ("op elsewhere", dict(fields=[("op", "other"), ("status", "OK")]), 400, "op=other"),
        ("no op", dict(fields=[("status", "OK")]), 400, "op=None"),
        ("no status", dict(fields=[("op", "signal")]), 400, "status"),
        ("bad status", dict(fields=[("op", "signal"), ("status", "DONE")]), 400,
         "Unknown status"),
        ("bad exit_status", dict(fields=[("op", "signal"), ("status", "OK"),
                                         ("exit_status", "zero")]), 400, "exit_status"),
        ("script_result alias", dict(fields=[("op", "signal"), ("status", "OK"),
                                             ("script_result", "3")]), 200, None),
        ("op in the query string", dict(fields=[("status", "OK")],
                                        path="/MAAS/metadata/2012-03-01/?op=signal"), 200, None),
        ("leading double slash", dict(fields=[("op", "signal"), ("status", "OK")],
                                      path="//MAAS/metadata/2012-03-01/"), 200, None),
        ("latest, doubled slashes", dict(fields=[("op", "signal"), ("status", "OK")],
                                         path="/MAAS//metadata//latest/"), 200, None),
        ("unknown version", dict(fields=[("op", "signal"), ("status", "OK")],
                                 path="/MAAS/metadata/2099-01-01/"), 404, None),
        ("not multipart", dict(fields=[], body=b"op=signal&status=OK",
                               ctype="application/x-www-form-urlencoded"), 400, "multipart"),
        ("no boundary", dict(fields=[], body=b"--x\r\n", ctype="multipart/form-data"), 400,
         "boundary"),
        ("truncated", dict(fields=[], ctype="multipart/form-data; boundary=abc",
                           body=b'--abc\r\nContent-Disposition: form-data; name="op"\r\n\r\nsig'),
         400, "closing boundary"),
        ("no disposition", dict(fields=[], ctype="multipart/form-data; boundary=abc",
                                body=b'--abc\r\nX: y\r\n\r\nv\r\n--abc--\r\n'), 400,
         "Content-Disposition"),
        ("quoted boundary, preamble, ';' in a quoted name",
         dict(fields=[], ctype='multipart/form-data; boundary="a;b"',
              body=b'junk\r\n--a;b\r\nContent-Disposition: form-data; name="op"\r\n\r\nsignal'
                   b'\r\n--a;b\r\ncontent-disposition: form-data; name="status"\r\n\r\nOK\r\n'
                   b'--a;b\r\nContent-Disposition: form-data; name="x;\\"y"; filename="f"\r\n'
                   b'\r\n\x00\r\n\r\n--a;b--\r\n'), 200, None),
    ]
    for what, kw, want_status, cause in shape:
        s, _, body = yield a.post(**kw)
        ok = s == want_status and (cause is None or cause.encode() in body)
        check(ok, "request %s -> %s (%s %r)" % (what, want_status, s, body[:120]))
    ref = yield r1.jget("/refreshes")
    check(ref[-1]["files"] == ['x;"y'], "quoted part name decoded: %s" % ref[-1]["files"])
    body, ct = multipart([("op", "signal"), ("status", "OK")])
    s, _, _ = yield threads.deferToThread(http_raw, "http://127.0.0.1:%d/MAAS/rpc/x" % r1.http,
                                          body, {"Content-Type": ct})
    check(s == 404, "POST elsewhere -> 404")
    # binary file part kept byte for byte: a document after a NUL-laden part
    blob = bytes(range(256)) * 4 + b"\r\n--not-the-boundary\r\n"
    s, _, _ = yield a.signal("WORKING", "binary", [("blob", blob), (fr.COMMISSIONING + ".out",
                                                                    document(nets_a2, extra_a))])
    ref = yield r1.jget("/refreshes")
    check(s == 200 and ref[-1]["processed"] and ref[-1]["files"] ==
          ["blob", fr.COMMISSIONING + ".out"], "binary parts parsed")
    check(fr.parse_multipart(*(lambda bc: (bc[0], bc[1]))(multipart([], [("b", blob)])))[0]
          ["data"] == blob, "parse_multipart keeps a binary part byte for byte")

    # -- layer 2: ListNodePowerParameters --------------------------------------------------
    def node(sid, addr):
        return {"system_id": sid, "hostname": sid, "power_type": "ipmi",
                "power_state": "unknown", "context": {"power_address": addr}}
    nodes = [node("n-a1", "10.77.0.50"), node("n-a2", "10.78.0.60:623"),
             node("n-b1", "10.99.0.50"), node("n-b2", "https://10.77.5.50/redfish/v1"),
             node("n-ab", "10.66.0.50"), node("n-x", "192.0.2.5"),
             node("n-name", "bmc.example"), node("n-v6", "[2001:db8:77::50]:623")]
    yield r1.post("/nodes", {"nodes": nodes})

    @defer.inlineCallbacks
    def listed(proto, sid):
        yield r1.post("/nodes/reset", {})
        r = yield proto.callRemote(fr.ListNodePowerParameters, uuid=sid)
        return sorted(n["system_id"] for n in r["nodes"])
    got = yield listed(ra, sid_a)
    check(len(got) == 8, "layer2 off: every node (%s)" % got)
    st1 = yield r1.jget("/status")
    check(st1["layer2"] is False, "/status layer2 false")
    status, r = yield r1.post("/layer2", {"enabled": True})
    check(status == 200 and r["layer2"] is True, "POST /layer2 on")
    got_a = yield listed(ra, sid_a)
    check(got_a == ["n-a1", "n-a2", "n-ab", "n-v6"],
          "layer2: rack a gets the BMCs on its subnets, dhcp links too (%s)" % got_a)
    got_b = yield listed(rc, sid_b)                 # asked on another connection
    check(got_b == ["n-ab", "n-b1", "n-b2"],
          "layer2: rack b, the longest-prefix subnet decides (%s)" % got_b)
    got_c = yield listed(rc, sid_c)
    check(got_c == [], "layer2: a rack without interfaces gets [] (%s)" % got_c)
    status, r = yield r1.post("/layer2", {"enabled": "yes"})
    check(status == 400, "POST /layer2 needs a boolean")
    yield r1.post("/layer2", {"enabled": False})
    got = yield listed(rc, sid_c)
    check(len(got) == 8, "layer2 off again: unchanged behaviour")
    r4 = Region(tmp, db, "r4", 1, "--layer2")
    try:
        st4 = yield r4.jget("/status")
        p4 = yield connect(r4.amp[0])
        yield p4.region_asked
        yield p4.register(hostname="rack-b")
        got = yield listed(p4, sid_b)
        check(st4["layer2"] is True and got == got_b, "--layer2 at start (%s)" % got)
        p4.transport.loseConnection()
    finally:
        rc4 = r4.stop()
        check(rc4 == 0, "r4 exits 0")
    check(fr.bmc_ip({"power_address": "qemu+ssh://u@10.1.2.3/system"}) is not None and
          fr.bmc_ip({}) is None, "bmc_ip of a URL with user, of nothing")

    # -- DHCP configuration for a VLAN --------------------------------------------------------
    ra.got.clear()
    rc.got.clear()
    rb.got.clear()
    req = {"vlan_cidr": "10.66.0.0/24", "primary": sid_a, "secondary": sid_b, "family": 4}
    status, r = yield r1.post("/dhcp-config", req)
    check(status == 200 and r["ok"] and set(r["configs"]) == {sid_a, sid_b} and
          r["pushed"] == {}, "/dhcp-config answers both racks' arguments")
    ca4, cb4 = r["configs"][sid_a], r["configs"][sid_b]
    names = {k.decode() for k, _ in fr.DHCP_ARGS}
    check(set(ca4) == names and set(cb4) == names, "every ConfigureDHCPv4 argument present")
    check(ca4["failover_peers"] == [{"name": "failover-vlan-5001", "mode": "primary",
                                     "address": "10.66.0.2", "peer_address": "10.66.0.4"}] and
          cb4["failover_peers"] == [{"name": "failover-vlan-5001", "mode": "secondary",
                                     "address": "10.66.0.4", "peer_address": "10.66.0.2"}],
          "failover peers from the best interfaces' static addresses: %s %s" % (ca4["failover_peers"],
                                                                cb4["failover_peers"]))
    sa, sb = ca4["shared_networks"][0], cb4["shared_networks"][0]
    check(sa["interface"] == "eth2" and ca4["interfaces"] == [{"name": "eth2"}] and
          sb["interface"] == "bond0" and cb4["interfaces"] == [{"name": "bond0"}],
          "interface names as reported, a bond preferred (%s, %s)" % (sa["interface"],
                                                                      sb["interface"]))
    sub = sa["subnets"][0]
    check(sa["name"] == "vlan-5001" and sa["mtu"] == 1500 and sub["subnet"] == "10.66.0.0" and
          sub["subnet_mask"] == "255.255.255.0" and sub["subnet_cidr"] == "10.66.0.0/24" and
          sub["broadcast_ip"] == "10.66.0.255" and
          sub["pools"] == [{"ip_range_low": "10.66.0.128", "ip_range_high": "10.66.0.254",
                            "failover_peer": "failover-vlan-5001", "dhcp_snippets": []}] and
          sub["ntp_servers"] == ["10.66.0.2", "10.66.0.4"] and sub["dns_servers"] == ["10.66.0.2"],
          "the subnet: %s" % sub)
    check(sb["subnets"][0]["pools"] == sub["pools"], "both racks get the same pools")
    for bad, code, cause in (
            (dict(req, vlan_cidr="10.99.0.0/24"), 409, "no interface"),
            (dict(req, vlan_cidr="10.78.0.0/24", secondary=sid_c), 409, "no interface"),
            (dict(req, vlan_cidr="10.78.0.0/24", secondary=None, primary=sid_b), 409,
             "no interface"),
            (dict(req, secondary=sid_a), 400, "secondary"),
            (dict(req, primary="nosuch"), 400, "primary"),
            (dict(req, vlan_cidr="10.66.0.1/24"), 400, "vlan_cidr"),
            (dict(req, family=6), 400, "family")):
        status, r = yield r1.post("/dhcp-config", bad)
        check(status == code and r["ok"] is False and cause in r["error"],
              "/dhcp-config %s -> %d (%s)" % (bad, code, r.get("error")))
    # rack a has only a dhcp address on 10.78.0.0/24: fine alone, no failover with b
    nets_b2 = dict(nets_b, ens7=nic("52:54:00:bb:00:07", [("10.78.0.7", 24, "global")]))
    yield b.report(document(nets_b2))
    status, r = yield r1.post("/dhcp-config", dict(req, vlan_cidr="10.78.0.0/24"))
    check(status == 409 and "no static address" in r["error"],
          "a dhcp address is no failover address (%s)" % r.get("error"))
    status, r = yield r1.post("/dhcp-config", dict(req, vlan_cidr="10.78.0.0/24",
                                                    secondary=None, vlan_id=7,
                                                    pools=[{"ip_range_low": "10.78.0.100",
                                                            "ip_range_high": "10.78.0.110"}]))
    c = r["configs"][sid_a] if status == 200 else {}
    check(status == 200 and c["failover_peers"] == [] and
          c["shared_networks"][0]["interface"] == "eth1" and
          c["shared_networks"][0]["name"] == "vlan-7" and
          c["shared_networks"][0]["subnets"][0]["pools"] == [
              {"ip_range_low": "10.78.0.100", "ip_range_high": "10.78.0.110",
               "dhcp_snippets": []}],
          "no secondary: no failover peer, a dhcp interface as last resort: %s" % c)
    # push (through r1's connections: rack b gets one there too)
    rb2 = yield connect(r1.amp[1])
    yield rb2.region_asked
    yield rb2.register(hostname="rack-b")
    yield wait_until(lambda: any(c[0] == "ConfigureDHCPv6" for c in rb2.got))
    rb2.got.clear()
    status, r = yield r1.post("/dhcp-config", dict(req, push=True))
    check(status == 200 and r["ok"] and r["pushed"] == {sid_a: {"ok": True, "error": None},
                                                       sid_b: {"ok": True, "error": None}},
          "/dhcp-config push: %s" % r.get("pushed"))
    pa = [kw for c, kw in ra.got + rc.got if c == "ConfigureDHCPv4"]
    pb = [kw for c, kw in rb2.got if c == "ConfigureDHCPv4"]
    if VERBOSE and pa and pb:
        print(json.dumps(fr.jsonable(pa[0])), "\n", json.dumps(ca4))
    check(len(pa) == 1 and len(pb) == 1 and fr.jsonable(pa[0]) == ca4 and
          fr.jsonable(pb[0]) == cb4, "each rack received its arguments (%d, %d)" % (len(pa), len(pb)))
    dh = json.load(open(os.path.join(db, "dhcp.json")))
    check(dh.get("rack-a", {}).get("v4") == ca4 and dh.get("rack-b", {}).get("v4") == cb4,
          "pushed configs kept for re-registration")
    rb2.transport.loseConnection()
    yield rb2.lost
    status, r = yield r1.post("/dhcp-config", dict(req, push=True))
    check(r["ok"] is False and "not connected" in r["pushed"][sid_b]["error"] and
          r["pushed"][sid_a]["ok"], "push to a disconnected rack: ok false (%s)" % r["pushed"])

    # -- MAC and address uniqueness across racks ---------------------------------------------
    s, _, _ = yield b.report(document(dict(nets_b2, stolen=nic("52:54:00:aa:00:03",
                                                              [("10.77.0.2", 24, "global")]))))
    sta = yield r1.jget("/rack-interfaces?system_id=%s" % sid_a)
    check("eth2" not in sta["interfaces"] and
          {"address": "10.77.0.2/24", "mode": "static"} not in sta["interfaces"]["eth0"]["links"],
          "a MAC and an address reported by rack b leave rack a: %s" % sorted(sta["interfaces"]))

    # -- region_ctl.py ------------------------------------------------------------------------
    ctl = [sys.executable, os.path.join(HERE, "region_ctl.py"), "--control", str(r1.ctl)]

    def run_ctl(*args):
        return threads.deferToThread(subprocess.run, ctl + list(args), capture_output=True)
    out = yield run_ctl("refreshes", "--system-id", sid_b)
    check(out.returncode == 0 and all(e["system_id"] == sid_b for e in json.loads(out.stdout))
          and json.loads(out.stdout), "region_ctl refreshes --system-id")
    out = yield run_ctl("rack-interfaces", sid_b)
    check(out.returncode == 0 and "ens7" in json.loads(out.stdout)["interfaces"],
          "region_ctl rack-interfaces")
    out = yield run_ctl("fault", "metadata=500_once")
    check(out.returncode == 0 and json.loads(out.stdout)["faults"]["metadata"] == "500_once",
          "region_ctl fault metadata=")
    out = yield run_ctl("fault", "metadata=normal")
    out = yield run_ctl("fault", "clock_skew=-5")
    check(out.returncode == 0 and json.loads(out.stdout)["faults"]["clock_skew"] == -5,
          "region_ctl fault clock_skew=")
    yield run_ctl("fault", "clock_skew=0")
    out = yield run_ctl("layer2", "on")
    check(out.returncode == 0 and json.loads(out.stdout)["layer2"] is True, "region_ctl layer2")
    yield run_ctl("layer2", "off")
    out = yield run_ctl("dhcp-config", json.dumps(dict(req, vlan_cidr="10.99.0.0/24")))
    check(out.returncode == 1 and b"no interface" in out.stdout, "region_ctl dhcp-config 409")
    out = yield run_ctl("dhcp-config", json.dumps(dict(req, primary=sid_b, secondary=None)))
    check(out.returncode == 0 and sid_b in json.loads(out.stdout)["configs"],
          "region_ctl dhcp-config")
    out = yield run_ctl("user-token")
    check(out.returncode == 0 and len(json.loads(out.stdout)["token_secret"]) == 32,
          "region_ctl user-token")
    for p in (ra, rc):
        p.transport.loseConnection()


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
