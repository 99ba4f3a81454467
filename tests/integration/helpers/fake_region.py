#!/usr/bin/python3
# Must be Debian's /usr/bin/python3: python3-twisted lives in
# /usr/lib/python3/dist-packages and the pyenv python3 on PATH lacks it.
"""A fake MAAS 3.4 region controller for rackd's integration tests.

  fake_region.py --name region1 --loops 2 --secret-file FILE --db DIR
                 [--http-port 0] [--http-host 127.0.0.1] [--amp-host 127.0.0.1]
                 [--control-port 0] [--record FILE] [--log FILE]
                 [--ready-file FILE] [--no-push-dhcp] [--gating]
                 [--version 3.4.0] [--dhcp-retry 0.1] [--layer2]

Written from /work/shared/spec/maas-rpc.md; as far as the rack can see it
behaves like a 3.4 region:

* one HTTP server: GET /MAAS/rpc/ answers {"eventloops": {...}} merged from
  every DIR/eventloops-*.json (the shared "database"); anything else is a
  404 HTML page;
* N AMP listeners, one per simulated regiond worker ("event loop"), each
  named "<name>:pid=<n>";
* on accept the region Authenticates the rack (HMAC-SHA256 keyed with the
  hex-decoded secret over message+salt) and drops it on mismatch; it
  answers the rack's Authenticate; with --gating (3.4.4+) other rack
  commands wait (0, .5, 1.5, 3.5, 7.5 s) for that check and then fail with
  _error_code "_error";
* RegisterRackController (system_ids in DIR/racks.json, uuid in DIR/uuid),
  then the empty ConfigureDHCPv4/v6 push of spec 3.7(i), re-pushed every
  --dhcp-retry seconds while it fails (MAAS: 0.1 s, forever);
* the rack->region commands a 3.4 rack uses; undeclared exceptions become
  non-fatal UNHANDLED "Unknown Error [...]" like MAAS's RPCProtocol;
* every call in either direction is appended to --record as one JSON line;
* a control HTTP API on 127.0.0.1 (see region_ctl.py and the brief):
  GET /status /connections /calls?command=X&since=T
  POST /fault /call /nodes /nodes/reset /eventloops/remove
* faults (POST /fault, for new connections): wrong_secret, garbage (64
  random bytes, first key length > 255), oversized_key (key length 300),
  truncated (half an Authenticate box, then close), reject_register,
  silent_register; drop_all closes the current rack connections once;
  http_mode normal|html|badjson|wrongshape|huge (valid JSON padded to
  20 MiB)|slow (normal answer after 30 s)|503.

The rack refresh (maas-rack-refresh.md; contract FAKE_REGION_REFRESH_API.md):

* RequestRackRefresh(system_id) -> consumer_key (18 alnum), token_key (18),
  token_secret (32): per rack, created once, kept in DIR/tokens.json (so
  stable across calls and regions); unknown system_id -> UNHANDLED.
* POST /MAAS/metadata/2012-03-01/ (or /latest/; repeated slashes between
  the path components are tolerated, as Django's ^[/]* does) on the HTTP
  listener.  Answers 200 "OK", or the status with the cause as body:
  - 401: no/garbled Authorization, one of the six oauth_* parameters
    missing, oauth_version not 1.0, a method other than PLAINTEXT (the fake
    region does not check HMAC-SHA1), unknown token, consumer key not the
    token's, timestamp older than 300 s by the region's clock, nonce already
    used with that consumer/token (nonces are stored, in DIR/nonces.json,
    before the signature is checked, as piston does), signature not
    "&<token_secret>", or oauth_token not extractable by MAAS's whitespace
    split.  WWW-Authenticate: OAuth realm="OAuth".
  - 403: a valid token that is not a node's (POST /user-token makes one).
  - 400: a body that is not multipart/form-data or is malformed (parsed
    on bytes by refresh_codec.py, not by cgi/email: binary file parts are
    kept as they are), op not "signal" (query string or body), status missing or not a
    SIGNAL_STATUS, exit_status (or script_result/result) not an integer.
  Only parts with a filename are files (Django's request.FILES).  A file
  "50-maas-01-commissioning.out" with exit_status 0 (absent = 0) is checked
  like process_lxd_results/update_node_interfaces (3.2-3.4; the pure codecs
  are in refresh_codec.py); a bad one still
  gets 200 and its cause is recorded; a good one replaces the rack's stored
  interfaces in DIR/rack-interfaces.json: broadcast interfaces only (not the
  OpenBMC MAC nor IPoIB), global-scope addresses, mode from
  network-extra links (matched on the textual IP, default static), /32 and
  /128 widened by fix_link_addresses, interfaces missing from the report
  deleted; a physical MAC or an address reported by another rack is taken
  from that rack (MAAS's global uniqueness).  Every answer of the HTTP
  listener (discovery too) carries a Date from the region's (possibly
  skewed) clock.
* Control API additions:
  GET /refreshes[?system_id=X]: one entry per metadata POST received by
  this process, in order: {time, system_id, http_status (0 when fault down
  closed the connection), error, status, message, exit_status (null when
  absent), files, validation_error, processed} plus two extensions: notes
  (list of warnings, e.g. a commissioning part sent without filename, a
  part over 1 MiB) and peer (client IP).
  GET /rack-interfaces?system_id=X: {interfaces: {ifname: {type, mac,
  enabled, parents, vid, links: [{address: "ip/prefix", mode}]}}, updated}
  plus the extension known (the system_id is a registered rack).
  POST /fault {"metadata": normal|skew|500_once|401_always|500_always|down}
  (skew: the region's clock is one hour ahead while the mode is skew;
  500_once and 500_always answer after the OAuth check, so the nonce is
  spent; down closes the connection without an answer) and/or
  {"clock_skew": seconds} (added to the region's clock, permanently).
  POST /layer2 {"enabled": bool} (--layer2 at start): ListNodePowerParameters
  returns only nodes whose BMC IP (power_address: an IP, ip:port, [v6]:port
  or a URL) lies in its best subnet (the longest-prefix subnet, among every
  rack's stored subnets, containing it) on which the rack has an address of
  any mode; a rack without stored interfaces gets [].  Off: unchanged.
  POST /dhcp-config {"vlan_cidr", "primary", "secondary"|null, "family",
  "push"} -> {"ok", "configs": {system_id: ConfigureDHCPv4/6 arguments},
  "pushed": {system_id: {"ok", "error"}}}: the interface is the rack's best
  one (a static address in the CIDR first, else a dhcp one; bond >
  physical > VLAN), failover peers (name failover-vlan-<vlan_id>) from each
  rack's static address, ntp/dns servers default to the rack's own address
  (ntp plus the peer's).  Optional keys (extensions): vlan_id (5001), mtu
  (1500), pools (default: the upper half of the CIDR), router_ip (""),
  dns_servers, ntp_servers, domain_name ("maas"), search_list (["maas"]),
  hosts ([]), omapi_key, timeout (40 s per push).  400: bad request; 409: a
  rack has no address on the CIDR, or (with a secondary) no static one.
  With "push": true the arguments are also stored in DIR/dhcp.json (by
  hostname: re-sent when the rack registers again, like POST /dhcp) and
  sent to one connection of each rack; "ok" is false if a push failed.
  POST /boot-config {mac | "default": GetBootConfig answer fields, "_delay": s}:
  what GetBootConfig answers (fs_host/log_host default to local_ip); a MAC
  (or no MAC and no "default") not in it: BootConfigNoResponse.
  POST /user-token: credentials of a non-node token (extension).
  GET /MAAS/metadata/<v>/by-id/<sid>/?op=get_preseed (and enlist-preseed/
  ?op=get_enlist_preseed) on the HTTP listener: a two-line #cloud-config
  naming the node and the client (X-Forwarded-For first); GET /preseeds
  on the control API lists them (path, op, node, client, x_forwarded_for,
  host).
  GET /status also shows layer2 and region_time.

Boot images (maas-rack-boot.md §1.1-1.2): GetBootSources answers one source,
http://127.0.0.2:1/MAAS/images-stream/streams/v1/index.json (a region URL the rack
must replace by its own maas_url, as fix_sources_for_cluster does; nothing listens
there), with no selections; GetProxies answers no proxy; UpdateLastImageSync {}.
The stream itself (DB/stream.json, GET /MAAS/images-stream/..., POST /stream-fault,
GET /stream-stats) is in fake_stream.py.
"""
import argparse
import fcntl
import glob
import hashlib
import hmac
import ipaddress
import json
import os
import random
import re
import string
import sys
import time
import zlib
from urllib.parse import parse_qs, urlparse, ParseResult

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_stream  # noqa: E402 (after the path)
from refresh_codec import (  # noqa: E402 (after the path)
    COMMISSIONING, OAUTH_PARAMS, SIGNAL_STATUSES, BadDocument, bmc_ip,
    maas_token_of_header, parse_commissioning, parse_multipart, split_oauth_header)
from twisted.internet import defer, protocol, reactor
from twisted.protocols import amp
from twisted.python import failure, log
from twisted.web import http, resource, server

ARGS = None
FAULT_NAMES = ("mark_failed_violation", "wrong_secret", "garbage", "oversized_key", "truncated",
               "reject_register", "silent_register")
HTTP_MODES = ("normal", "html", "badjson", "wrongshape", "huge", "slow", "503")
FAULTS = {"http_mode": "normal", "metadata": "normal", "clock_skew": 0}
CONNS = []              # live Region protocols
LOOPS = {}              # AMP listening port -> event-loop name
CALLS = []              # in-memory copy of the record (used without --record)
EVENT_TYPES = {}        # name -> (description, level)
DHCP_PUSH = {}          # rack system_id -> state of this process's push
BOOT_SOURCE_URL = "http://127.0.0.2:1/MAAS/images-stream/streams/v1/index.json"


