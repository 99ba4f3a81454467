"""The region's simplestreams mirror for the fake region (maas-rack-boot.md
§1.2), imported by fake_region.py.

The stream is described by DB/stream.json, written by the test (make_stream.py)
and re-read on every request, so a test changes the stream between two syncs by
rewriting it (every region sharing DB serves the same stream):

  {"products": {"maas:boot:ubuntu:amd64:ga-22.04:jammy": {
       "os": ..., "arch": ..., "subarch": ..., "release": ..., "label": ...,
       ...product fields...,
       "versions": {"20240101": {"items": {"boot-kernel": {
            "ftype": "boot-kernel", "file": "/abs/path/of/the/real/file"}}}}}}}

Each item gets the real sha256 and size of its file and the path MAAS gives it,
<os>/<arch>/<subarch>/<release>/<version>/<item> (bootloaders: their product's
os/arch/subarch/release), served under /MAAS/images-stream/ with Range support.

Served:
  GET /MAAS/images-stream/streams/v1/index.json
  GET /MAAS/images-stream/streams/v1/maas:v2:download.json
  GET /MAAS/images-stream/<item path>   (206 for "Range: bytes=N-")

Faults (POST /stream-fault on the control port, per region process), each
matching an item path by substring ("match"):
  {"corrupt": {"match": S, "count": N}}  the next N answers of it have one byte
                                        flipped in the middle (size unchanged)
  {"stall": {"match": S, "after": BYTES}} every answer of it stops sending
                                        after BYTES, keeping the connection open
  {"rate": BYTES_PER_S}                 pace every file body (0: full speed)
  {"no_range": true}                    ignore Range (answer 200, whole file)
  {"clear": true}                       no fault
GET /stream-stats: {"requests": [{path, range_from, status, sent, done}], "stalled":
[path, ...]}.
"""
import hashlib
import json
import os

from twisted.internet import reactor
from twisted.python import log
from twisted.web import server

PREFIX = b"/MAAS/images-stream/"
CHUNK = 64 * 1024
FAULTS = {"corrupt": None, "stall": None, "rate": 0, "no_range": False}
STATS = {"requests": [], "stalled": []}
_HASHES = {}            # (path, size, mtime) -> sha256


def _sha256(path):
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key], st.st_size


def load(db):
    """(products document, {item path: real file})."""
    try:
        with open(os.path.join(db, "stream.json")) as f:
            spec = json.load(f)
    except (OSError, ValueError):
        spec = {"products": {}}
    files, products = {}, {}
    for name, prod in spec.get("products", {}).items():
        p = {k: v for k, v in prod.items() if k != "versions"}
        p["versions"] = {}
        for vname, ver in prod.get("versions", {}).items():
            items = {}
            for iname, it in ver.get("items", {}).items():
                sha, size = _sha256(it["file"])
                path = "%s/%s/%s/%s/%s/%s" % (prod["os"], prod["arch"], prod["subarch"],
                                              prod.get("release", prod.get("bootloader-type")),
                                              vname, iname)
                items[iname] = {"ftype": it.get("ftype", iname), "path": path,
                                "sha256": sha, "size": size}
                files[path] = it["file"]
            p["versions"][vname] = {"items": items}
        products[name] = p
    doc = {"datatype": "image-downloads", "updated": "Mon, 01 Jan 2024 00:00:00 -0000",
           "content_id": "maas:v2:download", "format": "products:1.0",
           "products": products}
    return doc, files


def index_doc(products):
    return {"index": {"maas:v2:download": {
        "datatype": "image-downloads", "path": "streams/v1/maas:v2:download.json",
        "updated": "Mon, 01 Jan 2024 00:00:00 -0000",
        "products": sorted(products), "format": "products:1.0"}},
        "updated": "Mon, 01 Jan 2024 00:00:00 -0000", "format": "index:1.0"}


