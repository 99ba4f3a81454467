"""Pure codecs of the fake region's metadata API (maas-rack-refresh.md): the
OAuth header as piston and MAAS split it, multipart/form-data on bytes (no
cgi, no email: binary parts stay as they are), and the commissioning
document checked and turned into the interfaces MAAS 3.4 would store.  No
I/O, no state; fake_region.py does the checks against its database.
"""
import ipaddress
import json
import re
from urllib.parse import unquote, urlparse

SIGNAL_STATUSES = ("OK", "FAILED", "WORKING", "COMMISSIONING", "TESTING", "TIMEDOUT",
                   "INSTALLING", "APPLYING_NETCONF")
KERNEL_ARCHES = ("i686", "x86_64", "aarch64", "ppc64le", "s390x", "mips", "mips64")
REQUIRED_EXTENSIONS = ("resources", "resources_v2", "api_os", "resources_system",
                       "resources_usb_pci")
COMMISSIONING = "50-maas-01-commissioning"
OAUTH_PARAMS = ("oauth_consumer_key", "oauth_token", "oauth_signature",
                "oauth_signature_method", "oauth_timestamp", "oauth_nonce")


# --- OAuth 1.0 header (piston OAuthRequest._split_header, MAAS api/utils.py) ---------
def split_oauth_header(value):
    """piston OAuthRequest._split_header: split on ',', skip anything that
    mentions realm, strip the quotes, percent-decode."""
    if not value.startswith("OAuth "):
        raise ValueError("Authorization is not an OAuth header: %r" % value[:40])
    params = {}
    for part in value[6:].split(","):
        if "realm" in part:
            continue
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError("malformed OAuth parameter %r" % part[:40])
        k, v = part.split("=", 1)
        params[k] = unquote(v.strip('"'))
    return params


def maas_token_of_header(value):
    """api/utils.py extract_oauth_key_from_auth_header (whitespace split)."""
    for entry in value.split():
        kv = entry.split("=", 1)
        if len(kv) == 2 and kv[0] == "oauth_token":
            return kv[1].rstrip(",").strip('"')
    return None


# --- refresh: multipart/form-data (no cgi, no email: bytes all the way) -------------
def parse_header_params(text):
    """'form-data; name="a"; filename="b"' -> ('form-data', {name: a, ...});
    quoted strings may hold ';' and backslash escapes."""
    i, n = 0, len(text)

    def token(stop):
        nonlocal i
        j = i
        while i < n and text[i] not in stop:
            i += 1
        return text[j:i].strip()
    value = token(";").lower()
    params = {}
    while i < n:
        i += 1                                  # the ';'
        name = token("=;").lower()
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] == '"':
                i += 1
                out = []
                while i < n and text[i] != '"':
                    if text[i] == "\\" and i + 1 < n:
                        i += 1
                    out.append(text[i])
                    i += 1
                if i >= n:
                    raise ValueError("unterminated quoted string in %r" % text[:80])
                i += 1
                val = "".join(out)
                token(";")                      # skip to the next ';'
            else:
                val = token(";")
        else:
            val = ""
        if name:
            params[name] = val
    return value, params


def parse_multipart(body, content_type):
    """A multipart/form-data body -> list of parts, each
    {"name", "filename" (None for a plain field), "content_type", "data" (bytes)}.
    Raises ValueError naming what is wrong."""
    ctype, params = parse_header_params(content_type)
    if ctype != "multipart/form-data":
        raise ValueError("Content-Type is %r, not multipart/form-data" % ctype)
    boundary = params.get("boundary")
    if not boundary:
        raise ValueError("multipart/form-data without a boundary")
    if len(boundary) > 70:
        raise ValueError("multipart boundary longer than 70 characters")
    delim = b"--" + boundary.encode("latin-1")
    if body.startswith(delim):
        pos = 0
    else:                                       # a preamble is allowed
        pos = body.find(b"\r\n" + delim)
        if pos < 0:
            raise ValueError("no opening boundary in the body")
        pos += 2
    parts = []
    while True:
        pos += len(delim)
        if body[pos:pos + 2] == b"--":
            break                               # closing delimiter (epilogue ignored)
        eol = body.find(b"\r\n", pos)
        if eol < 0 or body[pos:eol].strip(b" \t"):
            raise ValueError("boundary line not followed by CRLF at byte %d" % pos)
        hend = body.find(b"\r\n\r\n", eol)
        if hend < 0:
            raise ValueError("part %d: headers not terminated by an empty line"
                             % (len(parts) + 1))
        headers = {}
        raw = body[eol + 2:hend] if hend > eol else b""
        for line in raw.split(b"\r\n") if raw else []:
            if b":" not in line:
                raise ValueError("part %d: bad header line %r" % (len(parts) + 1, line[:60]))
            k, v = line.split(b":", 1)
            headers[k.strip().lower().decode("latin-1")] = v.strip().decode("utf-8",
                                                                             "surrogateescape")
        nxt = body.find(b"\r\n" + delim, hend + 4)
        if nxt < 0:
            raise ValueError("part %d: no closing boundary (truncated body?)"
                             % (len(parts) + 1))
        disp = headers.get("content-disposition")
        if disp is None:
            raise ValueError("part %d: no Content-Disposition" % (len(parts) + 1))
        kind, dparams = parse_header_params(disp)
        if kind != "form-data" or "name" not in dparams:
            raise ValueError("part %d: Content-Disposition %r is not form-data with a name"
                             % (len(parts) + 1, disp[:80]))
        parts.append({"name": dparams["name"], "filename": dparams.get("filename"),
                      "content_type": headers.get("content-type"),
                      "data": body[hend + 4:nxt]})
        pos = nxt + 2
    return parts


