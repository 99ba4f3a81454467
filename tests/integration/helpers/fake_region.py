#!/usr/bin/python3
"""A fake MAAS 3.4 region for rackd's integration tests (Twisted AMP).

  fake_region.py --name NAME --loops N --secret-file F --db DIR
                 [--record FILE] [--log FILE] [--ready-file FILE]

One HTTP server answers GET /MAAS/rpc/ with every event loop of every
fake region sharing DIR (the "database"); N AMP listeners play regiond
workers: Authenticate both ways (HMAC-SHA256 of the hex-decoded secret),
RegisterRackController (system_ids kept in DIR/racks.json), the empty
ConfigureDHCPv4/v6 push MAAS makes after registration, and the rack->region
commands rackd uses.  Every call in or out is appended to --record as JSON.

A control HTTP server (127.0.0.1) lets a test inspect and drive it:
  GET  /status, /connections, /calls
  POST /call   {"command", "args", "raw": bool}  -> calls the rack
  POST /fault  {"name": F, "on": bool} | {"http_mode": M}
  POST /eventloops/remove {"name": REGION}
Faults: wrong_secret, garbage, oversized_key, truncated, reject_register,
drop_all (close current rack connections once).  http_mode: normal, html,
badjson, wrongshape, huge, slow, 503.
"""
import argparse, glob, hashlib, hmac, json, os, random, re, string, sys, time, zlib

from twisted.internet import defer, protocol, reactor
from twisted.protocols import amp
from twisted.web import resource, server

ARGS = None
FAULTS = {"http_mode": "normal"}
CONNS = []
LOOPS = {}          # port -> loop name


def log(msg):
    with open(ARGS.log, "a") if ARGS.log else sys.stderr as f:
        f.write("%.3f %s %s\n" % (time.time(), ARGS.name, msg))


def secret_key():
    key = open(ARGS.secret_file).read().strip()
    b = bytes.fromhex(key)
    if FAULTS.get("wrong_secret"):
        b = bytes(x ^ 0x55 for x in b)
    return b