def fault(body):
    """Apply a POST /stream-fault body; returns an error text or None."""
    if body.get("clear"):
        FAULTS.update({"corrupt": None, "stall": None, "rate": 0, "no_range": False})
    for k in ("corrupt", "stall"):
        if k in body:
            v = body[k]
            if v is not None and (not isinstance(v, dict) or "match" not in v):
                return "%s: {\"match\": ..., ...}" % k
            FAULTS[k] = dict(v) if v else None
    if "rate" in body:
        FAULTS["rate"] = int(body["rate"])
    if "no_range" in body:
        FAULTS["no_range"] = bool(body["no_range"])
    log.msg("stream: faults now %s" % json.dumps(FAULTS))
    return None


class _Body:
    """Streams one file (from offset) with the faults applied."""

    def __init__(self, request, path, fname, start, size, corrupt, stall_after, stat):
        self.request, self.path, self.start = request, path, start
        self.f = open(fname, "rb")
        self.f.seek(start)
        self.pos, self.size = start, size
        self.corrupt_at = size // 2 if corrupt else None
        self.stall_after = stall_after
        self.stat = stat
        self.gone = False
        self.paused = False
        request.notifyFinish().addBoth(self._gone)
        request.registerProducer(self, True)
        reactor.callLater(0, self._send)

    def _gone(self, _):
        self.gone = True
        self.f.close()

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        if self.paused:
            self.paused = False
            reactor.callLater(0, self._send)

    def stopProducing(self):
        self.gone = True

    def _send(self):
        if self.gone or self.paused:
            return
        if self.stall_after is not None and self.stat["sent"] >= self.stall_after:
            if self.path not in STATS["stalled"]:
                STATS["stalled"].append(self.path)
            return                      # silence, connection kept open
        n = CHUNK
        if self.stall_after is not None:
            n = min(n, self.stall_after - self.stat["sent"])
        data = self.f.read(n)
        if not data:
            self.request.unregisterProducer()
            self.stat["done"] = True
            self.request.finish()
            return
        if self.corrupt_at is not None and self.pos <= self.corrupt_at < self.pos + len(data):
            i = self.corrupt_at - self.pos
            data = data[:i] + bytes([data[i] ^ 0xff]) + data[i + 1:]
        self.pos += len(data)
        self.stat["sent"] += len(data)
        self.request.write(data)
        rate = FAULTS["rate"]
        reactor.callLater(len(data) / rate if rate else 0, self._send)


def render(request, db):
    """Answer a GET under /MAAS/images-stream/ (bytes, or NOT_DONE_YET)."""
    rel = request.path[len(PREFIX):].decode("utf-8", "replace")
    doc, files = load(db)
    if rel in ("streams/v1/index.json", "streams/v1/maas:v2:download.json"):
        request.setHeader(b"content-type", b"application/json")
        out = index_doc(doc["products"]) if rel.endswith("index.json") else doc
        return json.dumps(out).encode()
    fname = files.get(rel)
    if fname is None:
        request.setResponseCode(404)
        return b"not found\n"
    size = os.path.getsize(fname)
    start = 0
    rng = request.getHeader(b"range")
    if rng and not FAULTS["no_range"] and rng.startswith(b"bytes=") and rng.endswith(b"-"):
        try:
            start = int(rng[6:-1])
        except ValueError:
            start = 0
        if 0 < start < size:
            request.setResponseCode(206)
            request.setHeader(b"content-range", b"bytes %d-%d/%d" % (start, size - 1, size))
        else:
            start = 0
    request.setHeader(b"content-type", b"application/octet-stream")
    request.setHeader(b"content-length", b"%d" % (size - start))
    request.setHeader(b"accept-ranges", b"bytes")
    corrupt = False
    c = FAULTS["corrupt"]
    if c and c["match"] in rel and c.get("count", 1) > 0:
        c["count"] = c.get("count", 1) - 1
        corrupt = True
    s = FAULTS["stall"]
    stall_after = s.get("after", 0) if s and s["match"] in rel else None
    stat = {"path": rel, "range_from": start, "status": 206 if start else 200,
            "sent": 0, "done": False, "corrupt": corrupt}
    STATS["requests"].append(stat)
    log.msg("stream: GET %s from %d%s%s" % (rel, start, " (corrupt)" if corrupt else "",
                                          " (stall after %d)" % stall_after
                                          if stall_after is not None else ""))
    if request.method == b"HEAD":
        return b""
    _Body(request, rel, fname, start, size, corrupt, stall_after, stat)
    return server.NOT_DONE_YET