# --- refresh: the commissioning document (maas-rack-refresh.md 3.2-3.4) ------------
class BadDocument(Exception):
    pass


def _need(obj, key, where, kinds=None, what=None):
    if not isinstance(obj, dict) or key not in obj:
        raise BadDocument("%s: missing key %r" % (where, key))
    v = obj[key]
    if kinds is not None and not isinstance(v, kinds):
        raise BadDocument("%s.%s: must be %s, not %s" % (where, key, what,
                                                         type(v).__name__))
    return v


def _ipnet(address, prefix, where):
    try:
        return ipaddress.ip_interface("%s/%s" % (address, prefix))
    except ValueError as e:
        raise BadDocument("%s: bad address %r/%r (%s)" % (where, address, prefix, e))


def is_modelled(entry):
    """update_interface: only broadcast interfaces, not OpenBMC's MAC nor IPoIB."""
    hw = entry.get("hwaddr")
    return (entry.get("type") == "broadcast" and isinstance(hw, str)
            and hw != "02:00:00:00:00:02" and len(hw) <= 17)


def parse_commissioning(data):
    """The rack interfaces MAAS would store from a 50-maas-01-commissioning
    stdout (bytes), as {ifname: {...}} (see /rack-interfaces); raises
    BadDocument naming the first problem the region's hook would hit."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise BadDocument("not UTF-8: %s" % e)
    except ValueError as e:
        raise BadDocument("not JSON: %s" % e)
    if not isinstance(doc, dict):
        raise BadDocument("top level is %s, not an object" % type(doc).__name__)
    if doc.get("api_version") != "1.0":
        raise BadDocument("api_version is %r, not '1.0'" % doc.get("api_version"))
    ext = doc.get("api_extensions")
    if not isinstance(ext, list):
        raise BadDocument("api_extensions: missing or not a list")
    missing = [e for e in REQUIRED_EXTENSIONS if e not in ext]
    if missing:
        raise BadDocument("api_extensions lacks %s" % ", ".join(missing))
    env = _need(doc, "environment", "document", dict, "an object")
    arch = _need(env, "kernel_architecture", "environment")
    if arch not in KERNEL_ARCHES:
        raise BadDocument("environment.kernel_architecture %r is not one of %s"
                          % (arch, ", ".join(KERNEL_ARCHES)))
    res = _need(doc, "resources", "document", dict, "an object")
    nets = _need(doc, "networks", "document", dict, "an object")
    for name, e in nets.items():
        where = "networks.%s" % name
        if not isinstance(e, dict):
            raise BadDocument("%s: not an object" % where)
        for k in ("type", "hwaddr", "state", "addresses", "bond", "bridge", "vlan"):
            _need(e, k, where)
        if not isinstance(e["addresses"], list):
            raise BadDocument("%s.addresses: not a list" % where)
        for i, a in enumerate(e["addresses"]):
            for k in ("address", "netmask", "scope"):
                _need(a, k, "%s.addresses[%d]" % (where, i))
            if a["scope"] == "global":
                _ipnet(a["address"], a["netmask"], "%s.addresses[%d]" % (where, i))
        for k in ("vlan", "bond", "bridge"):
            if e[k] is not None and not isinstance(e[k], dict):
                raise BadDocument("%s.%s: must be null or an object" % (where, k))
    physical = [n for n, e in nets.items() if is_modelled(e) and e["vlan"] is None
                and e["bond"] is None and e["bridge"] is None]
    if physical:
        network = _need(res, "network", "resources", dict, "an object")
        cards = _need(network, "cards", "resources.network", list, "a list")
        for ci, card in enumerate(cards):
            where = "resources.network.cards[%d]" % ci
            if not isinstance(card, dict):
                raise BadDocument("%s: not an object" % where)
            if "sriov" in card and not isinstance(card["sriov"], dict):
                raise BadDocument("%s.sriov: must be an object (never null)" % where)
            for pi, port in enumerate(card.get("ports") or []):
                pw = "%s.ports[%d]" % (where, pi)
                if not isinstance(port, dict) or not port.get("address"):
                    raise BadDocument("%s: a port needs an address" % pw)
                for m in port.get("supported_modes") or []:
                    if not re.match(r"^\d+base", str(m)):
                        raise BadDocument("%s.supported_modes: %r is not NNNbase..." % (pw, m))
    extra = doc.get("network-extra")
    address_extra = {}
    if extra is not None:
        for k in ("interfaces", "monitored-interfaces", "hints"):
            _need(extra, k, "network-extra")
        if not isinstance(extra["interfaces"], dict):
            raise BadDocument("network-extra.interfaces: not an object")
        if not isinstance(extra["monitored-interfaces"], list):
            raise BadDocument("network-extra.monitored-interfaces: not a list")
        if extra["hints"] is not None and not isinstance(extra["hints"], list):
            raise BadDocument("network-extra.hints: must be a list or null")
        for name, e in extra["interfaces"].items():
            for i, link in enumerate((e or {}).get("links") or []):
                where = "network-extra.interfaces.%s.links[%d]" % (name, i)
                addr = _need(link, "address", where)
                try:
                    ip = str(ipaddress.ip_interface(addr).ip)
                except ValueError as err:
                    raise BadDocument("%s: bad address %r (%s)" % (where, addr, err))
                address_extra[ip] = link.get("mode", "static")
    # Parents before children (sorttop); a child of an interface that is not
    # modelled raises DoesNotExist and the whole report is rolled back.
    out = {}
    pending = {n: e for n, e in nets.items() if is_modelled(e)}
    for name, e in pending.items():
        if e["vlan"] is not None:
            lower = _need(e["vlan"], "lower_device", "networks.%s.vlan" % name)
            vid = _need(e["vlan"], "vid", "networks.%s.vlan" % name)
            if not isinstance(vid, int) or isinstance(vid, bool) or not 0 <= vid <= 4094:
                raise BadDocument("networks.%s.vlan.vid: %r is not a VLAN id" % (name, vid))
            kind, parents = "vlan", [lower]
        elif e["bond"] is not None:
            kind = "bond"
            parents = e["bond"].get("lower_devices") or []
        elif e["bridge"] is not None:
            kind = "bridge"
            parents = e["bridge"].get("upper_devices") or []
        else:
            kind, parents = "physical", []
        if not isinstance(parents, list):
            raise BadDocument("networks.%s: parents must be a list" % name)
        for par in parents:
            if par not in pending:
                raise BadDocument("networks.%s: parent %r is not a reported broadcast "
                                  "interface (DoesNotExist: the report is rolled back)"
                                  % (name, par))
        if kind == "bond" and not parents:
            continue                            # a bond without parents is ignored
        links = []
        for a in e["addresses"]:
            if a["scope"] != "global":
                continue
            iface = ipaddress.ip_interface("%s/%s" % (a["address"], a["netmask"]))
            links.append({"address": "%s/%d" % (iface.ip, iface.network.prefixlen),
                          "mode": "dhcp" if address_extra.get(str(a["address"])) == "dhcp"
                          else "static"})
        out[name] = {"type": kind, "mac": e["hwaddr"].lower(), "enabled": e["state"] == "up",
                     "parents": list(parents), "vid": e["vlan"]["vid"] if kind == "vlan"
                     else None, "links": fix_link_addresses(links)}
    seen, stack = set(), set()

    def visit(n):                               # sorttop raises on a cycle
        if n in stack:
            raise BadDocument("networks: dependency cycle through %r" % n)
        if n in seen:
            return
        stack.add(n)
        for par in out.get(n, {}).get("parents", []):
            visit(par)
        stack.discard(n)
        seen.add(n)
    for n in out:
        visit(n)
    return out


def fix_link_addresses(links):
    """network.py fix_link_addresses: a /32 (/128) link takes the prefix of
    another link of the same interface whose network contains it."""
    nets = [ipaddress.ip_interface(l["address"]).network for l in links]
    for link in links:
        ip = ipaddress.ip_interface(link["address"])
        if ip.network.prefixlen == ip.max_prefixlen:
            for net in nets:
                if net.version == ip.version and net.prefixlen < ip.max_prefixlen \
                        and ip.ip in net:
                    link["address"] = "%s/%d" % (ip.ip, net.prefixlen)
                    break
    return links


# --- BMC address (BMC.extract_ip_address, simplified) ------------------------------
def bmc_ip(context):
    """The BMC's IP from power_address ("10.0.0.5", "10.0.0.5:623",
    "https://10.0.0.5/redfish", "[fd00::5]:623"); None if not an IP."""
    pa = str((context or {}).get("power_address") or "").strip()
    for cand in (pa, urlparse(pa).hostname if "://" in pa else None,
                 pa.rsplit(":", 1)[0].strip("[]") if ":" in pa else None):
        if cand:
            try:
                return ipaddress.ip_address(cand)
            except ValueError:
                pass
    return None