def jsonable(v):
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {k.decode() if isinstance(k, bytes) else k: jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def record(loop, peer, direction, command, args, result=None, error=None):
    if not ARGS.record:
        return
    entry = {"t": time.time(), "loop": loop, "peer": peer, "dir": direction,
             "command": command, "args": jsonable(args),
             "result": jsonable(result), "error": error}
    with open(ARGS.record, "a") as f:
        f.write(json.dumps(entry) + "\n")


# --- MAAS argument types (spec §3.4) ---------------------------------------
class StructureAsJSON(amp.Argument):
    def toString(self, obj):
        return zlib.compress(json.dumps(obj).encode("ascii"))

    def fromString(self, s):
        return json.loads(zlib.decompress(s).decode("ascii"))


class CompressedAmpList(amp.AmpList):
    def toStringProto(self, inObject, proto):
        return zlib.compress(super().toStringProto(inObject, proto))

    def fromStringProto(self, inString, proto):
        return super().fromStringProto(zlib.decompress(inString), proto)


class Bytes(amp.Argument):
    def toString(self, obj):
        return obj

    def fromString(self, s):
        return s


def U(opt=False):
    return amp.Unicode(optional=opt)


# --- commands -----------------------------------------------------------------
class Authenticate(amp.Command):
    arguments = [(b"message", amp.String())]
    response = [(b"digest", amp.String()), (b"salt", amp.String())]


class Identify(amp.Command):
    response = [(b"ident", U())]


class Ping(amp.Command):
    pass


class CannotRegisterRackController(Exception):
    pass


class RegisterRackController(amp.Command):
    arguments = [(b"system_id", U()), (b"hostname", U()),
                 (b"interfaces", StructureAsJSON()), (b"url", U(True)),
                 (b"nodegroup_uuid", U(True)), (b"beacon_support", amp.Boolean(optional=True)),
                 (b"version", U(True))]
    response = [(b"system_id", U()), (b"beacon_support", amp.Boolean(optional=True)),
                (b"version", U(True)), (b"uuid", U(True))]
    errors = {CannotRegisterRackController: b"CannotRegisterRackController"}


class UpdateServices(amp.Command):
    arguments = [(b"system_id", U()),
                 (b"services", amp.AmpList([(b"name", U()), (b"status", U()), (b"status_info", U())]))]


class UpdateLeases(amp.Command):
    arguments = [(b"cluster_uuid", U()),
                 (b"updates", amp.AmpList([(b"action", U()), (b"mac", U()), (b"ip_family", U()),
                                           (b"ip", U()), (b"timestamp", amp.Integer()),
                                           (b"lease_time", amp.Integer(optional=True)),
                                           (b"hostname", U(True))]))]


class UpdateNodePowerState(amp.Command):
    arguments = [(b"system_id", U()), (b"power_state", U())]


class RegisterEventType(amp.Command):
    arguments = [(b"name", U()), (b"description", U()), (b"level", amp.Integer())]


class SendEvent(amp.Command):
    arguments = [(b"system_id", U()), (b"type_name", U()), (b"description", U())]


class MarkNodeFailed(amp.Command):
    arguments = [(b"system_id", U()), (b"error_description", U())]


class ListNodePowerParameters(amp.Command):
    arguments = [(b"uuid", U())]
    response = [(b"nodes", amp.AmpList([(b"system_id", U()), (b"hostname", U()),
                                        (b"power_state", U()), (b"power_type", U()),
                                        (b"context", StructureAsJSON())]))]


DHCP_ARGS = [(b"omapi_key", U()),
             (b"failover_peers", amp.AmpList([(b"name", U()), (b"mode", U()),
                                              (b"address", U()), (b"peer_address", U())])),
             (b"shared_networks", CompressedAmpList([(b"name", U())])),
             (b"hosts", CompressedAmpList([(b"host", U()), (b"mac", U()), (b"ip", U())])),
             (b"interfaces", amp.AmpList([(b"name", U())])),
             (b"global_dhcp_snippets", CompressedAmpList([(b"name", U()), (b"value", U())], optional=True))]


class ConfigureDHCPv4(amp.Command):
    arguments = DHCP_ARGS


class ConfigureDHCPv6(amp.Command):
    arguments = DHCP_ARGS


class ListBootImages(amp.Command):
    response = [(b"images", CompressedAmpList([(b"osystem", U())]))]


class IsImportBootImagesRunning(amp.Command):
    response = [(b"running", amp.Boolean())]


class DisableAndShutoffRackd(amp.Command):
    pass


CTX = [(b"system_id", U()), (b"hostname", U()), (b"power_type", U()), (b"context", StructureAsJSON())]


class PowerOn(amp.Command):
    arguments = CTX


class PowerOff(amp.Command):
    arguments = CTX


class PowerCycle(amp.Command):
    arguments = CTX


class PowerQuery(amp.Command):
    arguments = CTX
    response = [(b"state", U()), (b"error_msg", U(True))]


class PowerDriverCheck(amp.Command):
    arguments = [(b"power_type", U())]
    response = [(b"missing_packages", amp.ListOf(U()))]


RACK_COMMANDS = {c.__name__: c for c in [
    Identify, Ping, ConfigureDHCPv4, ConfigureDHCPv6, ListBootImages,
    IsImportBootImagesRunning, DisableAndShutoffRackd, PowerOn, PowerOff,
    PowerCycle, PowerQuery, PowerDriverCheck]}


def racks_db():
    path = os.path.join(ARGS.db, "racks.json")
    try:
        return json.load(open(path))
    except Exception:
        return {}


def racks_save(db):
    path = os.path.join(ARGS.db, "racks.json")
    tmp = path + ".tmp.%d" % os.getpid()
    json.dump(db, open(tmp, "w"))
    os.rename(tmp, path)


def maas_uuid():
    path = os.path.join(ARGS.db, "uuid")
    if not os.path.exists(path):
        open(path, "w").write("a1b2c3d4-0000-4000-8000-%012d" % random.randint(0, 10**12))
    return open(path).read().strip()


class Region(amp.AMP):
    def connectionMade(self):
        super().connectionMade()
        self.loop = LOOPS.get(self.transport.getHost().port, "?")
        p = self.transport.getPeer()
        self.peer = "%s:%d" % (p.host, p.port)
        self.rack_authenticated = False
        self.region_authenticated = False
        self.registered = False
        self.system_id = None
        self.hostname = None
        CONNS.append(self)
        log("%s: connection from %s" % (self.loop, self.peer))
        if FAULTS.get("garbage"):
            self.transport.write(bytes([0x00, 0x05]) + os.urandom(5) + b"\xff\xff" + os.urandom(40))
            return
        if FAULTS.get("oversized_key"):
            self.transport.write(b"\x01\x2c" + b"k" * 300 + b"\x00\x01x\x00\x00")
            return
        if FAULTS.get("truncated"):
            self.transport.write(b"\x00\x04_ask\x00\x01")
            reactor.callLater(0.2, self.transport.loseConnection)
            return
        self.authenticate_rack()

    def connectionLost(self, reason):
        if self in CONNS:
            CONNS.remove(self)
        log("%s: connection from %s lost" % (self.loop, self.peer))
        super().connectionLost(reason)

    @defer.inlineCallbacks
    def authenticate_rack(self):
        msg = os.urandom(16)
        try:
            r = yield self.callRemote(Authenticate, message=msg)
        except Exception as e:
            log("%s: rack Authenticate failed: %s" % (self.loop, e))
            self.transport.loseConnection()
            return
        want = hmac.new(secret_key(), msg + r["salt"], hashlib.sha256).digest()
        record(self.loop, self.peer, "out", "Authenticate", {}, {"ok": want == r["digest"]})
        if want != r["digest"]:
            log("Rack controller FAILED authentication from '%s'; dropping connection." % self.peer)
            self.transport.loseConnection()
            return
        self.rack_authenticated = True

    @Authenticate.responder
    def authenticate(self, message):
        salt = os.urandom(16)
        self.region_authenticated = True
        return {"digest": hmac.new(secret_key(), message + salt, hashlib.sha256).digest(),
                "salt": salt}

    @Identify.responder
    def identify(self):
        return {"ident": self.loop}

    @Ping.responder
    def ping(self):
        return {}

    @RegisterRackController.responder
    def register(self, system_id, hostname, interfaces, url=None, nodegroup_uuid=None,
                 beacon_support=None, version=None):
        args = {"system_id": system_id, "hostname": hostname, "interfaces": interfaces,
                "url": url, "nodegroup_uuid": nodegroup_uuid,
                "beacon_support": beacon_support, "version": version}
        if FAULTS.get("reject_register") or (version is not None and
                                             not re.match(r"^(\d+:)?\d+\.\d+\.\d+", version)):
            record(self.loop, self.peer, "in", "RegisterRackController", args,
                   error={"code": "CannotRegisterRackController", "description": "rejected"})
            raise CannotRegisterRackController("rejected by fake region")
        import fcntl
        lockf = open(os.path.join(ARGS.db, "racks.lock"), "a")
        fcntl.flock(lockf, fcntl.LOCK_EX)   # the region's DB transaction
        db = racks_db()
        sid = None
        if system_id and system_id in db.values():
            sid = system_id
        elif hostname in db:
            sid = db[hostname]
        if sid is None:
            sid = "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))
        db[hostname] = sid
        racks_save(db)
        lockf.close()
        self.system_id, self.hostname, self.registered = sid, hostname, True
        ans = {"system_id": sid, "uuid": maas_uuid()}
        if beacon_support:
            ans["beacon_support"] = True
        if version is not None:
            ans["version"] = ARGS.version
        record(self.loop, self.peer, "in", "RegisterRackController", args, ans)
        if not ARGS.no_push_dhcp:
            reactor.callLater(0.05, self.push_dhcp)
        return ans

    @defer.inlineCallbacks
    def push_dhcp(self):
        for cmd in (ConfigureDHCPv4, ConfigureDHCPv6):
            kw = {"omapi_key": "SGVsbG8=", "failover_peers": [], "shared_networks": [],
                  "hosts": [], "interfaces": [], "global_dhcp_snippets": []}
            try:
                r = yield self.callRemote(cmd, **kw)
                record(self.loop, self.peer, "out", cmd.__name__, {}, r)
            except Exception as e:
                record(self.loop, self.peer, "out", cmd.__name__, {}, None,
                       {"code": getattr(e, "errorCode", "?").__str__(), "description": str(e)})

    def _simple(self, name, **kw):
        record(self.loop, self.peer, "in", name, kw, {})
        return {}

    @UpdateServices.responder
    def update_services(self, system_id, services):
        for s in services:
            if s["status"] not in ("unknown", "running", "degraded", "dead", "off") \
                    or len(s["status_info"]) > 255 or s["name"] == "rackd":
                record(self.loop, self.peer, "in", "UpdateServices",
                       {"system_id": system_id, "services": services},
                       error={"code": "UNHANDLED", "description": "invalid service %r" % s})
                raise ValueError("invalid service")
        return self._simple("UpdateServices", system_id=system_id, services=services)

    @UpdateLeases.responder
    def update_leases(self, cluster_uuid, updates):
        return self._simple("UpdateLeases", cluster_uuid=cluster_uuid, updates=updates)

    @UpdateNodePowerState.responder
    def update_power(self, system_id, power_state):
        return self._simple("UpdateNodePowerState", system_id=system_id, power_state=power_state)

    @RegisterEventType.responder
    def register_event_type(self, name, description, level):
        return self._simple("RegisterEventType", name=name, description=description, level=level)

    @SendEvent.responder
    def send_event(self, system_id, type_name, description):
        return self._simple("SendEvent", system_id=system_id, type_name=type_name,
                            description=description)

    @MarkNodeFailed.responder
    def mark_failed(self, system_id, error_description):
        return self._simple("MarkNodeFailed", system_id=system_id,
                            error_description=error_description)

    @ListNodePowerParameters.responder
    def list_power(self, uuid):
        record(self.loop, self.peer, "in", "ListNodePowerParameters", {"uuid": uuid}, {"nodes": []})
        return {"nodes": []}


# --- HTTP: discovery ------------------------------------------------------------
def eventloops():
    merged = {}
    for f in sorted(glob.glob(os.path.join(ARGS.db, "eventloops-*.json"))):
        try:
            merged.update(json.load(open(f)))
        except Exception:
            pass
    return merged


class RPCInfo(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        if request.path != b"/MAAS/rpc/":
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/html")
            return b"<html><body>Not Found</body></html>"
        mode = FAULTS.get("http_mode", "normal")
        if mode == "503":
            request.setResponseCode(503)
            return b"starting"
        if mode == "html":
            request.setHeader(b"content-type", b"text/html")
            return b"<html><body>MAAS login</body></html>"
        request.setHeader(b"content-type", b"application/json")
        if mode == "badjson":
            return b'{"eventloops": '
        if mode == "wrongshape":
            return b'{"eventloops": [1, 2]}'
        if mode == "huge":
            return b'{"eventloops": {}, "pad": "' + b"x" * (20 << 20) + b'"}'
        if mode == "slow":
            reactor.callLater(30, lambda: (request.write(b"{}"), request.finish())
                              if not request.finished else None)
            request.notifyFinish().addErrback(lambda _: None)
            return server.NOT_DONE_YET
        return json.dumps({"eventloops": eventloops()}).encode()


# --- control API --------------------------------------------------------------
class Control(resource.Resource):
    isLeaf = True

    def _json(self, request, obj, code=200):
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(jsonable(obj)).encode()

    def render_GET(self, request):
        p = request.path.decode()
        if p == "/status":
            return self._json(request, {"name": ARGS.name, "pid": os.getpid(),
                                        "amp_ports": list(LOOPS), "eventloops": list(LOOPS.values())})
        if p == "/connections":
            return self._json(request, [{"loop": c.loop, "peer": c.peer,
                                         "rack_authenticated": c.rack_authenticated,
                                         "region_authenticated": c.region_authenticated,
                                         "registered": c.registered, "system_id": c.system_id,
                                         "hostname": c.hostname} for c in CONNS])
        if p == "/calls":
            out = []
            if ARGS.record and os.path.exists(ARGS.record):
                out = [json.loads(l) for l in open(ARGS.record)]
            return self._json(request, out)
        return self._json(request, {"error": "no such path"}, 404)

    def render_POST(self, request):
        p = request.path.decode()
        body = json.loads(request.content.read() or b"{}")
        if p == "/fault":
            if "http_mode" in body:
                FAULTS["http_mode"] = body["http_mode"]
            if "name" in body:
                if body["name"] == "drop_all":
                    for c in list(CONNS):
                        c.transport.loseConnection()
                else:
                    FAULTS[body["name"]] = bool(body.get("on", True))
            return self._json(request, {"ok": True, "faults": FAULTS})
        if p == "/eventloops/remove":
            try:
                os.unlink(os.path.join(ARGS.db, "eventloops-%s.json" % body["name"]))
            except FileNotFoundError:
                pass
            return self._json(request, {"ok": True})
        if p == "/call":
            self.do_call(request, body)
            return server.NOT_DONE_YET
        return self._json(request, {"error": "no such path"}, 404)

    def do_call(self, request, body):
        conns = [c for c in CONNS if c.registered]
        if body.get("loop"):
            conns = [c for c in conns if c.loop == body["loop"]]
        if not conns:
            request.write(self._json(request, {"ok": False, "error_code": "NoConnection",
                                               "description": "no registered rack"}))
            request.finish()
            return
        conn = conns[0]
        name = body["command"]
        args = body.get("args", {})
        if body.get("raw") or name not in RACK_COMMANDS:
            cmd = type(str(name), (amp.Command,), {"commandName": name.encode(),
                                                   "arguments": [], "response": []})
        else:
            cmd = RACK_COMMANDS[name]
        d = conn.callRemote(cmd, **args)

        def ok(r):
            record(conn.loop, conn.peer, "out", name, args, r)
            request.write(self._json(request, {"ok": True, "answer": r}))
            request.finish()

        def err(f):
            code = getattr(f.value, "errorCode", None) or type(f.value).__name__
            if isinstance(code, bytes):
                code = code.decode()
            desc = getattr(f.value, "description", None) or str(f.value)
            if isinstance(desc, bytes):
                desc = desc.decode("utf-8", "replace")
            if isinstance(f.value, amp.UnhandledCommand):
                code = "UNHANDLED"
            record(conn.loop, conn.peer, "out", name, args, None, {"code": code, "description": desc})
            request.write(self._json(request, {"ok": False, "error_code": code, "description": desc}))
            request.finish()
        d.addCallbacks(ok, err)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--loops", type=int, default=1)
    ap.add_argument("--secret-file", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--http-port", type=int, default=0)
    ap.add_argument("--http-host", default="127.0.0.1")
    ap.add_argument("--amp-host", default="127.0.0.1")
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--record")
    ap.add_argument("--log")
    ap.add_argument("--ready-file")
    ap.add_argument("--no-push-dhcp", action="store_true")
    ap.add_argument("--version", default="3.4.0")
    ARGS = ap.parse_args()
    os.makedirs(ARGS.db, exist_ok=True)

    factory = protocol.Factory.forProtocol(Region)
    loops = {}
    ports = []
    for i in range(ARGS.loops):
        lp = reactor.listenTCP(0, factory, interface=ARGS.amp_host)
        port = lp.getHost().port
        name = "%s:pid=%d" % (ARGS.name, os.getpid() if i == 0 else os.getpid() * 10 + i)
        LOOPS[port] = name
        loops[name] = [[ARGS.amp_host, port]]
        ports.append(port)
    path = os.path.join(ARGS.db, "eventloops-%s.json" % ARGS.name)
    json.dump(loops, open(path + ".tmp", "w"))
    os.rename(path + ".tmp", path)
    http = reactor.listenTCP(ARGS.http_port, server.Site(RPCInfo()), interface=ARGS.http_host)
    ctl = reactor.listenTCP(ARGS.control_port, server.Site(Control()), interface="127.0.0.1")
    line = "READY name=%s pid=%d http=%d control=%d amp=%s" % (
        ARGS.name, os.getpid(), http.getHost().port, ctl.getHost().port,
        ",".join(str(p) for p in ports))
    print(line, flush=True)
    if ARGS.ready_file:
        open(ARGS.ready_file + ".tmp", "w").write(line + "\n")
        os.rename(ARGS.ready_file + ".tmp", ARGS.ready_file)
    log("listening: " + line)
    reactor.run()


if __name__ == "__main__":
    main()
