#!/usr/bin/python3
"""Receive sd_notify datagrams on a unix socket and append each to a file.

   notify_sink.py SOCKET_PATH OUT_FILE

One line per message, newlines inside a message replaced by '|'.
Exits on SIGTERM.
"""
import os, signal, socket, sys

path, out = sys.argv[1], sys.argv[2]
try:
    os.unlink(path)
except FileNotFoundError:
    pass
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
open(out, "a").close()
while True:
    data = s.recv(65536)
    with open(out, "a") as f:
        f.write(data.decode("utf-8", "replace").replace("\n", "|") + "\n")
