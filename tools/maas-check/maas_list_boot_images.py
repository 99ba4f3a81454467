#!/usr/bin/python3
"""Print MAAS 3.4.0's own ListBootImages rows for a tree, one sorted JSON
object a line: provisioningserver.boot.tftppath.list_boot_images run from
MAAS's source with the modules it imports but does not use for listing
stubbed out.  Used by check-boot-images.sh.

  PYTHONPATH=<maas 3.4.0>/src maas_list_boot_images.py TFTP_ROOT
"""
import sys, types, importlib.abc, importlib.machinery, json
from unittest import mock
STUB = {"apiclient", "crochet", "tftp", "curtin", "formencode", "prometheus_client", "seamicroclient", "pexpect", "simplestreams", "paramiko", "pyvmomi", "pysnmp", "lxml", "zhmcclient", "macaroonbakery", "hvac", "attr", "requests", "bson", "pylxd", "pyudev", "jsonschema", "yaml", "oauthlib", "tempita", "petname", "distro_info", "netaddr", "netifaces", "psycopg2", "OpenSSL", "service_identity", "txtftp"}
class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        root = name.split(".")[0]
        if root in STUB:
            try:
                if importlib.machinery.PathFinder.find_spec(root) is not None and root not in ("tftp","curtin","simplestreams"):
                    return None
            except Exception:
                pass
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
    def create_module(self, spec):
        m = mock.MagicMock(); m.__path__ = []; m.__name__ = spec.name; m.__spec__ = spec
        return m
    def exec_module(self, module): pass
sys.meta_path.insert(0, Finder())
root = sys.argv[1]
class Cfg:
    tftp_root = root
    def __enter__(s): return s
    def __exit__(s,*a): pass
class ClusterConfiguration:
    @classmethod
    def open(cls, *a, **k): return Cfg()
cfg = types.ModuleType("provisioningserver.config")
cfg.ClusterConfiguration = ClusterConfiguration
cfg.__getattr__ = lambda name: mock.MagicMock()
sys.modules["provisioningserver.config"] = cfg
from provisioningserver.boot import tftppath
rows = tftppath.list_boot_images(root)
for r in sorted(rows, key=lambda r: json.dumps(r, sort_keys=True)):
    print(json.dumps(r, sort_keys=True))