# --- helpers -------------------------------------------------------------------
def jsonable(v):
    """Turn decoded AMP values into JSON: bytes as hex, URLs/IPs as text."""
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, ParseResult):
        return v.geturl()
    if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address,
                      ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return str(v)
    if isinstance(v, dict):
        return {(k.decode() if isinstance(k, bytes) else str(k)): jsonable(x)
                for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def record(loop, peer, direction, command, args, result=None, error=None):
    entry = {"t": time.time(), "loop": loop, "peer": peer, "dir": direction,
             "command": command, "args": jsonable(args or {}),
             "result": jsonable(result), "error": error}
    CALLS.append(entry)
    if len(CALLS) > 100000:
        del CALLS[:50000]
    if ARGS.record:
        with open(ARGS.record, "a") as f:
            f.write(json.dumps(entry) + "\n")


def db_path(name):
    return os.path.join(ARGS.db, name)


class DBLock:
    """flock on DIR/<name>.lock: the region's database transaction."""

    def __init__(self, name):
        self.path = db_path(name + ".lock")

    def __enter__(self):
        self.f = open(self.path, "a")
        fcntl.flock(self.f, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.f.close()


def load_json(name, default):
    try:
        with open(db_path(name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def save_json(name, obj):
    path = db_path(name)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


def maas_uuid():
    with DBLock("uuid"):
        path = db_path("uuid")
        if not os.path.exists(path):
            with open(path + ".tmp", "w") as f:
                f.write("%s\n" % __import__("uuid").uuid4())
            os.rename(path + ".tmp", path)
        with open(path) as f:
            return f.read().strip()


def read_secret():
    with open(ARGS.secret_file) as f:
        return bytes.fromhex(f.read().strip())


def known_racks():
    return load_json("racks.json", {})


def digest(key, message, salt):
    return hmac.new(key, message + salt, hashlib.sha256).digest()


# --- MAAS argument types (spec 3.4, src/provisioningserver/rpc/arguments.py) -----
class Bytes(amp.Argument):
    """Raw bytes (keyring_data); text from the control API is UTF-8 encoded."""

    def toString(self, obj):
        return obj.encode() if isinstance(obj, str) else bytes(obj)

    def fromString(self, s):
        return s


class RawString(amp.String):
    """amp.String that also accepts text from the control API."""

    def toString(self, obj):
        return obj.encode() if isinstance(obj, str) else obj


class StructureAsJSON(amp.Argument):
    """zlib of ASCII-only JSON with separators ", " and ": "."""

    def toString(self, obj):
        text = json.dumps(obj, ensure_ascii=True, separators=(", ", ": "))
        return zlib.compress(text.encode("ascii"))

    def fromString(self, s):
        return json.loads(zlib.decompress(s).decode("ascii"))


class CompressedAmpList(amp.AmpList):
    """zlib of an AmpList byte string."""

    def toStringProto(self, inObject, proto):
        return zlib.compress(super().toStringProto(inObject, proto))

    def fromStringProto(self, inString, proto):
        return super().fromStringProto(zlib.decompress(inString), proto)


class ParsedURL(amp.Argument):
    """ASCII URL text <-> urllib ParseResult (text accepted when encoding)."""

    def toString(self, obj):
        if isinstance(obj, ParseResult):
            obj = obj.geturl()
        return obj.encode("ascii")

    def fromString(self, s):
        return urlparse(s.decode("ascii"))


class IPAddress(amp.Argument):
    """4 or 16 raw bytes, network order."""

    def toString(self, obj):
        if isinstance(obj, (bytes, bytearray)) and len(obj) in (4, 16):
            return bytes(obj)
        return ipaddress.ip_address(str(obj)).packed

    def fromString(self, s):
        if len(s) not in (4, 16):
            raise ValueError("IPAddress of %d bytes" % len(s))
        return ipaddress.ip_address(s)


class IPNetwork(amp.Argument):
    """Network address (host bits cleared) + 1 byte prefix length."""

    def toString(self, obj):
        net = ipaddress.ip_network(str(obj), strict=False)
        return net.network_address.packed + bytes([net.prefixlen])

    def fromString(self, s):
        addr = s[:4] if len(s) == 5 else s[:16]
        return ipaddress.ip_network("%s/%d" % (ipaddress.ip_address(addr), s[-1]),
                                    strict=False)


def U(optional=False):
    return amp.Unicode(optional=optional)


def I(optional=False):
    return amp.Integer(optional=optional)


def B(optional=False):
    return amp.Boolean(optional=optional)


def L(*subargs, optional=False):
    return amp.AmpList(list(subargs), optional=optional)


def CL(*subargs, optional=False):
    return CompressedAmpList(list(subargs), optional=optional)


# --- exceptions (MAAS error codes are the class names) --------------------------
class CannotRegisterRackController(Exception):
    pass


class NoSuchCluster(Exception):
    pass


class NoSuchNode(Exception):
    pass


class NoSuchEventType(Exception):
    pass


class NodeStateViolation(Exception):
    pass


class NoSuchScope(Exception):
    pass


class UnknownPowerType(Exception):
    pass


class PowerActionFail(Exception):
    pass


class PowerActionAlreadyInProgress(Exception):
    pass


class CannotConfigureDHCP(Exception):
    pass


class NoSuchOperatingSystem(Exception):
    pass


class ScanNetworksAlreadyInProgress(Exception):
    pass


class CannotDisableAndShutoffRackd(Exception):
    pass


def errs(*classes):
    return {c: c.__name__.encode() for c in classes}


# --- common commands (src/provisioningserver/rpc/common.py) ----------------------
class Authenticate(amp.Command):
    arguments = [(b"message", RawString())]
    response = [(b"digest", amp.String()), (b"salt", amp.String())]


class Identify(amp.Command):
    response = [(b"ident", U())]


class Ping(amp.Command):
    pass


# --- rack -> region (src/provisioningserver/rpc/region.py) -----------------------
class RegisterRackController(amp.Command):
    arguments = [(b"system_id", U(True)), (b"hostname", U()),
                 (b"interfaces", StructureAsJSON()), (b"url", ParsedURL(optional=True)),
                 (b"nodegroup_uuid", U(True)), (b"beacon_support", B(True)),
                 (b"version", U(True))]
    response = [(b"system_id", U()), (b"beacon_support", B(True)),
                (b"version", U(True)), (b"uuid", U(True))]
    errors = errs(CannotRegisterRackController)


class UpdateServices(amp.Command):
    arguments = [(b"system_id", U()),
                 (b"services", L((b"name", U()), (b"status", U()), (b"status_info", U())))]
    errors = errs(NoSuchCluster)


LEASE_FIELDS = [(b"action", U()), (b"mac", U()), (b"ip_family", U()), (b"ip", U()),
                (b"timestamp", I()), (b"lease_time", I(True)), (b"hostname", U(True))]


class UpdateLeases(amp.Command):
    arguments = [(b"cluster_uuid", U()), (b"updates", L(*LEASE_FIELDS))]
    errors = errs(NoSuchCluster)


class UpdateLease(amp.Command):
    arguments = [(b"cluster_uuid", U())] + LEASE_FIELDS
    errors = errs(NoSuchCluster)


class UpdateNodePowerState(amp.Command):
    arguments = [(b"system_id", U()), (b"power_state", U())]
    errors = errs(NoSuchNode)


class RegisterEventType(amp.Command):
    arguments = [(b"name", U()), (b"description", U()), (b"level", I())]


class SendEvent(amp.Command):
    arguments = [(b"system_id", U()), (b"type_name", U()), (b"description", U())]
    errors = errs(NoSuchNode, NoSuchEventType)


class SendEventMACAddress(amp.Command):
    arguments = [(b"mac_address", U()), (b"type_name", U()), (b"description", U())]
    errors = errs(NoSuchNode, NoSuchEventType)


class SendEventIPAddress(amp.Command):
    arguments = [(b"ip_address", U()), (b"type_name", U()), (b"description", U())]
    errors = errs(NoSuchNode, NoSuchEventType)


class MarkNodeFailed(amp.Command):
    arguments = [(b"system_id", U()), (b"error_description", U())]
    errors = errs(NodeStateViolation, NoSuchNode)


class ListNodePowerParameters(amp.Command):
    arguments = [(b"uuid", U())]
    response = [(b"nodes", L((b"system_id", U()), (b"hostname", U()),
                             (b"power_state", U()), (b"power_type", U()),
                             (b"context", StructureAsJSON())))]
    errors = errs(NoSuchCluster)


class ReportForeignDHCPServer(amp.Command):
    arguments = [(b"system_id", U()), (b"interface_name", U()), (b"dhcp_ip", U(True))]


class UpdateControllerState(amp.Command):
    arguments = [(b"system_id", U()), (b"scope", U()), (b"state", StructureAsJSON())]
    errors = errs(NoSuchNode, NoSuchScope)


class GetControllerType(amp.Command):
    arguments = [(b"system_id", U())]
    response = [(b"is_region", B()), (b"is_rack", B())]
    errors = errs(NoSuchNode)


class GetTimeConfiguration(amp.Command):
    arguments = [(b"system_id", U())]
    response = [(b"servers", amp.ListOf(U())), (b"peers", amp.ListOf(U()))]
    errors = errs(NoSuchNode)


class GetBootSources(amp.Command):
    """MAAS 3.4 region.py; the region answers get_simplestream_endpoint()."""
    arguments = [(b"uuid", U())]
    response = [(b"sources", L((b"url", U()), (b"keyring_data", Bytes()),
                               (b"selections", L((b"os", U()), (b"release", U()),
                                                 (b"arches", amp.ListOf(U())),
                                                 (b"subarches", amp.ListOf(U())),
                                                 (b"labels", amp.ListOf(U()))))))]
    errors = {}


class GetProxies(amp.Command):
    arguments = []
    response = [(b"http", ParsedURL(optional=True)), (b"https", ParsedURL(optional=True))]
    errors = {}


class UpdateLastImageSync(amp.Command):
    arguments = [(b"system_id", U())]
    response = []
    errors = {}


class RequestRackRefresh(amp.Command):
    """MAAS 3.4 region.py: the rack's OAuth credentials for its refresh."""
    arguments = [(b"system_id", U())]
    response = [(b"consumer_key", U()), (b"token_key", U()), (b"token_secret", U())]
    errors = {}


class BootConfigNoResponse(Exception):
    pass


class GetBootConfig(amp.Command):
    """MAAS 3.4 region.py GetBootConfig (spec maas-rack-boot.md §2.3)."""
    arguments = [(b"system_id", U()), (b"local_ip", U()), (b"remote_ip", U()),
                 (b"arch", U(True)), (b"subarch", U(True)), (b"mac", U(True)),
                 (b"hardware_uuid", U(True)), (b"bios_boot_method", U(True))]
    response = [(b"arch", U()), (b"subarch", U()), (b"osystem", U()),
                (b"release", U()), (b"kernel", U(True)), (b"initrd", U(True)),
                (b"boot_dtb", U(True)), (b"purpose", U()), (b"hostname", U()),
                (b"domain", U()), (b"preseed_url", U()), (b"fs_host", U()),
                (b"log_host", U()), (b"log_port", I(True)), (b"extra_opts", U()),
                (b"system_id", U(True)), (b"http_boot", B(True)),
                (b"ephemeral_opts", U(True))]
    errors = errs(BootConfigNoResponse)


REGION_COMMANDS = {c.__name__: c for c in [
    Authenticate, Identify, Ping, RegisterRackController, UpdateServices,
    UpdateLeases, UpdateLease, UpdateNodePowerState, RegisterEventType,
    SendEvent, SendEventMACAddress, SendEventIPAddress, MarkNodeFailed,
    ListNodePowerParameters, ReportForeignDHCPServer, UpdateControllerState,
    GetControllerType, GetTimeConfiguration, RequestRackRefresh,
    GetBootConfig]}


# --- region -> rack (src/provisioningserver/rpc/cluster.py) ----------------------
POWER_ARGS = [(b"system_id", U()), (b"hostname", U()), (b"power_type", U()),
              (b"context", StructureAsJSON())]
POWER_ERRORS = errs(UnknownPowerType, NotImplementedError, PowerActionFail,
                    PowerActionAlreadyInProgress)


class PowerOn(amp.Command):
    arguments = POWER_ARGS
    errors = POWER_ERRORS


class PowerOff(amp.Command):
    arguments = POWER_ARGS
    errors = POWER_ERRORS


class PowerCycle(amp.Command):
    arguments = POWER_ARGS
    errors = POWER_ERRORS


class PowerQuery(amp.Command):
    arguments = POWER_ARGS
    response = [(b"state", U()), (b"error_msg", U(True))]
    errors = POWER_ERRORS


class PowerDriverCheck(amp.Command):
    arguments = [(b"power_type", U())]
    response = [(b"missing_packages", amp.ListOf(U()))]
    errors = errs(UnknownPowerType, NotImplementedError)


class SetBootOrder(amp.Command):
    arguments = POWER_ARGS + [(b"order", L(
        (b"id", I()), (b"name", U()), (b"mac_address", U(True)), (b"vendor", U(True)),
        (b"product", U(True)), (b"id_path", U(True)), (b"model", U(True)),
        (b"serial", U(True))))]
    errors = POWER_ERRORS


class DescribePowerTypes(amp.Command):
    response = [(b"power_types", StructureAsJSON())]


SNIPPET = [(b"name", U()), (b"description", U(True)), (b"value", U())]
POOL = [(b"ip_range_low", U()), (b"ip_range_high", U()), (b"failover_peer", U(True)),
        (b"dhcp_snippets", L(*SNIPPET, optional=True))]
SUBNET = [(b"subnet", U()), (b"subnet_mask", U()), (b"subnet_cidr", U()),
          (b"broadcast_ip", U()), (b"router_ip", U()),
          (b"dns_servers", amp.ListOf(IPAddress())), (b"ntp_servers", amp.ListOf(U())),
          (b"domain_name", U()), (b"search_list", amp.ListOf(U(), optional=True)),
          (b"pools", L(*POOL)), (b"dhcp_snippets", L(*SNIPPET, optional=True)),
          (b"disabled_boot_architectures", amp.ListOf(U()))]
SHARED_NETWORK = [(b"name", U()), (b"subnets", L(*SUBNET)), (b"mtu", I(True)),
                  (b"interface", U(True))]
HOST = [(b"host", U()), (b"mac", U()), (b"ip", U()),
        (b"dhcp_snippets", L(*SNIPPET, optional=True))]
DHCP_ARGS = [(b"omapi_key", U()),
             (b"failover_peers", L((b"name", U()), (b"mode", U()), (b"address", U()),
                                   (b"peer_address", U()))),
             (b"shared_networks", CL(*SHARED_NETWORK)),
             (b"hosts", CL(*HOST)),
             (b"interfaces", L((b"name", U()))),
             (b"global_dhcp_snippets", CL(*SNIPPET, optional=True))]
DHCP_VALIDATE_RESPONSE = [(b"errors", CL((b"error", U()), (b"line_num", I()),
                                         (b"line", U()), (b"position", U()),
                                         optional=True))]
# What a 3.4 region pushes to a rack that manages no VLAN (spec 3.7(i)).
EMPTY_DHCP = {"omapi_key": "SGVsbG8=", "failover_peers": [], "shared_networks": [],
              "hosts": [], "interfaces": [], "global_dhcp_snippets": []}


class ConfigureDHCPv4(amp.Command):
    arguments = DHCP_ARGS
    errors = errs(CannotConfigureDHCP)


class ConfigureDHCPv6(amp.Command):
    arguments = DHCP_ARGS
    errors = errs(CannotConfigureDHCP)


class ValidateDHCPv4Config(amp.Command):
    arguments = DHCP_ARGS
    response = DHCP_VALIDATE_RESPONSE
    errors = errs(CannotConfigureDHCP)


class ValidateDHCPv6Config(amp.Command):
    arguments = DHCP_ARGS
    response = DHCP_VALIDATE_RESPONSE
    errors = errs(CannotConfigureDHCP)


class ListBootImages(amp.Command):
    response = [(b"images", CL(*[(n, U()) for n in (
        b"osystem", b"architecture", b"subarchitecture", b"release", b"label",
        b"purpose", b"xinstall_type", b"xinstall_path")]))]


class IsImportBootImagesRunning(amp.Command):
    response = [(b"running", B())]


class ImportBootImages(amp.Command):
    arguments = [(b"sources", L((b"url", U()), (b"keyring_data", Bytes()),
                                (b"selections", L((b"os", U()), (b"release", U()),
                                                  (b"arches", amp.ListOf(U())),
                                                  (b"subarches", amp.ListOf(U())),
                                                  (b"labels", amp.ListOf(U())))))),
                 (b"http_proxy", ParsedURL(optional=True)),
                 (b"https_proxy", ParsedURL(optional=True))]


class GetPreseedData(amp.Command):
    arguments = [(n, U()) for n in (b"osystem", b"preseed_type", b"node_system_id",
                                    b"node_hostname", b"consumer_key", b"token_key",
                                    b"token_secret")] + [(b"metadata_url", ParsedURL())]
    response = [(b"data", StructureAsJSON())]
    errors = errs(NoSuchOperatingSystem, NotImplementedError)


class DisableAndShutoffRackd(amp.Command):
    errors = errs(CannotDisableAndShutoffRackd)


class CheckIPs(amp.Command):
    arguments = [(b"ip_addresses", L((b"ip_address", U()), (b"interface", U(True))))]
    response = [(b"ip_addresses", L((b"ip_address", U()), (b"interface", U(True)),
                                    (b"used", B()), (b"mac_address", U(True))))]


class ScanNetworks(amp.Command):
    arguments = [(b"scan_all", B(True)), (b"force_ping", B(True)), (b"slow", B(True)),
                 (b"threads", I(True)), (b"cidrs", amp.ListOf(IPNetwork(), optional=True)),
                 (b"interface", U(True))]
    errors = errs(ScanNetworksAlreadyInProgress)


RACK_COMMANDS = {c.__name__: c for c in [
    Authenticate, Identify, Ping, PowerOn, PowerOff, PowerCycle, PowerQuery,
    PowerDriverCheck, SetBootOrder, DescribePowerTypes, ConfigureDHCPv4,
    ConfigureDHCPv6, ValidateDHCPv4Config, ValidateDHCPv6Config, ListBootImages,
    IsImportBootImagesRunning, GetPreseedData, DisableAndShutoffRackd, CheckIPs,
    ImportBootImages, ScanNetworks]}


def raw_box(args):
    """Control-API arguments for a raw command: every value as bytes."""
    box = amp.AmpBox()
    for k, v in (args or {}).items():
        if isinstance(v, bool):
            v = b"True" if v else b"False"
        elif isinstance(v, int):
            v = b"%d" % v
        elif isinstance(v, str):
            v = v.encode()
        else:
            v = json.dumps(v).encode()
        box[k.encode()] = v
    return box


def raw_unbox(box):
    out = {}
    for k, v in box.items():
        if k in (amp.ANSWER, amp.ERROR):
            continue
        try:
            out[k.decode()] = v.decode()
        except UnicodeDecodeError:
            out[k.decode("latin-1")] = v.hex()
    return out


def error_of(f, loop, name, ask):
    """(code, description) of a failure, MAAS-style for unexpected ones."""
    if f.check(amp.UnhandledCommand):     # PROTOCOL_ERRORS: (code, description)
        a = f.value.args
        desc = a[1] if len(a) > 1 else str(f.value)
        return "UNHANDLED", desc.decode("utf-8", "replace") if isinstance(desc, bytes) else desc
    if f.check(amp.RemoteAmpError):
        code, desc = f.value.errorCode, f.value.description
        if isinstance(code, bytes):
            code = code.decode("ascii", "replace")
        if isinstance(desc, bytes):
            desc = desc.decode("utf-8", "replace")
        return code, desc
    return "UNHANDLED", "Unknown Error [%s:cmd=%s:ask=%s]" % (loop, name, ask)


# --- the region's AMP protocol ------------------------------------------------------
SERVICE_STATUSES = ("unknown", "running", "degraded", "dead", "off")
RACK_SERVICES = ("tftp", "http", "dhcpd", "dhcpd6", "ntp_rack", "dns_rack",
                 "proxy_rack", "syslog_rack")
VERSION_RE = re.compile(r"^(\d+:)?\d+\.\d+\.\d+")


class Region(amp.AMP):
    """One rack connection on one event loop."""

    def connectionMade(self):
        self.loop = LOOPS.get(self.transport.getHost().port, "?")
        p = self.transport.getPeer()
        self.peer = "%s:%d" % (p.host, p.port)
        self.rack_authenticated = False
        self.region_authenticated = False
        self.registered = False
        self.system_id = None
        self.hostname = None
        self.closing = False
        self.pending = []       # deferreds of silent_register
        self.fault_mode = False  # a broken region: ignore what the rack says
        key = read_secret()
        if FAULTS.get("wrong_secret"):
            key = hashlib.sha256(b"wrong" + key).digest()[:len(key) or 16]
        self.key = key
        CONNS.append(self)
        log.msg("%s: connection from %s" % (self.loop, self.peer))
        if FAULTS.get("garbage"):
            junk = bytearray(os.urandom(64))
            junk[0] = junk[0] | 0x01   # first key length >= 256: never a valid box
            log.msg("%s: fault garbage: sending 64 random bytes to %s" % (self.loop, self.peer))
            self.transport.write(bytes(junk))
            self.fault_mode = True
            return
        if FAULTS.get("oversized_key"):
            log.msg("%s: fault oversized_key to %s" % (self.loop, self.peer))
            self.transport.write(b"\x01\x2c" + b"k" * 300 + b"\x00\x01x\x00\x00")
            self.fault_mode = True
            return
        if FAULTS.get("truncated"):
            whole = amp.AmpBox({b"_command": b"Authenticate", b"_ask": b"1",
                                b"message": os.urandom(16)}).serialize()
            log.msg("%s: fault truncated to %s" % (self.loop, self.peer))
            self.transport.write(whole[:len(whole) // 2])
            reactor.callLater(0.2, self.transport.loseConnection)
            self.fault_mode = True
            return
        super().connectionMade()
        self.authenticate_rack()

    def dataReceived(self, data):
        if self.fault_mode:
            return
        super().dataReceived(data)

    def connectionLost(self, reason):
        if self in CONNS:
            CONNS.remove(self)
        log.msg("%s: connection from %s lost (%s)" % (
            self.loop, self.peer, reason.getErrorMessage()))
        if self.system_id and not any(c.registered and c.system_id == self.system_id
                                      for c in CONNS):
            DHCP_PUSH.pop(self.system_id, None)
        super().connectionLost(reason)

    def drop(self):
        self.closing = True
        self.transport.loseConnection()

    # -- handshake: the region verifies the rack --------------------------------
    @defer.inlineCallbacks
    def authenticate_rack(self):
        message = os.urandom(16)
        try:
            r = yield self.call(Authenticate, {"message": message}, record_it=False)
        except Exception as e:  # noqa: BLE001 (any failure drops the rack)
            record(self.loop, self.peer, "out", "Authenticate", {"message": message},
                   None, {"code": getattr(e, "error_code", type(e).__name__),
                          "description": str(e)})
            log.msg("Rack controller '%s' could not be authenticated (%s); dropping "
                    "connection. Check that /var/lib/maas/secret on the rack matches "
                    "the region's secret." % (self.peer, e))
            self.drop()
            return
        ok = digest(self.key, message, r["salt"]) == r["digest"]
        record(self.loop, self.peer, "out", "Authenticate", {"message": message},
               dict(r, verified=ok))
        if not ok:
            log.msg("%s: Rack controller FAILED authentication from '%s'; dropping "
                    "connection." % (self.loop, self.peer))
            self.drop()
            return
        log.msg("%s: rack controller authenticated from '%s'" % (self.loop, self.peer))
        self.rack_authenticated = True

    # -- dispatch: recording, gating, MAAS error conversion ----------------------
    def dispatchCommand(self, box):
        name = box[amp.COMMAND].decode("ascii", "replace")
        ask = box.get(amp.ASK, b"").decode("ascii", "replace")
        if ARGS.gating and name != "Authenticate" and not self.rack_authenticated:
            return self.gated(box, name, ask)
        return self.dispatch(box, name, ask)

    @defer.inlineCallbacks
    def gated(self, box, name, ask):
        """SecuredRPCProtocol (3.4.4+): wait for our check of the rack."""
        for delay in (0, 0.5, 1.0, 2.0, 4.0):
            if delay:
                d = defer.Deferred()
                reactor.callLater(delay, d.callback, None)
                yield d
            if self.rack_authenticated:
                result = yield self.dispatch(box, name, ask)
                return result
        desc = "The command %s requires an authenticated connection" % name
        log.msg("%s: %s (from %s)" % (self.loop, desc, self.peer))
        record(self.loop, self.peer, "in", name, self.decode_args(box, name), None,
               {"code": "_error", "description": desc})
        raise amp.RemoteAmpError(b"_error", desc)

    def decode_args(self, box, name):
        cmd = REGION_COMMANDS.get(name)
        try:
            if cmd is None:
                raise KeyError(name)
            return cmd.parseArguments(box, self)
        except Exception:  # noqa: BLE001 (undecodable: record raw)
            return {"_raw": raw_unbox({k: v for k, v in box.items()
                                       if k not in (amp.ASK, amp.COMMAND)})}

    def dispatch(self, box, name, ask):
        args = self.decode_args(box, name)
        d = super().dispatchCommand(box)
        cmd = REGION_COMMANDS.get(name)

        def ok(answer):
            try:
                result = cmd.parseResponse(answer, self) if cmd else raw_unbox(answer)
            except Exception:  # noqa: BLE001
                result = raw_unbox(answer)
            if name != "RegisterRackController":
                log.msg("%s: %s from %s answered" % (self.loop, name, self.peer))
            record(self.loop, self.peer, "in", name, args, result)
            return answer

        def bad(f):
            code, desc = error_of(f, self.loop, name, ask)
            if not f.check(amp.RemoteAmpError):
                log.msg("%s: %s from %s failed: %s" % (self.loop, name, self.peer,
                                                       f.getErrorMessage()))
                f = failure.Failure(amp.RemoteAmpError(code.encode(), desc))
            else:
                log.msg("%s: %s from %s: error %s: %s" % (self.loop, name, self.peer,
                                                         code, desc))
            record(self.loop, self.peer, "in", name, args, None,
                   {"code": code, "description": desc})
            return f
        return d.addCallbacks(ok, bad)

    # -- outgoing calls --------------------------------------------------------
    def call(self, cmd, args, record_it=True, timeout=None, raw_name=None):
        """Call CMD (or the raw command RAW_NAME) on the rack; Deferred of the
        decoded answer; failures carry .error_code and .description."""
        name = raw_name or cmd.__name__
        try:
            box = raw_box(args) if raw_name else cmd.makeArguments(args, self)
        except Exception as e:  # noqa: BLE001
            e.error_code, e.description = "BadArguments", "%s: %s" % (type(e).__name__, e)
            return defer.fail(e)
        d = self._sendBoxCommand(name.encode(), box)
        if timeout:
            d.addTimeout(timeout, reactor)

        def ok(answer):
            result = raw_unbox(answer) if raw_name else cmd.parseResponse(answer, self)
            if record_it:
                record(self.loop, self.peer, "out", name, args, result)
            return result

        def bad(f):
            if f.check(amp.RemoteAmpError, amp.UnhandledCommand):
                code, desc = error_of(f, self.loop, name, "")
            elif f.check(defer.TimeoutError, defer.CancelledError):
                code, desc = "Timeout", "no answer within %s s" % timeout
            else:
                code, desc = type(f.value).__name__, f.getErrorMessage()
            if record_it:
                record(self.loop, self.peer, "out", name, args, None,
                       {"code": code, "description": desc})
            e = RuntimeError("%s: %s" % (code, desc))
            e.error_code, e.description = code, desc
            return failure.Failure(e)
        return d.addCallbacks(ok, bad)

    # -- responders -------------------------------------------------------------
    @Authenticate.responder
    def authenticate(self, message):
        salt = os.urandom(16)
        self.region_authenticated = True
        log.msg("%s: answering Authenticate from %s" % (self.loop, self.peer))
        return {"digest": digest(self.key, message, salt), "salt": salt}

    @Identify.responder
    def identify(self):
        return {"ident": self.loop}

    @Ping.responder
    def ping(self):
        return {}

    @RegisterRackController.responder
    def register(self, hostname, interfaces, system_id=None, url=None,
                 nodegroup_uuid=None, beacon_support=None, version=None):
        if FAULTS.get("silent_register"):
            log.msg("%s: fault silent_register: not answering %s" % (self.loop, self.peer))
            record(self.loop, self.peer, "in", "RegisterRackController", {
                "system_id": system_id, "hostname": hostname, "interfaces": interfaces,
                "url": url, "nodegroup_uuid": nodegroup_uuid,
                "beacon_support": beacon_support, "version": version}, None,
                {"code": "NoAnswer", "description": "silent_register: never answered"})
            d = defer.Deferred()
            self.pending.append(d)
            return d
        if FAULTS.get("reject_register"):
            raise CannotRegisterRackController("Failed to register rack controller "
                                               "(rejected by fake region).")
        if version is not None and not VERSION_RE.match(version):
            raise CannotRegisterRackController(
                "Failed to register rack controller: invalid version %r." % version)
        short = hostname.split(".", 1)[0]
        with DBLock("racks"):
            racks = known_racks()
            sid = None
            if system_id and system_id in racks.values():
                sid = system_id
                for h in [h for h, s in racks.items() if s == sid]:
                    del racks[h]
            elif hostname in racks:
                sid = racks.pop(hostname)
            else:
                for h in list(racks):
                    if h.split(".", 1)[0] == short:
                        sid = racks.pop(h)
                        break
            if sid is None:
                chars = string.ascii_lowercase + string.digits
                while sid is None or sid in racks.values():
                    sid = "".join(random.choice(chars) for _ in range(6))
                log.msg("%s: new rack controller %s (%s)" % (self.loop, hostname, sid))
            racks[hostname] = sid
            save_json("racks.json", racks)
        self.system_id, self.hostname, self.registered = sid, hostname, True
        answer = {"system_id": sid}
        uuid = maas_uuid()
        if uuid:
            answer["uuid"] = uuid
        if beacon_support:
            answer["beacon_support"] = True
        if version is not None:
            answer["version"] = ARGS.version
        else:
            log.msg("%s: rack %s is running 2.2 or below (no version)" % (self.loop, hostname))
        log.msg("%s: registered rack controller %s as %s via %s" % (
            self.loop, hostname, sid, self.peer))
        if not ARGS.no_push_dhcp and sid not in DHCP_PUSH:
            DHCP_PUSH[sid] = "queued"
            reactor.callLater(0, push_dhcp, sid)
        return answer

    def known_rack(self, system_id):
        if system_id not in known_racks().values():
            raise NoSuchCluster("Rack controller with system_id %r not found." % system_id)

    @UpdateServices.responder
    def update_services(self, system_id, services):
        self.known_rack(system_id)
        for s in services:
            if s["name"] == "rackd":
                raise ValueError("rackd status is computed by the region")
            if s["status"] not in SERVICE_STATUSES:
                raise ValueError("Value %r is not a valid choice." % s["status"])
            if len(s["status_info"]) > 255:
                raise ValueError("status_info has at most 255 characters (it has %d)."
                                 % len(s["status_info"]))
        for s in services:
            if s["name"] not in RACK_SERVICES:
                log.msg("%s: rack %s reported unknown service %r (ignored)" % (
                    self.loop, system_id, s["name"]))
        return {}

    @UpdateLeases.responder
    def update_leases(self, cluster_uuid, updates):
        return {}

    @UpdateLease.responder
    def update_lease(self, cluster_uuid, action, mac, ip_family, ip, timestamp,
                     lease_time=None, hostname=None):
        return {}

    @UpdateNodePowerState.responder
    def update_node_power_state(self, system_id, power_state):
        if power_state not in ("on", "off", "unknown", "error"):
            raise ValueError("invalid power state %r" % power_state)
        return {}

    @RegisterEventType.responder
    def register_event_type(self, name, description, level):
        EVENT_TYPES.setdefault(name, (description, level))
        return {}

    @SendEvent.responder
    def send_event(self, system_id, type_name, description):
        if type_name not in EVENT_TYPES:
            log.msg("%s: event of unregistered type %r dropped" % (self.loop, type_name))
        return {}

    @SendEventMACAddress.responder
    def send_event_mac(self, mac_address, type_name, description):
        return self.send_event(mac_address, type_name, description)

    @SendEventIPAddress.responder
    def send_event_ip(self, ip_address, type_name, description):
        return self.send_event(ip_address, type_name, description)

    @MarkNodeFailed.responder
    def mark_node_failed(self, system_id, error_description):
        # A READY or DEPLOYED node has no failed status (node.py mark_failed).
        if FAULTS.get("mark_failed_violation"):
            raise NodeStateViolation(
                "Invalid transition: Ready -> Failed (%s)." % system_id)
        return {}

    @ListNodePowerParameters.responder
    def list_node_power_parameters(self, uuid):
        self.known_rack(uuid)
        return {"nodes": take_power_nodes(uuid if LAYER2[0] else None)}

    @RequestRackRefresh.responder
    def request_rack_refresh(self, system_id):
        # RackController.objects.get(): an unknown id is an undeclared
        # DoesNotExist, which reaches the rack as UNHANDLED.
        if system_id not in known_racks().values():
            raise LookupError("RackController matching query does not exist (%r)."
                              % system_id)
        creds = rack_credentials(system_id)
        log.msg("%s: RequestRackRefresh from %s (%s): starting refresh" % (
            self.loop, system_id, self.peer))
        return dict(creds)

    @GetBootSources.responder
    def get_boot_sources(self, uuid):
        # The region's own maas_url, which the rack must replace by its own
        # working one (fix_sources_for_cluster): a loopback address nothing
        # listens on, so a rack that does not swap it fails visibly.
        return {"sources": [{"url": BOOT_SOURCE_URL, "keyring_data": b"",
                             "selections": []}]}

    @GetProxies.responder
    def get_proxies(self):
        return {}

    @UpdateLastImageSync.responder
    def update_last_image_sync(self, system_id):
        return {}

    @ReportForeignDHCPServer.responder
    def report_foreign_dhcp(self, system_id, interface_name, dhcp_ip=None):
        return {}

    @UpdateControllerState.responder
    def update_controller_state(self, system_id, scope, state):
        if system_id not in known_racks().values():
            raise NoSuchNode("Node %r not found." % system_id)
        if scope != "versions":
            raise NoSuchScope("No such scope: %r" % scope)
        check_versions_state(state)
        return {}

    @GetControllerType.responder
    def get_controller_type(self, system_id):
        if system_id not in known_racks().values():
            raise NoSuchNode("Node %r not found." % system_id)
        return {"is_region": False, "is_rack": True}

    @GetBootConfig.responder
    def get_boot_config(self, system_id, local_ip, remote_ip, arch=None,
                        subarch=None, mac=None, hardware_uuid=None,
                        bios_boot_method=None):
        # POST /boot-config {mac|"default": answer}: the answer for a MAC,
        # else "default" when no MAC was sent; none: BootConfigNoResponse
        # (get_config: a mac given, no machine, no arch).  "_delay" (s)
        # holds the answer back, as a busy region does.
        if system_id not in known_racks().values():
            raise LookupError("RackController matching query does not exist "
                              "(%r)." % system_id)
        with DBLock("boot-config"):
            table = load_json("boot-config.json", {})
        ans = table.get(mac) if mac else table.get("default")
        if ans is None:
            raise BootConfigNoResponse()
        ans = dict(ans)
        delay = float(ans.pop("_delay", 0))
        for k in ("fs_host", "log_host"):
            ans.setdefault(k, local_ip)
        if delay <= 0:
            return ans
        d = defer.Deferred()
        reactor.callLater(delay, d.callback, ans)
        return d

    @GetTimeConfiguration.responder
    def get_time_configuration(self, system_id):
        if system_id not in known_racks().values():
            raise NoSuchNode("Node %r not found." % system_id)
        return {"servers": [ARGS.amp_host], "peers": []}


def check_versions_state(state):
    """Like update_state: unknown fields inside deb/snap make it fail."""
    allowed = {"deb": {"current": {"version", "origin"}, "update": {"version", "origin"}},
               "snap": {"current": {"revision", "version"},
                        "channel": {"track", "risk", "branch"},
                        "update": {"revision", "version"}, "cohort": None}}
    if not isinstance(state, dict):
        raise ValueError("state must be an object")
    for kind, fields in allowed.items():
        if kind not in state:
            continue
        info = state[kind]
        if not isinstance(info, dict):
            raise ValueError("%s must be an object" % kind)
        for k, v in info.items():
            if k not in fields:
                raise TypeError("unexpected field %r in %s state" % (k, kind))
            sub = fields[k]
            if sub is not None and v is not None:
                if not isinstance(v, dict) or set(v) - sub:
                    raise TypeError("bad %s.%s: %r" % (kind, k, v))


def take_power_nodes(layer2_rack=None):
    """list_cluster_nodes_power_parameters: <= 10 nodes, <= ~60 KiB, each
    node not handed out again for 5 minutes (marks shared through DIR).
    With LAYER2_RACK (a system_id), only the nodes whose BMC is on a subnet
    where that rack has an address (get_bmc_accessible_nodes)."""
    now = time.time()
    with DBLock("nodes"):
        db = load_json("nodes.json", {"nodes": [], "marks": {}})
        marks = db.setdefault("marks", {})
        nodes = db.get("nodes", [])
        if layer2_rack is not None:
            nodes = layer2_nodes(layer2_rack, nodes)
        due = [n for n in nodes
               if now - marks.get(n["system_id"], 0) >= 300]
        due.sort(key=lambda n: marks.get(n["system_id"], 0))
        out, size = [], 0
        for n in due[:10]:
            size += len(json.dumps(n))
            if out and size > 60 * 1024:
                break
            out.append(n)
            marks[n["system_id"]] = now
        save_json("nodes.json", db)
    return [{"system_id": n["system_id"], "hostname": n.get("hostname", ""),
             "power_state": n.get("power_state", "unknown"),
             "power_type": n.get("power_type", "manual"),
             "context": n.get("context", {})} for n in out]


@defer.inlineCallbacks
def push_dhcp(sid):
    """RackControllerService.processDHCP: ConfigureDHCPv4 then v6; while
    either fails, push again after --dhcp-retry seconds."""
    while DHCP_PUSH.get(sid):
        conns = [c for c in CONNS if c.registered and c.system_id == sid]
        if not conns:
            DHCP_PUSH.pop(sid, None)
            return
        conn = random.choice(conns)
        DHCP_PUSH[sid] = "pushing"
        failed = False
        hostname = conn.hostname or ""
        cfgs = load_json("dhcp.json", {}).get(hostname, {})
        for cmd, fam in ((ConfigureDHCPv4, "v4"), (ConfigureDHCPv6, "v6")):
            try:
                yield conn.call(cmd, dict(cfgs.get(fam) or EMPTY_DHCP), timeout=35)
                log.msg("%s: %s to %s (%s): ok" % (conn.loop, cmd.__name__, sid, conn.peer))
            except Exception as e:  # noqa: BLE001
                failed = True
                log.msg("%s: %s to %s (%s) failed: %s" % (conn.loop, cmd.__name__, sid,
                                                        conn.peer, e))
        if not failed:
            DHCP_PUSH[sid] = "done"
            return
        if ARGS.dhcp_retry <= 0:
            DHCP_PUSH[sid] = "failed"
            return
        d = defer.Deferred()
        reactor.callLater(ARGS.dhcp_retry, d.callback, None)
        yield d


# --- refresh: credentials (RequestRackRefresh) -----------------------------------
LAYER2 = [False]        # ListNodePowerParameters filtered by layer 2 (--layer2, POST /layer2)
REFRESHES = []          # one entry per metadata POST this process received
METADATA_MODES = ("normal", "skew", "500_once", "401_always", "500_always", "down")
ALNUM = string.ascii_letters + string.digits
TIMESTAMP_THRESHOLD = 300
METADATA_PATH = re.compile(r"^/+MAAS/+metadata/+([^/]+)/+$")


def region_now():
    """The region's clock: skewed by clock_skew, plus one hour in mode skew."""
    return (time.time() + float(FAULTS.get("clock_skew", 0)) +
            (3600 if FAULTS.get("metadata") == "skew" else 0))


def random_alnum(n):
    rnd = random.SystemRandom()
    return "".join(rnd.choice(ALNUM) for _ in range(n))


def rack_credentials(sid):
    """NodeKey.get_token_for_node: the rack's token, created once, stable."""
    with DBLock("tokens"):
        db = load_json("tokens.json", {"racks": {}, "users": {}})
        creds = db["racks"].get(sid)
        if creds is None:
            creds = {"consumer_key": random_alnum(18), "token_key": random_alnum(18),
                     "token_secret": random_alnum(32)}
            db["racks"][sid] = creds
            save_json("tokens.json", db)
        return creds


def user_credentials():
    """A token that is not a node key (a user's API key): the metadata API
    authenticates it and then refuses it with 403."""
    with DBLock("tokens"):
        db = load_json("tokens.json", {"racks": {}, "users": {}})
        creds = {"consumer_key": random_alnum(18), "token_key": random_alnum(18),
                 "token_secret": random_alnum(32)}
        db["users"][creds["token_key"]] = creds
        save_json("tokens.json", db)
        return creds


def find_token(token_key):
    """(system_id or None for a user token, credentials) or (None, None)."""
    db = load_json("tokens.json", {"racks": {}, "users": {}})
    for sid, creds in db["racks"].items():
        if creds["token_key"] == token_key:
            return sid, creds
    creds = db["users"].get(token_key)
    return (None, creds) if creds else (None, None)


# --- refresh: OAuth 1.0 as piston checks it ------------------------------------------
class HTTPRefusal(Exception):
    """An HTTP error answer: status code and the cause (the body)."""

    def __init__(self, code, cause):
        super().__init__(cause)
        self.code, self.cause = code, cause


def check_oauth(header):
    """The rack's system_id for a valid Authorization header; else
    HTTPRefusal 401 (403 for a valid non-node token).  Order as piston's
    verify_request: parameters, version, consumer, token, timestamp, nonce
    (stored before the signature is checked), signature."""
    if not header:
        raise HTTPRefusal(401, "no Authorization header")
    try:
        p = split_oauth_header(header)
    except ValueError as e:
        raise HTTPRefusal(401, str(e))
    missing = [k for k in OAUTH_PARAMS if k not in p]
    if missing:
        raise HTTPRefusal(401, "OAuth parameters missing: %s" % ", ".join(missing))
    if "oauth_version" in p and p["oauth_version"] != "1.0":
        raise HTTPRefusal(401, "OAuth version %r not supported" % p["oauth_version"])
    if p["oauth_signature_method"] != "PLAINTEXT":
        raise HTTPRefusal(401, "signature method %r not supported by the fake region "
                          "(PLAINTEXT only)" % p["oauth_signature_method"])
    sid, creds = find_token(p["oauth_token"])
    if creds is None:
        raise HTTPRefusal(401, "invalid access token: %r" % p["oauth_token"])
    if creds["consumer_key"] != p["oauth_consumer_key"]:
        raise HTTPRefusal(401, "invalid consumer %r for token %r" % (
            p["oauth_consumer_key"], p["oauth_token"]))
    try:
        ts = int(p["oauth_timestamp"])
    except ValueError:
        raise HTTPRefusal(401, "invalid timestamp %r" % p["oauth_timestamp"])
    now = int(region_now())
    if now - ts > TIMESTAMP_THRESHOLD:
        raise HTTPRefusal(401, "Expired timestamp: given %d and now %d has a greater "
                          "difference than threshold %d" % (ts, now, TIMESTAMP_THRESHOLD))
    with DBLock("nonces"):
        db = load_json("nonces.json", {})
        key = "%s %s" % (p["oauth_consumer_key"], p["oauth_token"])
        seen = db.setdefault(key, [])
        if p["oauth_nonce"] in seen:
            raise HTTPRefusal(401, "Nonce already used: %s" % p["oauth_nonce"])
        seen.append(p["oauth_nonce"])
        del seen[:-20000]
        save_json("nonces.json", db)
    if p["oauth_signature"] != "&" + creds["token_secret"]:
        raise HTTPRefusal(401, "Invalid signature %r" % p["oauth_signature"])
    if maas_token_of_header(header) != p["oauth_token"]:
        raise HTTPRefusal(401, "No oauth token found for metadata request (MAAS splits "
                          "the header on whitespace)")
    if sid is None:
        raise HTTPRefusal(403, "Not authenticated as a known node.")
    return sid


def store_rack_interfaces(sid, interfaces):
    """update_node_interfaces: the report replaces the rack's interfaces
    (missing ones are deleted).  Physical interfaces are unique by MAC and
    static IPs by address across racks: another rack loses them."""
    with DBLock("interfaces"):
        db = load_json("rack-interfaces.json", {})
        macs = {e["mac"] for e in interfaces.values() if e["type"] == "physical"}
        ips = {l["address"].split("/")[0] for e in interfaces.values() for l in e["links"]}
        for other, rec in db.items():
            if other == sid:
                continue
            gone = [n for n, e in rec["interfaces"].items()
                    if e["type"] == "physical" and e["mac"] in macs]
            for n in gone:
                log.msg("refresh: MAC %s moves from rack %s (%s) to rack %s" % (
                    rec["interfaces"][n]["mac"], other, n, sid))
                del rec["interfaces"][n]
            for e in rec["interfaces"].values():
                e["parents"] = [p for p in e["parents"] if p not in gone]
                e["links"] = [l for l in e["links"] if l["address"].split("/")[0] not in ips]
        db[sid] = {"interfaces": interfaces, "updated": time.time()}
        save_json("rack-interfaces.json", db)


def rack_interfaces(sid):
    return load_json("rack-interfaces.json", {}).get(sid, {"interfaces": {}, "updated": None})


# --- layer 2 (get_bmc_accessible_nodes) and DHCP (dhcp.py) from stored interfaces ----
def rack_links(sid):
    """[(ifname, interface record, ip_interface, mode)] of a rack."""
    out = []
    for name, e in sorted(rack_interfaces(sid)["interfaces"].items()):
        for link in e["links"]:
            out.append((name, e, ipaddress.ip_interface(link["address"]), link["mode"]))
    return out


def layer2_nodes(sid, nodes):
    """Nodes whose BMC IP lies in its best subnet (longest prefix among every
    rack's stored subnets) on which this rack has an address, any mode."""
    every = set()
    for rec in load_json("rack-interfaces.json", {}).values():
        for e in rec["interfaces"].values():
            for link in e["links"]:
                every.add(ipaddress.ip_interface(link["address"]).network)
    mine = {ip.network for _, _, ip, _ in rack_links(sid)}
    out = []
    for n in nodes:
        ip = bmc_ip(n.get("context"))
        if ip is None:
            continue
        subnets = [net for net in every if net.version == ip.version and ip in net]
        if subnets and max(subnets, key=lambda net: net.prefixlen) in mine:
            out.append(n)
    return out


INTERFACE_RANK = {"bond": 0, "physical": 1, "bridge": 1, "vlan": 2}


def best_interface(sid, net):
    """get_interfaces_with_ip_on_vlan + get_best_interface: the rack's
    interface with a static (STICKY) address in NET, else one with a DHCP
    (DISCOVERED) address; a bond beats a physical beats a VLAN interface.
    -> (ifname, static address or None), or (None, None)."""
    cands = [(name, e, ip, mode) for name, e, ip, mode in rack_links(sid)
             if ip.version == net.version and ip.ip in net]
    static = [c for c in cands if c[3] == "static"]
    pool = static or cands
    if not pool:
        return None, None
    best = min(pool, key=lambda c: INTERFACE_RANK.get(c[1]["type"], 3))
    addr = next((str(c[2].ip) for c in static if c[0] == best[0]), None)
    return best[0], addr


def dhcp_config_for(body):
    """POST /dhcp-config: {sid: ConfigureDHCPv4/6 arguments} MAAS would send
    for the VLAN of VLAN_CIDR with PRIMARY (and SECONDARY) racks; raises
    HTTPRefusal (400 bad request, 409 the racks cannot serve that VLAN)."""
    try:
        net = ipaddress.ip_network(str(body.get("vlan_cidr")))
    except ValueError as e:
        raise HTTPRefusal(400, "vlan_cidr: %s" % e)
    family = body.get("family", net.version)
    if family not in (4, 6) or family != net.version:
        raise HTTPRefusal(400, "family %r does not match vlan_cidr %s" % (family, net))
    primary, secondary = body.get("primary"), body.get("secondary")
    racks = known_racks()
    sids = set(racks.values())
    if primary not in sids:
        raise HTTPRefusal(400, "primary %r is not a known rack" % primary)
    if secondary is not None and (secondary not in sids or secondary == primary):
        raise HTTPRefusal(400, "secondary %r must be another known rack" % secondary)
    vlan_id = int(body.get("vlan_id", 5001))
    roles = [(primary, "primary")] + ([(secondary, "secondary")] if secondary else [])
    chosen = {sid: best_interface(sid, net) for sid, _ in roles}
    for sid, role in roles:
        if chosen[sid][0] is None:
            raise HTTPRefusal(409, "rack %s (%s) has no interface with an address on %s "
                              "(gen_managed_vlans_for yields nothing)" % (sid, role, net))
    for sid, role in roles:
        if secondary and chosen[sid][1] is None:
            raise HTTPRefusal(409, "rack %s (%s) has no static address on %s: no failover "
                              "peer address (get_ip_address_for_rack_controller)"
                              % (sid, role, net))
    pools = body.get("pools")
    if pools is None:
        hosts = net.num_addresses
        low = net.network_address + hosts // 2 + (1 if net.version == 6 else 0)
        high = net.broadcast_address - 1
        pools = [{"ip_range_low": str(low), "ip_range_high": str(high)}]
    peer_name = "failover-vlan-%d" % vlan_id
    out = {}
    for sid, role in roles:
        ifname, addr = chosen[sid]
        others = [s for s, _ in roles if s != sid]
        peers = []
        if secondary:
            peers = [{"name": peer_name, "mode": role, "address": addr,
                      "peer_address": chosen[others[0]][1]}]
        own = [addr] if addr else []
        ntp = own + ([chosen[others[0]][1]] if secondary else [])
        subnet = {"subnet": str(net.network_address), "subnet_mask": str(net.netmask),
                  "subnet_cidr": str(net), "broadcast_ip": str(net.broadcast_address),
                  "router_ip": body.get("router_ip", ""),
                  "dns_servers": body.get("dns_servers", own),
                  "ntp_servers": body.get("ntp_servers", ntp),
                  "domain_name": body.get("domain_name", "maas"),
                  "search_list": body.get("search_list", ["maas"]),
                  "pools": [dict({"dhcp_snippets": []}, **p,
                                 **({"failover_peer": peer_name} if secondary else {}))
                            for p in pools],
                  "dhcp_snippets": [], "disabled_boot_architectures": []}
        out[sid] = {"omapi_key": body.get("omapi_key", EMPTY_DHCP["omapi_key"]),
                    "failover_peers": peers,
                    "shared_networks": [{"name": "vlan-%d" % vlan_id,
                                         "mtu": int(body.get("mtu", 1500)),
                                         "interface": ifname, "subnets": [subnet]}],
                    "hosts": body.get("hosts", []), "interfaces": [{"name": ifname}],
                    "global_dhcp_snippets": []}
    return out


# --- HTTP: the metadata API (POST <maas_url>/metadata/2012-03-01/) -------------------
class RegionRequest(server.Request):
    """Keeps Twisted from parsing multipart bodies with cgi (deprecated, and
    it answers 400 itself on a bad body): the metadata handler parses them."""
    hidden_ctype = None

    def requestReceived(self, command, path, version):
        ct = self.requestHeaders.getRawHeaders(b"content-type")
        if ct and ct[0].lower().lstrip().startswith(b"multipart/"):
            self.hidden_ctype = ct
            self.requestHeaders.setRawHeaders(b"content-type", [b"application/x-fake"])
        super().requestReceived(command, path, version)

    def process(self):
        if self.hidden_ctype:
            self.requestHeaders.setRawHeaders(b"content-type", self.hidden_ctype)
        super().process()


def metadata_post(request):
    """VersionIndexHandler.signal for a rack: checks, records, answers."""
    entry = {"time": time.time(), "system_id": None, "http_status": 200, "error": None,
             "status": None, "message": None, "exit_status": None, "files": [],
             "validation_error": None, "processed": False, "notes": [],
             "peer": request.getClientAddress().host}
    REFRESHES.append(entry)
    del REFRESHES[:-10000]
    request.setHeader(b"date", http.datetimeToString(region_now()))
    mode = FAULTS.get("metadata", "normal")
    if mode == "down":
        entry.update(http_status=0, error="fault down: connection closed")
        log.msg("metadata POST from %s: fault down, closing" % entry["peer"])
        request.channel.transport.loseConnection()
        return server.NOT_DONE_YET
    try:
        if mode == "401_always":
            raise HTTPRefusal(401, "fault 401_always")
        sid = check_oauth((request.getHeader(b"authorization") or b"").decode("latin-1"))
        entry["system_id"] = sid
        ctype = request.getHeader(b"content-type")
        body = request.content.read()
        try:
            parts = parse_multipart(body, (ctype or b"").decode("latin-1"))
        except ValueError as e:
            raise HTTPRefusal(400, "bad multipart body: %s" % e)
        fields, files = {}, {}
        for part in parts:
            if part["filename"] is None:
                fields[part["name"]] = part["data"].decode("utf-8", "replace")
            else:
                files[part["name"]] = part["data"]
                entry["files"].append(part["name"])
        qs = parse_qs(urlparse(request.uri.decode("latin-1")).query)
        op = (qs.get("op") or [None])[0] or fields.get("op")
        if op != "signal":
            raise HTTPRefusal(400, "Unrecognised signature: method=POST op=%s" % op)
        status = fields.get("status")
        entry["status"], entry["message"] = status, fields.get("error")
        if status is None:
            raise HTTPRefusal(400, "status: This field is required.")
        if status not in SIGNAL_STATUSES:
            raise HTTPRefusal(400, "Unknown status: %s" % status)
        raw_exit = next((fields[k] for k in ("exit_status", "script_result", "result")
                         if k in fields), "0")
        try:
            exit_status = int(raw_exit)
        except ValueError:
            raise HTTPRefusal(400, "exit_status: %r is not an integer" % raw_exit)
        entry["exit_status"] = exit_status if any(
            k in fields for k in ("exit_status", "script_result", "result")) else None
        for name in fields:
            if name.startswith(COMMISSIONING):
                entry["notes"].append("part %r has no filename: not a file for Django, "
                                      "ignored" % name)
        for name, data in files.items():
            if len(data) > 1024 * 1024:
                entry["notes"].append("part %r is %d bytes (> 1 MiB ScriptResult field)"
                                      % (name, len(data)))
        if mode in ("500_once", "500_always"):
            if mode == "500_once":
                FAULTS["metadata"] = "normal"
            raise HTTPRefusal(500, "fault %s" % mode)
        out = files.get(COMMISSIONING + ".out")
        if out is not None and exit_status == 0:
            try:
                interfaces = parse_commissioning(out)
            except BadDocument as e:
                entry["validation_error"] = str(e)
                log.msg("refresh: rack %s: Failed processing commissioning data: %s "
                        "(answered 200 as MAAS does)" % (sid, e))
            else:
                store_rack_interfaces(sid, interfaces)
                entry["processed"] = True
                log.msg("refresh: rack %s reported %d interfaces: %s" % (
                    sid, len(interfaces), ", ".join(sorted(interfaces))))
        elif out is not None:
            entry["notes"].append("%s.out with exit_status %d: not processed"
                                  % (COMMISSIONING, exit_status))
        log.msg("metadata POST from %s (%s): %s %r files=%s" % (
            entry["peer"], sid, status, entry["message"], entry["files"]))
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"OK"
    except HTTPRefusal as e:
        entry.update(http_status=e.code, error=e.cause)
        log.msg("metadata POST from %s: %d %s" % (entry["peer"], e.code, e.cause))
        request.setResponseCode(e.code)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        if e.code == 401:
            request.setHeader(b"www-authenticate", b'OAuth realm="OAuth"')
        return e.cause.encode("utf-8", "replace") + b"\n"


# --- HTTP: discovery ---------------------------------------------------------------
def eventloops():
    merged = {}
    for f in sorted(glob.glob(db_path("eventloops-*.json"))):
        try:
            with open(f) as fh:
                merged.update(json.load(fh))
        except (OSError, ValueError):
            pass
    return merged


NOT_FOUND = (b"<!DOCTYPE html>\n<html lang=\"en\"><head><title>Not Found</title></head>"
             b"<body><h1>Not Found</h1><p>The requested resource was not found on "
             b"this server.</p></body></html>\n")
HUGE = []


class RPCInfo(resource.Resource):
    isLeaf = True

    def render(self, request):
        # Every answer of the region's HTTP server is dated by its clock.
        request.setHeader(b"date", http.datetimeToString(region_now()))
        return super().render(request)

    def render_POST(self, request):
        if request.path.startswith(b"/MAAS/echo/"):
            return echo(request)
        m = METADATA_PATH.match(request.path.decode("latin-1"))
        if m and m.group(1) in ("2012-03-01", "latest"):
            return metadata_post(request)
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"text/html; charset=utf-8")
        return NOT_FOUND

    def render_GET(self, request):
        if request.path.startswith(b"/MAAS/echo/"):
            return echo(request)
        if PRESEED_PATH.match(request.path.decode("latin-1")):
            return preseed_get(request)
        if request.path.startswith(fake_stream.PREFIX):
            return fake_stream.render(request, ARGS.db)
        if request.path != b"/MAAS/rpc/":
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return NOT_FOUND
        mode = FAULTS.get("http_mode", "normal")
        log.msg("discovery GET %s from %s (mode %s)" % (
            request.uri.decode("ascii", "replace"), request.getClientAddress().host, mode))
        if mode == "503":
            request.setResponseCode(503)
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return b"<html><body><h1>503 Service Unavailable</h1></body></html>\n"
        if mode == "html":
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return (b"<!DOCTYPE html>\n<html><head><title>Login | MAAS</title></head>"
                    b"<body><p>Please log in.</p></body></html>\n")
        request.setHeader(b"content-type", b"application/json")
        if mode == "badjson":
            return b'{"eventloops": '
        if mode == "wrongshape":
            return b'{"eventloops": [1, 2]}'
        if mode == "huge":
            if not HUGE:
                pad = b"x" * (20 * 1024 * 1024)
                HUGE.append(b'{"eventloops": ' + json.dumps(eventloops()).encode() +
                            b', "padding": "' + pad + b'"}')
            return HUGE[0]
        body = json.dumps({"eventloops": eventloops()}).encode()
        if mode == "slow":
            gone = []
            request.notifyFinish().addErrback(lambda _: gone.append(True))

            def late():
                if not gone:
                    request.write(body)
                    request.finish()
            reactor.callLater(30, late)
            return server.NOT_DONE_YET
        return body


PRESEED_PATH = re.compile(r"^/+MAAS/+metadata/+[^/]+/+(by-id/+[^/]+|enlist-preseed)/+$")
PRESEEDS = []           # GET .../?op=get_preseed seen, for GET /preseeds


def preseed_get(request):
    """GET /MAAS/metadata/<version>/by-id/<system_id>/?op=get_preseed (or
    enlist-preseed/?op=get_enlist_preseed), the cloud-config-url of a boot
    (spec maas-rack-boot.md §3.3): a small #cloud-config naming the node
    and the client the region saw (X-Forwarded-For first, as MAAS's
    get_remote_ip), so a booted VM can print what the region saw."""
    path = request.path.decode("latin-1")
    op = (request.args.get(b"op") or [b""])[0].decode("latin-1")
    xff = (request.getHeader(b"x-forwarded-for") or b"").decode("latin-1")
    client = xff.split(",")[0].strip() or request.getClientAddress().host
    m = re.search(r"/by-id/+([^/]+)/", path)
    node = m.group(1) if m else "enlist"
    PRESEEDS.append({"time": time.time(), "path": path, "op": op, "node": node,
                     "client": client, "x_forwarded_for": xff,
                     "host": (request.getHeader(b"host") or b"").decode("latin-1")})
    if op not in ("get_preseed", "get_enlist_preseed"):
        request.setResponseCode(400)
        return b"Unrecognised signature: method=GET op=%s\n" % op.encode()
    log.msg("preseed GET %s op=%s for %s" % (path, op, client))
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    return ("#cloud-config\n# rackd-test preseed node=%s client=%s\n" % (node, client)).encode()


def echo(request):
    """GET/POST /MAAS/echo/...: what this region saw of a request (for
    rackd's /MAAS/ proxy test): region name, method, uri, the headers as
    received, body length and sha256; ?size=N appends N bytes of padding."""
    body = request.content.read() if request.content else b""
    doc = {"region": ARGS.name, "method": request.method.decode(),
           "uri": request.uri.decode("latin-1"),
           "headers": {k.decode("latin-1").lower(): [v.decode("latin-1") for v in vs]
                       for k, vs in request.requestHeaders.getAllRawHeaders()},
           "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}
    out = (json.dumps(doc) + "\n").encode()
    size = int(request.args.get(b"size", [b"0"])[0])
    request.setHeader(b"content-type", b"application/json")
    return out + b" " * size


# --- control API ------------------------------------------------------------------
def to_json(request, obj, code=200):
    request.setResponseCode(code)
    request.setHeader(b"content-type", b"application/json")
    return (json.dumps(jsonable(obj)) + "\n").encode()


def recorded_calls():
    if ARGS.record:
        out = []
        try:
            with open(ARGS.record) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
        except OSError:
            pass
        return out
    return list(CALLS)


class Control(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        p = request.path.decode()
        q = parse_qs(urlparse(request.uri.decode()).query)
        if p == "/status":
            return to_json(request, {
                "name": ARGS.name, "pid": os.getpid(), "http_port": HTTP_PORT[0],
                "amp_ports": list(LOOPS), "eventloops": list(LOOPS.values()),
                "faults": FAULTS, "dhcp_push": DHCP_PUSH, "layer2": LAYER2[0],
                "region_time": region_now()})
        if p == "/connections":
            return to_json(request, [{
                "loop": c.loop, "peer": c.peer,
                "rack_authenticated": c.rack_authenticated,
                "region_authenticated": c.region_authenticated,
                "registered": c.registered, "system_id": c.system_id,
                "hostname": c.hostname} for c in CONNS])
        if p == "/preseeds":
            return to_json(request, PRESEEDS)
        if p == "/stream-stats":
            return to_json(request, fake_stream.STATS)
        if p == "/refreshes":
            out = list(REFRESHES)
            if "system_id" in q:
                out = [e for e in out if e["system_id"] in q["system_id"]]
            return to_json(request, out)
        if p == "/rack-interfaces":
            sid = (q.get("system_id") or [None])[0]
            if not sid:
                return to_json(request, {"ok": False, "error": "system_id missing"}, 400)
            rec = dict(rack_interfaces(sid))
            rec["known"] = sid in known_racks().values()
            return to_json(request, rec)
        if p == "/calls":
            out = recorded_calls()
            if "command" in q:
                out = [e for e in out if e.get("command") in q["command"]]
            if "since" in q:
                try:
                    since = float(q["since"][0])
                except ValueError:
                    return to_json(request, {"ok": False, "error": "since: a number"}, 400)
                out = [e for e in out if e.get("t", 0) >= since]
            if "dir" in q:
                out = [e for e in out if e.get("dir") in q["dir"]]
            return to_json(request, out)
        return to_json(request, {"ok": False, "error": "no such path %s" % p}, 404)

    def render_POST(self, request):
        p = request.path.decode()
        try:
            body = json.loads(request.content.read() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
        except ValueError as e:
            return to_json(request, {"ok": False, "error": "bad JSON: %s" % e}, 400)
        if p == "/fault":
            return self.fault(request, body)
        if p == "/stream-fault":
            err = fake_stream.fault(body)
            if err:
                return to_json(request, {"ok": False, "error": err}, 400)
            return to_json(request, {"ok": True, "faults": fake_stream.FAULTS})
        if p == "/eventloops/remove":
            name = str(body.get("name", ""))
            if not name or "/" in name:
                return to_json(request, {"ok": False, "error": "bad name"}, 400)
            try:
                os.unlink(db_path("eventloops-%s.json" % name))
                removed = True
            except FileNotFoundError:
                removed = False
            log.msg("control: removed event loops of %s: %s" % (name, removed))
            return to_json(request, {"ok": True, "removed": removed})
        if p == "/nodes":
            nodes = body.get("nodes")
            if not isinstance(nodes, list) or not all(
                    isinstance(n, dict) and "system_id" in n for n in nodes):
                return to_json(request, {"ok": False, "error": "nodes: list of objects "
                                         "with system_id"}, 400)
            with DBLock("nodes"):
                db = load_json("nodes.json", {"nodes": [], "marks": {}})
                db["nodes"] = nodes
                save_json("nodes.json", db)
            return to_json(request, {"ok": True, "count": len(nodes)})
        if p == "/dhcp":
            # The DHCP configuration the region pushes to a rack (by
            # hostname) on registration, as processDHCP would render it:
            # {"hostname": h, "v4": {...args...}, "v6": {...}}.
            h = body.get("hostname")
            if not isinstance(h, str) or not h:
                return to_json(request, {"ok": False, "error": "hostname missing"}, 400)
            with DBLock("dhcp"):
                db = load_json("dhcp.json", {})
                db[h] = {k: body.get(k) for k in ("v4", "v6") if body.get(k)}
                save_json("dhcp.json", db)
            return to_json(request, {"ok": True})
        if p == "/nodes/reset":
            with DBLock("nodes"):
                db = load_json("nodes.json", {"nodes": [], "marks": {}})
                db["marks"] = {}
                save_json("nodes.json", db)
            return to_json(request, {"ok": True})
        if p == "/call":
            self.do_call(request, body)
            return server.NOT_DONE_YET
        if p == "/layer2":
            if not isinstance(body.get("enabled"), bool):
                return to_json(request, {"ok": False, "error": "enabled: true or false"}, 400)
            LAYER2[0] = body["enabled"]
            log.msg("control: layer-2 filter of ListNodePowerParameters %s"
                    % ("on" if LAYER2[0] else "off"))
            return to_json(request, {"ok": True, "layer2": LAYER2[0]})
        if p == "/user-token":
            return to_json(request, dict(user_credentials(), ok=True))
        if p == "/boot-config":
            if not all(isinstance(v, dict) for v in body.values()):
                return to_json(request, {"ok": False, "error": "boot-config: "
                                         "{mac or 'default': answer object}"}, 400)
            with DBLock("boot-config"):
                save_json("boot-config.json", body)
            return to_json(request, {"ok": True, "count": len(body)})
        if p == "/dhcp-config":
            self.dhcp_config(request, body)
            return server.NOT_DONE_YET
        return to_json(request, {"ok": False, "error": "no such path %s" % p}, 404)

    def fault(self, request, body):
        if "http_mode" in body:
            if body["http_mode"] not in HTTP_MODES:
                return to_json(request, {"ok": False, "error": "http_mode: one of %s"
                                         % ", ".join(HTTP_MODES)}, 400)
            FAULTS["http_mode"] = body["http_mode"]
            del HUGE[:]
        if "metadata" in body:
            if body["metadata"] not in METADATA_MODES:
                return to_json(request, {"ok": False, "error": "metadata: one of %s"
                                         % ", ".join(METADATA_MODES)}, 400)
            FAULTS["metadata"] = body["metadata"]
        if "clock_skew" in body:
            v = body["clock_skew"]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return to_json(request, {"ok": False, "error": "clock_skew: seconds"}, 400)
            FAULTS["clock_skew"] = v
        if "name" in body:
            name = body["name"]
            if name == "drop_all":      # close every current rack connection once
                for c in list(CONNS):
                    c.drop()
            elif name in FAULT_NAMES:
                FAULTS[name] = bool(body.get("on", True))
            else:
                return to_json(request, {"ok": False, "error": "fault: one of %s, drop_all"
                                         % ", ".join(FAULT_NAMES)}, 400)
        log.msg("control: faults now %s" % json.dumps(FAULTS))
        return to_json(request, {"ok": True, "faults": FAULTS})

    @defer.inlineCallbacks
    def dhcp_config(self, request, body):
        def reply(obj, code=200):
            if not request.finished and not request._disconnected:
                request.write(to_json(request, obj, code))
                request.finish()
        try:
            configs = dhcp_config_for(body)
        except HTTPRefusal as e:
            log.msg("control: dhcp-config refused (%d): %s" % (e.code, e.cause))
            return reply({"ok": False, "error": e.cause}, e.code)
        except (TypeError, ValueError) as e:
            return reply({"ok": False, "error": "bad request: %s" % e}, 400)
        out = {"ok": True, "configs": configs, "pushed": {}}
        if not body.get("push"):
            return reply(out)
        cmd = ConfigureDHCPv6 if ipaddress.ip_network(body["vlan_cidr"]).version == 6 \
            else ConfigureDHCPv4
        fam = "v6" if cmd is ConfigureDHCPv6 else "v4"
        hosts = {s: h for h, s in known_racks().items()}
        with DBLock("dhcp"):                # what processDHCP re-sends on registration
            db = load_json("dhcp.json", {})
            for sid, args in configs.items():
                db.setdefault(hosts[sid], {})[fam] = args
            save_json("dhcp.json", db)

        def one(sid, args):
            conns = [c for c in CONNS if c.registered and not c.closing and c.system_id == sid]
            if not conns:
                return defer.succeed({"ok": False, "error": "rack %s is not connected" % sid})
            d = random.choice(conns).call(cmd, args, timeout=float(body.get("timeout", 40)))
            return d.addCallbacks(lambda _: {"ok": True, "error": None},
                                  lambda f: {"ok": False, "error": f.getErrorMessage()})
        sids = list(configs)
        results = yield defer.gatherResults([one(s, configs[s]) for s in sids])
        out["pushed"] = dict(zip(sids, results))
        out["ok"] = all(r["ok"] for r in results)
        log.msg("control: dhcp-config %s pushed: %s" % (body["vlan_cidr"],
                                                       json.dumps(out["pushed"])))
        reply(out)

    def do_call(self, request, body):
        def reply(obj, code=200):
            if not request.finished and not request._disconnected:
                request.write(to_json(request, obj, code))
                request.finish()

        name = body.get("command")
        raw = bool(body.get("raw"))
        if not isinstance(name, str) or not name:
            return reply({"ok": False, "error_code": "BadRequest",
                          "description": "command missing"}, 400)
        cmd = RACK_COMMANDS.get(name)
        if cmd is None and not raw:
            return reply({"ok": False, "error_code": "BadRequest",
                          "description": "unknown command %s (use raw: true)" % name}, 400)
        conns = [c for c in CONNS if c.registered and not c.closing]
        if body.get("system_id"):
            conns = [c for c in conns if c.system_id == body["system_id"]]
        if body.get("loop"):
            conns = [c for c in conns if c.loop == body["loop"]]
        if not conns:
            return reply({"ok": False, "error_code": "NoConnectionsAvailable",
                          "description": "no registered rack connection matches"})
        conn = random.choice(conns)
        args = body.get("args") or {}
        d = conn.call(cmd, args, timeout=float(body.get("timeout", 30)),
                      raw_name=name if raw else None)
        d.addCallbacks(
            lambda r: reply({"ok": True, "answer": r, "loop": conn.loop,
                             "peer": conn.peer}),
            lambda f: reply({"ok": False, "error_code": getattr(f.value, "error_code",
                                                                 type(f.value).__name__),
                             "description": getattr(f.value, "description",
                                                    f.getErrorMessage()),
                             "loop": conn.loop, "peer": conn.peer}))


HTTP_PORT = [0]


def main():
    global ARGS
    ap = argparse.ArgumentParser(description="fake MAAS 3.4 region")
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
    ap.add_argument("--gating", action="store_true",
                    help="hold rack commands until the rack is verified (3.4.4+)")
    ap.add_argument("--version", default="3.4.0")
    ap.add_argument("--dhcp-retry", type=float, default=0.1,
                    help="re-push DHCP after a failure every N s (0: never)")
    ap.add_argument("--layer2", action="store_true",
                    help="ListNodePowerParameters returns only the rack's layer-2 nodes")
    ARGS = ap.parse_args()
    LAYER2[0] = ARGS.layer2
    if ARGS.loops < 1 or "/" in ARGS.name:
        ap.error("--loops >= 1 and a --name without '/' are required")
    os.makedirs(ARGS.db, exist_ok=True)
    read_secret()       # fail early on a missing or non-hex secret
    logf = open(ARGS.log, "a", buffering=1) if ARGS.log else sys.stderr
    log.startLogging(logf, setStdout=False)
    maas_uuid()

    factory = protocol.Factory.forProtocol(Region)
    loops, ports, pid = {}, [], os.getpid()
    for i in range(ARGS.loops):
        lp = reactor.listenTCP(0, factory, interface=ARGS.amp_host)
        port = lp.getHost().port
        name = "%s:pid=%d" % (ARGS.name, pid if i == 0 else pid * 10 + i)
        LOOPS[port] = name
        loops[name] = [[ARGS.amp_host, port]]
        ports.append(port)
    save_json("eventloops-%s.json" % ARGS.name, loops)
    site = server.Site(RPCInfo())
    site.requestFactory = RegionRequest
    http = reactor.listenTCP(ARGS.http_port, site, interface=ARGS.http_host)
    HTTP_PORT[0] = http.getHost().port
    ctl = reactor.listenTCP(ARGS.control_port, server.Site(Control()),
                            interface="127.0.0.1")
    line = "READY name=%s pid=%d http=%d control=%d amp=%s" % (
        ARGS.name, pid, HTTP_PORT[0], ctl.getHost().port, ",".join(map(str, ports)))
    log.msg(line)
    print(line, flush=True)
    if ARGS.ready_file:
        with open(ARGS.ready_file + ".tmp", "w") as f:
            f.write(line + "\n")
        os.rename(ARGS.ready_file + ".tmp", ARGS.ready_file)
    reactor.run()       # SIGTERM/SIGINT stop the reactor: exit status 0
    log.msg("%s: stopped" % ARGS.name)


if __name__ == "__main__":
    main()
